/* request_check.c — strict HTTP checks of a request's target and head, for
 * what libmicrohttpd 0.9.x accepts but a proxy in front may read differently
 * (request smuggling) or what would otherwise hold a connection. */
#include "http/request_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A byte no request line or header value may hold: controls other than
 * HTAB (CR, LF, NUL included) and DEL. */
static bool is_forbidden(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void refuse(struct request_verdict *v, int status, const char *detail)
{
    if (v->status)
        return; /* the first reason found is the one answered */
    v->status = status;
    snprintf(v->detail, sizeof v->detail, "%s", detail);
}

void request_check_target(const char *target, struct request_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (!target)
        return;
    const unsigned char *p = (const unsigned char *)target;
    for (; *p; p++) {
        /* A space would only be there because the line was misformed. */
        if (is_forbidden(*p) || *p == ' ' || *p == '\t') {
            refuse(v, 400, "The request target contains a control character or a space");
            return;
        }
    }
    const char *query = strchr(target, '?');
    if (!query || !query[1])
        return;
    size_t params = 1;
    for (const char *q = query + 1; *q; q++)
        params += *q == '&';
    if (params > REQUEST_MAX_QUERY_PARAMS) {
        char msg[120];
        snprintf(msg, sizeof msg, "Too many query parameters (at most %d)",
                 REQUEST_MAX_QUERY_PARAMS);
        refuse(v, 400, msg);
        /* libmicrohttpd parses the query into its per-connection pool right
         * after this callback; hundreds of parameters exhaust the pool, and
         * it then closes without an answer. The target is its own buffer,
         * which it rewrites in place anyway (decoding): ending it just after
         * '?' leaves an empty query to parse, and the request is answered
         * 400. */
        ((char *)query)[1] = '\0';
    }
}

struct head_scan {
    struct request_verdict *v;
    const char *prev_end;   /* just past the previous header's value */
    int hosts;
    int lengths;
    char length[32];        /* the first Content-Length value, trimmed */
    bool length_conflict;
    bool length_invalid;
    int encodings;
    bool encoding_unknown;
};

/* Trim spaces and tabs of [s, s+n) into out; false when it does not fit. */
static bool trimmed(const char *s, size_t n, char *out, size_t outlen)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= outlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* True when [p, p+n) holds only what a parsed line end leaves: NULs (the CR
 * and LF) and the spaces or tabs trimmed around a value. */
static bool gap_is_line_end(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\0' && p[i] != ' ' && p[i] != '\t')
            return false;
    return true;
}

/* After the last header: its line end, then the empty line. A NUL inside
 * the last value leaves text before them. */
static bool last_is_line_end(const char *p)
{
    size_t i = 0;
    while (i < 64 && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t zeros = 0;
    while (zeros < 4 && p[i + zeros] == '\0')
        zeros++;
    return zeros >= 2;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct head_scan *h = cls;
    if (!key)
        return MHD_YES;
    for (size_t i = 0; i < key_size; i++)
        if (is_forbidden((unsigned char)key[i]) || key[i] == ' ' || key[i] == '\t') {
            refuse(h->v, 400, "A header name contains a control character or a space");
            return MHD_YES;
        }
    if (!value)
        value = "", value_size = 0;
    /* libmicrohttpd 0.9 parses the head in place: each line's end (CR LF)
     * becomes NULs, and a header's name follows the previous line's end.
     * Anything else between two headers was cut off by a NUL inside the
     * previous value. (A folded value is a copy elsewhere: not checked.) */
    if (h->prev_end && key > h->prev_end && key - h->prev_end < 256 &&
        !gap_is_line_end(h->prev_end, (size_t)(key - h->prev_end))) {
        refuse(h->v, 400, "A header value contains a control character");
        return MHD_YES;
    }
    h->prev_end = value_size ? value + value_size : NULL;
    for (size_t i = 0; i < value_size; i++)
        if (is_forbidden((unsigned char)value[i])) {
            refuse(h->v, 400, "A header value contains a control character");
            return MHD_YES;
        }
    if (!strcasecmp(key, MHD_HTTP_HEADER_HOST)) {
        h->hosts++;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        char v[32];
        bool ok = trimmed(value, value_size, v, sizeof v) && v[0] &&
                  strspn(v, "0123456789") == strlen(v);
        if (!ok)
            h->length_invalid = true;
        else if (h->lengths++ == 0)
            snprintf(h->length, sizeof h->length, "%s", v);
        else if (strcmp(h->length, v) != 0)
            h->length_conflict = true;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        char v[32];
        h->encodings++;
        if (!trimmed(value, value_size, v, sizeof v) || strcasecmp(v, "chunked") != 0)
            h->encoding_unknown = true;
    }
    return MHD_YES;
}

void request_check_head(struct MHD_Connection *conn, const char *target, size_t target_len,
                        const char *version, struct request_verdict *v)
{
    /* The target ends one space before the version, in the same line: if
     * its text is shorter than that, it held a NUL. */
    if (target && version && version > target &&
        (uintptr_t)(version - target) < ((uintptr_t)1 << 20) &&
        (size_t)(version - target) != target_len + 1)
        refuse(v, 400, "The request target contains a control character or a space");

    struct head_scan h = {.v = v};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &h);
    if (h.prev_end && !last_is_line_end(h.prev_end))
        refuse(v, 400, "A header value contains a control character");
    if (version && !strcmp(version, MHD_HTTP_VERSION_1_1) && h.hosts == 0)
        refuse(v, 400, "HTTP/1.1 requests must carry a Host header");
    if (h.hosts > 1)
        refuse(v, 400, "More than one Host header");
    if (h.length_invalid)
        refuse(v, 400, "Content-Length must be a decimal number");
    if (h.length_conflict)
        refuse(v, 400, "Conflicting Content-Length headers");
    if (h.encodings && h.lengths)
        refuse(v, 400, "Content-Length and Transfer-Encoding must not both be sent");
    if (h.encodings > 1 || h.encoding_unknown)
        refuse(v, 501, "Transfer-Encoding is not supported (only chunked is)");
}

/* fuzz_http.c — libFuzzer harness: one HTTP request through Lockstep's
 * routing table, authentication, role checks, body parsing and handlers
 * (src/http/dispatch.h), against a SQLite store with demo data.
 *
 * Input: one flag byte, then the request as text:
 *   METHOD SP TARGET [SP VERSION] LF
 *   (Name: value LF)*
 *   LF
 *   body
 * Flag bits 0-1: the caller (0 none, 1 admin, 2 instructor, 3 student, each
 * with a valid access token); bit 2: add the admin session's refresh cookie.
 * CR before LF is dropped. After every input that may write (any method
 * but GET and HEAD) the store and the auth state are reset. Besides crashes
 * and sanitizer reports, an answer that cannot be sent and a 500 (the store
 * is local and healthy: a 500 is a fault of the code) fail. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADERS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixture_start();
    return 0;
}

/* Next line of [*p, end) into a NUL-terminated copy (without CR LF). */
static char *next_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);
    if (n && (*p)[n - 1] == '\r')
        n--;
    char *line = strndup(*p, n);
    *p = nl ? nl + 1 : end;
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int flags = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    char *first = next_line(&p, end);
    char *lines[MAX_HEADERS];
    struct fixture_header headers[MAX_HEADERS + 1];
    int n = 0;
    while (p < end) {
        char *line = next_line(&p, end);
        if (!line[0]) {
            free(line);
            break;
        }
        char *colon = strchr(line, ':');
        if (!colon || n == MAX_HEADERS) {
            free(line);
            continue;
        }
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        lines[n] = line;
        headers[n].name = line;
        headers[n].value = value;
        n++;
    }
    char cookie[1200];
    int n_all = n;
    if (flags & 4) {
        snprintf(cookie, sizeof cookie, "lockstep_refresh=%s", fixture_refresh_token());
        headers[n_all].name = "Cookie";
        headers[n_all].value = cookie;
        n_all++;
    }
    char *save = NULL;
    char *method = strtok_r(first, " ", &save);
    char *target = method ? strtok_r(NULL, " ", &save) : NULL;
    if (method && target) {
        struct _u_response resp;
        ulfius_init_response(&resp);
        int status = fixture_request(method, target, headers, n_all, p, (size_t)(end - p),
                                     (enum fixture_caller)(flags & 3), &resp);
        if (status < 100 || status > 599) {
            fprintf(stderr, "fuzz_http: %s %s: no answer could be sent (status %d)\n", method,
                    target, status);
            abort();
        }
        /* The store is local and healthy: a 500 is a fault of the code. */
        if (status == 500) {
            fprintf(stderr, "fuzz_http: %s %s answered 500: %.*s\n", method, target,
                    (int)resp.binary_body_length,
                    resp.binary_body ? (const char *)resp.binary_body : "");
            abort();
        }
        ulfius_clean_response(&resp);
        if (fixture_method_writes(method))
            fixture_reset(target);
    }
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(first);
    return 0;
}

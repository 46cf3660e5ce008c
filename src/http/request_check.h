/* request_check.h — strict HTTP where libmicrohttpd is lenient: the request
 * target and head of every request are checked before any handler sees them
 * (conflicting Content-Length, a missing Host on HTTP/1.1, control bytes, an
 * unknown Transfer-Encoding, too many query parameters). */
#ifndef LOCKSTEP_REQUEST_CHECK_H
#define LOCKSTEP_REQUEST_CHECK_H

#include <microhttpd.h>
#include <stddef.h>

/* The most query parameters a request may carry; more is answered 400. */
#define REQUEST_MAX_QUERY_PARAMS 64

/* A refused request: the status to answer (0 = none) and why. */
struct request_verdict {
    int status;
    char detail[160];
};

/* Check the request target as sent (before libmicrohttpd decodes it):
 * control bytes, spaces, and more than REQUEST_MAX_QUERY_PARAMS query
 * parameters. Fills v (status 0 when the target is acceptable). With too
 * many parameters it ends libmicrohttpd's copy of the target after '?' so that
 * the library does not parse them (copy the target before calling). */
void request_check_target(const char *target, struct request_verdict *v);

/* Check a request whose head was read whole: `target` is the pointer that
 * the URI callback received, `target_len` the length of the text it held
 * then, and `version` the pointer the access handler received. Both point
 * into the same request line, so a target shorter than the bytes between
 * them held a NUL. Checks Host, Content-Length, Transfer-Encoding and the
 * bytes of every header value. Fills v (status 0: acceptable). */
void request_check_head(struct MHD_Connection *conn, const char *target, size_t target_len,
                        const char *version, struct request_verdict *v);

#endif

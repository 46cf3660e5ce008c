/* router.h — serve's routing table and the wrapper around every handler:
 * route, authenticate, check the role, parse the body, run the handler, count
 * and log (router.c). Connections and threads are the server's (server.c). */
#ifndef LOCKSTEP_HTTP_ROUTER_H
#define LOCKSTEP_HTTP_ROUTER_H

#include "http/request_check.h"
#include "service/app.h"

#include <stdbool.h>
#include <stdint.h>
#include <ulfius.h>

struct route;

/* The route of a method and path ("//healthz" names /healthz; HEAD runs a
 * GET route), or NULL: none (404, 405 and the dashboard's files are answered
 * without one). */
const struct route *router_find(const char *method, const char *path);
/* The route never waits for the store (or defers with http_defer() when it
 * would): the epoll thread answers it itself. */
bool router_inline(const struct route *rt);
/* The route may hash a password (argon2id): it runs on the password lane. */
bool router_hashes_password(const struct route *rt);

/* One request read whole, to answer. */
struct router_call {
    const struct _u_request *u;
    struct _u_response *resp;      /* the answer is built here */
    const struct route *rt;        /* router_find's, or NULL */
    const struct request_verdict *verdict; /* status != 0: refused while reading */
    const char *id;                /* the request id (logs, X-Request-Id) */
    int64_t t0;                    /* when it was read whole (monotonic µs) */
};

/* Answer c->u into c->resp: refuse it (verdict, URL or body too long), route
 * it, authenticate and check the role, parse a JSON body, run the handler,
 * then count it in the metrics and write its access-log line. can_defer (an
 * epoll thread) lets a handler call http_defer(): then nothing is answered,
 * counted or logged and false is returned; the caller runs it again on a
 * handler thread. True otherwise. */
bool router_dispatch(struct app *app, const struct router_call *c, bool can_defer);

/* The label of every route, for the metrics registry (static storage): the
 * pattern without the method ("/api/v1/users/{id}"), each once. */
const char *const *http_route_labels(int *n);

#endif

/* server.h — the HTTP server of `lockstep serve`: libmicrohttpd through
 * ulfius, one routing table, the request wrapper (request id, auth, roles,
 * body limits, security headers, access log) and a graceful stop. */
#ifndef LOCKSTEP_SERVER_H
#define LOCKSTEP_SERVER_H

#include "service/app.h"

#include <stddef.h>

struct http_server;

/* Parse "ADDR:PORT" (IPv4 address or "localhost"; port 0 picks a free one).
 * Returns 0 or -1 with err. */
int http_parse_listen(const char *listen, char *addr, size_t addr_len, unsigned *port,
                      char *err, size_t errlen);
/* Start serving on app->cfg.listen. Returns 0 with *out set, or -1 with err. */
int http_server_start(struct app *app, struct http_server **out, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *s);
/* Stop accepting connections, let requests in flight finish (at most
 * timeout_ms), then stop and free the server. */
void http_server_stop(struct http_server *s, long timeout_ms);
/* The label of every route, for the metrics registry (static storage). */
const char *const *http_route_labels(int *n);
/* Number of requests being handled right now. */
int http_server_in_flight(const struct http_server *s);

#endif

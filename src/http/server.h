/* server.h — the HTTP server of `lockstep serve`: libmicrohttpd with ulfius's
 * request model, epoll threads and handler lanes, security headers and a
 * graceful stop. The routes are router.h's. */
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

#endif

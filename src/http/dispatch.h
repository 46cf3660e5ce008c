/* dispatch.h — one request through serve's routing table, authentication,
 * role checks, body parsing and handlers, without a socket: the entry point
 * of the HTTP fuzz harness (fuzz/fuzz_http.c) and of in-process tests. */
#ifndef LOCKSTEP_DISPATCH_H
#define LOCKSTEP_DISPATCH_H

#include "service/app.h"

#include <stdbool.h>
#include <ulfius.h>

/* Route i of the routing table (0, 1, … in table order): its method, its
 * path pattern ("{name}" stands for one path segment) and whether it takes
 * a JSON body. False past the last route. */
bool http_route_at(int i, const char **method, const char **pattern, bool *takes_body);

/* Add a header, query or cookie value to map as serve does with what
 * libmicrohttpd parsed: a name or value that is not UTF-8 is dropped, a
 * repeated name keeps every value, comma-separated. */
void http_request_add_value(struct _u_map *map, const char *key, const char *value);

/* Answer u (read whole: http_verb, http_url, url_path, headers, query,
 * cookies and body filled by the caller, who keeps owning it) into resp
 * (initialised by the caller with ulfius_init_response, cleaned by it), the
 * way serve answers a request, handler threads included. app needs cfg,
 * pool, metrics, monitor and auth_init() done. Then the answer's headers and
 * cookies are built into a libmicrohttpd response as serve sends them.
 * Returns the HTTP status, or -1 when the answer cannot be sent (serve
 * would close the connection without an answer). */
int http_dispatch_request(struct app *app, const struct _u_request *u,
                          struct _u_response *resp);

#endif

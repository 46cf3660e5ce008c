/* web.h — the dashboard's files (web.c). */
#ifndef LOCKSTEP_HTTP_WEB_H
#define LOCKSTEP_HTTP_WEB_H

#include "http/request.h"

/* Serve the dashboard: assets, and index.html for client routes. */
void web_serve(struct http_req *r);

#endif

/* web.c — the dashboard: files embedded at build time (or read from
 * --web-dir while developing), index.html for client routes, ETags. */
#include "http/http.h"
#include "http/web_assets.h"

#include "util/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct web_asset *find_asset(const char *path)
{
    for (const struct web_asset *a = web_assets; a->path; a++)
        if (!strcmp(a->path, path))
            return a;
    return NULL;
}

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    if (!strcmp(dot, ".json"))
        return "application/json";
    if (!strcmp(dot, ".png"))
        return "image/png";
    if (!strcmp(dot, ".ico"))
        return "image/x-icon";
    return "application/octet-stream";
}

/* A client route of the single-page app: no file extension in the last segment. */
static bool is_client_route(const char *path)
{
    const char *last = strrchr(path, '/');
    return !strchr(last ? last : path, '.');
}

static void send_body(struct http_req *r, const char *type, const char *etag,
                      const unsigned char *data, size_t size)
{
    const char *inm = u_map_get_case(r->u->map_header, "If-None-Match");
    http_header(r, "Content-Type", type);
    http_header(r, "ETag", etag);
    /* Revalidate every time (the ETag makes that a cheap 304); HTML never cached. */
    http_header(r, "Cache-Control", strstr(type, "text/html") ? "no-cache, must-revalidate"
                                                              : "no-cache");
    if (inm && !strcmp(inm, etag)) {
        r->status = 304;
        ulfius_set_empty_body_response(r->resp, 304);
        return;
    }
    r->status = 200;
    if (!strcmp(r->method, "HEAD"))
        ulfius_set_empty_body_response(r->resp, 200);
    else
        ulfius_set_binary_body_response(r->resp, 200, (const char *)data, size);
}

/* Development: serve from the configured web_dir on disk. */
static bool serve_from_disk(struct http_req *r, const char *path)
{
    char full[FS_PATH_MAX];
    if (strstr(path, "..") || fs_join(full, sizeof full, r->app->cfg.web_dir, path + 1) != 0)
        return false;
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(full, 16 << 20, &data, &len) != 0)
        return false;
    struct stat st;
    char etag[64] = "\"0\"";
    if (stat(full, &st) == 0)
        snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
                 (unsigned long long)st.st_size);
    send_body(r, type_of(path), etag, (const unsigned char *)data, len);
    free(data);
    return true;
}

void web_serve(struct http_req *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        http_header(r, "Allow", "GET, HEAD");
        http_error(r, 405, "Method %.16s not allowed (allowed: GET, HEAD)", r->method);
        return;
    }
    const char *path = r->path;
    if (!strcmp(path, "/") || is_client_route(path))
        path = "/index.html";
    if (r->app->cfg.web_dir[0]) {
        if (serve_from_disk(r, path))
            return;
    } else {
        const struct web_asset *a = find_asset(path);
        if (a) {
            send_body(r, a->content_type, a->etag, a->data, a->size);
            return;
        }
    }
    http_error(r, 404, "Not found");
}

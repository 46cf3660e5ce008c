/* web.c — the dashboard: files embedded at build time (or read from
 * --web-dir while developing: regular files under it only, no symbolic
 * links), index.html for client routes, ETags. */
#include "http/web.h"

#include "http/request.h"
#include "http/web_assets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define WEB_FILE_MAX (16 << 20)

/* Open `path` (relative, '/'-separated) under the directory `root`, one
 * component at a time with O_NOFOLLOW: a symbolic link anywhere below the root
 * is refused, so nothing outside it is ever served. O_NONBLOCK: opening a FIFO
 * does not wait for a writer. Returns an fd of a regular file or -1. */
static int open_under(const char *root, const char *path, struct stat *st)
{
    int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        char name[256];
        if (len == 0 || len >= sizeof name) {
            close(dir);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        while (*p == '/')
            p++;
        bool last = *p == '\0';
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            close(dir);
            return -1;
        }
        int fd = openat(dir, name, last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
                                        : O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        close(dir);
        if (fd < 0)
            return -1;
        if (last) {
            if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > WEB_FILE_MAX) {
                close(fd);
                return -1;
            }
            return fd;
        }
        dir = fd;
    }
}

/* Development: serve from the configured web_dir on disk (regular files only). */
static bool serve_from_disk(struct http_req *r, const char *path)
{
    struct stat st;
    int fd = open_under(r->app->cfg.web_dir, path, &st);
    if (fd < 0)
        return false;
    size_t size = (size_t)st.st_size, len = 0;
    char *data = malloc(size ? size : 1);
    bool ok = data != NULL;
    while (ok && len < size) {
        ssize_t n = read(fd, data + len, size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ok = false;
        else
            len += (size_t)n;
    }
    close(fd);
    if (!ok) {
        free(data);
        return false;
    }
    char etag[64];
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

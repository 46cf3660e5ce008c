/* web_assets.h — the dashboard files embedded at build time (cmake/embed_web.cmake). */
#ifndef LOCKSTEP_WEB_ASSETS_H
#define LOCKSTEP_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path;         /* "/index.html", "/js/app.js", … */
    const char *content_type;
    const char *etag;         /* quoted content hash */
    const unsigned char *data;
    size_t size;
};

/* Every embedded file; the list ends with an entry whose path is NULL. */
extern const struct web_asset web_assets[];

#endif

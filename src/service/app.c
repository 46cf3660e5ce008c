/* app.c — the connections of serve's components, opened from the one
 * configuration the same way. */
#include "service/app.h"

#include <stdio.h>

void app_store_options(const struct config *cfg, struct store_options *o)
{
    store_options_default(o);
    o->busy_timeout_ms = cfg->busy_timeout_ms;
    o->parallel_scan_min_bytes = cfg->parallel_scan_min_bytes;
    o->domain = &cfg->domain;
}

int app_store_open(const struct app *app, const char *what, struct store **out, char *err,
                   size_t errlen)
{
    return app_store_open_tuned(app, what, 0, false, out, err, errlen);
}

int app_store_open_tuned(const struct app *app, const char *what, long cache_kib,
                         bool secure_delete_fast, struct store **out, char *err, size_t errlen)
{
    struct store_options so;
    app_store_options(&app->cfg, &so);
    so.migrate = false;
    if (cache_kib > 0)
        so.cache_kib = cache_kib;
    so.secure_delete_fast = secure_delete_fast;
    char oerr[400];
    int rc = store_open(app->cfg.db, &so, out, oerr, sizeof oerr);
    if (rc)
        snprintf(err, errlen, "cannot start the %s: %s", what, oerr);
    return rc;
}

/* store.c — opening a store by URL, error messages, and the connection pool. */
#include "model/domain_map.h"
#include "store/backends.h"
#include "store/store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_options_default(struct store_options *o)
{
    memset(o, 0, sizeof *o);
    o->busy_timeout_ms = 5000;
    o->migrate = true;
    o->create = true;
    o->parallel_scan_min_bytes = 8L << 20;
    o->cache_kib = STORE_CACHE_KIB;
}

int store_fail(struct store *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

void store_spec_too_long_text(char *out, size_t outlen, const char *id, size_t len,
                              const char *where, int64_t user)
{
    char who[40] = "";
    if (user)
        snprintf(who, sizeof who, "user %lld: ", (long long)user);
    snprintf(out, outlen,
             "%s%s holds a specialization id of %zu bytes ('%.*s…'); Lockstep handles ids of up "
             "to %d bytes and never cuts one: shorten it (lockstep doctor lists the columns that "
             "hold such ids)",
             who, where, len, SPEC_ID_LEN, id, SPEC_ID_LEN);
}

int store_spec_copy(struct store *s, char out[SPEC_ID_MAX], const char *id, size_t len,
                    const char *where, int64_t user)
{
    if (len <= SPEC_ID_LEN) {
        memcpy(out, id, len);
        out[len] = '\0';
        return 0;
    }
    store_spec_too_long_text(s->errmsg, sizeof s->errmsg, id, len, where, user);
    out[0] = '\0'; /* after: id may be out */
    return STORE_ERR;
}

int store_domain_spec_copy(struct store *s, const struct domain_map *m, bool license,
                           char out[SPEC_ID_MAX], const char *id, size_t len, int64_t user)
{
    if (len <= SPEC_ID_LEN)
        return store_spec_copy(s, out, id, len, NULL, user);
    char where[2 * DOMAIN_IDENT_MAX];
    snprintf(where, sizeof where, "%s.%s",
             m->name[license ? DOMAIN_LICENSE_TABLE : DOMAIN_PROGRESS_TABLE],
             m->name[license ? DOMAIN_LICENSE_SPEC : DOMAIN_PROGRESS_SPEC]);
    return store_spec_copy(s, out, id, len, where, user);
}

const char *store_errmsg(const struct store *s)
{
    return s->errmsg[0] ? s->errmsg : "no error";
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

void store_url_shown(const char *url, char *out, size_t len)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : NULL;
    const char *end = auth ? auth + strcspn(auth, "/?#") : NULL;
    const char *at = NULL;
    for (const char *p = auth; p && p < end; p++)
        if (*p == '@')
            at = p; /* the last one: a password may hold '@' */
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        snprintf(out, len, "%.200s", url);
        return;
    }
    snprintf(out, len, "%.*s:***%.150s", (int)(colon - url) > 50 ? 50 : (int)(colon - url), url,
             at);
}

int store_url_parse(const char *url, enum store_url_kind *kind, const char **target,
                    char *err, size_t errlen)
{
    if (!url || !*url) {
        snprintf(err, errlen, "empty database URL");
        return STORE_ERR_URL;
    }
    if (has_prefix(url, "sqlite:")) {
        const char *path = url + strlen("sqlite:");
        if (has_prefix(path, "//"))
            path += 2;
        if (!*path) {
            snprintf(err, errlen, "invalid database URL '%.200s': no file path after sqlite:",
                     url);
            return STORE_ERR_URL;
        }
        *kind = STORE_URL_SQLITE;
        *target = path;
        return 0;
    }
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://") ||
        has_prefix(url, "postgres:") || has_prefix(url, "postgresql:")) {
        *kind = STORE_URL_POSTGRES;
        *target = url;
        return 0;
    }
    char shown[208];
    store_url_shown(url, shown, sizeof shown);
    snprintf(err, errlen,
             "invalid database URL '%s' (expected sqlite:PATH or postgres://USER@HOST/DB)",
             shown);
    return STORE_ERR_URL;
}

int store_open(const char *url, const struct store_options *o, struct store **out, char *err,
               size_t errlen)
{
    struct store_options def;
    if (!o) {
        store_options_default(&def);
        o = &def;
    }
    *out = NULL;
    enum store_url_kind kind;
    const char *target;
    int rc = store_url_parse(url, &kind, &target, err, errlen);
    if (rc)
        return rc;
    if (kind == STORE_URL_SQLITE)
        return store_sqlite_open(target, o, out, err, errlen);
    return store_pg_open(target, o, out, err, errlen);
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int size, free_count;
    struct store **all;
    struct store **free_list;
};

int store_pool_open(const char *url, const struct store_options *o, int size,
                    struct store_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    if (size < 1)
        size = 1;
    struct store_pool *p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    p->all = calloc((size_t)size, sizeof *p->all);
    p->free_list = calloc((size_t)size, sizeof *p->free_list);
    if (!p->all || !p->free_list)
        goto nomem;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    struct store_options opt = *o;
    for (int i = 0; i < size; i++) {
        int rc = store_open(url, &opt, &p->all[i], err, errlen);
        if (rc) {
            p->size = i;
            store_pool_close(p);
            return rc;
        }
        opt.migrate = false; /* the first connection did it */
        p->free_list[i] = p->all[i];
    }
    p->size = p->free_count = size;
    *out = p;
    return 0;
nomem:
    if (p) {
        free(p->all);
        free(p->free_list);
        free(p);
    }
    snprintf(err, errlen, "out of memory");
    return STORE_ERR;
}

struct store *store_pool_get(struct store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->free_count == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct store *s = p->free_list[--p->free_count];
    pthread_mutex_unlock(&p->mu);
    return s;
}

void store_pool_put(struct store_pool *p, struct store *s)
{
    if (s->in_txn)
        s->ops->rollback(s);
    pthread_mutex_lock(&p->mu);
    p->free_list[p->free_count++] = s;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void store_pool_close(struct store_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++)
        store_close(p->all[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->all);
    free(p->free_list);
    free(p);
}

/* testutil.c — shared unit-test helpers. */
#include "testutil.h"

#include "service/users.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int tu_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *tu_tmpdir(const char *name)
{
    static char path[1024];
    const char *base = getenv("LOCKSTEP_TEST_TMP");
    if (!base || !*base)
        base = "/tmp/lockstep-test";
    snprintf(path, sizeof path, "%s/%s-%ld", base, name, (long)getpid());
    tu_sh("rm -rf '%s'", path);
    if (fs_mkdir_p(path, 0755) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        abort();
    }
    return path;
}

/* Under PostgreSQL each test directory gets its own database, named from
 * the directory so every connection of a test finds the same one. */
static void pg_database_name(const char *dir, char out[64])
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = dir; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, 64, "lockstep_test_%016llx", (unsigned long long)h);
}

/* The base URL with its database replaced by `db`. */
static void pg_url_for(const char *base, const char *db, char *out, size_t len)
{
    const char *slash = strrchr(base, '/');
    const char *query = strchr(base, '?');
    size_t keep = slash && slash > strstr(base, "//") + 1 ? (size_t)(slash - base) : strlen(base);
    snprintf(out, len, "%.*s/%s%s", (int)keep, base, db, query ? query : "");
}

const char *tu_url(const char *dir)
{
    static char url[1100];
    const char *pg = getenv("LOCKSTEP_TEST_PG");
    if (pg && *pg) {
        char db[64];
        pg_database_name(dir, db);
        pg_url_for(pg, db, url, sizeof url);
    } else {
        snprintf(url, sizeof url, "sqlite:%s/lockstep.db", dir);
    }
    return url;
}

static void pg_fresh_database(const char *dir)
{
    const char *pg = getenv("LOCKSTEP_TEST_PG");
    char db[64], sql[160];
    pg_database_name(dir, db);
    PGconn *c = PQconnectdb(pg);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s", pg, PQerrorMessage(c));
        abort();
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "cannot create %s: %s", db, PQerrorMessage(c));
        abort();
    }
    PQclear(r);
    PQfinish(c);
}

struct store *tu_store_again(const char *dir)
{
    return tu_store_scan(dir, 8L << 20);
}

struct store *tu_store_scan(const char *dir, long parallel_min_bytes)
{
    struct store *s = NULL;
    char err[600];
    struct store_options o;
    store_options_default(&o);
    o.parallel_scan_min_bytes = parallel_min_bytes;
    if (store_open(tu_url(dir), &o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "cannot open test store: %s\n", err);
        abort();
    }
    return s;
}

struct store *tu_store(const char *name, char *dir_out)
{
    users_init();
    const char *dir = tu_tmpdir(name);
    if (dir_out)
        snprintf(dir_out, 512, "%s", dir);
    const char *pg = getenv("LOCKSTEP_TEST_PG");
    if (pg && *pg)
        pg_fresh_database(dir);
    return tu_store_again(dir);
}

int64_t tu_user(struct store *s, const char *tag, const char *role)
{
    struct user u;
    memset(&u, 0, sizeof u);
    snprintf(u.email, sizeof u.email, "%s@test.local", tag);
    snprintf(u.name, sizeof u.name, "User %s", tag);
    snprintf(u.password_hash, sizeof u.password_hash, USERS_NO_PASSWORD);
    snprintf(u.role, sizeof u.role, "%s", role ? role : "student");
    u.is_active = true;
    u.created_at = u.updated_at = time_now_us();
    if (s->ops->user_insert(s, &u) != 0) {
        fprintf(stderr, "cannot insert user: %s\n", store_errmsg(s));
        abort();
    }
    return u.id;
}

void tu_pair(struct store *s, int64_t user, const char *spec, int progress_level,
             int license_level)
{
    int64_t now = time_now_us();
    if (progress_level > 0) {
        struct progress p;
        memset(&p, 0, sizeof p);
        p.student_id = user;
        snprintf(p.spec, sizeof p.spec, "%s", spec);
        p.current_level = progress_level;
        p.created_at = p.updated_at = now;
        if (s->ops->progress_insert(s, &p) != 0) {
            fprintf(stderr, "cannot insert progress: %s\n", store_errmsg(s));
            abort();
        }
    }
    if (license_level > 0) {
        struct license l;
        memset(&l, 0, sizeof l);
        l.user_id = user;
        snprintf(l.spec, sizeof l.spec, "%s", spec);
        l.current_level = l.max_achieved_level = license_level;
        l.started_at = l.created_at = l.updated_at = now;
        if (s->ops->license_insert(s, &l) != 0) {
            fprintf(stderr, "cannot insert license: %s\n", store_errmsg(s));
            abort();
        }
    }
}

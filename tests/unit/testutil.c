/* testutil.c — shared unit-test helpers. */
#include "testutil.h"

#include "service/users.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <libpq-fe.h>
#include <sqlite3.h>
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
    static _Thread_local char url[1100]; /* threads open their own connections */
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
    PQclear(PQexec(c, "SET client_min_messages = warning"));
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

struct store *tu_store_contended(const char *dir)
{
    struct store *s = NULL;
    char err[600];
    struct store_options o;
    store_options_default(&o);
    o.busy_timeout_ms = 60000;
    if (store_open(tu_url(dir), &o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "cannot open test store: %s\n", err);
        abort();
    }
    return s;
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

const char *tu_fresh_place(const char *name, char *dir_out)
{
    const char *dir = tu_tmpdir(name);
    if (dir_out)
        snprintf(dir_out, 512, "%s", dir);
    const char *pg = getenv("LOCKSTEP_TEST_PG");
    if (pg && *pg)
        pg_fresh_database(dir);
    return tu_url(dir);
}

struct store *tu_store(const char *name, char *dir_out)
{
    users_init();
    char dir[512];
    tu_fresh_place(name, dir);
    if (dir_out)
        snprintf(dir_out, 512, "%s", dir);
    return tu_store_again(dir);
}

void tu_sched_start(struct store *s, int64_t when, const char *owner, long check_interval,
                    long sync_interval)
{
    struct scheduler_start r;
    memset(&r, 0, sizeof r);
    r.started_at = when;
    snprintf(r.owner, sizeof r.owner, "%s", owner);
    r.scheduler = true;
    r.check_interval = check_interval;
    r.sync_interval = sync_interval;
    r.check_misfire_grace = 60;
    r.sync_misfire_grace = 300;
    if (s->ops->scheduler_start_insert(s, &r) != 0) {
        fprintf(stderr, "tu_sched_start: %s\n", store_errmsg(s));
        abort();
    }
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

static int cmd_v(char **out, bool with_stderr, const char *fmt, va_list ap)
{
    static char buf[1 << 17];
    char cmd[8192];
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    if (with_stderr)
        strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    if (p) {
        char rest[4096];
        size_t got;
        while (n + 1 < sizeof buf && (got = fread(buf + n, 1, sizeof buf - 1 - n, p)) > 0)
            n += got;
        while (fread(rest, 1, sizeof rest, p) > 0) /* drain what does not fit */
            ;
    }
    buf[n] = '\0';
    int st = p ? pclose(p) : -1;
    if (out)
        *out = buf;
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tu_cmd(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int st = cmd_v(out, false, fmt, ap);
    va_end(ap);
    return st;
}

int tu_cmd_all(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int st = cmd_v(out, true, fmt, ap);
    va_end(ap);
    return st;
}

const char *tu_bin(void)
{
    const char *b = getenv("LOCKSTEP_BIN");
    return b && *b ? b : "lockstep";
}

bool tu_pg(void)
{
    const char *pg = getenv("LOCKSTEP_TEST_PG");
    return pg && *pg;
}

/* Append `text` to out, keeping it NUL-terminated and within outlen. */
static void append(char *out, size_t outlen, size_t *used, const char *text)
{
    int n = snprintf(out + *used, outlen - *used, "%s", text);
    if (n > 0)
        *used += (size_t)n < outlen - *used ? (size_t)n : outlen - *used - 1;
}

static int sql_sqlite(const char *dir, const char *sql, char *out, size_t outlen)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/lockstep.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    }
    for (int row = 0; rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW; row++) {
        if (row)
            append(out, outlen, &used, "\n");
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            if (i)
                append(out, outlen, &used, "|");
            append(out, outlen, &used, t ? (const char *)t : "");
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        fprintf(stderr, "tu_sql: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int sql_pg(const char *dir, const char *sql, char *out, size_t outlen)
{
    PGconn *c = PQconnectdb(tu_url(dir));
    size_t used = 0;
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "tu_sql: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        for (int row = 0; row < PQntuples(r); row++) {
            if (row)
                append(out, outlen, &used, "\n");
            for (int i = 0; i < PQnfields(r); i++) {
                if (i)
                    append(out, outlen, &used, "|");
                append(out, outlen, &used, PQgetvalue(r, row, i));
            }
        }
        rc = 0;
    } else {
        fprintf(stderr, "tu_sql: %s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int sql_v(const char *dir, char *out, size_t outlen, const char *fmt, va_list ap)
{
    char sql[4096];
    vsnprintf(sql, sizeof sql, fmt, ap);
    out[0] = '\0';
    return tu_pg() ? sql_pg(dir, sql, out, outlen) : sql_sqlite(dir, sql, out, outlen);
}

int tu_sql(const char *dir, char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sql_v(dir, out, outlen, fmt, ap);
    va_end(ap);
    return rc;
}

long long tu_sql_int(const char *dir, const char *fmt, ...)
{
    char out[64], *end = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = sql_v(dir, out, sizeof out, fmt, ap);
    va_end(ap);
    long long v = rc == 0 ? strtoll(out, &end, 10) : -1;
    return rc == 0 && end != out && *end == '\0' ? v : -1;
}

const char *tu_file_text(const char *path)
{
    static char text[1 << 16];
    char *p = NULL;
    size_t len = 0;
    if (fs_read_file(path, sizeof text - 1, &p, &len) != 0)
        return "<missing>";
    memcpy(text, p, len + 1);
    free(p);
    return text;
}

const char *tu_progression_rows(const char *dir, int64_t user)
{
    static char out[4000];
    if (tu_sql(dir, out, sizeof out,
               "SELECT p.from_level, p.to_level, coalesce(p.advanced_by, 0), "
               "p.advancement_reason FROM license_progressions p JOIN "
               "user_licenses l ON l.id = p.user_license_id WHERE l.user_id = %lld "
               "ORDER BY p.id",
               (long long)user) != 0) {
        fprintf(stderr, "cannot read the progression rows of user %lld\n", (long long)user);
        abort();
    }
    return out;
}

/* fixture.c — the app the HTTP harnesses run requests against: SQLite with
 * demo data in a temporary directory, an admin, an instructor and a student
 * signed in, reset to that state after every input that may write. */
#include "fixture.h"

#include "config/config.h"
#include "http/auth.h"
#include "http/dispatch.h"
#include "http/router.h"
#include "service/app.h"
#include "service/demo.h"
#include "service/metrics.h"
#include "service/monitor.h"
#include "service/readiness.h"
#include "service/users.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* argon2id costs ~150 ms and 64 MiB per hash, by design: a harness that
 * reached login thousands of times a second would spend every second in it.
 * These definitions take the place of libsodium's for this executable only
 * (the executable's own symbols win over a shared library's): a keyed
 * BLAKE2b digest in the same string format, so every caller of
 * users_hash_password / users_verify_password runs unchanged and fast. */
static const char fake_prefix[] = "$fuzz$";

int crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *const passwd,
                      unsigned long long passwdlen, unsigned long long opslimit, size_t memlimit)
{
    (void)opslimit;
    (void)memlimit;
    unsigned char d[32];
    crypto_generichash(d, sizeof d, (const unsigned char *)passwd, passwdlen, NULL, 0);
    memcpy(out, fake_prefix, sizeof fake_prefix - 1);
    sodium_bin2hex(out + sizeof fake_prefix - 1, 65, d, sizeof d);
    return 0;
}

int crypto_pwhash_str_verify(const char *str, const char *const passwd,
                             unsigned long long passwdlen)
{
    char want[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(want, passwd, passwdlen, 0, 0) != 0)
        return -1;
    return strlen(str) == strlen(want) && sodium_memcmp(str, want, strlen(want)) == 0 ? 0 : -1;
}

static struct {
    bool started;
    char dir[256], live[320], pristine[320];
    struct app app;
    const char *const *labels;
    int n_labels;
    char admin[1024], instructor[1024], student[1024], refresh[1024];
    int64_t student_id;
    sqlite3 *live_db;      /* the fixture's own connection to the live store */
    sqlite3 *pristine_db;  /* in memory: the store as fixture_start() left it */
    sqlite3_stmt *data_version;
    long long version;     /* live_db's data_version after the last restore */
    int schema_cookie;     /* the store's schema_version as fixture_start() left it */
    int dir_watch;         /* inotify on the data directory (see watch_dir) */
    bool trace;            /* LOCKSTEP_FUZZ_TRACE: each request and its answer on stderr */
} fx;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz fixture: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

static void app_open(void)
{
    char err[600];
    struct store_options so;
    store_options_default(&so);
    so.busy_timeout_ms = fx.app.cfg.busy_timeout_ms;
    if (store_pool_open(fx.app.cfg.db, &so, fx.app.workers, &fx.app.pool, err, sizeof err))
        die("cannot open the store", err);
    fx.app.metrics = metrics_new(fx.labels, fx.n_labels);
    fx.app.monitor = fx.app.metrics ? monitor_new(&fx.app.cfg, fx.app.metrics) : NULL;
    if (!fx.app.monitor)
        die("out of memory", NULL);
    if (auth_init(&fx.app, err, sizeof err))
        die("auth_init", err);
    /* As serve: /readyz answers from this probe. */
    if (!(fx.app.readiness = readiness_start(&fx.app, err, sizeof err)))
        die("readiness", err);
}

static void app_close(void)
{
    readiness_stop(fx.app.readiness);
    fx.app.readiness = NULL;
    auth_shutdown();
    monitor_free(fx.app.monitor);
    metrics_free(fx.app.metrics);
    store_pool_close(fx.app.pool);
    fx.app.monitor = NULL;
    fx.app.metrics = NULL;
    fx.app.pool = NULL;
}

/* Files the requests wrote (reports, logs, sync logs) go; the stores stay. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level == 0)
        return 0;
    const char *name = path + ftw->base;
    if (ftw->level == 1 && fx.pristine[0] &&
        (!strncmp(name, "lockstep.db", 11) || !strcmp(name, "pristine.db")))
        return 0;
    if (remove(path) != 0)
        die("cannot remove", path);
    return 0;
}

static void clean_dir(void)
{
    if (nftw(fx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        die("cannot clean the data directory", fx.dir);
}

/* What happened in the data directory since the last call: one read of an
 * inotify watch instead of walking the directory and asking the store after
 * every input. *files: an entry was made in it (after a clean it holds only
 * the stores' files, so whatever a request writes — a report, a log, a
 * directory for them — first makes an entry in it). *store: a store file was
 * written (in WAL mode every commit writes lockstep.db-wal, and SQLite writes
 * with write(2), never through a mapping); the caller then asks the store
 * whether its content changed. */
static void watch_dir(bool *files, bool *store)
{
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    *files = *store = false;
    ssize_t n;
    while ((n = read(fx.dir_watch, events, sizeof events)) > 0) {
        for (ssize_t o = 0; o < n;) {
            const struct inotify_event *e = (const struct inotify_event *)(events + o);
            if (e->mask & IN_Q_OVERFLOW)
                *files = *store = true;
            else if ((e->mask & IN_MODIFY) && e->len && !strncmp(e->name, "lockstep.db", 11))
                *store = true;
            else
                *files = true;
            o += (ssize_t)(sizeof *e + e->len);
        }
    }
    if (n < 0 && errno != EAGAIN)
        die("inotify", strerror(errno));
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (in < 0 || out < 0)
        die("cannot copy the store", strerror(errno));
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            die("cannot copy the store", strerror(errno));
    if (n < 0)
        die("cannot copy the store", strerror(errno));
    close(in);
    close(out);
}

static long long live_version(void)
{
    if (sqlite3_step(fx.data_version) != SQLITE_ROW)
        die("PRAGMA data_version", sqlite3_errmsg(fx.live_db));
    long long v = sqlite3_column_int64(fx.data_version, 0);
    sqlite3_reset(fx.data_version);
    return v;
}

static int schema_cookie(void)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(fx.live_db, "PRAGMA schema_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        die("PRAGMA schema_version", sqlite3_errmsg(fx.live_db));
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Copy the pristine pages over the live store (SQLite's backup API, in one
 * transaction that the pool's connections see like any other commit). The
 * backup raises the schema cookie so that other connections re-read the
 * schema; the schema is the pristine one they already hold (Lockstep runs no
 * DDL after its migrations), so the cookie is set back to its pristine value
 * too: the store is then the pristine store byte for byte, and the pool's
 * connections keep their parsed schema and prepared statements instead of
 * re-reading them after every input that wrote. */
static void restore_store(void)
{
    sqlite3_backup *b = sqlite3_backup_init(fx.live_db, "main", fx.pristine_db, "main");
    if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE || sqlite3_backup_finish(b) != SQLITE_OK)
        die("cannot restore the store", sqlite3_errmsg(fx.live_db));
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA schema_version = %d", fx.schema_cookie);
    if (sqlite3_exec(fx.live_db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die("PRAGMA schema_version", sqlite3_errmsg(fx.live_db));
    fx.version = live_version();
}

static void open_snapshot(void)
{
    if (sqlite3_open_v2(fx.pristine, &fx.pristine_db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open_v2(fx.live, &fx.live_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die("cannot open the stores", fx.live);
    sqlite3 *mem;
    if (sqlite3_open(":memory:", &mem) != SQLITE_OK)
        die("cannot open a memory database", NULL);
    sqlite3_backup *b = sqlite3_backup_init(mem, "main", fx.pristine_db, "main");
    if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE || sqlite3_backup_finish(b) != SQLITE_OK)
        die("cannot load the pristine store", sqlite3_errmsg(mem));
    sqlite3_close(fx.pristine_db);
    fx.pristine_db = mem;
    sqlite3_busy_timeout(fx.live_db, 5000);
    if (sqlite3_prepare_v2(fx.live_db, "PRAGMA data_version", -1, &fx.data_version, NULL) !=
        SQLITE_OK)
        die("PRAGMA data_version", sqlite3_errmsg(fx.live_db));
    fx.version = live_version();
    fx.schema_cookie = schema_cookie();
    fx.dir_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fx.dir_watch < 0 ||
        inotify_add_watch(fx.dir_watch, fx.dir, IN_CREATE | IN_MOVED_TO | IN_MODIFY) < 0)
        die("inotify", strerror(errno));
}

static void remove_dir(void)
{
    if (!fx.started)
        return;
    app_close();
    sqlite3_finalize(fx.data_version);
    sqlite3_close(fx.live_db);
    sqlite3_close(fx.pristine_db);
    close(fx.dir_watch);
    fx.pristine[0] = '\0';
    nftw(fx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(fx.dir);
}

static void metrics_baseline(void)
{
    struct metrics *m = fx.app.metrics;
    metrics_reset(m);
    metrics_http(m, 0, "GET", 200, 180);
    metrics_http(m, 0, "GET", 404, 20000000);
    metrics_http(m, METRICS_ROUTE_DASHBOARD, "HEAD", 304, 40);
    metrics_http(m, METRICS_ROUTE_OTHER, "BREW", 418, 7);
    metrics_check(m, "manual", "degraded", 0.004);
    metrics_job(m, "coupling_health_check", "success");
}

/* The query string into map as libmicrohttpd splits and decodes it. */
static void add_query(struct _u_map *map, const char *query)
{
    char *copy = strdup(query);
    if (!copy)
        return;
    char *save = NULL;
    for (char *part = strtok_r(copy, "&", &save); part; part = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(part, '=');
        if (eq)
            *eq++ = '\0';
        for (char *p = part; *p; p++)
            if (*p == '+')
                *p = ' ';
        MHD_http_unescape(part);
        if (eq) {
            for (char *p = eq; *p; p++)
                if (*p == '+')
                    *p = ' ';
            MHD_http_unescape(eq);
        }
        http_request_add_value(map, part, eq);
    }
    free(copy);
}

/* "a=1; b=2" into map as libmicrohttpd parses a Cookie header. */
static void add_cookies(struct _u_map *map, const char *header)
{
    char *copy = strdup(header);
    if (!copy)
        return;
    char *save = NULL;
    for (char *part = strtok_r(copy, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
        while (*part == ' ' || *part == '\t')
            part++;
        char *eq = strchr(part, '=');
        if (!eq)
            continue;
        *eq++ = '\0';
        size_t n = strlen(eq);
        if (n >= 2 && eq[0] == '"' && eq[n - 1] == '"') {
            eq[n - 1] = '\0';
            eq++;
        }
        http_request_add_value(map, part, eq);
    }
    free(copy);
}

int fixture_request(const char *method, const char *target, const struct fixture_header *headers,
                    int n_headers, const void *body, size_t body_len, enum fixture_caller caller,
                    struct _u_response *resp)
{
    struct _u_request u;
    if (ulfius_init_request(&u) != U_OK)
        die("out of memory", NULL);
    u.http_verb = strdup(method);
    u.http_protocol = strdup("HTTP/1.1");
    u.http_url = strdup(target);
    u.url_path = strndup(target, strcspn(target, "?"));
    struct sockaddr_in *in = calloc(1, sizeof(struct sockaddr));
    if (!u.http_verb || !u.http_protocol || !u.http_url || !u.url_path || !in)
        die("out of memory", NULL);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    u.client_address = (struct sockaddr *)in;
    const char *token = caller == CALLER_ADMIN        ? fx.admin
                        : caller == CALLER_INSTRUCTOR ? fx.instructor
                        : caller == CALLER_STUDENT    ? fx.student
                                                      : NULL;
    if (token) {
        char auth[1100];
        snprintf(auth, sizeof auth, "Bearer %s", token);
        http_request_add_value(u.map_header, "Authorization", auth);
    }
    for (int i = 0; i < n_headers; i++) {
        http_request_add_value(u.map_header, headers[i].name, headers[i].value);
        if (!strcasecmp(headers[i].name, "Cookie"))
            add_cookies(u.map_cookie, headers[i].value);
    }
    const char *q = strchr(target, '?');
    if (q)
        add_query(u.map_url, q + 1);
    if (body_len) {
        if (!(u.binary_body = malloc(body_len)))
            die("out of memory", NULL);
        memcpy(u.binary_body, body, body_len);
        u.binary_body_length = body_len;
    }
    /* The counters are process-wide and every request adds to them: left
     * alone, the metrics page grows with the requests of every earlier input
     * (to a megabyte) and differs from one run to the next. Before a request
     * that may reach it, the counters hold a fixed few, so every part of the
     * page (request counters, histograms, checks, jobs) is rendered. */
    if (strcasestr(target, "metrics"))
        metrics_baseline();
    int status = http_dispatch_request(&fx.app, &u, resp);
    if (fx.trace)
        fprintf(stderr, "fuzz: %s %s -> %d %.*s\n", method, target, status,
                (int)(resp->binary_body_length < 160 ? resp->binary_body_length : 160),
                resp->binary_body ? (const char *)resp->binary_body : "");
    ulfius_clean_request(&u);
    return status;
}

bool fixture_method_writes(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* A request made while setting up: it must answer `want`; its body is
 * returned parsed (caller decrefs). */
static json_t *setup_request(const char *method, const char *target, const char *body,
                             enum fixture_caller caller, int want)
{
    struct _u_response resp;
    ulfius_init_response(&resp);
    const struct fixture_header ct = {"Content-Type", "application/json"};
    int status = fixture_request(method, target, &ct, 1, body, body ? strlen(body) : 0, caller,
                                 &resp);
    json_t *out = resp.binary_body ? json_loadb(resp.binary_body, resp.binary_body_length, 0,
                                                NULL)
                                   : NULL;
    if (status != want) {
        fprintf(stderr, "fuzz fixture: %s %s answered %d: %.*s\n", method, target, status,
                (int)resp.binary_body_length, resp.binary_body ? (char *)resp.binary_body : "");
        exit(1);
    }
    ulfius_clean_response(&resp);
    return out;
}

static void login(const char *email, const char *password, char *access, size_t len,
                  char *refresh, size_t refresh_len)
{
    json_t *body = json_pack("{ssss}", "email", email, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    json_t *o = setup_request("POST", "/api/v1/auth/login", text, CALLER_NONE, 200);
    const char *a = json_string_value(json_object_get(o, "access_token"));
    const char *r = json_string_value(json_object_get(o, "refresh_token"));
    if (!a || strlen(a) >= len)
        die("login answered no access token", email);
    snprintf(access, len, "%s", a);
    if (refresh && r)
        snprintf(refresh, refresh_len, "%s", r);
    json_decref(o);
    json_decref(body);
    free(text);
}

/* Give demo user `id` a password and a role, then sign in as them. */
static void sign_in_user(int64_t id, const char *role, char *access, size_t len)
{
    char target[96], body[160];
    snprintf(target, sizeof target, "/api/v1/users/%lld", (long long)id);
    snprintf(body, sizeof body, "{\"role\":\"%s\",\"password\":\"fuzz-password-%s\"}", role, role);
    json_t *o = setup_request("PATCH", target, body, CALLER_ADMIN, 200);
    const char *email = json_string_value(json_object_get(o, "email"));
    if (!email)
        die("PATCH answered no email", target);
    char password[64];
    snprintf(password, sizeof password, "fuzz-password-%s", role);
    login(email, password, access, len, NULL, 0);
    json_decref(o);
}

void fixture_start(void)
{
    if (fx.started)
        return;
    fx.trace = getenv("LOCKSTEP_FUZZ_TRACE") != NULL;
    if (!getenv("LOCKSTEP_FUZZ_LOG"))
        log_set_level((enum log_level)(LOG_ERROR + 1));
    if (users_init() != 0)
        die("sodium_init failed", NULL);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx.dir, sizeof fx.dir, "%s/lockstep-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx.dir))
        die("mkdtemp", strerror(errno));
    snprintf(fx.live, sizeof fx.live, "%s/lockstep.db", fx.dir);
    snprintf(fx.pristine, sizeof fx.pristine, "%s/pristine.db", fx.dir);

    struct config *c = &fx.app.cfg;
    char err[600];
    config_defaults(c);
    if (config_set(c, "data_dir", fx.dir, err, sizeof err) ||
        config_set(c, "jwt_secret", "fuzzing-secret-fuzzing-secret-0123456789", err,
                   sizeof err) ||
        config_set(c, "access_log", "false", err, sizeof err) ||
        config_set(c, "access_token_minutes", "1440", err, sizeof err) ||
        config_set(c, "refresh_token_days", "365", err, sizeof err) ||
        /* Within the harnesses' input size, so that 413 is reached too. */
        config_set(c, "max_body_bytes", "4096", err, sizeof err) ||
        /* The smallest login throttle: it is emptied after every input that
         * reached login, and the default 16,384 records are megabytes to
         * allocate and clear each time. One input is one login attempt, far
         * from filling even this table. */
        config_set(c, "login_throttle_slots", "16", err, sizeof err) ||
        config_finalize(c, err, sizeof err))
        die("config", err);
    fx.app.workers = 4;
    snprintf(fx.app.instance_id, sizeof fx.app.instance_id, "fuzz:%ld", (long)getpid());

    struct store *s;
    if (store_open(c->db, NULL, &s, err, sizeof err))
        die("cannot create the store", err);
    struct demo_options o = {.users = 24, .drift_pct = 25, .orphans = 2, .seed = 17};
    struct demo_result r;
    if (demo_generate(s, &o, &r, err, sizeof err))
        die("demo data", err);
    store_close(s);

    fx.labels = http_route_labels(&fx.n_labels);
    app_open();
    fx.started = true;
    if (!getenv("LOCKSTEP_FUZZ_KEEP"))
        atexit(remove_dir);
    login(r.admin_email, r.admin_password, fx.admin, sizeof fx.admin, fx.refresh,
          sizeof fx.refresh);
    /* The demo admin is the first user; students follow. */
    fx.student_id = 3;
    sign_in_user(2, "instructor", fx.instructor, sizeof fx.instructor);
    sign_in_user(fx.student_id, "student", fx.student, sizeof fx.student);
    app_close();
    copy_file(fx.live, fx.pristine);
    clean_dir();
    open_snapshot();
    app_open();
}

void fixture_reset(const char *target)
{
    /* The login throttle (only after what reached login). */
    if (strstr(target, "login")) {
        auth_shutdown();
        char err[600];
        if (auth_init(&fx.app, err, sizeof err))
            die("auth_init", err);
    }
    bool files, store;
    watch_dir(&files, &store);
    if (files)
        clean_dir();
    if (!store || live_version() == fx.version)
        return;
    restore_store();
    monitor_invalidate(fx.app.monitor);
    /* The users the store had (demo users, and one an input may have added). */
    for (int64_t id = 1; id <= 64; id++)
        auth_forget_user(id);
}

int64_t fixture_student_id(void)
{
    return fx.student_id;
}

const char *fixture_spec(void)
{
    return "PLAYER";
}

const char *fixture_refresh_token(void)
{
    return fx.refresh;
}

/* sqlite_store.c — the embedded store: store.h implemented on SQLite 3.
 * This file opens and closes it, runs transactions, the readiness probe and
 * the migrations, and holds the table of its store_ops; the statements, the
 * domain rows, the pair scan and the recorded checks have a file each
 * (sqlite_statements.c, sqlite_domain.c, sqlite_scan.c, sqlite_checks.c).
 *
 * WAL mode (readers never block the writer), a busy timeout for writers,
 * foreign keys on, every statement prepared once per connection and reused.
 * Timestamps are ISO 8601 text with microseconds, so the database reads well
 * in the sqlite3 shell and sorts by time as text.
 */
#include "store/sqlite/sqlite_lease.h"
#include "store/sqlite/sqlite_private.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/store.h"
#include "util/timeutil.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct store_ops sqlite_ops;

sqlite3 *sqlite_store_db(struct store *s)
{
    return SS(s)->db;
}

int sqlite_store_fail(struct store *s, int rc, const char *what)
{
    return sq_fail(SS(s), rc, what);
}

/* A double-quoted name is always an identifier: SQLite would otherwise take a
 * quoted column that does not exist for a string literal, and a mapped name
 * that is wrong would read as a constant instead of failing. */
void sq_no_quoted_strings(sqlite3 *db)
{
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
}

/* ---- transactions ---------------------------------------------------- */

int sq_begin(struct store *s, enum store_txn kind)
{
    struct sqlite_store *ss = SS(s);
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "a transaction is already open");
    int rc = sq_exec_sql(ss, kind != STORE_TXN_READ ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED",
                      "begin transaction");
    if (rc == 0)
        s->in_txn = (int)kind + 1;
    return rc;
}

int sq_commit(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    if (!s->in_txn)
        return store_fail(s, STORE_ERR, "no transaction is open");
    int rc = sq_exec_sql(ss, "COMMIT", "commit");
    if (rc) {
        if (sqlite3_get_autocommit(ss->db) == 0)
            sq_exec_sql(ss, "ROLLBACK", "rollback");
    }
    s->in_txn = 0;
    return rc;
}

void sq_rollback(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    if (sqlite3_get_autocommit(ss->db) == 0) {
        char saved[STORE_ERRMSG_MAX];
        memcpy(saved, s->errmsg, sizeof saved);
        sq_exec_sql(ss, "ROLLBACK", "rollback");
        memcpy(s->errmsg, saved, sizeof saved);
    }
    s->in_txn = 0;
}

/* ---- readiness probe ------------------------------------------------------ */

/* One statement on a probe connection: its first row's text column 0 into
 * out (may be NULL). Returns the SQLite result code of the step. */
static int probe_step(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && out) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, len, "%s", t ? (const char *)t : "");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* The progress handler of a probe: it notes that the probe goes on, and
 * stops it once its owner cancels. */
static int probe_progress(void *arg)
{
    const struct store *s = arg;
    if (s->progress_at)
        atomic_store(s->progress_at, time_mono_us());
    return s->cancel && atomic_load(s->cancel) ? 1 : 0;
}

static int sq_probe(struct store *s, bool deep, struct store_probe *out)
{
    struct sqlite_store *ss = SS(s);
    memset(out, 0, sizeof *out);
    out->last_check_pairs = -1;
    /* A fresh connection has no page cache: it reads what is on disk now. It
     * never creates the file. */
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(ss->path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        snprintf(out->read_error, sizeof out->read_error, "cannot open %s: %s", ss->path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return 0;
    }
    sqlite3_busy_timeout(db, 1000);
    /* The deep check reads every page (14 s of CPU at 10 M pairs): serve's
     * stop must not wait for it, and the readiness probe must see it move. */
    if (s->cancel || s->progress_at)
        sqlite3_progress_handler(db, 10000, probe_progress, s);
    char text[256] = "";
    if (deep) {
        rc = probe_step(db, "PRAGMA quick_check(1)", text, sizeof text);
        if (rc != SQLITE_ROW || strcmp(text, "ok") != 0) {
            snprintf(out->read_error, sizeof out->read_error, "integrity check: %s",
                     rc == SQLITE_ROW ? text : sqlite3_errmsg(db));
            goto done;
        }
    }
    if (ss->attached && sq_attach_academy(ss, db, out->read_error, sizeof out->read_error))
        goto done;
    sqlite3_stmt *st = NULL;
    const char *probe_sql = sq_sql_text(ss, ST_PROBE);
    rc = probe_sql ? sqlite3_prepare_v2(db, probe_sql, -1, &st, NULL) : SQLITE_ERROR;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->schema_version = sqlite3_column_int(st, 0);
        out->has_users = sqlite3_column_int(st, 1) != 0;
        out->has_pairs = sqlite3_column_int(st, 2) != 0;
        out->last_check_pairs = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        snprintf(out->read_error, sizeof out->read_error, "read: %s",
                 probe_sql ? sqlite3_errmsg(db) : store_errmsg(&ss->base));
        goto done;
    }
    if (sqlite3_db_readonly(db, "main") == 1) {
        snprintf(out->write_error, sizeof out->write_error,
                 "%s can only be opened read-only", ss->path);
        goto done;
    }
    /* A write that changes nothing, committed: it needs the lock, a journal
     * and room on the disk like any other. */
    rc = probe_step(db, "BEGIN IMMEDIATE", NULL, 0);
    if (rc == SQLITE_DONE)
        rc = probe_step(db,
                        "UPDATE schema_migrations SET applied_at = applied_at "
                        "WHERE version = (SELECT max(version) FROM schema_migrations)",
                        NULL, 0);
    if (rc == SQLITE_DONE)
        rc = probe_step(db, "COMMIT", NULL, 0);
    if (rc != SQLITE_DONE) {
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
            out->write_busy = true;
        else
            snprintf(out->write_error, sizeof out->write_error, "write: %s",
                     sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
done:
    sqlite3_close_v2(db);
    return 0;
}

/* ---- migrations --------------------------------------------------------- */

/* True in *exists when the database has Lockstep's schema_migrations table. */
static int has_schema(struct sqlite_store *ss, bool *exists)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(ss->db,
                                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                "AND name = 'schema_migrations'",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "read schema version");
    rc = sqlite3_step(st);
    *exists = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(ss, rc, "read schema version");
}

static int current_version(struct sqlite_store *ss, int *version)
{
    *version = 0;
    bool exists = false;
    int rc = has_schema(ss, &exists);
    if (rc != 0 || !exists)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(ss->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "read schema version");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(ss, rc, "read schema version");
}

static int sq_schema_version(struct store *s, int *version)
{
    return current_version(SS(s), version);
}

/* After migrations ran with foreign keys off: every reference still holds. */
static int foreign_keys_hold(struct sqlite_store *ss)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(ss->db, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "check foreign keys after migrating");
    rc = sqlite3_step(st);
    char table[64] = "";
    if (rc == SQLITE_ROW)
        snprintf(table, sizeof table, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return store_fail(&ss->base, STORE_ERR,
                          "migrating broke a reference of table %s (nothing was changed)",
                          table);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "check foreign keys after migrating");
}

/* The connection's settings while migrations run, and back to set_pragmas'
 * after (sq_migrate says why). */
#define MIGRATE_BEFORE "PRAGMA foreign_keys = OFF; PRAGMA temp_store = FILE"
#define MIGRATE_AFTER "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY"

static int sq_migrate(struct store *s, int *applied)
{
    struct sqlite_store *ss = SS(s);
    int version = 0, n = 0;
    bool rebuilt = false;
    *applied = 0;
    int rc = current_version(ss, &version);
    if (rc)
        return rc;
    if (version > SQLITE_MIGRATION_COUNT)
        return store_fail(s, STORE_ERR,
                          "the database schema is version %d, newer than this lockstep "
                          "understands (%d); upgrade lockstep",
                          version, SQLITE_MIGRATION_COUNT);
    if (version == SQLITE_MIGRATION_COUNT)
        return 0;
    /* A migration may rebuild a table others refer to: foreign keys are off
     * while they run (the pragma is a no-op inside a transaction) and, when
     * one that ran rebuilds (sqlite_rebuilding_migrations), checked whole
     * before the commit. Their statement journals go to a temporary file:
     * a statement that frees many pages (migration 17 dropped an index of
     * 30,000 pages at 10 M pairs) journals each one, and with the
     * connection's temp_store = MEMORY and Debian's secure_delete that held
     * 120 MB in memory. */
    rc = sq_exec_sql(ss, MIGRATE_BEFORE, "migrate");
    if (rc)
        return rc;
    rc = sq_begin(s, STORE_TXN_WRITE);
    if (rc) {
        sq_exec_sql(ss, MIGRATE_AFTER, "migrate");
        return rc;
    }
    rc = sq_exec_sql(ss,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                  " name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                  "create schema_migrations");
    if (rc == 0)
        rc = current_version(ss, &version); /* another process may have migrated */
    for (int i = 0; rc == 0 && i < SQLITE_MIGRATION_COUNT; i++) {
        const struct store_migration *m = &sqlite_migrations[i];
        if (m->version <= version)
            continue;
        char what[96];
        snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
        rc = m->sql ? sq_exec_sql(ss, m->sql, what) : 0;
        if (rc == 0 && m->domain_sql && !ss->attached)
            rc = sq_exec_sql(ss, m->domain_sql, what);
        if (rc)
            break;
        sqlite3_stmt *st = NULL;
        int src = sqlite3_prepare_v2(ss->db,
                                     "INSERT INTO schema_migrations(version, name, applied_at) "
                                     "VALUES (?1, ?2, ?3)",
                                     -1, &st, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_int(st, 1, m->version);
            sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
            sq_bind_time(st, 3, time_now_us());
            src = sqlite3_step(st);
            src = src == SQLITE_DONE ? SQLITE_OK : src;
        }
        sqlite3_finalize(st);
        if (src != SQLITE_OK) {
            rc = sq_fail(ss, src, what);
            break;
        }
        n++;
        for (size_t r = 0; r < SQLITE_REBUILDING_COUNT; r++)
            rebuilt = rebuilt || sqlite_rebuilding_migrations[r] == m->version;
    }
    if (rc == 0 && rebuilt)
        rc = foreign_keys_hold(ss);
    if (rc) {
        sq_rollback(s);
        sq_exec_sql(ss, MIGRATE_AFTER, "migrate");
        return rc;
    }
    rc = sq_commit(s);
    int frc = sq_exec_sql(ss, MIGRATE_AFTER, "migrate");
    if (rc == 0)
        rc = frc;
    if (rc == 0)
        *applied = n;
    /* A migration over a large store fills the page cache and the sorter
     * of an index it builds, kept by the process after the commit. serve
     * migrates before it starts and must stay under 100 MB, so it is given
     * back. */
    if (n > 0) {
        sqlite3_db_release_memory(ss->db);
        malloc_trim(0);
    }
    return rc;
}

/* ---- open and close -------------------------------------------------------- */

static void sq_close(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(ss->stmts[i]);
    sq_stage_clear(&ss->stage);
    for (int i = 0; i < 2; i++) {
        sqlite3_finalize(ss->scan_stmt[i]);
        sqlite3_close_v2(ss->scan_db[i]);
    }
    sqlite3_close_v2(ss->lock_db);
    if (ss->watch_fd >= 0)
        close(ss->watch_fd);
    if (ss->wake_fd >= 0)
        close(ss->wake_fd);
    sqlite3_close_v2(ss->db);
    for (int i = 0; i < ST_COUNT; i++)
        free(ss->sql[i]);
    free(ss);
}

/* `path` made absolute for messages: an operator (or a cron job) in another
 * directory sees which file was meant. */
static void absolute_path(const char *path, char *out, size_t len)
{
    char cwd[STORE_PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) {
        snprintf(out, len, "%s", path);
        return;
    }
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    snprintf(out, len, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path);
}

/* A store for `path` with the options of `o`, not yet connected (owned by the
 * caller: free() it, or sq_close once it has a connection); NULL with err set. */
static struct sqlite_store *store_new(const char *path, const struct store_options *o,
                                      char *err, size_t errlen)
{
    struct sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ss->watch_fd = -1;
    ss->wake_fd = -1;
    ss->base.ops = &sqlite_ops;
    if (o->domain)
        ss->domain = *o->domain;
    else
        domain_map_own(&ss->domain);
    ss->attached = ss->domain.attached;
    ss->base.domain_read_only = ss->attached && !ss->domain.repair;
    ss->base.domain_attached = ss->attached;
    if (ss->attached && !ss->domain.database[0]) {
        snprintf(err, errlen, "[domain] database: the path of the academy's SQLite file is "
                 "needed with source = attached and an SQLite store");
        free(ss);
        return NULL;
    }
    ss->busy_timeout_ms = o->busy_timeout_ms;
    ss->parallel_min_bytes = o->parallel_scan_min_bytes;
    ss->cache_kib = o->cache_kib > 0 ? o->cache_kib : STORE_CACHE_KIB;
    ss->secure_delete_fast = o->secure_delete_fast;
    snprintf(ss->path, sizeof ss->path, "%s", path);
    return ss;
}

/* There is no store at `path` (`exists`: an empty file is there). The
 * academy's file and the mapping are still checked (doctor runs before the
 * first migrate), on a connection of nothing. Returns STORE_ERR_NO_STORE, or
 * STORE_ERR when the academy's file fails its check; err says which. */
static int no_store_yet(struct sqlite_store *ss, const char *path, bool exists, char *err,
                        size_t errlen)
{
    sqlite3 *mem = NULL;
    int mrc = ss->attached ? sqlite3_open_v2(":memory:", &mem,
                                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL)
                           : SQLITE_OK;
    if (ss->attached && (mrc != SQLITE_OK || sq_attach_academy(ss, mem, err, errlen) != 0)) {
        if (mrc != SQLITE_OK)
            snprintf(err, errlen, "cannot check the academy's database: out of memory");
        sqlite3_close_v2(mem);
        return STORE_ERR;
    }
    sqlite3_close_v2(mem);
    char where[STORE_PATH_MAX + 256];
    absolute_path(path, where, sizeof where);
    snprintf(err, errlen, "no Lockstep store at %s%s", where,
             exists ? " (an empty file; remove it to start a new store)" : "");
    return STORE_ERR_NO_STORE;
}

/* Once per process, before SQLite initializes: no memory statistics. They
 * take a lock of the whole library around every allocation, which two
 * connections working at once on two threads (the watcher's) then wait on;
 * Lockstep reads none of them. */
static void sqlite_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Open the store's main connection to `path` (created if `create`). On
 * failure err says why; the caller closes the store all the same. */
static int connect_main(struct sqlite_store *ss, const char *path, bool create, char *err,
                        size_t errlen)
{
    int rc = sqlite3_open_v2(path, &ss->db,
                             SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                                 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 ss->db ? sqlite3_errmsg(ss->db) : sqlite3_errstr(rc));
        return STORE_ERR;
    }
    sqlite3_extended_result_codes(ss->db, 1);
    sq_no_quoted_strings(ss->db);
    sqlite3_busy_timeout(ss->db, (int)ss->busy_timeout_ms);
    return 0;
}

/* Opening without creating: the database must already be Lockstep's. This
 * runs before the pragmas, so another program's database is left as it is. */
static int require_schema(struct sqlite_store *ss, const char *path, char *err, size_t errlen)
{
    bool schema = false;
    int rc = has_schema(ss, &schema);
    if (rc) {
        snprintf(err, errlen, "cannot open database %s: %s", path, store_errmsg(&ss->base));
        return rc;
    }
    if (!schema) {
        char where[STORE_PATH_MAX + 256];
        absolute_path(path, where, sizeof where);
        snprintf(err, errlen, "no Lockstep store at %s", where);
        return STORE_ERR_NO_STORE;
    }
    return 0;
}

/* The connection's settings: WAL, synchronous NORMAL, foreign keys on, the
 * cache. journal_mode needs the write lock the first time; the busy timeout
 * covers it. */
static int set_pragmas(struct sqlite_store *ss, const char *path, char *err, size_t errlen)
{
    static const char *pragmas[] = {
        "PRAGMA main.journal_mode = WAL", /* not the attached academy file's */
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA temp_store = MEMORY",
    };
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(ss->db, pragmas[i], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "cannot open database %s: %s", path,
                     msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            return (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY : STORE_ERR;
        }
    }
    char cache[96];
    snprintf(cache, sizeof cache, "PRAGMA cache_size = -%ld;%s", ss->cache_kib,
             ss->secure_delete_fast ? " PRAGMA secure_delete = FAST;" : "");
    int rc = sqlite3_exec(ss->db, cache, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path, sqlite3_errstr(rc));
        return STORE_ERR;
    }
    return 0;
}

int store_sqlite_open(const char *path, const struct store_options *o, struct store **out,
                      char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, sqlite_setup);
    *out = NULL;
    struct sqlite_store *ss = store_new(path, o, err, errlen);
    if (!ss)
        return STORE_ERR;
    /* A missing file is a new store only when creating one was asked for; an
     * empty file never is (a store emptied by accident must not come back as
     * a fresh one that reports HEALTHY over nothing). */
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    if ((exists && S_ISREG(sb.st_mode) && sb.st_size == 0) ||
        (!exists && errno == ENOENT && !o->create)) {
        int rc = no_store_yet(ss, path, exists, err, errlen);
        free(ss);
        return rc;
    }
    int rc = connect_main(ss, path, o->create, err, errlen);
    bool mapping_failed = false;
    if (rc == 0 && ss->attached) {
        rc = sq_attach_academy(ss, ss->db, err, errlen);
        mapping_failed = rc != 0;
    }
    if (rc == 0 && !o->create)
        rc = require_schema(ss, path, err, errlen);
    if (rc == 0)
        rc = set_pragmas(ss, path, err, errlen);
    if (rc == 0 && o->migrate) {
        int applied = 0;
        rc = sq_migrate(&ss->base, &applied);
        if (rc)
            snprintf(err, errlen, "cannot migrate database %s: %s", path,
                     store_errmsg(&ss->base));
    }
    if (rc) {
        sq_close(&ss->base);
        if (mapping_failed && !exists) /* a wrong mapping creates nothing */
            unlink(path);
        return rc;
    }
    *out = &ss->base;
    return 0;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .schema_latest = SQLITE_MIGRATION_COUNT,
    .close = sq_close,
    .migrate = sq_migrate,
    .schema_version = sq_schema_version,
    .probe = sq_probe,
    .attached_inspect = sq_attached_inspect,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_insert = sq_user_insert,
    .user_get = sq_user_get,
    .user_get_by_email = sq_user_get_by_email,
    .user_update = sq_user_update,
    .user_list = sq_user_list,
    .user_count = sq_user_count,
    .user_email = sq_user_email,
    .user_emails = sq_user_emails,
    .spec_insert = sq_spec_insert,
    .spec_get = sq_spec_get,
    .spec_list = sq_spec_list,
    .spec_level_xp = sq_spec_level_xp,
    .progress_get = sq_progress_get,
    .progress_insert = sq_progress_insert,
    .progress_update = sq_progress_update,
    .license_get = sq_license_get,
    .license_insert = sq_license_insert,
    .license_update = sq_license_update,
    .progression_insert = sq_progression_insert,
    .progression_count = sq_progression_count,
    .user_pairs = sq_user_pairs,
    .pair_scan_open = sq_pair_scan_open,
    .pair_scan_next = sq_pair_scan_next,
    .pair_scan_close = sq_pair_scan_close,
    .violation_first_seen = sq_violation_first_seen,
    .check_stage_reset = sq_check_stage_reset,
    .check_stage_add = sq_check_stage_add,
    .check_stage_resolve = sq_check_stage_resolve,
    .check_stage_complete = sq_check_stage_complete,
    .check_record = sq_check_record,
    .check_set_file = sq_check_set_file,
    .check_latest = sq_check_latest,
    .check_get = sq_check_get,
    .check_list = sq_check_list,
    .violations_open = sq_violations_open,
    .violations_new_since = sq_violations_new_since,
    .violations_resolved_since = sq_violations_resolved_since,
    .violations_open_page = sq_violations_open_page,
    .violations_open_count = sq_violations_open_count,
    .sync_run_insert = sq_sync_run_insert,
    .sync_run_list = sq_sync_run_list,
    .sync_run_count_repair = sq_sync_run_count_repair,
    .sync_run_finish = sq_sync_run_finish,
    .sync_run_list_running = sq_sync_run_list_running,
    .audit_insert = sq_audit_insert,
    .refresh_insert = sq_refresh_insert,
    .refresh_get = sq_refresh_get,
    .refresh_mark_used = sq_refresh_mark_used,
    .refresh_revoke_family = sq_refresh_revoke_family,
    .refresh_revoke_user = sq_refresh_revoke_user,
    .lease_get = sqlite_lease_get,
    .lease_renew = sqlite_lease_renew,
    .lease_take = sqlite_lease_take,
    .lease_release = sqlite_lease_release,
    .alert_eval_lock = sqlite_alert_eval_lock,
    .scheduler_start_insert = sq_scheduler_start_insert,
    .scheduler_first_start = sq_scheduler_first_start,
    .scheduler_last_start = sq_scheduler_last_start,
    .scheduler_start_list = sq_scheduler_start_list,
    .job_run_insert = sq_job_run_insert,
    .job_run_finish = sq_job_run_finish,
    .job_runs_interrupt_stale = sq_job_runs_interrupt_stale,
    .job_run_stats = sq_job_run_stats,
    .job_run_list = sq_job_run_list,
    .job_run_last_due = sq_job_run_last_due,
    .baseline_insert = sq_baseline_insert,
    .baseline_get = sq_baseline_get,
    .baseline_list = sq_baseline_list,
    .baseline_set_file = sq_baseline_set_file,
    .alert_insert = sq_alert_insert,
    .alert_update = sq_alert_update,
    .alert_list = sq_alert_list,
    .silence_insert = sq_silence_insert,
    .silence_list = sq_silence_list,
    .silence_delete = sq_silence_delete,
    .delivery_insert = sq_delivery_insert,
    .delivery_update = sq_delivery_update,
    .delivery_due = sq_delivery_due,
    .delivery_list = sq_delivery_list,
    .delivery_next_due = sq_delivery_next_due,
    .attempt_insert = sq_attempt_insert,
    .attempt_list = sq_attempt_list,
    .watch_state_get = sq_watch_state_get,
    .watch_pending = sq_watch_pending,
    .watch_changes = sq_watch_changes,
    .pairs_get = sq_pairs_get,
    .open_details = sq_open_details,
    .user_rows = sq_user_rows,
    .violations_move = sq_violations_move,
    .watch_advance = sq_watch_advance,
    .watch_reset = sq_watch_reset,
    .watch_marks = sq_watch_marks,
    .watch_poll = sq_watch_poll,
    .watch_discard = sq_watch_discard,
    .watch_capture = sq_watch_capture,
    .watch_capture_installed = sq_watch_capture_installed,
    .watch_poll_indexed = sq_watch_poll_indexed,
    .watch_lock = sq_watch_lock,
    .wal_autocheckpoint = sq_wal_autocheckpoint,
    .wal_checkpoint = sq_wal_checkpoint,
    .watch_wait = sq_watch_wait,
    .watch_wakes = sq_watch_wakes,
};

/* sqlite_private.h — what the files of the SQLite store share: the statement
 * ids, the store struct and the helpers that prepare, bind and read. Private
 * to store/sqlite (the rest of Lockstep sees store.h only). */
#ifndef LOCKSTEP_SQLITE_PRIVATE_H
#define LOCKSTEP_SQLITE_PRIVATE_H

#include "model/domain_map.h"
#include "util/intern.h"
#include "store/backends.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every statement of the store, prepared once per connection (sq_stmt). Their
 * SQL is the table in sqlite_statements.c. */
enum stmt_id {
    ST_USER_INSERT,
    ST_USER_GET,
    ST_USER_GET_EMAIL,
    ST_USER_UPDATE,
    ST_USER_COUNT,
    ST_USER_EMAIL,
    ST_USER_EMAILS_MANY,
    ST_USER_EMAILS_RANGE,
    ST_SPEC_INSERT,
    ST_SPEC_GET,
    ST_SPEC_LIST,
    ST_SPEC_IDS,
    ST_PROBE,
    ST_SPEC_LEVEL_XP,
    ST_PROGRESS_GET,
    ST_PROGRESS_INSERT,
    ST_PROGRESS_UPDATE,
    ST_LICENSE_GET,
    ST_LICENSE_INSERT,
    ST_LICENSE_UPDATE,
    ST_PROGRESSION_INSERT,
    ST_PROGRESSION_COUNT,
    ST_USER_PROGRESS_ROWS,
    ST_USER_LICENSE_ROWS,
    ST_SCAN_P_ALL,
    ST_SCAN_P_USER,
    ST_SCAN_P_SPEC,
    ST_SCAN_P_USER_SPEC,
    ST_SCAN_L_ALL,
    ST_SCAN_L_USER,
    ST_SCAN_L_SPEC,
    ST_SCAN_L_USER_SPEC,
    ST_VIOLATION_FIRST_SEEN,
    ST_CHECK_INSERT,
    ST_VIOLATION_RESOLVE,
    ST_VIOLATION_UPDATE_OPEN,
    ST_VIOLATION_INSERT,
    ST_CHECK_SET_FILE,
    ST_CHECK_LATEST,
    ST_CHECK_GET,
    ST_CHECK_LIST,
    ST_VIOLATIONS_OPEN_ALL,
    ST_VIOLATIONS_OPEN_SPEC,
    ST_VIOLATIONS_NEW_SINCE,
    ST_VIOLATIONS_RESOLVED_SINCE,
    ST_VIOLATIONS_OPEN_PAGE,
    ST_VIOLATIONS_OPEN_COUNT,
    ST_SYNC_RUN_INSERT,
    ST_SYNC_RUN_LIST,
    ST_SYNC_RUN_COUNT,
    ST_SYNC_RUN_FINISH,
    ST_SYNC_RUN_RUNNING,
    ST_AUDIT_INSERT,
    ST_REFRESH_INSERT,
    ST_REFRESH_GET,
    ST_REFRESH_MARK_USED,
    ST_REFRESH_REVOKE_FAMILY,
    ST_REFRESH_REVOKE_USER,
    ST_SCHED_START_INSERT,
    ST_SCHED_FIRST_START,
    ST_SCHED_LAST_START,
    ST_SCHED_START_LIST,
    ST_JOB_RUN_INSERT,
    ST_JOB_RUN_FINISH,
    ST_JOB_RUNS_INTERRUPT,
    ST_JOB_RUN_STATS,
    ST_JOB_RUN_LAST,
    ST_JOB_RUN_LAST_SUCCESS,
    ST_JOB_RUN_LIST,
    ST_JOB_RUN_LAST_DUE,
    ST_BASELINE_INSERT,
    ST_BASELINE_GET,
    ST_BASELINE_LATEST,
    ST_BASELINE_LIST,
    ST_BASELINE_SET_FILE,
    ST_ALERT_INSERT,
    ST_ALERT_UPDATE,
    ST_ALERT_LIST_ACTIVE,
    ST_ALERT_LIST_ALL,
    ST_SILENCE_INSERT,
    ST_SILENCE_LIST_AT,
    ST_SILENCE_LIST_ALL,
    ST_SILENCE_DELETE,
    ST_DELIVERY_INSERT,
    ST_DELIVERY_UPDATE,
    ST_DELIVERY_DUE,
    ST_DELIVERY_LIST,
    ST_DELIVERY_NEXT_DUE,
    ST_ATTEMPT_INSERT,
    ST_ATTEMPT_LIST,
    ST_WATCH_STATE_GET,
    ST_WATCH_PENDING,
    ST_WATCH_CHANGES,
    ST_WATCH_CHANGES_OF_MANY,
    ST_WATCH_CHANGES_OF_RANGE,
    ST_VIOLATION_RESOLVE_OTHER,
    ST_USER_ROWS,
    ST_WATCH_DELETE,
    ST_WATCH_KEY_INSERT,
    ST_WATCH_KEY_INSERT_MANY,
    ST_VIOLATION_INSERT_MANY,
    ST_VIOLATION_RESOLVE_MANY,
    ST_VIOLATION_UPDATE_OPEN_MANY,
    ST_WATCH_KEYS_PROGRESS,
    ST_WATCH_KEYS_LICENSE,
    ST_WATCH_KEYS_OPEN,
    ST_VIOLATION_DETAILS_MANY,
    ST_WATCH_RANGE_PROGRESS,
    ST_WATCH_RANGE_LICENSE,
    ST_WATCH_RANGE_OPEN,
    ST_WATCH_ADVANCE,
    ST_WATCH_RESET,
    ST_WATCH_MARKS_SET,
    ST_WATCH_MAX_P,
    ST_WATCH_MAX_L,
    ST_WATCH_POLL_P,
    ST_WATCH_POLL_L,
    ST_COUNT
};

/* The changes a check makes to the open violations, gathered while its full
 * scan runs (sqlite_scan.c) so that recording touches only what changed.
 * One per changed violation, so kept small: the strings of few distinct
 * values are indexes into the stage's names. */
struct staged_violation {
    int64_t user;
    uint32_t spec, issue, action; /* indexes into stage.names */
    bool has_progress, has_license;
    int progress_level, license_level;
    int64_t first_seen;
    char *email; /* owned */
};

struct stage {
    bool open;      /* check_stage_reset was called */
    bool complete;  /* check_stage_complete since then */
    struct staged_violation *resolved, *upserts;
    size_t n_resolved, cap_resolved, n_upserts, cap_upserts;
    struct intern names; /* the specializations, issue types and actions staged */
};

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    char path[STORE_PATH_MAX];
    long busy_timeout_ms;
    sqlite3_stmt *stmts[ST_COUNT];
    struct stage stage;        /* what the next check_record writes */
    long parallel_min_bytes;   /* threaded full scans above this file size; -1 never */
    long cache_kib;            /* PRAGMA cache_size of the connection, KiB */
    bool secure_delete_fast;   /* PRAGMA secure_delete = FAST (store_options) */
    sqlite3 *scan_db[2];       /* threaded full scans: read progress, licenses */
    sqlite3 *lock_db;          /* holds the write lock while a scan's snapshots start */
    int watch_fd;              /* "<db>-watch", flocked by watch_lock; -1: not open */
    int wake_fd;               /* inotify on the store's directory (watch_wait); -1: none */
    bool wake_tried;           /* wake_fd was set up, or could not be */
    char wake_why[160];        /* why it could not be */
    int64_t wake_last_us;      /* when watch_wait last returned (monotonic) */
    sqlite3_stmt *scan_stmt[2];
    struct domain_map domain;  /* the names of the domain tables */
    bool attached;             /* they are another application's: never created here */
    char *sql[ST_COUNT];       /* each statement's SQL, made from its template when first
                                  used; owned */
};

static inline struct sqlite_store *SS(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* Record SQLite result code `rc` of `what` as the store's error; returns the
 * store code (STORE_ERR_BUSY, STORE_ERR_CONFLICT, STORE_ERR). */
int sq_fail(struct sqlite_store *ss, int rc, const char *what);

/* Rows per execution of ST_WATCH_KEY_INSERT_MANY and of ST_VIOLATION_INSERT_,
 * RESOLVE_ and UPDATE_OPEN_MANY (a watcher batch writes thousands of each: one
 * statement per row spent a fifth of the time in stepping and resetting). */
#define SQ_KEYS_MANY 64
#define SQ_VIOLATIONS_MANY 32
#define SQ_EMAILS_MANY 64
#define SQ_CHANGE_USERS_MANY 64
#define SQ_DETAILS_MANY 64

/* Whether n ascending user ids from lo to hi are read faster as one range of
 * the table than by a seek each: at least SQ_RANGE_MIN of them, over a span at
 * most SQ_RANGE_SPAN_PER_ID times their number (a burst over a cohort of
 * consecutive users; sqlite_watch.c). A row stepped over costs a fraction of
 * a seek. */
#define SQ_RANGE_MIN 64
#define SQ_RANGE_SPAN_PER_ID 2
bool sq_ids_dense(size_t n, int64_t lo, int64_t hi);

/* watch_wait returns at most every SQ_WAKE_GAP_MS when woken by writes: a
 * writer committing 2,000 times a second is applied in rounds of about 20
 * changes, not one round per commit. */
#define SQ_WAKE_GAP_MS 10

/* Transactions (sqlite_store.c): the store_ops begin, commit and rollback;
 * sq_rollback keeps the store's error message of the failure that led to it. */
int sq_begin(struct store *s, enum store_txn kind);
int sq_commit(struct store *s);
void sq_rollback(struct store *s);
/* Turn off double-quoted string literals on a new connection, so a quoted
 * name that does not exist is an error instead of a constant (sqlite_store.c). */
void sq_no_quoted_strings(sqlite3 *db);

/* An attached academy file (sqlite_attach.c, attach.md): its schema name in
 * every connection of the store. sq_attach_academy attaches [domain] database
 * to db (read-only unless repairs are on; a missing file is an error, never
 * created); with err, it also checks that every mapped table and column
 * exists (else an error naming key, table and column). Returns 0 or a
 * STORE_ERR_* code. sq_attached_inspect: store_ops.attached_inspect. */
#define SQ_ACADEMY "academy"
int sq_attach_academy(struct sqlite_store *ss, sqlite3 *db, char *err, size_t errlen);
int sq_attached_inspect(struct store *s, store_doctor_cb cb, void *ctx);
/* The SQL of statement `id` for this store's domain tables, made from its
 * template the first time (borrowed: ss->sql[id], freed with the store); NULL
 * with the store's error set (a domain write while repairs are off, a bad
 * mapping). sqlite_statements.c. */
const char *sq_sql_text(struct sqlite_store *ss, enum stmt_id id);
/* Statement `id` of this connection, reset and unbound, prepared the first
 * time (borrowed: the store finalizes it); NULL with the store's error set. */
sqlite3_stmt *sq_stmt(struct sqlite_store *ss, enum stmt_id id);
/* Bind helpers: a time as ISO text (0: NULL), a string or NULL, an id or NULL
 * (0: NULL), a [since, until) range of times at i and i + 1 (0: open). */
void sq_bind_time(sqlite3_stmt *st, int i, int64_t us);
void sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);
void sq_bind_id_or_null(sqlite3_stmt *st, int i, int64_t id);
void sq_bind_range(sqlite3_stmt *st, int i, int64_t since, int64_t until);
/* Column readers: a time (NULL: 0), text copied into out[len] (NULL: ""). */
int64_t sq_col_time(sqlite3_stmt *st, int i);
void sq_col_copy(sqlite3_stmt *st, int i, char *out, size_t len);
/* The time in the first column of the one row of `st` (reset after): 0 ok,
 * STORE_ERR_NOT_FOUND when there is no row or the time is NULL. */
int sq_first_time(struct sqlite_store *ss, sqlite3_stmt *st, int64_t *when, const char *what);
/* Step a statement that returns no row (sq_exec_stmt) or at most one
 * (sq_step_one: SQLITE_ROW, SQLITE_DONE or the store code of a failure), or
 * run SQL text without parameters (sq_exec_sql); `what` names it in errors. */
int sq_exec_stmt(struct sqlite_store *ss, sqlite3_stmt *st, const char *what);
int sq_step_one(struct sqlite_store *ss, sqlite3_stmt *st, const char *what);
int sq_exec_sql(struct sqlite_store *ss, const char *sql, const char *what);

/* The watcher's operations (sqlite_watch.c): store_ops watch_* and friends. */
int sq_watch_state_get(struct store *s, struct watch_state *out);
int sq_watch_pending(struct store *s, int64_t *count, double *oldest);
int sq_wal_autocheckpoint(struct store *s, bool on);
int sq_wal_checkpoint(struct store *s);
int sq_watch_changes(struct store *s, int64_t max_rows, int64_t after_id,
                     store_change_cb cb, void *ctx);
int sq_open_details(struct store *s, struct open_violation *const *opens, size_t n);
int sq_pairs_get(struct store *s, const struct pair_key *keys, size_t n, store_pair_cb cb,
                 void *ctx);
int sq_user_rows(struct store *s, const int64_t *users, size_t n, int64_t *out);
int sq_violations_move(struct store *s, const struct violation_move *m, size_t n, int64_t now);
int sq_watch_advance(struct store *s, const int64_t *ids, size_t n, int64_t dpairs,
                     int64_t dusers, int64_t dviolations, double lag, int64_t now);
int sq_watch_reset(struct store *s, const int64_t *ids, size_t n, int64_t pairs, int64_t users,
                   int64_t violations, int64_t check_id, int64_t divergences, int64_t now,
                   const struct watch_marks *marks);
int sq_watch_marks(struct store *s, struct watch_marks *out);
int sq_watch_poll(struct store *s, int64_t now, int64_t *taken);
int sq_watch_discard(struct store *s);
int sq_watch_capture(struct store *s, bool install, bool apply, char **sql);
int sq_watch_capture_installed(struct store *s, bool *installed);
int sq_watch_poll_indexed(struct store *s, bool indexed[2]);
int sq_watch_lock(struct store *s, bool on);
int sq_watch_wait(struct store *s, long timeout_ms);
bool sq_watch_wakes(struct store *s, char *why, size_t whylen);

/* Specializations, progress, licenses, progressions and a user's pair rows
 * (sqlite_domain.c): the store_ops of the same names without "sq_". */
int sq_spec_insert(struct store *s, const struct specialization *sp);
int sq_spec_get(struct store *s, const char *id, struct specialization *sp);
int sq_spec_list(struct store *s, store_spec_cb cb, void *ctx);
int sq_spec_level_xp(struct store *s, const char *spec, int level, int64_t *xp);
int sq_progress_get(struct store *s, int64_t user, const char *spec, bool for_update,
                    struct progress *p);
int sq_progress_insert(struct store *s, struct progress *p);
int sq_progress_update(struct store *s, const struct progress *p);
int sq_license_get(struct store *s, int64_t user, const char *spec, bool for_update,
                   struct license *l);
int sq_license_insert(struct store *s, struct license *l);
int sq_license_update(struct store *s, const struct license *l);
int sq_progression_insert(struct store *s, struct progression *pr);
int sq_progression_count(struct store *s, int64_t license_id, int64_t *n);
int sq_user_pairs(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx);

/* The pair scan (sqlite_scan.c): the store_ops of the same names without
 * "sq_". */
int sq_pair_scan_open(struct store *s, const struct pair_filter *f, struct store_scan **out);
int sq_pair_scan_next(struct store_scan *sc, struct pair_levels *out);
void sq_pair_scan_close(struct store_scan *sc);

/* Recorded checks, their staging and the open violations (sqlite_checks.c):
 * the store_ops of the same names without "sq_". sq_stage_clear frees what a
 * stage holds and empties it (the store's close calls it). */
int sq_violation_first_seen(struct store *s, int64_t user, const char *spec,
                            const char *issue, int64_t *first_seen);
int sq_check_stage_reset(struct store *s);
int sq_check_stage_add(struct store *s, const struct violation *v, bool unchanged);
int sq_check_stage_resolve(struct store *s, int64_t user, const char *spec, const char *issue);
int sq_check_stage_complete(struct store *s);
int sq_check_record(struct store *s, struct check_run *c);
int sq_check_set_file(struct store *s, int64_t id, const char *file, const char *error);
int sq_check_latest(struct store *s, struct check_run *c);
int sq_check_get(struct store *s, int64_t id, struct check_run *c);
int sq_check_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                  store_check_cb cb, void *ctx);
int sq_violations_open(struct store *s, const char *spec, store_violation_cb cb, void *ctx);
int sq_violations_new_since(struct store *s, int64_t since, store_violation_cb cb, void *ctx);
int sq_violations_resolved_since(struct store *s, int64_t since, store_violation_cb cb,
                                 void *ctx);
int sq_violations_open_page(struct store *s, const char *spec, int64_t limit,
                            int64_t offset, store_violation_cb cb, void *ctx);
int sq_violations_open_count(struct store *s, const char *spec, int64_t *count);
void sq_stage_clear(struct stage *st);

/* Accounts (sqlite_accounts.c): the store_ops of the same names
 * without "sq_". */
int sq_user_insert(struct store *s, struct user *u);
int sq_user_get(struct store *s, int64_t id, struct user *u);
int sq_user_get_by_email(struct store *s, const char *email, struct user *u);
int sq_user_update(struct store *s, int64_t id, const struct user_change *c);
int sq_user_list(struct store *s, const struct user_filter *f, store_user_cb cb,
                 void *ctx);
int sq_user_count(struct store *s, const char *role, bool active_only, int64_t *n);
int sq_user_email(struct store *s, int64_t id, char *out, char *name);
int sq_user_emails(struct store *s, const int64_t *ids, size_t n, store_email_cb cb, void *ctx);
int sq_refresh_insert(struct store *s, const struct refresh_token *t);
int sq_refresh_get(struct store *s, const char *jti, struct refresh_token *t);
int sq_refresh_mark_used(struct store *s, const char *jti, int64_t when);
int sq_refresh_revoke_family(struct store *s, const char *family, int64_t when);
int sq_refresh_revoke_user(struct store *s, int64_t user, int64_t when);
int sq_audit_insert(struct store *s, const struct audit_entry *a);

/* Jobs, sync runs and baselines (sqlite_jobs.c): the store_ops of the same names
 * without "sq_". */
int sq_sync_run_insert(struct store *s, struct sync_run *r);
int sq_sync_run_list(struct store *s, int64_t since, store_sync_run_cb cb, void *ctx);
int sq_sync_run_list_running(struct store *s, store_sync_run_cb cb, void *ctx);
int sq_sync_run_count_repair(struct store *s, int64_t id);
int sq_sync_run_finish(struct store *s, const struct sync_run *r);
int sq_scheduler_start_insert(struct store *s, struct scheduler_start *r);
int sq_scheduler_start_list(struct store *s, int64_t since, int64_t until,
                            store_sched_start_cb cb, void *ctx);
int sq_scheduler_last_start(struct store *s, int64_t *when, char owner[64]);
int sq_scheduler_first_start(struct store *s, int64_t *when);
int sq_job_run_insert(struct store *s, struct job_run *r);
int sq_job_run_finish(struct store *s, int64_t id, const char *status, const char *error,
                      int64_t finished_at);
int sq_job_runs_interrupt_stale(struct store *s, int64_t when, int64_t *n);
int sq_job_run_stats(struct store *s, const char *job, int64_t since, int64_t until,
                     struct job_stats *stats);
int sq_job_run_list(struct store *s, const char *job, int64_t since, int64_t until,
                    int64_t limit, store_job_run_cb cb, void *ctx);
int sq_job_run_last_due(struct store *s, const char *job, int64_t *due);
int sq_baseline_insert(struct store *s, struct baseline *b);
int sq_baseline_get(struct store *s, int64_t id, struct baseline *b);
int sq_baseline_list(struct store *s, store_baseline_cb cb, void *ctx);
int sq_baseline_set_file(struct store *s, int64_t id, const char *file);

/* Alerts, silences and the outbox (sqlite_alerts.c): the store_ops of the same names
 * without "sq_". */
int sq_alert_insert(struct store *s, struct alert *a);
int sq_alert_update(struct store *s, const struct alert *a);
int sq_alert_list(struct store *s, bool active_only, int64_t limit, store_alert_cb cb,
                  void *ctx);
int sq_silence_insert(struct store *s, struct alert_silence *si);
int sq_silence_list(struct store *s, int64_t at, int64_t limit, store_silence_cb cb,
                    void *ctx);
int sq_silence_delete(struct store *s, int64_t id, int64_t when);
int sq_delivery_insert(struct store *s, struct alert_delivery *d);
int sq_delivery_update(struct store *s, const struct alert_delivery *d);
int sq_delivery_due(struct store *s, int64_t now, int64_t limit, store_delivery_cb cb,
                    void *ctx);
int sq_delivery_list(struct store *s, int64_t alert_id, store_delivery_cb cb, void *ctx);
int sq_delivery_next_due(struct store *s, int64_t *when);
int sq_attempt_insert(struct store *s, struct alert_attempt *a);
int sq_attempt_list(struct store *s, int64_t delivery_id, store_attempt_cb cb, void *ctx);

#endif

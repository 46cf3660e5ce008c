/* pg_private.h — what the files of the PostgreSQL store share: the statement
 * ids, the store struct, text parameters and column readers, the helpers that
 * run a prepared statement, and what one file of it lends another. Private to
 * store/pg. */
#ifndef LOCKSTEP_PG_PRIVATE_H
#define LOCKSTEP_PG_PRIVATE_H

#include "model/domain_map.h"
#include "store/backends.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <assert.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The most parameters a statement may take: a statement that needs more is
 * refused when prepared, with the reason, never run with some unbound. */
#define PARAMS_MAX 32
/* Rows per FETCH of the pair scan's cursor (pg_scan.c; Q_SCAN_FETCH). */
#define PG_SCAN_FETCH 16384
/* A number macro as SQL text ("FETCH FORWARD " NUMBER_TEXT(PG_SCAN_FETCH)). */
#define STRINGIFY(x) #x
#define NUMBER_TEXT(x) STRINGIFY(x)
/* The session's temporary table a check stages its violations in
 * (pg_checks.c; the statements that resolve and open violations read it). */
#define PG_STAGE_TABLE "lockstep_check_stage"
/* The watch lock's key (store_ops.watch_lock), apart from the other one-key
 * advisory locks: 7283940050 migrations, 7283940052 alert evaluations. */
#define PG_WATCH_LOCK_KEY "7283940053"

/* Every statement of the store, prepared once per connection (pg_run). Their
 * SQL is the table in pg_statements.c. */
enum stmt_id {
    Q_USER_INSERT,
    Q_USER_GET,
    Q_USER_GET_EMAIL,
    Q_USER_UPDATE,
    Q_USER_LIST,
    Q_USER_COUNT,
    Q_USER_COUNT_LOCKED,
    Q_USER_EMAIL,
    Q_SPEC_INSERT,
    Q_SPEC_GET,
    Q_SPEC_LIST,
    Q_SPEC_LEVEL_XP,
    Q_PROGRESS_GET,
    Q_PROGRESS_GET_LOCK,
    Q_CREATE_CLAIM,
    Q_PROGRESS_INSERT,
    Q_PROGRESS_UPDATE,
    Q_LICENSE_GET,
    Q_LICENSE_GET_LOCK,
    Q_LICENSE_INSERT,
    Q_LICENSE_UPDATE,
    Q_PROGRESSION_INSERT,
    Q_PROGRESSION_COUNT,
    Q_USER_PAIRS,
    Q_PROBE,
    Q_SCAN_PLAN,
    Q_SCAN_ALL,
    Q_SCAN_USER,
    Q_SCAN_SPEC,
    Q_SCAN_USER_SPEC,
    Q_SCAN_ALL_KEYED, /* the full scan when both tables keep a unique pair key */
    Q_SCAN_SWEEP,     /* the full scan that sends the inconsistent pairs only */
    Q_SCAN_SWEEP_KEYED,
    Q_SWEEP_COUNT,    /* a sweep's pairs and users, counted beside it (pg_scan.c) */
    Q_SWEEP_COUNT_KEYED,
    Q_SCAN_FETCH,
    Q_SCAN_CLOSE,
    Q_SWEEP_SPLIT, /* where a sweep splits its users in two (pg_scan.c) */
    Q_SWEEP_SPEC_KEY,    /* whether a foreign key keeps progress' specializations known */
    Q_SWEEP_SPECS_KNOWN, /* whether every specialization row is a known one */
    Q_VIOLATION_FIRST_SEEN,
    Q_CHECK_INSERT,
    Q_VIOLATIONS_RESOLVE,
    Q_VIOLATIONS_TOUCH,
    Q_VIOLATIONS_OPEN_NEW,
    Q_CHECK_SET_FILE,
    Q_CHECK_LATEST,
    Q_CHECK_GET,
    Q_CHECK_LIST,
    Q_VIOLATIONS_OPEN_ALL,
    Q_VIOLATIONS_OPEN_SPEC,
    Q_VIOLATIONS_NEW_SINCE,
    Q_VIOLATIONS_RESOLVED_SINCE,
    Q_VIOLATIONS_OPEN_PAGE,
    Q_VIOLATIONS_OPEN_COUNT,
    Q_SYNC_RUN_INSERT,
    Q_SYNC_RUN_LIST,
    Q_SYNC_RUN_COUNT,
    Q_SYNC_RUN_FINISH,
    Q_SYNC_RUN_RUNNING,
    Q_AUDIT_INSERT,
    Q_REFRESH_INSERT,
    Q_REFRESH_GET,
    Q_REFRESH_MARK_USED,
    Q_REFRESH_REVOKE_FAMILY,
    Q_REFRESH_REVOKE_USER,
    Q_SCHED_START_INSERT,
    Q_SCHED_FIRST_START,
    Q_SCHED_LAST_START,
    Q_SCHED_START_LIST,
    Q_JOB_RUN_INSERT,
    Q_JOB_RUN_FINISH,
    Q_JOB_RUNS_INTERRUPT,
    Q_JOB_RUN_STATS,
    Q_JOB_RUN_LAST,
    Q_JOB_RUN_LAST_SUCCESS,
    Q_JOB_RUN_LIST,
    Q_JOB_RUN_LAST_DUE,
    Q_BASELINE_INSERT,
    Q_BASELINE_GET,
    Q_BASELINE_LATEST,
    Q_BASELINE_LIST,
    Q_BASELINE_SET_FILE,
    Q_ALERT_INSERT,
    Q_ALERT_UPDATE,
    Q_ALERT_LIST_ACTIVE,
    Q_ALERT_LIST_ALL,
    Q_SILENCE_INSERT,
    Q_SILENCE_LIST_AT,
    Q_SILENCE_LIST_ALL,
    Q_SILENCE_DELETE,
    Q_DELIVERY_INSERT,
    Q_DELIVERY_UPDATE,
    Q_DELIVERY_DUE,
    Q_DELIVERY_LIST,
    Q_DELIVERY_NEXT_DUE,
    Q_ATTEMPT_INSERT,
    Q_ATTEMPT_LIST,
    Q_WATCH_STATE_GET,
    Q_WATCH_PENDING,
    Q_WATCH_CHANGE_USERS,
    Q_PAIRS_GET, /* made from a template with the rule and the maximum level */
    Q_USER_ROWS,
    Q_VIOLATIONS_MOVE,
    Q_WATCH_ADVANCE,
    Q_WATCH_RESET,
    Q_WATCH_DISCARD_CHANGES,
    Q_WATCH_DISCARD_STATE,
    Q_WATCH_LOCK,
    Q_WATCH_UNLOCK,
    Q_WATCH_LISTEN,
    Q_WATCH_MARKS_SET,
    Q_WATCH_MAX_P,
    Q_WATCH_MAX_L,
    Q_WATCH_POLL_P,
    Q_WATCH_POLL_L,
    Q_COUNT
};

struct pg_store {
    struct store base;
    PGconn *conn;
    char conninfo[1024];
    long lock_timeout_ms;
    bool prepared[Q_COUNT];
    struct domain_map domain; /* the names of the domain tables */
    bool attached;            /* they are another application's: never created here */
    bool academy_path_set;    /* this transaction's search_path is the attached schema
                                 (pg_statements.c, academy_path) */
    char *sql[Q_COUNT];       /* each statement's SQL, made from its template when first
                                 used; owned */
    bool txn_lost;      /* the connection broke inside the caller's transaction */
    /* The check being recorded: COPY text of staged violations not yet sent
     * to the session's temporary stage table. */
    struct buf stage_copy;
    int stage_pending;
    bool stage_open;    /* check_stage_reset was called */
    bool stage_complete; /* check_stage_complete since then */
    bool stage_table;   /* the stage table exists in this session */
    struct store_scan *scan; /* the open pair scan, if any */
    /* The watcher's session state (pg_watch.c), gone with the session: */
    bool listening;    /* LISTEN lockstep_pair_changes was run */
    bool watch_locked; /* the watch lock is held */
};

static inline struct pg_store *PS(struct store *s)
{
    return (struct pg_store *)s;
}

/* ---- text parameters and column readers ------------------------------------------ */

struct params {
    const char *v[PARAMS_MAX];
    char buf[PARAMS_MAX][48];
};

static inline void p_i64(struct params *p, int i, int64_t v)
{
    assert(i >= 0 && i < PARAMS_MAX);
    snprintf(p->buf[i], sizeof p->buf[i], "%" PRId64, v);
    p->v[i] = p->buf[i];
}

static inline void p_id_or_null(struct params *p, int i, int64_t v)
{
    if (v)
        p_i64(p, i, v);
    else
        p->v[i] = NULL;
}

static inline void p_dbl(struct params *p, int i, double v)
{
    assert(i >= 0 && i < PARAMS_MAX);
    snprintf(p->buf[i], sizeof p->buf[i], "%.17g", v);
    p->v[i] = p->buf[i];
}

static inline void p_bool(struct params *p, int i, bool v)
{
    assert(i >= 0 && i < PARAMS_MAX);
    p->v[i] = v ? "t" : "f";
}

static inline void p_time(struct params *p, int i, int64_t us)
{
    assert(i >= 0 && i < PARAMS_MAX);
    if (!us) {
        p->v[i] = NULL;
        return;
    }
    time_format_iso(us, p->buf[i]);
    p->v[i] = p->buf[i];
}

static inline int64_t c_i64(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static inline double c_dbl(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

static inline bool c_bool(PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static inline int64_t c_time(PGresult *r, int row, int col)
{
    int64_t us = 0;
    if (PQgetisnull(r, row, col) || time_parse_iso(PQgetvalue(r, row, col), &us) != 0)
        return 0;
    return us;
}

static inline void c_copy(PGresult *r, int row, int col, char *out, size_t len)
{
    snprintf(out, len, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* ---- the connection and transactions (pg_store.c) ---------------------------------- */

/* A new session to conninfo with the store's connection defaults (or NULL). */
PGconn *pg_connect(const char *conninfo);
/* Configure session c like the store's own (pg_store.c): NULL, or the failed
 * result. */
PGresult *pg_session_configure(struct pg_store *ps, PGconn *c);
/* Make sure the connection is up, re-establishing it after a loss (outside a
 * transaction; a loss inside one fails every further call of it until the
 * rollback). A FETCH the pair scan sent ahead is collected first, so the
 * connection is free. 0, or a STORE_ERR_* code with the store's error. */
int pg_ensure(struct pg_store *ps, const char *what);
/* Run a simple command (no parameters; rows, if any, discarded): 0 or a
 * STORE_ERR_* code. */
int pg_command(struct pg_store *ps, const char *text, const char *what);
/* The store's error for a connection that is down: STORE_ERR_UNAVAILABLE. */
int pg_fail_conn(struct pg_store *ps, const char *what);
/* The store's error for a failed result `res` (cleared here; NULL: the
 * connection's error): its STORE_ERR_* code from the SQLSTATE. */
int pg_fail_result(struct pg_store *ps, PGresult *res, const char *what);
/* store_ops.begin, commit and rollback (check_record records in one). */
int pg_begin(struct store *s, enum store_txn kind);
int pg_commit(struct store *s);
void pg_rollback(struct store *s);

/* ---- statements (pg_statements.c) ---------------------------------------------------- */

/* The SQL of statement `id` for this store's domain tables, made on first use
 * (borrowed: the store keeps it), or NULL with the reason in err[errlen]. */
const char *pg_statement_text(struct pg_store *ps, enum stmt_id id, char *err,
                              size_t errlen);
/* Prepare statement `id` on this connection unless it already is; its name
 * goes to name[16]. 0, or a STORE_ERR_* code with the store's error. */
int pg_prepare(struct pg_store *ps, enum stmt_id id, char name[16], const char *what);

/* Run statement `id` with `n` text parameters: its result (the caller clears
 * it), or NULL with *rc set and the store's error. */
PGresult *pg_run(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                 const char *what, int *rc);
/* Run statement `id` and hand its rows to `row` as they arrive, one row per
 * result (libpq's single-row mode): memory holds one row however many
 * match. `row` clears each result; a nonzero return stops the delivery (the
 * remaining rows are read and dropped) and is returned. `row` must not use
 * the connection. 0, row's code, or a STORE_ERR_* code. */
int pg_run_rows(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                const char *what, int (*row)(void *ctx, PGresult *res), void *ctx);
/* Run a statement that returns no rows: 0 or a STORE_ERR_* code. */
int pg_exec_q(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
              const char *what);
/* Run a statement that returns one row: its result, or NULL with *rc
 * (STORE_ERR_NOT_FOUND when no row). */
PGresult *pg_one(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                 const char *what, int *rc);
/* The number of rows a statement changed. */
int pg_count_changed(PGresult *res);
/* The time in the first column of the one row of statement `id`: 0,
 * STORE_ERR_NOT_FOUND when there is no row or it is NULL, or an error. */
int pg_one_time(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                int64_t *when, const char *what);

/* ---- the domain rows (pg_domain.c): the store_ops named as these without "pg_" ------ */

int pg_spec_insert(struct store *s, const struct specialization *sp);
int pg_spec_get(struct store *s, const char *id, struct specialization *sp);
int pg_spec_list(struct store *s, store_spec_cb cb, void *ctx);
int pg_spec_level_xp(struct store *s, const char *spec, int level, int64_t *xp);
int pg_progress_get(struct store *s, int64_t user, const char *spec, bool for_update,
                    struct progress *pr);
int pg_progress_insert(struct store *s, struct progress *pr);
int pg_progress_update(struct store *s, const struct progress *pr);
int pg_license_get(struct store *s, int64_t user, const char *spec, bool for_update,
                   struct license *l);
int pg_license_insert(struct store *s, struct license *l);
int pg_license_update(struct store *s, const struct license *l);
int pg_progression_insert(struct store *s, struct progression *pr);
int pg_progression_count(struct store *s, int64_t license_id, int64_t *n);
int pg_user_pairs(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx);

/* ---- the pair scan (pg_scan.c) ------------------------------------------------------- */

/* store_ops.pair_scan_open, _next, _totals and _close. */
int pg_pair_scan_open(struct store *s, const struct pair_filter *f, struct store_scan **out);
int pg_pair_scan_next(struct store_scan *sc, struct pair_levels *out);
int pg_pair_scan_totals(struct store_scan *sc, int64_t *pairs, int64_t *users);
void pg_pair_scan_close(struct store_scan *sc);
/* Collect the FETCH the open scan sent ahead, if any, and keep its result for
 * the scan's next batch: afterwards the connection is free for another
 * statement. */
void pg_scan_settle(struct store_scan *sc);

/* ---- recorded checks (pg_checks.c): the store_ops named as these without "pg_" ----- */

int pg_violation_first_seen(struct store *s, int64_t user, const char *spec,
                            const char *issue, int64_t *first_seen);
int pg_check_stage_reset(struct store *s);
int pg_check_stage_add(struct store *s, const struct violation *v, bool unchanged);
int pg_check_stage_resolve(struct store *s, int64_t user, const char *spec,
                           const char *issue);
int pg_check_stage_complete(struct store *s);
int pg_check_record(struct store *s, struct check_run *c);
int pg_check_set_file(struct store *s, int64_t id, const char *file, const char *error);
int pg_check_latest(struct store *s, struct check_run *c);
int pg_check_get(struct store *s, int64_t id, struct check_run *c);
int pg_check_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                  store_check_cb cb, void *ctx);
int pg_violations_open(struct store *s, const char *spec, store_violation_cb cb, void *ctx);
int pg_violations_new_since(struct store *s, int64_t since, store_violation_cb cb,
                            void *ctx);
int pg_violations_resolved_since(struct store *s, int64_t since, store_violation_cb cb,
                                 void *ctx);
int pg_violations_open_page(struct store *s, const char *spec, int64_t limit,
                            int64_t offset, store_violation_cb cb, void *ctx);
int pg_violations_open_count(struct store *s, const char *spec, int64_t *count);

/* The watcher (pg_watch.c): the store_ops named as these without "pg_". */
int pg_watch_state_get(struct store *s, struct watch_state *out);
int pg_watch_pending(struct store *s, int64_t *count, double *oldest_changed_at);
int pg_watch_changes(struct store *s, int64_t max_rows, int64_t after_id,
                     store_change_cb cb, void *ctx);
int pg_pairs_get(struct store *s, const struct pair_key *keys, size_t n, store_pair_cb cb,
                 void *ctx);
int pg_user_rows(struct store *s, const int64_t *users, size_t n, int64_t *out);
int pg_violations_move(struct store *s, const struct violation_move *m, size_t n, int64_t now);
int pg_watch_advance(struct store *s, const int64_t *ids, size_t n, int64_t dpairs,
                     int64_t dusers, int64_t dviolations, double lag, int64_t now);
int pg_watch_reset(struct store *s, const int64_t *ids, size_t n, int64_t pairs, int64_t users,
                   int64_t violations, int64_t check_id, int64_t divergences, int64_t now,
                   const struct watch_marks *marks);
int pg_watch_marks(struct store *s, struct watch_marks *out);
int pg_watch_poll(struct store *s, int64_t now, int64_t *taken);
int pg_watch_discard(struct store *s);
int pg_watch_lock(struct store *s, bool on);
int pg_watch_wait(struct store *s, long timeout_ms);

/* An attached database (pg_attach.c, attach.md). pg_attach_prepare: on open,
 * Lockstep's schema exists (or is created when `create`), and every mapped
 * table and column exists; else an error naming key, table and column (err).
 * pg_attached_inspect: store_ops.attached_inspect. */
int pg_attach_prepare(struct pg_store *ps, bool create, char *err, size_t errlen);
int pg_attached_inspect(struct store *s, store_doctor_cb cb, void *ctx);
/* The capture triggers and poll mode's indexes (pg_capture.c): store_ops
 * watch_capture, watch_capture_installed and watch_poll_indexed. */
int pg_watch_capture(struct store *s, bool install, bool apply, char **sql);
int pg_watch_capture_installed(struct store *s, bool *installed);
int pg_watch_poll_indexed(struct store *s, bool indexed[2]);

/* Accounts (pg_accounts.c): the store_ops named as these without
 * "pg_". */
int pg_user_insert(struct store *s, struct user *u);
int pg_user_get(struct store *s, int64_t id, struct user *u);
int pg_user_get_by_email(struct store *s, const char *email, struct user *u);
int pg_user_update(struct store *s, int64_t id, const struct user_change *c);
int pg_user_list(struct store *s, const struct user_filter *f, store_user_cb cb,
                 void *ctx);
int pg_user_count(struct store *s, const char *role, bool active_only, int64_t *n);
int pg_user_email(struct store *s, int64_t id, char *out, char *name);
int pg_refresh_insert(struct store *s, const struct refresh_token *t);
int pg_refresh_get(struct store *s, const char *jti, struct refresh_token *t);
int pg_refresh_mark_used(struct store *s, const char *jti, int64_t when);
int pg_refresh_revoke_family(struct store *s, const char *family, int64_t when);
int pg_refresh_revoke_user(struct store *s, int64_t user, int64_t when);
int pg_audit_insert(struct store *s, const struct audit_entry *a);

/* Jobs, sync runs and baselines (pg_jobs.c): the store_ops named as these without
 * "pg_". */
int pg_sync_run_insert(struct store *s, struct sync_run *r);
int pg_sync_run_list(struct store *s, int64_t since, store_sync_run_cb cb, void *ctx);
int pg_sync_run_list_running(struct store *s, store_sync_run_cb cb, void *ctx);
int pg_sync_run_count_repair(struct store *s, int64_t id);
int pg_sync_run_finish(struct store *s, const struct sync_run *r);
int pg_scheduler_start_insert(struct store *s, struct scheduler_start *r);
int pg_scheduler_start_list(struct store *s, int64_t since, int64_t until,
                            store_sched_start_cb cb, void *ctx);
int pg_scheduler_first_start(struct store *s, int64_t *when);
int pg_scheduler_last_start(struct store *s, int64_t *when, char owner[64]);
int pg_job_run_insert(struct store *s, struct job_run *r);
int pg_job_run_finish(struct store *s, int64_t id, const char *status, const char *error,
                      int64_t finished_at);
int pg_job_runs_interrupt_stale(struct store *s, int64_t when, int64_t *n);
int pg_job_run_stats(struct store *s, const char *job, int64_t since, int64_t until,
                     struct job_stats *st);
int pg_job_run_list(struct store *s, const char *job, int64_t since, int64_t until,
                    int64_t limit, store_job_run_cb cb, void *ctx);
int pg_job_run_last_due(struct store *s, const char *job, int64_t *due);
int pg_baseline_insert(struct store *s, struct baseline *b);
int pg_baseline_get(struct store *s, int64_t id, struct baseline *b);
int pg_baseline_list(struct store *s, store_baseline_cb cb, void *ctx);
int pg_baseline_set_file(struct store *s, int64_t id, const char *file);

/* Alerts, silences and the outbox (pg_alerts.c): the store_ops named as these without
 * "pg_". */
int pg_alert_insert(struct store *s, struct alert *a);
int pg_alert_update(struct store *s, const struct alert *a);
int pg_alert_list(struct store *s, bool active_only, int64_t limit, store_alert_cb cb,
                  void *ctx);
int pg_silence_insert(struct store *s, struct alert_silence *si);
int pg_silence_list(struct store *s, int64_t at, int64_t limit, store_silence_cb cb,
                    void *ctx);
int pg_silence_delete(struct store *s, int64_t id, int64_t when);
int pg_delivery_insert(struct store *s, struct alert_delivery *d);
int pg_delivery_update(struct store *s, const struct alert_delivery *d);
int pg_delivery_due(struct store *s, int64_t now, int64_t limit, store_delivery_cb cb,
                    void *ctx);
int pg_delivery_list(struct store *s, int64_t alert_id, store_delivery_cb cb, void *ctx);
int pg_delivery_next_due(struct store *s, int64_t *when);
int pg_attempt_insert(struct store *s, struct alert_attempt *a);
int pg_attempt_list(struct store *s, int64_t delivery_id, store_attempt_cb cb, void *ctx);

#endif

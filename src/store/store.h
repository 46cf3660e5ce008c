/* store.h — the storage interface: rows and transactions, never SQL.
 *
 * Domain code (src/service) sees only this header. A `struct store` is one
 * connection with a table of operations (`ops`); store/sqlite and store/pg
 * implement it. A store is used by one thread at a time; threads that need
 * their own connection take one from a store_pool.
 *
 * Conventions for every operation:
 * - returns 0 on success or a negative STORE_ERR_* code; the message of the
 *   last failure is store_errmsg(s) (borrowed, valid until the next call);
 * - timestamps are int64 microseconds since the epoch, UTC; 0 means NULL;
 * - records are filled into caller-owned structs; callbacks receive borrowed
 *   records valid only during the call and stop the iteration by returning
 *   non-zero (which the operation then returns).
 */
#ifndef LOCKSTEP_STORE_H
#define LOCKSTEP_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_OK 0
#define STORE_ERR (-1)           /* any other failure */
#define STORE_ERR_NOT_FOUND (-2) /* no such row */
#define STORE_ERR_CONFLICT (-3)  /* a unique key already exists */
#define STORE_ERR_BUSY (-4)      /* locked by another writer beyond the busy timeout */
#define STORE_ERR_UNAVAILABLE (-5) /* the database server cannot be reached */
#define STORE_ERR_URL (-6)       /* the URL names no store Lockstep knows */
#define STORE_ERR_NO_STORE (-7)  /* nothing there is a Lockstep store (and creating
                                    one was not asked for) */
#define STORE_ERR_NOMEM (-8)     /* out of memory (in the store or in a callback) */

#include "model/records.h"

/* Query parameters. */
/* A change to one user: only the fields set are written, so an update never
 * carries back a stale copy of the others (a row read earlier, or cached). */
struct user_change {
    const char *name;           /* NULL: unchanged */
    const char *role;           /* NULL: unchanged */
    const char *password_hash;  /* NULL: unchanged */
    int is_active;              /* -1: unchanged; 0 or 1 */
    int64_t tokens_valid_after; /* 0: unchanged; else raised to at least this, never lowered */
    int64_t updated_at;         /* 0: unchanged */
};

struct user_filter {
    const char *role;  /* NULL: any */
    int active;        /* -1 any, 0 inactive, 1 active */
    const char *query; /* substring of name or email, NULL: any */
    int64_t limit, offset;
};

struct pair_filter {
    int64_t user_id;  /* 0: all users */
    const char *spec; /* NULL: all specializations */
    /* A full scan also reports the open violations (pair_levels.open_known),
     * where the backend can merge them into the scan. */
    bool open_violations;
    /* A full scan may leave out the pairs the coupling rule finds consistent
     * and count them instead (pair_scan_totals), where the backend
     * classifies in its query; it returns every inconsistent pair. */
    bool inconsistent_only;
};


/* SNAPSHOT: a write transaction whose reads all see one snapshot taken at
 * its start (PostgreSQL: REPEATABLE READ; SQLite: as WRITE, whose lock
 * already keeps every other writer out). The watcher's batches use it. */
enum store_txn { STORE_TXN_READ, STORE_TXN_WRITE, STORE_TXN_SNAPSHOT };

struct store;
struct store_scan;

typedef int (*store_user_cb)(void *ctx, const struct user *u);
typedef int (*store_spec_cb)(void *ctx, const struct specialization *s);
typedef int (*store_check_cb)(void *ctx, const struct check_run *c);
typedef int (*store_violation_cb)(void *ctx, const struct violation *v);
typedef int (*store_email_cb)(void *ctx, int64_t id, const char *email);
typedef int (*store_pair_rows_cb)(void *ctx, const struct progress *p, const struct license *l);
/* What the readiness probe saw (store_ops.probe). */
struct store_probe {
    int schema_version;
    bool has_users;          /* any row in users */
    bool has_pairs;          /* any progress or license row */
    int64_t last_check_pairs; /* total_checked of the latest recorded check; -1: none */
    bool write_busy;         /* the write probe found the lock held by another connection */
    char read_error[256];    /* why reading failed (damaged pages, cannot open), or "" */
    char write_error[256];   /* why the write probe failed (read-only, disk full), or "" */
};

typedef int (*store_sync_run_cb)(void *ctx, const struct sync_run *r);
typedef int (*store_job_run_cb)(void *ctx, const struct job_run *r);
typedef int (*store_sched_start_cb)(void *ctx, const struct scheduler_start *r);
typedef int (*store_baseline_cb)(void *ctx, const struct baseline *b);
typedef int (*store_alert_cb)(void *ctx, const struct alert *a);
typedef int (*store_silence_cb)(void *ctx, const struct alert_silence *si);
typedef int (*store_delivery_cb)(void *ctx, const struct alert_delivery *d);
typedef int (*store_attempt_cb)(void *ctx, const struct alert_attempt *a);

/* Where a PostgreSQL server's write-ahead log stands (store_ops.wal_position). */
struct store_wal {
    bool in_recovery;          /* a standby, replaying its primary's log */
    uint64_t lsn;              /* a primary: its current write position; a standby: the
                                  position replayed */
    bool has_replay_age;       /* a standby that has replayed a transaction */
    double replay_age_seconds; /* a standby: seconds since the last transaction it
                                  replayed committed (by its clock) */
};

/* The watcher (watch.md): change capture and the state it keeps. */
/* One (user, specialization) pair. */
struct pair_key {
    int64_t user_id;
    char spec[SPEC_ID_MAX];
};

/* One pending row of pair_changes, written by the capture triggers: a row of
 * the progress or license table of the pair was inserted (delta +1), deleted
 * (-1) or had its level changed (0); a row moved to another key counts -1 for
 * the old key and +1 for the new one. */
struct pair_change {
    int64_t id;
    int64_t user_id;
    char spec[SPEC_ID_MAX];
    int delta;
    double changed_at; /* seconds since the epoch, by the writer's clock (the database's) */
};

/* Room for a poll watermark (watch_state.progress_mark): the text of a
 * timestamp, or of a number or text an SQLite column holds. */
#define WATCH_MARK_MAX 64
/* The watermark of a table without any updated_at when it was read: every
 * row that gets one is newer. */
#define WATCH_MARK_EMPTY "-infinity"

/* [watch] mode = poll: the newest mapped updated_at of the progress and of
 * the license table the watcher has taken, as the database's text of the
 * column's value (WATCH_MARK_EMPTY: the table had none); "": not polled yet
 * (NULL in watch_state). */
struct watch_marks {
    char progress[WATCH_MARK_MAX];
    char license[WATCH_MARK_MAX];
};

/* The one row of watch_state: what the watcher knows without a scan. pairs,
 * users and violations are as of every change applied (every change row not
 * pending any more). */
struct watch_state {
    bool initialized;       /* a full sweep has set the counts since the triggers exist */
    bool sweep_requested;   /* the specializations changed: only a full sweep can tell */
    int64_t pairs, users;   /* pairs with at least one row; distinct users among them */
    int64_t violations;     /* open violations (one per inconsistent pair) */
    int64_t version;        /* raised by every applied batch and every full sweep */
    int64_t applied_at;     /* when the last batch was applied; 0: never */
    int64_t last_full_at;   /* when the last full sweep was recorded; 0: never */
    int64_t last_full_check_id;
    int64_t divergences_total; /* pairs full sweeps found the watcher wrong about */
    double last_lag_seconds;   /* detection lag of the newest change applied */
    struct watch_marks marks;  /* [watch] mode = poll: where the polls stand */
};

/* A pair as it is now, with its open violation (pair_levels.open_known is set
 * and has_open says whether it has one); a key with neither row comes with
 * has_progress and has_license false. */
typedef int (*store_pair_cb)(void *ctx, const struct pair_levels *p);
/* One pair's open violation to move (violations_move): to `v` (has_v) or to
 * none. open_type is the issue type of the pair's open violation as
 * pairs_get read it in the same transaction ("": none); open_id its id when
 * it is the pair's only one (0: not known, or there are more: by the pair). */
struct violation_move {
    struct pair_key key;
    char open_type[ISSUE_TYPE_MAX];
    int64_t open_id;
    bool has_v;
    struct violation v;
};

typedef int (*store_change_cb)(void *ctx, const struct pair_change *c);

typedef void (*store_doctor_cb)(void *ctx, const char *name, int verdict, const char *text,
                                const char *fix);

struct store_ops {
    const char *name; /* "sqlite" or "postgres" */
    int schema_latest;  /* the schema version this build migrates to */
    void (*close)(struct store *s);
    /* Apply pending migrations; *applied gets how many. Safe to run twice. */
    int (*migrate)(struct store *s, int *applied);
    int (*schema_version)(struct store *s, int *version);
    /* The readiness probe: read real tables (and, when deep, verify every
     * page: SQLite's quick_check), then commit a no-op write to Lockstep's
     * own schema_migrations. SQLite reads through a fresh connection, so
     * damaged pages are seen even when this connection has them cached.
     * Failures land in out->read_error / write_error; returns 0, or an error
     * when the probe itself could not run (the connection is gone). */
    int (*probe)(struct store *s, bool deep, struct store_probe *out);
    /* What `lockstep doctor` says about an attached database (attach.md,
     * "lockstep doctor"): one call of cb per point, verdict 0 holds, 1 holds
     * with a remark, 2 does not; fix may be "". NULL in a backend without
     * attached mode. Reads only. */
    int (*attached_inspect)(struct store *s, store_doctor_cb cb, void *ctx);
    /* Where this server's write-ahead log stands: what a check compares to
     * tell how far a streaming replica lags its primary. NULL in a backend
     * without replicas (SQLite). Reads only, outside a transaction. */
    int (*wal_position)(struct store *s, struct store_wal *out);

    /* The watcher (watch.md). The capture itself is the triggers' (installed
     * by migration in own mode). Each op but watch_lock, watch_wait and
     * watch_pending runs inside the caller's transaction.
     * watch_state_get: the one row of watch_state.
     * watch_pending: how many change rows are pending, and the changed_at of
     *   the oldest (0 when none).
     * watch_changes: the users of the first `max_rows` pending change rows
     *   whose id is above `after_id` (by id), and every pending change of
     *   each of those users whatever its id, ordered by id; max_rows 0:
     *   every pending change above after_id (INT64_MIN: no bound). A user's
     *   changes all come together, so the user's rows now are the rows
     *   after them.
     * pairs_get: each of the n keys as it is now (store_pair_cb), with its
     *   open violation; in the order of keys. A backend with open_details
     *   may read the open violation brief (its id and issue type only).
     * open_details: the rest of each of the n brief open violations `opens`
     *   (by id, any order), brief cleared; an error when one is no longer
     *   open.
     * user_rows: rows of the progress and license tables of each of the n
     *   users (out[i] for users[i]).
     * violations_move: for each of the n moves, make `v` the pair's open
     *   violation (none when !has_v): an open violation of another issue
     *   type is resolved at `now`; one of v's issue type keeps its first_seen
     *   and gets v's levels, email and action; else v is opened with
     *   first_seen = v.first_seen (0: now). No check is named in the rows
     *   (check ids 0). A backend may use open_type to run only the statements
     *   a move needs, and may move all n in one statement.
     * watch_advance: delete the n change rows `ids` (those applied; an error,
     *   and nothing changed once rolled back, when one is no longer there:
     *   something else consumed it), add the
     *   deltas to pairs, users and violations, raise version, set applied_at
     *   = now and last_lag_seconds = lag (negative: unchanged).
     * watch_reset: what a full sweep recorded as check `check_id` saw:
     *   delete the n change rows `ids` (pending in its snapshot), set pairs,
     *   users and violations, initialized true, sweep_requested false,
     *   last_full_at = now, last_full_check_id, divergences_total +=
     *   divergences, raise version; and the poll watermarks to `marks` as
     *   watch_marks read them in the sweep's snapshot (NULL: left as they
     *   are).
     * watch_marks: the poll watermarks the tables give in the caller's
     *   transaction: the newest mapped updated_at of each (WATCH_MARK_EMPTY
     *   when a table has none). STORE_ERR when updated_at is not mapped.
     * watch_poll ([watch] mode = poll): the progress and license rows whose
     *   updated_at is newer than their table's watermark become change rows
     *   (delta 0, changed_at = that updated_at), inserted by the server, and
     *   each watermark moves to the newest updated_at read; a watermark not
     *   set yet is set to the table's newest updated_at (nothing inserted).
     *   Rows with a NULL updated_at are never taken. *taken gets how many
     *   change rows were inserted. In the caller's snapshot transaction,
     *   under the watch lock.
     * watch_lock: take (on) or release (!on) the watch lock, which orders
     *   watcher batches and full sweeps across processes (PostgreSQL: a
     *   session advisory lock; SQLite: flock on "<db>-watch"); waits for it.
     *   Outside transactions.
     * wal_autocheckpoint, wal_checkpoint (SQLite; NULL elsewhere): whether
     *   this connection's commits copy the WAL into the database file once it
     *   passes 1,000 pages (the default: on); and such a copy now, as far as
     *   no reader still needs the frames (PASSIVE: it never waits).
     * watch_wait: wait up to timeout_ms for new changes (PostgreSQL: LISTEN
     *   lockstep_pair_changes and wait for a notification; SQLite: until
     *   the database or its WAL is written, by inotify, or sleep);
     *   returns 0 either way, or an error when the connection failed.
     * watch_wakes (SQLite; NULL elsewhere: the notification): whether
     *   watch_wait can be woken by writes; when not, why (the waits are the
     *   poll). */
    int (*wal_autocheckpoint)(struct store *s, bool on);
    int (*wal_checkpoint)(struct store *s);
    int (*watch_state_get)(struct store *s, struct watch_state *out);
    int (*watch_pending)(struct store *s, int64_t *count, double *oldest_changed_at);
    int (*watch_changes)(struct store *s, int64_t max_rows, int64_t after_id,
                         store_change_cb cb, void *ctx);
    int (*pairs_get)(struct store *s, const struct pair_key *keys, size_t n, store_pair_cb cb,
                     void *ctx);
    int (*open_details)(struct store *s, struct open_violation *const *opens, size_t n);
    int (*user_rows)(struct store *s, const int64_t *users, size_t n, int64_t *out);
    int (*violations_move)(struct store *s, const struct violation_move *m, size_t n,
                           int64_t now);
    int (*watch_advance)(struct store *s, const int64_t *ids, size_t n, int64_t dpairs,
                         int64_t dusers, int64_t dviolations, double lag, int64_t now);
    int (*watch_reset)(struct store *s, const int64_t *ids, size_t n, int64_t pairs,
                       int64_t users, int64_t violations, int64_t check_id,
                       int64_t divergences, int64_t now, const struct watch_marks *marks);
    int (*watch_marks)(struct store *s, struct watch_marks *out);
    int (*watch_poll)(struct store *s, int64_t now, int64_t *taken);
    /* watch_capture: the SQL that installs (install) or removes (!install)
     *   the capture triggers on the progress, license and specializations
     *   tables (`lockstep watch install|uninstall`; own mode: migration 14's,
     *   put back where missing or disabled), into
     *   *sql (malloc'd, the caller frees it); with apply, also run it in one
     *   transaction. Removing drops exactly what installing creates.
     *   STORE_ERR with a reason where it cannot be done (an attached SQLite
     *   file: a trigger cannot write to another database file). Outside
     *   transactions.
     * watch_capture_installed: whether the capture triggers exist on both the
     *   progress and the license table.
     * watch_poll_indexed ([watch] mode = poll): whether the progress table
     *   (indexed[0]) and the license table (indexed[1]) keep an index whose
     *   first column is their mapped updated_at, which each poll's range
     *   read needs not to read the whole table (doctor). */
    int (*watch_capture)(struct store *s, bool install, bool apply, char **sql);
    int (*watch_capture_installed)(struct store *s, bool *installed);
    int (*watch_poll_indexed)(struct store *s, bool indexed[2]);
    /* watch_discard: after a bulk load (demo data): every pending change row
     *   deleted and the state marked not initialized, so that the next full
     *   sweep reads it all (nothing is applied row by row). */
    int (*watch_discard)(struct store *s);
    int (*watch_lock)(struct store *s, bool on);
    int (*watch_wait)(struct store *s, long timeout_ms);
    bool (*watch_wakes)(struct store *s, char *why, size_t whylen);

    /* Transactions. READ is one consistent snapshot; WRITE takes the write
     * lock (SQLite) or starts a transaction whose row locks come from the
     * for_update reads (PostgreSQL). Nested begin is an error. */
    int (*begin)(struct store *s, enum store_txn kind);
    int (*commit)(struct store *s);
    void (*rollback)(struct store *s);

    int (*user_insert)(struct store *s, struct user *u);  /* sets u->id */
    int (*user_get)(struct store *s, int64_t id, struct user *u);
    int (*user_get_by_email)(struct store *s, const char *email, struct user *u);
    /* Write the fields `c` sets, and only those; STORE_ERR_NOT_FOUND when
     * there is no user `id`. */
    int (*user_update)(struct store *s, int64_t id, const struct user_change *c);
    int (*user_list)(struct store *s, const struct user_filter *f, store_user_cb cb, void *ctx);
    /* Number of users with `role` (NULL: any), only active ones if active_only.
     * Inside a write transaction the counted rows stay locked until it ends
     * (PostgreSQL: FOR UPDATE; SQLite's write transaction is exclusive), so a
     * decision taken on the count (the last active admin) still holds at
     * commit. */
    int (*user_count)(struct store *s, const char *role, bool active_only, int64_t *n);
    /* The email of student `id` (the domain's users table: an attached
     * database's users in attached mode) into out[EMAIL_MAX+1];
     * STORE_ERR_NOT_FOUND and "" when there is no such user. The name too
     * into name[USER_NAME_MAX+1] when name is not NULL. */
    int (*user_email)(struct store *s, int64_t id, char *out, char *name);
    /* Optional (SQLite; NULL elsewhere): the emails of the n students `ids`
     * (ascending, each once), cb(ctx, id, email) for each that exists, in
     * any order; several users per statement. */
    int (*user_emails)(struct store *s, const int64_t *ids, size_t n, store_email_cb cb,
                       void *ctx);

    int (*spec_insert)(struct store *s, const struct specialization *sp);
    int (*spec_get)(struct store *s, const char *id, struct specialization *sp);
    int (*spec_list)(struct store *s, store_spec_cb cb, void *ctx);
    /* The xp a specialization requires for `level`; STORE_ERR_NOT_FOUND when it
     * defines none (the domain default applies). */
    int (*spec_level_xp)(struct store *s, const char *spec, int level, int64_t *xp);

    int (*progress_get)(struct store *s, int64_t user, const char *spec, bool for_update,
                        struct progress *p);
    int (*progress_insert)(struct store *s, struct progress *p); /* sets p->id */
    int (*progress_update)(struct store *s, const struct progress *p);
    int (*license_get)(struct store *s, int64_t user, const char *spec, bool for_update,
                       struct license *l);
    int (*license_insert)(struct store *s, struct license *l); /* sets l->id */
    int (*license_update)(struct store *s, const struct license *l);
    int (*progression_insert)(struct store *s, struct progression *pr);
    /* Every progression of a license, oldest first (tests and the API). */
    int (*progression_count)(struct store *s, int64_t license_id, int64_t *n);
    /* Both rows of every pair of one user, ordered by specialization; a side
     * that does not exist is passed as NULL. */
    int (*user_pairs)(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx);

    /* Stream every pair of both tables ordered by (user, specialization),
     * restricted by the filter; runs inside the caller's transaction. */
    int (*pair_scan_open)(struct store *s, const struct pair_filter *f, struct store_scan **out);
    /* 1: *out filled; 0: end; negative: error. */
    int (*pair_scan_next)(struct store_scan *scan, struct pair_levels *out);
    /* After pair_scan_next returned 0: 1 when the scan left pairs out
     * (pair_filter.inconsistent_only), with every pair it read counted into
     * *pairs and the distinct users into *users, returned or not; 0 when it
     * returned every pair (the caller counts them). NULL: never leaves any
     * out. */
    int (*pair_scan_totals)(struct store_scan *scan, int64_t *pairs, int64_t *users);
    void (*pair_scan_close)(struct store_scan *scan);

    /* When the open violation (user, spec, issue) was first seen;
     * STORE_ERR_NOT_FOUND when it is not open. */
    int (*violation_first_seen)(struct store *s, int64_t user, const char *spec,
                                const char *issue, int64_t *first_seen);
    /* Staging of a check's violations, a named step of the check for each
     * pair it classifies, then recording:
     * - check_stage_reset before the check's read transaction;
     * - check_stage_add for every violation the check found. `unchanged`:
     *   the scan reported the pair's open violation and it already says the
     *   same (pair_open_unchanged), so a store may skip writing it;
     * - check_stage_resolve for an open violation the scan reported
     *   (open_known) that the check no longer finds;
     * - check_stage_complete when the full scan ran to its end;
     * - check_record, which in one write transaction inserts the history row
     *   (sets c->id) and turns the staged set into the open violations: new
     *   ones opened, seen ones kept with their first_seen, the rest resolved
     *   at c->timestamp (a store whose scans do not report the open
     *   violations resolves every open violation not staged). It refuses a
     *   stage that was not completed. */
    int (*check_stage_reset)(struct store *s);
    int (*check_stage_add)(struct store *s, const struct violation *v, bool unchanged);
    int (*check_stage_resolve)(struct store *s, int64_t user, const char *spec,
                               const char *issue);
    int (*check_stage_complete)(struct store *s);
    /* A check_run of kind "incremental" is the watcher's state recorded: only
     * the history row is inserted, no stage is needed and the open
     * violations are left as they are. */
    int (*check_record)(struct store *s, struct check_run *c);
    /* Record where the check's file went, or why it could not be written. */
    int (*check_set_file)(struct store *s, int64_t id, const char *file, const char *error);
    int (*check_latest)(struct store *s, struct check_run *c);
    int (*check_get)(struct store *s, int64_t id, struct check_run *c);
    /* Recorded checks with since <= timestamp < until (0: unbounded), newest
     * first, at most `limit` (0: no limit). */
    int (*check_list)(struct store *s, int64_t since, int64_t until, int64_t limit,
                      store_check_cb cb, void *ctx);
    /* Open violations (as of the last recorded check), ordered by user and
     * specialization; spec NULL: all. */
    int (*violations_open)(struct store *s, const char *spec, store_violation_cb cb, void *ctx);
    /* Violations first seen after `since` and still open. */
    int (*violations_new_since)(struct store *s, int64_t since, store_violation_cb cb,
                                void *ctx);
    /* Violations resolved after `since` (first_seen is kept in the record). */
    int (*violations_resolved_since)(struct store *s, int64_t since, store_violation_cb cb,
                                     void *ctx);
    /* One page of the open violations, newest first (first_seen descending,
     * then user, specialization, issue type): at most `limit` rows after
     * skipping `offset`; spec NULL: all. Answers stay bounded at any size. */
    int (*violations_open_page)(struct store *s, const char *spec, int64_t limit,
                                int64_t offset, store_violation_cb cb, void *ctx);
    /* How many violations are open; spec NULL: all. */
    int (*violations_open_count)(struct store *s, const char *spec, int64_t *count);

    /* Sync runs are recorded when they start (status running; sets r->id),
     * counted in each repair's own transaction (sync_run_count_repair), and
     * finished with sync_run_finish, which writes finished_at, the counts,
     * success, log_file, error and status of a run still running
     * (STORE_ERR_NOT_FOUND when it is not). */
    int (*sync_run_insert)(struct store *s, struct sync_run *r);
    int (*sync_run_count_repair)(struct store *s, int64_t id);
    int (*sync_run_finish)(struct store *s, const struct sync_run *r);
    /* The runs left running, oldest first. */
    int (*sync_run_list_running)(struct store *s, store_sync_run_cb cb, void *ctx);
    int (*sync_run_list)(struct store *s, int64_t since, store_sync_run_cb cb, void *ctx);

    int (*audit_insert)(struct store *s, const struct audit_entry *a);

    int (*refresh_insert)(struct store *s, const struct refresh_token *t);
    int (*refresh_get)(struct store *s, const char *jti, struct refresh_token *t);
    /* Mark a token rotated; STORE_ERR_CONFLICT when it already was (reuse). */
    int (*refresh_mark_used)(struct store *s, const char *jti, int64_t when);
    int (*refresh_revoke_family)(struct store *s, const char *family, int64_t when);
    int (*refresh_revoke_user)(struct store *s, int64_t user, int64_t when);

    /* Leadership of the scheduled jobs among the processes sharing this store:
     * the one-row scheduler_lease, held by one owner until expires_at. Times
     * are the store's clock: PostgreSQL's clock_timestamp(), SQLite's the
     * writing process's wall clock. None of these waits for another process
     * beyond the store's busy timeout.
     * lease_get: the row, and whether it has expired by the store's clock.
     * lease_renew: extend the lease `owner` holds to now + duration_ms; *held
     *   false (and nothing written) when `owner` does not hold it or it has
     *   expired.
     * lease_take: take it for `owner` (until now + duration_ms) when it has
     *   expired, or when its holder is `from` (a holder known to be gone; NULL:
     *   only when expired); *held tells whether `owner` holds it now.
     * lease_release: let it expire now if `owner` holds it.
     * alert_eval_lock: called first in an alert evaluation's write transaction,
     *   so that the evaluations of all processes run one after another
     *   (PostgreSQL: a transaction advisory lock; SQLite: a write transaction
     *   is already exclusive). */
    int (*lease_get)(struct store *s, struct scheduler_lease *out);
    int (*lease_renew)(struct store *s, const char *owner, int64_t duration_ms, bool *held);
    int (*lease_take)(struct store *s, const char *owner, const char *from,
                      int64_t duration_ms, bool *held);
    int (*lease_release)(struct store *s, const char *owner);
    int (*alert_eval_lock)(struct store *s);

    /* Scheduler history. */
    /* Record a start (sets r->id; settings_known is ignored: the settings are kept). */
    int (*scheduler_start_insert)(struct store *s, struct scheduler_start *r);
    /* The first start with the scheduler running; NOT_FOUND if never. */
    int (*scheduler_first_start)(struct store *s, int64_t *when);
    /* The latest start with the scheduler running: the process leading the
     * jobs since then. NOT_FOUND if never. */
    int (*scheduler_last_start)(struct store *s, int64_t *when, char owner[64]);
    /* The starts that shape the window [since, until), oldest first: the latest
     * start with the scheduler running at or before `since`, then every start
     * (running or not) after `since` and before `until`. */
    int (*scheduler_start_list)(struct store *s, int64_t since, int64_t until,
                                store_sched_start_cb cb, void *ctx);
    int (*job_run_insert)(struct store *s, struct job_run *r); /* sets r->id; CONFLICT if
                                                                   (job, due) exists */
    int (*job_run_finish)(struct store *s, int64_t id, const char *status, const char *error,
                          int64_t finished_at);
    /* Runs left `running` (by a crash) become `interrupted`; *n gets how many. */
    int (*job_runs_interrupt_stale)(struct store *s, int64_t when, int64_t *n);
    int (*job_run_stats)(struct store *s, const char *job, int64_t since, int64_t until,
                         struct job_stats *st);
    int (*job_run_list)(struct store *s, const char *job, int64_t since, int64_t until,
                        int64_t limit, store_job_run_cb cb, void *ctx);
    int (*job_run_last_due)(struct store *s, const char *job, int64_t *due); /* NOT_FOUND */

    int (*baseline_insert)(struct store *s, struct baseline *b);
    int (*baseline_get)(struct store *s, int64_t id, struct baseline *b); /* id 0: latest */
    int (*baseline_list)(struct store *s, store_baseline_cb cb, void *ctx);
    int (*baseline_set_file)(struct store *s, int64_t id, const char *file);

    /* Alerts. alert_insert sets a->id; alert_update writes every field but
     * id, rule, subject and started_at. alert_list: active_only gives the
     * pending and firing alerts oldest first, otherwise every alert newest
     * first, at most `limit` (0: no limit). */
    int (*alert_insert)(struct store *s, struct alert *a);
    int (*alert_update)(struct store *s, const struct alert *a);
    int (*alert_list)(struct store *s, bool active_only, int64_t limit, store_alert_cb cb,
                      void *ctx);
    /* Silences. silence_insert sets si->id. silence_list: at != 0 gives the
     * silences in force at `at` (not deleted, starts_at <= at < ends_at);
     * at == 0 every silence, newest first, at most `limit` (0: no limit).
     * silence_delete ends one at `when`; STORE_ERR_NOT_FOUND when there is
     * no such silence or it was already deleted. */
    int (*silence_insert)(struct store *s, struct alert_silence *si);
    int (*silence_list)(struct store *s, int64_t at, int64_t limit, store_silence_cb cb,
                        void *ctx);
    int (*silence_delete)(struct store *s, int64_t id, int64_t when);
    /* The outbox. delivery_insert sets d->id; delivery_update writes status,
     * attempts, next_attempt_at, delivered_at and last_error. delivery_due:
     * pending rows with next_attempt_at <= now, earliest first, at most
     * `limit`. delivery_list: the rows of one alert, oldest first.
     * delivery_next_due: the earliest next_attempt_at of a pending row
     * (STORE_ERR_NOT_FOUND when none). */
    int (*delivery_insert)(struct store *s, struct alert_delivery *d);
    int (*delivery_update)(struct store *s, const struct alert_delivery *d);
    int (*delivery_due)(struct store *s, int64_t now, int64_t limit, store_delivery_cb cb,
                        void *ctx);
    int (*delivery_list)(struct store *s, int64_t alert_id, store_delivery_cb cb, void *ctx);
    int (*delivery_next_due)(struct store *s, int64_t *when);
    /* Delivery attempts: attempt_insert sets a->id; attempt_list gives the
     * attempts of one outbox row, oldest first. */
    int (*attempt_insert)(struct store *s, struct alert_attempt *a);
    int (*attempt_list)(struct store *s, int64_t delivery_id, store_attempt_cb cb, void *ctx);
};

struct store {
    const struct store_ops *ops;
    char errmsg[STORE_ERRMSG_MAX];
    int in_txn; /* 0, or the enum store_txn + 1 of the open transaction */
    /* The domain tables are an attached database's and repairs are off
     * (attach.md): nothing may write them; writers answer STORE_REPAIR_OFF. */
    bool domain_read_only;
    /* The domain tables are an attached database's: only their mapped
     * columns (keys, levels, times) are Lockstep's to write. */
    bool domain_attached;
    /* Optional, set by the owner: once it is true, a long read that can stop
     * (SQLite's deep probe, which reads every page) stops with an error. */
    const atomic_bool *cancel;
    /* Optional, set by the owner: such a read stores the time (time_mono_us)
     * here as it goes, so that a slow one is told from one that is stuck. */
    atomic_llong *progress_at;
};

/* What a refused write of an attached database says (attach.md, rule 2). */
#define STORE_REPAIR_OFF "repairs are off for the attached database (domain.repair = off)"

struct domain_map;

struct store_options {
    long busy_timeout_ms; /* SQLite: how long to wait for a lock; PG: lock_timeout */
    bool migrate;         /* apply migrations on open (default true via store_options_default) */
    bool create;          /* a place without a store gets a new one (default true); when
                             false, a missing SQLite file or a database without Lockstep's
                             schema_migrations table is STORE_ERR_NO_STORE and nothing is
                             created. An empty (0-byte) SQLite file is never a store. */
    long cache_kib;       /* SQLite: the connection's page cache (STORE_CACHE_KIB) */
    bool secure_delete_fast; /* SQLite: PRAGMA secure_delete = FAST (deleted rows zeroed in
                                the pages written anyway; a page freed whole kept as it is)
                                instead of the library's setting (Debian's: every freed
                                page overwritten). Only for a connection that deletes
                                nothing personal: the watcher's (change rows) */
    long parallel_scan_min_bytes; /* SQLite: full scans of a database file at least this
                                     large use several threads (default 8 MiB; 0 always,
                                     -1 never) */
    const struct domain_map *domain; /* the domain tables (copied at open); NULL:
                                        Lockstep's own, those of domain.md. When
                                        domain->attached they are another application's
                                        (attach.md): migrations create only Lockstep's own
                                        tables (PostgreSQL: in domain->own_schema), never
                                        a domain table, and the mapped tables and columns
                                        must exist (store_open fails naming them) */
};

/* A SQLite connection's page cache unless store_options.cache_kib says. */
#define STORE_CACHE_KIB 16000

void store_options_default(struct store_options *o);

/* `url` as a message may show it, into out[len]: the password of a
 * "scheme://user:password@host" form replaced by "***" (an error message ends
 * up in logs and terminals; a secret never does). */
void store_url_shown(const char *url, char *out, size_t len);

/* What a store URL names, without opening anything: "sqlite:PATH" or
 * "sqlite://PATH" (*target: PATH, inside url) or "postgres://…",
 * "postgresql://…", "postgres:…" (*target: url, handed to libpq whole).
 * Returns 0, or STORE_ERR_URL with err. */
enum store_url_kind { STORE_URL_SQLITE, STORE_URL_POSTGRES };
int store_url_parse(const char *url, enum store_url_kind *kind, const char **target,
                    char *err, size_t errlen);

/* Open a store from its URL: "sqlite:PATH" (or a plain path ending in .db) or
 * "postgres://…"/"postgresql://…". Migrations are applied on open when
 * o->migrate. On failure returns a negative code, *out is NULL and err gets a
 * one-line reason. The caller closes the store with store_close(). */
int store_open(const char *url, const struct store_options *o, struct store **out, char *err,
               size_t errlen);
void store_close(struct store *s);
const char *store_errmsg(const struct store *s);
/* Formats s->errmsg (implementations use it). Returns `code`. */
int store_fail(struct store *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copy a specialization id read from the domain tables (len bytes at id,
 * not NUL-terminated) into out. An id longer than SPEC_ID_LEN bytes is never
 * cut (two ids sharing their first SPEC_ID_LEN bytes would merge into one
 * pair): it fails s with store_spec_too_long_text's message (implementations
 * use it). Only min(len, SPEC_ID_LEN) bytes of id are read. Returns 0, or
 * STORE_ERR with out "". */
int store_spec_copy(struct store *s, char out[SPEC_ID_MAX], const char *id, size_t len,
                    const char *where, int64_t user);
/* store_spec_copy of an id read from the progress table's mapped
 * specialization column (license false) or the license table's (true) of m. */
int store_domain_spec_copy(struct store *s, const struct domain_map *m, bool license,
                           char out[SPEC_ID_MAX], const char *id, size_t len, int64_t user);
/* The message of an id longer than SPEC_ID_LEN bytes into out[outlen]: the
 * user (0: none), `where` ("table.column"), the id's length (len) and its first bytes
 * (at most SPEC_ID_LEN read from id), and the fix. */
void store_spec_too_long_text(char *out, size_t outlen, const char *id, size_t len,
                              const char *where, int64_t user);

/* A fixed set of connections shared by threads (the HTTP workers). */
struct store_pool;
/* Open `size` connections to `url`. Returns 0 or a negative code with err. */
int store_pool_open(const char *url, const struct store_options *o, int size,
                    struct store_pool **out, char *err, size_t errlen);
/* Borrow a connection (waits while all are borrowed). Give it back with
 * store_pool_put, which rolls back a transaction the borrower left open. */
struct store *store_pool_get(struct store_pool *p);
void store_pool_put(struct store_pool *p, struct store *s);
void store_pool_close(struct store_pool *p);

#endif

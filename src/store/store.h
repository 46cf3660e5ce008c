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

#define SPEC_ID_MAX 33    /* specialization ids: 1–32 of [A-Z0-9_] */
#define EMAIL_MAX 255
#define USER_NAME_MAX 200
#define ROLE_MAX 16
#define ISSUE_TYPE_MAX 24
#define ACTION_MAX 40
#define STATUS_MAX 16
#define STORE_PATH_MAX 512
#define STORE_ERRMSG_MAX 512

struct user {
    int64_t id;
    char name[USER_NAME_MAX + 1];
    char email[EMAIL_MAX + 1];       /* stored lower-cased */
    char password_hash[192];         /* argon2id string, or "!" for no password */
    char role[ROLE_MAX];             /* admin | instructor | student */
    bool is_active;
    int64_t created_at, updated_at;
    int64_t tokens_valid_after; /* tokens issued before this are refused; 0: none */
};

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

struct specialization {
    char id[SPEC_ID_MAX];
    char name[USER_NAME_MAX + 1];
    int max_levels;
    bool is_active;
    int64_t created_at;
};

struct progress {
    int64_t id, student_id;
    char spec[SPEC_ID_MAX];
    int current_level;
    int64_t total_xp, completed_sessions, completed_projects;
    int64_t theory_hours_completed, practice_hours_completed;
    int64_t last_activity, created_at, updated_at;
};

struct license {
    int64_t id, user_id;
    char spec[SPEC_ID_MAX];
    int current_level, max_achieved_level;
    int64_t started_at, last_advanced_at, created_at, updated_at;
};

struct progression {
    int64_t id, user_license_id;
    int from_level, to_level;
    int64_t advanced_by; /* 0: the system */
    char reason[256];
    int64_t advanced_at;
};

struct audit_entry {
    int64_t user_id;           /* 0: none */
    const char *action;        /* LOGIN, LEVEL_UPDATE, SYNC, … */
    const char *resource_type; /* may be NULL */
    const char *resource_id;   /* may be NULL */
    const char *details;       /* JSON text, may be NULL */
    const char *ip_address;    /* may be NULL */
    int status_code;           /* 0: none */
    int64_t timestamp;
};

/* One (user, specialization) pair as the check sees it. */
struct pair_levels {
    int64_t user_id;
    char spec[SPEC_ID_MAX];
    bool has_progress, has_license;
    int progress_level, license_level;
    /* A backend may fill these for inconsistent pairs in the same pass (a
     * lookup per violation is costly). has_details: first_seen is known — the
     * first_seen of the pair's open violation of its current issue type, or 0
     * when there is none. user_email: "" when not known. What is not known,
     * the check looks up with violation_first_seen and user_email. */
    bool has_details;
    char user_email[EMAIL_MAX + 1];
    int64_t first_seen;
};

struct pair_filter {
    int64_t user_id;  /* 0: all users */
    const char *spec; /* NULL: all specializations */
};

struct violation {
    int64_t user_id;
    char user_email[EMAIL_MAX + 1];
    char spec[SPEC_ID_MAX];
    char issue_type[ISSUE_TYPE_MAX]; /* level_mismatch | missing_license | missing_progress */
    bool has_progress, has_license;
    int progress_level, license_level;
    char recommended_action[ACTION_MAX];
    int64_t first_seen;
};

/* A recorded check (the health history). */
struct check_run {
    int64_t id;
    int64_t timestamp; /* when the check started */
    int64_t total_checked, consistent, inconsistent;
    int64_t users_checked;    /* distinct users among the pairs */
    double consistency_rate;
    char status[STATUS_MAX];  /* healthy | degraded | critical */
    char trigger[STATUS_MAX]; /* scheduled | manual */
    double duration_ms;
    char report_file[STORE_PATH_MAX]; /* relative to the data dir; "" if not written */
    char file_error[256];             /* why the file was not written, or "" */
};

/* A recorded sync run. */
struct sync_run {
    int64_t id;
    int64_t started_at, finished_at;
    char trigger[STATUS_MAX]; /* cli | api | scheduled */
    char direction[32];
    bool dry_run;
    int64_t scope_user;       /* 0: all */
    char scope_spec[SPEC_ID_MAX];
    int64_t total_issues, synced_count, failed_count;
    bool success;
    char log_file[STORE_PATH_MAX];
    char error[256];
    char status[STATUS_MAX]; /* running | finished | interrupted */
    char owner[64];          /* the process that ran it (host:pid) */
};

/* A refresh token (only its id is stored, never the token text). */
struct refresh_token {
    char jti[48];
    int64_t user_id;
    char family[48];
    int64_t issued_at, expires_at;
    int64_t used_at;    /* 0: not yet rotated */
    int64_t revoked_at; /* 0: valid */
};

/* A scheduled job's run. */
struct job_run {
    int64_t id;
    char job_id[40];
    int64_t due_at, started_at, finished_at; /* finished 0 while running */
    char status[STATUS_MAX]; /* running | success | failed | missed | skipped | interrupted */
    char error[512];
    char owner[64];          /* the process that ran it */
};

/* Counts of a job's runs in a window. */
struct job_stats {
    int64_t ok, failed, missed, skipped, interrupted, running;
    int64_t last_started_at, last_due_at;
    char last_status[STATUS_MAX];
    int64_t last_success_at;
};

/* A recorded start of `serve`'s scheduler: a process began leading the jobs
 * with these settings (`scheduler` true), or `serve` started without the
 * scheduler (false). Rows recorded before the settings were kept have
 * settings_known false (and scheduler true: only leaders recorded starts). */
struct scheduler_start {
    int64_t id;
    int64_t started_at;
    char owner[64];
    bool scheduler;
    bool settings_known;
    int64_t check_interval, sync_interval;           /* seconds */
    int64_t check_misfire_grace, sync_misfire_grace; /* seconds */
};

struct baseline {
    int64_t id;
    int64_t check_id;
    int64_t created_at;
    char file[STORE_PATH_MAX];
    char note[256];
};

#define ALERT_RULE_MAX 40
#define ALERT_SUBJECT_MAX 48
#define ALERT_SUMMARY_MAX 256
#define ALERT_DESCRIPTION_MAX 512
#define ALERT_COMMENT_MAX 500
#define ALERT_PAYLOAD_MAX 16384
#define ALERT_MESSAGE_ID_MAX 320 /* an email Message-ID with its angle brackets */
#define ALERT_ERROR_MAX 256

/* An alert: one episode of a rule's condition (service/alerts.h). */
struct alert {
    int64_t id;
    char rule[ALERT_RULE_MAX];
    char subject[ALERT_SUBJECT_MAX];   /* the job of a job rule, else "" */
    char severity[STATUS_MAX];         /* warning | critical */
    char state[STATUS_MAX];            /* pending | firing | resolved */
    char summary[ALERT_SUMMARY_MAX];
    char description[ALERT_DESCRIPTION_MAX];
    int64_t started_at;       /* the condition was first seen */
    int64_t fired_at;         /* became firing; 0: never fired */
    int64_t resolved_at;      /* 0 while pending or firing */
    int64_t last_notified_at; /* the latest notification queued; 0: none */
    int64_t notifications;    /* notifications queued (firing, repeats, resolved) */
    char message_id[ALERT_MESSAGE_ID_MAX]; /* the first mail of this alert (the thread the
                                              repeats and the resolve reply to); "": none */
};

/* A silence: notifications of `rule` are suppressed in [starts_at, ends_at). */
struct alert_silence {
    int64_t id;
    char rule[ALERT_RULE_MAX];
    int64_t starts_at, ends_at;
    char comment[ALERT_COMMENT_MAX + 1];
    int64_t created_by;  /* user id; 0: none */
    int64_t created_at;
    int64_t deleted_at;  /* 0: in force until ends_at */
};

/* One notification of an alert to one channel: an outbox row, retried until
 * delivered or expired. */
struct alert_delivery {
    int64_t id, alert_id;
    char channel[STATUS_MAX]; /* alertmanager | webhook | email */
    char event[STATUS_MAX];   /* firing | repeat | resolved */
    char status[STATUS_MAX];  /* pending | delivered | expired */
    int64_t attempts;
    int64_t created_at, next_attempt_at, delivered_at;
    char last_error[ALERT_ERROR_MAX];
    char payload[ALERT_PAYLOAD_MAX]; /* what is sent (channel-specific text) */
    char message_id[ALERT_MESSAGE_ID_MAX];  /* email: this mail's Message-ID ("" in rows
                                               queued before it was kept) */
    char in_reply_to[ALERT_MESSAGE_ID_MAX]; /* email: the Message-ID it replies to; "" */
};

/* One attempt to deliver an outbox row. */
struct alert_attempt {
    int64_t id, delivery_id;
    int64_t attempted_at;
    bool ok;
    char error[ALERT_ERROR_MAX]; /* "" when ok */
};

enum store_txn { STORE_TXN_READ, STORE_TXN_WRITE };

struct store;
struct store_scan;

typedef int (*store_user_cb)(void *ctx, const struct user *u);
typedef int (*store_spec_cb)(void *ctx, const struct specialization *s);
typedef int (*store_check_cb)(void *ctx, const struct check_run *c);
typedef int (*store_violation_cb)(void *ctx, const struct violation *v);
typedef int (*store_pair_rows_cb)(void *ctx, const struct progress *p, const struct license *l);
/* What the readiness probe saw (store_ops.probe). */
struct store_probe {
    int schema_version;
    int64_t users;           /* rows in users */
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
    /* Number of users with `role` (NULL: any), only active ones if active_only. */
    int (*user_count)(struct store *s, const char *role, bool active_only, int64_t *n);
    /* The email of user `id` into out[EMAIL_MAX+1] ("" when the user is gone). */
    int (*user_email)(struct store *s, int64_t id, char *out);

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
    void (*pair_scan_close)(struct store_scan *scan);

    /* When the open violation (user, spec, issue) was first seen;
     * STORE_ERR_NOT_FOUND when it is not open. */
    int (*violation_first_seen)(struct store *s, int64_t user, const char *spec,
                                const char *issue, int64_t *first_seen);
    /* Staging of a check's violations, then recording: stage_reset, stage_add
     * for each violation, then check_record, which in one write transaction
     * inserts the history row (sets c->id) and turns the staged set into the
     * open violations (new ones opened, seen ones kept with their first_seen,
     * the rest resolved at c->timestamp). */
    int (*check_stage_reset)(struct store *s);
    int (*check_stage_add)(struct store *s, const struct violation *v);
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
    /* Count audit rows with `action` (tests and reports). */
    int (*audit_count)(struct store *s, const char *action, int64_t *n);

    int (*refresh_insert)(struct store *s, const struct refresh_token *t);
    int (*refresh_get)(struct store *s, const char *jti, struct refresh_token *t);
    /* Mark a token rotated; STORE_ERR_CONFLICT when it already was (reuse). */
    int (*refresh_mark_used)(struct store *s, const char *jti, int64_t when);
    int (*refresh_revoke_family)(struct store *s, const char *family, int64_t when);
    int (*refresh_revoke_user)(struct store *s, int64_t user, int64_t when);

    /* Leadership of the scheduled jobs among the processes sharing this store
     * (SQLite: a lock file beside the database; PostgreSQL: an advisory lock).
     * Takes it when free, or confirms this connection still holds it; never
     * waits. *leader tells which. Kept until leader_release or close. */
    int (*leader_hold)(struct store *s, bool *leader);
    void (*leader_release)(struct store *s);

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
};

struct store_options {
    long busy_timeout_ms; /* SQLite: how long to wait for a lock; PG: lock_timeout */
    bool migrate;         /* apply migrations on open (default true via store_options_default) */
    bool create;          /* a place without a store gets a new one (default true); when
                             false, a missing SQLite file or a database without Lockstep's
                             schema_migrations table is STORE_ERR_NO_STORE and nothing is
                             created. An empty (0-byte) SQLite file is never a store. */
    long parallel_scan_min_bytes; /* SQLite: full scans of a database file at least this
                                     large use several threads (default 8 MiB; 0 always,
                                     -1 never) */
};

void store_options_default(struct store_options *o);

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

/* The backends (store/sqlite, store/pg). */
int store_sqlite_open(const char *path, const struct store_options *o, struct store **out,
                      char *err, size_t errlen);
int store_pg_open(const char *conninfo, const struct store_options *o, struct store **out,
                  char *err, size_t errlen);

#endif

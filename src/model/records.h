/* records.h — the records Lockstep works with (domain.md): accounts, the two
 * coupled tables, checks, violations, runs, alerts. Plain structs shared by
 * the services and both store backends; no behaviour. */
#ifndef LOCKSTEP_MODEL_RECORDS_H
#define LOCKSTEP_MODEL_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

/* Specialization ids: up to SPEC_ID_LEN bytes (a user types 1–64 of
 * [A-Z0-9_]; an attached database's varchar(50) ids fit whole). A longer id
 * read from an attached database is an error, never cut (store.h,
 * store_spec_too_long). SPEC_ID_MAX: the room for one with its NUL. */
#define SPEC_ID_LEN 64
#define SPEC_ID_LEN_TEXT "64" /* SPEC_ID_LEN, for messages and SQL text */
#define SPEC_ID_MAX (SPEC_ID_LEN + 1)
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

/* A violation still open, as the store holds it (without its key). */
struct open_violation {
    /* The row's id; brief: only it and issue_type were read (the watcher's
     * pairs_get on a backend with open_details, which reads the rest). */
    int64_t id;
    bool brief;
    char issue_type[ISSUE_TYPE_MAX];
    bool has_progress, has_license;
    int progress_level, license_level;
    char recommended_action[ACTION_MAX];
    int64_t first_seen;
    char user_email[EMAIL_MAX + 1];
};

/* One (user, specialization) pair as the check sees it. */
struct pair_levels {
    int64_t user_id;
    char spec[SPEC_ID_MAX];
    /* Whether a row of each side exists, decided by the key alone (never by
     * the level), and the level read from it (0 when the row is missing). */
    bool has_progress, has_license;
    int progress_level, license_level;
    /* The row's level is NULL, or not an integer that fits an int (its
     * *_level is then 0): an invalid_level. */
    bool progress_level_null, license_level_null;
    /* How many rows of each side the pair has when more than one (a table
     * without its unique constraint): duplicate_rows. 0 or 1: not duplicated
     * (has_* says whether the row exists). */
    int64_t progress_rows, license_rows;
    /* The specialization's maximum level; 0: not known (no such
     * specialization, or no maximum for it): unknown_specialization. Every
     * backend fills it for every pair; left 0 the pair is never repaired. */
    int max_level;
    /* A backend may fill these for inconsistent pairs in the same pass (a
     * lookup per violation is costly). has_details: first_seen is known — the
     * first_seen of the pair's open violation of its current issue type, or 0
     * when there is none. user_email: "" when not known. What is not known,
     * the check looks up with violation_first_seen and user_email. */
    bool has_details;
    char user_email[EMAIL_MAX + 1];
    int64_t first_seen;
    /* A scan asked for the open violations (pair_filter.open_violations) by a
     * backend that merges them in sets open_known: has_open tells whether the
     * pair has an open violation, and `open` is it. An open violation whose
     * pair has no row left comes as a pair of its own with neither row. */
    bool open_known, has_open;
    struct open_violation open;
    /* The pair has open violations besides `open` (of other issue types;
     * told by SQLite's pairs_get, which reads them all). */
    bool open_more;
};

struct violation {
    int64_t user_id;
    char user_email[EMAIL_MAX + 1];
    char spec[SPEC_ID_MAX];
    char issue_type[ISSUE_TYPE_MAX]; /* level_mismatch | missing_license | missing_progress |
                                        invalid_level | unknown_specialization |
                                        duplicate_rows (model/pair.h) */
    /* Whether each level is shown: false gives null (a missing row, a NULL
     * level, a side with duplicate rows; model/pair.h). */
    bool has_progress, has_license;
    int progress_level, license_level;
    char recommended_action[ACTION_MAX];
    int64_t first_seen;
};

/* A recorded check (the health history). */
/* Where a check read its pairs: the primary, or a streaming replica of it
 * (operations.md, "Reading from a replica"). */
struct check_source {
    char source[16];            /* primary | replica */
    bool has_replica_lag;       /* a replica was asked (replica_lag_seconds is known) */
    double replica_lag_seconds; /* the replica's replay lag when it was asked */
    char replica_fallback[256]; /* why the replica was not used, or "" */
};

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
    struct check_source read;         /* where the pairs were read */
    /* full: every pair read; incremental: the watcher's state recorded
     * (watch.md). "" reads as full. */
    char kind[16];
    int64_t divergences; /* a full sweep: pairs the watcher's state had wrong */
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

/* The leadership lease of the scheduled jobs (one row). owner: "host:pid:random"
 * of a `serve` process, "" when no one ever held it. */
#define LEASE_OWNER_MAX 80
struct scheduler_lease {
    char owner[LEASE_OWNER_MAX];
    int64_t expires_at, renewed_at; /* microseconds; renewed_at 0: never */
    bool expired;                   /* by the store's clock, when read */
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

#endif

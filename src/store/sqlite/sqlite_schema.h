/* sqlite_schema.h — the numbered migrations of the SQLite store.
 *
 * Each migration runs once, inside the transaction that records it in
 * schema_migrations. Never edit a released migration: add a new one.
 */
#ifndef LOCKSTEP_SQLITE_SCHEMA_H
#define LOCKSTEP_SQLITE_SCHEMA_H

#include "store/migrations.h"

#define SQLITE_NOW "(strftime('%Y-%m-%dT%H:%M:%f','now') || '000Z')"

/* The capture triggers of one domain table (watch.md): a row inserted
 * (+1), deleted (-1), its level changed (0) or moved to another key (-1 for
 * the old key, +1 for the new one) appends its pair to pair_changes. */
#define SQ_CHANGED_AT "((julianday('now') - 2440587.5) * 86400.0)"
#define SQ_CAPTURE_TRIGGERS(table, user, spec, level, prefix)                                \
    "CREATE TRIGGER " prefix "_insert AFTER INSERT ON " table " BEGIN"                          \
    " INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                     \
    " VALUES (NEW." user ", NEW." spec ", 1, " SQ_CHANGED_AT "); END;"                          \
    "CREATE TRIGGER " prefix "_delete AFTER DELETE ON " table " BEGIN"                          \
    " INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                     \
    " VALUES (OLD." user ", OLD." spec ", -1, " SQ_CHANGED_AT "); END;"                         \
    "CREATE TRIGGER " prefix "_update AFTER UPDATE OF " user ", " spec ", " level " ON " table  \
    " WHEN OLD." user " IS NOT NEW." user " OR OLD." spec " IS NOT NEW." spec                   \
    " OR OLD." level " IS NOT NEW." level " BEGIN"                                              \
    " INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                     \
    " SELECT OLD." user ", OLD." spec ", -1, " SQ_CHANGED_AT                                    \
    " WHERE OLD." user " IS NOT NEW." user " OR OLD." spec " IS NOT NEW." spec ";"              \
    " INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                     \
    " VALUES (NEW." user ", NEW." spec ", CASE WHEN OLD." user " IS NOT NEW." user              \
    " OR OLD." spec " IS NOT NEW." spec " THEN 1 ELSE 0 END, " SQ_CHANGED_AT "); END;"

/* A changed specialization asks the watcher for a full sweep (migration 14;
 * made again by 16, which rebuilds the table). */
#define SQ_SPECS_TRIGGERS                                                                     \
    "CREATE TRIGGER lockstep_specs_insert AFTER INSERT ON specializations"                    \
    " BEGIN UPDATE watch_state SET sweep_requested = 1; END;"                                 \
    "CREATE TRIGGER lockstep_specs_update AFTER UPDATE OF id, max_levels ON specializations"  \
    " BEGIN UPDATE watch_state SET sweep_requested = 1; END;"                                 \
    "CREATE TRIGGER lockstep_specs_delete AFTER DELETE ON specializations"                    \
    " BEGIN UPDATE watch_state SET sweep_requested = 1; END;"

static const struct store_migration sqlite_migrations[] = {
    {1, "domain schema",
     "CREATE TABLE users ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL DEFAULT '',"
     " email TEXT NOT NULL UNIQUE,"
     " password_hash TEXT NOT NULL,"
     " role TEXT NOT NULL DEFAULT 'student' CHECK (role IN ('admin','instructor','student')),"
     " is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0,1)),"
     " created_at TEXT NOT NULL,"
     " updated_at TEXT NOT NULL);"
     "CREATE TABLE audit_logs ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER,"
     " action TEXT NOT NULL,"
     " resource_type TEXT,"
     " resource_id TEXT,"
     " details TEXT,"
     " ip_address TEXT,"
     " status_code INTEGER,"
     " timestamp TEXT NOT NULL);"
     "CREATE INDEX audit_logs_action_time ON audit_logs(action, timestamp);",
     /* domain */
     "CREATE TABLE specializations ("
     " id TEXT PRIMARY KEY CHECK (id = upper(id) AND length(id) BETWEEN 1 AND 32),"
     " name TEXT NOT NULL,"
     " max_levels INTEGER NOT NULL CHECK (max_levels > 0),"
     " is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0,1)),"
     " created_at TEXT NOT NULL);"
     "CREATE TABLE specialization_level_thresholds ("
     " specialization_id TEXT NOT NULL REFERENCES specializations(id) ON DELETE CASCADE,"
     " level INTEGER NOT NULL CHECK (level > 0),"
     " xp_required INTEGER NOT NULL CHECK (xp_required >= 0),"
     " PRIMARY KEY (specialization_id, level)) WITHOUT ROWID;"
     "CREATE TABLE specialization_progress ("
     " id INTEGER PRIMARY KEY,"
     " student_id INTEGER NOT NULL REFERENCES users(id) ON DELETE RESTRICT,"
     " specialization_id TEXT NOT NULL REFERENCES specializations(id) ON DELETE RESTRICT,"
     " current_level INTEGER NOT NULL DEFAULT 1,"
     " total_xp INTEGER NOT NULL DEFAULT 0,"
     " completed_sessions INTEGER NOT NULL DEFAULT 0,"
     " completed_projects INTEGER NOT NULL DEFAULT 0,"
     " theory_hours_completed INTEGER NOT NULL DEFAULT 0,"
     " practice_hours_completed INTEGER NOT NULL DEFAULT 0,"
     " last_activity TEXT,"
     " created_at TEXT NOT NULL,"
     " updated_at TEXT NOT NULL,"
     " UNIQUE (student_id, specialization_id));"
     /* The check streams this index: it holds all the check reads. */
     "CREATE INDEX specialization_progress_pair_level"
     " ON specialization_progress(student_id, specialization_id, current_level);"
     "CREATE TABLE user_licenses ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE RESTRICT,"
     " specialization_type TEXT NOT NULL REFERENCES specializations(id) ON DELETE RESTRICT,"
     " current_level INTEGER NOT NULL DEFAULT 1,"
     " max_achieved_level INTEGER NOT NULL DEFAULT 1,"
     " started_at TEXT NOT NULL,"
     " last_advanced_at TEXT,"
     " instructor_notes TEXT NOT NULL DEFAULT '',"
     " created_at TEXT NOT NULL,"
     " updated_at TEXT NOT NULL,"
     " UNIQUE (user_id, specialization_type));"
     "CREATE INDEX user_licenses_pair_level"
     " ON user_licenses(user_id, specialization_type, current_level);"
     "CREATE TABLE license_progressions ("
     " id INTEGER PRIMARY KEY,"
     " user_license_id INTEGER NOT NULL REFERENCES user_licenses(id) ON DELETE RESTRICT,"
     " from_level INTEGER NOT NULL,"
     " to_level INTEGER NOT NULL,"
     " advanced_by INTEGER REFERENCES users(id),"
     " advancement_reason TEXT NOT NULL DEFAULT '',"
     " requirements_met TEXT NOT NULL DEFAULT '{}',"
     " advanced_at TEXT NOT NULL);"
     "CREATE INDEX license_progressions_license ON license_progressions(user_license_id);"
     "INSERT INTO specializations(id, name, max_levels, is_active, created_at) VALUES"
     " ('PLAYER', 'Player', 8, 1, " SQLITE_NOW "),"
     " ('COACH', 'Coach', 8, 1, " SQLITE_NOW "),"
     " ('INTERNSHIP', 'Internship', 3, 1, " SQLITE_NOW ");"},
    {2, "health history",
     "CREATE TABLE check_runs ("
     " id INTEGER PRIMARY KEY,"
     " timestamp TEXT NOT NULL,"
     " total_checked INTEGER NOT NULL,"
     " consistent INTEGER NOT NULL,"
     " inconsistent INTEGER NOT NULL,"
     " consistency_rate REAL NOT NULL,"
     " status TEXT NOT NULL,"
     " trigger TEXT NOT NULL,"
     " duration_ms REAL NOT NULL,"
     " report_file TEXT NOT NULL DEFAULT '',"
     " file_error TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX check_runs_time ON check_runs(timestamp);"
     "CREATE TABLE violations ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER NOT NULL,"
     " specialization TEXT NOT NULL,"
     " issue_type TEXT NOT NULL,"
     " user_email TEXT NOT NULL DEFAULT '',"
     " progress_level INTEGER,"
     " license_level INTEGER,"
     " recommended_action TEXT NOT NULL,"
     " first_seen TEXT NOT NULL,"
     " first_check_id INTEGER NOT NULL,"
     " last_check_id INTEGER NOT NULL,"
     " resolved_at TEXT,"
     " resolved_check_id INTEGER);"
     "CREATE UNIQUE INDEX violations_open ON violations(user_id, specialization, issue_type)"
     " WHERE resolved_at IS NULL;"
     "CREATE INDEX violations_first_seen ON violations(first_seen);"
     "CREATE INDEX violations_resolved_at ON violations(resolved_at)"
     " WHERE resolved_at IS NOT NULL;"
     "CREATE TABLE sync_runs ("
     " id INTEGER PRIMARY KEY,"
     " started_at TEXT NOT NULL,"
     " finished_at TEXT NOT NULL,"
     " trigger TEXT NOT NULL,"
     " direction TEXT NOT NULL,"
     " dry_run INTEGER NOT NULL,"
     " scope_user INTEGER,"
     " scope_spec TEXT,"
     " total_issues INTEGER NOT NULL,"
     " synced_count INTEGER NOT NULL,"
     " failed_count INTEGER NOT NULL,"
     " success INTEGER NOT NULL,"
     " log_file TEXT NOT NULL DEFAULT '',"
     " error TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX sync_runs_time ON sync_runs(started_at);", NULL},
    {3, "refresh tokens",
     "CREATE TABLE refresh_tokens ("
     " jti TEXT PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id),"
     " family TEXT NOT NULL,"
     " issued_at TEXT NOT NULL,"
     " expires_at TEXT NOT NULL,"
     " used_at TEXT,"
     " revoked_at TEXT) WITHOUT ROWID;"
     "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
     "CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);", NULL},
    {4, "scheduler history",
     "CREATE TABLE scheduler_starts ("
     " id INTEGER PRIMARY KEY,"
     " started_at TEXT NOT NULL,"
     " owner TEXT NOT NULL);"
     "CREATE TABLE job_runs ("
     " id INTEGER PRIMARY KEY,"
     " job_id TEXT NOT NULL,"
     " due_at TEXT NOT NULL,"
     " started_at TEXT,"
     " finished_at TEXT,"
     " status TEXT NOT NULL CHECK (status IN"
     "  ('running','success','failed','missed','skipped','interrupted')),"
     " error TEXT NOT NULL DEFAULT '',"
     " owner TEXT NOT NULL DEFAULT '',"
     " UNIQUE (job_id, due_at));"
     "CREATE INDEX job_runs_status ON job_runs(status) WHERE status = 'running';", NULL},
    {5, "baselines",
     "CREATE TABLE baselines ("
     " id INTEGER PRIMARY KEY,"
     " check_id INTEGER NOT NULL REFERENCES check_runs(id),"
     " created_at TEXT NOT NULL,"
     " file TEXT NOT NULL DEFAULT '',"
     " note TEXT NOT NULL DEFAULT '');", NULL},
    {6, "token revocation and users per check",
     "ALTER TABLE users ADD COLUMN tokens_valid_after TEXT;"
     "ALTER TABLE check_runs ADD COLUMN users_checked INTEGER NOT NULL DEFAULT 0;", NULL},
    {7, "alerts",
     "CREATE TABLE alerts ("
     " id INTEGER PRIMARY KEY,"
     " rule TEXT NOT NULL,"
     " subject TEXT NOT NULL DEFAULT '',"
     " severity TEXT NOT NULL CHECK (severity IN ('warning','critical')),"
     " state TEXT NOT NULL CHECK (state IN ('pending','firing','resolved')),"
     " summary TEXT NOT NULL DEFAULT '',"
     " description TEXT NOT NULL DEFAULT '',"
     " started_at TEXT NOT NULL,"
     " fired_at TEXT,"
     " resolved_at TEXT,"
     " last_notified_at TEXT,"
     " notifications INTEGER NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX alerts_active ON alerts(rule, subject) WHERE state <> 'resolved';"
     "CREATE TABLE alert_silences ("
     " id INTEGER PRIMARY KEY,"
     " rule TEXT NOT NULL,"
     " starts_at TEXT NOT NULL,"
     " ends_at TEXT NOT NULL,"
     " comment TEXT NOT NULL DEFAULT '',"
     " created_by INTEGER REFERENCES users(id),"
     " created_at TEXT NOT NULL,"
     " deleted_at TEXT);"
     "CREATE TABLE alert_deliveries ("
     " id INTEGER PRIMARY KEY,"
     " alert_id INTEGER NOT NULL REFERENCES alerts(id),"
     " channel TEXT NOT NULL CHECK (channel IN ('webhook','email')),"
     " event TEXT NOT NULL CHECK (event IN ('firing','repeat','resolved')),"
     " status TEXT NOT NULL CHECK (status IN ('pending','delivered','expired')),"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " created_at TEXT NOT NULL,"
     " next_attempt_at TEXT,"
     " delivered_at TEXT,"
     " last_error TEXT NOT NULL DEFAULT '',"
     " payload TEXT NOT NULL);"
     "CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);"
     "CREATE INDEX alert_deliveries_pending ON alert_deliveries(next_attempt_at)"
     " WHERE status = 'pending';"
     "CREATE TABLE alert_attempts ("
     " id INTEGER PRIMARY KEY,"
     " delivery_id INTEGER NOT NULL REFERENCES alert_deliveries(id),"
     " attempted_at TEXT NOT NULL,"
     " ok INTEGER NOT NULL,"
     " error TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX alert_attempts_delivery ON alert_attempts(delivery_id);", NULL},
    /* SQLite cannot change a CHECK constraint: the outbox table is rebuilt
     * (sq_migrate turns foreign keys off around migrations and checks them
     * before the commit, as the SQLite documentation's procedure does). */
    {8, "alertmanager channel and mail threading",
     "ALTER TABLE alerts ADD COLUMN message_id TEXT NOT NULL DEFAULT '';"
     "CREATE TABLE alert_deliveries_new ("
     " id INTEGER PRIMARY KEY,"
     " alert_id INTEGER NOT NULL REFERENCES alerts(id),"
     " channel TEXT NOT NULL CHECK (channel IN ('alertmanager','webhook','email')),"
     " event TEXT NOT NULL CHECK (event IN ('firing','repeat','resolved')),"
     " status TEXT NOT NULL CHECK (status IN ('pending','delivered','expired')),"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " created_at TEXT NOT NULL,"
     " next_attempt_at TEXT,"
     " delivered_at TEXT,"
     " last_error TEXT NOT NULL DEFAULT '',"
     " payload TEXT NOT NULL,"
     " message_id TEXT NOT NULL DEFAULT '',"
     " in_reply_to TEXT NOT NULL DEFAULT '');"
     "INSERT INTO alert_deliveries_new(id, alert_id, channel, event, status, attempts,"
     " created_at, next_attempt_at, delivered_at, last_error, payload)"
     " SELECT id, alert_id, channel, event, status, attempts, created_at, next_attempt_at,"
     " delivered_at, last_error, payload FROM alert_deliveries;"
     "DROP TABLE alert_deliveries;"
     "ALTER TABLE alert_deliveries_new RENAME TO alert_deliveries;"
     "CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);"
     "CREATE INDEX alert_deliveries_pending ON alert_deliveries(next_attempt_at)"
     " WHERE status = 'pending';", NULL},
    {9, "scheduler settings per start",
     /* NULL settings: a start recorded before they were kept. */
     "ALTER TABLE scheduler_starts ADD COLUMN scheduler INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE scheduler_starts ADD COLUMN check_interval INTEGER;"
     "ALTER TABLE scheduler_starts ADD COLUMN sync_interval INTEGER;"
     "ALTER TABLE scheduler_starts ADD COLUMN check_misfire_grace INTEGER;"
     "ALTER TABLE scheduler_starts ADD COLUMN sync_misfire_grace INTEGER;"
     "CREATE INDEX scheduler_starts_time ON scheduler_starts(started_at);", NULL},
    {10, "sync runs recorded while they run",
     MIGRATION_SYNC_RUNS_WHILE_RUNNING, NULL},
    /* One row: who leads the scheduled jobs, until when (sqlite_lease.c). */
    {11, "scheduler leadership lease",
     "CREATE TABLE scheduler_lease ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " owner TEXT NOT NULL DEFAULT '',"
     " expires_at TEXT NOT NULL,"
     " renewed_at TEXT);"
     "INSERT INTO scheduler_lease(id, owner, expires_at)"
     " VALUES (1, '', '1970-01-01T00:00:00.000000Z');", NULL},
    /* Emails match without regard to case (attach.md). */
    {12, "emails without regard to case", MIGRATION_EMAILS_WITHOUT_CASE, NULL},
    {13, "where each check read its pairs", MIGRATION_CHECK_SOURCE, NULL},
    /* Change capture and the watcher's state (watch.md). The triggers are
     * the domain part: own mode only. changed_at: seconds since the epoch. */
    {14, "change capture and the watcher",
     MIGRATION_WATCH_COMMON
     "CREATE TABLE pair_changes ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER NOT NULL,"
     " specialization TEXT NOT NULL,"
     " delta INTEGER NOT NULL,"
     " changed_at REAL NOT NULL);"
     "CREATE INDEX pair_changes_user ON pair_changes(user_id);"
     "CREATE TABLE watch_state ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " initialized INTEGER NOT NULL DEFAULT 0,"
     " sweep_requested INTEGER NOT NULL DEFAULT 0,"
     " pairs INTEGER NOT NULL DEFAULT 0,"
     " users INTEGER NOT NULL DEFAULT 0,"
     " violations INTEGER NOT NULL DEFAULT 0,"
     " version INTEGER NOT NULL DEFAULT 0,"
     " applied_at TEXT,"
     " last_full_at TEXT,"
     " last_full_check_id INTEGER NOT NULL DEFAULT 0,"
     " divergences_total INTEGER NOT NULL DEFAULT 0,"
     " last_lag_seconds REAL NOT NULL DEFAULT 0);"
     "INSERT INTO watch_state(id) VALUES (1);",
     SQ_CAPTURE_TRIGGERS("specialization_progress", "student_id", "specialization_id",
                         "current_level", "lockstep_progress")
     SQ_CAPTURE_TRIGGERS("user_licenses", "user_id", "specialization_type",
                         "current_level", "lockstep_license")
     SQ_SPECS_TRIGGERS},
    {15, "poll watermarks", MIGRATION_POLL_WATERMARKS, NULL},
    /* Specialization ids of up to 64 characters (SPEC_ID_LEN). SQLite cannot
     * change a CHECK constraint: the table is rebuilt as migration 8 does
     * (foreign keys off, checked before the commit), and migration 14's
     * triggers on it, dropped with it, are made again (they only ask the
     * watcher for a sweep). */
    {16, "specialization ids up to 64 characters", NULL,
     "CREATE TABLE specializations_new ("
     " id TEXT PRIMARY KEY CHECK (id = upper(id) AND length(id) BETWEEN 1 AND 64),"
     " name TEXT NOT NULL,"
     " max_levels INTEGER NOT NULL CHECK (max_levels > 0),"
     " is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0,1)),"
     " created_at TEXT NOT NULL);"
     "INSERT INTO specializations_new(id, name, max_levels, is_active, created_at)"
     " SELECT id, name, max_levels, is_active, created_at FROM specializations;"
     "DROP TABLE specializations;"
     "ALTER TABLE specializations_new RENAME TO specializations;"
     SQ_SPECS_TRIGGERS},
    {17, "the newest open violations in order", MIGRATION_VIOLATIONS_NEWEST, NULL},
};

/* The migrations that rebuild a table others refer to (foreign keys are off
 * while migrations run): when one of them ran, every reference is checked
 * before the commit. The others leave references as they were, and a check
 * of the whole file takes seconds on a large store (4 s at 10 M pairs). */
static const int sqlite_rebuilding_migrations[] = {8, 16};
#define SQLITE_REBUILDING_COUNT                                                        \
    (sizeof sqlite_rebuilding_migrations / sizeof sqlite_rebuilding_migrations[0])

#define SQLITE_MIGRATION_COUNT ((int)(sizeof sqlite_migrations / sizeof sqlite_migrations[0]))

#endif

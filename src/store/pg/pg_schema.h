/* pg_schema.h — the numbered migrations of the PostgreSQL store: the same
 * tables, columns and numbers as the SQLite store (sqlite_schema.h), in
 * PostgreSQL's types. Specialization ids use the "C" collation so pairs sort
 * by bytes, as in SQLite. Never edit a released migration: add a new one. */
#ifndef LOCKSTEP_PG_SCHEMA_H
#define LOCKSTEP_PG_SCHEMA_H

#include "store/migrations.h"

/* The capture of one domain table (watch.md): a row inserted (+1), deleted
 * (-1), its level changed (0) or moved to another key (-1 for the old key,
 * +1 for the new one) appends its pair to pair_changes and notifies
 * lockstep_pair_changes (one notification per transaction: the server
 * folds identical ones). Lean on purpose, since every writer pays for it:
 * the WHEN clause keeps updates that change neither key nor level from
 * calling the function at all, and the function runs one INSERT.
 * changed_at: the epoch of clock_timestamp() as date_part gives it, a
 * double precision (extract's numeric would be converted on every row). */
#define PG_CHANGED_AT "date_part('epoch', clock_timestamp())"
#define PG_CAPTURE_TRIGGERS(table, user, spec, level, prefix)                                   \
    "CREATE FUNCTION " prefix "_changed() RETURNS trigger LANGUAGE plpgsql AS $$"              \
    " BEGIN"                                                                                   \
    "  IF TG_OP = 'INSERT' THEN"                                                               \
    "   INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                  \
    "   VALUES (NEW." user ", NEW." spec ", 1, " PG_CHANGED_AT ");"                            \
    "  ELSIF TG_OP = 'DELETE' THEN"                                                            \
    "   INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                  \
    "   VALUES (OLD." user ", OLD." spec ", -1, " PG_CHANGED_AT ");"                           \
    "  ELSIF OLD." user " IS DISTINCT FROM NEW." user                                          \
    "   OR OLD." spec " IS DISTINCT FROM NEW." spec " THEN"                                    \
    "   INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                  \
    "   VALUES (OLD." user ", OLD." spec ", -1, " PG_CHANGED_AT "),"                           \
    "   (NEW." user ", NEW." spec ", 1, " PG_CHANGED_AT ");"                                   \
    "  ELSE"                                                                                   \
    "   INSERT INTO pair_changes(user_id, specialization, delta, changed_at)"                  \
    "   VALUES (NEW." user ", NEW." spec ", 0, " PG_CHANGED_AT ");"                            \
    "  END IF;"                                                                                \
    "  PERFORM pg_notify('lockstep_pair_changes', '');"                                        \
    "  RETURN NULL;"                                                                           \
    " END $$;"                                                                                 \
    "CREATE TRIGGER " prefix "_insert AFTER INSERT ON " table                                  \
    " FOR EACH ROW EXECUTE FUNCTION " prefix "_changed();"                                     \
    "CREATE TRIGGER " prefix "_delete AFTER DELETE ON " table                                  \
    " FOR EACH ROW EXECUTE FUNCTION " prefix "_changed();"                                     \
    "CREATE TRIGGER " prefix "_update AFTER UPDATE OF " user ", " spec ", " level " ON " table \
    " FOR EACH ROW WHEN (OLD." user " IS DISTINCT FROM NEW." user                              \
    " OR OLD." spec " IS DISTINCT FROM NEW." spec                                              \
    " OR OLD." level " IS DISTINCT FROM NEW." level ")"                                        \
    " EXECUTE FUNCTION " prefix "_changed();"

static const struct store_migration pg_migrations[] = {
    {1, "domain schema",
     "CREATE TABLE users ("
     " id BIGSERIAL PRIMARY KEY,"
     " name TEXT NOT NULL DEFAULT '',"
     " email TEXT NOT NULL UNIQUE,"
     " password_hash TEXT NOT NULL,"
     " role TEXT NOT NULL DEFAULT 'student' CHECK (role IN ('admin','instructor','student')),"
     " is_active BOOLEAN NOT NULL DEFAULT TRUE,"
     " created_at TIMESTAMPTZ NOT NULL,"
     " updated_at TIMESTAMPTZ NOT NULL);"
     "CREATE TABLE audit_logs ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_id BIGINT,"
     " action TEXT NOT NULL,"
     " resource_type TEXT,"
     " resource_id TEXT,"
     " details TEXT,"
     " ip_address TEXT,"
     " status_code INTEGER,"
     " timestamp TIMESTAMPTZ NOT NULL);"
     "CREATE INDEX audit_logs_action_time ON audit_logs(action, timestamp);",
     /* domain */
     "CREATE TABLE specializations ("
     " id TEXT COLLATE \"C\" PRIMARY KEY CHECK (id = upper(id) AND length(id) BETWEEN 1 AND 32),"
     " name TEXT NOT NULL,"
     " max_levels INTEGER NOT NULL CHECK (max_levels > 0),"
     " is_active BOOLEAN NOT NULL DEFAULT TRUE,"
     " created_at TIMESTAMPTZ NOT NULL);"
     "CREATE TABLE specialization_level_thresholds ("
     " specialization_id TEXT COLLATE \"C\" NOT NULL REFERENCES specializations(id)"
     "  ON DELETE CASCADE,"
     " level INTEGER NOT NULL CHECK (level > 0),"
     " xp_required BIGINT NOT NULL CHECK (xp_required >= 0),"
     " PRIMARY KEY (specialization_id, level));"
     "CREATE TABLE specialization_progress ("
     " id BIGSERIAL PRIMARY KEY,"
     " student_id BIGINT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,"
     " specialization_id TEXT COLLATE \"C\" NOT NULL REFERENCES specializations(id)"
     "  ON DELETE RESTRICT,"
     " current_level INTEGER NOT NULL DEFAULT 1,"
     " total_xp BIGINT NOT NULL DEFAULT 0,"
     " completed_sessions BIGINT NOT NULL DEFAULT 0,"
     " completed_projects BIGINT NOT NULL DEFAULT 0,"
     " theory_hours_completed BIGINT NOT NULL DEFAULT 0,"
     " practice_hours_completed BIGINT NOT NULL DEFAULT 0,"
     " last_activity TIMESTAMPTZ,"
     " created_at TIMESTAMPTZ NOT NULL,"
     " updated_at TIMESTAMPTZ NOT NULL,"
     " UNIQUE (student_id, specialization_id));"
     "CREATE INDEX specialization_progress_pair_level"
     " ON specialization_progress(student_id, specialization_id, current_level);"
     "CREATE TABLE user_licenses ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE RESTRICT,"
     " specialization_type TEXT COLLATE \"C\" NOT NULL REFERENCES specializations(id)"
     "  ON DELETE RESTRICT,"
     " current_level INTEGER NOT NULL DEFAULT 1,"
     " max_achieved_level INTEGER NOT NULL DEFAULT 1,"
     " started_at TIMESTAMPTZ NOT NULL,"
     " last_advanced_at TIMESTAMPTZ,"
     " instructor_notes TEXT NOT NULL DEFAULT '',"
     " created_at TIMESTAMPTZ NOT NULL,"
     " updated_at TIMESTAMPTZ NOT NULL,"
     " UNIQUE (user_id, specialization_type));"
     "CREATE INDEX user_licenses_pair_level"
     " ON user_licenses(user_id, specialization_type, current_level);"
     "CREATE TABLE license_progressions ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_license_id BIGINT NOT NULL REFERENCES user_licenses(id) ON DELETE RESTRICT,"
     " from_level INTEGER NOT NULL,"
     " to_level INTEGER NOT NULL,"
     " advanced_by BIGINT REFERENCES users(id),"
     " advancement_reason TEXT NOT NULL DEFAULT '',"
     " requirements_met TEXT NOT NULL DEFAULT '{}',"
     " advanced_at TIMESTAMPTZ NOT NULL);"
     "CREATE INDEX license_progressions_license ON license_progressions(user_license_id);"
     "INSERT INTO specializations(id, name, max_levels, is_active, created_at) VALUES"
     " ('PLAYER', 'Player', 8, TRUE, now()),"
     " ('COACH', 'Coach', 8, TRUE, now()),"
     " ('INTERNSHIP', 'Internship', 3, TRUE, now());"},
    {2, "health history",
     "CREATE TABLE check_runs ("
     " id BIGSERIAL PRIMARY KEY,"
     " timestamp TIMESTAMPTZ NOT NULL,"
     " total_checked BIGINT NOT NULL,"
     " consistent BIGINT NOT NULL,"
     " inconsistent BIGINT NOT NULL,"
     " consistency_rate DOUBLE PRECISION NOT NULL,"
     " status TEXT NOT NULL,"
     " trigger TEXT NOT NULL,"
     " duration_ms DOUBLE PRECISION NOT NULL,"
     " report_file TEXT NOT NULL DEFAULT '',"
     " file_error TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX check_runs_time ON check_runs(timestamp);"
     "CREATE TABLE violations ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_id BIGINT NOT NULL,"
     " specialization TEXT COLLATE \"C\" NOT NULL,"
     " issue_type TEXT COLLATE \"C\" NOT NULL,"
     " user_email TEXT NOT NULL DEFAULT '',"
     " progress_level INTEGER,"
     " license_level INTEGER,"
     " recommended_action TEXT NOT NULL,"
     " first_seen TIMESTAMPTZ NOT NULL,"
     " first_check_id BIGINT NOT NULL,"
     " last_check_id BIGINT NOT NULL,"
     " resolved_at TIMESTAMPTZ,"
     " resolved_check_id BIGINT);"
     "CREATE UNIQUE INDEX violations_open ON violations(user_id, specialization, issue_type)"
     " WHERE resolved_at IS NULL;"
     "CREATE INDEX violations_first_seen ON violations(first_seen);"
     "CREATE INDEX violations_resolved_at ON violations(resolved_at)"
     " WHERE resolved_at IS NOT NULL;"
     "CREATE TABLE sync_runs ("
     " id BIGSERIAL PRIMARY KEY,"
     " started_at TIMESTAMPTZ NOT NULL,"
     " finished_at TIMESTAMPTZ NOT NULL,"
     " trigger TEXT NOT NULL,"
     " direction TEXT NOT NULL,"
     " dry_run BOOLEAN NOT NULL,"
     " scope_user BIGINT,"
     " scope_spec TEXT,"
     " total_issues BIGINT NOT NULL,"
     " synced_count BIGINT NOT NULL,"
     " failed_count BIGINT NOT NULL,"
     " success BOOLEAN NOT NULL,"
     " log_file TEXT NOT NULL DEFAULT '',"
     " error TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX sync_runs_time ON sync_runs(started_at);", NULL},
    {3, "refresh tokens",
     "CREATE TABLE refresh_tokens ("
     " jti TEXT PRIMARY KEY,"
     " user_id BIGINT NOT NULL REFERENCES users(id),"
     " family TEXT NOT NULL,"
     " issued_at TIMESTAMPTZ NOT NULL,"
     " expires_at TIMESTAMPTZ NOT NULL,"
     " used_at TIMESTAMPTZ,"
     " revoked_at TIMESTAMPTZ);"
     "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
     "CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);", NULL},
    {4, "scheduler history",
     "CREATE TABLE scheduler_starts ("
     " id BIGSERIAL PRIMARY KEY,"
     " started_at TIMESTAMPTZ NOT NULL,"
     " owner TEXT NOT NULL);"
     "CREATE TABLE job_runs ("
     " id BIGSERIAL PRIMARY KEY,"
     " job_id TEXT NOT NULL,"
     " due_at TIMESTAMPTZ NOT NULL,"
     " started_at TIMESTAMPTZ,"
     " finished_at TIMESTAMPTZ,"
     " status TEXT NOT NULL CHECK (status IN"
     "  ('running','success','failed','missed','skipped','interrupted')),"
     " error TEXT NOT NULL DEFAULT '',"
     " owner TEXT NOT NULL DEFAULT '',"
     " UNIQUE (job_id, due_at));"
     "CREATE INDEX job_runs_status ON job_runs(status) WHERE status = 'running';", NULL},
    {5, "baselines",
     "CREATE TABLE baselines ("
     " id BIGSERIAL PRIMARY KEY,"
     " check_id BIGINT NOT NULL REFERENCES check_runs(id),"
     " created_at TIMESTAMPTZ NOT NULL,"
     " file TEXT NOT NULL DEFAULT '',"
     " note TEXT NOT NULL DEFAULT '');", NULL},
    {6, "token revocation and users per check",
     "ALTER TABLE users ADD COLUMN tokens_valid_after TIMESTAMPTZ;"
     "ALTER TABLE check_runs ADD COLUMN users_checked BIGINT NOT NULL DEFAULT 0;", NULL},
    {7, "alerts",
     "CREATE TABLE alerts ("
     " id BIGSERIAL PRIMARY KEY,"
     " rule TEXT NOT NULL,"
     " subject TEXT NOT NULL DEFAULT '',"
     " severity TEXT NOT NULL CHECK (severity IN ('warning','critical')),"
     " state TEXT NOT NULL CHECK (state IN ('pending','firing','resolved')),"
     " summary TEXT NOT NULL DEFAULT '',"
     " description TEXT NOT NULL DEFAULT '',"
     " started_at TIMESTAMPTZ NOT NULL,"
     " fired_at TIMESTAMPTZ,"
     " resolved_at TIMESTAMPTZ,"
     " last_notified_at TIMESTAMPTZ,"
     " notifications BIGINT NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX alerts_active ON alerts(rule, subject) WHERE state <> 'resolved';"
     "CREATE TABLE alert_silences ("
     " id BIGSERIAL PRIMARY KEY,"
     " rule TEXT NOT NULL,"
     " starts_at TIMESTAMPTZ NOT NULL,"
     " ends_at TIMESTAMPTZ NOT NULL,"
     " comment TEXT NOT NULL DEFAULT '',"
     " created_by BIGINT REFERENCES users(id),"
     " created_at TIMESTAMPTZ NOT NULL,"
     " deleted_at TIMESTAMPTZ);"
     "CREATE TABLE alert_deliveries ("
     " id BIGSERIAL PRIMARY KEY,"
     " alert_id BIGINT NOT NULL REFERENCES alerts(id),"
     " channel TEXT NOT NULL CHECK (channel IN ('webhook','email')),"
     " event TEXT NOT NULL CHECK (event IN ('firing','repeat','resolved')),"
     " status TEXT NOT NULL CHECK (status IN ('pending','delivered','expired')),"
     " attempts BIGINT NOT NULL DEFAULT 0,"
     " created_at TIMESTAMPTZ NOT NULL,"
     " next_attempt_at TIMESTAMPTZ,"
     " delivered_at TIMESTAMPTZ,"
     " last_error TEXT NOT NULL DEFAULT '',"
     " payload TEXT NOT NULL);"
     "CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);"
     "CREATE INDEX alert_deliveries_pending ON alert_deliveries(next_attempt_at)"
     " WHERE status = 'pending';"
     "CREATE TABLE alert_attempts ("
     " id BIGSERIAL PRIMARY KEY,"
     " delivery_id BIGINT NOT NULL REFERENCES alert_deliveries(id),"
     " attempted_at TIMESTAMPTZ NOT NULL,"
     " ok BOOLEAN NOT NULL,"
     " error TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX alert_attempts_delivery ON alert_attempts(delivery_id);", NULL},
    {8, "alertmanager channel and mail threading",
     "ALTER TABLE alerts ADD COLUMN message_id TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_channel_check;"
     "ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_channel_check"
     " CHECK (channel IN ('alertmanager','webhook','email'));"
     "ALTER TABLE alert_deliveries ADD COLUMN message_id TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE alert_deliveries ADD COLUMN in_reply_to TEXT NOT NULL DEFAULT '';", NULL},
    {9, "scheduler settings per start",
     /* NULL settings: a start recorded before they were kept. */
     "ALTER TABLE scheduler_starts ADD COLUMN scheduler BOOLEAN NOT NULL DEFAULT true;"
     "ALTER TABLE scheduler_starts ADD COLUMN check_interval BIGINT;"
     "ALTER TABLE scheduler_starts ADD COLUMN sync_interval BIGINT;"
     "ALTER TABLE scheduler_starts ADD COLUMN check_misfire_grace BIGINT;"
     "ALTER TABLE scheduler_starts ADD COLUMN sync_misfire_grace BIGINT;"
     "CREATE INDEX scheduler_starts_time ON scheduler_starts(started_at);", NULL},
    {10, "sync runs recorded while they run",
     MIGRATION_SYNC_RUNS_WHILE_RUNNING, NULL},
    /* One row: who leads the scheduled jobs, until when (pg_lease.c). */
    {11, "scheduler leadership lease",
     "CREATE TABLE scheduler_lease ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " owner TEXT NOT NULL DEFAULT '',"
     " expires_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch',"
     " renewed_at TIMESTAMPTZ);"
     "INSERT INTO scheduler_lease(id) VALUES (1);", NULL},
    /* Emails match without regard to case (attach.md). */
    {12, "emails without regard to case", MIGRATION_EMAILS_WITHOUT_CASE, NULL},
    {13, "where each check read its pairs", MIGRATION_CHECK_SOURCE, NULL},
    /* Change capture and the watcher's state (watch.md). pair_changes and
     * watch_state are Lockstep's own (in attached mode they land in its
     * schema, as every own table does: the session's search_path); the
     * capture triggers are the domain part, own mode only. changed_at:
     * seconds since the epoch. */
    {14, "change capture and the watcher",
     MIGRATION_WATCH_COMMON
     "CREATE TABLE pair_changes ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_id BIGINT NOT NULL,"
     " specialization TEXT COLLATE \"C\" NOT NULL,"
     " delta INTEGER NOT NULL,"
     " changed_at DOUBLE PRECISION NOT NULL);"
     "CREATE INDEX pair_changes_user ON pair_changes(user_id);"
     "CREATE TABLE watch_state ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " initialized BOOLEAN NOT NULL DEFAULT FALSE,"
     " sweep_requested BOOLEAN NOT NULL DEFAULT FALSE,"
     " pairs BIGINT NOT NULL DEFAULT 0,"
     " users BIGINT NOT NULL DEFAULT 0,"
     " violations BIGINT NOT NULL DEFAULT 0,"
     " version BIGINT NOT NULL DEFAULT 0,"
     " applied_at TIMESTAMPTZ,"
     " last_full_at TIMESTAMPTZ,"
     " last_full_check_id BIGINT NOT NULL DEFAULT 0,"
     " divergences_total BIGINT NOT NULL DEFAULT 0,"
     " last_lag_seconds DOUBLE PRECISION NOT NULL DEFAULT 0);"
     "INSERT INTO watch_state(id) VALUES (1);",
     PG_CAPTURE_TRIGGERS("specialization_progress", "student_id", "specialization_id",
                         "current_level", "lockstep_progress")
     PG_CAPTURE_TRIGGERS("user_licenses", "user_id", "specialization_type",
                         "current_level", "lockstep_license")
     /* Only a full sweep can tell what a changed specialization did to its
      * pairs: the watcher is told to run one. */
     "CREATE FUNCTION lockstep_specs_changed() RETURNS trigger LANGUAGE plpgsql AS $$"
     " BEGIN"
     "  UPDATE watch_state SET sweep_requested = TRUE WHERE id = 1;"
     "  PERFORM pg_notify('lockstep_pair_changes', '');"
     "  RETURN NULL;"
     " END $$;"
     "CREATE TRIGGER lockstep_specs_insert AFTER INSERT ON specializations"
     " FOR EACH STATEMENT EXECUTE FUNCTION lockstep_specs_changed();"
     "CREATE TRIGGER lockstep_specs_update AFTER UPDATE OF id, max_levels ON specializations"
     " FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id"
     " OR OLD.max_levels IS DISTINCT FROM NEW.max_levels)"
     " EXECUTE FUNCTION lockstep_specs_changed();"
     "CREATE TRIGGER lockstep_specs_delete AFTER DELETE ON specializations"
     " FOR EACH STATEMENT EXECUTE FUNCTION lockstep_specs_changed();"},
    {15, "poll watermarks", MIGRATION_POLL_WATERMARKS, NULL},
    /* Specialization ids of up to 64 characters (SPEC_ID_LEN). */
    {16, "specialization ids up to 64 characters", NULL,
     "ALTER TABLE specializations DROP CONSTRAINT specializations_id_check,"
     " ADD CONSTRAINT specializations_id_check"
     " CHECK (id = upper(id) AND length(id) BETWEEN 1 AND 64);"},
    {17, "the newest open violations in order", MIGRATION_VIOLATIONS_NEWEST, NULL},
};

#define PG_MIGRATION_COUNT ((int)(sizeof pg_migrations / sizeof pg_migrations[0]))

#endif

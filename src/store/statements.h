/* statements.h — the statements both store backends run word for word, written
 * once: each backend's table (store/sqlite, store/pg) refers to these. */
#ifndef LOCKSTEP_STORE_STATEMENTS_H
#define LOCKSTEP_STORE_STATEMENTS_H

/* Private to the store backends. Parameters are written ?N, SQLite's form;
 * the PostgreSQL store makes them $N (statements_dollar_params) when it
 * makes a statement's text. The statements over the domain tables are
 * templates (store/domain_sql.h): {key} is the mapped name of that table or
 * column. An INSERT here ends at its VALUES: PostgreSQL's table appends
 * " RETURNING id", SQLite reads the new row's id from the connection.
 * What differs between the dialects (types and casts, ON CONFLICT, FOR
 * UPDATE, open time bounds, booleans) stays in the backend's own table. */

#include "store/columns.h"

/* Rewrite text's parameters from ?N to $N in place (the same length): a '?'
 * followed by a digit, outside quoted strings ('...') and quoted identifiers
 * ("..."), becomes '$'. Any other '?' (an operator such as ?| or a
 * domain_sql conditional {?key|...}) is left as it is. */
void statements_dollar_params(char *text);

/* ---- accounts ---- */

#define STMT_USER_INSERT                                                                        \
    "INSERT INTO users(name, email, password_hash, role, is_active, "                           \
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define STMT_USER_GET "SELECT " USER_COLS " FROM users WHERE id = ?1"
/* Without regard to case: an address another program stored with capitals
 * is found too; an exact match first if case alone tells two apart. */
#define STMT_USER_GET_EMAIL                                                                     \
    "SELECT " USER_COLS " FROM users WHERE lower(email) = lower(?1) "                           \
    "ORDER BY email = ?1 DESC, id LIMIT 1"
/* A student's email, from the domain's users table. */
#define STMT_USER_EMAIL                                                                         \
    "SELECT {users_email}, {users_name} FROM {users_table} "                                    \
    "WHERE {users_id} = ?1"

/* ---- specializations and the domain rows ---- */

#define STMT_SPEC_INSERT                                                                        \
    "INSERT INTO {specs_table}(id, name, {specs_max_levels}, is_active, "                       \
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
#define STMT_SPEC_GET                                                                           \
    "SELECT id, name, {specs_max_levels}, is_active, created_at "                               \
    "FROM {specs_table} WHERE id = ?1"
#define STMT_SPEC_LIST                                                                          \
    "SELECT id, name, {specs_max_levels}, is_active, created_at "                               \
    "FROM {specs_table} ORDER BY id"
#define STMT_SPEC_LEVEL_XP                                                                      \
    "SELECT xp_required FROM specialization_level_thresholds "                                  \
    "WHERE specialization_id = ?1 AND level = ?2"
#define STMT_PROGRESS_GET                                                                       \
    "SELECT " PROGRESS_COLS " FROM {progress_table} "                                           \
    "WHERE {progress_user} = ?1 AND {progress_spec} = ?2"
#define STMT_PROGRESS_INSERT                                                                    \
    "INSERT INTO {progress_table}({progress_user}, {progress_spec}, {progress_level}, "         \
    "total_xp, completed_sessions, completed_projects, theory_hours_completed, "                \
    "practice_hours_completed, last_activity, created_at, {progress_updated_at}) "              \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
#define STMT_PROGRESS_UPDATE                                                                    \
    "UPDATE {progress_table} SET {progress_level} = ?2, total_xp = ?3, "                        \
    "completed_sessions = ?4, completed_projects = ?5, theory_hours_completed = ?6, "           \
    "practice_hours_completed = ?7, last_activity = ?8, {progress_updated_at} = ?9 "            \
    "WHERE id = ?1"
#define STMT_LICENSE_GET                                                                        \
    "SELECT " LICENSE_COLS " FROM {license_table} "                                             \
    "WHERE {license_user} = ?1 AND {license_spec} = ?2"
#define STMT_LICENSE_INSERT                                                                     \
    "INSERT INTO {license_table}({license_user}, {license_spec}, {license_level}, "             \
    "{license_max_level}, {license_started_at}, last_advanced_at, created_at, "                 \
    "{license_updated_at}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define STMT_LICENSE_UPDATE                                                                     \
    "UPDATE {license_table} SET {license_level} = ?2, {license_max_level} = ?3, "               \
    "last_advanced_at = ?4, {license_updated_at} = ?5 WHERE id = ?1"
#define STMT_PROGRESSION_INSERT                                                                 \
    "INSERT INTO {progressions_table}(user_license_id, from_level, to_level, advanced_by, "     \
    "advancement_reason, advanced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
#define STMT_PROGRESSION_COUNT                                                                  \
    "SELECT count(*) FROM {progressions_table} "                                                \
    "WHERE user_license_id = ?1"
/* What /readyz and doctor see: schema version, any account, any pair, the
 * size of the last check. Every answer is an index or a first row: the
 * probe runs every 2 s, and a count of 10 M users took a second. */
#define STMT_PROBE                                                                              \
    "SELECT coalesce(max(version), 0), EXISTS (SELECT 1 FROM users), "                          \
    "EXISTS (SELECT 1 FROM {progress_table}) OR "                                               \
    "EXISTS (SELECT 1 FROM {license_table}), "                                                  \
    "coalesce((SELECT total_checked FROM check_runs ORDER BY id DESC LIMIT 1), -1) "            \
    "FROM schema_migrations"

/* ---- checks and violations ---- */

#define STMT_VIOLATION_FIRST_SEEN                                                               \
    "SELECT first_seen FROM violations WHERE user_id = ?1 AND "                                 \
    "specialization = ?2 AND issue_type = ?3 AND resolved_at IS NULL"
#define STMT_CHECK_INSERT                                                                       \
    "INSERT INTO check_runs(timestamp, total_checked, consistent, inconsistent, "               \
    "consistency_rate, status, trigger, duration_ms, report_file, file_error, users_checked, " \
    "source, replica_lag_seconds, replica_fallback, kind, divergences) "                        \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
#define STMT_CHECK_SET_FILE "UPDATE check_runs SET report_file = ?2, file_error = ?3 WHERE id = ?1"
#define STMT_CHECK_LATEST "SELECT " CHECK_COLS " FROM check_runs ORDER BY id DESC LIMIT 1"
#define STMT_CHECK_GET "SELECT " CHECK_COLS " FROM check_runs WHERE id = ?1"
#define STMT_VIOLATIONS_OPEN_ALL                                                                \
    "SELECT " VIOLATION_COLS " FROM violations "                                                \
    "WHERE resolved_at IS NULL "                                                                \
    "ORDER BY user_id, specialization, issue_type"
#define STMT_VIOLATIONS_OPEN_SPEC                                                               \
    "SELECT " VIOLATION_COLS " FROM violations "                                                \
    "WHERE resolved_at IS NULL AND specialization = ?1 "                                        \
    "ORDER BY user_id, specialization, issue_type"
#define STMT_VIOLATIONS_NEW_SINCE                                                               \
    "SELECT " VIOLATION_COLS " FROM violations "                                                \
    "WHERE resolved_at IS NULL AND first_seen > ?1 "                                            \
    "ORDER BY user_id, specialization, issue_type"
/* One page of the open violations, newest first; ?1 NULL: every
 * specialization. Read in order from violations_newest (migration 17). */
#define STMT_VIOLATIONS_OPEN_PAGE                                                               \
    "SELECT " VIOLATION_COLS " FROM violations "                                                \
    "WHERE resolved_at IS NULL AND (CAST(?1 AS TEXT) IS NULL "                                  \
    "OR specialization = CAST(?1 AS TEXT)) "                                                    \
    "ORDER BY first_seen DESC, user_id, specialization, issue_type LIMIT ?2 OFFSET ?3"
#define STMT_VIOLATIONS_RESOLVED_SINCE                                                          \
    "SELECT " VIOLATION_COLS " FROM violations "                                                \
    "WHERE resolved_at > ?1 "                                                                   \
    "ORDER BY user_id, specialization, issue_type"

/* ---- sync runs, audit, refresh tokens ---- */

#define STMT_SYNC_RUN_INSERT                                                                    \
    "INSERT INTO sync_runs(started_at, finished_at, trigger, direction, dry_run, "              \
    "scope_user, scope_spec, total_issues, synced_count, failed_count, success, log_file, "     \
    "error, status, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "    \
    "?14, ?15)"
#define STMT_SYNC_RUN_COUNT "UPDATE sync_runs SET synced_count = synced_count + 1 WHERE id = ?1"
#define STMT_SYNC_RUN_FINISH                                                                    \
    "UPDATE sync_runs SET finished_at = ?2, total_issues = ?3, "                                \
    "synced_count = ?4, failed_count = ?5, success = ?6, log_file = ?7, "                       \
    "error = ?8, status = ?9 WHERE id = ?1 AND status = 'running'"
#define STMT_SYNC_RUN_RUNNING                                                                   \
    "SELECT " SYNC_COLS " FROM sync_runs WHERE status = 'running' "                             \
    "ORDER BY started_at, id"
#define STMT_AUDIT_INSERT                                                                       \
    "INSERT INTO audit_logs(user_id, action, resource_type, resource_id, "                      \
    "details, ip_address, status_code, timestamp) "                                             \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define STMT_REFRESH_INSERT                                                                     \
    "INSERT INTO refresh_tokens(jti, user_id, family, issued_at, "                              \
    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"
#define STMT_REFRESH_GET                                                                        \
    "SELECT jti, user_id, family, issued_at, expires_at, used_at, "                             \
    "revoked_at FROM refresh_tokens WHERE jti = ?1"
#define STMT_REFRESH_MARK_USED                                                                  \
    "UPDATE refresh_tokens SET used_at = ?2 "                                                   \
    "WHERE jti = ?1 AND used_at IS NULL"
#define STMT_REFRESH_REVOKE_FAMILY                                                              \
    "UPDATE refresh_tokens SET revoked_at = ?2 "                                                \
    "WHERE family = ?1 AND revoked_at IS NULL"
#define STMT_REFRESH_REVOKE_USER                                                                \
    "UPDATE refresh_tokens SET revoked_at = ?2 "                                                \
    "WHERE user_id = ?1 AND revoked_at IS NULL"

/* ---- scheduler starts, job runs, baselines ---- */

#define STMT_SCHED_START_INSERT                                                                 \
    "INSERT INTO scheduler_starts(started_at, owner, scheduler, "                               \
    "check_interval, sync_interval, check_misfire_grace, "                                      \
    "sync_misfire_grace) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define STMT_JOB_RUN_INSERT                                                                     \
    "INSERT INTO job_runs(job_id, due_at, started_at, finished_at, "                            \
    "status, error, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define STMT_JOB_RUN_FINISH                                                                     \
    "UPDATE job_runs SET status = ?2, error = ?3, finished_at = ?4 "                            \
    "WHERE id = ?1"
#define STMT_JOB_RUNS_INTERRUPT                                                                 \
    "UPDATE job_runs SET status = 'interrupted', finished_at = ?1, "                            \
    "error = 'the process stopped while the job was running' "                                  \
    "WHERE status = 'running'"
#define STMT_JOB_RUN_LAST                                                                       \
    "SELECT status, started_at, due_at FROM job_runs WHERE job_id = ?1 "                        \
    "AND status <> 'missed' ORDER BY due_at DESC LIMIT 1"
#define STMT_JOB_RUN_LAST_SUCCESS                                                               \
    "SELECT max(finished_at) FROM job_runs WHERE job_id = ?1 "                                  \
    "AND status = 'success'"
#define STMT_JOB_RUN_LAST_DUE "SELECT max(due_at) FROM job_runs WHERE job_id = ?1"
#define STMT_BASELINE_INSERT                                                                    \
    "INSERT INTO baselines(check_id, created_at, file, note) "                                  \
    "VALUES (?1, ?2, ?3, ?4)"
#define STMT_BASELINE_GET                                                                       \
    "SELECT id, check_id, created_at, file, note FROM baselines "                               \
    "WHERE id = ?1"
#define STMT_BASELINE_LATEST                                                                    \
    "SELECT id, check_id, created_at, file, note FROM baselines "                               \
    "ORDER BY id DESC LIMIT 1"
#define STMT_BASELINE_LIST                                                                      \
    "SELECT id, check_id, created_at, file, note FROM baselines "                               \
    "ORDER BY id DESC"

#define STMT_BASELINE_SET_FILE "UPDATE baselines SET file = ?2 WHERE id = ?1"

/* ---- alerts, silences, deliveries ---- */

#define STMT_ALERT_INSERT                                                                       \
    "INSERT INTO alerts(rule, subject, severity, state, summary, description, "                 \
    "started_at, fired_at, resolved_at, last_notified_at, notifications, "                      \
    "message_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
#define STMT_ALERT_UPDATE                                                                       \
    "UPDATE alerts SET severity = ?2, state = ?3, summary = ?4, "                               \
    "description = ?5, fired_at = ?6, resolved_at = ?7, "                                       \
    "last_notified_at = ?8, notifications = ?9, message_id = ?10 "                              \
    "WHERE id = ?1"
#define STMT_ALERT_LIST_ACTIVE                                                                  \
    "SELECT " ALERT_COLS " FROM alerts WHERE state <> 'resolved' "                              \
    "ORDER BY id LIMIT ?1"
#define STMT_ALERT_LIST_ALL "SELECT " ALERT_COLS " FROM alerts ORDER BY id DESC LIMIT ?1"
#define STMT_SILENCE_INSERT                                                                     \
    "INSERT INTO alert_silences(rule, starts_at, ends_at, comment, "                            \
    "created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
#define STMT_SILENCE_LIST_AT                                                                    \
    "SELECT " SILENCE_COLS " FROM alert_silences WHERE deleted_at IS NULL "                     \
    "AND starts_at <= ?1 AND ends_at > ?1 ORDER BY id LIMIT ?2"
#define STMT_SILENCE_LIST_ALL                                                                   \
    "SELECT " SILENCE_COLS " FROM alert_silences ORDER BY id DESC "                             \
    "LIMIT ?1"
#define STMT_SILENCE_DELETE                                                                     \
    "UPDATE alert_silences SET deleted_at = ?2 WHERE id = ?1 "                                  \
    "AND deleted_at IS NULL"
#define STMT_DELIVERY_INSERT                                                                    \
    "INSERT INTO alert_deliveries(alert_id, channel, event, status, "                           \
    "attempts, created_at, next_attempt_at, delivered_at, last_error, "                         \
    "payload, message_id, in_reply_to) "                                                        \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
#define STMT_DELIVERY_UPDATE                                                                    \
    "UPDATE alert_deliveries SET status = ?2, attempts = ?3, "                                  \
    "next_attempt_at = ?4, delivered_at = ?5, last_error = ?6 "                                 \
    "WHERE id = ?1"
#define STMT_DELIVERY_DUE                                                                       \
    "SELECT " DELIVERY_COLS " FROM alert_deliveries WHERE status = "                            \
    "'pending' AND next_attempt_at <= ?1 "                                                      \
    "ORDER BY next_attempt_at, id LIMIT ?2"
#define STMT_DELIVERY_LIST                                                                      \
    "SELECT " DELIVERY_COLS " FROM alert_deliveries WHERE alert_id = ?1 "                       \
    "ORDER BY id"
#define STMT_DELIVERY_NEXT_DUE                                                                  \
    "SELECT min(next_attempt_at) FROM alert_deliveries "                                        \
    "WHERE status = 'pending'"
#define STMT_ATTEMPT_INSERT                                                                     \
    "INSERT INTO alert_attempts(delivery_id, attempted_at, ok, error) "                         \
    "VALUES (?1, ?2, ?3, ?4)"
#define STMT_ATTEMPT_LIST                                                                       \
    "SELECT id, delivery_id, attempted_at, ok, error FROM alert_attempts "                      \
    "WHERE delivery_id = ?1 ORDER BY id"

/* ---- an attached academy database (attach.md): only the mapped columns ---- */

#define STMT_PROGRESS_INSERT_ATTACHED                                                           \
    "INSERT INTO {progress_table}({progress_user}, {progress_spec}, {progress_level}"           \
    "{?progress_updated_at|, {progress_updated_at}}) "                                          \
    "VALUES (?1, ?2, ?3{?progress_updated_at|, ?11})"
#define STMT_PROGRESS_UPDATE_ATTACHED                                                           \
    "UPDATE {progress_table} SET {progress_level} = ?2"                                         \
    "{?progress_updated_at|, {progress_updated_at} = ?9} WHERE id = ?1"
#define STMT_LICENSE_INSERT_ATTACHED                                                            \
    "INSERT INTO {license_table}({license_user}, {license_spec}, {license_level}, "             \
    "{license_max_level}, {license_started_at}{?license_updated_at|, {license_updated_at}}) "   \
    "VALUES (?1, ?2, ?3, ?4, ?5{?license_updated_at|, ?8})"
#define STMT_LICENSE_UPDATE_ATTACHED                                                            \
    "UPDATE {license_table} SET {license_level} = ?2, "                                         \
    "{license_max_level} = ?3{?license_updated_at|, {license_updated_at} = ?5} "                \
    "WHERE id = ?1"
/* advanced_by stays NULL (the system): Lockstep's accounts are not the
 * academy's users, whose ids that column refers to. */
#define STMT_PROGRESSION_INSERT_ATTACHED                                                        \
    "INSERT INTO {progressions_table}(user_license_id, from_level, to_level, advanced_by, "     \
    "advancement_reason, advanced_at) VALUES (?1, ?2, ?3, NULL, ?5, ?6)"

/* ---- the watcher (watch.md) ---- */

#define STMT_WATCH_STATE_GET                                                                    \
    "SELECT initialized, sweep_requested, pairs, users, violations, version, applied_at, "     \
    "last_full_at, last_full_check_id, divergences_total, last_lag_seconds, "                 \
    "progress_watermark, license_watermark FROM watch_state WHERE id = 1"
#define STMT_WATCH_PENDING "SELECT count(*), min(changed_at) FROM pair_changes"
/* Resolve the pair's open violations of another issue type than ?3 (NULL: all). */
#define STMT_VIOLATION_RESOLVE_OTHER                                                            \
    "UPDATE violations SET resolved_at = ?4, resolved_check_id = ?5 WHERE user_id = ?1 "       \
    "AND specialization = ?2 AND resolved_at IS NULL AND (?3 IS NULL OR issue_type <> ?3)"
#define STMT_USER_ROWS                                                                          \
    "SELECT (SELECT count(*) FROM {progress_table} WHERE {progress_user} = ?1) + "             \
    "(SELECT count(*) FROM {license_table} WHERE {license_user} = ?1)"
#define STMT_WATCH_ADVANCE                                                                      \
    "UPDATE watch_state SET pairs = pairs + ?1, users = users + ?2, "                          \
    "violations = violations + ?3, version = version + 1, applied_at = ?4, "                   \
    "last_lag_seconds = CASE WHEN ?5 < 0 THEN last_lag_seconds ELSE ?5 END WHERE id = 1"
#define STMT_WATCH_RESET                                                                        \
    "UPDATE watch_state SET pairs = ?1, users = ?2, violations = ?3, initialized = 1, "        \
    "sweep_requested = 0, last_full_at = ?4, last_full_check_id = ?5, "                        \
    "divergences_total = divergences_total + ?6, version = version + 1, "                      \
    "progress_watermark = coalesce(?7, progress_watermark), "                                  \
    "license_watermark = coalesce(?8, license_watermark) WHERE id = 1"
/* [watch] mode = poll: both watermarks set at once. */
#define STMT_WATCH_MARKS_SET                                                                    \
    "UPDATE watch_state SET progress_watermark = ?1, license_watermark = ?2 WHERE id = 1"

#endif

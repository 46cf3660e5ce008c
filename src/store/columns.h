/* columns.h — the column lists of Lockstep's records, in the order the row
 * readers of both backends (store/sqlite, store/pg) read them: written once,
 * shared by the two. Private to the store backends. */
#ifndef LOCKSTEP_STORE_COLUMNS_H
#define LOCKSTEP_STORE_COLUMNS_H

#define ALERT_COLS                                                                    \
    "id, rule, subject, severity, state, summary, description, started_at, fired_at, " \
    "resolved_at, last_notified_at, notifications, message_id"
#define SILENCE_COLS "id, rule, starts_at, ends_at, comment, created_by, created_at, deleted_at"
#define DELIVERY_COLS                                                                  \
    "id, alert_id, channel, event, status, attempts, created_at, next_attempt_at, "   \
    "delivered_at, last_error, payload, message_id, in_reply_to"
#define USER_COLS \
    "id, name, email, password_hash, role, is_active, created_at, updated_at, tokens_valid_after"
/* The two domain row lists are statement templates (store/domain_sql.h): the
 * mapped columns are named by their keys. */
#define PROGRESS_COLS                                                                     \
    "id, {progress_user}, {progress_spec}, {progress_level}, total_xp, "                  \
    "completed_sessions, completed_projects, theory_hours_completed, "                    \
    "practice_hours_completed, last_activity, created_at, {progress_updated_at}"
#define LICENSE_COLS                                                                      \
    "id, {license_user}, {license_spec}, {license_level}, {license_max_level}, "          \
    "{license_started_at}, last_advanced_at, created_at, {license_updated_at}"
#define CHECK_COLS                                                                        \
    "id, timestamp, total_checked, consistent, inconsistent, consistency_rate, status, "  \
    "trigger, duration_ms, report_file, file_error, users_checked, source, "               \
    "replica_lag_seconds, replica_fallback, kind, divergences"
#define VIOLATION_COLS                                                                    \
    "user_id, user_email, specialization, issue_type, progress_level, license_level, "    \
    "recommended_action, first_seen"
#define SYNC_COLS                                                                        \
    "id, started_at, finished_at, trigger, direction, dry_run, scope_user, scope_spec, " \
    "total_issues, synced_count, failed_count, success, log_file, error, status, owner"
#define JOB_COLS "id, job_id, due_at, started_at, finished_at, status, error, owner"

#endif

/* sqlite_store.c — the embedded store: store.h implemented on SQLite 3.
 *
 * WAL mode (readers never block the writer), a busy timeout for writers,
 * foreign keys on, every statement prepared once per connection and reused.
 * Timestamps are ISO 8601 text with microseconds, so the database reads well
 * in the sqlite3 shell and sorts by time as text.
 */
#include "store/columns.h"
#include "store/domain_sql.h"
#include "store/sqlite/sqlite_lease.h"
#include "store/sqlite/sqlite_private.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/store.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* The statements over the domain tables are templates (store/domain_sql.h):
 * {key} is the mapped name of that table or column. */
#define SCAN_P "SELECT {progress_user}, {progress_spec}, {progress_level} FROM {progress_table}"
#define SCAN_L "SELECT {license_user}, {license_spec}, {license_level} FROM {license_table}"
#define SCAN_P_ORDER " ORDER BY {progress_user}, {progress_spec}"
#define SCAN_L_ORDER " ORDER BY {license_user}, {license_spec}"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_USER_INSERT] = "INSERT INTO users(name, email, password_hash, role, is_active, "
                       "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    /* Without regard to case: an address another program stored with capitals
     * is found too; an exact match first if case alone tells two apart. */
    [ST_USER_GET_EMAIL] = "SELECT " USER_COLS " FROM users WHERE lower(email) = lower(?1) "
                          "ORDER BY email = ?1 DESC, id LIMIT 1",
    /* Only the columns a change sets; tokens_valid_after only ever rises (the
     * times are fixed-width ISO text, so max() is the later one). */
    [ST_USER_UPDATE] = "UPDATE users SET name = coalesce(?2, name), "
                       "password_hash = coalesce(?3, password_hash), role = coalesce(?4, role), "
                       "is_active = CASE WHEN ?5 < 0 THEN is_active ELSE ?5 END, "
                       "updated_at = coalesce(?6, updated_at), "
                       "tokens_valid_after = CASE WHEN ?7 IS NULL THEN tokens_valid_after "
                       "ELSE max(coalesce(tokens_valid_after, ?7), ?7) END WHERE id = ?1",
    [ST_USER_COUNT] = "SELECT count(*) FROM users WHERE (?1 IS NULL OR role = ?1) "
                      "AND (?2 = 0 OR is_active = 1)",
    /* A student's email, from the domain's users table. */
    [ST_USER_EMAIL] = "SELECT {users_email}, {users_name} FROM {users_table} "
                      "WHERE {users_id} = ?1",
    [ST_SPEC_INSERT] = "INSERT INTO {specs_table}(id, name, {specs_max_levels}, is_active, "
                       "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_SPEC_GET] = "SELECT id, name, {specs_max_levels}, is_active, created_at "
                    "FROM {specs_table} WHERE id = ?1",
    [ST_SPEC_LIST] = "SELECT id, name, {specs_max_levels}, is_active, created_at "
                     "FROM {specs_table} ORDER BY id",
    [ST_SPEC_IDS] = "SELECT id, {specs_max_levels} FROM {specs_table} ORDER BY id",
    [ST_SPEC_LEVEL_XP] = "SELECT xp_required FROM specialization_level_thresholds "
                         "WHERE specialization_id = ?1 AND level = ?2",
    [ST_PROGRESS_GET] = "SELECT " PROGRESS_COLS " FROM {progress_table} "
                        "WHERE {progress_user} = ?1 AND {progress_spec} = ?2",
    [ST_PROGRESS_INSERT] =
        "INSERT INTO {progress_table}({progress_user}, {progress_spec}, {progress_level}, "
        "total_xp, completed_sessions, completed_projects, theory_hours_completed, "
        "practice_hours_completed, last_activity, created_at, {progress_updated_at}) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_PROGRESS_UPDATE] =
        "UPDATE {progress_table} SET {progress_level} = ?2, total_xp = ?3, "
        "completed_sessions = ?4, completed_projects = ?5, theory_hours_completed = ?6, "
        "practice_hours_completed = ?7, last_activity = ?8, {progress_updated_at} = ?9 "
        "WHERE id = ?1",
    [ST_LICENSE_GET] = "SELECT " LICENSE_COLS " FROM {license_table} "
                       "WHERE {license_user} = ?1 AND {license_spec} = ?2",
    [ST_LICENSE_INSERT] =
        "INSERT INTO {license_table}({license_user}, {license_spec}, {license_level}, "
        "{license_max_level}, {license_started_at}, last_advanced_at, created_at, "
        "{license_updated_at}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_LICENSE_UPDATE] =
        "UPDATE {license_table} SET {license_level} = ?2, {license_max_level} = ?3, "
        "last_advanced_at = ?4, {license_updated_at} = ?5 WHERE id = ?1",
    [ST_PROGRESSION_INSERT] =
        "INSERT INTO {progressions_table}(user_license_id, from_level, to_level, advanced_by, "
        "advancement_reason, advanced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_PROGRESSION_COUNT] = "SELECT count(*) FROM {progressions_table} "
                             "WHERE user_license_id = ?1",
    [ST_USER_PROGRESS_ROWS] = "SELECT " PROGRESS_COLS " FROM {progress_table} "
                              "WHERE {progress_user} = ?1 ORDER BY {progress_spec}",
    [ST_USER_LICENSE_ROWS] = "SELECT " LICENSE_COLS " FROM {license_table} "
                             "WHERE {license_user} = ?1 ORDER BY {license_spec}",
    /* What /readyz and doctor see: schema version, accounts, any pair, the
     * size of the last check. */
    [ST_PROBE] = "SELECT coalesce(max(version), 0), (SELECT count(*) FROM users), "
                 "EXISTS (SELECT 1 FROM {progress_table}) OR "
                 "EXISTS (SELECT 1 FROM {license_table}), "
                 "coalesce((SELECT total_checked FROM check_runs ORDER BY id DESC LIMIT 1), -1) "
                 "FROM schema_migrations",
    [ST_SCAN_P_ALL] = SCAN_P SCAN_P_ORDER,
    [ST_SCAN_P_USER] = SCAN_P " WHERE {progress_user} = ?1" SCAN_P_ORDER,
    [ST_SCAN_P_SPEC] = SCAN_P " WHERE {progress_spec} = ?2" SCAN_P_ORDER,
    [ST_SCAN_P_USER_SPEC] = SCAN_P " WHERE {progress_user} = ?1 AND {progress_spec} = ?2",
    [ST_SCAN_L_ALL] = SCAN_L SCAN_L_ORDER,
    [ST_SCAN_L_USER] = SCAN_L " WHERE {license_user} = ?1" SCAN_L_ORDER,
    [ST_SCAN_L_SPEC] = SCAN_L " WHERE {license_spec} = ?2" SCAN_L_ORDER,
    [ST_SCAN_L_USER_SPEC] = SCAN_L " WHERE {license_user} = ?1 AND {license_spec} = ?2",
    [ST_VIOLATION_FIRST_SEEN] = "SELECT first_seen FROM violations WHERE user_id = ?1 AND "
                                "specialization = ?2 AND issue_type = ?3 AND resolved_at IS NULL",
    [ST_CHECK_INSERT] =
        "INSERT INTO check_runs(timestamp, total_checked, consistent, inconsistent, "
        "consistency_rate, status, trigger, duration_ms, report_file, file_error, users_checked) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_VIOLATION_RESOLVE] =
        "UPDATE violations SET resolved_at = ?4, resolved_check_id = ?5 WHERE user_id = ?1 "
        "AND specialization = ?2 AND issue_type = ?3 AND resolved_at IS NULL",
    [ST_VIOLATION_UPDATE_OPEN] =
        "UPDATE violations SET user_email = ?4, progress_level = ?5, license_level = ?6, "
        "recommended_action = ?7, last_check_id = ?8 WHERE user_id = ?1 "
        "AND specialization = ?2 AND issue_type = ?3 AND resolved_at IS NULL",
    [ST_VIOLATION_INSERT] =
        "INSERT INTO violations(user_id, specialization, issue_type, user_email, "
        "progress_level, license_level, recommended_action, first_seen, first_check_id, "
        "last_check_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    [ST_CHECK_SET_FILE] = "UPDATE check_runs SET report_file = ?2, file_error = ?3 WHERE id = ?1",
    [ST_CHECK_LATEST] = "SELECT " CHECK_COLS " FROM check_runs ORDER BY id DESC LIMIT 1",
    [ST_CHECK_GET] = "SELECT " CHECK_COLS " FROM check_runs WHERE id = ?1",
    [ST_CHECK_LIST] = "SELECT " CHECK_COLS " FROM check_runs WHERE timestamp >= ?1 "
                      "AND timestamp < ?2 ORDER BY timestamp DESC, id DESC LIMIT ?3",
    [ST_VIOLATIONS_OPEN_ALL] = "SELECT " VIOLATION_COLS " FROM violations "
                               "WHERE resolved_at IS NULL "
                               "ORDER BY user_id, specialization, issue_type",
    [ST_VIOLATIONS_OPEN_SPEC] = "SELECT " VIOLATION_COLS " FROM violations "
                                "WHERE resolved_at IS NULL AND specialization = ?1 "
                                "ORDER BY user_id, specialization, issue_type",
    [ST_VIOLATIONS_NEW_SINCE] = "SELECT " VIOLATION_COLS " FROM violations "
                                "WHERE resolved_at IS NULL AND first_seen > ?1 "
                                "ORDER BY user_id, specialization, issue_type",
    [ST_VIOLATIONS_RESOLVED_SINCE] = "SELECT " VIOLATION_COLS " FROM violations "
                                     "WHERE resolved_at > ?1 "
                                     "ORDER BY user_id, specialization, issue_type",
    [ST_VIOLATIONS_OPEN_PAGE] = "SELECT " VIOLATION_COLS " FROM violations "
                                "WHERE resolved_at IS NULL AND (?1 IS NULL OR specialization = ?1) "
                                "ORDER BY first_seen DESC, user_id, specialization, issue_type "
                                "LIMIT ?2 OFFSET ?3",
    [ST_VIOLATIONS_OPEN_COUNT] = "SELECT count(*) FROM violations WHERE resolved_at IS NULL "
                                 "AND (?1 IS NULL OR specialization = ?1)",
    [ST_SYNC_RUN_INSERT] =
        "INSERT INTO sync_runs(started_at, finished_at, trigger, direction, dry_run, "
        "scope_user, scope_spec, total_issues, synced_count, failed_count, success, log_file, "
        "error, status, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?15)",
    [ST_SYNC_RUN_LIST] = "SELECT " SYNC_COLS " FROM sync_runs WHERE started_at >= ?1 "
                         "ORDER BY started_at, id",
    [ST_SYNC_RUN_COUNT] = "UPDATE sync_runs SET synced_count = synced_count + 1 WHERE id = ?1",
    [ST_SYNC_RUN_FINISH] = "UPDATE sync_runs SET finished_at = ?2, total_issues = ?3, "
                           "synced_count = ?4, failed_count = ?5, success = ?6, log_file = ?7, "
                           "error = ?8, status = ?9 WHERE id = ?1 AND status = 'running'",
    [ST_SYNC_RUN_RUNNING] = "SELECT " SYNC_COLS " FROM sync_runs WHERE status = 'running' "
                            "ORDER BY started_at, id",
    [ST_AUDIT_INSERT] = "INSERT INTO audit_logs(user_id, action, resource_type, resource_id, "
                        "details, ip_address, status_code, timestamp) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_REFRESH_INSERT] = "INSERT INTO refresh_tokens(jti, user_id, family, issued_at, "
                          "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_REFRESH_GET] = "SELECT jti, user_id, family, issued_at, expires_at, used_at, "
                       "revoked_at FROM refresh_tokens WHERE jti = ?1",
    [ST_REFRESH_MARK_USED] = "UPDATE refresh_tokens SET used_at = ?2 "
                             "WHERE jti = ?1 AND used_at IS NULL",
    [ST_REFRESH_REVOKE_FAMILY] = "UPDATE refresh_tokens SET revoked_at = ?2 "
                                 "WHERE family = ?1 AND revoked_at IS NULL",
    [ST_REFRESH_REVOKE_USER] = "UPDATE refresh_tokens SET revoked_at = ?2 "
                               "WHERE user_id = ?1 AND revoked_at IS NULL",
    [ST_SCHED_START_INSERT] = "INSERT INTO scheduler_starts(started_at, owner, scheduler, "
                              "check_interval, sync_interval, check_misfire_grace, "
                              "sync_misfire_grace) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_SCHED_FIRST_START] = "SELECT min(started_at) FROM scheduler_starts WHERE scheduler = 1",
    [ST_SCHED_LAST_START] = "SELECT started_at, owner FROM scheduler_starts "
                            "WHERE scheduler = 1 ORDER BY id DESC LIMIT 1",
    [ST_SCHED_START_LIST] = "SELECT id, started_at, owner, scheduler, check_interval, "
                            "sync_interval, check_misfire_grace, sync_misfire_grace "
                            "FROM scheduler_starts WHERE started_at < ?2 AND (started_at > ?1 "
                            "OR id = (SELECT id FROM scheduler_starts WHERE scheduler = 1 "
                            "AND started_at <= ?1 ORDER BY started_at DESC, id DESC LIMIT 1)) "
                            "ORDER BY started_at, id",
    [ST_JOB_RUN_INSERT] = "INSERT INTO job_runs(job_id, due_at, started_at, finished_at, "
                          "status, error, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_JOB_RUN_FINISH] = "UPDATE job_runs SET status = ?2, error = ?3, finished_at = ?4 "
                          "WHERE id = ?1",
    [ST_JOB_RUNS_INTERRUPT] = "UPDATE job_runs SET status = 'interrupted', finished_at = ?1, "
                              "error = 'the process stopped while the job was running' "
                              "WHERE status = 'running'",
    [ST_JOB_RUN_STATS] = "SELECT status, count(*) FROM job_runs WHERE job_id = ?1 "
                         "AND due_at >= ?2 AND due_at < ?3 GROUP BY status",
    [ST_JOB_RUN_LAST] = "SELECT status, started_at, due_at FROM job_runs WHERE job_id = ?1 "
                        "AND status <> 'missed' ORDER BY due_at DESC LIMIT 1",
    [ST_JOB_RUN_LAST_SUCCESS] = "SELECT max(finished_at) FROM job_runs WHERE job_id = ?1 "
                                "AND status = 'success'",
    [ST_JOB_RUN_LIST] = "SELECT " JOB_COLS " FROM job_runs WHERE (?1 IS NULL OR job_id = ?1) "
                        "AND due_at >= ?2 AND due_at < ?3 ORDER BY due_at DESC, id DESC "
                        "LIMIT ?4",
    [ST_JOB_RUN_LAST_DUE] = "SELECT max(due_at) FROM job_runs WHERE job_id = ?1",
    [ST_BASELINE_INSERT] = "INSERT INTO baselines(check_id, created_at, file, note) "
                           "VALUES (?1, ?2, ?3, ?4)",
    [ST_BASELINE_GET] = "SELECT id, check_id, created_at, file, note FROM baselines "
                        "WHERE id = ?1",
    [ST_BASELINE_LATEST] = "SELECT id, check_id, created_at, file, note FROM baselines "
                           "ORDER BY id DESC LIMIT 1",
    [ST_BASELINE_LIST] = "SELECT id, check_id, created_at, file, note FROM baselines "
                         "ORDER BY id DESC",
    [ST_BASELINE_SET_FILE] = "UPDATE baselines SET file = ?2 WHERE id = ?1",
    [ST_ALERT_INSERT] = "INSERT INTO alerts(rule, subject, severity, state, summary, description, "
                        "started_at, fired_at, resolved_at, last_notified_at, notifications, "
                        "message_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_ALERT_UPDATE] = "UPDATE alerts SET severity = ?2, state = ?3, summary = ?4, "
                        "description = ?5, fired_at = ?6, resolved_at = ?7, "
                        "last_notified_at = ?8, notifications = ?9, message_id = ?10 "
                        "WHERE id = ?1",
    [ST_ALERT_LIST_ACTIVE] = "SELECT " ALERT_COLS " FROM alerts WHERE state <> 'resolved' "
                             "ORDER BY id LIMIT ?1",
    [ST_ALERT_LIST_ALL] = "SELECT " ALERT_COLS " FROM alerts ORDER BY id DESC LIMIT ?1",
    [ST_SILENCE_INSERT] = "INSERT INTO alert_silences(rule, starts_at, ends_at, comment, "
                          "created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_SILENCE_LIST_AT] = "SELECT " SILENCE_COLS " FROM alert_silences WHERE deleted_at IS NULL "
                           "AND starts_at <= ?1 AND ends_at > ?1 ORDER BY id LIMIT ?2",
    [ST_SILENCE_LIST_ALL] = "SELECT " SILENCE_COLS " FROM alert_silences ORDER BY id DESC "
                            "LIMIT ?1",
    [ST_SILENCE_DELETE] = "UPDATE alert_silences SET deleted_at = ?2 WHERE id = ?1 "
                          "AND deleted_at IS NULL",
    [ST_DELIVERY_INSERT] = "INSERT INTO alert_deliveries(alert_id, channel, event, status, "
                           "attempts, created_at, next_attempt_at, delivered_at, last_error, "
                           "payload, message_id, in_reply_to) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_DELIVERY_UPDATE] = "UPDATE alert_deliveries SET status = ?2, attempts = ?3, "
                           "next_attempt_at = ?4, delivered_at = ?5, last_error = ?6 "
                           "WHERE id = ?1",
    [ST_DELIVERY_DUE] = "SELECT " DELIVERY_COLS " FROM alert_deliveries WHERE status = "
                        "'pending' AND next_attempt_at <= ?1 "
                        "ORDER BY next_attempt_at, id LIMIT ?2",
    [ST_DELIVERY_LIST] = "SELECT " DELIVERY_COLS " FROM alert_deliveries WHERE alert_id = ?1 "
                         "ORDER BY id",
    [ST_DELIVERY_NEXT_DUE] = "SELECT min(next_attempt_at) FROM alert_deliveries "
                             "WHERE status = 'pending'",
    [ST_ATTEMPT_INSERT] = "INSERT INTO alert_attempts(delivery_id, attempted_at, ok, error) "
                          "VALUES (?1, ?2, ?3, ?4)",
    [ST_ATTEMPT_LIST] = "SELECT id, delivery_id, attempted_at, ok, error FROM alert_attempts "
                        "WHERE delivery_id = ?1 ORDER BY id",
};



static const struct store_ops sqlite_ops;


/* Map a SQLite result code to a store code and record the message. */
int sq_fail(struct sqlite_store *ss, int rc, const char *what)
{
    int code = STORE_ERR;
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return store_fail(&ss->base, STORE_ERR_BUSY,
                          "%s: the database is locked by another writer (waited %ld ms)", what,
                          ss->busy_timeout_ms);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = STORE_ERR_CONFLICT;
    return store_fail(&ss->base, code, "%s: %s", what, sqlite3_errmsg(ss->db));
}

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
static void no_quoted_strings(sqlite3 *db)
{
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
}

/* The statements that differ for an attached academy file (attach.md): its
 * specializations table has no name and, unless specs_max_levels maps one,
 * no maximum level ([levels] gives it: read_spec, load_specs); its keys are
 * ordered bytewise whatever collation their columns declare; only the mapped
 * columns are read and written (rows by their id; the parameters a statement
 * leaves unused are bound all the same, which SQLite allows below the
 * highest one it names). */
#define PROGRESS_COLS_ATTACHED                                                         \
    "id, {progress_user}, {progress_spec}, {progress_level}, NULL, NULL, NULL, NULL, NULL, " \
    "NULL, NULL, {?progress_updated_at|{progress_updated_at}}{!progress_updated_at|NULL}"
#define LICENSE_COLS_ATTACHED                                                          \
    "id, {license_user}, {license_spec}, {license_level}, {license_max_level}, "        \
    "{license_started_at}, NULL, NULL, {?license_updated_at|{license_updated_at}}"      \
    "{!license_updated_at|NULL}"
#define MAX_LEVELS_ATTACHED "{?specs_max_levels|{specs_max_levels}}{!specs_max_levels|NULL}"
#define SCAN_P_ATTACHED                                                                \
    "SELECT {progress_user}, {progress_spec}, {progress_level} FROM {progress_table}"
#define SCAN_L_ATTACHED                                                                \
    "SELECT {license_user}, {license_spec}, {license_level} FROM {license_table}"
#define SCAN_P_ORDER_ATTACHED                                                          \
    " ORDER BY {progress_user}, {progress_spec} COLLATE BINARY"
#define SCAN_L_ORDER_ATTACHED                                                          \
    " ORDER BY {license_user}, {license_spec} COLLATE BINARY"

static const char *const attached_sql[ST_COUNT] = {
    [ST_SPEC_GET] = "SELECT id, id, " MAX_LEVELS_ATTACHED ", coalesce(is_active, 1), created_at "
                    "FROM {specs_table} WHERE id = ?1",
    [ST_SPEC_LIST] = "SELECT id, id, " MAX_LEVELS_ATTACHED ", coalesce(is_active, 1), "
                     "created_at FROM {specs_table} ORDER BY id COLLATE BINARY",
    [ST_SPEC_IDS] = "SELECT id, " MAX_LEVELS_ATTACHED " FROM {specs_table} "
                    "ORDER BY id COLLATE BINARY",
    [ST_PROGRESS_GET] = "SELECT " PROGRESS_COLS_ATTACHED " FROM {progress_table} "
                        "WHERE {progress_user} = ?1 AND {progress_spec} = ?2",
    [ST_PROGRESS_INSERT] =
        "INSERT INTO {progress_table}({progress_user}, {progress_spec}, {progress_level}"
        "{?progress_updated_at|, {progress_updated_at}}) "
        "VALUES (?1, ?2, ?3{?progress_updated_at|, ?11})",
    [ST_PROGRESS_UPDATE] = "UPDATE {progress_table} SET {progress_level} = ?2"
                           "{?progress_updated_at|, {progress_updated_at} = ?9} WHERE id = ?1",
    [ST_LICENSE_GET] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                       "WHERE {license_user} = ?1 AND {license_spec} = ?2",
    [ST_LICENSE_INSERT] =
        "INSERT INTO {license_table}({license_user}, {license_spec}, {license_level}, "
        "{license_max_level}, {license_started_at}{?license_updated_at|, {license_updated_at}}) "
        "VALUES (?1, ?2, ?3, ?4, ?5{?license_updated_at|, ?8})",
    [ST_LICENSE_UPDATE] = "UPDATE {license_table} SET {license_level} = ?2, "
                          "{license_max_level} = ?3{?license_updated_at|, {license_updated_at} = ?5} "
                          "WHERE id = ?1",
    [ST_PROGRESSION_INSERT] =
        "INSERT INTO {progressions_table}(user_license_id, from_level, to_level, advanced_by, "
        "advancement_reason, advanced_at) VALUES (?1, ?2, ?3, NULL, ?5, ?6)",
    [ST_USER_PROGRESS_ROWS] = "SELECT " PROGRESS_COLS_ATTACHED " FROM {progress_table} "
                              "WHERE {progress_user} = ?1 ORDER BY {progress_spec} COLLATE BINARY",
    [ST_USER_LICENSE_ROWS] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                             "WHERE {license_user} = ?1 ORDER BY {license_spec} COLLATE BINARY",
    [ST_SCAN_P_ALL] = SCAN_P_ATTACHED SCAN_P_ORDER_ATTACHED,
    [ST_SCAN_P_USER] = SCAN_P_ATTACHED " WHERE {progress_user} = ?1" SCAN_P_ORDER_ATTACHED,
    [ST_SCAN_P_SPEC] = SCAN_P_ATTACHED " WHERE {progress_spec} = ?2" SCAN_P_ORDER_ATTACHED,
    [ST_SCAN_P_USER_SPEC] = SCAN_P_ATTACHED " WHERE {progress_user} = ?1 AND {progress_spec} = ?2"
                            SCAN_P_ORDER_ATTACHED,
    [ST_SCAN_L_ALL] = SCAN_L_ATTACHED SCAN_L_ORDER_ATTACHED,
    [ST_SCAN_L_USER] = SCAN_L_ATTACHED " WHERE {license_user} = ?1" SCAN_L_ORDER_ATTACHED,
    [ST_SCAN_L_SPEC] = SCAN_L_ATTACHED " WHERE {license_spec} = ?2" SCAN_L_ORDER_ATTACHED,
    [ST_SCAN_L_USER_SPEC] = SCAN_L_ATTACHED " WHERE {license_user} = ?1 AND {license_spec} = ?2"
                            SCAN_L_ORDER_ATTACHED,
};

/* The statements that write the domain tables (refused while repairs are off
 * for an attached file). */
static bool writes_domain(enum stmt_id id)
{
    return id == ST_SPEC_INSERT || id == ST_PROGRESS_INSERT || id == ST_PROGRESS_UPDATE ||
           id == ST_LICENSE_INSERT || id == ST_LICENSE_UPDATE || id == ST_PROGRESSION_INSERT;
}

/* The SQL of statement `id` for this store's domain tables (borrowed), or
 * NULL with the store's error set. */
static const char *sql_text(struct sqlite_store *ss, enum stmt_id id)
{
    if (!ss->sql[id]) {
        char err[256];
        if (ss->base.domain_read_only && writes_domain(id)) {
            store_fail(&ss->base, STORE_ERR, "%s", STORE_REPAIR_OFF);
            return NULL;
        }
        const char *tmpl = ss->attached && attached_sql[id] ? attached_sql[id] : stmt_sql[id];
        ss->sql[id] = domain_sql_expand(&ss->domain, ss->attached ? SQ_ACADEMY : NULL, tmpl, err,
                                        sizeof err);
        if (!ss->sql[id])
            store_fail(&ss->base, STORE_ERR, "%s", err);
    }
    return ss->sql[id];
}

sqlite3_stmt *sq_stmt(struct sqlite_store *ss, enum stmt_id id)
{
    sqlite3_stmt *st = ss->stmts[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    const char *text = sql_text(ss, id);
    if (!text)
        return NULL;
    int rc = sqlite3_prepare_v3(ss->db, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(ss, rc, "prepare");
        return NULL;
    }
    ss->stmts[id] = st;
    return st;
}

void sq_bind_time(sqlite3_stmt *st, int i, int64_t us)
{
    if (!us) {
        sqlite3_bind_null(st, i);
        return;
    }
    char iso[TIME_ISO_LEN];
    time_format_iso(us, iso);
    sqlite3_bind_text(st, i, iso, -1, SQLITE_TRANSIENT);
}

void sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void sq_bind_id_or_null(sqlite3_stmt *st, int i, int64_t id)
{
    if (id)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

int64_t sq_col_time(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int64_t us = 0;
    if (t && time_parse_iso((const char *)t, &us) != 0)
        us = 0;
    return us;
}

void sq_col_copy(sqlite3_stmt *st, int i, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

/* Step a statement that returns no rows. */
int sq_exec_stmt(struct sqlite_store *ss, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(ss, rc, what);
    return 0;
}

/* Step a statement expected to return one row: 0 with the row current,
 * STORE_ERR_NOT_FOUND, or an error. The caller resets. */
int sq_step_one(struct sqlite_store *ss, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 0;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_fail(&ss->base, STORE_ERR_NOT_FOUND, "%s: not found", what);
    return sq_fail(ss, rc, what);
}

int sq_first_time(struct sqlite_store *ss, sqlite3_stmt *st, int64_t *when,
                  const char *what)
{
    int rc = sq_step_one(ss, st, what);
    if (rc)
        return rc;
    bool null = sqlite3_column_type(st, 0) == SQLITE_NULL;
    *when = null ? 0 : sq_col_time(st, 0);
    sqlite3_reset(st);
    return null ? store_fail(&ss->base, STORE_ERR_NOT_FOUND, "%s: none", what) : 0;
}

int sq_exec_sql(struct sqlite_store *ss, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(ss->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY : STORE_ERR;
        if (code == STORE_ERR_BUSY)
            store_fail(&ss->base, code,
                       "%s: the database is locked by another writer (waited %ld ms)", what,
                       ss->busy_timeout_ms);
        else
            store_fail(&ss->base, code, "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

/* ---- transactions ---------------------------------------------------- */

static int sq_begin(struct store *s, enum store_txn kind)
{
    struct sqlite_store *ss = SS(s);
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "a transaction is already open");
    int rc = sq_exec_sql(ss, kind == STORE_TXN_WRITE ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED",
                      "begin transaction");
    if (rc == 0)
        s->in_txn = (int)kind + 1;
    return rc;
}

static int sq_commit(struct store *s)
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

static void sq_rollback(struct store *s)
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
    const char *probe_sql = sql_text(ss, ST_PROBE);
    rc = probe_sql ? sqlite3_prepare_v2(db, probe_sql, -1, &st, NULL) : SQLITE_ERROR;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->schema_version = sqlite3_column_int(st, 0);
        out->users = sqlite3_column_int64(st, 1);
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

static int sq_migrate(struct store *s, int *applied)
{
    struct sqlite_store *ss = SS(s);
    int version = 0, n = 0;
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
     * while they run (the pragma is a no-op inside a transaction) and checked
     * whole before the commit. */
    rc = sq_exec_sql(ss, "PRAGMA foreign_keys = OFF", "migrate");
    if (rc)
        return rc;
    rc = sq_begin(s, STORE_TXN_WRITE);
    if (rc) {
        sq_exec_sql(ss, "PRAGMA foreign_keys = ON", "migrate");
        return rc;
    }
    rc = sq_exec_sql(ss,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                  " name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                  "create schema_migrations");
    if (rc == 0)
        rc = current_version(ss, &version); /* another process may have migrated */
    for (int i = 0; rc == 0 && i < SQLITE_MIGRATION_COUNT; i++) {
        const struct sqlite_migration *m = &sqlite_migrations[i];
        if (m->version <= version)
            continue;
        char what[96];
        snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
        rc = sq_exec_sql(ss, m->sql, what);
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
    }
    if (rc == 0 && n > 0)
        rc = foreign_keys_hold(ss);
    if (rc) {
        sq_rollback(s);
        sq_exec_sql(ss, "PRAGMA foreign_keys = ON", "migrate");
        return rc;
    }
    rc = sq_commit(s);
    int frc = sq_exec_sql(ss, "PRAGMA foreign_keys = ON", "migrate");
    if (rc == 0)
        rc = frc;
    if (rc == 0)
        *applied = n;
    return rc;
}

/* ---- specializations ----------------------------------------------------- */

static void read_spec(const struct sqlite_store *ss, sqlite3_stmt *st,
                      struct specialization *sp)
{
    memset(sp, 0, sizeof *sp);
    sq_col_copy(st, 0, sp->id, sizeof sp->id);
    sq_col_copy(st, 1, sp->name, sizeof sp->name);
    /* NULL (an attached table without the column): from [levels]. */
    sp->max_levels = sqlite3_column_type(st, 2) == SQLITE_NULL
                         ? domain_map_level(&ss->domain, sp->id)
                         : sqlite3_column_int(st, 2);
    sp->is_active = sqlite3_column_int(st, 3) != 0;
    sp->created_at = sq_col_time(st, 4);
}

static int sq_spec_insert(struct store *s, const struct specialization *sp)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, sp->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sp->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, sp->max_levels);
    sqlite3_bind_int(st, 4, sp->is_active ? 1 : 0);
    sq_bind_time(st, 5, sp->created_at);
    int rc = sq_exec_stmt(ss, st, "insert specialization");
    if (rc == STORE_ERR_CONFLICT)
        return store_fail(s, rc, "specialization %s already exists", sp->id);
    return rc;
}

static int sq_spec_get(struct store *s, const char *id, struct specialization *sp)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "specialization");
    if (rc == STORE_ERR_NOT_FOUND)
        return store_fail(s, rc, "unknown specialization %s", id);
    if (rc)
        return rc;
    read_spec(ss, st, sp);
    sqlite3_reset(st);
    return 0;
}

static int sq_spec_list(struct store *s, store_spec_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_LIST);
    if (!st)
        return STORE_ERR;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct specialization sp;
        read_spec(ss, st, &sp);
        if ((out = cb(ctx, &sp)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list specializations");
    sqlite3_reset(st);
    return out;
}

static int sq_spec_level_xp(struct store *s, const char *spec, int level, int64_t *xp)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_LEVEL_XP);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, level);
    int rc = sq_step_one(ss, st, "level threshold");
    if (rc)
        return rc;
    *xp = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* ---- progress, licenses, progressions ------------------------------------ */

static void read_progress(sqlite3_stmt *st, struct progress *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(st, 0);
    p->student_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, p->spec, sizeof p->spec);
    p->current_level = sqlite3_column_int(st, 3);
    p->total_xp = sqlite3_column_int64(st, 4);
    p->completed_sessions = sqlite3_column_int64(st, 5);
    p->completed_projects = sqlite3_column_int64(st, 6);
    p->theory_hours_completed = sqlite3_column_int64(st, 7);
    p->practice_hours_completed = sqlite3_column_int64(st, 8);
    p->last_activity = sq_col_time(st, 9);
    p->created_at = sq_col_time(st, 10);
    p->updated_at = sq_col_time(st, 11);
}

static void read_license(sqlite3_stmt *st, struct license *l)
{
    memset(l, 0, sizeof *l);
    l->id = sqlite3_column_int64(st, 0);
    l->user_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, l->spec, sizeof l->spec);
    l->current_level = sqlite3_column_int(st, 3);
    l->max_achieved_level = sqlite3_column_int(st, 4);
    l->started_at = sq_col_time(st, 5);
    l->last_advanced_at = sq_col_time(st, 6);
    l->created_at = sq_col_time(st, 7);
    l->updated_at = sq_col_time(st, 8);
}

static int sq_progress_get(struct store *s, int64_t user, const char *spec, bool for_update,
                           struct progress *p)
{
    (void)for_update; /* the write transaction already holds the database lock */
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESS_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "progress");
    if (rc)
        return rc;
    read_progress(st, p);
    sqlite3_reset(st);
    return 0;
}

static int sq_progress_insert(struct store *s, struct progress *p)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESS_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, p->student_id);
    sqlite3_bind_text(st, 2, p->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, p->current_level);
    sqlite3_bind_int64(st, 4, p->total_xp);
    sqlite3_bind_int64(st, 5, p->completed_sessions);
    sqlite3_bind_int64(st, 6, p->completed_projects);
    sqlite3_bind_int64(st, 7, p->theory_hours_completed);
    sqlite3_bind_int64(st, 8, p->practice_hours_completed);
    sq_bind_time(st, 9, p->last_activity);
    sq_bind_time(st, 10, p->created_at);
    sq_bind_time(st, 11, p->updated_at);
    int rc = sq_exec_stmt(ss, st, "insert progress");
    if (rc == 0)
        p->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

static int sq_progress_update(struct store *s, const struct progress *p)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESS_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, p->id);
    sqlite3_bind_int(st, 2, p->current_level);
    sqlite3_bind_int64(st, 3, p->total_xp);
    sqlite3_bind_int64(st, 4, p->completed_sessions);
    sqlite3_bind_int64(st, 5, p->completed_projects);
    sqlite3_bind_int64(st, 6, p->theory_hours_completed);
    sqlite3_bind_int64(st, 7, p->practice_hours_completed);
    sq_bind_time(st, 8, p->last_activity);
    sq_bind_time(st, 9, p->updated_at);
    return sq_exec_stmt(ss, st, "update progress");
}

static int sq_license_get(struct store *s, int64_t user, const char *spec, bool for_update,
                          struct license *l)
{
    (void)for_update;
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_LICENSE_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "license");
    if (rc)
        return rc;
    read_license(st, l);
    sqlite3_reset(st);
    return 0;
}

static int sq_license_insert(struct store *s, struct license *l)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_LICENSE_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, l->user_id);
    sqlite3_bind_text(st, 2, l->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, l->current_level);
    sqlite3_bind_int(st, 4, l->max_achieved_level);
    sq_bind_time(st, 5, l->started_at);
    sq_bind_time(st, 6, l->last_advanced_at);
    sq_bind_time(st, 7, l->created_at);
    sq_bind_time(st, 8, l->updated_at);
    int rc = sq_exec_stmt(ss, st, "insert license");
    if (rc == 0)
        l->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

static int sq_license_update(struct store *s, const struct license *l)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_LICENSE_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_int(st, 2, l->current_level);
    sqlite3_bind_int(st, 3, l->max_achieved_level);
    sq_bind_time(st, 4, l->last_advanced_at);
    sq_bind_time(st, 5, l->updated_at);
    return sq_exec_stmt(ss, st, "update license");
}

static int sq_progression_insert(struct store *s, struct progression *pr)
{
    struct sqlite_store *ss = SS(s);
    if (ss->attached && !ss->domain.name[DOMAIN_PROGRESSIONS_TABLE][0]) {
        pr->id = 0; /* progressions_table left empty: none appended (attach.md) */
        return 0;
    }
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESSION_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, pr->user_license_id);
    sqlite3_bind_int(st, 2, pr->from_level);
    sqlite3_bind_int(st, 3, pr->to_level);
    sq_bind_id_or_null(st, 4, pr->advanced_by);
    sqlite3_bind_text(st, 5, pr->reason, -1, SQLITE_STATIC);
    sq_bind_time(st, 6, pr->advanced_at);
    int rc = sq_exec_stmt(ss, st, "insert license progression");
    if (rc == 0)
        pr->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

static int sq_progression_count(struct store *s, int64_t license_id, int64_t *n)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESSION_COUNT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, license_id);
    int rc = sq_step_one(ss, st, "count progressions");
    if (rc)
        return rc;
    *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

static int sq_user_pairs(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *ps = sq_stmt(ss, ST_USER_PROGRESS_ROWS);
    sqlite3_stmt *ls = ps ? sq_stmt(ss, ST_USER_LICENSE_ROWS) : NULL;
    if (!ps || !ls)
        return STORE_ERR;
    sqlite3_bind_int64(ps, 1, user);
    sqlite3_bind_int64(ls, 1, user);
    int prc = sqlite3_step(ps), lrc = sqlite3_step(ls), out = 0;
    while (out == 0 && (prc == SQLITE_ROW || lrc == SQLITE_ROW)) {
        struct progress p;
        struct license l;
        int cmp;
        if (prc != SQLITE_ROW)
            cmp = 1;
        else if (lrc != SQLITE_ROW)
            cmp = -1;
        else
            cmp = strcmp((const char *)sqlite3_column_text(ps, 2),
                         (const char *)sqlite3_column_text(ls, 2));
        if (cmp <= 0)
            read_progress(ps, &p);
        if (cmp >= 0)
            read_license(ls, &l);
        out = cb(ctx, cmp <= 0 ? &p : NULL, cmp >= 0 ? &l : NULL);
        if (cmp <= 0)
            prc = sqlite3_step(ps);
        if (cmp >= 0)
            lrc = sqlite3_step(ls);
    }
    if (out == 0 && (prc != SQLITE_DONE || lrc != SQLITE_DONE) &&
        (prc != SQLITE_ROW && lrc != SQLITE_ROW))
        out = sq_fail(ss, prc != SQLITE_DONE ? prc : lrc, "read progress and licenses");
    sqlite3_reset(ps);
    sqlite3_reset(ls);
    return out;
}

/* ---- the pair scan: a merge of index-ordered streams -------------------------
 *
 * Both tables are read through their covering (user, specialization, level)
 * indexes in pair order and merged here: one sequential pass, no per-pair
 * query. In a full scan of a large store each index is read by a producer
 * thread on a connection of its own and this thread only merges, so the work
 * spreads over the CPUs. All connections read the same snapshot: a fourth
 * connection holds the write lock while their read transactions start, so no
 * commit can fall between them. The open violations are a third ordered
 * stream (on this connection), so the check learns first_seen and the email
 * of known violations without a lookup per violation. Specialization names
 * are interned to their rank in the specializations table, which keeps rows
 * small and comparisons integer; a name that is not in the table (a row
 * written without foreign keys) travels as its bytes beside the row and
 * compares bytewise, the order of the indexes (BINARY collation). Consecutive
 * rows of one stream with the same key are duplicates of one pair. */

#define SCAN_BATCH 4096
#define SCAN_BATCHES 4
#define SCAN_LEVEL_NULL INT32_MIN /* the level is NULL, not an integer, or too large */

struct scan_row {
    int64_t user;
    int32_t spec;  /* rank of the specialization id in byte order; negative: a name
                      not in the table, its bytes kept apart (see the stream) */
    int32_t level; /* SCAN_LEVEL_NULL: no usable level */
};

struct scan_batch {
    int n, n_names;
    struct scan_row rows[SCAN_BATCH];
    char (*names)[SPEC_ID_MAX]; /* unknown names of this batch, row spec -1 - index;
                                   allocated at the first one; owned */
};

struct scan_stream {
    struct store_scan *sc;
    const char *what;
    sqlite3_stmt *st;
    sqlite3 *db;               /* the connection of st */
    bool produced;             /* read by a producer thread */
    bool ready, done;          /* a current row is decoded / the stream ended */
    struct scan_row row;
    char row_name[SPEC_ID_MAX]; /* the name of row when row.spec < 0 */
    /* producer */
    bool thread_started, stop, producer_done, first_pending;
    int producer_rc;
    char producer_err[256];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct scan_batch *batches;
    int free_q[SCAN_BATCHES], n_free;
    int ready_q[SCAN_BATCHES], ready_head, n_ready;
    int cur, cur_pos;
};

struct store_scan {
    struct sqlite_store *ss;
    struct scan_stream p, l;
    sqlite3_stmt *ov;
    bool ov_ready, ov_done;
    int64_t ov_user;           /* the current open violation: its pair, */
    char ov_spec[SPEC_ID_MAX];
    struct open_violation ovr; /* and the rest */
    int n_specs, cap_specs;
    char (*specs)[SPEC_ID_MAX]; /* sorted; owned */
    uint8_t *spec_len;          /* owned */
    int *spec_max;              /* max_levels by rank, 0: none; owned */
    int32_t spec_hash[256];     /* rank + 1 by spec_hash_of(), 0 empty, -1 ambiguous */
};

static unsigned spec_hash_of(const unsigned char *t, int n)
{
    return n > 0 ? ((unsigned)n * 31u + t[0] * 7u + t[n - 1]) & 255u : 0u;
}

/* Read every specialization id and its max_levels, in byte order, into
 * sc->specs (grown as needed: there is no limit on how many). */
static int load_specs(struct store_scan *sc, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    const char *text = sql_text(sc->ss, ST_SPEC_IDS);
    int rc = text ? sqlite3_prepare_v2(db, text, -1, &st, NULL) : SQLITE_ERROR;
    sc->n_specs = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sc->n_specs == sc->cap_specs) {
            int cap = sc->cap_specs ? sc->cap_specs * 2 : 64;
            char(*specs)[SPEC_ID_MAX] = realloc(sc->specs, (size_t)cap * sizeof *specs);
            if (specs)
                sc->specs = specs;
            uint8_t *len = specs ? realloc(sc->spec_len, (size_t)cap) : NULL;
            if (len)
                sc->spec_len = len;
            int *max = len ? realloc(sc->spec_max, (size_t)cap * sizeof *max) : NULL;
            if (!max) {
                rc = SQLITE_NOMEM;
                break;
            }
            sc->spec_max = max;
            sc->cap_specs = cap;
        }
        sq_col_copy(st, 0, sc->specs[sc->n_specs], SPEC_ID_MAX);
        int max = sqlite3_column_type(st, 1) == SQLITE_INTEGER ? sqlite3_column_int(st, 1)
                  : sqlite3_column_type(st, 1) == SQLITE_NULL && sc->ss->attached
                      ? domain_map_level(&sc->ss->domain, sc->specs[sc->n_specs])
                      : 0;
        sc->spec_max[sc->n_specs++] = max > 0 ? max : 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    memset(sc->spec_hash, 0, sizeof sc->spec_hash);
    for (int i = 0; i < sc->n_specs; i++) {
        int n = (int)strlen(sc->specs[i]);
        unsigned h = spec_hash_of((const unsigned char *)sc->specs[i], n);
        sc->spec_len[i] = (uint8_t)n;
        sc->spec_hash[h] = sc->spec_hash[h] ? -1 : i + 1;
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The rank of a specialization name, or -1 when it is not in the table.
 * Reads only what load_specs built: safe from any thread. */
static int32_t spec_rank(const struct store_scan *sc, const unsigned char *t, int n)
{
    /* One hash probe finds nearly every name; a binary search the rest. */
    int h = sc->spec_hash[spec_hash_of(t, n)];
    if (h > 0 && sc->spec_len[h - 1] == n && !memcmp(sc->specs[h - 1], t, (size_t)n))
        return h - 1;
    int lo = 0, hi = sc->n_specs - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = sc->specs[mid];
        int ml = sc->spec_len[mid], c = memcmp(m, t, (size_t)(ml < n ? ml : n));
        if (c == 0)
            c = ml - n;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Decode the current row of st. A specialization not in the table gets spec
 * -1 and its name (truncated to SPEC_ID_MAX - 1 bytes) in name. */
static void decode_row(const struct store_scan *sc, sqlite3_stmt *st, struct scan_row *r,
                       char name[SPEC_ID_MAX])
{
    r->user = sqlite3_column_int64(st, 0);
    const unsigned char *t = sqlite3_column_blob(st, 1);
    int n = sqlite3_column_bytes(st, 1);
    if (!t)
        t = (const unsigned char *)"";
    r->spec = spec_rank(sc, t, n);
    if (r->spec < 0) {
        if (n > SPEC_ID_MAX - 1)
            n = SPEC_ID_MAX - 1;
        memcpy(name, t, (size_t)n);
        name[n] = '\0';
    }
    if (sqlite3_column_type(st, 2) == SQLITE_INTEGER) {
        int64_t level = sqlite3_column_int64(st, 2);
        r->level = level > INT32_MIN && level <= INT32_MAX ? (int32_t)level : SCAN_LEVEL_NULL;
    } else {
        r->level = SCAN_LEVEL_NULL;
    }
}

static void *stream_producer(void *arg)
{
    struct scan_stream *ps = arg;
    int rc = SQLITE_ROW;
    for (;;) {
        pthread_mutex_lock(&ps->mu);
        while (ps->n_free == 0 && !ps->stop)
            pthread_cond_wait(&ps->cv, &ps->mu);
        if (ps->stop) {
            pthread_mutex_unlock(&ps->mu);
            return NULL;
        }
        int b = ps->free_q[--ps->n_free];
        pthread_mutex_unlock(&ps->mu);
        struct scan_batch *batch = &ps->batches[b];
        batch->n = batch->n_names = 0;
        char name[SPEC_ID_MAX];
        while (batch->n < SCAN_BATCH) {
            if (!ps->first_pending)
                rc = sqlite3_step(ps->st);
            ps->first_pending = false;
            if (rc != SQLITE_ROW)
                break;
            struct scan_row *r = &batch->rows[batch->n++];
            decode_row(ps->sc, ps->st, r, name);
            if (r->spec < 0) { /* rare: the name goes beside the batch */
                if (!batch->names &&
                    !(batch->names = malloc(SCAN_BATCH * sizeof *batch->names))) {
                    rc = SQLITE_NOMEM;
                    batch->n--;
                    break;
                }
                memcpy(batch->names[batch->n_names], name, SPEC_ID_MAX);
                r->spec = -1 - batch->n_names++;
            }
        }
        pthread_mutex_lock(&ps->mu);
        ps->ready_q[(ps->ready_head + ps->n_ready) % SCAN_BATCHES] = b;
        ps->n_ready++;
        if (rc != SQLITE_ROW) {
            ps->producer_done = true;
            ps->producer_rc = rc == SQLITE_DONE ? 0 : rc;
            if (rc == SQLITE_NOMEM)
                snprintf(ps->producer_err, sizeof ps->producer_err, "out of memory");
            else if (rc != SQLITE_DONE)
                snprintf(ps->producer_err, sizeof ps->producer_err, "%s",
                         sqlite3_errmsg(ps->db));
        }
        pthread_cond_broadcast(&ps->cv);
        pthread_mutex_unlock(&ps->mu);
        if (rc != SQLITE_ROW)
            return NULL;
    }
}

/* Make the stream's next row current: 0 ok, 1 end, negative error. */
static int stream_next(struct scan_stream *ps)
{
    struct store_scan *sc = ps->sc;
    if (!ps->produced) {
        int rc = ps->first_pending ? SQLITE_ROW : sqlite3_step(ps->st);
        ps->first_pending = false;
        if (rc == SQLITE_ROW) {
            decode_row(sc, ps->st, &ps->row, ps->row_name);
            return 0;
        }
        return rc == SQLITE_DONE ? 1 : sq_fail(sc->ss, rc, ps->what);
    }
    for (;;) {
        if (ps->cur >= 0 && ps->cur_pos < ps->batches[ps->cur].n) {
            const struct scan_batch *batch = &ps->batches[ps->cur];
            ps->row = batch->rows[ps->cur_pos++];
            if (ps->row.spec < 0) /* kept with the row: the batch goes back to the producer */
                memcpy(ps->row_name, batch->names[-1 - ps->row.spec], SPEC_ID_MAX);
            return 0;
        }
        pthread_mutex_lock(&ps->mu);
        if (ps->cur >= 0) {
            ps->free_q[ps->n_free++] = ps->cur;
            ps->cur = -1;
            pthread_cond_broadcast(&ps->cv);
        }
        while (ps->n_ready == 0 && !ps->producer_done)
            pthread_cond_wait(&ps->cv, &ps->mu);
        if (ps->n_ready == 0) {
            int rc = ps->producer_rc;
            pthread_mutex_unlock(&ps->mu);
            if (rc)
                return store_fail(&sc->ss->base, (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY
                                                                            : STORE_ERR,
                                  "%s: %s", ps->what, ps->producer_err);
            return 1;
        }
        ps->cur = ps->ready_q[ps->ready_head];
        ps->ready_head = (ps->ready_head + 1) % SCAN_BATCHES;
        ps->n_ready--;
        ps->cur_pos = 0;
        pthread_mutex_unlock(&ps->mu);
    }
}

static bool stream_start_producer(struct scan_stream *ps)
{
    ps->batches = calloc(SCAN_BATCHES, sizeof *ps->batches);
    if (!ps->batches)
        return false;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->cv, NULL);
    for (int i = 0; i < SCAN_BATCHES; i++)
        ps->free_q[i] = i;
    ps->n_free = SCAN_BATCHES;
    ps->cur = -1;
    ps->produced = true;
    if (pthread_create(&ps->thread, NULL, stream_producer, ps) != 0) {
        ps->produced = false;
        pthread_mutex_destroy(&ps->mu);
        pthread_cond_destroy(&ps->cv);
        free(ps->batches);
        ps->batches = NULL;
        return false;
    }
    ps->thread_started = true;
    return true;
}

static void stream_stop(struct scan_stream *ps)
{
    if (ps->thread_started) {
        pthread_mutex_lock(&ps->mu);
        ps->stop = true;
        pthread_cond_broadcast(&ps->cv);
        pthread_mutex_unlock(&ps->mu);
        pthread_join(ps->thread, NULL);
        pthread_mutex_destroy(&ps->mu);
        pthread_cond_destroy(&ps->cv);
        ps->thread_started = false;
    }
    for (int i = 0; ps->batches && i < SCAN_BATCHES; i++)
        free(ps->batches[i].names);
    free(ps->batches);
    ps->batches = NULL;
    if (ps->st)
        sqlite3_reset(ps->st);
}

static int next_open_violation(struct store_scan *sc)
{
    int rc = sqlite3_step(sc->ov);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 1 : sq_fail(sc->ss, rc, "scan open violations");
    /* Columns of VIOLATION_COLS. */
    sc->ov_user = sqlite3_column_int64(sc->ov, 0);
    sq_col_copy(sc->ov, 1, sc->ovr.user_email, sizeof sc->ovr.user_email);
    sq_col_copy(sc->ov, 2, sc->ov_spec, sizeof sc->ov_spec);
    sq_col_copy(sc->ov, 3, sc->ovr.issue_type, sizeof sc->ovr.issue_type);
    sc->ovr.has_progress = sqlite3_column_type(sc->ov, 4) != SQLITE_NULL;
    sc->ovr.progress_level = sqlite3_column_int(sc->ov, 4);
    sc->ovr.has_license = sqlite3_column_type(sc->ov, 5) != SQLITE_NULL;
    sc->ovr.license_level = sqlite3_column_int(sc->ov, 5);
    sq_col_copy(sc->ov, 6, sc->ovr.recommended_action, sizeof sc->ovr.recommended_action);
    sc->ovr.first_seen = sq_col_time(sc->ov, 7);
    return 0;
}

/* Open an extra connection for threaded scans (once per store). */
static int open_aux(struct sqlite_store *ss, sqlite3 **db)
{
    if (*db)
        return SQLITE_OK;
    int rc = sqlite3_open_v2(ss->path, db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close_v2(*db);
        *db = NULL;
        return rc;
    }
    no_quoted_strings(*db);
    sqlite3_busy_timeout(*db, (int)ss->busy_timeout_ms);
    if (ss->attached && sq_attach_academy(ss, *db, NULL, 0) != 0) {
        sqlite3_close_v2(*db);
        *db = NULL;
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}

/* Start the two producer threads, each on its own connection, in the snapshot
 * of this connection. Returns false (and leaves the scan single-threaded)
 * when that is not possible right now. */
static bool start_parallel(struct store_scan *sc)
{
    struct sqlite_store *ss = sc->ss;
    struct stat st;
    if (ss->parallel_min_bytes < 0 || stat(ss->path, &st) != 0 ||
        st.st_size < ss->parallel_min_bytes)
        return false;
    if (open_aux(ss, &ss->scan_db[0]) != SQLITE_OK || open_aux(ss, &ss->scan_db[1]) != SQLITE_OK ||
        open_aux(ss, &ss->lock_db) != SQLITE_OK)
        return false;
    for (int i = 0; i < 2; i++)
        if (!ss->scan_stmt[i] &&
            (!sql_text(ss, i ? ST_SCAN_L_ALL : ST_SCAN_P_ALL) ||
             sqlite3_prepare_v3(ss->scan_db[i], ss->sql[i ? ST_SCAN_L_ALL : ST_SCAN_P_ALL], -1,
                                SQLITE_PREPARE_PERSISTENT, &ss->scan_stmt[i],
                                NULL) != SQLITE_OK))
            return false;
    if (sqlite3_exec(ss->lock_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return false;
    /* No commit can happen now: every first read sees the same database. */
    int rc[2] = {SQLITE_ERROR, SQLITE_ERROR};
    bool main_ok = load_specs(sc, ss->db) == SQLITE_OK;
    for (int i = 0; i < 2 && main_ok; i++)
        if (sqlite3_exec(ss->scan_db[i], "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
            rc[i] = sqlite3_step(ss->scan_stmt[i]);
    sqlite3_exec(ss->lock_db, "ROLLBACK", NULL, NULL, NULL);
    struct scan_stream *streams[2] = {&sc->p, &sc->l};
    bool ok = main_ok && (rc[0] == SQLITE_ROW || rc[0] == SQLITE_DONE) &&
              (rc[1] == SQLITE_ROW || rc[1] == SQLITE_DONE);
    for (int i = 0; i < 2; i++) {
        streams[i]->st = ss->scan_stmt[i];
        streams[i]->db = ss->scan_db[i];
        streams[i]->done = rc[i] == SQLITE_DONE;
        streams[i]->first_pending = rc[i] == SQLITE_ROW;
    }
    for (int i = 0; i < 2 && ok; i++)
        if (!streams[i]->done && !stream_start_producer(streams[i]))
            ok = false;
    if (!ok) {
        for (int i = 0; i < 2; i++) {
            stream_stop(streams[i]);
            streams[i]->st = NULL;
            streams[i]->produced = streams[i]->done = streams[i]->first_pending = false;
            sqlite3_exec(ss->scan_db[i], "ROLLBACK", NULL, NULL, NULL);
        }
        return false;
    }
    return true;
}

static void scan_free(struct store_scan *sc)
{
    free(sc->specs);
    free(sc->spec_len);
    free(sc->spec_max);
    free(sc);
}

static int sq_pair_scan_open(struct store *s, const struct pair_filter *f,
                             struct store_scan **out)
{
    struct sqlite_store *ss = SS(s);
    *out = NULL;
    bool by_user = f && f->user_id > 0, by_spec = f && f->spec;
    bool full = !by_user && !by_spec;
    enum stmt_id pid = by_user ? (by_spec ? ST_SCAN_P_USER_SPEC : ST_SCAN_P_USER)
                               : (by_spec ? ST_SCAN_P_SPEC : ST_SCAN_P_ALL);
    enum stmt_id lid = (enum stmt_id)(pid + (ST_SCAN_L_ALL - ST_SCAN_P_ALL));
    struct store_scan *sc = calloc(1, sizeof *sc);
    if (!sc)
        return store_fail(s, STORE_ERR, "out of memory");
    sc->ss = ss;
    sc->p = (struct scan_stream){.sc = sc, .what = "scan progress", .cur = -1};
    sc->l = (struct scan_stream){.sc = sc, .what = "scan licenses", .cur = -1};
    if (full && f && f->open_violations && !(sc->ov = sq_stmt(ss, ST_VIOLATIONS_OPEN_ALL))) {
        scan_free(sc);
        return STORE_ERR;
    }
    if (!full || !start_parallel(sc)) {
        int rc = load_specs(sc, ss->db);
        if (rc != SQLITE_OK) {
            scan_free(sc);
            return sq_fail(ss, rc, "read specializations");
        }
        sc->p.st = sq_stmt(ss, pid);
        sc->l.st = sc->p.st ? sq_stmt(ss, lid) : NULL;
        if (!sc->p.st || !sc->l.st) {
            scan_free(sc);
            return STORE_ERR;
        }
        sc->p.db = sc->l.db = ss->db;
        if (by_user) {
            sqlite3_bind_int64(sc->p.st, 1, f->user_id);
            sqlite3_bind_int64(sc->l.st, 1, f->user_id);
        }
        if (by_spec) {
            sqlite3_bind_text(sc->p.st, 2, f->spec, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(sc->l.st, 2, f->spec, -1, SQLITE_TRANSIENT);
        }
    }
    sc->ov_done = sc->ov == NULL;
    *out = sc;
    return 0;
}

/* The specialization name of a row (name: the stream's row_name). */
static const char *row_spec(const struct store_scan *sc, const struct scan_row *r,
                            const char *name)
{
    return r->spec >= 0 ? sc->specs[r->spec] : name;
}

/* Pair order of two rows: user, then the specialization bytewise (the rank
 * when both are in the table, the bytes otherwise). */
static int cmp_key(const struct store_scan *sc, const struct scan_row *a, const char *a_name,
                   const struct scan_row *b, const char *b_name)
{
    if (a->user != b->user)
        return a->user < b->user ? -1 : 1;
    if ((a->spec | b->spec) >= 0)
        return a->spec < b->spec ? -1 : a->spec > b->spec ? 1 : 0;
    return strcmp(row_spec(sc, a, a_name), row_spec(sc, b, b_name));
}

/* Order of the current open violation against the pair (user, spec):
 * negative when it comes first. */
static int cmp_open(const struct store_scan *sc, int64_t user, const char *spec)
{
    if (sc->ov_user != user)
        return sc->ov_user < user ? -1 : 1;
    return strcmp(sc->ov_spec, spec);
}

/* Make the stream's next row current (ready), unless it ended. */
static int stream_advance(struct scan_stream *ps)
{
    int rc = stream_next(ps);
    if (rc < 0)
        return rc;
    ps->ready = rc == 0;
    ps->done = rc == 1;
    return 0;
}

/* Take the stream's current row as one side of the pair: its level, and the
 * rows after it with the same key (duplicates), counted. The next row of
 * another pair is left current. */
static int take_side(struct store_scan *sc, struct scan_stream *ps, int64_t *rows, int *level,
                     bool *level_null)
{
    struct scan_row key = ps->row;
    char key_name[SPEC_ID_MAX];
    if (key.spec < 0)
        memcpy(key_name, ps->row_name, SPEC_ID_MAX);
    *rows = 1;
    *level_null = key.level == SCAN_LEVEL_NULL;
    *level = *level_null ? 0 : key.level;
    for (;;) {
        int rc = stream_advance(ps);
        if (rc < 0 || ps->done)
            return rc;
        int order = cmp_key(sc, &ps->row, ps->row_name, &key, key_name);
        if (order > 0)
            return 0;
        if (order < 0) /* a column whose values do not sort as text (SQLite's typing) */
            return store_fail(&sc->ss->base, STORE_ERR,
                              "%s: rows out of pair order after user %lld %s (a key column "
                              "holds values of another type)",
                              ps->what, (long long)key.user, row_spec(sc, &key, key_name));
        (*rows)++;
    }
}

static int sq_pair_scan_next(struct store_scan *sc, struct pair_levels *out)
{
    struct scan_stream *streams[2] = {&sc->p, &sc->l};
    for (int i = 0; i < 2; i++) {
        struct scan_stream *ps = streams[i];
        if (!ps->ready && !ps->done) {
            int rc = stream_advance(ps);
            if (rc < 0)
                return rc;
        }
    }
    if (!sc->ov_ready && !sc->ov_done) {
        int rc = next_open_violation(sc);
        if (rc < 0)
            return rc;
        sc->ov_ready = rc == 0;
        sc->ov_done = rc == 1;
    }
    bool pair = sc->p.ready || sc->l.ready;
    if (!pair && !sc->ov_ready)
        return 0;
    int cmp = !sc->p.ready   ? 1
              : !sc->l.ready ? -1
                             : cmp_key(sc, &sc->p.row, sc->p.row_name, &sc->l.row,
                                       sc->l.row_name);
    struct scan_stream *src = cmp <= 0 ? &sc->p : &sc->l;
    const char *spec = pair ? row_spec(sc, &src->row, src->row_name) : NULL;
    out->open_known = sc->ov != NULL;
    out->has_open = false;
    out->has_details = false;
    if (sc->ov_ready) {
        int order = pair ? cmp_open(sc, src->row.user, spec) : -1;
        if (order <= 0) {
            out->has_open = true;
            out->open = sc->ovr;
            sc->ov_ready = false;
        }
        if (order < 0) {
            /* An open violation of a pair with no row left. */
            out->user_id = sc->ov_user;
            memcpy(out->spec, sc->ov_spec, sizeof out->spec);
            out->has_progress = out->has_license = false;
            out->progress_level = out->license_level = 0;
            out->progress_level_null = out->license_level_null = false;
            out->progress_rows = out->license_rows = 0;
            out->max_level = 0;
            return 1;
        }
    }
    out->user_id = src->row.user;
    memcpy(out->spec, spec, sizeof out->spec); /* both sources are SPEC_ID_MAX arrays */
    out->max_level = src->row.spec >= 0 ? sc->spec_max[src->row.spec] : 0;
    out->has_progress = cmp <= 0;
    out->has_license = cmp >= 0;
    out->progress_rows = out->license_rows = 0;
    out->progress_level = out->license_level = 0;
    out->progress_level_null = out->license_level_null = false;
    int rc = 0;
    if (cmp <= 0)
        rc = take_side(sc, &sc->p, &out->progress_rows, &out->progress_level,
                       &out->progress_level_null);
    if (rc == 0 && cmp >= 0)
        rc = take_side(sc, &sc->l, &out->license_rows, &out->license_level,
                       &out->license_level_null);
    return rc < 0 ? rc : 1;
}

static void sq_pair_scan_close(struct store_scan *sc)
{
    if (!sc)
        return;
    struct scan_stream *streams[2] = {&sc->p, &sc->l};
    for (int i = 0; i < 2; i++) {
        bool aux = streams[i]->st && streams[i]->db != sc->ss->db;
        stream_stop(streams[i]);
        if (aux)
            sqlite3_exec(streams[i]->db, "COMMIT", NULL, NULL, NULL);
    }
    if (sc->ov)
        sqlite3_reset(sc->ov);
    scan_free(sc);
}

/* ---- recorded checks and open violations -------------------------------- */

static int sq_violation_first_seen(struct store *s, int64_t user, const char *spec,
                                   const char *issue, int64_t *first_seen)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_FIRST_SEEN);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, issue, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "open violation");
    if (rc)
        return rc;
    *first_seen = sq_col_time(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* Grow an array of staged violations by one; NULL when out of memory. */
static struct staged_violation *stage_push(struct staged_violation **arr, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct staged_violation *p = realloc(*arr, c * sizeof *p);
        if (!p)
            return NULL;
        *arr = p;
        *cap = c;
    }
    struct staged_violation *v = &(*arr)[(*n)++];
    memset(v, 0, sizeof *v);
    return v;
}

static void stage_clear(struct stage *st)
{
    for (size_t i = 0; i < st->n_upserts; i++)
        free(st->upserts[i].email);
    free(st->upserts);
    free(st->resolved);
    memset(st, 0, sizeof *st);
}

static int sq_check_stage_reset(struct store *s)
{
    struct stage *st = &SS(s)->stage;
    stage_clear(st);
    st->open = true;
    return 0;
}

/* A violation of the check: nothing to write when it is the pair's open
 * violation unchanged; otherwise it is staged to be opened or updated. */
static int sq_check_stage_add(struct store *s, const struct violation *v, bool unchanged)
{
    struct stage *st = &SS(s)->stage;
    if (!st->open)
        return store_fail(s, STORE_ERR, "check_stage_add before check_stage_reset");
    if (unchanged)
        return 0;
    struct staged_violation *u = stage_push(&st->upserts, &st->n_upserts, &st->cap_upserts);
    if (!u || !(u->email = strdup(v->user_email))) {
        if (u)
            st->n_upserts--;
        return store_fail(s, STORE_ERR, "out of memory");
    }
    u->user = v->user_id;
    memcpy(u->spec, v->spec, sizeof u->spec);
    memcpy(u->issue, v->issue_type, sizeof u->issue);
    memcpy(u->action, v->recommended_action, sizeof u->action);
    u->has_progress = v->has_progress;
    u->has_license = v->has_license;
    u->progress_level = v->progress_level;
    u->license_level = v->license_level;
    u->first_seen = v->first_seen;
    return 0;
}

/* An open violation the check no longer finds: staged to be resolved. */
static int sq_check_stage_resolve(struct store *s, int64_t user, const char *spec,
                                  const char *issue)
{
    struct stage *st = &SS(s)->stage;
    if (!st->open)
        return store_fail(s, STORE_ERR, "check_stage_resolve before check_stage_reset");
    struct staged_violation *v = stage_push(&st->resolved, &st->n_resolved, &st->cap_resolved);
    if (!v)
        return store_fail(s, STORE_ERR, "out of memory");
    v->user = user;
    snprintf(v->spec, sizeof v->spec, "%s", spec);
    snprintf(v->issue, sizeof v->issue, "%s", issue);
    return 0;
}

static int sq_check_stage_complete(struct store *s)
{
    struct stage *st = &SS(s)->stage;
    if (!st->open)
        return store_fail(s, STORE_ERR, "check_stage_complete before check_stage_reset");
    st->complete = true;
    return 0;
}

static void bind_key(sqlite3_stmt *st, const struct staged_violation *v)
{
    sqlite3_bind_int64(st, 1, v->user);
    sqlite3_bind_text(st, 2, v->spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v->issue, -1, SQLITE_STATIC);
}

static void bind_level_or_null(sqlite3_stmt *st, int i, bool has, int level)
{
    if (has)
        sqlite3_bind_int(st, i, level);
    else
        sqlite3_bind_null(st, i);
}

static int sq_check_record(struct store *s, struct check_run *c)
{
    struct sqlite_store *ss = SS(s);
    struct stage *stg = &ss->stage;
    if (!stg->open || !stg->complete)
        return store_fail(s, STORE_ERR, "check_record needs a complete full pair scan after "
                                        "check_stage_reset");
    int rc = sq_begin(s, STORE_TXN_WRITE);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_INSERT);
    if (!st) {
        rc = STORE_ERR;
        goto out;
    }
    sq_bind_time(st, 1, c->timestamp);
    sqlite3_bind_int64(st, 2, c->total_checked);
    sqlite3_bind_int64(st, 3, c->consistent);
    sqlite3_bind_int64(st, 4, c->inconsistent);
    sqlite3_bind_double(st, 5, c->consistency_rate);
    sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->trigger, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, c->duration_ms);
    sqlite3_bind_text(st, 9, c->report_file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, c->file_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, c->users_checked);
    if ((rc = sq_exec_stmt(ss, st, "record check")) != 0)
        goto out;
    c->id = sqlite3_last_insert_rowid(ss->db);
    for (size_t i = 0; i < stg->n_resolved; i++) {
        if (!(st = sq_stmt(ss, ST_VIOLATION_RESOLVE))) {
            rc = STORE_ERR;
            goto out;
        }
        bind_key(st, &stg->resolved[i]);
        sq_bind_time(st, 4, c->timestamp);
        sqlite3_bind_int64(st, 5, c->id);
        if ((rc = sq_exec_stmt(ss, st, "resolve violation")) != 0)
            goto out;
    }
    for (size_t i = 0; i < stg->n_upserts; i++) {
        const struct staged_violation *v = &stg->upserts[i];
        if (!(st = sq_stmt(ss, ST_VIOLATION_UPDATE_OPEN))) {
            rc = STORE_ERR;
            goto out;
        }
        bind_key(st, v);
        sqlite3_bind_text(st, 4, v->email, -1, SQLITE_STATIC);
        bind_level_or_null(st, 5, v->has_progress, v->progress_level);
        bind_level_or_null(st, 6, v->has_license, v->license_level);
        sqlite3_bind_text(st, 7, v->action, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, c->id);
        if ((rc = sq_exec_stmt(ss, st, "update open violation")) != 0)
            goto out;
        if (sqlite3_changes(ss->db) > 0)
            continue;
        if (!(st = sq_stmt(ss, ST_VIOLATION_INSERT))) {
            rc = STORE_ERR;
            goto out;
        }
        bind_key(st, v);
        sqlite3_bind_text(st, 4, v->email, -1, SQLITE_STATIC);
        bind_level_or_null(st, 5, v->has_progress, v->progress_level);
        bind_level_or_null(st, 6, v->has_license, v->license_level);
        sqlite3_bind_text(st, 7, v->action, -1, SQLITE_STATIC);
        sq_bind_time(st, 8, v->first_seen ? v->first_seen : c->timestamp);
        sqlite3_bind_int64(st, 9, c->id);
        if ((rc = sq_exec_stmt(ss, st, "open violation")) != 0)
            goto out;
    }
    if ((rc = sq_commit(s)) == 0)
        stage_clear(stg);
    return rc;
out:
    sq_rollback(s);
    return rc;
}

static int sq_check_set_file(struct store *s, int64_t id, const char *file, const char *error)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_SET_FILE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, file ? file : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_STATIC);
    return sq_exec_stmt(ss, st, "record check file");
}

static void read_check(sqlite3_stmt *st, struct check_run *c)
{
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    c->timestamp = sq_col_time(st, 1);
    c->total_checked = sqlite3_column_int64(st, 2);
    c->consistent = sqlite3_column_int64(st, 3);
    c->inconsistent = sqlite3_column_int64(st, 4);
    c->consistency_rate = sqlite3_column_double(st, 5);
    sq_col_copy(st, 6, c->status, sizeof c->status);
    sq_col_copy(st, 7, c->trigger, sizeof c->trigger);
    c->duration_ms = sqlite3_column_double(st, 8);
    sq_col_copy(st, 9, c->report_file, sizeof c->report_file);
    sq_col_copy(st, 10, c->file_error, sizeof c->file_error);
    c->users_checked = sqlite3_column_int64(st, 11);
}

static int get_check(struct sqlite_store *ss, sqlite3_stmt *st, struct check_run *c)
{
    int rc = sq_step_one(ss, st, "check");
    if (rc)
        return rc;
    read_check(st, c);
    sqlite3_reset(st);
    return 0;
}

static int sq_check_latest(struct store *s, struct check_run *c)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_LATEST);
    return st ? get_check(ss, st, c) : STORE_ERR;
}

static int sq_check_get(struct store *s, int64_t id, struct check_run *c)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return get_check(ss, st, c);
}

/* Bind a time range as text bounds: 0 means unbounded. */
void sq_bind_range(sqlite3_stmt *st, int i, int64_t since, int64_t until)
{
    if (since)
        sq_bind_time(st, i, since);
    else
        sqlite3_bind_text(st, i, "", -1, SQLITE_STATIC);
    if (until)
        sq_bind_time(st, i + 1, until);
    else
        sqlite3_bind_text(st, i + 1, "~", -1, SQLITE_STATIC);
}

static int sq_check_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                         store_check_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_LIST);
    if (!st)
        return STORE_ERR;
    sq_bind_range(st, 1, since, until);
    sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct check_run c;
        read_check(st, &c);
        if ((out = cb(ctx, &c)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list checks");
    sqlite3_reset(st);
    return out;
}

static int each_violation(struct sqlite_store *ss, sqlite3_stmt *st, store_violation_cb cb,
                          void *ctx)
{
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct violation v;
        memset(&v, 0, sizeof v);
        v.user_id = sqlite3_column_int64(st, 0);
        sq_col_copy(st, 1, v.user_email, sizeof v.user_email);
        sq_col_copy(st, 2, v.spec, sizeof v.spec);
        sq_col_copy(st, 3, v.issue_type, sizeof v.issue_type);
        v.has_progress = sqlite3_column_type(st, 4) != SQLITE_NULL;
        v.progress_level = sqlite3_column_int(st, 4);
        v.has_license = sqlite3_column_type(st, 5) != SQLITE_NULL;
        v.license_level = sqlite3_column_int(st, 5);
        sq_col_copy(st, 6, v.recommended_action, sizeof v.recommended_action);
        v.first_seen = sq_col_time(st, 7);
        if ((out = cb(ctx, &v)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list violations");
    sqlite3_reset(st);
    return out;
}

static int sq_violations_open(struct store *s, const char *spec, store_violation_cb cb,
                              void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, spec ? ST_VIOLATIONS_OPEN_SPEC : ST_VIOLATIONS_OPEN_ALL);
    if (!st)
        return STORE_ERR;
    if (spec)
        sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    return each_violation(ss, st, cb, ctx);
}

static int sq_violations_new_since(struct store *s, int64_t since, store_violation_cb cb,
                                   void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATIONS_NEW_SINCE);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, since ? since : 1);
    return each_violation(ss, st, cb, ctx);
}

static int sq_violations_resolved_since(struct store *s, int64_t since, store_violation_cb cb,
                                        void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATIONS_RESOLVED_SINCE);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, since ? since : 1);
    return each_violation(ss, st, cb, ctx);
}

static int sq_violations_open_page(struct store *s, const char *spec, int64_t limit,
                                   int64_t offset, store_violation_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATIONS_OPEN_PAGE);
    if (!st)
        return STORE_ERR;
    if (spec)
        sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, limit);
    sqlite3_bind_int64(st, 3, offset);
    return each_violation(ss, st, cb, ctx);
}

static int sq_violations_open_count(struct store *s, const char *spec, int64_t *count)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATIONS_OPEN_COUNT);
    if (!st)
        return STORE_ERR;
    if (spec)
        sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    int rc = sq_step_one(ss, st, "count violations");
    if (rc)
        return rc;
    *count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* ---- open and close -------------------------------------------------------- */

static void sq_close(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(ss->stmts[i]);
    stage_clear(&ss->stage);
    for (int i = 0; i < 2; i++) {
        sqlite3_finalize(ss->scan_stmt[i]);
        sqlite3_close_v2(ss->scan_db[i]);
    }
    sqlite3_close_v2(ss->lock_db);
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

int store_sqlite_open(const char *path, const struct store_options *o, struct store **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    struct sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss) {
        snprintf(err, errlen, "out of memory");
        return STORE_ERR;
    }
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
        return STORE_ERR;
    }
    ss->busy_timeout_ms = o->busy_timeout_ms;
    ss->parallel_min_bytes = o->parallel_scan_min_bytes;
    snprintf(ss->path, sizeof ss->path, "%s", path);
    /* A missing file is a new store only when creating one was asked for; an
     * empty file never is (a store emptied by accident must not come back as
     * a fresh one that reports HEALTHY over nothing). */
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    if ((exists && S_ISREG(sb.st_mode) && sb.st_size == 0) ||
        (!exists && errno == ENOENT && !o->create)) {
        /* No store yet: the academy's file and the mapping are still checked
         * (doctor runs before the first migrate), on a connection of nothing. */
        sqlite3 *mem = NULL;
        int mrc = ss->attached ? sqlite3_open_v2(":memory:", &mem,
                                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL)
                               : SQLITE_OK;
        if (ss->attached && (mrc != SQLITE_OK || sq_attach_academy(ss, mem, err, errlen) != 0)) {
            if (mrc != SQLITE_OK)
                snprintf(err, errlen, "cannot check the academy's database: out of memory");
            sqlite3_close_v2(mem);
            free(ss);
            return STORE_ERR;
        }
        sqlite3_close_v2(mem);
        char where[STORE_PATH_MAX + 256];
        absolute_path(path, where, sizeof where);
        snprintf(err, errlen, "no Lockstep store at %s%s", where,
                 exists ? " (an empty file; remove it to start a new store)" : "");
        free(ss);
        return STORE_ERR_NO_STORE;
    }
    int rc = sqlite3_open_v2(path, &ss->db,
                             SQLITE_OPEN_READWRITE | (o->create ? SQLITE_OPEN_CREATE : 0) |
                                 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 ss->db ? sqlite3_errmsg(ss->db) : sqlite3_errstr(rc));
        sqlite3_close_v2(ss->db);
        free(ss);
        return STORE_ERR;
    }
    sqlite3_extended_result_codes(ss->db, 1);
    no_quoted_strings(ss->db);
    sqlite3_busy_timeout(ss->db, (int)o->busy_timeout_ms);
    if (ss->attached && (rc = sq_attach_academy(ss, ss->db, err, errlen)) != 0) {
        sq_close(&ss->base);
        if (!exists) /* a wrong mapping creates nothing */
            unlink(path);
        return rc;
    }
    if (!o->create) {
        /* Before the pragmas: another program's database is left as it is. */
        bool schema = false;
        rc = has_schema(ss, &schema);
        if (rc) {
            snprintf(err, errlen, "cannot open database %s: %s", path, store_errmsg(&ss->base));
            sq_close(&ss->base);
            return rc;
        }
        if (!schema) {
            char where[STORE_PATH_MAX + 256];
            absolute_path(path, where, sizeof where);
            snprintf(err, errlen, "no Lockstep store at %s", where);
            sq_close(&ss->base);
            return STORE_ERR_NO_STORE;
        }
    }
    /* journal_mode needs the write lock the first time; the busy timeout covers it. */
    static const char *pragmas[] = {
        "PRAGMA main.journal_mode = WAL", /* not the attached academy file's */
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA cache_size = -16000",
        "PRAGMA temp_store = MEMORY",
    };
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
        char *msg = NULL;
        rc = sqlite3_exec(ss->db, pragmas[i], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "cannot open database %s: %s", path,
                     msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            sq_close(&ss->base);
            return (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY : STORE_ERR;
        }
    }
    if (o->migrate) {
        int applied = 0;
        rc = sq_migrate(&ss->base, &applied);
        if (rc) {
            snprintf(err, errlen, "cannot migrate database %s: %s", path,
                     store_errmsg(&ss->base));
            sq_close(&ss->base);
            return rc;
        }
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
};

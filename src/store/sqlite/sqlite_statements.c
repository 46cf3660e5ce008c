/* sqlite_statements.c — every statement of the SQLite store (the SQL tables,
 * its own and an attached academy file's, naming the shared ones of
 * store/statements.h) and the helpers that prepare, bind, run and read them.
 */
#include "store/columns.h"
#include "store/domain_sql.h"
#include "store/statements.h"
#include "store/sqlite/sqlite_private.h"
#include "store/store.h"
#include "util/timeutil.h"

#include <sqlite3.h>
#include <stdio.h>

/* The statements over the domain tables are templates (store/domain_sql.h):
 * {key} is the mapped name of that table or column. */
#define SCAN_P "SELECT {progress_user}, {progress_spec}, {progress_level} FROM {progress_table}"
#define SCAN_L "SELECT {license_user}, {license_spec}, {license_level} FROM {license_table}"
#define SCAN_P_ORDER " ORDER BY {progress_user}, {progress_spec}"
#define SCAN_L_ORDER " ORDER BY {license_user}, {license_spec}"

/* [watch] mode = poll (sqlite_watch.c): the rows of a table whose updated_at
 * (T) is newer than the watermark ?1 (NULL: every row that has one),
 * compared as the column holds it: a number with the watermark's number, text
 * with its text. */
#define POLL_WHERE(T)                                                                  \
    " WHERE " T " IS NOT NULL AND (?1 IS NULL OR " T " > CASE WHEN typeof(" T ")"     \
    " IN ('integer', 'real') THEN CAST(?1 AS NUMERIC) ELSE ?1 END)"
/* The newest of them as the watermark's text (a real with every digit, so
 * that the comparison above stays exact); NULL: none. */
#define POLL_MAX(TABLE, T)                                                             \
    "SELECT CASE typeof(m) WHEN 'real' THEN printf('%!.17g', m) ELSE CAST(m AS TEXT) END " \
    "FROM (SELECT max(" T ") AS m FROM " TABLE POLL_WHERE(T) ")"
/* Their keys as change rows; changed_at from T (text: a date SQLite reads;
 * a number: seconds, or milliseconds when that large), else the poll's ?2. */
#define POLL_INSERT(TABLE, USER, SPEC, T)                                              \
    "INSERT INTO pair_changes(user_id, specialization, delta, changed_at) "           \
    "SELECT " USER ", " SPEC ", 0, coalesce(CASE WHEN typeof(" T ") IN ('integer', 'real') " \
    "THEN CASE WHEN " T " > 100000000000 THEN " T " / 1000.0 ELSE " T " * 1.0 END "   \
    "ELSE (julianday(" T ") - 2440587.5) * 86400.0 END, ?2) FROM " TABLE POLL_WHERE(T)

/* A VALUES row written out n times, comma separated. */
#define TIMES2(r) r ", " r
#define TIMES8(r) TIMES2(TIMES2(TIMES2(r)))
#define TIMES32(r) TIMES2(TIMES2(TIMES8(r)))
#define TIMES64(r) TIMES2(TIMES32(r))

static const char *const stmt_sql[ST_COUNT] = {
    [ST_USER_INSERT] = STMT_USER_INSERT,
    [ST_USER_GET] = STMT_USER_GET,
    [ST_USER_GET_EMAIL] = STMT_USER_GET_EMAIL,
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
    [ST_USER_EMAIL] = STMT_USER_EMAIL,
    [ST_USER_EMAILS_MANY] = "SELECT {users_id}, {users_email} FROM {users_table} "
                            "WHERE {users_id} IN (" TIMES64("?") ")",
    /* The same for users close together (sq_ids_dense): the users ?1 to ?2. */
    [ST_USER_EMAILS_RANGE] = "SELECT {users_id}, {users_email} FROM {users_table} "
                             "WHERE {users_id} BETWEEN ?1 AND ?2",
    [ST_SPEC_INSERT] = STMT_SPEC_INSERT,
    [ST_SPEC_GET] = STMT_SPEC_GET,
    [ST_SPEC_LIST] = STMT_SPEC_LIST,
    [ST_SPEC_IDS] = "SELECT id, {specs_max_levels} FROM {specs_table} ORDER BY id",
    [ST_SPEC_LEVEL_XP] = STMT_SPEC_LEVEL_XP,
    [ST_PROGRESS_GET] = STMT_PROGRESS_GET,
    [ST_PROGRESS_INSERT] = STMT_PROGRESS_INSERT,
    [ST_PROGRESS_UPDATE] = STMT_PROGRESS_UPDATE,
    [ST_LICENSE_GET] = STMT_LICENSE_GET,
    [ST_LICENSE_INSERT] = STMT_LICENSE_INSERT,
    [ST_LICENSE_UPDATE] = STMT_LICENSE_UPDATE,
    [ST_PROGRESSION_INSERT] = STMT_PROGRESSION_INSERT,
    [ST_PROGRESSION_COUNT] = STMT_PROGRESSION_COUNT,
    [ST_USER_PROGRESS_ROWS] = "SELECT " PROGRESS_COLS " FROM {progress_table} "
                              "WHERE {progress_user} = ?1 ORDER BY {progress_spec}",
    [ST_USER_LICENSE_ROWS] = "SELECT " LICENSE_COLS " FROM {license_table} "
                             "WHERE {license_user} = ?1 ORDER BY {license_spec}",
    [ST_PROBE] = STMT_PROBE,
    [ST_SCAN_P_ALL] = SCAN_P SCAN_P_ORDER,
    [ST_SCAN_P_USER] = SCAN_P " WHERE {progress_user} = ?1" SCAN_P_ORDER,
    [ST_SCAN_P_SPEC] = SCAN_P " WHERE {progress_spec} = ?2" SCAN_P_ORDER,
    [ST_SCAN_P_USER_SPEC] = SCAN_P " WHERE {progress_user} = ?1 AND {progress_spec} = ?2",
    [ST_SCAN_L_ALL] = SCAN_L SCAN_L_ORDER,
    [ST_SCAN_L_USER] = SCAN_L " WHERE {license_user} = ?1" SCAN_L_ORDER,
    [ST_SCAN_L_SPEC] = SCAN_L " WHERE {license_spec} = ?2" SCAN_L_ORDER,
    [ST_SCAN_L_USER_SPEC] = SCAN_L " WHERE {license_user} = ?1 AND {license_spec} = ?2",
    [ST_VIOLATION_FIRST_SEEN] = STMT_VIOLATION_FIRST_SEEN,
    [ST_CHECK_INSERT] = STMT_CHECK_INSERT,
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
    [ST_CHECK_SET_FILE] = STMT_CHECK_SET_FILE,
    [ST_CHECK_LATEST] = STMT_CHECK_LATEST,
    [ST_CHECK_GET] = STMT_CHECK_GET,
    [ST_CHECK_LIST] = "SELECT " CHECK_COLS " FROM check_runs WHERE timestamp >= ?1 "
                      "AND timestamp < ?2 ORDER BY timestamp DESC, id DESC LIMIT ?3",
    [ST_WATCH_STATE_GET] = STMT_WATCH_STATE_GET,
    [ST_WATCH_PENDING] = STMT_WATCH_PENDING,
    /* The first ?1 pending rows above ?2 (a range of the table's rowids),
     * then the other rows of their users, SQ_CHANGE_USERS_MANY users at a
     * time: those above the last of them (?65) or at or below ?2 (?66), read
     * from the user index without the rows they skip (sqlite_watch.c). */
    [ST_WATCH_CHANGES] = "SELECT id, user_id, specialization, delta, changed_at FROM pair_changes "
                         "WHERE id > ?2 ORDER BY id LIMIT ?1",
    [ST_WATCH_CHANGES_OF_MANY] =
        "SELECT id, user_id, specialization, delta, changed_at FROM pair_changes WHERE user_id "
        "IN (" TIMES64("?") ") AND (id > ?65 OR id <= ?66) ORDER BY id",
    /* The same for users close together (sq_ids_dense): every row of the
     * users ?1 to ?2 (those of users not in the batch are dropped as read),
     * at most ?5 of them. */
    [ST_WATCH_CHANGES_OF_RANGE] =
        "SELECT id, user_id, specialization, delta, changed_at FROM pair_changes "
        "INDEXED BY pair_changes_user WHERE user_id BETWEEN ?1 AND ?2 AND (id > ?3 OR id <= ?4) "
        "LIMIT ?5",
    [ST_VIOLATION_RESOLVE_OTHER] = STMT_VIOLATION_RESOLVE_OTHER,
    [ST_USER_ROWS] = STMT_USER_ROWS,
    [ST_WATCH_DELETE] = "DELETE FROM pair_changes WHERE id BETWEEN ?1 AND ?2",
    /* A watcher batch's pairs: its keys in a temporary table, each side read
     * by one join in key order (CROSS JOIN keeps the keys the outer loop:
     * a seek per key, never a scan of the table). */
    [ST_WATCH_KEY_INSERT] = "INSERT OR IGNORE INTO temp.lockstep_watch_keys(ku, ks) VALUES (?1, ?2)",
    [ST_WATCH_KEY_INSERT_MANY] = "INSERT OR IGNORE INTO temp.lockstep_watch_keys(ku, ks) VALUES "
                                 TIMES64("(?, ?)"),
    /* SQ_VIOLATIONS_MANY rows of ST_VIOLATION_INSERT's columns, eight
     * parameters each (no check named: the ids are 0). */
    [ST_VIOLATION_INSERT_MANY] =
        "INSERT INTO violations(user_id, specialization, issue_type, user_email, "
        "progress_level, license_level, recommended_action, first_seen, first_check_id, "
        "last_check_id) VALUES " TIMES32("(?, ?, ?, ?, ?, ?, ?, ?, 0, 0)"),
    /* SQ_VIOLATIONS_MANY open violations resolved at ?1 (no check named),
     * by id: each its pair's only open one (found without a seek through
     * violations_open by the pair). */
    [ST_VIOLATION_RESOLVE_MANY] =
        "UPDATE violations SET resolved_at = ?1, resolved_check_id = NULL WHERE id IN ("
        TIMES32("?") ") AND resolved_at IS NULL",
    /* SQ_VIOLATIONS_MANY open violations updated in place (no check named),
     * by id, as VALUES rows (id, email, progress level, license level,
     * action). */
    [ST_VIOLATION_UPDATE_OPEN_MANY] =
        "UPDATE violations SET user_email = x.column2, progress_level = x.column3, "
        "license_level = x.column4, recommended_action = x.column5, last_check_id = 0 "
        "FROM (VALUES " TIMES32("(?, ?, ?, ?, ?)") ") AS x WHERE "
        "violations.id = x.column1 AND violations.resolved_at IS NULL",
    [ST_WATCH_KEYS_PROGRESS] =
        "SELECT k.ku, k.ks, p.{progress_level} FROM temp.lockstep_watch_keys k CROSS JOIN "
        "{progress_table} p ON p.{progress_user} = k.ku AND p.{progress_spec} = k.ks "
        "ORDER BY k.ku, k.ks",
    [ST_WATCH_KEYS_LICENSE] =
        "SELECT k.ku, k.ks, l.{license_level} FROM temp.lockstep_watch_keys k CROSS JOIN "
        "{license_table} l ON l.{license_user} = k.ku AND l.{license_spec} = k.ks "
        "ORDER BY k.ku, k.ks",
    /* The pair's open violation: one at most (the watcher and the check
     * keep one); by issue type should there be more. Brief: its id and issue
     * type, all in violations_open (ST_VIOLATION_DETAILS_MANY reads the rest
     * of those a batch needs). */
    [ST_WATCH_KEYS_OPEN] =
        "SELECT k.ku, k.ks, v.id, v.issue_type "
        "FROM temp.lockstep_watch_keys k CROSS JOIN violations v ON v.user_id = k.ku "
        "AND v.specialization = k.ks AND v.resolved_at IS NULL ORDER BY k.ku, k.ks, v.issue_type",
    /* The rest of SQ_DETAILS_MANY open violations, by id (the rest NULL). */
    [ST_VIOLATION_DETAILS_MANY] =
        "SELECT id, user_email, progress_level, license_level, recommended_action, first_seen "
        "FROM violations WHERE id IN (" TIMES64("?") ") AND resolved_at IS NULL",
    /* The same three read as ranges of users, ?1 to ?2, for a batch whose
     * users lie close together (sqlite_watch.c): rows of other users in
     * between are skipped. The key order is the temporary table's, BINARY. */
    [ST_WATCH_RANGE_PROGRESS] =
        "SELECT {progress_user}, {progress_spec}, {progress_level} FROM {progress_table} "
        "WHERE {progress_user} BETWEEN ?1 AND ?2 "
        "ORDER BY {progress_user}, {progress_spec} COLLATE BINARY",
    [ST_WATCH_RANGE_LICENSE] =
        "SELECT {license_user}, {license_spec}, {license_level} FROM {license_table} "
        "WHERE {license_user} BETWEEN ?1 AND ?2 "
        "ORDER BY {license_user}, {license_spec} COLLATE BINARY",
    [ST_WATCH_RANGE_OPEN] =
        "SELECT user_id, specialization, id, issue_type FROM violations "
        "WHERE user_id BETWEEN ?1 AND ?2 AND resolved_at IS NULL "
        "ORDER BY user_id, specialization, issue_type",
    [ST_WATCH_ADVANCE] = STMT_WATCH_ADVANCE,
    [ST_WATCH_RESET] = STMT_WATCH_RESET,
    [ST_WATCH_MARKS_SET] = STMT_WATCH_MARKS_SET,
    [ST_WATCH_MAX_P] = POLL_MAX("{progress_table}", "{progress_updated_at}"),
    [ST_WATCH_MAX_L] = POLL_MAX("{license_table}", "{license_updated_at}"),
    [ST_WATCH_POLL_P] = POLL_INSERT("{progress_table}", "{progress_user}", "{progress_spec}",
                                    "{progress_updated_at}"),
    [ST_WATCH_POLL_L] = POLL_INSERT("{license_table}", "{license_user}", "{license_spec}",
                                    "{license_updated_at}"),
    [ST_VIOLATIONS_OPEN_ALL] = STMT_VIOLATIONS_OPEN_ALL,
    [ST_VIOLATIONS_OPEN_SPEC] = STMT_VIOLATIONS_OPEN_SPEC,
    [ST_VIOLATIONS_NEW_SINCE] = STMT_VIOLATIONS_NEW_SINCE,
    [ST_VIOLATIONS_RESOLVED_SINCE] = STMT_VIOLATIONS_RESOLVED_SINCE,
    [ST_VIOLATIONS_OPEN_PAGE] = STMT_VIOLATIONS_OPEN_PAGE,
    [ST_VIOLATIONS_OPEN_COUNT] = "SELECT count(*) FROM violations WHERE resolved_at IS NULL "
                                 "AND (?1 IS NULL OR specialization = ?1)",
    [ST_SYNC_RUN_INSERT] = STMT_SYNC_RUN_INSERT,
    [ST_SYNC_RUN_LIST] = "SELECT " SYNC_COLS " FROM sync_runs WHERE started_at >= ?1 "
                         "ORDER BY started_at, id",
    [ST_SYNC_RUN_COUNT] = STMT_SYNC_RUN_COUNT,
    [ST_SYNC_RUN_FINISH] = STMT_SYNC_RUN_FINISH,
    [ST_SYNC_RUN_RUNNING] = STMT_SYNC_RUN_RUNNING,
    [ST_AUDIT_INSERT] = STMT_AUDIT_INSERT,
    [ST_REFRESH_INSERT] = STMT_REFRESH_INSERT,
    [ST_REFRESH_GET] = STMT_REFRESH_GET,
    [ST_REFRESH_MARK_USED] = STMT_REFRESH_MARK_USED,
    [ST_REFRESH_REVOKE_FAMILY] = STMT_REFRESH_REVOKE_FAMILY,
    [ST_REFRESH_REVOKE_USER] = STMT_REFRESH_REVOKE_USER,
    [ST_SCHED_START_INSERT] = STMT_SCHED_START_INSERT,
    [ST_SCHED_FIRST_START] = "SELECT min(started_at) FROM scheduler_starts WHERE scheduler = 1",
    [ST_SCHED_LAST_START] = "SELECT started_at, owner FROM scheduler_starts "
                            "WHERE scheduler = 1 ORDER BY id DESC LIMIT 1",
    [ST_SCHED_START_LIST] = "SELECT id, started_at, owner, scheduler, check_interval, "
                            "sync_interval, check_misfire_grace, sync_misfire_grace "
                            "FROM scheduler_starts WHERE started_at < ?2 AND (started_at > ?1 "
                            "OR id = (SELECT id FROM scheduler_starts WHERE scheduler = 1 "
                            "AND started_at <= ?1 ORDER BY started_at DESC, id DESC LIMIT 1)) "
                            "ORDER BY started_at, id",
    [ST_JOB_RUN_INSERT] = STMT_JOB_RUN_INSERT,
    [ST_JOB_RUN_FINISH] = STMT_JOB_RUN_FINISH,
    [ST_JOB_RUNS_INTERRUPT] = STMT_JOB_RUNS_INTERRUPT,
    [ST_JOB_RUN_STATS] = "SELECT status, count(*) FROM job_runs WHERE job_id = ?1 "
                         "AND due_at >= ?2 AND due_at < ?3 GROUP BY status",
    [ST_JOB_RUN_LAST] = STMT_JOB_RUN_LAST,
    [ST_JOB_RUN_LAST_SUCCESS] = STMT_JOB_RUN_LAST_SUCCESS,
    [ST_JOB_RUN_LIST] = "SELECT " JOB_COLS " FROM job_runs WHERE (?1 IS NULL OR job_id = ?1) "
                        "AND due_at >= ?2 AND due_at < ?3 ORDER BY due_at DESC, id DESC "
                        "LIMIT ?4",
    [ST_JOB_RUN_LAST_DUE] = STMT_JOB_RUN_LAST_DUE,
    [ST_BASELINE_INSERT] = STMT_BASELINE_INSERT,
    [ST_BASELINE_GET] = STMT_BASELINE_GET,
    [ST_BASELINE_LATEST] = STMT_BASELINE_LATEST,
    [ST_BASELINE_LIST] = STMT_BASELINE_LIST,
    [ST_BASELINE_SET_FILE] = STMT_BASELINE_SET_FILE,
    [ST_ALERT_INSERT] = STMT_ALERT_INSERT,
    [ST_ALERT_UPDATE] = STMT_ALERT_UPDATE,
    [ST_ALERT_LIST_ACTIVE] = STMT_ALERT_LIST_ACTIVE,
    [ST_ALERT_LIST_ALL] = STMT_ALERT_LIST_ALL,
    [ST_SILENCE_INSERT] = STMT_SILENCE_INSERT,
    [ST_SILENCE_LIST_AT] = STMT_SILENCE_LIST_AT,
    [ST_SILENCE_LIST_ALL] = STMT_SILENCE_LIST_ALL,
    [ST_SILENCE_DELETE] = STMT_SILENCE_DELETE,
    [ST_DELIVERY_INSERT] = STMT_DELIVERY_INSERT,
    [ST_DELIVERY_UPDATE] = STMT_DELIVERY_UPDATE,
    [ST_DELIVERY_DUE] = STMT_DELIVERY_DUE,
    [ST_DELIVERY_LIST] = STMT_DELIVERY_LIST,
    [ST_DELIVERY_NEXT_DUE] = STMT_DELIVERY_NEXT_DUE,
    [ST_ATTEMPT_INSERT] = STMT_ATTEMPT_INSERT,
    [ST_ATTEMPT_LIST] = STMT_ATTEMPT_LIST,
};

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
    [ST_PROGRESS_INSERT] = STMT_PROGRESS_INSERT_ATTACHED,
    [ST_PROGRESS_UPDATE] = STMT_PROGRESS_UPDATE_ATTACHED,
    [ST_LICENSE_GET] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                       "WHERE {license_user} = ?1 AND {license_spec} = ?2",
    [ST_LICENSE_INSERT] = STMT_LICENSE_INSERT_ATTACHED,
    [ST_LICENSE_UPDATE] = STMT_LICENSE_UPDATE_ATTACHED,
    [ST_PROGRESSION_INSERT] = STMT_PROGRESSION_INSERT_ATTACHED,
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
const char *sq_sql_text(struct sqlite_store *ss, enum stmt_id id)
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
    const char *text = sq_sql_text(ss, id);
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

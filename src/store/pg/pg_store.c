/* pg_store.c — the scale-out store: store.h implemented on PostgreSQL (libpq).
 *
 * Every statement is prepared once per connection and run with text
 * parameters; timestamps travel as ISO 8601 text in UTC. A lost connection
 * answers STORE_ERR_UNAVAILABLE and is re-established by the next call, so a
 * database restart under a running server needs no restart of Lockstep. */
#include "model/pair.h"
#include "store/columns.h"
#include "store/domain_sql.h"
#include "store/pg/pg_lease.h"
#include "store/pg/pg_private.h"
#include "store/pg/pg_schema.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_FETCH 16384
/* The most parameters a statement may take: a statement that needs more is
 * refused when prepared, with the reason, never run with some unbound. */
/* Staged violations go to the session's stage table this many at a time, so
 * a check holds at most one batch of them in memory however many it finds. */
#define STAGE_BATCH 4096
#define STAGE_TABLE "lockstep_check_stage"


#define STRINGIFY(x) #x
#define NUMBER_TEXT(x) STRINGIFY(x)

/* The pair scan: one FULL OUTER JOIN of both tables on (user, specialization)
 * read through a cursor. The where clauses restrict each side before the
 * join, so a filtered scan is an index range on both sides whatever plan is
 * cached (one prepared statement per filter shape). Each side is grouped by
 * its key first (a stream over the index, in order): a pair has one row per
 * side whatever the table holds, with the number of rows when more than one
 * (duplicate_rows; NULL otherwise, so the common row carries nothing more).
 * A full scan over tables that both keep a unique index on the pair's key
 * (Q_SCAN_PLAN asks the catalog, in the scan's transaction) reads the rows
 * as they are instead (Q_SCAN_ALL_KEYED).
 * The specialization's max_levels comes from two arrays read once per query
 * (an init plan), not a lookup per pair. The email and first_seen are looked
 * up only for inconsistent pairs: first_seen of the open violation of the
 * pair's current issue type. Which pairs are inconsistent, and their issue
 * type, is the coupling rule of model/pair.c written out as SQL
 * (pair_sql_issue, the ISSUE argument, over the columns of y). OFFSET 0 keeps
 * each level a level of its own, so the rule is evaluated once per pair. A
 * template (store/domain_sql.h): each side is read through the mapped names
 * and renamed to domain.md's. */
#define SCAN_FORMAT                                                                      \
    "DECLARE lockstep_pairs NO SCROLL CURSOR FOR "                                       \
    "SELECT x.u, x.sp, x.pk IS NOT NULL, x.lk IS NOT NULL, x.pl, x.ll, x.pn, x.ln, x.mx, " \
    "CASE WHEN x.issue IS NOT NULL THEN "                                                \
    " (SELECT u.{users_email} FROM {users_table} u WHERE u.{users_id} = x.u) END, "      \
    "CASE WHEN x.issue IS NOT NULL THEN "                                                \
    " (SELECT (extract(epoch FROM v.first_seen) * 1000000)::bigint FROM violations v "   \
    "  WHERE v.user_id = x.u AND v.specialization = x.sp AND v.issue_type = x.issue "    \
    "  AND v.resolved_at IS NULL) END "                                                  \
    "FROM (SELECT y.*, %1$s AS issue FROM ("                                             \
    "SELECT coalesce(p.student_id, l.user_id) AS u, "                                    \
    "coalesce(p.specialization_id, l.specialization_type) AS sp, "                       \
    "p.student_id AS pk, l.user_id AS lk, p.lvl AS pl, l.lvl AS ll, p.n AS pn, l.n AS ln, " \
    "%4$s AS mx "                                                                         \
    "FROM (%2$s) p FULL JOIN (%3$s) l "                                                 \
    "ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id "      \
    "OFFSET 0) y OFFSET 0) x"

/* Each side of the join, grouped by its key (duplicates counted), or as its
 * rows when the table's unique key makes a group of one certain (the full
 * scan's fast path: grouping a million rows costs about as much as the join).
 * The argument is the side's where clause. */
#define SIDE_PROGRESS_GROUPED                                                          \
    "SELECT {progress_user} AS student_id, {progress_spec} AS specialization_id, "    \
    "min({progress_level}) AS lvl, nullif(count(*), 1) AS n FROM {progress_table}%s "  \
    "GROUP BY {progress_user}, {progress_spec}"
#define SIDE_LICENSE_GROUPED                                                           \
    "SELECT {license_user} AS user_id, {license_spec} AS specialization_type, "       \
    "min({license_level}) AS lvl, nullif(count(*), 1) AS n FROM {license_table}%s "    \
    "GROUP BY {license_user}, {license_spec}"
#define SIDE_PROGRESS_KEYED                                                            \
    "SELECT {progress_user} AS student_id, {progress_spec} AS specialization_id, "    \
    "{progress_level} AS lvl, NULL::bigint AS n FROM {progress_table}%s"
#define SIDE_LICENSE_KEYED                                                             \
    "SELECT {license_user} AS user_id, {license_spec} AS specialization_type, "       \
    "{license_level} AS lvl, NULL::bigint AS n FROM {license_table}%s"

/* The maximum level of the pair's specialization (NULL: not known), from the
 * specializations table's column (own mode, or an attached table that keeps
 * one): two arrays read once per query (an init plan), not a lookup per
 * pair. An attached database without the column gets its limits from
 * [levels], written into the statement as two constant arrays (ids of
 * [A-Z0-9_] and numbers only: see domain_map_set_level). */
#define MAX_FROM_SPECS                                                                   \
    "(SELECT array_agg({specs_max_levels} ORDER BY id::text) FROM {specs_table})"          \
    "[array_position((SELECT array_agg(id::text ORDER BY id::text) FROM {specs_table}), " \
    "coalesce(p.specialization_id, l.specialization_type)::text)]"

/* An attached database's tables are another application's: their key columns
 * may be of any type that reads as text (varchar, an enum) and of any
 * collation. Each side reads them as text in the "C" collation, so the merge
 * is bytewise whatever the database's collation (attach.md, rule 6); the
 * grouping sorts them so (an index of the table in another collation cannot
 * give that order). */
#define SIDE_PROGRESS_GROUPED_ATTACHED                                                   \
    "SELECT {progress_user}::bigint AS student_id, "                                      \
    "{progress_spec}::text COLLATE \"C\" AS specialization_id, "                          \
    "min({progress_level})::bigint AS lvl, nullif(count(*), 1) AS n FROM {progress_table}%s " \
    "GROUP BY 1, 2"
#define SIDE_LICENSE_GROUPED_ATTACHED                                                    \
    "SELECT {license_user}::bigint AS user_id, "                                          \
    "{license_spec}::text COLLATE \"C\" AS specialization_type, "                         \
    "min({license_level})::bigint AS lvl, nullif(count(*), 1) AS n FROM {license_table}%s " \
    "GROUP BY 1, 2"
#define SIDE_PROGRESS_KEYED_ATTACHED                                                     \
    "SELECT {progress_user}::bigint AS student_id, "                                      \
    "{progress_spec}::text COLLATE \"C\" AS specialization_id, "                          \
    "{progress_level}::bigint AS lvl, NULL::bigint AS n FROM {progress_table}%s"
#define SIDE_LICENSE_KEYED_ATTACHED                                                      \
    "SELECT {license_user}::bigint AS user_id, "                                          \
    "{license_spec}::text COLLATE \"C\" AS specialization_type, "                         \
    "{license_level}::bigint AS lvl, NULL::bigint AS n FROM {license_table}%s"

/* The columns of y the rule reads. */
static const struct pair_sql_columns scan_columns = {
    .progress_row = "y.pk",
    .license_row = "y.lk",
    .progress_level = "y.pl",
    .license_level = "y.ll",
    .progress_rows = "y.pn",
    .license_rows = "y.ln",
    .max_level = "y.mx",
};

static const char *const sql[Q_COUNT] = {
    [Q_USER_INSERT] = "INSERT INTO users(name, email, password_hash, role, is_active, "
                      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    [Q_USER_GET] = "SELECT " USER_COLS " FROM users WHERE id = $1",
    /* Without regard to case: an address another program stored with capitals
     * is found too; an exact match first if case alone tells two apart. */
    [Q_USER_GET_EMAIL] = "SELECT " USER_COLS " FROM users WHERE lower(email) = lower($1) "
                         "ORDER BY email = $1 DESC, id LIMIT 1",
    /* Only the columns a change sets; tokens_valid_after only ever rises. */
    [Q_USER_UPDATE] = "UPDATE users SET name = coalesce($2::text, name), "
                      "password_hash = coalesce($3::text, password_hash), "
                      "role = coalesce($4::text, role), "
                      "is_active = CASE WHEN $5::int < 0 THEN is_active ELSE $5::int = 1 END, "
                      "updated_at = coalesce($6::timestamptz, updated_at), "
                      "tokens_valid_after = greatest(tokens_valid_after, $7::timestamptz) "
                      "WHERE id = $1",
    [Q_USER_LIST] = "SELECT " USER_COLS " FROM users WHERE ($1::text IS NULL OR role = $1) "
                    "AND ($2::int < 0 OR is_active = ($2::int = 1)) AND ($3::text IS NULL "
                    "OR strpos(lower(name), lower($3)) > 0 OR strpos(lower(email), lower($3)) > 0) "
                    "ORDER BY id LIMIT $4 OFFSET $5",
    [Q_USER_COUNT] = "SELECT count(*) FROM users WHERE ($1::text IS NULL OR role = $1) "
                     "AND ($2::int = 0 OR is_active)",
    /* The statements over the domain tables are templates (store/domain_sql.h):
     * {key} is the mapped name of that table or column. */
    [Q_USER_EMAIL] = "SELECT {users_email} FROM {users_table} WHERE {users_id} = $1",
    [Q_SPEC_INSERT] = "INSERT INTO {specs_table}(id, name, {specs_max_levels}, is_active, "
                      "created_at) VALUES ($1, $2, $3, $4, $5)",
    [Q_SPEC_GET] = "SELECT id, name, {specs_max_levels}, is_active, created_at "
                   "FROM {specs_table} WHERE id = $1",
    [Q_SPEC_LIST] = "SELECT id, name, {specs_max_levels}, is_active, created_at "
                    "FROM {specs_table} ORDER BY id",
    [Q_SPEC_LEVEL_XP] = "SELECT xp_required FROM specialization_level_thresholds "
                        "WHERE specialization_id = $1 AND level = $2",
    [Q_PROGRESS_GET] = "SELECT " PROGRESS_COLS " FROM {progress_table} "
                       "WHERE {progress_user} = $1 AND {progress_spec} = $2",
    [Q_PROGRESS_GET_LOCK] = "SELECT " PROGRESS_COLS " FROM {progress_table} "
                            "WHERE {progress_user} = $1 AND {progress_spec} = $2 FOR UPDATE",
    /* Taken by a writer that found a pair's row missing: see lock_or_claim.
     * $1: 1 progress, 2 license (the two-key advisory lock space, apart from
     * the one-key locks of migrations and alert evaluations). */
    [Q_CREATE_CLAIM] = "SELECT pg_advisory_xact_lock($1::int, hashtext($2::text || ':' || $3))",
    [Q_PROGRESS_INSERT] =
        "INSERT INTO {progress_table}({progress_user}, {progress_spec}, {progress_level}, "
        "total_xp, completed_sessions, completed_projects, theory_hours_completed, "
        "practice_hours_completed, last_activity, created_at, {progress_updated_at}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    [Q_PROGRESS_UPDATE] =
        "UPDATE {progress_table} SET {progress_level} = $2, total_xp = $3, "
        "completed_sessions = $4, completed_projects = $5, theory_hours_completed = $6, "
        "practice_hours_completed = $7, last_activity = $8, {progress_updated_at} = $9 "
        "WHERE id = $1",
    [Q_LICENSE_GET] = "SELECT " LICENSE_COLS " FROM {license_table} "
                      "WHERE {license_user} = $1 AND {license_spec} = $2",
    [Q_LICENSE_GET_LOCK] = "SELECT " LICENSE_COLS " FROM {license_table} "
                           "WHERE {license_user} = $1 AND {license_spec} = $2 FOR UPDATE",
    [Q_LICENSE_INSERT] =
        "INSERT INTO {license_table}({license_user}, {license_spec}, {license_level}, "
        "{license_max_level}, {license_started_at}, last_advanced_at, created_at, "
        "{license_updated_at}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    [Q_LICENSE_UPDATE] = "UPDATE {license_table} SET {license_level} = $2, "
                         "{license_max_level} = $3, last_advanced_at = $4, "
                         "{license_updated_at} = $5 WHERE id = $1",
    [Q_PROGRESSION_INSERT] =
        "INSERT INTO {progressions_table}(user_license_id, from_level, to_level, advanced_by, "
        "advancement_reason, advanced_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [Q_PROGRESSION_COUNT] = "SELECT count(*) FROM {progressions_table} "
                            "WHERE user_license_id = $1",
    [Q_USER_PAIRS] =
        "SELECT p.id, p.{progress_user}, p.{progress_spec}, p.{progress_level}, p.total_xp, "
        "p.completed_sessions, p.completed_projects, p.theory_hours_completed, "
        "p.practice_hours_completed, p.last_activity, p.created_at, p.{progress_updated_at}, "
        "l.id, l.{license_user}, l.{license_spec}, l.{license_level}, l.{license_max_level}, "
        "l.{license_started_at}, l.last_advanced_at, l.created_at, l.{license_updated_at} "
        "FROM (SELECT * FROM {progress_table} WHERE {progress_user} = $1) p "
        "FULL JOIN (SELECT * FROM {license_table} WHERE {license_user} = $1) l "
        "ON l.{license_spec} = p.{progress_spec} "
        "ORDER BY coalesce(p.{progress_spec}, l.{license_spec})",
    /* A merge join over the two covering (user, specialization, level)
     * indexes returns the pairs in pair order without sorting them all first
     * (the planner cannot see that a full join's merge output is ordered, so
     * an ORDER BY would add a sort of every pair); hash and nested-loop joins
     * would not. pair_scan_next verifies the order. */
    /* What /readyz and doctor see: schema version, accounts, any pair, the
     * size of the last check. */
    [Q_PROBE] = "SELECT coalesce(max(version), 0), (SELECT count(*) FROM users), "
                "EXISTS (SELECT 1 FROM {progress_table}) OR "
                "EXISTS (SELECT 1 FROM {license_table}), "
                "coalesce((SELECT total_checked FROM check_runs ORDER BY id DESC LIMIT 1), -1) "
                "FROM schema_migrations",
    [Q_SCAN_PLAN] = "SELECT set_config('enable_hashjoin', 'off', true), "
                    "set_config('enable_nestloop', 'off', true), "
                    "set_config('enable_hashagg', 'off', true), "
                    /* Whether both tables have a valid unique index whose key
                     * columns are among the pair's two: then no pair has two
                     * rows of a table, and the full scan need not group. The
                     * tables by their rows' tableoid (an empty table: not
                     * known, grouped), the column names bound ($1-$4). */
                    "(SELECT count(*) = 2 FROM (VALUES "
                    "((SELECT tableoid FROM {progress_table} LIMIT 1), $1::text, $2::text), "
                    "((SELECT tableoid FROM {license_table} LIMIT 1), $3::text, $4::text)) "
                    "AS t(rel, u, s) "
                    "WHERE EXISTS (SELECT 1 FROM pg_index i "
                    " WHERE i.indrelid = t.rel AND i.indisunique AND i.indisvalid "
                    " AND i.indpred IS NULL AND i.indexprs IS NULL AND NOT EXISTS ("
                    "  SELECT 1 FROM generate_series(0, i.indnkeyatts - 1) k "
                    "  WHERE i.indkey[k] NOT IN (SELECT a.attnum FROM pg_attribute a "
                    "   WHERE a.attrelid = i.indrelid AND a.attname IN (t.u, t.s)))))",
    /* Q_SCAN_ALL … Q_SCAN_ALL_KEYED: scan_template() */
    [Q_SCAN_FETCH] = "FETCH FORWARD " NUMBER_TEXT(SCAN_FETCH) " FROM lockstep_pairs",
    [Q_SCAN_CLOSE] = "CLOSE lockstep_pairs",
    [Q_VIOLATION_FIRST_SEEN] = "SELECT first_seen FROM violations WHERE user_id = $1 AND "
                               "specialization = $2 AND issue_type = $3 AND resolved_at IS NULL",
    [Q_CHECK_INSERT] =
        "INSERT INTO check_runs(timestamp, total_checked, consistent, inconsistent, "
        "consistency_rate, status, trigger, duration_ms, report_file, file_error, users_checked) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    [Q_VIOLATIONS_RESOLVE] =
        "UPDATE violations v SET resolved_at = $1, resolved_check_id = $2 "
        "WHERE v.resolved_at IS NULL AND NOT EXISTS (SELECT 1 FROM " STAGE_TABLE " s "
        "WHERE s.user_id = v.user_id AND s.specialization = v.specialization "
        "AND s.issue_type = v.issue_type)",
    [Q_VIOLATIONS_TOUCH] =
        "UPDATE violations v SET last_check_id = $1, user_email = s.user_email, "
        "progress_level = s.progress_level, license_level = s.license_level, "
        "recommended_action = s.recommended_action FROM " STAGE_TABLE " s "
        "WHERE v.resolved_at IS NULL AND s.user_id = v.user_id "
        "AND s.specialization = v.specialization AND s.issue_type = v.issue_type "
        "AND (v.user_email, v.progress_level, v.license_level, v.recommended_action) "
        "IS DISTINCT FROM (s.user_email, s.progress_level, s.license_level, "
        "s.recommended_action)",
    [Q_VIOLATIONS_OPEN_NEW] =
        "INSERT INTO violations(user_id, specialization, issue_type, user_email, "
        "progress_level, license_level, recommended_action, first_seen, first_check_id, "
        "last_check_id) SELECT s.user_id, s.specialization, s.issue_type, s.user_email, "
        "s.progress_level, s.license_level, s.recommended_action, "
        "coalesce(s.first_seen, $2::timestamptz), $1, $1 "
        "FROM " STAGE_TABLE " s WHERE NOT EXISTS (SELECT 1 FROM violations v "
        "WHERE v.resolved_at IS NULL AND v.user_id = s.user_id "
        "AND v.specialization = s.specialization AND v.issue_type = s.issue_type)",
    [Q_CHECK_SET_FILE] = "UPDATE check_runs SET report_file = $2, file_error = $3 WHERE id = $1",
    [Q_CHECK_LATEST] = "SELECT " CHECK_COLS " FROM check_runs ORDER BY id DESC LIMIT 1",
    [Q_CHECK_GET] = "SELECT " CHECK_COLS " FROM check_runs WHERE id = $1",
    [Q_CHECK_LIST] = "SELECT " CHECK_COLS " FROM check_runs WHERE timestamp >= "
                     "coalesce($1::timestamptz, '-infinity') AND timestamp < "
                     "coalesce($2::timestamptz, 'infinity') ORDER BY timestamp DESC, id DESC "
                     "LIMIT $3",
    [Q_VIOLATIONS_OPEN_ALL] = "SELECT " VIOLATION_COLS " FROM violations WHERE resolved_at IS "
                              "NULL ORDER BY user_id, specialization, issue_type",
    [Q_VIOLATIONS_OPEN_SPEC] = "SELECT " VIOLATION_COLS " FROM violations WHERE resolved_at IS "
                               "NULL AND specialization = $1 "
                               "ORDER BY user_id, specialization, issue_type",
    [Q_VIOLATIONS_NEW_SINCE] = "SELECT " VIOLATION_COLS " FROM violations WHERE resolved_at IS "
                               "NULL AND first_seen > $1 "
                               "ORDER BY user_id, specialization, issue_type",
    [Q_VIOLATIONS_RESOLVED_SINCE] = "SELECT " VIOLATION_COLS " FROM violations WHERE "
                                    "resolved_at > $1 ORDER BY user_id, specialization, "
                                    "issue_type",
    [Q_VIOLATIONS_OPEN_PAGE] = "SELECT " VIOLATION_COLS " FROM violations WHERE resolved_at IS "
                               "NULL AND ($1::text IS NULL OR specialization = $1::text) "
                               "ORDER BY first_seen DESC, user_id, specialization, issue_type "
                               "LIMIT $2 OFFSET $3",
    [Q_VIOLATIONS_OPEN_COUNT] = "SELECT count(*) FROM violations WHERE resolved_at IS NULL "
                                "AND ($1::text IS NULL OR specialization = $1::text)",
    [Q_SYNC_RUN_INSERT] =
        "INSERT INTO sync_runs(started_at, finished_at, trigger, direction, dry_run, scope_user, "
        "scope_spec, total_issues, synced_count, failed_count, success, log_file, error, status, "
        "owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
        "RETURNING id",
    [Q_SYNC_RUN_LIST] = "SELECT " SYNC_COLS " FROM sync_runs WHERE started_at >= "
                        "coalesce($1::timestamptz, '-infinity') ORDER BY started_at, id",
    [Q_SYNC_RUN_COUNT] = "UPDATE sync_runs SET synced_count = synced_count + 1 WHERE id = $1",
    [Q_SYNC_RUN_FINISH] = "UPDATE sync_runs SET finished_at = $2, total_issues = $3, "
                          "synced_count = $4, failed_count = $5, success = $6, log_file = $7, "
                          "error = $8, status = $9 WHERE id = $1 AND status = 'running'",
    [Q_SYNC_RUN_RUNNING] = "SELECT " SYNC_COLS " FROM sync_runs WHERE status = 'running' "
                           "ORDER BY started_at, id",
    [Q_AUDIT_INSERT] = "INSERT INTO audit_logs(user_id, action, resource_type, resource_id, "
                       "details, ip_address, status_code, timestamp) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [Q_REFRESH_INSERT] = "INSERT INTO refresh_tokens(jti, user_id, family, issued_at, "
                         "expires_at) VALUES ($1, $2, $3, $4, $5)",
    [Q_REFRESH_GET] = "SELECT jti, user_id, family, issued_at, expires_at, used_at, revoked_at "
                      "FROM refresh_tokens WHERE jti = $1",
    [Q_REFRESH_MARK_USED] = "UPDATE refresh_tokens SET used_at = $2 WHERE jti = $1 "
                            "AND used_at IS NULL",
    [Q_REFRESH_REVOKE_FAMILY] = "UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 "
                                "AND revoked_at IS NULL",
    [Q_REFRESH_REVOKE_USER] = "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 "
                              "AND revoked_at IS NULL",
    [Q_SCHED_START_INSERT] = "INSERT INTO scheduler_starts(started_at, owner, scheduler, "
                             "check_interval, sync_interval, check_misfire_grace, "
                             "sync_misfire_grace) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                             "RETURNING id",
    [Q_SCHED_FIRST_START] = "SELECT min(started_at) FROM scheduler_starts WHERE scheduler",
    [Q_SCHED_LAST_START] = "SELECT started_at, owner FROM scheduler_starts WHERE scheduler "
                           "ORDER BY id DESC LIMIT 1",
    [Q_SCHED_START_LIST] = "SELECT id, started_at, owner, scheduler, check_interval, "
                           "sync_interval, check_misfire_grace, sync_misfire_grace "
                           "FROM scheduler_starts WHERE started_at < $2 AND (started_at > $1 "
                           "OR id = (SELECT id FROM scheduler_starts WHERE scheduler "
                           "AND started_at <= $1 ORDER BY started_at DESC, id DESC LIMIT 1)) "
                           "ORDER BY started_at, id",
    [Q_JOB_RUN_INSERT] = "INSERT INTO job_runs(job_id, due_at, started_at, finished_at, status, "
                         "error, owner) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    [Q_JOB_RUN_FINISH] = "UPDATE job_runs SET status = $2, error = $3, finished_at = $4 "
                         "WHERE id = $1",
    [Q_JOB_RUNS_INTERRUPT] = "UPDATE job_runs SET status = 'interrupted', finished_at = $1, "
                             "error = 'the process stopped while the job was running' "
                             "WHERE status = 'running'",
    [Q_JOB_RUN_STATS] = "SELECT status, count(*) FROM job_runs WHERE job_id = $1 AND due_at >= "
                        "coalesce($2::timestamptz, '-infinity') AND due_at < "
                        "coalesce($3::timestamptz, 'infinity') GROUP BY status",
    [Q_JOB_RUN_LAST] = "SELECT status, started_at, due_at FROM job_runs WHERE job_id = $1 "
                       "AND status <> 'missed' ORDER BY due_at DESC LIMIT 1",
    [Q_JOB_RUN_LAST_SUCCESS] = "SELECT max(finished_at) FROM job_runs WHERE job_id = $1 "
                               "AND status = 'success'",
    [Q_JOB_RUN_LIST] = "SELECT " JOB_COLS " FROM job_runs WHERE ($1::text IS NULL OR job_id = $1) "
                       "AND due_at >= coalesce($2::timestamptz, '-infinity') AND due_at < "
                       "coalesce($3::timestamptz, 'infinity') ORDER BY due_at DESC, id DESC "
                       "LIMIT $4",
    [Q_JOB_RUN_LAST_DUE] = "SELECT max(due_at) FROM job_runs WHERE job_id = $1",
    [Q_BASELINE_INSERT] = "INSERT INTO baselines(check_id, created_at, file, note) "
                          "VALUES ($1, $2, $3, $4) RETURNING id",
    [Q_BASELINE_GET] = "SELECT id, check_id, created_at, file, note FROM baselines WHERE id = $1",
    [Q_BASELINE_LATEST] = "SELECT id, check_id, created_at, file, note FROM baselines "
                          "ORDER BY id DESC LIMIT 1",
    [Q_BASELINE_LIST] = "SELECT id, check_id, created_at, file, note FROM baselines "
                        "ORDER BY id DESC",
    [Q_BASELINE_SET_FILE] = "UPDATE baselines SET file = $2 WHERE id = $1",
    [Q_ALERT_INSERT] = "INSERT INTO alerts(rule, subject, severity, state, summary, description, "
                       "started_at, fired_at, resolved_at, last_notified_at, notifications, "
                       "message_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                       "RETURNING id",
    [Q_ALERT_UPDATE] = "UPDATE alerts SET severity = $2, state = $3, summary = $4, "
                       "description = $5, fired_at = $6, resolved_at = $7, "
                       "last_notified_at = $8, notifications = $9, message_id = $10 "
                       "WHERE id = $1",
    [Q_ALERT_LIST_ACTIVE] = "SELECT " ALERT_COLS " FROM alerts WHERE state <> 'resolved' "
                            "ORDER BY id LIMIT $1",
    [Q_ALERT_LIST_ALL] = "SELECT " ALERT_COLS " FROM alerts ORDER BY id DESC LIMIT $1",
    [Q_SILENCE_INSERT] = "INSERT INTO alert_silences(rule, starts_at, ends_at, comment, "
                         "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [Q_SILENCE_LIST_AT] = "SELECT " SILENCE_COLS " FROM alert_silences WHERE deleted_at IS NULL "
                          "AND starts_at <= $1 AND ends_at > $1 ORDER BY id LIMIT $2",
    [Q_SILENCE_LIST_ALL] = "SELECT " SILENCE_COLS " FROM alert_silences ORDER BY id DESC "
                           "LIMIT $1",
    [Q_SILENCE_DELETE] = "UPDATE alert_silences SET deleted_at = $2 WHERE id = $1 "
                         "AND deleted_at IS NULL",
    [Q_DELIVERY_INSERT] = "INSERT INTO alert_deliveries(alert_id, channel, event, status, "
                          "attempts, created_at, next_attempt_at, delivered_at, last_error, "
                          "payload, message_id, in_reply_to) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                          "RETURNING id",
    [Q_DELIVERY_UPDATE] = "UPDATE alert_deliveries SET status = $2, attempts = $3, "
                          "next_attempt_at = $4, delivered_at = $5, last_error = $6 "
                          "WHERE id = $1",
    [Q_DELIVERY_DUE] = "SELECT " DELIVERY_COLS " FROM alert_deliveries WHERE status = "
                       "'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id "
                       "LIMIT $2",
    [Q_DELIVERY_LIST] = "SELECT " DELIVERY_COLS " FROM alert_deliveries WHERE alert_id = $1 "
                        "ORDER BY id",
    [Q_DELIVERY_NEXT_DUE] = "SELECT min(next_attempt_at) FROM alert_deliveries "
                            "WHERE status = 'pending'",
    [Q_ATTEMPT_INSERT] = "INSERT INTO alert_attempts(delivery_id, attempted_at, ok, error) "
                         "VALUES ($1, $2, $3, $4) RETURNING id",
    [Q_ATTEMPT_LIST] = "SELECT id, delivery_id, attempted_at, ok, error FROM alert_attempts "
                       "WHERE delivery_id = $1 ORDER BY id",
};


struct store_scan {
    struct pg_store *ps;
    PGresult *batch;
    int row, rows;
    bool done;
    /* The next batch is requested as soon as one arrives, so the server
     * produces it while this one is classified. */
    bool pending;
    PGresult *prefetched; /* collected early because another call needed the connection */
    int64_t last_user;
    char last_spec[SPEC_ID_MAX];
    bool any;
};

static const struct store_ops pg_ops;


/* ---- connection and errors --------------------------------------------------- */

/* libpq messages end with a newline: keep the first line only. */
static void first_line(char *out, size_t len, const char *msg)
{
    snprintf(out, len, "%s", msg ? msg : "unknown error");
    out[strcspn(out, "\n")] = '\0';
}

static int fail_conn(struct pg_store *ps, const char *what)
{
    char msg[400];
    first_line(msg, sizeof msg, PQerrorMessage(ps->conn));
    return store_fail(&ps->base, STORE_ERR_UNAVAILABLE, "%s: the database is unavailable: %s",
                      what, msg);
}

static int fail_result(struct pg_store *ps, PGresult *res, const char *what)
{
    char msg[400];
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        PQclear(res);
        /* Whatever the transaction did is gone: the caller must see every
         * further call of it fail (not run outside it) until it rolls back. */
        if (ps->base.in_txn)
            ps->txn_lost = true;
        return fail_conn(ps, what);
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    first_line(msg, sizeof msg, res ? PQresultErrorMessage(res) : PQerrorMessage(ps->conn));
    int code = STORE_ERR;
    if (state && !strcmp(state, "23505"))
        code = STORE_ERR_CONFLICT;
    else if (state && (!strcmp(state, "55P03") || !strcmp(state, "40001") ||
                       !strcmp(state, "40P01")))
        code = STORE_ERR_BUSY;
    else if (state && !strncmp(state, "08", 2))
        code = STORE_ERR_UNAVAILABLE;
    else if (state && !strcmp(state, "57P01")) /* admin shutdown */
        code = STORE_ERR_UNAVAILABLE;
    PQclear(res);
    if (code == STORE_ERR_BUSY)
        return store_fail(&ps->base, code, "%s: the database is locked by another writer (%s)",
                          what, msg);
    return store_fail(&ps->base, code, "%s: %s", what, msg);
}

static int session_setup(struct pg_store *ps)
{
    PGresult *res = PQexec(ps->conn, "SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; "
                                     "SET jit = off");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return fail_result(ps, res, "configure the session");
    PQclear(res);
    /* Waits for row locks are bounded like SQLite's busy timeout; a timeout of
     * 0 means do not wait there, while PostgreSQL's 0 would wait forever. */
    char ms[32];
    snprintf(ms, sizeof ms, "%ld", ps->lock_timeout_ms > 0 ? ps->lock_timeout_ms : 1);
    const char *v[1] = {ms};
    res = PQexecParams(ps->conn, "SELECT set_config('lock_timeout', $1, false)", 1, NULL, v,
                       NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_result(ps, res, "configure the session");
    PQclear(res);
    if (ps->attached) {
        /* Lockstep's own tables live in their schema, and only there: every
         * statement names them unqualified, and the attached tables by
         * their schema. */
        v[0] = ps->domain.own_schema;
        res = PQexecParams(ps->conn, "SELECT set_config('search_path', quote_ident($1), false)",
                           1, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return fail_result(ps, res, "configure the session");
        PQclear(res);
    }
    return 0;
}


/* Wait for a FETCH sent ahead; the result (or NULL) stays with the scan. */
static PGresult *collect_prefetch(struct store_scan *sc)
{
    PGresult *res = NULL, *r;
    while ((r = PQgetResult(sc->ps->conn)) != NULL) {
        if (!res)
            res = r;
        else
            PQclear(r);
    }
    sc->pending = false;
    return res;
}

/* Make sure the connection is up; re-establish it after a loss. A FETCH sent
 * ahead by a pair scan is collected first, so the connection is free. */
static int ensure(struct pg_store *ps, const char *what)
{
    if (ps->scan && ps->scan->pending)
        ps->scan->prefetched = collect_prefetch(ps->scan);
    if (ps->txn_lost)
        return store_fail(&ps->base, STORE_ERR_UNAVAILABLE,
                          "%s: the connection to the database was lost during the "
                          "transaction", what);
    if (PQstatus(ps->conn) == CONNECTION_OK)
        return 0;
    if (ps->base.in_txn) {
        ps->txn_lost = true;
        return fail_conn(ps, what);
    }
    PQreset(ps->conn);
    memset(ps->prepared, 0, sizeof ps->prepared);
    /* The stage table went with the session, and with it what was staged. */
    ps->stage_table = ps->stage_open = ps->stage_complete = false;
    buf_reset(&ps->stage_copy);
    ps->stage_pending = 0;
    if (PQstatus(ps->conn) != CONNECTION_OK)
        return fail_conn(ps, what);
    return session_setup(ps);
}

/* Run a simple command (no parameters, no rows). */
static int command(struct pg_store *ps, const char *text, const char *what)
{
    int rc = ensure(ps, what);
    if (rc)
        return rc;
    PGresult *res = PQexec(ps->conn, text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_result(ps, res, what);
    PQclear(res);
    return 0;
}

/* The statements that differ for an attached database (attach.md): its
 * specializations table has only id, is_active and created_at (the maximum
 * level from [levels] unless specs_max_levels maps a column: NULL here, and
 * read_spec fills it in), and its key columns are compared as text. */
#define MAX_LEVELS_ATTACHED                                                            \
    "{?specs_max_levels|{specs_max_levels}::int}{!specs_max_levels|NULL::int}"
#define PROGRESS_COLS_ATTACHED                                                         \
    "id, {progress_user}, {progress_spec}::text, {progress_level}, NULL::int, NULL::int, " \
    "NULL::int, NULL::int, NULL::int, NULL::timestamptz, NULL::timestamptz, "           \
    "{?progress_updated_at|{progress_updated_at}::timestamptz}"                          \
    "{!progress_updated_at|NULL::timestamptz}"
#define LICENSE_COLS_ATTACHED                                                          \
    "id, {license_user}, {license_spec}::text, {license_level}, {license_max_level}, "  \
    "{license_started_at}::timestamptz, NULL::timestamptz, NULL::timestamptz, "         \
    "{?license_updated_at|{license_updated_at}::timestamptz}"                            \
    "{!license_updated_at|NULL::timestamptz}"

static const char *const attached_sql[Q_COUNT] = {
    /* Only the mapped columns are read and written (attach.md, rule 3): the
     * academy's counters, notes and other columns are not Lockstep's; rows
     * are addressed by their id. The parameters a statement leaves unused
     * are still bound (bound_params). */
    [Q_PROGRESS_GET] = "SELECT " PROGRESS_COLS_ATTACHED " FROM {progress_table} "
                       "WHERE {progress_user} = $1 AND {progress_spec}::text = $2",
    [Q_PROGRESS_GET_LOCK] = "SELECT " PROGRESS_COLS_ATTACHED " FROM {progress_table} "
                            "WHERE {progress_user} = $1 AND {progress_spec}::text = $2 "
                            "FOR UPDATE",
    [Q_PROGRESS_INSERT] =
        "INSERT INTO {progress_table}({progress_user}, {progress_spec}, {progress_level}"
        "{?progress_updated_at|, {progress_updated_at}}) "
        "VALUES ($1, $2, $3{?progress_updated_at|, $11}) RETURNING id",
    [Q_PROGRESS_UPDATE] = "UPDATE {progress_table} SET {progress_level} = $2"
                          "{?progress_updated_at|, {progress_updated_at} = $9} WHERE id = $1",
    [Q_LICENSE_GET] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                      "WHERE {license_user} = $1 AND {license_spec}::text = $2",
    [Q_LICENSE_GET_LOCK] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                           "WHERE {license_user} = $1 AND {license_spec}::text = $2 FOR UPDATE",
    [Q_LICENSE_INSERT] =
        "INSERT INTO {license_table}({license_user}, {license_spec}, {license_level}, "
        "{license_max_level}, {license_started_at}{?license_updated_at|, {license_updated_at}}) "
        "VALUES ($1, $2, $3, $4, $5{?license_updated_at|, $8}) RETURNING id",
    [Q_LICENSE_UPDATE] = "UPDATE {license_table} SET {license_level} = $2, "
                         "{license_max_level} = $3{?license_updated_at|, {license_updated_at} = $5} "
                         "WHERE id = $1",
    /* advanced_by stays NULL (the system): Lockstep's accounts are not the
     * academy's users, whose ids that column refers to. */
    [Q_PROGRESSION_INSERT] =
        "INSERT INTO {progressions_table}(user_license_id, from_level, to_level, advanced_by, "
        "advancement_reason, advanced_at) VALUES ($1, $2, $3, NULL, $5, $6) RETURNING id",
    [Q_USER_PAIRS] =
        "SELECT p.id, p.{progress_user}, p.{progress_spec}::text, p.{progress_level}, NULL::int, "
        "NULL::int, NULL::int, NULL::int, NULL::int, NULL::timestamptz, NULL::timestamptz, "
        "{?progress_updated_at|p.{progress_updated_at}::timestamptz}"
        "{!progress_updated_at|NULL::timestamptz}, "
        "l.id, l.{license_user}, l.{license_spec}::text, l.{license_level}, "
        "l.{license_max_level}, l.{license_started_at}::timestamptz, NULL::timestamptz, "
        "NULL::timestamptz, {?license_updated_at|l.{license_updated_at}::timestamptz}"
        "{!license_updated_at|NULL::timestamptz} "
        "FROM (SELECT * FROM {progress_table} WHERE {progress_user} = $1) p "
        "FULL JOIN (SELECT * FROM {license_table} WHERE {license_user} = $1) l "
        "ON l.{license_spec}::text = p.{progress_spec}::text "
        "ORDER BY coalesce(p.{progress_spec}::text, l.{license_spec}::text) COLLATE \"C\"",
    [Q_SPEC_GET] = "SELECT id::text, id::text, " MAX_LEVELS_ATTACHED ", coalesce(is_active, true), "
                   "created_at::timestamptz FROM {specs_table} WHERE id::text = $1",
    [Q_SPEC_LIST] = "SELECT id::text, id::text, " MAX_LEVELS_ATTACHED ", coalesce(is_active, true), "
                    "created_at::timestamptz FROM {specs_table} ORDER BY id::text COLLATE \"C\"",
};

/* How many parameters the code binds to the statements whose attached form
 * may leave some unused (PostgreSQL must be told their type: text). */
static int bound_params(enum stmt_id id)
{
    switch (id) {
    case Q_PROGRESS_INSERT:
        return 11;
    case Q_PROGRESS_UPDATE:
        return 9;
    case Q_LICENSE_INSERT:
        return 8;
    case Q_LICENSE_UPDATE:
        return 5;
    case Q_PROGRESSION_INSERT:
        return 6;
    default:
        return 0;
    }
}

/* The statements that write the domain tables (refused while repairs are off
 * for an attached database). */
static bool writes_domain(enum stmt_id id)
{
    switch (id) {
    case Q_SPEC_INSERT:
    case Q_PROGRESS_GET_LOCK:
    case Q_PROGRESS_INSERT:
    case Q_PROGRESS_UPDATE:
    case Q_LICENSE_GET_LOCK:
    case Q_LICENSE_INSERT:
    case Q_LICENSE_UPDATE:
    case Q_PROGRESSION_INSERT:
        return true;
    default:
        return false;
    }
}

/* The where clauses of the pair scans, progress side then license side. */
static const char *const scan_where[4][2] = {
    {"", ""},
    {" WHERE {progress_user} = $1::bigint", " WHERE {license_user} = $1::bigint"},
    {" WHERE {progress_spec} = $1::text", " WHERE {license_spec} = $1::text"},
    {" WHERE {progress_user} = $1::bigint AND {progress_spec} = $2::text",
     " WHERE {license_user} = $1::bigint AND {license_spec} = $2::text"},
};
/* The same over an attached database's columns of any type. */
static const char *const scan_where_attached[4][2] = {
    {"", ""},
    {" WHERE {progress_user} = $1::bigint", " WHERE {license_user} = $1::bigint"},
    {" WHERE {progress_spec}::text = $1::text", " WHERE {license_spec}::text = $1::text"},
    {" WHERE {progress_user} = $1::bigint AND {progress_spec}::text = $2::text",
     " WHERE {license_user} = $1::bigint AND {license_spec}::text = $2::text"},
};

/* The maximum level expression of the scan for this store's domain (see
 * MAX_FROM_SPECS) into out[len]. Returns 0, or -1 when it does not fit. */
static int max_level_expr(const struct domain_map *m, char *out, size_t len)
{
    if (!m->attached || m->name[DOMAIN_SPECS_MAX_LEVELS][0]) {
        int n = snprintf(out, len, "%s", MAX_FROM_SPECS);
        return n < 0 || (size_t)n >= len ? -1 : 0;
    }
    if (m->levels == 0) {
        int n = snprintf(out, len, "NULL::int");
        return n < 0 || (size_t)n >= len ? -1 : 0;
    }
    struct buf ids = BUF_INIT(0), maxes = BUF_INIT(0);
    int bad = 0;
    for (int i = 0; i < m->levels; i++) {
        bad |= buf_printf(&ids, "%s'%s'", i ? ", " : "", m->level[i].spec) != 0;
        bad |= buf_printf(&maxes, "%s%d", i ? ", " : "", m->level[i].max) != 0;
    }
    int rc = -1;
    if (!bad) {
        int n = snprintf(out, len,
                         "(ARRAY[%s]::int[])[array_position(ARRAY[%s]::text[], "
                         "coalesce(p.specialization_id, l.specialization_type)::text)]",
                         buf_str(&maxes), buf_str(&ids));
        rc = n < 0 || (size_t)n >= len ? -1 : 0;
    }
    buf_free(&ids);
    buf_free(&maxes);
    return rc;
}

/* The template of scan statement `id` (Q_SCAN_ALL … Q_SCAN_ALL_KEYED) into
 * out[len]. Returns 0, or -1 when it does not fit. */
static int scan_template(const struct domain_map *m, enum stmt_id id, char *out, size_t len)
{
    char issue[2048];
    if (pair_sql_issue(issue, sizeof issue, &scan_columns) != 0)
        return -1;
    char *mx = malloc(16384);
    if (!mx || max_level_expr(m, mx, 16384) != 0) {
        free(mx);
        return -1;
    }
    /* Q_SCAN_ALL … Q_SCAN_USER_SPEC: grouped, by filter; Q_SCAN_ALL_KEYED: the
     * full scan over keyed tables. */
    bool keyed = id == Q_SCAN_ALL_KEYED;
    int i = keyed ? 0 : (int)(id - Q_SCAN_ALL);
    const char *const(*where)[2] = m->attached ? scan_where_attached : scan_where;
    char side[2][1024];
    int n0, n1;
    if (m->attached && keyed) {
        n0 = snprintf(side[0], sizeof side[0], SIDE_PROGRESS_KEYED_ATTACHED, where[i][0]);
        n1 = snprintf(side[1], sizeof side[1], SIDE_LICENSE_KEYED_ATTACHED, where[i][1]);
    } else if (m->attached) {
        n0 = snprintf(side[0], sizeof side[0], SIDE_PROGRESS_GROUPED_ATTACHED, where[i][0]);
        n1 = snprintf(side[1], sizeof side[1], SIDE_LICENSE_GROUPED_ATTACHED, where[i][1]);
    } else if (keyed) {
        n0 = snprintf(side[0], sizeof side[0], SIDE_PROGRESS_KEYED, where[i][0]);
        n1 = snprintf(side[1], sizeof side[1], SIDE_LICENSE_KEYED, where[i][1]);
    } else {
        n0 = snprintf(side[0], sizeof side[0], SIDE_PROGRESS_GROUPED, where[i][0]);
        n1 = snprintf(side[1], sizeof side[1], SIDE_LICENSE_GROUPED, where[i][1]);
    }
    int n = -1;
    if (n0 >= 0 && n0 < (int)sizeof side[0] && n1 >= 0 && n1 < (int)sizeof side[1])
        n = snprintf(out, len, SCAN_FORMAT, issue, side[0], side[1], mx);
    free(mx);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The SQL of statement `id` for this store's domain tables (borrowed), or
 * NULL with the reason in err[errlen]. */
static const char *statement_text(struct pg_store *ps, enum stmt_id id, char *err,
                                  size_t errlen)
{
    if (ps->sql[id])
        return ps->sql[id];
    const char *tmpl = ps->attached && attached_sql[id] ? attached_sql[id] : sql[id];
    char *text = NULL;
    if (id >= Q_SCAN_ALL && id <= Q_SCAN_ALL_KEYED) {
        text = malloc(32768);
        if (!text || scan_template(&ps->domain, id, text, 32768) != 0) {
            free(text);
            snprintf(err, errlen, "the statement text does not fit");
            return NULL;
        }
        tmpl = text;
    }
    ps->sql[id] = domain_sql_expand(&ps->domain, ps->attached ? ps->domain.schema : NULL, tmpl,
                                    err, errlen);
    free(text);
    return ps->sql[id];
}

/* The highest $N a statement names (0: none). */
static int highest_parameter(const char *text)
{
    int highest = 0;
    for (const char *c = strchr(text, '$'); c; c = strchr(c + 1, '$')) {
        int n = 0;
        for (const char *d = c + 1; *d >= '0' && *d <= '9' && n < 100000; d++)
            n = n * 10 + (*d - '0');
        if (n > highest)
            highest = n;
    }
    return highest;
}

/* Prepare statement `id` on this connection unless it already is; its name
 * goes to name[16]. */
static int prepare(struct pg_store *ps, enum stmt_id id, char name[16], const char *what)
{
    snprintf(name, 16, "lk%d", (int)id);
    if (ps->prepared[id])
        return 0;
    if (ps->base.domain_read_only && writes_domain(id))
        return store_fail(&ps->base, STORE_ERR, "%s: %s", what, STORE_REPAIR_OFF);
    char err[256];
    const char *text = statement_text(ps, id, err, sizeof err);
    if (!text)
        return store_fail(&ps->base, STORE_ERR, "%s: %s", what, err);
    int highest = highest_parameter(text);
    if (highest > PARAMS_MAX)
        return store_fail(&ps->base, STORE_ERR,
                          "%s: the statement takes %d parameters, more than the %d supported",
                          what, highest, PARAMS_MAX);
    /* A parameter bound but not used: typed text, so the server accepts it. */
    Oid types[PARAMS_MAX] = {0};
    int nparams = 0;
    if (bound_params(id) > 0) {
        nparams = bound_params(id);
        for (int k = 1; k <= nparams; k++) {
            char tok[8];
            int tl = snprintf(tok, sizeof tok, "$%d", k);
            bool used = false;
            for (const char *c = strstr(text, tok); c && !used; c = strstr(c + 1, tok))
                used = !(c[tl] >= '0' && c[tl] <= '9');
            types[k - 1] = used ? 0 : 25; /* TEXTOID */
        }
    }
    PGresult *p = PQprepare(ps->conn, name, text, nparams, nparams ? types : NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK)
        return fail_result(ps, p, what);
    PQclear(p);
    ps->prepared[id] = true;
    return 0;
}

PGresult *pg_run(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                 const char *what, int *rc)
{
    *rc = ensure(ps, what);
    if (*rc)
        return NULL;
    char name[16];
    if (n < 0 || n > PARAMS_MAX) {
        *rc = store_fail(&ps->base, STORE_ERR, "%s: %d parameters, more than the %d supported",
                         what, n, PARAMS_MAX);
        return NULL;
    }
    if ((*rc = prepare(ps, id, name, what)) != 0)
        return NULL;
    PGresult *res = PQexecPrepared(ps->conn, name, n, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *rc = fail_result(ps, res, what);
        return NULL;
    }
    return res;
}

int pg_store_exec(struct store *s, const char *text, int n, const char *const *vals,
                  const char *what, PGresult **out)
{
    struct pg_store *ps = PS(s);
    *out = NULL;
    int rc = ensure(ps, what);
    if (rc)
        return rc;
    PGresult *res = PQexecParams(ps->conn, text, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail_result(ps, res, what);
    *out = res;
    return 0;
}

/* Run a statement that returns no rows. */
int pg_exec_q(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
              const char *what)
{
    int rc;
    PGresult *res = pg_run(ps, id, n, vals, what, &rc);
    PQclear(res);
    return rc;
}

/* ---- parameters and columns ------------------------------------------------------ */


/* One row expected: 0 with it, NOT_FOUND, or an error. */
PGresult *pg_one(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                 const char *what, int *rc)
{
    PGresult *res = pg_run(ps, id, n, vals, what, rc);
    if (!res)
        return NULL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        *rc = store_fail(&ps->base, STORE_ERR_NOT_FOUND, "%s: not found", what);
        return NULL;
    }
    return res;
}

int pg_count_changed(PGresult *res)
{
    const char *t = PQcmdTuples(res);
    return t && *t ? atoi(t) : 0;
}

/* ---- transactions and migrations ----------------------------------------------- */

static int pg_begin(struct store *s, enum store_txn kind)
{
    struct pg_store *ps = PS(s);
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "a transaction is already open");
    int rc = command(ps,
                     kind == STORE_TXN_WRITE ? "BEGIN"
                                             : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                     "begin transaction");
    if (rc == 0)
        s->in_txn = (int)kind + 1;
    return rc;
}

static int pg_commit(struct store *s)
{
    struct pg_store *ps = PS(s);
    if (!s->in_txn)
        return store_fail(s, STORE_ERR, "no transaction is open");
    if (ps->txn_lost) {
        s->in_txn = 0;
        ps->txn_lost = false;
        return store_fail(s, STORE_ERR_UNAVAILABLE,
                          "commit: the connection to the database was lost during the "
                          "transaction; nothing of it was saved");
    }
    PGresult *res = PQexec(ps->conn, "COMMIT");
    s->in_txn = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return fail_result(ps, res, "commit");
    /* COMMIT of a failed transaction reports ROLLBACK: the change did not happen. */
    bool rolled_back = !strcmp(PQcmdStatus(res), "ROLLBACK");
    PQclear(res);
    return rolled_back ? store_fail(s, STORE_ERR, "commit: the transaction was rolled back") : 0;
}

static void pg_rollback(struct store *s)
{
    struct pg_store *ps = PS(s);
    if (PQstatus(ps->conn) == CONNECTION_OK &&
        PQtransactionStatus(ps->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(ps->conn, "ROLLBACK");
        PQclear(res);
    }
    s->in_txn = 0;
    ps->txn_lost = false;
}

static int current_version(struct pg_store *ps, int *version)
{
    *version = 0;
    PGresult *res = PQexec(ps->conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_result(ps, res, "read schema version");
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return 0;
    res = PQexec(ps->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return fail_result(ps, res, "read schema version");
    *version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int pg_schema_version(struct store *s, int *version)
{
    int rc = ensure(PS(s), "read schema version");
    return rc ? rc : current_version(PS(s), version);
}

static void probe_error(PGresult *res, PGconn *conn, char *out, size_t len)
{
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    snprintf(out, len, "%.*s", (int)strcspn(m, "\n"), m);
}

static int pg_probe(struct store *s, bool deep, struct store_probe *out)
{
    (void)deep; /* PostgreSQL verifies its pages itself (checksums) on every read */
    struct pg_store *ps = PS(s);
    memset(out, 0, sizeof *out);
    out->last_check_pairs = -1;
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "probe: a transaction is open");
    int rc = ensure(ps, "probe");
    if (rc)
        return rc;
    char err[256];
    const char *text = statement_text(ps, Q_PROBE, err, sizeof err);
    if (!text) {
        snprintf(out->read_error, sizeof out->read_error, "read: %s", err);
        return 0;
    }
    PGresult *res = PQexec(ps->conn, text);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        probe_error(res, ps->conn, out->read_error, sizeof out->read_error);
        PQclear(res);
        return PQstatus(ps->conn) == CONNECTION_OK ? 0 : fail_conn(ps, "probe");
    }
    out->schema_version = atoi(PQgetvalue(res, 0, 0));
    out->users = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->has_pairs = PQgetvalue(res, 0, 2)[0] == 't';
    out->last_check_pairs = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    /* A write that changes nothing, committed (read-only server, full disk). */
    res = PQexec(ps->conn, "UPDATE schema_migrations SET applied_at = applied_at "
                           "WHERE version = (SELECT max(version) FROM schema_migrations)");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && !strcmp(state, "55P03")) /* lock_not_available */
            out->write_busy = true;
        else
            probe_error(res, ps->conn, out->write_error, sizeof out->write_error);
    }
    PQclear(res);
    return PQstatus(ps->conn) == CONNECTION_OK ? 0 : fail_conn(ps, "probe");
}

static int pg_migrate(struct store *s, int *applied)
{
    struct pg_store *ps = PS(s);
    *applied = 0;
    int version = 0, n = 0;
    int rc = ensure(ps, "migrate");
    if (rc == 0)
        rc = current_version(ps, &version);
    if (rc)
        return rc;
    if (version > PG_MIGRATION_COUNT)
        return store_fail(s, STORE_ERR,
                          "the database schema is version %d, newer than this lockstep "
                          "understands (%d); upgrade lockstep",
                          version, PG_MIGRATION_COUNT);
    if (version == PG_MIGRATION_COUNT)
        return 0;
    /* Several processes may start at once: one migrates, the others wait. */
    rc = command(ps, "BEGIN", "migrate");
    if (rc == 0)
        rc = command(ps, "SELECT pg_advisory_xact_lock(7283940050)", "migrate");
    if (rc == 0)
        rc = command(ps,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                     "KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
                     "create schema_migrations");
    if (rc == 0)
        rc = current_version(ps, &version);
    for (int i = 0; rc == 0 && i < PG_MIGRATION_COUNT; i++) {
        const struct pg_migration *m = &pg_migrations[i];
        if (m->version <= version)
            continue;
        char what[96];
        snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
        if ((rc = command(ps, m->sql, what)) != 0)
            break;
        if (m->domain_sql && !ps->attached && (rc = command(ps, m->domain_sql, what)) != 0)
            break;
        char v[16];
        snprintf(v, sizeof v, "%d", m->version);
        const char *vals[2] = {v, m->name};
        PGresult *res = PQexecParams(ps->conn,
                                     "INSERT INTO schema_migrations(version, name, applied_at) "
                                     "VALUES ($1, $2, now())",
                                     2, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = fail_result(ps, res, what);
            break;
        }
        PQclear(res);
        n++;
    }
    if (rc) {
        PGresult *res = PQexec(ps->conn, "ROLLBACK");
        PQclear(res);
        return rc;
    }
    rc = command(ps, "COMMIT", "migrate");
    if (rc == 0)
        *applied = n;
    return rc;
}

/* ---- specializations ---------------------------------------------------------------- */

static void read_spec(const struct pg_store *ps, PGresult *r, int i, struct specialization *sp)
{
    memset(sp, 0, sizeof *sp);
    c_copy(r, i, 0, sp->id, sizeof sp->id);
    c_copy(r, i, 1, sp->name, sizeof sp->name);
    /* NULL (an attached table without the column): from [levels]; 0 when
     * it gives none (an unknown_specialization). */
    sp->max_levels = PQgetisnull(r, i, 2) ? domain_map_level(&ps->domain, sp->id)
                                          : (int)c_i64(r, i, 2);
    sp->is_active = c_bool(r, i, 3);
    sp->created_at = c_time(r, i, 4);
}

static int pg_spec_insert(struct store *s, const struct specialization *sp)
{
    struct params p = {0};
    p.v[0] = sp->id;
    p.v[1] = sp->name;
    p_i64(&p, 2, sp->max_levels);
    p_bool(&p, 3, sp->is_active);
    p_time(&p, 4, sp->created_at);
    int rc = pg_exec_q(PS(s), Q_SPEC_INSERT, 5, p.v, "insert specialization");
    if (rc == STORE_ERR_CONFLICT)
        return store_fail(s, rc, "specialization %s already exists", sp->id);
    return rc;
}

static int pg_spec_get(struct store *s, const char *id, struct specialization *sp)
{
    const char *v[1] = {id};
    int rc;
    PGresult *res = pg_one(PS(s), Q_SPEC_GET, 1, v, "specialization", &rc);
    if (rc == STORE_ERR_NOT_FOUND)
        return store_fail(s, rc, "unknown specialization %s", id);
    if (!res)
        return rc;
    read_spec(PS(s), res, 0, sp);
    PQclear(res);
    return 0;
}

static int pg_spec_list(struct store *s, store_spec_cb cb, void *ctx)
{
    int rc;
    PGresult *res = pg_run(PS(s), Q_SPEC_LIST, 0, NULL, "list specializations", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct specialization sp;
        read_spec(PS(s), res, i, &sp);
        out = cb(ctx, &sp);
    }
    PQclear(res);
    return out;
}

static int pg_spec_level_xp(struct store *s, const char *spec, int level, int64_t *xp)
{
    struct params p = {0};
    p.v[0] = spec;
    p_i64(&p, 1, level);
    int rc;
    PGresult *res = pg_one(PS(s), Q_SPEC_LEVEL_XP, 2, p.v, "level threshold", &rc);
    if (!res)
        return rc;
    *xp = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

/* ---- progress, licenses, progressions --------------------------------------------- */

static void read_progress(PGresult *r, int i, int c, struct progress *p)
{
    memset(p, 0, sizeof *p);
    p->id = c_i64(r, i, c + 0);
    p->student_id = c_i64(r, i, c + 1);
    c_copy(r, i, c + 2, p->spec, sizeof p->spec);
    p->current_level = (int)c_i64(r, i, c + 3);
    p->total_xp = c_i64(r, i, c + 4);
    p->completed_sessions = c_i64(r, i, c + 5);
    p->completed_projects = c_i64(r, i, c + 6);
    p->theory_hours_completed = c_i64(r, i, c + 7);
    p->practice_hours_completed = c_i64(r, i, c + 8);
    p->last_activity = c_time(r, i, c + 9);
    p->created_at = c_time(r, i, c + 10);
    p->updated_at = c_time(r, i, c + 11);
}

static void read_license(PGresult *r, int i, int c, struct license *l)
{
    memset(l, 0, sizeof *l);
    l->id = c_i64(r, i, c + 0);
    l->user_id = c_i64(r, i, c + 1);
    c_copy(r, i, c + 2, l->spec, sizeof l->spec);
    l->current_level = (int)c_i64(r, i, c + 3);
    l->max_achieved_level = (int)c_i64(r, i, c + 4);
    l->started_at = c_time(r, i, c + 5);
    l->last_advanced_at = c_time(r, i, c + 6);
    l->created_at = c_time(r, i, c + 7);
    l->updated_at = c_time(r, i, c + 8);
}

/* Read a pair's row FOR UPDATE. When it is missing inside a write transaction,
 * claim its creation first (an advisory lock on (table, pair) held to the end
 * of the transaction) and read again. Writers that find the same row missing
 * queue on the claim instead of racing to insert it, where one would fail on
 * the unique key, or deadlock against a writer already holding the pair's
 * other row (the enforcer creating progress while a sync that locked the
 * license creates it too); whoever waited finds the row its predecessor
 * committed, and a row created meanwhile is locked like any other. */
static PGresult *lock_or_claim(struct pg_store *ps, enum stmt_id id, const char *table,
                               const char *const *vals, const char *what, int *rc)
{
    PGresult *res = pg_run(ps, id, 2, vals, what, rc);
    if (!res || PQntuples(res) > 0 || ps->base.in_txn != (int)STORE_TXN_WRITE + 1)
        return res;
    PQclear(res);
    const char *claim[3] = {table, vals[0], vals[1]};
    if ((*rc = pg_exec_q(ps, Q_CREATE_CLAIM, 3, claim, what)) != 0)
        return NULL;
    return pg_run(ps, id, 2, vals, what, rc);
}

static int pg_progress_get(struct store *s, int64_t user, const char *spec, bool for_update,
                           struct progress *pr)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p.v[1] = spec;
    int rc;
    PGresult *res = for_update
                        ? lock_or_claim(PS(s), Q_PROGRESS_GET_LOCK, "1", p.v, "progress", &rc)
                        : pg_run(PS(s), Q_PROGRESS_GET, 2, p.v, "progress", &rc);
    if (!res)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return store_fail(s, STORE_ERR_NOT_FOUND, "progress: not found");
    }
    read_progress(res, 0, 0, pr);
    PQclear(res);
    return 0;
}

static int pg_progress_insert(struct store *s, struct progress *pr)
{
    struct params p = {0};
    p_i64(&p, 0, pr->student_id);
    p.v[1] = pr->spec;
    p_i64(&p, 2, pr->current_level);
    p_i64(&p, 3, pr->total_xp);
    p_i64(&p, 4, pr->completed_sessions);
    p_i64(&p, 5, pr->completed_projects);
    p_i64(&p, 6, pr->theory_hours_completed);
    p_i64(&p, 7, pr->practice_hours_completed);
    p_time(&p, 8, pr->last_activity);
    p_time(&p, 9, pr->created_at);
    p_time(&p, 10, pr->updated_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_PROGRESS_INSERT, 11, p.v, "insert progress", &rc);
    if (!res)
        return rc;
    pr->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int pg_progress_update(struct store *s, const struct progress *pr)
{
    struct params p = {0};
    p_i64(&p, 0, pr->id);
    p_i64(&p, 1, pr->current_level);
    p_i64(&p, 2, pr->total_xp);
    p_i64(&p, 3, pr->completed_sessions);
    p_i64(&p, 4, pr->completed_projects);
    p_i64(&p, 5, pr->theory_hours_completed);
    p_i64(&p, 6, pr->practice_hours_completed);
    p_time(&p, 7, pr->last_activity);
    p_time(&p, 8, pr->updated_at);
    return pg_exec_q(PS(s), Q_PROGRESS_UPDATE, 9, p.v, "update progress");
}

static int pg_license_get(struct store *s, int64_t user, const char *spec, bool for_update,
                          struct license *l)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p.v[1] = spec;
    int rc;
    PGresult *res = for_update
                        ? lock_or_claim(PS(s), Q_LICENSE_GET_LOCK, "2", p.v, "license", &rc)
                        : pg_run(PS(s), Q_LICENSE_GET, 2, p.v, "license", &rc);
    if (!res)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return store_fail(s, STORE_ERR_NOT_FOUND, "license: not found");
    }
    read_license(res, 0, 0, l);
    PQclear(res);
    return 0;
}

static int pg_license_insert(struct store *s, struct license *l)
{
    struct params p = {0};
    p_i64(&p, 0, l->user_id);
    p.v[1] = l->spec;
    p_i64(&p, 2, l->current_level);
    p_i64(&p, 3, l->max_achieved_level);
    p_time(&p, 4, l->started_at);
    p_time(&p, 5, l->last_advanced_at);
    p_time(&p, 6, l->created_at);
    p_time(&p, 7, l->updated_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_LICENSE_INSERT, 8, p.v, "insert license", &rc);
    if (!res)
        return rc;
    l->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int pg_license_update(struct store *s, const struct license *l)
{
    struct params p = {0};
    p_i64(&p, 0, l->id);
    p_i64(&p, 1, l->current_level);
    p_i64(&p, 2, l->max_achieved_level);
    p_time(&p, 3, l->last_advanced_at);
    p_time(&p, 4, l->updated_at);
    return pg_exec_q(PS(s), Q_LICENSE_UPDATE, 5, p.v, "update license");
}

static int pg_progression_insert(struct store *s, struct progression *pr)
{
    if (PS(s)->attached && !PS(s)->domain.name[DOMAIN_PROGRESSIONS_TABLE][0]) {
        pr->id = 0; /* progressions_table left empty: none appended (attach.md) */
        return 0;
    }
    struct params p = {0};
    p_i64(&p, 0, pr->user_license_id);
    p_i64(&p, 1, pr->from_level);
    p_i64(&p, 2, pr->to_level);
    p_id_or_null(&p, 3, pr->advanced_by);
    p.v[4] = pr->reason;
    p_time(&p, 5, pr->advanced_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_PROGRESSION_INSERT, 6, p.v, "insert license progression", &rc);
    if (!res)
        return rc;
    pr->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int pg_progression_count(struct store *s, int64_t license_id, int64_t *n)
{
    struct params p = {0};
    p_i64(&p, 0, license_id);
    int rc;
    PGresult *res = pg_one(PS(s), Q_PROGRESSION_COUNT, 1, p.v, "count progressions", &rc);
    if (!res)
        return rc;
    *n = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int pg_user_pairs(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    int rc;
    PGresult *res = pg_run(PS(s), Q_USER_PAIRS, 1, p.v, "read progress and licenses", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct progress pr;
        struct license l;
        bool hp = !PQgetisnull(res, i, 0), hl = !PQgetisnull(res, i, 12);
        if (hp)
            read_progress(res, i, 0, &pr);
        if (hl)
            read_license(res, i, 12, &l);
        out = cb(ctx, hp ? &pr : NULL, hl ? &l : NULL);
    }
    PQclear(res);
    return out;
}

/* ---- the pair scan: one server-side merge join, read through a cursor ------------- */

static int pg_pair_scan_open(struct store *s, const struct pair_filter *f,
                             struct store_scan **out)
{
    struct pg_store *ps = PS(s);
    *out = NULL;
    if (s->in_txn != (int)STORE_TXN_READ + 1 && s->in_txn != (int)STORE_TXN_WRITE + 1)
        return store_fail(s, STORE_ERR, "the pair scan needs an open transaction");
    bool by_user = f && f->user_id > 0, by_spec = f && f->spec;
    enum stmt_id id = by_user ? (by_spec ? Q_SCAN_USER_SPEC : Q_SCAN_USER)
                              : (by_spec ? Q_SCAN_SPEC : Q_SCAN_ALL);
    struct params p = {0};
    int n = 0;
    if (by_user)
        p_i64(&p, n++, f->user_id);
    if (by_spec)
        p.v[n++] = f->spec;
    int rc;
    const char *names[4] = {ps->domain.name[DOMAIN_PROGRESS_USER],
                            ps->domain.name[DOMAIN_PROGRESS_SPEC],
                            ps->domain.name[DOMAIN_LICENSE_USER],
                            ps->domain.name[DOMAIN_LICENSE_SPEC]};
    PGresult *plan = pg_run(ps, Q_SCAN_PLAN, 4, names, "prepare the pair scan", &rc);
    if (plan && id == Q_SCAN_ALL && PQntuples(plan) == 1 && PQgetvalue(plan, 0, 3)[0] == 't')
        id = Q_SCAN_ALL_KEYED;
    PQclear(plan);
    if (rc == 0)
        rc = pg_exec_q(ps, id, n, p.v, "open the pair scan");
    if (rc)
        return rc;
    struct store_scan *sc = calloc(1, sizeof *sc);
    if (!sc) {
        PQclear(pg_run(ps, Q_SCAN_CLOSE, 0, NULL, "close the pair scan", &rc));
        return store_fail(s, STORE_ERR, "out of memory");
    }
    sc->ps = ps;
    ps->scan = sc;
    *out = sc;
    return 0;
}

static int send_fetch(struct store_scan *sc)
{
    char name[16];
    int rc = prepare(sc->ps, Q_SCAN_FETCH, name, "scan pairs");
    if (rc)
        return rc;
    if (!PQsendQueryPrepared(sc->ps->conn, name, 0, NULL, NULL, NULL, 0))
        return fail_conn(sc->ps, "scan pairs");
    sc->pending = true;
    return 0;
}

/* Digits to int64 without the locale machinery of strtoll (hot: every pair). */
static int64_t fast_i64(const char *p)
{
    bool neg = *p == '-';
    int64_t v = 0;
    for (p += neg; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return neg ? -v : v;
}

/* One side of a scanned pair: its level (column lc; NULL when the level is
 * NULL) and its row count (column nc; NULL when one). */
static void scan_side(PGresult *r, int i, int lc, int nc, bool present, int *level,
                      bool *level_null, int64_t *rows)
{
    *rows = !present ? 0 : PQgetisnull(r, i, nc) ? 1 : fast_i64(PQgetvalue(r, i, nc));
    int64_t v = present && !PQgetisnull(r, i, lc) ? fast_i64(PQgetvalue(r, i, lc)) : 0;
    *level_null = present && (PQgetisnull(r, i, lc) || v <= INT32_MIN || v > INT32_MAX);
    *level = *level_null ? 0 : (int)v;
}

static int pg_pair_scan_next(struct store_scan *sc, struct pair_levels *out)
{
    struct pg_store *ps = sc->ps;
    if (sc->row >= sc->rows) {
        if (sc->done)
            return 0;
        PQclear(sc->batch);
        sc->batch = NULL;
        int rc = 0;
        if (sc->prefetched) {
            sc->batch = sc->prefetched;
            sc->prefetched = NULL;
        } else {
            if (!sc->pending)
                rc = send_fetch(sc);
            if (rc == 0)
                sc->batch = collect_prefetch(sc);
        }
        if (rc)
            return rc;
        if (PQresultStatus(sc->batch) != PGRES_TUPLES_OK) {
            rc = fail_result(ps, sc->batch, "scan pairs");
            sc->batch = NULL;
            return rc;
        }
        sc->rows = PQntuples(sc->batch);
        sc->row = 0;
        if (sc->rows < SCAN_FETCH)
            sc->done = true;
        else if ((rc = send_fetch(sc)) != 0) /* the next batch, while this one is read */
            return rc;
        if (sc->rows == 0)
            return 0;
    }
    PGresult *r = sc->batch;
    int i = sc->row++;
    out->user_id = fast_i64(PQgetvalue(r, i, 0));
    int n = PQgetlength(r, i, 1);
    if (n >= SPEC_ID_MAX)
        n = SPEC_ID_MAX - 1;
    memcpy(out->spec, PQgetvalue(r, i, 1), (size_t)n);
    out->spec[n] = '\0';
    /* Columns of SCAN_FORMAT: u, sp, progress row, license row, levels,
     * row counts (NULL: one), max_levels (NULL: unknown), email, first_seen. */
    out->has_progress = PQgetvalue(r, i, 2)[0] == 't';
    out->has_license = PQgetvalue(r, i, 3)[0] == 't';
    scan_side(r, i, 4, 6, out->has_progress, &out->progress_level, &out->progress_level_null,
              &out->progress_rows);
    scan_side(r, i, 5, 7, out->has_license, &out->license_level, &out->license_level_null,
              &out->license_rows);
    int64_t max = PQgetisnull(r, i, 8) ? 0 : fast_i64(PQgetvalue(r, i, 8));
    out->max_level = max > 0 && max <= INT32_MAX ? (int)max : 0;
    out->has_details = pair_is_violation(pair_state_of(out));
    out->open_known = out->has_open = false;
    if (out->has_details) {
        c_copy(r, i, 9, out->user_email, sizeof out->user_email);
        out->first_seen = c_i64(r, i, 10);
    } else {
        out->user_email[0] = '\0';
        out->first_seen = 0;
    }
    /* The merge join returns pairs in order; make sure of it. */
    if (sc->any && (out->user_id < sc->last_user ||
                    (out->user_id == sc->last_user && strcmp(out->spec, sc->last_spec) <= 0)))
        return store_fail(&ps->base, STORE_ERR, "the pair scan returned pairs out of order");
    sc->any = true;
    sc->last_user = out->user_id;
    memcpy(sc->last_spec, out->spec, sizeof sc->last_spec);
    return 1;
}

static void pg_pair_scan_close(struct store_scan *sc)
{
    if (!sc)
        return;
    if (sc->pending)
        PQclear(collect_prefetch(sc));
    PQclear(sc->prefetched);
    sc->ps->scan = NULL;
    PQclear(sc->batch);
    if (PQstatus(sc->ps->conn) == CONNECTION_OK &&
        PQtransactionStatus(sc->ps->conn) == PQTRANS_INTRANS) {
        /* Closed now, so the transaction may go on (or scan again). */
        char saved[STORE_ERRMSG_MAX];
        memcpy(saved, sc->ps->base.errmsg, sizeof saved);
        int rc;
        PQclear(pg_run(sc->ps, Q_SCAN_CLOSE, 0, NULL, "close the pair scan", &rc));
        memcpy(sc->ps->base.errmsg, saved, sizeof saved);
    }
    free(sc);
}

/* ---- recorded checks and open violations -------------------------------------------- */

static int pg_violation_first_seen(struct store *s, int64_t user, const char *spec,
                                   const char *issue, int64_t *first_seen)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p.v[1] = spec;
    p.v[2] = issue;
    int rc;
    PGresult *res = pg_one(PS(s), Q_VIOLATION_FIRST_SEEN, 3, p.v, "open violation", &rc);
    if (!res)
        return rc;
    *first_seen = c_time(res, 0, 0);
    PQclear(res);
    return 0;
}

/* Send the staged violations not yet sent to the stage table (one COPY). */
static int stage_flush(struct pg_store *ps)
{
    if (ps->stage_pending == 0)
        return 0;
    int rc = ensure(ps, "stage violations");
    if (rc)
        return rc;
    PGresult *res = PQexec(ps->conn, "COPY " STAGE_TABLE " FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN)
        return fail_result(ps, res, "stage violations");
    PQclear(res);
    bool sent = PQputCopyData(ps->conn, ps->stage_copy.data, (int)ps->stage_copy.len) == 1;
    if (PQputCopyEnd(ps->conn, sent ? NULL : "the staged violations could not be sent") != 1)
        return fail_conn(ps, "stage violations");
    res = PQgetResult(ps->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = fail_result(ps, res, "stage violations");
    else
        PQclear(res);
    while ((res = PQgetResult(ps->conn)) != NULL)
        PQclear(res);
    if (rc == 0 && !sent)
        rc = fail_conn(ps, "stage violations");
    buf_reset(&ps->stage_copy);
    ps->stage_pending = 0;
    return rc;
}

/* A new stage: the session's temporary table (created once, outside any
 * transaction, since the check stages inside its read-only one) emptied. */
static int pg_check_stage_reset(struct store *s)
{
    struct pg_store *ps = PS(s);
    buf_reset(&ps->stage_copy);
    ps->stage_pending = 0;
    ps->stage_open = ps->stage_complete = false;
    int rc;
    if (!ps->stage_table) {
        if (s->in_txn == (int)STORE_TXN_READ + 1)
            return store_fail(s, STORE_ERR, "check_stage_reset must come before the check's "
                                            "read transaction");
        rc = command(ps,
                     "CREATE TEMP TABLE IF NOT EXISTS " STAGE_TABLE " (user_id BIGINT NOT NULL, "
                     "specialization TEXT COLLATE \"C\" NOT NULL, issue_type TEXT COLLATE \"C\" "
                     "NOT NULL, user_email TEXT NOT NULL, progress_level INTEGER, "
                     "license_level INTEGER, recommended_action TEXT NOT NULL, "
                     "first_seen TIMESTAMPTZ)",
                     "stage violations");
        if (rc)
            return rc;
        /* Created inside a transaction, it would vanish with a rollback. */
        ps->stage_table = !s->in_txn;
    }
    /* TRUNCATE keeps the table small between checks (temporary tables are
     * never vacuumed); inside a transaction only DELETE is allowed. */
    rc = command(ps, s->in_txn ? "DELETE FROM " STAGE_TABLE : "TRUNCATE " STAGE_TABLE,
                 "stage violations");
    if (rc == 0)
        ps->stage_open = true;
    return rc;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static int copy_text(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
                                                 : *s == '\r' ? "\\r" : NULL;
        rc = esc ? buf_puts(b, esc) : buf_append(b, s, 1);
    }
    return rc;
}

/* One COPY line per violation, sent a batch at a time (during the scan, into
 * the temporary table, which a read-only transaction may write). */
static int pg_check_stage_add(struct store *s, const struct violation *v, bool unchanged)
{
    /* Every violation is staged, unchanged or not: check_record resolves the
     * open violations that are not. */
    (void)unchanged;
    struct pg_store *ps = PS(s);
    if (!ps->stage_open)
        return store_fail(s, STORE_ERR, "check_stage_add before check_stage_reset");
    struct buf *b = &ps->stage_copy;
    size_t mark = b->len;
    char iso[TIME_ISO_LEN] = "\\N", pl[16] = "\\N", ll[16] = "\\N";
    if (v->first_seen)
        time_format_iso(v->first_seen, iso);
    if (v->has_progress)
        snprintf(pl, sizeof pl, "%d", v->progress_level);
    if (v->has_license)
        snprintf(ll, sizeof ll, "%d", v->license_level);
    int rc = buf_printf(b, "%" PRId64 "\t", v->user_id);
    if (rc == 0)
        rc = copy_text(b, v->spec);
    if (rc == 0)
        rc = buf_puts(b, "\t");
    if (rc == 0)
        rc = copy_text(b, v->issue_type);
    if (rc == 0)
        rc = buf_puts(b, "\t");
    if (rc == 0)
        rc = copy_text(b, v->user_email);
    if (rc == 0)
        rc = buf_printf(b, "\t%s\t%s\t", pl, ll);
    if (rc == 0)
        rc = copy_text(b, v->recommended_action);
    if (rc == 0)
        rc = buf_printf(b, "\t%s\n", iso);
    if (rc) {
        b->len = mark; /* drop the partial line */
        if (b->data)
            b->data[mark] = '\0';
        return store_fail(s, STORE_ERR, "out of memory");
    }
    if (++ps->stage_pending >= STAGE_BATCH)
        return stage_flush(ps);
    return 0;
}

/* The pair scan never reports the open violations here (open_known is
 * false), so nothing calls this during a check; check_record resolves every
 * open violation not staged, which covers one named here as well. */
static int pg_check_stage_resolve(struct store *s, int64_t user, const char *spec,
                                  const char *issue)
{
    if (!PS(s)->stage_open)
        return store_fail(s, STORE_ERR, "check_stage_resolve before check_stage_reset");
    return 0;
}

static int pg_check_stage_complete(struct store *s)
{
    struct pg_store *ps = PS(s);
    if (!ps->stage_open)
        return store_fail(s, STORE_ERR, "check_stage_complete before check_stage_reset");
    ps->stage_complete = true;
    return 0;
}

static int pg_check_record(struct store *s, struct check_run *c)
{
    struct pg_store *ps = PS(s);
    if (!ps->stage_open || !ps->stage_complete)
        return store_fail(s, STORE_ERR, "check_record needs a complete full pair scan after "
                                        "check_stage_reset");
    int rc = stage_flush(ps);
    if (rc)
        return rc;
    if ((rc = pg_begin(s, STORE_TXN_WRITE)) != 0)
        return rc;
    struct params p = {0};
    p_time(&p, 0, c->timestamp);
    p_i64(&p, 1, c->total_checked);
    p_i64(&p, 2, c->consistent);
    p_i64(&p, 3, c->inconsistent);
    p_dbl(&p, 4, c->consistency_rate);
    p.v[5] = c->status;
    p.v[6] = c->trigger;
    p_dbl(&p, 7, c->duration_ms);
    p.v[8] = c->report_file;
    p.v[9] = c->file_error;
    p_i64(&p, 10, c->users_checked);
    PGresult *res = pg_run(ps, Q_CHECK_INSERT, 11, p.v, "record check", &rc);
    if (!res)
        goto out;
    c->id = c_i64(res, 0, 0);
    PQclear(res);
    if ((rc = command(ps, "ANALYZE " STAGE_TABLE, "stage violations")) != 0)
        goto out;
    struct params q = {0};
    p_time(&q, 0, c->timestamp);
    p_i64(&q, 1, c->id);
    const char *open_new[2] = {q.v[1], q.v[0]};
    if ((rc = pg_exec_q(ps, Q_VIOLATIONS_RESOLVE, 2, q.v, "resolve violations")) != 0)
        goto out;
    if ((rc = pg_exec_q(ps, Q_VIOLATIONS_TOUCH, 1, q.v + 1, "update open violations")) != 0)
        goto out;
    if ((rc = pg_exec_q(ps, Q_VIOLATIONS_OPEN_NEW, 2, open_new, "open new violations")) != 0)
        goto out;
    if ((rc = pg_commit(s)) == 0)
        ps->stage_open = ps->stage_complete = false;
    return rc;
out:
    pg_rollback(s);
    return rc;
}

static int pg_check_set_file(struct store *s, int64_t id, const char *file, const char *error)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    p.v[1] = file ? file : "";
    p.v[2] = error ? error : "";
    return pg_exec_q(PS(s), Q_CHECK_SET_FILE, 3, p.v, "record check file");
}

static void read_check(PGresult *r, int i, struct check_run *c)
{
    memset(c, 0, sizeof *c);
    c->id = c_i64(r, i, 0);
    c->timestamp = c_time(r, i, 1);
    c->total_checked = c_i64(r, i, 2);
    c->consistent = c_i64(r, i, 3);
    c->inconsistent = c_i64(r, i, 4);
    c->consistency_rate = c_dbl(r, i, 5);
    c_copy(r, i, 6, c->status, sizeof c->status);
    c_copy(r, i, 7, c->trigger, sizeof c->trigger);
    c->duration_ms = c_dbl(r, i, 8);
    c_copy(r, i, 9, c->report_file, sizeof c->report_file);
    c_copy(r, i, 10, c->file_error, sizeof c->file_error);
    c->users_checked = c_i64(r, i, 11);
}

static int pg_check_latest(struct store *s, struct check_run *c)
{
    int rc;
    PGresult *res = pg_one(PS(s), Q_CHECK_LATEST, 0, NULL, "check", &rc);
    if (!res)
        return rc;
    read_check(res, 0, c);
    PQclear(res);
    return 0;
}

static int pg_check_get(struct store *s, int64_t id, struct check_run *c)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    int rc;
    PGresult *res = pg_one(PS(s), Q_CHECK_GET, 1, p.v, "check", &rc);
    if (!res)
        return rc;
    read_check(res, 0, c);
    PQclear(res);
    return 0;
}

static int pg_check_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                         store_check_cb cb, void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since);
    p_time(&p, 1, until);
    if (limit > 0)
        p_i64(&p, 2, limit);
    int rc;
    PGresult *res = pg_run(PS(s), Q_CHECK_LIST, 3, p.v, "list checks", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct check_run c;
        read_check(res, i, &c);
        out = cb(ctx, &c);
    }
    PQclear(res);
    return out;
}

static int each_violation(PGresult *res, store_violation_cb cb, void *ctx)
{
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct violation v;
        memset(&v, 0, sizeof v);
        v.user_id = c_i64(res, i, 0);
        c_copy(res, i, 1, v.user_email, sizeof v.user_email);
        c_copy(res, i, 2, v.spec, sizeof v.spec);
        c_copy(res, i, 3, v.issue_type, sizeof v.issue_type);
        v.has_progress = !PQgetisnull(res, i, 4);
        v.progress_level = (int)c_i64(res, i, 4);
        v.has_license = !PQgetisnull(res, i, 5);
        v.license_level = (int)c_i64(res, i, 5);
        c_copy(res, i, 6, v.recommended_action, sizeof v.recommended_action);
        v.first_seen = c_time(res, i, 7);
        out = cb(ctx, &v);
    }
    PQclear(res);
    return out;
}

static int pg_violations_open(struct store *s, const char *spec, store_violation_cb cb,
                              void *ctx)
{
    const char *v[1] = {spec};
    int rc;
    PGresult *res = pg_run(PS(s), spec ? Q_VIOLATIONS_OPEN_SPEC : Q_VIOLATIONS_OPEN_ALL,
                        spec ? 1 : 0, v, "list violations", &rc);
    return res ? each_violation(res, cb, ctx) : rc;
}

static int pg_violations_new_since(struct store *s, int64_t since, store_violation_cb cb,
                                   void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since ? since : 1);
    int rc;
    PGresult *res = pg_run(PS(s), Q_VIOLATIONS_NEW_SINCE, 1, p.v, "list violations", &rc);
    return res ? each_violation(res, cb, ctx) : rc;
}

static int pg_violations_resolved_since(struct store *s, int64_t since, store_violation_cb cb,
                                        void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since ? since : 1);
    int rc;
    PGresult *res = pg_run(PS(s), Q_VIOLATIONS_RESOLVED_SINCE, 1, p.v, "list violations", &rc);
    return res ? each_violation(res, cb, ctx) : rc;
}

static int pg_violations_open_page(struct store *s, const char *spec, int64_t limit,
                                   int64_t offset, store_violation_cb cb, void *ctx)
{
    struct params p = {0};
    p.v[0] = spec;
    p_i64(&p, 1, limit);
    p_i64(&p, 2, offset);
    int rc;
    PGresult *res = pg_run(PS(s), Q_VIOLATIONS_OPEN_PAGE, 3, p.v, "list violations", &rc);
    return res ? each_violation(res, cb, ctx) : rc;
}

static int pg_violations_open_count(struct store *s, const char *spec, int64_t *count)
{
    const char *v[1] = {spec};
    int rc;
    PGresult *res = pg_one(PS(s), Q_VIOLATIONS_OPEN_COUNT, 1, v, "count violations", &rc);
    if (!res)
        return rc;
    *count = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

/* A single nullable timestamp: NOT_FOUND when null. */
int pg_one_time(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                int64_t *when, const char *what)
{
    int rc;
    PGresult *res = pg_one(ps, id, n, vals, what, &rc);
    if (!res)
        return rc;
    bool null = PQgetisnull(res, 0, 0);
    *when = null ? 0 : c_time(res, 0, 0);
    PQclear(res);
    return null ? store_fail(&ps->base, STORE_ERR_NOT_FOUND, "%s: none", what) : 0;
}

/* ---- open and close ---------------------------------------------------------------------- */

static void pg_close(struct store *s)
{
    struct pg_store *ps = PS(s);
    buf_free(&ps->stage_copy);
    PQfinish(ps->conn);
    for (int i = 0; i < Q_COUNT; i++)
        free(ps->sql[i]);
    free(ps);
}

int store_pg_open(const char *conninfo, const struct store_options *o, struct store **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    struct pg_store *ps = calloc(1, sizeof *ps);
    if (!ps) {
        snprintf(err, errlen, "out of memory");
        return STORE_ERR;
    }
    ps->base.ops = &pg_ops;
    if (o->domain)
        ps->domain = *o->domain;
    else
        domain_map_own(&ps->domain);
    ps->attached = ps->domain.attached;
    ps->base.domain_read_only = ps->attached && !ps->domain.repair;
    ps->base.domain_attached = ps->attached;
    ps->stage_copy = (struct buf)BUF_INIT(0);
    ps->lock_timeout_ms = o->busy_timeout_ms;
    snprintf(ps->conninfo, sizeof ps->conninfo, "%s", conninfo);
    /* The URL's own settings and the PG* environment win over these defaults
     * (keywords before dbname are overridden by what the URL sets): a host
     * that does not answer fails after 10 s instead of the system's TCP
     * timeout of minutes. */
    const char *keys[4], *vals[4];
    int k = 0;
    if (!getenv("PGCONNECT_TIMEOUT")) {
        keys[k] = "connect_timeout";
        vals[k++] = "10";
    }
    keys[k] = "fallback_application_name";
    vals[k++] = "lockstep";
    keys[k] = "dbname";
    vals[k++] = conninfo;
    keys[k] = vals[k] = NULL;
    ps->conn = PQconnectdbParams(keys, vals, 1);
    if (!ps->conn || PQstatus(ps->conn) != CONNECTION_OK) {
        char msg[400];
        first_line(msg, sizeof msg, ps->conn ? PQerrorMessage(ps->conn) : "out of memory");
        /* The message names host and database, never the password. */
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", msg);
        PQfinish(ps->conn);
        free(ps);
        return STORE_ERR_UNAVAILABLE;
    }
    int rc = session_setup(ps);
    if (rc == 0 && ps->attached && (rc = pg_attach_prepare(ps, o->create || o->migrate, err,
                                                         errlen)) != 0) {
        pg_close(&ps->base);
        return rc;
    }
    if (rc == 0 && !o->create) {
        /* A database without Lockstep's schema is no store: nothing is created in it. */
        bool exists = false;
        PGresult *res = PQexec(ps->conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = fail_result(ps, res, "read schema version");
        } else {
            exists = PQgetvalue(res, 0, 0)[0] == 't';
            PQclear(res);
        }
        if (rc == 0 && !exists) {
            /* Named from the connection: host and database, never the password. */
            const char *host = PQhost(ps->conn), *port = PQport(ps->conn);
            host = host ? host : "";
            port = port ? port : "";
            if (host[0] == '/') /* a Unix socket directory */
                snprintf(err, errlen, "no Lockstep store at postgresql://%s@/%s?host=%s&port=%s",
                         PQuser(ps->conn), PQdb(ps->conn), host, port);
            else
                snprintf(err, errlen, "no Lockstep store at postgresql://%s@%s:%s/%s",
                         PQuser(ps->conn), host, port, PQdb(ps->conn));
            pg_close(&ps->base);
            return STORE_ERR_NO_STORE;
        }
    }
    if (rc == 0 && o->migrate) {
        int applied = 0;
        rc = pg_migrate(&ps->base, &applied);
    }
    if (rc) {
        snprintf(err, errlen, "cannot prepare the PostgreSQL store: %s", store_errmsg(&ps->base));
        pg_close(&ps->base);
        return rc;
    }
    *out = &ps->base;
    return 0;
}

static const struct store_ops pg_ops = {
    .name = "postgres",
    .schema_latest = PG_MIGRATION_COUNT,
    .close = pg_close,
    .migrate = pg_migrate,
    .schema_version = pg_schema_version,
    .probe = pg_probe,
    .attached_inspect = pg_attached_inspect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .user_insert = pg_user_insert,
    .user_get = pg_user_get,
    .user_get_by_email = pg_user_get_by_email,
    .user_update = pg_user_update,
    .user_list = pg_user_list,
    .user_count = pg_user_count,
    .user_email = pg_user_email,
    .spec_insert = pg_spec_insert,
    .spec_get = pg_spec_get,
    .spec_list = pg_spec_list,
    .spec_level_xp = pg_spec_level_xp,
    .progress_get = pg_progress_get,
    .progress_insert = pg_progress_insert,
    .progress_update = pg_progress_update,
    .license_get = pg_license_get,
    .license_insert = pg_license_insert,
    .license_update = pg_license_update,
    .progression_insert = pg_progression_insert,
    .progression_count = pg_progression_count,
    .user_pairs = pg_user_pairs,
    .pair_scan_open = pg_pair_scan_open,
    .pair_scan_next = pg_pair_scan_next,
    .pair_scan_close = pg_pair_scan_close,
    .violation_first_seen = pg_violation_first_seen,
    .check_stage_reset = pg_check_stage_reset,
    .check_stage_add = pg_check_stage_add,
    .check_stage_resolve = pg_check_stage_resolve,
    .check_stage_complete = pg_check_stage_complete,
    .check_record = pg_check_record,
    .check_set_file = pg_check_set_file,
    .check_latest = pg_check_latest,
    .check_get = pg_check_get,
    .check_list = pg_check_list,
    .violations_open = pg_violations_open,
    .violations_new_since = pg_violations_new_since,
    .violations_resolved_since = pg_violations_resolved_since,
    .violations_open_page = pg_violations_open_page,
    .violations_open_count = pg_violations_open_count,
    .sync_run_insert = pg_sync_run_insert,
    .sync_run_list = pg_sync_run_list,
    .sync_run_count_repair = pg_sync_run_count_repair,
    .sync_run_finish = pg_sync_run_finish,
    .sync_run_list_running = pg_sync_run_list_running,
    .audit_insert = pg_audit_insert,
    .refresh_insert = pg_refresh_insert,
    .refresh_get = pg_refresh_get,
    .refresh_mark_used = pg_refresh_mark_used,
    .refresh_revoke_family = pg_refresh_revoke_family,
    .refresh_revoke_user = pg_refresh_revoke_user,
    .lease_get = pg_lease_get,
    .lease_renew = pg_lease_renew,
    .lease_take = pg_lease_take,
    .lease_release = pg_lease_release,
    .alert_eval_lock = pg_alert_eval_lock,
    .scheduler_start_insert = pg_scheduler_start_insert,
    .scheduler_first_start = pg_scheduler_first_start,
    .scheduler_last_start = pg_scheduler_last_start,
    .scheduler_start_list = pg_scheduler_start_list,
    .job_run_insert = pg_job_run_insert,
    .job_run_finish = pg_job_run_finish,
    .job_runs_interrupt_stale = pg_job_runs_interrupt_stale,
    .job_run_stats = pg_job_run_stats,
    .job_run_list = pg_job_run_list,
    .job_run_last_due = pg_job_run_last_due,
    .baseline_insert = pg_baseline_insert,
    .baseline_get = pg_baseline_get,
    .baseline_list = pg_baseline_list,
    .baseline_set_file = pg_baseline_set_file,
    .alert_insert = pg_alert_insert,
    .alert_update = pg_alert_update,
    .alert_list = pg_alert_list,
    .silence_insert = pg_silence_insert,
    .silence_list = pg_silence_list,
    .silence_delete = pg_silence_delete,
    .delivery_insert = pg_delivery_insert,
    .delivery_update = pg_delivery_update,
    .delivery_due = pg_delivery_due,
    .delivery_list = pg_delivery_list,
    .delivery_next_due = pg_delivery_next_due,
    .attempt_insert = pg_attempt_insert,
    .attempt_list = pg_attempt_list,
};

/* pg_statements.c — the PostgreSQL store's statements: the SQL of every
 * statement (own and attached forms, naming the shared ones of
 * store/statements.h; the pair scan's templates), made for the store's domain
 * tables and prepared once per connection, and the helpers that run them with
 * text parameters. */
#include "model/pair.h"
#include "store/columns.h"
#include "store/domain_sql.h"
#include "store/statements.h"
#include "store/pg/pg_lease.h"
#include "store/pg/pg_private.h"
#include "util/buf.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * and renamed to domain.md's.
 * The sweep (Q_SCAN_SWEEP, Q_SCAN_SWEEP_KEYED: a full check, which needs
 * only the inconsistent pairs and the counts) sends the inconsistent pairs
 * alone: its user, one text of the other columns (pg_scan.c reads it: "pk lk
 * pl ll pn ln mx first_seen N:<sp><email>", NULL as empty, N the bytes of sp)
 * and, for a pair without progress, whether its user has no progress row at
 * all (such users are counted from the sweep; every other user is counted
 * beside it, Q_SWEEP_COUNT). The join's own filter (SWEEP_CANDIDATE) drops
 * the pairs it can tell are consistent with a few comparisons per pair: both
 * rows, one each, the same level from 1 to the lowest maximum of the known
 * specializations, a known specialization. What it keeps gets the rule; a
 * pair the rule finds consistent after all is not sent either. Sending and
 * parsing every column of every pair cost more than the join itself, and so
 * did sending each consistent pair's user, NULL-ing each column of a
 * consistent pair (one CASE per column per pair) and counting the pairs with
 * window functions on the server (each copies every row into its own
 * store). A pair whose specialization id is longer than SPEC_ID_LEN bytes is
 * sent with its text whatever its state, so the scan fails on it
 * (store_spec_copy) as the full scan does: never counted cut. */
#define SCAN_FORMAT_OF(pn, ln)                                                           \
    "DECLARE lockstep_pairs NO SCROLL CURSOR FOR "                                       \
    "SELECT x.u, x.sp, x.pk IS NOT NULL, x.lk IS NOT NULL, x.pl, x.ll, x.pn, x.ln, x.mx, " \
    "CASE WHEN x.issue IS NOT NULL THEN " SCAN_EMAIL " END, "                            \
    "CASE WHEN x.issue IS NOT NULL THEN " SCAN_FIRST_SEEN " END " SCAN_PAIRS_OF(pn, ln)
#define SWEEP_FORMAT_OF(pn, ln, single)                                                  \
    "DECLARE lockstep_pairs NO SCROLL CURSOR FOR "                                       \
    "SELECT z.u, "                                                                       \
    "format('%%s %%s %%s %%s %%s %%s %%s %%s %%s:%%s%%s', z.pk IS NOT NULL, "            \
    "z.lk IS NOT NULL, z.pl, z.ll, z.pn, z.ln, z.mx, ov.fs, octet_length(z.sp), z.sp, "  \
    "coalesce(nullif(ov.email, ''), " USER_EMAIL("z") ")), "                             \
    "CASE WHEN z.pk IS NULL THEN NOT EXISTS (SELECT FROM {progress_table} q "            \
    "WHERE q.{progress_user} = z.u) END "                                                \
    "FROM (SELECT x.* FROM (SELECT y.*, %1$s AS issue FROM (" PAIRS_JOIN_OF(pn, ln)      \
    "WHERE " SWEEP_CANDIDATE(single) " IS NOT TRUE "                                     \
    "OFFSET 0) y OFFSET 0) x "                                                           \
    "WHERE x.issue IS NOT NULL OR octet_length(x.sp) > " SPEC_ID_LEN_TEXT " OFFSET 0) z " \
    "LEFT JOIN LATERAL (" SWEEP_OPEN ") ov ON true"
/* The scan and the sweep over grouped sides (their row counts, n) and over
 * keyed ones, whose pairs have one row a side by the tables' keys: those
 * sides carry no n at all (SIDE_PROGRESS_KEYED), their pairs' counts are
 * constants here, as a constant NULL in a side of a FULL JOIN is a value the
 * planner must carry through the join for every row (a PlaceHolderVar): 12 %
 * of the sweep at 10 M pairs. */
#define SCAN_FORMAT SCAN_FORMAT_OF("p.n", "l.n")
#define SCAN_FORMAT_KEYED SCAN_FORMAT_OF("NULL::bigint", "NULL::bigint")
#define SWEEP_FORMAT SWEEP_FORMAT_OF("p.n", "l.n", "AND p.n IS NULL AND l.n IS NULL ")
#define SWEEP_FORMAT_KEYED SWEEP_FORMAT_OF("NULL::bigint", "NULL::bigint", "")
/* A sweep's inconsistent pair's open violation of its current issue type
 * (at most one: violations_open is unique): first_seen, and the email it
 * was recorded with, which the pair's email is taken from (as the SQLite
 * scan does: one lookup instead of two); a pair without one, or whose
 * violation has no email, has it looked up in the users table. OFFSET 0
 * keeps it a lookup per pair through the index. */
#define SWEEP_OPEN                                                                       \
    "SELECT " FIRST_SEEN_US " AS fs, v.user_email AS email FROM violations v "          \
    "WHERE " OPEN_OF("z") " OFFSET 0"
/* True for a pair the sweep need not send (see above): %5$s is the lowest
 * maximum level of the known specializations, %6$s their ids (text[]; none
 * longer than SPEC_ID_LEN bytes, so a pair with a longer id is sent). $3 is
 * true when the progress side's specialization is known by a foreign key
 * (pg_scan.c, spec_key_trusted): the test of each pair's id against the
 * known ones, a fifth of the join's time at 10 M pairs, is then left out
 * (the plan is made with $3's value: `true OR …` is folded away). */
#define SWEEP_CANDIDATE(single)                                                          \
    "(p.student_id IS NOT NULL AND l.user_id IS NOT NULL " single                         \
    "AND p.lvl = l.lvl AND p.lvl >= 1 AND p.lvl <= %5$s "                                \
    "AND ($3::boolean OR p.specialization_id = ANY((%6$s)::text[])))"
/* Whether every row of the specializations table is a known specialization
 * (%s: SWEEP_CANDIDATE's %6$s). */
#define SPECS_KNOWN_FORMAT                                                               \
    "SELECT NOT EXISTS (SELECT 1 FROM {specs_table} s "                                  \
    "WHERE s.id::text IS NULL OR s.id::text <> ALL((%s)::text[]))"
/* A sweep's pairs that have a progress row, and their users: the progress
 * side as the sweep reads it (%s), counted on a second connection while the
 * sweep runs (its snapshot imported: pg_scan.c). A pair without a progress
 * row is sent by the sweep, so the sweep counts those. */
#define SWEEP_COUNT_FORMAT                                                               \
    "SELECT count(*), count(DISTINCT p.student_id) FROM (%s) p "                         \
    "WHERE p.student_id IS NOT NULL"
/* The email of the user of pair `pair` (an alias with column u); the open
 * violation of that pair of its current issue type (the where clause, over
 * violations v), and its first_seen in microseconds. */
#define USER_EMAIL(pair)                                                                 \
    "(SELECT u.{users_email} FROM {users_table} u WHERE u.{users_id} = " pair ".u)"
#define OPEN_OF(pair)                                                                    \
    "v.user_id = " pair ".u AND v.specialization = " pair ".sp AND v.issue_type = " pair  \
    ".issue AND v.resolved_at IS NULL"
#define FIRST_SEEN_US "(extract(epoch FROM v.first_seen) * 1000000)::bigint"
/* An inconsistent pair's email, and first_seen of its open violation of the
 * pair's current issue type. */
#define SCAN_EMAIL USER_EMAIL("x")
#define SCAN_FIRST_SEEN "(SELECT " FIRST_SEEN_US " FROM violations v WHERE " OPEN_OF("x") ")"
/* Both sides joined into pairs (%2$s, %3$s) with the maximum level (%4$s),
 * each side's row count (pn, ln: its column n, or a constant for keyed
 * sides, which have none): the innermost level of a scan or a sweep, before
 * its own clauses. */
#define PAIRS_JOIN_OF(pn, ln)                                                            \
    "SELECT coalesce(p.student_id, l.user_id) AS u, "                                    \
    "coalesce(p.specialization_id, l.specialization_type) AS sp, "                       \
    "p.student_id AS pk, l.user_id AS lk, p.lvl AS pl, l.lvl AS ll, " pn " AS pn, "      \
    ln " AS ln, "                                                                        \
    "%4$s AS mx "                                                                        \
    "FROM (%2$s) p FULL JOIN (%3$s) l "                                                  \
    "ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id "
/* The pairs with their issue type (x), from PAIRS_JOIN_OF and the rule (%1$s). */
#define SCAN_PAIRS_OF(pn, ln)                                                            \
    "FROM (SELECT y.*, %1$s AS issue FROM (" PAIRS_JOIN_OF(pn, ln) "OFFSET 0) y OFFSET 0) x"

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
/* Keyed sides have no n: SCAN_FORMAT_KEYED, SWEEP_FORMAT_KEYED. */
#define SIDE_PROGRESS_KEYED                                                            \
    "SELECT {progress_user} AS student_id, {progress_spec} AS specialization_id, "    \
    "{progress_level} AS lvl FROM {progress_table}%s"
#define SIDE_LICENSE_KEYED                                                             \
    "SELECT {license_user} AS user_id, {license_spec} AS specialization_type, "       \
    "{license_level} AS lvl FROM {license_table}%s"

/* The maximum level of the pair's specialization (NULL: not known), from the
 * specializations table's column (own mode, or an attached table that keeps
 * one): two arrays read once per query (an init plan), not a lookup per
 * pair. An attached database without the column gets its limits from
 * [levels], written into the statement as two constant arrays (ids of
 * [A-Z0-9_] and numbers only: see domain_map_set_level). The argument: the
 * pair's specialization, an SQL expression. */
#define MAX_FROM_SPECS                                                                   \
    "(SELECT array_agg({specs_max_levels} ORDER BY id::text) FROM {specs_table})"          \
    "[array_position((SELECT array_agg(id::text ORDER BY id::text) FROM {specs_table}), " \
    "%s::text)]"

/* SWEEP_CANDIDATE's two arguments from the specializations table's column:
 * the lowest maximum level of the specializations that have one above 0,
 * and their ids. */
#define KNOWN_MIN_FROM_SPECS                                                             \
    "(SELECT min({specs_max_levels}) FROM {specs_table} WHERE {specs_max_levels} > 0)"
#define KNOWN_IDS_FROM_SPECS                                                             \
    "(SELECT coalesce(array_agg(id::text), ARRAY[]::text[]) FROM {specs_table} "        \
    "WHERE {specs_max_levels} > 0 AND octet_length(id::text) <= " SPEC_ID_LEN_TEXT ")"

/* pairs_get: each key of the arrays $1 (users) and $2 (specializations), in
 * their order, with both sides of its pair (%2$s, %3$s: a side's rows of the
 * batch's keys counted and their lowest level, by the key's place; a key
 * without rows still comes, with a count of 0), the specialization's
 * maximum level (%4$s), the rule over them as in the scan (%1$s; the email
 * of an inconsistent pair) and the pair's open violation (the one of the
 * pair's current issue type first). One round trip for the whole batch; the
 * sides are joins, so a table without an index on the pair is read once per
 * batch (a hash join), not once per key. */
#define PAIRS_GET_FORMAT                                                                  \
    "WITH k AS (SELECT * FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY "          \
    " AS k(u, sp, ord)), p AS (%2$s), l AS (%3$s) "                                        \
    "SELECT x.u, x.sp, x.pn > 0, x.ln > 0, x.pl, x.ll, x.pn, x.ln, x.mx, "                 \
    "CASE WHEN x.issue IS NOT NULL THEN "                                                 \
    " (SELECT u.{users_email} FROM {users_table} u WHERE u.{users_id} = x.u) END, "       \
    "o.issue_type, o.user_email, o.progress_level, o.license_level, "                     \
    "o.recommended_action, (extract(epoch FROM o.first_seen) * 1000000)::bigint, o.id "    \
    "FROM (SELECT y.*, %1$s AS issue FROM ("                                              \
    "SELECT k.ord, k.u, k.sp, CASE WHEN p.n > 0 THEN 1 END AS pk, "                       \
    "CASE WHEN l.n > 0 THEN 1 END AS lk, p.lvl AS pl, l.lvl AS ll, "                      \
    "coalesce(p.n, 0) AS pn, coalesce(l.n, 0) AS ln, %4$s AS mx "                          \
    "FROM k LEFT JOIN p ON p.ord = k.ord LEFT JOIN l ON l.ord = k.ord OFFSET 0) y "        \
    "OFFSET 0) x "                                                                         \
    "LEFT JOIN LATERAL (SELECT * FROM violations v WHERE v.user_id = x.u "                 \
    " AND v.specialization = x.sp AND v.resolved_at IS NULL "                              \
    " ORDER BY (v.issue_type = x.issue) IS TRUE DESC, v.id DESC LIMIT 1) o ON TRUE "       \
    "ORDER BY x.ord"
#define KEY_PROGRESS                                                                      \
    "SELECT k.ord, min(t.{progress_level}) AS lvl, count(*) AS n FROM k "                  \
    "JOIN {progress_table} t ON t.{progress_user} = k.u AND t.{progress_spec} = k.sp "     \
    "GROUP BY k.ord"
#define KEY_LICENSE                                                                       \
    "SELECT k.ord, min(t.{license_level}) AS lvl, count(*) AS n FROM k "                   \
    "JOIN {license_table} t ON t.{license_user} = k.u AND t.{license_spec} = k.sp "        \
    "GROUP BY k.ord"
#define KEY_PROGRESS_ATTACHED                                                             \
    "SELECT k.ord, min(t.{progress_level})::bigint AS lvl, count(*) AS n FROM k "          \
    "JOIN {progress_table} t ON t.{progress_user} = k.u "                                  \
    "AND t.{progress_spec}::text = k.sp GROUP BY k.ord"
#define KEY_LICENSE_ATTACHED                                                              \
    "SELECT k.ord, min(t.{license_level})::bigint AS lvl, count(*) AS n FROM k "           \
    "JOIN {license_table} t ON t.{license_user} = k.u "                                    \
    "AND t.{license_spec}::text = k.sp GROUP BY k.ord"

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
    "{progress_level}::bigint AS lvl FROM {progress_table}%s"
#define SIDE_LICENSE_KEYED_ATTACHED                                                      \
    "SELECT {license_user}::bigint AS user_id, "                                          \
    "{license_spec}::text COLLATE \"C\" AS specialization_type, "                         \
    "{license_level}::bigint AS lvl FROM {license_table}%s"

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

/* [watch] mode = poll: the newest updated_at (T) of a table (no row taken),
 * and its rows newer than the watermark $1 taken as change rows by the server
 * (changed_at: T, a timestamp without time zone read as UTC, the session's
 * zone): how many, and the newest of them. */
#define POLL_MAX(TABLE, T)                                                             \
    "SELECT 0, coalesce(max(" T ")::text, '" WATCH_MARK_EMPTY "') FROM " TABLE
#define POLL_TAKE(TABLE, USER, SPEC, T)                                                \
    "WITH polled AS (SELECT " USER " AS u, " SPEC "::text AS sp, " T " AS t FROM " TABLE   \
    " WHERE " T " > $1), "                                                              \
    "added AS (INSERT INTO pair_changes(user_id, specialization, delta, changed_at) "   \
    "SELECT u, sp, 0, extract(epoch FROM t::timestamptz) FROM polled RETURNING 1) "    \
    "SELECT (SELECT count(*) FROM added), (SELECT max(t)::text FROM polled)"

static const char *const sql[Q_COUNT] = {
    [Q_USER_INSERT] = STMT_USER_INSERT " RETURNING id",
    [Q_USER_GET] = STMT_USER_GET,
    [Q_USER_GET_EMAIL] = STMT_USER_GET_EMAIL,
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
    /* The count of a write transaction locks the rows it counts: two demotions
     * of the last two admins at once would each count two and both go
     * through. FOR UPDATE makes the second wait for the first and count again
     * the rows that still match once it commits. */
    [Q_USER_COUNT_LOCKED] = "SELECT count(*) FROM (SELECT 1 FROM users "
                            "WHERE ($1::text IS NULL OR role = $1) "
                            "AND ($2::int = 0 OR is_active) FOR UPDATE) counted",
    /* The statements over the domain tables are templates (store/domain_sql.h):
     * {key} is the mapped name of that table or column. */
    [Q_USER_EMAIL] = STMT_USER_EMAIL,
    [Q_SPEC_INSERT] = STMT_SPEC_INSERT,
    [Q_SPEC_GET] = STMT_SPEC_GET,
    [Q_SPEC_LIST] = STMT_SPEC_LIST,
    [Q_SPEC_LEVEL_XP] = STMT_SPEC_LEVEL_XP,
    [Q_PROGRESS_GET] = STMT_PROGRESS_GET,
    [Q_PROGRESS_GET_LOCK] = "SELECT " PROGRESS_COLS " FROM {progress_table} "
                            "WHERE {progress_user} = $1 AND {progress_spec} = $2 FOR UPDATE",
    /* Taken by a writer that found a pair's row missing: see lock_or_claim.
     * $1: 1 progress, 2 license (the two-key advisory lock space, apart from
     * the one-key locks of migrations and alert evaluations). */
    [Q_CREATE_CLAIM] = "SELECT pg_advisory_xact_lock($1::int, hashtext($2::text || ':' || $3))",
    [Q_PROGRESS_INSERT] = STMT_PROGRESS_INSERT " RETURNING id",
    [Q_PROGRESS_UPDATE] = STMT_PROGRESS_UPDATE,
    [Q_LICENSE_GET] = STMT_LICENSE_GET,
    [Q_LICENSE_GET_LOCK] = "SELECT " LICENSE_COLS " FROM {license_table} "
                           "WHERE {license_user} = $1 AND {license_spec} = $2 FOR UPDATE",
    [Q_LICENSE_INSERT] = STMT_LICENSE_INSERT " RETURNING id",
    [Q_LICENSE_UPDATE] = STMT_LICENSE_UPDATE,
    [Q_PROGRESSION_INSERT] = STMT_PROGRESSION_INSERT " RETURNING id",
    [Q_PROGRESSION_COUNT] = STMT_PROGRESSION_COUNT,
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
    [Q_PROBE] = STMT_PROBE,
    [Q_SCAN_PLAN] = "SELECT set_config('enable_hashjoin', 'off', true), "
                    "set_config('enable_nestloop', 'off', true), "
                    "set_config('enable_hashagg', 'off', true), "
                    /* Compiling the rule's expressions (JIT, for a query
                     * this costly) took longer than evaluating them: at
                     * 1 M pairs about 0.8 s of a 2.4 s scan. */
                    "set_config('jit', 'off', true), "
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
    /* Q_SCAN_ALL … Q_SWEEP_COUNT_KEYED: rule_template() */
    [Q_SCAN_FETCH] = "FETCH FORWARD " NUMBER_TEXT(PG_SCAN_FETCH) " FROM lockstep_pairs",
    [Q_SCAN_CLOSE] = "CLOSE lockstep_pairs",
    /* The progress table's estimated rows and the bounds of its user
     * column's histogram (ANALYZE's; none before it), by the raw names: the
     * schema ('' for the session's own), the table, the column. */
    [Q_SWEEP_SPLIT] = "SELECT s.histogram_bounds::text, c.reltuples::bigint FROM pg_stats s "
                      "JOIN pg_namespace n ON n.nspname = s.schemaname "
                      "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename "
                      "WHERE s.schemaname = coalesce(nullif($1, ''), current_schema()) "
                      "AND s.tablename = $2 AND s.attname = $3 ORDER BY s.inherited LIMIT 1",
    /* Whether the progress table's specialization column (by the raw names:
     * the schema, '' for the session's own, the table, the column) has a
     * foreign key to the `id` of the specializations table ($4, same
     * schema) that PostgreSQL has validated and still enforces: one column,
     * its triggers enabled, deterministic collations on both sides (equal
     * means the same text), the referenced table readable and without row
     * security (the sweep reads all its rows: SPECS_KNOWN_FORMAT). The
     * progress table a plain one without children: a query of it reads its
     * inheriting tables' rows too, which its key does not cover, and a
     * partitioned one's keys and triggers are its partitions'. */
    [Q_SWEEP_SPEC_KEY] =
        "SELECT EXISTS (SELECT 1 FROM pg_constraint c "
        "JOIN pg_class r ON r.oid = c.conrelid "
        "JOIN pg_namespace rn ON rn.oid = r.relnamespace "
        "JOIN pg_class f ON f.oid = c.confrelid "
        "JOIN pg_namespace fn ON fn.oid = f.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.convalidated AND cardinality(c.conkey) = 1 "
        "AND rn.nspname = coalesce(nullif($1::text, ''), current_schema()) "
        "AND r.relname = $2::text AND a.attname = $3::text "
        "AND fn.nspname = rn.nspname AND f.relname = $4::text AND b.attname = 'id' "
        "AND r.relkind = 'r' AND NOT r.relhassubclass "
        "AND NOT f.relrowsecurity AND has_table_privilege(f.oid, 'SELECT') "
        "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgconstraint = c.oid "
        "AND t.tgenabled = 'D') "
        "AND coalesce((SELECT k.collisdeterministic FROM pg_collation k "
        "WHERE k.oid = a.attcollation), true) "
        "AND coalesce((SELECT k.collisdeterministic FROM pg_collation k "
        "WHERE k.oid = b.attcollation), true))",
    /* Q_SWEEP_SPECS_KNOWN: rule_template() */
    [Q_VIOLATION_FIRST_SEEN] = STMT_VIOLATION_FIRST_SEEN,
    [Q_CHECK_INSERT] = STMT_CHECK_INSERT " RETURNING id",
    [Q_VIOLATIONS_RESOLVE] =
        "UPDATE violations v SET resolved_at = $1, resolved_check_id = $2 "
        "WHERE v.resolved_at IS NULL AND NOT EXISTS (SELECT 1 FROM " PG_STAGE_TABLE " s "
        "WHERE s.user_id = v.user_id AND s.specialization = v.specialization "
        "AND s.issue_type = v.issue_type)",
    [Q_VIOLATIONS_TOUCH] =
        "UPDATE violations v SET last_check_id = $1, user_email = s.user_email, "
        "progress_level = s.progress_level, license_level = s.license_level, "
        "recommended_action = s.recommended_action FROM " PG_STAGE_TABLE " s "
        "WHERE v.resolved_at IS NULL AND s.user_id = v.user_id "
        "AND s.specialization = v.specialization AND s.issue_type = v.issue_type "
        "AND (v.user_email, v.progress_level, v.license_level, v.recommended_action) "
        "IS DISTINCT FROM (s.user_email, s.progress_level, s.license_level, "
        "s.recommended_action)",
    /* The unique index of open violations decides what is new, not an
     * anti-join: with the table freshly emptied the planner estimates it at
     * no rows and rescans it for every staged row (quadratic: 107 s for
     * 100,000 violations at the first sweep of a 10 M store). */
    [Q_VIOLATIONS_OPEN_NEW] =
        "INSERT INTO violations(user_id, specialization, issue_type, user_email, "
        "progress_level, license_level, recommended_action, first_seen, first_check_id, "
        "last_check_id) SELECT s.user_id, s.specialization, s.issue_type, s.user_email, "
        "s.progress_level, s.license_level, s.recommended_action, "
        "coalesce(s.first_seen, $2::timestamptz), $1, $1 "
        "FROM " PG_STAGE_TABLE " s ON CONFLICT (user_id, specialization, issue_type) "
        "WHERE resolved_at IS NULL DO NOTHING",
    [Q_CHECK_SET_FILE] = STMT_CHECK_SET_FILE,
    [Q_CHECK_LATEST] = STMT_CHECK_LATEST,
    [Q_CHECK_GET] = STMT_CHECK_GET,
    [Q_CHECK_LIST] = "SELECT " CHECK_COLS " FROM check_runs WHERE timestamp >= "
                     "coalesce($1::timestamptz, '-infinity') AND timestamp < "
                     "coalesce($2::timestamptz, 'infinity') ORDER BY timestamp DESC, id DESC "
                     "LIMIT $3",
    [Q_VIOLATIONS_OPEN_ALL] = STMT_VIOLATIONS_OPEN_ALL,
    [Q_VIOLATIONS_OPEN_SPEC] = STMT_VIOLATIONS_OPEN_SPEC,
    [Q_VIOLATIONS_NEW_SINCE] = STMT_VIOLATIONS_NEW_SINCE,
    [Q_VIOLATIONS_RESOLVED_SINCE] = STMT_VIOLATIONS_RESOLVED_SINCE,
    [Q_VIOLATIONS_OPEN_PAGE] = STMT_VIOLATIONS_OPEN_PAGE,
    [Q_VIOLATIONS_OPEN_COUNT] = "SELECT count(*) FROM violations WHERE resolved_at IS NULL "
                                "AND ($1::text IS NULL OR specialization = $1::text)",
    [Q_SYNC_RUN_INSERT] = STMT_SYNC_RUN_INSERT " RETURNING id",
    [Q_SYNC_RUN_LIST] = "SELECT " SYNC_COLS " FROM sync_runs WHERE started_at >= "
                        "coalesce($1::timestamptz, '-infinity') ORDER BY started_at, id",
    [Q_SYNC_RUN_COUNT] = STMT_SYNC_RUN_COUNT,
    [Q_SYNC_RUN_FINISH] = STMT_SYNC_RUN_FINISH,
    [Q_SYNC_RUN_RUNNING] = STMT_SYNC_RUN_RUNNING,
    [Q_AUDIT_INSERT] = STMT_AUDIT_INSERT,
    [Q_REFRESH_INSERT] = STMT_REFRESH_INSERT,
    [Q_REFRESH_GET] = STMT_REFRESH_GET,
    [Q_REFRESH_MARK_USED] = STMT_REFRESH_MARK_USED,
    [Q_REFRESH_REVOKE_FAMILY] = STMT_REFRESH_REVOKE_FAMILY,
    [Q_REFRESH_REVOKE_USER] = STMT_REFRESH_REVOKE_USER,
    [Q_SCHED_START_INSERT] = STMT_SCHED_START_INSERT " RETURNING id",
    [Q_SCHED_FIRST_START] = "SELECT min(started_at) FROM scheduler_starts WHERE scheduler",
    [Q_SCHED_LAST_START] = "SELECT started_at, owner FROM scheduler_starts WHERE scheduler "
                           "ORDER BY id DESC LIMIT 1",
    [Q_SCHED_START_LIST] = "SELECT id, started_at, owner, scheduler, check_interval, "
                           "sync_interval, check_misfire_grace, sync_misfire_grace "
                           "FROM scheduler_starts WHERE started_at < $2 AND (started_at > $1 "
                           "OR id = (SELECT id FROM scheduler_starts WHERE scheduler "
                           "AND started_at <= $1 ORDER BY started_at DESC, id DESC LIMIT 1)) "
                           "ORDER BY started_at, id",
    [Q_JOB_RUN_INSERT] = STMT_JOB_RUN_INSERT " RETURNING id",
    [Q_JOB_RUN_FINISH] = STMT_JOB_RUN_FINISH,
    [Q_JOB_RUNS_INTERRUPT] = STMT_JOB_RUNS_INTERRUPT,
    [Q_JOB_RUN_STATS] = "SELECT status, count(*) FROM job_runs WHERE job_id = $1 AND due_at >= "
                        "coalesce($2::timestamptz, '-infinity') AND due_at < "
                        "coalesce($3::timestamptz, 'infinity') GROUP BY status",
    [Q_JOB_RUN_LAST] = STMT_JOB_RUN_LAST,
    [Q_JOB_RUN_LAST_SUCCESS] = STMT_JOB_RUN_LAST_SUCCESS,
    [Q_JOB_RUN_LIST] = "SELECT " JOB_COLS " FROM job_runs WHERE ($1::text IS NULL OR job_id = $1) "
                       "AND due_at >= coalesce($2::timestamptz, '-infinity') AND due_at < "
                       "coalesce($3::timestamptz, 'infinity') ORDER BY due_at DESC, id DESC "
                       "LIMIT $4",
    [Q_JOB_RUN_LAST_DUE] = STMT_JOB_RUN_LAST_DUE,
    [Q_BASELINE_INSERT] = STMT_BASELINE_INSERT " RETURNING id",
    [Q_BASELINE_GET] = STMT_BASELINE_GET,
    [Q_BASELINE_LATEST] = STMT_BASELINE_LATEST,
    [Q_BASELINE_LIST] = STMT_BASELINE_LIST,
    [Q_BASELINE_SET_FILE] = STMT_BASELINE_SET_FILE,
    [Q_ALERT_INSERT] = STMT_ALERT_INSERT " RETURNING id",
    [Q_ALERT_UPDATE] = STMT_ALERT_UPDATE,
    [Q_ALERT_LIST_ACTIVE] = STMT_ALERT_LIST_ACTIVE,
    [Q_ALERT_LIST_ALL] = STMT_ALERT_LIST_ALL,
    [Q_SILENCE_INSERT] = STMT_SILENCE_INSERT " RETURNING id",
    [Q_SILENCE_LIST_AT] = STMT_SILENCE_LIST_AT,
    [Q_SILENCE_LIST_ALL] = STMT_SILENCE_LIST_ALL,
    [Q_SILENCE_DELETE] = STMT_SILENCE_DELETE,
    [Q_DELIVERY_INSERT] = STMT_DELIVERY_INSERT " RETURNING id",
    [Q_DELIVERY_UPDATE] = STMT_DELIVERY_UPDATE,
    [Q_DELIVERY_DUE] = STMT_DELIVERY_DUE,
    [Q_DELIVERY_LIST] = STMT_DELIVERY_LIST,
    [Q_DELIVERY_NEXT_DUE] = STMT_DELIVERY_NEXT_DUE,
    [Q_ATTEMPT_INSERT] = STMT_ATTEMPT_INSERT " RETURNING id",
    [Q_ATTEMPT_LIST] = STMT_ATTEMPT_LIST,
    /* The watcher (pg_watch.c, watch.md). */
    [Q_WATCH_STATE_GET] = STMT_WATCH_STATE_GET,
    [Q_WATCH_PENDING] = STMT_WATCH_PENDING,
    /* The users of the first $1 change rows (NULL: all), and every pending
     * change of each, in id order: a user's changes never split between two
     * batches. */
    /* The users as an array, not a join: pair_changes swings between empty
     * and large faster than its statistics follow, and a planner that thinks
     * it empty must not pick a nested loop over it (one scan at worst). */
    /* The users of the first $1 pending rows; watch_changes then reads
     * every pending row of those users (pg_watch.c). */
    [Q_WATCH_CHANGE_USERS] = "SELECT DISTINCT user_id FROM (SELECT user_id FROM pair_changes "
                             "WHERE id > $2::bigint ORDER BY id LIMIT $1::bigint) f",
    /* Q_PAIRS_GET: rule_template() */
    /* Joins, as pairs_get's sides: a table without an index on the user is
     * read once per batch. */
    [Q_USER_ROWS] = "WITH k AS (SELECT * FROM unnest($1::bigint[]) WITH ORDINALITY AS k(u, ord)) "
                    "SELECT coalesce(p.n, 0) + coalesce(l.n, 0) FROM k "
                    "LEFT JOIN (SELECT k.ord, count(*) AS n FROM k JOIN {progress_table} t "
                    "ON t.{progress_user} = k.u GROUP BY k.ord) p ON p.ord = k.ord "
                    "LEFT JOIN (SELECT k.ord, count(*) AS n FROM k JOIN {license_table} t "
                    "ON t.{license_user} = k.u GROUP BY k.ord) l ON l.ord = k.ord ORDER BY k.ord",
    /* The pair's open violation becomes $3 (NULL: none) in one statement: an
     * open one of another issue type resolved, one of $3 kept (its first_seen)
     * with the new levels and action, else $3 opened. */
    /* A watcher batch's moves of open violations, one element of each array
     * per pair: resolve the pair's open violations of another issue type;
     * keep one of the pair's issue type (first_seen stays, levels, email and
     * action move); else open it. */
    [Q_VIOLATIONS_MOVE] =
        "WITH m AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
        "$5::int[], $6::int[], $7::text[], $8::timestamptz[]) AS m(u, sp, issue, email, pl, ll, "
        "act, fs)), "
        "resolved AS (UPDATE violations v SET resolved_at = $9::timestamptz, "
        "resolved_check_id = NULL FROM m WHERE v.user_id = m.u AND v.specialization = m.sp "
        "AND v.resolved_at IS NULL AND v.issue_type IS DISTINCT FROM m.issue), "
        "kept AS (UPDATE violations v SET user_email = m.email, progress_level = m.pl, "
        "license_level = m.ll, recommended_action = m.act, last_check_id = 0 FROM m "
        "WHERE v.user_id = m.u AND v.specialization = m.sp AND v.resolved_at IS NULL "
        "AND v.issue_type = m.issue RETURNING v.user_id, v.specialization) "
        "INSERT INTO violations(user_id, specialization, issue_type, user_email, progress_level, "
        "license_level, recommended_action, first_seen, first_check_id, last_check_id) "
        "SELECT m.u, m.sp, m.issue, m.email, m.pl, m.ll, m.act, coalesce(m.fs, $9::timestamptz), "
        "0, 0 FROM m WHERE m.issue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kept k "
        "WHERE k.user_id = m.u AND k.specialization = m.sp)",
    /* The applied change rows by their ids, never by a bound on them: ids
     * are taken at insert, not in commit order, so a smaller id may commit
     * after a larger one was applied. */
    /* Answers how many of the change rows it deleted (watch_write checks
     * that none had gone). */
    [Q_WATCH_ADVANCE] = "WITH gone AS (DELETE FROM pair_changes WHERE id = ANY($1::bigint[]) "
                        "RETURNING 1) "
                        "UPDATE watch_state SET pairs = pairs + $2::bigint, "
                        "users = users + $3::bigint, violations = violations + $4::bigint, "
                        "version = version + 1, applied_at = $5::timestamptz, "
                        "last_lag_seconds = CASE WHEN $6::float8 < 0 THEN last_lag_seconds "
                        "ELSE $6::float8 END WHERE id = 1 RETURNING (SELECT count(*) FROM gone)",
    [Q_WATCH_RESET] = "WITH gone AS (DELETE FROM pair_changes WHERE id = ANY($1::bigint[])) "
                      "UPDATE watch_state SET pairs = $2::bigint, users = $3::bigint, "
                      "violations = $4::bigint, initialized = TRUE, sweep_requested = FALSE, "
                      "last_full_at = $5::timestamptz, last_full_check_id = $6::bigint, "
                      "divergences_total = divergences_total + $7::bigint, "
                      "version = version + 1, "
                      "progress_watermark = coalesce($8::text, progress_watermark), "
                      "license_watermark = coalesce($9::text, license_watermark) WHERE id = 1",
    /* After a bulk load: TRUNCATE, since DELETE of every row a load of
     * millions of pairs captured would take minutes; the rows of writers
     * committing meanwhile go too, which the full sweep the state now asks
     * for makes good. */
    [Q_WATCH_DISCARD_CHANGES] = "TRUNCATE pair_changes",
    [Q_WATCH_DISCARD_STATE] = "UPDATE watch_state SET initialized = FALSE, version = version + 1 "
                              "WHERE id = 1",
    /* A session lock: it orders the batches and sweeps of all processes,
     * each in transactions of its own. */
    [Q_WATCH_LOCK] = "SELECT pg_advisory_lock(" PG_WATCH_LOCK_KEY ")",
    [Q_WATCH_UNLOCK] = "SELECT pg_advisory_unlock(" PG_WATCH_LOCK_KEY ")",
    [Q_WATCH_LISTEN] = "LISTEN lockstep_pair_changes",
    /* [watch] mode = poll (pg_watch.c). The watermarks are the text of
     * updated_at in the session's ISO style (pg_store.c), and come back as
     * $1 of the column's own type, which the server infers from the
     * comparison: exact for timestamp, timestamptz and date alike. */
    [Q_WATCH_MARKS_SET] = STMT_WATCH_MARKS_SET,
    [Q_WATCH_MAX_P] = POLL_MAX("{progress_table}", "{progress_updated_at}"),
    [Q_WATCH_MAX_L] = POLL_MAX("{license_table}", "{license_updated_at}"),
    [Q_WATCH_POLL_P] = POLL_TAKE("{progress_table}", "{progress_user}", "{progress_spec}",
                                 "{progress_updated_at}"),
    [Q_WATCH_POLL_L] = POLL_TAKE("{license_table}", "{license_user}", "{license_spec}",
                                 "{license_updated_at}"),
};

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
    [Q_PROGRESS_INSERT] = STMT_PROGRESS_INSERT_ATTACHED " RETURNING id",
    [Q_PROGRESS_UPDATE] = STMT_PROGRESS_UPDATE_ATTACHED,
    [Q_LICENSE_GET] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                      "WHERE {license_user} = $1 AND {license_spec}::text = $2",
    [Q_LICENSE_GET_LOCK] = "SELECT " LICENSE_COLS_ATTACHED " FROM {license_table} "
                           "WHERE {license_user} = $1 AND {license_spec}::text = $2 FOR UPDATE",
    [Q_LICENSE_INSERT] = STMT_LICENSE_INSERT_ATTACHED " RETURNING id",
    [Q_LICENSE_UPDATE] = STMT_LICENSE_UPDATE_ATTACHED,
    [Q_PROGRESSION_INSERT] = STMT_PROGRESSION_INSERT_ATTACHED " RETURNING id",
    /* Run after the pair's writes, under the academy's search_path (see
     * academy_path): Lockstep's table named by its schema. */
    [Q_SYNC_RUN_COUNT] = "UPDATE {lockstep_schema}.sync_runs SET synced_count = synced_count + 1 "
                         "WHERE id = $1",
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

/* The where clauses of the pair scans, progress side then license side: the
 * full scan, by user, by specialization, by both, and a sweep's range of
 * users (pg_scan.c splits a sweep in two): from $1 to $2, a NULL bound
 * being none. The plan is made with the bounds' values, so a bound that is
 * NULL is no test at all: comparing every row with both ends of an
 * unbounded range cost 16 % of the sweep at 10 M pairs. */
#define SWEEP_WHERE_RANGE                                                                \
    {" WHERE ($1::bigint IS NULL OR {progress_user} >= $1::bigint) "                       \
     "AND ($2::bigint IS NULL OR {progress_user} <= $2::bigint)",                          \
     " WHERE ($1::bigint IS NULL OR {license_user} >= $1::bigint) "                        \
     "AND ($2::bigint IS NULL OR {license_user} <= $2::bigint)"}
static const char *const scan_where[5][2] = {
    {"", ""},
    {" WHERE {progress_user} = $1::bigint", " WHERE {license_user} = $1::bigint"},
    {" WHERE {progress_spec} = $1::text", " WHERE {license_spec} = $1::text"},
    {" WHERE {progress_user} = $1::bigint AND {progress_spec} = $2::text",
     " WHERE {license_user} = $1::bigint AND {license_spec} = $2::text"},
    SWEEP_WHERE_RANGE,
};
/* The same over an attached database's columns of any type. */
static const char *const scan_where_attached[5][2] = {
    {"", ""},
    {" WHERE {progress_user} = $1::bigint", " WHERE {license_user} = $1::bigint"},
    {" WHERE {progress_spec}::text = $1::text", " WHERE {license_spec}::text = $1::text"},
    {" WHERE {progress_user} = $1::bigint AND {progress_spec}::text = $2::text",
     " WHERE {license_user} = $1::bigint AND {license_spec}::text = $2::text"},
    SWEEP_WHERE_RANGE,
};

/* The maximum level expression for this store's domain (see MAX_FROM_SPECS)
 * of the specialization `spec` (an SQL expression) into out[len]. Returns 0,
 * or -1 when it does not fit. */
static int max_level_expr(const struct domain_map *m, const char *spec, char *out, size_t len)
{
    if (!m->attached || m->name[DOMAIN_SPECS_MAX_LEVELS][0]) {
        int n = snprintf(out, len, MAX_FROM_SPECS, spec);
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
                         "(ARRAY[%s]::int[])[array_position(ARRAY[%s]::text[], %s::text)]",
                         buf_str(&maxes), buf_str(&ids), spec);
        rc = n < 0 || (size_t)n >= len ? -1 : 0;
    }
    buf_free(&ids);
    buf_free(&maxes);
    return rc;
}

/* SWEEP_CANDIDATE's arguments for this store's domain: the lowest maximum
 * level of the known specializations into min[len] and their ids into
 * ids[len] (SQL expressions: see KNOWN_MIN_FROM_SPECS; from [levels] as
 * constants, written as max_level_expr writes them). Returns 0, or -1 when
 * they do not fit. */
static int sweep_known_exprs(const struct domain_map *m, char *min, size_t minlen, char *ids,
                             size_t len)
{
    if (!m->attached || m->name[DOMAIN_SPECS_MAX_LEVELS][0]) {
        int a = snprintf(min, minlen, "%s", KNOWN_MIN_FROM_SPECS);
        int b = snprintf(ids, len, "%s", KNOWN_IDS_FROM_SPECS);
        return a < 0 || (size_t)a >= minlen || b < 0 || (size_t)b >= len ? -1 : 0;
    }
    struct buf list = BUF_INIT(0);
    int lowest = 0, bad = 0;
    for (int i = 0; i < m->levels; i++) {
        if (m->level[i].max <= 0 || strlen(m->level[i].spec) > SPEC_ID_LEN)
            continue;
        bad |= buf_printf(&list, "%s'%s'", lowest ? ", " : "", m->level[i].spec) != 0;
        if (!lowest || m->level[i].max < lowest)
            lowest = m->level[i].max;
    }
    int a = lowest ? snprintf(min, minlen, "%d", lowest) : snprintf(min, minlen, "NULL::int");
    int b = lowest ? snprintf(ids, len, "ARRAY[%s]::text[]", buf_str(&list))
                   : snprintf(ids, len, "ARRAY[]::text[]");
    buf_free(&list);
    return bad || a < 0 || (size_t)a >= minlen || b < 0 || (size_t)b >= len ? -1 : 0;
}

/* The two sides of scan statement `id` (Q_SCAN_ALL … Q_SWEEP_COUNT_KEYED)
 * into side[2][1024]. Returns 0, or -1 when they do not fit. */
static int scan_sides(const struct domain_map *m, enum stmt_id id, char side[2][1024])
{
    /* Q_SCAN_ALL … Q_SCAN_USER_SPEC: grouped, by filter; Q_SCAN_ALL_KEYED: the
     * full scan over keyed tables; the sweeps: full scans, grouped or keyed. */
    bool keyed = id == Q_SCAN_ALL_KEYED || id == Q_SCAN_SWEEP_KEYED || id == Q_SWEEP_COUNT_KEYED;
    int i = id == Q_SCAN_SWEEP || id == Q_SCAN_SWEEP_KEYED ? 4
            : keyed || id >= Q_SCAN_SWEEP                  ? 0
                                                           : (int)(id - Q_SCAN_ALL);
    const char *const(*where)[2] = m->attached ? scan_where_attached : scan_where;
    int n0, n1;
    if (m->attached && keyed) {
        n0 = snprintf(side[0], 1024, SIDE_PROGRESS_KEYED_ATTACHED, where[i][0]);
        n1 = snprintf(side[1], 1024, SIDE_LICENSE_KEYED_ATTACHED, where[i][1]);
    } else if (m->attached) {
        n0 = snprintf(side[0], 1024, SIDE_PROGRESS_GROUPED_ATTACHED, where[i][0]);
        n1 = snprintf(side[1], 1024, SIDE_LICENSE_GROUPED_ATTACHED, where[i][1]);
    } else if (keyed) {
        n0 = snprintf(side[0], 1024, SIDE_PROGRESS_KEYED, where[i][0]);
        n1 = snprintf(side[1], 1024, SIDE_LICENSE_KEYED, where[i][1]);
    } else {
        n0 = snprintf(side[0], 1024, SIDE_PROGRESS_GROUPED, where[i][0]);
        n1 = snprintf(side[1], 1024, SIDE_LICENSE_GROUPED, where[i][1]);
    }
    return n0 >= 0 && n0 < 1024 && n1 >= 0 && n1 < 1024 ? 0 : -1;
}

/* The template of a statement that applies the coupling rule over both
 * sides and the maximum level: a scan statement (Q_SCAN_ALL …
 * Q_SWEEP_COUNT_KEYED) or Q_PAIRS_GET, or Q_SWEEP_SPECS_KNOWN (the sweep's
 * known ids), into out[len]. Returns 0, or -1 when it does not fit. */
static int rule_template(const struct domain_map *m, enum stmt_id id, char *out, size_t len)
{
    char issue[2048];
    if (pair_sql_issue(issue, sizeof issue, &scan_columns) != 0)
        return -1;
    /* [levels] may list DOMAIN_LEVELS_MAX ids of SPEC_ID_LEN bytes: about 19 KB. */
    char *mx = malloc(32768);
    /* The pair's specialization: the scan's from either side, pairs_get's
     * from its key. */
    const char *spec = id == Q_PAIRS_GET ? "k.sp"
                                         : "coalesce(p.specialization_id, l.specialization_type)";
    if (!mx || max_level_expr(m, spec, mx, 32768) != 0) {
        free(mx);
        return -1;
    }
    int n = -1;
    char side[2][1024];
    /* [levels] ids as constants: as long as mx. */
    char known_min[256], *known_ids = malloc(32768);
    if (id == Q_SWEEP_SPECS_KNOWN)
        n = known_ids && sweep_known_exprs(m, known_min, sizeof known_min, known_ids, 32768) == 0
                ? snprintf(out, len, SPECS_KNOWN_FORMAT, known_ids)
                : -1;
    else if (id == Q_PAIRS_GET)
        n = snprintf(out, len, PAIRS_GET_FORMAT, issue,
                     m->attached ? KEY_PROGRESS_ATTACHED : KEY_PROGRESS,
                     m->attached ? KEY_LICENSE_ATTACHED : KEY_LICENSE, mx);
    else if (scan_sides(m, id, side) != 0)
        n = -1;
    else if (id == Q_SWEEP_COUNT || id == Q_SWEEP_COUNT_KEYED)
        n = snprintf(out, len, SWEEP_COUNT_FORMAT, side[0]);
    else if (id == Q_SCAN_SWEEP || id == Q_SCAN_SWEEP_KEYED)
        n = known_ids && sweep_known_exprs(m, known_min, sizeof known_min, known_ids, 32768) == 0
                ? snprintf(out, len, id == Q_SCAN_SWEEP_KEYED ? SWEEP_FORMAT_KEYED : SWEEP_FORMAT,
                           issue, side[0], side[1], mx, known_min, known_ids)
                : -1;
    else
        n = snprintf(out, len, id == Q_SCAN_ALL_KEYED ? SCAN_FORMAT_KEYED : SCAN_FORMAT, issue,
                     side[0], side[1], mx);
    free(known_ids);
    free(mx);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The SQL of statement `id` for this store's domain tables (borrowed), or
 * NULL with the reason in err[errlen]. */
const char *pg_statement_text(struct pg_store *ps, enum stmt_id id, char *err,
                              size_t errlen)
{
    if (ps->sql[id])
        return ps->sql[id];
    const char *tmpl = ps->attached && attached_sql[id] ? attached_sql[id] : sql[id];
    char *text = NULL;
    if ((id >= Q_SCAN_ALL && id <= Q_SWEEP_COUNT_KEYED) || id == Q_PAIRS_GET ||
        id == Q_SWEEP_SPECS_KNOWN) {
        text = malloc(65536);
        if (!text || rule_template(&ps->domain, id, text, 65536) != 0) {
            free(text);
            snprintf(err, errlen, "the statement text does not fit");
            return NULL;
        }
        tmpl = text;
    }
    ps->sql[id] = domain_sql_expand(&ps->domain, ps->attached ? ps->domain.schema : NULL, tmpl,
                                    err, errlen);
    free(text);
    /* The shared statements (store/statements.h) are written with ?N. */
    if (ps->sql[id])
        statements_dollar_params(ps->sql[id]);
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
int pg_prepare(struct pg_store *ps, enum stmt_id id, char name[16], const char *what)
{
    snprintf(name, 16, "lk%d", (int)id);
    if (ps->prepared[id])
        return 0;
    if (ps->base.domain_read_only && writes_domain(id))
        return store_fail(&ps->base, STORE_ERR, "%s: %s", what, STORE_REPAIR_OFF);
    char err[256];
    const char *text = pg_statement_text(ps, id, err, sizeof err);
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
        return pg_fail_result(ps, p, what);
    PQclear(p);
    ps->prepared[id] = true;
    return 0;
}

/* An attached database's own triggers run in Lockstep's session and name
 * their tables unqualified (an audit trigger's INSERT INTO audit_logs): they
 * must find the academy's, not Lockstep's. So the first write of a domain
 * table in a transaction sets the transaction's search_path to the academy's
 * schema; from then until the commit every statement must name its tables by
 * schema (the domain templates do; Lockstep's own, only those written so:
 * anything else fails here rather than land in a table of the academy's). */
static int academy_path(struct pg_store *ps, enum stmt_id id, const char *what)
{
    const char *tmpl = attached_sql[id] ? attached_sql[id] : sql[id];
    bool qualified = (id >= Q_SCAN_ALL && id <= Q_SWEEP_COUNT_KEYED) || /* made from templates */
                     id == Q_PAIRS_GET ||
                     id == Q_CREATE_CLAIM || /* an advisory lock: no table */
                     (tmpl && strchr(tmpl, '{') != NULL);
    if (ps->academy_path_set)
        return qualified ? 0
                         : store_fail(&ps->base, STORE_ERR,
                                      "%s: a statement over Lockstep's own tables after a write "
                                      "of the attached tables in one transaction",
                                      what);
    if (!writes_domain(id) || id == Q_PROGRESS_GET_LOCK || id == Q_LICENSE_GET_LOCK)
        return 0;
    if (!ps->base.in_txn)
        return store_fail(&ps->base, STORE_ERR, "%s: a write of the attached tables outside "
                          "a transaction", what);
    const char *v[1] = {ps->domain.schema};
    PGresult *res = PQexecParams(ps->conn, "SELECT set_config('search_path', quote_ident($1), "
                                 "true)", 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail_result(ps, res, what);
    PQclear(res);
    ps->academy_path_set = true;
    return 0;
}

PGresult *pg_run(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                 const char *what, int *rc)
{
    *rc = pg_ensure(ps, what);
    if (*rc)
        return NULL;
    char name[16];
    if (n < 0 || n > PARAMS_MAX) {
        *rc = store_fail(&ps->base, STORE_ERR, "%s: %d parameters, more than the %d supported",
                         what, n, PARAMS_MAX);
        return NULL;
    }
    if ((*rc = pg_prepare(ps, id, name, what)) != 0)
        return NULL;
    if (ps->attached && (*rc = academy_path(ps, id, what)) != 0)
        return NULL;
    PGresult *res = PQexecPrepared(ps->conn, name, n, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *rc = pg_fail_result(ps, res, what);
        return NULL;
    }
    return res;
}

int pg_run_rows(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                const char *what, int (*row)(void *ctx, PGresult *res), void *ctx)
{
    int rc = pg_ensure(ps, what);
    if (rc)
        return rc;
    char name[16];
    if (n < 0 || n > PARAMS_MAX)
        return store_fail(&ps->base, STORE_ERR, "%s: %d parameters, more than the %d supported",
                          what, n, PARAMS_MAX);
    if ((rc = pg_prepare(ps, id, name, what)) != 0)
        return rc;
    if (ps->attached && (rc = academy_path(ps, id, what)) != 0)
        return rc;
    if (!PQsendQueryPrepared(ps->conn, name, n, vals, NULL, NULL, 0))
        return pg_fail_conn(ps, what);
    bool single = PQsetSingleRowMode(ps->conn) == 1;
    int out = 0;
    PGresult *res;
    /* Every result is read, also after a failure or a stop, so that the
     * connection is free for the next statement. */
    while ((res = PQgetResult(ps->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE || (st == PGRES_TUPLES_OK && !single)) {
            if (out == 0)
                out = row(ctx, res);
            else
                PQclear(res);
        } else if (st == PGRES_TUPLES_OK) {
            PQclear(res); /* the end of the rows */
        } else if (out == 0 && rc == 0) {
            rc = pg_fail_result(ps, res, what);
        } else {
            PQclear(res);
        }
    }
    return rc ? rc : out;
}

int pg_store_exec(struct store *s, const char *text, int n, const char *const *vals,
                  const char *what, PGresult **out)
{
    struct pg_store *ps = PS(s);
    *out = NULL;
    int rc = pg_ensure(ps, what);
    if (rc)
        return rc;
    PGresult *res = PQexecParams(ps->conn, text, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return pg_fail_result(ps, res, what);
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

/* test_domain_sql.c — the one description of the domain schema: mapped names,
 * templates made into SQL, and a store that reads domain tables under other
 * names through it (both stores). */
#include "model/domain_map.h"
#include "store/domain_sql.h"
#include "testutil.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void own_names_are_those_of_domain_md(void **state)
{
    (void)state;
    struct domain_map m;
    domain_map_own(&m);
    assert_string_equal(m.name[DOMAIN_PROGRESS_TABLE], "specialization_progress");
    assert_string_equal(m.name[DOMAIN_LICENSE_SPEC], "specialization_type");
    assert_string_equal(m.name[DOMAIN_SPECS_MAX_LEVELS], "max_levels");
    assert_int_equal(domain_name_find("license_max_level"), DOMAIN_LICENSE_MAX_LEVEL);
    assert_int_equal(domain_name_find("license_max_levels"), -1);
    assert_string_equal(domain_name_key(DOMAIN_USERS_EMAIL), "users_email");
    assert_null(domain_name_key(DOMAIN_NAME_COUNT));
}

static void names_are_checked_when_set(void **state)
{
    (void)state;
    struct domain_map m;
    domain_map_own(&m);
    char err[128];
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESS_TABLE, "Progress \"2\"", err, sizeof err), 0);
    assert_string_equal(m.name[DOMAIN_PROGRESS_TABLE], "Progress \"2\"");
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESS_USER, "", err, sizeof err), -1);
    assert_string_equal(err, "progress_user must name a column");
    assert_string_equal(m.name[DOMAIN_PROGRESS_USER], "student_id");
    assert_int_equal(domain_map_set(&m, DOMAIN_LICENSE_TABLE, "", err, sizeof err), -1);
    assert_string_equal(err, "license_table must name a table");
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESS_UPDATED_AT, "", err, sizeof err), 0);
    assert_string_equal(m.name[DOMAIN_PROGRESS_UPDATED_AT], "");
    char longest[DOMAIN_IDENT_MAX + 1];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(domain_map_set(&m, DOMAIN_USERS_NAME, longest, err, sizeof err), -1);
    assert_string_equal(err, "users_name: an identifier is at most 63 bytes");
    longest[DOMAIN_IDENT_MAX - 1] = '\0';
    assert_int_equal(domain_map_set(&m, DOMAIN_USERS_NAME, longest, err, sizeof err), 0);
    assert_int_equal(domain_map_set(&m, DOMAIN_USERS_NAME, "na\nme", err, sizeof err), -1);
    assert_string_equal(err, "users_name: an identifier has no control characters");
}

static void templates_become_quoted_sql(void **state)
{
    (void)state;
    struct domain_map m;
    domain_map_own(&m);
    char err[160];
    char *sql = domain_sql_expand(&m, NULL, "SELECT {progress_user} FROM {progress_table}",
                                  err, sizeof err);
    assert_non_null(sql);
    assert_string_equal(sql, "SELECT \"student_id\" FROM \"specialization_progress\"");
    free(sql);
    /* Tables are qualified, columns never; a quote in a name is doubled. */
    assert_int_equal(domain_map_set(&m, DOMAIN_LICENSE_LEVEL, "lvl\"x", err, sizeof err), 0);
    sql = domain_sql_expand(&m, "academy", "SELECT l.{license_level} FROM {license_table} l",
                            err, sizeof err);
    assert_non_null(sql);
    assert_string_equal(sql, "SELECT l.\"lvl\"\"x\" FROM \"academy\".\"user_licenses\" l");
    free(sql);
    /* Braces that are no token are SQL like the rest. */
    sql = domain_sql_expand(&m, NULL, "SELECT '{}', '{X}', '{a' FROM t", err, sizeof err);
    assert_non_null(sql);
    assert_string_equal(sql, "SELECT '{}', '{X}', '{a' FROM t");
    free(sql);
    assert_null(domain_sql_expand(&m, NULL, "SELECT {no_such_key} FROM t", err, sizeof err));
    assert_string_equal(err, "statement template: {no_such_key} names no mapped table or column");
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESSIONS_TABLE, "", err, sizeof err), 0);
    assert_null(domain_sql_expand(&m, NULL, "INSERT INTO {progressions_table} VALUES (1)", err,
                                  sizeof err));
    assert_string_equal(err, "a statement needs progressions_table, which the mapping leaves empty");
}

/* The pairs of a full scan as "user:spec:progress:license" lines (- for a
 * missing row). */
static void scan_lines(struct store *s, int64_t user, char *out, size_t len)
{
    struct pair_filter f = {.user_id = user};
    struct store_scan *sc = NULL;
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    int rc = s->ops->pair_scan_open(s, &f, &sc);
    if (rc)
        fprintf(stderr, "scan: %s\n", store_errmsg(s));
    assert_int_equal(rc, 0);
    struct pair_levels p;
    size_t used = 0;
    out[0] = '\0';
    while ((rc = s->ops->pair_scan_next(sc, &p)) == 1) {
        char pl[16] = "-", ll[16] = "-";
        if (p.has_progress)
            snprintf(pl, sizeof pl, "%d", p.progress_level);
        if (p.has_license)
            snprintf(ll, sizeof ll, "%d", p.license_level);
        used += (size_t)snprintf(out + used, len - used, "%lld:%s:%s:%s\n",
                                 (long long)p.user_id, p.spec, pl, ll);
        assert_true(used < len);
    }
    assert_int_equal(rc, 0);
    s->ops->pair_scan_close(sc);
    s->ops->rollback(s);
}

/* The domain tables renamed behind the store's back, and a store opened with
 * a map of the new names reads the same pairs, levels and rows. */
static void a_store_reads_domain_tables_through_the_map(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("domain_sql_map", dir);
    int64_t a = tu_user(s, "mapped-a", NULL), b = tu_user(s, "mapped-b", NULL);
    tu_pair(s, a, "PLAYER", 3, 2);
    tu_pair(s, a, "COACH", 2, 2);
    tu_pair(s, b, "PLAYER", 4, 0);
    tu_pair(s, b, "COACH", 0, 5);
    char before[1024], after[1024];
    scan_lines(s, 0, before, sizeof before);
    store_close(s);

    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out, "ALTER TABLE specialization_progress "
                                                  "RENAME TO \"Academy Progress\""), 0);
    assert_int_equal(tu_sql(dir, out, sizeof out, "ALTER TABLE \"Academy Progress\" "
                                                  "RENAME COLUMN current_level TO \"Level\""), 0);
    assert_int_equal(tu_sql(dir, out, sizeof out, "ALTER TABLE user_licenses "
                                                  "RENAME COLUMN user_id TO student"), 0);
    assert_int_equal(tu_sql(dir, out, sizeof out, "ALTER TABLE user_licenses "
                                                  "RENAME COLUMN specialization_type TO track"), 0);

    /* Opened with the names of domain.md, the renamed tables are not found. */
    struct store_options o;
    store_options_default(&o);
    o.migrate = false;
    o.create = false;
    char err[512];
    assert_int_equal(store_open(tu_url(dir), &o, &s, err, sizeof err), 0);
    struct pair_filter all = {0};
    struct store_scan *sc = NULL;
    struct pair_levels p;
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    int rc = s->ops->pair_scan_open(s, &all, &sc);
    if (rc == 0) {
        rc = s->ops->pair_scan_next(sc, &p);
        s->ops->pair_scan_close(sc);
    }
    s->ops->rollback(s);
    assert_true(rc < 0);
    store_close(s);

    struct domain_map m;
    domain_map_own(&m);
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESS_TABLE, "Academy Progress", err, sizeof err), 0);
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESS_LEVEL, "Level", err, sizeof err), 0);
    assert_int_equal(domain_map_set(&m, DOMAIN_LICENSE_USER, "student", err, sizeof err), 0);
    assert_int_equal(domain_map_set(&m, DOMAIN_LICENSE_SPEC, "track", err, sizeof err), 0);
    o.domain = &m;
    assert_int_equal(store_open(tu_url(dir), &o, &s, err, sizeof err), 0);
    scan_lines(s, 0, after, sizeof after);
    assert_string_equal(after, before);
    scan_lines(s, b, after, sizeof after);
    char want[128];
    snprintf(want, sizeof want, "%lld:COACH:-:5\n%lld:PLAYER:4:-\n", (long long)b, (long long)b);
    assert_string_equal(after, want);
    struct progress pr;
    assert_int_equal(s->ops->progress_get(s, a, "PLAYER", false, &pr), 0);
    assert_int_equal(pr.current_level, 3);
    struct license li;
    assert_int_equal(s->ops->license_get(s, a, "PLAYER", false, &li), 0);
    assert_int_equal(li.current_level, 2);
    store_close(s);
}

/* 1: table `table` exists in PostgreSQL schema `schema` of the store of dir. */
static long long table_in_schema(const char *dir, const char *schema, const char *table)
{
    return tu_sql_int(dir, "SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = '%s' AND table_name = '%s'", schema, table);
}

/* SQLite: the academy's file (an own store's, with its domain tables) is
 * attached read-only to a store file of Lockstep's own that holds none of
 * them; the academy file is not changed; a mapping to a missing column
 * creates no store file. */
static void attached_sqlite_file(struct domain_map *m, struct store_options *o)
{
    char academy_dir[512], own_dir[512], err[512], path[700];
    struct store *academy = tu_store("domain_sql_academy", academy_dir);
    int64_t u = tu_user(academy, "attached", "student");
    tu_pair(academy, u, "PLAYER", 3, 2);
    store_close(academy);
    snprintf(m->database, sizeof m->database, "%s/lockstep.db", academy_dir);
    char before[200];
    char *out = NULL;
    assert_int_equal(tu_cmd(&out, "sha1sum < %s", m->database), 0);
    snprintf(before, sizeof before, "%s", out);
    const char *url = tu_fresh_place("domain_sql_attached_own", own_dir);
    struct store *s = NULL;
    assert_int_equal(store_open(url, o, &s, err, sizeof err), 0);
    assert_true(s->domain_read_only);
    struct store_probe p;
    assert_int_equal(s->ops->probe(s, true, &p), 0);
    assert_string_equal(p.read_error, "");
    assert_true(p.has_pairs);
    struct specialization sp;
    assert_int_equal(s->ops->spec_get(s, "PLAYER", &sp), 0);
    char email[EMAIL_MAX + 1];
    char name[USER_NAME_MAX + 1];
    assert_int_equal(s->ops->user_email(s, u, email, name), 0);
    assert_string_equal(name, "User attached");
    assert_string_equal(email, "attached@test.local");
    assert_int_equal(s->ops->user_email(s, u + 1000, email, NULL), STORE_ERR_NOT_FOUND);
    store_close(s);
    snprintf(path, sizeof path, "%s", own_dir);
    const char *domain[] = {"specializations", "specialization_progress", "user_licenses",
                            "license_progressions"};
    for (size_t i = 0; i < sizeof domain / sizeof domain[0]; i++)
        assert_int_equal(tu_sql_int(path, "SELECT count(*) FROM sqlite_master WHERE "
                                          "type = 'table' AND name = '%s'", domain[i]), 0);
    assert_int_equal(tu_sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = "
                                      "'table' AND name = 'check_runs'"), 1);
    tu_cmd(&out, "sha1sum < %s", m->database);
    assert_string_equal(out, before);
    /* A mapped column that does not exist: an error naming it, no store file. */
    const char *url2 = tu_fresh_place("domain_sql_attached_bad", own_dir);
    snprintf(m->name[DOMAIN_PROGRESS_LEVEL], sizeof m->name[0], "lvl");
    assert_int_not_equal(store_open(url2, o, &s, err, sizeof err), 0);
    assert_non_null(strstr(err, "progress_level: no column lvl in table specialization_progress"));
    snprintf(path, sizeof path, "%s/lockstep.db", own_dir);
    assert_int_not_equal(access(path, F_OK), 0);
}

/* A store whose domain tables are another application's (here an own store's
 * tables in "public", read through the mapping) gets every table of its own
 * from the migrations in its own schema, and not one of domain.md's there. */
static void an_attached_store_creates_no_domain_table(void **state)
{
    (void)state;
    char dir[512], err[512];
    const char *url = tu_fresh_place("domain_sql_attached", dir);
    struct domain_map m;
    domain_map_own(&m);
    m.attached = true;
    m.repair = false;
    struct store_options o;
    store_options_default(&o);
    o.domain = &m;
    struct store *s = NULL;
    if (!tu_pg()) {
        attached_sqlite_file(&m, &o);
        return;
    }
    store_close(tu_store_again(dir)); /* the domain tables, in public */
    assert_int_equal(store_open(url, &o, &s, err, sizeof err), 0);
    struct store_probe p;
    assert_int_equal(s->ops->probe(s, false, &p), 0);
    /* Writes of the domain tables are refused while repairs are off. */
    struct specialization sp = {.max_levels = 3, .is_active = true};
    snprintf(sp.id, sizeof sp.id, "EXTRA");
    snprintf(sp.name, sizeof sp.name, "Extra");
    assert_int_not_equal(s->ops->spec_insert(s, &sp), 0);
    assert_non_null(strstr(store_errmsg(s), STORE_REPAIR_OFF));
    store_close(s);
    const char *domain[] = {"specializations", "specialization_level_thresholds",
                            "specialization_progress", "user_licenses", "license_progressions"};
    for (size_t i = 0; i < sizeof domain / sizeof domain[0]; i++)
        assert_int_equal(table_in_schema(dir, "lockstep", domain[i]), 0);
    const char *own[] = {"users", "audit_logs", "check_runs", "violations", "job_runs",
                         "baselines", "alerts", "scheduler_lease", "schema_migrations"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        assert_int_equal(table_in_schema(dir, "lockstep", own[i]), 1);
    /* Every migration is recorded: the same schema version as an own store. */
    long long own_version = tu_sql_int(dir, "SELECT max(version) FROM public.schema_migrations");
    assert_true(own_version > 0);
    assert_int_equal(tu_sql_int(dir, "SELECT max(version) FROM lockstep.schema_migrations"),
                     own_version);
    /* A mapped column that does not exist: the open fails naming key, table
     * and column. */
    snprintf(m.name[DOMAIN_PROGRESS_LEVEL], sizeof m.name[0], "lvl");
    assert_int_not_equal(store_open(url, &o, &s, err, sizeof err), 0);
    assert_non_null(strstr(err, "progress_level: no column lvl in table "
                                "public.specialization_progress"));
}

/* serve's stop cancels the readiness probe's connection: the deep check
 * (quick_check over every page: minutes at 10 M pairs) stops with an error
 * instead of holding the stop up. SQLite's; PostgreSQL checks its pages as
 * it reads them. */
static void a_deep_probe_notes_its_progress_and_stops_when_its_owner_cancels(void **state)
{
    (void)state;
    if (tu_pg())
        skip();
    char dir[512];
    struct store *s = tu_store("probe_cancel", dir);
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "INSERT INTO pair_changes(user_id, specialization, delta, changed_at) "
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                            "WHERE i < 20000) SELECT i, 'PLAYER', 0, 0 FROM n"),
                     0);
    atomic_bool cancel;
    atomic_init(&cancel, false);
    s->cancel = &cancel;
    /* As it reads, it notes that it goes on (a slow check is not a stuck
     * one: /readyz, docs/operations.md). */
    atomic_llong progress;
    atomic_init(&progress, 0);
    s->progress_at = &progress;
    int64_t before = time_mono_us();
    struct store_probe p;
    assert_int_equal(s->ops->probe(s, true, &p), 0);
    assert_string_equal(p.read_error, "");
    assert_true(atomic_load(&progress) >= before);
    assert_true(atomic_load(&progress) <= time_mono_us());
    atomic_store(&cancel, true);
    assert_int_equal(s->ops->probe(s, true, &p), 0);
    assert_non_null(strstr(p.read_error, "interrupt"));
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(own_names_are_those_of_domain_md),
        cmocka_unit_test(names_are_checked_when_set),
        cmocka_unit_test(templates_become_quoted_sql),
        cmocka_unit_test(a_store_reads_domain_tables_through_the_map),
        cmocka_unit_test(an_attached_store_creates_no_domain_table),
        cmocka_unit_test(a_deep_probe_notes_its_progress_and_stops_when_its_owner_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

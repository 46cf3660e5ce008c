/* test_cli.c — the lockstep binary: exit codes and one-line errors, config
 * precedence end to end, demo reproducibility and its admin login, user and
 * spec verbs, JSON output, migrate. */
#include "service/users.h"
#include "testutil.h"

#include <jansson.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void usage_errors(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(tu_cmd_all(&out, "%s", tu_bin()), 2);
    assert_int_equal(tu_cmd_all(&out, "%s frobnicate", tu_bin()), 2);
    assert_non_null(strstr(out, "unknown verb 'frobnicate'"));
    assert_int_equal(tu_cmd_all(&out, "%s check --bogus", tu_bin()), 2);
    assert_string_equal(out, "lockstep: check: unknown option '--bogus' (see 'lockstep help check')\n");
    assert_int_equal(tu_cmd_all(&out, "%s demo --users many", tu_bin()), 2);
    assert_int_equal(lines(out), 1);
    assert_int_equal(tu_cmd_all(&out, "%s sync --direction sideways", tu_bin()), 2);
    assert_int_equal(tu_cmd_all(&out, "%s help check", tu_bin()), 0);
    assert_non_null(strstr(out, "lockstep check [--dry-run] [--json]"));
    assert_int_equal(tu_cmd_all(&out, "%s version", tu_bin()), 0);
    assert_non_null(strstr(out, "lockstep "));
}

static void bad_db_url_and_config(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("cli-bad");
    char *out;
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s --db mysql://x/y check", tu_bin(), dir), 1);
    assert_int_equal(lines(out), 1);
    assert_non_null(strstr(out, "invalid database URL 'mysql://x/y'"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s --db sqlite: check", tu_bin(), dir), 1);
    assert_int_equal(lines(out), 1);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s --db sqlite:/nonexistent/dir/x.db check", tu_bin(), dir),
                     1);
    assert_int_equal(lines(out), 1);
    assert_non_null(strstr(out, "no Lockstep store at /nonexistent/dir/x.db; run `lockstep "
                                "migrate` or pass --db/--data-dir"));
    assert_int_equal(tu_cmd_all(&out, "%s --config /nonexistent.ini check", tu_bin()), 1);
    assert_non_null(strstr(out, "cannot read config file /nonexistent.ini"));
    assert_int_equal(tu_cmd_all(&out, "printf 'data_dir = %s\\nwho = me\\n' > %s/bad.ini && %s --config %s/bad.ini check",
                         dir, dir, tu_bin(), dir),
                     1);
    assert_non_null(strstr(out, "bad.ini:2: unknown key 'who'"));
    assert_int_equal(lines(out), 1);
    /* A file that is not a database. */
    assert_int_equal(tu_cmd_all(&out, "echo junk > %s/junk.db && %s --db sqlite:%s/junk.db check", dir,
                         tu_bin(), dir),
                     1);
    assert_int_equal(lines(out), 1);
}

/* Flag > environment > file > default, observed by where the store is created. */
static void precedence_end_to_end(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("cli-prec");
    char b[512];
    snprintf(b, sizeof b, "%s", base);
    char *out;
    assert_int_equal(tu_cmd_all(&out, "printf 'data_dir = %s/file\\n' > %s/l.ini", b, b), 0);
    assert_int_equal(tu_cmd_all(&out, "%s --config %s/l.ini migrate", tu_bin(), b), 0);
    assert_int_equal(tu_sh("test -e %s/file/lockstep.db", b), 0);
    assert_int_equal(tu_cmd_all(&out, "LOCKSTEP_DATA_DIR=%s/env %s --config %s/l.ini migrate", b, tu_bin(), b), 0);
    assert_int_equal(tu_sh("test -e %s/env/lockstep.db", b), 0);
    assert_int_equal(tu_cmd_all(&out, "LOCKSTEP_DATA_DIR=%s/env LOCKSTEP_CONFIG=%s/l.ini %s --data-dir %s/flag migrate",
                         b, b, tu_bin(), b),
                     0);
    assert_int_equal(tu_sh("test -e %s/flag/lockstep.db", b), 0);
    /* Global options may come after the verb too. */
    assert_int_equal(tu_cmd_all(&out, "%s migrate --data-dir %s/after", tu_bin(), b), 0);
    assert_int_equal(tu_sh("test -e %s/after/lockstep.db", b), 0);
    char after[600], version[64];
    snprintf(after, sizeof after, "%s/after", b);
    snprintf(version, sizeof version, "schema is at version %lld ",
             tu_sql_int(after, "SELECT max(version) FROM schema_migrations"));
    assert_non_null(strstr(out, version));
    /* migrate twice is harmless. */
    assert_int_equal(tu_cmd_all(&out, "%s migrate --data-dir %s/after", tu_bin(), b), 0);
    assert_non_null(strstr(out, "0 migrations applied now"));
}

static void check_exit_codes(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("cli-exit");
    char d[512];
    snprintf(d, sizeof d, "%s", base);
    char *out;
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s demo", tu_bin(), d), 0);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s check", tu_bin(), d), 3);
    assert_non_null(strstr(out, "Status: DEGRADED (requires attention)"));
    assert_non_null(strstr(out, "Consistency: 98.67% (148/150 consistent, 2 inconsistent)"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s sync", tu_bin(), d), 0);
    assert_non_null(strstr(out, "2 issues, 2 synced, 0 failed"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s check", tu_bin(), d), 0);
    assert_int_equal(tu_cmd_all(&out, "sqlite3 %s/lockstep.db \"UPDATE user_licenses SET current_level = "
                               "CASE WHEN current_level > 1 THEN 1 ELSE 2 END WHERE user_id %% 10 = 0\"",
                         d),
                     0);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s check", tu_bin(), d), 4);
    assert_non_null(strstr(out, "Status: CRITICAL"));
    /* --json is the report; thresholds come from the config. */
    assert_int_equal(tu_cmd_all(&out, "LOCKSTEP_DEGRADED_THRESHOLD=80 %s --data-dir %s check --json --dry-run",
                         tu_bin(), d),
                     3);
    assert_non_null(strstr(out, "\"status\": \"degraded\""));
    assert_non_null(strstr(out, "\"violations\": ["));
}

/* The violations of `check --json` without what differs between runs (the
 * times): a JSON array in canonical text, caller frees. */
static char *violations_of(const char *json_text)
{
    json_error_t je;
    json_t *rep = json_loads(json_text, 0, &je);
    if (!rep)
        fail_msg("check --json is not JSON: %s", je.text);
    json_t *vs = json_incref(json_object_get(rep, "violations"));
    json_decref(rep);
    assert_true(json_is_array(vs));
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v)
    {
        assert_true(json_is_string(json_object_get(v, "first_seen")));
        json_object_del(v, "first_seen");
    }
    char *text = json_dumps(vs, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(vs);
    return text;
}

static void demo_is_reproducible(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("cli-demo");
    char d[512];
    snprintf(d, sizeof d, "%s", base);
    char *out;
    const char *args = "demo --users 500 --drift 4 --orphans 3 --seed 7";
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/a %s", tu_bin(), d, args), 0);
    assert_non_null(strstr(out, "506 students (500 with progress and a license, 3 with progress "
                                "only, 3 with a license only), 20 drifted pairs (seed 7)"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/b %s", tu_bin(), d, args), 0);
    /* Same seed, same violations: users, specializations, levels, actions. */
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/a check --json", tu_bin(), d), 4);
    char *a = violations_of(out);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/b check --json", tu_bin(), d), 4);
    char *b = violations_of(out);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"issue_type\":\"missing_license\""));
    assert_non_null(strstr(a, "\"issue_type\":\"missing_progress\""));
    json_t *arr = json_loads(a, 0, NULL);
    assert_int_equal(json_array_size(arr), 26); /* 20 drifted + 3 + 3 orphans */
    json_decref(arr);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/a check --dry-run", tu_bin(), d), 4);
    assert_non_null(strstr(out, "(480/506 consistent, 26 inconsistent)"));
    /* The whole data, not only the violations. */
    const char *q = "SELECT group_concat(student_id || ':' || specialization_id || ':' || "
                    "current_level || ':' || total_xp) FROM specialization_progress";
    char pa[70000];
    tu_cmd_all(&out, "sqlite3 %s/a/lockstep.db \"%s\"", d, q);
    snprintf(pa, sizeof pa, "%s", out);
    tu_cmd_all(&out, "sqlite3 %s/b/lockstep.db \"%s\"", d, q);
    assert_string_equal(pa, out);
    /* Another seed, other data. */
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/c demo --users 500 --drift 4 --orphans 3 --seed 8",
                         tu_bin(), d),
                     0);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/c check --json", tu_bin(), d), 4);
    char *c = violations_of(out);
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
}

/* The admin credentials are printed once, and they work. */
static void demo_prints_working_credentials_once(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("cli-demo-admin");
    char d[512], password[64] = "";
    snprintf(d, sizeof d, "%s", base);
    char *out;
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s demo --users 20", tu_bin(), d), 0);
    assert_non_null(strstr(out, "email:    admin@lockstep.local"));
    const char *pw = strstr(out, "password: ");
    assert_non_null(pw);
    assert_int_equal(sscanf(pw, "password: %63s", password), 1);
    assert_true(strlen(password) >= 16);
    struct store *s = tu_store_again(d);
    struct user u;
    char err[300];
    assert_int_equal(users_get_by_email(s, "admin@lockstep.local", &u, err, sizeof err), 0);
    assert_string_equal(u.role, "admin");
    assert_true(users_verify_password(u.password_hash, password));
    store_close(s);
    /* A second demo into the same store fails cleanly and shows no password. */
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s demo --users 10", tu_bin(), d), 1);
    assert_null(strstr(out, "password"));
    assert_int_equal(lines(out), 1);
    assert_non_null(strstr(out, "demo data already exists"));
    /* Into a store that has an admin but no students: data, no new admin. */
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/other migrate", tu_bin(), d), 0);
    assert_int_equal(tu_cmd_all(&out, "echo 'admin pass 1' | %s --data-dir %s/other user add --email "
                               "boss@example.com --role admin --password-stdin",
                         tu_bin(), d),
                     0);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/other demo --users 10", tu_bin(), d), 0);
    assert_null(strstr(out, "password"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s/other check", tu_bin(), d), 0);
    assert_non_null(strstr(out, "(10/10 consistent"));
    /* Bad demo options are usage errors, and nothing is created. */
    const char *bad[] = {"--drift nan", "--drift 101", "--drift -1", "--drift 5%", "--users -1",
                         "--users 1e3", "--orphans x", "--seed -2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int code = tu_cmd_all(&out, "%s --data-dir %s/bad demo %s", tu_bin(), d, bad[i]);
        if (code != 2 || lines(out) != 1)
            fail_msg("demo %s: exit %d, output '%s'", bad[i], code, out);
    }
    assert_int_equal(tu_sh("test ! -e %s/bad", d), 0);
}

static void users_and_specs(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("cli-users");
    char d[512];
    snprintf(d, sizeof d, "%s", base);
    char *out;
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s migrate", tu_bin(), d), 0);
    assert_int_equal(tu_cmd_all(&out, "echo 'secret pass 1' | %s --data-dir %s user add --email Coach@Example.com "
                               "--role instructor --name 'Coach One' --password-stdin",
                         tu_bin(), d),
                     0);
    assert_non_null(strstr(out, "Created instructor coach@example.com"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user add --email admin@example.com --role admin", tu_bin(), d), 0);
    assert_non_null(strstr(out, "Password (shown once): "));
    assert_int_equal(tu_cmd_all(&out, "echo 'another pw' | %s --data-dir %s user add --email coach@example.com "
                               "--role student --password-stdin",
                         tu_bin(), d),
                     1);
    assert_non_null(strstr(out, "already exists"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user add --email x@example.com --role king", tu_bin(), d), 2);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user list", tu_bin(), d), 0);
    assert_non_null(strstr(out, "coach@example.com"));
    assert_non_null(strstr(out, "instructor"));
    assert_int_equal(tu_cmd_all(&out, "echo 'brand new pw' | %s --data-dir %s user passwd --email COACH@example.com", tu_bin(), d), 0);
    assert_non_null(strstr(out, "Password changed for coach@example.com"));
    struct store *s = tu_store_again(d);
    struct user u;
    char err[300];
    assert_int_equal(users_get_by_email(s, "coach@example.com", &u, err, sizeof err), 0);
    assert_true(users_verify_password(u.password_hash, "brand new pw"));
    assert_false(users_verify_password(u.password_hash, "secret pass 1"));
    store_close(s);
    assert_int_equal(tu_cmd_all(&out, "echo 'short' | %s --data-dir %s user passwd --email coach@example.com", tu_bin(), d), 1);
    assert_non_null(strstr(out, "password must be 8 to 256 characters"));
    assert_int_equal(tu_cmd_all(&out, "echo 'some password' | %s --data-dir %s user passwd --email nobody@example.com", tu_bin(), d), 1);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user passwd", tu_bin(), d), 2);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user disable --email coach@example.com", tu_bin(), d), 0);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user list", tu_bin(), d), 0);
    assert_non_null(strstr(out, "disabled"));
    /* The last admin cannot be disabled. */
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user disable --email admin@example.com", tu_bin(), d), 1);
    assert_non_null(strstr(out, "last active admin"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s user disable --email nobody@example.com", tu_bin(), d), 1);

    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec add goalkeeper --name Goalkeeper --max-levels 5", tu_bin(), d), 0);
    assert_non_null(strstr(out, "Created specialization GOALKEEPER"));
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec add goalkeeper --name Again --max-levels 5", tu_bin(), d), 1);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec add \"bad;id\" --name X --max-levels 5", tu_bin(), d), 1);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec add x --name X --max-levels 0", tu_bin(), d), 2);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec add '../x' --name X --max-levels 5", tu_bin(), d), 1);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec add x --name X", tu_bin(), d), 2);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s spec list", tu_bin(), d), 0);
    assert_non_null(strstr(out, "GOALKEEPER"));
    assert_non_null(strstr(out, "INTERNSHIP"));
    assert_null(strstr(out, "AGAIN"));
    assert_int_equal(lines(out), 4); /* three defaults and the new one */
}

/* sync and check speak JSON when asked: the domain's shapes. */
static void json_outputs(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("cli-json");
    char d[512];
    snprintf(d, sizeof d, "%s", base);
    char *out;
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s demo --users 150 >/dev/null", tu_bin(), d), 0);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s sync --dry-run --json 2>/dev/null", tu_bin(), d), 0);
    json_error_t je;
    json_t *r = json_loads(out, 0, &je);
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "dry_run")));
    assert_int_equal(json_integer_value(json_object_get(r, "total_issues")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "synced_count")), 0);
    json_t *item = json_array_get(json_object_get(r, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "action")),
                        "sync_progress_to_license");
    assert_true(json_is_integer(json_object_get(item, "old_level")));
    json_decref(r);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s check --json 2>/dev/null", tu_bin(), d), 3);
    r = json_loads(out, 0, &je);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "total_checked")), 150);
    assert_float_equal(json_real_value(json_object_get(r, "consistency_rate")), 98.67, 1e-9);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "degraded");
    assert_int_equal(json_array_size(json_object_get(r, "violations")), 2);
    json_decref(r);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s sync --direction higher_wins --json 2>/dev/null",
                         tu_bin(), d),
                     0);
    r = json_loads(out, 0, &je);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "synced_count")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "direction")), "higher_wins");
    json_decref(r);
    assert_int_equal(tu_cmd_all(&out, "%s --data-dir %s sync", tu_bin(), d), 0);
    assert_non_null(strstr(out, "0 issues, 0 synced, 0 failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(bad_db_url_and_config),
        cmocka_unit_test(precedence_end_to_end),
        cmocka_unit_test(check_exit_codes),
        cmocka_unit_test(demo_is_reproducible),
        cmocka_unit_test(demo_prints_working_credentials_once),
        cmocka_unit_test(users_and_specs),
        cmocka_unit_test(json_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

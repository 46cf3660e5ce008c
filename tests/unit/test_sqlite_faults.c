/* test_sqlite_faults.c — faults of the embedded store: a database locked by
 * another writer (wait up to the busy timeout, then a clear error, nothing
 * changed) and a sync killed half-way (every pair whole or untouched). */
#include "service/enforcer.h"
#include "store/store.h"
#include "testutil.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void locked_database_waits_then_fails(void **state)
{
    (void)state;
    char dir[512];
    struct store *holder = tu_store("faults-busy", dir);
    int64_t u = tu_user(holder, "busy", NULL);
    tu_pair(holder, u, "PLAYER", 2, 2);
    struct store *writer;
    struct store_options o;
    store_options_default(&o);
    o.busy_timeout_ms = 300;
    char err[600];
    assert_int_equal(store_open(tu_url(dir), &o, &writer, err, sizeof err), 0);

    assert_int_equal(holder->ops->begin(holder, STORE_TXN_WRITE), 0);
    struct level_change c = {.user_id = u, .spec = "PLAYER", .new_level = 5, .xp_change = 10};
    struct level_result r;
    int64_t t0 = time_mono_us();
    assert_int_equal(enforcer_update_level_atomic(writer, &c, &r), -14 /* LS_ERR_BUSY */);
    int64_t waited = (time_mono_us() - t0) / 1000;
    assert_true(waited >= 250 && waited < 3000);
    assert_string_equal(r.error_type, "database_error");
    assert_non_null(strstr(r.message, "locked by another writer (waited 300 ms)"));
    holder->ops->rollback(holder);

    /* Nothing changed, and once the lock is gone the same change works. */
    struct progress p;
    assert_int_equal(writer->ops->progress_get(writer, u, "PLAYER", false, &p), 0);
    assert_int_equal(p.current_level, 2);
    assert_int_equal(enforcer_update_level_atomic(writer, &c, &r), 0);

    /* The CLI reports it in one line and exits 1. */
    int64_t drifted = tu_user(holder, "drifted", NULL);
    tu_pair(holder, drifted, "COACH", 4, 2);
    assert_int_equal(holder->ops->begin(holder, STORE_TXN_WRITE), 0);
    char cmd[1200];
    t0 = time_mono_us();
    snprintf(cmd, sizeof cmd,
             "out=$(LOCKSTEP_BUSY_TIMEOUT_MS=200 %s --data-dir %s sync 2>&1 >/dev/null); code=$?; "
             "test $code -eq 1 && test $(printf '%%s\\n' \"$out\" | wc -l) -eq 1 && "
             "printf '%%s' \"$out\" | grep -q 'locked by another writer'",
             getenv("LOCKSTEP_BIN"), dir);
    assert_int_equal(tu_sh("%s", cmd), 0);
    /* It gave up after the busy timeout of the first pair, not one per pair. */
    waited = (time_mono_us() - t0) / 1000;
    if (waited < 200 || waited > 5000)
        fail_msg("the locked sync took %lld ms", (long long)waited);
    /* A check reads (readers are not blocked) but cannot record: exit 1, one line. */
    snprintf(cmd, sizeof cmd,
             "out=$(LOCKSTEP_BUSY_TIMEOUT_MS=200 %s --data-dir %s check 2>&1 >/dev/null); "
             "code=$?; test $code -eq 1 && test $(printf '%%s\\n' \"$out\" | wc -l) -eq 1 && "
             "printf '%%s' \"$out\" | grep -q 'locked by another writer'",
             getenv("LOCKSTEP_BIN"), dir);
    assert_int_equal(tu_sh("%s", cmd), 0);
    holder->ops->rollback(holder);
    /* Neither changed anything: the pair is still drifted, no check recorded. */
    struct license l;
    assert_int_equal(writer->ops->progress_get(writer, drifted, "COACH", false, &p), 0);
    assert_int_equal(writer->ops->license_get(writer, drifted, "COACH", false, &l), 0);
    assert_int_equal(p.current_level, 4);
    assert_int_equal(l.current_level, 2);
    int64_t n = -1;
    assert_int_equal(writer->ops->progression_count(writer, l.id, &n), 0);
    assert_int_equal(n, 0);
    struct check_run run;
    assert_int_equal(writer->ops->check_latest(writer, &run), STORE_ERR_NOT_FOUND);
    store_close(writer);
    store_close(holder);
}

static long count(const char *dir, const char *sql)
{
    char *out;
    if (tu_cmd(&out, "sqlite3 '%s/lockstep.db' \"%s\"", dir, sql) != 0)
        return -1;
    char *end;
    long n = strtol(out, &end, 10);
    return end != out ? n : -1;
}

/* Foreign keys are off while migrations run. A migration that rebuilds a
 * table others refer to (16) has every reference checked before its commit:
 * a reference left dangling stops it, and nothing is changed. One that does
 * not (17, an index) leaves references as they were and is not held up by
 * one that was already dangling. */
static void a_migration_checks_references_only_after_a_rebuild(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("faults-references", dir);
    store_close(s);
    /* A refresh token of a user who is not there, written with foreign keys
     * off by another client, and the store taken back to schema 16. */
    assert_int_equal(tu_sh("sqlite3 %s/lockstep.db \"PRAGMA foreign_keys = OFF; "
                           "INSERT INTO refresh_tokens(jti, user_id, family, issued_at, "
                           "expires_at) VALUES ('dangling', 999999, 'f', 'x', 'y'); "
                           "DROP INDEX violations_newest; CREATE INDEX violations_first_seen "
                           "ON violations(first_seen); DELETE FROM schema_migrations WHERE "
                           "version = 17\"",
                           dir),
                     0);
    s = tu_store_again(dir);
    store_close(s);
    assert_int_equal(tu_sql_int(dir, "SELECT max(version) FROM schema_migrations"), 17);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM sqlite_master WHERE name = "
                                     "'violations_newest'"),
                     1);
    /* Back to schema 15: migration 16 rebuilds specializations. */
    assert_int_equal(tu_sh("sqlite3 %s/lockstep.db \"DELETE FROM schema_migrations WHERE "
                           "version >= 16\"",
                           dir),
                     0);
    struct store_options o;
    store_options_default(&o);
    char err[600];
    assert_int_not_equal(store_open(tu_url(dir), &o, &s, err, sizeof err), 0);
    assert_non_null(strstr(err, "migrating broke a reference of table refresh_tokens"));
    assert_int_equal(tu_sql_int(dir, "SELECT max(version) FROM schema_migrations"), 15);
}

static void sync_killed_half_way(void **state)
{
    (void)state;
    const char *base = tu_tmpdir("faults-kill");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", base);
    const char *bin = getenv("LOCKSTEP_BIN");
    assert_int_equal(tu_sh("%s --data-dir %s demo --users 30000 --drift 100 > /dev/null", bin, dir),
                     0);
    /* The levels before the sync, to tell repaired pairs from untouched ones. */
    assert_int_equal(tu_sh("sqlite3 '%s/lockstep.db' \"VACUUM INTO '%s/before.db'\"", dir, dir), 0);
    assert_int_equal(count(dir, "SELECT count(*) FROM user_licenses l JOIN specialization_progress "
                                "p ON p.student_id = l.user_id AND p.specialization_id = "
                                "l.specialization_type WHERE l.current_level <> p.current_level"),
                     30000);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(bin, bin, "--data-dir", dir, "sync", (char *)NULL);
        _exit(127);
    }
    /* Kill it once it has repaired some pairs. */
    long done = 0;
    for (int i = 0; i < 2000 && done < 200; i++) {
        usleep(5000);
        done = count(dir, "SELECT count(*) FROM license_progressions");
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    long repaired = count(dir, "SELECT count(*) FROM license_progressions");
    if (!(repaired > 0 && repaired < 30000))
        fail_msg("the sync was killed after %ld of 30000 repairs: not half-way", repaired);
    /* Each pair is either repaired in full (license at the progress level, max
     * not lowered, exactly one progression from the old to the new level with
     * the sync's reason) or untouched (the levels and max it had, no
     * progression). Progress rows never change in this direction. */
    char sql[3000];
    snprintf(sql, sizeof sql,
             "ATTACH '%s/before.db' AS b; "
             "SELECT count(*) FROM user_licenses l "
             "JOIN specialization_progress p ON p.student_id = l.user_id "
             " AND p.specialization_id = l.specialization_type "
             "JOIN b.user_licenses bl ON bl.id = l.id "
             "JOIN b.specialization_progress bp ON bp.id = p.id "
             "LEFT JOIN (SELECT user_license_id AS id, count(*) AS n, min(from_level) AS f, "
             " min(to_level) AS t, min(advancement_reason) AS why, max(advanced_by) AS who "
             " FROM license_progressions GROUP BY 1) g ON g.id = l.id "
             "WHERE p.current_level <> bp.current_level OR NOT ("
             " (l.current_level = bp.current_level "
             "  AND l.max_achieved_level = max(bl.max_achieved_level, bp.current_level) "
             "  AND g.n = 1 AND g.f = bl.current_level AND g.t = bp.current_level "
             "  AND g.why = 'Auto-sync from SpecializationProgress' AND g.who IS NULL) "
             " OR (l.current_level = bl.current_level "
             "  AND l.max_achieved_level = bl.max_achieved_level AND g.n IS NULL))",
             dir);
    assert_int_equal(count(dir, sql), 0);
    /* And the repaired ones are exactly the pairs now consistent. */
    assert_int_equal(count(dir, "SELECT count(*) FROM user_licenses l JOIN specialization_progress "
                                "p ON p.student_id = l.user_id AND p.specialization_id = "
                                "l.specialization_type WHERE l.current_level = p.current_level"),
                     repaired);
    /* Running the sync again finishes the job. */
    assert_int_equal(tu_sh("%s --data-dir %s sync > /dev/null", bin, dir), 0);
    assert_int_equal(count(dir, "SELECT count(*) FROM license_progressions"), 30000);
    assert_int_equal(tu_sh("%s --data-dir %s check > /dev/null", bin, dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(locked_database_waits_then_fails),
        cmocka_unit_test(sync_killed_half_way),
        cmocka_unit_test(a_migration_checks_references_only_after_a_rebuild),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_sqlite_faults.c — faults of the embedded store: a database locked by
 * another writer (wait up to the busy timeout, then a clear error, nothing
 * changed) and a sync killed half-way (every pair whole or untouched). */
#include "service/enforcer.h"
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
    snprintf(cmd, sizeof cmd,
             "out=$(LOCKSTEP_BUSY_TIMEOUT_MS=200 %s --data-dir %s sync 2>&1 >/dev/null); code=$?; "
             "test $code -eq 1 && test $(printf '%%s\\n' \"$out\" | wc -l) -eq 1 && "
             "printf '%%s' \"$out\" | grep -q 'locked by another writer'",
             getenv("LOCKSTEP_BIN"), dir);
    assert_int_equal(tu_sh("%s", cmd), 0);
    holder->ops->rollback(holder);
    store_close(writer);
    store_close(holder);
}

static long count(const char *dir, const char *sql)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/lockstep.db' \"%s\"", dir, sql);
    FILE *p = popen(cmd, "r");
    long n = -1;
    if (p && fscanf(p, "%ld", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
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
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
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
    assert_true(repaired > 0 && repaired < 30000);
    /* Each pair is either repaired in full (levels equal and exactly one
     * progression) or untouched (levels differ and none). */
    long torn = count(dir,
                      "SELECT count(*) FROM user_licenses l JOIN specialization_progress p "
                      "ON p.student_id = l.user_id AND p.specialization_id = l.specialization_type "
                      "LEFT JOIN (SELECT user_license_id, count(*) AS c FROM license_progressions "
                      "GROUP BY 1) g ON g.user_license_id = l.id "
                      "WHERE (l.current_level = p.current_level) <> (coalesce(g.c, 0) = 1)");
    assert_int_equal(torn, 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

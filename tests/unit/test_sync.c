/* test_sync.c — the repair in every direction (missing sides created whatever
 * the direction), dry runs, scopes, progression rows with reason and caller,
 * max_achieved_level, idempotence, the recorded run and its log file. */
#include "service/check.h"
#include "service/sync.h"
#include "testutil.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fixture {
    struct store *s;
    char dir[512];
    int64_t admin, up, down, noprog, nolic, ok;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->s = tu_store("sync", f->dir);
    f->admin = tu_user(f->s, "admin", "admin");
    f->up = tu_user(f->s, "up", NULL);         /* progress above license */
    f->down = tu_user(f->s, "down", NULL);     /* progress below license */
    f->noprog = tu_user(f->s, "noprog", NULL); /* license only */
    f->nolic = tu_user(f->s, "nolic", NULL);   /* progress only */
    f->ok = tu_user(f->s, "ok", NULL);
    tu_pair(f->s, f->up, "PLAYER", 5, 3);
    tu_pair(f->s, f->down, "COACH", 2, 6);
    tu_pair(f->s, f->noprog, "INTERNSHIP", 0, 2);
    tu_pair(f->s, f->nolic, "PLAYER", 4, 0);
    tu_pair(f->s, f->ok, "PLAYER", 3, 3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    free(f);
    return 0;
}

static int sync_run(struct fixture *f, const char *direction, bool dry, int64_t user,
                    const char *spec, struct sync_result *r)
{
    struct sync_options o = {.user_id = user, .spec = spec, .direction = direction,
                             .dry_run = dry, .caller = f->admin, .trigger = "cli",
                             .data_dir = f->dir};
    char err[300];
    return sync_execute(f->s, &o, r, err, sizeof err);
}

static void levels(struct fixture *f, int64_t u, const char *spec, int *p, int *l)
{
    struct progress pr;
    struct license li;
    *p = f->s->ops->progress_get(f->s, u, spec, false, &pr) == 0 ? pr.current_level : 0;
    *l = f->s->ops->license_get(f->s, u, spec, false, &li) == 0 ? li.current_level : 0;
}

static const struct sync_item *item_of(const struct sync_result *r, int64_t user)
{
    for (size_t i = 0; i < r->n_items; i++)
        if (r->items[i].user_id == user)
            return &r->items[i];
    return NULL;
}


static long long all_progressions(struct fixture *f)
{
    return tu_sql_int(f->dir, "SELECT count(*) FROM license_progressions");
}

static int count_run(void *ctx, const struct sync_run *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static int sync_runs(struct fixture *f)
{
    int n = 0;
    assert_int_equal(f->s->ops->sync_run_list(f->s, 0, count_run, &n), 0);
    return n;
}

static int keep_run(void *ctx, const struct sync_run *r)
{
    *(struct sync_run *)ctx = *r;
    return 0;
}

/* True when `name` is logs/sync_jobs/YYYYMMDD_HHMMSS_sync.log (or _N before .log). */
static bool sync_log_name(const char *name)
{
    const char *prefix = "logs/sync_jobs/";
    if (strncmp(name, prefix, strlen(prefix)) != 0)
        return false;
    const char *p = name + strlen(prefix);
    for (int i = 0; i < 15; i++)
        if (i == 8 ? p[i] != '_' : (p[i] < '0' || p[i] > '9'))
            return false;
    return !strcmp(p + 15, "_sync.log") || !strncmp(p + 15, "_sync_", 6);
}

static void dry_run_lists_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    assert_int_equal(sync_run(f, "progress_to_license", true, 0, NULL, &r), 0);
    assert_true(r.dry_run);
    assert_int_equal(r.total_issues, 4);
    assert_int_equal(r.synced_count, 0);
    assert_string_equal(item_of(&r, f->up)->action, "sync_progress_to_license");
    assert_string_equal(item_of(&r, f->noprog)->action, "create_progress_from_license");
    assert_string_equal(item_of(&r, f->nolic)->action, "create_license_from_progress");
    assert_int_equal(item_of(&r, f->up)->old_level, 3);
    assert_int_equal(item_of(&r, f->up)->new_level, 5);
    assert_string_equal(r.log_file, "");
    sync_result_free(&r);
    int p, l;
    levels(f, f->up, "PLAYER", &p, &l);
    assert_int_equal(p, 5);
    assert_int_equal(l, 3);
    levels(f, f->noprog, "INTERNSHIP", &p, &l);
    assert_int_equal(p, 0);
    levels(f, f->nolic, "PLAYER", &p, &l);
    assert_int_equal(l, 0);
    /* Nothing recorded anywhere: no progression, no run, no log file. */
    assert_int_equal(all_progressions(f), 0);
    assert_int_equal(sync_runs(f), 0);
    assert_int_equal(tu_sh("test ! -e '%s/" SYNC_DIR "'", f->dir), 0);
    /* Every direction lists the repairs it would make. */
    assert_int_equal(sync_run(f, "license_to_progress", true, 0, NULL, &r), 0);
    assert_string_equal(item_of(&r, f->up)->action, "sync_license_to_progress");
    assert_int_equal(item_of(&r, f->up)->old_level, 5);
    assert_int_equal(item_of(&r, f->up)->new_level, 3);
    assert_string_equal(item_of(&r, f->nolic)->action, "create_license_from_progress");
    sync_result_free(&r);
    assert_int_equal(sync_run(f, "higher_wins", true, 0, NULL, &r), 0);
    assert_string_equal(item_of(&r, f->up)->action, "sync_progress_to_license");
    assert_string_equal(item_of(&r, f->down)->action, "sync_license_to_progress");
    assert_int_equal(item_of(&r, f->down)->new_level, 6);
    assert_null(item_of(&r, f->ok));
    sync_result_free(&r);
    assert_int_equal(all_progressions(f), 0);
    assert_int_equal(sync_runs(f), 0);
}

static void progress_to_license(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    assert_int_equal(sync_run(f, "progress_to_license", false, 0, NULL, &r), 0);
    assert_true(r.success);
    assert_int_equal(r.total_issues, 4);
    assert_int_equal(r.synced_count, 4);
    assert_int_equal(r.failed_count, 0);
    /* The sync log: a JSON result under logs/sync_jobs. */
    assert_true(sync_log_name(r.log_file));
    char path[900];
    snprintf(path, sizeof path, "%s/%s", f->dir, r.log_file);
    json_error_t je;
    json_t *log = json_load_file(path, 0, &je);
    assert_non_null(log);
    assert_int_equal(json_integer_value(json_object_get(log, "synced_count")), 4);
    assert_int_equal(json_array_size(json_object_get(log, "results")), 4);
    assert_string_equal(json_string_value(json_object_get(log, "direction")),
                        "progress_to_license");
    assert_true(json_is_false(json_object_get(log, "dry_run")));
    json_decref(log);
    /* The run is recorded with its log file. */
    struct sync_run run;
    memset(&run, 0, sizeof run);
    assert_int_equal(f->s->ops->sync_run_list(f->s, 0, keep_run, &run), 0);
    assert_int_equal(run.synced_count, 4);
    assert_int_equal(run.total_issues, 4);
    assert_true(run.success);
    assert_string_equal(run.trigger, "cli");
    assert_string_equal(run.direction, "progress_to_license");
    assert_string_equal(run.log_file, r.log_file);
    sync_result_free(&r);
    int p, l;
    levels(f, f->up, "PLAYER", &p, &l);
    assert_int_equal(l, 5);
    levels(f, f->down, "COACH", &p, &l);
    assert_int_equal(p, 2);
    assert_int_equal(l, 2);
    levels(f, f->noprog, "INTERNSHIP", &p, &l);
    assert_int_equal(p, 2); /* created from the license whatever the direction */
    levels(f, f->nolic, "PLAYER", &p, &l);
    assert_int_equal(l, 4);
    /* Created rows: the license at the progress level (max the same), the
     * progress at the license level with counters at 0. */
    struct license created;
    assert_int_equal(f->s->ops->license_get(f->s, f->nolic, "PLAYER", false, &created), 0);
    assert_int_equal(created.max_achieved_level, 4);
    struct progress fresh;
    assert_int_equal(f->s->ops->progress_get(f->s, f->noprog, "INTERNSHIP", false, &fresh), 0);
    assert_int_equal(fresh.total_xp, 0);
    assert_int_equal(fresh.completed_sessions, 0);
    char want[200];
    snprintf(want, sizeof want, "3|5|%lld|Auto-sync from SpecializationProgress",
             (long long)f->admin);
    assert_string_equal(tu_progression_rows(f->dir, f->up), want);
    snprintf(want, sizeof want, "6|2|%lld|Auto-sync from SpecializationProgress",
             (long long)f->admin);
    assert_string_equal(tu_progression_rows(f->dir, f->down), want);
    /* max_achieved never goes down; the license change has its progression. */
    struct license li;
    assert_int_equal(f->s->ops->license_get(f->s, f->down, "COACH", false, &li), 0);
    assert_int_equal(li.max_achieved_level, 6);
    int64_t n = 0;
    assert_int_equal(f->s->ops->progression_count(f->s, li.id, &n), 0);
    assert_int_equal(n, 1);
    /* Idempotent: a second sync finds nothing. */
    assert_int_equal(sync_run(f, "progress_to_license", false, 0, NULL, &r), 0);
    assert_int_equal(r.total_issues, 0);
    assert_int_equal(r.synced_count, 0);
    sync_result_free(&r);
    assert_int_equal(f->s->ops->progression_count(f->s, li.id, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(all_progressions(f), 2);
    assert_int_equal(sync_runs(f), 2);
}

static void license_to_progress(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    assert_int_equal(sync_run(f, "license_to_progress", false, 0, NULL, &r), 0);
    assert_int_equal(r.synced_count, 4);
    assert_string_equal(item_of(&r, f->up)->action, "sync_license_to_progress");
    sync_result_free(&r);
    int p, l;
    levels(f, f->up, "PLAYER", &p, &l);
    assert_int_equal(p, 3);
    assert_int_equal(l, 3);
    levels(f, f->down, "COACH", &p, &l);
    assert_int_equal(p, 6);
    levels(f, f->nolic, "PLAYER", &p, &l);
    assert_int_equal(l, 4); /* a missing license is still created from progress */
    /* The license did not change: no progression. */
    struct license li;
    int64_t n = -1;
    assert_int_equal(f->s->ops->license_get(f->s, f->up, "PLAYER", false, &li), 0);
    assert_int_equal(f->s->ops->progression_count(f->s, li.id, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(li.max_achieved_level, 3);
    levels(f, f->noprog, "INTERNSHIP", &p, &l);
    assert_int_equal(p, 2);
    assert_int_equal(all_progressions(f), 0);
    assert_int_equal(sync_run(f, "license_to_progress", false, 0, NULL, &r), 0);
    assert_int_equal(r.total_issues, 0);
    sync_result_free(&r);
}

static void higher_wins(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    assert_int_equal(sync_run(f, "higher_wins", false, 0, NULL, &r), 0);
    assert_string_equal(item_of(&r, f->up)->action, "sync_progress_to_license");
    assert_string_equal(item_of(&r, f->down)->action, "sync_license_to_progress");
    sync_result_free(&r);
    int p, l;
    levels(f, f->up, "PLAYER", &p, &l);
    assert_int_equal(l, 5);
    levels(f, f->down, "COACH", &p, &l);
    assert_int_equal(p, 6);
    assert_int_equal(l, 6);
    levels(f, f->noprog, "INTERNSHIP", &p, &l);
    assert_int_equal(p, 2);
    levels(f, f->nolic, "PLAYER", &p, &l);
    assert_int_equal(l, 4);
    /* Only the license that moved up has a progression. */
    char want[200];
    snprintf(want, sizeof want, "3|5|%lld|Auto-sync from SpecializationProgress",
             (long long)f->admin);
    assert_string_equal(tu_progression_rows(f->dir, f->up), want);
    assert_string_equal(tu_progression_rows(f->dir, f->down), "");
    assert_int_equal(sync_run(f, "higher_wins", false, 0, NULL, &r), 0);
    assert_int_equal(r.total_issues, 0);
    sync_result_free(&r);
}

static void progression_reason_and_caller(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    assert_int_equal(sync_run(f, "progress_to_license", false, f->up, "player", &r), 0);
    assert_int_equal(r.total_issues, 1);
    sync_result_free(&r);
    char want[200];
    snprintf(want, sizeof want, "3|5|%lld|Auto-sync from SpecializationProgress",
             (long long)f->admin);
    assert_string_equal(tu_progression_rows(f->dir, f->up), want);
    /* The scheduler syncs as the system: advanced_by stays empty. */
    struct sync_options o = {.direction = "progress_to_license", .trigger = "scheduled",
                             .data_dir = f->dir};
    char err[300];
    assert_int_equal(sync_execute(f->s, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.synced_count, 3);
    sync_result_free(&r);
    snprintf(want, sizeof want, "6|2|0|Auto-sync from SpecializationProgress");
    assert_string_equal(tu_progression_rows(f->dir, f->down), want);
}

static void scopes(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    /* One user. */
    assert_int_equal(sync_run(f, "progress_to_license", false, f->down, NULL, &r), 0);
    assert_int_equal(r.total_issues, 1);
    assert_int_equal(r.items[0].user_id, f->down);
    sync_result_free(&r);
    int p, l;
    levels(f, f->down, "COACH", &p, &l);
    assert_int_equal(l, 2);
    levels(f, f->up, "PLAYER", &p, &l);
    assert_int_equal(l, 3); /* another user: untouched */
    /* One specialization (any case): the other specializations stay as they are. */
    assert_int_equal(sync_run(f, "progress_to_license", true, 0, "PLAYER", &r), 0);
    assert_int_equal(r.total_issues, 2); /* up and nolic */
    sync_result_free(&r);
    assert_int_equal(sync_run(f, "progress_to_license", false, 0, "player", &r), 0);
    assert_int_equal(r.synced_count, 2);
    sync_result_free(&r);
    levels(f, f->up, "PLAYER", &p, &l);
    assert_int_equal(l, 5);
    levels(f, f->nolic, "PLAYER", &p, &l);
    assert_int_equal(l, 4);
    levels(f, f->noprog, "INTERNSHIP", &p, &l);
    assert_int_equal(p, 0);
    /* A user and a specialization: only that pair, and none when it is consistent. */
    assert_int_equal(sync_run(f, "progress_to_license", false, f->noprog, "COACH", &r), 0);
    assert_int_equal(r.total_issues, 0);
    sync_result_free(&r);
    assert_int_equal(sync_run(f, "progress_to_license", false, f->noprog, "INTERNSHIP", &r), 0);
    assert_int_equal(r.total_issues, 1);
    sync_result_free(&r);
    levels(f, f->noprog, "INTERNSHIP", &p, &l);
    assert_int_equal(p, 2);
    /* Unknown user, unknown specialization, bad direction: errors, nothing changed. */
    char err[300];
    struct sync_options o = {.user_id = 999999, .direction = "progress_to_license"};
    assert_int_equal(sync_execute(f->s, &o, &r, err, sizeof err), -11);
    assert_string_equal(err, "User 999999 not found");
    o = (struct sync_options){.spec = "NOPE", .direction = "progress_to_license"};
    assert_int_equal(sync_execute(f->s, &o, &r, err, sizeof err), -11);
    assert_string_equal(err, "Unknown specialization NOPE");
    o = (struct sync_options){.direction = "sideways"};
    assert_int_equal(sync_execute(f->s, &o, &r, err, sizeof err), -10);
    assert_int_equal(sync_runs(f), 4); /* dry and refused ones are not runs */
}

/* Two recorded syncs in the same second keep both logs. */
static void same_second_logs(void **state)
{
    struct fixture *f = *state;
    struct sync_result a, b;
    time_set_test_clock(time_now_us());
    assert_int_equal(sync_run(f, "progress_to_license", false, f->up, NULL, &a), 0);
    assert_int_equal(sync_run(f, "progress_to_license", false, f->down, NULL, &b), 0);
    time_set_test_clock(0);
    assert_true(sync_log_name(a.log_file));
    assert_true(sync_log_name(b.log_file));
    char want[STORE_PATH_MAX];
    snprintf(want, sizeof want, "%.*s_sync_2.log", (int)(strlen(a.log_file) - 9), a.log_file);
    assert_string_equal(b.log_file, want);
    sync_result_free(&a);
    sync_result_free(&b);
}

/* After a sync, a check is clean. */
static void check_after_sync(void **state)
{
    struct fixture *f = *state;
    struct sync_result r;
    assert_int_equal(sync_run(f, "higher_wins", false, 0, NULL, &r), 0);
    sync_result_free(&r);
    struct check_options o = {.dry_run = true, .direction = "progress_to_license",
                              .healthy_threshold = 99, .degraded_threshold = 95};
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    assert_int_equal(out.run.inconsistent, 0);
    assert_int_equal(out.run.total_checked, 5);
}

/* may_continue: true for the first *ctx calls, then false. */
static bool lead_for(void *ctx)
{
    int *left = ctx;
    return (*left)-- > 0;
}

/* A run that stops (the lead lost after the first pair): the pairs left are
 * listed as not attempted, each with the run's reason; the log file, written
 * one item at a time, is the document sync_result_json gives, byte for byte,
 * with the failed items' errors and the pair left for manual review. */
static void stopped_run_and_its_streamed_log(void **state)
{
    struct fixture *f = *state;
    int64_t odd = tu_user(f->s, "odd", NULL);
    tu_pair(f->s, odd, "PLAYER", 12, 12); /* beyond PLAYER's 8 levels: manual review */
    /* Two questions for the first pair (before it, and before its commit). */
    int left = 2;
    struct sync_options o = {.direction = "progress_to_license", .caller = f->admin,
                             .trigger = "scheduled", .data_dir = f->dir,
                             .may_continue = lead_for, .may_continue_ctx = &left};
    struct sync_result r;
    char err[300];
    assert_int_equal(sync_execute(f->s, &o, &r, err, sizeof err), 0);
    assert_false(r.success);
    assert_int_equal(r.total_issues, 4);
    assert_int_equal(r.synced_count, 1);
    assert_int_equal(r.failed_count, 3);
    assert_int_equal(r.n_manual, 1);
    assert_true(r.items[0].success);
    assert_string_equal(sync_item_error(&r.items[0]), "");
    for (size_t i = 1; i < r.n_items; i++) {
        assert_false(r.items[i].success);
        assert_string_equal(sync_item_error(&r.items[i]),
                            "not attempted: this process no longer leads the scheduled jobs; "
                            "stopped after 1 of 4 pairs");
    }
    assert_true(sync_log_name(r.log_file));
    char path[900];
    snprintf(path, sizeof path, "%s/%s", f->dir, r.log_file);
    json_t *whole = sync_result_json(&r);
    char *expected = json_dumps(whole, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    json_decref(whole);
    assert_non_null(expected);
    const char *text = tu_file_text(path);
    assert_non_null(text);
    assert_int_equal(strlen(text), strlen(expected) + 1);
    assert_memory_equal(text, expected, strlen(expected));
    assert_int_equal(text[strlen(expected)], '\n');
    free(expected);
    json_error_t je;
    json_t *log = json_load_file(path, 0, &je);
    assert_non_null(log);
    json_t *third = json_array_get(json_object_get(log, "results"), 2);
    assert_string_equal(json_string_value(json_object_get(third, "error")),
                        sync_item_error(&r.items[2]));
    json_t *manual = json_array_get(json_object_get(log, "manual_review"), 0);
    assert_string_equal(json_string_value(json_object_get(manual, "issue_type")),
                        "invalid_level");
    assert_int_equal(json_integer_value(json_object_get(manual, "user_id")), odd);
    json_decref(log);
    sync_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dry_run_lists_and_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(progress_to_license, setup, teardown),
        cmocka_unit_test_setup_teardown(license_to_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(higher_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(progression_reason_and_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(same_second_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(check_after_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(stopped_run_and_its_streamed_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_check.c — the check: counts with orphans on both sides, violation
 * objects, first_seen across checks, resolution, dry runs, the report file,
 * and a data dir whose log directory cannot be written. Every scenario runs
 * with the single-threaded scan and with the threaded one. */
#include "service/check.h"
#include "service/enforcer.h"
#include "service/report.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fixture {
    struct store *s;
    char dir[512];
    int64_t u[6];
};

static struct check_options opts(const char *dir, bool dry)
{
    struct check_options o = {.dry_run = dry, .trigger = "manual",
                              .direction = "progress_to_license", .healthy_threshold = 99.0,
                              .degraded_threshold = 95.0, .data_dir = dir};
    return o;
}

/* 6 users: 3 consistent, a mismatch, a progress-only and a license-only pair. */
static int setup(void **state, long parallel)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct store *s0 = tu_store(parallel ? "check-single" : "check-threaded", f->dir);
    store_close(s0);
    f->s = tu_store_scan(f->dir, parallel);
    const char *tags[] = {"a", "b", "c", "mismatch", "progressonly", "licenseonly"};
    for (int i = 0; i < 6; i++)
        f->u[i] = tu_user(f->s, tags[i], NULL);
    tu_pair(f->s, f->u[0], "PLAYER", 2, 2);
    tu_pair(f->s, f->u[0], "COACH", 1, 1);
    tu_pair(f->s, f->u[1], "PLAYER", 5, 5);
    tu_pair(f->s, f->u[2], "INTERNSHIP", 3, 3);
    tu_pair(f->s, f->u[3], "PLAYER", 4, 2);
    tu_pair(f->s, f->u[4], "COACH", 3, 0);
    tu_pair(f->s, f->u[5], "INTERNSHIP", 0, 2);
    *state = f;
    return 0;
}

static int setup_single(void **state)
{
    return setup(state, -1);
}

static int setup_threaded(void **state)
{
    return setup(state, 0);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    free(f);
    return 0;
}

struct seen {
    struct violation v[16];
    int n;
};

static int collect(void *ctx, const struct violation *v)
{
    struct seen *s = ctx;
    if (s->n < 16)
        s->v[s->n++] = *v;
    return 0;
}

static int count_files(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/" CHECK_DIR, dir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "_violations") && e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Everything in the integrity-check directory, hidden files included. */
static int count_entries(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/" CHECK_DIR, dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int count_history(struct store *s)
{
    struct check_run c;
    int rc = s->ops->check_latest(s, &c);
    return rc == STORE_ERR_NOT_FOUND ? 0 : (int)c.id;
}

static void counts_and_violations(void **state)
{
    struct fixture *f = *state;
    struct seen seen = {.n = 0};
    struct check_options o = opts(f->dir, false);
    o.on_violation = collect;
    o.ctx = &seen;
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    assert_true(out.recorded);
    assert_int_equal(out.run.total_checked, 7);
    assert_int_equal(out.run.consistent, 4);
    assert_int_equal(out.run.inconsistent, 3);
    assert_int_equal(out.run.users_checked, 6);
    assert_float_equal(out.run.consistency_rate, 57.14, 1e-9);
    assert_string_equal(out.run.status, "critical");
    assert_int_equal(seen.n, 3);
    /* In pair order, with email, delta and first_seen. */
    assert_int_equal(seen.v[0].user_id, f->u[3]);
    assert_string_equal(seen.v[0].issue_type, "level_mismatch");
    assert_string_equal(seen.v[0].user_email, "mismatch@test.local");
    assert_int_equal(seen.v[0].progress_level - seen.v[0].license_level, 2);
    assert_string_equal(seen.v[0].recommended_action, "sync_progress_to_license");
    assert_int_equal(seen.v[0].first_seen, out.run.timestamp);
    assert_string_equal(seen.v[1].issue_type, "missing_license");
    assert_false(seen.v[1].has_license);
    assert_string_equal(seen.v[1].recommended_action, "create_license_from_progress");
    assert_string_equal(seen.v[2].issue_type, "missing_progress");
    assert_false(seen.v[2].has_progress);
    assert_string_equal(seen.v[2].recommended_action, "create_progress_from_license");
    /* The recorded report file: valid JSON with the same numbers. */
    assert_string_equal(out.file_error, "");
    char stamp[16], want[80];
    time_format_file(out.run.timestamp, stamp);
    snprintf(want, sizeof want, "logs/integrity_checks/%s_violations.json", stamp);
    assert_string_equal(out.run.report_file, want);
    assert_int_equal(count_files(f->dir), 1);
    /* The file and the budget state (.report_state.json); no temporary file. */
    assert_int_equal(count_entries(f->dir), 2);
    char path[900];
    snprintf(path, sizeof path, "%s/%s", f->dir, out.run.report_file);
    json_error_t je;
    json_t *rep = json_load_file(path, 0, &je);
    assert_non_null(rep);
    assert_int_equal(json_integer_value(json_object_get(rep, "total_checked")), 7);
    assert_int_equal(json_integer_value(json_object_get(rep, "inconsistent")), 3);
    assert_float_equal(json_real_value(json_object_get(rep, "consistency_rate")), 57.14, 1e-9);
    json_t *vs = json_object_get(rep, "violations");
    assert_int_equal(json_array_size(vs), 3);
    char iso[TIME_ISO_LEN];
    time_format_iso(out.run.timestamp, iso);
    assert_string_equal(json_string_value(json_object_get(rep, "timestamp")), iso);
    assert_int_equal(json_integer_value(json_object_get(rep, "consistent")), 4);
    assert_string_equal(json_string_value(json_object_get(rep, "status")), "critical");
    assert_true(json_is_true(json_object_get(rep, "requires_attention")));
    json_t *v0 = json_array_get(vs, 0);
    assert_int_equal(json_integer_value(json_object_get(v0, "user_id")), f->u[3]);
    assert_string_equal(json_string_value(json_object_get(v0, "user_email")),
                        "mismatch@test.local");
    assert_string_equal(json_string_value(json_object_get(v0, "specialization")), "PLAYER");
    assert_string_equal(json_string_value(json_object_get(v0, "issue_type")), "level_mismatch");
    assert_int_equal(json_integer_value(json_object_get(v0, "progress_level")), 4);
    assert_int_equal(json_integer_value(json_object_get(v0, "license_level")), 2);
    assert_string_equal(json_string_value(json_object_get(v0, "first_seen")), iso);
    assert_int_equal(json_integer_value(json_object_get(v0, "delta")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(vs, 2), "user_email")),
                        "licenseonly@test.local");
    assert_true(json_is_null(json_object_get(json_array_get(vs, 1), "delta")));
    assert_true(json_is_null(json_object_get(json_array_get(vs, 2), "progress_level")));
    json_decref(rep);
    /* The store's latest check and open violations agree. */
    struct check_run c;
    assert_int_equal(f->s->ops->check_latest(f->s, &c), 0);
    assert_int_equal(c.id, out.run.id);
    assert_int_equal(c.inconsistent, 3);
    assert_string_equal(c.report_file, out.run.report_file);
}

static void first_seen_kept_then_resolved_then_reopened(void **state)
{
    struct fixture *f = *state;
    struct check_options o = opts(f->dir, false);
    struct check_outcome a, b, c, d;
    char err[300];
    int64_t t0 = time_now_us();
    time_set_test_clock(t0 - 3600 * USEC_PER_SEC);
    assert_int_equal(check_execute(f->s, &o, &a, err, sizeof err), 0);
    time_set_test_clock(t0 - 1800 * USEC_PER_SEC);
    struct seen seen = {.n = 0};
    o.on_violation = collect;
    o.ctx = &seen;
    assert_int_equal(check_execute(f->s, &o, &b, err, sizeof err), 0);
    assert_int_equal(seen.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(seen.v[i].first_seen, a.run.timestamp);
    /* Repair the mismatch through the enforcer: the violation resolves. */
    struct level_change ch = {.user_id = f->u[3], .spec = "PLAYER", .new_level = 4};
    struct level_result r;
    assert_int_equal(enforcer_update_level_atomic(f->s, &ch, &r), 0);
    time_set_test_clock(t0 - 900 * USEC_PER_SEC);
    seen.n = 0;
    assert_int_equal(check_execute(f->s, &o, &c, err, sizeof err), 0);
    assert_int_equal(c.run.inconsistent, 2);
    assert_int_equal(seen.n, 2);
    struct seen resolved = {.n = 0};
    assert_int_equal(f->s->ops->violations_resolved_since(f->s, b.run.timestamp, collect,
                                                          &resolved),
                     0);
    assert_int_equal(resolved.n, 1);
    assert_int_equal(resolved.v[0].user_id, f->u[3]);
    /* Drift again: a new first_seen. */
    struct license l;
    assert_int_equal(f->s->ops->license_get(f->s, f->u[3], "PLAYER", false, &l), 0);
    l.current_level = 1;
    assert_int_equal(f->s->ops->license_update(f->s, &l), 0);
    time_set_test_clock(t0);
    seen.n = 0;
    assert_int_equal(check_execute(f->s, &o, &d, err, sizeof err), 0);
    time_set_test_clock(0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.v[0].user_id, f->u[3]);
    assert_int_equal(seen.v[0].first_seen, d.run.timestamp);
    assert_int_equal(seen.v[1].first_seen, a.run.timestamp);
    struct seen fresh = {.n = 0};
    assert_int_equal(f->s->ops->violations_new_since(f->s, c.run.timestamp, collect, &fresh), 0);
    assert_int_equal(fresh.n, 1);
    assert_int_equal(fresh.v[0].user_id, f->u[3]);
    struct seen open = {.n = 0};
    assert_int_equal(f->s->ops->violations_open(f->s, NULL, collect, &open), 0);
    assert_int_equal(open.n, 3);
    assert_int_equal(open.v[0].progress_level, 4);
    assert_int_equal(open.v[0].license_level, 1);
}

static void dry_run_writes_nothing(void **state)
{
    struct fixture *f = *state;
    int files = count_files(f->dir), history = count_history(f->s);
    struct seen before = {.n = 0};
    assert_int_equal(f->s->ops->violations_open(f->s, NULL, collect, &before), 0);
    struct check_options o = opts(f->dir, true);
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    assert_false(out.recorded);
    assert_int_equal(out.run.id, 0);
    assert_int_equal(out.run.total_checked, 7);
    assert_int_equal(count_files(f->dir), files);
    assert_int_equal(count_history(f->s), history);
    struct seen after = {.n = 0};
    assert_int_equal(f->s->ops->violations_open(f->s, NULL, collect, &after), 0);
    assert_int_equal(after.n, before.n);
    /* The very first check is a dry run: not even the log directory appears. */
    assert_int_equal(count_entries(f->dir), -1);
    assert_int_equal(before.n, 0);
    assert_int_equal(history, 0);
    /* The dry run still reports the violations, first seen now. */
    struct seen seen = {.n = 0};
    o.on_violation = collect;
    o.ctx = &seen;
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.v[0].first_seen, out.run.timestamp);
    assert_string_equal(seen.v[0].user_email, "mismatch@test.local");
}

/* A recorded check then a dry run: the dry run shows the recorded first_seen
 * and changes nothing of the open violations. */
static void dry_run_after_recorded_check(void **state)
{
    struct fixture *f = *state;
    struct check_options o = opts(f->dir, false);
    struct check_outcome a, b;
    char err[300];
    int64_t t0 = time_now_us();
    time_set_test_clock(t0 - 600 * USEC_PER_SEC);
    assert_int_equal(check_execute(f->s, &o, &a, err, sizeof err), 0);
    time_set_test_clock(0);
    /* Drift another pair, then look without recording. */
    struct license l;
    assert_int_equal(f->s->ops->license_get(f->s, f->u[1], "PLAYER", false, &l), 0);
    l.current_level = 1;
    assert_int_equal(f->s->ops->license_update(f->s, &l), 0);
    struct seen seen = {.n = 0};
    o = opts(f->dir, true);
    o.on_violation = collect;
    o.ctx = &seen;
    assert_int_equal(check_execute(f->s, &o, &b, err, sizeof err), 0);
    assert_int_equal(b.run.inconsistent, 4);
    assert_int_equal(seen.n, 4);
    assert_int_equal(seen.v[0].user_id, f->u[1]);
    assert_int_equal(seen.v[0].first_seen, b.run.timestamp); /* new: now */
    assert_int_equal(seen.v[1].first_seen, a.run.timestamp); /* open since the recorded check */
    struct seen open = {.n = 0};
    assert_int_equal(f->s->ops->violations_open(f->s, NULL, collect, &open), 0);
    assert_int_equal(open.n, 3);
    assert_int_equal(count_files(f->dir), 1);
    struct check_run c;
    assert_int_equal(f->s->ops->check_latest(f->s, &c), 0);
    assert_int_equal(c.id, a.run.id);
}

static void same_second_files_get_suffixes(void **state)
{
    struct fixture *f = *state;
    struct check_options o = opts(f->dir, false);
    struct check_outcome a, b;
    char err[300];
    int64_t t = time_now_us() + 7200 * USEC_PER_SEC;
    time_set_test_clock(t);
    assert_int_equal(check_execute(f->s, &o, &a, err, sizeof err), 0);
    assert_int_equal(check_execute(f->s, &o, &b, err, sizeof err), 0);
    time_set_test_clock(0);
    char stamp[16], want[64];
    time_format_file(t, stamp);
    snprintf(want, sizeof want, "%s_violations.json", stamp);
    assert_non_null(strstr(a.run.report_file, want));
    snprintf(want, sizeof want, "%s_violations_2.json", stamp);
    assert_non_null(strstr(b.run.report_file, want));
}

/* The log directory cannot be written: the check is recorded anyway. (Tests
 * run as root, where permissions do not stop writes: a file stands where the
 * directory should be.) */
static void unwritable_log_dir(void **state)
{
    struct fixture *f = *state;
    char path[700];
    snprintf(path, sizeof path, "%s/" CHECK_DIR, f->dir);
    assert_int_equal(tu_sh("rm -rf '%s' && mkdir -p '%s/logs' && echo x > '%s'", path, f->dir, path), 0);
    struct check_options o = opts(f->dir, false);
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    assert_true(out.recorded);
    assert_true(out.file_error[0] != '\0');
    struct check_run c;
    assert_int_equal(f->s->ops->check_latest(f->s, &c), 0);
    assert_int_equal(c.id, out.run.id);
    assert_string_equal(c.report_file, "");
    assert_true(c.file_error[0] != '\0');
    assert_string_equal(c.file_error, out.file_error);
    assert_int_equal(c.total_checked, 7);
    /* The open violations were recorded all the same. */
    struct seen open = {.n = 0};
    assert_int_equal(f->s->ops->violations_open(f->s, NULL, collect, &open), 0);
    assert_int_equal(open.n, 3);
    /* Once the directory can be written again, so is the next report. */
    assert_int_equal(tu_sh("rm -f '%s'", path), 0);
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    assert_string_equal(out.file_error, "");
    assert_true(out.run.report_file[0] != '\0');
    assert_int_equal(count_files(f->dir), 1);
}

/* The report rebuilt from the store equals the file written by the check. */
static void report_from_store_matches_file(void **state)
{
    struct fixture *f = *state;
    struct check_options o = opts(f->dir, false);
    struct check_outcome out;
    char err[300], path[900];
    assert_int_equal(check_execute(f->s, &o, &out, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s", f->dir, out.run.report_file);
    json_error_t je;
    json_t *file = json_load_file(path, 0, &je);
    struct check_run c;
    assert_int_equal(f->s->ops->check_latest(f->s, &c), 0);
    json_t *rebuilt = report_from_store(f->s, &c);
    assert_non_null(file);
    assert_non_null(rebuilt);
    assert_true(json_equal(file, rebuilt));
    json_decref(file);
    json_decref(rebuilt);
}

/* More specializations than a scan once interned (1,024): every pair is still
 * checked, the ones of the last specialization in byte order too. */
static void thousands_of_specializations(void **state)
{
    struct fixture *f = *state;
    struct store *s = f->s;
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < 1500; i++) {
        struct specialization sp = {.max_levels = 10, .is_active = true, .created_at = 1};
        snprintf(sp.id, sizeof sp.id, "ZZ%04d", i);
        snprintf(sp.name, sizeof sp.name, "Specialization %d", i);
        assert_int_equal(s->ops->spec_insert(s, &sp), 0);
    }
    assert_int_equal(s->ops->commit(s), 0);
    tu_pair(s, f->u[0], "ZZ1499", 2, 3);
    tu_pair(s, f->u[1], "ZZ0000", 4, 4);
    struct seen seen = {.n = 0};
    struct check_options o = opts(f->dir, false);
    o.on_violation = collect;
    o.ctx = &seen;
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(s, &o, &out, err, sizeof err), 0);
    assert_int_equal(out.run.total_checked, 9);
    assert_int_equal(out.run.inconsistent, 4);
    assert_int_equal(seen.n, 4);
    assert_int_equal(seen.v[0].user_id, f->u[0]);
    assert_string_equal(seen.v[0].spec, "ZZ1499");
    assert_string_equal(seen.v[0].issue_type, "level_mismatch");
    /* The next check keeps it open, first seen by the first. */
    seen.n = 0;
    int64_t first = out.run.timestamp;
    assert_int_equal(check_execute(s, &o, &out, err, sizeof err), 0);
    assert_int_equal(out.run.inconsistent, 4);
    assert_int_equal(seen.v[0].first_seen, first);
}

static void empty_store_is_healthy(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("check-empty", dir);
    struct check_options o = opts(dir, false);
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(s, &o, &out, err, sizeof err), 0);
    assert_int_equal(out.run.total_checked, 0);
    assert_float_equal(out.run.consistency_rate, 100.0, 1e-9);
    assert_string_equal(out.run.status, "healthy");
    /* A check without violations writes its file too: one file per check. */
    char path[900];
    snprintf(path, sizeof path, "%s/%s", dir, out.run.report_file);
    json_error_t je;
    json_t *rep = json_load_file(path, 0, &je);
    assert_non_null(rep);
    assert_true(json_is_array(json_object_get(rep, "violations")));
    assert_int_equal(json_array_size(json_object_get(rep, "violations")), 0);
    assert_false(json_is_true(json_object_get(rep, "requires_attention")));
    json_decref(rep);
    store_close(s);
}

/* The counts stay exact whichever pairs are inconsistent: a backend that
 * leaves the consistent pairs out of the scan counts them itself (the last
 * pair consistent or not, no inconsistent pair, nothing else). */
static void totals_whichever_pairs_are_inconsistent(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct {
            int user;
            const char *spec;
            int progress, license;
        } pair[4];
        int pairs, users, inconsistent;
    } cases[] = {
        {"last-consistent", {{0, "PLAYER", 2, 3}, {0, "COACH", 1, 1}, {1, "PLAYER", 2, 2}}, 3, 2, 1},
        {"last-inconsistent", {{0, "PLAYER", 2, 2}, {1, "COACH", 1, 1}, {1, "PLAYER", 3, 0}}, 3, 2, 1},
        {"none-inconsistent", {{0, "COACH", 1, 1}, {1, "PLAYER", 2, 2}, {2, "INTERNSHIP", 3, 3}},
         3, 3, 0},
        {"all-inconsistent", {{0, "COACH", 1, 2}, {0, "PLAYER", 0, 3}, {1, "INTERNSHIP", 2, 0}},
         3, 2, 3},
        {"consistent-user-between",
         {{0, "COACH", 1, 2}, {1, "COACH", 1, 1}, {1, "PLAYER", 2, 2}, {2, "PLAYER", 1, 0}}, 4, 3, 2},
        /* A user with licenses only, between two consistent ones (a PostgreSQL
         * sweep counts such users itself), and one with a license only
         * beside a progress row. */
        {"license-only-user",
         {{0, "COACH", 1, 1}, {1, "COACH", 0, 1}, {1, "PLAYER", 0, 2}, {2, "PLAYER", 1, 1}}, 4, 3, 2},
        {"license-only-pair", {{0, "COACH", 0, 1}, {0, "PLAYER", 2, 2}, {1, "PLAYER", 0, 3}}, 3, 2, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dir[512], name[64];
        snprintf(name, sizeof name, "check-totals-%s", cases[c].name);
        struct store *s = tu_store(name, dir);
        int64_t user[3];
        for (int i = 0; i < 3; i++) {
            char tag[16];
            snprintf(tag, sizeof tag, "t%d", i);
            user[i] = tu_user(s, tag, NULL);
        }
        for (int i = 0; i < 4 && cases[c].pair[i].spec; i++)
            tu_pair(s, user[cases[c].pair[i].user], cases[c].pair[i].spec,
                    cases[c].pair[i].progress, cases[c].pair[i].license);
        struct seen seen = {.n = 0};
        struct check_options o = opts(dir, false);
        o.on_violation = collect;
        o.ctx = &seen;
        struct check_outcome out;
        char err[300];
        assert_int_equal(check_execute(s, &o, &out, err, sizeof err), 0);
        assert_int_equal(out.run.total_checked, cases[c].pairs);
        assert_int_equal(out.run.users_checked, cases[c].users);
        assert_int_equal(out.run.inconsistent, cases[c].inconsistent);
        assert_int_equal(out.run.consistent, cases[c].pairs - cases[c].inconsistent);
        assert_int_equal(seen.n, cases[c].inconsistent);
        struct check_run recorded;
        assert_int_equal(s->ops->check_latest(s, &recorded), 0);
        assert_int_equal(recorded.total_checked, cases[c].pairs);
        assert_int_equal(recorded.users_checked, cases[c].users);
        assert_int_equal(recorded.consistent, cases[c].pairs - cases[c].inconsistent);
        /* The file says the same. */
        char path[900];
        snprintf(path, sizeof path, "%s/%s", dir, out.run.report_file);
        json_error_t je;
        json_t *rep = json_load_file(path, 0, &je);
        assert_non_null(rep);
        assert_int_equal(json_integer_value(json_object_get(rep, "total_checked")),
                         cases[c].pairs);
        assert_int_equal(json_array_size(json_object_get(rep, "violations")),
                         cases[c].inconsistent);
        json_decref(rep);
        store_close(s);
    }
}

struct by_type {
    int64_t n[8];
};

static int count_types(void *ctx, const struct violation *v)
{
    static const char *const types[] = {"level_mismatch", "missing_license", "missing_progress",
                                        "invalid_level", "unknown_specialization",
                                        "duplicate_rows"};
    struct by_type *t = ctx;
    for (int i = 0; i < 6; i++)
        if (!strcmp(v->issue_type, types[i]))
            t->n[i]++;
    if (!strcmp(v->spec, "GHOST")) /* both rows, level 2: one pair, levels as read */
        assert_true(v->has_progress && v->has_license && v->progress_level == 2 &&
                    v->license_level == 2);
    return 0;
}

/* Rows another client wrote without foreign keys (the sqlite3 shell's
 * default): specialization names missing from the table, ordered bytewise
 * among the known ones, thousands of them so that the threaded scan carries
 * them across its batches; and a level out of range. Each is one pair of its
 * own state, and the check goes on (SQLite: the merge is Lockstep's own). */
static void rows_behind_lockstep(void **state)
{
    struct fixture *f = *state;
    if (tu_pg())
        skip();
    char out[64];
    const char *now = "'2026-01-01T00:00:00.000000Z'";
    assert_int_equal(tu_sql(f->dir, out, sizeof out,
                            "INSERT INTO specialization_progress(student_id, specialization_id, "
                            "current_level, created_at, updated_at) VALUES "
                            "(%lld, 'AAA', 1, %s, %s), (%lld, 'GHOST', 2, %s, %s), "
                            "(%lld, 'zeta', 3, %s, %s)",
                            (long long)f->u[0], now, now, (long long)f->u[0], now, now,
                            (long long)f->u[0], now, now),
                     0);
    assert_int_equal(tu_sql(f->dir, out, sizeof out,
                            "INSERT INTO user_licenses(user_id, specialization_type, current_level, "
                            "max_achieved_level, started_at, created_at, updated_at) VALUES "
                            "(%lld, 'GHOST', 2, 2, %s, %s, %s), (%lld, 'ZZZ', 1, 1, %s, %s, %s)",
                            (long long)f->u[0], now, now, now, (long long)f->u[0], now, now, now),
                     0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(
            tu_sql(f->dir, out, sizeof out,
                   t ? "INSERT INTO user_licenses(user_id, specialization_type, current_level, "
                       "max_achieved_level, started_at, created_at, updated_at) "
                       "WITH RECURSIVE n(i) AS (SELECT 100000 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < 105000) SELECT i, 'NOPE', 1, 1, %s, %s, %s FROM n"
                     : "INSERT INTO specialization_progress(student_id, specialization_id, "
                       "current_level, created_at, updated_at) "
                       "WITH RECURSIVE n(i) AS (SELECT 100000 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < 105000) SELECT i, 'NOPE', 1, %s, %s FROM n",
                   now, now, now),
            0);
    assert_int_equal(tu_sql(f->dir, out, sizeof out,
                            "UPDATE specialization_progress SET current_level = 99 "
                            "WHERE student_id = %lld AND specialization_id = 'PLAYER'",
                            (long long)f->u[1]),
                     0);
    struct by_type t = {{0}};
    struct check_options o = opts(f->dir, false);
    o.on_violation = count_types;
    o.ctx = &t;
    struct check_outcome out_run;
    char err[300];
    assert_int_equal(check_execute(f->s, &o, &out_run, err, sizeof err), 0);
    assert_int_equal(out_run.run.total_checked, 7 + 4 + 5001);
    assert_int_equal(out_run.run.inconsistent, 3 + 1 + 4 + 5001);
    assert_int_equal(t.n[0], 1); /* the mismatch */
    assert_int_equal(t.n[1], 1);
    assert_int_equal(t.n[2], 1);
    assert_int_equal(t.n[3], 1);        /* PLAYER at 99 */
    assert_int_equal(t.n[4], 4 + 5001); /* AAA, GHOST, zeta, ZZZ and the NOPE pairs */
    assert_int_equal(t.n[5], 0);
}

#define BOTH(t) cmocka_unit_test_setup_teardown(t, setup_single, teardown), \
                cmocka_unit_test_setup_teardown(t, setup_threaded, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(counts_and_violations),
        BOTH(first_seen_kept_then_resolved_then_reopened),
        BOTH(dry_run_writes_nothing),
        BOTH(dry_run_after_recorded_check),
        BOTH(same_second_files_get_suffixes),
        BOTH(unwritable_log_dir),
        BOTH(report_from_store_matches_file),
        BOTH(thousands_of_specializations),
        BOTH(rows_behind_lockstep),
        cmocka_unit_test(empty_store_is_healthy),
        cmocka_unit_test(totals_whichever_pairs_are_inconsistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

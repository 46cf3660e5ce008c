/* test_baseline.c — baselines: the record and its files (report,
 * BASELINE_README.md, KNOWN_VIOLATIONS.md with lines, counts by
 * specialization and by Δ), the violation list read back after later checks
 * changed the open violations, a healthy baseline removing the old list, and
 * the CLI verb. */
#include "service/baseline.h"
#include "service/check.h"
#include "service/errors.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define S USEC_PER_SEC

struct fixture {
    struct store *s;
    char dir[512];
    struct config cfg;
    int64_t u[8];
};

/* 8 users: 5 consistent pairs, a mismatch of +2 (PLAYER), a mismatch of −1
 * (COACH), a progress-only pair (INTERNSHIP): 8 pairs, 3 violations. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->s = tu_store("baseline", f->dir);
    config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof f->cfg.data_dir, "%s", f->dir);
    for (int i = 0; i < 8; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "b%d", i);
        f->u[i] = tu_user(f->s, tag, NULL);
    }
    for (int i = 0; i < 5; i++)
        tu_pair(f->s, f->u[i], "PLAYER", 2, 2);
    tu_pair(f->s, f->u[5], "PLAYER", 4, 2);
    tu_pair(f->s, f->u[6], "COACH", 2, 3);
    tu_pair(f->s, f->u[7], "INTERNSHIP", 1, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    time_set_test_clock(0);
    store_close(f->s);
    free(f);
    return 0;
}

static char *read_text(const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, 1 << 20, &text, &len) != 0)
        return NULL;
    return text;
}

static void create_writes_the_files(void **state)
{
    struct fixture *f = *state;
    struct baseline_info bi;
    struct violation_list l;
    char fe[400], err[400];
    assert_int_equal(baseline_create(f->s, &f->cfg, "after deploy", &bi, &l, fe, sizeof fe, err,
                                     sizeof err),
                     0);
    assert_string_equal(fe, "");
    assert_true(bi.baseline.id > 0);
    assert_true(bi.check.id > 0);
    assert_int_equal(bi.check.total_checked, 8);
    assert_int_equal(bi.check.inconsistent, 3);
    assert_string_equal(bi.check.trigger, "manual");
    assert_int_equal(l.n, 3);

    /* The store has it, with its report file. */
    struct baseline_info again;
    assert_int_equal(baseline_load(f->s, 0, &again, err, sizeof err), 0);
    assert_int_equal(again.baseline.id, bi.baseline.id);
    assert_int_equal(again.check.id, bi.check.id);
    assert_string_equal(again.baseline.note, "after deploy");
    char stamp[16], want[96];
    time_format_file(bi.check.timestamp, stamp);
    snprintf(want, sizeof want, "logs/baselines/baseline_%s.json", stamp);
    assert_string_equal(again.baseline.file, want);

    /* The report: the check's summary and its violations. */
    char *text = read_text(f->dir, again.baseline.file);
    assert_non_null(text);
    json_error_t je;
    json_t *rep = json_loads(text, 0, &je);
    free(text);
    assert_non_null(rep);
    assert_int_equal(json_integer_value(json_object_get(rep, "inconsistent")), 3);
    assert_int_equal(json_array_size(json_object_get(rep, "violations")), 3);
    json_decref(rep);

    /* KNOWN_VIOLATIONS.md: the lines, counts by specialization and by Δ. */
    text = read_text(f->dir, "logs/baselines/KNOWN_VIOLATIONS.md");
    assert_non_null(text);
    char line[200];
    snprintf(line, sizeof line,
             "- User %lld | PLAYER: Progress Level 4 vs License Level 2 (Δ 2)\n",
             (long long)f->u[5]);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line,
             "- User %lld | COACH: Progress Level 2 vs License Level 3 (Δ -1)\n",
             (long long)f->u[6]);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof line, "- User %lld | INTERNSHIP: Progress Level 1 vs License Level none "
             "(missing license)\n", (long long)f->u[7]);
    assert_non_null(strstr(text, line));
    assert_non_null(strstr(text, "| COACH | 1 |\n| INTERNSHIP | 1 |\n| PLAYER | 1 |\n"));
    assert_non_null(strstr(text, "| -1 | 1 |\n| 2 | 1 |\n| missing_license | 1 |\n"));
    assert_non_null(strstr(text, "## Recommended actions"));
    assert_non_null(strstr(text, "create_license_from_progress"));
    free(text);

    /* BASELINE_README.md: what operations.md lists. */
    text = read_text(f->dir, "logs/baselines/BASELINE_README.md");
    assert_non_null(text);
    assert_non_null(strstr(text, want));                       /* the file */
    assert_non_null(strstr(text, "| Total checked | 8 pairs"));
    assert_non_null(strstr(text, "| Violations | 3"));
    assert_non_null(strstr(text, "| Consistency rate | 62.50% |"));
    assert_non_null(strstr(text, "| 🟢 HEALTHY | ≥ 99.00% |"));  /* thresholds */
    assert_non_null(strstr(text, "## Status now: 🔴 CRITICAL"));
    assert_non_null(strstr(text, "## Next steps"));
    assert_non_null(strstr(text, "Automated checks every 0:05:00"));
    assert_non_null(strstr(text, "Daily review"));
    assert_non_null(strstr(text, "Weekly report"));
    assert_non_null(strstr(text, "Baseline update monthly"));
    assert_non_null(strstr(text, "### 🟡 DEGRADED"));
    assert_non_null(strstr(text, "### 🔴 CRITICAL"));
    free(text);

    /* JSON: counts for a panel. */
    json_t *j = baseline_json(&bi, &l);
    assert_non_null(j);
    json_t *by_spec = json_object_get(j, "counts_by_specialization");
    assert_int_equal(json_integer_value(json_object_get(by_spec, "PLAYER")), 1);
    json_t *by_delta = json_object_get(j, "counts_by_delta");
    assert_int_equal(json_integer_value(json_object_get(by_delta, "2")), 1);
    assert_int_equal(json_integer_value(json_object_get(by_delta, "-1")), 1);
    assert_int_equal(json_integer_value(json_object_get(by_delta, "missing_license")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "violations")), 3);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "critical");
    json_decref(j);
    violation_list_free(&l);

    /* Unknown ids. */
    assert_int_equal(baseline_load(f->s, bi.baseline.id + 1, &again, err, sizeof err),
                     LS_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no baseline #"));
}

static void set_license(struct store *s, int64_t user, const char *spec, int level)
{
    struct license l;
    assert_int_equal(s->ops->license_get(s, user, spec, false, &l), 0);
    l.current_level = level;
    assert_int_equal(s->ops->license_update(s, &l), 0);
}

/* The baseline's violations are those open at its check, whatever later
 * checks resolve or open. */
static void violations_as_of_the_baseline_check(void **state)
{
    struct fixture *f = *state;
    int64_t t0 = (time_now_us() / S - 7200) * S;
    struct check_options o = {.trigger = "scheduled", .direction = "progress_to_license",
                              .healthy_threshold = 99.0, .degraded_threshold = 95.0};
    struct check_outcome a, b, c;
    char err[300], fe[300];
    time_set_test_clock(t0);
    assert_int_equal(check_execute(f->s, &o, &a, err, sizeof err), 0);
    time_set_test_clock(t0 + 300 * S);
    assert_int_equal(check_execute(f->s, &o, &b, err, sizeof err), 0);
    struct baseline_info bi;
    struct violation_list l;
    struct config cfg = f->cfg;
    cfg.data_dir[0] = '\0'; /* no files here */
    assert_int_equal(baseline_record(f->s, &cfg, &b.run, NULL, &bi, &l, fe, sizeof fe, err,
                                     sizeof err),
                     0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].first_seen, a.run.timestamp); /* kept since the first check */
    violation_list_free(&l);
    /* Repair the PLAYER mismatch; a new COACH mismatch for user 0. */
    set_license(f->s, f->u[5], "PLAYER", 4);
    tu_pair(f->s, f->u[0], "COACH", 3, 1);
    time_set_test_clock(t0 + 600 * S);
    assert_int_equal(check_execute(f->s, &o, &c, err, sizeof err), 0);
    assert_int_equal(c.run.inconsistent, 3);

    assert_int_equal(baseline_violations_at(f->s, b.run.timestamp, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].user_id, f->u[5]); /* resolved since, still listed */
    assert_int_equal(l.items[1].user_id, f->u[6]);
    assert_int_equal(l.items[2].user_id, f->u[7]);
    violation_list_free(&l);
    /* As of the latest check: the new one instead of the repaired one. */
    assert_int_equal(baseline_violations_at(f->s, c.run.timestamp, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].user_id, f->u[0]);
    violation_list_free(&l);
    time_set_test_clock(0);
}

/* A healthy baseline: 🟢 in the README and no KNOWN_VIOLATIONS.md (an old
 * one would list violations this baseline does not have). */
static void healthy_baseline_removes_the_old_list(void **state)
{
    struct fixture *f = *state;
    struct baseline_info bi;
    char fe[400], err[400];
    assert_int_equal(baseline_create(f->s, &f->cfg, NULL, &bi, NULL, fe, sizeof fe, err,
                                     sizeof err),
                     0);
    char path[1024];
    snprintf(path, sizeof path, "%s/logs/baselines/KNOWN_VIOLATIONS.md", f->dir);
    assert_int_equal(access(path, F_OK), 0);
    set_license(f->s, f->u[5], "PLAYER", 4);
    set_license(f->s, f->u[6], "COACH", 2);
    tu_pair(f->s, f->u[7], "INTERNSHIP", 0, 1);
    time_set_test_clock(time_now_us() + 2 * S); /* another second: another file name */
    assert_int_equal(baseline_create(f->s, &f->cfg, NULL, &bi, NULL, fe, sizeof fe, err,
                                     sizeof err),
                     0);
    time_set_test_clock(0);
    assert_string_equal(fe, "");
    assert_int_equal(bi.check.inconsistent, 0);
    assert_int_equal(access(path, F_OK), -1);
    char *text = read_text(f->dir, "logs/baselines/BASELINE_README.md");
    assert_non_null(text);
    assert_non_null(strstr(text, "## Status now: 🟢 HEALTHY"));
    assert_null(strstr(text, "KNOWN_VIOLATIONS.md`)"));
    free(text);
    /* Both reports are kept, one file each. */
    int n = 0;
    struct baseline_info first;
    assert_int_equal(baseline_load(f->s, bi.baseline.id - 1, &first, err, sizeof err), 0);
    n += first.baseline.file[0] != '\0';
    n += bi.baseline.file[0] != '\0';
    assert_int_equal(n, 2);
    assert_string_not_equal(first.baseline.file, bi.baseline.file);
}

/* A baselines directory that cannot be created (a file is in its place):
 * the baseline is still recorded, the cause reported. */
static void unwritable_log_dir_still_records(void **state)
{
    struct fixture *f = *state;
    char logs[1024];
    snprintf(logs, sizeof logs, "%s/logs", f->dir);
    assert_int_equal(fs_mkdir_p(logs, 0755), 0);
    assert_int_equal(tu_sh("echo x > '%s/baselines'", logs), 0);
    struct baseline_info bi;
    char fe[400], err[400];
    int rc = baseline_create(f->s, &f->cfg, NULL, &bi, NULL, fe, sizeof fe, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_true(bi.baseline.id > 0);
    assert_string_not_equal(fe, "");
    struct baseline_info again;
    assert_int_equal(baseline_load(f->s, bi.baseline.id, &again, err, sizeof err), 0);
    assert_string_equal(again.baseline.file, "");
}

/* `lockstep baseline create|list|show`. */
static void cli_verb(void **state)
{
    struct fixture *f = *state;
    char *out;
    const char *db = tu_url(f->dir);
    int rc = tu_cmd(&out, "'%s' --data-dir '%s' --db '%s' baseline create --note cli 2>&1",
                    tu_bin(), f->dir, db);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Baseline #1"));
    assert_non_null(strstr(out, "Consistency: 62.50% (5/8 consistent, 3 violations)"));
    assert_non_null(strstr(out, "KNOWN_VIOLATIONS.md"));
    rc = tu_cmd(&out, "'%s' --data-dir '%s' --db '%s' baseline list 2>&1", tu_bin(), f->dir, db);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "62.50%"));
    rc = tu_cmd(&out, "'%s' --data-dir '%s' --db '%s' baseline show --json 2>&1", tu_bin(),
                f->dir, db);
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "note")), "cli");
    assert_int_equal(json_array_size(json_object_get(j, "violations")), 3);
    json_decref(j);
    rc = tu_cmd(&out, "'%s' --data-dir '%s' --db '%s' baseline show 7 2>&1", tu_bin(), f->dir,
                db);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "no baseline #7"));
    rc = tu_cmd(&out, "'%s' --data-dir '%s' --db '%s' baseline frobnicate 2>&1", tu_bin(),
                f->dir, db);
    assert_int_equal(rc, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_writes_the_files, setup, teardown),
        cmocka_unit_test_setup_teardown(violations_as_of_the_baseline_check, setup, teardown),
        cmocka_unit_test_setup_teardown(healthy_baseline_removes_the_old_list, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_log_dir_still_records, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_verb, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_trend.c — the trend: statistics with known answers, every verdict,
 * and a day of checks recorded through the real check with a test clock
 * (against a baseline), its text file and its SVG chart. */
#include "service/baseline.h"
#include "service/check.h"
#include "service/errors.h"
#include "service/trend.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S USEC_PER_SEC
#define H (3600 * S)

static void assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.6f, want %.6f (±%g)", got, want, tol);
}

/* n hourly points starting at t0 with the given rates. */
static void fill(struct trend_point *p, const double *rates, size_t n)
{
    int64_t t0 = 1700000000 * S;
    for (size_t i = 0; i < n; i++) {
        p[i].timestamp = t0 + (int64_t)i * H;
        p[i].rate = rates[i];
    }
}

/* A rate rising 0.1 point an hour: average, extremes, population standard
 * deviation and the least-squares slope have closed forms. */
static void statistics_known_answers(void **state)
{
    (void)state;
    double rates[12];
    for (int i = 0; i < 12; i++)
        rates[i] = 98.0 + 0.1 * i;
    struct trend_point p[12];
    fill(p, rates, 12);
    struct trend t;
    trend_compute(p, 12, true, 98.5, &t);
    assert_int_equal(t.count, 12);
    assert_near(t.average, 98.55, 1e-9);
    assert_near(t.min, 98.0, 1e-9);
    assert_near(t.max, 99.1, 1e-9);
    assert_near(t.first, 98.0, 1e-9);
    assert_near(t.last, 99.1, 1e-9);
    assert_int_equal(t.min_at, p[0].timestamp);
    assert_int_equal(t.max_at, p[11].timestamp);
    /* Population sd of 0, 0.1, …, 1.1: 0.1 × sqrt((n² − 1) / 12). */
    assert_near(t.stddev, 0.1 * sqrt(143.0 / 12.0), 1e-9);
    assert_near(t.slope_per_hour, 0.1, 1e-9);
    assert_near(t.reference, 98.5, 1e-12);
    assert_int_equal(t.verdict, TREND_STABLE);
    assert_string_equal(trend_verdict_name(t.verdict), "stable");

    /* Without a baseline the reference is the window average. */
    trend_compute(p, 12, false, 0, &t);
    assert_near(t.reference, 98.55, 1e-9);
    assert_int_equal(t.verdict, TREND_STABLE);
    assert_non_null(strstr(t.explanation, "window average"));

    /* A flat series: no spread, no slope. */
    double flat[3] = {99.5, 99.5, 99.5};
    fill(p, flat, 3);
    trend_compute(p, 3, false, 0, &t);
    assert_near(t.stddev, 0, 1e-12);
    assert_near(t.slope_per_hour, 0, 1e-12);
}

static void fewer_than_twelve_checks_is_insufficient(void **state)
{
    (void)state;
    double rates[11];
    for (int i = 0; i < 11; i++)
        rates[i] = 100.0;
    struct trend_point p[12];
    fill(p, rates, 11);
    struct trend t;
    trend_compute(p, 11, true, 100.0, &t);
    assert_int_equal(t.verdict, TREND_INSUFFICIENT_DATA);
    assert_string_equal(trend_verdict_name(t.verdict), "insufficient_data");
    assert_non_null(strstr(t.explanation, "only 11"));
    assert_near(t.average, 100.0, 1e-12); /* the numbers are still there */
    trend_compute(p, 0, false, 0, &t);
    assert_int_equal(t.verdict, TREND_INSUFFICIENT_DATA);
    assert_int_equal(t.count, 0);
    /* Twelve are enough. */
    rates[0] = 100.0;
    double twelve[12] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100};
    fill(p, twelve, 12);
    trend_compute(p, 12, true, 100.0, &t);
    assert_int_equal(t.verdict, TREND_STABLE);
}

static enum trend_verdict verdict_of(const double *rates, size_t n, bool has_baseline,
                                     double baseline)
{
    struct trend_point p[64];
    fill(p, rates, n);
    struct trend t;
    trend_compute(p, n, has_baseline, baseline, &t);
    return t.verdict;
}

static void each_verdict(void **state)
{
    (void)state;
    /* Within ±2 of the baseline, edges included: stable. */
    double edge[12] = {99, 97, 101, 99, 99, 99, 99, 99, 99, 99, 99, 99};
    assert_int_equal(verdict_of(edge, 12, true, 99.0), TREND_STABLE);
    /* The last rate more than 2 points below the baseline: degrading. */
    double drop[12] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 99, 98.5, 97.9};
    assert_int_equal(verdict_of(drop, 12, true, 100.0), TREND_DEGRADING);
    /* A fall below the band, back within it but still sliding: degrading. */
    double sliding[12] = {100, 100, 100, 100, 100, 100, 100, 97, 98.5, 98.4, 98.3, 98.2};
    assert_int_equal(verdict_of(sliding, 12, true, 100.0), TREND_DEGRADING);
    /* The same fall recovered: improving. */
    double recovered[12] = {97, 97.5, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100};
    assert_int_equal(verdict_of(recovered, 12, true, 100.0), TREND_IMPROVING);
    /* Rising above the band of a degraded baseline: improving. */
    double rising[12] = {95, 95, 96, 96, 97, 97, 98, 98, 99, 99, 100, 100};
    assert_int_equal(verdict_of(rising, 12, true, 95.0), TREND_IMPROVING);
    /* No baseline: a steady rate is stable around its own average… */
    double steady[12] = {98, 98.5, 98, 98.5, 98, 98.5, 98, 98.5, 98, 98.5, 98, 98.5};
    assert_int_equal(verdict_of(steady, 12, false, 0), TREND_STABLE);
    /* …and a collapse at the end is degrading against it. */
    double collapse[12] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 80};
    assert_int_equal(verdict_of(collapse, 12, false, 0), TREND_DEGRADING);
}

static void window_labels_and_parsing(void **state)
{
    (void)state;
    char l[32];
    trend_window_label(86400, l, sizeof l);
    assert_string_equal(l, "24h");
    trend_window_label(72 * 3600, l, sizeof l);
    assert_string_equal(l, "72h");
    trend_window_label(90 * 60, l, sizeof l);
    assert_string_equal(l, "90m");
    trend_window_label(45, l, sizeof l);
    assert_string_equal(l, "45s");
    assert_int_equal(trend_parse_window("24h"), 86400);
    assert_int_equal(trend_parse_window("7d"), 7 * 86400);
    assert_int_equal(trend_parse_window("0"), -1);
    assert_int_equal(trend_parse_window("banana"), -1);
    assert_int_equal(trend_parse_window("400d"), -1);
    assert_int_equal(trend_parse_window(NULL), -1);
}

/* ---- through the store ----------------------------------------------------------- */

#define USERS 50 /* one violation costs exactly 2 points */

static void set_license(struct store *s, int64_t user, int level)
{
    struct license l;
    assert_int_equal(s->ops->license_get(s, user, "PLAYER", false, &l), 0);
    l.current_level = level;
    assert_int_equal(s->ops->license_update(s, &l), 0);
}

static struct check_outcome check_at(struct store *s, const char *dir, int64_t at)
{
    struct check_options o = {.trigger = "scheduled", .direction = "progress_to_license",
                              .healthy_threshold = 99.0, .degraded_threshold = 95.0,
                              .data_dir = dir};
    struct check_outcome out;
    char err[300];
    time_set_test_clock(at);
    int rc = check_execute(s, &o, &out, err, sizeof err);
    if (rc)
        fail_msg("check failed: %s", err);
    return out;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* A day at 5 minutes: 100% for 12 hours (the baseline taken at hour 6),
 * then one pair drifts (98%) for the rest. The statistics follow, the verdict
 * stays stable (within 2 points); a second drift makes it degrading. */
static void day_of_checks_through_the_store(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("trend-day", dir);
    int64_t u[USERS];
    for (int i = 0; i < USERS; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "t%d", i);
        u[i] = tu_user(s, tag, NULL);
        tu_pair(s, u[i], "PLAYER", 3, 3);
    }
    int64_t t0 = (time_now_us() / S - 2 * 86400) * S; /* whole seconds, two days ago */
    struct check_outcome base = {0};
    for (int i = 0; i < 288; i++) {
        if (i == 144)
            set_license(s, u[7], 2);
        struct check_outcome o = check_at(s, NULL, t0 + (int64_t)i * 300 * S);
        if (i == 72)
            base = o;
    }
    struct config cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    struct baseline_info bi;
    char fe[300], err[300];
    assert_int_equal(baseline_record(s, &cfg, &base.run, "hour six", &bi, NULL, fe, sizeof fe,
                                     err, sizeof err),
                     0);

    int64_t until = t0 + 288 * 300 * S;
    struct trend_result r;
    assert_int_equal(trend_analyze(s, until, 86400, 0, &r, err, sizeof err), 0);
    assert_true(r.has_baseline);
    assert_int_equal(r.baseline.id, bi.baseline.id);
    assert_int_equal(r.trend.count, 288);
    assert_near(r.trend.average, 99.0, 1e-9); /* half at 100, half at 98 */
    assert_near(r.trend.min, 98.0, 1e-9);
    assert_near(r.trend.max, 100.0, 1e-9);
    assert_near(r.trend.first, 100.0, 1e-9);
    assert_near(r.trend.last, 98.0, 1e-9);
    assert_near(r.trend.stddev, 1.0, 1e-9);
    assert_true(r.trend.slope_per_hour < 0);
    assert_int_equal(r.trend.first_at, t0);
    assert_int_equal(r.trend.last_at, t0 + 287 * 300 * S);
    assert_int_equal(r.trend.verdict, TREND_STABLE);
    assert_int_equal(r.series.points[0].timestamp, t0); /* oldest first */

    /* The text file: one line per check, then the summary. */
    char rel[256], path[1024];
    assert_int_equal(trend_write_file(dir, &r, rel, sizeof rel, err, sizeof err), 0);
    char day[9];
    time_format_day(until, day);
    char want[128];
    snprintf(want, sizeof want, "logs/reports/consistency_trend_24h_%s.txt", day);
    assert_string_equal(rel, want);
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_file(path, 1 << 20, &text, &len), 0);
    char iso[TIME_ISO_LEN], first_line[64];
    time_format_iso(t0, iso);
    snprintf(first_line, sizeof first_line, "%s 100.00\n", iso);
    assert_memory_equal(text, first_line, strlen(first_line));
    assert_non_null(strstr(text, "\nVerdict: stable"));
    assert_non_null(strstr(text, "Checks: 288\n"));
    assert_non_null(strstr(text, "Average: 99.00%\n"));
    assert_true(count_lines(text) > 288 + 9);
    free(text);

    /* The chart: a standalone SVG with the thresholds and the baseline. */
    char *svg = NULL;
    size_t svg_len = 0;
    FILE *fp = open_memstream(&svg, &svg_len);
    assert_int_equal(trend_write_svg(fp, &r, 99.0, 95.0), 0);
    fclose(fp);
    assert_memory_equal(svg, "<?xml", 5);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "<polyline"));
    assert_non_null(strstr(svg, "healthy 99.00%"));
    assert_non_null(strstr(svg, "degraded 95.00%"));
    assert_non_null(strstr(svg, "baseline #"));
    assert_non_null(strstr(svg, "stroke-dasharray"));
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);

    /* JSON: the numbers and the points (oldest first). */
    json_t *j = trend_json(&r, true);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 288);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "stable");
    assert_string_equal(json_string_value(json_object_get(j, "reference")), "baseline");
    assert_int_equal(json_array_size(json_object_get(j, "points")), 288);
    json_decref(j);
    trend_result_free(&r);

    /* Two more pairs drift: 94% at the end, more than 2 points below. */
    set_license(s, u[8], 2);
    set_license(s, u[9], 2);
    for (int i = 288; i < 300; i++)
        check_at(s, NULL, t0 + (int64_t)i * 300 * S);
    until = t0 + 300 * 300 * S;
    assert_int_equal(trend_analyze(s, until, 86400, 0, &r, err, sizeof err), 0);
    assert_int_equal(r.trend.verdict, TREND_DEGRADING);
    assert_near(r.trend.last, 94.0, 1e-9);
    trend_result_free(&r);

    /* A named baseline that does not exist. */
    assert_int_equal(trend_analyze(s, until, 86400, 999, &r, err, sizeof err), LS_ERR_NOT_FOUND);
    trend_result_free(&r);
    /* Without a baseline (-1) the reference is the window average. */
    assert_int_equal(trend_analyze(s, until, 3600, -1, &r, err, sizeof err), 0);
    assert_false(r.has_baseline);
    assert_int_equal(r.trend.count, 12);
    trend_result_free(&r);
    time_set_test_clock(0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statistics_known_answers),
        cmocka_unit_test(fewer_than_twelve_checks_is_insufficient),
        cmocka_unit_test(each_verdict),
        cmocka_unit_test(window_labels_and_parsing),
        cmocka_unit_test(day_of_checks_through_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

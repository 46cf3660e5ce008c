/* test_metrics.c — the //metrics registry: requests land in the right
 * histogram bucket under a bounded route and method, check durations from
 * 0.5 ms to 10 min, the store's facts as gauges, the deprecated names only
 * with metrics_deprecated, and the process_* series from /proc. */
#include "config/config.h"
#include "service/metrics.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/proc_stats.h"
#include "util/timeutil.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const routes[] = {"/api/v1/users/{id}", "/healthz"};

/* Sample prefixes of the request counter and of the users route's histogram. */
#define REQ(method, route, code)                                                              \
    "lockstep_http_requests_total{method=\"" method "\",route=\"" route "\",code=\"" code "\"} "
#define USERS "method=\"GET\",route=\"/api/v1/users/{id}\""
#define DURATION "lockstep_http_request_duration_seconds"

/* The page of `m` over the store `s` (NULL: none). */
static char *render(struct metrics *m, const struct config *cfg, struct store *s)
{
    struct buf b = BUF_INIT(0);
    metrics_render(m, cfg, s, &b);
    return buf_detach(&b);
}

/* The value of the sample line that starts with `prefix` ("name{labels} "),
 * or -1 when there is none. */
static double sample(const char *page, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = page; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, n))
            return strtod(p + n, NULL);
    return -1;
}

static void http_requests_by_bucket_route_and_method(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(routes, 2);
    struct config cfg;
    config_defaults(&cfg);
    metrics_http(m, 0, "GET", 200, 100);     /* exactly 100 us: le 0.0001 */
    metrics_http(m, 0, "GET", 200, 101);     /* le 0.00025 */
    metrics_http(m, 0, "GET", 404, 20000000); /* beyond 10 s: +Inf only */
    metrics_http(m, 0, "BREW", 200, 5);
    metrics_http(m, METRICS_ROUTE_OTHER, "GET", 404, 5);
    metrics_http(m, 99, "GET", 404, 5);      /* out of range: other too */
    metrics_http(m, METRICS_ROUTE_DASHBOARD, "HEAD", 200, 5);
    metrics_http(m, 1, "GET", 299, 5);       /* an unlisted code */
    char *page = render(m, &cfg, NULL);
    const char *u = DURATION "_bucket{" USERS ",le=";
    char k[256];
    snprintf(k, sizeof k, "%s\"0.0001\"} ", u);
    assert_int_equal(sample(page, k), 1);
    snprintf(k, sizeof k, "%s\"0.00025\"} ", u);
    assert_int_equal(sample(page, k), 2);
    snprintf(k, sizeof k, "%s\"10\"} ", u);
    assert_int_equal(sample(page, k), 2);
    snprintf(k, sizeof k, "%s\"+Inf\"} ", u);
    assert_int_equal(sample(page, k), 3);
    assert_int_equal(sample(page, DURATION "_count{" USERS "} "), 3);
    assert_true(sample(page, DURATION "_sum{" USERS "} ") > 20.0);
    assert_int_equal(sample(page, REQ("GET", "/api/v1/users/{id}", "200")), 2);
    assert_int_equal(sample(page, REQ("GET", "/api/v1/users/{id}", "404")), 1);
    assert_int_equal(sample(page, REQ("other", "/api/v1/users/{id}", "200")), 1);
    assert_int_equal(sample(page, REQ("GET", "other", "404")), 2);
    assert_int_equal(sample(page, REQ("HEAD", "dashboard", "200")), 1);
    assert_int_equal(sample(page, REQ("GET", "/healthz", "other")), 1);
    /* Nothing counted, nothing shown. */
    assert_null(strstr(page, "method=\"POST\""));
    /* Without a store: lockstep_up 0 and no data gauges, the rest is there. */
    assert_int_equal(sample(page, "lockstep_up "), 0);
    assert_null(strstr(page, "lockstep_consistency_ratio"));
    assert_int_equal(sample(page, "lockstep_build_info{version=\"" LOCKSTEP_VERSION "\"} "), 1);
    free(page);
    metrics_free(m);
}

static void check_durations_from_half_a_millisecond_to_ten_minutes(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(routes, 2);
    struct config cfg;
    config_defaults(&cfg);
    metrics_check(m, "scheduled", "healthy", 0.0004);
    metrics_check(m, "scheduled", "healthy", 0.0005);
    metrics_check(m, "manual", "critical", 0.0006);
    metrics_check(m, "manual", "critical", 700);
    char *page = render(m, &cfg, NULL);
    assert_int_equal(sample(page, "lockstep_check_duration_seconds_bucket{le=\"0.0005\"} "),
                     2);
    assert_int_equal(sample(page, "lockstep_check_duration_seconds_bucket{le=\"0.001\"} "), 3);
    assert_int_equal(sample(page, "lockstep_check_duration_seconds_bucket{le=\"600\"} "), 3);
    assert_int_equal(sample(page, "lockstep_check_duration_seconds_bucket{le=\"+Inf\"} "), 4);
    assert_int_equal(sample(page, "lockstep_check_duration_seconds_count "), 4);
    assert_int_equal(
        sample(page, "lockstep_checks_total{trigger=\"scheduled\",status=\"healthy\"} "), 2);
    assert_int_equal(
        sample(page, "lockstep_checks_total{trigger=\"manual\",status=\"critical\"} "), 2);
    free(page);
    metrics_free(m);
}

static void store_facts_and_deprecated_names(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("metrics-facts", dir);
    struct config cfg;
    config_defaults(&cfg);
    struct metrics *m = metrics_new(routes, 2);
    metrics_job(m, "coupling_health_check", "success");
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "INSERT INTO check_runs(timestamp, total_checked, consistent, "
                            "inconsistent, consistency_rate, status, trigger, duration_ms) "
                            "VALUES ('2026-11-30T10:00:00Z', 200, 180, 20, 90.0, 'critical', "
                            "'scheduled', 1500.0)"),
                     0);
    char *page = render(m, &cfg, s);
    assert_int_equal(sample(page, "lockstep_up "), 1);
    assert_true(sample(page, "lockstep_consistency_ratio ") == 0.9);
    assert_int_equal(sample(page, "lockstep_pairs "), 200);
    assert_int_equal(sample(page, "lockstep_inconsistent_pairs "), 20);
    assert_true(sample(page, "lockstep_last_check_duration_seconds ") == 1.5);
    assert_int_equal(sample(page, "lockstep_health_status{status=\"critical\"} "), 1);
    assert_int_equal(
        sample(page, "lockstep_job_interval_seconds{job_id=\"coupling_health_check\"} "), 300);
    assert_int_equal(
        sample(page, "lockstep_job_last_run_failed{job_id=\"progress_license_sync\"} "), 0);
    assert_int_equal(sample(page, "lockstep_job_runs_total{job_id=\"coupling_health_check\","
                                  "status=\"success\"} "),
                     1);
    assert_null(strstr(page, "job=\""));
    assert_null(strstr(page, "lockstep_baseline_consistency_ratio "));
    assert_null(strstr(page, "lockstep_replica_lag_seconds")); /* no replica was asked */
    /* The old names, marked deprecated, by default. */
    assert_true(sample(page, "lockstep_consistency_rate ") == 90.0);
    assert_int_equal(sample(page, "lockstep_pairs_total "), 200);
    assert_non_null(strstr(page, "# HELP lockstep_pairs_total Deprecated: use lockstep_pairs."));
    assert_non_null(strstr(page, "# TYPE lockstep_pairs_total untyped\n"));
    assert_non_null(strstr(page, "# HELP lockstep_consistency_rate Deprecated: use "
                                 "lockstep_consistency_ratio"));
    assert_non_null(strstr(page, "# HELP lockstep_process_start_time_seconds Deprecated: use "
                                 "process_start_time_seconds."));
    free(page);
    cfg.metrics_deprecated = false;
    page = render(m, &cfg, s);
    assert_null(strstr(page, "Deprecated"));
    assert_null(strstr(page, "lockstep_pairs_total"));
    assert_null(strstr(page, "lockstep_consistency_rate"));
    assert_null(strstr(page, "lockstep_process_start_time_seconds"));
    assert_int_equal(sample(page, "lockstep_pairs "), 200);
    free(page);
    /* A check that asked a replica: its lag, whichever source it read. */
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "INSERT INTO check_runs(timestamp, total_checked, consistent, "
                            "inconsistent, consistency_rate, status, trigger, duration_ms, "
                            "source, replica_lag_seconds, replica_fallback) VALUES "
                            "('2026-11-30T10:05:00Z', 200, 180, 20, 90.0, 'critical', "
                            "'scheduled', 1500.0, 'replica', 0.25, '')"),
                     0);
    page = render(m, &cfg, s);
    assert_true(sample(page, "lockstep_replica_lag_seconds ") == 0.25);
    assert_non_null(strstr(page, "# TYPE lockstep_replica_lag_seconds gauge\n"));
    free(page);
    metrics_free(m);
    store_close(s);
}

static void reset_forgets_every_count(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(routes, 2);
    struct config cfg;
    config_defaults(&cfg);
    char *fresh = render(m, &cfg, NULL);
    metrics_http(m, 0, "GET", 200, 100);
    metrics_http(m, METRICS_ROUTE_OTHER, "BREW", 299, 5);
    metrics_check(m, "manual", "critical", 0.2);
    metrics_job(m, "coupling_health_check", "failed");
    metrics_set_leader(m, true);
    metrics_http_handlers(m, METRICS_LANE_STORE, 4, 2, 1);
    metrics_file_failure(m);
    metrics_reset(m);
    char *page = render(m, &cfg, NULL);
    /* The page of a registry that never counted (process_* figures aside). */
    char *cut_fresh = strstr(fresh, "# HELP process_"), *cut_page = strstr(page, "# HELP process_");
    assert_non_null(cut_fresh);
    assert_non_null(cut_page);
    *cut_fresh = *cut_page = '\0';
    assert_string_equal(page, fresh);
    assert_int_equal(sample(page, REQ("GET", "/api/v1/users/{id}", "200")), -1);
    /* Counting goes on from zero. */
    metrics_http(m, 0, "GET", 200, 100);
    free(page);
    page = render(m, &cfg, NULL);
    assert_int_equal(sample(page, REQ("GET", "/api/v1/users/{id}", "200")), 1);
    assert_int_equal(sample(page, DURATION "_count{" USERS "} "), 1);
    free(page);
    free(fresh);
    metrics_free(m);
}

static void process_figures_from_proc(void **state)
{
    (void)state;
    struct proc_stats a, b;
    assert_int_equal(proc_stats_read(&a), 0);
    assert_true(a.resident_bytes > 0 && a.virtual_bytes >= a.resident_bytes);
    assert_true(a.max_fds > 0);
    double now = (double)time_now_us() / 1e6;
    assert_true(a.start_time_seconds <= now + 1 && a.start_time_seconds > now - 3600);
    int fds[3];
    for (int i = 0; i < 3; i++)
        assert_true((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
    assert_int_equal(proc_stats_read(&b), 0);
    assert_int_equal(b.open_fds, a.open_fds + 3);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    volatile double x = 0;
    for (long i = 0; i < 50000000; i++)
        x += (double)i;
    assert_int_equal(proc_stats_read(&b), 0);
    assert_true(b.cpu_seconds > a.cpu_seconds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_requests_by_bucket_route_and_method),
        cmocka_unit_test(check_durations_from_half_a_millisecond_to_ten_minutes),
        cmocka_unit_test(store_facts_and_deprecated_names),
        cmocka_unit_test(reset_forgets_every_count),
        cmocka_unit_test(process_figures_from_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

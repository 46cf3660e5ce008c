/* api_stabilization.c — baselines, the trend and the stabilization report
 * (admin): GET/POST /health/baselines, GET /health/baselines/{id},
 * GET /health/trend, GET /health/stabilization-report. GETs only read; the
 * CLI verbs are the ones that write the report files. */
#include "http/handlers.h"
#include "http/request.h"

#include "service/alerts.h"
#include "service/baseline.h"
#include "service/errors.h"
#include "service/monitor.h"
#include "service/stabilization.h"
#include "service/trend.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ?window= in seconds (default `def`); -1 after answering 422. */
static int64_t query_window(struct http_req *r, const char *def)
{
    const char *w = http_query(r, "window");
    int64_t secs = trend_parse_window(w ? w : def);
    if (secs < 0)
        http_error(r, 422, "window must be a duration such as 24h, 72h or 7d (at most 366d)");
    return secs;
}

/* ?baseline= as an id (0: the latest); -1 after answering 422. */
static int64_t query_baseline(struct http_req *r)
{
    long long id = 0;
    if (http_query_int(r, "baseline", 0, 1, INT64_MAX, &id) != 0)
        return -1;
    return (int64_t)id;
}

void h_baselines_list(struct http_req *r)
{
    json_t *arr;
    char err[300];
    int rc = baseline_list_json(http_store(r), &arr, err, sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    http_json(r, 200, arr);
}

void h_baseline_get(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) != 0)
        return;
    struct store *s = http_store(r);
    struct baseline_info bi;
    char err[300];
    int rc = baseline_load(s, id, &bi, err, sizeof err);
    if (rc == LS_ERR_NOT_FOUND) {
        http_error(r, 404, "Baseline %lld not found", (long long)id);
        return;
    }
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    struct violation_list l;
    if ((rc = baseline_violations_at(s, bi.check.timestamp, &l)) != 0) {
        violation_list_free(&l);
        http_store_error(r, rc);
        return;
    }
    json_t *o = baseline_json(&bi, &l);
    violation_list_free(&l);
    if (!o) {
        http_service_error(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    http_json(r, 200, o);
}

void h_baseline_create(struct http_req *r)
{
    const char *note = NULL;
    if (http_body_string(r, "note", false, 255, &note) < 0)
        return;
    /* Through the monitor: never at the same time as another check. */
    struct monitor_check c = {.dry_run = false, .trigger = "manual", .wait = true};
    struct monitor_result res;
    char err[400], file_error[400];
    struct store *s = http_store(r);
    int rc = monitor_run_check(r->app->monitor, s, &c, &res, err, sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    free(res.report);
    if (res.outcome.file_error[0])
        log_msg(LOG_ERROR, "health", "check #%lld recorded, but its report file was not "
                "written: %s", (long long)res.outcome.run.id, res.outcome.file_error);
    struct baseline_info bi;
    struct violation_list l;
    rc = baseline_record(s, &r->app->cfg, &res.outcome.run, note, &bi, &l, file_error,
                         sizeof file_error, err, sizeof err);
    alerts_kick(r->app->alerts); /* a recorded check, and perhaps a new baseline */
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    if (file_error[0])
        log_msg(LOG_ERROR, "health", "baseline #%lld recorded, but its files were not all "
                "written: %s", (long long)bi.baseline.id, file_error);
    json_t *o = baseline_json(&bi, &l);
    violation_list_free(&l);
    if (!o) {
        http_service_error(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    if (file_error[0])
        json_object_set_new(o, "file_error", json_string(file_error));
    http_json(r, 201, o);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)bi.baseline.id);
    json_t *d = json_object();
    json_object_set_new(d, "check_id", json_integer(bi.baseline.check_id));
    json_object_set_new(d, "consistency_rate", json_real(bi.check.consistency_rate));
    json_object_set_new(d, "inconsistent", json_integer(bi.check.inconsistent));
    http_audit(r, "BASELINE_CREATE", "baseline", id, d);
    json_decref(d);
}

void h_health_trend(struct http_req *r)
{
    int64_t secs = query_window(r, "24h");
    if (secs < 0)
        return;
    int64_t baseline = query_baseline(r);
    if (baseline < 0)
        return;
    bool points = true;
    if (http_query_bool(r, "points", true, &points) != 0)
        return;
    struct trend_result t;
    char err[300];
    int rc = trend_analyze(http_store(r), 0, secs, baseline, &t, err, sizeof err);
    if (rc == LS_ERR_NOT_FOUND) {
        trend_result_free(&t);
        http_error(r, 404, "Baseline %lld not found", (long long)baseline);
        return;
    }
    if (rc) {
        trend_result_free(&t);
        http_service_error(r, rc, err);
        return;
    }
    json_t *o = trend_json(&t, points);
    trend_result_free(&t);
    if (!o) {
        http_service_error(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    http_json(r, 200, o);
}

void h_health_stabilization_report(struct http_req *r)
{
    int64_t secs = query_window(r, "72h");
    if (secs < 0)
        return;
    int64_t baseline = query_baseline(r);
    if (baseline < 0)
        return;
    struct stab_report *rep = NULL;
    char err[300];
    int rc = stabilization_compile(http_store(r), &r->app->cfg, 0, secs, baseline, &rep, err,
                                   sizeof err);
    if (rc == LS_ERR_NOT_FOUND) {
        http_error(r, 404, "Baseline %lld not found", (long long)baseline);
        return;
    }
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    json_t *o = stabilization_json(rep);
    stabilization_free(rep);
    if (!o) {
        http_service_error(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    http_json(r, 200, o);
}

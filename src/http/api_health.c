/* api_health.c — the health endpoints (admin) and the infrastructure probes. */
#include "http/handlers.h"
#include "http/request.h"

#include "service/alerts.h"
#include "service/check_history.h"
#include "service/errors.h"
#include "service/job_history.h"
#include "service/metrics.h"
#include "service/monitor.h"
#include "service/readiness.h"
#include "service/report.h"
#include "service/scheduler.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h_health_status(struct http_req *r)
{
    size_t len = 0;
    char *text = monitor_status_cached(r->app->monitor, &len);
    /* Not in the cache: reading the store is a handler thread's job. */
    if (!text && http_defer(r))
        return;
    int rc = text ? 0 : monitor_status_json(r->app->monitor, http_store(r), &text, &len);
    if (rc) {
        http_service_error(r, rc, r->store ? store_errmsg(r->store) : "out of memory");
        return;
    }
    http_json_text(r, 200, text, len);
    free(text);
}

/* Minutes until the next scheduled check (rounded up). */
static long next_check_minutes(struct app *app)
{
    int64_t now = time_now_us();
    int64_t next = scheduler_next_run(app->scheduler, JOB_CHECK);
    if (!next)
        next = app->started_at + (int64_t)app->cfg.check_interval * USEC_PER_SEC;
    if (next <= now)
        return 0;
    return (long)((next - now + 60 * USEC_PER_SEC - 1) / (60 * USEC_PER_SEC));
}

/* Reference and truncated integrity-check files hold a summary and a few
 * keys: far below this. A larger file holds its whole violation list. */
#define REPORT_SMALL_FILE 65536

void h_health_latest_report(struct http_req *r)
{
    struct store *s = http_store(r);
    struct check_run c;
    int rc = check_history_latest(s, &c);
    if (rc == STORE_ERR_NOT_FOUND) {
        long n = next_check_minutes(r->app);
        http_error(r, 404, "No health reports available yet. The first check runs in %ld minute%s.",
                   n, n == 1 ? "" : "s");
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    /* The report exactly as logged. A reference file (its list unchanged
     * since an earlier file) or a truncated one is small: it is completed
     * from the file it names, or from the store. A large file holds its whole
     * list and is sent from disk as the client reads it. */
    if (c.report_file[0]) {
        char path[FS_PATH_MAX];
        struct stat st;
        if (fs_join(path, sizeof path, r->app->cfg.data_dir, c.report_file) == 0 &&
            stat(path, &st) == 0 && st.st_size > REPORT_SMALL_FILE) {
            if (http_file(r, 200, path, "application/json") == 0)
                return;
        } else {
            char *text = NULL;
            size_t len = 0;
            if (report_read_whole(r->app->cfg.data_dir, c.report_file, (size_t)512 << 20,
                                  &text, &len) == 0) {
                http_json_text(r, 200, text, len);
                free(text);
                return;
            }
        }
    }
    json_t *rep = report_from_store(s, &c);
    if (!rep) {
        http_service_error(r, LS_ERR_DATABASE, store_errmsg(s));
        return;
    }
    http_json(r, 200, rep);
}

static int add_violation(void *ctx, const struct violation *v)
{
    return json_array_append_new(ctx, report_violation_json(v));
}

/* One page of the open violations, newest first; X-Total-Count holds how
 * many there are. */
void h_health_violations(struct http_req *r)
{
    long long limit, offset;
    if (http_query_page(r, &limit, &offset))
        return;
    const char *spec = http_query(r, "specialization");
    if (spec && !*spec)
        spec = NULL;
    int64_t total = 0;
    json_t *arr = json_array();
    int rc = check_history_open_violations(http_store(r), spec, limit, offset, add_violation, arr,
                                           &total);
    if (rc) {
        json_decref(arr);
        http_store_error(r, rc);
        return;
    }
    http_total_header(r, total);
    http_json(r, 200, arr);
}

void h_health_metrics(struct http_req *r)
{
    struct store *s = http_store(r);
    json_t *o = monitor_metrics_json(r->app->monitor, s);
    json_t *t = o ? json_object() : NULL;
    if (!t) {
        json_decref(o);
        http_service_error(r, o ? LS_ERR_NOMEM : LS_ERR_DATABASE, o ? "out of memory" : store_errmsg(s));
        return;
    }
    /* The status bands of this server, so the dashboard draws what the
     * server decides (its statuses come from the same thresholds). */
    json_object_set_new(t, "healthy", json_real(r->app->cfg.healthy_threshold));
    json_object_set_new(t, "degraded", json_real(r->app->cfg.degraded_threshold));
    json_object_set_new(o, "thresholds", t);
    json_t *by_type = NULL;
    int rc = metrics_violations_by_type(r->app->metrics, s, &by_type);
    if (rc) {
        json_decref(o);
        http_store_error(r, rc);
        return;
    }
    json_object_set_new(o, "violations_by_type", by_type);
    http_json(r, 200, o);
}

void h_health_check_now(struct http_req *r)
{
    bool dry_run = false, full = false;
    if (http_query_bool(r, "dry_run", false, &dry_run) ||
        http_query_bool(r, "full", false, &full))
        return;
    struct monitor_check c = {.dry_run = dry_run, .trigger = "manual",
                              .wait = r->app->cfg.check_now_wait, .full = full};
    struct monitor_result res;
    char err[300];
    int rc = monitor_run_check(r->app->monitor, http_store(r), &c, &res, err, sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    if (res.outcome.file_error[0])
        log_msg(LOG_ERROR, "health", "check #%lld recorded, but its report file was not "
                "written: %s", (long long)res.outcome.run.id, res.outcome.file_error);
    http_json_text(r, 200, res.report, strlen(res.report));
    free(res.report);
    if (!dry_run)
        alerts_kick(r->app->alerts); /* the rules are evaluated after every check */
    if (!dry_run && !res.shared) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)res.outcome.run.id);
        json_t *d = json_object();
        json_object_set_new(d, "consistency_rate", json_real(res.outcome.run.consistency_rate));
        json_object_set_new(d, "status", json_string(res.outcome.run.status));
        http_audit(r, "CHECK_NOW", "check", id, d);
        json_decref(d);
    }
}

static int add_check(void *ctx, const struct check_run *c)
{
    return json_array_append_new(ctx, report_history_json(c));
}

/* A time query parameter: ISO 8601; 0 when absent; -1 after answering 422. */
static int query_time(struct http_req *r, const char *name, int64_t *out)
{
    const char *v = http_query(r, name);
    *out = 0;
    if (!v)
        return 0;
    if (time_parse_iso(v, out) != 0) {
        http_error(r, 422, "Query parameter %s must be an ISO 8601 time", name);
        return -1;
    }
    return 0;
}

void h_health_history(struct http_req *r)
{
    int64_t since, until;
    long long limit;
    if (query_time(r, "since", &since) || query_time(r, "until", &until) ||
        http_query_int(r, "limit", 100, 1, 10000, &limit))
        return;
    json_t *arr = json_array();
    int rc = check_history_list(http_store(r), since, until, limit, add_check, arr);
    if (rc) {
        json_decref(arr);
        http_store_error(r, rc);
        return;
    }
    http_json(r, 200, arr);
}

void h_healthz(struct http_req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    http_json_text(r, 200, ok, sizeof ok - 1);
}

/* Answered on the epoll thread from the readiness probe's last result and the
 * scheduler's state: it never waits for the store. */
void h_readyz(struct http_req *r)
{
    int version = 0;
    const char *check = "";
    char reason[400];
    bool ok = readiness_store_ok(r->app->readiness, &version, &check, reason, sizeof reason);
    if (ok && r->app->scheduler && !scheduler_healthy(r->app->scheduler, reason, sizeof reason)) {
        ok = false;
        check = "scheduler";
    }
    json_t *o = json_object();
    if (!ok) {
        json_object_set_new(o, "status", json_string("not_ready"));
        json_object_set_new(o, "check", json_string(check));
        json_object_set_new(o, "reason", json_string(reason));
        json_object_set_new(o, "detail", json_string(reason));
        http_header(r, "Retry-After", "5");
        http_json(r, 503, o);
        return;
    }
    json_object_set_new(o, "status", json_string("ready"));
    json_object_set_new(o, "schema_version", json_integer(version));
    json_object_set_new(o, "scheduler", json_string(r->app->scheduler ? "running" : "disabled"));
    http_json(r, 200, o);
}

/* One job as the store records it: the interval and grace are those its
 * scheduler started with (null when no start with settings is recorded). */
static json_t *job_json(struct http_req *r, const char *id, const char *name, int64_t since,
                        int64_t until, int *rc)
{
    struct store *s = http_store(r);
    struct job_window w;
    *rc = job_history_window(s, id, since, until, &w);
    if (*rc)
        return NULL;
    bool enabled = strcmp(id, JOB_SYNC) != 0 || scheduler_sync_enabled(&r->app->cfg);
    int64_t next = enabled ? scheduler_next_run(r->app->scheduler, id) : 0;
    if (!next && enabled)
        next = job_history_next_due(&w); /* another process runs it */
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "name", json_string(name));
    /* The auto-sync is not scheduled while repairs of an attached database are off. */
    json_object_set_new(o, "enabled", json_boolean(enabled));
    json_object_set_new(o, "disabled_reason", enabled ? json_null() : json_string(STORE_REPAIR_OFF));
    json_object_set_new(o, "interval_seconds", w.recorded ? json_integer(w.interval_s)
                                                          : json_null());
    json_object_set_new(o, "misfire_grace_seconds", w.recorded ? json_integer(w.grace_s)
                                                               : json_null());
    json_object_set_new(o, "settings_recorded_at", report_time_json(w.settings_at));
    json_object_set_new(o, "next_run", report_time_json(next));
    json_object_set_new(o, "last_run", report_time_json(w.last_run));
    json_object_set_new(o, "last_status", w.last_status[0] ? json_string(w.last_status) : json_null());
    json_object_set_new(o, "last_success", report_time_json(w.last_success));
    json_object_set_new(o, "runs_expected", w.recorded ? json_integer(w.expected) : json_null());
    json_object_set_new(o, "runs_ok", json_integer(w.ok));
    json_object_set_new(o, "runs_failed", json_integer(w.failed));
    json_object_set_new(o, "runs_missed", json_integer(w.missed));
    json_object_set_new(o, "runs_skipped", json_integer(w.skipped));
    json_object_set_new(o, "runs_interrupted", json_integer(w.interrupted));
    json_object_set_new(o, "running", json_boolean(w.running > 0));
    json_object_set_new(o, "success_rate", w.success_rate >= 0 ? json_real(w.success_rate)
                                                               : json_null());
    /* Which process runs the jobs: the latest scheduler start is the leader's. */
    char leader[64] = "";
    int64_t since_at = 0;
    if (job_history_leader(s, &since_at, leader) != 0)
        leader[0] = '\0';
    json_object_set_new(o, "leader", leader[0] ? json_string(leader) : json_null());
    json_object_set_new(o, "leader_since", report_time_json(since_at));
    json_object_set_new(o, "led_by_this_process",
                        json_boolean(scheduler_is_leader(r->app->scheduler)));
    return o;
}

void h_health_jobs(struct http_req *r)
{
    const char *window = http_query(r, "window");
    int64_t secs = window ? time_parse_duration(window) : 86400;
    if (secs <= 0) {
        http_error(r, 422, "window must be a duration such as 24h, 72h or 7d");
        return;
    }
    int64_t until = time_now_us(), since = until - secs * USEC_PER_SEC;
    int rc = 0;
    json_t *arr = json_array();
    json_t *a = job_json(r, JOB_CHECK, JOB_CHECK_NAME, since, until, &rc);
    json_t *b = a ? job_json(r, JOB_SYNC, JOB_SYNC_NAME, since, until, &rc) : NULL;
    if (!a || !b) {
        json_decref(a);
        json_decref(arr);
        http_store_error(r, rc ? rc : STORE_ERR);
        return;
    }
    json_array_append_new(arr, a);
    json_array_append_new(arr, b);
    http_json(r, 200, arr);
}

void h_prometheus(struct http_req *r)
{
    const char *token = r->app->cfg.metrics_token;
    if (token[0]) {
        const char *h = u_map_get_case(r->u->map_header, "Authorization");
        unsigned char want[32], got[32];
        /* Compare digests: constant time whatever the lengths. */
        crypto_generichash(want, sizeof want, (const unsigned char *)token, strlen(token),
                           NULL, 0);
        bool ok = h && !strncasecmp(h, "Bearer ", 7);
        if (ok) {
            crypto_generichash(got, sizeof got, (const unsigned char *)h + 7, strlen(h + 7),
                               NULL, 0);
            ok = sodium_memcmp(want, got, sizeof want) == 0;
        }
        if (!ok) {
            http_error(r, 401, "A valid metrics token is required");
            return;
        }
    }
    struct buf b = BUF_INIT(0);
    int rc = metrics_render(r->app->metrics, &r->app->cfg, http_store(r), &b);
    if (rc)
        log_msg(LOG_WARNING, "http", "metrics: the store did not answer: %s",
                store_errmsg(r->store));
    r->status = 200;
    http_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ulfius_set_binary_body_response(r->resp, 200, buf_str(&b), b.len);
    buf_free(&b);
}

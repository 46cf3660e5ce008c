/* metrics.c — Prometheus exposition of Lockstep's counters and gauges
 * (hand-written: the text format is simple and no maintained C client library
 * is packaged for Debian). */
#include "service/metrics.h"

#include "service/alerts.h"
#include "model/health.h"
#include "model/pair.h"
#include "service/job_history.h"
#include "service/watch.h"
#include "util/proc_stats.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int status_codes[] = {200, 201, 204, 304, 400, 401, 403, 404,
                                   405, 409, 413, 414, 422, 429, 500, 503};
#define N_CODES ((int)(sizeof status_codes / sizeof status_codes[0]))
#define OTHER_CODE N_CODES /* any other status */

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                      "OPTIONS", "other"};
#define N_METHODS ((int)(sizeof methods / sizeof methods[0]))

static const char *const triggers[] = {"scheduled", "manual"};
static const char *const statuses[] = {"healthy", "degraded", "critical"};
static const char *const jobs[] = {JOB_CHECK, JOB_SYNC};
static const char *const job_statuses[] = {"success", "failed", "missed", "skipped",
                                           "interrupted"};
/* Open violations are counted by every issue type of the coupling rule
 * (model/pair.h, pair_issue_type_at). */
#define N_ISSUES 6

/* Check durations: a 150-pair store checks in about 0.5 ms, a million pairs
 * take seconds, and check_slow cares about minutes. */
static const double check_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,  0.5,    1,     2.5,  5,     10,
                                       30,     60,    120,    300,   600};
#define N_CHECK_BUCKETS ((int)(sizeof check_buckets / sizeof check_buckets[0]))
/* Detection lag (watch.md): the target is 1 s at the 99th percentile. */
static const double lag_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                     0.75,  1,    2.5,   5,    10,  30,   60, 300};
#define N_LAG_BUCKETS ((int)(sizeof lag_buckets / sizeof lag_buckets[0]))
/* Request durations in microseconds: most answers take well under 1 ms. */
static const int64_t http_buckets_us[] = {100,    250,    500,     1000,    2500,   5000,
                                          10000,  25000,  50000,   100000,  250000, 500000,
                                          1000000, 2500000, 5000000, 10000000};
#define N_HTTP_BUCKETS ((int)(sizeof http_buckets_us / sizeof http_buckets_us[0]))

/* One (route, method): requests by status code, and the duration histogram
 * with its buckets stored non-cumulative (the last slot is beyond the largest
 * bound), cumulated when rendered, so one request costs three relaxed atomic
 * additions and no lock. The sum and the fast buckets come first: they share
 * one cache line, which the epoll threads pass between them. */
struct http_cell {
    atomic_ullong sum_us;
    atomic_ullong buckets[N_HTTP_BUCKETS + 1];
    atomic_ullong codes[N_CODES + 1];
};

struct metrics {
    const char *const *routes;
    int n_routes;
    struct http_cell *http; /* [(n_routes + 2) * N_METHODS]: the routes, dashboard, other */
    atomic_ullong checks[2][3];
    atomic_ullong jobs[2][5];
    atomic_ullong check_buckets[N_CHECK_BUCKETS + 1];
    _Atomic double check_sum;
    atomic_int leader;
    atomic_int handler_threads[METRICS_LANES], handlers_busy[METRICS_LANES],
        handler_queue[METRICS_LANES];
    atomic_ullong file_failures;
    atomic_ullong lag_buckets[N_LAG_BUCKETS + 1];
    _Atomic double lag_sum;
    atomic_ullong changes_applied;
    /* Open violations by issue type, counted once per recorded check. */
    pthread_mutex_t mu;
    int64_t counted_check;
    int64_t by_issue[N_ISSUES];
};

struct metrics *metrics_new(const char *const *routes, int n_routes)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->http = calloc((size_t)(n_routes + 2) * N_METHODS, sizeof *m->http);
    if (!m->http) {
        free(m);
        return NULL;
    }
    m->routes = routes;
    m->n_routes = n_routes;
    m->counted_check = -1;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m->http);
    free(m);
}

void metrics_reset(struct metrics *m)
{
    if (!m)
        return;
    int cells = (m->n_routes + 2) * N_METHODS;
    for (int i = 0; i < cells; i++) {
        struct http_cell *c = &m->http[i];
        atomic_store_explicit(&c->sum_us, 0, memory_order_relaxed);
        for (int k = 0; k <= N_HTTP_BUCKETS; k++)
            atomic_store_explicit(&c->buckets[k], 0, memory_order_relaxed);
        for (int k = 0; k <= N_CODES; k++)
            atomic_store_explicit(&c->codes[k], 0, memory_order_relaxed);
    }
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < 3; s++)
            atomic_store(&m->checks[t][s], 0);
    for (int j = 0; j < 2; j++)
        for (int s = 0; s < 5; s++)
            atomic_store(&m->jobs[j][s], 0);
    for (int b = 0; b <= N_CHECK_BUCKETS; b++)
        atomic_store(&m->check_buckets[b], 0);
    atomic_store(&m->check_sum, 0.0);
    atomic_store(&m->leader, 0);
    for (int l = 0; l < METRICS_LANES; l++) {
        atomic_store(&m->handler_threads[l], 0);
        atomic_store(&m->handlers_busy[l], 0);
        atomic_store(&m->handler_queue[l], 0);
    }
    atomic_store(&m->file_failures, 0);
    pthread_mutex_lock(&m->mu);
    m->counted_check = -1;
    memset(m->by_issue, 0, sizeof m->by_issue);
    pthread_mutex_unlock(&m->mu);
}

static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (name && !strcmp(names[i], name))
            return i;
    return -1;
}

static const char *route_name(const struct metrics *m, int r)
{
    return r < m->n_routes ? m->routes[r] : r == m->n_routes ? "dashboard" : "other";
}

void metrics_http(struct metrics *m, int route, const char *method, int status,
                  int64_t duration_us)
{
    if (!m)
        return;
    if (route == METRICS_ROUTE_DASHBOARD)
        route = m->n_routes;
    else if (route < 0 || route >= m->n_routes)
        route = m->n_routes + 1;
    int k = index_of(methods, N_METHODS - 1, method);
    struct http_cell *c = &m->http[route * N_METHODS + (k < 0 ? N_METHODS - 1 : k)];
    int code = OTHER_CODE;
    for (int i = 0; i < N_CODES; i++)
        if (status_codes[i] == status)
            code = i;
    if (duration_us < 0)
        duration_us = 0;
    int b = 0;
    while (b < N_HTTP_BUCKETS && duration_us > http_buckets_us[b])
        b++;
    atomic_fetch_add_explicit(&c->codes[code], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->sum_us, (unsigned long long)duration_us, memory_order_relaxed);
}

void metrics_check(struct metrics *m, const char *trigger, const char *status,
                   double duration_seconds)
{
    if (!m)
        return;
    int t = index_of(triggers, 2, trigger), s = index_of(statuses, 3, status);
    if (t >= 0 && s >= 0)
        atomic_fetch_add(&m->checks[t][s], 1);
    int b = 0;
    while (b < N_CHECK_BUCKETS && duration_seconds > check_buckets[b])
        b++;
    atomic_fetch_add(&m->check_buckets[b], 1);
    double old = atomic_load(&m->check_sum);
    while (!atomic_compare_exchange_weak(&m->check_sum, &old, old + duration_seconds))
        ;
}

void metrics_watch_batch(struct metrics *m, int64_t changes, const double *lags, size_t n)
{
    if (!m)
        return;
    atomic_fetch_add(&m->changes_applied, (unsigned long long)changes);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int b = 0;
        while (b < N_LAG_BUCKETS && lags[i] > lag_buckets[b])
            b++;
        atomic_fetch_add_explicit(&m->lag_buckets[b], 1, memory_order_relaxed);
        sum += lags[i];
    }
    double old = atomic_load(&m->lag_sum);
    while (!atomic_compare_exchange_weak(&m->lag_sum, &old, old + sum))
        ;
}

void metrics_job(struct metrics *m, const char *job, const char *status)
{
    if (!m)
        return;
    int j = index_of(jobs, 2, job), s = index_of(job_statuses, 5, status);
    if (j >= 0 && s >= 0)
        atomic_fetch_add(&m->jobs[j][s], 1);
}

void metrics_set_leader(struct metrics *m, bool leader)
{
    if (m)
        atomic_store(&m->leader, leader ? 1 : 0);
}

void metrics_http_handlers(struct metrics *m, int lane, int threads, int busy, int queued)
{
    if (!m || lane < 0 || lane >= METRICS_LANES)
        return;
    atomic_store(&m->handler_threads[lane], threads);
    atomic_store(&m->handlers_busy[lane], busy);
    atomic_store(&m->handler_queue[lane], queued);
}

void metrics_file_failure(struct metrics *m)
{
    if (m)
        atomic_fetch_add(&m->file_failures, 1);
}

/* ---- rendering -------------------------------------------------------------------- */

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Prometheus label values escape backslash, double quote and newline. */
static void label_value(struct buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, v, 1);
    }
}

static int count_issue(void *ctx, const struct violation *v)
{
    int64_t *by = ctx;
    for (size_t i = 0; i < N_ISSUES && pair_issue_type_at(i); i++)
        if (!strcmp(pair_issue_type_at(i), v->issue_type)) {
            by[i]++;
            break;
        }
    return 0;
}

static int count_firing(void *ctx, const struct alert *a)
{
    int64_t *firing = ctx;
    if (!strcmp(a->state, "firing"))
        firing[!strcmp(a->severity, "critical") ? 1 : 0]++;
    return 0;
}

/* Open violations by issue type of check `check_id`, counted once per check. */
static int violations_by_issue(struct metrics *m, struct store *s, int64_t check_id,
                               int64_t by_issue[N_ISSUES])
{
    pthread_mutex_lock(&m->mu);
    bool fresh = m->counted_check == check_id;
    memcpy(by_issue, m->by_issue, N_ISSUES * sizeof *by_issue);
    pthread_mutex_unlock(&m->mu);
    if (fresh)
        return 0;
    memset(by_issue, 0, N_ISSUES * sizeof *by_issue);
    int rc = s->ops->violations_open(s, NULL, count_issue, by_issue);
    if (rc)
        return rc;
    pthread_mutex_lock(&m->mu);
    m->counted_check = check_id;
    memcpy(m->by_issue, by_issue, N_ISSUES * sizeof *by_issue);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int metrics_violations_by_type(struct metrics *m, struct store *s, json_t **out)
{
    *out = NULL;
    struct check_run c;
    int rc = s->ops->check_latest(s, &c);
    json_t *o = json_object();
    if (!o)
        return store_fail(s, STORE_ERR_NOMEM, "out of memory");
    if (rc == STORE_ERR_NOT_FOUND) {
        *out = o;
        return 0;
    }
    int64_t by_issue[N_ISSUES];
    if (rc == 0)
        rc = violations_by_issue(m, s, c.id, by_issue);
    if (rc) {
        json_decref(o);
        return rc;
    }
    for (size_t i = 0; i < N_ISSUES && pair_issue_type_at(i); i++)
        json_object_set_new(o, pair_issue_type_at(i), json_integer(by_issue[i]));
    *out = o;
    return 0;
}

/* The facts of the store: the latest check, the baseline, the jobs (the same
 * facts Lockstep's own alert rules read, so the rules shipped for Prometheus
 * see what they see), the violations and the firing alerts. */
struct store_view {
    struct alerts_facts f;
    int64_t by_issue[N_ISSUES];
    int64_t firing[2]; /* warning, critical */
    bool has_watch;    /* the watcher runs: its state and pending changes */
    struct watch_state watch;
    int64_t pending;
};

static int read_store(struct metrics *m, const struct config *cfg, struct store *s,
                      struct store_view *v)
{
    if (!s)
        return STORE_ERR;
    int rc = alerts_gather(s, cfg, &v->f);
    if (rc == 0 && v->f.has_check)
        rc = violations_by_issue(m, s, v->f.check.id, v->by_issue);
    if (rc == 0)
        rc = s->ops->alert_list(s, true, 0, count_firing, v->firing);
    double oldest;
    v->has_watch = rc == 0 && watch_active(cfg, s);
    if (v->has_watch && (rc = s->ops->watch_state_get(s, &v->watch)) == 0)
        rc = s->ops->watch_pending(s, &v->pending, &oldest);
    return rc;
}

static void render_watch(struct buf *b, const struct store_view *v)
{
    if (!v->has_watch)
        return;
    head(b, "lockstep_watch_pending_changes", "gauge",
         "Change rows the watcher has not applied yet.");
    buf_printf(b, "lockstep_watch_pending_changes %lld\n", (long long)v->pending);
    head(b, "lockstep_watch_divergences_total", "counter",
         "Pairs full sweeps found the watcher's state wrong about (a correct watcher: 0).");
    buf_printf(b, "lockstep_watch_divergences_total %lld\n",
               (long long)v->watch.divergences_total);
    if (v->watch.last_full_at) {
        head(b, "lockstep_watch_last_full_sweep_timestamp_seconds", "gauge",
             "Unix time of the last recorded full sweep.");
        buf_printf(b, "lockstep_watch_last_full_sweep_timestamp_seconds %.6f\n",
                   (double)v->watch.last_full_at / 1e6);
    }
}

static void render_lag(struct buf *b, struct metrics *m)
{
    head(b, "lockstep_watch_changes_applied_total", "counter",
         "Change rows the watcher of this process applied.");
    buf_printf(b, "lockstep_watch_changes_applied_total %llu\n",
               atomic_load(&m->changes_applied));
    head(b, "lockstep_detection_lag_seconds", "histogram",
         "From the commit of a change to the watcher's commit of its pair's new state.");
    unsigned long long cumulative = 0;
    for (int i = 0; i <= N_LAG_BUCKETS; i++) {
        cumulative += atomic_load(&m->lag_buckets[i]);
        if (i < N_LAG_BUCKETS)
            buf_printf(b, "lockstep_detection_lag_seconds_bucket{le=\"%g\"} %llu\n",
                       lag_buckets[i], cumulative);
    }
    buf_printf(b, "lockstep_detection_lag_seconds_bucket{le=\"+Inf\"} %llu\n", cumulative);
    buf_printf(b, "lockstep_detection_lag_seconds_sum %.6f\n", atomic_load(&m->lag_sum));
    buf_printf(b, "lockstep_detection_lag_seconds_count %llu\n", cumulative);
}

static void render_store(struct buf *b, const struct store_view *v, bool deprecated)
{
    const struct alerts_facts *f = &v->f;
    const struct check_run *c = &f->check;
    if (f->has_check) {
        head(b, "lockstep_consistency_ratio", "gauge",
             "Consistent pairs / pairs of the last recorded check (0-1).");
        buf_printf(b, "lockstep_consistency_ratio %.15g\n", c->consistency_rate / 100.0);
        head(b, "lockstep_pairs", "gauge", "Pairs classified by the last recorded check.");
        buf_printf(b, "lockstep_pairs %lld\n", (long long)c->total_checked);
        head(b, "lockstep_inconsistent_pairs", "gauge",
             "Inconsistent pairs found by the last recorded check.");
        buf_printf(b, "lockstep_inconsistent_pairs %lld\n", (long long)c->inconsistent);
        head(b, "lockstep_violations", "gauge",
             "Open violations after the last recorded check, by issue type.");
        for (size_t i = 0; i < N_ISSUES && pair_issue_type_at(i); i++)
            buf_printf(b, "lockstep_violations{issue_type=\"%s\"} %lld\n", pair_issue_type_at(i),
                       (long long)v->by_issue[i]);
        head(b, "lockstep_last_check_timestamp_seconds", "gauge",
             "Unix time of the last recorded check.");
        buf_printf(b, "lockstep_last_check_timestamp_seconds %.6f\n",
                   (double)c->timestamp / 1e6);
        head(b, "lockstep_last_check_duration_seconds", "gauge",
             "How long the last recorded check took.");
        buf_printf(b, "lockstep_last_check_duration_seconds %.6f\n", c->duration_ms / 1000.0);
        if (c->read.has_replica_lag) { /* only when that check asked a replica */
            head(b, "lockstep_replica_lag_seconds", "gauge",
                 "Replay lag of the replica when the last recorded check asked it.");
            buf_printf(b, "lockstep_replica_lag_seconds %.6f\n", c->read.replica_lag_seconds);
        }
        head(b, "lockstep_health_status", "gauge",
             "1 for the status of the last recorded check, else 0.");
        for (int i = 0; i < 3; i++)
            buf_printf(b, "lockstep_health_status{status=\"%s\"} %d\n", statuses[i],
                       !strcmp(c->status, statuses[i]));
        if (deprecated) {
            head(b, "lockstep_consistency_rate", "gauge",
                 "Deprecated: use lockstep_consistency_ratio (0-1; this one is in percent).");
            buf_printf(b, "lockstep_consistency_rate %.2f\n", c->consistency_rate);
            /* untyped: a gauge may not end in _total, and dashboards still
             * query this name for one release (docs/operations.md). */
            head(b, "lockstep_pairs_total", "untyped", "Deprecated: use lockstep_pairs.");
            buf_printf(b, "lockstep_pairs_total %lld\n", (long long)c->total_checked);
        }
    }
    if (f->has_baseline) {
        head(b, "lockstep_baseline_consistency_ratio", "gauge",
             "Consistency ratio (0-1) of the check of the latest baseline.");
        buf_printf(b, "lockstep_baseline_consistency_ratio %.15g\n", f->baseline_rate / 100.0);
    }
    head(b, "lockstep_job_interval_seconds", "gauge", "Seconds between runs of a scheduled job.");
    for (int j = 0; j < 2; j++)
        buf_printf(b, "lockstep_job_interval_seconds{job_id=\"%s\"} %ld\n", f->jobs[j].job,
                   f->jobs[j].interval_s);
    head(b, "lockstep_job_last_success_timestamp_seconds", "gauge",
         "Unix time the latest successful run of a job ended; absent when none is recorded.");
    for (int j = 0; j < 2; j++)
        if (f->jobs[j].last_success_at)
            buf_printf(b, "lockstep_job_last_success_timestamp_seconds{job_id=\"%s\"} %.6f\n",
                       f->jobs[j].job, (double)f->jobs[j].last_success_at / 1e6);
    head(b, "lockstep_job_last_run_failed", "gauge",
         "1 when the latest finished run of a job failed (missed and skipped runs looked "
         "past), else 0.");
    for (int j = 0; j < 2; j++)
        buf_printf(b, "lockstep_job_last_run_failed{job_id=\"%s\"} %d\n", f->jobs[j].job,
                   f->jobs[j].last_failed ? 1 : 0);
    if (f->leader_since) {
        head(b, "lockstep_scheduler_last_start_timestamp_seconds", "gauge",
             "Unix time the scheduler that runs the jobs last started.");
        buf_printf(b, "lockstep_scheduler_last_start_timestamp_seconds %.6f\n",
                   (double)f->leader_since / 1e6);
    }
    head(b, "lockstep_alerts_firing", "gauge", "Firing alerts, by severity.");
    buf_printf(b, "lockstep_alerts_firing{severity=\"warning\"} %lld\n", (long long)v->firing[0]);
    buf_printf(b, "lockstep_alerts_firing{severity=\"critical\"} %lld\n",
               (long long)v->firing[1]);
}

static void render_http(struct buf *b, struct metrics *m)
{
    int cells = (m->n_routes + 2) * N_METHODS;
    head(b, "lockstep_http_requests_total", "counter",
         "HTTP requests answered by this process, by method, route pattern and status code.");
    for (int i = 0; i < cells; i++) {
        for (int k = 0; k <= N_CODES; k++) {
            unsigned long long n = atomic_load_explicit(&m->http[i].codes[k],
                                                        memory_order_relaxed);
            if (!n)
                continue;
            buf_printf(b, "lockstep_http_requests_total{method=\"%s\",route=\"",
                       methods[i % N_METHODS]);
            label_value(b, route_name(m, i / N_METHODS));
            if (k < N_CODES)
                buf_printf(b, "\",code=\"%d\"} %llu\n", status_codes[k], n);
            else
                buf_printf(b, "\",code=\"other\"} %llu\n", n);
        }
    }
    head(b, "lockstep_http_request_duration_seconds", "histogram",
         "Time from a request read whole to its answer, by method and route pattern.");
    for (int i = 0; i < cells; i++) {
        unsigned long long counts[N_HTTP_BUCKETS + 1], total = 0;
        for (int k = 0; k <= N_HTTP_BUCKETS; k++)
            total += counts[k] = atomic_load_explicit(&m->http[i].buckets[k],
                                                      memory_order_relaxed);
        if (!total)
            continue;
        struct buf labels = BUF_INIT(0);
        buf_printf(&labels, "method=\"%s\",route=\"", methods[i % N_METHODS]);
        label_value(&labels, route_name(m, i / N_METHODS));
        buf_puts(&labels, "\"");
        const char *l = buf_str(&labels);
        unsigned long long cumulative = 0;
        for (int k = 0; k < N_HTTP_BUCKETS; k++) {
            cumulative += counts[k];
            buf_printf(b, "lockstep_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", l,
                       (double)http_buckets_us[k] / 1e6, cumulative);
        }
        buf_printf(b, "lockstep_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", l,
                   total);
        buf_printf(b, "lockstep_http_request_duration_seconds_sum{%s} %.6f\n", l,
                   (double)atomic_load_explicit(&m->http[i].sum_us, memory_order_relaxed) / 1e6);
        buf_printf(b, "lockstep_http_request_duration_seconds_count{%s} %llu\n", l, total);
        buf_free(&labels);
    }
    static const char *const lanes[METRICS_LANES] = {"store", "password"};
    head(b, "lockstep_http_handler_threads", "gauge",
         "Threads of this process that run handlers which may block, by pool: store "
         "(the store, checks, syncs) and password (argon2id).");
    for (int l = 0; l < METRICS_LANES; l++)
        buf_printf(b, "lockstep_http_handler_threads{pool=\"%s\"} %d\n", lanes[l],
                   atomic_load(&m->handler_threads[l]));
    head(b, "lockstep_http_handlers_busy", "gauge", "Handler threads running a request, by pool.");
    for (int l = 0; l < METRICS_LANES; l++)
        buf_printf(b, "lockstep_http_handlers_busy{pool=\"%s\"} %d\n", lanes[l],
                   atomic_load(&m->handlers_busy[l]));
    head(b, "lockstep_http_handler_queue", "gauge",
         "Requests read whole and waiting for a free handler thread, by pool.");
    for (int l = 0; l < METRICS_LANES; l++)
        buf_printf(b, "lockstep_http_handler_queue{pool=\"%s\"} %d\n", lanes[l],
                   atomic_load(&m->handler_queue[l]));
}

static void render_process(struct buf *b, bool deprecated)
{
    struct proc_stats p;
    if (proc_stats_read(&p) != 0)
        return;
    head(b, "process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds.");
    buf_printf(b, "process_cpu_seconds_total %.2f\n", p.cpu_seconds);
    head(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    buf_printf(b, "process_resident_memory_bytes %llu\n", (unsigned long long)p.resident_bytes);
    head(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    buf_printf(b, "process_virtual_memory_bytes %llu\n", (unsigned long long)p.virtual_bytes);
    if (p.open_fds >= 0) {
        head(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        buf_printf(b, "process_open_fds %lld\n", (long long)p.open_fds);
    }
    if (p.max_fds >= 0) {
        head(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        buf_printf(b, "process_max_fds %lld\n", (long long)p.max_fds);
    }
    head(b, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.");
    buf_printf(b, "process_start_time_seconds %.2f\n", p.start_time_seconds);
    if (deprecated) {
        head(b, "lockstep_process_start_time_seconds", "gauge",
             "Deprecated: use process_start_time_seconds.");
        buf_printf(b, "lockstep_process_start_time_seconds %.2f\n", p.start_time_seconds);
    }
}

int metrics_render(struct metrics *m, const struct config *cfg, struct store *s,
                   struct buf *b)
{
    struct store_view v;
    memset(&v, 0, sizeof v);
    int rc = read_store(m, cfg, s, &v);

    head(b, "lockstep_up", "gauge", "1 when the store answered this scrape, else 0.");
    buf_printf(b, "lockstep_up %d\n", rc == 0 ? 1 : 0);
    head(b, "lockstep_build_info", "gauge", "Always 1; the version of this Lockstep build.");
    buf_printf(b, "lockstep_build_info{version=\"%s\"} 1\n", LOCKSTEP_VERSION);
    if (rc == 0) {
        render_store(b, &v, cfg->metrics_deprecated);
        render_watch(b, &v);
    }

    head(b, "lockstep_checks_total", "counter",
         "Recorded checks run by this process, by trigger and resulting status.");
    for (int t = 0; t < 2; t++)
        for (int st = 0; st < 3; st++)
            buf_printf(b, "lockstep_checks_total{trigger=\"%s\",status=\"%s\"} %llu\n",
                       triggers[t], statuses[st], atomic_load(&m->checks[t][st]));
    head(b, "lockstep_check_duration_seconds", "histogram",
         "Duration of recorded checks run by this process.");
    unsigned long long cumulative = 0;
    for (int i = 0; i <= N_CHECK_BUCKETS; i++) {
        cumulative += atomic_load(&m->check_buckets[i]);
        if (i < N_CHECK_BUCKETS)
            buf_printf(b, "lockstep_check_duration_seconds_bucket{le=\"%g\"} %llu\n",
                       check_buckets[i], cumulative);
    }
    buf_printf(b, "lockstep_check_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cumulative);
    buf_printf(b, "lockstep_check_duration_seconds_sum %.6f\n", atomic_load(&m->check_sum));
    buf_printf(b, "lockstep_check_duration_seconds_count %llu\n", cumulative);
    head(b, "lockstep_job_runs_total", "counter",
         "Scheduled job runs recorded by this process, by job and status.");
    for (int j = 0; j < 2; j++)
        for (int st = 0; st < 5; st++)
            buf_printf(b, "lockstep_job_runs_total{job_id=\"%s\",status=\"%s\"} %llu\n", jobs[j],
                       job_statuses[st], atomic_load(&m->jobs[j][st]));
    head(b, "lockstep_scheduler_leader", "gauge",
         "1 when this process runs the scheduled jobs.");
    buf_printf(b, "lockstep_scheduler_leader %d\n", atomic_load(&m->leader));
    head(b, "lockstep_file_write_failures_total", "counter",
         "Report and log files this process could not write.");
    buf_printf(b, "lockstep_file_write_failures_total %llu\n", atomic_load(&m->file_failures));
    render_lag(b, m);
    render_http(b, m);
    render_process(b, cfg->metrics_deprecated);
    return rc;
}

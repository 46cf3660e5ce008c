/* metrics.c — Prometheus exposition of Lockstep's counters and gauges
 * (hand-written: the text format is simple and no maintained C client library
 * is packaged for Debian). */
#include "service/metrics.h"

#include "service/health.h"
#include "service/scheduler.h"
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

static const char *const triggers[] = {"scheduled", "manual"};
static const char *const statuses[] = {"healthy", "degraded", "critical"};
static const char *const jobs[] = {JOB_CHECK, JOB_SYNC};
static const char *const job_statuses[] = {"success", "failed", "missed", "skipped",
                                           "interrupted"};
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1, 2.5, 5, 10, 30, 60, 120, 300};
#define N_BUCKETS ((int)(sizeof buckets / sizeof buckets[0]))

struct metrics {
    const char *const *routes;
    int n_routes;
    atomic_ullong *http; /* [(n_routes + 1) * (N_CODES + 1)] */
    atomic_ullong checks[2][3];
    atomic_ullong jobs[2][5];
    atomic_ullong duration_buckets[N_BUCKETS];
    atomic_ullong duration_count;
    _Atomic double duration_sum;
    atomic_int leader;
    atomic_int handler_threads[METRICS_LANES], handlers_busy[METRICS_LANES],
        handler_queue[METRICS_LANES];
    atomic_ullong file_failures;
    int64_t started_at;
    /* Open violations by issue type, counted once per recorded check. */
    pthread_mutex_t mu;
    int64_t counted_check;
    int64_t by_issue[3];
};

static const char *const issues[] = {"level_mismatch", "missing_license", "missing_progress"};

struct metrics *metrics_new(const char *const *routes, int n_routes)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->http = calloc((size_t)(n_routes + 1) * (N_CODES + 1), sizeof *m->http);
    if (!m->http) {
        free(m);
        return NULL;
    }
    m->routes = routes;
    m->n_routes = n_routes;
    m->started_at = time_now_us();
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

static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (name && !strcmp(names[i], name))
            return i;
    return -1;
}

void metrics_http(struct metrics *m, int route, int status)
{
    if (!m)
        return;
    if (route < 0 || route > m->n_routes)
        route = m->n_routes;
    int code = OTHER_CODE;
    for (int i = 0; i < N_CODES; i++)
        if (status_codes[i] == status)
            code = i;
    atomic_fetch_add_explicit(&m->http[route * (N_CODES + 1) + code], 1, memory_order_relaxed);
}

void metrics_check(struct metrics *m, const char *trigger, const char *status,
                   double duration_seconds)
{
    if (!m)
        return;
    int t = index_of(triggers, 2, trigger), s = index_of(statuses, 3, status);
    if (t >= 0 && s >= 0)
        atomic_fetch_add(&m->checks[t][s], 1);
    for (int i = 0; i < N_BUCKETS; i++)
        if (duration_seconds <= buckets[i])
            atomic_fetch_add(&m->duration_buckets[i], 1);
    atomic_fetch_add(&m->duration_count, 1);
    double old = atomic_load(&m->duration_sum);
    while (!atomic_compare_exchange_weak(&m->duration_sum, &old, old + duration_seconds))
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
    int i = index_of(issues, 3, v->issue_type);
    if (i >= 0)
        by[i]++;
    return 0;
}

static int count_firing(void *ctx, const struct alert *a)
{
    int64_t *firing = ctx;
    if (!strcmp(a->state, "firing"))
        firing[!strcmp(a->severity, "critical") ? 1 : 0]++;
    return 0;
}

int metrics_render(struct metrics *m, struct store *s, struct buf *b)
{
    struct check_run c;
    int rc = s ? s->ops->check_latest(s, &c) : STORE_ERR;
    bool have_check = rc == 0;
    bool store_ok = rc == 0 || rc == STORE_ERR_NOT_FOUND;
    int64_t by_issue[3] = {0, 0, 0};
    if (have_check) {
        pthread_mutex_lock(&m->mu);
        bool fresh = m->counted_check == c.id;
        memcpy(by_issue, m->by_issue, sizeof by_issue);
        pthread_mutex_unlock(&m->mu);
        if (!fresh) {
            memset(by_issue, 0, sizeof by_issue);
            int vrc = s->ops->violations_open(s, NULL, count_issue, by_issue);
            if (vrc == 0) {
                pthread_mutex_lock(&m->mu);
                m->counted_check = c.id;
                memcpy(m->by_issue, by_issue, sizeof by_issue);
                pthread_mutex_unlock(&m->mu);
            } else {
                store_ok = false;
                rc = vrc;
            }
        }
    }

    int64_t firing[2] = {0, 0}; /* warning, critical */
    if (s && store_ok) {
        int arc = s->ops->alert_list(s, true, 0, count_firing, firing);
        if (arc) {
            store_ok = false;
            rc = arc;
        }
    }

    head(b, "lockstep_up", "gauge", "1 when the store answered this scrape, else 0.");
    buf_printf(b, "lockstep_up %d\n", store_ok ? 1 : 0);
    if (have_check) {
        head(b, "lockstep_consistency_rate", "gauge",
             "Consistency rate of the last recorded check, in percent.");
        buf_printf(b, "lockstep_consistency_rate %.2f\n", c.consistency_rate);
        head(b, "lockstep_pairs_total", "gauge", "Pairs classified by the last recorded check.");
        buf_printf(b, "lockstep_pairs_total %lld\n", (long long)c.total_checked);
        head(b, "lockstep_violations", "gauge",
             "Open violations after the last recorded check, by issue type.");
        for (int i = 0; i < 3; i++)
            buf_printf(b, "lockstep_violations{issue_type=\"%s\"} %lld\n", issues[i],
                       (long long)by_issue[i]);
        head(b, "lockstep_last_check_timestamp_seconds", "gauge",
             "Unix time of the last recorded check.");
        buf_printf(b, "lockstep_last_check_timestamp_seconds %.6f\n",
                   (double)c.timestamp / 1e6);
        head(b, "lockstep_health_status", "gauge",
             "1 for the status of the last recorded check.");
        for (int i = 0; i < 3; i++)
            buf_printf(b, "lockstep_health_status{status=\"%s\"} %d\n", statuses[i],
                       !strcmp(c.status, statuses[i]));
    }
    head(b, "lockstep_alerts_firing", "gauge", "Firing alerts, by severity.");
    buf_printf(b, "lockstep_alerts_firing{severity=\"warning\"} %lld\n", (long long)firing[0]);
    buf_printf(b, "lockstep_alerts_firing{severity=\"critical\"} %lld\n", (long long)firing[1]);
    head(b, "lockstep_checks_total", "counter",
         "Recorded checks run by this process, by trigger and resulting status.");
    for (int t = 0; t < 2; t++)
        for (int st = 0; st < 3; st++)
            buf_printf(b, "lockstep_checks_total{trigger=\"%s\",status=\"%s\"} %llu\n",
                       triggers[t], statuses[st], atomic_load(&m->checks[t][st]));
    head(b, "lockstep_check_duration_seconds", "histogram",
         "Duration of recorded checks run by this process.");
    for (int i = 0; i < N_BUCKETS; i++)
        buf_printf(b, "lockstep_check_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
                   atomic_load(&m->duration_buckets[i]));
    buf_printf(b, "lockstep_check_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
               atomic_load(&m->duration_count));
    buf_printf(b, "lockstep_check_duration_seconds_sum %.6f\n", atomic_load(&m->duration_sum));
    buf_printf(b, "lockstep_check_duration_seconds_count %llu\n",
               atomic_load(&m->duration_count));
    head(b, "lockstep_job_runs_total", "counter",
         "Scheduled job runs recorded by this process, by job and status.");
    for (int j = 0; j < 2; j++)
        for (int st = 0; st < 5; st++)
            buf_printf(b, "lockstep_job_runs_total{job=\"%s\",status=\"%s\"} %llu\n", jobs[j],
                       job_statuses[st], atomic_load(&m->jobs[j][st]));
    head(b, "lockstep_scheduler_leader", "gauge",
         "1 when this process runs the scheduled jobs.");
    buf_printf(b, "lockstep_scheduler_leader %d\n", atomic_load(&m->leader));
    head(b, "lockstep_file_write_failures_total", "counter",
         "Report and log files this process could not write.");
    buf_printf(b, "lockstep_file_write_failures_total %llu\n", atomic_load(&m->file_failures));
    head(b, "lockstep_http_requests_total", "counter",
         "HTTP requests answered by this process, by route and status code.");
    for (int r = 0; r <= m->n_routes; r++) {
        for (int k = 0; k <= N_CODES; k++) {
            unsigned long long n = atomic_load(&m->http[r * (N_CODES + 1) + k]);
            if (!n)
                continue;
            buf_puts(b, "lockstep_http_requests_total{route=\"");
            label_value(b, r < m->n_routes ? m->routes[r] : "other");
            if (k < N_CODES)
                buf_printf(b, "\",code=\"%d\"} %llu\n", status_codes[k], n);
            else
                buf_printf(b, "\",code=\"other\"} %llu\n", n);
        }
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
    head(b, "lockstep_process_start_time_seconds", "gauge", "Unix time this process started.");
    buf_printf(b, "lockstep_process_start_time_seconds %.6f\n", (double)m->started_at / 1e6);
    return store_ok ? 0 : rc;
}

/* monitor.c — one check at a time, and the status/metrics answers. */
#include "service/monitor.h"

#include "service/errors.h"
#include "model/health.h"
#include "service/metrics.h"
#include "service/replica.h"
#include "service/report.h"
#include "service/watch.h"
#include "service/job_history.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct monitor {
    const struct config *cfg;
    struct metrics *metrics;
    struct replica *replica; /* where checks read; used under `running` (one at a time) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, running_dry;
    bool swept; /* a recorded full check succeeded in this process (under `running`) */
    uint64_t started_gen, finished_gen;
    /* The last finished run, handed to callers who joined it. */
    int result_rc;
    char *result_report;
    struct check_outcome result_outcome;
    char result_err[256];
    /* GET /health/status for the check cached_check_id. Checks recorded by
     * this process drop it at once (monitor_invalidate); it is re-validated
     * against the store at most STATUS_TTL_US later, which bounds how long a
     * check recorded by another process takes to show. */
    pthread_mutex_t cache_mu;
    int64_t cached_check_id;
    int64_t cached_watch_version; /* the watch state the cached text shows; -1: none */
    int64_t cached_at; /* monotonic */
    char *cached_status;
    size_t cached_len;
};

struct monitor *monitor_new(const struct config *cfg, struct metrics *metrics)
{
    struct monitor *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = cfg;
    m->metrics = metrics;
    if (!(m->replica = replica_new(cfg))) {
        free(m);
        return NULL;
    }
    m->cached_check_id = -1;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    pthread_mutex_init(&m->cache_mu, NULL);
    return m;
}

void monitor_free(struct monitor *m)
{
    if (!m)
        return;
    free(m->result_report);
    free(m->cached_status);
    replica_free(m->replica);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->cache_mu);
    free(m);
}

void monitor_invalidate(struct monitor *m)
{
    pthread_mutex_lock(&m->cache_mu);
    m->cached_check_id = -1;
    pthread_mutex_unlock(&m->cache_mu);
}

/* The violations a check hands its caller: the newest `cap` of them (by
 * first_seen; among equals, the first found), as /health/status shows them,
 * and how many there were. The report file still holds every one. */
struct newest_sink {
    struct kept {
        struct violation v;
        int64_t seq; /* order found */
    } *keep;
    size_t n, cap;
    size_t oldest;   /* index of the entry the next newer violation replaces */
    int64_t total;
};

/* The entry to replace: the oldest first_seen, and among those the last found. */
static size_t find_oldest(const struct newest_sink *k)
{
    size_t o = 0;
    for (size_t i = 1; i < k->n; i++)
        if (k->keep[i].v.first_seen < k->keep[o].v.first_seen ||
            (k->keep[i].v.first_seen == k->keep[o].v.first_seen &&
             k->keep[i].seq > k->keep[o].seq))
            o = i;
    return o;
}

static int to_newest(void *ctx, const struct violation *v)
{
    struct newest_sink *k = ctx;
    int64_t seq = k->total++;
    if (k->n < k->cap) {
        k->keep[k->n].v = *v;
        k->keep[k->n].seq = seq;
        if (++k->n == k->cap)
            k->oldest = find_oldest(k);
        return 0;
    }
    if (k->cap == 0 || v->first_seen <= k->keep[k->oldest].v.first_seen)
        return 0;
    k->keep[k->oldest].v = *v;
    k->keep[k->oldest].seq = seq;
    k->oldest = find_oldest(k);
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    if (x->v.first_seen != y->v.first_seen)
        return x->v.first_seen > y->v.first_seen ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether a recorded check may be incremental now (watch.md): the watcher's
 * state was set by a full sweep of this process, within full_sweep_interval,
 * and no specialization changed since. */
static bool incremental_due(struct monitor *m, const struct watch_state *st)
{
    int64_t every = m->cfg->watch_full_sweep_interval * USEC_PER_SEC;
    return m->swept && st->initialized && !st->sweep_requested &&
           time_now_us() - st->last_full_at < every;
}

/* Apply what is pending before an incremental run records the state: at
 * most a few batches (the watcher thread does the rest). */
static int drain_some(struct monitor *m, struct store *s, char *err, size_t errlen)
{
    int64_t taken;
    if (watch_polls(m->cfg)) {
        int rc = watch_poll_changes(s, &taken, err, errlen);
        if (rc)
            return rc;
    }
    for (int i = 0; i < 8; i++) {
        struct watch_batch b;
        int rc = watch_apply_batch(s, m->cfg->sync_direction, WATCH_BATCH_ROWS, m->metrics, &b,
                                   err, errlen);
        if (rc)
            return rc;
        if (b.changes == 0)
            break;
    }
    return 0;
}

/* Run the check of the right kind: incremental when the watcher's state can
 * be recorded, else full (comparing with the watcher when it runs). */
static int run_kind(struct monitor *m, struct store *s, const struct monitor_check *c,
                    struct check_options *o, struct check_outcome *out, char *err,
                    size_t errlen)
{
    bool watching = !c->dry_run && watch_active(m->cfg, s);
    struct watch_state st = {0};
    if (watching && s->ops->watch_state_get(s, &st) != 0) {
        snprintf(err, errlen, "health check failed: %s", store_errmsg(s));
        return LS_ERR_DATABASE;
    }
    if (watching && !c->full && incremental_due(m, &st)) {
        int rc = drain_some(m, s, err, errlen);
        return rc ? rc : check_execute_incremental(s, o, out, err, errlen);
    }
    /* Own mode keeps its capture triggers with the watcher off: every full
     * check consumes the change rows it saw, so they never pile up. */
    o->watch = !c->dry_run && s->ops->watch_reset != NULL;
    o->watch_compare = watching && st.initialized && !st.sweep_requested;
    o->watch_poll = o->watch && watch_polls(m->cfg);
    int rc = replica_check(m->replica, s, o, out, err, errlen);
    if (rc == 0 && !c->dry_run)
        m->swept = true;
    return rc;
}

/* Run the check and build its JSON report. */
static int execute(struct monitor *m, struct store *s, const struct monitor_check *c,
                   struct monitor_result *res, char *err, size_t errlen)
{
    char *body = NULL, *report = NULL;
    size_t body_len = 0, report_len = 0;
    struct newest_sink sink = {.cap = (size_t)m->cfg->status_violations_limit};
    if (sink.cap && !(sink.keep = calloc(sink.cap, sizeof *sink.keep))) {
        snprintf(err, errlen, "out of memory");
        return LS_ERR_NOMEM;
    }
    struct check_options o = {
        .dry_run = c->dry_run,
        .trigger = c->trigger,
        .direction = m->cfg->sync_direction,
        .healthy_threshold = m->cfg->healthy_threshold,
        .degraded_threshold = m->cfg->degraded_threshold,
        .data_dir = m->cfg->data_dir,
        .budget_bytes_per_day = m->cfg->report_budget_bytes_per_day,
        .require_pairs = m->cfg->domain.attached && !m->cfg->domain.allow_empty,
        .on_violation = to_newest,
        .ctx = &sink,
        .may_record = c->may_record,
        .may_record_ctx = c->may_record_ctx,
        .newest_limit = (int64_t)sink.cap,
    };
    int rc = run_kind(m, s, c, &o, &res->outcome, err, errlen);
    if (rc == 0 && !strcmp(res->outcome.run.kind, "incremental"))
        sink.total = res->outcome.run.inconsistent; /* it handed the newest only */
    if (rc == 0) {
        if (sink.n > 1)
            qsort(sink.keep, sink.n, sizeof *sink.keep, newest_first);
        FILE *bf = open_memstream(&body, &body_len);
        bool failed = !bf;
        for (size_t i = 0; bf && i < sink.n; i++)
            if (report_write_violation(bf, &sink.keep[i].v, i == 0) != 0)
                failed = true;
        if (bf)
            fclose(bf);
        /* The answer is bounded like /health/status: the newest violations,
         * their count and whether the list was cut. */
        json_t *extra = json_object();
        FILE *in = !failed && body_len ? fmemopen(body, body_len, "r") : NULL;
        FILE *out = failed ? NULL : open_memstream(&report, &report_len);
        if (extra) {
            const struct check_outcome *oc = &res->outcome;
            if (oc->run.divergences) { /* the pairs a full sweep found the watcher wrong about */
                json_t *pairs = json_array();
                for (int i = 0; pairs && i < oc->n_divergent; i++) {
                    const struct check_divergence *d = &oc->divergent[i];
                    json_array_append_new(
                        pairs, json_pack("{s:I, s:s, s:s?, s:s?}", "user_id",
                                         (json_int_t)d->user_id, "specialization", d->spec,
                                         "watcher", d->watcher[0] ? d->watcher : NULL, "full",
                                         d->full[0] ? d->full : NULL));
                }
                json_object_set_new(extra, "divergent_pairs", pairs ? pairs : json_null());
            }
            json_object_set_new(extra, "total_violations", json_integer(sink.total));
            json_object_set_new(extra, "violations_truncated",
                                json_boolean(sink.total > (int64_t)sink.n));
        }
        if (!extra || !out || (body_len && !in) ||
            report_write_extra(out, &res->outcome.run, extra, in) != 0) {
            snprintf(err, errlen, "out of memory while building the report");
            rc = LS_ERR_NOMEM;
        }
        json_decref(extra);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
    }
    free(body);
    free(sink.keep);
    if (rc) {
        free(report);
        return rc;
    }
    res->report = report;
    return 0;
}

int monitor_run_check(struct monitor *m, struct store *s, const struct monitor_check *c,
                      struct monitor_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&m->mu);
    if (m->running && !c->wait) {
        pthread_mutex_unlock(&m->mu);
        snprintf(err, errlen, "a health check is already running");
        return LS_ERR_CONFLICT;
    }
    if (m->running && m->running_dry == c->dry_run) {
        /* Join the running check: its result is ours. */
        uint64_t target = m->started_gen;
        while (m->finished_gen < target)
            pthread_cond_wait(&m->cv, &m->mu);
        int rc = m->result_rc;
        if (rc == 0) {
            res->report = m->result_report ? strdup(m->result_report) : NULL;
            res->outcome = m->result_outcome;
            res->shared = true;
            if (!res->report)
                rc = LS_ERR_NOMEM;
        }
        snprintf(err, errlen, "%s", rc && m->result_err[0] ? m->result_err : "out of memory");
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    while (m->running)
        pthread_cond_wait(&m->cv, &m->mu);
    m->running = true;
    m->running_dry = c->dry_run;
    uint64_t mine = ++m->started_gen;
    pthread_mutex_unlock(&m->mu);

    int rc = execute(m, s, c, res, err, errlen);
    if (rc == 0 && !c->dry_run) {
        monitor_invalidate(m);
        metrics_check(m->metrics, res->outcome.run.trigger, res->outcome.run.status,
                      res->outcome.run.duration_ms / 1000.0);
        if (res->outcome.file_error[0])
            metrics_file_failure(m->metrics);
    }

    pthread_mutex_lock(&m->mu);
    free(m->result_report);
    m->result_report = rc == 0 && res->report ? strdup(res->report) : NULL;
    m->result_rc = rc;
    m->result_outcome = res->outcome;
    snprintf(m->result_err, sizeof m->result_err, "%s", rc ? err : "");
    m->finished_gen = mine;
    m->running = false;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

struct collect {
    json_t *arr;
    bool failed;
};

static int collect_violation(void *ctx, const struct violation *v)
{
    struct collect *c = ctx;
    json_t *o = report_violation_json(v);
    if (!o || json_array_append_new(c->arr, o) != 0) {
        c->failed = true;
        return 1;
    }
    return 0;
}

static char *unknown_status(size_t *len)
{
    static const char text[] =
        "{\"status\":\"unknown\",\"last_check\":null,\"consistency_rate\":null,"
        "\"total_violations\":0,\"total_users_monitored\":0,\"requires_attention\":false,"
        "\"violations\":[]}";
    *len = sizeof text - 1;
    return strdup(text);
}

#define STATUS_TTL_US (1000 * 1000)

/* A copy of the cached status when it is fresh enough; NULL otherwise. */
static char *cached_copy(struct monitor *m, int64_t check_id, int64_t watch_version,
                         size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock(&m->cache_mu);
    bool fresh = m->cached_status && m->cached_check_id >= 0 &&
                 (check_id ? m->cached_check_id == check_id &&
                                 m->cached_watch_version == watch_version
                           : time_mono_us() - m->cached_at < STATUS_TTL_US);
    if (fresh && (copy = malloc(m->cached_len + 1)) != NULL) {
        memcpy(copy, m->cached_status, m->cached_len + 1);
        *len = m->cached_len;
        if (check_id)
            m->cached_at = time_mono_us();
    }
    pthread_mutex_unlock(&m->cache_mu);
    return copy;
}

char *monitor_status_cached(struct monitor *m, size_t *len)
{
    return cached_copy(m, 0, 0, len);
}

/* The watcher's live part of /health/status (watch.md): its counts replace
 * the last recorded check's, so drift shows as soon as it is applied. */
static json_t *watch_json(const struct watch_state *ws, int64_t pending, const char *mode)
{
    json_t *w = json_object();
    if (!w)
        return NULL;
    json_object_set_new(w, "mode", json_string(mode));
    json_object_set_new(w, "pairs", json_integer(ws->pairs));
    json_object_set_new(w, "pending_changes", json_integer(pending));
    json_object_set_new(w, "applied_at", report_time_json(ws->applied_at));
    json_object_set_new(w, "last_full_sweep", report_time_json(ws->last_full_at));
    json_object_set_new(w, "detection_lag_seconds",
                        ws->applied_at ? json_real(ws->last_lag_seconds) : json_null());
    json_object_set_new(w, "divergences_total", json_integer(ws->divergences_total));
    if (!strcmp(mode, "poll")) /* where the polls stand ("": not polled yet) */
        json_object_set_new(w, "watermarks",
                            json_pack("{s:s?, s:s?}", "progress",
                                      ws->marks.progress[0] ? ws->marks.progress : NULL,
                                      "license",
                                      ws->marks.license[0] ? ws->marks.license : NULL));
    return w;
}

int monitor_status_json(struct monitor *m, struct store *s, char **out, size_t *len)
{
    *out = NULL;
    struct check_run c;
    int rc = s->ops->check_latest(s, &c);
    if (rc == STORE_ERR_NOT_FOUND) {
        *out = unknown_status(len);
        return *out ? 0 : LS_ERR_NOMEM;
    }
    if (rc)
        return ls_from_store(rc);
    struct watch_state ws = {0};
    int64_t pending = 0;
    double oldest = 0;
    bool live = watch_active(m->cfg, s);
    if (live && ((rc = s->ops->watch_state_get(s, &ws)) != 0 ||
                 (rc = s->ops->watch_pending(s, &pending, &oldest)) != 0))
        return ls_from_store(rc);
    live = live && ws.initialized && ws.last_full_check_id > 0;
    if ((*out = cached_copy(m, c.id, live ? ws.version : -1, len)) != NULL)
        return 0;
    if (live) { /* the watcher's state, newer than any recorded check */
        c.total_checked = ws.pairs;
        c.inconsistent = ws.violations;
        c.consistent = ws.pairs > ws.violations ? ws.pairs - ws.violations : 0;
        c.users_checked = ws.users;
        c.consistency_rate = health_rate(c.consistent, c.total_checked);
        snprintf(c.status, sizeof c.status, "%s",
                 health_status(c.consistency_rate, m->cfg->healthy_threshold,
                               m->cfg->degraded_threshold));
    }

    json_t *o = json_object();
    struct collect col = {json_array(), false};
    if (!o || !col.arr) {
        json_decref(o);
        json_decref(col.arr);
        return LS_ERR_NOMEM;
    }
    /* At most status_violations_limit, newest first: one more tells whether
     * the list was cut (the whole list is /health/violations, paginated). */
    int64_t limit = m->cfg->status_violations_limit;
    rc = s->ops->violations_open_page(s, NULL, limit + 1, 0, collect_violation, &col);
    if (rc || col.failed) {
        json_decref(o);
        json_decref(col.arr);
        return rc ? ls_from_store(rc) : LS_ERR_NOMEM;
    }
    bool truncated = (int64_t)json_array_size(col.arr) > limit;
    if (truncated)
        json_array_remove(col.arr, json_array_size(col.arr) - 1);
    json_object_set_new(o, "status", json_string(c.status));
    json_object_set_new(o, "last_check", report_time_json(c.timestamp));
    json_object_set_new(o, "consistency_rate", json_real(c.consistency_rate));
    json_object_set_new(o, "total_violations", json_integer(c.inconsistent));
    json_object_set_new(o, "total_users_monitored", json_integer(c.users_checked));
    json_object_set_new(o, "requires_attention",
                        json_boolean(health_requires_attention(c.status)));
    json_object_set_new(o, "violations", col.arr);
    json_object_set_new(o, "violations_truncated", json_boolean(truncated));
    json_object_set_new(o, "last_check_kind", json_string(c.kind[0] ? c.kind : "full"));
    if (watch_active(m->cfg, s))
        json_object_set_new(o, "watch", watch_json(&ws, pending, m->cfg->watch_mode));
    char *text = json_dumps(o, REPORT_JSON_FLAGS);
    json_decref(o);
    if (!text)
        return LS_ERR_NOMEM;
    *len = strlen(text);
    pthread_mutex_lock(&m->cache_mu);
    char *copy = malloc(*len + 1);
    if (copy) {
        memcpy(copy, text, *len + 1);
        free(m->cached_status);
        m->cached_status = copy;
        m->cached_len = *len;
        m->cached_check_id = c.id;
        m->cached_watch_version = live ? ws.version : -1;
        m->cached_at = time_mono_us();
    }
    pthread_mutex_unlock(&m->cache_mu);
    *out = text;
    return 0;
}

static int count_check(void *ctx, const struct check_run *c)
{
    (void)c;
    (*(int64_t *)ctx)++;
    return 0;
}

json_t *monitor_metrics_json(struct monitor *m, struct store *s)
{
    struct check_run c;
    int rc = s->ops->check_latest(s, &c);
    bool none = rc == STORE_ERR_NOT_FOUND;
    if (rc && !none)
        return NULL;
    int64_t now = time_now_us(), day = 86400 * USEC_PER_SEC, checks = 0;
    if (!none && (rc = s->ops->check_list(s, now - day, 0, 0, count_check, &checks)) != 0)
        return NULL;
    struct job_window w;
    if ((rc = job_history_window(s, JOB_CHECK, now - day, now, &w)))
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "consistency_rate", none ? json_null() : json_real(c.consistency_rate));
    json_object_set_new(o, "violations_count", json_integer(none ? 0 : c.inconsistent));
    json_object_set_new(o, "status", json_string(none ? "unknown" : c.status));
    json_object_set_new(o, "last_check", none ? json_null() : report_time_json(c.timestamp));
    json_object_set_new(o, "requires_attention",
                        json_boolean(!none && health_requires_attention(c.status)));
    json_object_set_new(o, "total_users_monitored", json_integer(none ? 0 : c.users_checked));
    json_object_set_new(o, "consistent", json_integer(none ? 0 : c.consistent));
    json_object_set_new(o, "inconsistent", json_integer(none ? 0 : c.inconsistent));
    json_object_set_new(o, "checks_last_24h", json_integer(checks));
    json_object_set_new(o, "check_success_rate_24h",
                        w.success_rate >= 0 ? json_real(w.success_rate) : json_null());
    json_object_set_new(o, "last_check_duration_ms", none ? json_null() : json_real(c.duration_ms));
    return o;
}

/* alerts.c — the alert rules, their state machine and the evaluation thread. */
#include "service/alerts.h"

#include "service/daylog.h"
#include "service/errors.h"
#include "service/job_history.h"
#include "service/notify.h"
#include "util/timeutil.h"
#include "util/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAYLOG_LINES_MAX 32
#define ALERTS_RUNS_SCANNED 500

static const struct alert_rule rules[] = {
    {ALERT_RULE_STATUS_CRITICAL, "critical", 900,
     "the latest check's status is critical (for alert_critical_for, default 15 min)"},
    {ALERT_RULE_STATUS_DEGRADED, "warning", 1800,
     "the latest check's status is degraded (for alert_degraded_for, default 30 min)"},
    {ALERT_RULE_BASELINE_DROP, "warning", 0,
     "consistency is more than 2 points below the latest baseline's"},
    {ALERT_RULE_INCONSISTENT, "warning", 0,
     "the latest check found more inconsistent pairs than inconsistent_alert_count"},
    {ALERT_RULE_JOB_FAILED, "critical", 0, "the latest finished run of a job failed"},
    {ALERT_RULE_JOB_DEADMAN, "critical", 0,
     "a job has not succeeded within 2 x its interval (the scheduler is stuck or stopped)"},
    {ALERT_RULE_CHECK_SLOW, "warning", 0, "the latest check took longer than check_interval"},
    {ALERT_RULE_WATCH_DIVERGENCE, "critical", 0,
     "the last full sweep found pairs the watcher had wrong (watch_divergence)"},
};
#define N_RULES (sizeof rules / sizeof rules[0])

const struct alert_rule *alerts_rules(size_t *n)
{
    *n = N_RULES;
    return rules;
}

const struct alert_rule *alerts_rule(const char *name)
{
    for (size_t i = 0; name && i < N_RULES; i++)
        if (!strcmp(rules[i].name, name))
            return &rules[i];
    return NULL;
}

long alerts_rule_for(const struct config *cfg, const struct alert_rule *r)
{
    if (!strcmp(r->name, ALERT_RULE_STATUS_CRITICAL))
        return cfg->alert_critical_for;
    if (!strcmp(r->name, ALERT_RULE_STATUS_DEGRADED))
        return cfg->alert_degraded_for;
    return r->for_seconds;
}

/* ---- facts ------------------------------------------------------------------------ */

/* Newest run first: the latest finished run (success or failed) and the
 * latest success; stops when both are known. */
struct job_scan {
    struct alerts_job_facts *job;
    bool finished_seen;
};

static int scan_runs(void *ctx, const struct job_run *r)
{
    struct job_scan *js = ctx;
    bool success = !strcmp(r->status, "success");
    if (!js->finished_seen && (success || !strcmp(r->status, "failed"))) {
        js->finished_seen = true;
        js->job->last_failed = !success;
        snprintf(js->job->last_error, sizeof js->job->last_error, "%s", r->error);
    }
    if (success && !js->job->last_success_at)
        js->job->last_success_at = r->finished_at ? r->finished_at : r->started_at;
    return js->finished_seen && js->job->last_success_at ? 1 : 0;
}

int alerts_gather(struct store *s, const struct config *cfg, struct alerts_facts *f)
{
    memset(f, 0, sizeof *f);
    int rc = s->ops->check_latest(s, &f->check);
    if (rc && rc != STORE_ERR_NOT_FOUND)
        return rc;
    f->has_check = rc == 0;
    struct baseline b;
    rc = s->ops->baseline_get(s, 0, &b);
    if (rc && rc != STORE_ERR_NOT_FOUND)
        return rc;
    if (rc == 0) {
        struct check_run bc;
        rc = s->ops->check_get(s, b.check_id, &bc);
        if (rc && rc != STORE_ERR_NOT_FOUND)
            return rc;
        if (rc == 0) {
            f->has_baseline = true;
            f->baseline_id = b.id;
            f->baseline_rate = bc.consistency_rate;
        }
    }
    struct watch_state ws;
    if (s->ops->watch_state_get && (rc = s->ops->watch_state_get(s, &ws)) != 0)
        return rc;
    if (s->ops->watch_state_get && ws.last_full_check_id > 0) {
        rc = s->ops->check_get(s, ws.last_full_check_id, &f->last_full);
        if (rc && rc != STORE_ERR_NOT_FOUND)
            return rc;
        f->has_last_full = rc == 0;
    }
    char owner[64];
    rc = s->ops->scheduler_last_start(s, &f->leader_since, owner);
    if (rc && rc != STORE_ERR_NOT_FOUND)
        return rc;
    const char *ids[2] = {JOB_CHECK, JOB_SYNC};
    long intervals[2] = {cfg->check_interval, cfg->sync_interval};
    /* The jobs run at the intervals of the process that leads them, as it
     * recorded them: every process judges the dead-man rule by the same
     * numbers, whatever its own configuration says (else a follower with
     * other intervals would resolve what the leader fires, every second). */
    struct scheduler_start led;
    rc = job_history_settings_at(s, time_now_us(), &led);
    if (rc && rc != STORE_ERR_NOT_FOUND)
        return rc;
    if (rc == 0 && led.check_interval > 0 && led.sync_interval > 0) {
        intervals[0] = (long)led.check_interval;
        intervals[1] = (long)led.sync_interval;
    }
    for (int i = 0; i < 2; i++) {
        struct alerts_job_facts *j = &f->jobs[i];
        j->job = ids[i];
        j->interval_s = intervals[i];
        /* Looking past missed, skipped and failed runs, through the newest
         * ALERTS_RUNS_SCANNED (an index range, every second): a job whose
         * latest success is older than that many due times is long past
         * 2 x its interval either way. */
        struct job_scan js = {j, false};
        rc = s->ops->job_run_list(s, j->job, 0, 0, ALERTS_RUNS_SCANNED, scan_runs, &js);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- conditions ------------------------------------------------------------------- */

static struct alert_condition *add(struct alert_condition *out, size_t *n, const char *rule,
                                   const char *subject, bool active)
{
    struct alert_condition *c = &out[(*n)++];
    memset(c, 0, sizeof *c);
    c->rule = alerts_rule(rule);
    snprintf(c->subject, sizeof c->subject, "%s", subject);
    c->active = active;
    return c;
}

size_t alerts_conditions(const struct config *cfg, const struct alerts_facts *f, int64_t now,
                         struct alert_condition *out)
{
    size_t n = 0;
    const struct check_run *k = &f->check;
    struct alert_condition *c;

    /* The two status rules: the status, and the threshold the rate fell below. */
    const struct {
        const char *rule, *status, *band;
        double threshold;
    } bands[] = {
        {ALERT_RULE_STATUS_CRITICAL, "critical", "degraded", cfg->degraded_threshold},
        {ALERT_RULE_STATUS_DEGRADED, "degraded", "healthy", cfg->healthy_threshold},
    };
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++) {
        c = add(out, &n, bands[i].rule, "", f->has_check && !strcmp(k->status, bands[i].status));
        snprintf(c->summary, sizeof c->summary, "Coupling status is %s (%.2f%% consistent)",
                 bands[i].status, k->consistency_rate);
        snprintf(c->description, sizeof c->description,
                 "Check #%lld: %lld of %lld pairs consistent (%.2f%%), below the %s "
                 "threshold of %.2f%%.", (long long)k->id, (long long)k->consistent,
                 (long long)k->total_checked, k->consistency_rate, bands[i].band,
                 bands[i].threshold);
    }

    double drop = f->has_baseline && f->has_check ? f->baseline_rate - k->consistency_rate : 0;
    c = add(out, &n, ALERT_RULE_BASELINE_DROP, "", drop > ALERTS_BASELINE_DROP_POINTS);
    snprintf(c->summary, sizeof c->summary,
             "Consistency %.2f%% is %.2f points below the baseline's %.2f%%",
             k->consistency_rate, drop, f->baseline_rate);
    snprintf(c->description, sizeof c->description,
             "Check #%lld measured %.2f%%; baseline #%lld measured %.2f%%. The rule fires "
             "beyond a drop of %.0f points.", (long long)k->id, k->consistency_rate,
             (long long)f->baseline_id, f->baseline_rate, ALERTS_BASELINE_DROP_POINTS);

    c = add(out, &n, ALERT_RULE_INCONSISTENT, "",
            f->has_check && k->inconsistent > cfg->inconsistent_alert_count);
    snprintf(c->summary, sizeof c->summary, "%lld inconsistent pairs (more than %ld)",
             (long long)k->inconsistent, cfg->inconsistent_alert_count);
    snprintf(c->description, sizeof c->description,
             "Check #%lld found %lld inconsistent pairs of %lld; the limit is "
             "inconsistent_alert_count = %ld.", (long long)k->id, (long long)k->inconsistent,
             (long long)k->total_checked, cfg->inconsistent_alert_count);

    for (int i = 0; i < 2; i++) {
        const struct alerts_job_facts *j = &f->jobs[i];
        c = add(out, &n, ALERT_RULE_JOB_FAILED, j->job, j->last_failed);
        snprintf(c->summary, sizeof c->summary, "Job %s failed", j->job);
        snprintf(c->description, sizeof c->description, "The latest run of %s failed: %s",
                 j->job, j->last_error[0] ? j->last_error : "no reason recorded");

        int64_t since = j->last_success_at > f->leader_since ? j->last_success_at
                                                             : f->leader_since;
        int64_t limit = 2 * (int64_t)j->interval_s * USEC_PER_SEC;
        bool dead = f->leader_since && now - since > limit;
        c = add(out, &n, ALERT_RULE_JOB_DEADMAN, j->job, dead);
        snprintf(c->summary, sizeof c->summary, "Job %s has not succeeded for %lld s", j->job,
                 (long long)((now - since) / USEC_PER_SEC));
        char last[TIME_ISO_LEN] = "never";
        if (j->last_success_at)
            time_format_iso(j->last_success_at, last);
        snprintf(c->description, sizeof c->description,
                 "No successful run of %s within 2 x its interval of %ld s (last success: %s); "
                 "the scheduler may be stuck or stopped.", j->job, j->interval_s, last);
    }

    c = add(out, &n, ALERT_RULE_CHECK_SLOW, "",
            f->has_check && k->duration_ms > (double)cfg->check_interval * 1000.0);
    snprintf(c->summary, sizeof c->summary, "A check took %.1f s, longer than its interval",
             k->duration_ms / 1000.0);
    snprintf(c->description, sizeof c->description,
             "Check #%lld took %.1f s; check_interval is %ld s, so checks cannot keep up.",
             (long long)k->id, k->duration_ms / 1000.0, cfg->check_interval);

    const struct check_run *w = &f->last_full;
    c = add(out, &n, ALERT_RULE_WATCH_DIVERGENCE, "", f->has_last_full && w->divergences > 0);
    snprintf(c->summary, sizeof c->summary,
             "A full sweep found %lld pair(s) the watcher had wrong", (long long)w->divergences);
    snprintf(c->description, sizeof c->description,
             "Full sweep check #%lld found %lld pair(s) whose state differed from the "
             "watcher's (a trigger disabled or dropped, or changes written around them); the "
             "sweep's result replaced it. The pairs are in the day log.",
             (long long)w->id, (long long)w->divergences);
    return n;
}

/* ---- the state machine ------------------------------------------------------------ */

struct active_set {
    struct alert items[ALERTS_MAX_ACTIVE];
    size_t n;
};

static int collect_active(void *ctx, const struct alert *a)
{
    struct active_set *set = ctx;
    if (set->n < ALERTS_MAX_ACTIVE)
        set->items[set->n++] = *a;
    return 0;
}

struct silenced {
    char rules[N_RULES][ALERT_RULE_MAX];
    size_t n;
};

static int collect_silence(void *ctx, const struct alert_silence *si)
{
    struct silenced *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rules[i], si->rule))
            return 0;
    if (s->n < N_RULES)
        snprintf(s->rules[s->n++], ALERT_RULE_MAX, "%s", si->rule);
    return 0;
}

static bool is_silenced(const struct silenced *s, const char *rule)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rules[i], rule))
            return true;
    return false;
}

struct log_lines {
    char text[DAYLOG_LINES_MAX][ALERT_SUMMARY_MAX + 160];
    enum log_level level[DAYLOG_LINES_MAX];
    size_t n;
};

static void note_line(struct log_lines *l, enum log_level level, const struct alert *a,
                     const char *what)
{
    if (l->n >= DAYLOG_LINES_MAX)
        return;
    l->level[l->n] = level;
    snprintf(l->text[l->n++], sizeof l->text[0], "Alert %s%s%s (%s) %s: %s", a->rule,
             a->subject[0] ? " " : "", a->subject, a->severity, what, a->summary);
}

/* Queue a notification of `a` and note it in the alert. */
static int notify(struct store *s, const struct config *cfg, struct alert *a, const char *event,
                  int64_t now, struct alerts_outcome *out)
{
    int rc = notify_enqueue(s, cfg, a, event, now);
    if (rc < 0)
        return rc;
    a->last_notified_at = now;
    a->notifications++;
    out->notifications++;
    return 0;
}

/* Whether the stored fields of two versions of an alert are the same. */
static bool same_alert(const struct alert *x, const struct alert *y)
{
    return !strcmp(x->state, y->state) && !strcmp(x->severity, y->severity) &&
           !strcmp(x->summary, y->summary) && !strcmp(x->description, y->description) &&
           x->fired_at == y->fired_at && x->resolved_at == y->resolved_at &&
           x->last_notified_at == y->last_notified_at && x->notifications == y->notifications &&
           !strcmp(x->message_id, y->message_id);
}

/* Write `a` unless it is unchanged since `before`. */
static int save(struct store *s, const struct alert *a, const struct alert *before)
{
    return same_alert(a, before) ? 0 : s->ops->alert_update(s, a);
}

static int step(struct store *s, const struct config *cfg, int64_t now,
                const struct alert_condition *c, struct alert *a, bool silenced,
                struct alerts_outcome *out, struct log_lines *lines)
{
    int rc;
    struct alert before;
    if (a)
        before = *a;
    int64_t for_us = (int64_t)alerts_rule_for(cfg, c->rule) * USEC_PER_SEC;
    int64_t repeat_us = (int64_t)cfg->alert_repeat_interval * USEC_PER_SEC;
    if (!a) {
        if (!c->active)
            return 0;
        struct alert fresh;
        memset(&fresh, 0, sizeof fresh);
        snprintf(fresh.rule, sizeof fresh.rule, "%s", c->rule->name);
        snprintf(fresh.subject, sizeof fresh.subject, "%s", c->subject);
        snprintf(fresh.severity, sizeof fresh.severity, "%s", c->rule->severity);
        snprintf(fresh.state, sizeof fresh.state, "pending");
        snprintf(fresh.summary, sizeof fresh.summary, "%s", c->summary);
        snprintf(fresh.description, sizeof fresh.description, "%s", c->description);
        fresh.started_at = now;
        if ((rc = s->ops->alert_insert(s, &fresh)) != 0)
            return rc;
        out->opened++;
        if (for_us > 0) {
            note_line(lines, LOG_WARNING, &fresh, "pending");
            return 0;
        }
        return step(s, cfg, now, c, &fresh, silenced, out, lines);
    }
    bool firing = !strcmp(a->state, "firing");
    if (!c->active) {
        bool told = a->notifications > 0;
        snprintf(a->state, sizeof a->state, "resolved");
        a->resolved_at = now;
        if (firing) {
            out->resolved++;
            if (told && !silenced) {
                if ((rc = notify(s, cfg, a, "resolved", now, out)) != 0)
                    return rc;
                note_line(lines, LOG_INFO, a, "resolved");
            } else {
                if (told)
                    out->suppressed++;
                note_line(lines, LOG_INFO, a, told ? "resolved (silenced)" : "resolved");
            }
        }
        return save(s, a, &before);
    }
    snprintf(a->summary, sizeof a->summary, "%s", c->summary);
    snprintf(a->description, sizeof a->description, "%s", c->description);
    if (!firing && now - a->started_at >= for_us) {
        snprintf(a->state, sizeof a->state, "firing");
        a->fired_at = now;
        firing = true;
        out->fired++;
    }
    if (firing) {
        bool due = a->last_notified_at == 0 || now - a->last_notified_at >= repeat_us;
        if (due && silenced) {
            if (a->fired_at == now)
                note_line(lines, LOG_WARNING, a, "firing (silenced)");
            out->suppressed++;
        } else if (due) {
            const char *event = a->notifications == 0 ? "firing" : "repeat";
            if ((rc = notify(s, cfg, a, event, now, out)) != 0)
                return rc;
            note_line(lines, !strcmp(a->severity, "critical") ? LOG_ERROR : LOG_WARNING, a,
                     !strcmp(event, "firing") ? "firing" : "still firing");
        }
    }
    return save(s, a, &before);
}

static int count_firing(void *ctx, const struct alert *a)
{
    struct alerts_outcome *o = ctx;
    if (!strcmp(a->state, "firing")) {
        if (!strcmp(a->severity, "critical"))
            o->firing_critical++;
        else
            o->firing_warning++;
    }
    return 0;
}

int alerts_apply(struct store *s, const struct config *cfg, struct daylog *log, int64_t now,
                 const struct alert_condition *c, size_t n, struct alerts_outcome *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct active_set *set = malloc(sizeof *set);
    struct log_lines *lines = malloc(sizeof *lines);
    struct silenced sil = {.n = 0};
    int rc = STORE_ERR;
    if (!set || !lines) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    set->n = 0;
    lines->n = 0;
    /* Most evaluations find nothing to do: no write transaction for them
     * (nothing active, and no open alert of these conditions to resolve). */
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = c[i].active;
    if (!any) {
        if ((rc = s->ops->alert_list(s, true, ALERTS_MAX_ACTIVE, collect_active, set)) != 0)
            goto fail;
        for (size_t k = 0; k < set->n && !any; k++)
            for (size_t i = 0; i < n && !any; i++)
                any = !strcmp(set->items[k].rule, c[i].rule->name) &&
                      !strcmp(set->items[k].subject, c[i].subject);
        if (!any)
            goto out;
        set->n = 0;
    }
    if ((rc = s->ops->begin(s, STORE_TXN_WRITE)) != 0)
        goto fail;
    /* Other processes evaluate too: wait for theirs to commit, then read. */
    if ((rc = s->ops->alert_eval_lock(s)) != 0 ||
        (rc = s->ops->alert_list(s, true, ALERTS_MAX_ACTIVE, collect_active, set)) != 0 ||
        (rc = s->ops->silence_list(s, now, 0, collect_silence, &sil)) != 0)
        goto rollback;
    for (size_t i = 0; i < n; i++) {
        struct alert *a = NULL;
        for (size_t k = 0; k < set->n && !a; k++)
            if (!strcmp(set->items[k].rule, c[i].rule->name) &&
                !strcmp(set->items[k].subject, c[i].subject))
                a = &set->items[k];
        rc = step(s, cfg, now, &c[i], a, is_silenced(&sil, c[i].rule->name), out, lines);
        if (rc)
            goto rollback;
    }
    if ((rc = s->ops->alert_list(s, true, 0, count_firing, out)) != 0)
        goto rollback;
    if ((rc = s->ops->commit(s)) != 0)
        goto fail;
    for (size_t i = 0; log && i < lines->n; i++)
        daylog_write(log, lines->level[i], "alerts", "%s", lines->text[i]);
    goto out;
rollback:
    snprintf(err, errlen, "%s", store_errmsg(s));
    s->ops->rollback(s);
    goto out;
fail:
    snprintf(err, errlen, "%s", store_errmsg(s));
out:
    free(set);
    free(lines);
    return rc;
}

int alerts_evaluate_rule(struct store *s, const struct config *cfg, struct daylog *log,
                         const char *rule, struct alerts_outcome *out, char *err,
                         size_t errlen)
{
    struct alerts_facts f;
    int rc = alerts_gather(s, cfg, &f);
    if (rc) {
        memset(out, 0, sizeof *out);
        snprintf(err, errlen, "%s", store_errmsg(s));
        return rc;
    }
    struct alert_condition c[ALERTS_MAX_CONDITIONS];
    int64_t now = time_now_us();
    size_t n = alerts_conditions(cfg, &f, now, c), kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!rule || !strcmp(c[i].rule->name, rule))
            c[kept++] = c[i];
    return alerts_apply(s, cfg, log, now, c, kept, out, err, errlen);
}

int alerts_evaluate(struct store *s, const struct config *cfg, struct daylog *log,
                    struct alerts_outcome *out, char *err, size_t errlen)
{
    return alerts_evaluate_rule(s, cfg, log, NULL, out, err, errlen);
}

/* ---- the API's view ---------------------------------------------------------------- */

int alerts_silence_add(struct store *s, const char *rule, int64_t now, int64_t until,
                       const char *comment, int64_t user, struct alert_silence *out, char *err,
                       size_t errlen)
{
    if (!alerts_rule(rule)) {
        snprintf(err, errlen, "Unknown rule '%.60s' (rules: %s, %s, %s, %s, %s, %s, %s)",
                 rule ? rule : "", rules[0].name, rules[1].name, rules[2].name, rules[3].name,
                 rules[4].name, rules[5].name, rules[6].name);
        return LS_ERR_VALIDATION;
    }
    if (until <= now) {
        snprintf(err, errlen, "A silence must end in the future");
        return LS_ERR_VALIDATION;
    }
    if (until - now > (int64_t)ALERTS_SILENCE_MAX_S * USEC_PER_SEC) {
        snprintf(err, errlen, "A silence may last at most %d days", ALERTS_SILENCE_MAX_S / 86400);
        return LS_ERR_VALIDATION;
    }
    if (comment && strlen(comment) > ALERT_COMMENT_MAX) {
        snprintf(err, errlen, "comment is longer than %d bytes", ALERT_COMMENT_MAX);
        return LS_ERR_VALIDATION;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->rule, sizeof out->rule, "%s", rule);
    snprintf(out->comment, sizeof out->comment, "%s", comment ? comment : "");
    out->starts_at = out->created_at = now;
    out->ends_at = until;
    out->created_by = user;
    int rc = s->ops->silence_insert(s, out);
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    return 0;
}

static json_t *time_json(int64_t us)
{
    if (!us)
        return json_null();
    char iso[TIME_ISO_LEN];
    time_format_iso(us, iso);
    return json_string(iso);
}

json_t *alerts_silence_json(const struct alert_silence *si, int64_t now)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(si->id));
    json_object_set_new(o, "rule", json_string(si->rule));
    json_object_set_new(o, "starts_at", time_json(si->starts_at));
    json_object_set_new(o, "ends_at", time_json(si->ends_at));
    json_object_set_new(o, "comment", json_string(si->comment));
    json_object_set_new(o, "created_by", si->created_by ? json_integer(si->created_by)
                                                        : json_null());
    json_object_set_new(o, "created_at", time_json(si->created_at));
    json_object_set_new(o, "deleted_at", time_json(si->deleted_at));
    json_object_set_new(o, "active", json_boolean(!si->deleted_at && si->starts_at <= now &&
                                                  now < si->ends_at));
    return o;
}

static int add_attempt(void *ctx, const struct alert_attempt *a)
{
    json_t *o = json_object();
    if (!o)
        return STORE_ERR;
    json_object_set_new(o, "attempted_at", time_json(a->attempted_at));
    json_object_set_new(o, "ok", json_boolean(a->ok));
    json_object_set_new(o, "error", a->error[0] ? json_string(a->error) : json_null());
    return json_array_append_new(ctx, o) ? STORE_ERR : 0;
}

struct delivery_ctx {
    struct store *s;
    json_t *arr;
};

static int add_delivery(void *ctx, const struct alert_delivery *d)
{
    struct delivery_ctx *dc = ctx;
    json_t *o = json_object(), *attempts = json_array();
    if (!o || !attempts) {
        json_decref(o);
        json_decref(attempts);
        return store_fail(dc->s, STORE_ERR_NOMEM, "out of memory");
    }
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "channel", json_string(d->channel));
    json_object_set_new(o, "event", json_string(d->event));
    json_object_set_new(o, "status", json_string(d->status));
    json_object_set_new(o, "attempts", json_integer(d->attempts));
    json_object_set_new(o, "created_at", time_json(d->created_at));
    json_object_set_new(o, "next_attempt_at",
                        !strcmp(d->status, "pending") ? time_json(d->next_attempt_at)
                                                      : json_null());
    json_object_set_new(o, "delivered_at", time_json(d->delivered_at));
    json_object_set_new(o, "last_error", d->last_error[0] ? json_string(d->last_error)
                                                          : json_null());
    json_object_set_new(o, "attempt_log", attempts);
    if (json_array_append_new(dc->arr, o))
        return store_fail(dc->s, STORE_ERR_NOMEM, "out of memory");
    int rc = dc->s->ops->attempt_list(dc->s, d->id, add_attempt, attempts);
    return rc > 0 ? store_fail(dc->s, STORE_ERR_NOMEM, "out of memory") : rc;
}

struct overview_ctx {
    struct store *s;
    const struct silenced *sil;
    json_t *firing, *pending, *history;
    bool with_deliveries;
};

static int add_alert(void *ctx, const struct alert *a)
{
    struct overview_ctx *oc = ctx;
    json_t *o = json_object();
    if (!o)
        return store_fail(oc->s, STORE_ERR_NOMEM, "out of memory");
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "rule", json_string(a->rule));
    json_object_set_new(o, "job", a->subject[0] ? json_string(a->subject) : json_null());
    json_object_set_new(o, "severity", json_string(a->severity));
    json_object_set_new(o, "state", json_string(a->state));
    json_object_set_new(o, "summary", json_string(a->summary));
    json_object_set_new(o, "description", json_string(a->description));
    json_object_set_new(o, "started_at", time_json(a->started_at));
    json_object_set_new(o, "fired_at", time_json(a->fired_at));
    json_object_set_new(o, "resolved_at", time_json(a->resolved_at));
    json_object_set_new(o, "last_notified_at", time_json(a->last_notified_at));
    json_object_set_new(o, "notifications", json_integer(a->notifications));
    json_object_set_new(o, "silenced", json_boolean(is_silenced(oc->sil, a->rule)));
    json_t *target = oc->history ? oc->history
                     : !strcmp(a->state, "firing") ? oc->firing
                                                   : oc->pending;
    if (oc->with_deliveries) {
        json_t *d = json_array();
        if (!d) {
            json_decref(o);
            return store_fail(oc->s, STORE_ERR_NOMEM, "out of memory");
        }
        json_object_set_new(o, "deliveries", d);
        struct delivery_ctx dc = {oc->s, d};
        int rc = oc->s->ops->delivery_list(oc->s, a->id, add_delivery, &dc);
        if (rc) {
            json_decref(o);
            return rc;
        }
    }
    return json_array_append_new(target, o) ? store_fail(oc->s, STORE_ERR_NOMEM, "out of memory") : 0;
}

struct silence_ctx {
    json_t *arr;
    int64_t now;
};

static int add_silence(void *ctx, const struct alert_silence *si)
{
    struct silence_ctx *sc = ctx;
    json_t *o = alerts_silence_json(si, sc->now);
    return !o || json_array_append_new(sc->arr, o) ? STORE_ERR : 0;
}

json_t *alerts_overview_json(struct store *s, const struct config *cfg, int64_t now,
                             int64_t history_limit, int *rc)
{
    struct silenced sil = {.n = 0};
    json_t *root = json_object(), *firing = json_array(), *pending = json_array();
    json_t *history = json_array(), *silences = json_array(), *rl = json_array();
    json_t *channels = json_object();
    json_object_set_new(root, "firing", firing);
    json_object_set_new(root, "pending", pending);
    json_object_set_new(root, "history", history);
    json_object_set_new(root, "silences", silences);
    json_object_set_new(root, "rules", rl);
    json_object_set_new(root, "channels", channels);
    *rc = STORE_ERR;
    if (!root || !firing || !pending || !history || !silences || !rl || !channels)
        goto fail;
    if ((*rc = s->ops->silence_list(s, now, 0, collect_silence, &sil)) != 0)
        goto fail;
    struct silence_ctx sc = {silences, now};
    if ((*rc = s->ops->silence_list(s, now, 0, add_silence, &sc)) != 0)
        goto fail;
    struct overview_ctx oc = {s, &sil, firing, pending, NULL, false};
    if ((*rc = s->ops->alert_list(s, true, 0, add_alert, &oc)) != 0)
        goto fail;
    oc.history = history;
    oc.with_deliveries = true;
    if ((*rc = s->ops->alert_list(s, false, history_limit, add_alert, &oc)) != 0)
        goto fail;
    for (size_t i = 0; i < N_RULES; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(rl, o))
            goto fail;
        json_object_set_new(o, "name", json_string(rules[i].name));
        json_object_set_new(o, "severity", json_string(rules[i].severity));
        json_object_set_new(o, "for_seconds", json_integer(alerts_rule_for(cfg, &rules[i])));
        json_object_set_new(o, "meaning", json_string(rules[i].meaning));
        json_object_set_new(o, "silenced", json_boolean(is_silenced(&sil, rules[i].name)));
    }
    json_object_set_new(channels, "alertmanager",
                        json_boolean(notify_channel_on(cfg, "alertmanager")));
    json_object_set_new(channels, "webhook", json_boolean(notify_channel_on(cfg, "webhook")));
    json_object_set_new(channels, "email", json_boolean(notify_channel_on(cfg, "email")));
    json_object_set_new(channels, "daylog", json_true());
    json_object_set_new(root, "repeat_interval_seconds",
                        json_integer(cfg->alert_repeat_interval));
    *rc = 0;
    return root;
fail:
    if (*rc == 0)
        *rc = STORE_ERR;
    json_decref(root);
    return NULL;
}

/* ---- the evaluation thread ------------------------------------------------------------ */

struct alerts {
    struct app *app;
    struct store *store; /* its own connection */
    struct daylog *log;
    struct worker *worker;
    alerts_leader_fn is_leader;
    void *leader_ctx;
    char last_error[256]; /* the last failure written to the day log, to not repeat it */
};

/* One evaluation; the next comes a second later, or at once when kicked. */
static int64_t alerts_pass(void *arg)
{
    struct alerts *a = arg;
    /* The leader evaluates every rule; a follower the dead-man rule, which
     * must fire when the leader stops running the jobs. */
    const char *only = a->is_leader(a->leader_ctx) ? NULL : ALERT_RULE_JOB_DEADMAN;
    struct alerts_outcome o;
    char err[300];
    int rc = alerts_evaluate_rule(a->store, &a->app->cfg, a->log, only, &o, err, sizeof err);
    if (rc && strcmp(err, a->last_error)) {
        daylog_write(a->log, LOG_ERROR, "alerts", "Cannot evaluate the alert rules: %s", err);
        snprintf(a->last_error, sizeof a->last_error, "%s", err);
    } else if (rc == 0) {
        a->last_error[0] = '\0';
        if (o.notifications)
            notify_kick(a->app->notifier);
    }
    return USEC_PER_SEC;
}

static void alerts_free(struct alerts *a)
{
    store_close(a->store);
    daylog_close(a->log);
    free(a);
}

struct alerts *alerts_start(struct app *app, alerts_leader_fn is_leader, void *leader_ctx,
                            char *err, size_t errlen)
{
    struct alerts *a = calloc(1, sizeof *a);
    if (!a || !(a->log = daylog_open(app->cfg.data_dir))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->app = app;
    a->is_leader = is_leader;
    a->leader_ctx = leader_ctx;
    if (app_store_open(app, "alerts", &a->store, err, errlen) != 0) {
        alerts_free(a);
        return NULL;
    }
    if (worker_start(alerts_pass, a, &a->worker) != 0) {
        snprintf(err, errlen, "cannot start the alerts thread");
        alerts_free(a);
        return NULL;
    }
    return a;
}

void alerts_kick(struct alerts *a)
{
    if (a)
        worker_wake(a->worker);
}

void alerts_stop(struct alerts *a)
{
    if (!a)
        return;
    worker_stop(a->worker, -1);
    alerts_free(a);
}

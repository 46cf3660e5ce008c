/* test_alerts.c — the alert rules and their state machine over a real store
 * with a test clock (pending -> firing after `for`, one resolve notification,
 * repeats, silences, every rule, the history across a reopen), and the outbox
 * against a local HTTP receiver thread (down, 500, slow, then up; pending rows
 * picked up by another connection). Runs on SQLite and, with LOCKSTEP_TEST_PG,
 * on PostgreSQL. */
#include "config/config.h"
#include "service/alerts.h"
#include "service/alertmsg.h"
#include "service/notify.h"
#include "service/job_history.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define S USEC_PER_SEC
#define T0 (INT64_C(1790000000) * S)

struct env {
    struct store *s;
    char dir[512];
    struct config cfg;
};

static struct env *setup_env(const char *name)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->s = tu_store(name, e->dir);
    config_defaults(&e->cfg);
    snprintf(e->cfg.data_dir, sizeof e->cfg.data_dir, "%s", e->dir);
    /* Nothing listens on port 9 of the loopback: deliveries fail fast. */
    snprintf(e->cfg.alert_webhook_url, sizeof e->cfg.alert_webhook_url,
             "http://127.0.0.1:9/hook");
    e->cfg.alert_send_timeout = 2;
    snprintf(e->cfg.alert_instance, sizeof e->cfg.alert_instance, "test-host");
    snprintf(e->cfg.external_url, sizeof e->cfg.external_url, "https://lockstep.example");
    time_set_test_clock(T0);
    return e;
}

static void teardown_env(struct env *e)
{
    time_set_test_clock(0);
    store_close(e->s);
    free(e);
}

/* A recorded check at `at` (rows written directly: the rules read only the
 * history). */
static void record_check(struct env *e, int64_t at, const char *status, double rate,
                         long inconsistent, double duration_ms)
{
    char iso[TIME_ISO_LEN];
    time_format_iso(at, iso);
    char out[64];
    assert_int_equal(tu_sql(e->dir, out, sizeof out,
                            "INSERT INTO check_runs(timestamp, total_checked, consistent, "
                            "inconsistent, consistency_rate, status, trigger, duration_ms) "
                            "VALUES ('%s', 1000, %ld, %ld, %.4f, '%s', 'scheduled', %.1f)",
                            iso, 1000 - inconsistent, inconsistent, rate, status, duration_ms),
                     0);
}

static void evaluate_at(struct env *e, int64_t at, struct alerts_outcome *o)
{
    time_set_test_clock(at);
    char err[300] = "";
    int rc = alerts_evaluate(e->s, &e->cfg, NULL, o, err, sizeof err);
    if (rc)
        fail_msg("alerts_evaluate: %s", err);
}

struct alert_rows {
    struct alert items[64];
    int n;
};

static int take_alert(void *ctx, const struct alert *a)
{
    struct alert_rows *r = ctx;
    if (r->n < 64)
        r->items[r->n++] = *a;
    return 0;
}

static struct alert_rows *alerts_of(struct store *s, bool active)
{
    static struct alert_rows r;
    r.n = 0;
    assert_int_equal(s->ops->alert_list(s, active, 0, take_alert, &r), 0);
    return &r;
}

/* The alert of `rule` (and subject) among the active ones, or NULL. */
static const struct alert *active_alert(struct store *s, const char *rule, const char *subject)
{
    struct alert_rows *r = alerts_of(s, true);
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->items[i].rule, rule) && !strcmp(r->items[i].subject, subject))
            return &r->items[i];
    return NULL;
}

struct delivery_rows {
    struct alert_delivery *items;
    int n;
};

static int take_delivery(void *ctx, const struct alert_delivery *d)
{
    struct delivery_rows *r = ctx;
    if (r->n < 16)
        r->items[r->n++] = *d;
    return 0;
}

/* The outbox rows of alert `id` (static storage until the next call). */
static struct delivery_rows *deliveries_of(struct store *s, int64_t id)
{
    static struct alert_delivery items[16];
    static struct delivery_rows r;
    r.items = items;
    r.n = 0;
    assert_int_equal(s->ops->delivery_list(s, id, take_delivery, &r), 0);
    return &r;
}

/* ---- the state machine ----------------------------------------------------------- */

static void pending_fires_after_for_and_resolves_once(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_pending");
    e->cfg.alert_critical_for = 60;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 5, 50);
    evaluate_at(e, T0, &o);
    const struct alert *a = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "");
    assert_non_null(a);
    assert_string_equal(a->state, "pending");
    assert_string_equal(a->severity, "critical");
    int64_t id = a->id;
    assert_int_equal(deliveries_of(e->s, id)->n, 0);

    evaluate_at(e, T0 + 59 * S, &o);
    assert_string_equal(active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->state, "pending");
    assert_int_equal(o.notifications, 0);

    evaluate_at(e, T0 + 60 * S, &o);
    a = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "");
    assert_string_equal(a->state, "firing");
    assert_int_equal(a->fired_at, T0 + 60 * S);
    assert_true(o.firing_critical >= 1);
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->items[0].event, "firing");
    assert_string_equal(d->items[0].channel, "webhook");
    assert_string_equal(d->items[0].status, "pending");
    /* The webhook receiver body (version 4) of one alert with labels and annotations. */
    json_t *arr = json_loads(d->items[0].payload, 0, NULL);
    assert_true(json_is_object(arr));
    assert_string_equal(json_string_value(json_object_get(arr, "version")), "4");
    assert_string_equal(json_string_value(json_object_get(arr, "status")), "firing");
    json_t *al = json_array_get(json_object_get(arr, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(al, "labels"),
                                                          "instance")),
                        "test-host");
    assert_string_equal(json_string_value(json_object_get(al, "generatorURL")),
                        "https://lockstep.example/admin/health#alert-status_critical");
    assert_string_equal(json_string_value(json_object_get(json_object_get(al, "labels"),
                                                          "alertname")),
                        "status_critical");
    assert_string_equal(json_string_value(json_object_get(json_object_get(al, "labels"),
                                                          "severity")),
                        "critical");
    assert_non_null(json_string_value(json_object_get(json_object_get(al, "annotations"),
                                                      "summary")));
    int64_t starts = 0, ends = 0;
    assert_int_equal(time_parse_iso(json_string_value(json_object_get(al, "startsAt")), &starts),
                     0);
    assert_int_equal(starts, T0 + 60 * S);
    /* Firing: no end, as Alertmanager writes it. */
    assert_string_equal(json_string_value(json_object_get(al, "endsAt")), "0001-01-01T00:00:00Z");
    (void)ends;
    json_decref(arr);

    /* Still critical: no second notification before the repeat interval. */
    evaluate_at(e, T0 + 120 * S, &o);
    assert_int_equal(o.notifications, 0);
    assert_int_equal(deliveries_of(e->s, id)->n, 1);

    /* Healthy again: resolved, notified once. */
    record_check(e, T0 + 150 * S, "healthy", 99.9, 1, 50);
    evaluate_at(e, T0 + 150 * S, &o);
    assert_null(active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, ""));
    assert_int_equal(o.resolved, 1);
    d = deliveries_of(e->s, id);
    assert_int_equal(d->n, 2);
    assert_string_equal(d->items[1].event, "resolved");
    arr = json_loads(d->items[1].payload, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(arr, "status")), "resolved");
    al = json_array_get(json_object_get(arr, "alerts"), 0);
    assert_int_equal(time_parse_iso(json_string_value(json_object_get(al, "endsAt")), &ends), 0);
    assert_int_equal(ends, T0 + 150 * S); /* in the past when it is delivered */
    json_decref(arr);
    evaluate_at(e, T0 + 300 * S, &o);
    assert_int_equal(deliveries_of(e->s, id)->n, 2);
    struct alert_rows *all = alerts_of(e->s, false);
    assert_int_equal(all->n, 1);
    assert_string_equal(all->items[0].state, "resolved");
    assert_int_equal(all->items[0].resolved_at, T0 + 150 * S);
    teardown_env(e);
}

static void pending_that_clears_never_notifies(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_pending_clears");
    struct alerts_outcome o;
    record_check(e, T0, "degraded", 97.0, 30, 50);
    evaluate_at(e, T0, &o);
    const struct alert *a = active_alert(e->s, ALERT_RULE_STATUS_DEGRADED, "");
    assert_non_null(a);
    assert_string_equal(a->state, "pending"); /* default for: 30 min */
    int64_t id = a->id;
    record_check(e, T0 + 600 * S, "healthy", 99.5, 5, 50);
    evaluate_at(e, T0 + 600 * S, &o);
    assert_null(active_alert(e->s, ALERT_RULE_STATUS_DEGRADED, ""));
    assert_int_equal(deliveries_of(e->s, id)->n, 0);
    teardown_env(e);
}

static void firing_repeats_every_repeat_interval(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_repeat");
    e->cfg.alert_critical_for = 0;
    e->cfg.alert_repeat_interval = 3600;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 100, 50);
    evaluate_at(e, T0, &o);
    const struct alert *a = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "");
    assert_string_equal(a->state, "firing");
    int64_t id = a->id;
    assert_int_equal(deliveries_of(e->s, id)->n, 1);
    evaluate_at(e, T0 + 3599 * S, &o);
    assert_int_equal(deliveries_of(e->s, id)->n, 1);
    evaluate_at(e, T0 + 3600 * S, &o);
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_int_equal(d->n, 2);
    assert_string_equal(d->items[1].event, "repeat");
    evaluate_at(e, T0 + 7200 * S, &o);
    assert_int_equal(deliveries_of(e->s, id)->n, 3);
    assert_int_equal(active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->notifications, 3);
    teardown_env(e);
}

/* The mails of one alert form one thread: the first starts it (kept with the
 * alert), the repeats and the resolve reply to it; a new occurrence is a new
 * thread. Every Message-ID is new. */
static void mails_of_an_alert_form_one_thread(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_thread");
    e->cfg.alert_webhook_url[0] = '\0';
    snprintf(e->cfg.alert_smtp_url, sizeof e->cfg.alert_smtp_url, "smtp://127.0.0.1:9");
    snprintf(e->cfg.alert_email_to, sizeof e->cfg.alert_email_to, "ops@academy.example");
    snprintf(e->cfg.alert_email_from, sizeof e->cfg.alert_email_from,
             "Lockstep <lockstep@academy.example>");
    e->cfg.alert_critical_for = 0;
    e->cfg.alert_repeat_interval = 3600;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 100, 50);
    evaluate_at(e, T0, &o);
    int64_t id = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->id;
    evaluate_at(e, T0 + 3600 * S, &o);
    record_check(e, T0 + 4000 * S, "healthy", 99.9, 1, 50);
    evaluate_at(e, T0 + 4000 * S, &o);
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_int_equal(d->n, 3);
    const char *root = d->items[0].message_id;
    assert_string_equal(d->items[0].channel, "email");
    assert_true(!strncmp(root, "<lockstep.", 10) && strstr(root, "@academy.example>"));
    assert_string_equal(d->items[0].in_reply_to, "");
    assert_string_equal(d->items[1].event, "repeat");
    assert_string_equal(d->items[2].event, "resolved");
    for (size_t i = 1; i < 3; i++) {
        assert_string_equal(d->items[i].in_reply_to, root);
        assert_string_not_equal(d->items[i].message_id, root);
    }
    assert_string_not_equal(d->items[1].message_id, d->items[2].message_id);
    struct alert_rows *all = alerts_of(e->s, false);
    const struct alert *stored = NULL;
    for (int i = 0; i < (int)all->n; i++)
        if (all->items[i].id == id)
            stored = &all->items[i];
    assert_non_null(stored);
    assert_string_equal(stored->message_id, root);
    char first_root[ALERT_MESSAGE_ID_MAX];
    snprintf(first_root, sizeof first_root, "%s", root);
    /* Critical again: a new alert, a new thread. */
    record_check(e, T0 + 5000 * S, "critical", 90.0, 100, 50);
    evaluate_at(e, T0 + 5000 * S, &o);
    const struct alert *again = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "");
    assert_int_not_equal(again->id, id);
    d = deliveries_of(e->s, again->id);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->items[0].in_reply_to, "");
    assert_string_not_equal(d->items[0].message_id, first_root);
    teardown_env(e);
}

static void silence_suppresses_notifications_not_evaluation(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_silence");
    e->cfg.alert_critical_for = 0;
    struct alerts_outcome o;
    struct alert_silence si = {.starts_at = T0 - S, .ends_at = T0 + 3600 * S,
                               .created_at = T0 - S};
    snprintf(si.rule, sizeof si.rule, "%s", ALERT_RULE_STATUS_CRITICAL);
    snprintf(si.comment, sizeof si.comment, "maintenance");
    assert_int_equal(e->s->ops->silence_insert(e->s, &si), 0);
    assert_true(si.id > 0);

    record_check(e, T0, "critical", 90.0, 100, 50);
    evaluate_at(e, T0, &o);
    const struct alert *a = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "");
    assert_non_null(a);
    assert_string_equal(a->state, "firing"); /* evaluated */
    int64_t id = a->id;
    assert_int_equal(deliveries_of(e->s, id)->n, 0); /* not notified */
    assert_int_equal(o.suppressed, 1);
    /* The other rules are not silenced. */
    const struct alert *inc = active_alert(e->s, ALERT_RULE_INCONSISTENT, "");
    assert_non_null(inc);
    assert_int_equal(deliveries_of(e->s, inc->id)->n, 1);

    /* The silence withdrawn: the firing alert is notified at the next evaluation. */
    assert_int_equal(e->s->ops->silence_delete(e->s, si.id, T0 + 60 * S), 0);
    assert_int_equal(e->s->ops->silence_delete(e->s, si.id, T0 + 60 * S), STORE_ERR_NOT_FOUND);
    evaluate_at(e, T0 + 61 * S, &o);
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->items[0].event, "firing");

    /* A silence that has ended suppresses nothing. */
    struct alert_silence old = {.starts_at = T0 - 7200 * S, .ends_at = T0 - 3600 * S,
                                .created_at = T0 - 7200 * S};
    snprintf(old.rule, sizeof old.rule, "%s", ALERT_RULE_CHECK_SLOW);
    assert_int_equal(e->s->ops->silence_insert(e->s, &old), 0);
    record_check(e, T0 + 100 * S, "critical", 90.0, 100, 400 * 1000.0);
    evaluate_at(e, T0 + 100 * S, &o);
    const struct alert *slow = active_alert(e->s, ALERT_RULE_CHECK_SLOW, "");
    assert_non_null(slow);
    assert_int_equal(deliveries_of(e->s, slow->id)->n, 1);
    teardown_env(e);
}

static void every_rule_triggers(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_rules");
    e->cfg.alert_critical_for = 0;
    e->cfg.alert_degraded_for = 0;
    e->cfg.check_interval = 300;
    e->cfg.sync_interval = 3600;
    e->cfg.inconsistent_alert_count = 10;
    struct alerts_outcome o;

    /* A healthy history: nothing fires. */
    tu_sched_start(e->s, T0, "test:1", 300, 3600);
    record_check(e, T0, "healthy", 99.5, 5, 50);
    char out[64];
    assert_int_equal(tu_sql(e->dir, out, sizeof out,
                            "INSERT INTO baselines(check_id, created_at) VALUES "
                            "((SELECT max(id) FROM check_runs), '2026-09-21T00:00:00Z')"),
                     0);
    evaluate_at(e, T0 + 10 * S, &o);
    assert_int_equal(alerts_of(e->s, true)->n, 0);

    /* 96.5 %: degraded, 3 points below the 99.5 % baseline, 35 > 10 inconsistent,
     * and 301 s for a 300 s interval. */
    record_check(e, T0 + 20 * S, "degraded", 96.5, 35, 301 * 1000.0);
    evaluate_at(e, T0 + 20 * S, &o);
    assert_non_null(active_alert(e->s, ALERT_RULE_STATUS_DEGRADED, ""));
    assert_null(active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, ""));
    const struct alert *b = active_alert(e->s, ALERT_RULE_BASELINE_DROP, "");
    assert_non_null(b);
    assert_string_equal(b->severity, "warning");
    assert_non_null(active_alert(e->s, ALERT_RULE_INCONSISTENT, ""));
    assert_non_null(active_alert(e->s, ALERT_RULE_CHECK_SLOW, ""));
    assert_int_equal(o.firing_warning, 4);

    /* 98 %: 1.5 points below — within the allowed drop; 10 is not above 10. */
    record_check(e, T0 + 30 * S, "degraded", 98.0, 10, 50);
    evaluate_at(e, T0 + 30 * S, &o);
    assert_null(active_alert(e->s, ALERT_RULE_BASELINE_DROP, ""));
    assert_null(active_alert(e->s, ALERT_RULE_INCONSISTENT, ""));
    assert_null(active_alert(e->s, ALERT_RULE_CHECK_SLOW, ""));
    record_check(e, T0 + 40 * S, "critical", 94.0, 60, 50);
    evaluate_at(e, T0 + 40 * S, &o);
    assert_non_null(active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, ""));
    assert_null(active_alert(e->s, ALERT_RULE_STATUS_DEGRADED, ""));

    /* A failed sync run fires job_failed for that job only; a later success
     * resolves it. */
    struct job_run r = {.due_at = T0 + 50 * S, .started_at = T0 + 50 * S,
                        .finished_at = T0 + 51 * S};
    snprintf(r.job_id, sizeof r.job_id, "%s", JOB_SYNC);
    snprintf(r.status, sizeof r.status, "failed");
    snprintf(r.error, sizeof r.error, "2 pair(s) could not be repaired");
    assert_int_equal(e->s->ops->job_run_insert(e->s, &r), 0);
    evaluate_at(e, T0 + 52 * S, &o);
    const struct alert *jf = active_alert(e->s, ALERT_RULE_JOB_FAILED, JOB_SYNC);
    assert_non_null(jf);
    assert_string_equal(jf->severity, "critical");
    assert_non_null(strstr(jf->description, "could not be repaired"));
    assert_null(active_alert(e->s, ALERT_RULE_JOB_FAILED, JOB_CHECK));
    /* The webhook body names the job. */
    struct delivery_rows *d = deliveries_of(e->s, jf->id);
    assert_int_equal(d->n, 1);
    assert_non_null(strstr(d->items[0].payload, "\"job\":\"" JOB_SYNC "\""));
    r.due_at = T0 + 60 * S;
    snprintf(r.status, sizeof r.status, "success");
    r.error[0] = '\0';
    assert_int_equal(e->s->ops->job_run_insert(e->s, &r), 0);
    evaluate_at(e, T0 + 62 * S, &o);
    assert_null(active_alert(e->s, ALERT_RULE_JOB_FAILED, JOB_SYNC));
    teardown_env(e);
}

static void deadman_fires_when_a_job_stops_succeeding(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_deadman");
    e->cfg.check_interval = 300;
    e->cfg.sync_interval = 3600;
    struct alerts_outcome o;
    /* No scheduler ever started: nothing to expect. */
    evaluate_at(e, T0 + 86400 * S, &o);
    assert_int_equal(alerts_of(e->s, true)->n, 0);

    tu_sched_start(e->s, T0, "test:1", 300, 3600);
    evaluate_at(e, T0 + 600 * S, &o); /* exactly 2 x 300 s: not yet */
    assert_null(active_alert(e->s, ALERT_RULE_JOB_DEADMAN, JOB_CHECK));
    evaluate_at(e, T0 + 601 * S, &o);
    const struct alert *a = active_alert(e->s, ALERT_RULE_JOB_DEADMAN, JOB_CHECK);
    assert_non_null(a);
    assert_string_equal(a->state, "firing");
    assert_string_equal(a->severity, "critical");
    assert_null(active_alert(e->s, ALERT_RULE_JOB_DEADMAN, JOB_SYNC)); /* 2 h not over */

    /* A successful run resolves it, and the clock starts again from it. */
    struct job_run r = {.due_at = T0 + 620 * S, .started_at = T0 + 620 * S,
                        .finished_at = T0 + 621 * S};
    snprintf(r.job_id, sizeof r.job_id, "%s", JOB_CHECK);
    snprintf(r.status, sizeof r.status, "success");
    assert_int_equal(e->s->ops->job_run_insert(e->s, &r), 0);
    evaluate_at(e, T0 + 622 * S, &o);
    assert_null(active_alert(e->s, ALERT_RULE_JOB_DEADMAN, JOB_CHECK));
    assert_int_equal(o.resolved, 1);
    evaluate_at(e, T0 + 621 * S + 601 * S, &o);
    assert_non_null(active_alert(e->s, ALERT_RULE_JOB_DEADMAN, JOB_CHECK));
    teardown_env(e);
}

static void history_survives_reopen(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_reopen");
    e->cfg.alert_critical_for = 0;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 100, 50);
    evaluate_at(e, T0, &o);
    int64_t id = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->id;
    store_close(e->s);

    e->s = tu_store_again(e->dir);
    const struct alert *a = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "");
    assert_non_null(a);
    assert_int_equal(a->id, id);
    assert_string_equal(a->state, "firing");
    assert_int_equal(a->last_notified_at, T0);
    /* The new process knows it was notified: no second firing notification. */
    evaluate_at(e, T0 + 60 * S, &o);
    assert_int_equal(o.notifications, 0);
    assert_int_equal(deliveries_of(e->s, id)->n, 1);
    teardown_env(e);
}

/* ---- payloads ----------------------------------------------------------------------- */

static void email_message_is_rfc5322(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    snprintf(cfg.alert_email_from, sizeof cfg.alert_email_from, "lockstep@academy.example");
    snprintf(cfg.alert_email_to, sizeof cfg.alert_email_to, "ops@academy.example");
    snprintf(cfg.alert_instance, sizeof cfg.alert_instance, "north-1");
    snprintf(cfg.external_url, sizeof cfg.external_url, "https://lockstep.example");
    struct alert a = {.id = 7, .started_at = T0, .fired_at = T0, .last_notified_at = T0};
    snprintf(a.rule, sizeof a.rule, "status_critical");
    snprintf(a.severity, sizeof a.severity, "critical");
    snprintf(a.state, sizeof a.state, "firing");
    snprintf(a.summary, sizeof a.summary, "Coupling status is critical (90.00%% consistent)");
    snprintf(a.description, sizeof a.description, "line one\nline two");
    struct alert_delivery d = {.id = 3, .alert_id = 7, .created_at = T0};
    snprintf(d.channel, sizeof d.channel, "email");
    assert_int_equal(alertmsg_email_text(&cfg, &a, "firing", d.payload, sizeof d.payload), 0);
    struct buf m = BUF_INIT(0);
    assert_int_equal(alertmsg_email_message(&cfg, &d, &m), 0);
    const char *t = buf_str(&m);
    assert_non_null(strstr(t, "Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"));
    assert_non_null(strstr(t, "+0000\r\n"));
    assert_non_null(strstr(t, "\r\nFrom: lockstep@academy.example\r\n"));
    assert_non_null(strstr(t, "\r\nTo: ops@academy.example\r\n"));
    assert_non_null(strstr(t, "\r\nSubject: [Lockstep north-1] FIRING critical: Coupling "
                              "status is critical (90.00% consistent)\r\n"));
    /* A row queued before Message-IDs were kept gets the old derived one. */
    assert_non_null(strstr(t, "\r\nMessage-ID: <lockstep-alert-7-3@academy.example>\r\n"));
    assert_non_null(strstr(t, "\r\nAuto-Submitted: auto-generated\r\n"));
    assert_non_null(strstr(t, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert_null(strstr(t, "In-Reply-To"));
    assert_non_null(strstr(t, "Dashboard: https://lockstep.example/admin/health#alert-"
                              "status_critical\r\n"));
    assert_non_null(strstr(t, "\r\n\r\nline one\r\nline two\r\n"));
    /* No bare LF anywhere. */
    for (const char *p = t; *p; p++)
        if (*p == '\n')
            assert_true(p > t && p[-1] == '\r');
    buf_free(&m);
}

/* A display name is quoted or encoded as RFC 5322 and 2047 want it; a subject
 * that is not ASCII is encoded without splitting a character; a resolve
 * replies to the first mail of its alert. */
static void email_headers_encode_and_thread(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    snprintf(cfg.alert_email_to, sizeof cfg.alert_email_to, "ops@academy.example");
    snprintf(cfg.alert_instance, sizeof cfg.alert_instance, "Académie Nord – terrain d'été");
    snprintf(cfg.external_url, sizeof cfg.external_url, "https://lockstep.example");
    struct alert a = {.id = 7, .started_at = T0, .fired_at = T0, .resolved_at = T0 + S};
    snprintf(a.rule, sizeof a.rule, "status_critical");
    snprintf(a.severity, sizeof a.severity, "critical");
    snprintf(a.state, sizeof a.state, "resolved");
    snprintf(a.summary, sizeof a.summary, "Coupling status is critical");
    struct alert_delivery d = {.id = 3, .alert_id = 7, .created_at = T0};
    snprintf(d.message_id, sizeof d.message_id, "<lockstep.7.resolved.00@academy.example>");
    snprintf(d.in_reply_to, sizeof d.in_reply_to, "<lockstep.7.firing.01@academy.example>");
    assert_int_equal(alertmsg_email_text(&cfg, &a, "resolved", d.payload, sizeof d.payload), 0);
    const char *froms[][2] = {
        {"Lockstep North <lockstep@academy.example>",
         "\r\nFrom: Lockstep North <lockstep@academy.example>\r\n"},
        {"\"Lockstep, North\" <lockstep@academy.example>",
         "\r\nFrom: \"Lockstep, North\" <lockstep@academy.example>\r\n"},
        {"Lockstep Nord-Est <lockstep@academy.example>",
         "\r\nFrom: Lockstep Nord-Est <lockstep@academy.example>\r\n"},
        {"Académie <lockstep@academy.example>",
         "\r\nFrom: =?UTF-8?B?QWNhZMOpbWll?= <lockstep@academy.example>\r\n"},
    };
    for (size_t i = 0; i < sizeof froms / sizeof froms[0]; i++) {
        snprintf(cfg.alert_email_from, sizeof cfg.alert_email_from, "%s", froms[i][0]);
        struct buf m = BUF_INIT(0);
        assert_int_equal(alertmsg_email_message(&cfg, &d, &m), 0);
        const char *t = buf_str(&m);
        if (!strstr(t, froms[i][1]))
            fail_msg("%s\n--- not in ---\n%s", froms[i][1], t);
        if (i == 0) {
            assert_non_null(
                strstr(t, "\r\nMessage-ID: <lockstep.7.resolved.00@academy.example>\r\n"));
            assert_non_null(
                strstr(t, "\r\nIn-Reply-To: <lockstep.7.firing.01@academy.example>\r\n"));
            assert_non_null(
                strstr(t, "\r\nReferences: <lockstep.7.firing.01@academy.example>\r\n"));
            /* The subject: encoded words of at most 75 characters, folded. */
            const char *subj = strstr(t, "\r\nSubject: =?UTF-8?B?");
            assert_non_null(subj);
            const char *end = strstr(subj + 2, "\r\nMessage-ID:");
            for (const char *w = strstr(subj, "=?"); w && w < end; w = strstr(w + 2, "=?")) {
                const char *close = strstr(w + 10, "?=");
                assert_true(close - w + 2 <= 75);
                w = close;
            }
            assert_non_null(strstr(subj, "?=\r\n =?UTF-8?B?"));
        }
        buf_free(&m);
    }
}

/* Labels, fingerprint and both HTTP bodies: the fingerprints are the ones a
 * real Alertmanager 0.25 gave the same labels (the second is the alert of
 * tests/api/fixtures/alertmanager-webhook-v4.json, a value that is not ASCII). */
static void http_bodies_carry_labels_and_fingerprint(void **state)
{
    (void)state;
    struct config cfg;
    char err[300];
    config_defaults(&cfg);
    snprintf(cfg.alert_instance, sizeof cfg.alert_instance, "north-1");
    snprintf(cfg.external_url, sizeof cfg.external_url, "http://lockstep.example");
    assert_int_equal(config_set(&cfg, "alert_labels", "environment=prod, academy=north", err,
                                sizeof err), 0);
    struct alert a = {.id = 7, .started_at = T0, .fired_at = T0};
    snprintf(a.rule, sizeof a.rule, "status_critical");
    snprintf(a.severity, sizeof a.severity, "critical");
    snprintf(a.state, sizeof a.state, "firing");
    json_t *labels = alertmsg_labels_json(&cfg, &a);
    char fp[17];
    alertmsg_fingerprint(labels, fp);
    assert_string_equal(fp, "c3d8983d6ffe052b");
    char *text = json_dumps(labels, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"academy\":\"north\",\"alertname\":\"status_critical\","
                              "\"environment\":\"prod\",\"instance\":\"north-1\","
                              "\"service\":\"lockstep\",\"severity\":\"critical\"}");
    free(text);
    json_decref(labels);
    snprintf(cfg.alert_instance, sizeof cfg.alert_instance, "lockstep-académie");
    labels = alertmsg_labels_json(&cfg, &a);
    alertmsg_fingerprint(labels, fp);
    assert_string_equal(fp, "a6f74c63877bc9c2");
    json_decref(labels);
    snprintf(cfg.alert_instance, sizeof cfg.alert_instance, "north-1");

    char out[ALERT_PAYLOAD_MAX];
    assert_int_equal(alertmsg_alertmanager_body(&cfg, &a, "firing", T0 + S, out, sizeof out), 0);
    json_t *arr = json_loads(out, 0, NULL);
    json_t *al = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(al, "startsAt")),
                        "2026-09-21T14:13:20Z");
    int64_t ends = 0;
    assert_int_equal(time_parse_iso(json_string_value(json_object_get(al, "endsAt")), &ends), 0);
    assert_int_equal(ends, T0 + S + 2 * 14400 * S);
    json_decref(arr);

    a.resolved_at = T0 + 90 * S + 1500;
    snprintf(a.state, sizeof a.state, "resolved");
    assert_int_equal(alertmsg_webhook_body(&cfg, &a, "resolved", T0 + 91 * S, out, sizeof out),
                     0);
    json_t *body = json_loads(out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(body, "groupKey")),
                        "{}:{academy=\"north\", alertname=\"status_critical\", "
                        "environment=\"prod\", instance=\"north-1\", service=\"lockstep\", "
                        "severity=\"critical\"}");
    al = json_array_get(json_object_get(body, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(al, "fingerprint")), "c3d8983d6ffe052b");
    assert_string_equal(json_string_value(json_object_get(al, "endsAt")),
                        "2026-09-21T14:14:50.0015Z");
    assert_string_equal(json_string_value(json_object_get(body, "externalURL")),
                        "http://lockstep.example");
    json_decref(body);
}

static void backoff_doubles_to_a_cap(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    cfg.alert_retry_min = 10;
    assert_int_equal(notify_backoff_us(&cfg, 1), 10 * S);
    assert_int_equal(notify_backoff_us(&cfg, 2), 20 * S);
    assert_int_equal(notify_backoff_us(&cfg, 3), 40 * S);
    assert_int_equal(notify_backoff_us(&cfg, 9), 2560 * S);
    assert_int_equal(notify_backoff_us(&cfg, 10), NOTIFY_RETRY_MAX_S * S);
    assert_int_equal(notify_backoff_us(&cfg, 1000), NOTIFY_RETRY_MAX_S * S);
}

/* ---- the outbox against a local receiver ----------------------------------------------- */

struct receiver {
    int fd;
    int port;
    atomic_int status;    /* what to answer */
    atomic_int delay_ms;  /* before answering */
    atomic_int received;  /* bodies received */
    atomic_int stopping;
    char last_body[ALERT_PAYLOAD_MAX];
    pthread_mutex_t mu;
    pthread_t thread;
};

static void *receiver_main(void *arg)
{
    struct receiver *rv = arg;
    while (!atomic_load(&rv->stopping)) {
        int c = accept(rv->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (atomic_load(&rv->stopping)) {
            close(c);
            break;
        }
        static char req[65536];
        size_t n = 0;
        long want = -1;
        for (;;) {
            ssize_t k = read(c, req + n, sizeof req - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            req[n] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            if (!end)
                continue;
            const char *cl = strcasestr(req, "Content-Length:");
            want = cl ? strtol(cl + 15, NULL, 10) : 0;
            if ((long)(n - (size_t)(end + 4 - req)) >= want)
                break;
        }
        char *body = strstr(req, "\r\n\r\n");
        if (body && want >= 0) {
            pthread_mutex_lock(&rv->mu);
            snprintf(rv->last_body, sizeof rv->last_body, "%s", body + 4);
            pthread_mutex_unlock(&rv->mu);
            atomic_fetch_add(&rv->received, 1);
        }
        usleep((useconds_t)atomic_load(&rv->delay_ms) * 1000);
        char resp[128];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                           atomic_load(&rv->status));
        ssize_t w = write(c, resp, (size_t)len);
        (void)w;
        close(c);
    }
    return NULL;
}

static struct receiver *receiver_start(int port)
{
    struct receiver *rv = calloc(1, sizeof *rv);
    assert_non_null(rv);
    rv->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(rv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rv->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(rv->fd, 16), 0);
    socklen_t sl = sizeof sa;
    getsockname(rv->fd, (struct sockaddr *)&sa, &sl);
    rv->port = ntohs(sa.sin_port);
    atomic_store(&rv->status, 200);
    pthread_mutex_init(&rv->mu, NULL);
    assert_int_equal(pthread_create(&rv->thread, NULL, receiver_main, rv), 0);
    return rv;
}

static void receiver_stop(struct receiver *rv)
{
    atomic_store(&rv->stopping, 1);
    shutdown(rv->fd, SHUT_RDWR);
    /* Wake accept() in case shutdown does not. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)rv->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(c, (struct sockaddr *)&sa, sizeof sa);
    close(c);
    pthread_join(rv->thread, NULL);
    close(rv->fd);
    pthread_mutex_destroy(&rv->mu);
    free(rv);
}

/* A free loopback port with nothing listening on it. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

struct attempt_rows {
    struct alert_attempt items[16];
    int n;
};

static int take_attempt(void *ctx, const struct alert_attempt *a)
{
    struct attempt_rows *r = ctx;
    if (r->n < 16)
        r->items[r->n++] = *a;
    return 0;
}

static void outbox_retries_with_backoff_until_the_receiver_is_up(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_outbox");
    int port = free_port();
    snprintf(e->cfg.alert_webhook_url, sizeof e->cfg.alert_webhook_url,
             "http://127.0.0.1:%d/api/v2/alerts", port);
    e->cfg.alert_critical_for = 0;
    e->cfg.alert_retry_min = 10;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 5, 50);
    evaluate_at(e, T0, &o);
    int64_t id = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->id;

    /* The receiver is down: the attempt fails, the next is 10 s later. */
    int ok = -1, bad = -1;
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0, &ok, &bad), 0);
    assert_int_equal(ok, 0);
    assert_int_equal(bad, 1);
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_string_equal(d->items[0].status, "pending");
    assert_int_equal(d->items[0].attempts, 1);
    assert_int_equal(d->items[0].next_attempt_at, T0 + 10 * S);
    assert_true(d->items[0].last_error[0] != '\0');
    assert_null(strstr(d->items[0].last_error, "/api/v2/alerts"));
    /* Not due before then. */
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0 + 9 * S, &ok, &bad), 0);
    assert_int_equal(ok + bad, 0);

    /* Up, but answering 500: a failure, and the delay doubles. */
    struct receiver *rv = receiver_start(port);
    atomic_store(&rv->status, 500);
    time_set_test_clock(T0 + 10 * S);
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0 + 10 * S, &ok, &bad), 0);
    assert_int_equal(bad, 1);
    d = deliveries_of(e->s, id);
    assert_int_equal(d->items[0].attempts, 2);
    assert_int_equal(d->items[0].next_attempt_at, T0 + 30 * S);
    assert_non_null(strstr(d->items[0].last_error, "HTTP 500"));

    /* Healthy: delivered, with the body Alertmanager accepts. */
    atomic_store(&rv->status, 200);
    time_set_test_clock(T0 + 30 * S);
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0 + 30 * S, &ok, &bad), 0);
    assert_int_equal(ok, 1);
    d = deliveries_of(e->s, id);
    assert_string_equal(d->items[0].status, "delivered");
    assert_int_equal(d->items[0].delivered_at, T0 + 30 * S);
    assert_int_equal(atomic_load(&rv->received), 2);
    pthread_mutex_lock(&rv->mu);
    assert_non_null(strstr(rv->last_body, "\"alertname\":\"status_critical\""));
    pthread_mutex_unlock(&rv->mu);
    struct attempt_rows at = {.n = 0};
    assert_int_equal(e->s->ops->attempt_list(e->s, d->items[0].id, take_attempt, &at), 0);
    assert_int_equal(at.n, 3);
    assert_false(at.items[0].ok);
    assert_false(at.items[1].ok);
    assert_true(at.items[2].ok);
    assert_non_null(strstr(at.items[1].error, "HTTP 500"));
    /* Nothing more to send. */
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0 + 3600 * S, &ok, &bad), 0);
    assert_int_equal(ok + bad, 0);
    receiver_stop(rv);
    teardown_env(e);
}

static void pending_rows_are_delivered_by_another_process(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_outbox_restart");
    int port = free_port();
    snprintf(e->cfg.alert_webhook_url, sizeof e->cfg.alert_webhook_url,
             "http://127.0.0.1:%d/hook", port);
    e->cfg.alert_critical_for = 0;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 5, 50);
    evaluate_at(e, T0, &o);
    int ok, bad;
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0, &ok, &bad), 0);
    assert_int_equal(bad, 1);
    store_close(e->s); /* the process stops with the row pending */

    struct receiver *rv = receiver_start(port);
    e->s = tu_store_again(e->dir);
    time_set_test_clock(T0 + 3600 * S);
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0 + 3600 * S, &ok, &bad), 0);
    assert_int_equal(ok, 1);
    assert_int_equal(atomic_load(&rv->received), 1);
    receiver_stop(rv);
    teardown_env(e);
}

static void slow_receiver_times_out(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_outbox_slow");
    /* A receiver that takes the connection (the kernel's backlog) and never
     * answers: only the send timeout can end the delivery, however fast or
     * loaded the machine is. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(e->cfg.alert_webhook_url, sizeof e->cfg.alert_webhook_url,
             "http://127.0.0.1:%d/hook", ntohs(sa.sin_port));
    e->cfg.alert_send_timeout = 1;
    e->cfg.alert_critical_for = 0;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 5, 50);
    evaluate_at(e, T0, &o);
    int64_t id = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->id;
    int ok, bad;
    int64_t t = time_mono_us();
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0, &ok, &bad), 0);
    int64_t took = time_mono_us() - t;
    assert_int_equal(bad, 1);
    assert_true(took >= 900 * 1000); /* it waited for the timeout, then gave up */
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_string_equal(d->items[0].last_error, "timed out");
    assert_string_equal(d->items[0].status, "pending");
    close(fd);
    teardown_env(e);
}

static void no_channel_queues_nothing_and_unconfigured_rows_expire(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_no_channel");
    e->cfg.alert_critical_for = 0;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 5, 50);
    evaluate_at(e, T0, &o);
    int64_t id = active_alert(e->s, ALERT_RULE_STATUS_CRITICAL, "")->id;
    assert_int_equal(deliveries_of(e->s, id)->n, 1);
    /* The webhook removed from the configuration: its pending row expires. */
    e->cfg.alert_webhook_url[0] = '\0';
    int ok, bad;
    assert_int_equal(notify_deliver_due(e->s, &e->cfg, T0, &ok, &bad), 0);
    struct delivery_rows *d = deliveries_of(e->s, id);
    assert_string_equal(d->items[0].status, "expired");
    assert_int_equal(d->items[0].attempts, 0);
    /* And new notifications queue nothing, though the alert is still tracked. */
    record_check(e, T0 + 10 * S, "healthy", 99.9, 0, 50);
    evaluate_at(e, T0 + 10 * S, &o);
    assert_int_equal(o.resolved, 1);
    assert_int_equal(deliveries_of(e->s, id)->n, 1);
    teardown_env(e);
}

/* ---- the CLI verb ------------------------------------------------------------------ */

static void cli_lists_alerts_and_manages_silences(void **state)
{
    (void)state;
    struct env *e = setup_env("alerts_cli");
    e->cfg.alert_critical_for = 0;
    struct alerts_outcome o;
    record_check(e, T0, "critical", 90.0, 5, 50);
    evaluate_at(e, T0, &o);
    time_set_test_clock(0);
    char *out;
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "%s --data-dir %s --db '%s' alerts", tu_bin(), e->dir,
             tu_url(e->dir));
    assert_int_equal(tu_cmd(&out, "%s", cmd), 0);
    assert_non_null(strstr(out, "Firing (1):"));
    assert_non_null(strstr(out, "status_critical"));
    assert_non_null(strstr(out, "Coupling status is critical (90.00% consistent)"));
    assert_non_null(strstr(out, "webhook firing   pending"));
    assert_int_equal(tu_cmd(&out, "%s silence status_critical --minutes 60 --comment 'db move'",
                            cmd), 0);
    assert_non_null(strstr(out, "Silence #1: status_critical silenced until "));
    assert_int_equal(tu_cmd(&out, "%s list --json", cmd), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "silences")), 1);
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "firing"), 0),
                                             "silenced")));
    json_decref(j);
    /* Bad input is a usage error; a silence deleted twice is a failure. */
    assert_int_equal(tu_cmd(&out, "%s silence no_such_rule --minutes 5 2>&1", cmd), 2);
    assert_non_null(strstr(out, "Unknown rule 'no_such_rule'"));
    assert_int_equal(tu_cmd(&out, "%s silence status_critical 2>&1", cmd), 2);
    assert_int_equal(tu_cmd(&out, "%s silence status_critical --minutes 5 --until "
                                  "2030-01-01T00:00:00Z 2>&1", cmd), 2);
    assert_int_equal(tu_cmd(&out, "%s unsilence 1", cmd), 0);
    assert_int_equal(tu_cmd(&out, "%s unsilence 1 2>&1", cmd), 1);
    assert_non_null(strstr(out, "no silence #1 in force"));
    assert_int_equal(tu_cmd(&out, "%s frobnicate 2>&1", cmd), 2);
    teardown_env(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_fires_after_for_and_resolves_once),
        cmocka_unit_test(pending_that_clears_never_notifies),
        cmocka_unit_test(firing_repeats_every_repeat_interval),
        cmocka_unit_test(silence_suppresses_notifications_not_evaluation),
        cmocka_unit_test(every_rule_triggers),
        cmocka_unit_test(deadman_fires_when_a_job_stops_succeeding),
        cmocka_unit_test(history_survives_reopen),
        cmocka_unit_test(email_message_is_rfc5322),
        cmocka_unit_test(mails_of_an_alert_form_one_thread),
        cmocka_unit_test(email_headers_encode_and_thread),
        cmocka_unit_test(http_bodies_carry_labels_and_fingerprint),
        cmocka_unit_test(backoff_doubles_to_a_cap),
        cmocka_unit_test(outbox_retries_with_backoff_until_the_receiver_is_up),
        cmocka_unit_test(pending_rows_are_delivered_by_another_process),
        cmocka_unit_test(slow_receiver_times_out),
        cmocka_unit_test(no_channel_queues_nothing_and_unconfigured_rows_expire),
        cmocka_unit_test(cli_lists_alerts_and_manages_silences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

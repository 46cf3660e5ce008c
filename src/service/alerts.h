/* alerts.h — alert rules over the health history (operations.md, "Alerts"):
 * each rule's condition is computed from the store, and every (rule, subject)
 * goes through pending -> firing -> resolved with its `for` duration, repeat
 * interval and silences. Notifications are queued in the outbox (notify.h) and
 * written to the day log. Hand-written: the rules are Lockstep's own.
 *
 * Evaluation is pure given a store and a clock (time_now_us), so unit tests
 * drive it with time_set_test_clock. In `serve`, alerts_start runs it on the
 * leader of the scheduled jobs once a second and whenever alerts_kick says a
 * check or a job run was recorded. */
#ifndef LOCKSTEP_ALERTS_H
#define LOCKSTEP_ALERTS_H

#include "config/config.h"
#include "service/app.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERT_RULE_STATUS_CRITICAL "status_critical"
#define ALERT_RULE_STATUS_DEGRADED "status_degraded"
#define ALERT_RULE_BASELINE_DROP "consistency_below_baseline"
#define ALERT_RULE_INCONSISTENT "inconsistent_pairs"
#define ALERT_RULE_JOB_FAILED "job_failed"
#define ALERT_RULE_JOB_DEADMAN "job_not_succeeding"
#define ALERT_RULE_CHECK_SLOW "check_slow"
#define ALERT_RULE_WATCH_DIVERGENCE "watch_divergence"

#define ALERTS_MAX_CONDITIONS 17
#define ALERTS_MAX_ACTIVE 64
#define ALERTS_BASELINE_DROP_POINTS 2.0

struct daylog;

/* A rule: its name (the alertname label), severity and fixed `for` seconds
 * (the status rules take theirs from the configuration). */
struct alert_rule {
    const char *name;
    const char *severity; /* warning | critical */
    long for_seconds;
    const char *meaning;  /* one line, for the docs and the API */
};
/* The rules, in a fixed order; *n gets how many. */
const struct alert_rule *alerts_rules(size_t *n);
/* The rule called `name`, or NULL. */
const struct alert_rule *alerts_rule(const char *name);
/* The `for` duration of a rule in seconds under `cfg`. */
long alerts_rule_for(const struct config *cfg, const struct alert_rule *r);

/* What a rule sees right now for one subject. */
struct alert_condition {
    const struct alert_rule *rule;
    char subject[ALERT_SUBJECT_MAX]; /* the job of a job rule, else "" */
    bool active;
    char summary[ALERT_SUMMARY_MAX];
    char description[ALERT_DESCRIPTION_MAX];
};

/* The facts the rules read, gathered from the store. */
struct alerts_job_facts {
    const char *job;
    long interval_s;
    bool last_failed;         /* the latest finished run (success|failed) failed */
    char last_error[256];
    int64_t last_success_at;  /* 0: none among the newest 500 runs */
};
struct alerts_facts {
    bool has_check;
    struct check_run check;   /* the latest recorded check */
    bool has_baseline;
    int64_t baseline_id;
    double baseline_rate;
    int64_t leader_since;     /* the latest scheduler start; 0: never started */
    struct alerts_job_facts jobs[2];
    struct check_run last_full; /* the last full sweep that set the watch state */
    bool has_last_full;
};
/* Read the facts. Returns 0 or a STORE_ERR_* code (store_errmsg(s)). */
int alerts_gather(struct store *s, const struct config *cfg, struct alerts_facts *f);
/* Every rule's condition for every subject at `now` into out[ALERTS_MAX_CONDITIONS];
 * returns how many. Pure. */
size_t alerts_conditions(const struct config *cfg, const struct alerts_facts *f, int64_t now,
                         struct alert_condition *out);

/* What an evaluation did. */
struct alerts_outcome {
    int opened, fired, resolved, notifications, suppressed;
    int64_t firing_warning, firing_critical; /* firing alerts after it */
};
/* Move the stored alerts by the conditions at `now` in one write transaction:
 * open pending alerts, fire them after their `for`, re-notify firing ones
 * every alert_repeat_interval, resolve them. Notifications (suppressed while
 * the rule is silenced) are queued in the outbox for each configured channel
 * and written to `log` (may be NULL) after the commit. Returns 0 or a
 * STORE_ERR_* code with err. */
int alerts_apply(struct store *s, const struct config *cfg, struct daylog *log, int64_t now,
                 const struct alert_condition *c, size_t n, struct alerts_outcome *out,
                 char *err, size_t errlen);
/* alerts_gather + alerts_conditions + alerts_apply at time_now_us(). */
int alerts_evaluate(struct store *s, const struct config *cfg, struct daylog *log,
                    struct alerts_outcome *out, char *err, size_t errlen);
/* The same for the conditions of one rule only (the others' alerts are left
 * as they are): what a follower of the scheduled jobs evaluates. */
int alerts_evaluate_rule(struct store *s, const struct config *cfg, struct daylog *log,
                         const char *rule, struct alerts_outcome *out, char *err,
                         size_t errlen);

/* ---- the API's view ---------------------------------------------------------- */

#define ALERTS_SILENCE_MAX_S (366 * 86400) /* the longest silence */

/* Record a silence of `rule` from `now` until `until` with a comment (may be
 * NULL or ""; at most ALERT_COMMENT_MAX bytes), made by `user` (0: none).
 * Returns 0 with *out filled, LS_ERR_VALIDATION with err (unknown rule, until
 * not after now or more than ALERTS_SILENCE_MAX_S away, comment too long), or
 * another LS_ERR_* code. */
int alerts_silence_add(struct store *s, const char *rule, int64_t now, int64_t until,
                       const char *comment, int64_t user, struct alert_silence *out, char *err,
                       size_t errlen);
/* A silence as JSON (id, rule, starts_at, ends_at, comment, created_by,
 * created_at, deleted_at, active at `now`). New reference or NULL. */
json_t *alerts_silence_json(const struct alert_silence *si, int64_t now);
/* The alerts overview: {"firing": [...], "pending": [...], "history": [...]
 * (the latest `history_limit` alerts, each with its deliveries and their
 * attempts), "silences": [in force now], "rules": [...], "channels": {...}}.
 * New reference, or NULL with *rc a STORE_ERR_* code (or STORE_ERR on no
 * memory). */
json_t *alerts_overview_json(struct store *s, const struct config *cfg, int64_t now,
                             int64_t history_limit, int *rc);

/* The evaluation thread of `serve`: the leader of the scheduled jobs evaluates
 * every rule, a follower the dead-man rule only (so a stopped or frozen leader
 * is still noticed). Evaluations of all processes take turns (alert_eval_lock)
 * and an alert is open at most once per rule and subject, so two processes
 * never raise or notify one twice. Returns NULL when the thread cannot start
 * (err says why). */
struct alerts;
/* Whether this process leads the scheduled jobs, asked before each pass of
 * the evaluation (and of the outbox, notify_start). */
typedef bool (*alerts_leader_fn)(void *ctx);
struct alerts *alerts_start(struct app *app, alerts_leader_fn is_leader, void *leader_ctx,
                            char *err, size_t errlen);
/* Evaluate soon: a check or a job run was recorded. NULL is ignored. */
void alerts_kick(struct alerts *a);
/* Stop the thread (an evaluation in progress ends first) and free it. Call it
 * once nothing kicks it any more (the job-done hook removed, the HTTP server
 * stopped), and before the scheduler it asks about stops. NULL is ignored. */
void alerts_stop(struct alerts *a);

#endif

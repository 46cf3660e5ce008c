/* pg_alerts.c — the PostgreSQL store's alerts, silences and the
 * notification outbox (deliveries and their attempts). */
#include "store/columns.h"
#include "store/pg/pg_private.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- alerts, silences, the outbox ---------------------------------------------------- */

static void read_alert(PGresult *r, int i, struct alert *a)
{
    memset(a, 0, sizeof *a);
    a->id = c_i64(r, i, 0);
    c_copy(r, i, 1, a->rule, sizeof a->rule);
    c_copy(r, i, 2, a->subject, sizeof a->subject);
    c_copy(r, i, 3, a->severity, sizeof a->severity);
    c_copy(r, i, 4, a->state, sizeof a->state);
    c_copy(r, i, 5, a->summary, sizeof a->summary);
    c_copy(r, i, 6, a->description, sizeof a->description);
    a->started_at = c_time(r, i, 7);
    a->fired_at = c_time(r, i, 8);
    a->resolved_at = c_time(r, i, 9);
    a->last_notified_at = c_time(r, i, 10);
    a->notifications = c_i64(r, i, 11);
    c_copy(r, i, 12, a->message_id, sizeof a->message_id);
}

int pg_alert_insert(struct store *s, struct alert *a)
{
    struct params p = {0};
    p.v[0] = a->rule;
    p.v[1] = a->subject;
    p.v[2] = a->severity;
    p.v[3] = a->state;
    p.v[4] = a->summary;
    p.v[5] = a->description;
    p_time(&p, 6, a->started_at);
    p_time(&p, 7, a->fired_at);
    p_time(&p, 8, a->resolved_at);
    p_time(&p, 9, a->last_notified_at);
    p_i64(&p, 10, a->notifications);
    p.v[11] = a->message_id;
    int rc;
    PGresult *res = pg_run(PS(s), Q_ALERT_INSERT, 12, p.v, "record alert", &rc);
    if (!res)
        return rc;
    a->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_alert_update(struct store *s, const struct alert *a)
{
    struct params p = {0};
    p_i64(&p, 0, a->id);
    p.v[1] = a->severity;
    p.v[2] = a->state;
    p.v[3] = a->summary;
    p.v[4] = a->description;
    p_time(&p, 5, a->fired_at);
    p_time(&p, 6, a->resolved_at);
    p_time(&p, 7, a->last_notified_at);
    p_i64(&p, 8, a->notifications);
    p.v[9] = a->message_id;
    return pg_exec_q(PS(s), Q_ALERT_UPDATE, 10, p.v, "update alert");
}

int pg_alert_list(struct store *s, bool active_only, int64_t limit, store_alert_cb cb,
                  void *ctx)
{
    struct params p = {0};
    p_id_or_null(&p, 0, limit > 0 ? limit : 0);
    int rc;
    PGresult *res = pg_run(PS(s), active_only ? Q_ALERT_LIST_ACTIVE : Q_ALERT_LIST_ALL, 1, p.v,
                        "list alerts", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct alert a;
        read_alert(res, i, &a);
        out = cb(ctx, &a);
    }
    PQclear(res);
    return out;
}

int pg_silence_insert(struct store *s, struct alert_silence *si)
{
    struct params p = {0};
    p.v[0] = si->rule;
    p_time(&p, 1, si->starts_at);
    p_time(&p, 2, si->ends_at);
    p.v[3] = si->comment;
    p_id_or_null(&p, 4, si->created_by);
    p_time(&p, 5, si->created_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_SILENCE_INSERT, 6, p.v, "record silence", &rc);
    if (!res)
        return rc;
    si->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_silence_list(struct store *s, int64_t at, int64_t limit, store_silence_cb cb,
                    void *ctx)
{
    struct params p = {0};
    int rc;
    PGresult *res;
    if (at) {
        p_time(&p, 0, at);
        p_id_or_null(&p, 1, limit > 0 ? limit : 0);
        res = pg_run(PS(s), Q_SILENCE_LIST_AT, 2, p.v, "list silences", &rc);
    } else {
        p_id_or_null(&p, 0, limit > 0 ? limit : 0);
        res = pg_run(PS(s), Q_SILENCE_LIST_ALL, 1, p.v, "list silences", &rc);
    }
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct alert_silence si;
        memset(&si, 0, sizeof si);
        si.id = c_i64(res, i, 0);
        c_copy(res, i, 1, si.rule, sizeof si.rule);
        si.starts_at = c_time(res, i, 2);
        si.ends_at = c_time(res, i, 3);
        c_copy(res, i, 4, si.comment, sizeof si.comment);
        si.created_by = c_i64(res, i, 5);
        si.created_at = c_time(res, i, 6);
        si.deleted_at = c_time(res, i, 7);
        out = cb(ctx, &si);
    }
    PQclear(res);
    return out;
}

int pg_silence_delete(struct store *s, int64_t id, int64_t when)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    p_time(&p, 1, when);
    int rc;
    PGresult *res = pg_run(PS(s), Q_SILENCE_DELETE, 2, p.v, "delete silence", &rc);
    if (!res)
        return rc;
    int n = pg_count_changed(res);
    PQclear(res);
    if (n == 0)
        return store_fail(s, STORE_ERR_NOT_FOUND, "silence %lld: not found", (long long)id);
    return 0;
}

static void read_delivery(PGresult *r, int i, struct alert_delivery *d)
{
    d->id = c_i64(r, i, 0);
    d->alert_id = c_i64(r, i, 1);
    c_copy(r, i, 2, d->channel, sizeof d->channel);
    c_copy(r, i, 3, d->event, sizeof d->event);
    c_copy(r, i, 4, d->status, sizeof d->status);
    d->attempts = c_i64(r, i, 5);
    d->created_at = c_time(r, i, 6);
    d->next_attempt_at = c_time(r, i, 7);
    d->delivered_at = c_time(r, i, 8);
    c_copy(r, i, 9, d->last_error, sizeof d->last_error);
    c_copy(r, i, 10, d->payload, sizeof d->payload);
    c_copy(r, i, 11, d->message_id, sizeof d->message_id);
    c_copy(r, i, 12, d->in_reply_to, sizeof d->in_reply_to);
}

int pg_delivery_insert(struct store *s, struct alert_delivery *d)
{
    struct params p = {0};
    p_i64(&p, 0, d->alert_id);
    p.v[1] = d->channel;
    p.v[2] = d->event;
    p.v[3] = d->status;
    p_i64(&p, 4, d->attempts);
    p_time(&p, 5, d->created_at);
    p_time(&p, 6, d->next_attempt_at);
    p_time(&p, 7, d->delivered_at);
    p.v[8] = d->last_error;
    p.v[9] = d->payload;
    p.v[10] = d->message_id;
    p.v[11] = d->in_reply_to;
    int rc;
    PGresult *res = pg_run(PS(s), Q_DELIVERY_INSERT, 12, p.v, "queue alert delivery", &rc);
    if (!res)
        return rc;
    d->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_delivery_update(struct store *s, const struct alert_delivery *d)
{
    struct params p = {0};
    p_i64(&p, 0, d->id);
    p.v[1] = d->status;
    p_i64(&p, 2, d->attempts);
    p_time(&p, 3, d->next_attempt_at);
    p_time(&p, 4, d->delivered_at);
    p.v[5] = d->last_error;
    return pg_exec_q(PS(s), Q_DELIVERY_UPDATE, 6, p.v, "update alert delivery");
}

static int each_delivery(struct pg_store *ps, PGresult *res, store_delivery_cb cb, void *ctx)
{
    struct alert_delivery *d = malloc(sizeof *d);
    if (!d) {
        PQclear(res);
        return store_fail(&ps->base, STORE_ERR, "list alert deliveries: out of memory");
    }
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        memset(d, 0, sizeof *d);
        read_delivery(res, i, d);
        out = cb(ctx, d);
    }
    free(d);
    PQclear(res);
    return out;
}

int pg_delivery_due(struct store *s, int64_t now, int64_t limit, store_delivery_cb cb,
                    void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, now);
    p_id_or_null(&p, 1, limit > 0 ? limit : 0);
    int rc;
    PGresult *res = pg_run(PS(s), Q_DELIVERY_DUE, 2, p.v, "list due alert deliveries", &rc);
    return res ? each_delivery(PS(s), res, cb, ctx) : rc;
}

int pg_delivery_list(struct store *s, int64_t alert_id, store_delivery_cb cb, void *ctx)
{
    struct params p = {0};
    p_i64(&p, 0, alert_id);
    int rc;
    PGresult *res = pg_run(PS(s), Q_DELIVERY_LIST, 1, p.v, "list alert deliveries", &rc);
    return res ? each_delivery(PS(s), res, cb, ctx) : rc;
}

int pg_delivery_next_due(struct store *s, int64_t *when)
{
    return pg_one_time(PS(s), Q_DELIVERY_NEXT_DUE, 0, NULL, when, "next alert delivery");
}

int pg_attempt_insert(struct store *s, struct alert_attempt *a)
{
    struct params p = {0};
    p_i64(&p, 0, a->delivery_id);
    p_time(&p, 1, a->attempted_at);
    p_bool(&p, 2, a->ok);
    p.v[3] = a->error;
    int rc;
    PGresult *res = pg_run(PS(s), Q_ATTEMPT_INSERT, 4, p.v, "record delivery attempt", &rc);
    if (!res)
        return rc;
    a->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_attempt_list(struct store *s, int64_t delivery_id, store_attempt_cb cb, void *ctx)
{
    struct params p = {0};
    p_i64(&p, 0, delivery_id);
    int rc;
    PGresult *res = pg_run(PS(s), Q_ATTEMPT_LIST, 1, p.v, "list delivery attempts", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct alert_attempt a;
        memset(&a, 0, sizeof a);
        a.id = c_i64(res, i, 0);
        a.delivery_id = c_i64(res, i, 1);
        a.attempted_at = c_time(res, i, 2);
        a.ok = c_bool(res, i, 3);
        c_copy(res, i, 4, a.error, sizeof a.error);
        out = cb(ctx, &a);
    }
    PQclear(res);
    return out;
}

/* sqlite_alerts.c — the SQLite store's alerts, silences and the
 * notification outbox (deliveries and their attempts). */
#include "store/columns.h"
#include "store/sqlite/sqlite_private.h"
#include "util/timeutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- alerts, silences, the outbox --------------------------------------------- */

static void read_alert(sqlite3_stmt *st, struct alert *a)
{
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, a->rule, sizeof a->rule);
    sq_col_copy(st, 2, a->subject, sizeof a->subject);
    sq_col_copy(st, 3, a->severity, sizeof a->severity);
    sq_col_copy(st, 4, a->state, sizeof a->state);
    sq_col_copy(st, 5, a->summary, sizeof a->summary);
    sq_col_copy(st, 6, a->description, sizeof a->description);
    a->started_at = sq_col_time(st, 7);
    a->fired_at = sq_col_time(st, 8);
    a->resolved_at = sq_col_time(st, 9);
    a->last_notified_at = sq_col_time(st, 10);
    a->notifications = sqlite3_column_int64(st, 11);
    sq_col_copy(st, 12, a->message_id, sizeof a->message_id);
}

int sq_alert_insert(struct store *s, struct alert *a)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_ALERT_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->summary, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, a->description, -1, SQLITE_STATIC);
    sq_bind_time(st, 7, a->started_at);
    sq_bind_time(st, 8, a->fired_at);
    sq_bind_time(st, 9, a->resolved_at);
    sq_bind_time(st, 10, a->last_notified_at);
    sqlite3_bind_int64(st, 11, a->notifications);
    sqlite3_bind_text(st, 12, a->message_id, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "record alert");
    if (rc == 0)
        a->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_alert_update(struct store *s, const struct alert *a)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_ALERT_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, a->severity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->summary, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->description, -1, SQLITE_STATIC);
    sq_bind_time(st, 6, a->fired_at);
    sq_bind_time(st, 7, a->resolved_at);
    sq_bind_time(st, 8, a->last_notified_at);
    sqlite3_bind_int64(st, 9, a->notifications);
    sqlite3_bind_text(st, 10, a->message_id, -1, SQLITE_STATIC);
    return sq_exec_stmt(ss, st, "update alert");
}

int sq_alert_list(struct store *s, bool active_only, int64_t limit, store_alert_cb cb,
                  void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, active_only ? ST_ALERT_LIST_ACTIVE : ST_ALERT_LIST_ALL);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct alert a;
        read_alert(st, &a);
        if ((out = cb(ctx, &a)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list alerts");
    sqlite3_reset(st);
    return out;
}

int sq_silence_insert(struct store *s, struct alert_silence *si)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SILENCE_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, si->rule, -1, SQLITE_STATIC);
    sq_bind_time(st, 2, si->starts_at);
    sq_bind_time(st, 3, si->ends_at);
    sqlite3_bind_text(st, 4, si->comment, -1, SQLITE_STATIC);
    sq_bind_id_or_null(st, 5, si->created_by);
    sq_bind_time(st, 6, si->created_at);
    int rc = sq_exec_stmt(ss, st, "record silence");
    if (rc == 0)
        si->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_silence_list(struct store *s, int64_t at, int64_t limit, store_silence_cb cb,
                    void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, at ? ST_SILENCE_LIST_AT : ST_SILENCE_LIST_ALL);
    if (!st)
        return STORE_ERR;
    if (at) {
        sq_bind_time(st, 1, at);
        sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
    } else {
        sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
    }
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct alert_silence si;
        memset(&si, 0, sizeof si);
        si.id = sqlite3_column_int64(st, 0);
        sq_col_copy(st, 1, si.rule, sizeof si.rule);
        si.starts_at = sq_col_time(st, 2);
        si.ends_at = sq_col_time(st, 3);
        sq_col_copy(st, 4, si.comment, sizeof si.comment);
        si.created_by = sqlite3_column_int64(st, 5);
        si.created_at = sq_col_time(st, 6);
        si.deleted_at = sq_col_time(st, 7);
        if ((out = cb(ctx, &si)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list silences");
    sqlite3_reset(st);
    return out;
}

int sq_silence_delete(struct store *s, int64_t id, int64_t when)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SILENCE_DELETE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sq_bind_time(st, 2, when);
    int rc = sq_exec_stmt(ss, st, "delete silence");
    if (rc == 0 && sqlite3_changes(ss->db) == 0)
        return store_fail(s, STORE_ERR_NOT_FOUND, "silence %lld: not found", (long long)id);
    return rc;
}

static void read_delivery(sqlite3_stmt *st, struct alert_delivery *d)
{
    d->id = sqlite3_column_int64(st, 0);
    d->alert_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, d->channel, sizeof d->channel);
    sq_col_copy(st, 3, d->event, sizeof d->event);
    sq_col_copy(st, 4, d->status, sizeof d->status);
    d->attempts = sqlite3_column_int64(st, 5);
    d->created_at = sq_col_time(st, 6);
    d->next_attempt_at = sq_col_time(st, 7);
    d->delivered_at = sq_col_time(st, 8);
    sq_col_copy(st, 9, d->last_error, sizeof d->last_error);
    sq_col_copy(st, 10, d->payload, sizeof d->payload);
    sq_col_copy(st, 11, d->message_id, sizeof d->message_id);
    sq_col_copy(st, 12, d->in_reply_to, sizeof d->in_reply_to);
}

int sq_delivery_insert(struct store *s, struct alert_delivery *d)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_DELIVERY_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, d->alert_id);
    sqlite3_bind_text(st, 2, d->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->event, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, d->attempts);
    sq_bind_time(st, 6, d->created_at);
    sq_bind_time(st, 7, d->next_attempt_at);
    sq_bind_time(st, 8, d->delivered_at);
    sqlite3_bind_text(st, 9, d->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, d->payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, d->message_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, d->in_reply_to, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "queue alert delivery");
    if (rc == 0)
        d->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_delivery_update(struct store *s, const struct alert_delivery *d)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_DELIVERY_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_text(st, 2, d->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, d->attempts);
    sq_bind_time(st, 4, d->next_attempt_at);
    sq_bind_time(st, 5, d->delivered_at);
    sqlite3_bind_text(st, 6, d->last_error, -1, SQLITE_STATIC);
    return sq_exec_stmt(ss, st, "update alert delivery");
}

static int each_delivery(struct sqlite_store *ss, sqlite3_stmt *st, store_delivery_cb cb,
                         void *ctx)
{
    struct alert_delivery *d = malloc(sizeof *d);
    if (!d) {
        sqlite3_reset(st);
        return store_fail(&ss->base, STORE_ERR, "list alert deliveries: out of memory");
    }
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_delivery(st, d);
        if ((out = cb(ctx, d)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list alert deliveries");
    sqlite3_reset(st);
    free(d);
    return out;
}

int sq_delivery_due(struct store *s, int64_t now, int64_t limit, store_delivery_cb cb,
                    void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_DELIVERY_DUE);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, now);
    sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
    return each_delivery(ss, st, cb, ctx);
}

int sq_delivery_list(struct store *s, int64_t alert_id, store_delivery_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_DELIVERY_LIST);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, alert_id);
    return each_delivery(ss, st, cb, ctx);
}

int sq_delivery_next_due(struct store *s, int64_t *when)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_DELIVERY_NEXT_DUE);
    return st ? sq_first_time(ss, st, when, "next alert delivery") : STORE_ERR;
}

int sq_attempt_insert(struct store *s, struct alert_attempt *a)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_ATTEMPT_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, a->delivery_id);
    sq_bind_time(st, 2, a->attempted_at);
    sqlite3_bind_int(st, 3, a->ok ? 1 : 0);
    sqlite3_bind_text(st, 4, a->error, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "record delivery attempt");
    if (rc == 0)
        a->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_attempt_list(struct store *s, int64_t delivery_id, store_attempt_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_ATTEMPT_LIST);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, delivery_id);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct alert_attempt a;
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(st, 0);
        a.delivery_id = sqlite3_column_int64(st, 1);
        a.attempted_at = sq_col_time(st, 2);
        a.ok = sqlite3_column_int(st, 3) != 0;
        sq_col_copy(st, 4, a.error, sizeof a.error);
        if ((out = cb(ctx, &a)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list delivery attempts");
    sqlite3_reset(st);
    return out;
}

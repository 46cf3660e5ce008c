/* watch.c — the watcher: batches of changed pairs re-classified from their
 * current rows, the open violations and counts moved with them, and the
 * thread of serve that applies them as the capture triggers report them (or
 * as its polls of the updated_at columns find them: [watch] mode = poll). */
#include "service/watch.h"

#include "config/config.h"
#include "model/pair.h"
#include "service/app.h"
#include "service/daylog.h"
#include "service/check.h"
#include "service/errors.h"
#include "service/metrics.h"
#include "service/monitor.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool watch_active(const struct config *cfg, const struct store *s)
{
    return strcmp(cfg->watch_mode, "off") != 0 && s->ops->watch_changes != NULL;
}

bool watch_polls(const struct config *cfg)
{
    return !strcmp(cfg->watch_mode, "poll");
}

void watch_check_options(const struct config *cfg, struct store *s, struct check_options *o)
{
    if (o->dry_run || !s->ops->watch_reset)
        return;
    o->watch = true;
    o->watch_poll = watch_polls(cfg);
    struct watch_state st;
    o->watch_compare = watch_active(cfg, s) && s->ops->watch_state_get(s, &st) == 0 &&
                       st.initialized && !st.sweep_requested;
}

/* ---- one batch ---------------------------------------------------------------- */

/* A batch is read (its change rows, its pairs as they are now, each one
 * classified, the moves of the open violations, the users counted) in one
 * transaction, and written (the moves, the change rows deleted, the counts
 * moved) in one: the same transaction for watch_apply_batch; for
 * watch_drain, a read transaction on a connection of its own, so that the
 * next batch is read while this one is written. */
struct batch {
    struct store *s;       /* where the batch is read */
    const char *direction;
    int64_t now;
    int64_t max_rows, after_id; /* watch_changes' bound */
    const int64_t *skip;   /* users left pending (sorted): a batch being written */
    size_t n_skip;
    int64_t above;         /* rows above after_id read, skipped or not */
    int64_t first_max;     /* the id of the last of the first max_rows of them */
    struct pair_change *rows;
    size_t n_rows, cap_rows;
    struct pair_key *keys; /* the changed pairs, sorted, each once */
    int *key_delta;        /* Σ delta of each key's changes */
    size_t n_keys;
    int64_t *users;        /* the changed users, sorted, each once */
    int64_t *user_delta, *counted, *user_rows;
    size_t n_users;
    struct pair_levels *pairs; /* pairs_get's answer, in key order */
    size_t n_pairs;
    int64_t *ids;
    struct violation_move *moves; /* what changes in the open violations */
    size_t n_moves, cap_moves;
    size_t *mailless;      /* the moves that open a violation and need its email */
    size_t n_mailless, cap_mailless;
    double lag;            /* of the oldest change, at the read */
    bool ahead;            /* read while the batch before it was written */
    struct watch_batch out;
};

static void batch_free(struct batch *b)
{
    free(b->rows);
    free(b->keys);
    free(b->key_delta);
    free(b->users);
    free(b->user_delta);
    free(b->counted);
    free(b->user_rows);
    free(b->pairs);
    free(b->ids);
    free(b->moves);
    free(b->mailless);
}

static int take_row(void *ctx, const struct pair_change *c)
{
    struct batch *b = ctx;
    if (c->id > b->after_id && (b->max_rows <= 0 || b->above < b->max_rows)) {
        b->above++;
        b->first_max = c->id;
    }
    if (b->n_skip && bsearch(&c->user_id, b->skip, b->n_skip, sizeof *b->skip, array_cmp_i64))
        return 0; /* its user's batch is being written: the row waits */
    if (ARRAY_RESERVE(b->rows, b->n_rows, b->cap_rows, 256) != 0)
        return store_fail(b->s, STORE_ERR_NOMEM, "out of memory reading changes");
    b->rows[b->n_rows++] = *c;
    return 0;
}

static int take_pair(void *ctx, const struct pair_levels *p)
{
    struct batch *b = ctx;
    if (b->n_pairs >= b->n_keys)
        return store_fail(b->s, STORE_ERR, "pairs_get answered more pairs than asked");
    b->pairs[b->n_pairs++] = *p;
    return 0;
}

static int cmp_change_key(const void *a, const void *b)
{
    const struct pair_change *x = a, *y = b;
    if (x->user_id != y->user_id)
        return x->user_id < y->user_id ? -1 : 1;
    return strcmp(x->spec, y->spec);
}

/* Group the rows by pair and by user, with the sum of their deltas. */
static int group_rows(struct batch *b)
{
    size_t n = b->n_rows;
    b->ids = malloc(n * sizeof *b->ids);
    b->keys = malloc(n * sizeof *b->keys);
    b->key_delta = calloc(n, sizeof *b->key_delta);
    b->users = malloc(n * sizeof *b->users);
    b->user_delta = calloc(n, sizeof *b->user_delta);
    b->counted = malloc(n * sizeof *b->counted);
    b->user_rows = calloc(n, sizeof *b->user_rows);
    b->pairs = malloc(n * sizeof *b->pairs);
    if (!b->ids || !b->keys || !b->key_delta || !b->users || !b->user_delta || !b->counted ||
        !b->user_rows || !b->pairs)
        return store_fail(b->s, STORE_ERR_NOMEM, "out of memory grouping changes");
    for (size_t i = 0; i < n; i++)
        b->ids[i] = b->rows[i].id;
    qsort(b->rows, n, sizeof *b->rows, cmp_change_key);
    for (size_t i = 0; i < n; i++) {
        const struct pair_change *c = &b->rows[i];
        if (i == 0 || cmp_change_key(c, &b->rows[i - 1]) != 0) {
            b->keys[b->n_keys].user_id = c->user_id;
            memcpy(b->keys[b->n_keys].spec, c->spec, sizeof c->spec);
            b->n_keys++;
        }
        b->key_delta[b->n_keys - 1] += c->delta;
        if (i == 0 || c->user_id != b->rows[i - 1].user_id)
            b->users[b->n_users++] = c->user_id;
        b->user_delta[b->n_users - 1] += c->delta;
    }
    return 0;
}

/* Rows a side of a pair has now. */
static int64_t side_rows(bool has, int64_t rows)
{
    return has ? (rows > 1 ? rows : 1) : 0;
}

/* The rest of the brief open violations the batch's moves need (a backend
 * that reads them on demand: open_details): those of the pairs still
 * inconsistent with the same issue type, whose violation is updated in place
 * or left as it is. The others are resolved, or replaced by one of another
 * type: their issue type is all they need. */
static int fill_open_details(struct batch *b)
{
    struct store *s = b->s;
    if (!s->ops->open_details)
        return 0;
    struct open_violation **need = NULL;
    size_t n = 0;
    for (size_t i = 0; i < b->n_pairs; i++) {
        struct pair_levels *p = &b->pairs[i];
        struct violation v;
        if (!p->has_open || !p->open.brief || !(p->has_progress || p->has_license) ||
            !pair_violation(p, b->direction, &v) || strcmp(p->open.issue_type, v.issue_type))
            continue;
        if (!need && !(need = malloc(b->n_pairs * sizeof *need)))
            return store_fail(s, STORE_ERR_NOMEM, "out of memory");
        need[n++] = &p->open;
    }
    int rc = n ? s->ops->open_details(s, need, n) : 0;
    free(need);
    return rc;
}

/* The next move of the batch, for pair i (NULL: out of memory). */
static struct violation_move *next_move(struct batch *b, size_t i)
{
    if (ARRAY_RESERVE(b->moves, b->n_moves, b->cap_moves, 256) != 0)
        return NULL;
    struct violation_move *m = &b->moves[b->n_moves++];
    const struct pair_levels *p = &b->pairs[i];
    m->key = b->keys[i];
    str_copy(m->open_type, sizeof m->open_type, p->has_open ? p->open.issue_type : "");
    m->open_id = p->has_open && !p->open_more ? p->open.id : 0;
    m->has_v = false;
    return m;
}

/* Count pair i and note the move of its open violation to what its rows say
 * now (nothing when it already says it). */
static int apply_pair(struct batch *b, size_t i)
{
    struct store *s = b->s;
    const struct pair_levels *p = &b->pairs[i];
    int64_t now_rows = side_rows(p->has_progress, p->progress_rows) +
                       side_rows(p->has_license, p->license_rows);
    int64_t before = now_rows - b->key_delta[i];
    b->out.dpairs += (now_rows > 0) - (before > 0);
    struct violation v;
    bool bad = (p->has_progress || p->has_license) && pair_violation(p, b->direction, &v);
    b->out.dviolations += (int64_t)bad - (int64_t)p->has_open;
    b->out.pairs++;
    if (!bad) {
        if (!p->has_open)
            return 0;
        b->out.resolved++;
        return next_move(b, i) ? 0 : store_fail(s, STORE_ERR_NOMEM, "out of memory");
    }
    bool same = p->has_open && !strcmp(p->open.issue_type, v.issue_type);
    if (same && pair_open_unchanged(&p->open, &v))
        return 0;
    if (same) {
        v.first_seen = p->open.first_seen;
        memcpy(v.user_email, p->open.user_email, sizeof v.user_email);
    } else {
        v.first_seen = b->now;
        v.user_email[0] = '\0';
        if (p->has_details && p->user_email[0]) /* read with the pair (PostgreSQL) */
            memcpy(v.user_email, p->user_email, sizeof v.user_email);
        else if (ARRAY_RESERVE(b->mailless, b->n_mailless, b->cap_mailless, 256) != 0)
            return store_fail(s, STORE_ERR_NOMEM, "out of memory");
        else /* read with the others' after the classification (fill_emails) */
            b->mailless[b->n_mailless++] = b->n_moves;
        b->out.opened++;
        if (p->has_open)
            b->out.resolved++;
    }
    struct violation_move *m = next_move(b, i);
    if (!m)
        return store_fail(s, STORE_ERR_NOMEM, "out of memory");
    m->has_v = true;
    m->v = v;
    return 0;
}

/* user_emails' answer for user `id`: into each of its mailless moves (found
 * by bisection: they are in user order, as the moves are). */
static int take_email(void *ctx, int64_t id, const char *email)
{
    struct batch *b = ctx;
    size_t lo = 0, hi = b->n_mailless;
    while (lo < hi) { /* the first mailless move of a user >= id */
        size_t mid = lo + (hi - lo) / 2;
        if (b->moves[b->mailless[mid]].v.user_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < b->n_mailless && b->moves[b->mailless[lo]].v.user_id == id; lo++)
        str_copy(b->moves[b->mailless[lo]].v.user_email,
                 sizeof b->moves[b->mailless[lo]].v.user_email, email);
    return 0;
}

/* The emails of the violations the batch opens: their users' together when
 * the store reads several at once, else one by one. A user who is gone
 * leaves "" (as user_email says). */
static int fill_emails(struct batch *b)
{
    struct store *s = b->s;
    if (!b->n_mailless)
        return 0;
    if (!s->ops->user_emails) {
        for (size_t i = 0; i < b->n_mailless; i++) {
            struct violation *v = &b->moves[b->mailless[i]].v;
            int rc = s->ops->user_email(s, v->user_id, v->user_email, NULL);
            if (rc && rc != STORE_ERR_NOT_FOUND)
                return rc;
        }
        return 0;
    }
    int64_t *ids = malloc(b->n_mailless * sizeof *ids);
    if (!ids)
        return store_fail(s, STORE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < b->n_mailless; i++) { /* in user order: each once */
        int64_t u = b->moves[b->mailless[i]].v.user_id;
        if (n == 0 || ids[n - 1] != u)
            ids[n++] = u;
    }
    int rc = s->ops->user_emails(s, ids, n, take_email, b);
    free(ids);
    return rc;
}

/* The batch read inside a transaction on b->s: everything but the writes. */
static int batch_read(struct batch *b)
{
    struct store *s = b->s;
    int rc = s->ops->watch_changes(s, b->max_rows, b->after_id, take_row, b);
    if (rc || b->n_rows == 0)
        return rc;
    if ((rc = group_rows(b)) != 0)
        return rc;
    if ((rc = s->ops->pairs_get(s, b->keys, b->n_keys, take_pair, b)) != 0)
        return rc;
    if (b->n_pairs != b->n_keys)
        return store_fail(s, STORE_ERR, "pairs_get answered %zu of %zu pairs", b->n_pairs,
                          b->n_keys);
    if ((rc = fill_open_details(b)) != 0)
        return rc;
    for (size_t i = 0; i < b->n_keys; i++)
        if ((rc = apply_pair(b, i)) != 0)
            return rc;
    if ((rc = fill_emails(b)) != 0)
        return rc;
    /* A user whose changes add up to no rows neither appeared nor went: only
     * the others are counted (a batch of level changes counts nobody). */
    size_t moved = 0;
    for (size_t i = 0; i < b->n_users; i++)
        if (b->user_delta[i] != 0) {
            b->counted[moved] = b->users[i];
            b->user_delta[moved++] = b->user_delta[i];
        }
    if (moved && (rc = s->ops->user_rows(s, b->counted, moved, b->user_rows)) != 0)
        return rc;
    for (size_t i = 0; i < moved; i++) {
        int64_t before = b->user_rows[i] - b->user_delta[i];
        b->out.dusers += (b->user_rows[i] > 0) - (before > 0);
    }
    double oldest = b->rows[0].changed_at;
    for (size_t i = 1; i < b->n_rows; i++)
        if (b->rows[i].changed_at < oldest)
            oldest = b->rows[i].changed_at;
    double lag = (double)b->now / 1e6 - oldest;
    b->lag = lag > 0 ? lag : 0;
    /* What the write needs is in moves, ids and the counts: the pairs (the
     * bulk of a batch's memory) go now, while the next batch is read. */
    free(b->pairs);
    free(b->key_delta);
    b->pairs = NULL;
    b->key_delta = NULL;
    return 0;
}

/* The batch's writes inside a transaction on w. */
static int batch_write(struct batch *b, struct store *w)
{
    int rc = b->n_moves ? w->ops->violations_move(w, b->moves, b->n_moves, b->now) : 0;
    return rc ? rc
              : w->ops->watch_advance(w, b->ids, b->n_rows, b->out.dpairs, b->out.dusers,
                                      b->out.dviolations, b->lag, b->now);
}

/* A batch done: its change rows and each one's detection lag (its commit to
 * this batch's) counted. */
static void batch_done(const struct batch *b, struct metrics *metrics)
{
    double *lags = malloc(b->n_rows * sizeof *lags), done = (double)time_now_us() / 1e6;
    for (size_t i = 0; lags && i < b->n_rows; i++)
        lags[i] = done > b->rows[i].changed_at ? done - b->rows[i].changed_at : 0;
    metrics_watch_batch(metrics, (int64_t)b->n_rows, lags, lags ? b->n_rows : 0);
    free(lags);
}

static void batch_init(struct batch *b, struct store *s, const char *direction, int64_t max_rows)
{
    memset(b, 0, sizeof *b);
    b->s = s;
    b->direction = direction;
    b->max_rows = max_rows;
    b->after_id = INT64_MIN;
    b->now = time_now_us();
}

/* The batch's result for the caller (nothing when it failed). */
static void batch_out(const struct batch *b, int rc, struct watch_batch *out)
{
    memset(out, 0, sizeof *out);
    if (rc == 0 && b->n_rows) {
        *out = b->out;
        out->changes = (int64_t)b->n_rows;
        out->read_ahead = b->ahead;
    }
}

int watch_apply_batch(struct store *s, const char *direction, int64_t max_rows,
                      struct metrics *metrics, struct watch_batch *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = s->ops->watch_lock(s, true);
    if (rc) {
        snprintf(err, errlen, "watcher: %s", store_errmsg(s));
        return ls_from_store(rc);
    }
    struct batch b;
    batch_init(&b, s, direction, max_rows);
    if ((rc = s->ops->begin(s, STORE_TXN_SNAPSHOT)) == 0 && (rc = batch_read(&b)) == 0 &&
        (b.n_rows == 0 || (rc = batch_write(&b, s)) == 0))
        rc = s->ops->commit(s);
    if (rc) {
        snprintf(err, errlen, "watcher: %s", store_errmsg(s));
        if (s->in_txn)
            s->ops->rollback(s);
    } else if (b.n_rows) {
        batch_done(&b, metrics);
    }
    batch_out(&b, rc, out);
    (void)s->ops->watch_lock(s, false);
    batch_free(&b);
    return rc ? ls_from_store(rc) : 0;
}

/* ---- batches read ahead ---------------------------------------------------------- */

/* Read b in a read transaction of its store (err from that store). */
static int read_txn(struct batch *b)
{
    struct store *s = b->s;
    int rc = s->ops->begin(s, STORE_TXN_READ);
    if (rc == 0 && (rc = batch_read(b)) == 0)
        rc = s->ops->commit(s);
    if (rc && s->in_txn)
        s->ops->rollback(s);
    return rc;
}

/* Write b in a write transaction of w. */
static int write_txn(struct batch *b, struct store *w)
{
    int rc = w->ops->begin(w, STORE_TXN_SNAPSHOT);
    if (rc == 0 && (rc = batch_write(b, w)) == 0)
        rc = w->ops->commit(w);
    if (rc && w->in_txn)
        w->ops->rollback(w);
    return rc;
}

static void *read_ahead(void *arg)
{
    struct batch *b = arg;
    (void)pthread_setname_np(pthread_self(), "lockstep-read");
    return (void *)(intptr_t)read_txn(b);
}

/* The WAL copied into the database file beside the writer (SQLite): with a
 * reader always in a snapshot the WAL never starts over, so each of the
 * writer's commits past 1,000 pages checkpointed, two fsyncs on the path of
 * every batch (a third of its write). The checkpointer's connection does it
 * every WATCH_CHECKPOINT_MS instead while the drain holds the lock, and once
 * more when it stops. */
#define WATCH_CHECKPOINT_MS 20

struct checkpointer {
    struct store *s;
    atomic_bool done;
    pthread_t thread;
    bool running;
};

static void *checkpointer_main(void *arg)
{
    struct checkpointer *c = arg;
    (void)pthread_setname_np(pthread_self(), "lockstep-ckpt");
    for (bool last = false; !last;) {
        last = atomic_load(&c->done);
        /* A failed copy is made up by the next (the WAL keeps every frame). */
        (void)c->s->ops->wal_checkpoint(c->s);
        if (!last)
            time_sleep_ms(WATCH_CHECKPOINT_MS);
    }
    return NULL;
}

/* Start checkpointing on ck for writer s (nothing without ck or the ops). */
static void checkpointer_start(struct checkpointer *c, struct store *s, struct store *ck)
{
    memset(c, 0, sizeof *c);
    if (!ck || !ck->ops->wal_checkpoint || !s->ops->wal_autocheckpoint ||
        s->ops->wal_autocheckpoint(s, false) != 0)
        return;
    c->s = ck;
    atomic_init(&c->done, false);
    c->running = pthread_create(&c->thread, NULL, checkpointer_main, c) == 0;
    if (!c->running)
        (void)s->ops->wal_autocheckpoint(s, true);
}

static void checkpointer_stop(struct checkpointer *c, struct store *s)
{
    if (!c->running)
        return;
    atomic_store(&c->done, true);
    pthread_join(c->thread, NULL);
    (void)s->ops->wal_autocheckpoint(s, true);
    c->running = false;
}

/* How long watch_drain holds the watch lock before it lets a full sweep in
 * (it takes it again at once when changes are still pending). Each time it
 * takes the lock its first batch is read alone: 0.5 s cost a tenth of a
 * 200,000-pair burst (docs/benchmarks.md, run W5). */
#define WATCH_HOLD_US (1000 * 1000)

int watch_drain(struct store *s, struct store *rd, struct store *ck, const char *direction,
                int64_t max_rows, struct metrics *metrics,
                bool (*go_on)(void *, const struct watch_batch *), void *ctx, int64_t *applied,
                char *err, size_t errlen)
{
    *applied = 0;
    for (;;) {
        int rc = s->ops->watch_lock(s, true);
        if (rc) {
            snprintf(err, errlen, "watcher: %s", store_errmsg(s));
            return ls_from_store(rc);
        }
        int64_t held = time_mono_us(), before = *applied;
        bool more = true, took_all = false;
        /* Started with the first full batch: a drain of one small batch
         * has no reader ahead, and its commit checkpoints as any other. A
         * checkpointer per round made serve's CPU two fifths more under a
         * writer of 2,000 commits/s, applied in rounds of about 20
         * (docs/benchmarks.md, run W8). */
        struct checkpointer cp = {0};
        struct batch cur, next;
        batch_init(&cur, rd, direction, max_rows);
        struct store *failed = rd;
        rc = read_txn(&cur);
        while (rc == 0 && cur.n_rows > 0) {
            /* A full batch: more is pending. The next one is read while this
             * one is written: above this one's first rows, none of its users
             * (their rows wait for a later batch), in a snapshot where no
             * other batch or sweep can change a violation of its pairs, since
             * the watch lock is held until it is written. */
            bool full = cur.above >= max_rows && max_rows > 0;
            took_all = !full && !cur.ahead; /* not read ahead: nobody's rows skipped */
            bool ahead = full && time_mono_us() - held < WATCH_HOLD_US;
            pthread_t t;
            if (ahead && !cp.running)
                checkpointer_start(&cp, s, ck);
            if (ahead) {
                batch_init(&next, rd, direction, max_rows);
                next.after_id = cur.first_max;
                next.skip = cur.users;
                next.n_skip = cur.n_users;
                next.ahead = true;
                ahead = pthread_create(&t, NULL, read_ahead, &next) == 0;
                if (!ahead)
                    batch_free(&next);
            }
            failed = s;
            rc = write_txn(&cur, s);
            if (ahead) {
                void *res = NULL;
                pthread_join(t, &res);
                if (rc == 0 && (rc = (int)(intptr_t)res) != 0)
                    failed = rd;
            }
            if (rc == 0) {
                struct watch_batch out;
                batch_done(&cur, metrics);
                batch_out(&cur, 0, &out);
                *applied += out.changes;
                more = go_on(ctx, &out);
            }
            batch_free(&cur);
            memset(&cur, 0, sizeof cur);
            if (!ahead)
                break;
            cur = next; /* freed below when it is not written */
            if (rc || !more)
                break;
        }
        if (rc)
            snprintf(err, errlen, "watcher: %s", store_errmsg(failed));
        batch_free(&cur);
        checkpointer_stop(&cp, s);
        (void)s->ops->watch_lock(s, false);
        if (rc)
            return ls_from_store(rc);
        /* A first batch that was not full took all that was pending when
         * it was read; what came since wakes the watcher again
         * (watch_wait). After batches read ahead, the rows they skipped are
         * taken now. */
        if (!more || *applied == before || took_all)
            return 0;
    }
}

int watch_poll_changes(struct store *s, int64_t *taken, char *err, size_t errlen)
{
    *taken = 0;
    int rc = s->ops->watch_poll ? s->ops->watch_lock(s, true)
                                : store_fail(s, STORE_ERR, "the %s store cannot poll",
                                             s->ops->name);
    if (rc) {
        snprintf(err, errlen, "watcher: %s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if ((rc = s->ops->begin(s, STORE_TXN_SNAPSHOT)) == 0 &&
        (rc = s->ops->watch_poll(s, time_now_us(), taken)) == 0)
        rc = s->ops->commit(s);
    if (rc) {
        snprintf(err, errlen, "watcher: polling the updated_at columns: %s", store_errmsg(s));
        if (s->in_txn)
            s->ops->rollback(s);
        *taken = 0;
    }
    (void)s->ops->watch_lock(s, false);
    return rc ? ls_from_store(rc) : 0;
}

/* ---- the thread --------------------------------------------------------------- */

struct watcher {
    struct app *app;
    bool (*leads)(void *);
    void *leads_ctx;
    pthread_t thread;
    atomic_bool stop;
    struct store *st;
    struct store *rd;  /* where batches are read while the previous one is written */
    struct store *ck;  /* where the WAL is checkpointed while they are (SQLite) */
    bool leading;      /* led on the last round: a new lead sweeps first */
    bool swept;        /* a full sweep succeeded since this process leads */
    bool failing;      /* the last round failed (logged once until it recovers) */
    bool wake_told;    /* whether commits can wake it was looked at (logged when not) */
};

/* The watcher's connections closed (opened again on the next round). */
static void close_connections(struct watcher *w)
{
    store_close(w->st);
    store_close(w->rd);
    store_close(w->ck);
    w->st = w->rd = w->ck = NULL;
}

static void day_line(const struct watcher *w, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void day_line(const struct watcher *w, enum log_level level, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct daylog *log = daylog_open(w->app->cfg.data_dir);
    if (!log) { /* no memory: the process log at least */
        log_msg(level, "watcher", "%s", msg);
        return;
    }
    daylog_write(log, level, "watcher", "%s", msg); /* to the process log too */
    daylog_close(log);
}

/* A round that failed: said once, the connection dropped and opened again
 * on the next round (the database may have gone and come back). */
static void round_failed(struct watcher *w, const char *err)
{
    if (!w->failing)
        day_line(w, LOG_ERROR, "%s; the watcher retries every second (the pending changes wait in the store)",
                 err);
    w->failing = true;
    close_connections(w);
    time_sleep_ms(1000);
}

static bool lease_cb(void *ctx)
{
    struct watcher *w = ctx;
    return w->leads(w->leads_ctx);
}

/* A full sweep through the monitor (one check at a time). */
static int sweep(struct watcher *w, char *err, size_t errlen)
{
    struct monitor_check c = {.trigger = "scheduled", .wait = true, .full = true,
                              .may_record = lease_cb, .may_record_ctx = w};
    struct monitor_result res;
    int rc = monitor_run_check(w->app->monitor, w->st, &c, &res, err, errlen);
    if (rc == 0)
        free(res.report);
    return rc;
}

static bool sweep_due(const struct watcher *w, const struct watch_state *st)
{
    int64_t every = w->app->cfg.watch_full_sweep_interval * USEC_PER_SEC;
    return !w->swept || !st->initialized || st->sweep_requested ||
           time_now_us() - st->last_full_at >= every;
}

/* After each batch: the status is read again; go on while leading. */
static bool batch_applied(void *ctx, const struct watch_batch *b)
{
    (void)b;
    struct watcher *w = ctx;
    monitor_invalidate(w->app->monitor);
    return !atomic_load(&w->stop) && w->leads(w->leads_ctx);
}

/* Apply every pending change, batch after batch. Returns 0 or an LS_ERR_*. */
static int drain(struct watcher *w, char *err, size_t errlen)
{
    int rc = w->rd ? 0
                   : app_store_open_tuned(w->app, "watcher's reading connection",
                                          WATCH_READ_CACHE_KIB, false, &w->rd, err, errlen);
    if (rc == 0 && !w->ck && w->st->ops->wal_checkpoint)
        rc = app_store_open_tuned(w->app, "watcher's checkpointing connection",
                                  WATCH_CHECKPOINT_CACHE_KIB, false, &w->ck, err, errlen);
    if (rc)
        return ls_from_store(rc);
    int64_t applied;
    return watch_drain(w->st, w->rd, w->ck, w->app->cfg.sync_direction, WATCH_BATCH_ROWS,
                       w->app->metrics, batch_applied, w, &applied, err, errlen);
}

/* One round: lead, sweep when due, apply what is pending, wait. */
static void round_once(struct watcher *w)
{
    char err[600];
    struct app *app = w->app;
    if (!w->leads(w->leads_ctx)) {
        w->leading = false;
        time_sleep_ms(app->cfg.watch_poll_interval);
        return;
    }
    if (!w->leading) {
        w->leading = true;
        w->swept = false; /* at start, and when this process takes the lead */
    }
    /* The watcher's own writes delete change rows, nothing personal: freed
     * pages are not overwritten (5-10 % of its throughput, run W6). */
    if (!w->st && app_store_open_tuned(app, "watcher", 0, true, &w->st, err, sizeof err) != 0) {
        round_failed(w, err);
        return;
    }
    if (!w->st->ops->watch_changes) {
        snprintf(err, sizeof err, "watcher: the %s store has no change capture",
                 w->st->ops->name);
        round_failed(w, err);
        return;
    }
    struct watch_state st;
    int rc = w->st->ops->watch_state_get(w->st, &st);
    if (rc) {
        snprintf(err, sizeof err, "watcher: %s", store_errmsg(w->st));
        round_failed(w, err);
        return;
    }
    bool polls = watch_polls(&app->cfg);
    int64_t taken;
    if (sweep_due(w, &st)) {
        /* Poll mode: what moved since the last poll (say, while serve was
         * down) is made pending first, so that the sweep takes it as
         * changes the watcher had yet to apply, not as its divergences. */
        if (polls && st.initialized && (rc = watch_poll_changes(w->st, &taken, err, sizeof err))) {
            round_failed(w, err);
            return;
        }
        if ((rc = sweep(w, err, sizeof err)) != 0) {
            round_failed(w, err);
            return;
        }
        w->swept = true;
    }
    if ((polls && (rc = watch_poll_changes(w->st, &taken, err, sizeof err)) != 0) ||
        (rc = drain(w, err, sizeof err)) != 0) {
        round_failed(w, err);
        return;
    }
    if (w->failing) {
        day_line(w, LOG_INFO, "The watcher is applying changes again");
        w->failing = false;
    }
    if (!polls && !w->wake_told && w->st->ops->watch_wakes) {
        char why[200];
        w->wake_told = true;
        if (!w->st->ops->watch_wakes(w->st, why, sizeof why))
            day_line(w, LOG_WARNING, "Commits cannot wake the watcher (%s): it looks for "
                     "changes every %ld ms (poll_interval)", why, app->cfg.watch_poll_interval);
    }
    if (polls) /* nothing notifies: the next poll is due */
        time_sleep_ms(app->cfg.watch_poll_interval);
    else if ((rc = w->st->ops->watch_wait(w->st, app->cfg.watch_poll_interval)) != 0) {
        snprintf(err, sizeof err, "watcher: %s", store_errmsg(w->st));
        round_failed(w, err);
    }
}

static void *watcher_main(void *arg)
{
    struct watcher *w = arg;
    /* Named for top -H, ps -L and /proc/PID/task/TID/comm (operations.md). */
    (void)pthread_setname_np(pthread_self(), "lockstep-watch");
    while (!atomic_load(&w->stop))
        round_once(w);
    close_connections(w);
    return NULL;
}

struct watcher *watcher_start(struct app *app, bool (*leads)(void *), void *ctx, char *err,
                              size_t errlen)
{
    struct watcher *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "cannot start the watcher: out of memory");
        return NULL;
    }
    w->app = app;
    w->leads = leads;
    w->leads_ctx = ctx;
    atomic_init(&w->stop, false);
    if (pthread_create(&w->thread, NULL, watcher_main, w) != 0) {
        snprintf(err, errlen, "cannot start the watcher: no thread");
        free(w);
        return NULL;
    }
    return w;
}

void watcher_stop(struct watcher *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w);
}

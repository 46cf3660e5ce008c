/* sqlite_watch.c — the SQLite store's side of the watcher (watch.md): the
 * pending change rows, the pairs they name as they are now, the open
 * violations moved and the watch_state counts kept. */
#include "store/sqlite/sqlite_private.h"
#include "store/sqlite/sqlite_schema.h"
#include "util/array.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

int sq_watch_state_get(struct store *s, struct watch_state *out)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_STATE_GET);
    if (!st)
        return STORE_ERR;
    int rc = sq_step_one(ss, st, "read the watch state");
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->initialized = sqlite3_column_int(st, 0) != 0;
    out->sweep_requested = sqlite3_column_int(st, 1) != 0;
    out->pairs = sqlite3_column_int64(st, 2);
    out->users = sqlite3_column_int64(st, 3);
    out->violations = sqlite3_column_int64(st, 4);
    out->version = sqlite3_column_int64(st, 5);
    out->applied_at = sq_col_time(st, 6);
    out->last_full_at = sq_col_time(st, 7);
    out->last_full_check_id = sqlite3_column_int64(st, 8);
    out->divergences_total = sqlite3_column_int64(st, 9);
    out->last_lag_seconds = sqlite3_column_double(st, 10);
    sq_col_copy(st, 11, out->marks.progress, sizeof out->marks.progress);
    sq_col_copy(st, 12, out->marks.license, sizeof out->marks.license);
    sqlite3_reset(st);
    return 0;
}

int sq_watch_pending(struct store *s, int64_t *count, double *oldest)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_PENDING);
    if (!st)
        return STORE_ERR;
    int rc = sq_step_one(ss, st, "count pending changes");
    if (rc)
        return rc;
    *count = sqlite3_column_int64(st, 0);
    *oldest = sqlite3_column_double(st, 1);
    sqlite3_reset(st);
    return 0;
}

/* Change rows, as watch_changes reads them. */
struct change_rows {
    struct pair_change *v;
    size_t n, cap;
};

/* Every row `st` answers appended to out, but for the rows of users not in
 * only[n_only] (ascending) when only is set; *stepped counts every row. */
static int read_changes(struct sqlite_store *ss, sqlite3_stmt *st, struct change_rows *out,
                        const int64_t *only, size_t n_only, int64_t *stepped)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t user = sqlite3_column_int64(st, 1);
        if (stepped)
            (*stepped)++;
        if (only && !bsearch(&user, only, n_only, sizeof *only, array_cmp_i64))
            continue;
        if (ARRAY_RESERVE(out->v, out->n, out->cap, 1024) != 0) {
            sqlite3_reset(st);
            return store_fail(&ss->base, STORE_ERR_NOMEM, "out of memory reading changes");
        }
        struct pair_change *c = &out->v[out->n];
        c->id = sqlite3_column_int64(st, 0);
        c->user_id = user;
        const char *spec = (const char *)sqlite3_column_text(st, 2);
        if (store_spec_copy(&ss->base, c->spec, spec ? spec : "",
                            (size_t)sqlite3_column_bytes(st, 2),
                            "a pending change (pair_changes.specialization)", c->user_id)) {
            sqlite3_reset(st);
            return STORE_ERR;
        }
        c->delta = sqlite3_column_int(st, 3);
        c->changed_at = sqlite3_column_double(st, 4);
        out->n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "read pending changes");
}

bool sq_ids_dense(size_t n, int64_t lo, int64_t hi)
{
    return n >= SQ_RANGE_MIN && lo <= hi &&
           ((uint64_t)hi - (uint64_t)lo + 1) / SQ_RANGE_SPAN_PER_ID <= n;
}

/* The other rows of the users[n] (ascending) of a batch whose first rows
 * are after_id to last, read as one range of the user index: the rows of
 * users in that range who are not in the batch are stepped over, and at
 * most RANGE_OTHER_ROWS times the first rows of them. *done false: there
 * were more, out is as it was, and the rows are read user by user. */
#define RANGE_OTHER_ROWS 4

static int other_rows_range(struct sqlite_store *ss, const int64_t *users, size_t n,
                            size_t n_first, int64_t last, int64_t after_id,
                            struct change_rows *out, bool *done)
{
    *done = false;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_CHANGES_OF_RANGE);
    if (!st)
        return STORE_ERR;
    int64_t limit = RANGE_OTHER_ROWS * (int64_t)n_first + SQ_RANGE_MIN, stepped = 0;
    sqlite3_bind_int64(st, 1, users[0]);
    sqlite3_bind_int64(st, 2, users[n - 1]);
    sqlite3_bind_int64(st, 3, last);
    sqlite3_bind_int64(st, 4, after_id);
    sqlite3_bind_int64(st, 5, limit);
    size_t had = out->n;
    int rc = read_changes(ss, st, out, users, n, &stepped);
    if (rc == 0 && stepped < limit)
        *done = true;
    else
        out->n = had;
    return rc;
}

static int cmp_change_id(const void *a, const void *b)
{
    int64_t x = ((const struct pair_change *)a)->id, y = ((const struct pair_change *)b)->id;
    return x < y ? -1 : x > y;
}

/* The first rows (a range of rowids), then the other rows of their users
 * (at or below after_id, or above the first rows), merged in id order. */
int sq_watch_changes(struct store *s, int64_t max_rows, int64_t after_id, store_change_cb cb,
                     void *ctx)
{
    struct sqlite_store *ss = SS(s);
    struct change_rows first = {0}, other = {0};
    int64_t *users = NULL;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_CHANGES);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, max_rows > 0 ? max_rows : -1);
    sqlite3_bind_int64(st, 2, after_id);
    int rc = read_changes(ss, st, &first, NULL, 0, NULL);
    size_t n_users = 0;
    if (rc == 0 && first.n && !(users = malloc(first.n * sizeof *users)))
        rc = store_fail(s, STORE_ERR_NOMEM, "out of memory reading changes");
    if (rc == 0 && first.n) {
        for (size_t i = 0; i < first.n; i++)
            users[i] = first.v[i].user_id;
        qsort(users, first.n, sizeof *users, array_cmp_i64);
        for (size_t i = 0; i < first.n; i++)
            if (n_users == 0 || users[n_users - 1] != users[i])
                users[n_users++] = users[i];
    }
    int64_t last = first.n ? first.v[first.n - 1].id : after_id;
    if (max_rows <= 0 && after_id == INT64_MIN)
        n_users = 0; /* the first rows are every row: no other */
    bool ranged = false;
    if (rc == 0 && n_users && sq_ids_dense(n_users, users[0], users[n_users - 1]))
        rc = other_rows_range(ss, users, n_users, first.n, last, after_id, &other, &ranged);
    for (size_t i = 0; rc == 0 && !ranged && i < n_users; i += SQ_CHANGE_USERS_MANY) {
        if (!(st = sq_stmt(ss, ST_WATCH_CHANGES_OF_MANY))) {
            rc = STORE_ERR;
            break;
        }
        for (size_t j = 0; j < SQ_CHANGE_USERS_MANY && i + j < n_users; j++)
            sqlite3_bind_int64(st, (int)j + 1, users[i + j]); /* the rest stay NULL */
        sqlite3_bind_int64(st, SQ_CHANGE_USERS_MANY + 1, last);
        sqlite3_bind_int64(st, SQ_CHANGE_USERS_MANY + 2, after_id);
        rc = read_changes(ss, st, &other, NULL, 0, NULL);
    }
    if (rc == 0 && other.n > 1)
        qsort(other.v, other.n, sizeof *other.v, cmp_change_id);
    /* In id order: the others at or below after_id, the first rows, the
     * others above them. */
    size_t o = 0;
    for (; rc == 0 && o < other.n && other.v[o].id <= after_id; o++)
        rc = cb(ctx, &other.v[o]);
    for (size_t i = 0; rc == 0 && i < first.n; i++)
        rc = cb(ctx, &first.v[i]);
    for (; rc == 0 && o < other.n; o++)
        rc = cb(ctx, &other.v[o]);
    free(users);
    free(first.v);
    free(other.v);
    return rc;
}

/* The level of column i as the scan decodes it: an integer that fits, else
 * invalid (level_null). */
static void col_level(sqlite3_stmt *st, int i, int *level, bool *level_null)
{
    *level = 0;
    *level_null = true;
    if (sqlite3_column_type(st, i) == SQLITE_INTEGER) {
        int64_t v = sqlite3_column_int64(st, i);
        if (v > INT32_MIN && v <= INT32_MAX) {
            *level = (int)v;
            *level_null = false;
        }
    }
}

/* The specializations' maximum levels, read once per pairs_get. */
struct spec_max {
    char id[SPEC_ID_MAX];
    int max;
};

static int load_spec_max(struct sqlite_store *ss, struct spec_max **out, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_IDS);
    if (!st)
        return STORE_ERR;
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spec_max *m = realloc(*out, cap * sizeof *m);
            if (!m) {
                sqlite3_reset(st);
                return store_fail(&ss->base, STORE_ERR_NOMEM, "out of memory");
            }
            *out = m;
        }
        if (sqlite3_column_bytes(st, 0) > SPEC_ID_LEN)
            continue; /* matches no key: a key is at most SPEC_ID_LEN bytes */
        sq_col_copy(st, 0, (*out)[*n].id, SPEC_ID_MAX);
        /* As the scan reads it (sqlite_scan.c): an attached file's table has
         * no maximum unless mapped, [levels] gives it. */
        int max = sqlite3_column_type(st, 1) == SQLITE_INTEGER ? sqlite3_column_int(st, 1)
                  : sqlite3_column_type(st, 1) == SQLITE_NULL && ss->attached
                      ? domain_map_level(&ss->domain, (*out)[*n].id)
                      : 0;
        (*out)[(*n)++].max = max > 0 ? max : 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "read the specializations");
}

static int max_of(const struct spec_max *m, size_t n, const char *spec)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].id, spec))
            return m[i].max;
    return 0;
}

/* The batch's keys into temp.lockstep_watch_keys (made on first use; a
 * rolled-back batch takes it with it, so each batch asks). */
static int keys_load(struct sqlite_store *ss, const struct pair_key *keys, size_t n)
{
    int rc = sq_exec_sql(ss, "CREATE TEMP TABLE IF NOT EXISTS lockstep_watch_keys("
                         "ku INTEGER NOT NULL, ks TEXT NOT NULL, PRIMARY KEY (ku, ks)) "
                         "WITHOUT ROWID; DELETE FROM temp.lockstep_watch_keys",
                         "prepare the changed pairs");
    size_t i = 0;
    for (; rc == 0 && n - i >= SQ_KEYS_MANY; i += SQ_KEYS_MANY) {
        sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_KEY_INSERT_MANY);
        if (!st)
            return STORE_ERR;
        for (int j = 0; j < SQ_KEYS_MANY; j++) {
            sqlite3_bind_int64(st, 2 * j + 1, keys[i + j].user_id);
            sqlite3_bind_text(st, 2 * j + 2, keys[i + j].spec, -1, SQLITE_STATIC);
        }
        rc = sq_exec_stmt(ss, st, "note the changed pairs");
    }
    for (; rc == 0 && i < n; i++) {
        sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_KEY_INSERT);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, keys[i].user_id);
        sqlite3_bind_text(st, 2, keys[i].spec, -1, SQLITE_STATIC);
        rc = sq_exec_stmt(ss, st, "note a changed pair");
    }
    return rc;
}

/* One of the joins a batch's pairs are read through, stepped alongside the
 * keys: its rows come in key order, a key's rows together. */
struct side {
    sqlite3_stmt *st;
    int rc;     /* SQLITE_ROW while a row is current */
    bool range; /* rows of keys not asked for come too: skipped */
};

/* Open a side; a range one (lo <= hi) reads the users lo to hi. */
static int side_open(struct sqlite_store *ss, enum stmt_id id, int64_t lo, int64_t hi,
                     struct side *sd)
{
    if (!(sd->st = sq_stmt(ss, id)))
        return STORE_ERR;
    sd->range = lo <= hi;
    if (sd->range) {
        sqlite3_bind_int64(sd->st, 1, lo);
        sqlite3_bind_int64(sd->st, 2, hi);
    }
    sd->rc = sqlite3_step(sd->st);
    return sd->rc == SQLITE_ROW || sd->rc == SQLITE_DONE ? 0
                                                         : sq_fail(ss, sd->rc, "read changed pairs");
}

/* Whether the side's current row belongs to key k. A range side first steps
 * over the rows of keys before k; a join side must never be behind the keys
 * (both are in key order): that is an error. */
static int side_at(struct sqlite_store *ss, struct side *sd, const struct pair_key *k, bool *at)
{
    *at = false;
    for (;;) {
        if (sd->rc != SQLITE_ROW)
            return sd->rc == SQLITE_DONE ? 0 : sq_fail(ss, sd->rc, "read changed pairs");
        int64_t u = sqlite3_column_int64(sd->st, 0);
        int c = u != k->user_id ? (u < k->user_id ? -1 : 1) : 0;
        if (c == 0) {
            const char *sp = (const char *)sqlite3_column_text(sd->st, 1);
            c = strcmp(sp ? sp : "", k->spec);
        }
        if (c >= 0) {
            *at = c == 0;
            return 0;
        }
        if (!sd->range)
            return store_fail(&ss->base, STORE_ERR, "the changed pairs came out of key order");
        sd->rc = sqlite3_step(sd->st);
    }
}

/* The rows of key k on one side: how many, and the level of the first. */
static int side_take(struct sqlite_store *ss, struct side *sd, const struct pair_key *k,
                     int64_t *rows, int *level, bool *level_null)
{
    bool at;
    int rc;
    *rows = 0;
    *level = 0;
    *level_null = false;
    while ((rc = side_at(ss, sd, k, &at)) == 0 && at) {
        if ((*rows)++ == 0)
            col_level(sd->st, 2, level, level_null);
        sd->rc = sqlite3_step(sd->st);
    }
    return rc;
}

/* The open violation of key k (the first by issue type) into p, brief. */
static int open_take(struct sqlite_store *ss, struct side *sd, const struct pair_key *k,
                     struct pair_levels *p)
{
    bool at;
    int rc;
    p->open_known = true;
    p->has_open = false;
    while ((rc = side_at(ss, sd, k, &at)) == 0 && at) {
        if (!p->has_open) {
            p->has_open = true;
            p->open.id = sqlite3_column_int64(sd->st, 2);
            p->open.brief = true;
            sq_col_copy(sd->st, 3, p->open.issue_type, sizeof p->open.issue_type);
        } else {
            p->open_more = true;
        }
        sd->rc = sqlite3_step(sd->st);
    }
    return rc;
}

static int cmp_open_id(const void *a, const void *b)
{
    int64_t x = (*(struct open_violation *const *)a)->id;
    int64_t y = (*(struct open_violation *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* The rest of each brief open violation, SQ_DETAILS_MANY by statement;
 * each found by bisection in a copy of opens sorted by id. */
int sq_open_details(struct store *s, struct open_violation *const *opens, size_t n)
{
    struct sqlite_store *ss = SS(s);
    if (!n)
        return 0;
    struct open_violation **by_id = malloc(n * sizeof *by_id);
    if (!by_id)
        return store_fail(s, STORE_ERR_NOMEM, "out of memory reading open violations");
    memcpy(by_id, opens, n * sizeof *by_id);
    qsort(by_id, n, sizeof *by_id, cmp_open_id);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += SQ_DETAILS_MANY) {
        sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_DETAILS_MANY);
        if (!st) {
            rc = STORE_ERR;
            break;
        }
        for (size_t j = 0; j < SQ_DETAILS_MANY && i + j < n; j++) /* the rest stay NULL */
            sqlite3_bind_int64(st, (int)j + 1, by_id[i + j]->id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct open_violation key = {.id = sqlite3_column_int64(st, 0)}, *kp = &key;
            struct open_violation **found = bsearch(&kp, by_id, n, sizeof *by_id, cmp_open_id);
            if (!found)
                continue;
            while (found > by_id && found[-1]->id == key.id) /* asked for twice: each */
                found--;
            for (; found < by_id + n && (*found)->id == key.id; found++) {
                struct open_violation *o = *found;
                sq_col_copy(st, 1, o->user_email, sizeof o->user_email);
                o->has_progress = sqlite3_column_type(st, 2) != SQLITE_NULL;
                o->progress_level = sqlite3_column_int(st, 2);
                o->has_license = sqlite3_column_type(st, 3) != SQLITE_NULL;
                o->license_level = sqlite3_column_int(st, 3);
                sq_col_copy(st, 4, o->recommended_action, sizeof o->recommended_action);
                o->first_seen = sq_col_time(st, 5);
                o->brief = false;
            }
        }
        sqlite3_reset(st);
        rc = rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "read open violations");
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (by_id[i]->brief)
            rc = store_fail(s, STORE_ERR, "the open violation %lld is no longer open: it changed "
                            "under the watcher", (long long)by_id[i]->id);
    free(by_id);
    return rc;
}

static int key_cmp(const struct pair_key *a, const struct pair_key *b)
{
    if (a->user_id != b->user_id)
        return a->user_id < b->user_id ? -1 : 1;
    return strcmp(a->spec, b->spec);
}

/* Whether keys (in key order) are read faster as ranges of users than by a
 * seek per key: at least SQ_RANGE_MIN, the users they name close together
 * (sq_ids_dense but for the minimum, which counts keys), and at most
 * RANGE_ROWS_PER_KEY rows per key in their span should every user there have
 * a pair of every one of the n_specs specializations. A burst over a cohort
 * (bench/watch.sh: 200,000 consecutive users) reads each side as one index
 * range; keys spread over the whole table, or a few pairs of users who have
 * many, keep the seeks. */
#define RANGE_ROWS_PER_KEY 8

static bool keys_dense(const struct pair_key *keys, size_t n, size_t n_specs)
{
    if (n < SQ_RANGE_MIN)
        return false;
    size_t users = 1;
    for (size_t i = 1; i < n; i++)
        users += keys[i].user_id != keys[i - 1].user_id;
    uint64_t span = (uint64_t)keys[n - 1].user_id - (uint64_t)keys[0].user_id + 1;
    uint64_t specs = n_specs > 0 ? n_specs : 1;
    return span / SQ_RANGE_SPAN_PER_ID <= users &&
           span <= (uint64_t)RANGE_ROWS_PER_KEY * n / specs;
}

/* A key and where it is in the caller's array. */
struct key_at {
    const struct pair_key *k;
    size_t i;
};

static int cmp_key_at(const void *a, const void *b)
{
    return key_cmp(((const struct key_at *)a)->k, ((const struct key_at *)b)->k);
}

/* keys[order[j]] for j = 0 … n-1 in key order; order NULL when keys already
 * are (the watcher's are). */
static int key_order(struct sqlite_store *ss, const struct pair_key *keys, size_t n,
                     size_t **order)
{
    *order = NULL;
    size_t i = 1;
    while (i < n && key_cmp(&keys[i - 1], &keys[i]) < 0)
        i++;
    if (i >= n)
        return 0;
    struct key_at *at = malloc(n * sizeof *at);
    if (!at || !(*order = malloc(n * sizeof **order))) {
        free(at);
        return store_fail(&ss->base, STORE_ERR_NOMEM, "out of memory ordering pairs");
    }
    for (i = 0; i < n; i++)
        at[i] = (struct key_at){&keys[i], i};
    qsort(at, n, sizeof *at, cmp_key_at);
    for (i = 0; i < n; i++)
        (*order)[i] = at[i].i;
    free(at);
    return 0;
}

int sq_pairs_get(struct store *s, const struct pair_key *keys, size_t n, store_pair_cb cb,
                 void *ctx)
{
    struct sqlite_store *ss = SS(s);
    struct spec_max *specs = NULL;
    size_t n_specs = 0, *order = NULL;
    struct pair_levels *held = NULL; /* keys not in key order: answered at the end */
    struct side sides[3] = {{0}};
    static const enum stmt_id ids[3] = {ST_WATCH_KEYS_PROGRESS, ST_WATCH_KEYS_LICENSE,
                                        ST_WATCH_KEYS_OPEN};
    static const enum stmt_id range_ids[3] = {ST_WATCH_RANGE_PROGRESS, ST_WATCH_RANGE_LICENSE,
                                              ST_WATCH_RANGE_OPEN};
    int rc = load_spec_max(ss, &specs, &n_specs);
    if (rc == 0)
        rc = key_order(ss, keys, n, &order);
    if (rc == 0 && order && !(held = malloc(n * sizeof *held)))
        rc = store_fail(s, STORE_ERR_NOMEM, "out of memory reading pairs");
    int64_t lo = 1, hi = 0; /* a range: lo <= hi */
    if (rc == 0 && !order && keys_dense(keys, n, n_specs)) {
        lo = keys[0].user_id;
        hi = keys[n - 1].user_id;
    } else if (rc == 0) {
        rc = keys_load(ss, keys, n);
    }
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = side_open(ss, lo <= hi ? range_ids[i] : ids[i], lo, hi, &sides[i]);
    struct pair_levels p;
    for (size_t j = 0; rc == 0 && j < n; j++) {
        size_t i = order ? order[j] : j;
        const struct pair_key *k = &keys[i];
        if (order && j > 0 && key_cmp(k, &keys[order[j - 1]]) == 0) {
            held[i] = held[order[j - 1]]; /* the same key twice */
            continue;
        }
        memset(&p, 0, sizeof p);
        p.user_id = k->user_id;
        memcpy(p.spec, k->spec, sizeof p.spec);
        int64_t prow, lrow;
        if ((rc = side_take(ss, &sides[0], k, &prow, &p.progress_level,
                            &p.progress_level_null)) != 0 ||
            (rc = side_take(ss, &sides[1], k, &lrow, &p.license_level,
                            &p.license_level_null)) != 0 ||
            (rc = open_take(ss, &sides[2], k, &p)) != 0)
            break;
        p.has_progress = prow > 0;
        p.has_license = lrow > 0;
        p.progress_rows = prow > 1 ? prow : 0;
        p.license_rows = lrow > 1 ? lrow : 0;
        p.max_level = max_of(specs, n_specs, k->spec);
        if (held)
            held[i] = p;
        else
            rc = cb(ctx, &p);
    }
    for (int i = 0; i < 3; i++)
        if (sides[i].st)
            sqlite3_reset(sides[i].st);
    for (size_t i = 0; rc == 0 && held && i < n; i++)
        rc = cb(ctx, &held[i]);
    free(held);
    free(order);
    free(specs);
    return rc;
}

int sq_user_rows(struct store *s, const int64_t *users, size_t n, int64_t *out)
{
    struct sqlite_store *ss = SS(s);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = sq_stmt(ss, ST_USER_ROWS);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, users[i]);
        int rc = sq_step_one(ss, st, "count a user's rows");
        if (rc)
            return rc;
        out[i] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    return 0;
}

static void bind_level(sqlite3_stmt *st, int i, bool has, int level)
{
    if (has)
        sqlite3_bind_int(st, i, level);
    else
        sqlite3_bind_null(st, i);
}

/* ?1 … ?7 of the statements that update or open v (after `base` others). */
static void bind_open_at(sqlite3_stmt *st, int base, const struct pair_key *k,
                         const struct violation *v)
{
    sqlite3_bind_int64(st, base + 1, k->user_id);
    sqlite3_bind_text(st, base + 2, k->spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 3, v->issue_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 4, v->user_email, -1, SQLITE_STATIC);
    bind_level(st, base + 5, v->has_progress, v->progress_level);
    bind_level(st, base + 6, v->has_license, v->license_level);
    sqlite3_bind_text(st, base + 7, v->recommended_action, -1, SQLITE_STATIC);
}

static void bind_open(sqlite3_stmt *st, const struct pair_key *k, const struct violation *v)
{
    bind_open_at(st, 0, k, v);
}

/* What a move does, for the ones written many to a statement. */
enum move_kind {
    MOVE_OPEN,    /* opens a violation: the pair had none open */
    MOVE_RESOLVE, /* resolves the pair's open one, by its id: it has none now */
    MOVE_UPDATE,  /* updates the pair's open one in place, by its id: the same issue type */
    MOVE_OTHER,   /* resolves one type and opens another, nothing, or without the id */
};

static enum move_kind kind_of(const struct violation_move *m)
{
    bool open = m->open_type[0] != '\0';
    if (m->has_v && !open)
        return MOVE_OPEN;
    if (!m->open_id)
        return MOVE_OTHER;
    if (!m->has_v && open)
        return MOVE_RESOLVE;
    if (m->has_v && open && !strcmp(m->open_type, m->v.issue_type))
        return MOVE_UPDATE;
    return MOVE_OTHER;
}

/* SQ_VIOLATIONS_MANY moves that only open, in one statement. */
static int open_many(struct sqlite_store *ss, const struct violation_move *const *m, int64_t now)
{
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_INSERT_MANY);
    if (!st)
        return STORE_ERR;
    char at[TIME_ISO_LEN]; /* now, written once: most rows open at it */
    time_format_iso(now, at);
    for (int j = 0; j < SQ_VIOLATIONS_MANY; j++) {
        const struct violation *v = &m[j]->v;
        bind_open_at(st, 8 * j, &m[j]->key, v);
        if (!v->first_seen || v->first_seen == now)
            sqlite3_bind_text(st, 8 * j + 8, at, -1, SQLITE_STATIC);
        else
            sq_bind_time(st, 8 * j + 8, v->first_seen);
    }
    return sq_exec_stmt(ss, st, "open violations");
}

/* SQ_VIOLATIONS_MANY moves that only resolve, in one statement. */
static int resolve_many(struct sqlite_store *ss, const struct violation_move *const *m,
                        int64_t now)
{
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_RESOLVE_MANY);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, now);
    for (int j = 0; j < SQ_VIOLATIONS_MANY; j++)
        sqlite3_bind_int64(st, j + 2, m[j]->open_id);
    return sq_exec_stmt(ss, st, "resolve violations");
}

/* SQ_VIOLATIONS_MANY moves that update an open violation in place, in one
 * statement: each must find its violation, as move_one's. */
static int update_many(struct sqlite_store *ss, const struct violation_move *const *m)
{
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_UPDATE_OPEN_MANY);
    if (!st)
        return STORE_ERR;
    for (int j = 0; j < SQ_VIOLATIONS_MANY; j++) {
        const struct violation *v = &m[j]->v;
        sqlite3_bind_int64(st, 5 * j + 1, m[j]->open_id);
        sqlite3_bind_text(st, 5 * j + 2, v->user_email, -1, SQLITE_STATIC);
        bind_level(st, 5 * j + 3, v->has_progress, v->progress_level);
        bind_level(st, 5 * j + 4, v->has_license, v->license_level);
        sqlite3_bind_text(st, 5 * j + 5, v->recommended_action, -1, SQLITE_STATIC);
    }
    int rc = sq_exec_stmt(ss, st, "update open violations");
    if (rc == 0 && sqlite3_changes(ss->db) != SQ_VIOLATIONS_MANY)
        rc = store_fail(&ss->base, STORE_ERR,
                        "a pair's open violation changed under the watcher");
    return rc;
}

/* One move: the statements it needs, from the open type pairs_get read. */
static int move_one(struct sqlite_store *ss, const struct violation_move *m, int64_t now)
{
    const struct pair_key *k = &m->key;
    const struct violation *v = m->has_v ? &m->v : NULL;
    sqlite3_stmt *st;
    int rc;
    bool open = m->open_type[0] != '\0';
    bool same = v && open && !strcmp(m->open_type, v->issue_type);
    if (open && !same) { /* v's type differs, or the pair has none now */
        if (!(st = sq_stmt(ss, ST_VIOLATION_RESOLVE_OTHER)))
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, k->user_id);
        sqlite3_bind_text(st, 2, k->spec, -1, SQLITE_STATIC);
        if (v)
            sqlite3_bind_text(st, 3, v->issue_type, -1, SQLITE_STATIC);
        sq_bind_time(st, 4, now);
        sq_bind_id_or_null(st, 5, 0);
        if ((rc = sq_exec_stmt(ss, st, "resolve a violation")) != 0)
            return rc;
    }
    if (!v)
        return 0;
    if (same) {
        if (!(st = sq_stmt(ss, ST_VIOLATION_UPDATE_OPEN)))
            return STORE_ERR;
        bind_open(st, k, v);
        sqlite3_bind_int64(st, 8, 0);
        if ((rc = sq_exec_stmt(ss, st, "update an open violation")) != 0)
            return rc;
        if (sqlite3_changes(ss->db) == 1)
            return 0;
        return store_fail(&ss->base, STORE_ERR,
                          "the pair's open violation changed under the watcher");
    }
    if (!(st = sq_stmt(ss, ST_VIOLATION_INSERT)))
        return STORE_ERR;
    bind_open(st, k, v);
    sq_bind_time(st, 8, v->first_seen ? v->first_seen : now);
    sqlite3_bind_int64(st, 9, 0);
    return sq_exec_stmt(ss, st, "open a violation");
}

/* The moves of each kind that go many to a statement, gathered
 * SQ_VIOLATIONS_MANY at a time (the rest, fewer, go one by one). */
struct move_runs {
    const struct violation_move *of[MOVE_OTHER][SQ_VIOLATIONS_MANY];
    int n[MOVE_OTHER];
};

static int write_run(struct sqlite_store *ss, enum move_kind kind,
                     const struct violation_move *const *m, int64_t now)
{
    return kind == MOVE_OPEN      ? open_many(ss, m, now)
           : kind == MOVE_RESOLVE ? resolve_many(ss, m, now)
                                  : update_many(ss, m);
}

/* Each kind's moves go SQ_VIOLATIONS_MANY to a statement, however the kinds
 * interleave (a burst over pairs at different levels moves some and resolves
 * others, pair by pair); what is left of each, and the moves of no kind,
 * one by one. Last move first: the watcher's moves come in key order, and
 * violations_newest (first_seen, then the pair descending) takes the
 * violations a batch opens at one instant each at its end, where SQLite
 * appends to the last page instead of splitting one in the middle. */
int sq_violations_move(struct store *s, const struct violation_move *m, size_t n, int64_t now)
{
    struct sqlite_store *ss = SS(s);
    struct move_runs runs = {0}, *r = &runs;
    int rc = 0;
    for (size_t i = n; i > 0 && rc == 0; i--) {
        const struct violation_move *mi = &m[i - 1];
        enum move_kind kind = kind_of(mi);
        if (kind == MOVE_OTHER) {
            rc = move_one(ss, mi, now);
            continue;
        }
        r->of[kind][r->n[kind]++] = mi;
        if (r->n[kind] == SQ_VIOLATIONS_MANY) {
            rc = write_run(ss, kind, r->of[kind], now);
            r->n[kind] = 0;
        }
    }
    for (int k = 0; k < MOVE_OTHER && rc == 0; k++)
        for (int j = 0; j < r->n[k] && rc == 0; j++)
            rc = move_one(ss, r->of[k][j], now);
    return rc;
}

/* Delete the change rows `ids` (ascending, as read): a statement per run
 * of consecutive ids. Every one must still be there: a row gone was
 * consumed by something else, and applying it again would count it twice. */
static int delete_changes(struct sqlite_store *ss, const int64_t *ids, size_t n)
{
    int64_t deleted = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ids[j] == ids[j - 1] + 1)
            j++;
        sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_DELETE);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int64(st, 2, ids[j - 1]);
        int rc = sq_exec_stmt(ss, st, "delete applied changes");
        if (rc)
            return rc;
        deleted += sqlite3_changes64(ss->db);
        i = j;
    }
    if (deleted == (int64_t)n)
        return 0;
    return store_fail(&ss->base, STORE_ERR, "%lld of the %zu change rows applied were no longer "
                      "pending (consumed by another writer)", (long long)((int64_t)n - deleted), n);
}

int sq_watch_advance(struct store *s, const int64_t *ids, size_t n, int64_t dpairs,
                     int64_t dusers, int64_t dviolations, double lag, int64_t now)
{
    struct sqlite_store *ss = SS(s);
    int rc = delete_changes(ss, ids, n);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_ADVANCE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, dpairs);
    sqlite3_bind_int64(st, 2, dusers);
    sqlite3_bind_int64(st, 3, dviolations);
    sq_bind_time(st, 4, now);
    sqlite3_bind_double(st, 5, lag);
    return sq_exec_stmt(ss, st, "advance the watch state");
}

int sq_watch_reset(struct store *s, const int64_t *ids, size_t n, int64_t pairs, int64_t users,
                   int64_t violations, int64_t check_id, int64_t divergences, int64_t now,
                   const struct watch_marks *marks)
{
    struct sqlite_store *ss = SS(s);
    int rc = delete_changes(ss, ids, n);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_RESET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, pairs);
    sqlite3_bind_int64(st, 2, users);
    sqlite3_bind_int64(st, 3, violations);
    sq_bind_time(st, 4, now);
    sqlite3_bind_int64(st, 5, check_id);
    sqlite3_bind_int64(st, 6, divergences);
    sq_bind_text_or_null(st, 7, marks ? marks->progress : NULL);
    sq_bind_text_or_null(st, 8, marks ? marks->license : NULL);
    return sq_exec_stmt(ss, st, "reset the watch state");
}

/* ---- [watch] mode = poll ------------------------------------------------------ */

/* Bind watermark `mark` as ?1 of a POLL_* statement: NULL for a table that
 * had no updated_at (every row that has one is newer). */
static void bind_mark(sqlite3_stmt *st, const char *mark)
{
    if (!strcmp(mark, WATCH_MARK_EMPTY))
        sqlite3_bind_null(st, 1);
    else
        sqlite3_bind_text(st, 1, mark, -1, SQLITE_TRANSIENT);
}

/* The newest updated_at of a table newer than `after` (NULL: of every row)
 * into out[WATCH_MARK_MAX]; `after` itself (or WATCH_MARK_EMPTY) when none. */
static int newest_mark(struct sqlite_store *ss, enum stmt_id id, const char *after, char *out)
{
    sqlite3_stmt *st = sq_stmt(ss, id);
    if (!st)
        return STORE_ERR;
    if (after)
        bind_mark(st, after);
    int rc = sq_step_one(ss, st, "read the newest updated_at");
    if (rc)
        return rc;
    const unsigned char *t = sqlite3_column_text(st, 0);
    if (t && strlen((const char *)t) >= WATCH_MARK_MAX) {
        sqlite3_reset(st);
        return store_fail(&ss->base, STORE_ERR, "an updated_at of more than %d characters "
                          "cannot be a poll watermark", WATCH_MARK_MAX - 1);
    }
    snprintf(out, WATCH_MARK_MAX, "%s", t ? (const char *)t : after ? after : WATCH_MARK_EMPTY);
    sqlite3_reset(st);
    return 0;
}

int sq_watch_marks(struct store *s, struct watch_marks *out)
{
    struct sqlite_store *ss = SS(s);
    int rc = newest_mark(ss, ST_WATCH_MAX_P, NULL, out->progress);
    return rc ? rc : newest_mark(ss, ST_WATCH_MAX_L, NULL, out->license);
}

/* One table's poll: its newer rows as change rows, its watermark moved. */
static int poll_table(struct sqlite_store *ss, enum stmt_id insert, enum stmt_id max,
                      int64_t now, char *mark, int64_t *taken)
{
    if (!mark[0]) /* not polled yet: from now on */
        return newest_mark(ss, max, NULL, mark);
    sqlite3_stmt *st = sq_stmt(ss, insert);
    if (!st)
        return STORE_ERR;
    bind_mark(st, mark);
    sqlite3_bind_double(st, 2, (double)now / 1e6);
    int rc = sq_exec_stmt(ss, st, "take the rows whose updated_at moved");
    if (rc)
        return rc;
    int64_t n = sqlite3_changes64(ss->db);
    *taken += n;
    char was[WATCH_MARK_MAX];
    memcpy(was, mark, sizeof was);
    return n ? newest_mark(ss, max, was, mark) : 0;
}

int sq_watch_poll(struct store *s, int64_t now, int64_t *taken)
{
    struct sqlite_store *ss = SS(s);
    struct watch_state ws;
    *taken = 0;
    int rc = sq_watch_state_get(s, &ws);
    if (rc == 0)
        rc = poll_table(ss, ST_WATCH_POLL_P, ST_WATCH_MAX_P, now, ws.marks.progress, taken);
    if (rc == 0)
        rc = poll_table(ss, ST_WATCH_POLL_L, ST_WATCH_MAX_L, now, ws.marks.license, taken);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_MARKS_SET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, ws.marks.progress, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ws.marks.license, -1, SQLITE_STATIC);
    return sq_exec_stmt(ss, st, "move the poll watermarks");
}

int sq_watch_discard(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    int rc = sq_exec_sql(ss, "DELETE FROM pair_changes", "discard pending changes");
    return rc ? rc : sq_exec_sql(ss, "UPDATE watch_state SET initialized = 0, version = version + 1",
                                 "discard pending changes");
}

/* Own mode: migration 14's triggers, dropped first (install puts back any
 * that were dropped by hand). */
#define SQ_DROP_CAPTURE                                                                       \
    "DROP TRIGGER IF EXISTS lockstep_progress_insert;"                                       \
    "DROP TRIGGER IF EXISTS lockstep_progress_delete;"                                       \
    "DROP TRIGGER IF EXISTS lockstep_progress_update;"                                       \
    "DROP TRIGGER IF EXISTS lockstep_license_insert;"                                        \
    "DROP TRIGGER IF EXISTS lockstep_license_delete;"                                        \
    "DROP TRIGGER IF EXISTS lockstep_license_update;"                                        \
    "DROP TRIGGER IF EXISTS lockstep_specs_insert;"                                          \
    "DROP TRIGGER IF EXISTS lockstep_specs_update;"                                          \
    "DROP TRIGGER IF EXISTS lockstep_specs_delete;"

int sq_watch_capture(struct store *s, bool install, bool apply, char **sql)
{
    struct sqlite_store *ss = SS(s);
    *sql = NULL;
    if (ss->attached)
        return store_fail(s, STORE_ERR, "an attached SQLite file cannot carry the capture "
                          "triggers (a trigger cannot write to another database file): keep "
                          "[watch] mode = off, every scheduled check then reads every pair");
    const struct store_migration *m = &sqlite_migrations[13];
    if (m->version != 14 || !m->domain_sql)
        return store_fail(s, STORE_ERR, "the capture triggers' migration is not where expected");
    const char *create = m->domain_sql;
    size_t n = strlen(SQ_DROP_CAPTURE) + (install ? strlen(create) : 0) + 32;
    if (!(*sql = malloc(n)))
        return store_fail(s, STORE_ERR_NOMEM, "out of memory");
    snprintf(*sql, n, "BEGIN;%s%sCOMMIT;", SQ_DROP_CAPTURE, install ? create : "");
    if (!apply)
        return 0;
    int rc = sq_exec_sql(ss, *sql, install ? "install the capture triggers"
                                           : "remove the capture triggers");
    if (rc && !sqlite3_get_autocommit(ss->db))
        sq_exec_sql(ss, "ROLLBACK", "roll back");
    return rc;
}

int sq_watch_capture_installed(struct store *s, bool *installed)
{
    struct sqlite_store *ss = SS(s);
    *installed = false;
    if (ss->attached)
        return 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(ss->db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                                "AND name IN ('lockstep_progress_insert', 'lockstep_progress_update',"
                                " 'lockstep_progress_delete', 'lockstep_license_insert', "
                                "'lockstep_license_update', 'lockstep_license_delete')",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "look for the capture triggers");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *installed = sqlite3_column_int(st, 0) == 6;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(ss, rc, "look for the capture triggers");
}

int sq_watch_poll_indexed(struct store *s, bool indexed[2])
{
    struct sqlite_store *ss = SS(s);
    const struct domain_map *m = &ss->domain;
    indexed[0] = indexed[1] = false;
    /* An index, not partial, whose first column is the mapped updated_at
     * (an index led by an expression has a NULL name there). */
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(ss->db, "SELECT EXISTS (SELECT 1 FROM pragma_index_list(?1, ?3) "
                                "il WHERE il.partial = 0 AND (SELECT ii.name FROM "
                                "pragma_index_info(il.name, ?3) ii WHERE ii.seqno = 0) = ?2)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "look for the updated_at indexes");
    static const enum domain_name side[2][2] = {
        {DOMAIN_PROGRESS_TABLE, DOMAIN_PROGRESS_UPDATED_AT},
        {DOMAIN_LICENSE_TABLE, DOMAIN_LICENSE_UPDATED_AT}};
    for (int i = 0; i < 2; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, m->name[side[i][0]], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->name[side[i][1]], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ss->attached ? SQ_ACADEMY : "main", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        indexed[i] = sqlite3_column_int(st, 0) != 0;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(ss, rc, "look for the updated_at indexes");
}

int sq_watch_lock(struct store *s, bool on)
{
    struct sqlite_store *ss = SS(s);
    if (ss->watch_fd < 0) {
        /* A database no other connection can open has nobody to wait for. */
        if (!on || !ss->path[0] || !strcmp(ss->path, ":memory:"))
            return 0;
        char path[STORE_PATH_MAX + 8];
        if (snprintf(path, sizeof path, "%s-watch", ss->path) >= (int)sizeof path)
            return store_fail(s, STORE_ERR, "the database path is too long for its watch lock");
        ss->watch_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ss->watch_fd < 0)
            return store_fail(s, STORE_ERR, "cannot open %s: %s", path, strerror(errno));
    }
    int rc;
    do
        rc = flock(ss->watch_fd, on ? LOCK_EX : LOCK_UN);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : store_fail(s, STORE_ERR, "watch lock: %s", strerror(errno));
}

int sq_wal_autocheckpoint(struct store *s, bool on)
{
    struct sqlite_store *ss = SS(s);
    int rc = sqlite3_wal_autocheckpoint(ss->db, on ? 1000 : 0);
    return rc == SQLITE_OK ? 0 : sq_fail(ss, rc, "set the WAL checkpoints");
}

int sq_wal_checkpoint(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    int rc = sqlite3_wal_checkpoint_v2(ss->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sq_fail(ss, rc, "checkpoint the WAL");
}

/* The wake-up: an inotify watch on the store's directory. Nothing notifies
 * across SQLite connections, but every commit writes the WAL (or, outside WAL
 * mode, the database file). Without it (no inotify instance left, a
 * directory that cannot be watched) watch_wait sleeps: the short poll. */
static void wake_setup(struct sqlite_store *ss)
{
    ss->wake_tried = true;
    if (!ss->path[0] || !strcmp(ss->path, ":memory:")) {
        snprintf(ss->wake_why, sizeof ss->wake_why, "an in-memory database");
        return;
    }
    char dir[STORE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", ss->path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0'; /* "/lockstep.db" is in "/" */
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        snprintf(ss->wake_why, sizeof ss->wake_why, "no inotify instance: %s%s", strerror(errno),
                 errno == EMFILE ? " (fs.inotify.max_user_instances)" : "");
        return;
    }
    if (inotify_add_watch(fd, dir, IN_MODIFY) < 0) {
        snprintf(ss->wake_why, sizeof ss->wake_why, "%s cannot be watched: %s%s", dir,
                 strerror(errno), errno == ENOSPC ? " (fs.inotify.max_user_watches)" : "");
        close(fd);
        return;
    }
    ss->wake_fd = fd;
}

bool sq_watch_wakes(struct store *s, char *why, size_t whylen)
{
    struct sqlite_store *ss = SS(s);
    if (!ss->wake_tried)
        wake_setup(ss);
    snprintf(why, whylen, "%s", ss->wake_fd >= 0 ? "" : ss->wake_why);
    return ss->wake_fd >= 0;
}

/* Read the queued events; whether one is a write to the store's database or
 * its WAL (or the queue overflowed: one may have been). */
static bool wake_read(struct sqlite_store *ss)
{
    const char *slash = strrchr(ss->path, '/');
    const char *base = slash ? slash + 1 : ss->path;
    size_t blen = strlen(base);
    bool woken = false;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(ss->wake_fd, buf, sizeof buf);
        if (n <= 0)
            return woken; /* EAGAIN: none left */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                woken = true;
            else if (ev->len && !strncmp(ev->name, base, blen) &&
                     (ev->name[blen] == '\0' || !strcmp(ev->name + blen, "-wal")))
                woken = true;
            p += sizeof *ev + ev->len;
        }
    }
}

/* Wait until another connection writes the store (then return at most every
 * SQ_WAKE_GAP_MS) or timeout_ms pass. The events of this process's own
 * writes since the last wait are still queued: they end the wait at once, and
 * the round that follows finds nothing or what came since. Nothing is lost: an
 * event is consumed only before the round that reads what it announced. */
int sq_watch_wait(struct store *s, long timeout_ms)
{
    struct sqlite_store *ss = SS(s);
    if (!ss->wake_tried)
        wake_setup(ss);
    int64_t now = time_mono_us() / 1000, deadline = now + timeout_ms;
    if (ss->wake_fd < 0) {
        time_sleep_ms(timeout_ms);
    } else {
        while (now < deadline) {
            struct pollfd p = {.fd = ss->wake_fd, .events = POLLIN};
            int n = poll(&p, 1, (int)(deadline - now));
            now = time_mono_us() / 1000;
            if (n < 0 && errno != EINTR) {
                time_sleep_ms(deadline - now);
                break;
            }
            if (n > 0 && wake_read(ss)) {
                time_sleep_ms(ss->wake_last_us / 1000 + SQ_WAKE_GAP_MS - now);
                (void)wake_read(ss); /* what came meanwhile, the next round reads too */
                break;
            }
        }
    }
    ss->wake_last_us = time_mono_us();
    return 0;
}

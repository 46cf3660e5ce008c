/* sqlite_scan.c — the SQLite store's pair scan: progress and licenses read in
 * pair order and merged with the open violations, threaded for large stores. */
#include "store/sqlite/sqlite_private.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the pair scan: a merge of index-ordered streams -------------------------
 *
 * Both tables are read through their covering (user, specialization, level)
 * indexes in pair order and merged here: one sequential pass, no per-pair
 * query. In a full scan of a large store each index is read by a producer
 * thread on a connection of its own and this thread only merges, so the work
 * spreads over the CPUs. All connections read the same snapshot: a fourth
 * connection holds the write lock while their read transactions start, so no
 * commit can fall between them. The open violations are a third ordered
 * stream (on this connection), so the check learns first_seen and the email
 * of known violations without a lookup per violation. Specialization names
 * are interned to their rank in the specializations table, which keeps rows
 * small and comparisons integer; a name that is not in the table (a row
 * written without foreign keys) travels as its bytes beside the row and
 * compares bytewise, the order of the indexes (BINARY collation). Consecutive
 * rows of one stream with the same key are duplicates of one pair. */

#define SCAN_BATCH 4096
#define SCAN_BATCHES 4
#define SCAN_LEVEL_NULL INT32_MIN /* the level is NULL, not an integer, or too large */

struct scan_row {
    int64_t user;
    int32_t spec;  /* rank of the specialization id in byte order; negative: a name
                      not in the table, its bytes kept apart (see the stream) */
    int32_t level; /* SCAN_LEVEL_NULL: no usable level */
};

struct scan_batch {
    int n, n_names;
    struct scan_row rows[SCAN_BATCH];
    char (*names)[SPEC_ID_MAX]; /* unknown names of this batch, row spec -1 - index;
                                   allocated at the first one; owned */
};

struct scan_stream {
    struct store_scan *sc;
    const char *what;
    char where[2 * DOMAIN_IDENT_MAX]; /* "table.column" of its specialization */
    sqlite3_stmt *st;
    sqlite3 *db;               /* the connection of st */
    bool produced;             /* read by a producer thread */
    bool ready, done;          /* a current row is decoded / the stream ended */
    struct scan_row row;
    char row_name[SPEC_ID_MAX]; /* the name of row when row.spec < 0 */
    /* producer */
    bool thread_started, stop, producer_done, first_pending;
    int producer_rc;
    char producer_err[STORE_ERRMSG_MAX];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct scan_batch *batches;
    int free_q[SCAN_BATCHES], n_free;
    int ready_q[SCAN_BATCHES], ready_head, n_ready;
    int cur, cur_pos;
};

struct store_scan {
    struct sqlite_store *ss;
    struct scan_stream p, l;
    sqlite3_stmt *ov;
    bool ov_ready, ov_done;
    int64_t ov_user;           /* the current open violation: its pair, */
    char ov_spec[SPEC_ID_MAX];
    struct open_violation ovr; /* and the rest */
    int n_specs, cap_specs;
    char (*specs)[SPEC_ID_MAX]; /* sorted; owned */
    uint8_t *spec_len;          /* owned */
    int *spec_max;              /* max_levels by rank, 0: none; owned */
    int32_t spec_hash[256];     /* rank + 1 by spec_hash_of(), 0 empty, -1 ambiguous */
};

static unsigned spec_hash_of(const unsigned char *t, int n)
{
    return n > 0 ? ((unsigned)n * 31u + t[0] * 7u + t[n - 1]) & 255u : 0u;
}

/* Read every specialization id and its max_levels, in byte order, into
 * sc->specs (grown as needed: there is no limit on how many). */
static int load_specs(struct store_scan *sc, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    const char *text = sq_sql_text(sc->ss, ST_SPEC_IDS);
    int rc = text ? sqlite3_prepare_v2(db, text, -1, &st, NULL) : SQLITE_ERROR;
    sc->n_specs = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sc->n_specs == sc->cap_specs) {
            int cap = sc->cap_specs ? sc->cap_specs * 2 : 64;
            char(*specs)[SPEC_ID_MAX] = realloc(sc->specs, (size_t)cap * sizeof *specs);
            if (specs)
                sc->specs = specs;
            uint8_t *len = specs ? realloc(sc->spec_len, (size_t)cap) : NULL;
            if (len)
                sc->spec_len = len;
            int *max = len ? realloc(sc->spec_max, (size_t)cap * sizeof *max) : NULL;
            if (!max) {
                rc = SQLITE_NOMEM;
                break;
            }
            sc->spec_max = max;
            sc->cap_specs = cap;
        }
        /* An id longer than SPEC_ID_LEN is left out: it matches no row,
         * and a row that holds it fails the scan (decode_row). */
        if (sqlite3_column_bytes(st, 0) > SPEC_ID_LEN) {
            rc = SQLITE_OK;
            continue;
        }
        sq_col_copy(st, 0, sc->specs[sc->n_specs], SPEC_ID_MAX);
        int max = sqlite3_column_type(st, 1) == SQLITE_INTEGER ? sqlite3_column_int(st, 1)
                  : sqlite3_column_type(st, 1) == SQLITE_NULL && sc->ss->attached
                      ? domain_map_level(&sc->ss->domain, sc->specs[sc->n_specs])
                      : 0;
        sc->spec_max[sc->n_specs++] = max > 0 ? max : 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    memset(sc->spec_hash, 0, sizeof sc->spec_hash);
    for (int i = 0; i < sc->n_specs; i++) {
        int n = (int)strlen(sc->specs[i]);
        unsigned h = spec_hash_of((const unsigned char *)sc->specs[i], n);
        sc->spec_len[i] = (uint8_t)n;
        sc->spec_hash[h] = sc->spec_hash[h] ? -1 : i + 1;
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The rank of a specialization name, or -1 when it is not in the table.
 * Reads only what load_specs built: safe from any thread. */
static int32_t spec_rank(const struct store_scan *sc, const unsigned char *t, int n)
{
    /* One hash probe finds nearly every name; a binary search the rest. */
    int h = sc->spec_hash[spec_hash_of(t, n)];
    if (h > 0 && sc->spec_len[h - 1] == n && !memcmp(sc->specs[h - 1], t, (size_t)n))
        return h - 1;
    int lo = 0, hi = sc->n_specs - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = sc->specs[mid];
        int ml = sc->spec_len[mid], c = memcmp(m, t, (size_t)(ml < n ? ml : n));
        if (c == 0)
            c = ml - n;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Decode the current row of st. A specialization not in the table gets spec
 * -1 and its name in name. Returns 0, or the name's length when it is longer
 * than SPEC_ID_LEN (name then holds its first SPEC_ID_LEN bytes): never cut,
 * the scan fails naming it (store_spec_too_long_text). */
static size_t decode_row(const struct store_scan *sc, sqlite3_stmt *st, struct scan_row *r,
                         char name[SPEC_ID_MAX])
{
    r->user = sqlite3_column_int64(st, 0);
    const unsigned char *t = sqlite3_column_blob(st, 1);
    int n = sqlite3_column_bytes(st, 1);
    if (!t)
        t = (const unsigned char *)"";
    r->spec = spec_rank(sc, t, n);
    size_t too_long = n > SPEC_ID_LEN ? (size_t)n : 0;
    if (r->spec < 0) {
        if (too_long)
            n = SPEC_ID_LEN;
        memcpy(name, t, (size_t)n);
        name[n] = '\0';
    }
    if (sqlite3_column_type(st, 2) == SQLITE_INTEGER) {
        int64_t level = sqlite3_column_int64(st, 2);
        r->level = level > INT32_MIN && level <= INT32_MAX ? (int32_t)level : SCAN_LEVEL_NULL;
    } else {
        r->level = SCAN_LEVEL_NULL;
    }
    return too_long;
}

static void *stream_producer(void *arg)
{
    struct scan_stream *ps = arg;
    int rc = SQLITE_ROW;
    for (;;) {
        pthread_mutex_lock(&ps->mu);
        while (ps->n_free == 0 && !ps->stop)
            pthread_cond_wait(&ps->cv, &ps->mu);
        if (ps->stop) {
            pthread_mutex_unlock(&ps->mu);
            return NULL;
        }
        int b = ps->free_q[--ps->n_free];
        pthread_mutex_unlock(&ps->mu);
        struct scan_batch *batch = &ps->batches[b];
        batch->n = batch->n_names = 0;
        char name[SPEC_ID_MAX];
        while (batch->n < SCAN_BATCH) {
            if (!ps->first_pending)
                rc = sqlite3_step(ps->st);
            ps->first_pending = false;
            if (rc != SQLITE_ROW)
                break;
            struct scan_row *r = &batch->rows[batch->n++];
            size_t too_long = decode_row(ps->sc, ps->st, r, name);
            if (too_long) { /* the rows before it are merged first, then the scan fails */
                store_spec_too_long_text(ps->producer_err, sizeof ps->producer_err, name,
                                         too_long, ps->where, r->user);
                batch->n--;
                rc = SQLITE_TOOBIG;
                break;
            }
            if (r->spec < 0) { /* rare: the name goes beside the batch */
                if (!batch->names &&
                    !(batch->names = malloc(SCAN_BATCH * sizeof *batch->names))) {
                    rc = SQLITE_NOMEM;
                    batch->n--;
                    break;
                }
                memcpy(batch->names[batch->n_names], name, SPEC_ID_MAX);
                r->spec = -1 - batch->n_names++;
            }
        }
        pthread_mutex_lock(&ps->mu);
        ps->ready_q[(ps->ready_head + ps->n_ready) % SCAN_BATCHES] = b;
        ps->n_ready++;
        if (rc != SQLITE_ROW) {
            ps->producer_done = true;
            ps->producer_rc = rc == SQLITE_DONE ? 0 : rc;
            if (rc == SQLITE_NOMEM)
                snprintf(ps->producer_err, sizeof ps->producer_err, "out of memory");
            else if (rc != SQLITE_DONE && !(rc == SQLITE_TOOBIG && ps->producer_err[0]))
                snprintf(ps->producer_err, sizeof ps->producer_err, "%s",
                         sqlite3_errmsg(ps->db));
        }
        pthread_cond_broadcast(&ps->cv);
        pthread_mutex_unlock(&ps->mu);
        if (rc != SQLITE_ROW)
            return NULL;
    }
}

/* Make the stream's next row current: 0 ok, 1 end, negative error. */
static int stream_next(struct scan_stream *ps)
{
    struct store_scan *sc = ps->sc;
    if (!ps->produced) {
        int rc = ps->first_pending ? SQLITE_ROW : sqlite3_step(ps->st);
        ps->first_pending = false;
        if (rc == SQLITE_ROW) {
            size_t too_long = decode_row(sc, ps->st, &ps->row, ps->row_name);
            if (too_long)
                return store_spec_copy(&sc->ss->base, ps->row_name, ps->row_name, too_long,
                                       ps->where, ps->row.user);
            return 0;
        }
        return rc == SQLITE_DONE ? 1 : sq_fail(sc->ss, rc, ps->what);
    }
    for (;;) {
        if (ps->cur >= 0 && ps->cur_pos < ps->batches[ps->cur].n) {
            const struct scan_batch *batch = &ps->batches[ps->cur];
            ps->row = batch->rows[ps->cur_pos++];
            if (ps->row.spec < 0) /* kept with the row: the batch goes back to the producer */
                memcpy(ps->row_name, batch->names[-1 - ps->row.spec], SPEC_ID_MAX);
            return 0;
        }
        pthread_mutex_lock(&ps->mu);
        if (ps->cur >= 0) {
            ps->free_q[ps->n_free++] = ps->cur;
            ps->cur = -1;
            pthread_cond_broadcast(&ps->cv);
        }
        while (ps->n_ready == 0 && !ps->producer_done)
            pthread_cond_wait(&ps->cv, &ps->mu);
        if (ps->n_ready == 0) {
            int rc = ps->producer_rc;
            pthread_mutex_unlock(&ps->mu);
            if (rc)
                return store_fail(&sc->ss->base, (rc & 0xff) == SQLITE_BUSY ? STORE_ERR_BUSY
                                                                            : STORE_ERR,
                                  "%s: %s", ps->what, ps->producer_err);
            return 1;
        }
        ps->cur = ps->ready_q[ps->ready_head];
        ps->ready_head = (ps->ready_head + 1) % SCAN_BATCHES;
        ps->n_ready--;
        ps->cur_pos = 0;
        pthread_mutex_unlock(&ps->mu);
    }
}

static bool stream_start_producer(struct scan_stream *ps)
{
    ps->batches = calloc(SCAN_BATCHES, sizeof *ps->batches);
    if (!ps->batches)
        return false;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->cv, NULL);
    for (int i = 0; i < SCAN_BATCHES; i++)
        ps->free_q[i] = i;
    ps->n_free = SCAN_BATCHES;
    ps->cur = -1;
    ps->produced = true;
    if (pthread_create(&ps->thread, NULL, stream_producer, ps) != 0) {
        ps->produced = false;
        pthread_mutex_destroy(&ps->mu);
        pthread_cond_destroy(&ps->cv);
        free(ps->batches);
        ps->batches = NULL;
        return false;
    }
    ps->thread_started = true;
    return true;
}

static void stream_stop(struct scan_stream *ps)
{
    if (ps->thread_started) {
        pthread_mutex_lock(&ps->mu);
        ps->stop = true;
        pthread_cond_broadcast(&ps->cv);
        pthread_mutex_unlock(&ps->mu);
        pthread_join(ps->thread, NULL);
        pthread_mutex_destroy(&ps->mu);
        pthread_cond_destroy(&ps->cv);
        ps->thread_started = false;
    }
    for (int i = 0; ps->batches && i < SCAN_BATCHES; i++)
        free(ps->batches[i].names);
    free(ps->batches);
    ps->batches = NULL;
    if (ps->st)
        sqlite3_reset(ps->st);
}

static int next_open_violation(struct store_scan *sc)
{
    int rc = sqlite3_step(sc->ov);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 1 : sq_fail(sc->ss, rc, "scan open violations");
    /* Columns of VIOLATION_COLS. */
    sc->ov_user = sqlite3_column_int64(sc->ov, 0);
    sq_col_copy(sc->ov, 1, sc->ovr.user_email, sizeof sc->ovr.user_email);
    sq_col_copy(sc->ov, 2, sc->ov_spec, sizeof sc->ov_spec);
    sq_col_copy(sc->ov, 3, sc->ovr.issue_type, sizeof sc->ovr.issue_type);
    sc->ovr.has_progress = sqlite3_column_type(sc->ov, 4) != SQLITE_NULL;
    sc->ovr.progress_level = sqlite3_column_int(sc->ov, 4);
    sc->ovr.has_license = sqlite3_column_type(sc->ov, 5) != SQLITE_NULL;
    sc->ovr.license_level = sqlite3_column_int(sc->ov, 5);
    sq_col_copy(sc->ov, 6, sc->ovr.recommended_action, sizeof sc->ovr.recommended_action);
    sc->ovr.first_seen = sq_col_time(sc->ov, 7);
    return 0;
}

/* Open an extra connection for threaded scans (once per store). */
static int open_aux(struct sqlite_store *ss, sqlite3 **db)
{
    if (*db)
        return SQLITE_OK;
    int rc = sqlite3_open_v2(ss->path, db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close_v2(*db);
        *db = NULL;
        return rc;
    }
    sq_no_quoted_strings(*db);
    sqlite3_busy_timeout(*db, (int)ss->busy_timeout_ms);
    if (ss->attached && sq_attach_academy(ss, *db, NULL, 0) != 0) {
        sqlite3_close_v2(*db);
        *db = NULL;
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}

/* Start the two producer threads, each on its own connection, in the snapshot
 * of this connection. Returns false (and leaves the scan single-threaded)
 * when that is not possible right now. */
static bool start_parallel(struct store_scan *sc)
{
    struct sqlite_store *ss = sc->ss;
    struct stat st;
    if (ss->parallel_min_bytes < 0 || stat(ss->path, &st) != 0 ||
        st.st_size < ss->parallel_min_bytes)
        return false;
    if (open_aux(ss, &ss->scan_db[0]) != SQLITE_OK || open_aux(ss, &ss->scan_db[1]) != SQLITE_OK ||
        open_aux(ss, &ss->lock_db) != SQLITE_OK)
        return false;
    for (int i = 0; i < 2; i++)
        if (!ss->scan_stmt[i] &&
            (!sq_sql_text(ss, i ? ST_SCAN_L_ALL : ST_SCAN_P_ALL) ||
             sqlite3_prepare_v3(ss->scan_db[i], ss->sql[i ? ST_SCAN_L_ALL : ST_SCAN_P_ALL], -1,
                                SQLITE_PREPARE_PERSISTENT, &ss->scan_stmt[i],
                                NULL) != SQLITE_OK))
            return false;
    if (sqlite3_exec(ss->lock_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return false;
    /* No commit can happen now: every first read sees the same database. */
    int rc[2] = {SQLITE_ERROR, SQLITE_ERROR};
    bool main_ok = load_specs(sc, ss->db) == SQLITE_OK;
    for (int i = 0; i < 2 && main_ok; i++)
        if (sqlite3_exec(ss->scan_db[i], "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
            rc[i] = sqlite3_step(ss->scan_stmt[i]);
    sqlite3_exec(ss->lock_db, "ROLLBACK", NULL, NULL, NULL);
    struct scan_stream *streams[2] = {&sc->p, &sc->l};
    bool ok = main_ok && (rc[0] == SQLITE_ROW || rc[0] == SQLITE_DONE) &&
              (rc[1] == SQLITE_ROW || rc[1] == SQLITE_DONE);
    for (int i = 0; i < 2; i++) {
        streams[i]->st = ss->scan_stmt[i];
        streams[i]->db = ss->scan_db[i];
        streams[i]->done = rc[i] == SQLITE_DONE;
        streams[i]->first_pending = rc[i] == SQLITE_ROW;
    }
    for (int i = 0; i < 2 && ok; i++)
        if (!streams[i]->done && !stream_start_producer(streams[i]))
            ok = false;
    if (!ok) {
        for (int i = 0; i < 2; i++) {
            stream_stop(streams[i]);
            streams[i]->st = NULL;
            streams[i]->produced = streams[i]->done = streams[i]->first_pending = false;
            sqlite3_exec(ss->scan_db[i], "ROLLBACK", NULL, NULL, NULL);
        }
        return false;
    }
    return true;
}

static void scan_free(struct store_scan *sc)
{
    free(sc->specs);
    free(sc->spec_len);
    free(sc->spec_max);
    free(sc);
}

int sq_pair_scan_open(struct store *s, const struct pair_filter *f,
                      struct store_scan **out)
{
    struct sqlite_store *ss = SS(s);
    *out = NULL;
    bool by_user = f && f->user_id > 0, by_spec = f && f->spec;
    bool full = !by_user && !by_spec;
    enum stmt_id pid = by_user ? (by_spec ? ST_SCAN_P_USER_SPEC : ST_SCAN_P_USER)
                               : (by_spec ? ST_SCAN_P_SPEC : ST_SCAN_P_ALL);
    enum stmt_id lid = (enum stmt_id)(pid + (ST_SCAN_L_ALL - ST_SCAN_P_ALL));
    struct store_scan *sc = calloc(1, sizeof *sc);
    if (!sc)
        return store_fail(s, STORE_ERR, "out of memory");
    sc->ss = ss;
    sc->p = (struct scan_stream){.sc = sc, .what = "scan progress", .cur = -1};
    sc->l = (struct scan_stream){.sc = sc, .what = "scan licenses", .cur = -1};
    const struct domain_map *m = &ss->domain;
    snprintf(sc->p.where, sizeof sc->p.where, "%s.%s", m->name[DOMAIN_PROGRESS_TABLE],
             m->name[DOMAIN_PROGRESS_SPEC]);
    snprintf(sc->l.where, sizeof sc->l.where, "%s.%s", m->name[DOMAIN_LICENSE_TABLE],
             m->name[DOMAIN_LICENSE_SPEC]);
    if (full && f && f->open_violations && !(sc->ov = sq_stmt(ss, ST_VIOLATIONS_OPEN_ALL))) {
        scan_free(sc);
        return STORE_ERR;
    }
    if (!full || !start_parallel(sc)) {
        int rc = load_specs(sc, ss->db);
        if (rc != SQLITE_OK) {
            scan_free(sc);
            return sq_fail(ss, rc, "read specializations");
        }
        sc->p.st = sq_stmt(ss, pid);
        sc->l.st = sc->p.st ? sq_stmt(ss, lid) : NULL;
        if (!sc->p.st || !sc->l.st) {
            scan_free(sc);
            return STORE_ERR;
        }
        sc->p.db = sc->l.db = ss->db;
        if (by_user) {
            sqlite3_bind_int64(sc->p.st, 1, f->user_id);
            sqlite3_bind_int64(sc->l.st, 1, f->user_id);
        }
        if (by_spec) {
            sqlite3_bind_text(sc->p.st, 2, f->spec, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(sc->l.st, 2, f->spec, -1, SQLITE_TRANSIENT);
        }
    }
    sc->ov_done = sc->ov == NULL;
    *out = sc;
    return 0;
}

/* The specialization name of a row (name: the stream's row_name). */
static const char *row_spec(const struct store_scan *sc, const struct scan_row *r,
                            const char *name)
{
    return r->spec >= 0 ? sc->specs[r->spec] : name;
}

/* Pair order of two rows: user, then the specialization bytewise (the rank
 * when both are in the table, the bytes otherwise). */
static int cmp_key(const struct store_scan *sc, const struct scan_row *a, const char *a_name,
                   const struct scan_row *b, const char *b_name)
{
    if (a->user != b->user)
        return a->user < b->user ? -1 : 1;
    if ((a->spec | b->spec) >= 0)
        return a->spec < b->spec ? -1 : a->spec > b->spec ? 1 : 0;
    return strcmp(row_spec(sc, a, a_name), row_spec(sc, b, b_name));
}

/* Order of the current open violation against the pair (user, spec):
 * negative when it comes first. */
static int cmp_open(const struct store_scan *sc, int64_t user, const char *spec)
{
    if (sc->ov_user != user)
        return sc->ov_user < user ? -1 : 1;
    return strcmp(sc->ov_spec, spec);
}

/* Make the stream's next row current (ready), unless it ended. */
static int stream_advance(struct scan_stream *ps)
{
    int rc = stream_next(ps);
    if (rc < 0)
        return rc;
    ps->ready = rc == 0;
    ps->done = rc == 1;
    return 0;
}

/* Take the stream's current row as one side of the pair: its level, and the
 * rows after it with the same key (duplicates), counted. The next row of
 * another pair is left current. */
static int take_side(struct store_scan *sc, struct scan_stream *ps, int64_t *rows, int *level,
                     bool *level_null)
{
    struct scan_row key = ps->row;
    char key_name[SPEC_ID_MAX];
    if (key.spec < 0)
        memcpy(key_name, ps->row_name, SPEC_ID_MAX);
    *rows = 1;
    *level_null = key.level == SCAN_LEVEL_NULL;
    *level = *level_null ? 0 : key.level;
    for (;;) {
        int rc = stream_advance(ps);
        if (rc < 0 || ps->done)
            return rc;
        int order = cmp_key(sc, &ps->row, ps->row_name, &key, key_name);
        if (order > 0)
            return 0;
        if (order < 0) /* a column whose values do not sort as text (SQLite's typing) */
            return store_fail(&sc->ss->base, STORE_ERR,
                              "%s: rows out of pair order after user %lld %s (a key column "
                              "holds values of another type)",
                              ps->what, (long long)key.user, row_spec(sc, &key, key_name));
        (*rows)++;
    }
}

int sq_pair_scan_next(struct store_scan *sc, struct pair_levels *out)
{
    struct scan_stream *streams[2] = {&sc->p, &sc->l};
    for (int i = 0; i < 2; i++) {
        struct scan_stream *ps = streams[i];
        if (!ps->ready && !ps->done) {
            int rc = stream_advance(ps);
            if (rc < 0)
                return rc;
        }
    }
    if (!sc->ov_ready && !sc->ov_done) {
        int rc = next_open_violation(sc);
        if (rc < 0)
            return rc;
        sc->ov_ready = rc == 0;
        sc->ov_done = rc == 1;
    }
    bool pair = sc->p.ready || sc->l.ready;
    if (!pair && !sc->ov_ready)
        return 0;
    int cmp = !sc->p.ready   ? 1
              : !sc->l.ready ? -1
                             : cmp_key(sc, &sc->p.row, sc->p.row_name, &sc->l.row,
                                       sc->l.row_name);
    struct scan_stream *src = cmp <= 0 ? &sc->p : &sc->l;
    const char *spec = pair ? row_spec(sc, &src->row, src->row_name) : NULL;
    out->open_known = sc->ov != NULL;
    out->has_open = false;
    out->has_details = false;
    if (sc->ov_ready) {
        int order = pair ? cmp_open(sc, src->row.user, spec) : -1;
        if (order <= 0) {
            out->has_open = true;
            out->open = sc->ovr;
            sc->ov_ready = false;
        }
        if (order < 0) {
            /* An open violation of a pair with no row left. */
            out->user_id = sc->ov_user;
            memcpy(out->spec, sc->ov_spec, sizeof out->spec);
            out->has_progress = out->has_license = false;
            out->progress_level = out->license_level = 0;
            out->progress_level_null = out->license_level_null = false;
            out->progress_rows = out->license_rows = 0;
            out->max_level = 0;
            return 1;
        }
    }
    out->user_id = src->row.user;
    memcpy(out->spec, spec, sizeof out->spec); /* both sources are SPEC_ID_MAX arrays */
    out->max_level = src->row.spec >= 0 ? sc->spec_max[src->row.spec] : 0;
    out->has_progress = cmp <= 0;
    out->has_license = cmp >= 0;
    out->progress_rows = out->license_rows = 0;
    out->progress_level = out->license_level = 0;
    out->progress_level_null = out->license_level_null = false;
    int rc = 0;
    if (cmp <= 0)
        rc = take_side(sc, &sc->p, &out->progress_rows, &out->progress_level,
                       &out->progress_level_null);
    if (rc == 0 && cmp >= 0)
        rc = take_side(sc, &sc->l, &out->license_rows, &out->license_level,
                       &out->license_level_null);
    return rc < 0 ? rc : 1;
}

void sq_pair_scan_close(struct store_scan *sc)
{
    if (!sc)
        return;
    struct scan_stream *streams[2] = {&sc->p, &sc->l};
    for (int i = 0; i < 2; i++) {
        bool aux = streams[i]->st && streams[i]->db != sc->ss->db;
        stream_stop(streams[i]);
        if (aux)
            sqlite3_exec(streams[i]->db, "COMMIT", NULL, NULL, NULL);
    }
    if (sc->ov)
        sqlite3_reset(sc->ov);
    scan_free(sc);
}

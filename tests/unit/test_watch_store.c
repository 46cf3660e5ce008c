/* test_watch_store.c — the watcher's store operations (store.h, watch.md) on
 * the store under test (SQLite, or PostgreSQL under LOCKSTEP_TEST_PG): the
 * capture triggers of a migrated own-mode store, the pending changes read by
 * whole users, pairs and rows read back per batch, the open violations and
 * watch_state moved, the watch lock and wait, incremental checks recorded. */
#include "service/check.h"
#include "service/watch.h"
#include "store/statements.h"
#include "testutil.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define T0 1700000000000000LL /* a fixed time, µs */
#define SECOND 1000000LL

struct changes {
    int n;
    struct pair_change c[32];
};

static int collect_change(void *ctx, const struct pair_change *c)
{
    struct changes *cs = ctx;
    assert_true(cs->n < 32);
    cs->c[cs->n++] = *c;
    return 0;
}

/* The pending changes of the users of the first max_rows (0: all) above
 * after_id, read in a transaction. */
static struct changes pending_after(struct store *s, int64_t max_rows, int64_t after_id)
{
    struct changes cs = {0};
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_changes(s, max_rows, after_id, collect_change, &cs), 0);
    assert_int_equal(s->ops->commit(s), 0);
    return cs;
}

static struct changes pending(struct store *s, int64_t max_rows)
{
    return pending_after(s, max_rows, INT64_MIN);
}

static void assert_change(const struct pair_change *c, int64_t user, const char *spec, int delta)
{
    assert_int_equal(c->user_id, user);
    assert_string_equal(c->spec, spec);
    assert_int_equal(c->delta, delta);
}

static void set_progress_level(struct store *s, int64_t user, const char *spec, int level,
                               int64_t xp)
{
    struct progress p;
    assert_int_equal(s->ops->progress_get(s, user, spec, false, &p), 0);
    p.current_level = level;
    p.total_xp = xp;
    assert_int_equal(s->ops->progress_update(s, &p), 0);
}

/* The license's level (and its highest, when that is lower). */
static void set_license_level(struct store *s, int64_t user, const char *spec, int level)
{
    struct license l;
    assert_int_equal(s->ops->license_get(s, user, spec, true, &l), 0);
    l.current_level = level;
    if (l.max_achieved_level < level)
        l.max_achieved_level = level;
    assert_int_equal(s->ops->license_update(s, &l), 0);
}

/* A student tagged "<prefix>-<i>". */
static int64_t student(struct store *s, const char *prefix, int i)
{
    char tag[32];
    snprintf(tag, sizeof tag, "%s-%d", prefix, i);
    return tu_user(s, tag, "student");
}

static void triggers_capture_inserts_level_changes_moves_and_deletes(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-capture", dir);
    int64_t u = tu_user(s, "capture", "student");
    double before = (double)time_now_us() / 1e6;
    tu_pair(s, u, "PLAYER", 3, 3);
    struct changes cs = pending(s, 0);
    assert_int_equal(cs.n, 2);
    assert_change(&cs.c[0], u, "PLAYER", 1);
    assert_change(&cs.c[1], u, "PLAYER", 1);
    assert_true(cs.c[0].id < cs.c[1].id);
    /* The database's clock, in seconds since the epoch. */
    assert_true(cs.c[0].changed_at > before - 60 && cs.c[0].changed_at < before + 60);

    set_progress_level(s, u, "PLAYER", 4, 10); /* the level: 0 */
    set_progress_level(s, u, "PLAYER", 4, 20); /* neither key nor level: nothing */
    cs = pending(s, 0);
    assert_int_equal(cs.n, 3);
    assert_change(&cs.c[2], u, "PLAYER", 0);

    /* A row moved to another key: -1 for the old pair, +1 for the new one. */
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "UPDATE specialization_progress SET specialization_id = 'COACH' "
                            "WHERE student_id = %lld",
                            (long long)u),
                     0);
    assert_int_equal(tu_sql(dir, out, sizeof out, "DELETE FROM user_licenses WHERE user_id = %lld",
                            (long long)u),
                     0);
    cs = pending(s, 0);
    assert_int_equal(cs.n, 6);
    assert_change(&cs.c[3], u, "PLAYER", -1);
    assert_change(&cs.c[4], u, "COACH", 1);
    assert_change(&cs.c[5], u, "PLAYER", -1);

    int64_t count = 0;
    double oldest = 0;
    assert_int_equal(s->ops->watch_pending(s, &count, &oldest), 0);
    assert_int_equal(count, 6);
    assert_true(oldest == cs.c[0].changed_at);
    store_close(s);
}

static void watch_changes_returns_every_change_of_the_users_it_takes(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-users", NULL);
    int64_t a = tu_user(s, "users-a", "student"), b = tu_user(s, "users-b", "student");
    tu_pair(s, a, "PLAYER", 2, 0);
    tu_pair(s, b, "PLAYER", 2, 0);
    tu_pair(s, a, "PLAYER", 0, 2);
    set_progress_level(s, a, "PLAYER", 3, 0);
    /* The first row is a's: all three of a's changes, not b's between them. */
    struct changes cs = pending(s, 1);
    assert_int_equal(cs.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cs.c[i].user_id, a);
    assert_true(cs.c[0].id < cs.c[1].id && cs.c[1].id < cs.c[2].id);
    assert_int_equal(cs.c[2].delta, 0);
    cs = pending(s, 2);
    assert_int_equal(cs.n, 4);
    assert_int_equal(cs.c[1].user_id, b);
    assert_int_equal(pending(s, 0).n, 4);

    /* Above a bound (the batch read ahead): the first row above b's is a's
     * second, so all of a's come, the one below the bound too, in id
     * order; b's (below) does not, nor c's (after the first row above). */
    int64_t c = tu_user(s, "users-c", "student");
    tu_pair(s, c, "PLAYER", 1, 0);
    struct changes all = pending(s, 0);
    assert_int_equal(all.n, 5);
    int64_t b_id = all.c[1].id;
    cs = pending_after(s, 1, b_id);
    assert_int_equal(cs.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cs.c[i].user_id, a);
    assert_true(cs.c[0].id < b_id && b_id < cs.c[1].id && cs.c[1].id < cs.c[2].id);
    /* Every row above a bound: c's only above a's last. */
    cs = pending_after(s, 0, all.c[3].id);
    assert_int_equal(cs.n, 1);
    assert_int_equal(cs.c[0].user_id, c);
    store_close(s);
}

/* Rows of a batch counted: in id order, by user. */
struct row_tally {
    int n, odd;         /* rows; rows of the users whose index is odd */
    int of[2];          /* rows of users[0] and users[2] */
    int64_t last_id;
    bool in_order;
    const int64_t *users;
};

static int tally_row(void *ctx, const struct pair_change *c)
{
    struct row_tally *t = ctx;
    t->in_order = t->in_order && c->id > t->last_id;
    t->last_id = c->id;
    t->n++;
    t->odd += (c->user_id - t->users[0]) % 2 != 0;
    t->of[0] += c->user_id == t->users[0];
    t->of[1] += c->user_id == t->users[2];
    return 0;
}

static struct row_tally tally(struct store *s, const int64_t *users, int64_t max_rows)
{
    struct row_tally t = {.in_order = true, .last_id = INT64_MIN, .users = users};
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_changes(s, max_rows, INT64_MIN, tally_row, &t), 0);
    assert_int_equal(s->ops->commit(s), 0);
    return t;
}

/* The first rows of a batch over users close together: their users' other
 * rows come (SQLite reads them as one range of users), those of the users
 * in between do not, however many they have. */
static void the_other_rows_of_users_close_together_are_theirs_alone(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-other-range", NULL);
    enum { USERS = 200 };
    int64_t users[USERS];
    for (int i = 0; i < USERS; i++)
        users[i] = student(s, "other", i);
    for (int i = 1; i < USERS; i++)
        assert_int_equal(users[i], users[i - 1] + 1); /* consecutive ids */
    /* The first 100 rows: the even users'; then the odd users', then two
     * more of users 0 and 2. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < USERS; i += 2)
        tu_pair(s, users[i], "PLAYER", 2, 0);
    for (int i = 1; i < USERS; i += 2)
        tu_pair(s, users[i], "PLAYER", 2, 0);
    tu_pair(s, users[0], "COACH", 1, 0);
    tu_pair(s, users[2], "COACH", 1, 0);
    assert_int_equal(s->ops->commit(s), 0);
    struct row_tally t = tally(s, users, 100);
    assert_int_equal(t.n, 102);
    assert_int_equal(t.odd, 0);
    assert_int_equal(t.of[0], 2);
    assert_int_equal(t.of[1], 2);
    assert_true(t.in_order);
    /* User 1, between them, with 600 rows of its own: read user by user
     * instead (the range would step over them), the same rows. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 1; i <= 600; i++)
        set_progress_level(s, users[1], "PLAYER", 2 + i % 2, i);
    assert_int_equal(s->ops->commit(s), 0);
    t = tally(s, users, 100);
    assert_int_equal(t.n, 102);
    assert_int_equal(t.odd, 0);
    assert_int_equal(t.of[0], 2);
    assert_true(t.in_order);
    store_close(s);
}

struct pairs {
    int n;
    struct pair_levels p[8];
};

static int collect_pair(void *ctx, const struct pair_levels *p)
{
    struct pairs *ps = ctx;
    assert_true(ps->n < 8);
    ps->p[ps->n++] = *p;
    return 0;
}

static struct violation a_violation(int64_t user, const char *spec, const char *issue,
                                    int progress_level, int license_level, int64_t first_seen)
{
    struct violation v;
    memset(&v, 0, sizeof v);
    v.user_id = user;
    snprintf(v.spec, sizeof v.spec, "%s", spec);
    snprintf(v.issue_type, sizeof v.issue_type, "%s", issue);
    snprintf(v.user_email, sizeof v.user_email, "someone@test.local");
    v.has_progress = progress_level > 0;
    v.progress_level = progress_level;
    v.has_license = license_level > 0;
    v.license_level = license_level;
    snprintf(v.recommended_action, sizeof v.recommended_action, "sync_license_to_progress");
    v.first_seen = first_seen;
    return v;
}

/* A move for the pair as pairs_get reads it now. */
static struct violation_move move_of(struct store *s, int64_t user, const char *spec,
                                     const struct violation *v)
{
    struct violation_move m;
    memset(&m, 0, sizeof m);
    m.key.user_id = user;
    snprintf(m.key.spec, sizeof m.key.spec, "%s", spec);
    struct pairs got = {0};
    assert_int_equal(s->ops->pairs_get(s, &m.key, 1, collect_pair, &got), 0);
    assert_int_equal(got.n, 1);
    if (got.p[0].has_open)
        snprintf(m.open_type, sizeof m.open_type, "%s", got.p[0].open.issue_type);
    m.has_v = v != NULL;
    if (v)
        m.v = *v;
    return m;
}

static void set_violation(struct store *s, int64_t user, const char *spec,
                          const struct violation *v, int64_t now)
{
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    struct violation_move m = move_of(s, user, spec, v);
    assert_int_equal(s->ops->violations_move(s, &m, 1, now), 0);
    assert_int_equal(s->ops->commit(s), 0);
}

static void pairs_get_reads_each_key_in_order_with_its_open_violation(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-pairs", NULL);
    int64_t u1 = tu_user(s, "pairs-1", "student"), u2 = tu_user(s, "pairs-2", "student");
    int64_t u3 = tu_user(s, "pairs-3", "student");
    tu_pair(s, u1, "PLAYER", 3, 3);
    tu_pair(s, u1, "COACH", 2, 0);
    tu_pair(s, u2, "PLAYER", 5, 4);
    struct violation v = a_violation(u2, "PLAYER", "level_mismatch", 5, 4, T0);
    set_violation(s, u2, "PLAYER", &v, T0);

    struct pair_key keys[4] = {{.user_id = u2, .spec = "PLAYER"},
                               {.user_id = u1, .spec = "COACH"},
                               {.user_id = u3, .spec = "INTERNSHIP"},
                               {.user_id = u1, .spec = "PLAYER"}};
    struct pairs got = {0};
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->pairs_get(s, keys, 4, collect_pair, &got), 0);
    /* Brief (SQLite: its id and type), the rest read on demand. */
    assert_true(got.p[0].open.id > 0);
    if (got.p[0].open.brief) {
        struct open_violation *need = &got.p[0].open;
        assert_non_null(s->ops->open_details);
        assert_int_equal(s->ops->open_details(s, &need, 1), 0);
        assert_false(got.p[0].open.brief);
        /* One no longer open: an error, the others filled all the same. */
        struct open_violation gone = {.id = got.p[0].open.id + 1000, .brief = true};
        struct open_violation again = {.id = got.p[0].open.id, .brief = true};
        struct open_violation *two[2] = {&gone, &again};
        assert_int_equal(s->ops->open_details(s, two, 2), STORE_ERR);
        assert_true(strstr(store_errmsg(s), "no longer open") != NULL);
        assert_false(again.brief);
        assert_int_equal(again.license_level, 4);
    }
    int64_t users[3] = {u1, u2, u3}, rows[3] = {-1, -1, -1};
    assert_int_equal(s->ops->user_rows(s, users, 3, rows), 0);
    assert_int_equal(s->ops->commit(s), 0);

    assert_int_equal(got.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(got.p[i].user_id, keys[i].user_id);
        assert_string_equal(got.p[i].spec, keys[i].spec);
        assert_true(got.p[i].open_known);
    }
    const struct pair_levels *mismatch = &got.p[0], *no_license = &got.p[1];
    const struct pair_levels *empty = &got.p[2], *coupled = &got.p[3];
    assert_true(mismatch->has_progress && mismatch->has_license);
    assert_int_equal(mismatch->progress_level, 5);
    assert_int_equal(mismatch->license_level, 4);
    assert_int_equal(mismatch->max_level, 8);
    assert_true(mismatch->has_open);
    assert_string_equal(mismatch->open.issue_type, "level_mismatch");
    assert_int_equal(mismatch->open.progress_level, 5);
    assert_int_equal(mismatch->open.license_level, 4);
    assert_int_equal(mismatch->open.first_seen, T0);

    assert_true(no_license->has_progress && !no_license->has_license);
    assert_int_equal(no_license->progress_level, 2);
    assert_false(no_license->has_open);

    assert_false(empty->has_progress || empty->has_license);
    assert_false(empty->has_open);
    assert_int_equal(empty->max_level, 3);

    assert_true(coupled->has_progress && coupled->has_license);
    assert_int_equal(coupled->progress_level, 3);
    assert_int_equal(coupled->license_level, 3);
    assert_false(coupled->progress_level_null || coupled->license_level_null);
    assert_true(coupled->progress_rows <= 1 && coupled->license_rows <= 1);
    assert_false(coupled->has_open);

    /* Rows of the two tables per user: u1 three, u2 two, u3 none. */
    assert_int_equal(rows[0], 3);
    assert_int_equal(rows[1], 2);
    assert_int_equal(rows[2], 0);
    store_close(s);
}

/* Every pair as the scan reads it and as pairs_get reads it: the same. */
static void pairs_get_agrees_with_the_pair_scan(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-pairs-scan", dir);
    int64_t u[4];
    for (int i = 0; i < 4; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "scan-%d", i);
        u[i] = tu_user(s, tag, "student");
    }
    tu_pair(s, u[0], "PLAYER", 3, 3);
    tu_pair(s, u[0], "COACH", 2, 5);
    tu_pair(s, u[1], "INTERNSHIP", 3, 0);
    tu_pair(s, u[2], "PLAYER", 0, 7);
    tu_pair(s, u[3], "INTERNSHIP", 2, 2);
    char out[64];
    /* Out of the specialization's range: invalid_level. */
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "UPDATE user_licenses SET current_level = 99 WHERE user_id = %lld",
                            (long long)u[3]),
                     0);
    struct pairs scanned = {0};
    struct store_scan *sc = NULL;
    struct pair_levels p;
    int rc;
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    assert_int_equal(s->ops->pair_scan_open(s, NULL, &sc), 0);
    while ((rc = s->ops->pair_scan_next(sc, &p)) == 1)
        collect_pair(&scanned, &p);
    s->ops->pair_scan_close(sc);
    assert_int_equal(rc, 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_int_equal(scanned.n, 5);

    struct pair_key keys[8];
    for (int i = 0; i < scanned.n; i++) {
        keys[i].user_id = scanned.p[i].user_id;
        memcpy(keys[i].spec, scanned.p[i].spec, sizeof keys[i].spec);
    }
    struct pairs got = {0};
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->pairs_get(s, keys, (size_t)scanned.n, collect_pair, &got), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_int_equal(got.n, scanned.n);
    for (int i = 0; i < got.n; i++) {
        const struct pair_levels *a = &scanned.p[i], *b = &got.p[i];
        assert_int_equal(b->user_id, a->user_id);
        assert_string_equal(b->spec, a->spec);
        assert_int_equal(b->has_progress, a->has_progress);
        assert_int_equal(b->has_license, a->has_license);
        assert_int_equal(b->progress_level, a->progress_level);
        assert_int_equal(b->license_level, a->license_level);
        assert_int_equal(b->progress_level_null, a->progress_level_null);
        assert_int_equal(b->license_level_null, a->license_level_null);
        assert_int_equal(b->progress_rows > 1, a->progress_rows > 1);
        assert_int_equal(b->license_rows > 1, a->license_rows > 1);
        assert_int_equal(b->max_level, a->max_level);
    }
    store_close(s);
}

struct violations {
    int n;
    struct violation v[8];
};

static int collect_violation(void *ctx, const struct violation *v)
{
    struct violations *vs = ctx;
    assert_true(vs->n < 8);
    vs->v[vs->n++] = *v;
    return 0;
}

static struct violations open_violations(struct store *s)
{
    struct violations vs = {0};
    assert_int_equal(s->ops->violations_open(s, NULL, collect_violation, &vs), 0);
    return vs;
}

static void violation_set_opens_keeps_moves_and_resolves(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-violation-set", NULL);
    int64_t u = tu_user(s, "violation-set", "student");
    struct violation v = a_violation(u, "PLAYER", "missing_license", 4, 0, T0);
    set_violation(s, u, "PLAYER", &v, T0);
    struct violations vs = open_violations(s);
    assert_int_equal(vs.n, 1);
    assert_string_equal(vs.v[0].issue_type, "missing_license");
    assert_int_equal(vs.v[0].first_seen, T0);
    assert_false(vs.v[0].has_license);

    /* The same issue type again: first_seen kept, the levels are the new ones. */
    v = a_violation(u, "PLAYER", "missing_license", 6, 0, T0 + 10 * SECOND);
    set_violation(s, u, "PLAYER", &v, T0 + 10 * SECOND);
    vs = open_violations(s);
    assert_int_equal(vs.n, 1);
    assert_int_equal(vs.v[0].first_seen, T0);
    assert_int_equal(vs.v[0].progress_level, 6);

    /* Another issue type: the old one resolved, the new one opened. */
    v = a_violation(u, "PLAYER", "level_mismatch", 6, 2, T0 + 20 * SECOND);
    set_violation(s, u, "PLAYER", &v, T0 + 20 * SECOND);
    vs = open_violations(s);
    assert_int_equal(vs.n, 1);
    assert_string_equal(vs.v[0].issue_type, "level_mismatch");
    assert_int_equal(vs.v[0].first_seen, T0 + 20 * SECOND);
    assert_int_equal(vs.v[0].license_level, 2);
    struct violations resolved = {0};
    assert_int_equal(s->ops->violations_resolved_since(s, T0, collect_violation, &resolved), 0);
    assert_int_equal(resolved.n, 1);
    assert_string_equal(resolved.v[0].issue_type, "missing_license");

    /* None: resolved. */
    set_violation(s, u, "PLAYER", NULL, T0 + 30 * SECOND);
    assert_int_equal(open_violations(s).n, 0);
    resolved.n = 0;
    assert_int_equal(
        s->ops->violations_resolved_since(s, T0 + 25 * SECOND, collect_violation, &resolved), 0);
    assert_int_equal(resolved.n, 1);
    assert_string_equal(resolved.v[0].issue_type, "level_mismatch");
    store_close(s);
}

/* Several moves in one call (PostgreSQL: one statement over arrays): each
 * pair gets its own, quotes and backslashes in the texts arrive as written. */
static void violations_move_moves_several_pairs_at_once(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-violations-move", NULL);
    int64_t u1 = tu_user(s, "move-1", "student"), u2 = tu_user(s, "move-2", "student");
    struct violation a = a_violation(u1, "PLAYER", "level_mismatch", 5, 4, T0);
    set_violation(s, u1, "PLAYER", &a, T0);

    struct violation b = a_violation(u2, "COACH", "missing_progress", 0, 3, T0 + SECOND);
    snprintf(b.user_email, sizeof b.user_email, "o'\"brien\\x@test.local");
    struct violation c = a_violation(u2, "PLAYER", "invalid_level", 9, 9, 0);
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    struct violation_move m[3] = {move_of(s, u1, "PLAYER", NULL), move_of(s, u2, "COACH", &b),
                                  move_of(s, u2, "PLAYER", &c)};
    assert_int_equal(s->ops->violations_move(s, m, 3, T0 + 2 * SECOND), 0);
    assert_int_equal(s->ops->commit(s), 0);

    struct violations vs = open_violations(s);
    assert_int_equal(vs.n, 2);
    for (int i = 0; i < vs.n; i++) {
        assert_int_equal(vs.v[i].user_id, u2);
        if (!strcmp(vs.v[i].spec, "COACH")) {
            assert_string_equal(vs.v[i].issue_type, "missing_progress");
            assert_string_equal(vs.v[i].user_email, "o'\"brien\\x@test.local");
            assert_false(vs.v[i].has_progress);
            assert_int_equal(vs.v[i].license_level, 3);
            assert_int_equal(vs.v[i].first_seen, T0 + SECOND);
        } else {
            assert_string_equal(vs.v[i].spec, "PLAYER");
            assert_string_equal(vs.v[i].issue_type, "invalid_level");
            assert_int_equal(vs.v[i].first_seen, T0 + 2 * SECOND); /* 0: now */
        }
    }
    struct violations resolved = {0};
    assert_int_equal(s->ops->violations_resolved_since(s, T0, collect_violation, &resolved), 0);
    assert_int_equal(resolved.n, 1);
    assert_int_equal(resolved.v[0].user_id, u1);
    store_close(s);
}

static struct watch_state state_of(struct store *s)
{
    struct watch_state w;
    assert_int_equal(s->ops->watch_state_get(s, &w), 0);
    return w;
}

static void watch_advance_reset_and_discard_consume_their_change_rows(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-advance", dir);
    struct watch_state w = state_of(s);
    assert_false(w.initialized || w.sweep_requested);
    assert_int_equal(w.pairs + w.users + w.violations + w.version, 0);
    assert_int_equal(w.applied_at + w.last_full_at, 0);

    int64_t u = tu_user(s, "advance", "student");
    tu_pair(s, u, "PLAYER", 2, 2);
    tu_pair(s, u, "COACH", 1, 0);
    struct changes cs = pending(s, 0);
    assert_int_equal(cs.n, 3);
    /* The first and the third applied: the second stays pending. */
    int64_t ids[2] = {cs.c[0].id, cs.c[2].id};
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(
        s->ops->watch_advance(s, ids, 2, 2, 1, 1, 0.25, T0 + SECOND), 0);
    assert_int_equal(s->ops->commit(s), 0);
    struct changes left = pending(s, 0);
    assert_int_equal(left.n, 1);
    assert_int_equal(left.c[0].id, cs.c[1].id);
    int64_t count = 0;
    double oldest = 0;
    assert_int_equal(s->ops->watch_pending(s, &count, &oldest), 0);
    assert_int_equal(count, 1);
    assert_true(oldest == cs.c[1].changed_at);
    w = state_of(s);
    assert_int_equal(w.pairs, 2);
    assert_int_equal(w.users, 1);
    assert_int_equal(w.violations, 1);
    assert_int_equal(w.version, 1);
    assert_int_equal(w.applied_at, T0 + SECOND);
    assert_true(w.last_lag_seconds == 0.25);

    /* Deltas add up; a negative lag leaves the last one. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_advance(s, NULL, 0, -1, 0, -1, -1, T0 + 2 * SECOND), 0);
    assert_int_equal(s->ops->commit(s), 0);
    w = state_of(s);
    assert_int_equal(w.pairs, 1);
    assert_int_equal(w.users, 1);
    assert_int_equal(w.violations, 0);
    assert_int_equal(w.version, 2);
    assert_true(w.last_lag_seconds == 0.25);

    /* A full sweep's state replaces the counts. */
    int64_t rest = cs.c[1].id;
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_reset(s, &rest, 1, 10, 4, 2, 7, 3, T0 + 3 * SECOND, NULL), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_int_equal(pending(s, 0).n, 0);
    assert_int_equal(s->ops->watch_pending(s, &count, &oldest), 0);
    assert_int_equal(count, 0);
    assert_true(oldest == 0);
    w = state_of(s);
    assert_true(w.initialized);
    assert_false(w.sweep_requested);
    assert_int_equal(w.pairs, 10);
    assert_int_equal(w.users, 4);
    assert_int_equal(w.violations, 2);
    assert_int_equal(w.version, 3);
    assert_int_equal(w.last_full_at, T0 + 3 * SECOND);
    assert_int_equal(w.last_full_check_id, 7);
    assert_int_equal(w.divergences_total, 3);

    /* A bulk load's changes discarded: none pending, a full sweep needed. */
    tu_pair(s, u, "INTERNSHIP", 1, 1);
    assert_int_equal(pending(s, 0).n, 2);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    assert_int_equal(s->ops->watch_discard(s), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_int_equal(pending(s, 0).n, 0);
    w = state_of(s);
    assert_false(w.initialized);
    assert_int_equal(w.version, 4);

    /* A change row no longer pending (another writer consumed it): the
     * advance fails, and once rolled back nothing of it happened. */
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out, "DELETE FROM user_licenses WHERE user_id = %lld "
                            "AND specialization_type = 'PLAYER'", (long long)u),
                     0);
    cs = pending(s, 0);
    assert_int_equal(cs.n, 1);
    int64_t gone[2] = {cs.c[0].id, cs.c[0].id + 1000};
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_advance(s, gone, 2, 1, 0, 1, 0, T0 + 4 * SECOND), STORE_ERR);
    assert_non_null(strstr(store_errmsg(s), "no longer pending"));
    s->ops->rollback(s);
    assert_int_equal(pending(s, 0).n, 1);
    assert_int_equal(state_of(s).pairs, w.pairs);
    assert_int_equal(state_of(s).version, 4);
    store_close(s);
}

/* One poll in its own snapshot transaction; returns how many rows it took. */
static int64_t poll_once(struct store *s)
{
    int64_t taken = -1;
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_poll(s, T0, &taken), 0);
    assert_int_equal(s->ops->commit(s), 0);
    return taken;
}

/* Set a row's level and updated_at (the backend's literal of `when`,
 * "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC) behind the store's back. */
static void touch(const char *dir, const char *table, const char *user_col, int64_t user,
                  int level, const char *when)
{
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "UPDATE %s SET current_level = %d, updated_at = '%s%s' WHERE %s = %lld",
                            table, level, when, tu_pg() ? "+00" : "", user_col, (long long)user),
                     0);
}

static void watch_poll_takes_the_rows_whose_updated_at_moved_past_the_watermark(void **state)
{
    (void)state;
    char dir[512], *sql = NULL;
    struct store *s = tu_store("watch-poll", dir);
    /* Only the polls write change rows here. */
    assert_int_equal(s->ops->watch_capture(s, false, true, &sql), 0);
    free(sql);
    int64_t a = tu_user(s, "poll-a", "student"), b = tu_user(s, "poll-b", "student");
    tu_pair(s, a, "PLAYER", 3, 3);
    tu_pair(s, b, "COACH", 2, 2);

    /* Not polled yet: the watermarks start at the newest updated_at, nothing taken. */
    struct watch_state w = state_of(s);
    assert_string_equal(w.marks.progress, "");
    assert_int_equal(poll_once(s), 0);
    w = state_of(s);
    assert_true(w.marks.progress[0] && strcmp(w.marks.progress, WATCH_MARK_EMPTY) != 0);
    assert_true(w.marks.license[0] && strcmp(w.marks.license, WATCH_MARK_EMPTY) != 0);
    assert_int_equal(pending(s, 0).n, 0);

    /* A license whose updated_at moved: one change row (delta 0, changed_at
     * its updated_at); the license watermark is that updated_at. */
    touch(dir, "user_licenses", "user_id", a, 4, "2099-01-01 00:00:00");
    assert_int_equal(poll_once(s), 1);
    struct changes cs = pending(s, 0);
    assert_int_equal(cs.n, 1);
    assert_change(&cs.c[0], a, "PLAYER", 0);
    assert_true(cs.c[0].changed_at == 4070908800.0);
    w = state_of(s);
    assert_non_null(strstr(w.marks.license, "2099-01-01"));
    assert_null(strstr(w.marks.progress, "2099"));
    /* Nothing newer: nothing taken; the same updated_at again is not newer. */
    assert_int_equal(poll_once(s), 0);
    touch(dir, "user_licenses", "user_id", b, 1, "2099-01-01 00:00:00");
    assert_int_equal(poll_once(s), 0);
    /* A microsecond later is (the watermark compares exactly). */
    touch(dir, "user_licenses", "user_id", b, 1, "2099-01-01 00:00:00.000001");
    touch(dir, "specialization_progress", "student_id", b, 5, "2098-06-01 12:00:00");
    assert_int_equal(poll_once(s), 2);
    cs = pending(s, 0);
    assert_int_equal(cs.n, 3);
    assert_change(&cs.c[1], b, "COACH", 0);
    assert_change(&cs.c[2], b, "COACH", 0);
    w = state_of(s);
    assert_non_null(strstr(w.marks.license, "2099-01-01"));
    assert_non_null(strstr(w.marks.license, ".000001"));
    assert_non_null(strstr(w.marks.progress, "2098-06-01"));

    /* watch_marks reads the same newest values; a full sweep's reset sets them. */
    struct watch_marks m;
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    assert_int_equal(s->ops->watch_marks(s, &m), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_string_equal(m.progress, w.marks.progress);
    assert_string_equal(m.license, w.marks.license);
    snprintf(m.progress, sizeof m.progress, "%s", WATCH_MARK_EMPTY);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    assert_int_equal(s->ops->watch_reset(s, NULL, 0, 2, 2, 0, 1, 0, T0, &m), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_string_equal(state_of(s).marks.progress, WATCH_MARK_EMPTY);
    /* WATCH_MARK_EMPTY: every row with an updated_at is newer. */
    assert_int_equal(poll_once(s), 2);
    assert_string_equal(state_of(s).marks.progress, w.marks.progress);
    /* A reset without marks leaves them. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    assert_int_equal(s->ops->watch_reset(s, NULL, 0, 2, 2, 0, 2, 0, T0, NULL), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_string_equal(state_of(s).marks.license, w.marks.license);
    store_close(s);
}

static void a_new_specialization_requests_a_full_sweep(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-specs", NULL);
    assert_int_equal(s->ops->begin(s, STORE_TXN_SNAPSHOT), 0);
    assert_int_equal(s->ops->watch_reset(s, NULL, 0, 0, 0, 0, 1, 0, T0, NULL), 0);
    assert_int_equal(s->ops->commit(s), 0);
    assert_false(state_of(s).sweep_requested);
    struct specialization sp;
    memset(&sp, 0, sizeof sp);
    snprintf(sp.id, sizeof sp.id, "REFEREE");
    snprintf(sp.name, sizeof sp.name, "Referee");
    sp.max_levels = 5;
    sp.is_active = true;
    sp.created_at = T0;
    assert_int_equal(s->ops->spec_insert(s, &sp), 0);
    assert_true(state_of(s).sweep_requested);
    store_close(s);
}

/* One batch of what is pending, applied as a scheduled run does. */
static struct watch_batch apply_one(struct store *s)
{
    struct watch_batch b;
    char err[600];
    assert_int_equal(
        watch_apply_batch(s, "progress_to_license", WATCH_BATCH_ROWS, NULL, &b, err, sizeof err),
        0);
    return b;
}

/* Apply every pending change row through the watcher's batch. */
static void apply_all(struct store *s)
{
    while (apply_one(s).changes > 0)
        ;
}

/* n students tagged prefix, each with a PLAYER pair whose license lags its
 * progress (3 against 2), their violations open. */
static void drifting_students(struct store *s, const char *prefix, int64_t *users, int n)
{
    for (int i = 0; i < n; i++) {
        users[i] = student(s, prefix, i);
        tu_pair(s, users[i], "PLAYER", 3, 2);
    }
    apply_all(s);
    assert_int_equal(state_of(s).violations, n);
}

/* A dry-run full check of the store, as the watcher's state should equal. */
static void dry_check(struct store *s, struct check_outcome *out)
{
    struct check_options o = {.dry_run = true, .trigger = "manual",
                              .direction = "progress_to_license", .healthy_threshold = 99.0,
                              .degraded_threshold = 95.0};
    char err[600];
    assert_int_equal(check_execute(s, &o, out, err, sizeof err), 0);
}

/* A violation the watcher opens carries its user's email, whichever way the
 * backend reads it (with the pair on PostgreSQL, by user on SQLite). */
static void a_batch_opens_violations_with_each_users_email(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-email", NULL);
    int64_t u1 = tu_user(s, "mail-one", "student"), u2 = tu_user(s, "mail-two", "student");
    tu_pair(s, u1, "PLAYER", 3, 3);
    tu_pair(s, u2, "COACH", 2, 2);
    tu_pair(s, u2, "PLAYER", 1, 1);
    apply_all(s);
    assert_int_equal(open_violations(s).n, 0);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    set_progress_level(s, u1, "PLAYER", 4, 10);
    set_progress_level(s, u2, "COACH", 1, 10);
    assert_int_equal(s->ops->commit(s), 0);
    apply_all(s);
    struct violations vs = open_violations(s);
    assert_int_equal(vs.n, 2);
    for (int i = 0; i < vs.n; i++) {
        assert_string_equal(vs.v[i].issue_type, "level_mismatch");
        assert_string_equal(vs.v[i].user_email, vs.v[i].user_id == u1 ? "mail-one@test.local"
                                                                        : "mail-two@test.local");
        assert_string_equal(vs.v[i].spec, vs.v[i].user_id == u1 ? "PLAYER" : "COACH");
    }
    store_close(s);
}

/* A batch reads what it needs of each open violation (SQLite: the rest of it
 * only where the pair keeps its issue type): a pair whose level went and came
 * back keeps its violation row as it was, one that moved takes the new
 * levels with its email and first_seen, one repaired is resolved. */
static void a_pair_back_where_it_was_leaves_its_violation_alone(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-back", dir);
    int64_t back = student(s, "back", 0), moved = student(s, "back", 1);
    int64_t repaired = student(s, "back", 2);
    tu_pair(s, back, "PLAYER", 4, 2);
    tu_pair(s, moved, "PLAYER", 4, 2);
    tu_pair(s, repaired, "PLAYER", 4, 2);
    apply_all(s);
    assert_int_equal(state_of(s).violations, 3);
    /* As a check would have left them: seen by check 7. */
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out, "UPDATE violations SET last_check_id = 7"), 0);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    set_progress_level(s, back, "PLAYER", 5, 1);
    set_progress_level(s, back, "PLAYER", 4, 2);
    set_progress_level(s, moved, "PLAYER", 5, 1);
    set_progress_level(s, repaired, "PLAYER", 2, 1);
    assert_int_equal(s->ops->commit(s), 0);
    struct watch_batch b = apply_one(s);
    assert_int_equal(b.pairs, 3);
    assert_int_equal(b.opened, 0);
    assert_int_equal(b.resolved, 1);
    assert_int_equal(state_of(s).violations, 2);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE user_id = %lld AND "
                                     "resolved_at IS NULL AND last_check_id = 7 AND "
                                     "progress_level = 4 AND license_level = 2",
                                (long long)back),
                     1);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations v JOIN users u ON u.id = "
                                     "v.user_id WHERE v.user_id = %lld AND v.resolved_at IS NULL "
                                     "AND v.last_check_id = 0 AND v.progress_level = 5 AND "
                                     "v.license_level = 2 AND v.user_email = u.email AND "
                                     "v.first_seen = (SELECT first_seen FROM violations WHERE "
                                     "user_id = %lld)",
                                (long long)moved, (long long)back),
                     1);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE user_id = %lld AND "
                                     "resolved_at IS NOT NULL",
                                (long long)repaired),
                     1);
    store_close(s);
}

/* Resolutions go by the open violation's id (SQLite, 32 to a statement: the
 * moves go last first, so users 38-69 make the first) only where the pair
 * has just that one open: user 60's pair with two (another issue type added
 * behind the watcher's back) has both resolved. */
static void a_pair_with_two_open_violations_has_both_resolved(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-two-open", dir);
    enum { USERS = 70 };
    int64_t users[USERS];
    drifting_students(s, "two", users, USERS);
    char out[64];
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "INSERT INTO violations(user_id, specialization, issue_type, "
                            "user_email, progress_level, license_level, recommended_action, "
                            "first_seen, first_check_id, last_check_id) SELECT user_id, "
                            "specialization, 'invalid_level', user_email, progress_level, "
                            "license_level, recommended_action, first_seen, first_check_id, "
                            "last_check_id FROM violations WHERE user_id = %lld",
                            (long long)users[60]),
                     0);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < USERS; i++)
        set_license_level(s, users[i], "PLAYER", 3); /* every pair repaired */
    assert_int_equal(s->ops->commit(s), 0);
    struct watch_batch b = apply_one(s);
    assert_int_equal(b.pairs, USERS);
    assert_int_equal(b.resolved, USERS);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE resolved_at IS NULL"),
                     0);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE user_id = %lld AND "
                                     "resolved_at IS NOT NULL",
                                (long long)users[60]),
                     2);
    store_close(s);
}

/* Another client moving levels while the watcher drains. */
struct mover {
    struct store *s;
    const int64_t *users;
    int n_users, moves;
    atomic_bool done;
};

static void *move_levels(void *arg)
{
    struct mover *m = arg;
    unsigned seed = 7;
    for (int i = 0; i < m->moves; i++) {
        int64_t u = m->users[rand_r(&seed) % (unsigned)m->n_users];
        const char *spec = rand_r(&seed) % 2 ? "PLAYER" : "COACH";
        struct progress p;
        assert_int_equal(m->s->ops->begin(m->s, STORE_TXN_WRITE), 0);
        assert_int_equal(m->s->ops->progress_get(m->s, u, spec, false, &p), 0);
        p.current_level = p.current_level % 3 + 1; /* always another level: a change row */
        assert_int_equal(m->s->ops->progress_update(m->s, &p), 0);
        assert_int_equal(m->s->ops->commit(m->s), 0);
    }
    atomic_store(&m->done, true);
    return NULL;
}

struct tally {
    int64_t changes, batches, ahead;
};

static bool tally_batch(void *ctx, const struct watch_batch *b)
{
    struct tally *t = ctx;
    t->changes += b->changes;
    t->batches++;
    t->ahead += b->read_ahead;
    return true;
}

/* After the first batch, a level change of a user in the batch already read
 * ahead: the batch read next skips the user (its row waits for a later
 * batch), and is the last, not full. */
struct late_change {
    struct store *wr;
    int64_t user;
    struct tally tally;
};

static bool late_change_after_first(void *ctx, const struct watch_batch *b)
{
    struct late_change *l = ctx;
    if (l->tally.batches == 0)
        set_progress_level(l->wr, l->user, "PLAYER", 3, 0);
    return tally_batch(&l->tally, b);
}

/* A drain returns once a batch it read first took all that was pending; a
 * row skipped by a batch read ahead is taken before it returns, even when
 * the last batch was not full. */
static void a_drain_takes_the_rows_its_batches_read_ahead_skipped(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-skipped", dir), *rd = tu_store_again(dir),
                 *wr = tu_store_again(dir);
    enum { USERS = 19 };
    int64_t users[USERS];
    for (int i = 0; i < USERS; i++) {
        users[i] = student(s, "skipped", i);
        tu_pair(s, users[i], "PLAYER", 2, 2);
    }
    char err[600];
    int64_t applied;
    struct tally all = {0};
    assert_int_equal(watch_drain(s, rd, NULL, "progress_to_license", 1000, NULL, tally_batch,
                                 &all, &applied, err, sizeof err),
                     0);
    assert_int_equal(applied, 2 * USERS);
    /* One change row per user, in the users' order: batches of 7 take users
     * 1-7, 8-14 (read while the first is written) and 15-19 (read while the
     * second is written: the late row of user 10 is skipped, and the batch,
     * 6 rows above its bound, is not full). */
    for (int i = 0; i < USERS; i++)
        set_progress_level(s, users[i], "PLAYER", 1, 0);
    struct late_change l = {.wr = wr, .user = users[9]};
    assert_int_equal(watch_drain(s, rd, NULL, "progress_to_license", 7, NULL,
                                 late_change_after_first, &l, &applied, err, sizeof err),
                     0);
    assert_true(l.tally.ahead >= 2);
    assert_int_equal(applied, USERS + 1);
    assert_int_equal(pending(s, 0).n, 0);
    store_close(wr);
    store_close(rd);
    store_close(s);
}

/* serve's watcher reads the next batch on a second connection while one is
 * written, above it and without its users (and on SQLite a third one
 * checkpoints the WAL meanwhile). With another client moving
 * levels all the while (users in flight among them), every change row is
 * applied once: the counts and the open violations end as a full check
 * finds them, and nothing stays pending. */
static void a_drain_reading_ahead_applies_every_change_once(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-drain", dir), *rd = tu_store_again(dir),
                 *ck = tu_store_again(dir), *wr = tu_store_again(dir);
    enum { USERS = 60, MOVES = 300 };
    int64_t users[USERS];
    for (int i = 0; i < USERS; i++) {
        users[i] = student(s, "drain", i);
        tu_pair(s, users[i], "PLAYER", 2, 2);
        tu_pair(s, users[i], "COACH", 1, i % 3 ? 1 : 0);
    }
    int64_t written = 4 * USERS - USERS / 3; /* a change row per row inserted */
    struct mover m = {.s = wr, .users = users, .n_users = USERS, .moves = MOVES};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, move_levels, &m), 0);
    struct tally tally = {0};
    char err[600];
    int64_t applied, rounds = 0;
    bool last = false;
    while (!last) { /* drain until the mover is done and nothing is left */
        last = atomic_load(&m.done);
        assert_int_equal(watch_drain(s, rd, ck, "progress_to_license", 7, NULL, tally_batch, &tally,
                                     &applied, err, sizeof err),
                         0);
        rounds++;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    written += MOVES;
    assert_int_equal(pending(s, 0).n, 0);
    assert_int_equal(tally.changes, written);
    /* The first batch was full: the second was read while it was written. */
    assert_true(tally.ahead >= 1);

    struct check_outcome out;
    dry_check(s, &out);
    struct watch_state w = state_of(s);
    assert_int_equal(w.pairs, out.run.total_checked);
    assert_int_equal(w.pairs, 2 * USERS);
    assert_int_equal(w.users, out.run.users_checked);
    assert_int_equal(w.violations, out.run.inconsistent);
    assert_true(out.run.inconsistent > 0);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE resolved_at IS NULL"),
                     out.run.inconsistent);
    /* Each open violation is a pair whose levels differ now. */
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations v JOIN "
                                     "specialization_progress p ON p.student_id = v.user_id AND "
                                     "p.specialization_id = v.specialization LEFT JOIN "
                                     "user_licenses l ON l.user_id = v.user_id AND "
                                     "l.specialization_type = v.specialization WHERE "
                                     "v.resolved_at IS NULL AND l.current_level IS NOT DISTINCT "
                                     "FROM p.current_level"),
                     0);
    store_close(wr);
    store_close(ck);
    store_close(rd);
    store_close(s);
}

/* SQLite reads a batch whose users lie close together as ranges of users,
 * skipping the rows of pairs not in it, and a batch spread wide by a seek per
 * pair: both leave every other pair and its open violation alone. */
static void batches_read_as_ranges_or_seeks_skip_the_pairs_not_in_them(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-range", dir);
    enum { USERS = 200 };
    int64_t users[USERS];
    for (int i = 0; i < USERS; i++) {
        users[i] = student(s, "range", i);
        tu_pair(s, users[i], "PLAYER", 2, 2);
        tu_pair(s, users[i], "COACH", i % 4 == 0 ? 3 : 1, 1); /* a quarter drift */
    }
    apply_all(s);
    assert_int_equal(state_of(s).violations, 50);
    struct watch_batch b;
    /* Close together: the even users below 160 (80 pairs over 159 ids). */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < 160; i += 2)
        set_progress_level(s, users[i], "PLAYER", 3, i);
    assert_int_equal(s->ops->commit(s), 0);
    b = apply_one(s);
    assert_int_equal(b.pairs, 80);
    assert_int_equal(b.opened, 80);
    assert_int_equal(b.resolved, 0);
    /* Spread wide: every third user's license to 3 (67 pairs over 199 ids):
     * 26 of them had progress 3 (resolved), 41 progress 2 (opened). */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 1; i < USERS; i += 3)
        set_license_level(s, users[i], "PLAYER", 3);
    assert_int_equal(s->ops->commit(s), 0);
    b = apply_one(s);
    assert_int_equal(b.pairs, 67);
    assert_int_equal(b.opened, 41);
    assert_int_equal(b.resolved, 26);
    assert_int_equal(pending(s, 0).n, 0);

    struct check_outcome out;
    dry_check(s, &out);
    assert_int_equal(out.run.inconsistent, 50 + 80 - 26 + 41);
    assert_int_equal(state_of(s).violations, out.run.inconsistent);
    assert_int_equal(out.run.divergences, 0);
    /* The COACH violations were never touched: 50 rows, all open. */
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE specialization = "
                                     "'COACH'"),
                     50);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE specialization = "
                                     "'COACH' AND resolved_at IS NULL AND progress_level = 3 "
                                     "AND license_level = 1"),
                     50);
    store_close(s);
}

/* Moves of two kinds, pair by pair (SQLite writes each kind 32 to a
 * statement, the rest one by one): violations updated in place keep their
 * row and take the new levels, resolved ones are resolved, and the pairs
 * after them are left alone. */
static void updates_and_resolves_pair_by_pair_move_each_pair_once(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-runs", dir);
    enum { USERS = 100 };
    int64_t users[USERS];
    drifting_students(s, "runs", users, USERS);
    long long first_rows = tu_sql_int(dir, "SELECT max(id) FROM violations");
    /* Of users 0-79 the even ones drift further (license 1 or 4: updated in
     * place) and the odd ones are repaired (license 3: resolved); 80-99 stay
     * as they are. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < 80; i++)
        set_license_level(s, users[i], "PLAYER", i % 2 ? 3 : i % 4 ? 4 : 1);
    assert_int_equal(s->ops->commit(s), 0);
    struct watch_batch b = apply_one(s);
    assert_int_equal(b.pairs, 80);
    assert_int_equal(b.opened, 0);
    assert_int_equal(b.resolved, 40);
    assert_int_equal(state_of(s).violations, 60);
    /* No row was added: the 40 kept theirs, with the levels now. */
    assert_int_equal(tu_sql_int(dir, "SELECT max(id) FROM violations"), first_rows);
    for (int i = 0; i < 80; i++)
        assert_int_equal(tu_sql_int(dir, "SELECT coalesce(max(license_level), 0) FROM violations "
                                         "WHERE user_id = %lld AND resolved_at IS NULL AND "
                                         "progress_level = 3",
                                    (long long)users[i]),
                         i % 2 ? 0 : i % 4 ? 4 : 1);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE resolved_at IS NOT "
                                     "NULL AND user_id BETWEEN %lld AND %lld AND (user_id - %lld) "
                                     "%% 2 = 1",
                                (long long)users[0], (long long)users[79], (long long)users[0]),
                     40);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE resolved_at IS NULL "
                                     "AND progress_level = 3 AND license_level = 2 AND user_id "
                                     "BETWEEN %lld AND %lld",
                                (long long)users[80], (long long)users[99]),
                     20);
    store_close(s);
}

/* A batch of many pairs (SQLite writes them many rows per statement): every
 * one read, and every violation opened or moved once, with its own levels
 * and email, whether the pairs around it open, move or stay. */
static void a_batch_of_many_pairs_moves_each_once(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-many", dir);
    enum { USERS = 150 };
    int64_t users[USERS];
    for (int i = 0; i < USERS; i++) {
        users[i] = student(s, "many", i);
        /* Every fifth of the last 50 already drifts (an open violation). */
        tu_pair(s, users[i], "PLAYER", i >= 100 && i % 5 == 0 ? 4 : 2, 2);
        if (i < 40)
            tu_pair(s, users[i], "COACH", 1, 1);
    }
    apply_all(s);
    assert_int_equal(state_of(s).violations, 10);
    /* One transaction, one batch: users 0-139 to level 3 (132 opened, 8
     * moved), 140-149 to 2 (140 and 145 resolved; the others unchanged),
     * and the COACH pairs of users 0-39 to 2 (40 opened). */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < USERS; i++) {
        set_progress_level(s, users[i], "PLAYER", i >= 140 ? 2 : 3, i);
        if (i < 40)
            set_progress_level(s, users[i], "COACH", 2, i);
    }
    assert_int_equal(s->ops->commit(s), 0);
    struct watch_batch b = apply_one(s);
    assert_int_equal(b.pairs, 182);
    assert_int_equal(b.opened, 172);
    assert_int_equal(b.resolved, 2);
    assert_int_equal(pending(s, 0).n, 0);
    assert_int_equal(state_of(s).violations, 180);
    assert_int_equal(tu_sql_int(dir, "SELECT count(*) FROM violations WHERE resolved_at IS NULL"),
                     180);
    /* Each open one is its user's: the email, the levels now, once. */
    assert_int_equal(tu_sql_int(dir, "SELECT count(DISTINCT v.user_id || v.specialization) FROM "
                                     "violations v JOIN users u ON u.id = v.user_id WHERE "
                                     "v.resolved_at IS NULL AND v.user_email = u.email AND "
                                     "v.issue_type = 'level_mismatch' AND ((v.specialization = "
                                     "'PLAYER' AND v.progress_level = 3 AND v.license_level = 2) "
                                     "OR (v.specialization = 'COACH' AND v.progress_level = 2 AND "
                                     "v.license_level = 1))"),
                     180);
    store_close(s);
}

struct page {
    int n;
    int64_t user[8];
    int64_t first_seen[8];
};

static int collect_page(void *ctx, const struct violation *v)
{
    struct page *p = ctx;
    assert_true(p->n < 8);
    p->user[p->n] = v->user_id;
    p->first_seen[p->n++] = v->first_seen;
    return 0;
}

static struct page newest_page(struct store *s, int64_t limit, int64_t offset)
{
    struct page p = {0};
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    assert_int_equal(s->ops->violations_open_page(s, NULL, limit, offset, collect_page, &p), 0);
    assert_int_equal(s->ops->commit(s), 0);
    return p;
}

/* How the store's page statement (statements.h) is read, as its backend
 * plans it: EXPLAIN QUERY PLAN on SQLite; on PostgreSQL, after ANALYZE, the
 * plan of the statement prepared as the store prepares it ($N). */
static const char *page_plan(const char *dir)
{
    static char plan[4096];
    char text[] = STMT_VIOLATIONS_OPEN_PAGE;
    if (tu_pg()) {
        statements_dollar_params(text);
        assert_int_equal(tu_sql(dir, plan, sizeof plan,
                                "ANALYZE violations; PREPARE newest_page AS %s; "
                                "EXPLAIN (COSTS OFF) EXECUTE newest_page(NULL, 5, 0)",
                                text),
                         0);
    } else {
        assert_int_equal(tu_sql(dir, plan, sizeof plan, "EXPLAIN QUERY PLAN %s", text), 0);
    }
    return plan;
}

/* A watcher batch or a full check opens thousands of violations at one
 * instant: the newest page (a scheduled run's, /violations') still reads a
 * page's rows, not every row of the newest first_seen, and never sorts. */
static void the_newest_page_reads_its_rows_and_no_more(void **state)
{
    (void)state;
    char dir[512];
    struct store *s = tu_store("watch-newest", dir);
    enum { SAME = 3000 };
    struct violation_move *m = calloc(SAME + 3, sizeof *m);
    assert_non_null(m);
    for (int i = 0; i < SAME + 3; i++) {
        /* Pairs of users with no rows: a violation names its pair only. */
        int64_t u = i < SAME ? 100000 + (SAME - i) : 10 + (i - SAME + 1) % 3;
        m[i].key.user_id = u;
        snprintf(m[i].key.spec, sizeof m[i].key.spec, "PLAYER");
        m[i].has_v = true;
        m[i].v = a_violation(u, "PLAYER", "level_mismatch", 3, 2, i < SAME ? T0 : T0 + SECOND);
    }
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    assert_int_equal(s->ops->violations_move(s, m, SAME + 3, T0), 0);
    assert_int_equal(s->ops->commit(s), 0);
    free(m);
    /* Newest first, then by user: 10, 11, 12 (a second later), 100001, ... */
    struct page p = newest_page(s, 5, 0);
    assert_int_equal(p.n, 5);
    const int64_t want[5] = {10, 11, 12, 100001, 100002};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p.user[i], want[i]);
        assert_int_equal(p.first_seen[i], i < 3 ? T0 + SECOND : T0);
    }
    p = newest_page(s, 2, 4);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.user[0], 100002);
    assert_int_equal(p.user[1], 100003);
    /* Read from the index in order: no sort (SQLite: "USE TEMP B-TREE";
     * PostgreSQL: "Sort", "Incremental Sort"). */
    const char *plan = page_plan(dir);
    assert_non_null(strstr(plan, "violations_newest"));
    assert_null(strstr(plan, "TEMP B-TREE"));
    assert_null(strstr(plan, "Sort"));
    store_close(s);
}

static void an_incremental_check_records_only_its_history_row(void **state)
{
    (void)state;
    struct store *s = tu_store("watch-incremental", NULL);
    int64_t u = tu_user(s, "incremental", "student");
    struct violation v = a_violation(u, "PLAYER", "missing_license", 4, 0, T0);
    set_violation(s, u, "PLAYER", &v, T0);

    struct check_run c;
    memset(&c, 0, sizeof c);
    c.timestamp = T0 + SECOND;
    c.total_checked = 10;
    c.consistent = 9;
    c.inconsistent = 1;
    c.users_checked = 4;
    c.consistency_rate = 90.0;
    snprintf(c.status, sizeof c.status, "degraded");
    snprintf(c.trigger, sizeof c.trigger, "scheduled");
    snprintf(c.kind, sizeof c.kind, "incremental");
    c.divergences = 2;
    assert_int_equal(s->ops->check_record(s, &c), 0);
    assert_true(c.id > 0);

    struct check_run got;
    assert_int_equal(s->ops->check_latest(s, &got), 0);
    assert_int_equal(got.id, c.id);
    assert_string_equal(got.kind, "incremental");
    assert_int_equal(got.divergences, 2);
    assert_int_equal(got.total_checked, 10);
    assert_int_equal(got.inconsistent, 1);
    assert_int_equal(got.users_checked, 4);
    /* The open violations are the watcher's: untouched. */
    assert_int_equal(open_violations(s).n, 1);

    /* A full check ("" kind) reads back as full. */
    memset(&c, 0, sizeof c);
    c.timestamp = T0 + 2 * SECOND;
    snprintf(c.status, sizeof c.status, "healthy");
    snprintf(c.trigger, sizeof c.trigger, "manual");
    assert_int_equal(s->ops->check_stage_reset(s), 0);
    assert_int_equal(s->ops->check_stage_complete(s), 0);
    assert_int_equal(s->ops->check_record(s, &c), 0);
    assert_int_equal(s->ops->check_get(s, c.id, &got), 0);
    assert_string_equal(got.kind, "full");
    assert_int_equal(got.divergences, 0);
    store_close(s);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A connection taking the watch lock on a thread of its own. */
struct locker {
    struct store *s;
    int rc;
    atomic_bool done;
};

static void *take_lock(void *arg)
{
    struct locker *l = arg;
    l->rc = l->s->ops->watch_lock(l->s, true);
    atomic_store(&l->done, true);
    return NULL;
}

static void watch_wait_wakes_on_a_change_and_the_lock_orders_connections(void **state)
{
    (void)state;
    char dir[512];
    struct store *a = tu_store("watch-wait", dir), *b = tu_store_again(dir);
    /* Nothing written: the wait ends at its timeout, without an error. */
    assert_int_equal(a->ops->watch_wait(a, 20), 0);
    int64_t u = tu_user(b, "wait", "student");
    struct timespec t0;
    if (!tu_pg()) {
        /* SQLite: a write to another file of the store's directory does
         * not end the wait; the events of the user written above do. */
        assert_int_equal(a->ops->watch_wait(a, 10000), 0);
        char other[600];
        snprintf(other, sizeof other, "%s/lockstep.db.txt", dir);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        FILE *f = fopen(other, "w");
        assert_non_null(f);
        fputs("not the store\n", f);
        fclose(f);
        assert_int_equal(a->ops->watch_wait(a, 300), 0);
        assert_true(seconds_since(&t0) >= 0.29);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tu_pair(b, u, "PLAYER", 1, 1);
    /* PostgreSQL is woken by the notification, SQLite by the write to its
     * WAL (inotify), both well before the timeout. */
    assert_int_equal(a->ops->watch_wait(a, 10000), 0);
    assert_true(seconds_since(&t0) < 5.0);

    if (tu_pg()) {
        /* The server ends the session: the wait says so, the next one
         * reconnects and listens again. */
        char out[64];
        /* tu_pair inserted twice: a notification may still be queued. */
        assert_int_equal(a->ops->watch_wait(a, 300), 0);
        assert_int_equal(tu_sql(dir, out, sizeof out,
                                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"),
                         0);
        assert_int_equal(a->ops->watch_wait(a, 5000), STORE_ERR_UNAVAILABLE);
        assert_int_equal(a->ops->watch_wait(a, 20), 0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(tu_sql(dir, out, sizeof out,
                                "DELETE FROM user_licenses WHERE user_id = %lld", (long long)u),
                         0);
        assert_int_equal(a->ops->watch_wait(a, 10000), 0);
        assert_true(seconds_since(&t0) < 5.0);
        store_close(b);
        b = tu_store_again(dir);
    }

    /* Held by one connection, the other waits for it until it is released. */
    assert_int_equal(a->ops->watch_lock(a, true), 0);
    struct locker l = {.s = b};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, take_lock, &l), 0);
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    assert_false(atomic_load(&l.done));
    assert_int_equal(a->ops->watch_lock(a, false), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(l.rc, 0);
    assert_int_equal(b->ops->watch_lock(b, false), 0);
    assert_int_equal(a->ops->watch_lock(a, true), 0);
    assert_int_equal(a->ops->watch_lock(a, false), 0);
    /* Releasing a lock not held is harmless. */
    assert_int_equal(a->ops->watch_lock(a, false), 0);
    store_close(b);
    store_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(triggers_capture_inserts_level_changes_moves_and_deletes),
        cmocka_unit_test(watch_changes_returns_every_change_of_the_users_it_takes),
        cmocka_unit_test(the_other_rows_of_users_close_together_are_theirs_alone),
        cmocka_unit_test(pairs_get_reads_each_key_in_order_with_its_open_violation),
        cmocka_unit_test(pairs_get_agrees_with_the_pair_scan),
        cmocka_unit_test(violation_set_opens_keeps_moves_and_resolves),
        cmocka_unit_test(violations_move_moves_several_pairs_at_once),
        cmocka_unit_test(watch_advance_reset_and_discard_consume_their_change_rows),
        cmocka_unit_test(watch_poll_takes_the_rows_whose_updated_at_moved_past_the_watermark),
        cmocka_unit_test(a_new_specialization_requests_a_full_sweep),
        cmocka_unit_test(a_batch_opens_violations_with_each_users_email),
        cmocka_unit_test(a_drain_reading_ahead_applies_every_change_once),
        cmocka_unit_test(a_drain_takes_the_rows_its_batches_read_ahead_skipped),
        cmocka_unit_test(a_pair_back_where_it_was_leaves_its_violation_alone),
        cmocka_unit_test(a_pair_with_two_open_violations_has_both_resolved),
        cmocka_unit_test(a_batch_of_many_pairs_moves_each_once),
        cmocka_unit_test(batches_read_as_ranges_or_seeks_skip_the_pairs_not_in_them),
        cmocka_unit_test(updates_and_resolves_pair_by_pair_move_each_pair_once),
        cmocka_unit_test(the_newest_page_reads_its_rows_and_no_more),
        cmocka_unit_test(an_incremental_check_records_only_its_history_row),
        cmocka_unit_test(watch_wait_wakes_on_a_change_and_the_lock_orders_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

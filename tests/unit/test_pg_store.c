/* test_pg_store.c — PostgreSQL only (skipped without LOCKSTEP_TEST_PG): a
 * clear error for a wrong password or an unreachable host, a statement
 * timeout during the check leaves no transaction open, a terminated session
 * is re-established by the next call, and the scan streams many pairs in
 * order through its cursor; the enforcer and a sync creating the same
 * pair's missing row at once neither fail nor deadlock; a connection lost
 * inside a transaction fails the rest of it until rolled back; a check's
 * violations are staged in batches and recorded once; 51,500 pairs with
 * orphans of both sides stream in order with their details (a sweep: the
 * inconsistent ones alone, every pair counted, also by a role allowed a
 * single session, where the counting cannot run beside it); writers racing
 * to create the same pairs all succeed with exact xp totals. */
#include "service/check.h"
#include "service/enforcer.h"
#include "service/sync.h"
#include "testutil.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *pg(void)
{
    const char *u = getenv("LOCKSTEP_TEST_PG");
    return u && *u ? u : NULL;
}

static void bad_connections(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    struct store *s = NULL;
    struct store_options o;
    store_options_default(&o);
    char err[600];
    assert_int_equal(store_open("postgres://nobody:secret-pw@127.0.0.1:1/x?connect_timeout=2", &o,
                                &s, err, sizeof err),
                     STORE_ERR_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_null(strstr(err, "secret-pw"));
    assert_null(strchr(err, '\n'));
    /* A database that does not exist. */
    char url[600];
    snprintf(url, sizeof url, "%s", pg());
    char *slash = strrchr(url, '/');
    snprintf(slash, sizeof url - (size_t)(slash - url), "/no_such_database_here");
    assert_int_equal(store_open(url, &o, &s, err, sizeof err), STORE_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "no_such_database_here"));
}

static void many_pairs_stream_in_order(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-scan", dir);
    /* 12,000 users with pairs in several specializations and orphans both ways. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < 4000; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "scan%d", i);
        int64_t u = tu_user(s, tag, NULL);
        tu_pair(s, u, "PLAYER", 1 + i % 8, 1 + i % 8);
        tu_pair(s, u, "COACH", i % 3 == 0 ? 2 : 0, i % 3 == 1 ? 2 : (i % 3 == 0 ? 3 : 0));
        tu_pair(s, u, "INTERNSHIP", 1, 1);
    }
    assert_int_equal(s->ops->commit(s), 0);
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    struct store_scan *sc;
    assert_int_equal(s->ops->pair_scan_open(s, NULL, &sc), 0);
    struct pair_levels p;
    int64_t n = 0, mismatch = 0, orphans = 0, last = 0;
    char last_spec[SPEC_ID_MAX] = "";
    int rc;
    while ((rc = s->ops->pair_scan_next(sc, &p)) == 1) {
        assert_true(p.user_id > last || (p.user_id == last && strcmp(p.spec, last_spec) > 0));
        last = p.user_id;
        snprintf(last_spec, sizeof last_spec, "%s", p.spec);
        n++;
        if (p.has_progress && p.has_license && p.progress_level != p.license_level) {
            mismatch++;
            assert_true(p.has_details);
            assert_non_null(strstr(p.user_email, "@test.local"));
        }
        if (p.has_progress != p.has_license)
            orphans++;
    }
    assert_int_equal(rc, 0);
    s->ops->pair_scan_close(sc);
    assert_int_equal(s->ops->commit(s), 0);
    /* Per user: PLAYER, INTERNSHIP, and a COACH pair for 2 of 3 users. */
    assert_int_equal(n, 4000 * 2 + 2667);
    assert_int_equal(mismatch, 1334);
    assert_int_equal(orphans, 1333);
    store_close(s);
}

static void statement_timeout_leaves_no_transaction(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-timeout", dir);
    for (int i = 0; i < 20; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "t%d", i);
        tu_pair(s, tu_user(s, tag, NULL), "PLAYER", 2, 1 + i % 2);
    }
    store_close(s);
    /* A side session holds the progress table, so the check's scan cannot
     * finish however fast the machine is: it always runs into the timeout.
     * The limit is far above what opening the store takes (a few trivial
     * statements), so a busy machine cannot make the open hit it instead. */
    PGconn *side = PQconnectdb(tu_url(dir));
    assert_int_equal(PQstatus(side), CONNECTION_OK);
    PGresult *r = PQexec(side, "BEGIN; LOCK TABLE specialization_progress IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    char url[1200];
    snprintf(url, sizeof url, "%s%soptions=-c%%20statement_timeout%%3D1500", tu_url(dir),
             strchr(tu_url(dir), '?') ? "&" : "?");
    struct store_options o;
    store_options_default(&o);
    o.migrate = false;
    o.busy_timeout_ms = 60000; /* the lock wait ends by the statement timeout, not lock_timeout */
    char err[600];
    assert_int_equal(store_open(url, &o, &s, err, sizeof err), 0);
    struct check_options co = {.trigger = "manual", .direction = "progress_to_license",
                               .healthy_threshold = 99, .degraded_threshold = 95,
                               .data_dir = dir};
    struct check_outcome out;
    assert_int_not_equal(check_execute(s, &co, &out, err, sizeof err), 0);
    assert_non_null(strstr(err, "statement timeout"));
    assert_int_equal(s->in_txn, 0);
    r = PQexec(side, "ROLLBACK");
    PQclear(r);
    PQfinish(side);
    /* The connection is usable and idle: a new transaction starts fine, and
     * with the table free the same check completes. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    s->ops->rollback(s);
    assert_int_equal(check_execute(s, &co, &out, err, sizeof err), 0);
    store_close(s);
}

static void terminated_session_recovers(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-reconnect", dir);
    int64_t n = 0;
    assert_int_equal(s->ops->user_count(s, NULL, false, &n), 0);
    /* Kill every other session on this database from a side connection. */
    PGconn *c = PQconnectdb(pg());
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char db[200], q[400];
    const char *slash = strrchr(tu_url(dir), '/');
    snprintf(db, sizeof db, "%s", slash + 1);
    db[strcspn(db, "?")] = '\0';
    snprintf(q, sizeof q,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' "
             "AND pid <> pg_backend_pid()",
             db);
    PGresult *r = PQexec(c, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
    int rc = s->ops->user_count(s, NULL, false, &n);
    assert_int_equal(rc, STORE_ERR_UNAVAILABLE);
    assert_non_null(strstr(store_errmsg(s), "unavailable"));
    assert_int_equal(s->ops->user_count(s, NULL, false, &n), 0); /* reconnected */
    store_close(s);
}

/* The enforcer and a sync meet on a pair whose progress row is missing: the
 * sync locks the license and creates the progress, the enforcer creates the
 * progress and then wants the license. Without a claim on the missing row one
 * of them fails on the unique key or both deadlock; with it they queue. */
#define RACE_ROUNDS 60

struct race {
    const char *dir;
    pthread_barrier_t *go;
    int64_t *users;
    bool sync_side;
    int failures;
    char last_error[300];
};

static void *race_side(void *arg)
{
    struct race *r = arg;
    struct store *s = tu_store_contended(r->dir);
    for (int i = 0; i < RACE_ROUNDS; i++) {
        pthread_barrier_wait(r->go);
        if (r->sync_side) {
            struct sync_options o = {.user_id = r->users[i], .direction = "progress_to_license",
                                     .trigger = "cli"};
            struct sync_result res;
            memset(&res, 0, sizeof res);
            char err[300];
            if (sync_execute(s, &o, &res, err, sizeof err) != 0) {
                r->failures++;
                snprintf(r->last_error, sizeof r->last_error, "%s", err);
            } else if (res.failed_count) {
                r->failures++;
                snprintf(r->last_error, sizeof r->last_error, "%s", res.items[0].error);
            }
            sync_result_free(&res);
        } else {
            struct level_change c = {.user_id = r->users[i], .spec = "PLAYER", .new_level = 3,
                                     .xp_change = 10};
            struct level_result res;
            if (enforcer_update_level_atomic(s, &c, &res) != 0) {
                r->failures++;
                snprintf(r->last_error, sizeof r->last_error, "%s", res.message);
            }
        }
    }
    store_close(s);
    return NULL;
}

static void enforcer_and_sync_create_the_same_row(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-race", dir);
    int64_t users[RACE_ROUNDS];
    for (int i = 0; i < RACE_ROUNDS; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "race%d", i);
        users[i] = tu_user(s, tag, NULL);
        tu_pair(s, users[i], "PLAYER", 0, 2); /* missing_progress */
    }
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct race sides[2] = {{.dir = dir, .go = &go, .users = users, .sync_side = false},
                            {.dir = dir, .go = &go, .users = users, .sync_side = true}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_side, &sides[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    if (sides[0].failures || sides[1].failures)
        fprintf(stderr, "enforcer: %d failed (%s); sync: %d failed (%s)\n", sides[0].failures,
                sides[0].last_error, sides[1].failures, sides[1].last_error);
    assert_int_equal(sides[0].failures, 0);
    assert_int_equal(sides[1].failures, 0);
    /* Every pair ends consistent at the enforcer's level with its xp. */
    for (int i = 0; i < RACE_ROUNDS; i++) {
        struct progress p;
        struct license l;
        assert_int_equal(s->ops->progress_get(s, users[i], "PLAYER", false, &p), 0);
        assert_int_equal(s->ops->license_get(s, users[i], "PLAYER", false, &l), 0);
        assert_int_equal(p.current_level, 3);
        assert_int_equal(l.current_level, 3);
        assert_int_equal(p.total_xp, 10);
    }
    store_close(s);
}

/* Terminate every other session on the database of `dir` (as a restart of
 * the server would). */
static void terminate_sessions(const char *dir)
{
    PGconn *c = PQconnectdb(pg());
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char db[200];
    const char *slash = strrchr(tu_url(dir), '/');
    snprintf(db, sizeof db, "%s", slash + 1);
    db[strcspn(db, "?")] = '\0';
    const char *v[1] = {db};
    PGresult *r = PQexecParams(c,
                               "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = $1 AND pid <> pg_backend_pid()",
                               1, NULL, v, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

/* The connection breaks inside a transaction: the failing call says so, and
 * so does every further call of that transaction (none may run on its own in
 * a new session) until the caller rolls back; then the store reconnects. */
static void connection_lost_inside_a_transaction(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-lost-txn", dir);
    int64_t u = tu_user(s, "losttxn", NULL);
    tu_pair(s, u, "PLAYER", 2, 2);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    struct progress p;
    assert_int_equal(s->ops->progress_get(s, u, "PLAYER", true, &p), 0);
    terminate_sessions(dir);
    p.current_level = 5;
    assert_int_equal(s->ops->progress_update(s, &p), STORE_ERR_UNAVAILABLE);
    struct license l;
    assert_int_equal(s->ops->license_get(s, u, "PLAYER", true, &l), STORE_ERR_UNAVAILABLE);
    assert_int_equal(s->ops->progress_update(s, &p), STORE_ERR_UNAVAILABLE);
    assert_int_equal(s->ops->commit(s), STORE_ERR_UNAVAILABLE);
    assert_int_equal(s->in_txn, 0);
    /* Reconnected, and nothing of the lost transaction was written. */
    assert_int_equal(s->ops->progress_get(s, u, "PLAYER", false, &p), 0);
    assert_int_equal(p.current_level, 2);
    store_close(s);
}

/* A check stages its violations a batch at a time during the scan; the
 * record opens each once, a later check keeps first_seen and resolves what
 * was repaired. More violations than one batch holds. */
#define MANY_USERS 5000

static int count_violation(void *ctx, const struct violation *v)
{
    (void)v;
    (*(int64_t *)ctx)++;
    return 0;
}

struct first_seen_check {
    int64_t want;
    int64_t bad;
};

static int first_seen_is(void *ctx, const struct violation *v)
{
    struct first_seen_check *f = ctx;
    if (v->first_seen != f->want || strcmp(v->spec, "COACH") != 0)
        f->bad++;
    return 0;
}

static void many_violations_staged_in_batches(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-stage", dir);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < MANY_USERS; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "stage%d", i);
        int64_t u = tu_user(s, tag, NULL);
        tu_pair(s, u, "PLAYER", 3, 2);
        tu_pair(s, u, "COACH", 1, 4);
        tu_pair(s, u, "INTERNSHIP", 2, 2);
    }
    assert_int_equal(s->ops->commit(s), 0);
    struct check_options co = {.trigger = "manual", .direction = "progress_to_license",
                               .healthy_threshold = 99, .degraded_threshold = 95,
                               .data_dir = dir};
    struct check_outcome out;
    char err[600];
    assert_int_equal(check_execute(s, &co, &out, err, sizeof err), 0);
    assert_true(out.recorded);
    assert_int_equal(out.run.inconsistent, 2 * MANY_USERS);
    int64_t first = out.run.timestamp, n = 0;
    assert_int_equal(s->ops->violations_open(s, NULL, count_violation, &n), 0);
    assert_int_equal(n, 2 * MANY_USERS);
    /* Repair PLAYER; the COACH violations stay open with their first_seen. */
    struct sync_options so = {.spec = "PLAYER", .direction = "progress_to_license",
                              .trigger = "cli"};
    struct sync_result sr;
    memset(&sr, 0, sizeof sr);
    assert_int_equal(sync_execute(s, &so, &sr, err, sizeof err), 0);
    assert_int_equal(sr.synced_count, MANY_USERS);
    sync_result_free(&sr);
    assert_int_equal(check_execute(s, &co, &out, err, sizeof err), 0);
    assert_int_equal(out.run.inconsistent, MANY_USERS);
    struct first_seen_check f = {.want = first};
    n = 0;
    assert_int_equal(s->ops->violations_open(s, NULL, count_violation, &n), 0);
    assert_int_equal(n, MANY_USERS);
    assert_int_equal(s->ops->violations_open(s, NULL, first_seen_is, &f), 0);
    assert_int_equal(f.bad, 0);
    n = 0;
    assert_int_equal(s->ops->violations_resolved_since(s, 0, count_violation, &n), 0);
    assert_int_equal(n, MANY_USERS);
    /* A check_record without a complete full scan since the reset is refused. */
    assert_int_equal(s->ops->check_stage_reset(s), 0);
    assert_int_not_equal(s->ops->check_record(s, &out.run), 0);
    store_close(s);
}

/* ---- 51,500 pairs through the cursor ------------------------------------------
 * Users 1..BULK_USERS, written in bulk with SQL: PLAYER progress for every
 * user, its license for all but every 10th (missing_license) at the same level
 * except every 7th (level_mismatch); COACH licenses for multiples of 3 or 5,
 * progress only for multiples of 3 (license-only orphans); INTERNSHIP progress
 * only, every 4th user (progress-only orphans). */
#define BULK_USERS 30000

struct bulk_expect {
    int64_t pairs, consistent, mismatch, missing_license, missing_progress;
};

static void bulk_expected(struct bulk_expect *e)
{
    memset(e, 0, sizeof *e);
    for (int g = 1; g <= BULK_USERS; g++) {
        e->pairs++; /* PLAYER */
        if (g % 10 == 0)
            e->missing_license++;
        else if (g % 7 == 0 && (1 + g % 8) != (1 + (g + 1) % 8))
            e->mismatch++;
        else
            e->consistent++;
        if (g % 3 == 0) {
            e->pairs++;
            e->consistent++;
        } else if (g % 5 == 0) {
            e->pairs++;
            e->missing_progress++;
        }
        if (g % 4 == 0) {
            e->pairs++;
            e->missing_license++;
        }
    }
}

/* Run each SQL statement on the database of dir (as the test's own role):
 * each must succeed (a command, or a query such as setval). */
static void exec_all(const char *dir, const char *const *sql, size_t n)
{
    PGconn *c = PQconnectdb(tu_url(dir));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    for (size_t i = 0; i < n; i++) {
        PGresult *r = PQexec(c, sql[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "%s: %s", sql[i], PQresultErrorMessage(r));
        assert_true(PQresultStatus(r) == PGRES_COMMAND_OK ||
                    PQresultStatus(r) == PGRES_TUPLES_OK);
        PQclear(r);
    }
    PQfinish(c);
}

static void bulk_fill(const char *dir)
{
    static const char *const sql[] = {
        "INSERT INTO users(id, name, email, password_hash, role, is_active, created_at, "
        "updated_at) SELECT g, 'Bulk ' || g, 'bulk' || g || '@test.local', '!', 'student', "
        "true, now(), now() FROM generate_series(1, 30000) g",
        "SELECT setval('users_id_seq', 30000)",
        "INSERT INTO specialization_progress(student_id, specialization_id, current_level, "
        "created_at, updated_at) SELECT g, 'PLAYER', 1 + g % 8, now(), now() "
        "FROM generate_series(1, 30000) g",
        "INSERT INTO user_licenses(user_id, specialization_type, current_level, "
        "max_achieved_level, started_at, created_at, updated_at) SELECT g, 'PLAYER', "
        "CASE WHEN g % 7 = 0 THEN 1 + (g + 1) % 8 ELSE 1 + g % 8 END, 8, now(), now(), now() "
        "FROM generate_series(1, 30000) g WHERE g % 10 <> 0",
        "INSERT INTO specialization_progress(student_id, specialization_id, current_level, "
        "created_at, updated_at) SELECT g, 'COACH', 2, now(), now() "
        "FROM generate_series(1, 30000) g WHERE g % 3 = 0",
        "INSERT INTO user_licenses(user_id, specialization_type, current_level, "
        "max_achieved_level, started_at, created_at, updated_at) SELECT g, 'COACH', 2, 2, "
        "now(), now(), now() FROM generate_series(1, 30000) g WHERE g % 3 = 0 OR g % 5 = 0",
        "INSERT INTO specialization_progress(student_id, specialization_id, current_level, "
        "created_at, updated_at) SELECT g, 'INTERNSHIP', 3, now(), now() "
        "FROM generate_series(1, 30000) g WHERE g % 4 = 0",
        "ANALYZE",
    };
    exec_all(dir, sql, sizeof sql / sizeof sql[0]);
}

/* Scan everything (or what the filter keeps) in one read transaction,
 * checking order and the per-pair details; counts into e, and the scan's own
 * counts (pair_scan_totals: pairs, users; -1 when it returned every pair)
 * into totals. */
static void bulk_scan(struct store *s, const struct pair_filter *f, int64_t want_first_seen,
                      struct bulk_expect *e, int64_t totals[2])
{
    memset(e, 0, sizeof *e);
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    struct store_scan *sc;
    assert_int_equal(s->ops->pair_scan_open(s, f, &sc), 0);
    struct pair_levels p;
    int64_t last = 0;
    char last_spec[SPEC_ID_MAX] = "";
    int rc;
    while ((rc = s->ops->pair_scan_next(sc, &p)) == 1) {
        assert_true(p.user_id > last || (p.user_id == last && strcmp(p.spec, last_spec) > 0));
        last = p.user_id;
        snprintf(last_spec, sizeof last_spec, "%s", p.spec);
        e->pairs++;
        bool consistent = p.has_progress && p.has_license &&
                          p.progress_level == p.license_level;
        if (consistent) {
            e->consistent++;
            continue;
        }
        if (!p.has_license)
            e->missing_license++;
        else if (!p.has_progress)
            e->missing_progress++;
        else
            e->mismatch++;
        /* Details of inconsistent pairs come with the pair. */
        assert_true(p.has_details);
        char email[64];
        snprintf(email, sizeof email, "bulk%lld@test.local", (long long)p.user_id);
        assert_string_equal(p.user_email, email);
        assert_int_equal(p.first_seen, want_first_seen);
    }
    assert_int_equal(rc, 0);
    if (s->ops->pair_scan_totals(sc, &totals[0], &totals[1]) != 1)
        totals[0] = totals[1] = -1;
    s->ops->pair_scan_close(sc);
    assert_int_equal(s->ops->commit(s), 0);
}

static void fifty_thousand_pairs_through_the_cursor(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-scan-bulk", dir);
    bulk_fill(dir);
    struct bulk_expect want, got;
    int64_t totals[2];
    bulk_expected(&want);
    assert_true(want.pairs > 50000);
    bulk_scan(s, NULL, 0, &got, totals); /* nothing recorded yet: first_seen 0 */
    assert_int_equal(totals[0], -1);
    assert_int_equal(got.pairs, want.pairs);
    assert_int_equal(got.consistent, want.consistent);
    assert_int_equal(got.mismatch, want.mismatch);
    assert_int_equal(got.missing_license, want.missing_license);
    assert_int_equal(got.missing_progress, want.missing_progress);
    /* A recorded check opens every violation; the scan then reports when. */
    struct check_options co = {.trigger = "manual", .direction = "progress_to_license",
                               .healthy_threshold = 99, .degraded_threshold = 95,
                               .data_dir = dir};
    struct check_outcome out;
    char err[600];
    assert_int_equal(check_execute(s, &co, &out, err, sizeof err), 0);
    assert_int_equal(out.run.total_checked, want.pairs);
    assert_int_equal(out.run.users_checked, BULK_USERS);
    assert_int_equal(out.run.inconsistent,
                     want.mismatch + want.missing_license + want.missing_progress);
    bulk_scan(s, NULL, out.run.timestamp, &got, totals);
    assert_int_equal(got.pairs, want.pairs);
    /* A sweep returns the inconsistent pairs alone, with their details, and
     * counts every pair and user. */
    struct pair_filter sweep = {.inconsistent_only = true};
    bulk_scan(s, &sweep, out.run.timestamp, &got, totals);
    assert_int_equal(got.consistent, 0);
    assert_int_equal(got.mismatch, want.mismatch);
    assert_int_equal(got.missing_license, want.missing_license);
    assert_int_equal(got.missing_progress, want.missing_progress);
    assert_int_equal(totals[0], want.pairs);
    assert_int_equal(totals[1], BULK_USERS);
    /* Filters: one user (PLAYER without license, COACH license only,
     * INTERNSHIP progress only), one specialization. */
    struct pair_filter one_user = {.user_id = 20};
    bulk_scan(s, &one_user, out.run.timestamp, &got, totals);
    assert_int_equal(got.pairs, 3);
    assert_int_equal(got.missing_license, 2);
    assert_int_equal(got.missing_progress, 1);
    struct pair_filter coach = {.spec = "COACH"};
    bulk_scan(s, &coach, out.run.timestamp, &got, totals);
    assert_int_equal(got.pairs, BULK_USERS / 3 + BULK_USERS / 5 - BULK_USERS / 15);
    assert_int_equal(got.missing_progress, want.missing_progress);
    store_close(s);
}

/* A sweep counts its pairs on a second session beside it. A role allowed
 * one connection cannot open it: the sweep then counts on its own session,
 * with the same figures, and nothing fails. */
static void sweep_counts_on_one_session(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-sweep-one-session", dir);
    bulk_fill(dir);
    struct bulk_expect want, got;
    int64_t totals[2];
    bulk_expected(&want);
    /* The role, named after the test's database (roles are the server's). */
    PGconn *info = PQconnectdb(tu_url(dir));
    assert_int_equal(PQstatus(info), CONNECTION_OK);
    char role[128], db[96], host[256], port[16];
    snprintf(db, sizeof db, "%s", PQdb(info));
    snprintf(host, sizeof host, "%s", PQhost(info));
    snprintf(port, sizeof port, "%s", PQport(info));
    PQfinish(info);
    snprintf(role, sizeof role, "%s_one", db);
    char create[300], drop_owned[200], drop[200], grant_t[300], grant_s[300];
    snprintf(drop_owned, sizeof drop_owned, "DROP OWNED BY %s", role);
    snprintf(drop, sizeof drop, "DROP ROLE IF EXISTS %s", role);
    snprintf(create, sizeof create, "CREATE ROLE %s LOGIN CONNECTION LIMIT 1", role);
    snprintf(grant_t, sizeof grant_t, "GRANT ALL ON ALL TABLES IN SCHEMA public TO %s", role);
    snprintf(grant_s, sizeof grant_s, "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %s", role);
    const char *setup[] = {drop, create, grant_t, grant_s};
    exec_all(dir, setup, 4);
    char url[700];
    snprintf(url, sizeof url, "postgresql://%s@%s:%s/%s", role, host, port, db);
    struct store_options o;
    store_options_default(&o);
    struct store *one = NULL;
    char err[600];
    assert_int_equal(store_open(url, &o, &one, err, sizeof err), 0);
    struct pair_filter sweep = {.inconsistent_only = true};
    for (int round = 0; round < 2; round++) { /* the second after a failed attempt */
        bulk_scan(one, &sweep, 0, &got, totals);
        assert_int_equal(got.consistent, 0);
        assert_int_equal(got.mismatch, want.mismatch);
        assert_int_equal(got.missing_license, want.missing_license);
        assert_int_equal(got.missing_progress, want.missing_progress);
        assert_int_equal(totals[0], want.pairs);
        assert_int_equal(totals[1], BULK_USERS);
    }
    /* A recorded check through it says the same. */
    struct check_options co = {.trigger = "manual", .direction = "progress_to_license",
                               .healthy_threshold = 99, .degraded_threshold = 95,
                               .data_dir = dir};
    struct check_outcome out;
    assert_int_equal(check_execute(one, &co, &out, err, sizeof err), 0);
    assert_int_equal(out.run.total_checked, want.pairs);
    assert_int_equal(out.run.users_checked, BULK_USERS);
    assert_int_equal(out.run.inconsistent,
                     want.mismatch + want.missing_license + want.missing_progress);
    store_close(one);
    /* And the test's own role, which may open both sessions, the same. */
    bulk_scan(s, &sweep, out.run.timestamp, &got, totals);
    assert_int_equal(totals[0], want.pairs);
    assert_int_equal(totals[1], BULK_USERS);
    store_close(s);
    const char *cleanup[] = {drop_owned, drop};
    exec_all(dir, cleanup, 2);
}

/* The sweep leaves out its test of each pair's specialization only while a
 * validated foreign key that PostgreSQL enforces keeps the progress rows'
 * specializations among the known ones. Pairs written past the key (its
 * triggers disabled), kept by a key added NOT VALID over them, or in a
 * table inheriting from the progress table are still found: GHOST pairs,
 * both rows at level 1, which a sweep that trusted the key would drop as
 * consistent. */
static void sweep_trusts_only_an_enforced_key(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-sweep-spec-key", dir);
    bulk_fill(dir);
    struct bulk_expect want, got;
    int64_t totals[2];
    bulk_expected(&want);
    struct pair_filter sweep = {.inconsistent_only = true};
    bulk_scan(s, &sweep, 0, &got, totals);
    assert_int_equal(got.consistent, 0);
    assert_int_equal(totals[0], want.pairs);
    static const char *const ghosts[] = {
        "ALTER TABLE specialization_progress DISABLE TRIGGER ALL",
        "ALTER TABLE user_licenses DISABLE TRIGGER ALL",
        "INSERT INTO specialization_progress(student_id, specialization_id, current_level, "
        "created_at, updated_at) SELECT g, 'GHOST', 1, now(), now() "
        "FROM generate_series(101, 103) g",
        "INSERT INTO user_licenses(user_id, specialization_type, current_level, "
        "max_achieved_level, started_at, created_at, updated_at) SELECT g, 'GHOST', 1, 1, "
        "now(), now(), now() FROM generate_series(101, 103) g",
    };
    exec_all(dir, ghosts, sizeof ghosts / sizeof ghosts[0]);
    /* The key's triggers disabled: not trusted; the three pairs are sent
     * (bulk_scan counts a pair with equal levels as consistent). */
    bulk_scan(s, &sweep, 0, &got, totals);
    assert_int_equal(got.consistent, 3);
    assert_int_equal(got.mismatch, want.mismatch);
    assert_int_equal(totals[0], want.pairs + 3);
    struct check_options co = {.trigger = "manual", .direction = "progress_to_license",
                               .healthy_threshold = 99, .degraded_threshold = 95,
                               .data_dir = dir, .dry_run = true};
    struct check_outcome out;
    char err[600];
    assert_int_equal(check_execute(s, &co, &out, err, sizeof err), 0);
    assert_int_equal(out.run.total_checked, want.pairs + 3);
    assert_int_equal(out.run.inconsistent,
                     want.mismatch + want.missing_license + want.missing_progress + 3);
    /* Triggers back on, the key replaced by one added NOT VALID over the
     * rows: not validated, not trusted. */
    static const char *const not_valid[] = {
        "ALTER TABLE specialization_progress ENABLE TRIGGER ALL",
        "ALTER TABLE user_licenses ENABLE TRIGGER ALL",
        "ALTER TABLE specialization_progress "
        "DROP CONSTRAINT specialization_progress_specialization_id_fkey",
        "ALTER TABLE specialization_progress ADD CONSTRAINT "
        "specialization_progress_specialization_id_fkey FOREIGN KEY (specialization_id) "
        "REFERENCES specializations(id) NOT VALID",
    };
    exec_all(dir, not_valid, sizeof not_valid / sizeof not_valid[0]);
    bulk_scan(s, &sweep, 0, &got, totals);
    assert_int_equal(got.consistent, 3);
    assert_int_equal(totals[0], want.pairs + 3);
    /* The rows gone and the key validated: the sweep trusts it, and the
     * figures are the store's again. */
    static const char *const valid[] = {
        "DELETE FROM user_licenses WHERE specialization_type = 'GHOST'",
        "DELETE FROM specialization_progress WHERE specialization_id = 'GHOST'",
        "ALTER TABLE specialization_progress "
        "VALIDATE CONSTRAINT specialization_progress_specialization_id_fkey",
    };
    exec_all(dir, valid, sizeof valid / sizeof valid[0]);
    bulk_scan(s, &sweep, 0, &got, totals);
    assert_int_equal(got.consistent, 0);
    assert_int_equal(got.mismatch, want.mismatch);
    assert_int_equal(totals[0], want.pairs);
    assert_int_equal(totals[1], BULK_USERS);
    /* A table inheriting from the progress table: its rows are read with
     * the table's, and the key does not cover them. */
    static const char *const child[] = {
        "CREATE TABLE progress_child () INHERITS (specialization_progress)",
        "INSERT INTO progress_child(student_id, specialization_id, current_level, created_at, "
        "updated_at) VALUES (104, 'GHOST', 1, now(), now())",
        "INSERT INTO user_licenses(user_id, specialization_type, current_level, "
        "max_achieved_level, started_at, created_at, updated_at) "
        "VALUES (104, 'GHOST', 1, 1, now(), now(), now())",
    };
    static const char *const off[] = {"ALTER TABLE user_licenses DISABLE TRIGGER ALL"};
    static const char *const on[] = {"ALTER TABLE user_licenses ENABLE TRIGGER ALL"};
    exec_all(dir, off, 1); /* the license row's own key to specializations */
    exec_all(dir, child, sizeof child / sizeof child[0]);
    exec_all(dir, on, 1);
    bulk_scan(s, &sweep, 0, &got, totals);
    assert_int_equal(got.consistent, 1);
    assert_int_equal(totals[0], want.pairs + 1);
    store_close(s);
}

/* ---- writers racing to create the same pairs ------------------------------------
 * Several connections level the same three fresh users (no rows yet) at
 * once: every write succeeds, none is lost, both rows stay in step. */
#define CREATORS 4
#define CREATOR_ROUNDS 60

struct creator {
    const char *dir;
    const int64_t *users;
    int index;
    int64_t xp_ok[3];
    int failures;
    char last_error[300];
};

static void *create_and_level(void *arg)
{
    struct creator *w = arg;
    static const char *specs[] = {"PLAYER", "COACH", "INTERNSHIP"};
    struct store *s = tu_store_contended(w->dir);
    for (int i = 0; i < CREATOR_ROUNDS; i++) {
        int k = (i + w->index) % 3;
        struct level_result r;
        int rc;
        if (i % 3 == 2) {
            rc = enforcer_level_up(s, w->users[k], specs[k], 7, 1, 0, &r);
        } else {
            struct level_change c = {.user_id = w->users[k], .spec = specs[k],
                                     .new_level = 1 + (i + w->index) % 3, .xp_change = 7};
            rc = enforcer_update_level_atomic(s, &c, &r);
        }
        if (rc == 0) {
            w->xp_ok[k] += 7;
        } else {
            w->failures++;
            snprintf(w->last_error, sizeof w->last_error, "%s", r.message);
        }
    }
    store_close(s);
    return NULL;
}

static void writers_create_the_same_pairs(void **state)
{
    (void)state;
    if (!pg()) {
        skip();
        return;
    }
    char dir[512];
    struct store *s = tu_store("pg-creators", dir);
    int64_t users[3] = {tu_user(s, "creator0", NULL), tu_user(s, "creator1", NULL),
                        tu_user(s, "creator2", NULL)};
    struct creator w[CREATORS];
    pthread_t t[CREATORS];
    for (int i = 0; i < CREATORS; i++) {
        w[i] = (struct creator){.dir = dir, .users = users, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, create_and_level, &w[i]), 0);
    }
    int failures = 0;
    int64_t xp[3] = {0, 0, 0};
    for (int i = 0; i < CREATORS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
        if (w[i].failures)
            fprintf(stderr, "writer %d: %d failed (%s)\n", i, w[i].failures, w[i].last_error);
        for (int k = 0; k < 3; k++)
            xp[k] += w[i].xp_ok[k];
    }
    assert_int_equal(failures, 0);
    static const char *specs[] = {"PLAYER", "COACH", "INTERNSHIP"};
    for (int k = 0; k < 3; k++) {
        struct progress p;
        struct license l;
        assert_int_equal(s->ops->progress_get(s, users[k], specs[k], false, &p), 0);
        assert_int_equal(s->ops->license_get(s, users[k], specs[k], false, &l), 0);
        assert_int_equal(p.total_xp, xp[k]);
        assert_int_equal(p.total_xp, CREATORS * CREATOR_ROUNDS / 3 * 7);
        assert_int_equal(p.current_level, l.current_level);
    }
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_connections),
        cmocka_unit_test(many_pairs_stream_in_order),
        cmocka_unit_test(statement_timeout_leaves_no_transaction),
        cmocka_unit_test(terminated_session_recovers),
        cmocka_unit_test(enforcer_and_sync_create_the_same_row),
        cmocka_unit_test(connection_lost_inside_a_transaction),
        cmocka_unit_test(many_violations_staged_in_batches),
        cmocka_unit_test(fifty_thousand_pairs_through_the_cursor),
        cmocka_unit_test(sweep_counts_on_one_session),
        cmocka_unit_test(sweep_trusts_only_an_enforced_key),
        cmocka_unit_test(writers_create_the_same_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pg_store.c — PostgreSQL only (skipped without LOCKSTEP_TEST_PG): a
 * clear error for a wrong password or an unreachable host, a statement
 * timeout during the check leaves no transaction open, a terminated session
 * is re-established by the next call, and the scan streams many pairs in
 * order through its cursor; the enforcer and a sync creating the same
 * pair's missing row at once neither fail nor deadlock. */
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
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    for (int i = 0; i < 3000; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "t%d", i);
        tu_pair(s, tu_user(s, tag, NULL), "PLAYER", 2, 1 + i % 2);
    }
    assert_int_equal(s->ops->commit(s), 0);
    store_close(s);
    /* The same database, with every statement limited to 1 ms. */
    char url[1200];
    snprintf(url, sizeof url, "%s%soptions=-c%%20statement_timeout%%3D1", tu_url(dir),
             strchr(tu_url(dir), '?') ? "&" : "?");
    struct store_options o;
    store_options_default(&o);
    o.migrate = false;
    char err[600];
    assert_int_equal(store_open(url, &o, &s, err, sizeof err), 0);
    struct check_options co = {.trigger = "manual", .direction = "progress_to_license",
                               .healthy_threshold = 99, .degraded_threshold = 95,
                               .data_dir = dir};
    struct check_outcome out;
    int failures = 0;
    for (int i = 0; i < 5; i++)
        if (check_execute(s, &co, &out, err, sizeof err) != 0)
            failures++;
    assert_true(failures > 0);
    assert_non_null(strstr(err, "statement timeout"));
    assert_int_equal(s->in_txn, 0);
    /* The connection is usable and idle: a new transaction starts fine. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    s->ops->rollback(s);
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
    struct store *s = tu_store_again(r->dir);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_connections),
        cmocka_unit_test(many_pairs_stream_in_order),
        cmocka_unit_test(statement_timeout_leaves_no_transaction),
        cmocka_unit_test(terminated_session_recovers),
        cmocka_unit_test(enforcer_and_sync_create_the_same_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

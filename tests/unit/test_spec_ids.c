/* test_spec_ids.c — specialization ids up to 64 bytes, never cut: an
 * attached academy's ids of 47 bytes that share their first 32 stay two
 * pairs, and one longer than 64 bytes fails the scan (single-threaded and
 * threaded) and is ✗ in doctor, naming the column and its length. */
#include "model/domain_map.h"
#include "store/store.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#define ALPHA "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_ALPHA_2025"
#define BRAVO "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_BRAVO_2025"
/* 70 bytes, the first 64 those of an id of its own. */
#define LONG64 "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_CHARLIE_2025_ADVANCED_COHOR"
#define LONG70 LONG64 "T_EXTR"

/* The academy's tables as attach.md's default mapping names them, without
 * max_levels ([levels] gives them) and without any length limit. */
static const char academy_schema[] =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR NOT NULL, name VARCHAR NOT NULL);"
    "CREATE TABLE specializations (id VARCHAR(50) PRIMARY KEY, is_active BOOLEAN, created_at DATETIME);"
    "CREATE TABLE specialization_progress (id INTEGER PRIMARY KEY, student_id INTEGER NOT NULL,"
    " specialization_id VARCHAR(50) NOT NULL, current_level INTEGER, updated_at DATETIME,"
    " UNIQUE (student_id, specialization_id));"
    "CREATE TABLE user_licenses (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
    " specialization_type VARCHAR(50) NOT NULL, current_level INTEGER NOT NULL,"
    " max_achieved_level INTEGER NOT NULL, started_at DATETIME NOT NULL, updated_at DATETIME,"
    " UNIQUE (user_id, specialization_type));"
    "CREATE TABLE license_progressions (id INTEGER PRIMARY KEY, user_license_id INTEGER NOT NULL,"
    " from_level INTEGER NOT NULL, to_level INTEGER NOT NULL, advanced_by INTEGER,"
    " advancement_reason TEXT, advanced_at DATETIME NOT NULL);"
    "INSERT INTO users VALUES (7, 'a@academy.test', 'A'), (8, 'b@academy.test', 'B');"
    "INSERT INTO specializations VALUES ('" ALPHA "', 1, NULL), ('" BRAVO "', 1, NULL);"
    "INSERT INTO specialization_progress (student_id, specialization_id, current_level) VALUES"
    " (7, '" ALPHA "', 2), (7, '" BRAVO "', 3), (8, '" ALPHA "', 1);"
    "INSERT INTO user_licenses (user_id, specialization_type, current_level, max_achieved_level,"
    " started_at) VALUES (7, '" ALPHA "', 2, 2, '2025-09-01'), (7, '" BRAVO "', 4, 4, '2025-09-01'),"
    " (8, '" ALPHA "', 1, 1, '2025-09-01');";

static char dir[512], academy[600];

/* A fresh academy file (with `extra` SQL run after the schema) and an
 * attached store on it; full scans threaded from `parallel` bytes (0:
 * always, -1: never). */
static struct store *open_attached(const char *name, const char *extra, long parallel)
{
    snprintf(dir, sizeof dir, "%s", tu_tmpdir(name));
    snprintf(academy, sizeof academy, "%s/academy.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(academy, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, academy_schema, NULL, NULL, NULL), SQLITE_OK);
    if (extra)
        assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    static struct domain_map m;
    char err[256];
    domain_map_own(&m);
    m.attached = true;
    m.repair = false;
    snprintf(m.database, sizeof m.database, "%s", academy);
    assert_int_equal(domain_map_set(&m, DOMAIN_SPECS_MAX_LEVELS, "", err, sizeof err), 0);
    assert_int_equal(domain_map_set_level(&m, ALPHA, "4", err, sizeof err), 0);
    assert_int_equal(domain_map_set_level(&m, BRAVO, "6", err, sizeof err), 0);
    struct store_options o;
    store_options_default(&o);
    o.domain = &m;
    o.parallel_scan_min_bytes = parallel;
    char url[700];
    snprintf(url, sizeof url, "sqlite:%s/lockstep.db", dir);
    struct store *s = NULL;
    if (store_open(url, &o, &s, err, sizeof err) != 0)
        fail_msg("open the attached store: %s", err);
    return s;
}

/* Every pair of a full scan as "user spec p/l max" lines into out; returns
 * the scan's code (0 at its end, or the error). */
static int scan_all(struct store *s, char *out, size_t len)
{
    out[0] = '\0';
    struct pair_filter f = {.open_violations = true};
    struct store_scan *sc = NULL;
    int rc = s->ops->begin(s, STORE_TXN_READ);
    if (rc == 0)
        rc = s->ops->pair_scan_open(s, &f, &sc);
    struct pair_levels p;
    while (rc == 0 && (rc = s->ops->pair_scan_next(sc, &p)) == 1) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%lld %s %d/%d %d\n", (long long)p.user_id, p.spec,
                 p.progress_level, p.license_level, p.max_level);
        rc = 0;
    }
    if (sc)
        s->ops->pair_scan_close(sc);
    s->ops->rollback(s);
    return rc;
}

struct points {
    int verdict;
    char text[700];
};

static void take_point(void *ctx, const char *name, int verdict, const char *text,
                       const char *fix)
{
    struct points *pt = ctx;
    if (strcmp(name, "spec_ids") != 0 || verdict < pt->verdict)
        return;
    pt->verdict = verdict;
    snprintf(pt->text, sizeof pt->text, "%s | %s", text, fix);
}

static void copy_is_whole_up_to_64_and_loud_beyond(void **state)
{
    (void)state;
    struct store *s = tu_store("spec-copy", NULL);
    char out[SPEC_ID_MAX];
    assert_int_equal(store_spec_copy(s, out, LONG64, strlen(LONG64), "t.c", 9), 0);
    assert_string_equal(out, LONG64);
    assert_int_equal(store_spec_copy(s, out, LONG70, strlen(LONG70), "t.c", 9), STORE_ERR);
    assert_string_equal(out, "");
    assert_string_equal(store_errmsg(s),
                        "user 9: t.c holds a specialization id of 70 bytes ('" LONG64 "…'); "
                        "Lockstep handles ids of up to 64 bytes and never cuts one: shorten it "
                        "(lockstep doctor lists the columns that hold such ids)");
    store_close(s);
}

/* The two tracks share their first 32 bytes: a build that cut ids there
 * read one pair (7, LFA_…_T) with the rows of both. */
static void ids_sharing_32_bytes_stay_two_pairs(void **state)
{
    (void)state;
    static const char want[] = "7 " ALPHA " 2/2 4\n"
                               "7 " BRAVO " 3/4 6\n"
                               "8 " ALPHA " 1/1 4\n";
    char got[2048];
    for (long parallel = -1; parallel <= 0; parallel++) {
        struct store *s = open_attached(parallel ? "spec-ids-two" : "spec-ids-two-threaded", NULL,
                                        parallel);
        assert_int_equal(scan_all(s, got, sizeof got), 0);
        assert_string_equal(got, want);
        struct points pt = {.verdict = -1};
        assert_int_equal(s->ops->attached_inspect(s, take_point, &pt), 0);
        assert_int_equal(pt.verdict, 0);
        assert_non_null(strstr(pt.text, "47 in specialization_progress.specialization_id"));
        store_close(s);
    }
}

/* A 70-byte id in the license table: the scan fails naming it (never a pair
 * under its first 64 bytes), and doctor marks the column ✗ with the length. */
static void an_id_over_64_bytes_fails_the_scan_and_doctor(void **state)
{
    (void)state;
    const char *extra = "INSERT INTO user_licenses (user_id, specialization_type, current_level,"
                        " max_achieved_level, started_at) VALUES (8, '" LONG70 "', 1, 1, '2025');";
    char got[2048];
    for (long parallel = -1; parallel <= 0; parallel++) {
        struct store *s = open_attached(parallel ? "spec-ids-long" : "spec-ids-long-threaded",
                                        extra, parallel);
        int rc = scan_all(s, got, sizeof got);
        assert_int_equal(rc, STORE_ERR);
        assert_null(strstr(got, LONG64)); /* nothing of it was returned cut */
        const char *err = store_errmsg(s);
        assert_non_null(strstr(err, "user 8: user_licenses.specialization_type holds a "
                                    "specialization id of 70 bytes ('" LONG64 "…')"));
        assert_non_null(strstr(err, "up to 64 bytes"));
        struct points pt = {.verdict = -1};
        assert_int_equal(s->ops->attached_inspect(s, take_point, &pt), 0);
        assert_int_equal(pt.verdict, 2);
        assert_non_null(strstr(pt.text, "user_licenses.specialization_type holds a specialization "
                                         "id of 70 bytes ('" LONG64 "…')"));
        assert_non_null(strstr(pt.text, "shorten the ids longer than 64 bytes"));
        store_close(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_is_whole_up_to_64_and_loud_beyond),
        cmocka_unit_test(ids_sharing_32_bytes_stay_two_pairs),
        cmocka_unit_test(an_id_over_64_bytes_fails_the_scan_and_doctor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_demo.c — demo data: the counts asked for, drift in range, orphans of
 * each side, the same data from the same seed, the admin made once. */
#include "service/check.h"
#include "service/demo.h"
#include "service/errors.h"
#include "service/users.h"
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Every pair of the store as text, one "user spec progress license" per line
 * (0: the side is missing). Caller frees. */
static char *pairs_of(struct store *s)
{
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[0] = '\0';
    struct store_scan *scan = NULL;
    assert_int_equal(s->ops->begin(s, STORE_TXN_READ), 0);
    assert_int_equal(s->ops->pair_scan_open(s, NULL, &scan), 0);
    struct pair_levels p;
    int rc;
    while ((rc = s->ops->pair_scan_next(scan, &p)) == 1) {
        if (cap - len < 128) {
            cap *= 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        len += (size_t)snprintf(text + len, cap - len, "%lld %s %d %d\n", (long long)p.user_id,
                                p.spec, p.has_progress ? p.progress_level : 0,
                                p.has_license ? p.license_level : 0);
    }
    assert_int_equal(rc, 0);
    s->ops->pair_scan_close(scan);
    assert_int_equal(s->ops->commit(s), 0);
    return text;
}

static struct check_run dry_check(struct store *s)
{
    struct check_options o = {.dry_run = true, .direction = "progress_to_license",
                              .healthy_threshold = 99.0, .degraded_threshold = 95.0};
    struct check_outcome out;
    char err[300];
    assert_int_equal(check_execute(s, &o, &out, err, sizeof err), 0);
    return out.run;
}

/* The defaults of operations.md: 150 students, 1.5 % drifted — the 148/150
 * of the domain's example. */
static void default_demo(void **state)
{
    (void)state;
    struct store *s = tu_store("demo-default", NULL);
    struct demo_options o = {.users = 150, .drift_pct = 1.5, .orphans = 0, .seed = 42};
    struct demo_result r;
    char err[300];
    assert_int_equal(demo_generate(s, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.students, 150);
    assert_int_equal(r.drifted, 2);
    struct check_run c = dry_check(s);
    assert_int_equal(c.total_checked, 150);
    assert_int_equal(c.consistent, 148);
    assert_float_equal(c.consistency_rate, 98.67, 1e-9);
    assert_string_equal(c.status, "degraded");
    assert_int_equal(c.users_checked, 150);
    /* The admin, made once, with the password shown. */
    assert_true(r.admin_created);
    assert_string_equal(r.admin_email, DEMO_ADMIN_EMAIL);
    struct user admin;
    assert_int_equal(users_get_by_email(s, DEMO_ADMIN_EMAIL, &admin, err, sizeof err), 0);
    assert_string_equal(admin.role, "admin");
    assert_true(users_verify_password(admin.password_hash, r.admin_password));
    /* Again into the same store: refused, nothing added, no new password. */
    assert_int_equal(demo_generate(s, &o, &r, err, sizeof err), LS_ERR_CONFLICT);
    assert_false(r.admin_created);
    assert_string_equal(r.admin_password, "");
    assert_non_null(strstr(err, "demo data already exists"));
    int64_t n = 0;
    assert_int_equal(s->ops->user_count(s, NULL, false, &n), 0);
    assert_int_equal(n, 151);
    store_close(s);
}

static int check_levels(void *ctx, const struct specialization *sp)
{
    int *max = ctx;
    if (!strcmp(sp->id, "PLAYER"))
        max[0] = sp->max_levels;
    else if (!strcmp(sp->id, "COACH"))
        max[1] = sp->max_levels;
    else if (!strcmp(sp->id, "INTERNSHIP"))
        max[2] = sp->max_levels;
    return 0;
}

static void drift_and_orphans(void **state)
{
    (void)state;
    struct store *s = tu_store("demo-drift", NULL);
    struct demo_options o = {.users = 400, .drift_pct = 100, .orphans = 7, .seed = 3};
    struct demo_result r;
    char err[300];
    assert_int_equal(demo_generate(s, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.students, 414);
    assert_int_equal(r.drifted, 400);
    assert_int_equal(r.orphan_progress, 7);
    assert_int_equal(r.orphan_license, 7);
    int max[3] = {0, 0, 0};
    assert_int_equal(s->ops->spec_list(s, check_levels, max), 0);
    char *text = pairs_of(s);
    int mismatched = 0, progress_only = 0, license_only = 0, lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        long long user;
        char spec[SPEC_ID_MAX];
        int p, l;
        assert_int_equal(sscanf(line, "%lld %32s %d %d", &user, spec, &p, &l), 4);
        int m = !strcmp(spec, "PLAYER") ? max[0] : !strcmp(spec, "COACH") ? max[1] : max[2];
        if ((p && (p < 1 || p > m)) || (l && (l < 1 || l > m)))
            fail_msg("level out of range: %s", line);
        mismatched += p && l && p != l;
        progress_only += p && !l;
        license_only += !p && l;
    }
    free(text);
    assert_int_equal(lines, 414);
    assert_int_equal(mismatched, 400); /* every drifted pair really differs */
    assert_int_equal(progress_only, 7);
    assert_int_equal(license_only, 7);
    store_close(s);
}

static void same_seed_same_data(void **state)
{
    (void)state;
    struct demo_options o = {.users = 300, .drift_pct = 5, .orphans = 2, .seed = 1234};
    struct demo_result r;
    char err[300];
    struct store *a = tu_store("demo-seed-a", NULL);
    assert_int_equal(demo_generate(a, &o, &r, err, sizeof err), 0);
    char *ta = pairs_of(a);
    store_close(a);
    struct store *b = tu_store("demo-seed-b", NULL);
    assert_int_equal(demo_generate(b, &o, &r, err, sizeof err), 0);
    char *tb = pairs_of(b);
    store_close(b);
    assert_string_equal(ta, tb);
    o.seed = 1235;
    struct store *c = tu_store("demo-seed-c", NULL);
    assert_int_equal(demo_generate(c, &o, &r, err, sizeof err), 0);
    char *tc = pairs_of(c);
    store_close(c);
    assert_string_not_equal(ta, tc);
    free(ta);
    free(tb);
    free(tc);
}

static void refused_options_create_nothing(void **state)
{
    (void)state;
    struct store *s = tu_store("demo-refused", NULL);
    const struct demo_options bad[] = {
        {.users = -1, .drift_pct = 1.5},  {.users = 10, .drift_pct = -0.1},
        {.users = 10, .drift_pct = 100.1}, {.users = 10, .drift_pct = NAN},
        {.users = 10, .drift_pct = 1, .orphans = -1},
    };
    struct demo_result r;
    char err[300];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (demo_generate(s, &bad[i], &r, err, sizeof err) != LS_ERR_VALIDATION)
            fail_msg("demo options %zu were accepted", i);
    }
    int64_t n = -1;
    assert_int_equal(s->ops->user_count(s, NULL, false, &n), 0);
    assert_int_equal(n, 0);
    /* No students at all is fine: just the admin. */
    struct demo_options none = {.users = 0, .drift_pct = 50, .seed = 1};
    assert_int_equal(demo_generate(s, &none, &r, err, sizeof err), 0);
    assert_int_equal(r.students, 0);
    assert_true(r.admin_created);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_demo),
        cmocka_unit_test(drift_and_orphans),
        cmocka_unit_test(same_seed_same_data),
        cmocka_unit_test(refused_options_create_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

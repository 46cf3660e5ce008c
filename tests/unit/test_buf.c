/* test_buf.c — the bounded buffer: appends up to the limit and never past it,
 * the contents unchanged by a refused append, ownership on detach. */
#include "util/array.h"
#include "util/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void limit_is_hard(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(10);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_puts(&b, "hello"), 0);
    assert_int_equal(buf_printf(&b, "%d", 12345), 0);
    assert_string_equal(buf_str(&b), "hello12345");
    assert_int_equal(b.len, 10);
    /* Full: every further append is refused and changes nothing. */
    assert_int_equal(buf_puts(&b, "!"), BUF_ERR_LIMIT);
    assert_int_equal(buf_printf(&b, "%s", "more"), BUF_ERR_LIMIT);
    assert_int_equal(buf_append(&b, "x", (size_t)-1), BUF_ERR_LIMIT); /* no size overflow */
    assert_string_equal(buf_str(&b), "hello12345");
    assert_int_equal(buf_append(&b, "", 0), 0);
    buf_reset(&b);
    assert_string_equal(buf_str(&b), "");
    /* An append that would cross the limit is refused whole, not cut. */
    assert_int_equal(buf_puts(&b, "12345678"), 0);
    assert_int_equal(buf_printf(&b, "%s", "abc"), BUF_ERR_LIMIT);
    assert_string_equal(buf_str(&b), "12345678");
    buf_free(&b);
    assert_string_equal(buf_str(&b), "");
}

static void grows_and_detaches(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0); /* the default limit */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%04d,", i), 0);
    assert_int_equal(b.len, 5000);
    assert_int_equal(strncmp(buf_str(&b) + 4995, "0999,", 5), 0);
    char *p = buf_detach(&b);
    assert_int_equal(strlen(p), 5000);
    free(p);
    assert_string_equal(buf_str(&b), "");
    p = buf_detach(&b); /* empty: still a string the caller frees */
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    assert_int_equal(buf_append(&b, "a\0b", 3), 0); /* bytes, not only strings */
    assert_int_equal(b.len, 3);
    assert_int_equal(memcmp(b.data, "a\0b", 4), 0);
    buf_free(&b);
}

/* Arrays of records grow by doubling, keep what they hold, and refuse a
 * size that would overflow without touching the array. */
static void arrays_grow_and_refuse_overflow(void **state)
{
    (void)state;
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    for (int64_t i = 0; i < 1000; i++) {
        assert_int_equal(ARRAY_RESERVE(v, n, cap, 4), 0);
        assert_true(cap > n);
        v[n++] = i * 3;
    }
    assert_int_equal(cap, 1024);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i], (int64_t)i * 3);
    size_t huge = SIZE_MAX / 2 + 1;
    int64_t *kept = v;
    assert_int_equal(array_reserve((void **)&v, huge, &huge, sizeof *v, 4), -1);
    assert_ptr_equal(v, kept);
    assert_int_equal(huge, SIZE_MAX / 2 + 1);
    free(v);
}

/* str_copy writes what snprintf(dst, size, "%s", src) writes. */
static void str_copy_cuts_as_snprintf(void **state)
{
    (void)state;
    const char *srcs[] = {"", "a", "level_mismatch", "exactly8", "a longer string than fits"};
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++)
        for (size_t size = 1; size <= 12; size++) {
            char got[16], want[16];
            memset(got, 'x', sizeof got);
            memset(want, 'x', sizeof want);
            str_copy(got, size, srcs[i]);
            snprintf(want, size, "%s", srcs[i]);
            assert_memory_equal(got, want, sizeof got);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_is_hard),
        cmocka_unit_test(str_copy_cuts_as_snprintf),
        cmocka_unit_test(grows_and_detaches),
        cmocka_unit_test(arrays_grow_and_refuse_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

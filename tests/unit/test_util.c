/* test_util.c — time formats and durations, atomic files, bounded buffers. */
#include "testutil.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void iso_round_trip(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(time_parse_iso("2025-10-25T14:30:00.123456Z", &us), 0);
    char iso[TIME_ISO_LEN];
    time_format_iso(us, iso);
    assert_string_equal(iso, "2025-10-25T14:30:00.123456Z");
    assert_int_equal(time_parse_iso("2025-10-25", &us), 0);
    time_format_iso(us, iso);
    assert_string_equal(iso, "2025-10-25T00:00:00.000000Z");
    assert_int_equal(time_parse_iso("2025-10-25T14:30:00.5+00:00", &us), 0);
    time_format_iso(us, iso);
    assert_string_equal(iso, "2025-10-25T14:30:00.500000Z");
    assert_int_equal(time_parse_iso("2025-13-01", &us), -1);
    assert_int_equal(time_parse_iso("yesterday", &us), -1);
    assert_int_equal(time_parse_iso("2025-10-25T14:30:00Zjunk", &us), -1);
    char f[16], d[9], l[20], iv[48];
    assert_int_equal(time_parse_iso("2025-10-25T14:30:05Z", &us), 0);
    time_format_file(us, f);
    time_format_day(us, d);
    time_format_log(us, l);
    assert_string_equal(f, "20251025_143005");
    assert_string_equal(d, "20251025");
    assert_string_equal(l, "2025-10-25 14:30:05");
    time_format_interval(300, iv, sizeof iv);
    assert_string_equal(iv, "0:05:00");
    time_format_interval(21600, iv, sizeof iv);
    assert_string_equal(iv, "6:00:00");
    time_format_interval(1, iv, sizeof iv);
    assert_string_equal(iv, "0:00:01");
    assert_int_equal(time_day_start(us + 1) % (86400 * USEC_PER_SEC), 0);
}

static void durations(void **state)
{
    (void)state;
    assert_int_equal(time_parse_duration("24h"), 86400);
    assert_int_equal(time_parse_duration("72h"), 259200);
    assert_int_equal(time_parse_duration("7d"), 604800);
    assert_int_equal(time_parse_duration("15m"), 900);
    assert_int_equal(time_parse_duration("90"), 90);
    assert_int_equal(time_parse_duration("90s"), 90);
    assert_int_equal(time_parse_duration(""), -1);
    assert_int_equal(time_parse_duration("1w"), -1);
    assert_int_equal(time_parse_duration("-1h"), -1);
    assert_int_equal(time_parse_duration("h"), -1);
    assert_int_equal(time_parse_duration("99999999999d"), -1);
}

static void atomic_files(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("fsutil");
    char path[700], err[300], out[700];
    snprintf(path, sizeof path, "%s/a/b/c.txt", dir);
    assert_int_equal(fs_write_atomic(path, "hello", 5, 0600, err, sizeof err), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_file(path, 100, &text, &len), 0);
    assert_string_equal(text, "hello");
    free(text);
    assert_int_equal(fs_read_file(path, 3, &text, &len), -EFBIG);
    /* Unique names never replace an existing file. */
    char sub[700];
    snprintf(sub, sizeof sub, "%s/u", dir);
    for (int i = 1; i <= 3; i++) {
        struct atomic_file af;
        snprintf(path, sizeof path, "%s/stem.json", sub);
        assert_int_equal(atomic_file_open(&af, path, 0644, err, sizeof err), 0);
        fprintf(af.fp, "%d", i);
        assert_int_equal(atomic_file_commit_unique(&af, sub, "stem", ".json", out, sizeof out,
                                                   err, sizeof err),
                         0);
    }
    assert_non_null(strstr(out, "stem_3.json"));
    assert_int_equal(fs_read_file(out, 100, &text, &len), 0);
    assert_string_equal(text, "3");
    free(text);
    /* An aborted write leaves nothing, not even its temporary file. */
    struct atomic_file af;
    snprintf(path, sizeof path, "%s/aborted.txt", sub);
    assert_int_equal(atomic_file_open(&af, path, 0644, err, sizeof err), 0);
    fputs("partial", af.fp);
    atomic_file_abort(&af);
    assert_int_equal(tu_sh("test ! -e '%s' && test -z \"$(ls -A '%s' | grep tmp)\"", path, sub),
                     0);
    /* A file where a directory should be: a clear error. */
    snprintf(path, sizeof path, "%s/a/b/c.txt/x.txt", dir);
    assert_true(fs_write_atomic(path, "x", 1, 0644, err, sizeof err) < 0);
    assert_non_null(strstr(err, "cannot create directory"));
    /* Stale temporary files are removed. */
    assert_int_equal(tu_sh("touch '%s/.tmp.1.abc' '%s/keep.json'", sub, sub), 0);
    assert_int_equal(fs_remove_stale_tmp(sub), 1);
    assert_int_equal(tu_sh("test -e '%s/keep.json'", sub), 0);
}

static void bounded_buffers(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(10);
    assert_int_equal(buf_puts(&b, "hello"), 0);
    assert_int_equal(buf_printf(&b, "%d", 12345), 0);
    assert_string_equal(buf_str(&b), "hello12345");
    assert_int_equal(buf_puts(&b, "!"), BUF_ERR_LIMIT);
    assert_string_equal(buf_str(&b), "hello12345");
    char *p = buf_detach(&b);
    assert_string_equal(p, "hello12345");
    free(p);
    assert_string_equal(buf_str(&b), "");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso_round_trip),
        cmocka_unit_test(durations),
        cmocka_unit_test(atomic_files),
        cmocka_unit_test(bounded_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

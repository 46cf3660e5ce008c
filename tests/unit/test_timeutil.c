/* test_timeutil.c — ISO 8601 timestamps (format, parse, round trip, dates that
 * do not exist), file and log stamps, durations, the test clock. */
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static int64_t parse(const char *text)
{
    int64_t us = 0;
    assert_int_equal(time_parse_iso(text, &us), 0);
    return us;
}

static void iso_round_trip(void **state)
{
    (void)state;
    char iso[TIME_ISO_LEN];
    /* The domain's example, to the microsecond. */
    time_format_iso(parse("2025-10-25T14:30:00.123456Z"), iso);
    assert_string_equal(iso, "2025-10-25T14:30:00.123456Z");
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("2025-10-25T14:30:00.000001Z") - parse("2025-10-25T14:30:00Z"), 1);
    /* Every instant survives format then parse, before and after the epoch. */
    const int64_t samples[] = {0, 1, 999999, 1761402600123456, -86400 * USEC_PER_SEC + 7,
                               4102444799999999 /* 2099-12-31T23:59:59.999999Z */};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        time_format_iso(samples[i], iso);
        assert_int_equal(strlen(iso), TIME_ISO_LEN - 1);
        assert_int_equal(parse(iso), samples[i]);
    }
    time_format_iso(-1, iso);
    assert_string_equal(iso, "1969-12-31T23:59:59.999999Z");
    /* Digit by digit, as printf would write it: every field's largest and
     * smallest values, and a spread of instants up to the year 9999. */
    time_format_iso(parse("9999-12-31T23:59:59.999999Z"), iso);
    assert_string_equal(iso, "9999-12-31T23:59:59.999999Z");
    time_format_iso(parse("0001-01-01T00:00:00.000000Z"), iso);
    assert_string_equal(iso, "0001-01-01T00:00:00.000000Z");
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t us = (int64_t)(x % 253402300800000000ULL); /* 1970 … 9999 */
        time_t t = (time_t)(us / USEC_PER_SEC);
        struct tm tm;
        gmtime_r(&t, &tm);
        char want[64];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long)(us % USEC_PER_SEC));
        time_format_iso(us, iso);
        assert_string_equal(iso, want);
    }
}

static void iso_accepted_forms(void **state)
{
    (void)state;
    int64_t want = parse("2025-10-25T14:30:00.500000Z");
    assert_int_equal(parse("2025-10-25T14:30:00.5Z"), want);
    assert_int_equal(parse("2025-10-25T14:30:00.5+00:00"), want);
    assert_int_equal(parse("2025-10-25 14:30:00.5+00"), want); /* PostgreSQL's text form */
    assert_int_equal(parse("2025-10-25t14:30:00.5z"), want);
    assert_int_equal(parse("2025-10-25T14:30:00.5000009Z"), want); /* beyond µs: cut */
    assert_int_equal(parse("2025-10-25T14:30"), parse("2025-10-25T14:30:00Z"));
    assert_int_equal(parse("2025-10-25"), parse("2025-10-25T00:00:00Z"));
}

static void iso_rejected(void **state)
{
    (void)state;
    int64_t us = 42;
    const char *bad[] = {
        "", "yesterday", "2025-10-25T14:30:00Zjunk", "2025-10-25T14:30:00+02:00",
        "2025-13-01", "2025-00-10", "2025-10-00", "2025-10-32", "2025-10-25T24:00",
        "2025-10-25T14:60", "2025-10-25T14:30:00.", "25-10-25", "2025-1-5", "2025/10/25",
        /* Days a month does not have (timegm would move them into the next month). */
        "2025-02-29", "2025-02-30", "2025-04-31", "2025-06-31", "2025-09-31", "2025-11-31",
        "1900-02-29", "2100-02-29",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (time_parse_iso(bad[i], &us) != -1)
            fail_msg("'%s' was accepted as a time", bad[i]);
    }
    assert_int_equal(time_parse_iso(NULL, &us), -1);
    /* Leap days that exist. */
    char iso[TIME_ISO_LEN];
    time_format_iso(parse("2024-02-29T12:00:00Z"), iso);
    assert_string_equal(iso, "2024-02-29T12:00:00.000000Z");
    time_format_iso(parse("2000-02-29"), iso);
    assert_string_equal(iso, "2000-02-29T00:00:00.000000Z");
    time_format_iso(parse("2025-12-31T23:59:59.999999Z"), iso);
    assert_string_equal(iso, "2025-12-31T23:59:59.999999Z");
}

static void stamps(void **state)
{
    (void)state;
    int64_t us = parse("2025-10-25T14:30:05.999999Z");
    char f[16], d[9], l[20], iv[48];
    time_format_file(us, f);
    time_format_day(us, d);
    time_format_log(us, l);
    assert_string_equal(f, "20251025_143005"); /* the integrity-check file names */
    assert_string_equal(d, "20251025");
    assert_string_equal(l, "2025-10-25 14:30:05"); /* the day log */
    time_format_interval(300, iv, sizeof iv);
    assert_string_equal(iv, "0:05:00");
    time_format_interval(21600, iv, sizeof iv);
    assert_string_equal(iv, "6:00:00"); /* the scheduler banner */
    time_format_interval(1, iv, sizeof iv);
    assert_string_equal(iv, "0:00:01");
    time_format_interval(90061, iv, sizeof iv);
    assert_string_equal(iv, "1 day, 1:01:01");
    time_format_interval(-5, iv, sizeof iv);
    assert_string_equal(iv, "0:00:00");
    assert_int_equal(time_day_start(us), parse("2025-10-25"));
    assert_int_equal(time_day_start(parse("2025-10-25")), parse("2025-10-25"));
    assert_int_equal(time_day_start(-1), -86400 * USEC_PER_SEC);
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
    const char *bad[] = {"", "h", "1w", "-1h", "1.5h", "24hh", "24 h", "24H", "d7",
                         "99999999999d", "9999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (time_parse_duration(bad[i]) != -1)
            fail_msg("'%s' was accepted as a duration", bad[i]);
    }
    assert_int_equal(time_parse_duration(NULL), -1);
}

static void test_clock(void **state)
{
    (void)state;
    int64_t fake = parse("2030-01-01T00:00:00Z");
    time_set_test_clock(fake);
    assert_int_equal(time_now_us(), fake);
    time_set_test_clock(0);
    int64_t now = time_now_us();
    assert_true(now > parse("2024-01-01") && now < fake);
    int64_t a = time_mono_us(), b = time_mono_us();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso_round_trip), cmocka_unit_test(iso_accepted_forms),
        cmocka_unit_test(iso_rejected),   cmocka_unit_test(stamps),
        cmocka_unit_test(durations),      cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

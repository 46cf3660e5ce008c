/* fuzz_time.c — libFuzzer harness: the time parsers (src/util/timeutil.c).
 * Input: text. time_parse_iso: what it accepts must format and parse back to
 * the same instant. time_parse_duration: what it accepts must be between 0
 * and 100 years and read back the same in seconds. */
#include "util/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = strndup((const char *)data, size);
    if (!s)
        return 0;
    int64_t us = 0;
    if (time_parse_iso(s, &us) == 0) {
        char iso[TIME_ISO_LEN];
        int64_t again = 0;
        time_format_iso(us, iso);
        /* Years before 1 or after 9999 do not print in four digits. */
        if (us >= INT64_C(-62135596800000000) && us < INT64_C(253402300800000000) &&
            (time_parse_iso(iso, &again) != 0 || again != us)) {
            fprintf(stderr, "time_parse_iso(\"%s\") = %lld, formatted \"%s\", read back %lld\n",
                    s, (long long)us, iso, (long long)again);
            abort();
        }
        char other[20];
        time_format_file(us, other);
        time_format_log(us, other);
        char day[9];
        time_format_day(us, day);
        (void)time_day_start(us);
    }
    int64_t secs = time_parse_duration(s);
    if (secs != -1) {
        if (secs < 0 || secs > INT64_C(100) * 365 * 86400) {
            fprintf(stderr, "time_parse_duration(\"%s\") = %lld\n", s, (long long)secs);
            abort();
        }
        char text[32];
        snprintf(text, sizeof text, "%llds", (long long)secs);
        if (time_parse_duration(text) != secs) {
            fprintf(stderr, "time_parse_duration(\"%s\") = %lld does not read back\n", s,
                    (long long)secs);
            abort();
        }
        char interval[64];
        time_format_interval(secs, interval, sizeof interval);
    }
    free(s);
    return 0;
}

/* timeutil.c — UTC microsecond timestamps and their text forms. */
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t test_clock;

void time_set_test_clock(int64_t us)
{
    test_clock = us;
}

int64_t time_now_us(void)
{
    int64_t fake = test_clock;
    if (fake)
        return fake;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

void time_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void split(int64_t us, struct tm *tm, long *frac)
{
    int64_t sec = us / USEC_PER_SEC;
    int64_t rem = us % USEC_PER_SEC;
    if (rem < 0) {
        rem += USEC_PER_SEC;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    gmtime_r(&t, tm);
    *frac = (long)rem;
}

/* v (0 <= v < 10^n) as n digits at p; returns the end. */
static char *put_digits(char *p, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* Digit by digit rather than snprintf: every time a store writes goes
 * through here (a watcher batch formats one per violation it opens). */
void time_format_iso(int64_t us, char out[TIME_ISO_LEN])
{
    struct tm tm;
    long frac;
    split(us, &tm, &frac);
    int year = (tm.tm_year + 1900) % 10000;
    if (year < 0) { /* before year 0: as printf writes it */
        snprintf(out, TIME_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", year,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        return;
    }
    char *p = put_digits(out, year, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, frac, 6);
    *p++ = 'Z';
    *p = '\0';
}

void time_format_file(int64_t us, char out[16])
{
    struct tm tm;
    long frac;
    split(us, &tm, &frac);
    snprintf(out, 16, "%04d%02d%02d_%02d%02d%02d", (tm.tm_year + 1900) % 10000,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void time_format_day(int64_t us, char out[9])
{
    char file[16]; /* YYYYMMDD_HHMMSS: the day is its first eight */
    time_format_file(us, file);
    memcpy(out, file, 8);
    out[8] = '\0';
}

void time_format_log(int64_t us, char out[20])
{
    char iso[TIME_ISO_LEN]; /* YYYY-MM-DDTHH:MM:SS…: a space for the T, to the second */
    time_format_iso(us, iso);
    memcpy(out, iso, 19);
    out[10] = ' ';
    out[19] = '\0';
}

void time_format_interval(int64_t seconds, char *out, size_t len)
{
    if (seconds < 0)
        seconds = 0;
    int64_t days = seconds / 86400;
    int64_t rest = seconds % 86400;
    if (days > 0)
        snprintf(out, len, "%lld day%s, %lld:%02lld:%02lld", (long long)days,
                 days == 1 ? "" : "s", (long long)(rest / 3600),
                 (long long)(rest % 3600 / 60), (long long)(rest % 60));
    else
        snprintf(out, len, "%lld:%02lld:%02lld", (long long)(rest / 3600),
                 (long long)(rest % 3600 / 60), (long long)(rest % 60));
}

/* Read exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int time_parse_iso(const char *s, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h = 0, mi = 0, sec = 0;
    long frac = 0;
    const char *p = s;
    if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -1;
            if (*p == '.') {
                p++;
                int n = 0;
                while (isdigit((unsigned char)*p)) {
                    if (n < 6) {
                        frac = frac * 10 + (*p - '0');
                        n++;
                    }
                    p++;
                }
                if (n == 0)
                    return -1;
                while (n++ < 6)
                    frac *= 10;
            }
        }
        if (*p == 'Z' || *p == 'z')
            p++;
        else if (!strcmp(p, "+00:00"))
            p += 6;
        else if (!strcmp(p, "+00")) /* PostgreSQL's ISO output in UTC */
            p += 3;
    }
    if (*p != '\0')
        return -1;
    /* timegm would quietly turn 2025-02-30 into March 2: refuse days a month lacks. */
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *us = (int64_t)t * USEC_PER_SEC + frac;
    return 0;
}

int64_t time_parse_duration(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0 || v > 100LL * 365 * 86400)
        return -1;
    int64_t mult = 1;
    if (*end == '\0' || !strcmp(end, "s"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60;
    else if (!strcmp(end, "h"))
        mult = 3600;
    else if (!strcmp(end, "d"))
        mult = 86400;
    else
        return -1;
    if (v > (long long)(100LL * 365 * 86400 / mult))
        return -1;
    return (int64_t)v * mult;
}

int64_t time_day_start(int64_t us)
{
    int64_t day = 86400 * USEC_PER_SEC;
    int64_t r = us % day;
    if (r < 0)
        r += day;
    return us - r;
}

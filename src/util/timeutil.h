/* timeutil.h — UTC timestamps in microseconds and their text forms.
 *
 * Lockstep keeps every instant as int64 microseconds since the Unix epoch
 * (UTC). Text forms: ISO 8601 with microseconds and `Z` for JSON and the
 * store, `YYYYMMDD_HHMMSS` for file names, `YYYY-MM-DD HH:MM:SS` for logs.
 */
#ifndef LOCKSTEP_TIMEUTIL_H
#define LOCKSTEP_TIMEUTIL_H

#include <stdint.h>
#include <stddef.h>

#define TIME_ISO_LEN 28 /* "2025-10-25T14:30:00.123456Z" + NUL */
#define USEC_PER_SEC INT64_C(1000000)

/* Wall clock now, microseconds since the epoch (or the test clock). */
int64_t time_now_us(void);
/* Tests only: make time_now_us() return `us` (0 restores the real clock), so
 * histories of days can be recorded through the real code in a moment. */
void time_set_test_clock(int64_t us);
/* Monotonic clock, microseconds (for durations only). */
int64_t time_mono_us(void);
/* Sleep ms milliseconds, resumed when a signal cuts it short (0 or less: not
 * at all). */
void time_sleep_ms(int64_t ms);
/* Format `us` as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out[TIME_ISO_LEN]. */
void time_format_iso(int64_t us, char out[TIME_ISO_LEN]);
/* Parse ISO 8601 ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+00:00]").
 * Returns 0 and fills *us, or -1 when the text is not such a time. */
int time_parse_iso(const char *s, int64_t *us);
/* "YYYYMMDD_HHMMSS" (16 bytes with NUL). */
void time_format_file(int64_t us, char out[16]);
/* "YYYYMMDD" (9 bytes with NUL). */
void time_format_day(int64_t us, char out[9]);
/* "YYYY-MM-DD HH:MM:SS" (20 bytes with NUL). */
void time_format_log(int64_t us, char out[20]);
/* Interval as "H:MM:SS" (the scheduler banner format), e.g. 300 -> "0:05:00". */
void time_format_interval(int64_t seconds, char *out, size_t len);
/* Parse a duration "90", "90s", "15m", "24h", "7d". Returns seconds, or -1. */
int64_t time_parse_duration(const char *s);
/* Midnight UTC at the start of the day containing `us`. */
int64_t time_day_start(int64_t us);

#endif

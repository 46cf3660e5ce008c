/* trend.h — the consistency trend over the recorded checks of a window
 * (operations.md, "Trend"): count, average, min, max, standard deviation,
 * first and last rate, least-squares slope per hour and the verdict, plus
 * its text file and SVG chart. Hand-written: the statistics are a handful of
 * sums and no maintained C library draws this chart.
 *
 * trend_compute is pure (points in, numbers out) so the arithmetic and the
 * verdict are tested without a store; trend_analyze reads the store. */
#ifndef LOCKSTEP_TREND_H
#define LOCKSTEP_TREND_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORTS_DIR "logs/reports"
#define TREND_MIN_CHECKS 12 /* fewer checks in a window: no verdict (one hour at 5 min) */
#define TREND_BAND 2.0      /* points of consistency either side of the reference */
#define TREND_JSON_MAX_POINTS 5000 /* points in a JSON answer; more are sampled evenly */
#define TREND_WINDOW_MAX_SECONDS (366LL * 86400)

enum trend_verdict { TREND_INSUFFICIENT_DATA, TREND_STABLE, TREND_IMPROVING, TREND_DEGRADING };

struct trend_point {
    int64_t timestamp; /* when the check started */
    double rate;       /* its consistency_rate */
};

struct trend {
    int64_t count;
    double average, min, max, stddev; /* stddev: population (every check of the window) */
    double first, last;
    int64_t first_at, last_at, min_at, max_at;
    double slope_per_hour;            /* least squares, rate points per hour; 0 below 2 points */
    bool has_baseline;
    double reference;                 /* the baseline rate, or the window average */
    enum trend_verdict verdict;
    char explanation[200];            /* one sentence: why this verdict */
};

/* The statistics and verdict of `n` points ordered oldest first, against the
 * baseline rate when has_baseline (else the window average):
 *   insufficient_data  fewer than TREND_MIN_CHECKS points;
 *   stable             every rate within ±TREND_BAND of the reference;
 *   degrading          the last rate more than TREND_BAND below the reference,
 *                      or a rate that fell that far and a negative slope;
 *   improving          otherwise (rates left the band upwards, or a drop that
 *                      has recovered).
 * Pure; fills *t. */
void trend_compute(const struct trend_point *points, size_t n, bool has_baseline,
                   double baseline_rate, struct trend *t);
/* "insufficient_data", "stable", "improving" or "degrading". */
const char *trend_verdict_name(enum trend_verdict v);

/* The recorded checks of a window, oldest first. Owns `points`. */
struct trend_series {
    struct trend_point *points;
    size_t n, cap;
    struct check_run latest;  /* the newest check of the window, when has_latest */
    bool has_latest;
    int64_t file_errors;      /* checks whose report file could not be written */
};
/* Read the checks with since <= timestamp < until into *out (which the caller
 * releases with trend_series_free, also after a failure). Returns 0 or a
 * STORE_ERR_* code (store_errmsg(s) says why). */
int trend_load(struct store *s, int64_t since, int64_t until, struct trend_series *out);
void trend_series_free(struct trend_series *ser);

/* A trend as the CLI and the API show it. */
struct trend_result {
    int64_t since, until, window_seconds;
    bool has_baseline;
    struct baseline baseline;        /* when has_baseline */
    struct check_run baseline_check; /* the baseline's check, when has_baseline */
    struct trend_series series;      /* owned: trend_result_free */
    struct trend trend;
};
/* Load and compute the trend of [until - window, until) (until 0: now)
 * against baseline `baseline_id` (0: the latest, none when there is none;
 * -1: no baseline). Returns 0, LS_ERR_NOT_FOUND when the named baseline does
 * not exist, or another LS_ERR_* code; err says why. The caller releases
 * *out with trend_result_free (also after a failure). */
int trend_analyze(struct store *s, int64_t until, int64_t window_seconds, int64_t baseline_id,
                  struct trend_result *out, char *err, size_t errlen);
void trend_result_free(struct trend_result *r);

/* A window such as "24h", "72h", "7d", "90m" in seconds (see
 * time_parse_duration), or -1 when it is not one or longer than 366 days. */
int64_t trend_parse_window(const char *text);
/* The window as a file-name label: "24h", "90m", "45s" (whole hours when it
 * divides, else minutes, else seconds). */
void trend_window_label(int64_t seconds, char *out, size_t len);
/* The statistics as JSON (a new reference, NULL on no memory); with
 * `points`, the rates too (at most TREND_JSON_MAX_POINTS, sampled evenly,
 * the last always kept). */
json_t *trend_json(const struct trend_result *r, bool points);
/* The summary lines ("Checks: 288", …) the CLI prints and the text file ends
 * with. Returns 0 or -1 on a write error. */
int trend_write_summary(FILE *fp, const struct trend_result *r);
/* Write logs/reports/consistency_trend_<label>_YYYYMMDD.txt (date of
 * r->until) under data_dir atomically: one "timestamp rate" line per check,
 * oldest first, a blank line, then the summary. The path relative to the
 * data dir goes to rel[rellen]. Returns 0 or -1 with err. */
int trend_write_file(const char *data_dir, const struct trend_result *r, char *rel, size_t rellen,
                     char *err, size_t errlen);
/* A standalone SVG line chart of the rates over the window, with dashed
 * lines at the two thresholds and a line at the baseline rate. Returns 0 or -1
 * on a write error. */
int trend_write_svg(FILE *fp, const struct trend_result *r, double healthy_threshold,
                    double degraded_threshold);

#endif

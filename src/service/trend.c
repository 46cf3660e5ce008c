/* trend.c — trend statistics and verdict, the trend text file and its SVG
 * chart (hand-written; see trend.h). */
#include "service/trend.h"

#include "service/baseline.h"
#include "service/errors.h"
#include "service/report.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/array.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9

const char *trend_verdict_name(enum trend_verdict v)
{
    switch (v) {
    case TREND_STABLE:
        return "stable";
    case TREND_IMPROVING:
        return "improving";
    case TREND_DEGRADING:
        return "degrading";
    default:
        return "insufficient_data";
    }
}

void trend_compute(const struct trend_point *p, size_t n, bool has_baseline,
                   double baseline_rate, struct trend *t)
{
    memset(t, 0, sizeof *t);
    t->count = (int64_t)n;
    t->has_baseline = has_baseline;
    t->reference = has_baseline ? baseline_rate : 0.0;
    t->verdict = TREND_INSUFFICIENT_DATA;
    if (n == 0) {
        snprintf(t->explanation, sizeof t->explanation,
                 "no recorded checks in the window; at least %d are needed for a verdict",
                 TREND_MIN_CHECKS);
        return;
    }
    double sum = 0;
    t->min = t->max = p[0].rate;
    t->min_at = t->max_at = p[0].timestamp;
    for (size_t i = 0; i < n; i++) {
        sum += p[i].rate;
        if (p[i].rate < t->min) {
            t->min = p[i].rate;
            t->min_at = p[i].timestamp;
        }
        if (p[i].rate > t->max) {
            t->max = p[i].rate;
            t->max_at = p[i].timestamp;
        }
    }
    t->average = sum / (double)n;
    t->first = p[0].rate;
    t->first_at = p[0].timestamp;
    t->last = p[n - 1].rate;
    t->last_at = p[n - 1].timestamp;

    /* Two passes: deviations from the mean, and the least-squares slope over
     * hours since the first check. */
    double var = 0, xbar = 0;
    for (size_t i = 0; i < n; i++)
        xbar += (double)(p[i].timestamp - p[0].timestamp) / 3600e6;
    xbar /= (double)n;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        double dy = p[i].rate - t->average;
        double dx = (double)(p[i].timestamp - p[0].timestamp) / 3600e6 - xbar;
        var += dy * dy;
        sxx += dx * dx;
        sxy += dx * dy;
    }
    t->stddev = sqrt(var / (double)n);
    t->slope_per_hour = sxx > 0 ? sxy / sxx : 0.0;
    if (!has_baseline)
        t->reference = t->average;

    const char *ref = has_baseline ? "the baseline" : "the window average";
    if (n < TREND_MIN_CHECKS) {
        snprintf(t->explanation, sizeof t->explanation,
                 "only %zu recorded check%s in the window; at least %d are needed for a verdict",
                 n, n == 1 ? "" : "s", TREND_MIN_CHECKS);
        return;
    }
    double lo = t->reference - TREND_BAND, hi = t->reference + TREND_BAND;
    if (t->min >= lo - EPS && t->max <= hi + EPS) {
        t->verdict = TREND_STABLE;
        snprintf(t->explanation, sizeof t->explanation,
                 "all %zu rates within ±%.0f points of %s %.2f%%", n, TREND_BAND, ref,
                 t->reference);
    } else if (t->last < lo - EPS) {
        t->verdict = TREND_DEGRADING;
        snprintf(t->explanation, sizeof t->explanation,
                 "the last rate %.2f%% is more than %.0f points below %s %.2f%%", t->last,
                 TREND_BAND, ref, t->reference);
    } else if (t->min < lo - EPS && t->slope_per_hour < 0) {
        t->verdict = TREND_DEGRADING;
        snprintf(t->explanation, sizeof t->explanation,
                 "the rate fell to %.2f%%, more than %.0f points below %s %.2f%%, and the "
                 "slope is %+.4f points per hour",
                 t->min, TREND_BAND, ref, t->reference, t->slope_per_hour);
    } else if (t->last > hi + EPS) {
        t->verdict = TREND_IMPROVING;
        snprintf(t->explanation, sizeof t->explanation,
                 "the last rate %.2f%% is more than %.0f points above %s %.2f%%", t->last,
                 TREND_BAND, ref, t->reference);
    } else if (t->min < lo - EPS) {
        t->verdict = TREND_IMPROVING;
        snprintf(t->explanation, sizeof t->explanation,
                 "the rate fell to %.2f%% but recovered to %.2f%% (slope %+.4f points per hour)",
                 t->min, t->last, t->slope_per_hour);
    } else {
        t->verdict = TREND_IMPROVING;
        snprintf(t->explanation, sizeof t->explanation,
                 "rates rose more than %.0f points above %s %.2f%% (max %.2f%%)", TREND_BAND,
                 ref, t->reference, t->max);
    }
}

/* ---- loading ---------------------------------------------------------------------- */

struct loader {
    struct store *s;
    struct trend_series *ser;
};

static int add_point(void *ctx, const struct check_run *c)
{
    struct loader *ld = ctx;
    struct trend_series *ser = ld->ser;
    if (ARRAY_RESERVE(ser->points, ser->n, ser->cap, 256) != 0)
        return store_fail(ld->s, STORE_ERR_NOMEM, "out of memory reading the check history");
    if (!ser->has_latest) { /* the history comes newest first */
        ser->latest = *c;
        ser->has_latest = true;
    }
    if (c->file_error[0])
        ser->file_errors++;
    ser->points[ser->n].timestamp = c->timestamp;
    ser->points[ser->n].rate = c->consistency_rate;
    ser->n++;
    return 0;
}

int trend_load(struct store *s, int64_t since, int64_t until, struct trend_series *out)
{
    memset(out, 0, sizeof *out);
    struct loader ld = {s, out};
    int rc = s->ops->check_list(s, since, until, 0, add_point, &ld);
    if (rc)
        return rc;
    for (size_t i = 0, j = out->n ? out->n - 1 : 0; i < j; i++, j--) {
        struct trend_point tmp = out->points[i];
        out->points[i] = out->points[j];
        out->points[j] = tmp;
    }
    return 0;
}

void trend_series_free(struct trend_series *ser)
{
    free(ser->points);
    memset(ser, 0, sizeof *ser);
}

int trend_analyze(struct store *s, int64_t until, int64_t window_seconds, int64_t baseline_id,
                  struct trend_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->until = until ? until : time_now_us();
    out->window_seconds = window_seconds;
    out->since = out->until - window_seconds * USEC_PER_SEC;
    if (baseline_id >= 0) {
        struct baseline_info bi;
        int rc = baseline_load(s, baseline_id, &bi, err, errlen);
        if (rc == 0) {
            out->has_baseline = true;
            out->baseline = bi.baseline;
            out->baseline_check = bi.check;
        } else if (rc != LS_ERR_NOT_FOUND || baseline_id > 0) {
            return rc;
        }
    }
    int rc = trend_load(s, out->since, out->until, &out->series);
    if (rc) {
        snprintf(err, errlen, "cannot read the check history: %s", store_errmsg(s));
        return ls_from_store(rc);
    }
    trend_compute(out->series.points, out->series.n, out->has_baseline,
                  out->baseline_check.consistency_rate, &out->trend);
    return 0;
}

void trend_result_free(struct trend_result *r)
{
    trend_series_free(&r->series);
}

/* ---- output ----------------------------------------------------------------------- */

int64_t trend_parse_window(const char *text)
{
    int64_t w = text ? time_parse_duration(text) : -1;
    return w > 0 && w <= TREND_WINDOW_MAX_SECONDS ? w : -1;
}

void trend_window_label(int64_t seconds, char *out, size_t len)
{
    if (seconds > 0 && seconds % 3600 == 0)
        snprintf(out, len, "%lldh", (long long)(seconds / 3600));
    else if (seconds > 0 && seconds % 60 == 0)
        snprintf(out, len, "%lldm", (long long)(seconds / 60));
    else
        snprintf(out, len, "%llds", (long long)seconds);
}

static double round_to(double v, double scale)
{
    return round(v * scale) / scale;
}

static json_t *rate_or_null(bool have, double v)
{
    return have ? json_real(round_to(v, 100)) : json_null();
}

json_t *trend_json(const struct trend_result *r, bool points)
{
    const struct trend *t = &r->trend;
    bool have = t->count > 0;
    char label[32];
    trend_window_label(r->window_seconds, label, sizeof label);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "window", json_string(label));
    json_object_set_new(o, "window_seconds", json_integer(r->window_seconds));
    json_object_set_new(o, "since", report_time_json(r->since));
    json_object_set_new(o, "until", report_time_json(r->until));
    json_object_set_new(o, "count", json_integer(t->count));
    json_object_set_new(o, "average", rate_or_null(have, t->average));
    json_object_set_new(o, "min", rate_or_null(have, t->min));
    json_object_set_new(o, "max", rate_or_null(have, t->max));
    json_object_set_new(o, "stddev", have ? json_real(round_to(t->stddev, 1000)) : json_null());
    json_object_set_new(o, "first", rate_or_null(have, t->first));
    json_object_set_new(o, "last", rate_or_null(have, t->last));
    json_object_set_new(o, "first_at", report_time_json(t->first_at));
    json_object_set_new(o, "last_at", report_time_json(t->last_at));
    json_object_set_new(o, "min_at", report_time_json(t->min_at));
    json_object_set_new(o, "max_at", report_time_json(t->max_at));
    json_object_set_new(o, "slope_per_hour",
                        have ? json_real(round_to(t->slope_per_hour, 10000)) : json_null());
    json_object_set_new(o, "verdict", json_string(trend_verdict_name(t->verdict)));
    json_object_set_new(o, "explanation", json_string(t->explanation));
    json_object_set_new(o, "reference", json_string(t->has_baseline ? "baseline"
                                                                    : "window_average"));
    json_object_set_new(o, "reference_rate", rate_or_null(have || t->has_baseline,
                                                          t->reference));
    json_object_set_new(o, "band_points", json_real(TREND_BAND));
    json_object_set_new(o, "minimum_checks", json_integer(TREND_MIN_CHECKS));
    if (r->has_baseline) {
        json_t *b = json_object();
        json_object_set_new(b, "id", json_integer(r->baseline.id));
        json_object_set_new(b, "check_id", json_integer(r->baseline.check_id));
        json_object_set_new(b, "created_at", report_time_json(r->baseline.created_at));
        json_object_set_new(b, "timestamp", report_time_json(r->baseline_check.timestamp));
        json_object_set_new(b, "consistency_rate", json_real(r->baseline_check.consistency_rate));
        json_object_set_new(b, "status", json_string(r->baseline_check.status));
        json_object_set_new(o, "baseline", b);
    } else {
        json_object_set_new(o, "baseline", json_null());
    }
    if (points) {
        json_t *arr = json_array();
        if (!arr) {
            json_decref(o);
            return NULL;
        }
        size_t n = r->series.n, step = (n + TREND_JSON_MAX_POINTS - 1) / TREND_JSON_MAX_POINTS;
        if (step < 1)
            step = 1;
        for (size_t i = 0; i < n; i += step) {
            /* Sampled: the last point is always shown (it is the current rate). */
            size_t k = i + step >= n ? n - 1 : i;
            json_t *pt = json_object();
            json_object_set_new(pt, "timestamp", report_time_json(r->series.points[k].timestamp));
            json_object_set_new(pt, "consistency_rate", json_real(r->series.points[k].rate));
            json_array_append_new(arr, pt);
        }
        json_object_set_new(o, "points", arr);
        json_object_set_new(o, "points_sampled", json_boolean(step > 1));
    }
    return o;
}

int trend_write_summary(FILE *fp, const struct trend_result *r)
{
    const struct trend *t = &r->trend;
    char label[32], a[TIME_ISO_LEN], b[TIME_ISO_LEN];
    trend_window_label(r->window_seconds, label, sizeof label);
    time_format_iso(r->since, a);
    time_format_iso(r->until, b);
    fprintf(fp, "Window: %s (%s to %s)\n", label, a, b);
    fprintf(fp, "Checks: %lld\n", (long long)t->count);
    if (t->count > 0) {
        fprintf(fp, "Average: %.2f%%\n", t->average);
        time_format_iso(t->min_at, a);
        fprintf(fp, "Min: %.2f%% (at %s)\n", t->min, a);
        time_format_iso(t->max_at, a);
        fprintf(fp, "Max: %.2f%% (at %s)\n", t->max, a);
        fprintf(fp, "Standard deviation: %.3f\n", t->stddev);
        time_format_iso(t->first_at, a);
        fprintf(fp, "First: %.2f%% (at %s)\n", t->first, a);
        time_format_iso(t->last_at, a);
        fprintf(fp, "Last: %.2f%% (at %s)\n", t->last, a);
        fprintf(fp, "Slope: %+.4f points per hour\n", t->slope_per_hour);
    }
    if (r->has_baseline) {
        time_format_iso(r->baseline_check.timestamp, a);
        fprintf(fp, "Reference: baseline #%lld, %.2f%% (check at %s)\n",
                (long long)r->baseline.id, r->baseline_check.consistency_rate, a);
    } else if (t->count > 0) {
        fprintf(fp, "Reference: window average %.2f%% (no baseline)\n", t->reference);
    } else {
        fprintf(fp, "Reference: none (no baseline, no checks)\n");
    }
    fprintf(fp, "Verdict: %s (%s)\n", trend_verdict_name(t->verdict), t->explanation);
    return ferror(fp) ? -1 : 0;
}

/* The text file: one line per check, then the summary. */
static int write_text(FILE *fp, const void *ctx)
{
    const struct trend_result *r = ctx;
    for (size_t i = 0; i < r->series.n; i++) {
        char iso[TIME_ISO_LEN];
        time_format_iso(r->series.points[i].timestamp, iso);
        fprintf(fp, "%s %.2f\n", iso, r->series.points[i].rate);
    }
    fputc('\n', fp);
    return trend_write_summary(fp, r);
}

int trend_write_file(const char *data_dir, const struct trend_result *r, char *rel, size_t rellen,
                     char *err, size_t errlen)
{
    char label[32], day[9], name[96], path[FS_PATH_MAX];
    trend_window_label(r->window_seconds, label, sizeof label);
    time_format_day(r->until, day);
    snprintf(name, sizeof name, REPORTS_DIR "/consistency_trend_%s_%s.txt", label, day);
    if (fs_join(path, sizeof path, data_dir, name) != 0) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    if (fs_write_with(path, FS_FILE_MODE, write_text, r, err, errlen) != 0)
        return -1;
    snprintf(rel, rellen, "%s", name);
    return 0;
}

/* ---- the chart -------------------------------------------------------------------- */

#define SVG_W 960
#define SVG_H 440
#define SVG_LEFT 70
#define SVG_RIGHT 170
#define SVG_TOP 50
#define SVG_BOTTOM 60

struct chart {
    int64_t t0, t1;
    double lo, hi;
};

static double chart_x(const struct chart *c, int64_t t)
{
    double pw = SVG_W - SVG_LEFT - SVG_RIGHT;
    double f = c->t1 > c->t0 ? (double)(t - c->t0) / (double)(c->t1 - c->t0) : 0.5;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return SVG_LEFT + f * pw;
}

static double chart_y(const struct chart *c, double v)
{
    double ph = SVG_H - SVG_TOP - SVG_BOTTOM;
    if (v < c->lo)
        v = c->lo;
    if (v > c->hi)
        v = c->hi;
    return SVG_TOP + (c->hi - v) / (c->hi - c->lo) * ph;
}

/* A horizontal reference line across the plot with its label at the right. */
static void svg_hline(FILE *fp, const struct chart *c, double v, const char *color,
                      const char *dash, const char *label)
{
    double y = chart_y(c, v);
    fprintf(fp,
            "  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"1.5\"%s%s%s/>\n",
            SVG_LEFT, y, SVG_W - SVG_RIGHT, y, color, dash ? " stroke-dasharray=\"" : "",
            dash ? dash : "", dash ? "\"" : "");
    fprintf(fp, "  <text x=\"%d\" y=\"%.1f\" fill=\"%s\" font-size=\"12\">%s</text>\n",
            SVG_W - SVG_RIGHT + 8, y + 4, color, label);
}

int trend_write_svg(FILE *fp, const struct trend_result *r, double healthy_threshold,
                    double degraded_threshold)
{
    const struct trend *t = &r->trend;
    struct chart c = {.t0 = r->since, .t1 = r->until, .hi = 100.0};
    double lo = degraded_threshold;
    if (t->count > 0 && t->min < lo)
        lo = t->min;
    if (r->has_baseline && r->baseline_check.consistency_rate < lo)
        lo = r->baseline_check.consistency_rate;
    /* A round step for the rate axis, at most 8 ticks, from a whole tick below
     * the lowest line to 100%. */
    static const double steps[] = {0.5, 1, 2, 5, 10, 20};
    double step = 20;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if ((c.hi - (lo - 0.5)) / steps[i] <= 8) {
            step = steps[i];
            break;
        }
    }
    c.lo = floor((lo - 0.5) / step) * step;
    if (c.lo < 0)
        c.lo = 0;
    char label[32], text[96];
    trend_window_label(r->window_seconds, label, sizeof label);

    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fprintf(fp, "  <title>Lockstep consistency rate, last %s</title>\n", label);
    fprintf(fp, "  <rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SVG_W, SVG_H);
    fprintf(fp,
            "  <text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\">"
            "Consistency rate, last %s: %lld checks, verdict %s</text>\n",
            SVG_LEFT, label, (long long)t->count, trend_verdict_name(t->verdict));

    /* Axes, grid and tick labels. */
    int x0 = SVG_LEFT, x1 = SVG_W - SVG_RIGHT, y0 = SVG_TOP, y1 = SVG_H - SVG_BOTTOM;
    for (double v = c.lo; v <= c.hi + EPS; v += step) {
        double y = chart_y(&c, v);
        fprintf(fp,
                "  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                x0, y, x1, y);
        fprintf(fp,
                "  <text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
                "fill=\"#444\">%.1f%%</text>\n",
                x0 - 6, y + 4, v);
    }
    for (int i = 0; i <= 6; i++) {
        int64_t tt = c.t0 + (c.t1 - c.t0) / 6 * i;
        char when[20];
        time_format_log(tt, when); /* "YYYY-MM-DD HH:MM:SS": show "MM-DD HH:MM" */
        when[16] = '\0';
        double x = chart_x(&c, tt);
        fprintf(fp, "  <line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n",
                x, y1, x, y1 + 5);
        fprintf(fp,
                "  <text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                "fill=\"#444\">%s</text>\n",
                x, y1 + 18, when + 5);
    }
    fprintf(fp, "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0, y0,
            x0, y1);
    fprintf(fp, "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0, y1,
            x1, y1);
    fprintf(fp,
            "  <text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222\">"
            "Time (UTC)</text>\n",
            (x0 + x1) / 2, SVG_H - 15);
    fprintf(fp,
            "  <text x=\"18\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222\" "
            "transform=\"rotate(-90 18 %d)\">Consistency rate (%%)</text>\n",
            (y0 + y1) / 2, (y0 + y1) / 2);

    /* Thresholds (dashed) and the baseline. */
    snprintf(text, sizeof text, "healthy %.2f%%", healthy_threshold);
    svg_hline(fp, &c, healthy_threshold, "#2e7d32", "6 4", text);
    snprintf(text, sizeof text, "degraded %.2f%%", degraded_threshold);
    svg_hline(fp, &c, degraded_threshold, "#c62828", "6 4", text);
    if (r->has_baseline) {
        snprintf(text, sizeof text, "baseline #%lld %.2f%%", (long long)r->baseline.id,
                 r->baseline_check.consistency_rate);
        svg_hline(fp, &c, r->baseline_check.consistency_rate, "#6a1b9a", NULL, text);
    }

    /* The rates. */
    if (r->series.n == 0) {
        fprintf(fp,
                "  <text x=\"%d\" y=\"%d\" font-size=\"14\" text-anchor=\"middle\" "
                "fill=\"#666\">No recorded checks in this window</text>\n",
                (x0 + x1) / 2, (y0 + y1) / 2);
    } else {
        fprintf(fp, "  <polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" "
                    "stroke-linejoin=\"round\" points=\"");
        for (size_t i = 0; i < r->series.n; i++)
            fprintf(fp, "%s%.1f,%.1f", i ? " " : "", chart_x(&c, r->series.points[i].timestamp),
                    chart_y(&c, r->series.points[i].rate));
        fprintf(fp, "\"/>\n");
        if (r->series.n <= 300)
            for (size_t i = 0; i < r->series.n; i++)
                fprintf(fp, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#1565c0\"/>\n",
                        chart_x(&c, r->series.points[i].timestamp),
                        chart_y(&c, r->series.points[i].rate));
    }
    fprintf(fp, "</svg>\n");
    return ferror(fp) ? -1 : 0;
}

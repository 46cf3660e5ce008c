/* report.h — the JSON shapes of violations and check reports (domain.md).
 *
 * One serializer for every place a report appears (the integrity-check file,
 * check-now, latest-report, baselines, `lockstep check --json`), so they can
 * never drift apart.
 */
#ifndef LOCKSTEP_REPORT_H
#define LOCKSTEP_REPORT_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Dump flags: compact, reals with up to 15 significant digits (98.67, not
 * 98.670000000000002). */
#define REPORT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* A violation object. New reference; NULL on allocation failure. */
json_t *report_violation_json(const struct violation *v);
/* The report's summary fields (timestamp, total_checked, consistent,
 * inconsistent, consistency_rate, status, requires_attention, trigger,
 * duration_ms) without violations. New reference. */
json_t *report_summary_json(const struct check_run *c);
/* Append one violation to a report body (see report_write): a comma unless
 * it is the first, a newline, then the compact object. Returns 0 or -1. */
int report_write_violation(FILE *body, const struct violation *v, bool first);
/* Write a whole report to `fp` the way integrity-check files hold it: one
 * summary field per line, then "violations" with one violation per line,
 * copied from `body` (written with report_write_violation; NULL: none).
 * Returns 0 or -1 on a write error. */
int report_write(FILE *fp, const struct check_run *c, FILE *body);
/* report_write with the fields of the object `extra` (borrowed; NULL: none)
 * after the summary's, before "violations". */
int report_write_extra(FILE *fp, const struct check_run *c, json_t *extra, FILE *body);
/* The report of a recorded check rebuilt from the store (its summary and the
 * open violations as of that check); used by latest-report when it is the
 * latest check. New reference, or NULL with store_errmsg(s) set. */
json_t *report_from_store(struct store *s, const struct check_run *c);
/* ISO text of a timestamp as a JSON string, or JSON null for 0. */
json_t *report_time_json(int64_t us);

#endif

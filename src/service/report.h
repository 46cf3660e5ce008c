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
/* A recorded check as GET /health/history lists it: the summary fields
 * without requires_attention. New reference; NULL on allocation failure. */
json_t *report_history_json(const struct check_run *c);
/* Append one violation to a report body (see report_write): a comma unless
 * it is the first, a newline, then the compact object. Returns 0 or -1. */
int report_write_violation(FILE *body, const struct violation *v, bool first);
/* Write a whole report to `fp` the way integrity-check files hold it: one
 * summary field per line, then "violations" with one violation per line,
 * copied from `body` (written with report_write_violation; NULL: none).
 * Returns 0 or -1 on a write error. */
int report_write(FILE *fp, const struct check_run *c, FILE *body);
/* The same report with its list written straight from the n violations at v
 * (no body copied): the same bytes as report_write of a body holding them. */
int report_write_list(FILE *fp, const struct check_run *c, const struct violation *v, size_t n);
/* The key of a file whose list is unchanged since an earlier file: it names
 * that file (same directory), which holds the identical list. */
#define REPORT_REF_KEY "violations_file"
/* The summary, "violations_unchanged": true and "violations_file": NAME; no
 * "violations" (docs/operations.md, "Integrity-check files"). */
int report_write_reference(FILE *fp, const struct check_run *c, const char *violations_file);
/* The summary, "violations_truncated": true and "violations_count" (the
 * day's size budget is spent); no "violations". */
int report_write_truncated(FILE *fp, const struct check_run *c);
/* A name an integrity-check file may have (YYYYMMDD_HHMMSS_violations[_N].json). */
bool report_valid_file_name(const char *name);
/* The whole report of the integrity-check file `report_file` (relative to
 * `data_dir`): the file itself when it holds the list; for a reference, its
 * summary and reference keys followed by the "violations" of the file it
 * names. Each file at most `limit` bytes. Returns 0 (*out malloc'd,
 * NUL-terminated), -ENODATA when the file holds no list (truncated, or the
 * reference is not valid), or another -errno (missing file, too large). */
int report_read_whole(const char *data_dir, const char *report_file, size_t limit, char **out,
                      size_t *len);
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

/* baseline.h — baselines (operations.md, "Baseline"): a fresh recorded check
 * kept as the reference for the trend and the stabilization report, with its
 * files under logs/baselines/ — the report, BASELINE_README.md and, when it
 * has violations, KNOWN_VIOLATIONS.md. Hand-written: the files are Lockstep's
 * own operator documents.
 *
 * A baseline's violations are the violations open as of its check, read back
 * from the open-violation history at any later time (first seen at or before
 * the check, and still open or resolved after it). */
#ifndef LOCKSTEP_BASELINE_H
#define LOCKSTEP_BASELINE_H

#include "config/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BASELINE_DIR "logs/baselines"
#define BASELINE_README "BASELINE_README.md"
#define BASELINE_KNOWN "KNOWN_VIOLATIONS.md"

/* A baseline and the check it was made from. */
struct baseline_info {
    struct baseline baseline;
    struct check_run check;
};

/* A growable list of violations. Owns `items`; release with
 * violation_list_free. */
struct violation_list {
    struct violation *items;
    size_t n, cap;
};
/* Append a copy of *v. Returns 0 or -1 on no memory. */
int violation_list_add(struct violation_list *l, const struct violation *v);
void violation_list_free(struct violation_list *l);

/* The violations open as of the recorded check that ran at `at`, ordered by
 * user, specialization and issue, into *out (the caller frees it, also after
 * a failure). Returns 0 or a STORE_ERR_* code; out of memory is STORE_ERR
 * with store_errmsg(s) set. */
int baseline_violations_at(struct store *s, int64_t at, struct violation_list *out);

/* Baseline `id` (0: the latest) and its check. Returns 0, LS_ERR_NOT_FOUND
 * (err: "no baseline #N" / "no baseline yet") or another LS_ERR_* code. */
int baseline_load(struct store *s, int64_t id, struct baseline_info *out, char *err,
                  size_t errlen);

/* Record the recorded check `check` (check->id > 0) as a baseline with an
 * optional note, then write its files under <cfg->data_dir>/logs/baselines/.
 * The baseline stays recorded when a file cannot be written: the cause goes
 * to file_error (else ""). *out gets the baseline; *violations (may be NULL;
 * the caller frees it) its violations. Returns 0 or an LS_ERR_* code with err
 * (nothing recorded). */
int baseline_record(struct store *s, const struct config *cfg, const struct check_run *check,
                    const char *note, struct baseline_info *out,
                    struct violation_list *violations, char *file_error, size_t file_error_len,
                    char *err, size_t errlen);
/* Run a recorded check now (trigger "manual", directly — the CLI; serve goes
 * through its monitor) and record it with baseline_record. Same returns. */
int baseline_create(struct store *s, const struct config *cfg, const char *note,
                    struct baseline_info *out, struct violation_list *violations,
                    char *file_error, size_t file_error_len, char *err, size_t errlen);

/* Baseline retention: remove baseline_*.json files under logs/baselines/
 * that are neither among the newest cfg->baseline_keep nor younger than
 * cfg->baseline_retention_days; the file of the latest baseline in the store
 * (the one reports compare against) always stays. Returns the number removed
 * or -errno. */
int baseline_prune_files(struct store *s, const struct config *cfg);

/* Each recorded baseline with its check, in the store's order, through cb.
 * Returns 0, a STORE_ERR_* code or cb's nonzero return. */
typedef int (*baseline_info_cb)(void *ctx, const struct baseline_info *b);
int baseline_list_each(struct store *s, baseline_info_cb cb, void *ctx);
/* Every baseline as baseline_json without violations, in one JSON array (the
 * listing of GET /health/baselines and `baseline list --json`). Returns 0
 * with *out set (new reference), or an LS_ERR_* code with err. */
int baseline_list_json(struct store *s, json_t **out, char *err, size_t errlen);

/* A baseline as JSON: id, check_id, created_at, file, note and its check's
 * summary; with `violations` (may be NULL) also the list and its counts by
 * specialization and by Δ. New reference or NULL on no memory. */
json_t *baseline_json(const struct baseline_info *b, const struct violation_list *violations);

/* The files' contents (exposed for tests): BASELINE_README.md for baseline
 * `b` whose report file is `file` (relative to the data dir), and
 * KNOWN_VIOLATIONS.md. Return 0 or -1 on a write error. */
int baseline_write_readme(FILE *fp, const struct config *cfg, const struct baseline_info *b,
                          const char *file, bool has_known_file);
int baseline_write_known(FILE *fp, const struct baseline_info *b,
                         const struct violation_list *violations);
/* One violation the way KNOWN_VIOLATIONS.md lists it:
 * "User 42 | PLAYER: Progress Level 3 vs License Level 2 (Δ 1)". */
void baseline_violation_line(const struct violation *v, char *out, size_t len);
/* "🟢 HEALTHY", "🟡 DEGRADED", "🔴 CRITICAL" for a status (else "⚪ UNKNOWN"). */
const char *baseline_status_badge(const char *status);

#endif

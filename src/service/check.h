/* check.h — the health check: classify every pair in one snapshot, compute the
 * report, stream violations to their sinks, record it (domain.md, "The check";
 * operations.md, "Files under the data dir"). */
#ifndef LOCKSTEP_CHECK_H
#define LOCKSTEP_CHECK_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

#define CHECK_DIR "logs/integrity_checks"

struct check_options {
    bool dry_run;                  /* true: nothing is written anywhere */
    const char *trigger;           /* "scheduled" | "manual" */
    const char *direction;         /* the configured sync direction (recommended_action) */
    double healthy_threshold, degraded_threshold;
    const char *data_dir;          /* logs/ goes under it; NULL: write no file */
    long long budget_bytes_per_day; /* integrity-check files per UTC day; 0: no budget */
    store_violation_cb on_violation; /* optional: each violation as it is found */
    void *ctx;
    /* Optional: asked right before the check is recorded; false: nothing is
     * recorded and check_execute fails with LS_ERR_CONFLICT (a scheduled check
     * of a process that no longer leads the scheduled jobs). */
    bool (*may_record)(void *ctx);
    void *may_record_ctx;
    /* A check over zero pairs fails (LS_ERR_VALIDATION, nothing recorded):
     * an attached database without [domain] allow_empty (attach.md, rule 8). */
    bool require_pairs;
    /* Optional: the store the pairs are read from (a streaming replica of s,
     * chosen by service/replica.c); NULL: s. Only the scan and its read
     * transaction run there; staging, recording and files stay on s. */
    struct store *read_store;
    /* Where the pairs were read, recorded with the run; source "": primary. */
    struct check_source read;
    /* Change capture (watch.md): a recorded full check takes the watch lock,
     * consumes the change rows pending in its snapshot and sets the watch
     * state from what it read. With watch_compare it first compares its
     * result with the watcher's state (the divergences). */
    bool watch;
    bool watch_compare;
    /* [watch] mode = poll: with watch, the sweep also sets the poll
     * watermarks from the newest updated_at in its snapshot, so that the
     * polls go on from exactly what it read. */
    bool watch_poll;
    /* An incremental run hands on_violation the newest this many open
     * violations only (the file still lists every one). */
    int64_t newest_limit;
};

/* One pair a full sweep found the watcher wrong about (watch.md). */
struct check_divergence {
    int64_t user_id;
    char spec[SPEC_ID_MAX];
    char watcher[ISSUE_TYPE_MAX]; /* the watcher's open violation; "": consistent */
    char full[ISSUE_TYPE_MAX];    /* what the full sweep found; "": consistent */
};

#define CHECK_DIVERGENCES_LISTED 20

struct check_outcome {
    struct check_run run;          /* the summary; run.id > 0 when recorded */
    bool recorded;
    char file_error[256];          /* why the report file was not written, or "" */
    /* A full sweep that compared with the watcher: the first divergent pairs
     * (run.divergences counts them all), and whether the watcher's pair and
     * user counts differed from the sweep's. */
    struct check_divergence divergent[CHECK_DIVERGENCES_LISTED];
    int n_divergent;
    bool counts_diverged;
    int64_t watch_pairs, watch_users; /* the watcher's counts compared */
};

/* Run one check, reading the pairs from o->read_store when set. Returns 0 (out filled; a file that could not be written is
 * reported in out->file_error, the check is still recorded) or an LS_ERR_*
 * code with err set (the store failed; nothing was recorded). */
int check_execute(struct store *s, const struct check_options *o, struct check_outcome *out,
                  char *err, size_t errlen);

/* Record the watcher's state as a check of kind incremental (watch.md): the
 * counts of watch_state and the open violations, the same history row, file
 * and sinks as a full check, at a cost that does not grow with the pairs.
 * Returns 0 or an LS_ERR_* code with err set. */
int check_execute_incremental(struct store *s, const struct check_options *o,
                              struct check_outcome *out, char *err, size_t errlen);

/* Stream the violations that exist right now (one read snapshot, nothing
 * recorded), optionally for one specialization, with email and first_seen
 * (now when the violation is not open yet). Returns 0 or an LS_ERR_* code with
 * err set. */
int check_current_violations(struct store *s, const char *spec, const char *direction,
                             store_violation_cb cb, void *ctx, char *err, size_t errlen);

#endif

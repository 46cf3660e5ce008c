/* sync.h — the repair of violations (domain.md, "The sync"). */
#ifndef LOCKSTEP_SYNC_H
#define LOCKSTEP_SYNC_H

#include "store/store.h"
#include "util/intern.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_DIR "logs/sync_jobs"

struct sync_options {
    int64_t user_id;        /* 0: every user */
    const char *spec;       /* NULL: every specialization */
    const char *direction;  /* progress_to_license | license_to_progress | higher_wins */
    bool dry_run;
    int64_t caller;         /* advanced_by of license changes; 0 = the system */
    const char *trigger;    /* cli | api | scheduled (recorded in the sync history) */
    const char *data_dir;   /* logs/sync_jobs goes under it; NULL: no log file */
    /* Optional: asked before each repair; false stops the run there (a
     * scheduled sync of a process that no longer leads the scheduled jobs). */
    bool (*may_continue)(void *ctx);
    void *may_continue_ctx;
};

/* One pair of a run: 48 bytes, so that a run over a million violations
 * holds 48 MB of them, not the 352 MB full strings took. */
struct sync_item {
    int64_t user_id;
    uint32_t spec;             /* index into sync_result.specs: sync_item_spec */
    bool has_old, has_new;
    bool success;
    bool error_shared;         /* error is not the item's own (the run's not_attempted) */
    int old_level, new_level;  /* the level of the side that changed, before/after */
    const char *issue_type;    /* static (model/pair.h) */
    const char *action;        /* static: the repair applied, or "none" when already fixed */
    char *error;               /* why it failed (NULL: it did not): sync_item_error */
};

struct sync_result {
    bool success, dry_run;
    char direction[32];
    int64_t total_issues, synced_count, failed_count;
    struct sync_item *items;   /* owned; sync_result_free releases it */
    size_t n_items, cap_items;
    struct intern specs;       /* the items' specialization ids */
    char *not_attempted;       /* "not attempted: <error>", shared by the items after a stop */
    /* The violations in scope no sync repairs (model/pair.h,
     * pair_needs_review: duplicate_rows, unknown_specialization,
     * invalid_level): listed for a person to look at, never written, not in
     * total_issues. Owned; sync_result_free releases it. */
    struct violation *manual;
    size_t n_manual, cap_manual;
    char log_file[STORE_PATH_MAX]; /* relative to the data dir, "" if none */
    char log_error[256];           /* why the log file was not written */
    char record_error[256];        /* why the run was not recorded in the store */
    char error[320];               /* why the sync stopped early (database locked or gone) */
};

/* Repair every violation in scope, each pair in its own write transaction,
 * re-validated inside it. Returns 0 (r filled; per-pair failures are counted
 * in r, not returned) or an LS_ERR_* code with err set when the scan itself
 * failed or the input was invalid. The caller frees r with sync_result_free. */
int sync_execute(struct store *s, const struct sync_options *o, struct sync_result *r,
                 char *err, size_t errlen);
void sync_result_free(struct sync_result *r);
/* An item's specialization id and its error ("" when none); borrowed from r. */
const char *sync_item_spec(const struct sync_result *r, const struct sync_item *it);
const char *sync_item_error(const struct sync_item *it);
/* Runs left running by a process of this host that no longer exists (killed
 * midway) become interrupted; their counts are already those of the repairs
 * that committed, and their log (the journal under data_dir, when not NULL)
 * gets a last line saying so. Runs of other hosts are left alone. *n gets how
 * many. Returns 0 or a STORE_ERR_* code. */
int sync_recover_interrupted(struct store *s, const char *data_dir, int64_t *n);
/* The result object of domain.md. New reference. */
json_t *sync_result_json(const struct sync_result *r);
/* The same with at most `max_results` items in `results` (in the order they
 * were repaired), plus `results_total` (how many items there were) and
 * `results_truncated`. New reference. */
json_t *sync_result_json_capped(const struct sync_result *r, size_t max_results);

#endif

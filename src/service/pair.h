/* pair.h — the state of one (user, specialization) pair and what to do about it. */
#ifndef LOCKSTEP_PAIR_H
#define LOCKSTEP_PAIR_H

#include "store/store.h"

#include <stdbool.h>

enum pair_state {
    PAIR_CONSISTENT,      /* both rows, same level */
    PAIR_EMPTY,           /* neither row: consistent */
    PAIR_LEVEL_MISMATCH,  /* both rows, levels differ */
    PAIR_MISSING_LICENSE, /* progress only */
    PAIR_MISSING_PROGRESS /* license only */
};

/* Classify from which rows exist and their levels. */
enum pair_state pair_classify(bool has_progress, int progress_level, bool has_license,
                              int license_level);
/* True for the three violation states. */
bool pair_is_violation(enum pair_state st);
/* "level_mismatch", "missing_license", "missing_progress"; NULL for consistent states. */
const char *pair_issue_type(enum pair_state st);
/* The repair the sync in `direction` would apply: create_license_from_progress,
 * create_progress_from_license, sync_progress_to_license, sync_license_to_progress;
 * NULL for consistent states. */
const char *pair_recommended_action(enum pair_state st, const char *direction,
                                    int progress_level, int license_level);
/* Fill a violation (without email and first_seen) from a scanned pair.
 * Returns false when the pair is consistent. */
bool pair_violation(const struct pair_levels *p, const char *direction, struct violation *v);

#endif

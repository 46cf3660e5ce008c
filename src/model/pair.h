/* pair.h — the coupling rule: the state of one (user, specialization) pair,
 * its issue type and the repair a sync would apply. The one home of the rule:
 * the services classify with pair_classify, and a SQL backend that classifies
 * inside its query gets the expression from pair_sql_issue. */
#ifndef LOCKSTEP_PAIR_H
#define LOCKSTEP_PAIR_H

#include "model/records.h"

#include <stdbool.h>
#include <stddef.h>

enum pair_state {
    PAIR_CONSISTENT,      /* both rows, same level */
    PAIR_EMPTY,           /* neither row: consistent */
    PAIR_LEVEL_MISMATCH,  /* both rows, levels differ */
    PAIR_MISSING_LICENSE, /* progress only */
    PAIR_MISSING_PROGRESS /* license only */
};

/* Classify from which rows exist and their levels (a level of a missing row
 * is ignored). */
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
/* True when `open`, a pair's open violation as stored, already says what `v`
 * says (same issue type, rows, levels and repair): recording it again changes
 * nothing. */
bool pair_open_unchanged(const struct open_violation *open, const struct violation *v);

/* The coupling rule as one SQL expression, for a backend that classifies in
 * its query: a CASE that gives the issue type of a pair as text, or NULL when
 * the pair is consistent. Each argument is a SQL expression: the first two
 * are NULL exactly when the progress row (license row) is missing, the last
 * two are the levels. Written into out[len] from the same table pair_classify
 * reads. Returns 0, or -1 when it does not fit. */
int pair_sql_issue(char *out, size_t len, const char *progress_row, const char *license_row,
                   const char *progress_level, const char *license_level);

#endif

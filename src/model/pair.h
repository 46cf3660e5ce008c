/* pair.h — the coupling rule: the state of one (user, specialization) pair,
 * its issue type and the repair a sync would apply. The one home of the rule:
 * the services classify with pair_state_of, and a SQL backend that classifies
 * inside its query gets the expression from pair_sql_issue. */
#ifndef LOCKSTEP_PAIR_H
#define LOCKSTEP_PAIR_H

#include "model/records.h"

#include <stdbool.h>
#include <stddef.h>

/* The states of a pair (domain.md, "A pair and its state"). When several
 * apply to one pair, the first in this order wins:
 *   duplicate_rows, unknown_specialization, invalid_level,
 * then the five states of well-formed rows (pair_classify). The last three
 * are never repaired automatically (recommended_action manual_review). */
enum pair_state {
    PAIR_CONSISTENT,       /* both rows, same level */
    PAIR_EMPTY,            /* neither row: consistent */
    PAIR_LEVEL_MISMATCH,   /* both rows, levels differ */
    PAIR_MISSING_LICENSE,  /* progress only */
    PAIR_MISSING_PROGRESS, /* license only */
    PAIR_INVALID_LEVEL,    /* a row whose level is NULL or outside 1..max */
    PAIR_UNKNOWN_SPECIALIZATION, /* the specialization has no known maximum level */
    PAIR_DUPLICATE_ROWS,   /* more than one row of a table for the pair */
    PAIR_STATE_COUNT
};

/* The recommended_action of the three states a person must look at. */
#define PAIR_MANUAL_REVIEW "manual_review"

/* The five states of well-formed rows, from which rows exist and their
 * levels (a level of a missing row is ignored): no duplicates, levels in
 * range, the specialization known. pair_state_of applies the rest. */
enum pair_state pair_classify(bool has_progress, int progress_level, bool has_license,
                              int license_level);
/* The state of a scanned pair, all eight, in the order above. */
enum pair_state pair_state_of(const struct pair_levels *p);
/* True when `level` is a level of a specialization whose maximum is
 * max_level (1..max_level; false when max_level is not known, <= 0). */
bool pair_level_in_range(int level, int max_level);
/* True for the six violation states. */
bool pair_is_violation(enum pair_state st);
/* True for duplicate_rows, unknown_specialization and invalid_level: no sync
 * repairs them. */
bool pair_needs_review(enum pair_state st);
/* "level_mismatch", "missing_license", "missing_progress", "invalid_level",
 * "unknown_specialization", "duplicate_rows"; NULL for consistent states. */
const char *pair_issue_type(enum pair_state st);
/* Every issue type in a fixed order (the order above): i from 0 while the
 * answer is not NULL. For lists that name each type (metrics, reports). */
const char *pair_issue_type_at(size_t i);
/* The repair the sync in `direction` would apply: create_license_from_progress,
 * create_progress_from_license, sync_progress_to_license, sync_license_to_progress,
 * or manual_review for the three states no sync repairs; NULL for consistent
 * states. */
const char *pair_recommended_action(enum pair_state st, const char *direction,
                                    int progress_level, int license_level);
/* Fill a violation (without email and first_seen) from a scanned pair.
 * Returns false when the pair is consistent. A level is shown (has_progress,
 * has_license) when its side has exactly one row and the level is not NULL:
 * as read, even when out of range. */
bool pair_violation(const struct pair_levels *p, const char *direction, struct violation *v);
/* True when `open`, a pair's open violation as stored, already says what `v`
 * says (same issue type, rows, levels and repair): recording it again changes
 * nothing. */
bool pair_open_unchanged(const struct open_violation *open, const struct violation *v);

/* The SQL expressions pair_sql_issue reads the pair from. */
struct pair_sql_columns {
    const char *progress_row, *license_row;     /* NULL exactly when the side has no row */
    const char *progress_level, *license_level; /* the level; NULL when it is NULL */
    const char *progress_rows, *license_rows;   /* rows of the side: > 1 is duplicate_rows
                                                   (NULL or 1: one row or none) */
    const char *max_level;                      /* the specialization's maximum; NULL or
                                                   <= 0: not known */
};

/* The coupling rule as one SQL expression, for a backend that classifies in
 * its query: a CASE that gives the issue type of a pair as text, or NULL when
 * the pair is consistent, from the same rule pair_state_of applies (same
 * order). Written into out[len]. Returns 0, or -1 when it does not fit. */
int pair_sql_issue(char *out, size_t len, const struct pair_sql_columns *c);

#endif

/* enforcer.h — the coupling enforcer: every level change moves progress and
 * license together, in one transaction (domain.md, "The coupling enforcer"). */
#ifndef LOCKSTEP_ENFORCER_H
#define LOCKSTEP_ENFORCER_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct level_change {
    int64_t user_id;
    const char *spec;        /* any case; upper-cased before use */
    int new_level;
    int64_t xp_change, sessions_change, projects_change;
    int64_t theory_hours_change, practice_hours_change; /* applied to COACH only */
    int64_t advanced_by;     /* the acting user; 0 = the system */
    const char *reason;      /* NULL: "Atomic level update to N" */
};

struct level_result {
    bool success;
    char message[256];
    char error_type[24];     /* validation_error | not_found | database_error */
    int old_progress_level, new_progress_level;
    int64_t total_xp, completed_sessions;
    int old_license_level, new_license_level, max_achieved_level;
    bool progression_created;
    char spec[SPEC_ID_MAX];
};

/* update_level_atomic: lock the pair (progress, then license; missing rows are
 * created at level 1), validate, apply, append a progression when the license
 * level changes, commit once. Returns 0 or an LS_ERR_* code; `r` is filled in
 * both cases (r->message says what happened). Nothing of a failed change
 * remains. */
int enforcer_update_level_atomic(struct store *s, const struct level_change *c,
                                 struct level_result *r);
/* level_up: add xp (and sessions) and move up at most one level when the new
 * total reaches the next level's threshold (the specialization's own, or
 * L * 1000), in one transaction with the same guarantees. */
int enforcer_level_up(struct store *s, int64_t user_id, const char *spec, int64_t xp_gained,
                      int64_t sessions_completed, int64_t advanced_by, struct level_result *r);
/* The xp needed to reach `level` of `spec` (the store's threshold or level * 1000). */
int enforcer_level_threshold(struct store *s, const char *spec, int level, int64_t *xp);

#endif

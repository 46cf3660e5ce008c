/* pair.c — pair classification: the five states of domain.md. */
#include "service/pair.h"

#include <stdio.h>
#include <string.h>

enum pair_state pair_classify(bool has_progress, int progress_level, bool has_license,
                              int license_level)
{
    if (has_progress && has_license)
        return progress_level == license_level ? PAIR_CONSISTENT : PAIR_LEVEL_MISMATCH;
    if (has_progress)
        return PAIR_MISSING_LICENSE;
    if (has_license)
        return PAIR_MISSING_PROGRESS;
    return PAIR_EMPTY;
}

bool pair_is_violation(enum pair_state st)
{
    return st == PAIR_LEVEL_MISMATCH || st == PAIR_MISSING_LICENSE ||
           st == PAIR_MISSING_PROGRESS;
}

const char *pair_issue_type(enum pair_state st)
{
    switch (st) {
    case PAIR_LEVEL_MISMATCH:
        return "level_mismatch";
    case PAIR_MISSING_LICENSE:
        return "missing_license";
    case PAIR_MISSING_PROGRESS:
        return "missing_progress";
    default:
        return NULL;
    }
}

const char *pair_recommended_action(enum pair_state st, const char *direction,
                                    int progress_level, int license_level)
{
    switch (st) {
    case PAIR_MISSING_LICENSE:
        return "create_license_from_progress";
    case PAIR_MISSING_PROGRESS:
        return "create_progress_from_license";
    case PAIR_LEVEL_MISMATCH:
        if (direction && !strcmp(direction, "license_to_progress"))
            return "sync_license_to_progress";
        if (direction && !strcmp(direction, "higher_wins"))
            return progress_level >= license_level ? "sync_progress_to_license"
                                                   : "sync_license_to_progress";
        return "sync_progress_to_license";
    default:
        return NULL;
    }
}

bool pair_violation(const struct pair_levels *p, const char *direction, struct violation *v)
{
    enum pair_state st =
        pair_classify(p->has_progress, p->progress_level, p->has_license, p->license_level);
    if (!pair_is_violation(st))
        return false;
    memset(v, 0, sizeof *v);
    v->user_id = p->user_id;
    memcpy(v->spec, p->spec, sizeof v->spec);
    snprintf(v->issue_type, sizeof v->issue_type, "%s", pair_issue_type(st));
    v->has_progress = p->has_progress;
    v->has_license = p->has_license;
    v->progress_level = p->progress_level;
    v->license_level = p->license_level;
    snprintf(v->recommended_action, sizeof v->recommended_action, "%s",
             pair_recommended_action(st, direction, p->progress_level, p->license_level));
    return true;
}

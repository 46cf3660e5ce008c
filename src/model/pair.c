/* pair.c — the coupling rule: the five states of a pair (domain.md), its
 * issue type and repair, and the same rule written out as SQL. */
#include "model/pair.h"

#include "model/direction.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

/* The coupling rule (domain.md, "Pairs"), as data: the state of a pair by
 * [progress row exists][license row exists][levels equal]. pair_classify
 * reads it for every pair; pair_sql_issue writes it out as SQL. */
static const enum pair_state pair_rule[2][2][2] = {
    [false][false] = {PAIR_EMPTY, PAIR_EMPTY},
    [false][true] = {PAIR_MISSING_PROGRESS, PAIR_MISSING_PROGRESS},
    [true][false] = {PAIR_MISSING_LICENSE, PAIR_MISSING_LICENSE},
    [true][true] = {PAIR_LEVEL_MISMATCH, PAIR_CONSISTENT},
};

/* The issue type of each violation state; NULL: consistent. */
static const char *const pair_issue[] = {
    [PAIR_CONSISTENT] = NULL,
    [PAIR_EMPTY] = NULL,
    [PAIR_LEVEL_MISMATCH] = "level_mismatch",
    [PAIR_MISSING_LICENSE] = "missing_license",
    [PAIR_MISSING_PROGRESS] = "missing_progress",
};

enum pair_state pair_classify(bool has_progress, int progress_level, bool has_license,
                              int license_level)
{
    return pair_rule[has_progress][has_license][progress_level == license_level];
}

bool pair_is_violation(enum pair_state st)
{
    return pair_issue[st] != NULL;
}

const char *pair_issue_type(enum pair_state st)
{
    return pair_issue[st];
}

int pair_sql_issue(char *out, size_t len, const char *progress_row, const char *license_row,
                   const char *progress_level, const char *license_level)
{
    struct buf b = BUF_INIT(len);
    int rc = buf_puts(&b, "CASE");
    for (int p = 1; p >= 0; p--) {
        for (int l = 1; l >= 0; l--) {
            const enum pair_state *by_level = pair_rule[p][l];
            bool level_matters = by_level[0] != by_level[1];
            for (int eq = 0; eq < (level_matters ? 2 : 1); eq++) {
                const char *issue = pair_issue[by_level[eq]];
                if (!issue)
                    continue;
                rc = rc ? rc
                        : buf_printf(&b, " WHEN %s IS %sNULL AND %s IS %sNULL", progress_row,
                                     p ? "NOT " : "", license_row, l ? "NOT " : "");
                if (level_matters)
                    rc = rc ? rc
                            : buf_printf(&b, " AND %s %s %s", progress_level, eq ? "=" : "<>",
                                         license_level);
                rc = rc ? rc : buf_printf(&b, " THEN '%s'", issue);
            }
        }
    }
    rc = rc ? rc : buf_puts(&b, " END");
    if (rc == 0 && b.len < len)
        memcpy(out, b.data, b.len + 1);
    else
        rc = -1;
    buf_free(&b);
    return rc ? -1 : 0;
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
        if (direction && !strcmp(direction, DIRECTION_LICENSE_TO_PROGRESS))
            return "sync_license_to_progress";
        if (direction && !strcmp(direction, DIRECTION_HIGHER_WINS))
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

bool pair_open_unchanged(const struct open_violation *open, const struct violation *v)
{
    return !strcmp(open->issue_type, v->issue_type) && open->has_progress == v->has_progress &&
           open->has_license == v->has_license &&
           (!v->has_progress || open->progress_level == v->progress_level) &&
           (!v->has_license || open->license_level == v->license_level) &&
           !strcmp(open->recommended_action, v->recommended_action);
}

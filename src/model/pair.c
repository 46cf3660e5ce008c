/* pair.c — the coupling rule: the eight states of a pair (domain.md), their
 * order when several apply, issue types and repairs, and the same rule
 * written out as SQL. */
#include "model/pair.h"

#include "model/direction.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

/* The coupling rule for well-formed rows (domain.md, "A pair and its state"),
 * as data: the state of a pair by [progress row exists][license row
 * exists][levels equal]. pair_classify reads it for every pair;
 * pair_sql_issue writes it out as SQL. */
static const enum pair_state pair_rule[2][2][2] = {
    [false][false] = {PAIR_EMPTY, PAIR_EMPTY},
    [false][true] = {PAIR_MISSING_PROGRESS, PAIR_MISSING_PROGRESS},
    [true][false] = {PAIR_MISSING_LICENSE, PAIR_MISSING_LICENSE},
    [true][true] = {PAIR_LEVEL_MISMATCH, PAIR_CONSISTENT},
};

/* The states that come before the table above, in the order they win when
 * several apply to one pair (a pair with at least one row). pair_state_of
 * tests them in this order (review_holds), pair_sql_issue writes them in it
 * (review_sql). */
static const enum pair_state review_order[] = {
    PAIR_DUPLICATE_ROWS,
    PAIR_UNKNOWN_SPECIALIZATION,
    PAIR_INVALID_LEVEL,
};
#define REVIEW_STATES (sizeof review_order / sizeof review_order[0])

/* The issue type of each violation state; NULL: consistent. */
static const char *const pair_issue[PAIR_STATE_COUNT] = {
    [PAIR_CONSISTENT] = NULL,
    [PAIR_EMPTY] = NULL,
    [PAIR_LEVEL_MISMATCH] = "level_mismatch",
    [PAIR_MISSING_LICENSE] = "missing_license",
    [PAIR_MISSING_PROGRESS] = "missing_progress",
    [PAIR_INVALID_LEVEL] = "invalid_level",
    [PAIR_UNKNOWN_SPECIALIZATION] = "unknown_specialization",
    [PAIR_DUPLICATE_ROWS] = "duplicate_rows",
};

enum pair_state pair_classify(bool has_progress, int progress_level, bool has_license,
                              int license_level)
{
    return pair_rule[has_progress][has_license][progress_level == license_level];
}

bool pair_level_in_range(int level, int max_level)
{
    return max_level > 0 && level >= 1 && level <= max_level;
}

/* Whether review state `st` applies to a pair with at least one row. */
static bool review_holds(enum pair_state st, const struct pair_levels *p)
{
    switch (st) {
    case PAIR_DUPLICATE_ROWS:
        return (p->has_progress && p->progress_rows > 1) ||
               (p->has_license && p->license_rows > 1);
    case PAIR_UNKNOWN_SPECIALIZATION:
        return p->max_level <= 0;
    case PAIR_INVALID_LEVEL:
        return (p->has_progress &&
                (p->progress_level_null || !pair_level_in_range(p->progress_level, p->max_level))) ||
               (p->has_license &&
                (p->license_level_null || !pair_level_in_range(p->license_level, p->max_level)));
    default:
        return false;
    }
}

/* The same conditions as SQL (c's expressions), appended to b. */
static int review_sql(struct buf *b, enum pair_state st, const struct pair_sql_columns *c)
{
    switch (st) {
    case PAIR_DUPLICATE_ROWS:
        return buf_printf(b, "(%s IS NOT NULL AND %s > 1) OR (%s IS NOT NULL AND %s > 1)",
                          c->progress_row, c->progress_rows, c->license_row, c->license_rows);
    case PAIR_UNKNOWN_SPECIALIZATION:
        return buf_printf(b, "coalesce(%s, 0) <= 0", c->max_level);
    case PAIR_INVALID_LEVEL:
        return buf_printf(b,
                          "(%1$s IS NOT NULL AND (%2$s IS NULL OR %2$s < 1 OR %2$s > %5$s)) OR "
                          "(%3$s IS NOT NULL AND (%4$s IS NULL OR %4$s < 1 OR %4$s > %5$s))",
                          c->progress_row, c->progress_level, c->license_row, c->license_level,
                          c->max_level);
    default:
        return -1;
    }
}

enum pair_state pair_state_of(const struct pair_levels *p)
{
    if (p->has_progress || p->has_license)
        for (size_t i = 0; i < REVIEW_STATES; i++)
            if (review_holds(review_order[i], p))
                return review_order[i];
    return pair_classify(p->has_progress, p->progress_level, p->has_license, p->license_level);
}

bool pair_is_violation(enum pair_state st)
{
    return st < PAIR_STATE_COUNT && pair_issue[st] != NULL;
}

bool pair_needs_review(enum pair_state st)
{
    for (size_t i = 0; i < REVIEW_STATES; i++)
        if (review_order[i] == st)
            return true;
    return false;
}

const char *pair_issue_type(enum pair_state st)
{
    return st < PAIR_STATE_COUNT ? pair_issue[st] : NULL;
}

const char *pair_issue_type_at(size_t i)
{
    for (size_t st = 0; st < PAIR_STATE_COUNT; st++)
        if (pair_issue[st] && i-- == 0)
            return pair_issue[st];
    return NULL;
}

int pair_sql_issue(char *out, size_t len, const struct pair_sql_columns *c)
{
    struct buf b = BUF_INIT(len);
    /* The common case first: both rows, one each, the same level within
     * 1..max is consistent whatever follows. One short test decides nearly
     * every pair, so a scan of millions evaluates the other branches only
     * for the few that fail it (a third of a PostgreSQL sweep's rule). */
    int rc = buf_printf(&b, "CASE WHEN %s IS NOT NULL AND %s IS NOT NULL AND %s = %s AND %s >= 1 "
                        "AND %s <= %s AND coalesce(%s, 1) <= 1 AND coalesce(%s, 1) <= 1 THEN NULL",
                        c->progress_row, c->license_row, c->progress_level, c->license_level,
                        c->progress_level, c->progress_level, c->max_level, c->progress_rows,
                        c->license_rows);
    for (size_t i = 0; i < REVIEW_STATES; i++) {
        rc = rc ? rc
                : buf_printf(&b, " WHEN (%s IS NOT NULL OR %s IS NOT NULL) AND (",
                             c->progress_row, c->license_row);
        rc = rc ? rc : review_sql(&b, review_order[i], c);
        rc = rc ? rc : buf_printf(&b, ") THEN '%s'", pair_issue[review_order[i]]);
    }
    for (int p = 1; p >= 0; p--) {
        for (int l = 1; l >= 0; l--) {
            const enum pair_state *by_level = pair_rule[p][l];
            bool level_matters = by_level[0] != by_level[1];
            for (int eq = 0; eq < (level_matters ? 2 : 1); eq++) {
                const char *issue = pair_issue[by_level[eq]];
                if (!issue)
                    continue;
                rc = rc ? rc
                        : buf_printf(&b, " WHEN %s IS %sNULL AND %s IS %sNULL", c->progress_row,
                                     p ? "NOT " : "", c->license_row, l ? "NOT " : "");
                if (level_matters)
                    rc = rc ? rc
                            : buf_printf(&b, " AND %s %s %s", c->progress_level,
                                         eq ? "=" : "<>", c->license_level);
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
    if (pair_needs_review(st))
        return PAIR_MANUAL_REVIEW;
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
    enum pair_state st = pair_state_of(p);
    if (!pair_is_violation(st))
        return false;
    memset(v, 0, sizeof *v);
    v->user_id = p->user_id;
    memcpy(v->spec, p->spec, sizeof v->spec);
    str_copy(v->issue_type, sizeof v->issue_type, pair_issue_type(st));
    v->has_progress = p->has_progress && !p->progress_level_null && p->progress_rows <= 1;
    v->has_license = p->has_license && !p->license_level_null && p->license_rows <= 1;
    v->progress_level = v->has_progress ? p->progress_level : 0;
    v->license_level = v->has_license ? p->license_level : 0;
    str_copy(v->recommended_action, sizeof v->recommended_action,
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

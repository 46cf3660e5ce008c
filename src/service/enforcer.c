/* enforcer.c — update_level_atomic and level_up (hand-written: these are the
 * coupling rules themselves). */
#include "service/enforcer.h"

#include "model/pair.h"
#include "service/errors.h"
#include "service/specs.h"
#include "util/timeutil.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* How the new level is chosen once the pair is locked. */
enum level_mode { LEVEL_FIXED, LEVEL_UP_BY_XP };

__attribute__((format(printf, 3, 4))) static int set_error(struct level_result *r, int code,
                                                            const char *fmt, ...)
{
    va_list ap;
    r->success = false;
    snprintf(r->error_type, sizeof r->error_type, "%s", ls_error_type(code));
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return code;
}

static int store_error(struct store *s, struct level_result *r, int store_rc)
{
    int code = ls_from_store(store_rc);
    if (code == LS_ERR_NOT_FOUND)
        code = LS_ERR_DATABASE;
    r->success = false;
    snprintf(r->error_type, sizeof r->error_type, "database_error");
    snprintf(r->message, sizeof r->message, "%s", store_errmsg(s));
    return code;
}

int enforcer_level_threshold(struct store *s, const char *spec, int level, int64_t *xp)
{
    int rc = s->ops->spec_level_xp(s, spec, level, xp);
    if (rc == STORE_ERR_NOT_FOUND) {
        *xp = (int64_t)level * 1000;
        return 0;
    }
    return rc;
}

/* Lock the pair in the enforcer's order, creating missing rows at level 1. */
static int lock_pair(struct store *s, int64_t user, const char *spec, int64_t now,
                     struct progress *p, struct license *l)
{
    int rc = s->ops->progress_get(s, user, spec, true, p);
    if (rc == STORE_ERR_NOT_FOUND) {
        memset(p, 0, sizeof *p);
        p->student_id = user;
        snprintf(p->spec, sizeof p->spec, "%s", spec);
        p->current_level = 1;
        p->created_at = p->updated_at = now;
        rc = s->ops->progress_insert(s, p);
    }
    if (rc)
        return rc;
    rc = s->ops->license_get(s, user, spec, true, l);
    if (rc == STORE_ERR_NOT_FOUND) {
        memset(l, 0, sizeof *l);
        l->user_id = user;
        snprintf(l->spec, sizeof l->spec, "%s", spec);
        l->current_level = l->max_achieved_level = 1;
        l->started_at = l->created_at = l->updated_at = now;
        rc = s->ops->license_insert(s, l);
    }
    return rc;
}

/* The specialization and the student exist (in attached mode: the academy's
 * student). Inside the write transaction. Returns 0, or an error set in r. */
static int find_spec_and_student(struct store *s, const char *spec_id, int64_t user,
                                 struct specialization *sp, struct level_result *r)
{
    char email[EMAIL_MAX + 1];
    int rc = s->ops->spec_get(s, spec_id, sp);
    if (rc == STORE_ERR_NOT_FOUND)
        return set_error(r, LS_ERR_NOT_FOUND, "Unknown specialization %s", spec_id);
    if (rc)
        return store_error(s, r, rc);
    rc = s->ops->user_email(s, user, email, NULL);
    if (rc == STORE_ERR_NOT_FOUND)
        return set_error(r, LS_ERR_NOT_FOUND, "User %lld not found", (long long)user);
    return rc ? store_error(s, r, rc) : 0;
}

/* The level the pair moves to: c->new_level, or for a level-up the progress
 * level plus one when the xp reaches the next level's threshold. Refuses a
 * level outside 1..max. Returns 0 with *out, or an error set in r. */
static int choose_level(struct store *s, const struct level_change *c, enum level_mode mode,
                        const char *spec_id, const struct specialization *sp,
                        const struct progress *p, struct level_result *r, int *out)
{
    int new_level = c->new_level;
    /* A level-up counts from the progress level: one outside 1..max (written
     * behind Lockstep's back) is an invalid_level for a person to look at,
     * never a base to count from or a level to copy to the license. */
    if (mode == LEVEL_UP_BY_XP && !pair_level_in_range(p->current_level, sp->max_levels))
        return set_error(r, LS_ERR_VALIDATION,
                         "Progress level %d of %s is outside its valid range (1-%d): the pair "
                         "needs manual review (invalid_level)",
                         p->current_level, spec_id, sp->max_levels);
    if (mode == LEVEL_UP_BY_XP) {
        new_level = p->current_level;
        if (p->current_level < sp->max_levels) {
            int64_t need;
            int rc = enforcer_level_threshold(s, spec_id, p->current_level + 1, &need);
            if (rc)
                return store_error(s, r, rc);
            int64_t xp; /* an overflowing sum is refused with the counters */
            if (__builtin_add_overflow(p->total_xp, c->xp_change, &xp) || xp >= need)
                new_level = p->current_level + 1;
        }
    }
    if (new_level < 1 || new_level > sp->max_levels)
        return set_error(r, LS_ERR_VALIDATION, "Invalid level %d for %s (valid range: 1-%d)",
                         new_level, spec_id, sp->max_levels);
    *out = new_level;
    return 0;
}

/* Add the change's counters to the progress row; refuses an overflow or a
 * negative result. Returns 0, or an error set in r. */
static int add_counters(const struct level_change *c, const char *spec_id, struct progress *p,
                        struct level_result *r)
{
    bool coach = !strcmp(spec_id, "COACH");
    const struct {
        const char *name;
        int64_t *value;
        int64_t change;
    } counters[] = {
        {"total_xp", &p->total_xp, c->xp_change},
        {"completed_sessions", &p->completed_sessions, c->sessions_change},
        {"completed_projects", &p->completed_projects, c->projects_change},
        {"theory_hours_completed", &p->theory_hours_completed,
         coach ? c->theory_hours_change : 0},
        {"practice_hours_completed", &p->practice_hours_completed,
         coach ? c->practice_hours_change : 0},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        if (__builtin_add_overflow(*counters[i].value, counters[i].change, counters[i].value))
            return set_error(r, LS_ERR_VALIDATION, "%s would overflow", counters[i].name);
        if (*counters[i].value < 0)
            return set_error(r, LS_ERR_VALIDATION, "%s would become negative (%lld)",
                             counters[i].name, (long long)*counters[i].value);
    }
    return 0;
}

/* Write both rows at new_level and, when the license level changes, its
 * progression. An attached row whose mapped columns would not change is not
 * written. Returns 0 or a store code. */
static int write_pair(struct store *s, const struct level_change *c, int new_level, int64_t now,
                      struct progress *p, struct license *l, struct level_result *r)
{
    int rc;
    bool attached = s->domain_attached;
    p->current_level = new_level;
    p->last_activity = p->updated_at = now;
    if ((!attached || r->old_progress_level != new_level) &&
        (rc = s->ops->progress_update(s, p)) != 0)
        return rc;
    int old_license = l->current_level, old_max = l->max_achieved_level;
    l->current_level = new_level;
    if (new_level > l->max_achieved_level)
        l->max_achieved_level = new_level;
    l->last_advanced_at = l->updated_at = now;
    if ((!attached || old_license != new_level || old_max != l->max_achieved_level) &&
        (rc = s->ops->license_update(s, l)) != 0)
        return rc;
    if (old_license == new_level)
        return 0;
    struct progression pr;
    memset(&pr, 0, sizeof pr);
    pr.user_license_id = l->id;
    pr.from_level = old_license;
    pr.to_level = new_level;
    pr.advanced_by = c->advanced_by;
    if (c->reason && *c->reason)
        snprintf(pr.reason, sizeof pr.reason, "%s", c->reason);
    else
        snprintf(pr.reason, sizeof pr.reason, "Atomic level update to %d", new_level);
    pr.advanced_at = now;
    if ((rc = s->ops->progression_insert(s, &pr)) != 0)
        return rc;
    r->progression_created = true;
    return 0;
}

/* The result of a committed change and its message. */
static void fill_result(const struct level_change *c, enum level_mode mode, const char *spec_id,
                        const struct progress *p, const struct license *l,
                        struct level_result *r)
{
    int new_level = p->current_level;
    r->success = true;
    r->new_progress_level = new_level;
    r->total_xp = p->total_xp;
    r->completed_sessions = p->completed_sessions;
    r->new_license_level = l->current_level;
    r->max_achieved_level = l->max_achieved_level;
    if (mode == LEVEL_UP_BY_XP && new_level != r->old_progress_level)
        snprintf(r->message, sizeof r->message, "Leveled up to %d in %s", new_level, spec_id);
    else if (mode == LEVEL_UP_BY_XP)
        snprintf(r->message, sizeof r->message, "Added %lld xp in %s (level %d)",
                 (long long)c->xp_change, spec_id, new_level);
    else
        snprintf(r->message, sizeof r->message, "Level updated to %d in %s", new_level,
                 spec_id);
}

/* One attempt of a level change in one write transaction: both rows locked
 * in the enforcer's order, written together, or nothing. */
static int apply_once(struct store *s, const struct level_change *c, enum level_mode mode,
                      struct level_result *r)
{
    memset(r, 0, sizeof *r);
    char spec_id[SPEC_ID_MAX], err[200];
    if (specs_id_too_long(c->spec, err, sizeof err))
        return set_error(r, LS_ERR_VALIDATION, "%s", err);
    if (specs_normalize_id(c->spec, spec_id))
        return set_error(r, LS_ERR_NOT_FOUND, "Unknown specialization %.40s",
                         c->spec ? c->spec : "");
    snprintf(r->spec, sizeof r->spec, "%s", spec_id);
    int rc = s->ops->begin(s, STORE_TXN_WRITE);
    if (rc)
        return store_error(s, r, rc);
    int64_t now = time_now_us();
    struct specialization sp;
    struct progress p;
    struct license l;
    int new_level = 0;
    if ((rc = find_spec_and_student(s, spec_id, c->user_id, &sp, r)) != 0)
        goto fail;
    if ((rc = lock_pair(s, c->user_id, spec_id, now, &p, &l)) != 0) {
        rc = store_error(s, r, rc);
        goto fail;
    }
    if ((rc = choose_level(s, c, mode, spec_id, &sp, &p, r, &new_level)) != 0 ||
        (rc = add_counters(c, spec_id, &p, r)) != 0)
        goto fail;
    r->old_progress_level = p.current_level;
    r->old_license_level = l.current_level;
    rc = write_pair(s, c, new_level, now, &p, &l, r);
    /* The coupling itself: both records at one level, in range. */
    assert(rc != 0 || (p.current_level == l.current_level && l.current_level == new_level &&
                       l.max_achieved_level >= l.current_level &&
                       pair_level_in_range(new_level, sp.max_levels)));
    if (rc != 0 ||
        (rc = s->ops->commit(s)) != 0) {
        rc = store_error(s, r, rc);
        goto fail;
    }
    fill_result(c, mode, spec_id, &p, &l, r);
    return 0;
fail:
    if (s->in_txn)
        s->ops->rollback(s);
    r->progression_created = false;
    return rc;
}

/* Two writers may both find a pair's row missing and both create it; the
 * second gets a unique-key conflict (PostgreSQL lets it wait for the first).
 * Its transaction is rolled back whole, so running it again is safe, and the
 * second time it finds the row and locks it. */
static int apply(struct store *s, const struct level_change *c, enum level_mode mode,
                 struct level_result *r)
{
    if (s->domain_read_only) { /* an attached database with repairs off (attach.md) */
        memset(r, 0, sizeof *r);
        return set_error(r, LS_ERR_CONFLICT, "%s", STORE_REPAIR_OFF);
    }
    /* An attached database's xp, session and hour counters are its own
     * (attach.md, rule 3: writes touch only mapped columns): Lockstep moves
     * levels there, and counts nothing. */
    if (s->domain_attached && (mode == LEVEL_UP_BY_XP || c->xp_change || c->sessions_change ||
                               c->projects_change || c->theory_hours_change ||
                               c->practice_hours_change)) {
        memset(r, 0, sizeof *r);
        return set_error(r, LS_ERR_CONFLICT,
                         "xp, sessions and hours are the attached database's own counters: "
                         "Lockstep changes only levels there");
    }
    int rc = LS_ERR_CONFLICT;
    for (int attempt = 0; attempt < 5 && rc == LS_ERR_CONFLICT; attempt++)
        rc = apply_once(s, c, mode, r);
    return rc;
}

int enforcer_update_level_atomic(struct store *s, const struct level_change *c,
                                 struct level_result *r)
{
    return apply(s, c, LEVEL_FIXED, r);
}

int enforcer_level_up(struct store *s, int64_t user_id, const char *spec, int64_t xp_gained,
                      int64_t sessions_completed, int64_t advanced_by, struct level_result *r)
{
    if (xp_gained < 0 || sessions_completed < 0) {
        memset(r, 0, sizeof *r);
        return set_error(r, LS_ERR_VALIDATION, "%s must not be negative",
                         xp_gained < 0 ? "xp_gained" : "sessions_completed");
    }
    struct level_change c = {
        .user_id = user_id,
        .spec = spec,
        .xp_change = xp_gained,
        .sessions_change = sessions_completed,
        .advanced_by = advanced_by,
    };
    return apply(s, &c, LEVEL_UP_BY_XP, r);
}

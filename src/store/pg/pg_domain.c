/* pg_domain.c — the PostgreSQL store's domain rows: specializations,
 * progress, licenses, their progressions, and one user's pairs. */
#include "store/pg/pg_private.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* ---- specializations ---------------------------------------------------------------- */

/* A specialization row i: 0, or STORE_ERR when its id is longer than
 * SPEC_ID_LEN (store_spec_copy). */
static int read_spec(struct pg_store *ps, PGresult *r, int i, struct specialization *sp)
{
    memset(sp, 0, sizeof *sp);
    char where[DOMAIN_IDENT_MAX + 4];
    snprintf(where, sizeof where, "%s.id", ps->domain.name[DOMAIN_SPECS_TABLE]);
    int rc = store_spec_copy(&ps->base, sp->id, PQgetvalue(r, i, 0),
                             (size_t)PQgetlength(r, i, 0), where, 0);
    c_copy(r, i, 1, sp->name, sizeof sp->name);
    /* NULL (an attached table without the column): from [levels]; 0 when
     * it gives none (an unknown_specialization). */
    sp->max_levels = PQgetisnull(r, i, 2) ? domain_map_level(&ps->domain, sp->id)
                                          : (int)c_i64(r, i, 2);
    sp->is_active = c_bool(r, i, 3);
    sp->created_at = c_time(r, i, 4);
    return rc;
}

int pg_spec_insert(struct store *s, const struct specialization *sp)
{
    struct params p = {0};
    p.v[0] = sp->id;
    p.v[1] = sp->name;
    p_i64(&p, 2, sp->max_levels);
    p_bool(&p, 3, sp->is_active);
    p_time(&p, 4, sp->created_at);
    int rc = pg_exec_q(PS(s), Q_SPEC_INSERT, 5, p.v, "insert specialization");
    if (rc == STORE_ERR_CONFLICT)
        return store_fail(s, rc, "specialization %s already exists", sp->id);
    return rc;
}

int pg_spec_get(struct store *s, const char *id, struct specialization *sp)
{
    const char *v[1] = {id};
    int rc;
    PGresult *res = pg_one(PS(s), Q_SPEC_GET, 1, v, "specialization", &rc);
    if (rc == STORE_ERR_NOT_FOUND)
        return store_fail(s, rc, "unknown specialization %s", id);
    if (!res)
        return rc;
    rc = read_spec(PS(s), res, 0, sp);
    PQclear(res);
    return rc;
}

int pg_spec_list(struct store *s, store_spec_cb cb, void *ctx)
{
    int rc;
    PGresult *res = pg_run(PS(s), Q_SPEC_LIST, 0, NULL, "list specializations", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct specialization sp;
        if ((out = read_spec(PS(s), res, i, &sp)) == 0)
            out = cb(ctx, &sp);
    }
    PQclear(res);
    return out;
}

int pg_spec_level_xp(struct store *s, const char *spec, int level, int64_t *xp)
{
    struct params p = {0};
    p.v[0] = spec;
    p_i64(&p, 1, level);
    int rc;
    PGresult *res = pg_one(PS(s), Q_SPEC_LEVEL_XP, 2, p.v, "level threshold", &rc);
    if (!res)
        return rc;
    *xp = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

/* ---- progress, licenses, progressions --------------------------------------------- */

/* A progress row from column c of row i: 0, or STORE_ERR when its
 * specialization id is longer than SPEC_ID_LEN (store_spec_copy). */
static int read_progress(struct pg_store *ps, PGresult *r, int i, int c, struct progress *p)
{
    memset(p, 0, sizeof *p);
    p->id = c_i64(r, i, c + 0);
    p->student_id = c_i64(r, i, c + 1);
    int rc = store_domain_spec_copy(&ps->base, &ps->domain, false, p->spec,
                                    PQgetvalue(r, i, c + 2), (size_t)PQgetlength(r, i, c + 2),
                                    p->student_id);
    p->current_level = (int)c_i64(r, i, c + 3);
    p->total_xp = c_i64(r, i, c + 4);
    p->completed_sessions = c_i64(r, i, c + 5);
    p->completed_projects = c_i64(r, i, c + 6);
    p->theory_hours_completed = c_i64(r, i, c + 7);
    p->practice_hours_completed = c_i64(r, i, c + 8);
    p->last_activity = c_time(r, i, c + 9);
    p->created_at = c_time(r, i, c + 10);
    p->updated_at = c_time(r, i, c + 11);
    return rc;
}

/* A license row from column c of row i: 0, or STORE_ERR (as read_progress). */
static int read_license(struct pg_store *ps, PGresult *r, int i, int c, struct license *l)
{
    memset(l, 0, sizeof *l);
    l->id = c_i64(r, i, c + 0);
    l->user_id = c_i64(r, i, c + 1);
    int rc = store_domain_spec_copy(&ps->base, &ps->domain, true, l->spec,
                                    PQgetvalue(r, i, c + 2), (size_t)PQgetlength(r, i, c + 2),
                                    l->user_id);
    l->current_level = (int)c_i64(r, i, c + 3);
    l->max_achieved_level = (int)c_i64(r, i, c + 4);
    l->started_at = c_time(r, i, c + 5);
    l->last_advanced_at = c_time(r, i, c + 6);
    l->created_at = c_time(r, i, c + 7);
    l->updated_at = c_time(r, i, c + 8);
    return rc;
}

/* Read a pair's row FOR UPDATE. When it is missing inside a write transaction,
 * claim its creation first (an advisory lock on (table, pair) held to the end
 * of the transaction) and read again. Writers that find the same row missing
 * queue on the claim instead of racing to insert it, where one would fail on
 * the unique key, or deadlock against a writer already holding the pair's
 * other row (the enforcer creating progress while a sync that locked the
 * license creates it too); whoever waited finds the row its predecessor
 * committed, and a row created meanwhile is locked like any other. */
static PGresult *lock_or_claim(struct pg_store *ps, enum stmt_id id, const char *table,
                               const char *const *vals, const char *what, int *rc)
{
    PGresult *res = pg_run(ps, id, 2, vals, what, rc);
    if (!res || PQntuples(res) > 0 || ps->base.in_txn != (int)STORE_TXN_WRITE + 1)
        return res;
    PQclear(res);
    const char *claim[3] = {table, vals[0], vals[1]};
    if ((*rc = pg_exec_q(ps, Q_CREATE_CLAIM, 3, claim, what)) != 0)
        return NULL;
    return pg_run(ps, id, 2, vals, what, rc);
}

int pg_progress_get(struct store *s, int64_t user, const char *spec, bool for_update,
                           struct progress *pr)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p.v[1] = spec;
    int rc;
    PGresult *res = for_update
                        ? lock_or_claim(PS(s), Q_PROGRESS_GET_LOCK, "1", p.v, "progress", &rc)
                        : pg_run(PS(s), Q_PROGRESS_GET, 2, p.v, "progress", &rc);
    if (!res)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return store_fail(s, STORE_ERR_NOT_FOUND, "progress: not found");
    }
    rc = read_progress(PS(s), res, 0, 0, pr);
    PQclear(res);
    return rc;
}

int pg_progress_insert(struct store *s, struct progress *pr)
{
    struct params p = {0};
    p_i64(&p, 0, pr->student_id);
    p.v[1] = pr->spec;
    p_i64(&p, 2, pr->current_level);
    p_i64(&p, 3, pr->total_xp);
    p_i64(&p, 4, pr->completed_sessions);
    p_i64(&p, 5, pr->completed_projects);
    p_i64(&p, 6, pr->theory_hours_completed);
    p_i64(&p, 7, pr->practice_hours_completed);
    p_time(&p, 8, pr->last_activity);
    p_time(&p, 9, pr->created_at);
    p_time(&p, 10, pr->updated_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_PROGRESS_INSERT, 11, p.v, "insert progress", &rc);
    if (!res)
        return rc;
    pr->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_progress_update(struct store *s, const struct progress *pr)
{
    struct params p = {0};
    p_i64(&p, 0, pr->id);
    p_i64(&p, 1, pr->current_level);
    p_i64(&p, 2, pr->total_xp);
    p_i64(&p, 3, pr->completed_sessions);
    p_i64(&p, 4, pr->completed_projects);
    p_i64(&p, 5, pr->theory_hours_completed);
    p_i64(&p, 6, pr->practice_hours_completed);
    p_time(&p, 7, pr->last_activity);
    p_time(&p, 8, pr->updated_at);
    return pg_exec_q(PS(s), Q_PROGRESS_UPDATE, 9, p.v, "update progress");
}

int pg_license_get(struct store *s, int64_t user, const char *spec, bool for_update,
                          struct license *l)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p.v[1] = spec;
    int rc;
    PGresult *res = for_update
                        ? lock_or_claim(PS(s), Q_LICENSE_GET_LOCK, "2", p.v, "license", &rc)
                        : pg_run(PS(s), Q_LICENSE_GET, 2, p.v, "license", &rc);
    if (!res)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return store_fail(s, STORE_ERR_NOT_FOUND, "license: not found");
    }
    rc = read_license(PS(s), res, 0, 0, l);
    PQclear(res);
    return rc;
}

int pg_license_insert(struct store *s, struct license *l)
{
    struct params p = {0};
    p_i64(&p, 0, l->user_id);
    p.v[1] = l->spec;
    p_i64(&p, 2, l->current_level);
    p_i64(&p, 3, l->max_achieved_level);
    p_time(&p, 4, l->started_at);
    p_time(&p, 5, l->last_advanced_at);
    p_time(&p, 6, l->created_at);
    p_time(&p, 7, l->updated_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_LICENSE_INSERT, 8, p.v, "insert license", &rc);
    if (!res)
        return rc;
    l->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_license_update(struct store *s, const struct license *l)
{
    struct params p = {0};
    p_i64(&p, 0, l->id);
    p_i64(&p, 1, l->current_level);
    p_i64(&p, 2, l->max_achieved_level);
    p_time(&p, 3, l->last_advanced_at);
    p_time(&p, 4, l->updated_at);
    return pg_exec_q(PS(s), Q_LICENSE_UPDATE, 5, p.v, "update license");
}

int pg_progression_insert(struct store *s, struct progression *pr)
{
    if (PS(s)->attached && !PS(s)->domain.name[DOMAIN_PROGRESSIONS_TABLE][0]) {
        pr->id = 0; /* progressions_table left empty: none appended (attach.md) */
        return 0;
    }
    struct params p = {0};
    p_i64(&p, 0, pr->user_license_id);
    p_i64(&p, 1, pr->from_level);
    p_i64(&p, 2, pr->to_level);
    p_id_or_null(&p, 3, pr->advanced_by);
    p.v[4] = pr->reason;
    p_time(&p, 5, pr->advanced_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_PROGRESSION_INSERT, 6, p.v, "insert license progression", &rc);
    if (!res)
        return rc;
    pr->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_progression_count(struct store *s, int64_t license_id, int64_t *n)
{
    struct params p = {0};
    p_i64(&p, 0, license_id);
    int rc;
    PGresult *res = pg_one(PS(s), Q_PROGRESSION_COUNT, 1, p.v, "count progressions", &rc);
    if (!res)
        return rc;
    *n = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_user_pairs(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    int rc;
    PGresult *res = pg_run(PS(s), Q_USER_PAIRS, 1, p.v, "read progress and licenses", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct progress pr;
        struct license l;
        bool hp = !PQgetisnull(res, i, 0), hl = !PQgetisnull(res, i, 12);
        if (hp)
            out = read_progress(PS(s), res, i, 0, &pr);
        if (hl && out == 0)
            out = read_license(PS(s), res, i, 12, &l);
        if (out == 0)
            out = cb(ctx, hp ? &pr : NULL, hl ? &l : NULL);
    }
    PQclear(res);
    return out;
}

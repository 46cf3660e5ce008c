/* sqlite_domain.c — the domain rows of the SQLite store: specializations,
 * progress, licenses, progressions and the rows of one user's pairs. */
#include "store/sqlite/sqlite_private.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* ---- specializations ----------------------------------------------------- */

/* A specialization row of st: 0, or STORE_ERR when its id is longer than
 * SPEC_ID_LEN (store_spec_copy). */
static int read_spec(struct sqlite_store *ss, sqlite3_stmt *st, struct specialization *sp)
{
    memset(sp, 0, sizeof *sp);
    char where[DOMAIN_IDENT_MAX + 4];
    snprintf(where, sizeof where, "%s.id", ss->domain.name[DOMAIN_SPECS_TABLE]);
    const char *id = (const char *)sqlite3_column_text(st, 0);
    int rc = store_spec_copy(&ss->base, sp->id, id ? id : "",
                             (size_t)sqlite3_column_bytes(st, 0), where, 0);
    sq_col_copy(st, 1, sp->name, sizeof sp->name);
    /* NULL (an attached table without the column): from [levels]. */
    sp->max_levels = sqlite3_column_type(st, 2) == SQLITE_NULL
                         ? domain_map_level(&ss->domain, sp->id)
                         : sqlite3_column_int(st, 2);
    sp->is_active = sqlite3_column_int(st, 3) != 0;
    sp->created_at = sq_col_time(st, 4);
    return rc;
}

int sq_spec_insert(struct store *s, const struct specialization *sp)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, sp->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sp->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, sp->max_levels);
    sqlite3_bind_int(st, 4, sp->is_active ? 1 : 0);
    sq_bind_time(st, 5, sp->created_at);
    int rc = sq_exec_stmt(ss, st, "insert specialization");
    if (rc == STORE_ERR_CONFLICT)
        return store_fail(s, rc, "specialization %s already exists", sp->id);
    return rc;
}

int sq_spec_get(struct store *s, const char *id, struct specialization *sp)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "specialization");
    if (rc == STORE_ERR_NOT_FOUND)
        return store_fail(s, rc, "unknown specialization %s", id);
    if (rc)
        return rc;
    rc = read_spec(ss, st, sp);
    sqlite3_reset(st);
    return rc;
}

int sq_spec_list(struct store *s, store_spec_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_LIST);
    if (!st)
        return STORE_ERR;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct specialization sp;
        if ((out = read_spec(ss, st, &sp)) != 0 || (out = cb(ctx, &sp)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list specializations");
    sqlite3_reset(st);
    return out;
}

int sq_spec_level_xp(struct store *s, const char *spec, int level, int64_t *xp)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_LEVEL_XP);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, level);
    int rc = sq_step_one(ss, st, "level threshold");
    if (rc)
        return rc;
    *xp = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* ---- progress, licenses, progressions ------------------------------------ */

/* Column i of st, a specialization id of the progress table (license
 * false) or the license table, into out: 0, or STORE_ERR when it is longer
 * than SPEC_ID_LEN (store_spec_copy). */
static int col_spec(struct sqlite_store *ss, sqlite3_stmt *st, int i, bool license,
                    int64_t user, char out[SPEC_ID_MAX])
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return store_domain_spec_copy(&ss->base, &ss->domain, license, out, t ? t : "",
                                  (size_t)sqlite3_column_bytes(st, i), user);
}

/* A progress row of st: 0, or STORE_ERR (an id too long: col_spec). */
static int read_progress(struct sqlite_store *ss, sqlite3_stmt *st, struct progress *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(st, 0);
    p->student_id = sqlite3_column_int64(st, 1);
    int rc = col_spec(ss, st, 2, false, p->student_id, p->spec);
    p->current_level = sqlite3_column_int(st, 3);
    p->total_xp = sqlite3_column_int64(st, 4);
    p->completed_sessions = sqlite3_column_int64(st, 5);
    p->completed_projects = sqlite3_column_int64(st, 6);
    p->theory_hours_completed = sqlite3_column_int64(st, 7);
    p->practice_hours_completed = sqlite3_column_int64(st, 8);
    p->last_activity = sq_col_time(st, 9);
    p->created_at = sq_col_time(st, 10);
    p->updated_at = sq_col_time(st, 11);
    return rc;
}

/* A license row of st: 0, or STORE_ERR (an id too long: col_spec). */
static int read_license(struct sqlite_store *ss, sqlite3_stmt *st, struct license *l)
{
    memset(l, 0, sizeof *l);
    l->id = sqlite3_column_int64(st, 0);
    l->user_id = sqlite3_column_int64(st, 1);
    int rc = col_spec(ss, st, 2, true, l->user_id, l->spec);
    l->current_level = sqlite3_column_int(st, 3);
    l->max_achieved_level = sqlite3_column_int(st, 4);
    l->started_at = sq_col_time(st, 5);
    l->last_advanced_at = sq_col_time(st, 6);
    l->created_at = sq_col_time(st, 7);
    l->updated_at = sq_col_time(st, 8);
    return rc;
}

int sq_progress_get(struct store *s, int64_t user, const char *spec, bool for_update,
                    struct progress *p)
{
    (void)for_update; /* the write transaction already holds the database lock */
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESS_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "progress");
    if (rc)
        return rc;
    rc = read_progress(ss, st, p);
    sqlite3_reset(st);
    return rc;
}

int sq_progress_insert(struct store *s, struct progress *p)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESS_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, p->student_id);
    sqlite3_bind_text(st, 2, p->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, p->current_level);
    sqlite3_bind_int64(st, 4, p->total_xp);
    sqlite3_bind_int64(st, 5, p->completed_sessions);
    sqlite3_bind_int64(st, 6, p->completed_projects);
    sqlite3_bind_int64(st, 7, p->theory_hours_completed);
    sqlite3_bind_int64(st, 8, p->practice_hours_completed);
    sq_bind_time(st, 9, p->last_activity);
    sq_bind_time(st, 10, p->created_at);
    sq_bind_time(st, 11, p->updated_at);
    int rc = sq_exec_stmt(ss, st, "insert progress");
    if (rc == 0)
        p->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_progress_update(struct store *s, const struct progress *p)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESS_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, p->id);
    sqlite3_bind_int(st, 2, p->current_level);
    sqlite3_bind_int64(st, 3, p->total_xp);
    sqlite3_bind_int64(st, 4, p->completed_sessions);
    sqlite3_bind_int64(st, 5, p->completed_projects);
    sqlite3_bind_int64(st, 6, p->theory_hours_completed);
    sqlite3_bind_int64(st, 7, p->practice_hours_completed);
    sq_bind_time(st, 8, p->last_activity);
    sq_bind_time(st, 9, p->updated_at);
    return sq_exec_stmt(ss, st, "update progress");
}

int sq_license_get(struct store *s, int64_t user, const char *spec, bool for_update,
                   struct license *l)
{
    (void)for_update;
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_LICENSE_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "license");
    if (rc)
        return rc;
    rc = read_license(ss, st, l);
    sqlite3_reset(st);
    return rc;
}

int sq_license_insert(struct store *s, struct license *l)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_LICENSE_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, l->user_id);
    sqlite3_bind_text(st, 2, l->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, l->current_level);
    sqlite3_bind_int(st, 4, l->max_achieved_level);
    sq_bind_time(st, 5, l->started_at);
    sq_bind_time(st, 6, l->last_advanced_at);
    sq_bind_time(st, 7, l->created_at);
    sq_bind_time(st, 8, l->updated_at);
    int rc = sq_exec_stmt(ss, st, "insert license");
    if (rc == 0)
        l->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_license_update(struct store *s, const struct license *l)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_LICENSE_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_int(st, 2, l->current_level);
    sqlite3_bind_int(st, 3, l->max_achieved_level);
    sq_bind_time(st, 4, l->last_advanced_at);
    sq_bind_time(st, 5, l->updated_at);
    return sq_exec_stmt(ss, st, "update license");
}

int sq_progression_insert(struct store *s, struct progression *pr)
{
    struct sqlite_store *ss = SS(s);
    if (ss->attached && !ss->domain.name[DOMAIN_PROGRESSIONS_TABLE][0]) {
        pr->id = 0; /* progressions_table left empty: none appended (attach.md) */
        return 0;
    }
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESSION_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, pr->user_license_id);
    sqlite3_bind_int(st, 2, pr->from_level);
    sqlite3_bind_int(st, 3, pr->to_level);
    sq_bind_id_or_null(st, 4, pr->advanced_by);
    sqlite3_bind_text(st, 5, pr->reason, -1, SQLITE_STATIC);
    sq_bind_time(st, 6, pr->advanced_at);
    int rc = sq_exec_stmt(ss, st, "insert license progression");
    if (rc == 0)
        pr->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_progression_count(struct store *s, int64_t license_id, int64_t *n)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_PROGRESSION_COUNT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, license_id);
    int rc = sq_step_one(ss, st, "count progressions");
    if (rc)
        return rc;
    *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int sq_user_pairs(struct store *s, int64_t user, store_pair_rows_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *ps = sq_stmt(ss, ST_USER_PROGRESS_ROWS);
    sqlite3_stmt *ls = ps ? sq_stmt(ss, ST_USER_LICENSE_ROWS) : NULL;
    if (!ps || !ls)
        return STORE_ERR;
    sqlite3_bind_int64(ps, 1, user);
    sqlite3_bind_int64(ls, 1, user);
    int prc = sqlite3_step(ps), lrc = sqlite3_step(ls), out = 0;
    while (out == 0 && (prc == SQLITE_ROW || lrc == SQLITE_ROW)) {
        struct progress p;
        struct license l;
        int cmp;
        if (prc != SQLITE_ROW)
            cmp = 1;
        else if (lrc != SQLITE_ROW)
            cmp = -1;
        else
            cmp = strcmp((const char *)sqlite3_column_text(ps, 2),
                         (const char *)sqlite3_column_text(ls, 2));
        if (cmp <= 0)
            out = read_progress(ss, ps, &p);
        if (cmp >= 0 && out == 0)
            out = read_license(ss, ls, &l);
        if (out)
            break;
        out = cb(ctx, cmp <= 0 ? &p : NULL, cmp >= 0 ? &l : NULL);
        if (cmp <= 0)
            prc = sqlite3_step(ps);
        if (cmp >= 0)
            lrc = sqlite3_step(ls);
    }
    if (out == 0 && (prc != SQLITE_DONE || lrc != SQLITE_DONE) &&
        (prc != SQLITE_ROW && lrc != SQLITE_ROW))
        out = sq_fail(ss, prc != SQLITE_DONE ? prc : lrc, "read progress and licenses");
    sqlite3_reset(ps);
    sqlite3_reset(ls);
    return out;
}

/* sqlite_accounts.c — the SQLite store's accounts: users, refresh
 * tokens and the audit log. */
#include "store/columns.h"
#include "store/sqlite/sqlite_private.h"
#include "util/array.h"
#include "util/timeutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- users ------------------------------------------------------------- */

static void read_user(sqlite3_stmt *st, struct user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, u->name, sizeof u->name);
    sq_col_copy(st, 2, u->email, sizeof u->email);
    sq_col_copy(st, 3, u->password_hash, sizeof u->password_hash);
    sq_col_copy(st, 4, u->role, sizeof u->role);
    u->is_active = sqlite3_column_int(st, 5) != 0;
    u->created_at = sq_col_time(st, 6);
    u->updated_at = sq_col_time(st, 7);
    u->tokens_valid_after = sq_col_time(st, 8);
}

int sq_user_insert(struct store *s, struct user *u)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_USER_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u->role, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, u->is_active ? 1 : 0);
    sq_bind_time(st, 6, u->created_at);
    sq_bind_time(st, 7, u->updated_at);
    int rc = sq_exec_stmt(ss, st, "insert user");
    if (rc == STORE_ERR_CONFLICT)
        return store_fail(s, rc, "a user with email %s already exists", u->email);
    if (rc == 0)
        u->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

static int get_user(struct sqlite_store *ss, sqlite3_stmt *st, struct user *u)
{
    int rc = sq_step_one(ss, st, "user");
    if (rc)
        return rc;
    read_user(st, u);
    sqlite3_reset(st);
    return 0;
}

int sq_user_get(struct store *s, int64_t id, struct user *u)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_USER_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return get_user(ss, st, u);
}

int sq_user_get_by_email(struct store *s, const char *email, struct user *u)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_USER_GET_EMAIL);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
    return get_user(ss, st, u);
}

int sq_user_update(struct store *s, int64_t id, const struct user_change *c)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_USER_UPDATE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sq_bind_text_or_null(st, 2, c->name);
    sq_bind_text_or_null(st, 3, c->password_hash);
    sq_bind_text_or_null(st, 4, c->role);
    sqlite3_bind_int(st, 5, c->is_active < 0 ? -1 : c->is_active != 0);
    sq_bind_time(st, 6, c->updated_at);
    sq_bind_time(st, 7, c->tokens_valid_after);
    int rc = sq_exec_stmt(ss, st, "update user");
    if (rc == 0 && sqlite3_changes(ss->db) == 0)
        return store_fail(s, STORE_ERR_NOT_FOUND, "user %lld not found", (long long)id);
    return rc;
}

int sq_user_list(struct store *s, const struct user_filter *f, store_user_cb cb,
                 void *ctx)
{
    struct sqlite_store *ss = SS(s);
    /* Built once per call from fixed fragments only; every value is bound. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        ss->db,
        "SELECT " USER_COLS " FROM users WHERE (?1 IS NULL OR role = ?1) "
        "AND (?2 < 0 OR is_active = ?2) AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 "
        "OR instr(lower(email), lower(?3)) > 0) ORDER BY id LIMIT ?4 OFFSET ?5",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "list users");
    sq_bind_text_or_null(st, 1, f->role);
    sqlite3_bind_int(st, 2, f->active);
    sq_bind_text_or_null(st, 3, f->query);
    sqlite3_bind_int64(st, 4, f->limit > 0 ? f->limit : -1);
    sqlite3_bind_int64(st, 5, f->offset > 0 ? f->offset : 0);
    int out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct user u;
        read_user(st, &u);
        if ((out = cb(ctx, &u)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list users");
    sqlite3_finalize(st);
    return out;
}

int sq_user_count(struct store *s, const char *role, bool active_only, int64_t *n)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_USER_COUNT);
    if (!st)
        return STORE_ERR;
    sq_bind_text_or_null(st, 1, role);
    sqlite3_bind_int(st, 2, active_only ? 1 : 0);
    int rc = sq_step_one(ss, st, "count users");
    if (rc)
        return rc;
    *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int sq_user_email(struct store *s, int64_t id, char *out, char *name)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_USER_EMAIL);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sq_step_one(ss, st, "user email");
    if (rc == STORE_ERR_NOT_FOUND) {
        out[0] = '\0';
        if (name)
            name[0] = '\0';
        return rc;
    }
    if (rc)
        return rc;
    sq_col_copy(st, 0, out, EMAIL_MAX + 1);
    if (name)
        sq_col_copy(st, 1, name, USER_NAME_MAX + 1);
    sqlite3_reset(st);
    return 0;
}

/* Each row `st` answers to cb, but for users not in ids[n] when only. */
static int emails_of(struct sqlite_store *ss, sqlite3_stmt *st, const int64_t *ids, size_t n,
                     bool only, store_email_cb cb, void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (only && !bsearch(&id, ids, n, sizeof *ids, array_cmp_i64))
            continue;
        const char *email = (const char *)sqlite3_column_text(st, 1);
        int stop = cb(ctx, id, email ? email : "");
        if (stop) {
            sqlite3_reset(st);
            return stop;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "user emails");
}

/* Users close together as one range of the table (the users between them
 * stepped over), others SQ_EMAILS_MANY to a statement. */
int sq_user_emails(struct store *s, const int64_t *ids, size_t n, store_email_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    if (n && sq_ids_dense(n, ids[0], ids[n - 1])) {
        sqlite3_stmt *st = sq_stmt(ss, ST_USER_EMAILS_RANGE);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, ids[0]);
        sqlite3_bind_int64(st, 2, ids[n - 1]);
        return emails_of(ss, st, ids, n, true, cb, ctx);
    }
    for (size_t i = 0; i < n; i += SQ_EMAILS_MANY) {
        sqlite3_stmt *st = sq_stmt(ss, ST_USER_EMAILS_MANY);
        if (!st)
            return STORE_ERR;
        for (size_t j = 0; j < SQ_EMAILS_MANY && i + j < n; j++) /* the rest stay NULL */
            sqlite3_bind_int64(st, (int)j + 1, ids[i + j]);
        int rc = emails_of(ss, st, ids, n, false, cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- refresh tokens ------------------------------------------------------ */

int sq_refresh_insert(struct store *s, const struct refresh_token *t)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_REFRESH_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, t->jti, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t->user_id);
    sqlite3_bind_text(st, 3, t->family, -1, SQLITE_STATIC);
    sq_bind_time(st, 4, t->issued_at);
    sq_bind_time(st, 5, t->expires_at);
    return sq_exec_stmt(ss, st, "store refresh token");
}

int sq_refresh_get(struct store *s, const char *jti, struct refresh_token *t)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_REFRESH_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "refresh token");
    if (rc)
        return rc;
    memset(t, 0, sizeof *t);
    sq_col_copy(st, 0, t->jti, sizeof t->jti);
    t->user_id = sqlite3_column_int64(st, 1);
    sq_col_copy(st, 2, t->family, sizeof t->family);
    t->issued_at = sq_col_time(st, 3);
    t->expires_at = sq_col_time(st, 4);
    t->used_at = sq_col_time(st, 5);
    t->revoked_at = sq_col_time(st, 6);
    sqlite3_reset(st);
    return 0;
}

int sq_refresh_mark_used(struct store *s, const char *jti, int64_t when)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_REFRESH_MARK_USED);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC);
    sq_bind_time(st, 2, when);
    int rc = sq_exec_stmt(ss, st, "rotate refresh token");
    if (rc == 0 && sqlite3_changes(ss->db) == 0)
        return store_fail(s, STORE_ERR_CONFLICT, "refresh token already used");
    return rc;
}

int sq_refresh_revoke_family(struct store *s, const char *family, int64_t when)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_REFRESH_REVOKE_FAMILY);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, family, -1, SQLITE_STATIC);
    sq_bind_time(st, 2, when);
    return sq_exec_stmt(ss, st, "revoke refresh tokens");
}

int sq_refresh_revoke_user(struct store *s, int64_t user, int64_t when)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_REFRESH_REVOKE_USER);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sq_bind_time(st, 2, when);
    return sq_exec_stmt(ss, st, "revoke refresh tokens");
}

int sq_audit_insert(struct store *s, const struct audit_entry *a)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_AUDIT_INSERT);
    if (!st)
        return STORE_ERR;
    sq_bind_id_or_null(st, 1, a->user_id);
    sqlite3_bind_text(st, 2, a->action, -1, SQLITE_STATIC);
    sq_bind_text_or_null(st, 3, a->resource_type);
    sq_bind_text_or_null(st, 4, a->resource_id);
    sq_bind_text_or_null(st, 5, a->details);
    sq_bind_text_or_null(st, 6, a->ip_address);
    if (a->status_code)
        sqlite3_bind_int(st, 7, a->status_code);
    else
        sqlite3_bind_null(st, 7);
    sq_bind_time(st, 8, a->timestamp ? a->timestamp : time_now_us());
    return sq_exec_stmt(ss, st, "write audit log");
}

/* pg_accounts.c — the PostgreSQL store's accounts: users, refresh
 * tokens and the audit log. */
#include "store/columns.h"
#include "store/pg/pg_private.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- users and specializations ----------------------------------------------------- */

static void read_user(PGresult *r, int i, struct user *u)
{
    memset(u, 0, sizeof *u);
    u->id = c_i64(r, i, 0);
    c_copy(r, i, 1, u->name, sizeof u->name);
    c_copy(r, i, 2, u->email, sizeof u->email);
    c_copy(r, i, 3, u->password_hash, sizeof u->password_hash);
    c_copy(r, i, 4, u->role, sizeof u->role);
    u->is_active = c_bool(r, i, 5);
    u->created_at = c_time(r, i, 6);
    u->updated_at = c_time(r, i, 7);
    u->tokens_valid_after = c_time(r, i, 8);
}

int pg_user_insert(struct store *s, struct user *u)
{
    struct params p = {0};
    p.v[0] = u->name;
    p.v[1] = u->email;
    p.v[2] = u->password_hash;
    p.v[3] = u->role;
    p_bool(&p, 4, u->is_active);
    p_time(&p, 5, u->created_at);
    p_time(&p, 6, u->updated_at);
    int rc;
    PGresult *res = pg_run(PS(s), Q_USER_INSERT, 7, p.v, "insert user", &rc);
    if (rc == STORE_ERR_CONFLICT)
        return store_fail(s, rc, "a user with email %s already exists", u->email);
    if (!res)
        return rc;
    u->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int get_user(struct pg_store *ps, enum stmt_id id, const char *key, struct user *u)
{
    const char *v[1] = {key};
    int rc;
    PGresult *res = pg_one(ps, id, 1, v, "user", &rc);
    if (!res)
        return rc;
    read_user(res, 0, u);
    PQclear(res);
    return 0;
}

int pg_user_get(struct store *s, int64_t id, struct user *u)
{
    char k[24];
    snprintf(k, sizeof k, "%" PRId64, id);
    return get_user(PS(s), Q_USER_GET, k, u);
}

int pg_user_get_by_email(struct store *s, const char *email, struct user *u)
{
    return get_user(PS(s), Q_USER_GET_EMAIL, email, u);
}

int pg_user_update(struct store *s, int64_t id, const struct user_change *c)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    p.v[1] = c->name;
    p.v[2] = c->password_hash;
    p.v[3] = c->role;
    p_i64(&p, 4, c->is_active < 0 ? -1 : c->is_active != 0);
    p_time(&p, 5, c->updated_at);
    p_time(&p, 6, c->tokens_valid_after);
    int rc;
    PGresult *res = pg_run(PS(s), Q_USER_UPDATE, 7, p.v, "update user", &rc);
    if (!res)
        return rc;
    int changed = pg_count_changed(res);
    PQclear(res);
    return changed ? 0 : store_fail(s, STORE_ERR_NOT_FOUND, "user %lld not found",
                                    (long long)id);
}

int pg_user_list(struct store *s, const struct user_filter *f, store_user_cb cb,
                 void *ctx)
{
    struct params p = {0};
    p.v[0] = f->role;
    p_i64(&p, 1, f->active);
    p.v[2] = f->query;
    if (f->limit > 0)
        p_i64(&p, 3, f->limit);
    p_i64(&p, 4, f->offset > 0 ? f->offset : 0);
    int rc;
    PGresult *res = pg_run(PS(s), Q_USER_LIST, 5, p.v, "list users", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct user u;
        read_user(res, i, &u);
        out = cb(ctx, &u);
    }
    PQclear(res);
    return out;
}

int pg_user_count(struct store *s, const char *role, bool active_only, int64_t *n)
{
    struct params p = {0};
    p.v[0] = role;
    p_i64(&p, 1, active_only ? 1 : 0);
    int rc;
    enum stmt_id id = s->in_txn == STORE_TXN_WRITE + 1 ? Q_USER_COUNT_LOCKED : Q_USER_COUNT;
    PGresult *res = pg_one(PS(s), id, 2, p.v, "count users", &rc);
    if (!res)
        return rc;
    *n = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_user_email(struct store *s, int64_t id, char *out, char *name)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    int rc;
    PGresult *res = pg_run(PS(s), Q_USER_EMAIL, 1, p.v, "user email", &rc);
    if (!res)
        return rc;
    bool found = PQntuples(res) > 0;
    if (found)
        c_copy(res, 0, 0, out, EMAIL_MAX + 1);
    else
        out[0] = '\0';
    if (name)
        c_copy(res, 0, 1, name, found ? USER_NAME_MAX + 1 : 1);
    PQclear(res);
    return found ? 0 : store_fail(s, STORE_ERR_NOT_FOUND, "user %lld not found", (long long)id);
}

int pg_refresh_insert(struct store *s, const struct refresh_token *t)
{
    struct params p = {0};
    p.v[0] = t->jti;
    p_i64(&p, 1, t->user_id);
    p.v[2] = t->family;
    p_time(&p, 3, t->issued_at);
    p_time(&p, 4, t->expires_at);
    return pg_exec_q(PS(s), Q_REFRESH_INSERT, 5, p.v, "store refresh token");
}

int pg_refresh_get(struct store *s, const char *jti, struct refresh_token *t)
{
    const char *v[1] = {jti};
    int rc;
    PGresult *res = pg_one(PS(s), Q_REFRESH_GET, 1, v, "refresh token", &rc);
    if (!res)
        return rc;
    memset(t, 0, sizeof *t);
    c_copy(res, 0, 0, t->jti, sizeof t->jti);
    t->user_id = c_i64(res, 0, 1);
    c_copy(res, 0, 2, t->family, sizeof t->family);
    t->issued_at = c_time(res, 0, 3);
    t->expires_at = c_time(res, 0, 4);
    t->used_at = c_time(res, 0, 5);
    t->revoked_at = c_time(res, 0, 6);
    PQclear(res);
    return 0;
}

int pg_refresh_mark_used(struct store *s, const char *jti, int64_t when)
{
    struct params p = {0};
    p.v[0] = jti;
    p_time(&p, 1, when);
    int rc;
    PGresult *res = pg_run(PS(s), Q_REFRESH_MARK_USED, 2, p.v, "rotate refresh token", &rc);
    if (!res)
        return rc;
    int changed = pg_count_changed(res);
    PQclear(res);
    return changed ? 0 : store_fail(s, STORE_ERR_CONFLICT, "refresh token already used");
}

int pg_refresh_revoke_family(struct store *s, const char *family, int64_t when)
{
    struct params p = {0};
    p.v[0] = family;
    p_time(&p, 1, when);
    return pg_exec_q(PS(s), Q_REFRESH_REVOKE_FAMILY, 2, p.v, "revoke refresh tokens");
}

int pg_refresh_revoke_user(struct store *s, int64_t user, int64_t when)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p_time(&p, 1, when);
    return pg_exec_q(PS(s), Q_REFRESH_REVOKE_USER, 2, p.v, "revoke refresh tokens");
}

int pg_audit_insert(struct store *s, const struct audit_entry *a)
{
    struct params p = {0};
    p_id_or_null(&p, 0, a->user_id);
    p.v[1] = a->action;
    p.v[2] = a->resource_type;
    p.v[3] = a->resource_id;
    p.v[4] = a->details;
    p.v[5] = a->ip_address;
    p_id_or_null(&p, 6, a->status_code);
    p_time(&p, 7, a->timestamp ? a->timestamp : time_now_us());
    return pg_exec_q(PS(s), Q_AUDIT_INSERT, 8, p.v, "write audit log");
}

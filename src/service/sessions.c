/* sessions.c — refresh-token rotation and reuse detection. */
#include "service/sessions.h"

#include "service/users.h"

int sessions_record(struct store *s, const struct refresh_token *t)
{
    return s->ops->refresh_insert(s, t);
}

int sessions_rotate(struct store *s, const char *jti, int64_t user_id, int64_t now,
                    struct refresh_token *t, struct user *u, bool *reused)
{
    *reused = false;
    int rc = s->ops->refresh_get(s, jti, t);
    if (rc == STORE_ERR_NOT_FOUND || (rc == 0 && (t->revoked_at || t->user_id != user_id)))
        return SESSIONS_INVALID;
    if (rc)
        return rc;
    rc = s->ops->refresh_mark_used(s, t->jti, now);
    if (rc == STORE_ERR_CONFLICT) {
        *reused = true;
        rc = users_end_sessions(s, user_id, now);
        return rc && rc != STORE_ERR_NOT_FOUND ? rc : SESSIONS_REUSED;
    }
    if (rc)
        return rc;
    rc = s->ops->user_get(s, user_id, u);
    if (rc == STORE_ERR_NOT_FOUND || (rc == 0 && !u->is_active))
        return SESSIONS_NO_USER;
    return rc;
}

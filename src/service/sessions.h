/* sessions.h — refresh tokens: recording the one just issued, and rotating
 * it on refresh with reuse detection (api.md, "Auth"). Only a token's id is
 * stored, never its text. */
#ifndef LOCKSTEP_SESSIONS_H
#define LOCKSTEP_SESSIONS_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* Outcomes of sessions_rotate besides 0 and the STORE_ERR_* codes. */
#define SESSIONS_INVALID 1   /* unknown, revoked, or another user's token */
#define SESSIONS_REUSED 2    /* already rotated: every session of the user ended */
#define SESSIONS_NO_USER 3   /* the user is gone or inactive */

/* Record the refresh token `t` just issued. Returns 0 or a STORE_ERR_* code. */
int sessions_record(struct store *s, const struct refresh_token *t);
/* Rotate the refresh token `jti` presented for user `user_id`: mark it used
 * at `now` and load its user. A token that was already rotated came back: a
 * copy exists and which holder is the owner cannot be told, so every session
 * of the user ends (users_end_sessions) and *reused is set. Returns 0 (*t and
 * *u filled), SESSIONS_INVALID, SESSIONS_REUSED, SESSIONS_NO_USER, or a
 * STORE_ERR_* code (with *reused set when ending the sessions failed). */
int sessions_rotate(struct store *s, const char *jti, int64_t user_id, int64_t now,
                    struct refresh_token *t, struct user *u, bool *reused);

#endif

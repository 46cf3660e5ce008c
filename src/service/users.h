/* users.h — accounts: validation, argon2id password hashes, roles. */
#ifndef LOCKSTEP_USERS_H
#define LOCKSTEP_USERS_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define USERS_PASSWORD_MIN 8
#define USERS_PASSWORD_MAX 256
#define USERS_NO_PASSWORD "!" /* a hash no password verifies against */

/* Start libsodium (idempotent). Returns 0 or -1. */
int users_init(void);
/* Lower-case and check an email address into out[EMAIL_MAX+1]. Returns 0 or
 * LS_ERR_VALIDATION. */
int users_normalize_email(const char *in, char out[EMAIL_MAX + 1]);
/* True for admin, instructor, student. */
bool users_valid_role(const char *role);
/* The rank of a role: student 1, instructor 2, admin 3 (0 unknown); admin ⊃
 * instructor ⊃ student, so "at least instructor" is rank >= 2. */
int users_role_rank(const char *role);
/* Hash a password with argon2id into out[192]. Returns 0, LS_ERR_VALIDATION
 * (length outside 8..256) or LS_ERR_DATABASE (out of memory). */
int users_hash_password(const char *password, char out[192], char *err, size_t errlen);
/* Constant-time check of `password` against `hash`. When `hash` is NULL (no
 * such user) a dummy hash is verified so the time taken is the same. */
bool users_verify_password(const char *hash, const char *password);
/* Create a user. password NULL creates an account that cannot log in until a
 * password is set. Returns 0 (out filled), LS_ERR_VALIDATION, LS_ERR_CONFLICT
 * (email exists) or a database code; err gets the message. */
int users_create(struct store *s, const char *email, const char *name, const char *password,
                 const char *role, struct user *out, char *err, size_t errlen);
/* Find a user by email (case-insensitive). */
int users_get_by_email(struct store *s, const char *email, struct user *out, char *err,
                       size_t errlen);
/* Apply changes to a user (fields NULL / -1 are left alone), refusing to
 * demote or disable the last active admin (LS_ERR_CONFLICT). Only the fields
 * given are written. Disabling the user or setting a password ends every
 * session in the same transaction (users_end_sessions). out gets the row as
 * stored afterwards. */
int users_update(struct store *s, int64_t id, const char *name, const char *role,
                 int is_active, const char *password, struct user *out, char *err,
                 size_t errlen);

/* End every session of user `id`: revoke their refresh tokens and refuse
 * every access token issued up to `when` (tokens_valid_after only rises; the
 * rest of the row is not written). One write transaction; returns 0 or a
 * STORE_ERR_* code (STORE_ERR_NOT_FOUND: no such user). */
int users_end_sessions(struct store *s, int64_t id, int64_t when);

/* Load user `id`. Returns 0 or a STORE_ERR_* code (STORE_ERR_NOT_FOUND: no
 * such user). */
int users_get(struct store *s, int64_t id, struct user *out);
/* Each user matching `f` through cb, as the store orders them. Returns 0, a
 * STORE_ERR_* code, or cb's nonzero return. */
int users_list(struct store *s, const struct user_filter *f, store_user_cb cb, void *ctx);
/* A user as the API shows it: id, email, name, role, is_active and, when
 * with_times, created_at and updated_at (the password hash never). New
 * reference, or NULL when out of memory. */
json_t *users_json(const struct user *u, bool with_times);

#endif

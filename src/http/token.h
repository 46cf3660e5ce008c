/* token.h — Lockstep's JWTs (HS256 through libjwt): the signing secret,
 * signing and verifying (tokens.c). Also the entry point of the token fuzz
 * harness (fuzz/fuzz_jwt.c) and of tests. */
#ifndef LOCKSTEP_TOKEN_H
#define LOCKSTEP_TOKEN_H

#include "service/app.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest token accepted anywhere (bearer header, refresh body, cookie). */
#define TOKEN_MAX 4096
/* A signing secret holds 32 to TOKEN_SECRET_MAX bytes, used whole. */
#define TOKEN_SECRET_MIN 32
#define TOKEN_SECRET_MAX (sizeof ((struct app *)0)->jwt_secret)

/* The one rule for a signing secret: `text` (len bytes) is used whole, except
 * that the line end and trailing spaces of a file's text are not part of it
 * (trim_line_end); what remains must hold TOKEN_SECRET_MIN to
 * TOKEN_SECRET_MAX bytes. Sets *secret_len to the length that counts (also
 * when refused). Returns 0, TOKEN_SECRET_SHORT or TOKEN_SECRET_LONG with err
 * naming `what` (where the text came from) and saying why. */
#define TOKEN_SECRET_SHORT (-1)
#define TOKEN_SECRET_LONG (-2)
int token_secret_check(const char *text, size_t len, bool trim_line_end, const char *what,
                       size_t *secret_len, char *err, size_t errlen);

/* What a verified token says. */
struct token_claims {
    int64_t user_id;   /* "sub": a positive id, else 0 */
    int64_t issued_us; /* "iat_us": when it was issued (µs), 0 when absent */
    int64_t exp_s;     /* "exp": when it expires (s) */
    char jti[48];      /* "jti": its id, "" when absent or too long */
    char family[48];   /* "fam" of a refresh token, else "" */
};

/* Load app's signing secret: cfg.jwt_secret when set, else
 * <data_dir>/secret.key, created (64 random bytes, hex, mode 0600) on first
 * start. Returns 0, or -1 with err (shorter than TOKEN_SECRET_MIN or longer
 * than TOKEN_SECRET_MAX bytes, unreadable file). */
int token_load_secret(struct app *app, char *err, size_t errlen);
/* 16 random bytes as 32 hex digits: a token id or family. */
void token_random_id(char out[33]);
/* Sign a token of `type` ("access" or "refresh") for user u, issued at `now`
 * (µs) and valid ttl_s seconds, with id `jti` and, for a refresh token, its
 * `family` (NULL: none). An access token also carries email and role.
 * Returns the token (caller frees), or NULL when out of memory. */
char *token_sign(struct app *app, const struct user *u, const char *type, int64_t now,
                 int64_t ttl_s, const char *jti, const char *family);
/* Verify token: HS256 with app's secret only, an "exp" in the future, "type"
 * equal to type. Returns 0 with *out filled, or -1. */
int token_verify(struct app *app, const char *token, const char *type,
                 struct token_claims *out);

/* Check token as every request checks its bearer token (and refresh its
 * refresh token): token_verify and a positive user id in "sub". Nothing is
 * cached or stored. Returns 0 with *user_id set, or -1. */
int auth_token_verify(struct app *app, const char *token, const char *type,
                      int64_t *user_id);

#endif

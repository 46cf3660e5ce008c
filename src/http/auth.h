/* auth.h — authentication of `lockstep serve`: the signing secret and the
 * password-hashing gate (auth_init, at start), bearer tokens on every request,
 * the cached users a change must forget. */
#ifndef LOCKSTEP_HTTP_AUTH_H
#define LOCKSTEP_HTTP_AUTH_H

#include "http/request.h"
#include "service/app.h"

#include <stddef.h>
#include <stdint.h>

/* How many argon2id hashes may run at once: CPUs − 1, at least 1. serve's
 * password lane has this many threads. */
int auth_hash_slots(void);
/* Load (or create, in <data_dir>/secret.key) the signing secret into app,
 * size the login throttle and the hashing gate. Returns 0, or -1 with err (a
 * secret shorter than TOKEN_SECRET_MIN or longer than TOKEN_SECRET_MAX bytes,
 * see token.h; an unreadable secret file; out of memory). Call
 * auth_shutdown() at the end. */
int auth_init(struct app *app, char *err, size_t errlen);
/* Release the login throttle and hashing gate. */
void auth_shutdown(void);
/* Verify an access token and load its user; 0, or answers 401 and returns -1.
 * On an epoll thread a user not in the cache defers the request (1). */
int auth_authenticate(struct http_req *r);
/* Forget the cached row of a user that just changed (PATCH, logout). */
void auth_forget_user(int64_t id);

#endif

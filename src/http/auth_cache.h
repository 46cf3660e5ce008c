/* auth_cache.h — what authentication remembers between requests (auth.c):
 * verified access tokens by keyed digest, and recently loaded users. */
#ifndef LOCKSTEP_AUTH_CACHE_H
#define LOCKSTEP_AUTH_CACHE_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* A token verified before and not expired: true with its user and issue
 * time. */
bool auth_cache_token_get(const char *token, int64_t *user_id, int64_t *issued_us);
/* Remember a verified token until exp_s (seconds since the epoch). */
void auth_cache_token_put(const char *token, int64_t user_id, int64_t issued_us,
                          int64_t exp_s);
/* User `id` loaded less than a second ago: true with a copy in *out. */
bool auth_cache_user_get(int64_t id, struct user *out);
/* Remember user u as loaded now. */
void auth_cache_user_put(const struct user *u);
/* Forget user `id`'s row (it just changed). */
void auth_cache_user_forget(int64_t id);

#endif

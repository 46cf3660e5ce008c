/* token.h — verifying a Lockstep JWT outside a request: the entry point of
 * the token fuzz harness (fuzz/fuzz_jwt.c) and of tests. */
#ifndef LOCKSTEP_TOKEN_H
#define LOCKSTEP_TOKEN_H

#include "service/app.h"

#include <stdint.h>

/* Check token as every request checks its bearer token (and refresh its
 * refresh token): HS256 with app's secret, an "exp" in the future, "type"
 * equal to type ("access" or "refresh"), a positive user id in "sub".
 * Nothing is cached or stored. Returns 0 with *user_id set, or -1. */
int auth_token_verify(struct app *app, const char *token, const char *type,
                      int64_t *user_id);

#endif

/* progress.h — reading a user's pairs (progress and license per
 * specialization) the way the API shows them. Changes go through the coupling
 * enforcer (enforcer.h) only. */
#ifndef LOCKSTEP_PROGRESS_H
#define LOCKSTEP_PROGRESS_H

#include "model/pair.h"
#include "store/store.h"

#include <stdint.h>

/* One pair of a user: its state (model/pair.h, the whole rule) and its rows
 * (NULL: none; the first row when the side has duplicates). Borrowed. */
typedef int (*progress_pair_cb)(void *ctx, enum pair_state st, const struct progress *p,
                                const struct license *l);

/* Every pair of user `id` (a specialization with progress, a license or both)
 * through cb once, ordered by specialization, read in one snapshot; the
 * student's email and name (from the domain's users table: the academy's in
 * attached mode) into email[EMAIL_MAX+1] and name[USER_NAME_MAX+1]. Returns 0,
 * STORE_ERR_NOT_FOUND (no such user), another STORE_ERR_* code, or cb's
 * nonzero return. */
int progress_user_pairs(struct store *s, int64_t id, char *email, char *name,
                        progress_pair_cb cb, void *ctx);

#endif

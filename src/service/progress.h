/* progress.h — reading a user's pairs (progress and license per
 * specialization) the way the API shows them. Changes go through the coupling
 * enforcer (enforcer.h) only. */
#ifndef LOCKSTEP_PROGRESS_H
#define LOCKSTEP_PROGRESS_H

#include "store/store.h"

#include <stdint.h>

/* Every pair of user `id` (a specialization with progress, a license or both)
 * through cb, read in one snapshot. Returns 0, STORE_ERR_NOT_FOUND (no such
 * user), another STORE_ERR_* code, or cb's nonzero return. */
int progress_user_pairs(struct store *s, int64_t id, store_pair_rows_cb cb, void *ctx);

#endif

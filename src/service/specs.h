/* specs.h — specializations: normalized ids, creation, listing. */
#ifndef LOCKSTEP_SPECS_H
#define LOCKSTEP_SPECS_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

/* Upper-case `in` into out[SPEC_ID_MAX]. Returns 0, or LS_ERR_VALIDATION when
 * it is empty, longer than SPEC_ID_LEN (64) characters or has characters other than
 * letters, digits and '_' (so no SQL or path characters ever reach a store or
 * a file name). */
int specs_normalize_id(const char *in, char out[SPEC_ID_MAX]);
/* An id a user typed that is longer than SPEC_ID_LEN: LS_ERR_VALIDATION with
 * a message naming the limit in err (a 400, or CLI exit 1, before any
 * lookup); 0 otherwise (`in` may be NULL). */
int specs_id_too_long(const char *in, char *err, size_t errlen);
/* Create a specialization. Returns 0, LS_ERR_VALIDATION (bad id, too long
 * (specs_id_too_long), empty name, max_levels outside 1..100),
 * LS_ERR_CONFLICT (exists) or LS_ERR_DATABASE; err gets the message. */
int specs_create(struct store *s, const char *id, const char *name, int max_levels,
                 struct specialization *out, char *err, size_t errlen);
/* Look up a specialization by (case-insensitive) id. LS_ERR_NOT_FOUND with
 * "Unknown specialization X" when there is none or the id is malformed;
 * LS_ERR_VALIDATION when it is too long (specs_id_too_long). */
int specs_get(struct store *s, const char *id, struct specialization *out, char *err,
              size_t errlen);
/* Every specialization through cb. Returns 0, a STORE_ERR_* code, or cb's
 * nonzero return. */
int specs_list(struct store *s, store_spec_cb cb, void *ctx);

#endif

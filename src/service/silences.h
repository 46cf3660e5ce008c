/* silences.h — listing and ending alert silences (alerts.h records them and
 * gives their JSON shape). */
#ifndef LOCKSTEP_SILENCES_H
#define LOCKSTEP_SILENCES_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The silences as a JSON array of alerts_silence_json objects: those in force
 * at `now`, or with `all` every one (newest first, at most 500). Returns 0
 * with *out set (new reference), or a STORE_ERR_* code (STORE_ERR when out of
 * memory). */
int silences_list_json(struct store *s, int64_t now, bool all, json_t **out);
/* End silence `id` at `now`. Returns 0, STORE_ERR_NOT_FOUND (no such silence
 * in force) or another STORE_ERR_* code. */
int silences_delete(struct store *s, int64_t id, int64_t now);

#endif

/* check_history.h — reading what the checks recorded: the latest run, the
 * runs in a time range, and the open violations page by page. */
#ifndef LOCKSTEP_CHECK_HISTORY_H
#define LOCKSTEP_CHECK_HISTORY_H

#include "store/store.h"

#include <stdint.h>

/* The latest recorded (non-dry-run) check. Returns 0, STORE_ERR_NOT_FOUND
 * (none yet) or another STORE_ERR_* code. */
int check_history_latest(struct store *s, struct check_run *out);
/* Recorded checks between since and until (0: open), newest first, at most
 * `limit`, through cb. Returns 0, a STORE_ERR_* code or cb's nonzero return. */
int check_history_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                       store_check_cb cb, void *ctx);
/* One page (limit, offset) of the open violations, newest first, optionally
 * of one specialization (NULL: all), through cb; *total gets how many are
 * open. Returns 0, a STORE_ERR_* code or cb's nonzero return. */
int check_history_open_violations(struct store *s, const char *spec, int64_t limit,
                                  int64_t offset, store_violation_cb cb, void *ctx,
                                  int64_t *total);

#endif

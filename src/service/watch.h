/* watch.h — the watcher (watch.md): the changed pairs re-classified in
 * batches as the capture triggers name them, the open violations moved and
 * the pair counts kept, so that drift shows within a second; and the thread
 * of `serve` that runs it on the scheduler leader. */
#ifndef LOCKSTEP_WATCH_H
#define LOCKSTEP_WATCH_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Change rows taken per batch (their users' other pending rows come too). */
#define WATCH_BATCH_ROWS 10000
/* The page cache of watch_drain's reading connection (KiB): small, since a
 * commit of another connection empties it (WAL), and one commits after each
 * batch it reads. */
#define WATCH_READ_CACHE_KIB 4000
/* And of its checkpointing connection (SQLite), which reads little. */
#define WATCH_CHECKPOINT_CACHE_KIB 1000

struct watch_batch {
    int64_t changes;        /* change rows applied (0: nothing was pending) */
    int64_t pairs;          /* pairs re-classified */
    int64_t opened, resolved; /* violations opened (or moved to another issue), resolved */
    int64_t dpairs, dusers, dviolations;
    bool read_ahead;        /* read while the batch before it was written (watch_drain) */
};

/* Apply one batch of pending changes to the watch state, under the watch
 * lock, in one snapshot transaction: nothing is applied twice or lost when
 * the process dies at any point. `direction` is the configured sync
 * direction (the violations' recommended_action). The batch's change rows
 * and each one's detection lag are counted into `metrics` (may be NULL).
 * Returns 0 (out->changes 0 when nothing was pending) or an LS_ERR_* code
 * with err set. */
struct metrics;
int watch_apply_batch(struct store *s, const char *direction, int64_t max_rows,
                      struct metrics *metrics, struct watch_batch *out, char *err,
                      size_t errlen);

/* Apply every pending change as the watcher of serve does: batches read on
 * `rd` (another connection to the same database, in a read transaction
 * each) and written on `s` (a write transaction each), the next batch read
 * while one is written when more are pending. The next batch is read above
 * the one being written and without its users, whose later rows wait for a
 * later batch; the watch lock is held from a batch's read to its write (at
 * most a second at a time, so that full sweeps get their turn), so no
 * other batch or sweep moves a violation in between. What a batch read is
 * written as it was read: nothing is applied twice or lost (a batch whose
 * change rows are no longer all pending fails, and nothing of it is
 * written). After each batch written, go_on(ctx, what it did) says whether to go on.
 * *applied gets the change rows applied. Returns 0 once a batch read first
 * (not ahead) took all that was pending when it was read (what came since
 * waits for the next call: the watcher is woken for it), or go_on said stop;
 * or an LS_ERR_* code with err set. `ck` (NULL: none;
 * SQLite only) is a third connection that checkpoints the WAL while the
 * lock is held, the writer's own checkpoints turned off meanwhile. */
int watch_drain(struct store *s, struct store *rd, struct store *ck, const char *direction,
                int64_t max_rows, struct metrics *metrics,
                bool (*go_on)(void *, const struct watch_batch *), void *ctx, int64_t *applied,
                char *err, size_t errlen);

/* Whether the watcher runs for this configuration and store: mode not off
 * and a store with the watcher's operations. */
struct config;
bool watch_active(const struct config *cfg, const struct store *s);

/* Whether the watcher learns the changes by polling the mapped updated_at
 * columns ([watch] mode = poll) rather than from capture triggers. */
bool watch_polls(const struct config *cfg);

/* One poll ([watch] mode = poll): under the watch lock, in one snapshot
 * transaction, the progress and license rows whose updated_at moved past
 * their table's watermark become change rows (store_ops.watch_poll) for
 * watch_apply_batch to apply. *taken gets how many. Returns 0 or an
 * LS_ERR_* code with err set. */
int watch_poll_changes(struct store *s, int64_t *taken, char *err, size_t errlen);

/* The watch part of a recorded full check's options (watch.md): it takes
 * the watch lock and consumes the change rows it saw (check_options.watch),
 * so that it never records an older view over what the watcher applied, and
 * compares with the watcher's state when the watcher runs and its state was
 * set by a sweep (watch_compare). Leaves o unchanged for a dry run. */
struct check_options;
void watch_check_options(const struct config *cfg, struct store *s, struct check_options *o);

struct app;
struct watcher;
/* Start the watcher thread of serve: it works while leads(ctx) is true (the
 * scheduler leader), sweeps in full when it starts leading, every
 * full_sweep_interval and when the specializations changed, and applies
 * the changes as they come (in poll mode: polls every watch_poll_interval
 * first). NULL with err when it cannot start. */
struct watcher *watcher_start(struct app *app, bool (*leads)(void *), void *ctx, char *err,
                              size_t errlen);
/* Stop it and wait for the thread (a batch in progress finishes). NULL: no-op. */
void watcher_stop(struct watcher *w);

#endif

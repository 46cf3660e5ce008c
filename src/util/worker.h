/* worker.h — one background thread that runs a pass of work again and again:
 * after each pass it sleeps until woken, stopped or the delay the pass asked
 * for has passed (measured on CLOCK_MONOTONIC, so a wall-clock step neither
 * wakes it early nor keeps it asleep). The evaluation of alerts, the outbox
 * and the scheduler's threads run on it.
 *
 * Who frees what: the worker owns only itself (its thread, lock and flags).
 * The context passed to worker_start stays the caller's, and must live until
 * worker_stop has returned true; worker_stop frees the worker. */
#ifndef LOCKSTEP_WORKER_H
#define LOCKSTEP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

/* A pass that returns WORKER_IDLE sleeps until woken or stopped. */
#define WORKER_IDLE INT64_MAX

/* One pass of work. Returns how long to sleep before the next pass, in
 * microseconds: <= 0 runs the next pass at once, WORKER_IDLE waits for a
 * wake. A pass is never interrupted: a stop takes effect when it returns. */
typedef int64_t (*worker_pass_fn)(void *ctx);

struct worker;

/* Start the thread; its first pass runs at once. Returns 0 and *out, or -1
 * (no thread, no memory) with *out NULL. */
int worker_start(worker_pass_fn pass, void *ctx, struct worker **out);

/* Run the next pass at once: a sleeping worker wakes, a worker in a pass
 * starts another when it ends (a wake is never lost). NULL is ignored. */
void worker_wake(struct worker *w);

/* Stop: no pass starts any more, a sleeping worker wakes and ends at once.
 * A pass in progress may go on for timeout_ms (< 0: as long as it takes).
 * True when the thread has ended: the worker is freed and the context is the
 * caller's again. False when the pass outlived the timeout: the thread is
 * left to run its pass to the end (it frees the worker then); the context
 * must stay alive, which in practice means it is left to the process exit.
 * NULL is ignored (true). */
bool worker_stop(struct worker *w, long timeout_ms);

#endif

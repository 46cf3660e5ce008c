/* bench_watch_apply.c — the watcher's own throughput: every pending change
 * row applied through watch_apply_batch, batch after batch, as serve's
 * watcher does, and the changed pairs re-classified per second.
 *   bench_watch_apply DB_URL [batch_rows] [direction]
 * The store must hold pending change rows (capture triggers installed and a
 * bulk write done while no serve ran). Prints one line. */
#include "service/watch.h"
#include "store/store.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_watch_apply DB_URL [batch_rows] [direction]\n");
        return 2;
    }
    int64_t rows = argc > 2 ? strtoll(argv[2], NULL, 10) : WATCH_BATCH_ROWS;
    const char *direction = argc > 3 ? argv[3] : "progress_to_license";
    struct store *s = NULL;
    struct store_options o;
    store_options_default(&o);
    o.migrate = false;
    char err[600];
    if (store_open(argv[1], &o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "bench_watch_apply: %s\n", err);
        return 1;
    }
    int64_t pending = 0, changes = 0, pairs = 0, batches = 0;
    double oldest = 0;
    if (s->ops->watch_pending(s, &pending, &oldest) != 0) {
        fprintf(stderr, "bench_watch_apply: %s\n", store_errmsg(s));
        store_close(s);
        return 1;
    }
    int64_t t0 = time_mono_us();
    for (;;) {
        struct watch_batch b;
        if (watch_apply_batch(s, direction, rows, NULL, &b, err, sizeof err) != 0) {
            fprintf(stderr, "bench_watch_apply: %s\n", err);
            store_close(s);
            return 1;
        }
        if (b.changes == 0)
            break;
        changes += b.changes;
        pairs += b.pairs;
        batches++;
    }
    double secs = (double)(time_mono_us() - t0) / 1e6;
    printf("%lld change rows (%lld pending at start) in %lld batches of up to %lld: %lld "
           "changed pairs re-classified in %.3f s = %.0f pairs/s\n",
           (long long)changes, (long long)pending, (long long)batches, (long long)rows,
           (long long)pairs, secs, secs > 0 ? (double)pairs / secs : 0);
    store_close(s);
    return 0;
}

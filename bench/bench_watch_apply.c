/* bench_watch_apply.c — the watcher's own throughput: every pending change
 * row applied as serve's watcher applies them (watch_drain: batches read on
 * a second connection while the previous one is written), or with
 * --serial one batch after another in a single transaction each
 * (watch_apply_batch, as a scheduled run drains), and the changed pairs
 * re-classified per second.
 *   bench_watch_apply [--serial] DB_URL [batch_rows] [direction]
 * The store must hold pending change rows (capture triggers installed and a
 * bulk write done while no serve ran). Prints one line. */
#include "service/watch.h"
#include "store/store.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally {
    int64_t changes, pairs, batches;
};

static bool count_on(void *ctx, const struct watch_batch *b)
{
    struct tally *t = ctx;
    t->changes += b->changes;
    t->pairs += b->pairs;
    t->batches++;
    return true;
}

int main(int argc, char **argv)
{
    bool serial = argc > 1 && !strcmp(argv[1], "--serial");
    if (serial) {
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: bench_watch_apply [--serial] DB_URL [batch_rows] [direction]\n");
        return 2;
    }
    int64_t rows = argc > 2 ? strtoll(argv[2], NULL, 10) : WATCH_BATCH_ROWS;
    const char *direction = argc > 3 ? argv[3] : "progress_to_license";
    struct store *s = NULL;
    struct store_options o;
    store_options_default(&o);
    o.migrate = false;
    o.secure_delete_fast = true; /* as serve's watcher writes */
    char err[600];
    if (store_open(argv[1], &o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "bench_watch_apply: %s\n", err);
        return 1;
    }
    struct store *rd = NULL;
    o.cache_kib = WATCH_READ_CACHE_KIB; /* as serve's watcher reads */
    o.secure_delete_fast = false;
    if (!serial && store_open(argv[1], &o, &rd, err, sizeof err) != 0) {
        fprintf(stderr, "bench_watch_apply: %s\n", err);
        store_close(s);
        return 1;
    }
    struct store *ck = NULL; /* as serve's watcher checkpoints (SQLite) */
    o.cache_kib = WATCH_CHECKPOINT_CACHE_KIB;
    if (!serial && s->ops->wal_checkpoint && store_open(argv[1], &o, &ck, err, sizeof err) != 0) {
        fprintf(stderr, "bench_watch_apply: %s\n", err);
        store_close(rd);
        store_close(s);
        return 1;
    }
    int64_t pending = 0, applied = 0;
    struct tally t = {0};
    double oldest = 0;
    int rc = s->ops->watch_pending(s, &pending, &oldest);
    if (rc)
        snprintf(err, sizeof err, "%s", store_errmsg(s));
    int64_t t0 = time_mono_us();
    while (rc == 0 && serial) {
        struct watch_batch b;
        if ((rc = watch_apply_batch(s, direction, rows, NULL, &b, err, sizeof err)) != 0 ||
            b.changes == 0)
            break;
        count_on(&t, &b);
    }
    if (rc == 0 && !serial)
        rc = watch_drain(s, rd, ck, direction, rows, NULL, count_on, &t, &applied, err,
                         sizeof err);
    double secs = (double)(time_mono_us() - t0) / 1e6;
    store_close(ck);
    store_close(rd);
    store_close(s);
    if (rc) {
        fprintf(stderr, "bench_watch_apply: %s\n", err);
        return 1;
    }
    printf("%lld change rows (%lld pending at start) in %lld batches of up to %lld%s: %lld "
           "changed pairs re-classified in %.3f s = %.0f pairs/s\n",
           (long long)t.changes, (long long)pending, (long long)t.batches, (long long)rows,
           serial ? ", one at a time" : ", each read while the one before is written",
           (long long)t.pairs, secs, secs > 0 ? (double)t.pairs / secs : 0);
    return 0;
}

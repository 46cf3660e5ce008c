/* bench_enforcer.c — coupled level updates per second (each its own
 * transaction) through enforcer_update_level_atomic, from 1 or N connections.
 *   bench_enforcer DB_URL [seconds] [connections]
 * The store must hold demo data (lockstep demo). Prints one line per run. */
#include "service/enforcer.h"
#include "store/store.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker {
    const char *url;
    int index, n_workers;
    int64_t deadline;
    long done, failed;
    char err[300];
};

static atomic_int ready;

static void *run(void *arg)
{
    struct worker *w = arg;
    struct store *s = NULL;
    struct store_options o;
    store_options_default(&o);
    o.migrate = false;
    if (store_open(w->url, &o, &s, w->err, sizeof w->err) != 0)
        return NULL;
    atomic_fetch_add(&ready, 1);
    /* Users 2..1001 are demo students; each worker levels its own slice, so
     * the figure is about transactions, not lock waits on one row. */
    static const char *specs[] = {"PLAYER", "COACH", "INTERNSHIP"};
    for (long i = 0; time_mono_us() < w->deadline; i++) {
        int64_t user = 2 + (i * w->n_workers + w->index) % 1000;
        struct level_change c = {.user_id = user, .spec = specs[i % 3],
                                 .new_level = 1 + (int)(i % 3), .xp_change = 10,
                                 .sessions_change = 1};
        struct level_result r;
        if (enforcer_update_level_atomic(s, &c, &r) == 0)
            w->done++;
        else if (w->failed++ == 0)
            snprintf(w->err, sizeof w->err, "%s", r.message);
    }
    store_close(s);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_enforcer DB_URL [seconds] [connections]\n");
        return 2;
    }
    double secs = argc > 2 ? atof(argv[2]) : 5;
    int n = argc > 3 ? atoi(argv[3]) : 1;
    if (n < 1 || n > 64)
        n = 1;
    struct worker *w = calloc((size_t)n, sizeof *w);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    int64_t start = time_mono_us(), deadline = start + (int64_t)(secs * 1e6);
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){.url = argv[1], .index = i, .n_workers = n, .deadline = deadline};
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    long done = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        done += w[i].done;
        failed += w[i].failed;
        if (w[i].err[0])
            fprintf(stderr, "connection %d: %s\n", i, w[i].err);
    }
    double elapsed = (double)(time_mono_us() - start) / 1e6;
    printf("coupled updates: %d connection%s, %.1f s, %ld ok, %ld failed, %.0f updates/s\n", n,
           n == 1 ? "" : "s", elapsed, done, failed, (double)done / elapsed);
    free(w);
    free(t);
    return failed ? 1 : 0;
}

/* worker.c — a background thread that repeats a pass of work, woken early by
 * worker_wake and stopped by worker_stop (see worker.h for who frees what). */
#include "util/worker.h"

#include "util/timeutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct worker {
    worker_pass_fn pass;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;   /* wakes the thread; tells worker_stop it ended */
    bool woken;            /* run the next pass at once */
    bool stopping;         /* no pass starts any more */
    bool in_pass;          /* a pass is running */
    bool done;             /* the thread has left its loop */
    bool abandoned;        /* worker_stop gave up waiting: the thread frees the worker */
};

static void free_worker(struct worker *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
}

static struct timespec mono_deadline(int64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (us % USEC_PER_SEC) * 1000;
    ts.tv_sec += (time_t)(us / USEC_PER_SEC + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* Sleep (the lock held) until woken, stopped or `delay_us` has passed. */
static void sleep_between_passes(struct worker *w, int64_t delay_us)
{
    if (delay_us <= 0)
        return;
    /* Far enough to mean "until woken" without overflowing a time_t. */
    bool idle = delay_us == WORKER_IDLE || delay_us > 86400 * USEC_PER_SEC * 365;
    struct timespec until = idle ? (struct timespec){0} : mono_deadline(delay_us);
    while (!w->woken && !w->stopping) {
        if (idle)
            pthread_cond_wait(&w->cond, &w->mu);
        else if (pthread_cond_timedwait(&w->cond, &w->mu, &until) != 0)
            break; /* the delay has passed */
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        w->woken = false;
        w->in_pass = true;
        pthread_mutex_unlock(&w->mu);
        int64_t delay = w->pass(w->ctx);
        pthread_mutex_lock(&w->mu);
        w->in_pass = false;
        sleep_between_passes(w, delay);
    }
    w->done = true;
    bool abandoned = w->abandoned;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (abandoned)
        free_worker(w);
    return NULL;
}

int worker_start(worker_pass_fn pass, void *ctx, struct worker **out)
{
    *out = NULL;
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->pass = pass;
    w->ctx = ctx;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(w);
        return -1;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(w);
        return -1;
    }
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        free_worker(w);
        return -1;
    }
    *out = w;
    return 0;
}

void worker_wake(struct worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->woken = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

bool worker_stop(struct worker *w, long timeout_ms)
{
    if (!w)
        return true;
    struct timespec until = mono_deadline(timeout_ms > 0 ? (int64_t)timeout_ms * 1000 : 0);
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    while (!w->done) {
        /* Between passes the thread ends at once; only a pass may overrun. */
        if (!w->in_pass || timeout_ms < 0) {
            pthread_cond_wait(&w->cond, &w->mu);
        } else if (pthread_cond_timedwait(&w->cond, &w->mu, &until) != 0 && w->in_pass &&
                   !w->done) {
            pthread_t thread = w->thread; /* w is the thread's to free from now on */
            w->abandoned = true;
            pthread_mutex_unlock(&w->mu);
            pthread_detach(thread);
            return false;
        }
    }
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    free_worker(w);
    return true;
}

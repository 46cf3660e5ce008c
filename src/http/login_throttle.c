/* login_throttle.c — the login throttle's table (see login_throttle.h). */
#include "http/login_throttle.h"

#include "util/timeutil.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_MAX 32

struct slot {
    uint64_t tag;      /* keyed hash of the key; 0: never used */
    int64_t last;      /* the latest failure, µs */
    uint32_t pending;  /* attempts being verified against this record */
    uint32_t next;     /* next position in the ring of failure times */
};

static struct {
    pthread_mutex_t mu;
    struct slot *slots;
    int64_t *fails; /* n_slots rows of `keep` failure times (0: none) */
    long n_slots, keep, probe;
    unsigned char key[crypto_shorthash_KEYBYTES];
    bool ready, was_full;
} tab = {.mu = PTHREAD_MUTEX_INITIALIZER};

int login_throttle_init(long slots, long keep)
{
    if (sodium_init() < 0 || slots < 1 || keep < 1 || keep > LOGIN_THROTTLE_KEEP_MAX)
        return -1;
    pthread_mutex_lock(&tab.mu);
    int rc = 0;
    if (!tab.ready) {
        tab.slots = calloc((size_t)slots, sizeof *tab.slots);
        tab.fails = calloc((size_t)slots * (size_t)keep, sizeof *tab.fails);
        if (!tab.slots || !tab.fails) {
            free(tab.slots);
            free(tab.fails);
            tab.slots = NULL;
            tab.fails = NULL;
            rc = -1;
        } else {
            randombytes_buf(tab.key, sizeof tab.key);
            tab.n_slots = slots;
            tab.keep = keep;
            tab.probe = slots < PROBE_MAX ? slots : PROBE_MAX;
            tab.ready = true;
        }
    }
    pthread_mutex_unlock(&tab.mu);
    return rc;
}

void login_throttle_shutdown(void)
{
    pthread_mutex_lock(&tab.mu);
    if (tab.ready) {
        free(tab.slots);
        free(tab.fails);
        tab.slots = NULL;
        tab.fails = NULL;
        sodium_memzero(tab.key, sizeof tab.key);
        tab.ready = false;
    }
    pthread_mutex_unlock(&tab.mu);
}

static uint64_t tag_of(char kind, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    size_t n = strlen(key);
    unsigned char buf[512];
    if (n > sizeof buf - 1)
        n = sizeof buf - 1;
    buf[0] = (unsigned char)kind;
    memcpy(buf + 1, key, n);
    crypto_shorthash(out, buf, n + 1, tab.key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h ? h : 1;
}

/* Whether a record still matters: an attempt is being verified against it,
 * or it holds a failure within the window. */
static bool live(const struct slot *s, int64_t since)
{
    return s->tag != 0 && (s->pending || s->last > since);
}

/* The slot of `tag`, created when absent; -1 when the table has no room.
 * `taken` is a slot claimed a moment ago for the attempt's other key (not
 * live yet, but not free either), or -1. Called with the mutex held. */
static long find_slot(uint64_t tag, int64_t since, long taken)
{
    long start = (long)(tag % (uint64_t)tab.n_slots), free_slot = -1;
    for (long k = 0; k < tab.probe; k++) {
        long i = (start + k) % tab.n_slots;
        struct slot *s = &tab.slots[i];
        if (s->tag == tag)
            return i;
        if (free_slot < 0 && i != taken && !live(s, since))
            free_slot = i;
    }
    if (free_slot < 0)
        return -1;
    struct slot *s = &tab.slots[free_slot];
    memset(s, 0, sizeof *s);
    memset(&tab.fails[free_slot * tab.keep], 0, (size_t)tab.keep * sizeof *tab.fails);
    s->tag = tag;
    return free_slot;
}

/* Seconds until slot i is under `max` (failures in the window plus pending
 * attempts), or 0. */
static long wait_for(long i, long max, int64_t now, int64_t window)
{
    const int64_t *f = &tab.fails[i * tab.keep];
    int64_t times[LOGIN_THROTTLE_KEEP_MAX];
    long n = 0;
    for (long k = 0; k < tab.keep; k++)
        if (f[k] && f[k] > now - window)
            times[n++] = f[k];
    long pending = (long)tab.slots[i].pending;
    if (n + pending < max)
        return 0;
    if (n < max)
        return 1; /* attempts in flight fill the rest: ask again shortly */
    for (long a = 1; a < n; a++)
        for (long b = a; b > 0 && times[b - 1] > times[b]; b--) {
            int64_t t = times[b];
            times[b] = times[b - 1];
            times[b - 1] = t;
        }
    /* Free when enough failures leave the window: the (n - max + pending + 1)-th oldest. */
    long idx = n - max + pending;
    if (idx >= n)
        idx = n - 1;
    int64_t until = times[idx] + window;
    long secs = (long)((until - now + USEC_PER_SEC - 1) / USEC_PER_SEC);
    return secs > 0 ? secs : 1;
}

/* Seconds until some record of the probe run of `tag` can be reused. */
static long wait_for_room(uint64_t tag, int64_t now, int64_t window)
{
    long start = (long)(tag % (uint64_t)tab.n_slots);
    int64_t soonest = 0;
    for (long k = 0; k < tab.probe; k++) {
        const struct slot *s = &tab.slots[(start + k) % tab.n_slots];
        if (!s->pending && (!soonest || s->last < soonest))
            soonest = s->last;
    }
    if (!soonest)
        return 1;
    long secs = (long)((soonest + window - now + USEC_PER_SEC - 1) / USEC_PER_SEC);
    return secs > 0 ? secs : 1;
}

long login_throttle_begin(const char *account, const char *address, int64_t now_us,
                          const struct login_throttle_limits *lim,
                          struct login_throttle_ticket *t)
{
    int64_t window = (int64_t)lim->window_s * USEC_PER_SEC, since = now_us - window;
    uint64_t ta = tag_of('e', account), ti = tag_of('i', address);
    long wait = 0;
    pthread_mutex_lock(&tab.mu);
    if (!tab.ready) {
        pthread_mutex_unlock(&tab.mu);
        return 1;
    }
    long a = find_slot(ta, since, -1);
    long i = a >= 0 ? find_slot(ti, since, a) : -1;
    if (a < 0 || i < 0) {
        /* No room to count a failure of this attempt: refuse it rather than
         * forget a failure counted for someone else. */
        tab.was_full = true;
        wait = wait_for_room(a < 0 ? ta : ti, now_us, window);
    } else {
        long wa = wait_for(a, lim->account_max, now_us, window);
        long wi = wait_for(i, lim->address_max, now_us, window);
        wait = wa > wi ? wa : wi;
        if (!wait) {
            tab.slots[a].pending++;
            tab.slots[i].pending++;
            t->account_slot = a;
            t->address_slot = i;
        }
    }
    pthread_mutex_unlock(&tab.mu);
    return wait;
}

static void add_failure(long i, int64_t now)
{
    struct slot *s = &tab.slots[i];
    tab.fails[i * tab.keep + s->next] = now;
    s->next = (uint32_t)((s->next + 1) % (uint32_t)tab.keep);
    s->last = now;
}

void login_throttle_end(const struct login_throttle_ticket *t, enum login_outcome outcome,
                        int64_t now_us)
{
    pthread_mutex_lock(&tab.mu);
    if (tab.ready) {
        struct slot *a = &tab.slots[t->account_slot], *i = &tab.slots[t->address_slot];
        if (a->pending)
            a->pending--;
        if (i->pending)
            i->pending--;
        if (outcome == LOGIN_FAILED) {
            add_failure(t->account_slot, now_us);
            if (t->address_slot != t->account_slot)
                add_failure(t->address_slot, now_us);
        } else if (outcome == LOGIN_SUCCEEDED) {
            memset(&tab.fails[t->account_slot * tab.keep], 0,
                   (size_t)tab.keep * sizeof *tab.fails);
        }
    }
    pthread_mutex_unlock(&tab.mu);
}

bool login_throttle_was_full(void)
{
    pthread_mutex_lock(&tab.mu);
    bool was = tab.was_full;
    tab.was_full = false;
    pthread_mutex_unlock(&tab.mu);
    return was;
}

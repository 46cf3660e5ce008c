/* auth_cache.c — verified access tokens and recently loaded users, so that a
 * request with a known token costs neither a JWT decode nor a store read. */
#include "http/auth_cache.h"

#include "util/timeutil.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

/* ---- verified access tokens ---------------------------------------------------------
 *
 * Decoding and verifying a JWT costs about 15 µs (base64, JSON, HMAC); a
 * dashboard or a script sends the same token many times. A verified token is
 * remembered by its keyed BLAKE2b digest (the key is random per process, so a
 * digest cannot be forged or precomputed) with its user, issue time and
 * expiry. The user is still loaded on every request, so disabling a user or
 * logging out takes effect at once. */

#define TOKEN_CACHE_SLOTS 1024
#define TOKEN_CACHE_STRIPES 32

struct token_entry {
    unsigned char digest[16];
    int64_t user_id, issued_us, exp_s;
};

static struct {
    unsigned char key[crypto_generichash_KEYBYTES];
    struct token_entry slots[TOKEN_CACHE_SLOTS];
    pthread_mutex_t stripes[TOKEN_CACHE_STRIPES];
    pthread_once_t once;
} token_cache = {.once = PTHREAD_ONCE_INIT};

static void token_cache_init(void)
{
    randombytes_buf(token_cache.key, sizeof token_cache.key);
    for (int i = 0; i < TOKEN_CACHE_STRIPES; i++)
        pthread_mutex_init(&token_cache.stripes[i], NULL);
}

static size_t token_digest(const char *token, unsigned char digest[16])
{
    pthread_once(&token_cache.once, token_cache_init);
    crypto_generichash(digest, 16, (const unsigned char *)token, strlen(token),
                       token_cache.key, sizeof token_cache.key);
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return (size_t)(h % TOKEN_CACHE_SLOTS);
}

bool auth_cache_token_get(const char *token, int64_t *uid, int64_t *issued)
{
    unsigned char d[16];
    size_t slot = token_digest(token, d);
    pthread_mutex_t *mu = &token_cache.stripes[slot % TOKEN_CACHE_STRIPES];
    pthread_mutex_lock(mu);
    struct token_entry e = token_cache.slots[slot];
    pthread_mutex_unlock(mu);
    if (e.user_id == 0 || sodium_memcmp(e.digest, d, sizeof d) != 0 ||
        e.exp_s <= time_now_us() / USEC_PER_SEC)
        return false;
    *uid = e.user_id;
    *issued = e.issued_us;
    return true;
}

void auth_cache_token_put(const char *token, int64_t uid, int64_t issued, int64_t exp_s)
{
    struct token_entry e = {.user_id = uid, .issued_us = issued, .exp_s = exp_s};
    size_t slot = token_digest(token, e.digest);
    pthread_mutex_t *mu = &token_cache.stripes[slot % TOKEN_CACHE_STRIPES];
    pthread_mutex_lock(mu);
    token_cache.slots[slot] = e;
    pthread_mutex_unlock(mu);
}

/* ---- recently loaded users ---------------------------------------------------------
 *
 * Every request re-checks that its user exists and is active. Within this
 * process every change to a user (PATCH, logout, password) forgets the cached
 * row at once; a change made by another process (the CLI, another server on
 * the same PostgreSQL) is seen within USER_CACHE_TTL_US. */

#define USER_CACHE_SLOTS 512
#define USER_CACHE_TTL_US (1000 * 1000)

static struct {
    pthread_mutex_t mu;
    struct {
        struct user u;
        int64_t loaded_at; /* monotonic; 0 = empty */
    } slots[USER_CACHE_SLOTS];
} user_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

bool auth_cache_user_get(int64_t id, struct user *out)
{
    size_t slot = (size_t)id % USER_CACHE_SLOTS;
    bool hit = false;
    pthread_mutex_lock(&user_cache.mu);
    if (user_cache.slots[slot].loaded_at && user_cache.slots[slot].u.id == id &&
        time_mono_us() - user_cache.slots[slot].loaded_at < USER_CACHE_TTL_US) {
        *out = user_cache.slots[slot].u;
        hit = true;
    }
    pthread_mutex_unlock(&user_cache.mu);
    return hit;
}

void auth_cache_user_put(const struct user *u)
{
    size_t slot = (size_t)u->id % USER_CACHE_SLOTS;
    pthread_mutex_lock(&user_cache.mu);
    user_cache.slots[slot].u = *u;
    user_cache.slots[slot].loaded_at = time_mono_us();
    pthread_mutex_unlock(&user_cache.mu);
}

void auth_cache_user_forget(int64_t id)
{
    size_t slot = (size_t)id % USER_CACHE_SLOTS;
    pthread_mutex_lock(&user_cache.mu);
    if (user_cache.slots[slot].u.id == id)
        user_cache.slots[slot].loaded_at = 0;
    pthread_mutex_unlock(&user_cache.mu);
}

/* auth.c — login, refresh with rotation and reuse detection, logout, /auth/me;
 * HS256 JWTs through libjwt; the signing secret; the login throttle and the
 * gate that keeps argon2id from taking every CPU. */
#include "http/http.h"
#include "http/login_throttle.h"
#include "http/token.h"

#include "service/errors.h"
#include "service/users.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jwt.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_MAX 4096
#define COOKIE_NAME "lockstep_refresh"
#define COOKIE_PATH "/api/v1/auth"

/* ---- the signing secret ------------------------------------------------------- */

static int load_secret(struct app *app, char *err, size_t errlen)
{
    const char *cfg = app->cfg.jwt_secret;
    if (cfg[0]) {
        size_t n = strlen(cfg);
        if (n < 32) {
            snprintf(err, errlen, "jwt_secret must be at least 32 characters");
            return -1;
        }
        if (n > sizeof app->jwt_secret)
            n = sizeof app->jwt_secret;
        memcpy(app->jwt_secret, cfg, n);
        app->jwt_secret_len = n;
        return 0;
    }
    char path[FS_PATH_MAX];
    if (fs_join(path, sizeof path, app->cfg.data_dir, "secret.key") != 0) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = fs_read_file(path, 1024, &text, &len);
    if (rc == -ENOENT) {
        /* First start: 64 random bytes, hex, readable by the owner only. */
        unsigned char raw[64];
        char hex[129];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
        hex[128] = '\n';
        rc = fs_write_atomic(path, hex, sizeof hex, 0600, err, errlen);
        sodium_memzero(raw, sizeof raw);
        if (rc)
            return -1;
        memcpy(app->jwt_secret, hex, 64);
        app->jwt_secret_len = 64;
        sodium_memzero(hex, sizeof hex);
        log_msg(LOG_INFO, "auth", "generated a new signing secret in %s (mode 0600)", path);
        return 0;
    }
    if (rc) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077)) {
        log_msg(LOG_WARNING, "auth", "%s was readable by others; setting mode 0600", path);
        chmod(path, 0600);
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (len < 32) {
        sodium_memzero(text, len);
        free(text);
        snprintf(err, errlen, "%s holds fewer than 32 characters", path);
        return -1;
    }
    if (len > sizeof app->jwt_secret)
        len = sizeof app->jwt_secret;
    memcpy(app->jwt_secret, text, len);
    app->jwt_secret_len = len;
    sodium_memzero(text, len);
    free(text);
    return 0;
}

/* ---- the argon2id gate -------------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    sem_t hash_gate;
    bool ready;
} auth_state = {.mu = PTHREAD_MUTEX_INITIALIZER};

int auth_hash_slots(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* argon2id is meant to be slow: leave at least one CPU for everything else. */
    return cpus > 2 ? (int)(cpus - 1) : 1;
}

int auth_init(struct app *app, char *err, size_t errlen)
{
    if (load_secret(app, err, errlen) != 0)
        return -1;
    long keep = app->cfg.login_max_failures > app->cfg.login_address_max_failures
                    ? app->cfg.login_max_failures
                    : app->cfg.login_address_max_failures;
    if (login_throttle_init(app->cfg.login_throttle_slots, keep) != 0) {
        snprintf(err, errlen, "cannot allocate the login throttle (%ld records)",
                 app->cfg.login_throttle_slots);
        return -1;
    }
    pthread_mutex_lock(&auth_state.mu);
    if (!auth_state.ready) {
        unsigned gate = (unsigned)auth_hash_slots();
        if (sem_init(&auth_state.hash_gate, 0, gate) != 0) {
            pthread_mutex_unlock(&auth_state.mu);
            snprintf(err, errlen, "cannot create the password hashing gate");
            return -1;
        }
        auth_state.ready = true;
    }
    pthread_mutex_unlock(&auth_state.mu);
    /* Warm the dummy hash so the first unknown-email login is not slower. */
    (void)users_verify_password(NULL, "warm-up");
    return 0;
}

void auth_shutdown(void)
{
    login_throttle_shutdown();
    pthread_mutex_lock(&auth_state.mu);
    if (auth_state.ready) {
        sem_destroy(&auth_state.hash_gate);
        auth_state.ready = false;
    }
    pthread_mutex_unlock(&auth_state.mu);
}

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

static bool token_cache_get(const char *token, int64_t *uid, int64_t *issued)
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

static void token_cache_put(const char *token, int64_t uid, int64_t issued, int64_t exp_s)
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

static bool user_cache_get(int64_t id, struct user *out)
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

static void user_cache_put(const struct user *u)
{
    size_t slot = (size_t)u->id % USER_CACHE_SLOTS;
    pthread_mutex_lock(&user_cache.mu);
    user_cache.slots[slot].u = *u;
    user_cache.slots[slot].loaded_at = time_mono_us();
    pthread_mutex_unlock(&user_cache.mu);
}

void auth_forget_user(int64_t id)
{
    size_t slot = (size_t)id % USER_CACHE_SLOTS;
    pthread_mutex_lock(&user_cache.mu);
    if (user_cache.slots[slot].u.id == id)
        user_cache.slots[slot].loaded_at = 0;
    pthread_mutex_unlock(&user_cache.mu);
}

/* ---- tokens ---------------------------------------------------------------------- */

static void random_id(char out[33])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 33, raw, sizeof raw);
}

/* A signed token; caller frees. type "access" or "refresh". */
static char *make_token(struct app *app, const struct user *u, const char *type, int64_t now,
                        int64_t ttl_s, const char *jti, const char *family)
{
    jwt_t *jwt = NULL;
    char *out = NULL, sub[24];
    snprintf(sub, sizeof sub, "%lld", (long long)u->id);
    if (jwt_new(&jwt) != 0)
        return NULL;
    int64_t iat = now / USEC_PER_SEC;
    if (jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "type", type) ||
        jwt_add_grant(jwt, "jti", jti) || jwt_add_grant_int(jwt, "iat", (long)iat) ||
        jwt_add_grant_int(jwt, "iat_us", (long)now) ||
        jwt_add_grant_int(jwt, "exp", (long)(iat + ttl_s)))
        goto out;
    if (!strcmp(type, "access") &&
        (jwt_add_grant(jwt, "email", u->email) || jwt_add_grant(jwt, "role", u->role)))
        goto out;
    if (family && jwt_add_grant(jwt, "fam", family))
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, app->jwt_secret, (int)app->jwt_secret_len) != 0)
        goto out;
    out = jwt_encode_str(jwt);
out:
    jwt_free(jwt);
    return out;
}

/* Verify signature, algorithm, expiry and type. Returns the decoded token or NULL. */
static jwt_t *verify_token(struct app *app, const char *token, const char *type)
{
    if (!token || !*token || strlen(token) > TOKEN_MAX)
        return NULL;
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, app->jwt_secret, (int)app->jwt_secret_len) != 0 || !jwt)
        return NULL;
    /* Only HS256: "alg": "none" or any other algorithm is refused outright. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return NULL;
    }
    const char *t = jwt_get_grant(jwt, "type");
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno || !t || strcmp(t, type) != 0 || exp <= (long)(time_now_us() / USEC_PER_SEC)) {
        jwt_free(jwt);
        return NULL;
    }
    return jwt;
}

static int64_t token_user(jwt_t *jwt)
{
    const char *sub = jwt_get_grant(jwt, "sub");
    if (!sub)
        return 0;
    char *end = NULL;
    long long id = strtoll(sub, &end, 10);
    return (end && *end == '\0' && id > 0) ? id : 0;
}

static int64_t token_issued_us(jwt_t *jwt)
{
    errno = 0;
    long v = jwt_get_grant_int(jwt, "iat_us");
    return errno ? 0 : (int64_t)v;
}

int auth_authenticate(struct http_req *r)
{
    const char *h = u_map_get_case(r->u->map_header, "Authorization");
    if (!h) {
        http_error(r, 401, "Not authenticated");
        return -1;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        http_error(r, 401, "Invalid authentication scheme (expected Bearer)");
        return -1;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    if (strlen(token) > TOKEN_MAX) {
        http_error(r, 401, "Could not validate credentials");
        return -1;
    }
    int64_t uid = 0, issued = 0;
    if (!token_cache_get(token, &uid, &issued)) {
        jwt_t *jwt = verify_token(r->app, token, "access");
        if (!jwt) {
            http_error(r, 401, "Could not validate credentials");
            return -1;
        }
        uid = token_user(jwt);
        issued = token_issued_us(jwt);
        long exp = jwt_get_grant_int(jwt, "exp");
        jwt_free(jwt);
        if (!uid) {
            http_error(r, 401, "Could not validate credentials");
            return -1;
        }
        token_cache_put(token, uid, issued, exp);
    }
    if (!user_cache_get(uid, &r->user)) {
        /* Reading the user is a handler thread's job. */
        if (http_defer(r))
            return 1;
        struct store *s = http_store(r);
        int rc = s->ops->user_get(s, uid, &r->user);
        if (rc == STORE_ERR_NOT_FOUND) {
            http_error(r, 401, "Could not validate credentials");
            return -1;
        }
        if (rc) {
            http_store_error(r, rc);
            return -1;
        }
        user_cache_put(&r->user);
    }
    if (!r->user.is_active) {
        http_error(r, 401, "Inactive user");
        return -1;
    }
    if (r->user.tokens_valid_after && issued < r->user.tokens_valid_after) {
        http_error(r, 401, "Token has been revoked");
        return -1;
    }
    r->authed = true;
    return 0;
}

/* Issue an access and a refresh token; the refresh token's id is stored. */
static int issue_pair(struct http_req *r, const struct user *u, const char *family,
                      bool cookie)
{
    struct app *app = r->app;
    int64_t now = time_now_us();
    char jti_a[33], jti_r[33], fam[33];
    random_id(jti_a);
    random_id(jti_r);
    if (family)
        snprintf(fam, sizeof fam, "%s", family);
    else
        random_id(fam);
    int64_t access_ttl = app->cfg.access_token_minutes * 60;
    int64_t refresh_ttl = app->cfg.refresh_token_days * 86400;
    char *access = make_token(app, u, "access", now, access_ttl, jti_a, NULL);
    char *refresh = make_token(app, u, "refresh", now, refresh_ttl, jti_r, fam);
    if (!access || !refresh) {
        free(access);
        free(refresh);
        http_service_error(r, LS_ERR_DATABASE, "cannot sign tokens");
        return -1;
    }
    struct refresh_token t = {.user_id = u->id, .issued_at = now,
                              .expires_at = now + refresh_ttl * USEC_PER_SEC};
    snprintf(t.jti, sizeof t.jti, "%s", jti_r);
    snprintf(t.family, sizeof t.family, "%s", fam);
    struct store *s = http_store(r);
    int rc = s->ops->refresh_insert(s, &t);
    if (rc) {
        free(access);
        free(refresh);
        http_store_error(r, rc);
        return -1;
    }
    json_t *o = json_object();
    json_object_set_new(o, "access_token", json_string(access));
    json_object_set_new(o, "refresh_token", cookie ? json_null() : json_string(refresh));
    json_object_set_new(o, "token_type", json_string("bearer"));
    json_object_set_new(o, "expires_in", json_integer(access_ttl));
    if (cookie)
        ulfius_add_same_site_cookie_to_response(r->resp, COOKIE_NAME, refresh, NULL,
                                                (unsigned)refresh_ttl, NULL, COOKIE_PATH, 0, 1,
                                                U_COOKIE_SAME_SITE_STRICT);
    sodium_memzero(refresh, strlen(refresh));
    free(access);
    free(refresh);
    http_json(r, 200, o);
    return 0;
}

static bool wants_cookie(struct http_req *r)
{
    const char *v = http_query(r, "session");
    return v && !strcmp(v, "cookie");
}

void h_login(struct http_req *r)
{
    const char *email_in, *password;
    if (http_body_string(r, "email", true, EMAIL_MAX, &email_in) < 0 ||
        http_body_string(r, "password", true, USERS_PASSWORD_MAX, &password) < 0)
        return;
    struct app *app = r->app;
    char email[EMAIL_MAX + 1];
    bool valid_email = users_normalize_email(email_in, email) == 0;
    if (!valid_email)
        snprintf(email, sizeof email, "%.*s", EMAIL_MAX, email_in);
    struct login_throttle_limits lim = {.account_max = app->cfg.login_max_failures,
                                        .address_max = app->cfg.login_address_max_failures,
                                        .window_s = app->cfg.login_window_seconds};
    struct login_throttle_ticket ticket;
    long wait = login_throttle_begin(email, r->ip, time_now_us(), &lim, &ticket);
    if (login_throttle_was_full())
        log_msg(LOG_WARNING, "auth", "request %s: the login throttle has no room for more "
                "failing accounts or addresses; refusing logins it could not count "
                "(login_throttle_slots = %ld)", r->id, app->cfg.login_throttle_slots);
    if (wait > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", wait);
        http_header(r, "Retry-After", ra);
        http_error(r, 429, "Too many failed login attempts; retry in %ld seconds", wait);
        return;
    }
    struct user u;
    struct store *s = http_store(r);
    int rc = valid_email ? s->ops->user_get_by_email(s, email, &u) : STORE_ERR_NOT_FOUND;
    if (rc && rc != STORE_ERR_NOT_FOUND) {
        login_throttle_end(&ticket, LOGIN_ABANDONED, time_now_us());
        http_store_error(r, rc);
        return;
    }
    bool found = rc == 0;
    /* Give the connection back while hashing: argon2id takes tens of ms. */
    store_pool_put(app->pool, r->store);
    r->store = NULL;
    while (sem_wait(&auth_state.hash_gate) != 0 && errno == EINTR)
        ;
    bool ok = users_verify_password(found ? u.password_hash : NULL, password);
    sem_post(&auth_state.hash_gate);
    login_throttle_end(&ticket, ok ? LOGIN_SUCCEEDED : LOGIN_FAILED, time_now_us());
    if (!ok) {
        http_error(r, 401, "Incorrect email or password");
        json_t *d = json_object();
        json_object_set_new(d, "email", json_string(email));
        json_object_set_new(d, "reason", json_string(found ? "wrong password" : "unknown email"));
        if (found)
            r->user = u;
        r->authed = found;
        http_audit(r, "LOGIN_FAILED", "user", NULL, d);
        r->authed = false;
        json_decref(d);
        return;
    }
    if (!u.is_active) {
        http_error(r, 403, "Inactive user");
        r->user = u;
        r->authed = true;
        http_audit(r, "LOGIN_FAILED", "user", NULL, NULL);
        r->authed = false;
        return;
    }
    r->user = u;
    r->authed = true;
    if (issue_pair(r, &u, NULL, wants_cookie(r)) == 0)
        http_audit(r, "LOGIN", "user", NULL, NULL);
}

void h_refresh(struct http_req *r)
{
    const char *token = NULL;
    if (http_body_string(r, "refresh_token", false, TOKEN_MAX, &token) < 0)
        return;
    bool cookie = false;
    if (!token) {
        token = u_map_get(r->u->map_cookie, COOKIE_NAME);
        cookie = token != NULL;
    }
    if (!token) {
        http_error(r, 401, "A refresh token is required");
        return;
    }
    jwt_t *jwt = verify_token(r->app, token, "refresh");
    const char *jti = jwt ? jwt_get_grant(jwt, "jti") : NULL;
    int64_t uid = jwt ? token_user(jwt) : 0;
    if (!jwt || !jti || !uid) {
        jwt_free(jwt);
        http_error(r, 401, "Invalid or expired refresh token");
        return;
    }
    struct store *s = http_store(r);
    struct refresh_token t;
    int rc = s->ops->refresh_get(s, jti, &t);
    jwt_free(jwt);
    if (rc == STORE_ERR_NOT_FOUND || (rc == 0 && (t.revoked_at || t.user_id != uid))) {
        http_error(r, 401, "Invalid or expired refresh token");
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    int64_t now = time_now_us();
    rc = s->ops->refresh_mark_used(s, t.jti, now);
    if (rc == STORE_ERR_CONFLICT) {
        /* A rotated token came back: someone holds a copy, and which of the two
         * holders is the owner cannot be told. End every session of the user:
         * the refresh tokens and the access tokens issued so far. */
        rc = users_end_sessions(s, uid, now);
        auth_forget_user(uid);
        if (rc && rc != STORE_ERR_NOT_FOUND) {
            http_store_error(r, rc);
            return;
        }
        log_msg(LOG_WARNING, "auth", "request %s: refresh token reuse for user %lld; "
                "ended every session of the user", r->id, (long long)uid);
        http_error(r, 401, "Refresh token reuse detected; please log in again");
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    struct user u;
    rc = s->ops->user_get(s, uid, &u);
    if (rc == STORE_ERR_NOT_FOUND || (rc == 0 && !u.is_active)) {
        http_error(r, 401, "Inactive or unknown user");
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    r->user = u;
    r->authed = true;
    issue_pair(r, &u, t.family, cookie || wants_cookie(r));
}

void h_logout(struct http_req *r)
{
    /* Every session of the caller ends: the refresh tokens and every access
     * token issued until now. Only tokens_valid_after is written, never the
     * user row read when the request was authenticated. */
    int rc = users_end_sessions(http_store(r), r->user.id, time_now_us());
    auth_forget_user(r->user.id);
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    ulfius_add_same_site_cookie_to_response(r->resp, COOKIE_NAME, "", NULL, 0, NULL,
                                            COOKIE_PATH, 0, 1, U_COOKIE_SAME_SITE_STRICT);
    json_t *o = json_object();
    json_object_set_new(o, "detail", json_string("Logged out"));
    http_json(r, 200, o);
    http_audit(r, "LOGOUT", "user", NULL, NULL);
}

void h_me(struct http_req *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->user.id));
    json_object_set_new(o, "email", json_string(r->user.email));
    json_object_set_new(o, "name", json_string(r->user.name));
    json_object_set_new(o, "role", json_string(r->user.role));
    json_object_set_new(o, "is_active", json_boolean(r->user.is_active));
    http_json(r, 200, o);
}

/* ---- verification alone (token.h) ------------------------------------------------ */

int auth_token_verify(struct app *app, const char *token, const char *type,
                      int64_t *user_id)
{
    jwt_t *jwt = verify_token(app, token, type);
    if (!jwt)
        return -1;
    int64_t uid = token_user(jwt);
    jwt_free(jwt);
    if (!uid)
        return -1;
    *user_id = uid;
    return 0;
}

/* users.c — accounts and argon2id password hashes (libsodium). */
#include "service/users.h"

#include "model/role.h"
#include "service/errors.h"
#include "service/report.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int users_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

int users_normalize_email(const char *in, char out[EMAIL_MAX + 1])
{
    size_t n = in ? strlen(in) : 0;
    if (n < 3 || n > EMAIL_MAX)
        return LS_ERR_VALIDATION;
    const char *at = strchr(in, '@');
    if (!at || at == in || at[1] == '\0' || strchr(at + 1, '@'))
        return LS_ERR_VALIDATION;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
            c == ',' || c == ';')
            return LS_ERR_VALIDATION;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return 0;
}

bool users_valid_role(const char *role)
{
    return role_valid(role);
}

int users_role_rank(const char *role)
{
    return role_rank(role);
}

int users_hash_password(const char *password, char out[192], char *err, size_t errlen)
{
    size_t n = password ? strlen(password) : 0;
    if (n < USERS_PASSWORD_MIN || n > USERS_PASSWORD_MAX) {
        snprintf(err, errlen, "password must be %d to %d characters", USERS_PASSWORD_MIN,
                 USERS_PASSWORD_MAX);
        return LS_ERR_VALIDATION;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        snprintf(err, errlen, "out of memory while hashing the password");
        return LS_ERR_NOMEM;
    }
    snprintf(out, 192, "%s", hash);
    sodium_memzero(hash, sizeof hash);
    return 0;
}

static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    unsigned char pw[16];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
}

bool users_verify_password(const char *hash, const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (n > USERS_PASSWORD_MAX)
        n = USERS_PASSWORD_MAX;
    if (!hash || !strcmp(hash, USERS_NO_PASSWORD)) {
        /* Spend the same time as a real verification, then refuse. */
        pthread_once(&dummy_once, make_dummy_hash);
        if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, password ? password : "", n) == 0)
            return false; /* a random password matched: still no account */
        return false;
    }
    return crypto_pwhash_str_verify(hash, password ? password : "", n) == 0;
}

static int check_name(const char *name, char *err, size_t errlen)
{
    if (name && strlen(name) > USER_NAME_MAX) {
        snprintf(err, errlen, "name must be at most %d characters", USER_NAME_MAX);
        return LS_ERR_VALIDATION;
    }
    return 0;
}

int users_create(struct store *s, const char *email, const char *name, const char *password,
                 const char *role, struct user *out, char *err, size_t errlen)
{
    struct user u;
    memset(&u, 0, sizeof u);
    if (users_normalize_email(email, u.email)) {
        snprintf(err, errlen, "invalid email address '%.80s'", email ? email : "");
        return LS_ERR_VALIDATION;
    }
    if (!role)
        role = "student";
    if (!users_valid_role(role)) {
        snprintf(err, errlen, "invalid role '%.32s' (expected admin, instructor or student)",
                 role);
        return LS_ERR_VALIDATION;
    }
    int rc = check_name(name, err, errlen);
    if (rc)
        return rc;
    if (password) {
        rc = users_hash_password(password, u.password_hash, err, errlen);
        if (rc)
            return rc;
    } else {
        snprintf(u.password_hash, sizeof u.password_hash, USERS_NO_PASSWORD);
    }
    snprintf(u.name, sizeof u.name, "%s", name ? name : "");
    snprintf(u.role, sizeof u.role, "%s", role);
    u.is_active = true;
    u.created_at = u.updated_at = time_now_us();
    /* Addresses are one without regard to case, also one another program
     * stored with capitals (the unique index compares them exactly). */
    struct user same;
    rc = s->ops->user_get_by_email(s, u.email, &same);
    if (rc == 0) {
        snprintf(err, errlen, "a user with email %s already exists", same.email);
        return LS_ERR_CONFLICT;
    }
    if (rc != STORE_ERR_NOT_FOUND) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    rc = s->ops->user_insert(s, &u);
    if (rc) {
        if (rc == STORE_ERR_CONFLICT)
            snprintf(err, errlen, "a user with email %s already exists", u.email);
        else
            snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if (out)
        *out = u;
    return 0;
}

int users_get_by_email(struct store *s, const char *email, struct user *out, char *err,
                       size_t errlen)
{
    char norm[EMAIL_MAX + 1];
    if (users_normalize_email(email, norm)) {
        snprintf(err, errlen, "no user with email '%.80s'", email ? email : "");
        return LS_ERR_NOT_FOUND;
    }
    int rc = s->ops->user_get_by_email(s, norm, out);
    if (rc == STORE_ERR_NOT_FOUND) {
        snprintf(err, errlen, "no user with email %s", norm);
        return LS_ERR_NOT_FOUND;
    }
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    return 0;
}

int users_update(struct store *s, int64_t id, const char *name, const char *role,
                 int is_active, const char *password, struct user *out, char *err,
                 size_t errlen)
{
    char hash[192] = "";
    int rc = check_name(name, err, errlen);
    if (rc)
        return rc;
    if (role && !users_valid_role(role)) {
        snprintf(err, errlen, "invalid role '%.32s' (expected admin, instructor or student)",
                 role);
        return LS_ERR_VALIDATION;
    }
    /* Hash before taking the write lock: argon2id is deliberately slow. */
    if (password && (rc = users_hash_password(password, hash, err, errlen)) != 0)
        return rc;
    if ((rc = s->ops->begin(s, STORE_TXN_WRITE)) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    struct user u;
    rc = s->ops->user_get(s, id, &u);
    if (rc) {
        if (rc == STORE_ERR_NOT_FOUND)
            snprintf(err, errlen, "User %lld not found", (long long)id);
        else
            snprintf(err, errlen, "%s", store_errmsg(s));
        goto fail;
    }
    bool was_admin = u.is_active && !strcmp(u.role, "admin");
    bool now_active = is_active >= 0 ? is_active != 0 : u.is_active;
    const char *now_role = role ? role : u.role;
    if (was_admin && (!now_active || strcmp(now_role, "admin") != 0)) {
        int64_t admins = 0;
        rc = s->ops->user_count(s, "admin", true, &admins);
        if (rc) {
            snprintf(err, errlen, "%s", store_errmsg(s));
            goto fail;
        }
        if (admins <= 1) {
            snprintf(err, errlen, "cannot demote or disable the last active admin");
            s->ops->rollback(s);
            return LS_ERR_CONFLICT;
        }
    }
    /* Only what changes is written: a concurrent change of another field (by
     * the CLI, another server) is kept. */
    struct user_change c = {.name = name, .role = role, .is_active = is_active,
                            .password_hash = password ? hash : NULL,
                            .updated_at = time_now_us()};
    /* Disabling or a new password ends every session: the tokens issued so far
     * stay refused even if the account is enabled again later. */
    bool end_sessions = (u.is_active && !now_active) || password;
    if (end_sessions)
        c.tokens_valid_after = c.updated_at + 1;
    if ((rc = s->ops->user_update(s, id, &c)) != 0 ||
        (end_sessions && (rc = s->ops->refresh_revoke_user(s, id, c.updated_at)) != 0) ||
        (rc = s->ops->user_get(s, id, &u)) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        goto fail;
    }
    if ((rc = s->ops->commit(s)) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if (out)
        *out = u;
    sodium_memzero(hash, sizeof hash);
    return 0;
fail:
    s->ops->rollback(s);
    return ls_from_store(rc);
}

int users_end_sessions(struct store *s, int64_t id, int64_t when)
{
    int rc = s->ops->begin(s, STORE_TXN_WRITE);
    if (rc)
        return rc;
    struct user_change c = {.is_active = -1, .tokens_valid_after = when + 1};
    if ((rc = s->ops->refresh_revoke_user(s, id, when)) != 0 ||
        (rc = s->ops->user_update(s, id, &c)) != 0) {
        s->ops->rollback(s);
        return rc;
    }
    return s->ops->commit(s);
}

int users_get(struct store *s, int64_t id, struct user *out)
{
    return s->ops->user_get(s, id, out);
}

int users_list(struct store *s, const struct user_filter *f, store_user_cb cb, void *ctx)
{
    return s->ops->user_list(s, f, cb, ctx);
}

json_t *users_json(const struct user *u, bool with_times)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(u->id));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "name", json_string(u->name));
    json_object_set_new(o, "role", json_string(u->role));
    json_object_set_new(o, "is_active", json_boolean(u->is_active));
    if (with_times) {
        json_object_set_new(o, "created_at", report_time_json(u->created_at));
        json_object_set_new(o, "updated_at", report_time_json(u->updated_at));
    }
    return o;
}

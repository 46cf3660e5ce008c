/* tokens.c — the signing secret, and signing and verifying HS256 JWTs
 * (libjwt). */
#include "http/token.h"

#include "util/fsutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the signing secret ------------------------------------------------------- */

int token_secret_check(const char *text, size_t len, bool trim_line_end, const char *what,
                       size_t *secret_len, char *err, size_t errlen)
{
    while (trim_line_end && len &&
           (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    *secret_len = len;
    if (len < TOKEN_SECRET_MIN) {
        snprintf(err, errlen, "%s must be at least %d characters", what, TOKEN_SECRET_MIN);
        return TOKEN_SECRET_SHORT;
    }
    if (len > TOKEN_SECRET_MAX) {
        snprintf(err, errlen, "%s must be at most %zu characters (it has %zu)", what,
                 TOKEN_SECRET_MAX, len);
        return TOKEN_SECRET_LONG;
    }
    return 0;
}

/* Use `text` (len bytes) as app's secret under token_secret_check's rule, or
 * refuse it (-1 with err). */
static int set_secret(struct app *app, const char *text, size_t len, bool from_file,
                      const char *what, char *err, size_t errlen)
{
    size_t n = 0;
    if (token_secret_check(text, len, from_file, what, &n, err, errlen) != 0)
        return -1;
    memcpy(app->jwt_secret, text, n);
    app->jwt_secret_len = n;
    return 0;
}

/* First start: 64 random bytes, hex, readable by the owner only. */
static int create_secret_file(struct app *app, const char *path, char *err, size_t errlen)
{
    unsigned char raw[64];
    char hex[129];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    hex[128] = '\n';
    int rc = fs_write_atomic(path, hex, sizeof hex, 0600, err, errlen);
    sodium_memzero(raw, sizeof raw);
    if (rc == 0) {
        memcpy(app->jwt_secret, hex, 128);
        app->jwt_secret_len = 128;
        log_msg(LOG_INFO, "auth", "generated a new signing secret in %s (mode 0600)", path);
    }
    sodium_memzero(hex, sizeof hex);
    return rc ? -1 : 0;
}

int token_load_secret(struct app *app, char *err, size_t errlen)
{
    const char *cfg = app->cfg.jwt_secret;
    if (cfg[0])
        return set_secret(app, cfg, strlen(cfg), false, "jwt_secret", err, errlen);
    char path[FS_PATH_MAX];
    if (fs_join(path, sizeof path, app->cfg.data_dir, "secret.key") != 0) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    /* Room for the longest secret and its line end. */
    int rc = fs_read_file(path, TOKEN_SECRET_MAX + 2, &text, &len);
    if (rc == -ENOENT)
        return create_secret_file(app, path, err, errlen);
    if (rc == -EFBIG) {
        snprintf(err, errlen, "%s must hold at most %zu characters", path, TOKEN_SECRET_MAX);
        return -1;
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
    rc = set_secret(app, text, len, true, path, err, errlen);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

/* ---- signing and verifying ------------------------------------------------------- */

void token_random_id(char out[33])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 33, raw, sizeof raw);
}

char *token_sign(struct app *app, const struct user *u, const char *type, int64_t now,
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

/* A grant copied into out[len]; "" when absent or too long. */
static void copy_grant(jwt_t *jwt, const char *name, char *out, size_t len)
{
    const char *v = jwt_get_grant(jwt, name);
    if (!v || strlen(v) >= len)
        v = "";
    snprintf(out, len, "%s", v);
}

int token_verify(struct app *app, const char *token, const char *type,
                 struct token_claims *out)
{
    if (!token || !*token || strlen(token) > TOKEN_MAX)
        return -1;
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, app->jwt_secret, (int)app->jwt_secret_len) != 0 || !jwt)
        return -1;
    /* Only HS256: "alg": "none" or any other algorithm is refused outright. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return -1;
    }
    const char *t = jwt_get_grant(jwt, "type");
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno || !t || strcmp(t, type) != 0 || exp <= (long)(time_now_us() / USEC_PER_SEC)) {
        jwt_free(jwt);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->exp_s = exp;
    const char *sub = jwt_get_grant(jwt, "sub");
    char *end = NULL;
    long long id = sub ? strtoll(sub, &end, 10) : 0;
    out->user_id = (sub && end && *end == '\0' && id > 0) ? id : 0;
    errno = 0;
    long issued = jwt_get_grant_int(jwt, "iat_us");
    out->issued_us = errno ? 0 : (int64_t)issued;
    copy_grant(jwt, "jti", out->jti, sizeof out->jti);
    copy_grant(jwt, "fam", out->family, sizeof out->family);
    jwt_free(jwt);
    return 0;
}

int auth_token_verify(struct app *app, const char *token, const char *type,
                      int64_t *user_id)
{
    struct token_claims c;
    if (token_verify(app, token, type, &c) != 0 || !c.user_id)
        return -1;
    *user_id = c.user_id;
    return 0;
}

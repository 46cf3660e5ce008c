/* fuzz_jwt.c — libFuzzer harness: Lockstep's token verification
 * (auth_token_verify in src/http/tokens.c, what every request and refresh runs)
 * with a fixed secret. No token that was not signed with that secret may
 * verify, nor one whose header is not HS256, nor one whose claims are wrong
 * (type, exp, sub).
 *
 * Input: one mode byte, then
 *   mode even: a token as sent (the seeds hold valid ones to mutate);
 *   mode odd:  header JSON, LF, payload JSON — the harness signs them with
 *              the right secret (so the claims checks are reached), and
 *              checks that the same token with any other signature fails.
 * Bit 1 of the mode picks the expected type: access or refresh. */
#include "http/token.h"
#include "service/app.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char secret[] = "fuzzing-secret-fuzzing-secret-0123456789";
static struct app app;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    memcpy(app.jwt_secret, secret, sizeof secret - 1);
    app.jwt_secret_len = sizeof secret - 1;
    return 0;
}

/* base64url without padding of n bytes; caller frees. */
static char *b64url(const void *data, size_t n)
{
    size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(len);
    if (out)
        sodium_bin2base64(out, len, data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static void hmac(const char *input, size_t n, unsigned char mac[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, sizeof secret - 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)input, n);
    crypto_auth_hmacsha256_final(&st, mac);
}

/* Decode one base64url part (padding and bad characters tolerated the way a
 * lenient decoder would) into out; returns the length or -1. */
static long decode_part(const char *s, size_t n, unsigned char *out, size_t cap)
{
    size_t len = 0;
    if (sodium_base642bin(out, cap, s, n, "=", &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    return (long)len;
}

/* What a verified token must satisfy, judged here independently of libjwt:
 * signed with the secret over exactly its first two parts, header alg HS256,
 * type as asked, exp in the future, sub a positive integer. libjwt reads
 * each part as a C string, so what follows a NUL after the JSON is ignored
 * (covered by the signature all the same): the JSON here is read up to its
 * end too. */
static void check_verified(const char *token, const char *type, int64_t uid)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2) {
        fprintf(stderr, "verified a token without three parts: %s\n", token);
        abort();
    }
    unsigned char mac[32], sig[64];
    hmac(token, (size_t)(dot2 - token), mac);
    long n = decode_part(dot2 + 1, strlen(dot2 + 1), sig, sizeof sig);
    if (n != 32 || sodium_memcmp(mac, sig, 32) != 0) {
        fprintf(stderr, "verified a token not signed with the secret: %s\n", token);
        abort();
    }
    size_t cap = strlen(token);
    unsigned char *buf = malloc(cap + 1);
    long hl = buf ? decode_part(token, (size_t)(dot1 - token), buf, cap) : -1;
    json_t *header = hl >= 0 ? json_loadb((const char *)buf, (size_t)hl, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    const char *alg = json_string_value(json_object_get(header, "alg"));
    /* libjwt reads the algorithm's name without regard to case: "hs256" is
     * HS256 all the same (and the signature above is HMAC-SHA256's). */
    if (!alg || strcasecmp(alg, "HS256") != 0) {
        fprintf(stderr, "verified a token whose header is not HS256: %s\n", token);
        abort();
    }
    long pl = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf, cap);
    json_t *claims = pl >= 0 ? json_loadb((const char *)buf, (size_t)pl, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    const char *t = json_string_value(json_object_get(claims, "type"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    json_t *exp = json_object_get(claims, "exp");
    char *sub_end = NULL;
    long long sub_id = sub ? strtoll(sub, &sub_end, 10) : 0;
    if (!t || strcmp(t, type) != 0 || !sub || *sub_end || sub_id != uid || uid <= 0 ||
        !json_is_integer(exp) || json_integer_value(exp) <= (json_int_t)time(NULL)) {
        fprintf(stderr, "verified a token with wrong claims (type %s, user %lld): %s\n", type,
                (long long)uid, token);
        abort();
    }
    json_decref(header);
    json_decref(claims);
    free(buf);
}

static void verify(const char *token, const char *type)
{
    int64_t uid = 0;
    if (auth_token_verify(&app, token, type, &uid) == 0)
        check_verified(token, type, uid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *type = data[0] & 2 ? "refresh" : "access";
    if (!(data[0] & 1)) {
        char *token = strndup((const char *)data + 1, size - 1);
        if (token)
            verify(token, type);
        free(token);
        return 0;
    }
    const char *text = (const char *)data + 1, *end = (const char *)data + size;
    const char *nl = memchr(text, '\n', (size_t)(end - text));
    if (!nl)
        return 0;
    char *h = b64url(text, (size_t)(nl - text));
    char *p = b64url(nl + 1, (size_t)(end - nl - 1));
    size_t cap = (h ? strlen(h) : 0) + (p ? strlen(p) : 0) + 64;
    char *token = malloc(cap);
    if (h && p && token) {
        unsigned char mac[32];
        int n = snprintf(token, cap, "%s.%s", h, p);
        hmac(token, (size_t)n, mac);
        char *sig = b64url(mac, sizeof mac);
        snprintf(token + n, cap - (size_t)n, ".%s", sig ? sig : "");
        verify(token, type);
        /* Any other signature, however close, must fail. */
        if (sig) {
            size_t at = (size_t)n + 1 + (data[0] >> 2) % strlen(sig);
            token[at] = token[at] == 'A' ? 'B' : 'A';
            int64_t uid = 0;
            if (auth_token_verify(&app, token, type, &uid) == 0) {
                unsigned char again[32], got[64];
                long len = decode_part(token + n + 1, strlen(token + n + 1), got, sizeof got);
                /* Only a different spelling of the same signature may pass. */
                if (len != 32 || sodium_memcmp(mac, got, 32) != 0 ||
                    (hmac(token, (size_t)n, again), sodium_memcmp(again, mac, 32) != 0)) {
                    fprintf(stderr, "verified a token with a changed signature: %s\n", token);
                    abort();
                }
            }
        }
        free(sig);
    }
    free(h);
    free(p);
    free(token);
    return 0;
}

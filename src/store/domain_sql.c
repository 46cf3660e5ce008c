/* domain_sql.c — templates of domain statements made into SQL for one
 * mapping: {key} tokens become quoted (and, for tables, qualified) names. */
#include "store/domain_sql.h"

#include "util/buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements are short; a template expands to at most this. */
#define DOMAIN_SQL_MAX (64 * 1024)

static int put_quoted(struct buf *b, const char *name)
{
    int rc = buf_puts(b, "\"");
    for (const char *c = name; rc == 0 && *c; c++) {
        rc = buf_append(b, c, 1);
        if (rc == 0 && *c == '"')
            rc = buf_append(b, "\"", 1);
    }
    return rc ? rc : buf_puts(b, "\"");
}

/* The length of the key of a token at t (just after '{'), or 0 when t does
 * not start "key}". */
static size_t token_len(const char *t)
{
    size_t n = 0;
    while ((t[n] >= 'a' && t[n] <= 'z') || t[n] == '_')
        n++;
    return n > 0 && t[n] == '}' ? n : 0;
}

/* A conditional at t (just after '{'): "?key|text}" (text when key is
 * mapped) or "!key|text}" (text when it is not); text may hold plain tokens.
 * Sets *key_len and *body (the text) and *body_len; returns the length from t
 * to after the closing '}', or 0 when t starts no conditional. */
static size_t conditional_len(const char *t, size_t *key_len, const char **body,
                              size_t *body_len)
{
    if (t[0] != '?' && t[0] != '!')
        return 0;
    size_t n = 1;
    while ((t[n] >= 'a' && t[n] <= 'z') || t[n] == '_')
        n++;
    if (n == 1 || t[n] != '|')
        return 0;
    *key_len = n - 1;
    *body = t + n + 1;
    int depth = 0;
    for (size_t i = n + 1; t[i]; i++) {
        if (t[i] == '{')
            depth++;
        else if (t[i] == '}' && depth-- == 0) {
            *body_len = i - (n + 1);
            return i + 1;
        }
    }
    return 0;
}

char *domain_sql_expand(const struct domain_map *m, const char *qualifier, const char *tmpl,
                        char *err, size_t errlen)
{
    struct buf b = BUF_INIT(DOMAIN_SQL_MAX);
    int rc = 0;
    const char *c = tmpl;
    while (rc == 0 && *c) {
        const char *open = strchr(c, '{');
        size_t key_len = 0, body_len = 0;
        const char *body = NULL;
        size_t cond = open ? conditional_len(open + 1, &key_len, &body, &body_len) : 0;
        if (cond) {
            rc = buf_append(&b, c, (size_t)(open - c));
            char key[DOMAIN_IDENT_MAX];
            snprintf(key, sizeof key, "%.*s",
                     (int)(key_len < sizeof key ? key_len : sizeof key - 1), open + 2);
            int name = domain_name_find(key);
            if (name < 0) {
                snprintf(err, errlen, "statement template: {%c%s|…} names no mapped table or "
                         "column", open[1], key);
                buf_free(&b);
                return NULL;
            }
            bool mapped = m->name[name][0] != '\0';
            if (rc == 0 && mapped == (open[1] == '?')) {
                char inner[4096];
                if (body_len >= sizeof inner) {
                    snprintf(err, errlen, "statement template: a conditional is too long");
                    buf_free(&b);
                    return NULL;
                }
                memcpy(inner, body, body_len);
                inner[body_len] = '\0';
                char *text = domain_sql_expand(m, qualifier, inner, err, errlen);
                if (!text) {
                    buf_free(&b);
                    return NULL;
                }
                rc = buf_puts(&b, text);
                free(text);
            }
            c = open + 1 + cond;
            continue;
        }
        size_t n = open ? token_len(open + 1) : 0;
        if (!open || n == 0) {
            /* No token here: copy through the brace (or the rest). */
            size_t upto = open ? (size_t)(open - c) + 1 : strlen(c);
            rc = buf_append(&b, c, upto);
            c += upto;
            continue;
        }
        rc = buf_append(&b, c, (size_t)(open - c));
        char key[DOMAIN_IDENT_MAX];
        snprintf(key, sizeof key, "%.*s", (int)(n < sizeof key ? n : sizeof key - 1), open + 1);
        if (!strcmp(key, "lockstep_schema")) { /* Lockstep's own schema, quoted */
            rc = rc ? rc : put_quoted(&b, m->own_schema);
            c = open + 1 + n + 1;
            continue;
        }
        int name = domain_name_find(key);
        if (name < 0) {
            snprintf(err, errlen, "statement template: {%s} names no mapped table or column",
                     key);
            buf_free(&b);
            return NULL;
        }
        if (!m->name[name][0]) {
            snprintf(err, errlen, "a statement needs %s, which the mapping leaves empty", key);
            buf_free(&b);
            return NULL;
        }
        if (rc == 0 && qualifier && strstr(key, "_table")) {
            rc = put_quoted(&b, qualifier);
            rc = rc ? rc : buf_puts(&b, ".");
        }
        rc = rc ? rc : put_quoted(&b, m->name[name]);
        c = open + 1 + n + 1;
    }
    char *out = rc == 0 ? buf_detach(&b) : NULL;
    if (!out)
        snprintf(err, errlen, "%s", rc == BUF_ERR_LIMIT ? "statement template: too long"
                                                        : "out of memory");
    buf_free(&b);
    return out;
}

/* domain_sql.c — templates of domain statements made into SQL for one
 * mapping: {key} tokens become quoted (and, for tables, qualified) names. */
#include "store/domain_sql.h"

#include "util/buf.h"

#include <stdio.h>
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

char *domain_sql_expand(const struct domain_map *m, const char *qualifier, const char *tmpl,
                        char *err, size_t errlen)
{
    struct buf b = BUF_INIT(DOMAIN_SQL_MAX);
    int rc = 0;
    const char *c = tmpl;
    while (rc == 0 && *c) {
        const char *open = strchr(c, '{');
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

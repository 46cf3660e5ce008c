/* fuzz_store_url.c — libFuzzer harness: the store URL (store_url_parse, what
 * store_open reads before it opens anything) and, for a PostgreSQL URL, the
 * libpq parse of what store_pg_open hands to libpq (PQconninfoParse: no
 * connection is made). Nothing is opened, connected or created. */
#include "store/store.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = strndup((const char *)data, size);
    if (!url)
        return 0;
    enum store_url_kind kind;
    const char *target = NULL;
    char err[300] = "";
    int rc = store_url_parse(url, &kind, &target, err, sizeof err);
    if (rc == 0) {
        /* The target lies inside the URL and is never empty. */
        if (!target || target < url || target > url + strlen(url) || !*target) {
            fprintf(stderr, "store_url_parse(\"%s\"): bad target\n", url);
            abort();
        }
        if (kind == STORE_URL_POSTGRES) {
            char *msg = NULL;
            PQconninfoOption *opts = PQconninfoParse(target, &msg);
            PQconninfoFree(opts);
            PQfreemem(msg);
        } else if (kind != STORE_URL_SQLITE || strncmp(url, "sqlite:", 7) != 0) {
            fprintf(stderr, "store_url_parse(\"%s\"): kind %d\n", url, (int)kind);
            abort();
        }
    } else if (rc != STORE_ERR_URL || !err[0]) {
        fprintf(stderr, "store_url_parse(\"%s\"): %d without a message\n", url, rc);
        abort();
    }
    free(url);
    return 0;
}

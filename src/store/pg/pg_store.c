/* pg_store.c — the PostgreSQL store (store.h on libpq). Work in progress: URLs are refused. */
#include "store/store.h"

#include <stdio.h>

int store_pg_open(const char *conninfo, const struct store_options *o, struct store **out,
                  char *err, size_t errlen)
{
    (void)conninfo;
    (void)o;
    *out = NULL;
    snprintf(err, errlen, "PostgreSQL stores are not supported by this build yet");
    return STORE_ERR_URL;
}

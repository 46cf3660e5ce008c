/* cmd_migrate.c — `lockstep migrate`: apply pending schema migrations. */
#include "cli/cli.h"

#include <stdio.h>

int cmd_migrate(struct cli *c, int argc, char **argv)
{
    struct cli_args args;
    int rc = cli_parse(c, argc, argv, NULL, 0, 0, &args);
    if (rc)
        return rc;
    if ((rc = cli_configure(c)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_create_store(c, false, &s)) != 0)
        return rc;
    int applied = 0, version = 0;
    rc = s->ops->migrate(s, &applied);
    if (rc == 0)
        rc = s->ops->schema_version(s, &version);
    if (rc) {
        cli_error(c, "%s", store_errmsg(s));
        store_close(s);
        return EXIT_FAIL;
    }
    printf("Database schema is at version %d (%s store); %d migration%s applied now\n",
           version, s->ops->name, applied, applied == 1 ? "" : "s");
    store_close(s);
    return EXIT_OK;
}

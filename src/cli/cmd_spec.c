/* cmd_spec.c — `lockstep spec add|list`: the specializations. */
#include "cli/cli.h"
#include "service/errors.h"
#include "service/specs.h"

#include <stdio.h>
#include <string.h>

static int print_spec(void *ctx, const struct specialization *sp)
{
    (void)ctx;
    /* A track of an attached database without a level count (no max_levels
     * column, not under [levels]) has no known maximum. */
    char max[16] = "unknown";
    if (sp->max_levels > 0)
        snprintf(max, sizeof max, "%d", sp->max_levels);
    printf("%-12s %-24s max_levels %-7s %s\n", sp->id, sp->name, max,
           sp->is_active ? "active" : "inactive");
    return 0;
}

int cmd_spec(struct cli *c, int argc, char **argv)
{
    const char *name = NULL, *max_levels = NULL;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--name", &name),
        CLI_VALUE("--max-levels", &max_levels),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 2, &args);
    if (rc)
        return rc;
    bool add = args.n >= 1 && !strcmp(args.pos[0], "add");
    bool list = args.n == 1 && !strcmp(args.pos[0], "list");
    if (!(add && args.n == 2 && name && max_levels) && !(list && !name && !max_levels)) {
        cli_error(c, "usage: lockstep spec add ID --name N --max-levels M | lockstep spec list");
        return EXIT_USAGE;
    }
    long long levels = 0;
    if (add && (rc = cli_parse_int(c, "--max-levels", max_levels, 1, 100, &levels)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    char err[600];
    if (list) {
        rc = s->ops->spec_list(s, print_spec, NULL);
        if (rc)
            cli_error(c, "%s", store_errmsg(s));
        store_close(s);
        return rc ? EXIT_FAIL : EXIT_OK;
    }
    struct specialization sp;
    rc = specs_create(s, args.pos[1], name, (int)levels, &sp, err, sizeof err);
    store_close(s);
    if (rc) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    printf("Created specialization %s (%s, %d levels)\n", sp.id, sp.name, sp.max_levels);
    return EXIT_OK;
}

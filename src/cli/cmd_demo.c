/* cmd_demo.c — `lockstep demo`: reproducible demo data and the admin login. */
#include "cli/cli.h"
#include "service/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_demo(struct cli *c, int argc, char **argv)
{
    const char *users = NULL, *drift = NULL, *orphans = NULL, *seed = NULL;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--users", &users),
        CLI_VALUE("--drift", &drift),
        CLI_VALUE("--orphans", &orphans),
        CLI_VALUE("--seed", &seed),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 0, &args);
    if (rc)
        return rc;
    struct demo_options o = {.users = 150, .drift_pct = 1.5, .orphans = 0, .seed = 42};
    long long v;
    if (users) {
        if ((rc = cli_parse_int(c, "--users", users, 0, 100000000, &v)) != 0)
            return rc;
        o.users = v;
    }
    if (orphans) {
        if ((rc = cli_parse_int(c, "--orphans", orphans, 0, 1000000, &v)) != 0)
            return rc;
        o.orphans = v;
    }
    if (seed) {
        if ((rc = cli_parse_int(c, "--seed", seed, 0, INT64_MAX, &v)) != 0)
            return rc;
        o.seed = (uint64_t)v;
    }
    if (drift) {
        char *end = NULL;
        o.drift_pct = strtod(drift, &end);
        if (end == drift || *end || !(o.drift_pct >= 0 && o.drift_pct <= 100)) { /* NaN too */
            cli_error(c, "invalid --drift '%.40s' (expected a percentage from 0 to 100)", drift);
            return EXIT_USAGE;
        }
    }
    if ((rc = cli_configure(c)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_create_store(c, true, &s)) != 0)
        return rc;
    struct demo_result r;
    char err[600];
    rc = demo_generate(s, &o, &r, err, sizeof err);
    store_close(s);
    if (rc) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    printf("Demo data: %lld students (%lld with progress and a license, %lld with progress "
           "only, %lld with a license only), %lld drifted pairs (seed %llu)\n",
           (long long)r.students, (long long)(r.students - r.orphan_progress - r.orphan_license),
           (long long)r.orphan_progress, (long long)r.orphan_license, (long long)r.drifted,
           (unsigned long long)o.seed);
    if (r.admin_created) {
        printf("Admin login (shown once; change it with 'lockstep user passwd'):\n");
        printf("  email:    %s\n  password: %s\n", r.admin_email, r.admin_password);
    }
    return EXIT_OK;
}

/* main.c — the lockstep binary: global options, then one verb (cli/cmd_*.c). */
#include "cli/cli.h"
#include "service/users.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef LOCKSTEP_VERSION
#define LOCKSTEP_VERSION "0.0.0"
#endif
/* The config file read when neither --config nor LOCKSTEP_CONFIG names one
 * (CMake: -DLOCKSTEP_SYSTEM_CONFIG=PATH). */
#ifndef LOCKSTEP_SYSTEM_CONFIG
#define LOCKSTEP_SYSTEM_CONFIG "/etc/lockstep/lockstep.ini"
#endif

static int cmd_version(struct cli *c, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        cli_error(c, "takes no arguments");
        return EXIT_USAGE;
    }
    printf("lockstep %s\n", LOCKSTEP_VERSION);
    return EXIT_OK;
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
    if (argc > 2) {
        cli_error(c, "usage: lockstep help [VERB]");
        return EXIT_USAGE;
    }
    if (!cli_usage(stdout, argc == 2 ? argv[1] : NULL)) {
        cli_error(c, "unknown verb '%s' (see 'lockstep help')", argv[1]);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

struct verb {
    const char *name;
    int (*run)(struct cli *c, int argc, char **argv);
};

static const struct verb verbs[] = {
    {"serve", cmd_serve},     {"check", cmd_check},     {"sync", cmd_sync},       {"demo", cmd_demo},
    {"user", cmd_user},       {"spec", cmd_spec},       {"migrate", cmd_migrate},
    {"baseline", cmd_baseline}, {"trend", cmd_trend},   {"report", cmd_report},
    {"alerts", cmd_alerts},   {"doctor", cmd_doctor},   {"watch", cmd_watch},   {"version", cmd_version}, {"help", cmd_help},
};

/* Take the global options (--config, --db, --data-dir) out of argv, wherever
 * they are. Returns the new argc, or -1 after printing a usage error. */
static int take_global_options(struct cli *c, int argc, char **argv)
{
    static const struct {
        const char *flag, *key;
    } globals[] = {{"--db", "db"}, {"--data-dir", "data_dir"}, {"--config", NULL}};
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int matched = 0;
        for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++) {
            size_t n = strlen(globals[g].flag);
            if (strncmp(arg, globals[g].flag, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
                continue;
            const char *value = arg[n] == '=' ? arg + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) {
                cli_error(NULL, "option %s needs a value", globals[g].flag);
                return -1;
            }
            if (!globals[g].key) {
                c->config_file = value;
            } else if (c->n_overrides < CLI_MAX_OVERRIDES) {
                c->keys[c->n_overrides] = globals[g].key;
                c->values[c->n_overrides++] = value;
            }
            matched = 1;
            break;
        }
        if (!matched)
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

/* True when the verb's arguments ask for its help: --help or -h before "--".
 * (A value that is itself "-h" is given as --option=-h.) */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    c.system_config = LOCKSTEP_SYSTEM_CONFIG;
    /* Everything Lockstep creates (the store and its -wal/-shm, logs, reports,
     * baselines) is the service's own: no access for others, no group write. */
    umask(027);
    log_detect_journal();
    argc = take_global_options(&c, argc, argv);
    if (argc < 0)
        return EXIT_USAGE;
    if (argc < 2) {
        cli_usage(stderr, NULL);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(stdout, NULL);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("lockstep %s\n", LOCKSTEP_VERSION);
        return EXIT_OK;
    }
    if (users_init() != 0) {
        cli_error(NULL, "cannot initialize libsodium");
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (!strcmp(verbs[i].name, argv[1])) {
            c.verb = verbs[i].name;
            if (wants_help(argc - 1, argv + 1)) {
                if (!cli_usage(stdout, verbs[i].name))
                    cli_usage(stdout, NULL);
                return EXIT_OK;
            }
            return verbs[i].run(&c, argc - 1, argv + 1);
        }
    }
    cli_error(NULL, "unknown verb '%s' (see 'lockstep help')", argv[1]);
    return EXIT_USAGE;
}

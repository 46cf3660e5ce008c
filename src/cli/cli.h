/* cli.h — what every verb shares: option parsing, configuration in precedence
 * order (flag > environment > INI file > default), opening the store, and the
 * exit codes of operations.md. */
#ifndef LOCKSTEP_CLI_H
#define LOCKSTEP_CLI_H

#include "config/config.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define CLI_MAX_OVERRIDES 16

struct cli {
    const char *verb;
    struct config cfg;
    const char *config_file;              /* --config */
    const char *system_config;            /* read when it exists and neither --config nor
                                             LOCKSTEP_CONFIG names a file */
    const char *keys[CLI_MAX_OVERRIDES];  /* config keys set by flags */
    const char *values[CLI_MAX_OVERRIDES];
    int n_overrides;
};

enum cli_opt_kind { OPT_FLAG, OPT_VALUE, OPT_CONFIG };

struct cli_opt {
    const char *name;        /* "--dry-run" */
    enum cli_opt_kind kind;
    const char **value;      /* OPT_VALUE: where the value goes */
    bool *flag;              /* OPT_FLAG: set to true */
    const char *config_key;  /* OPT_CONFIG: the config key it overrides */
};

/* The rows of a verb's option table. */
#define CLI_FLAG(name, flag) {name, OPT_FLAG, NULL, flag, NULL}
#define CLI_VALUE(name, value) {name, OPT_VALUE, value, NULL, NULL}
#define CLI_CONFIG(name, key) {name, OPT_CONFIG, NULL, NULL, key}

#define CLI_MAX_POSITIONAL 2

/* A verb's positional arguments, in order (they point into argv). */
struct cli_args {
    char *pos[CLI_MAX_POSITIONAL];
    int n;
};

/* Parse verb options: opts has n_opts rows. Positional arguments go to args
 * (at most max_pos, itself at most CLI_MAX_POSITIONAL). Returns 0, or prints
 * a one-line usage error and returns EXIT_USAGE. */
int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts, size_t n_opts,
              int max_pos, struct cli_args *args);
/* cli_parse with the rows of an option table array. */
#define CLI_PARSE(c, argc, argv, opts, max_pos, args)                                            \
    cli_parse(c, argc, argv, opts, sizeof(opts) / sizeof((opts)[0]), max_pos, args)
/* Load the configuration (defaults, file, environment, flags) and finalize it.
 * Returns 0, or prints the error and returns EXIT_FAIL. */
int cli_configure(struct cli *c);
/* The same without printing: the error goes to err. Returns 0, EXIT_FAIL or
 * EXIT_USAGE (a bad flag value). */
int cli_load_config(struct cli *c, char *err, size_t errlen);
/* Open the configured store, which must exist (operations.md: only serve,
 * migrate, demo and doctor create one): pointed at a place without a store
 * it prints "no Lockstep store at …; run `lockstep migrate` or pass
 * --db/--data-dir" and creates nothing. Pending migrations are applied.
 * Returns 0, or prints the error and returns EXIT_FAIL. */
int cli_open_store(struct cli *c, struct store **out);
/* Open the configured store, creating the data dir and a new store when there
 * is none (the verbs that may); `migrate` applies pending migrations on open. */
int cli_create_store(struct cli *c, bool migrate, struct store **out);
/* What every verb that reads an existing store does first: cli_configure, then
 * cli_open_store. Returns 0 with *out (the caller closes it), or the exit code
 * after printing the error. */
int cli_configure_open_store(struct cli *c, struct store **out);
/* Open the store of `cfg` (its db, busy timeout, parallel scan) without
 * printing: `create` makes the data dir and a new store when there is none,
 * `migrate` applies pending migrations. Returns 0 with *out, or a STORE_ERR_*
 * code with err filled (STORE_ERR_NO_STORE: nothing there and not create). */
int cli_store_open(const struct config *cfg, bool create, bool migrate, struct store **out,
                   char *err, size_t errlen);
/* Print why a store could not be opened (rc and err from store_open or
 * store_pool_open), with the advice of operations.md when there is none; the
 * verb of `c` prefixes the line unless c is NULL. */
void cli_store_error(const struct cli *c, int rc, const char *err);
/* Print "lockstep: <verb>: <message>" on stderr. */
void cli_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse a positive integer option value. Returns 0 or prints a usage error and
 * returns EXIT_USAGE. */
int cli_parse_int(const struct cli *c, const char *opt, const char *text, long long min,
                  long long max, long long *out);
/* Parse a --window duration (24h, 72h, 7d; at most 366d), or `fallback` when
 * text is NULL, into seconds. Returns 0, or prints a usage error and returns
 * EXIT_USAGE. */
int cli_parse_window(const struct cli *c, const char *text, const char *fallback,
                     int64_t *seconds);
/* Print `o` on stdout as indented JSON and take it over (NULL: out of
 * memory). Returns EXIT_OK, or prints "out of memory" and returns EXIT_FAIL. */
int cli_print_json(const struct cli *c, json_t *o);
/* A level as a table shows it: its number, or "-" when there is none.
 * Returns buf. */
const char *cli_level_text(bool has_level, int level, char *buf, size_t len);
/* Read one line (the password) from stdin without echo when it is a terminal.
 * Returns 0, or -1 when nothing could be read. */
int cli_read_secret(const char *prompt, char *out, size_t len);

/* The verbs (cli/cmd_*.c); argv[0] is the verb. Each returns the exit code. */
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_sync(struct cli *c, int argc, char **argv);
int cmd_demo(struct cli *c, int argc, char **argv);
int cmd_user(struct cli *c, int argc, char **argv);
int cmd_spec(struct cli *c, int argc, char **argv);
int cmd_migrate(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_baseline(struct cli *c, int argc, char **argv);
int cmd_trend(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_alerts(struct cli *c, int argc, char **argv);
int cmd_doctor(struct cli *c, int argc, char **argv);
int cmd_watch(struct cli *c, int argc, char **argv);
/* Usage text of one verb, or of all when verb is NULL; false if unknown. */
bool cli_usage(FILE *out, const char *verb);

#endif

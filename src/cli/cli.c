/* cli.c — shared CLI plumbing: options, configuration, store, errors. */
#include "cli/cli.h"

#include "service/app.h"
#include "service/trend.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void cli_error(const struct cli *c, const char *fmt, ...)
{
    va_list ap;
    /* Under systemd the line is an error for journald too (util/log.h). */
    fprintf(stderr, "%slockstep: ", log_stderr_is_journal() ? "<3>" : "");
    if (c && c->verb)
        fprintf(stderr, "%s: ", c->verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts, size_t n_opts,
              int max_pos, struct cli_args *args)
{
    assert(max_pos <= CLI_MAX_POSITIONAL);
    args->n = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !strcmp(arg, "--")) {
            if (!strcmp(arg, "--") && ++i >= argc)
                break;
            if (args->n >= max_pos) {
                cli_error(c, "unexpected argument '%s' (see 'lockstep help %s')", argv[i],
                          c->verb);
                return EXIT_USAGE;
            }
            args->pos[args->n++] = argv[i];
            continue;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof name) {
            cli_error(c, "unknown option '%.40s…' (see 'lockstep help %s')", arg, c->verb);
            return EXIT_USAGE;
        }
        memcpy(name, arg, nl);
        name[nl] = '\0';
        const struct cli_opt *o = NULL;
        for (size_t k = 0; k < n_opts; k++)
            if (!strcmp(opts[k].name, name))
                o = &opts[k];
        if (!o) {
            cli_error(c, "unknown option '%s' (see 'lockstep help %s')", name, c->verb);
            return EXIT_USAGE;
        }
        if (o->kind == OPT_FLAG) {
            if (eq) {
                cli_error(c, "option %s takes no value", name);
                return EXIT_USAGE;
            }
            *o->flag = true;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            cli_error(c, "option %s needs a value", name);
            return EXIT_USAGE;
        }
        if (o->kind == OPT_VALUE) {
            *o->value = value;
        } else if (c->n_overrides < CLI_MAX_OVERRIDES) {
            c->keys[c->n_overrides] = o->config_key;
            c->values[c->n_overrides++] = value;
        }
    }
    return 0;
}

int cli_configure(struct cli *c)
{
    char err[600];
    if (c->config_file && !c->config_file[0]) {
        cli_error(NULL, "--config needs a file name");
        return EXIT_USAGE;
    }
    int rc = cli_load_config(c, err, sizeof err);
    if (rc)
        cli_error(rc == EXIT_USAGE ? c : NULL, "%s", err);
    return rc;
}

int cli_load_config(struct cli *c, char *err, size_t errlen)
{
    config_defaults(&c->cfg);
    /* --config, else LOCKSTEP_CONFIG (set but empty: no file at all), else the
     * system file when it exists. A file named explicitly must exist. */
    const char *file = c->config_file ? c->config_file : getenv("LOCKSTEP_CONFIG");
    if (!file && c->system_config && c->system_config[0] && access(c->system_config, F_OK) == 0)
        file = c->system_config;
    if (c->config_file && !c->config_file[0]) {
        snprintf(err, errlen, "--config needs a file name");
        return EXIT_USAGE;
    }
    if (file && *file && config_load_file(&c->cfg, file, err, errlen) != 0)
        return EXIT_FAIL;
    if (config_load_env(&c->cfg, err, errlen) != 0)
        return EXIT_FAIL;
    for (int i = 0; i < c->n_overrides; i++)
        if (config_set(&c->cfg, c->keys[i], c->values[i], err, errlen) != 0)
            return EXIT_USAGE;
    if (config_finalize(&c->cfg, err, errlen) != 0)
        return EXIT_FAIL;
    return 0;
}

void cli_store_error(const struct cli *c, int rc, const char *err)
{
    if (rc == STORE_ERR_NO_STORE)
        cli_error(c, "%s; run `lockstep migrate` or pass --db/--data-dir", err);
    else
        cli_error(c, "%s", err);
}

int cli_store_open(const struct config *cfg, bool create, bool migrate, struct store **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    /* The embedded store and the logs live in the data dir: a verb that may
     * create the store makes sure it exists. */
    int rc = create ? fs_mkdir_p(cfg->data_dir, FS_DIR_MODE) : 0;
    if (rc) {
        snprintf(err, errlen, "cannot create data dir %s: %s", cfg->data_dir, strerror(-rc));
        return STORE_ERR;
    }
    struct store_options o;
    app_store_options(cfg, &o);
    o.migrate = migrate;
    o.create = create;
    return store_open(cfg->db, &o, out, err, errlen);
}

static int open_store(struct cli *c, bool create, bool migrate, struct store **out)
{
    char err[600];
    int rc = cli_store_open(&c->cfg, create, migrate, out, err, sizeof err);
    if (rc) {
        cli_store_error(NULL, rc, err);
        return EXIT_FAIL;
    }
    return 0;
}

int cli_open_store(struct cli *c, struct store **out)
{
    return open_store(c, false, true, out);
}

int cli_create_store(struct cli *c, bool migrate, struct store **out)
{
    return open_store(c, true, migrate, out);
}

int cli_configure_open_store(struct cli *c, struct store **out)
{
    int rc = cli_configure(c);
    return rc ? rc : cli_open_store(c, out);
}

int cli_parse_int(const struct cli *c, const char *opt, const char *text, long long min,
                  long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        cli_error(c, "invalid %s '%.40s' (expected an integer from %lld to %lld)", opt, text,
                  min, max);
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int cli_parse_window(const struct cli *c, const char *text, const char *fallback,
                     int64_t *seconds)
{
    *seconds = trend_parse_window(text ? text : fallback);
    if (*seconds < 0) {
        cli_error(c, "invalid --window '%.40s' (expected a duration such as 24h, 72h or 7d, "
                     "at most 366d)", text);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_print_json(const struct cli *c, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (!text) {
        cli_error(c, "out of memory");
        return EXIT_FAIL;
    }
    printf("%s\n", text);
    free(text);
    return EXIT_OK;
}

const char *cli_level_text(bool has_level, int level, char *buf, size_t len)
{
    if (has_level)
        snprintf(buf, len, "%d", level);
    else
        snprintf(buf, len, "-");
    return buf;
}

int cli_read_secret(const char *prompt, char *out, size_t len)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(out, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

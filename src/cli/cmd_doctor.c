/* cmd_doctor.c — `lockstep doctor`: will this configuration work? One line per
 * point (✓ holds, ! holds with a remark, ✗ does not, with the fix), exit 0 when
 * nothing is ✗, 1 otherwise; `--json` for tools. It changes nothing: the store
 * is opened without creating or migrating it, and the write test is a
 * committed update that writes every value back as it was (the readiness
 * probe's). Doubles as the configuration test before a (re)start, like
 * `nginx -t`. */
#include "cli/cli.h"
#include "http/token.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum verdict { V_OK, V_NOTE, V_FAIL };

#define DOCTOR_MAX_POINTS 40

struct point {
    const char *name;
    enum verdict v;
    char text[640];
    char fix[640];
};

struct doctor {
    struct point p[DOCTOR_MAX_POINTS];
    int n;
};

static struct point *add(struct doctor *d, const char *name, enum verdict v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct point *add(struct doctor *d, const char *name, enum verdict v, const char *fmt, ...)
{
    static struct point spare; /* never reached: the points are fewer than the array */
    struct point *p = d->n < DOCTOR_MAX_POINTS ? &d->p[d->n++] : &spare;
    p->name = name;
    p->v = v;
    p->fix[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof p->text, fmt, ap);
    va_end(ap);
    return p;
}

static void set_fix(struct point *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_fix(struct point *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->fix, sizeof p->fix, fmt, ap);
    va_end(ap);
}

/* A directory Lockstep writes into: there and writable, or creatable (its
 * nearest existing parent is writable). */
static void check_dir(struct doctor *d, const char *name, const char *dir, const char *creator)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            struct point *p = add(d, name, V_FAIL, "%s is not a directory", dir);
            set_fix(p, "remove it or point data_dir elsewhere");
        } else if (access(dir, W_OK | X_OK) != 0) {
            struct point *p = add(d, name, V_FAIL, "%s is not writable: %s", dir, strerror(errno));
            set_fix(p, "give the user Lockstep runs as write access (chown or chmod)");
        } else {
            add(d, name, V_OK, "%s is writable", dir);
        }
        return;
    }
    if (errno != ENOENT) {
        struct point *p = add(d, name, V_FAIL, "%s: %s", dir, strerror(errno));
        set_fix(p, "give the user Lockstep runs as access to it");
        return;
    }
    char parent[CONFIG_STR_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    for (;;) {
        char *slash = strrchr(parent, '/');
        if (!slash) {
            snprintf(parent, sizeof parent, ".");
            break;
        }
        if (slash == parent) {
            parent[1] = '\0';
            break;
        }
        *slash = '\0';
        if (access(parent, F_OK) == 0)
            break;
    }
    if (access(parent, W_OK | X_OK) == 0) {
        add(d, name, V_NOTE, "%s does not exist yet; %s creates it", dir, creator);
    } else {
        struct point *p = add(d, name, V_FAIL, "%s does not exist and %s is not writable", dir,
                              parent);
        set_fix(p, "create %s for the user Lockstep runs as", dir);
    }
}

static void check_secret(struct doctor *d, const struct config *cfg)
{
    char why[CONFIG_STR_MAX + 80];
    if (cfg->jwt_secret[0]) {
        size_t n = 0;
        if (token_secret_check(cfg->jwt_secret, strlen(cfg->jwt_secret), false, "jwt_secret",
                               &n, why, sizeof why) != 0) {
            struct point *p = add(d, "secret", V_FAIL,
                                  "jwt_secret has %zu characters; serve refuses it", n);
            set_fix(p, "give it %d to %zu characters (or leave it empty: serve generates "
                       "secret.key)", TOKEN_SECRET_MIN, TOKEN_SECRET_MAX);
        } else {
            add(d, "secret", V_OK, "jwt_secret comes from the configuration (%zu characters)",
                n);
        }
        return;
    }
    char path[CONFIG_STR_MAX + 16];
    if (fs_join(path, sizeof path, cfg->data_dir, "secret.key") != 0) {
        add(d, "secret", V_FAIL, "data_dir is too long");
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        add(d, "secret", V_NOTE, "%s does not exist yet; serve generates it (mode 0600)", path);
        return;
    }
    if (st.st_mode & 077) {
        struct point *p = add(d, "secret", V_FAIL, "%s is readable by others (mode %04o)", path,
                              (unsigned)(st.st_mode & 07777));
        set_fix(p, "chmod 600 %s", path);
    } else if (access(path, R_OK) != 0) {
        struct point *p = add(d, "secret", V_FAIL, "%s cannot be read: %s", path, strerror(errno));
        set_fix(p, "chown it to the user Lockstep runs as");
    } else {
        /* The length serve accepts, counted as serve counts it (without the
         * line end); the text itself is wiped at once and never shown. */
        char *text = NULL;
        size_t len = 0, n = 0;
        int rc = fs_read_file(path, TOKEN_SECRET_MAX + 2, &text, &len), verdict = 0;
        if (rc == 0) {
            verdict = token_secret_check(text, len, true, path, &n, why, sizeof why);
            sodium_memzero(text, len);
            free(text);
        }
        if (rc == 0 && verdict == 0) {
            add(d, "secret", V_OK, "%s (mode %04o)", path, (unsigned)(st.st_mode & 07777));
        } else {
            struct point *p = add(d, "secret", V_FAIL, "%s %s; serve refuses it", path,
                                  rc == -EFBIG || verdict == TOKEN_SECRET_LONG
                                      ? "holds too many characters"
                                  : rc ? "cannot be read"
                                       : "holds too few characters");
            set_fix(p, "remove it (serve generates a new one; sessions end) or write %d to "
                       "%zu characters into it", TOKEN_SECRET_MIN, TOKEN_SECRET_MAX);
        }
    }
}

static void check_listen(struct doctor *d, const struct config *cfg)
{
    const char *colon = strrchr(cfg->listen, ':');
    size_t n = colon ? (size_t)(colon - cfg->listen) : 0;
    bool loopback = (n >= 4 && !strncmp(cfg->listen, "127.", 4)) ||
                    (n == 9 && !strncmp(cfg->listen, "localhost", 9));
    if (loopback) {
        add(d, "listen", V_OK, "serve listens on %s (loopback only)", cfg->listen);
    } else {
        struct point *p = add(d, "listen", V_NOTE, "serve listens on %s, beyond this machine",
                              cfg->listen);
        set_fix(p, "keep it on 127.0.0.1 behind a TLS proxy (docs/operations.md) unless the "
                   "network is trusted");
    }
}

static void check_scheduler(struct doctor *d, const struct config *cfg, struct store *s)
{
    struct point *p = add(d, "scheduler", V_OK,
                          "check every %lds, auto-sync every %lds (%s); healthy >= %.2f%%, "
                          "degraded >= %.2f%%",
                          cfg->check_interval, cfg->sync_interval, cfg->sync_direction,
                          cfg->healthy_threshold, cfg->degraded_threshold);
    if (!s)
        return;
    int64_t when = 0;
    char owner[64] = "";
    int rc = s->ops->scheduler_last_start(s, &when, owner);
    if (rc == STORE_ERR_NOT_FOUND) {
        snprintf(p->text + strlen(p->text), sizeof p->text - strlen(p->text),
                 "; no scheduler has run on this store yet");
    } else if (rc == 0) {
        char ts[TIME_ISO_LEN];
        time_format_iso(when, ts);
        snprintf(p->text + strlen(p->text), sizeof p->text - strlen(p->text),
                 "; the scheduler last started %s (%s)", ts, owner);
    } else {
        p->v = V_FAIL;
        snprintf(p->text + strlen(p->text), sizeof p->text - strlen(p->text),
                 "; its history cannot be read: %s", store_errmsg(s));
    }
}

/* Identifier `name` as SQL into out[len]: as it is when it is a plain
 * lower-case one, else in double quotes (any inside doubled), which both
 * PostgreSQL and SQLite read. */
static void sql_ident(char *out, size_t len, const char *name)
{
    bool plain = (*name >= 'a' && *name <= 'z') || *name == '_';
    for (const char *c = name; plain && *c; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
    if (plain) {
        snprintf(out, len, "%s", name);
        return;
    }
    size_t o = 0;
    if (len < 3) {
        if (len)
            *out = '\0';
        return;
    }
    out[o++] = '"';
    for (const char *c = name; *c && o + 3 < len; c++) {
        if (*c == '"')
            out[o++] = '"';
        out[o++] = *c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* The change capture of watch.md: the mode and why, the triggers found. */
static void check_watch(struct doctor *d, const struct config *cfg, struct store *s)
{
    bool off = !strcmp(cfg->watch_mode, "off");
    const char *why = cfg->domain.attached ? "attached mode: off unless chosen"
                                           : "own mode: triggers installed by migration";
    if (!strcmp(cfg->watch_mode, "poll")) {
        /* The columns exist: the store checked them when it opened. */
        const struct domain_map *m = &cfg->domain;
        struct point *p = add(d, "watch", V_OK, "poll (mapped updated_at %s.%s and %s.%s): the "
            "rows whose updated_at moved are read every %ld ms, no trigger needed; deletes and "
            "writes that leave updated_at alone are found by the full sweeps, every %lds",
            m->name[DOMAIN_PROGRESS_TABLE], m->name[DOMAIN_PROGRESS_UPDATED_AT],
            m->name[DOMAIN_LICENSE_TABLE], m->name[DOMAIN_LICENSE_UPDATED_AT],
            cfg->watch_poll_interval, cfg->watch_full_sweep_interval);
        bool indexed[2];
        if (!s || !s->ops->watch_poll_indexed)
            return;
        if (s->ops->watch_poll_indexed(s, indexed) != 0) {
            p->v = V_FAIL;
            snprintf(p->text + strlen(p->text), sizeof p->text - strlen(p->text),
                     "; the indexes cannot be read: %s", store_errmsg(s));
            return;
        }
        if (indexed[0] && indexed[1])
            return;
        /* Each poll is a range read on updated_at: without an index led by
         * it, the whole table every poll_interval. */
        p->v = V_NOTE;
        char missing[2][2 * DOMAIN_IDENT_MAX + 2], fix[2][10 * DOMAIN_IDENT_MAX + 48];
        /* The statement for the academy's database: SQLite needs an index
         * name (PostgreSQL's default name is the same one); PostgreSQL the
         * schema when it is not the search path's public. */
        enum store_url_kind kind = STORE_URL_SQLITE;
        const char *target;
        char err[64];
        (void)store_url_parse(cfg->db, &kind, &target, err, sizeof err);
        bool pg = kind != STORE_URL_SQLITE;
        bool qualify = pg && m->attached && strcmp(m->schema, "public") != 0;
        int n = 0;
        for (int i = 0; i < 2; i++) {
            if (indexed[i])
                continue;
            const char *t = m->name[i ? DOMAIN_LICENSE_TABLE : DOMAIN_PROGRESS_TABLE];
            const char *c = m->name[i ? DOMAIN_LICENSE_UPDATED_AT : DOMAIN_PROGRESS_UPDATED_AT];
            snprintf(missing[n], sizeof missing[n], "%s.%s", t, c);
            char index[2 * DOMAIN_IDENT_MAX + 8], qi[2 * DOMAIN_IDENT_MAX + 8];
            char qs[2 * DOMAIN_IDENT_MAX + 3], qt[2 * DOMAIN_IDENT_MAX + 3];
            char qc[2 * DOMAIN_IDENT_MAX + 3];
            snprintf(index, sizeof index, "%s_%s_idx", t, c);
            sql_ident(qi, sizeof qi, index);
            sql_ident(qs, sizeof qs, m->schema);
            sql_ident(qt, sizeof qt, t);
            sql_ident(qc, sizeof qc, c);
            snprintf(fix[n], sizeof fix[n], "CREATE INDEX %s ON %s%s%s (%s)", qi,
                     qualify ? qs : "", qualify ? "." : "", qt, qc);
            n++;
        }
        snprintf(p->text + strlen(p->text), sizeof p->text - strlen(p->text),
                 "; no index leads with %s%s%s, so each poll reads %s", missing[0],
                 n > 1 ? " nor " : "", n > 1 ? missing[1] : "",
                 n > 1 ? "both tables whole" : "that table whole");
        set_fix(p, "%s%s%s (docs/attach.md, \"Without triggers\")", fix[0], n > 1 ? "; " : "",
                n > 1 ? fix[1] : "");
        return;
    }
    if (!s || !s->ops->watch_capture_installed) {
        add(d, "watch", V_OK, "[watch] mode %s (%s)", cfg->watch_mode, why);
        return;
    }
    bool installed = false;
    if (s->ops->watch_capture_installed(s, &installed) != 0) {
        add(d, "watch", V_FAIL, "[watch] mode %s: the triggers cannot be looked for: %s",
            cfg->watch_mode, store_errmsg(s));
        return;
    }
    if (off) {
        add(d, "watch", V_OK, "[watch] mode off: every scheduled check reads every pair (%s%s)",
            why, installed ? "; capture triggers are installed" : "");
        return;
    }
    char why_not[200] = "";
    if (installed && s->ops->watch_wakes && !s->ops->watch_wakes(s, why_not, sizeof why_not)) {
        /* SQLite without inotify: the watcher looks every poll_interval. */
        struct point *p = add(d, "watch", V_NOTE, "[watch] mode triggers: the capture triggers "
                              "are installed, but commits cannot wake the watcher (%s): it "
                              "looks every %ld ms; full sweeps every %lds", why_not,
                              cfg->watch_poll_interval, cfg->watch_full_sweep_interval);
        set_fix(p, "let serve's user read the store's directory, keep the store on a local "
                "file system, or raise the inotify limit named (sysctl); [watch] "
                "poll_interval shortens the wait");
        return;
    }
    if (installed) {
        add(d, "watch", V_OK, "[watch] mode triggers: the capture triggers are installed; "
            "drift is applied within a second%s, full sweeps every %lds",
            s->ops->watch_wakes ? " (each commit wakes the watcher: inotify)" : "",
            cfg->watch_full_sweep_interval);
        return;
    }
    struct point *p = add(d, "watch", V_FAIL, "[watch] mode triggers, but the capture triggers "
                          "are not installed on the progress and license tables");
    set_fix(p, "%s", cfg->domain.attached
                         ? "run `lockstep watch install` (or `--print` for a DBA), or set "
                           "[watch] mode = off"
                         : "run `lockstep watch install` (it puts back the triggers of "
                           "migration 14), or set [watch] mode = off");
}

static void check_alerts(struct doctor *d, const struct config *cfg)
{
    char list[256] = "";
    if (cfg->alert_alertmanager_url[0])
        strcat(list, "alertmanager ");
    if (cfg->alert_webhook_url[0])
        strcat(list, "webhook ");
    if (cfg->alert_smtp_url[0] && cfg->alert_email_to[0])
        strcat(list, "email ");
    if (list[0]) {
        list[strlen(list) - 1] = '\0';
        add(d, "alerts", V_OK, "alerts go to: %s", list);
    } else {
        struct point *p = add(d, "alerts", V_NOTE,
                              "no alert channel is configured: alerts are only recorded");
        set_fix(p, "set alert_alertmanager_url, alert_webhook_url or alert_smtp_url with "
                   "alert_email_to (docs/alerts.md)");
    }
}

struct count_ctx {
    int64_t n;
};

static int count_spec(void *ctx, const struct specialization *sp)
{
    (void)sp;
    ((struct count_ctx *)ctx)->n++;
    return 0;
}

/* A point about the attached database (store_ops.attached_inspect). The
 * names are those of attach.md's list; they are static strings. */
static void attached_point(void *ctx, const char *name, int verdict, const char *text,
                           const char *fix)
{
    struct point *p = add(ctx, name, verdict == 0 ? V_OK : verdict == 1 ? V_NOTE : V_FAIL,
                          "%s", text);
    if (fix[0])
        set_fix(p, "%s", fix);
}

/* Everything that needs the store. Returns the open store (for the
 * scheduler point) or NULL. */
static struct store *check_store(struct doctor *d, const struct config *cfg)
{
    struct store *s = NULL;
    char err[600];
    enum store_url_kind kind;
    const char *target = NULL;
    if (store_url_parse(cfg->db, &kind, &target, err, sizeof err) != 0) {
        add(d, "store", V_FAIL, "%s", err);
        return NULL;
    }
    const char *what = kind == STORE_URL_SQLITE ? "SQLite" : "PostgreSQL";
    int rc = cli_store_open(cfg, false, false, &s, err, sizeof err);
    if (rc == STORE_ERR_NO_STORE) {
        struct point *p = add(d, "store", V_NOTE, "%s", err);
        set_fix(p, "`lockstep serve` or `lockstep migrate` creates it; or pass --db/--data-dir "
                   "if it is elsewhere");
        return NULL;
    }
    if (rc) {
        struct point *p = add(d, "store", V_FAIL, "%s store: %s", what, err);
        set_fix(p, kind == STORE_URL_SQLITE
                       ? "check the path and its permissions"
                       : "check that the server runs and the URL's host, port, user and "
                         "database");
        return NULL;
    }
    add(d, "store", V_OK, "%s store reachable", what);

    int version = 0;
    if (s->ops->schema_version(s, &version) != 0) {
        add(d, "schema", V_FAIL, "the schema version cannot be read: %s", store_errmsg(s));
    } else if (version == s->ops->schema_latest) {
        add(d, "schema", V_OK, "schema at version %d, as this lockstep expects", version);
    } else if (version < s->ops->schema_latest) {
        struct point *p = add(d, "schema", V_NOTE,
                              "schema at version %d; this lockstep migrates it to %d", version,
                              s->ops->schema_latest);
        set_fix(p, "`lockstep migrate` (serve also migrates at start)");
    } else {
        struct point *p = add(d, "schema", V_FAIL,
                              "schema at version %d, newer than this lockstep understands (%d)",
                              version, s->ops->schema_latest);
        set_fix(p, "upgrade lockstep");
    }

    struct store_probe pr;
    memset(&pr, 0, sizeof pr);
    if (s->ops->probe(s, true, &pr) != 0) {
        add(d, "read", V_FAIL, "the store cannot be probed: %s", store_errmsg(s));
        return s;
    }
    if (pr.read_error[0]) {
        struct point *p = add(d, "read", V_FAIL, "reading fails: %s", pr.read_error);
        set_fix(p, "restore the store from a backup (docs/operations.md)");
    } else {
        add(d, "read", V_OK, "every table reads%s",
            kind == STORE_URL_SQLITE ? " and every page passes quick_check" : "");
    }
    if (pr.write_error[0]) {
        struct point *p = add(d, "write", V_FAIL, "writing fails: %s", pr.write_error);
        set_fix(p, "check the disk space and the permissions (or the role's rights)");
    } else if (pr.write_busy) {
        add(d, "write", V_NOTE, "writable, but another connection holds the write lock now");
    } else {
        add(d, "write", V_OK, "a write commits");
    }

    if (cfg->domain.attached && s->ops->attached_inspect &&
        s->ops->attached_inspect(s, attached_point, d) != 0)
        add(d, "attached", V_FAIL, "the attached database cannot be inspected: %s",
            store_errmsg(s));

    struct count_ctx specs = {0};
    int64_t users = 0;
    if (s->ops->spec_list(s, count_spec, &specs) != 0 ||
        s->ops->user_count(s, NULL, false, &users) != 0) {
        add(d, "data", V_FAIL, "counting rows fails: %s", store_errmsg(s));
    } else {
        /* In attached mode the users are the academy's; Lockstep's own are
         * its logins. */
        const char *who = cfg->domain.attached ? "Lockstep logins" : "users";
        if (specs.n == 0) {
            struct point *p = add(d, "data", V_NOTE, "%lld %s, no specializations",
                                  (long long)users, who);
            set_fix(p, cfg->domain.attached
                           ? "check [domain] specs_table: the academy's specializations"
                           : "`lockstep spec add` (or `lockstep demo` for demonstration data)");
        } else if (pr.last_check_pairs < 0) {
            add(d, "data", V_NOTE, "%lld %s, %lld specializations; no check recorded yet",
                (long long)users, who, (long long)specs.n);
        } else {
            add(d, "data", V_OK, "%lld %s, %lld specializations; the last check covered %lld "
                "pairs", (long long)users, who, (long long)specs.n,
                (long long)pr.last_check_pairs);
        }
    }
    return s;
}

static const char *mark(enum verdict v)
{
    return v == V_OK ? "\u2713" : v == V_NOTE ? "!" : "\u2717";
}

static const char *word(enum verdict v)
{
    return v == V_OK ? "ok" : v == V_NOTE ? "note" : "fail";
}

static int print_json(const struct doctor *d, bool ok)
{
    json_t *points = json_array();
    for (int i = 0; i < d->n; i++) {
        const struct point *p = &d->p[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", p->name, "result", word(p->v),
                              "message", p->text);
        if (o && p->fix[0])
            json_object_set_new(o, "fix", json_string(p->fix));
        if (!o || json_array_append_new(points, o) != 0) {
            json_decref(points);
            return EXIT_FAIL;
        }
    }
    json_t *root = json_pack("{s:b, s:o}", "ok", ok, "points", points);
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (!text)
        return EXIT_FAIL;
    printf("%s\n", text);
    free(text);
    return 0;
}

int cmd_doctor(struct cli *c, int argc, char **argv)
{
    bool as_json = false;
    struct cli_args args;
    const struct cli_opt opts[] = {CLI_FLAG("--json", &as_json)};
    int rc = CLI_PARSE(c, argc, argv, opts, 0, &args);
    if (rc)
        return rc;
    static struct doctor d; /* a few kB of text: kept off the stack */
    memset(&d, 0, sizeof d);
    char err[600];
    rc = cli_load_config(c, err, sizeof err);
    if (rc == EXIT_USAGE && c->config_file && !c->config_file[0]) {
        cli_error(NULL, "%s", err);
        return EXIT_USAGE;
    }
    struct store *s = NULL;
    if (rc) {
        struct point *p = add(&d, "config", V_FAIL, "%s", err);
        set_fix(p, "correct the configuration; nothing else can be checked before it parses");
    } else {
        if (c->cfg.config_file[0])
            add(&d, "config", V_OK, "%s parsed", c->cfg.config_file);
        else
            add(&d, "config", V_OK, "no config file: defaults, LOCKSTEP_* environment and flags");
        check_dir(&d, "data_dir", c->cfg.data_dir, "serve");
        char logs[CONFIG_STR_MAX + 8];
        if (fs_join(logs, sizeof logs, c->cfg.data_dir, "logs") == 0)
            check_dir(&d, "logs", logs, "serve");
        check_secret(&d, &c->cfg);
        check_listen(&d, &c->cfg);
        s = check_store(&d, &c->cfg);
        check_scheduler(&d, &c->cfg, s);
        check_watch(&d, &c->cfg, s);
        check_alerts(&d, &c->cfg);
        if (s)
            store_close(s);
    }
    bool ok = true;
    for (int i = 0; i < d.n; i++)
        ok = ok && d.p[i].v != V_FAIL;
    if (as_json) {
        if (print_json(&d, ok) != 0) {
            cli_error(c, "out of memory");
            return EXIT_FAIL;
        }
    } else {
        for (int i = 0; i < d.n; i++) {
            const struct point *p = &d.p[i];
            printf("%s %-9s %s\n", mark(p->v), p->name, p->text);
            if (p->fix[0])
                printf("  %-9s fix: %s\n", "", p->fix);
        }
        printf("%s\n", ok ? "doctor: this configuration will work"
                          : "doctor: fix the points marked \u2717 first");
    }
    return ok ? EXIT_OK : EXIT_FAIL;
}

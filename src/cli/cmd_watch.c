/* cmd_watch.c — `lockstep watch status|install|uninstall`: the change capture
 * of watch.md (the triggers on an attached database are installed only on
 * request; --print hands their SQL to a DBA) and what the watcher knows. */
#include "cli/cli.h"
#include "service/report.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int capture(struct cli *c, struct store *s, bool install, bool print)
{
    if (!s->ops->watch_capture) {
        cli_error(c, "the %s store has no change capture", s->ops->name);
        return EXIT_FAIL;
    }
    char *sql = NULL;
    int rc = s->ops->watch_capture(s, install, !print, &sql);
    if (rc) {
        cli_error(c, "%s", store_errmsg(s));
        free(sql);
        return EXIT_FAIL;
    }
    if (print)
        printf("%s\n", sql);
    else if (install)
        printf("Installed the capture triggers. Set [watch] mode = triggers and restart serve: "
               "changed pairs are then applied within a second.\n");
    else
        printf("Removed the capture triggers (and nothing else). With [watch] mode = triggers, "
               "set it to off.\n");
    free(sql);
    return EXIT_OK;
}

/* A poll watermark as status shows it. */
static const char *mark_text(const char *mark)
{
    if (!mark[0])
        return "not polled yet";
    return strcmp(mark, WATCH_MARK_EMPTY) ? mark : "none (no updated_at when last read)";
}

static json_t *mark_json(const char *mark)
{
    return mark[0] ? json_string(mark) : json_null();
}

static int status(struct cli *c, struct store *s, bool json)
{
    const struct config *cfg = &c->cfg;
    bool installed = false;
    struct watch_state ws = {0};
    int64_t pending = 0;
    double oldest = 0;
    int rc = 0;
    if (!s->ops->watch_state_get) {
        cli_error(c, "the %s store has no change capture", s->ops->name);
        return EXIT_FAIL;
    }
    if ((rc = s->ops->watch_capture_installed(s, &installed)) != 0 ||
        (rc = s->ops->watch_state_get(s, &ws)) != 0 ||
        (rc = s->ops->watch_pending(s, &pending, &oldest)) != 0) {
        cli_error(c, "%s", store_errmsg(s));
        return EXIT_FAIL;
    }
    if (json) {
        json_t *o = json_object();
        if (o) {
            json_object_set_new(o, "mode", json_string(cfg->watch_mode));
            json_object_set_new(o, "triggers_installed", json_boolean(installed));
            json_object_set_new(o, "initialized", json_boolean(ws.initialized));
            json_object_set_new(o, "sweep_requested", json_boolean(ws.sweep_requested));
            json_object_set_new(o, "pairs", json_integer(ws.pairs));
            json_object_set_new(o, "users", json_integer(ws.users));
            json_object_set_new(o, "violations", json_integer(ws.violations));
            json_object_set_new(o, "pending_changes", json_integer(pending));
            json_object_set_new(o, "applied_at", report_time_json(ws.applied_at));
            json_object_set_new(o, "last_full_sweep", report_time_json(ws.last_full_at));
            json_object_set_new(o, "divergences_total", json_integer(ws.divergences_total));
            json_object_set_new(o, "progress_watermark", mark_json(ws.marks.progress));
            json_object_set_new(o, "license_watermark", mark_json(ws.marks.license));
        }
        return cli_print_json(c, o);
    }
    printf("mode              %s\n", cfg->watch_mode);
    printf("triggers          %s\n", installed ? "installed" : "not installed");
    printf("state             %s%s\n", ws.initialized ? "set by a full sweep" : "not set yet",
           ws.sweep_requested ? " (a full sweep is requested)" : "");
    printf("pairs             %lld (%lld users, %lld open violations)\n", (long long)ws.pairs,
           (long long)ws.users, (long long)ws.violations);
    printf("pending changes   %lld\n", (long long)pending);
    printf("divergences       %lld (found by full sweeps, in total)\n",
           (long long)ws.divergences_total);
    if (!strcmp(cfg->watch_mode, "poll") || ws.marks.progress[0] || ws.marks.license[0])
        printf("watermarks        progress %s, license %s (newest updated_at polled)\n",
               mark_text(ws.marks.progress), mark_text(ws.marks.license));
    return EXIT_OK;
}

int cmd_watch(struct cli *c, int argc, char **argv)
{
    bool print = false, json = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_FLAG("--print", &print),
        CLI_FLAG("--json", &json),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 1, &args);
    if (rc)
        return rc;
    const char *verb = args.n == 1 ? args.pos[0] : "";
    bool install = !strcmp(verb, "install"), uninstall = !strcmp(verb, "uninstall");
    bool show = !strcmp(verb, "status");
    if (!(install || uninstall || show) || (show && print) || (!show && json)) {
        cli_error(c, "usage: lockstep watch status [--json] | lockstep watch install [--print] | "
                     "lockstep watch uninstall [--print]");
        return EXIT_USAGE;
    }
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    rc = show ? status(c, s, json) : capture(c, s, install, print);
    store_close(s);
    return rc;
}

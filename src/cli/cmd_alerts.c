/* cmd_alerts.c — `lockstep alerts [list] | silence RULE | unsilence ID`: the
 * alerts `serve` raised, and silences made from the shell (the same store rows
 * as the API's). */
#include "cli/cli.h"
#include "service/alerts.h"
#include "service/errors.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                  \
    "usage: lockstep alerts [list] [--limit N] [--json] | silence RULE (--minutes M | "         \
    "--until TIME) [--comment TEXT] [--json] | unsilence ID"

static const char *str(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "-";
}

static void print_alerts(const char *title, const json_t *arr, bool history)
{
    printf("%s (%zu)%s\n", title, json_array_size(arr), json_array_size(arr) ? ":" : "");
    size_t i;
    const json_t *a;
    json_array_foreach(arr, i, a) {
        const char *job = json_string_value(json_object_get(a, "job"));
        printf("  #%-5lld %-27s%s%s %-8s %-8s since %s%s  %s\n",
               (long long)json_integer_value(json_object_get(a, "id")), str(a, "rule"),
               job ? " " : "", job ? job : "", str(a, "severity"), str(a, "state"),
               str(a, "started_at"),
               json_is_true(json_object_get(a, "silenced")) ? " (silenced)" : "",
               str(a, "summary"));
        if (!history)
            continue;
        size_t k;
        const json_t *d;
        json_array_foreach(json_object_get(a, "deliveries"), k, d) {
            const char *err = json_string_value(json_object_get(d, "last_error"));
            printf("         %-7s %-8s %-9s %lld attempt(s)%s%s\n", str(d, "channel"),
                   str(d, "event"), str(d, "status"),
                   (long long)json_integer_value(json_object_get(d, "attempts")),
                   err ? ", last error: " : "", err ? err : "");
        }
    }
}

static int do_list(struct cli *c, struct store *s, long long limit, bool json)
{
    int rc = 0;
    json_t *o = alerts_overview_json(s, &c->cfg, time_now_us(), limit, &rc);
    if (!o) {
        cli_error(c, "cannot read the alerts: %s", store_errmsg(s));
        return EXIT_FAIL;
    }
    if (json)
        return cli_print_json(c, o);
    print_alerts("Firing", json_object_get(o, "firing"), false);
    print_alerts("Pending", json_object_get(o, "pending"), false);
    const json_t *sil = json_object_get(o, "silences");
    printf("Silences in force (%zu)%s\n", json_array_size(sil), json_array_size(sil) ? ":" : "");
    size_t i;
    const json_t *si;
    json_array_foreach(sil, i, si)
        printf("  #%-5lld %-27s until %s  %s\n",
               (long long)json_integer_value(json_object_get(si, "id")), str(si, "rule"),
               str(si, "ends_at"), str(si, "comment"));
    print_alerts("Recent", json_object_get(o, "history"), true);
    json_decref(o);
    return EXIT_OK;
}

int cmd_alerts(struct cli *c, int argc, char **argv)
{
    const char *minutes_text = NULL, *until_text = NULL, *comment = NULL, *limit_text = NULL;
    bool json = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--minutes", &minutes_text),
        CLI_VALUE("--until", &until_text),
        CLI_VALUE("--comment", &comment),
        CLI_VALUE("--limit", &limit_text),
        CLI_FLAG("--json", &json),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 2, &args);
    if (rc)
        return rc;
    const char *sub = args.n ? args.pos[0] : "list";
    bool silence_opts = minutes_text || until_text || comment;
    bool ok = (!strcmp(sub, "list") && args.n <= 1 && !silence_opts) ||
              (!strcmp(sub, "silence") && args.n == 2 && !limit_text &&
               !minutes_text != !until_text) ||
              (!strcmp(sub, "unsilence") && args.n == 2 && !silence_opts && !limit_text && !json);
    if (!ok) {
        cli_error(c, USAGE);
        return EXIT_USAGE;
    }
    long long limit = 20, minutes = 0, id = 0;
    int64_t until = 0;
    if (limit_text && (rc = cli_parse_int(c, "--limit", limit_text, 1, 500, &limit)) != 0)
        return rc;
    if (minutes_text && (rc = cli_parse_int(c, "--minutes", minutes_text, 1,
                                            ALERTS_SILENCE_MAX_S / 60, &minutes)) != 0)
        return rc;
    if (until_text && time_parse_iso(until_text, &until) != 0) {
        cli_error(c, "--until must be an ISO 8601 time, such as 2026-12-01T08:00:00Z");
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "unsilence") &&
        (rc = cli_parse_int(c, "silence id", args.pos[1], 1, INT64_MAX, &id)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    int64_t now = time_now_us();
    if (!strcmp(sub, "list")) {
        rc = do_list(c, s, limit, json);
    } else if (!strcmp(sub, "silence")) {
        struct alert_silence si;
        char err[300];
        if (minutes)
            until = now + (int64_t)minutes * 60 * USEC_PER_SEC;
        int arc = alerts_silence_add(s, args.pos[1], now, until, comment, 0, &si, err, sizeof err);
        if (arc) {
            cli_error(c, "%s", err);
            rc = arc == LS_ERR_VALIDATION ? EXIT_USAGE : EXIT_FAIL;
        } else if (json) {
            rc = cli_print_json(c, alerts_silence_json(&si, now));
        } else {
            char end[TIME_ISO_LEN];
            time_format_iso(si.ends_at, end);
            printf("Silence #%lld: %s silenced until %s\n", (long long)si.id, si.rule, end);
            rc = EXIT_OK;
        }
    } else {
        int src = s->ops->silence_delete(s, (int64_t)id, now);
        if (src == STORE_ERR_NOT_FOUND) {
            cli_error(c, "no silence #%lld in force", id);
            rc = EXIT_FAIL;
        } else if (src) {
            cli_error(c, "cannot delete silence #%lld: %s", id, store_errmsg(s));
            rc = EXIT_FAIL;
        } else {
            printf("Silence #%lld deleted\n", id);
            rc = EXIT_OK;
        }
    }
    store_close(s);
    fflush(stdout);
    return rc;
}

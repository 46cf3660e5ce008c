/* usage.c — the help text of every verb (`lockstep help [VERB]`). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

struct usage {
    const char *verb;
    const char *text;
};

static const struct usage usages[] = {
    {"serve", "lockstep serve [--listen ADDR:PORT] [--no-scheduler] [--web-dir DIR]\n"
              "  Serve the admin API and dashboard and run the scheduled jobs.\n"},
    {"check", "lockstep check [--dry-run] [--json]\n"
              "  Run one health check now. Exit 0 healthy, 3 degraded, 4 critical.\n"
              "  --dry-run  change nothing, write no file\n"
              "  --json     print the JSON report instead of the summary\n"},
    {"sync", "lockstep sync [--direction D] [--dry-run] [--user ID] [--spec S] [--json]\n"
             "  Repair violations. D: progress_to_license (default), license_to_progress,\n"
             "  higher_wins. Exit 1 when a pair could not be repaired.\n"},
    {"demo", "lockstep demo [--users N] [--drift PCT] [--orphans N] [--seed S]\n"
             "  Fill the store with N students (150), PCT % drifted pairs (1.5), N orphans\n"
             "  of each side (0), reproducibly from the seed (42); create an admin account\n"
             "  and print its password once if no active admin exists.\n"},
    {"user", "lockstep user add --email E --role R [--name N] [--password-stdin]\n"
             "lockstep user list\n"
             "lockstep user passwd --email E\n"
             "lockstep user disable --email E\n"
             "  Roles: admin, instructor, student. Without --password-stdin, add prints a\n"
             "  generated password once. passwd reads the new password from stdin.\n"},
    {"spec", "lockstep spec add ID --name N --max-levels M\n"
             "lockstep spec list\n"},
    {"baseline", "lockstep baseline create | list | show [ID]\n"
                 "  Record a fresh check as the reference for trend and reports.\n"},
    {"trend", "lockstep trend [--window 24h] [--svg FILE] [--json]\n"
              "  Consistency trend over the recorded checks in the window.\n"},
    {"report", "lockstep report stabilization [--window 72h] [--format md|json]\n"
               "  The stabilization report and its go/no-go decision.\n"},
    {"migrate", "lockstep migrate\n  Apply pending schema migrations.\n"},
    {"version", "lockstep version\n"},
    {"help", "lockstep help [VERB]\n"},
};

static const char global_text[] =
    "Global options (every verb): --config FILE  --db URL  --data-dir DIR\n"
    "Configuration precedence: flag > LOCKSTEP_* environment > INI file > default.\n"
    "Exit codes: 0 ok, 1 failure, 2 usage error; check: 3 degraded, 4 critical.\n";

bool cli_usage(FILE *out, const char *verb)
{
    if (!verb) {
        fprintf(out, "Lockstep keeps student progress and licenses in lockstep.\n\nUsage:\n");
        for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++)
            fprintf(out, "%s", usages[i].text);
        fprintf(out, "\n%s", global_text);
        return true;
    }
    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++) {
        if (!strcmp(usages[i].verb, verb)) {
            fprintf(out, "%s\n%s", usages[i].text, global_text);
            return true;
        }
    }
    return false;
}

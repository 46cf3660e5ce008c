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
              "  Serve the admin API and dashboard and run the scheduled jobs until SIGTERM\n"
              "  or SIGINT; SIGHUP reopens the log files (the day log and log_file).\n"},
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
    {"baseline", "lockstep baseline create [--note TEXT] [--json]\n"
                 "lockstep baseline list [--json]\n"
                 "lockstep baseline show [ID] [--json]\n"
                 "  Record a fresh check as the reference for trend and reports, and write\n"
                 "  logs/baselines/ (the report, BASELINE_README.md, KNOWN_VIOLATIONS.md).\n"
                 "  show without ID: the latest baseline.\n"},
    {"trend", "lockstep trend [--window 24h] [--svg FILE] [--json] [--baseline ID]\n"
              "  Consistency trend over the recorded checks in the window against the\n"
              "  latest baseline: count, average, min, max, standard deviation, slope per\n"
              "  hour, verdict (stable, improving, degrading, insufficient_data). Writes\n"
              "  logs/reports/consistency_trend_<window>_YYYYMMDD.txt; --svg a chart.\n"},
    {"report", "lockstep report stabilization [--window 72h] [--format md|json] [--baseline ID]\n"
               "  The stabilization report and its go/no-go decision; the Markdown is kept in\n"
               "  logs/reports/stabilization_report_YYYYMMDD.md. Exit 0 PROCEED,\n"
               "  3 INVESTIGATE, 4 FIX_ISSUES, 5 FIX_SCHEDULER, 6 too little data.\n"},
    {"alerts", "lockstep alerts [list] [--limit N] [--json]\n"
               "lockstep alerts silence RULE (--minutes M | --until TIME) [--comment TEXT] [--json]\n"
               "lockstep alerts unsilence ID\n"
               "  The alerts serve raised (firing, pending, the latest N with their\n"
               "  deliveries) and silences: a silenced rule is evaluated but not notified.\n"
               "  Rules: status_critical, status_degraded, consistency_below_baseline,\n"
               "  inconsistent_pairs, job_failed, job_not_succeeding, check_slow,\n"
               "  watch_divergence.\n"},
    {"watch", "lockstep watch status [--json]\n"
              "lockstep watch install [--print]\n"
              "lockstep watch uninstall [--print]\n"
              "  The change capture of the watcher ([watch] mode): status shows the mode,\n"
              "  the triggers and what the watcher knows. install/uninstall put the capture\n"
              "  triggers on an attached PostgreSQL database (removing exactly what was\n"
              "  installed); --print shows their SQL instead, for a DBA.\n"},
    {"doctor", "lockstep doctor [--json]\n"
               "  Tell whether this configuration will work, changing nothing: the config\n"
               "  parses, the data and log dirs are writable, the secret is private, the\n"
               "  store is reachable, its schema current, readable and writable, and what\n"
               "  it holds, the scheduler settings, the alert channels. One line per point:\n"
               "  \u2713 holds, ! holds with a remark, \u2717 does not (with the fix).\n"
               "  Exit 0 when nothing is \u2717, 1 otherwise.\n"},
    {"migrate", "lockstep migrate\n  Apply pending schema migrations.\n"},
    {"version", "lockstep version\n"},
    {"help", "lockstep help [VERB]\n"},
};

static const char global_text[] =
    "Global options (every verb): --config FILE  --db URL  --data-dir DIR\n"
    "Configuration precedence: flag > LOCKSTEP_* environment > INI file > default.\n"
    "Exit codes: 0 ok, 1 failure, 2 usage error; check: 3 degraded, 4 critical;\n"
    "report: 3 INVESTIGATE, 4 FIX_ISSUES, 5 FIX_SCHEDULER, 6 too little data.\n";

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

/* baseline.c — recording a baseline, its violations read back from the
 * open-violation history, and its files (hand-written; see baseline.h). */
#include "service/baseline.h"
#include "service/watch.h"

#include "model/pair.h"

#include "service/check.h"
#include "service/errors.h"
#include "model/health.h"
#include "service/report.h"
#include "service/job_history.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/array.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- violation lists ------------------------------------------------------------ */

int violation_list_add(struct violation_list *l, const struct violation *v)
{
    if (ARRAY_RESERVE(l->items, l->n, l->cap, 64) != 0)
        return -1;
    l->items[l->n++] = *v;
    return 0;
}

void violation_list_free(struct violation_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

struct as_of {
    struct store *s;
    int64_t at;
    struct violation_list *out;
};

/* Keep the violations already open when the check at `at` ran. */
static int keep_if_seen_by(void *ctx, const struct violation *v)
{
    struct as_of *a = ctx;
    if (v->first_seen > a->at)
        return 0;
    if (violation_list_add(a->out, v) != 0)
        return store_fail(a->s, STORE_ERR_NOMEM, "out of memory reading violations");
    return 0;
}

static int by_pair(const void *pa, const void *pb)
{
    const struct violation *a = pa, *b = pb;
    if (a->user_id != b->user_id)
        return a->user_id < b->user_id ? -1 : 1;
    int c = strcmp(a->spec, b->spec);
    return c ? c : strcmp(a->issue_type, b->issue_type);
}

int baseline_violations_at(struct store *s, int64_t at, struct violation_list *out)
{
    memset(out, 0, sizeof *out);
    struct as_of a = {s, at, out};
    /* Open as of `at`: first seen at or before it, and either still open or
     * resolved by a later check. */
    int rc = s->ops->violations_open(s, NULL, keep_if_seen_by, &a);
    if (rc == 0)
        rc = s->ops->violations_resolved_since(s, at, keep_if_seen_by, &a);
    if (rc)
        return rc;
    if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, by_pair);
    return 0;
}

/* ---- counts by specialization and by Δ ------------------------------------------ */

struct tally {
    char key[SPEC_ID_MAX + ISSUE_TYPE_MAX];
    int group;   /* by Δ: 0 a level difference (sorted by value), 1 a missing side */
    long value;
    int64_t n;
};

struct tallies {
    struct tally *items;
    size_t n, cap;
};

static int tally_add(struct tallies *t, const char *key, int group, long value)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(t->items[i].key, key)) {
            t->items[i].n++;
            return 0;
        }
    }
    if (ARRAY_RESERVE(t->items, t->n, t->cap, 16) != 0)
        return -1;
    struct tally *e = &t->items[t->n++];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->group = group;
    e->value = value;
    e->n = 1;
    return 0;
}

static int tally_order(const void *pa, const void *pb)
{
    const struct tally *a = pa, *b = pb;
    if (a->group != b->group)
        return a->group - b->group;
    if (a->group == 0 && a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Counts by specialization (by name) and by Δ (level differences ascending,
 * then the missing sides). Returns 0 or -1 on no memory; free both either way. */
static int tally_violations(const struct violation_list *l, struct tallies *by_spec,
                            struct tallies *by_delta)
{
    memset(by_spec, 0, sizeof *by_spec);
    memset(by_delta, 0, sizeof *by_delta);
    for (size_t i = 0; l && i < l->n; i++) {
        const struct violation *v = &l->items[i];
        char key[32];
        int group = 1;
        long delta = 0;
        if (!strcmp(v->issue_type, "level_mismatch") && v->has_progress && v->has_license) {
            delta = v->progress_level - v->license_level;
            snprintf(key, sizeof key, "%ld", delta);
            group = 0;
        } else {
            snprintf(key, sizeof key, "%s", v->issue_type);
        }
        if (tally_add(by_spec, v->spec, 1, 0) != 0 || tally_add(by_delta, key, group, delta) != 0)
            return -1;
    }
    if (by_spec->n > 1)
        qsort(by_spec->items, by_spec->n, sizeof *by_spec->items, tally_order);
    if (by_delta->n > 1)
        qsort(by_delta->items, by_delta->n, sizeof *by_delta->items, tally_order);
    return 0;
}

static void tallies_free(struct tallies *t)
{
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* ---- loading and recording ------------------------------------------------------- */

int baseline_load(struct store *s, int64_t id, struct baseline_info *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = s->ops->baseline_get(s, id, &out->baseline);
    if (rc == STORE_ERR_NOT_FOUND) {
        if (id)
            snprintf(err, errlen, "no baseline #%lld", (long long)id);
        else
            snprintf(err, errlen, "no baseline yet (create one with 'lockstep baseline create')");
        return LS_ERR_NOT_FOUND;
    }
    if (rc == 0)
        rc = s->ops->check_get(s, out->baseline.check_id, &out->check);
    if (rc) {
        snprintf(err, errlen, "cannot read the baseline: %s", store_errmsg(s));
        return ls_from_store(rc);
    }
    return 0;
}

const char *baseline_status_badge(const char *status)
{
    if (status && !strcmp(status, "healthy"))
        return "🟢 HEALTHY";
    if (status && !strcmp(status, "degraded"))
        return "🟡 DEGRADED";
    if (status && !strcmp(status, "critical"))
        return "🔴 CRITICAL";
    return "⚪ UNKNOWN";
}

void baseline_violation_line(const struct violation *v, char *out, size_t len)
{
    char pl[16] = "none", ll[16] = "none";
    if (v->has_progress)
        snprintf(pl, sizeof pl, "%d", v->progress_level);
    if (v->has_license)
        snprintf(ll, sizeof ll, "%d", v->license_level);
    if (strcmp(v->recommended_action, PAIR_MANUAL_REVIEW) == 0)
        snprintf(out, len, "User %lld | %s: Progress Level %s vs License Level %s (%s: "
                 "manual review)", (long long)v->user_id, v->spec, pl, ll, v->issue_type);
    else if (v->has_progress && v->has_license)
        snprintf(out, len, "User %lld | %s: Progress Level %d vs License Level %d (Δ %d)",
                 (long long)v->user_id, v->spec, v->progress_level, v->license_level,
                 v->progress_level - v->license_level);
    else if (v->has_progress)
        snprintf(out, len, "User %lld | %s: Progress Level %d vs License Level none "
                 "(missing license)", (long long)v->user_id, v->spec, v->progress_level);
    else
        snprintf(out, len, "User %lld | %s: Progress Level none vs License Level %d "
                 "(missing progress)", (long long)v->user_id, v->spec, v->license_level);
}

int baseline_write_readme(FILE *fp, const struct config *cfg, const struct baseline_info *b,
                          const char *file, bool has_known_file)
{
    const struct check_run *c = &b->check;
    char created[TIME_ISO_LEN], checked[TIME_ISO_LEN], every[32], sync_every[32];
    time_format_iso(b->baseline.created_at, created);
    time_format_iso(c->timestamp, checked);
    time_format_interval(cfg->check_interval, every, sizeof every);
    time_format_interval(cfg->sync_interval, sync_every, sizeof sync_every);
    double hi = cfg->healthy_threshold, lo = cfg->degraded_threshold;

    fprintf(fp, "# Lockstep baseline\n\n");
    fprintf(fp, "- Created: %s (baseline #%lld)\n", created, (long long)b->baseline.id);
    fprintf(fp, "- File: `%s`\n", file && file[0] ? file : "(not written)");
    fprintf(fp, "- From check #%lld at %s (%s)\n", (long long)c->id, checked, c->trigger);
    if (b->baseline.note[0])
        fprintf(fp, "- Note: %s\n", b->baseline.note);
    fprintf(fp, "\n## Snapshot\n\n| | |\n|---|---|\n");
    fprintf(fp, "| Total checked | %lld pairs (%lld users) |\n", (long long)c->total_checked,
            (long long)c->users_checked);
    fprintf(fp, "| Consistent | %lld |\n", (long long)c->consistent);
    fprintf(fp, "| Violations | %lld%s |\n", (long long)c->inconsistent,
            has_known_file ? " (listed in `" BASELINE_KNOWN "`)" : "");
    fprintf(fp, "| Consistency rate | %.2f%% |\n", c->consistency_rate);

    fprintf(fp, "\n## Status thresholds\n\n| status | consistency rate |\n|---|---|\n");
    fprintf(fp, "| 🟢 HEALTHY | ≥ %.2f%% |\n", hi);
    fprintf(fp, "| 🟡 DEGRADED | ≥ %.2f%% and < %.2f%% |\n", lo, hi);
    fprintf(fp, "| 🔴 CRITICAL | < %.2f%% |\n", lo);

    fprintf(fp, "\n## Status now: %s\n\n", baseline_status_badge(c->status));
    fprintf(fp, "Consistency %.2f%% at %s.\n", c->consistency_rate, checked);

    fprintf(fp, "\n## Next steps\n\n");
    if (!strcmp(c->status, "healthy")) {
        fprintf(fp, "1. Keep `lockstep serve` running: the scheduled checks build the history "
                    "this baseline is compared with.\n");
        fprintf(fp, "2. Review the trend daily: `lockstep trend --window 24h`.\n");
        fprintf(fp, "3. After 72 hours, run `lockstep report stabilization --window 72h` and "
                    "follow its decision.\n");
    } else {
        fprintf(fp, "1. Review the violations in `" BASELINE_KNOWN "` and find the write path "
                    "that bypassed the coupling enforcer.\n");
        fprintf(fp, "2. See what a repair would change: `lockstep sync --dry-run`; then repair "
                    "with `lockstep sync`.\n");
        fprintf(fp, "3. Record a new baseline once repaired: `lockstep baseline create`.\n");
        fprintf(fp, "4. Review the trend daily (`lockstep trend --window 24h`) and decide after "
                    "72 hours with `lockstep report stabilization --window 72h`.\n");
    }

    fprintf(fp, "\n## Monitoring schedule\n\n");
    fprintf(fp, "- Automated checks every %s (job `coupling_health_check`), each written to "
                "`" CHECK_DIR "/` and the day log.\n", every);
    fprintf(fp, "- Auto-sync every %s (job `progress_license_sync`, direction `%s`).\n",
            sync_every, cfg->sync_direction);
    fprintf(fp, "- Daily review: `lockstep trend --window 24h` (writes "
                "`logs/reports/consistency_trend_24h_YYYYMMDD.txt`).\n");
    fprintf(fp, "- Weekly report: `lockstep report stabilization --window 7d`.\n");
    fprintf(fp, "- Baseline update monthly: `lockstep baseline create` (and after every "
                "repair or deployment).\n");

    fprintf(fp, "\n## Escalation criteria\n\n");
    fprintf(fp, "### 🟡 DEGRADED (consistency below %.2f%%)\n\n", hi);
    fprintf(fp, "- Lasting more than 30 minutes, or more than 2 points below this baseline's "
                "%.2f%%: tell the on-call developer the same day.\n", c->consistency_rate);
    fprintf(fp, "- New violations not in `" BASELINE_KNOWN "`: find the writer that bypassed "
                "the enforcer before repairing.\n");
    fprintf(fp, "- The scheduler's health-check success rate below 99%%: check that "
                "`lockstep serve` runs (`GET /api/v1/health/jobs`).\n");
    fprintf(fp, "\n### 🔴 CRITICAL (consistency below %.2f%%)\n\n", lo);
    fprintf(fp, "- Escalate at once (within 15 minutes) to the on-call developer and the "
                "platform owner.\n");
    fprintf(fp, "- Hold deployments and level changes until the cause is found.\n");
    fprintf(fp, "- Repair with `lockstep sync --dry-run`, then `lockstep sync`, and confirm "
                "with `lockstep check`.\n");
    return ferror(fp) ? -1 : 0;
}

int baseline_write_known(FILE *fp, const struct baseline_info *b,
                         const struct violation_list *l)
{
    const struct check_run *c = &b->check;
    struct tallies by_spec, by_delta, by_action;
    memset(&by_action, 0, sizeof by_action);
    int rc = tally_violations(l, &by_spec, &by_delta);
    for (size_t i = 0; rc == 0 && i < l->n; i++)
        rc = tally_add(&by_action, l->items[i].recommended_action, 1, 0);
    if (rc)
        goto out;
    char checked[TIME_ISO_LEN], line[200];
    time_format_iso(c->timestamp, checked);
    fprintf(fp, "# Known violations\n\n");
    fprintf(fp, "Baseline #%lld, check #%lld at %s: %zu violation%s among %lld pairs "
                "(%.2f%% consistent). The stabilization report counts a violation as new "
                "only when it is not listed here.\n",
            (long long)b->baseline.id, (long long)c->id, checked, l->n, l->n == 1 ? "" : "s",
            (long long)c->total_checked, c->consistency_rate);
    fprintf(fp, "\n## Violations\n\n");
    for (size_t i = 0; i < l->n; i++) {
        baseline_violation_line(&l->items[i], line, sizeof line);
        fprintf(fp, "- %s\n", line);
    }
    fprintf(fp, "\n## Counts by specialization\n\n| specialization | violations |\n|---|---|\n");
    for (size_t i = 0; i < by_spec.n; i++)
        fprintf(fp, "| %s | %lld |\n", by_spec.items[i].key, (long long)by_spec.items[i].n);
    fprintf(fp, "\n## Counts by Δ\n\n| Δ (progress − license) | violations |\n|---|---|\n");
    for (size_t i = 0; i < by_delta.n; i++)
        fprintf(fp, "| %s | %lld |\n", by_delta.items[i].key, (long long)by_delta.items[i].n);
    fprintf(fp, "\n## Recommended actions\n\n");
    fprintf(fp, "- First see what a repair would change: `lockstep sync --dry-run`.\n");
    for (size_t i = 0; i < by_action.n; i++) {
        const char *a = by_action.items[i].key;
        long long n = (long long)by_action.items[i].n;
        if (!strcmp(a, "sync_progress_to_license"))
            fprintf(fp, "- `%s` (%lld): copy the progress level to the license — "
                        "`lockstep sync --direction progress_to_license`.\n", a, n);
        else if (!strcmp(a, "sync_license_to_progress"))
            fprintf(fp, "- `%s` (%lld): copy the license level to the progress — "
                        "`lockstep sync --direction license_to_progress`.\n", a, n);
        else
            fprintf(fp, "- `%s` (%lld): `lockstep sync` creates the missing row whatever the "
                        "direction.\n", a, n);
    }
    fprintf(fp, "- One pair at a time: `lockstep sync --user U --spec S`.\n");
    fprintf(fp, "- Find the write path that bypassed the coupling enforcer, then record a new "
                "baseline (`lockstep baseline create`).\n");
    rc = ferror(fp) ? -1 : 0;
out:
    tallies_free(&by_spec);
    tallies_free(&by_delta);
    tallies_free(&by_action);
    return rc;
}

/* What the README and KNOWN_VIOLATIONS.md writers read. */
struct baseline_doc {
    const struct config *cfg;
    const struct baseline_info *b;
    const char *rel;
    bool known;
    const struct violation_list *l;
};

static int write_readme(FILE *fp, const void *ctx)
{
    const struct baseline_doc *d = ctx;
    return baseline_write_readme(fp, d->cfg, d->b, d->rel, d->known);
}

static int write_known(FILE *fp, const void *ctx)
{
    const struct baseline_doc *d = ctx;
    return baseline_write_known(fp, d->b, d->l);
}

static int write_readme_file(const char *path, const struct config *cfg,
                             const struct baseline_info *b, const char *rel, bool known,
                             char *err, size_t errlen)
{
    struct baseline_doc d = {.cfg = cfg, .b = b, .rel = rel, .known = known};
    return fs_write_with(path, FS_FILE_MODE, write_readme, &d, err, errlen) ? -1 : 0;
}

static int write_known_file(const char *path, const struct baseline_info *b,
                            const struct violation_list *l, char *err, size_t errlen)
{
    struct baseline_doc d = {.b = b, .l = l};
    return fs_write_with(path, FS_FILE_MODE, write_known, &d, err, errlen) ? -1 : 0;
}

/* baseline_YYYYMMDD_HHMMSS.json: the check's report with the baseline's
 * violations, the way integrity-check files hold it. */
static int write_report_file(const char *dir, const char *data_dir,
                             const struct baseline_info *b, const struct violation_list *l,
                             char *rel, size_t rellen, char *err, size_t errlen)
{
    char stamp[16], stem[40], first[FS_PATH_MAX], path[FS_PATH_MAX];
    struct atomic_file af;
    time_format_file(b->check.timestamp, stamp);
    snprintf(stem, sizeof stem, "baseline_%s", stamp);
    if (snprintf(first, sizeof first, "%s/%s.json", dir, stem) >= (int)sizeof first) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    if (atomic_file_open(&af, first, FS_FILE_MODE, err, errlen) != 0)
        return -1;
    /* Written straight from the list: no second copy of it in memory. */
    if (report_write_list(af.fp, &b->check, l->items, l->n) != 0) {
        snprintf(err, errlen, "cannot write %s: write failed", first);
        atomic_file_abort(&af);
        return -1;
    }
    if (atomic_file_commit_unique(&af, dir, stem, ".json", path, sizeof path, err, errlen) != 0)
        return -1;
    snprintf(rel, rellen, "%s", path + strlen(data_dir) + 1);
    return 0;
}

/* All the files of a baseline; records the report file in the store. Returns
 * 0 or -1 with err (the first failure; later files are still attempted). */
static int write_files(struct store *s, const struct config *cfg, struct baseline_info *b,
                       const struct violation_list *l, char *err, size_t errlen)
{
    char dir[FS_PATH_MAX], path[FS_PATH_MAX], rel[STORE_PATH_MAX] = "", e[400] = "";
    int rc = 0;
    if (fs_join(dir, sizeof dir, cfg->data_dir, BASELINE_DIR) != 0) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    if (write_report_file(dir, cfg->data_dir, b, l, rel, sizeof rel, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s", e);
        rc = -1;
    } else {
        snprintf(b->baseline.file, sizeof b->baseline.file, "%s", rel);
        if (s->ops->baseline_set_file(s, b->baseline.id, rel) != 0) {
            snprintf(err, errlen, "cannot record the baseline file: %s", store_errmsg(s));
            rc = -1;
        }
    }
    bool known = l->n > 0;
    /* The monitoring schedule the README states is the one `serve` recorded
     * with its latest scheduler start; this process's own only without one. */
    struct config eff = *cfg;
    struct scheduler_start st;
    if (job_history_settings_at(s, b->baseline.created_at ? b->baseline.created_at
                                                              : time_now_us(),
                                    &st) == 0) {
        eff.check_interval = st.check_interval;
        eff.sync_interval = st.sync_interval;
    }
    if (fs_join(path, sizeof path, dir, BASELINE_README) != 0 ||
        write_readme_file(path, &eff, b, rel, known, e, sizeof e) != 0) {
        if (!rc)
            snprintf(err, errlen, "%s", e[0] ? e : "data_dir path is too long");
        rc = -1;
    }
    if (fs_join(path, sizeof path, dir, BASELINE_KNOWN) != 0) {
        if (!rc)
            snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    if (known) {
        if (write_known_file(path, b, l, e, sizeof e) != 0) {
            if (!rc)
                snprintf(err, errlen, "%s", e);
            rc = -1;
        }
    } else if (unlink(path) != 0 && errno != ENOENT) {
        /* A list left from an older baseline would claim violations this one lacks. */
        if (!rc)
            snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int baseline_record(struct store *s, const struct config *cfg, const struct check_run *check,
                    const char *note, struct baseline_info *out,
                    struct violation_list *violations, char *file_error, size_t file_error_len,
                    char *err, size_t errlen)
{
    struct violation_list l;
    memset(out, 0, sizeof *out);
    if (violations)
        memset(violations, 0, sizeof *violations);
    file_error[0] = '\0';
    /* Read the violations first: a failure then records nothing. */
    int rc = baseline_violations_at(s, check->timestamp, &l);
    if (rc) {
        snprintf(err, errlen, "cannot read the violations of check #%lld: %s",
                 (long long)check->id, store_errmsg(s));
        violation_list_free(&l);
        return ls_from_store(rc);
    }
    out->check = *check;
    out->baseline.check_id = check->id;
    out->baseline.created_at = time_now_us();
    snprintf(out->baseline.note, sizeof out->baseline.note, "%s", note ? note : "");
    if ((rc = s->ops->baseline_insert(s, &out->baseline)) != 0) {
        snprintf(err, errlen, "cannot record the baseline: %s", store_errmsg(s));
        violation_list_free(&l);
        return ls_from_store(rc);
    }
    if (cfg->data_dir[0])
        write_files(s, cfg, out, &l, file_error, file_error_len);
    if (violations)
        *violations = l;
    else
        violation_list_free(&l);
    return 0;
}

int baseline_create(struct store *s, const struct config *cfg, const char *note,
                    struct baseline_info *out, struct violation_list *violations,
                    char *file_error, size_t file_error_len, char *err, size_t errlen)
{
    struct check_options o = {
        .dry_run = false,
        .trigger = "manual",
        .direction = cfg->sync_direction,
        .healthy_threshold = cfg->healthy_threshold,
        .degraded_threshold = cfg->degraded_threshold,
        .data_dir = cfg->data_dir[0] ? cfg->data_dir : NULL,
        .budget_bytes_per_day = cfg->report_budget_bytes_per_day,
        .require_pairs = cfg->domain.attached && !cfg->domain.allow_empty,
    };
    struct check_outcome co;
    memset(out, 0, sizeof *out);
    if (violations)
        memset(violations, 0, sizeof *violations);
    watch_check_options(cfg, s, &o);
    int rc = check_execute(s, &o, &co, err, errlen);
    if (rc)
        return rc;
    return baseline_record(s, cfg, &co.run, note, out, violations, file_error, file_error_len,
                           err, errlen);
}

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *tallies_json(const struct tallies *t)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < t->n; i++)
        json_object_set_new(o, t->items[i].key, json_integer(t->items[i].n));
    return o;
}

json_t *baseline_json(const struct baseline_info *b, const struct violation_list *l)
{
    const struct check_run *c = &b->check;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(b->baseline.id));
    json_object_set_new(o, "check_id", json_integer(b->baseline.check_id));
    json_object_set_new(o, "created_at", report_time_json(b->baseline.created_at));
    json_object_set_new(o, "file", b->baseline.file[0] ? json_string(b->baseline.file)
                                                       : json_null());
    json_object_set_new(o, "note", json_string(b->baseline.note));
    json_object_set_new(o, "timestamp", report_time_json(c->timestamp));
    json_object_set_new(o, "total_checked", json_integer(c->total_checked));
    json_object_set_new(o, "consistent", json_integer(c->consistent));
    json_object_set_new(o, "inconsistent", json_integer(c->inconsistent));
    json_object_set_new(o, "total_users_monitored", json_integer(c->users_checked));
    json_object_set_new(o, "consistency_rate", json_real(c->consistency_rate));
    json_object_set_new(o, "status", json_string(c->status));
    json_object_set_new(o, "requires_attention",
                        json_boolean(health_requires_attention(c->status)));
    if (!l)
        return o;
    struct tallies by_spec, by_delta;
    json_t *arr = json_array();
    int rc = arr ? tally_violations(l, &by_spec, &by_delta) : -1;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        json_t *v = report_violation_json(&l->items[i]);
        if (!v || json_array_append_new(arr, v) != 0)
            rc = -1;
    }
    json_t *cs = rc == 0 ? tallies_json(&by_spec) : NULL;
    json_t *cd = rc == 0 ? tallies_json(&by_delta) : NULL;
    if (arr) {
        tallies_free(&by_spec);
        tallies_free(&by_delta);
    }
    if (rc || !cs || !cd) {
        json_decref(arr);
        json_decref(cs);
        json_decref(cd);
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "counts_by_specialization", cs);
    json_object_set_new(o, "counts_by_delta", cd);
    json_object_set_new(o, "violations", arr);
    return o;
}

static int name_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

int baseline_prune_files(struct store *s, const struct config *cfg)
{
    char dir[FS_PATH_MAX], keep_name[STORE_PATH_MAX] = "";
    if (fs_join(dir, sizeof dir, cfg->data_dir, BASELINE_DIR) != 0)
        return -ENAMETOOLONG;
    struct baseline latest;
    int rc = s->ops->baseline_get(s, 0, &latest);
    if (rc != 0 && rc != STORE_ERR_NOT_FOUND)
        return -EIO; /* which one is current is unknown: remove nothing */
    if (rc == 0) {
        const char *slash = strrchr(latest.file, '/');
        snprintf(keep_name, sizeof keep_name, "%s", slash ? slash + 1 : latest.file);
    }
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int removed = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "baseline_", 9) != 0 || l < 14 ||
            strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **p = realloc(names, nc * sizeof *p);
            if (!p)
                goto out;
            names = p;
            cap = nc;
        }
        if (!(names[n] = strdup(de->d_name)))
            goto out;
        n++;
    }
    /* Names carry the time (baseline_YYYYMMDD_HHMMSS[_N].json): newest first. */
    qsort(names, n, sizeof *names, name_desc);
    time_t cutoff = time(NULL) - (time_t)cfg->baseline_retention_days * 86400;
    for (size_t i = (size_t)cfg->baseline_keep; i < n; i++) {
        struct stat st;
        if (strcmp(names[i], keep_name) == 0 ||
            fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (st.st_mtime < cutoff && unlinkat(dirfd(d), names[i], 0) == 0)
            removed++;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return removed;
}

struct info_lister {
    struct store *s;
    baseline_info_cb cb;
    void *ctx;
};

static int with_check(void *ctx, const struct baseline *b)
{
    struct info_lister *ls = ctx;
    struct baseline_info bi = {.baseline = *b};
    int rc = ls->s->ops->check_get(ls->s, b->check_id, &bi.check);
    return rc ? rc : ls->cb(ls->ctx, &bi);
}

int baseline_list_each(struct store *s, baseline_info_cb cb, void *ctx)
{
    struct info_lister ls = {s, cb, ctx};
    return s->ops->baseline_list(s, with_check, &ls);
}

struct json_lister {
    json_t *arr;
    bool failed;
};

static int append_json(void *ctx, const struct baseline_info *b)
{
    struct json_lister *ls = ctx;
    json_t *o = baseline_json(b, NULL);
    if (!o || json_array_append_new(ls->arr, o) != 0) {
        ls->failed = true;
        return 1;
    }
    return 0;
}

int baseline_list_json(struct store *s, json_t **out, char *err, size_t errlen)
{
    struct json_lister ls = {json_array(), false};
    *out = NULL;
    int rc = ls.arr ? baseline_list_each(s, append_json, &ls) : 0;
    if (!ls.arr || ls.failed) {
        json_decref(ls.arr);
        snprintf(err, errlen, "out of memory");
        return LS_ERR_NOMEM;
    }
    if (rc) {
        json_decref(ls.arr);
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    *out = ls.arr;
    return 0;
}

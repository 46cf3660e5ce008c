/* check.c — the check: a streaming pass over both tables in one read
 * transaction, violations streamed to the report file, the open-violation
 * staging and the caller; then the summary recorded in one write transaction. */
#include "service/check.h"

#include "service/errors.h"
#include "service/health.h"
#include "service/pair.h"
#include "service/report.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

struct sink {
    struct store *s;
    const struct check_options *o;
    int64_t now;
    struct atomic_file body;  /* violations as they stream, in the log dir */
    bool body_open;
    bool first;
    char file_error[256];
};

/* Where violations go while the scan runs. Returns 0 or a store error. */
static int emit(struct sink *k, const struct pair_levels *p, struct violation *v)
{
    struct store *s = k->s;
    int rc = 0;
    if (p->has_details) {
        v->first_seen = p->first_seen ? p->first_seen : k->now;
        memcpy(v->user_email, p->user_email, sizeof v->user_email);
    } else {
        rc = s->ops->violation_first_seen(s, v->user_id, v->spec, v->issue_type,
                                          &v->first_seen);
        if (rc == STORE_ERR_NOT_FOUND)
            v->first_seen = k->now;
        else if (rc)
            return rc;
        v->user_email[0] = '\0';
    }
    if (!v->user_email[0] && (rc = s->ops->user_email(s, v->user_id, v->user_email)) != 0)
        return rc;
    if (!k->o->dry_run && (rc = s->ops->check_stage_add(s, v)) != 0)
        return rc;
    if (k->body_open) {
        if (report_write_violation(k->body.fp, v, k->first) != 0) {
            snprintf(k->file_error, sizeof k->file_error, "cannot write %s: write failed",
                     CHECK_DIR);
            atomic_file_abort(&k->body);
            k->body_open = false;
        }
        k->first = false;
    }
    if (k->o->on_violation && k->o->on_violation(k->o->ctx, v) != 0)
        return store_fail(s, STORE_ERR, "the violation consumer stopped the check");
    return 0;
}

/* Write the report file from the streamed body; fills run->report_file or
 * k->file_error. */
static void write_report_file(struct sink *k, struct check_run *run)
{
    char dir[FS_PATH_MAX], stem[32], path[FS_PATH_MAX], err[256];
    struct atomic_file af;
    if (fs_join(dir, sizeof dir, k->o->data_dir, CHECK_DIR) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "data_dir path is too long");
        return;
    }
    char stamp[16];
    time_format_file(run->timestamp, stamp);
    snprintf(stem, sizeof stem, "%s_violations", stamp);
    char first[FS_PATH_MAX];
    if (snprintf(first, sizeof first, "%s/%s.json", dir, stem) >= (int)sizeof first) {
        snprintf(k->file_error, sizeof k->file_error, "data_dir path is too long");
        return;
    }
    if (atomic_file_open(&af, first, FS_FILE_MODE, err, sizeof err) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "%s", err);
        return;
    }
    if (report_write(af.fp, run, k->body.fp) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "cannot write %s: write failed", first);
        atomic_file_abort(&af);
        return;
    }
    if (atomic_file_commit_unique(&af, dir, stem, ".json", path, sizeof path, err,
                                  sizeof err) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "%s", err);
        return;
    }
    /* Stored relative to the data dir, as the day log prints it. */
    snprintf(run->report_file, sizeof run->report_file, "%s", path + strlen(k->o->data_dir) + 1);
}

int check_execute(struct store *s, const struct check_options *o, struct check_outcome *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct check_run *run = &out->run;
    struct sink k = {.s = s, .o = o, .first = true};
    struct store_scan *scan = NULL;
    int64_t mono0 = time_mono_us();
    k.now = run->timestamp = time_now_us();
    snprintf(run->trigger, sizeof run->trigger, "%s", o->trigger ? o->trigger : "manual");
    int rc = 0;

    if (!o->dry_run && o->data_dir) {
        char body_path[FS_PATH_MAX];
        if (fs_join(body_path, sizeof body_path, o->data_dir, CHECK_DIR "/.body") != 0)
            snprintf(k.file_error, sizeof k.file_error, "data_dir path is too long");
        else if (atomic_file_open(&k.body, body_path, FS_SECRET_MODE, k.file_error,
                                  sizeof k.file_error) == 0)
            k.body_open = true;
    }
    if (!o->dry_run && (rc = s->ops->check_stage_reset(s)) != 0)
        goto store_failed;
    if ((rc = s->ops->begin(s, STORE_TXN_READ)) != 0)
        goto store_failed;
    if ((rc = s->ops->pair_scan_open(s, NULL, &scan)) != 0)
        goto store_failed;
    struct pair_levels p;
    struct violation v;
    int64_t last_user = 0;
    while ((rc = s->ops->pair_scan_next(scan, &p)) == 1) {
        run->total_checked++;
        if (p.user_id != last_user) { /* pairs arrive ordered by user */
            run->users_checked++;
            last_user = p.user_id;
        }
        if (!pair_violation(&p, o->direction, &v)) {
            run->consistent++;
            continue;
        }
        run->inconsistent++;
        if ((rc = emit(&k, &p, &v)) != 0)
            goto store_failed;
    }
    if (rc < 0)
        goto store_failed;
    s->ops->pair_scan_close(scan);
    scan = NULL;
    if ((rc = s->ops->commit(s)) != 0)
        goto store_failed;

    run->consistency_rate = health_rate(run->consistent, run->total_checked);
    snprintf(run->status, sizeof run->status, "%s",
             health_status(run->consistency_rate, o->healthy_threshold, o->degraded_threshold));
    run->duration_ms = (double)(time_mono_us() - mono0) / 1000.0;
    if (o->dry_run)
        return 0;

    if ((rc = s->ops->check_record(s, run)) != 0)
        goto store_failed;
    out->recorded = true;
    if (k.body_open)
        write_report_file(&k, run);
    if (k.body_open) {
        atomic_file_abort(&k.body);
        k.body_open = false;
    }
    if (k.file_error[0] || run->report_file[0]) {
        snprintf(run->file_error, sizeof run->file_error, "%s", k.file_error);
        snprintf(out->file_error, sizeof out->file_error, "%s", k.file_error);
        /* The check is recorded either way; failing to note the file is not fatal. */
        (void)s->ops->check_set_file(s, run->id, run->report_file, run->file_error);
    }
    return 0;

store_failed:
    snprintf(err, errlen, "health check failed: %s", store_errmsg(s));
    if (scan)
        s->ops->pair_scan_close(scan);
    if (s->in_txn)
        s->ops->rollback(s);
    if (k.body_open)
        atomic_file_abort(&k.body);
    return ls_from_store(rc);
}

int check_current_violations(struct store *s, const char *spec, const char *direction,
                             store_violation_cb cb, void *ctx, char *err, size_t errlen)
{
    struct check_options o = {.dry_run = true, .direction = direction, .on_violation = cb,
                              .ctx = ctx};
    struct sink k = {.s = s, .o = &o, .first = true, .now = time_now_us()};
    struct pair_filter f = {.spec = spec};
    struct store_scan *scan = NULL;
    int rc = s->ops->begin(s, STORE_TXN_READ);
    if (rc == 0)
        rc = s->ops->pair_scan_open(s, &f, &scan);
    struct pair_levels p;
    struct violation v;
    while (rc == 0 && (rc = s->ops->pair_scan_next(scan, &p)) == 1) {
        rc = 0;
        if (pair_violation(&p, direction, &v))
            rc = emit(&k, &p, &v);
    }
    if (scan)
        s->ops->pair_scan_close(scan);
    if (rc == 0)
        rc = s->ops->commit(s);
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        if (s->in_txn)
            s->ops->rollback(s);
        return ls_from_store(rc);
    }
    return 0;
}

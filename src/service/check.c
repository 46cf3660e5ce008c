/* check.c — the check: a streaming pass over both tables in one read
 * transaction, violations streamed to the report file, the open-violation
 * staging and the caller; then the summary recorded in one write transaction. */
#include "service/check.h"

#include "service/errors.h"
#include "model/health.h"
#include "model/pair.h"
#include "service/daylog.h"
#include "service/report.h"
#include "util/array.h"
#include "util/intern.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sink {
    struct store *s;          /* where the check is staged and recorded */
    struct store *read;       /* where the pairs are read: s or a replica of it */
    const struct check_options *o;
    int64_t now;
    struct atomic_file body;  /* violations as they stream, in the log dir */
    bool body_open;
    bool first;
    char file_error[256];
    /* A full sweep compared with the watcher (check_options.watch_compare):
     * every violation it found, and the watcher's open ones, and the pairs
     * of the change rows pending in its snapshot. Per violation, so kept
     * small: the specialization and issue type as indexes into `names`
     * (16 bytes a pair, whatever SPEC_ID_MAX is). */
    struct intern names;
    struct seen {
        int64_t user;
        uint32_t spec, issue; /* indexes into names; issue SEEN_NONE: consistent */
    } *found, *held, *pending_keys;
    size_t n_found, cap_found, n_held, cap_held;
    /* The change rows pending in the check's snapshot (check_options.watch). */
    int64_t *pending_ids;
    size_t n_pending, cap_pending;
    size_t n_keys, cap_keys;
    struct watch_state state; /* the watcher's, before the sweep */
    struct watch_marks marks;  /* check_options.watch_poll: read in the sweep's snapshot */
    struct check_run *counting; /* an incremental run: the open violations counted here */
    long long watch_version;    /* an incremental run: the state it records; 0: a full run */
    bool body_skipped;          /* an incremental run of an unchanged state: no list streamed */
};

static void sink_free(struct sink *k)
{
    free(k->found);
    free(k->held);
    free(k->pending_ids);
    free(k->pending_keys);
    intern_free(&k->names);
}

#define SEEN_NONE UINT32_MAX

/* Append (user, spec, issue) to a list of k's (issue NULL: none); STORE_ERR_NOMEM. */
static int seen_push(struct sink *k, struct seen **list, size_t *n, size_t *cap, int64_t user,
                     const char *spec, const char *issue)
{
    uint32_t sp, is = SEEN_NONE;
    if (ARRAY_RESERVE(*list, *n, *cap, 1024) != 0 || intern_add(&k->names, spec, &sp) != 0 ||
        (issue && intern_add(&k->names, issue, &is) != 0))
        return store_fail(k->s, STORE_ERR_NOMEM, "out of memory comparing with the watcher");
    (*list)[(*n)++] = (struct seen){.user = user, .spec = sp, .issue = is};
    return 0;
}

/* The pair's open violation when it is of v's issue type; NULL otherwise. */
static const struct open_violation *same_open(const struct pair_levels *p,
                                              const struct violation *v)
{
    return p->has_open && !strcmp(p->open.issue_type, v->issue_type) ? &p->open : NULL;
}

/* The open-violation sink: what one classified pair changes in the open
 * violations (v NULL: the pair is consistent). A recorded check stages every
 * violation; an open violation the scan reported that the pair no longer has
 * is staged to be resolved. Returns 0 or a store error. */
static int stage_pair(struct store *s, const struct pair_levels *p, const struct violation *v)
{
    int rc = 0;
    if (p->has_open && (!v || strcmp(p->open.issue_type, v->issue_type) != 0))
        rc = s->ops->check_stage_resolve(s, p->user_id, p->spec, p->open.issue_type);
    if (rc == 0 && v)
        rc = s->ops->check_stage_add(s, v, p->has_open && pair_open_unchanged(&p->open, v));
    return rc;
}

/* Where violations go while the scan runs. Returns 0 or a store error. */
static int emit(struct sink *k, const struct pair_levels *p, struct violation *v)
{
    struct store *s = k->read;
    int rc = 0;
    const struct open_violation *open;
    if (p->open_known) {
        open = same_open(p, v);
        v->first_seen = open && open->first_seen ? open->first_seen : k->now;
        snprintf(v->user_email, sizeof v->user_email, "%s", open ? open->user_email : "");
    } else if (p->has_details) {
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
    /* A user gone from the users table keeps its pair's rows: no email then. */
    if (!v->user_email[0] && (rc = s->ops->user_email(s, v->user_id, v->user_email, NULL)) != 0 &&
        rc != STORE_ERR_NOT_FOUND)
        return rc;
    if (!k->o->dry_run && (rc = stage_pair(k->s, p, v)) != 0)
        return rc;
    if (k->o->watch_compare && !k->o->dry_run &&
        (rc = seen_push(k, &k->found, &k->n_found, &k->cap_found, v->user_id, v->spec,
                        v->issue_type)) != 0)
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
        return store_fail(k->s, STORE_ERR, "the violation consumer stopped the check");
    return 0;
}

/* What the integrity-check files of a data dir remember between checks:
 * logs/integrity_checks/.report_state.json (docs/operations.md,
 * "Integrity-check files"). */
#define STATE_FILE ".report_state.json"

struct report_state {
    char day[9];           /* YYYYMMDD (UTC) the byte count is for */
    long long bytes;       /* written to integrity-check files that day */
    bool exhausted;        /* the day's budget is spent: files are truncated */
    char full_file[80];    /* the day's last file with the full list */
    char digest[65];       /* of that list, hex */
    long long watch_version; /* the watch state that list is (an incremental run's); 0:
                                not known */
};

static void state_load(const char *dir, struct report_state *st)
{
    char path[FS_PATH_MAX], *text = NULL;
    size_t len = 0;
    memset(st, 0, sizeof *st);
    if (fs_join(path, sizeof path, dir, STATE_FILE) != 0 ||
        fs_read_file(path, 4096, &text, &len) != 0)
        return;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    const char *day = json_string_value(json_object_get(j, "day"));
    const char *file = json_string_value(json_object_get(j, "full_file"));
    const char *digest = json_string_value(json_object_get(j, "digest"));
    if (day && strlen(day) == 8) {
        memcpy(st->day, day, 9);
        st->bytes = json_integer_value(json_object_get(j, "bytes"));
        st->exhausted = json_is_true(json_object_get(j, "exhausted"));
        if (file && digest && report_valid_file_name(file) && strlen(digest) == 64) {
            snprintf(st->full_file, sizeof st->full_file, "%s", file);
            memcpy(st->digest, digest, 65);
            st->watch_version = json_integer_value(json_object_get(j, "watch_version"));
        }
    }
    json_decref(j);
}

static void state_save(const char *dir, const struct report_state *st)
{
    char path[FS_PATH_MAX], err[256];
    json_t *j = json_pack("{s:s, s:I, s:b, s:s, s:s, s:I}", "day", st->day, "bytes",
                          (json_int_t)st->bytes, "exhausted", st->exhausted, "full_file",
                          st->full_file, "digest", st->digest, "watch_version",
                          (json_int_t)st->watch_version);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    /* Lost state only costs a full list in the next file. */
    if (text && fs_join(path, sizeof path, dir, STATE_FILE) == 0)
        (void)fs_write_atomic(path, text, strlen(text), FS_FILE_MODE, err, sizeof err);
    free(text);
}

/* Digest (hex) and size of the streamed list. Returns 0 or -1. */
static int body_digest(FILE *body, char hex[65], long long *size)
{
    errno = 0;
    crypto_generichash_state h;
    unsigned char d[32], chunk[65536];
    size_t got;
    crypto_generichash_init(&h, NULL, 0, sizeof d);
    if (fflush(body) != 0)
        return -1;
    rewind(body);
    *size = 0;
    while ((got = fread(chunk, 1, sizeof chunk, body)) > 0) {
        crypto_generichash_update(&h, chunk, got);
        *size += (long long)got;
    }
    if (ferror(body))
        return -1;
    crypto_generichash_final(&h, d, sizeof d);
    sodium_bin2hex(hex, 65, d, sizeof d);
    return 0;
}

/* Note the spent budget once in the day log (every process that writes
 * checks on this data dir shares the state file, so the line is written once). */
static void budget_warning(const struct check_options *o, long long bytes)
{
    struct daylog *log = daylog_open(o->data_dir);
    if (!log)
        return;
    daylog_write(log, LOG_WARNING, "health_check",
                 "Integrity check files reached the daily budget (%lld of %lld bytes): "
                 "violation lists are truncated until midnight UTC",
                 bytes, (long long)o->budget_bytes_per_day);
    daylog_close(log);
}

enum file_kind { FILE_FULL, FILE_REFERENCE, FILE_TRUNCATED };

/* Write the report file from the streamed body; fills run->report_file or
 * k->file_error. The list goes in full only when it differs from the day's
 * last full list, and only while the day's budget lasts. */
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

    struct report_state st;
    state_load(dir, &st);
    if (memcmp(st.day, stamp, 8) != 0) { /* a new UTC day: a new budget, a full list */
        memset(&st, 0, sizeof st);
        memcpy(st.day, stamp, 8);
    }
    char digest[65];
    long long body_size = 0;
    if (k->body_skipped) { /* nothing streamed: the day's list stands, or there is none */
        unsigned char d[32];
        crypto_generichash(d, sizeof d, NULL, 0, NULL, 0);
        sodium_bin2hex(digest, sizeof digest, d, sizeof d);
    } else if (body_digest(k->body.fp, digest, &body_size) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "cannot write %s: %s", k->body.path,
                 strerror(errno ? errno : EIO));
        return;
    }
    enum file_kind kind = FILE_FULL;
    char ref_path[FS_PATH_MAX];
    struct stat sb;
    /* An incremental run of the state the day's last full list is: that
     * file's list (nothing was streamed). */
    bool same_state = k->watch_version && st.watch_version == k->watch_version;
    if (run->inconsistent > 0 && st.full_file[0] &&
        (same_state || strcmp(st.digest, digest) == 0) &&
        fs_join(ref_path, sizeof ref_path, dir, st.full_file) == 0 &&
        stat(ref_path, &sb) == 0 && S_ISREG(sb.st_mode))
        kind = FILE_REFERENCE;
    long long budget = k->o->budget_bytes_per_day;
    bool warn = false;
    if (run->inconsistent > 0 && budget > 0 &&
        (st.exhausted || (kind == FILE_FULL && st.bytes + body_size + 1024 > budget))) {
        kind = FILE_TRUNCATED;
        warn = !st.exhausted;
        st.exhausted = true;
    }

    if (kind == FILE_FULL && k->body_skipped && run->inconsistent > 0) { /* the list went */
        snprintf(k->file_error, sizeof k->file_error, "the day's last full list %s is gone",
                 st.full_file);
        return;
    }
    if (atomic_file_open(&af, first, FS_FILE_MODE, err, sizeof err) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "%s", err);
        return;
    }
    int rc = kind == FILE_FULL        ? report_write(af.fp, run, k->body_skipped ? NULL : k->body.fp)
             : kind == FILE_REFERENCE ? report_write_reference(af.fp, run, st.full_file)
                                      : report_write_truncated(af.fp, run);
    long written = rc == 0 ? ftell(af.fp) : -1;
    if (rc != 0 || written < 0) {
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
    st.bytes += written;
    if (kind == FILE_FULL) {
        const char *base = strrchr(path, '/');
        snprintf(st.full_file, sizeof st.full_file, "%s", base ? base + 1 : path);
        memcpy(st.digest, digest, sizeof digest);
        st.watch_version = k->watch_version;
    } else if (kind == FILE_REFERENCE && k->watch_version) {
        st.watch_version = k->watch_version; /* that list is this state too */
    }
    state_save(dir, &st);
    if (warn)
        budget_warning(k->o, st.bytes);
}

/* The rate of run's counts and the status the thresholds give it. */
static void set_status(struct check_run *run, const struct check_options *o)
{
    run->consistency_rate = health_rate(run->consistent, run->total_checked);
    snprintf(run->status, sizeof run->status, "%s",
             health_status(run->consistency_rate, o->healthy_threshold, o->degraded_threshold));
}

/* Whether the run may be recorded (check_options.may_record); when not, the
 * streamed list is dropped and err says why. */
static bool may_record(struct sink *k, char *err, size_t errlen)
{
    if (!k->o->may_record || k->o->may_record(k->o->may_record_ctx))
        return true;
    snprintf(err, errlen, "health check not recorded: this process no longer leads the "
             "scheduled jobs");
    if (k->body_open) {
        atomic_file_abort(&k->body);
        k->body_open = false;
    }
    return false;
}

/* The file the violations stream to while the check runs (in the log dir). */
static void open_body(struct sink *k)
{
    char body_path[FS_PATH_MAX];
    if (fs_join(body_path, sizeof body_path, k->o->data_dir, CHECK_DIR "/.body") != 0)
        snprintf(k->file_error, sizeof k->file_error, "data_dir path is too long");
    else if (atomic_file_open(&k->body, body_path, FS_SECRET_MODE, k->file_error,
                              sizeof k->file_error) == 0)
        k->body_open = true;
}

/* After the run is recorded: its report file (when `write`), the streamed
 * list dropped, and where the file went (or why not) noted with the run. */
static void finish_file(struct sink *k, struct check_run *run, struct check_outcome *out,
                        bool write)
{
    if (write)
        write_report_file(k, run);
    if (k->body_open) {
        atomic_file_abort(&k->body);
        k->body_open = false;
    }
    if (k->file_error[0] || run->report_file[0]) {
        snprintf(run->file_error, sizeof run->file_error, "%s", k->file_error);
        snprintf(out->file_error, sizeof out->file_error, "%s", k->file_error);
        /* The check is recorded either way; failing to note the file is not fatal. */
        (void)k->s->ops->check_set_file(k->s, run->id, run->report_file, run->file_error);
    }
}

/* Classify every pair the scan gives: count them into run (or take the
 * scan's counts, when it left the consistent pairs out), stage what changes
 * in the open violations, emit each violation. Returns 0 or a store error. */
static int classify_all(struct sink *k, struct store_scan *scan, struct check_run *run)
{
    struct store *s = k->s;
    const struct check_options *o = k->o;
    struct pair_levels p;
    struct violation v;
    int64_t last_user = 0;
    int rc;
    while ((rc = k->read->ops->pair_scan_next(scan, &p)) == 1) {
        if (!p.has_progress && !p.has_license) { /* an open violation whose rows are gone */
            if (!o->dry_run && (rc = stage_pair(s, &p, NULL)) != 0)
                return rc;
            continue;
        }
        run->total_checked++;
        if (p.user_id != last_user) { /* pairs arrive ordered by user */
            run->users_checked++;
            last_user = p.user_id;
        }
        if (!pair_violation(&p, o->direction, &v)) {
            run->consistent++;
            if (p.has_open && !o->dry_run && (rc = stage_pair(s, &p, NULL)) != 0)
                return rc;
            continue;
        }
        run->inconsistent++;
        if ((rc = emit(k, &p, &v)) != 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    /* A scan that left the consistent pairs out counted every pair. */
    int64_t pairs, users;
    if (k->read->ops->pair_scan_totals &&
        k->read->ops->pair_scan_totals(scan, &pairs, &users) == 1) {
        run->total_checked = pairs;
        run->users_checked = users;
        run->consistent = pairs - run->inconsistent;
    }
    return 0;
}

/* Note in the day log where a check with a replica configured read its pairs
 * (docs/operations.md, "Reading from a replica"); nothing without one. */
static void source_line(const struct check_options *o, const struct check_source *src)
{
    bool replica = !strcmp(src->source, "replica");
    if ((!replica && !src->replica_fallback[0]) || !o->data_dir)
        return;
    struct daylog *log = daylog_open(o->data_dir);
    if (!log)
        return;
    if (replica)
        daylog_write(log, LOG_INFO, "health_check", "Check read from the replica (replay lag "
                     "%.1f s)", src->replica_lag_seconds);
    else
        daylog_write(log, LOG_WARNING, "health_check", "Replica not used (%s); the check read "
                     "the primary", src->replica_fallback);
    daylog_close(log);
}

/* ---- the watcher's side of a full sweep (watch.md) ---- */

/* The order of the seen lists: by user, then by the index of the
 * specialization (one sink's names: the same order in every list). */
static int cmp_seen(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return x->spec < y->spec ? -1 : x->spec > y->spec;
}

/* Pending change rows beyond this many are not compared (their pair keys
 * would take too much memory): the sweep still consumes them, and says so. */
#define CHECK_COMPARE_MAX_PENDING 1000000

/* A change row pending in the snapshot: consumed when the sweep records. */
static int collect_pending(void *ctx, const struct pair_change *c)
{
    struct sink *k = ctx;
    if (ARRAY_RESERVE(k->pending_ids, k->n_pending, k->cap_pending, 256) != 0)
        return store_fail(k->s, STORE_ERR_NOMEM, "out of memory reading pending changes");
    k->pending_ids[k->n_pending++] = c->id;
    if (k->n_pending > CHECK_COMPARE_MAX_PENDING) /* too many to compare: ids only */
        return 0;
    return seen_push(k, &k->pending_keys, &k->n_keys, &k->cap_keys, c->user_id, c->spec, NULL);
}

static int collect_held(void *ctx, const struct violation *v)
{
    struct sink *k = ctx;
    return seen_push(k, &k->held, &k->n_held, &k->cap_held, v->user_id, v->spec,
                     v->issue_type);
}

static bool pending_pair(const struct sink *k, const struct seen *at)
{
    return k->n_keys &&
           bsearch(at, k->pending_keys, k->n_keys, sizeof *at, cmp_seen) != NULL;
}

static void note_divergence(struct check_outcome *out, int64_t user, const char *spec,
                            const char *watcher, const char *full)
{
    out->run.divergences++;
    if (out->n_divergent >= CHECK_DIVERGENCES_LISTED)
        return;
    struct check_divergence *d = &out->divergent[out->n_divergent++];
    d->user_id = user;
    snprintf(d->spec, sizeof d->spec, "%s", spec);
    snprintf(d->watcher, sizeof d->watcher, "%s", watcher);
    snprintf(d->full, sizeof d->full, "%s", full);
}

/* Compare the sweep's violations with the watcher's open ones, pair by pair,
 * leaving out the pairs with a change pending in the sweep's snapshot (the
 * watcher has not seen those yet); with nothing pending, the pair and user
 * counts too (not in poll mode). Fills run.divergences and out's list. Returns 0 or a store
 * error. */
static int compare_with_watcher(struct sink *k, struct check_outcome *out)
{
    int rc = k->s->ops->violations_open(k->s, NULL, collect_held, k);
    if (rc)
        return rc;
    if (k->n_found > 1)
        qsort(k->found, k->n_found, sizeof *k->found, cmp_seen);
    if (k->n_held > 1)
        qsort(k->held, k->n_held, sizeof *k->held, cmp_seen);
    size_t i = 0, j = 0;
    while (i < k->n_found || j < k->n_held) {
        const struct seen *f = i < k->n_found ? &k->found[i] : NULL;
        const struct seen *h = j < k->n_held ? &k->held[j] : NULL;
        int order = !f ? 1 : !h ? -1 : cmp_seen(f, h);
        const struct seen *at = order <= 0 ? f : h;
        uint32_t full = order <= 0 ? f->issue : SEEN_NONE;
        uint32_t held = order >= 0 ? h->issue : SEEN_NONE;
        i += order <= 0;
        j += order >= 0;
        if (full != held && !pending_pair(k, at))
            note_divergence(out, at->user, intern_str(&k->names, at->spec),
                            held == SEEN_NONE ? "" : intern_str(&k->names, held),
                            full == SEEN_NONE ? "" : intern_str(&k->names, full));
    }
    out->watch_pairs = k->state.pairs;
    out->watch_users = k->state.users;
    /* Poll mode learns no row counts (its change rows carry delta 0): only
     * full sweeps count the pairs, so a difference there is no divergence. */
    if (k->n_pending == 0 && !k->o->watch_poll &&
        (k->state.pairs != out->run.total_checked || k->state.users != out->run.users_checked)) {
        int64_t d = k->state.pairs - out->run.total_checked;
        out->counts_diverged = true;
        out->run.divergences += d > 0 ? d : d < 0 ? -d : 1;
    }
    return 0;
}

/* Log a divergence as watch.md asks: one ERROR line naming the pairs. */
static void divergence_line(const struct check_options *o, const struct check_outcome *out)
{
    if (!out->run.divergences || !o->data_dir)
        return;
    struct daylog *log = daylog_open(o->data_dir);
    if (!log)
        return;
    char pairs[1200] = "";
    size_t n = 0;
    for (int i = 0; i < out->n_divergent && n < sizeof pairs - 120; i++) {
        const struct check_divergence *d = &out->divergent[i];
        int w = snprintf(pairs + n, sizeof pairs - n, "%suser %lld %s: watcher %s, full %s",
                         i ? "; " : "", (long long)d->user_id, d->spec,
                         d->watcher[0] ? d->watcher : "consistent",
                         d->full[0] ? d->full : "consistent");
        if (w > 0)
            n += (size_t)w;
    }
    char counts[200] = "";
    if (out->counts_diverged)
        snprintf(counts, sizeof counts, "%swatcher counted %lld pairs of %lld users, the sweep "
                 "%lld of %lld", n ? "; " : "", (long long)out->watch_pairs,
                 (long long)out->watch_users, (long long)out->run.total_checked,
                 (long long)out->run.users_checked);
    daylog_write(log, LOG_ERROR, "health_check",
                 "Watch divergence: the full sweep (check #%lld) found %lld pair(s) the watcher "
                 "had wrong (%s%s%s); the full result replaces the watcher's state",
                 (long long)out->run.id, (long long)out->run.divergences, pairs,
                 out->n_divergent < out->run.divergences && n ? ", …" : "", counts);
    daylog_close(log);
}

/* After a recorded sweep: the change rows it saw are consumed and the watch
 * state is what it read. Returns 0 or a store error. */
static int watch_reset_after(struct sink *k, const struct check_run *run)
{
    struct store *s = k->s;
    int rc = s->ops->begin(s, STORE_TXN_WRITE);
    if (rc == 0)
        rc = s->ops->watch_reset(s, k->pending_ids, k->n_pending, run->total_checked,
                                 run->users_checked, run->inconsistent, run->id,
                                 run->divergences, time_now_us(),
                                 k->o->watch_poll ? &k->marks : NULL);
    if (rc == 0)
        return s->ops->commit(s);
    if (s->in_txn)
        s->ops->rollback(s);
    return rc;
}

static int execute_full(struct store *s, const struct check_options *o,
                        struct check_outcome *out, char *err, size_t errlen);

/* A sweep that consumes the change rows reads a replica only once it has
 * replayed what the primary holds now, under the watch lock: the watcher's
 * last batch included (else the snapshot would miss changes whose rows the
 * sweep then deletes as seen). Waits up to 5 s; else the primary, recorded. */
#define REPLICA_CATCH_UP_US (5 * USEC_PER_SEC)

static void replica_catch_up(struct store *s, struct check_options *o)
{
    struct store *r = o->read_store;
    struct store_wal primary, replica;
    if (!r || r == s || !s->ops->wal_position || s->ops->wal_position(s, &primary) != 0)
        return;
    for (int64_t t0 = time_mono_us(); time_mono_us() - t0 < REPLICA_CATCH_UP_US;) {
        if (r->ops->wal_position(r, &replica) == 0 && replica.in_recovery &&
            replica.lsn >= primary.lsn)
            return;
        time_sleep_ms(50);
    }
    o->read_store = NULL;
    snprintf(o->read.source, sizeof o->read.source, "primary");
    snprintf(o->read.replica_fallback, sizeof o->read.replica_fallback,
             "the replica did not replay the primary's position within 5 s (the watcher's "
             "state needs it)");
}

int check_execute(struct store *s, const struct check_options *o, struct check_outcome *out,
                  char *err, size_t errlen)
{
    bool lock = o->watch && !o->dry_run && s->ops->watch_lock;
    struct check_options lo = *o;
    int rc;
    if (lock && (rc = s->ops->watch_lock(s, true)) != 0) {
        memset(out, 0, sizeof *out);
        snprintf(err, errlen, "health check failed: %s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if (lock)
        replica_catch_up(s, &lo);
    rc = execute_full(s, &lo, out, err, errlen);
    if (lock)
        (void)s->ops->watch_lock(s, false);
    return rc;
}

/* The full check: every pair read (with o->watch, under the watch lock). */
static int execute_full(struct store *s, const struct check_options *o,
                        struct check_outcome *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct check_run *run = &out->run;
    struct store *r = o->read_store ? o->read_store : s;
    struct sink k = {.s = s, .read = r, .o = o, .first = true};
    run->read = o->read;
    if (!run->read.source[0])
        snprintf(run->read.source, sizeof run->read.source, "primary");
    /* A failure names the store it happened on: the one with a message. */
    s->errmsg[0] = r->errmsg[0] = '\0';
    struct store_scan *scan = NULL;
    int64_t mono0 = time_mono_us();
    k.now = run->timestamp = time_now_us();
    snprintf(run->trigger, sizeof run->trigger, "%s", o->trigger ? o->trigger : "manual");
    int rc = 0;

    if (!o->dry_run && o->data_dir)
        open_body(&k);
    bool watch = o->watch && !o->dry_run && s->ops->watch_reset;
    if (watch && o->watch_compare && (rc = s->ops->watch_state_get(s, &k.state)) != 0)
        goto store_failed;
    if (!o->dry_run && (rc = s->ops->check_stage_reset(s)) != 0)
        goto store_failed;
    if ((rc = r->ops->begin(r, STORE_TXN_READ)) != 0)
        goto store_failed;
    if (watch) {
        if ((rc = r->ops->watch_changes(r, 0, INT64_MIN, collect_pending, &k)) != 0)
            goto store_failed;
        if (k.n_keys > 1)
            qsort(k.pending_keys, k.n_keys, sizeof *k.pending_keys, cmp_seen);
        if (o->watch_poll && (rc = r->ops->watch_marks(r, &k.marks)) != 0)
            goto store_failed;
    }
    struct pair_filter all = {.open_violations = true, .inconsistent_only = true};
    if ((rc = r->ops->pair_scan_open(r, &all, &scan)) != 0)
        goto store_failed;
    if ((rc = classify_all(&k, scan, run)) != 0)
        goto store_failed;
    assert(run->consistent + run->inconsistent == run->total_checked);
    assert(run->users_checked <= run->total_checked);
    r->ops->pair_scan_close(scan);
    scan = NULL;
    if (o->require_pairs && run->total_checked == 0) {
        snprintf(err, errlen, "the attached database has no pairs: nothing in its progress and "
                 "license tables (status unknown; set [domain] allow_empty = true when that is "
                 "expected)");
        r->ops->rollback(r); /* nothing staged is applied: open violations stay open */
        if (k.body_open)
            atomic_file_abort(&k.body);
        sink_free(&k);
        return LS_ERR_VALIDATION;
    }
    if (!o->dry_run && (rc = s->ops->check_stage_complete(s)) != 0)
        goto store_failed;
    if ((rc = r->ops->commit(r)) != 0)
        goto store_failed;

    set_status(run, o);
    snprintf(run->kind, sizeof run->kind, "full");
    if (watch && o->watch_compare && k.n_pending <= CHECK_COMPARE_MAX_PENDING &&
        (rc = compare_with_watcher(&k, out)) != 0)
        goto store_failed;
    run->duration_ms = (double)(time_mono_us() - mono0) / 1000.0;
    if (o->dry_run) {
        sink_free(&k);
        return 0;
    }

    if (!may_record(&k, err, errlen)) {
        sink_free(&k);
        return LS_ERR_CONFLICT;
    }
    if ((rc = s->ops->check_record(s, run)) != 0)
        goto store_failed;
    out->recorded = true;
    if (watch && (rc = watch_reset_after(&k, run)) != 0)
        goto store_failed;
    source_line(o, &run->read);
    divergence_line(o, out);
    finish_file(&k, run, out, k.body_open);
    sink_free(&k);
    return 0;

store_failed:
    snprintf(err, errlen, "health check failed: %s",
             s->errmsg[0] || r == s ? store_errmsg(s) : store_errmsg(r));
    if (scan)
        r->ops->pair_scan_close(scan);
    if (r->in_txn)
        r->ops->rollback(r);
    if (s->in_txn)
        s->ops->rollback(s);
    if (k.body_open)
        atomic_file_abort(&k.body);
    sink_free(&k);
    return ls_from_store(rc);
}

int check_current_violations(struct store *s, const char *spec, const char *direction,
                             store_violation_cb cb, void *ctx, char *err, size_t errlen)
{
    struct check_options o = {.dry_run = true, .direction = direction, .on_violation = cb,
                              .ctx = ctx};
    struct sink k = {.s = s, .read = s, .o = &o, .first = true, .now = time_now_us()};
    struct pair_filter f = {.spec = spec, .open_violations = true, .inconsistent_only = true};
    struct store_scan *scan = NULL;
    struct check_run counts = {0}; /* the dry run's figures: not reported here */
    int rc = s->ops->begin(s, STORE_TXN_READ);
    if (rc == 0)
        rc = s->ops->pair_scan_open(s, &f, &scan);
    if (rc == 0)
        rc = classify_all(&k, scan, &counts);
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

/* An open violation into the incremental run's file. */
static int emit_open(void *ctx, const struct violation *v)
{
    struct sink *k = ctx;
    k->counting->inconsistent++;
    if (k->body_open && report_write_violation(k->body.fp, v, k->first) != 0) {
        snprintf(k->file_error, sizeof k->file_error, "cannot write %s: write failed", CHECK_DIR);
        atomic_file_abort(&k->body);
        k->body_open = false;
    }
    k->first = false;
    return 0;
}

/* Whether an incremental run of watch state `version` needs no list: the
 * day's last full list is that state (an earlier run of it wrote it today,
 * and it is still there), or the day's budget is spent (files carry a count).
 * Then it streams nothing. */
static bool list_unchanged(const struct check_options *o, int64_t version)
{
    char dir[FS_PATH_MAX], path[FS_PATH_MAX], today[16];
    struct report_state st;
    struct stat sb;
    if (!o->data_dir || fs_join(dir, sizeof dir, o->data_dir, CHECK_DIR) != 0)
        return false;
    state_load(dir, &st);
    time_format_file(time_now_us(), today);
    if (memcmp(st.day, today, 8) != 0)
        return false;
    if (st.exhausted && o->budget_bytes_per_day > 0) /* today's files carry no list */
        return true;
    return st.watch_version == version && st.full_file[0] &&
           fs_join(path, sizeof path, dir, st.full_file) == 0 && stat(path, &sb) == 0 &&
           S_ISREG(sb.st_mode);
}

int check_execute_incremental(struct store *s, const struct check_options *o,
                              struct check_outcome *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct check_run *run = &out->run;
    struct sink k = {.s = s, .read = s, .o = o, .first = true};
    k.counting = run;
    snprintf(run->read.source, sizeof run->read.source, "primary");
    snprintf(run->kind, sizeof run->kind, "incremental");
    snprintf(run->trigger, sizeof run->trigger, "%s", o->trigger ? o->trigger : "manual");
    int64_t mono0 = time_mono_us();
    k.now = run->timestamp = time_now_us();
    s->errmsg[0] = '\0';
    struct watch_state st;
    int rc = s->ops->begin(s, STORE_TXN_READ);
    if (rc == 0)
        rc = s->ops->watch_state_get(s, &st);
    if (rc)
        goto store_failed;
    k.watch_version = st.version > 0 ? st.version : 0;
    k.body_skipped = o->dry_run || !o->data_dir || list_unchanged(o, st.version);
    if (!k.body_skipped) {
        open_body(&k);
        /* The whole list for the file, counted as it goes. */
        if ((rc = s->ops->violations_open(s, NULL, emit_open, &k)) != 0)
            goto store_failed;
    } else {
        run->inconsistent = st.violations;
    }
    /* The newest for the caller (the check-now answer), bounded. */
    if (o->on_violation && o->newest_limit > 0 &&
        (rc = s->ops->violations_open_page(s, NULL, o->newest_limit, 0, o->on_violation,
                                           o->ctx)) != 0)
        goto store_failed;
    if ((rc = s->ops->commit(s)) != 0)
        goto store_failed;
    /* One open violation per inconsistent pair. */
    run->total_checked = st.pairs > run->inconsistent ? st.pairs : run->inconsistent;
    run->consistent = run->total_checked - run->inconsistent;
    run->users_checked = st.users;
    set_status(run, o);
    run->duration_ms = (double)(time_mono_us() - mono0) / 1000.0;
    if (o->dry_run)
        return 0;
    if (!may_record(&k, err, errlen))
        return LS_ERR_CONFLICT;
    if ((rc = s->ops->check_record(s, run)) != 0)
        goto store_failed;
    out->recorded = true;
    finish_file(&k, run, out, o->data_dir && (k.body_open || k.body_skipped));
    return 0;

store_failed:
    snprintf(err, errlen, "health check failed: %s", store_errmsg(s));
    if (s->in_txn)
        s->ops->rollback(s);
    if (k.body_open)
        atomic_file_abort(&k.body);
    return ls_from_store(rc);
}

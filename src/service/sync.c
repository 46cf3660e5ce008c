/* sync.c — repair: collect the violations in scope, then fix each pair in its
 * own transaction under the enforcer's lock order, re-validating it first. */
#include "service/sync.h"

#include "config/config.h"
#include "service/errors.h"
#include "model/direction.h"
#include "model/pair.h"
#include "service/report.h"
#include "service/specs.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/array.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sync_result_free(struct sync_result *r)
{
    for (size_t i = 0; i < r->n_items; i++)
        if (!r->items[i].error_shared)
            free(r->items[i].error);
    free(r->items);
    r->items = NULL;
    r->n_items = r->cap_items = 0;
    intern_free(&r->specs);
    free(r->not_attempted);
    r->not_attempted = NULL;
    free(r->manual);
    r->manual = NULL;
    r->n_manual = r->cap_manual = 0;
}

/* Note a pair no sync repairs. Returns 0, or -1 out of memory. */
static int add_manual(struct sync_result *r, const struct violation *v)
{
    if (ARRAY_RESERVE(r->manual, r->n_manual, r->cap_manual, 16) != 0)
        return -1;
    r->manual[r->n_manual++] = *v;
    return 0;
}

const char *sync_item_spec(const struct sync_result *r, const struct sync_item *it)
{
    return intern_str(&r->specs, it->spec);
}

const char *sync_item_error(const struct sync_item *it)
{
    return it->error ? it->error : "";
}

/* A new item for the pair (user, spec). NULL when out of memory. */
static struct sync_item *add_item(struct sync_result *r, int64_t user, const char *spec)
{
    uint32_t idx;
    if (ARRAY_RESERVE(r->items, r->n_items, r->cap_items, 16) != 0 ||
        intern_add(&r->specs, spec, &idx) != 0)
        return NULL;
    struct sync_item *it = &r->items[r->n_items++];
    memset(it, 0, sizeof *it);
    it->user_id = user;
    it->spec = idx;
    return it;
}

/* Item `it` failed: why (a copy), or "out of memory" when even that fails. */
static void item_failed(struct sync_item *it, const char *why)
{
    it->success = false;
    if (!it->error_shared)
        free(it->error);
    it->error_shared = false;
    it->error = strdup(why);
    if (!it->error) {
        static char oom[] = "out of memory";
        it->error = oom;
        it->error_shared = true; /* not ours to free */
    }
}

/* The candidate pairs: every violation in scope, from one snapshot. The
 * pairs no sync repairs (pair_needs_review) are listed apart. */
static int collect(struct store *s, const struct sync_options *o, const char *spec,
                   struct sync_result *r)
{
    /* Only the inconsistent pairs are wanted: where the backend classifies
     * in its query (a full scan on PostgreSQL), it sends no other. */
    struct pair_filter f = {.user_id = o->user_id, .spec = spec, .inconsistent_only = true};
    struct store_scan *scan = NULL;
    int rc = s->ops->begin(s, STORE_TXN_READ);
    if (rc)
        return rc;
    if ((rc = s->ops->pair_scan_open(s, &f, &scan)) != 0)
        goto out;
    struct pair_levels p;
    while ((rc = s->ops->pair_scan_next(scan, &p)) == 1) {
        enum pair_state st = pair_state_of(&p);
        if (!pair_is_violation(st))
            continue;
        if (pair_needs_review(st)) {
            struct violation v;
            if (pair_violation(&p, o->direction, &v) && add_manual(r, &v) != 0) {
                rc = store_fail(s, STORE_ERR_NOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        struct sync_item *it = add_item(r, p.user_id, p.spec);
        if (!it) {
            rc = store_fail(s, STORE_ERR_NOMEM, "out of memory");
            goto out;
        }
        it->issue_type = pair_issue_type(st);
        it->action = pair_recommended_action(st, o->direction, p.progress_level, p.license_level);
        /* For the dry run: the side that would change, before and after. */
        if (st == PAIR_MISSING_LICENSE) {
            it->has_new = true;
            it->new_level = p.progress_level;
        } else if (st == PAIR_MISSING_PROGRESS) {
            it->has_new = true;
            it->new_level = p.license_level;
        } else if (!strcmp(it->action, "sync_progress_to_license")) {
            it->has_old = it->has_new = true;
            it->old_level = p.license_level;
            it->new_level = p.progress_level;
        } else {
            it->has_old = it->has_new = true;
            it->old_level = p.progress_level;
            it->new_level = p.license_level;
        }
        it->success = true;
    }
    if (rc > 0)
        rc = 0;
out:
    if (scan)
        s->ops->pair_scan_close(scan);
    if (rc == 0)
        rc = s->ops->commit(s);
    else
        s->ops->rollback(s);
    return rc;
}

static int keep_pair(void *ctx, const struct pair_levels *p)
{
    *(struct pair_levels *)ctx = *p;
    return 0;
}

/* The pair (user, spec) as it is now, inside the caller's transaction, read
 * by the rule's one statement for a list of keys (the watcher's pairs_get:
 * on PostgreSQL one round trip, where a one-pair scan took four):
 * has_progress and has_license false when it has no row. */
static int pair_now(struct store *s, int64_t user, const char *spec, struct pair_levels *out)
{
    struct pair_key k = {.user_id = user};
    snprintf(k.spec, sizeof k.spec, "%s", spec);
    memset(out, 0, sizeof *out);
    return s->ops->pairs_get(s, &k, 1, keep_pair, out);
}

/* The repair's writes on the locked rows of the pair (it->user_id, spec):
 * create the missing row, or copy one side's level to the other (with a
 * progression when the license moves), as `action` says. Fills the item's
 * levels. Returns 0 or a store code. */
static int write_repair(struct store *s, const struct sync_options *o, enum pair_state st,
                        const char *action, int64_t now, const char *spec, struct progress *p,
                        struct license *l, struct sync_item *it)
{
    int rc;
    if (st == PAIR_MISSING_LICENSE) {
        memset(l, 0, sizeof *l);
        l->user_id = it->user_id;
        snprintf(l->spec, sizeof l->spec, "%s", spec);
        l->current_level = l->max_achieved_level = p->current_level;
        l->started_at = l->created_at = l->updated_at = now;
        it->has_new = true;
        it->new_level = l->current_level;
        rc = s->ops->license_insert(s, l);
    } else if (st == PAIR_MISSING_PROGRESS) {
        memset(p, 0, sizeof *p);
        p->student_id = it->user_id;
        snprintf(p->spec, sizeof p->spec, "%s", spec);
        p->current_level = l->current_level;
        p->created_at = p->updated_at = p->last_activity = now;
        it->has_new = true;
        it->new_level = p->current_level;
        rc = s->ops->progress_insert(s, p);
    } else if (!strcmp(action, "sync_progress_to_license")) {
        struct progression pr;
        memset(&pr, 0, sizeof pr);
        pr.user_license_id = l->id;
        pr.from_level = l->current_level;
        pr.to_level = p->current_level;
        pr.advanced_by = o->caller;
        pr.advanced_at = now;
        snprintf(pr.reason, sizeof pr.reason, "Auto-sync from SpecializationProgress");
        it->has_old = it->has_new = true;
        it->old_level = l->current_level;
        it->new_level = p->current_level;
        l->current_level = p->current_level;
        if (l->current_level > l->max_achieved_level)
            l->max_achieved_level = l->current_level;
        l->last_advanced_at = l->updated_at = now;
        rc = s->ops->license_update(s, l);
        if (rc == 0)
            rc = s->ops->progression_insert(s, &pr);
    } else {
        it->has_old = it->has_new = true;
        it->old_level = p->current_level;
        it->new_level = l->current_level;
        p->current_level = l->current_level;
        p->updated_at = now;
        rc = s->ops->progress_update(s, p);
    }
    return rc;
}

/* Repair one pair (it->user_id, spec) in its own transaction. Fills the item
 * with what happened. */
static int repair(struct store *s, const struct sync_options *o, struct sync_item *it,
                  const char *spec, int64_t now, int64_t run_id)
{
    struct progress p;
    struct license l;
    int rc = s->ops->begin(s, STORE_TXN_WRITE);
    if (rc)
        return rc;
    int prc = s->ops->progress_get(s, it->user_id, spec, true, &p);
    if (prc && prc != STORE_ERR_NOT_FOUND) {
        rc = prc;
        goto fail;
    }
    int lrc = s->ops->license_get(s, it->user_id, spec, true, &l);
    if (lrc && lrc != STORE_ERR_NOT_FOUND) {
        rc = lrc;
        goto fail;
    }
    /* Re-validated with the whole rule (duplicates, NULL levels, the
     * specialization's maximum), on the rows now locked. */
    struct pair_levels now_pair;
    if ((rc = pair_now(s, it->user_id, spec, &now_pair)) != 0)
        goto fail;
    bool hp = prc == 0, hl = lrc == 0;
    enum pair_state st = pair_state_of(&now_pair);
    it->has_old = it->has_new = false;
    if (!pair_is_violation(st)) {
        it->action = "none";
        s->ops->rollback(s);
        return 0;
    }
    it->issue_type = pair_issue_type(st);
    const char *action = pair_recommended_action(st, o->direction, hp ? p.current_level : 0,
                                                 hl ? l.current_level : 0);
    it->action = action;
    if (pair_needs_review(st)) { /* became one since the run's snapshot */
        rc = store_fail(s, STORE_ERR, "not repaired: the pair is now %s (%s)",
                        pair_issue_type(st), PAIR_MANUAL_REVIEW);
        goto fail;
    }
    /* The guard of every write below, apart from the classification: no
     * level outside 1..max of the specialization is ever stored. */
    struct specialization sp;
    if ((rc = s->ops->spec_get(s, spec, &sp)) != 0) {
        if (rc == STORE_ERR_NOT_FOUND)
            rc = store_fail(s, STORE_ERR, "not repaired: specialization %s is unknown",
                            spec);
        goto fail;
    }
    int write_level = !strcmp(action, "sync_license_to_progress") ||
                              st == PAIR_MISSING_PROGRESS
                          ? l.current_level
                          : p.current_level;
    if (!pair_level_in_range(write_level, sp.max_levels)) {
        rc = store_fail(s, STORE_ERR,
                        "not repaired: level %d is outside 1-%d of %s (%s)", write_level,
                        sp.max_levels, spec, PAIR_MANUAL_REVIEW);
        goto fail;
    }
    rc = write_repair(s, o, st, action, now, spec, &p, &l, it);
    assert(rc != 0 || p.current_level == l.current_level); /* the pair is coupled again */
    /* The run's count commits with the repair: a run killed at any point
     * shows exactly the repairs that committed. */
    if (rc == 0 && run_id)
        rc = s->ops->sync_run_count_repair(s, run_id);
    /* The lead is asked again inside the transaction, just before it commits:
     * a process frozen after the question in the loop and woken after a
     * takeover must not commit this repair. On SQLite the write lock held
     * here keeps anyone from taking the lease until the commit; PostgreSQL's
     * limit is in docs/architecture.md ("Leadership"). */
    if (rc == 0 && o->may_continue && !o->may_continue(o->may_continue_ctx))
        rc = store_fail(s, STORE_ERR, "this process no longer leads the scheduled jobs");
    if (rc)
        goto fail;
    return s->ops->commit(s);
fail:
    s->ops->rollback(s);
    return rc;
}

/* The sync log while the run goes on: one JSON line for the run, then one per
 * pair as its repair commits, written straight to the file (no buffer a kill
 * would lose). The finished run replaces it with the whole result. */
struct journal {
    int fd; /* -1: none */
    char path[FS_PATH_MAX];
    char rel[STORE_PATH_MAX]; /* relative to the data dir */
};

static void journal_open(const struct sync_options *o, int64_t started, struct journal *j,
                         struct sync_result *r)
{
    j->fd = -1;
    char stamp[16], dir[FS_PATH_MAX];
    time_format_file(started, stamp);
    if (fs_join(dir, sizeof dir, o->data_dir, SYNC_DIR) != 0 || fs_mkdir_p(dir, 0755) != 0) {
        snprintf(r->log_error, sizeof r->log_error, "cannot create %s", SYNC_DIR);
        return;
    }
    for (int n = 1; n <= 100 && j->fd < 0; n++) {
        int len = n == 1 ? snprintf(j->path, sizeof j->path, "%s/%s_sync.log", dir, stamp)
                         : snprintf(j->path, sizeof j->path, "%s/%s_sync_%d.log", dir, stamp, n);
        if (len < 0 || (size_t)len >= sizeof j->path)
            break;
        j->fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                     FS_FILE_MODE);
        if (j->fd < 0 && errno != EEXIST)
            break;
    }
    if (j->fd < 0) {
        snprintf(r->log_error, sizeof r->log_error, "cannot create a sync log in %s: %s",
                 SYNC_DIR, strerror(errno));
        return;
    }
    snprintf(j->rel, sizeof j->rel, "%s", j->path + strlen(o->data_dir) + 1);
}

static void journal_write(int fd, json_t *line)
{
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!text)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: written by length */
    size_t done = 0;
    while (done <= n) {
        ssize_t w = write(fd, text + done, n + 1 - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    free(text);
}

/* An item as the result lists it; its error too when with_error. */
static json_t *item_json(const struct sync_result *r, const struct sync_item *it,
                         bool with_error)
{
    json_t *x = json_object();
    if (!x)
        return NULL;
    json_object_set_new(x, "user_id", json_integer(it->user_id));
    json_object_set_new(x, "specialization", json_string(sync_item_spec(r, it)));
    json_object_set_new(x, "issue_type", json_string(it->issue_type));
    json_object_set_new(x, "action", json_string(it->action));
    json_object_set_new(x, "old_level", it->has_old ? json_integer(it->old_level) : json_null());
    json_object_set_new(x, "new_level", it->has_new ? json_integer(it->new_level) : json_null());
    json_object_set_new(x, "success", json_boolean(it->success));
    if (with_error && it->error)
        json_object_set_new(x, "error", json_string(it->error));
    return x;
}

/* A pair left for a person, as the result lists it. */
static json_t *manual_json(const struct violation *v)
{
    json_t *x = report_violation_json(v);
    if (x) {
        json_object_del(x, "first_seen");
        json_object_del(x, "user_email");
    }
    return x;
}

/* JSON value v (stolen) at nesting depth `depth`, laid out as JSON_INDENT(2)
 * lays out a whole document. Returns 0, or -1 (out of memory, write error). */
static int put_value(FILE *fp, json_t *v, int depth)
{
    char *t = v ? json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
                : NULL;
    json_decref(v);
    if (!t)
        return -1;
    int rc = 0;
    for (const char *c = t; *c && rc != EOF; c++) {
        rc = fputc(*c, fp);
        if (*c == '\n' && rc != EOF && fprintf(fp, "%*s", 2 * depth, "") < 0)
            rc = EOF;
    }
    free(t);
    return rc == EOF ? -1 : 0;
}

/* `"key": ` and value v (stolen) as a member of the top-level object, the
 * comma after it unless last. Returns 0 or -1. */
static int put_member(FILE *fp, const char *key, json_t *v, bool last)
{
    if (fprintf(fp, "  \"%s\": ", key) < 0 || put_value(fp, v, 1) != 0)
        return -1;
    return fputs(last ? "\n" : ",\n", fp) == EOF ? -1 : 0;
}

/* The whole result, as sync_result_json's document dumped with
 * JSON_INDENT(2), written one item at a time: a run over a million pairs
 * never holds them all as JSON (the tree was about 20 times the items). */
static int stream_result(FILE *fp, const struct sync_result *r)
{
    if (fputs("{\n", fp) == EOF || put_member(fp, "success", json_boolean(r->success), false) ||
        put_member(fp, "dry_run", json_boolean(r->dry_run), false) ||
        put_member(fp, "direction", json_string(r->direction), false) ||
        put_member(fp, "total_issues", json_integer(r->total_issues), false) ||
        put_member(fp, "synced_count", json_integer(r->synced_count), false) ||
        put_member(fp, "failed_count", json_integer(r->failed_count), false) ||
        fputs(r->n_items ? "  \"results\": [\n" : "  \"results\": []", fp) == EOF)
        return -1;
    for (size_t i = 0; i < r->n_items; i++)
        if (fputs("    ", fp) == EOF || put_value(fp, item_json(r, &r->items[i], true), 2) ||
            fputs(i + 1 < r->n_items ? ",\n" : "\n  ]", fp) == EOF)
            return -1;
    if (fputs(",\n", fp) == EOF ||
        put_member(fp, "manual_review_count", json_integer((json_int_t)r->n_manual), false) ||
        fputs(r->n_manual ? "  \"manual_review\": [\n" : "  \"manual_review\": []", fp) == EOF)
        return -1;
    for (size_t i = 0; i < r->n_manual; i++)
        if (fputs("    ", fp) == EOF || put_value(fp, manual_json(&r->manual[i]), 2) ||
            fputs(i + 1 < r->n_manual ? ",\n" : "\n  ]", fp) == EOF)
            return -1;
    return fputs("\n}\n", fp) == EOF ? -1 : 0;
}

static int write_log(const struct sync_options *o, struct sync_result *r, int64_t started,
                     struct journal *j)
{
    char stamp[16], dir[FS_PATH_MAX], first[FS_PATH_MAX], path[FS_PATH_MAX], stem[32];
    time_format_file(started, stamp);
    snprintf(stem, sizeof stem, "%s_sync", stamp);
    if (fs_join(dir, sizeof dir, o->data_dir, SYNC_DIR) != 0 ||
        snprintf(first, sizeof first, "%s/%s.log", dir, stem) >= (int)sizeof first) {
        snprintf(r->log_error, sizeof r->log_error, "data_dir path is too long");
        return -1;
    }
    struct atomic_file af;
    /* The whole result replaces the run's journal (same name). */
    int rc = atomic_file_open(&af, j->fd >= 0 ? j->path : first, FS_FILE_MODE, r->log_error,
                              sizeof r->log_error);
    if (rc == 0) {
        errno = 0;
        if (stream_result(af.fp, r) != 0) {
            snprintf(r->log_error, sizeof r->log_error, "cannot write %s: %s", first,
                     errno ? strerror(errno) : "out of memory");
            atomic_file_abort(&af);
            rc = -1;
        } else if (j->fd >= 0) {
            rc = atomic_file_commit(&af, r->log_error, sizeof r->log_error);
            snprintf(path, sizeof path, "%s", j->path);
        } else {
            rc = atomic_file_commit_unique(&af, dir, stem, ".log", path, sizeof path,
                                           r->log_error, sizeof r->log_error);
        }
    }
    if (rc == 0)
        snprintf(r->log_file, sizeof r->log_file, "%s", path + strlen(o->data_dir) + 1);
    else if (j->fd >= 0)
        snprintf(r->log_file, sizeof r->log_file, "%s", j->rel); /* the journal stays */
    return rc;
}

/* host:pid of this process, as job runs name their owner. */
static void owner_of_self(char out[64])
{
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(out, 64, "%.40s:%ld", host, (long)getpid());
}

struct running {
    struct sync_run runs[64];
    size_t n;
};

static int collect_running(void *ctx, const struct sync_run *r)
{
    struct running *x = ctx;
    if (x->n < sizeof x->runs / sizeof x->runs[0])
        x->runs[x->n++] = *r;
    return 0;
}

/* Whether the process that owns a running run is gone. Only a process of
 * this host can be asked; another host's runs are left to that host. */
static bool owner_gone(const char *owner, const char *self)
{
    const char *colon = strrchr(owner, ':'), *self_colon = strrchr(self, ':');
    if (!colon || !self_colon || colon - owner != self_colon - self ||
        strncmp(owner, self, (size_t)(colon - owner)) != 0)
        return false;
    char *end = NULL;
    long pid = strtol(colon + 1, &end, 10);
    if (!end || *end || pid <= 0 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int sync_recover_interrupted(struct store *s, const char *data_dir, int64_t *n)
{
    *n = 0;
    struct running *x = calloc(1, sizeof *x);
    if (!x)
        return store_fail(s, STORE_ERR_NOMEM, "out of memory");
    char self[64];
    owner_of_self(self);
    int rc = s->ops->sync_run_list_running(s, collect_running, x);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        struct sync_run r = x->runs[i];
        if (!owner_gone(r.owner, self))
            continue;
        r.finished_at = time_now_us();
        r.success = false;
        snprintf(r.status, sizeof r.status, "interrupted");
        snprintf(r.error, sizeof r.error, "interrupted: the process stopped before the run "
                 "finished; %lld repairs had committed", (long long)r.synced_count);
        rc = s->ops->sync_run_finish(s, &r);
        if (rc == STORE_ERR_NOT_FOUND) { /* finished meanwhile */
            rc = 0;
            continue;
        }
        if (rc)
            break;
        (*n)++;
        char path[FS_PATH_MAX];
        if (data_dir && r.log_file[0] && fs_join(path, sizeof path, data_dir, r.log_file) == 0) {
            int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
            if (fd >= 0) {
                json_t *line = json_object();
                json_object_set_new(line, "status", json_string("interrupted"));
                json_object_set_new(line, "synced_count", json_integer(r.synced_count));
                journal_write(fd, line);
                close(fd);
            }
        }
    }
    free(x);
    return rc;
}

/* The scope names a specialization and a student that exist (in attached
 * mode: the academy's student); spec gets the specialization's id. Returns 0
 * or an LS_ERR_* code with err. */
static int check_scope(struct store *s, const struct sync_options *o, char spec[SPEC_ID_MAX],
                       char *err, size_t errlen)
{
    if (o->spec) {
        struct specialization sp;
        int rc = specs_get(s, o->spec, &sp, err, errlen);
        if (rc)
            return rc;
        memcpy(spec, sp.id, SPEC_ID_MAX);
    }
    if (o->user_id) {
        char email[EMAIL_MAX + 1];
        int rc = s->ops->user_email(s, o->user_id, email, NULL);
        if (rc == STORE_ERR_NOT_FOUND) {
            snprintf(err, errlen, "User %lld not found", (long long)o->user_id);
            return LS_ERR_NOT_FOUND;
        }
        if (rc) {
            snprintf(err, errlen, "%s", store_errmsg(s));
            return ls_from_store(rc);
        }
    }
    return 0;
}

/* Record the run (running) and open its log before the first repair, so a
 * run killed midway still shows what it committed. */
static void start_run(struct store *s, const struct sync_options *o, const char *spec,
                      int64_t started, struct sync_run *run, struct journal *j,
                      struct sync_result *r)
{
    memset(run, 0, sizeof *run);
    run->started_at = started;
    run->finished_at = started;
    snprintf(run->trigger, sizeof run->trigger, "%s", o->trigger ? o->trigger : "cli");
    snprintf(run->direction, sizeof run->direction, "%s", o->direction);
    run->scope_user = o->user_id;
    if (spec)
        memcpy(run->scope_spec, spec, sizeof run->scope_spec);
    run->total_issues = r->total_issues;
    snprintf(run->status, sizeof run->status, "running");
    owner_of_self(run->owner);
    if (o->data_dir && r->n_items > 0) {
        journal_open(o, started, j, r);
        if (j->fd >= 0) {
            snprintf(run->log_file, sizeof run->log_file, "%s", j->rel);
            json_t *head = json_object();
            json_object_set_new(head, "status", json_string("running"));
            json_object_set_new(head, "direction", json_string(o->direction));
            json_object_set_new(head, "total_issues", json_integer(r->total_issues));
            journal_write(j->fd, head);
        }
    }
    if (s->ops->sync_run_insert(s, run) != 0) {
        snprintf(r->record_error, sizeof r->record_error, "%s", store_errmsg(s));
        run->id = 0;
    }
}

/* Why the run stops early, into r->error: true when it must. */
static bool must_stop(struct store *s, const struct sync_options *o, int rc,
                      struct sync_result *r)
{
    if (o->may_continue && !o->may_continue(o->may_continue_ctx)) {
        snprintf(r->error, sizeof r->error, "this process no longer leads the scheduled "
                 "jobs; stopped after %lld of %zu pairs", (long long)r->synced_count,
                 r->n_items);
        return true;
    }
    if (rc == STORE_ERR_BUSY || rc == STORE_ERR_UNAVAILABLE) {
        /* Every further pair would wait as long: stop here. */
        snprintf(r->error, sizeof r->error, "%s; stopped after %lld of %zu pairs",
                 store_errmsg(s), (long long)r->synced_count, r->n_items);
        return true;
    }
    return false;
}

/* Repair every collected pair, each in its own transaction, journalled as it
 * commits. */
static void repair_all(struct store *s, const struct sync_options *o, int64_t run_id,
                       const struct journal *j, struct sync_result *r)
{
    bool stopped = false;
    for (size_t i = 0; i < r->n_items; i++) {
        struct sync_item *it = &r->items[i];
        if (!stopped && o->may_continue)
            stopped = must_stop(s, o, 0, r);
        if (stopped) {
            it->success = false;
            if (!r->not_attempted) {
                size_t n = strlen(r->error) + 32;
                if ((r->not_attempted = malloc(n)) != NULL)
                    snprintf(r->not_attempted, n, "not attempted: %s", r->error);
            }
            if (!it->error_shared)
                free(it->error);
            static char plain[] = "not attempted";
            it->error = r->not_attempted ? r->not_attempted : plain;
            it->error_shared = true;
            r->failed_count++;
            continue;
        }
        int rc = repair(s, o, it, sync_item_spec(r, it), time_now_us(), run_id);
        if (rc)
            stopped = must_stop(s, o, rc, r);
        if (rc) {
            item_failed(it, store_errmsg(s));
            r->failed_count++;
        } else {
            it->success = true;
            if (strcmp(it->action, "none") != 0)
                r->synced_count++;
        }
        if (j->fd >= 0)
            journal_write(j->fd, item_json(r, it, false));
    }
}

/* Write the log file and finish the run's row. The repairs are committed: a
 * failure to note the run is reported, not undone. */
static void finish_run(struct store *s, const struct sync_options *o, int64_t started,
                       struct sync_run *run, struct journal *j, struct sync_result *r)
{
    /* A sync with nothing to repair leaves its row and day-log line, no file. */
    if (o->data_dir && (r->n_items > 0 || r->n_manual > 0))
        write_log(o, r, started, j);
    if (j->fd >= 0)
        close(j->fd);
    run->finished_at = time_now_us();
    run->synced_count = r->synced_count;
    run->failed_count = r->failed_count;
    run->success = r->success;
    snprintf(run->log_file, sizeof run->log_file, "%s", r->log_file);
    snprintf(run->error, sizeof run->error, "%s", r->error[0] ? r->error : r->log_error);
    snprintf(run->status, sizeof run->status, "finished");
    int frc = run->id ? s->ops->sync_run_finish(s, run) : s->ops->sync_run_insert(s, run);
    if (frc != 0 && !r->record_error[0])
        snprintf(r->record_error, sizeof r->record_error, "%s", store_errmsg(s));
}

int sync_execute(struct store *s, const struct sync_options *o, struct sync_result *r,
                 char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    const char *direction = o->direction ? o->direction : DIRECTION_PROGRESS_TO_LICENSE;
    if (!config_valid_direction(direction)) {
        snprintf(err, errlen,
                 "invalid direction '%.40s' (expected progress_to_license, "
                 "license_to_progress or higher_wins)",
                 direction);
        return LS_ERR_VALIDATION;
    }
    if (!o->dry_run && s->domain_read_only) { /* attach.md, rule 2: nothing is written */
        snprintf(err, errlen, "%s", STORE_REPAIR_OFF);
        return LS_ERR_CONFLICT;
    }
    struct sync_options opt = *o;
    opt.direction = direction;
    snprintf(r->direction, sizeof r->direction, "%s", direction);
    r->dry_run = o->dry_run;
    char spec[SPEC_ID_MAX] = "";
    int rc = check_scope(s, o, spec, err, errlen);
    if (rc)
        return rc;
    int64_t recovered = 0;
    (void)sync_recover_interrupted(s, o->data_dir, &recovered);
    int64_t started = time_now_us();
    if ((rc = collect(s, &opt, o->spec ? spec : NULL, r)) != 0) {
        snprintf(err, errlen, "sync failed: %s", store_errmsg(s));
        sync_result_free(r);
        return ls_from_store(rc);
    }
    r->total_issues = (int64_t)r->n_items;
    if (o->dry_run) {
        r->success = true;
        return 0;
    }
    struct journal j = {.fd = -1};
    struct sync_run run;
    start_run(s, &opt, o->spec ? spec : NULL, started, &run, &j, r);
    repair_all(s, &opt, run.id, &j, r);
    r->success = r->failed_count == 0;
    finish_run(s, &opt, started, &run, &j, r);
    return 0;
}

json_t *sync_result_json(const struct sync_result *r)
{
    return sync_result_json_capped(r, SIZE_MAX);
}

json_t *sync_result_json_capped(const struct sync_result *r, size_t max_results)
{
    json_t *o = json_object();
    json_t *arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return NULL;
    }
    json_object_set_new(o, "success", json_boolean(r->success));
    json_object_set_new(o, "dry_run", json_boolean(r->dry_run));
    json_object_set_new(o, "direction", json_string(r->direction));
    json_object_set_new(o, "total_issues", json_integer(r->total_issues));
    json_object_set_new(o, "synced_count", json_integer(r->synced_count));
    json_object_set_new(o, "failed_count", json_integer(r->failed_count));
    size_t listed = r->n_items < max_results ? r->n_items : max_results;
    for (size_t i = 0; i < listed; i++) {
        json_t *x = item_json(r, &r->items[i], true);
        if (!x)
            break;
        json_array_append_new(arr, x);
    }
    json_object_set_new(o, "results", arr);
    if (max_results != SIZE_MAX) {
        json_object_set_new(o, "results_total", json_integer((json_int_t)r->n_items));
        json_object_set_new(o, "results_truncated", json_boolean(listed < r->n_items));
    }
    /* The pairs left for a person, with the same cap. */
    json_t *manual = json_array();
    size_t listed_manual = r->n_manual < max_results ? r->n_manual : max_results;
    for (size_t i = 0; manual && i < listed_manual; i++) {
        json_t *x = manual_json(&r->manual[i]);
        if (!x)
            break;
        json_array_append_new(manual, x);
    }
    json_object_set_new(o, "manual_review_count", json_integer((json_int_t)r->n_manual));
    json_object_set_new(o, "manual_review", manual ? manual : json_array());
    return o;
}

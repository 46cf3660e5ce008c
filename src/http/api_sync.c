/* api_sync.c — the repair endpoints (paths kept from the system Lockstep
 * replaces). */
#include "http/handlers.h"
#include "http/request.h"

#include "config/config.h"
#include "service/check.h"
#include "service/errors.h"
#include "service/report.h"
#include "service/specs.h"
#include "service/sync.h"

#include <stdio.h>
#include <string.h>

/* One page of a stream of violations: `offset` skipped, `limit` kept, all
 * counted. */
struct page {
    json_t *arr;
    long long limit, offset, seen;
    bool failed;
};

static int add_to_page(void *ctx, const struct violation *v)
{
    struct page *p = ctx;
    long long i = p->seen++;
    if (i < p->offset || i >= p->offset + p->limit)
        return 0;
    if (json_array_append_new(p->arr, report_violation_json(v)) != 0) {
        p->failed = true;
        return 1;
    }
    return 0;
}

/* The violations as they stand now (a live comparison), one page at a time:
 * X-Total-Count holds how many there are. */
void h_desync_issues(struct http_req *r)
{
    long long limit, offset;
    if (http_query_page(r, &limit, &offset))
        return;
    const char *spec = http_query(r, "specialization");
    char err[300];
    if (specs_id_too_long(spec, err, sizeof err)) {
        http_error(r, 422, "%s", err);
        return;
    }
    struct page p = {.arr = json_array(), .limit = limit, .offset = offset};
    int rc = p.arr ? check_current_violations(http_store(r), spec && *spec ? spec : NULL,
                                              r->app->cfg.sync_direction, add_to_page, &p, err,
                                              sizeof err)
                   : LS_ERR_NOMEM;
    if (!rc && p.failed) {
        snprintf(err, sizeof err, "out of memory");
        rc = LS_ERR_NOMEM;
    }
    if (rc) {
        json_decref(p.arr);
        http_service_error(r, rc, err);
        return;
    }
    http_total_header(r, p.seen);
    http_json(r, 200, p.arr);
}

/* Run a sync with the request's direction and answer its result. */
static void run(struct http_req *r, int64_t user, const char *spec, bool dry_run)
{
    const char *direction = NULL;
    if (http_body_string(r, "direction", false, 40, &direction) < 0)
        return;
    if (direction && !config_valid_direction(direction)) {
        http_error(r, 422, "Invalid direction '%s' (expected progress_to_license, "
                           "license_to_progress or higher_wins)", direction);
        return;
    }
    struct sync_options o = {
        .user_id = user,
        .spec = spec,
        .direction = direction ? direction : r->app->cfg.sync_direction,
        .dry_run = dry_run,
        .caller = r->user.id,
        .trigger = "api",
        .data_dir = r->app->cfg.data_dir,
    };
    struct sync_result res;
    char err[300];
    int rc = sync_execute(http_store(r), &o, &res, err, sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    /* Every repair is counted; the items listed are capped like any list. */
    json_t *j = sync_result_json_capped(&res, HTTP_PAGE_MAX);
    if (!dry_run) {
        json_t *d = json_object();
        json_object_set_new(d, "direction", json_string(res.direction));
        json_object_set_new(d, "total_issues", json_integer(res.total_issues));
        json_object_set_new(d, "synced_count", json_integer(res.synced_count));
        json_object_set_new(d, "failed_count", json_integer(res.failed_count));
        if (spec)
            json_object_set_new(d, "specialization", json_string(spec));
        r->status = 200;
        char rid[24];
        snprintf(rid, sizeof rid, "%lld", (long long)user);
        http_audit(r, "SYNC", user ? "user" : "all", user ? rid : NULL, d);
        json_decref(d);
    }
    sync_result_free(&res);
    http_json(r, 200, j);
}

void h_sync_user_spec(struct http_req *r)
{
    int64_t id;
    const char *spec;
    if (http_param_id(r, 0, &id) ||
        http_body_string(r, "specialization", true, SPEC_ID_LEN, &spec) < 0)
        return;
    run(r, id, spec, false);
}

void h_sync_user_all(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id))
        return;
    run(r, id, NULL, false);
}

void h_sync_all(struct http_req *r)
{
    bool dry_run = true;
    if (http_body_bool(r, "dry_run", false, &dry_run) < 0)
        return;
    run(r, 0, NULL, dry_run);
}

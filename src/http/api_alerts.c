/* api_alerts.c — alerts (admin): GET /health/alerts (firing and pending now,
 * the recent history with its deliveries), GET/POST /health/alerts/silences
 * and DELETE /health/alerts/silences/{id}. */
#include "http/handlers.h"
#include "http/request.h"

#include "service/alerts.h"
#include "service/errors.h"
#include "service/silences.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

#define SILENCE_MAX_MINUTES (ALERTS_SILENCE_MAX_S / 60)

void h_alerts(struct http_req *r)
{
    long long limit = 50;
    if (http_query_int(r, "limit", 50, 1, 500, &limit) != 0)
        return;
    int rc = 0;
    json_t *o = alerts_overview_json(http_store(r), &r->app->cfg, time_now_us(), limit, &rc);
    if (!o) {
        http_store_error(r, rc);
        return;
    }
    http_json(r, 200, o);
}

void h_alert_silences(struct http_req *r)
{
    bool all = false;
    if (http_query_bool(r, "all", false, &all))
        return;
    json_t *arr;
    int rc = silences_list_json(http_store(r), time_now_us(), all, &arr);
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    http_json(r, 200, arr);
}

void h_alert_silence_create(struct http_req *r)
{
    const char *rule = NULL, *until_text = NULL, *comment = NULL;
    long long minutes = 0;
    if (http_body_string(r, "rule", true, ALERT_RULE_MAX - 1, &rule) < 0)
        return;
    int has_minutes = http_body_int(r, "minutes", false, 1, SILENCE_MAX_MINUTES, &minutes);
    if (has_minutes < 0)
        return;
    int has_until = http_body_string(r, "until", false, 64, &until_text);
    if (has_until < 0)
        return;
    if (http_body_string(r, "comment", false, ALERT_COMMENT_MAX, &comment) < 0)
        return;
    if (has_minutes == has_until) {
        http_error(r, 422, "Give either minutes or until");
        return;
    }
    int64_t now = time_now_us(), until = 0;
    if (has_minutes) {
        until = now + (int64_t)minutes * 60 * USEC_PER_SEC;
    } else if (time_parse_iso(until_text, &until) != 0) {
        http_error(r, 422, "until must be an ISO 8601 time");
        return;
    }
    struct alert_silence si;
    char err[300];
    int rc = alerts_silence_add(http_store(r), rule, now, until, comment, r->user.id, &si, err,
                                sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    json_t *o = alerts_silence_json(&si, now);
    if (!o) {
        http_service_error(r, LS_ERR_NOMEM, "out of memory");
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)si.id);
    json_t *d = json_object();
    json_object_set_new(d, "rule", json_string(si.rule));
    json_object_set_new(d, "ends_at", json_deep_copy(json_object_get(o, "ends_at")));
    json_object_set_new(d, "comment", json_string(si.comment));
    http_json(r, 201, o);
    http_audit(r, "ALERT_SILENCE", "alert_silence", id, d);
    json_decref(d);
}

void h_alert_silence_delete(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) != 0)
        return;
    int rc = silences_delete(http_store(r), id, time_now_us());
    if (rc == STORE_ERR_NOT_FOUND) {
        http_error(r, 404, "Silence %lld not found or already deleted", (long long)id);
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "deleted", json_true());
    http_json(r, 200, o);
    http_audit(r, "ALERT_UNSILENCE", "alert_silence", ids, NULL);
}

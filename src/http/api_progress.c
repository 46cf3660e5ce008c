/* api_progress.c — a user's pairs, and the two level-changing endpoints (both
 * through the coupling enforcer only). */
#include "http/handlers.h"
#include "http/request.h"

#include "service/enforcer.h"
#include "service/errors.h"
#include "model/pair.h"
#include "service/progress.h"
#include "service/report.h"
#include "service/users.h"

#include <stdio.h>
#include <string.h>

static json_t *progress_json(const struct progress *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(p->id));
    json_object_set_new(o, "current_level", json_integer(p->current_level));
    json_object_set_new(o, "total_xp", json_integer(p->total_xp));
    json_object_set_new(o, "completed_sessions", json_integer(p->completed_sessions));
    json_object_set_new(o, "completed_projects", json_integer(p->completed_projects));
    json_object_set_new(o, "theory_hours_completed", json_integer(p->theory_hours_completed));
    json_object_set_new(o, "practice_hours_completed",
                        json_integer(p->practice_hours_completed));
    json_object_set_new(o, "last_activity", report_time_json(p->last_activity));
    json_object_set_new(o, "created_at", report_time_json(p->created_at));
    json_object_set_new(o, "updated_at", report_time_json(p->updated_at));
    return o;
}

static json_t *license_json(const struct license *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(l->id));
    json_object_set_new(o, "current_level", json_integer(l->current_level));
    json_object_set_new(o, "max_achieved_level", json_integer(l->max_achieved_level));
    json_object_set_new(o, "started_at", report_time_json(l->started_at));
    json_object_set_new(o, "last_advanced_at", report_time_json(l->last_advanced_at));
    json_object_set_new(o, "created_at", report_time_json(l->created_at));
    json_object_set_new(o, "updated_at", report_time_json(l->updated_at));
    return o;
}

static int add_pair(void *ctx, enum pair_state st, const struct progress *p,
                    const struct license *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "specialization", json_string(p ? p->spec : l->spec));
    json_object_set_new(o, "state", json_string(pair_is_violation(st) ? pair_issue_type(st)
                                                                      : "consistent"));
    json_object_set_new(o, "progress", p ? progress_json(p) : json_null());
    json_object_set_new(o, "license", l ? license_json(l) : json_null());
    return json_array_append_new(ctx, o);
}

void h_progress_get(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id))
        return;
    if (users_role_rank(r->user.role) < users_role_rank("instructor") && r->user.id != id) {
        http_error(r, 403, "Not enough permissions");
        return;
    }
    json_t *arr = json_array();
    char email[EMAIL_MAX + 1], name[USER_NAME_MAX + 1];
    int rc = progress_user_pairs(http_store(r), id, email, name, add_pair, arr);
    if (rc == STORE_ERR_NOT_FOUND) {
        json_decref(arr);
        http_error(r, 404, "User %lld not found", (long long)id);
        return;
    }
    if (rc) {
        json_decref(arr);
        http_store_error(r, rc);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "user_id", json_integer(id));
    /* The student as the domain's users table has it (attached mode: the
     * academy's, whose ids are not those of Lockstep's accounts). */
    json_object_set_new(o, "email", json_string(email));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "specializations", arr);
    http_json(r, 200, o);
}

static void answer_result(struct http_req *r, int rc, const struct level_result *res,
                          const char *action)
{
    if (rc) {
        if (rc == LS_ERR_VALIDATION || rc == LS_ERR_NOT_FOUND) {
            json_t *o = json_object();
            json_object_set_new(o, "detail", json_string(res->message));
            json_object_set_new(o, "success", json_false());
            json_object_set_new(o, "message", json_string(res->message));
            json_object_set_new(o, "error_type", json_string(res->error_type));
            http_json(r, rc == LS_ERR_VALIDATION ? 422 : 404, o);
        } else {
            http_service_error(r, rc, res->message);
        }
        return;
    }
    json_t *o = json_object(), *p = json_object(), *l = json_object();
    json_object_set_new(p, "old_level", json_integer(res->old_progress_level));
    json_object_set_new(p, "new_level", json_integer(res->new_progress_level));
    json_object_set_new(p, "total_xp", json_integer(res->total_xp));
    json_object_set_new(p, "completed_sessions", json_integer(res->completed_sessions));
    json_object_set_new(l, "old_level", json_integer(res->old_license_level));
    json_object_set_new(l, "new_level", json_integer(res->new_license_level));
    json_object_set_new(l, "max_achieved_level", json_integer(res->max_achieved_level));
    json_object_set_new(o, "success", json_true());
    json_object_set_new(o, "message", json_string(res->message));
    json_object_set_new(o, "progress", p);
    json_object_set_new(o, "license", l);
    json_object_set_new(o, "progression_created", json_boolean(res->progression_created));
    http_json(r, 200, json_incref(o));
    char rid[24 + SPEC_ID_MAX]; /* user id / specialization */
    snprintf(rid, sizeof rid, "%.20s/%s", r->params[0], res->spec);
    http_audit(r, action, "progress", rid, o);
    json_decref(o);
}

#define COUNTER_MAX 1000000000LL

/* Admins change anyone's progress; instructors only that of students (not of
 * other instructors, admins, or their own). An unknown user is left to the
 * enforcer's 404. Returns 0 to go on, -1 when the answer is sent. */
static int may_change_progress(struct http_req *r, int64_t id)
{
    if (users_role_rank(r->user.role) >= users_role_rank("admin"))
        return 0;
    /* Attached mode: the ids are the academy's students, not Lockstep's
     * accounts (whose roles say nothing about them). */
    if (r->app->cfg.domain.attached)
        return 0;
    struct user u;
    int rc = users_get(http_store(r), id, &u);
    if (rc == STORE_ERR_NOT_FOUND)
        return 0;
    if (rc) {
        http_store_error(r, rc);
        return -1;
    }
    if (strcmp(u.role, "student") != 0) {
        http_error(r, 403, "Instructors can change the progress of students only");
        return -1;
    }
    return 0;
}

void h_progress_level(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) || may_change_progress(r, id))
        return;
    long long level, xp = 0, sessions = 0, projects = 0, theory = 0, practice = 0;
    const char *reason = NULL;
    if (http_body_int(r, "new_level", true, -COUNTER_MAX, COUNTER_MAX, &level) < 0 ||
        http_body_int(r, "xp_change", false, -COUNTER_MAX, COUNTER_MAX, &xp) < 0 ||
        http_body_int(r, "sessions_change", false, -COUNTER_MAX, COUNTER_MAX, &sessions) < 0 ||
        http_body_int(r, "projects_change", false, -COUNTER_MAX, COUNTER_MAX, &projects) < 0 ||
        http_body_int(r, "theory_hours_change", false, -COUNTER_MAX, COUNTER_MAX, &theory) < 0 ||
        http_body_int(r, "practice_hours_change", false, -COUNTER_MAX, COUNTER_MAX, &practice) <
            0 ||
        http_body_string(r, "reason", false, 250, &reason) < 0)
        return;
    struct level_change c = {
        .user_id = id,
        .spec = r->params[1],
        .new_level = (int)level,
        .xp_change = xp,
        .sessions_change = sessions,
        .projects_change = projects,
        .theory_hours_change = theory,
        .practice_hours_change = practice,
        .advanced_by = r->user.id,
        .reason = reason,
    };
    struct level_result res;
    int rc = enforcer_update_level_atomic(http_store(r), &c, &res);
    answer_result(r, rc, &res, "LEVEL_UPDATE");
}

void h_progress_xp(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) || may_change_progress(r, id))
        return;
    long long xp, sessions = 0;
    if (http_body_int(r, "xp_gained", true, 0, COUNTER_MAX, &xp) < 0 ||
        http_body_int(r, "sessions_completed", false, 0, COUNTER_MAX, &sessions) < 0)
        return;
    struct level_result res;
    int rc = enforcer_level_up(http_store(r), id, r->params[1], xp, sessions, r->user.id, &res);
    answer_result(r, rc, &res, "XP_GAIN");
}

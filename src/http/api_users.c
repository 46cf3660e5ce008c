/* api_users.c — users and specializations (admin). */
#include "http/auth.h"
#include "http/handlers.h"
#include "http/request.h"

#include "service/errors.h"
#include "service/report.h"
#include "service/specs.h"
#include "service/users.h"

#include <stdio.h>
#include <string.h>

static json_t *spec_json(const struct specialization *sp)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(sp->id));
    json_object_set_new(o, "name", json_string(sp->name));
    /* null: no known maximum (a track of an attached database without a count) */
    json_object_set_new(o, "max_levels",
                        sp->max_levels > 0 ? json_integer(sp->max_levels) : json_null());
    json_object_set_new(o, "is_active", json_boolean(sp->is_active));
    json_object_set_new(o, "created_at", report_time_json(sp->created_at));
    return o;
}

static int add_user(void *ctx, const struct user *u)
{
    return json_array_append_new(ctx, users_json(u, true));
}

void h_users_list(struct http_req *r)
{
    const char *role = http_query(r, "role"), *q = http_query(r, "q");
    if (role && !users_valid_role(role)) {
        http_error(r, 422, "role must be admin, instructor or student");
        return;
    }
    if (q && strlen(q) > 200) {
        http_error(r, 422, "q must be at most 200 characters");
        return;
    }
    long long limit, offset;
    bool active = false;
    int active_filter = -1;
    if (http_query_int(r, "limit", 100, 1, 1000, &limit) || http_query_int(r, "offset", 0, 0,
                                                                           1000000000, &offset))
        return;
    if (http_query(r, "active")) {
        if (http_query_bool(r, "active", true, &active))
            return;
        active_filter = active ? 1 : 0;
    }
    struct user_filter f = {.role = role, .active = active_filter, .query = q, .limit = limit,
                            .offset = offset};
    json_t *arr = json_array();
    int rc = users_list(http_store(r), &f, add_user, arr);
    if (rc) {
        json_decref(arr);
        http_store_error(r, rc);
        return;
    }
    http_json(r, 200, arr);
}

void h_users_create(struct http_req *r)
{
    const char *email, *name = NULL, *password, *role = NULL;
    if (http_body_string(r, "email", true, EMAIL_MAX, &email) < 0 ||
        http_body_string(r, "name", false, USER_NAME_MAX, &name) < 0 ||
        http_body_string(r, "password", true, USERS_PASSWORD_MAX, &password) < 0 ||
        http_body_string(r, "role", false, ROLE_MAX, &role) < 0)
        return;
    char err[300];
    struct user u;
    int rc = users_create(http_store(r), email, name, password, role ? role : "student", &u, err,
                          sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    http_json(r, 201, users_json(&u, true));
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)u.id);
    json_t *d = json_object();
    json_object_set_new(d, "email", json_string(u.email));
    json_object_set_new(d, "role", json_string(u.role));
    http_audit(r, "USER_CREATE", "user", id, d);
    json_decref(d);
}

void h_user_get(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id))
        return;
    struct user u;
    int rc = users_get(http_store(r), id, &u);
    if (rc == STORE_ERR_NOT_FOUND) {
        http_error(r, 404, "User %lld not found", (long long)id);
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    http_json(r, 200, users_json(&u, true));
}

void h_user_patch(struct http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id))
        return;
    const char *name = NULL, *role = NULL, *password = NULL;
    bool active = true;
    int has_active;
    if (http_body_string(r, "name", false, USER_NAME_MAX, &name) < 0 ||
        http_body_string(r, "role", false, ROLE_MAX, &role) < 0 ||
        http_body_string(r, "password", false, USERS_PASSWORD_MAX, &password) < 0 ||
        (has_active = http_body_bool(r, "is_active", false, &active)) < 0)
        return;
    char err[300];
    struct user u;
    struct store *s = http_store(r);
    int rc = users_update(s, id, name, role, has_active ? (active ? 1 : 0) : -1, password, &u,
                          err, sizeof err);
    auth_forget_user(id);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    http_json(r, 200, users_json(&u, true));
    char rid[24];
    snprintf(rid, sizeof rid, "%lld", (long long)id);
    json_t *d = json_object();
    if (name)
        json_object_set_new(d, "name", json_string(name));
    if (role)
        json_object_set_new(d, "role", json_string(role));
    if (has_active)
        json_object_set_new(d, "is_active", json_boolean(active));
    if (password)
        json_object_set_new(d, "password", json_string("changed"));
    http_audit(r, "USER_UPDATE", "user", rid, d);
    json_decref(d);
}

static int add_spec(void *ctx, const struct specialization *sp)
{
    return json_array_append_new(ctx, spec_json(sp));
}

void h_specs_list(struct http_req *r)
{
    json_t *arr = json_array();
    int rc = specs_list(http_store(r), add_spec, arr);
    if (rc) {
        json_decref(arr);
        http_store_error(r, rc);
        return;
    }
    http_json(r, 200, arr);
}

void h_specs_create(struct http_req *r)
{
    const char *id, *name;
    long long max_levels;
    if (http_body_string(r, "id", true, SPEC_ID_LEN, &id) < 0 ||
        http_body_string(r, "name", true, USER_NAME_MAX, &name) < 0 ||
        http_body_int(r, "max_levels", true, 1, 100, &max_levels) < 0)
        return;
    char err[300];
    struct specialization sp;
    int rc = specs_create(http_store(r), id, name, (int)max_levels, &sp, err, sizeof err);
    if (rc) {
        http_service_error(r, rc, err);
        return;
    }
    http_json(r, 201, spec_json(&sp));
    http_audit(r, "SPEC_CREATE", "specialization", sp.id, NULL);
}

/* request.c — the request model: answering (JSON, errors, service and store
 * failures, headers), the query, path and body of a request, its store
 * connection and its audit row. */
#include "http/request.h"

#include "service/audit.h"
#include "service/errors.h"
#include "service/readiness.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- response helpers ------------------------------------------------------ */

void http_header(struct http_req *r, const char *name, const char *value)
{
    u_map_put(r->resp->map_header, name, value);
}

void http_json_text(struct http_req *r, int status, const char *text, size_t len)
{
    r->status = status;
    http_header(r, "Content-Type", "application/json");
    ulfius_set_binary_body_response(r->resp, (unsigned)status, text, len);
}

void http_json(struct http_req *r, int status, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY |
                                               JSON_REAL_PRECISION(15))
                       : NULL;
    json_decref(value);
    if (!text) {
        http_error(r, 500, "Internal server error (request %s)", r->id);
        return;
    }
    http_json_text(r, status, text, strlen(text));
    free(text);
}

void http_error(struct http_req *r, int status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    /* json_string refuses invalid UTF-8: fall back to a plain message. */
    json_t *d = json_string(msg);
    json_object_set_new(o, "detail", d ? d : json_string("Invalid request"));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (status == 401)
        http_header(r, "WWW-Authenticate", "Bearer");
    if (text) {
        http_json_text(r, status, text, strlen(text));
        free(text);
    } else {
        static const char fallback[] = "{\"detail\":\"Internal server error\"}";
        http_json_text(r, 500, fallback, sizeof fallback - 1);
    }
}

void http_service_error(struct http_req *r, int code, const char *message)
{
    switch (code) {
    case LS_ERR_VALIDATION:
        http_error(r, 422, "%s", message);
        return;
    case LS_ERR_NOT_FOUND:
        http_error(r, 404, "%s", message);
        return;
    case LS_ERR_CONFLICT:
        http_error(r, 409, "%s", message);
        return;
    case LS_ERR_BUSY:
        log_msg(LOG_WARNING, "http", "request %s: database busy: %s", r->id, message);
        http_header(r, "Retry-After", "1");
        http_error(r, 503, "The database is busy; retry shortly (request %s)", r->id);
        return;
    case LS_ERR_UNAVAILABLE:
        log_msg(LOG_ERROR, "http", "request %s: database unavailable: %s", r->id, message);
        readiness_store_failed(r->app->readiness, message);
        http_header(r, "Retry-After", "5");
        http_error(r, 503, "The database is unavailable; retry shortly (request %s)", r->id);
        return;
    case LS_ERR_NOMEM:
        log_msg(LOG_ERROR, "http", "request %s: out of memory: %s", r->id, message);
        http_error(r, 500, "Internal server error (request %s)", r->id);
        return;
    default:
        log_msg(LOG_ERROR, "http", "request %s: %s", r->id, message);
        http_error(r, 500, "Internal server error (request %s)", r->id);
    }
}

void http_store_error(struct http_req *r, int store_code)
{
    const char *msg = r->store ? store_errmsg(r->store) : "no database connection";
    http_service_error(r, ls_from_store(store_code), msg);
}

struct store *http_store(struct http_req *r)
{
    if (!r->store)
        r->store = store_pool_get(r->app->pool);
    return r->store;
}

/* ---- query, path and body parsing ------------------------------------------ */

const char *http_query(struct http_req *r, const char *name)
{
    return u_map_get(r->u->map_url, name);
}

int http_query_bool(struct http_req *r, const char *name, bool def, bool *out)
{
    const char *v = http_query(r, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = false;
        return 0;
    }
    http_error(r, 422, "Query parameter %s must be true or false", name);
    return -1;
}

int http_query_int(struct http_req *r, const char *name, long long def, long long min,
                   long long max, long long *out)
{
    const char *v = http_query(r, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        http_error(r, 422, "Query parameter %s must be an integer from %lld to %lld", name, min,
                   max);
        return -1;
    }
    *out = n;
    return 0;
}

int http_param_id(struct http_req *r, int i, int64_t *out)
{
    const char *p = r->params[i];
    char *end = NULL;
    errno = 0;
    long long n = strtoll(p, &end, 10);
    if (!*p || errno || *end || n <= 0 || !isdigit((unsigned char)p[0])) {
        http_error(r, 404, "Not found: '%.40s' is not an id", p);
        return -1;
    }
    *out = n;
    return 0;
}

/* The prelude every body field shares: *v is the field, or NULL when it is
 * absent or null. Returns 1 when present, 0 when absent and not required,
 * -1 after answering 400 when absent and required. */
static int body_field(struct http_req *r, const char *name, bool required, json_t **v)
{
    *v = r->body ? json_object_get(r->body, name) : NULL;
    if (*v && !json_is_null(*v))
        return 1;
    *v = NULL;
    if (!required)
        return 0;
    http_error(r, 400, "Field '%s' is required", name);
    return -1;
}

int http_body_string(struct http_req *r, const char *name, bool required, size_t max_len,
                     const char **out)
{
    json_t *v;
    int rc = body_field(r, name, required, &v);
    if (rc <= 0)
        return rc;
    if (!json_is_string(v)) {
        http_error(r, 400, "Field '%s' must be a string", name);
        return -1;
    }
    if (json_string_length(v) > max_len) {
        http_error(r, 422, "Field '%s' is longer than %zu characters", name, max_len);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        http_error(r, 422, "Field '%s' must not contain NUL characters", name);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

int http_body_int(struct http_req *r, const char *name, bool required, long long min,
                  long long max, long long *out)
{
    json_t *v;
    int rc = body_field(r, name, required, &v);
    if (rc <= 0)
        return rc;
    if (!json_is_integer(v)) {
        http_error(r, 400, "Field '%s' must be an integer", name);
        return -1;
    }
    long long n = json_integer_value(v);
    if (n < min || n > max) {
        http_error(r, 422, "Field '%s' must be from %lld to %lld", name, min, max);
        return -1;
    }
    *out = n;
    return 1;
}

int http_body_bool(struct http_req *r, const char *name, bool required, bool *out)
{
    json_t *v;
    int rc = body_field(r, name, required, &v);
    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v)) {
        http_error(r, 400, "Field '%s' must be true or false", name);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

void http_audit(struct http_req *r, const char *action, const char *resource_type,
                const char *resource_id, json_t *details)
{
    char *text = details ? json_dumps(details, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    struct audit_entry a = {
        .user_id = r->authed ? r->user.id : 0,
        .action = action,
        .resource_type = resource_type,
        .resource_id = resource_id,
        .details = text,
        .ip_address = r->ip,
        .status_code = r->status,
        .timestamp = time_now_us(),
    };
    struct store *s = http_store(r);
    int rc = audit_record(s, &a);
    if (rc)
        log_msg(LOG_ERROR, "http", "request %s: cannot write audit row %s: %s", r->id, action,
                store_errmsg(s));
    free(text);
}

bool http_defer(struct http_req *r)
{
    if (r->can_defer)
        r->deferred = true;
    return r->deferred;
}

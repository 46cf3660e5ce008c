/* server.c — routing and the request wrapper around every handler. */
#include "http/server.h"

#include "http/http.h"
#include "service/errors.h"
#include "service/metrics.h"
#include "service/users.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum route_flags { NO_BODY = 0, BODY = 1 };

struct route {
    const char *method;
    const char *pattern; /* "{}" matches one path segment */
    enum http_role role;
    http_handler handler;
    int flags;
};

#define API "/api/v1"
static const struct route routes[] = {
    {"POST", API "/auth/login", ROLE_PUBLIC, h_login, BODY},
    {"POST", API "/auth/refresh", ROLE_PUBLIC, h_refresh, BODY},
    {"POST", API "/auth/logout", ROLE_ANY, h_logout, NO_BODY},
    {"GET", API "/auth/me", ROLE_ANY, h_me, NO_BODY},
    {"GET", API "/users", ROLE_ADMIN, h_users_list, NO_BODY},
    {"POST", API "/users", ROLE_ADMIN, h_users_create, BODY},
    {"GET", API "/users/{}", ROLE_ADMIN, h_user_get, NO_BODY},
    {"PATCH", API "/users/{}", ROLE_ADMIN, h_user_patch, BODY},
    {"GET", API "/users/{}/progress", ROLE_ANY, h_progress_get, NO_BODY},
    {"POST", API "/users/{}/progress/{}/level", ROLE_INSTRUCTOR, h_progress_level, BODY},
    {"POST", API "/users/{}/progress/{}/xp", ROLE_INSTRUCTOR, h_progress_xp, BODY},
    {"GET", API "/specializations", ROLE_ANY, h_specs_list, NO_BODY},
    {"POST", API "/specializations", ROLE_ADMIN, h_specs_create, BODY},
    {"GET", API "/licenses/admin/sync/desync-issues", ROLE_INSTRUCTOR, h_desync_issues, NO_BODY},
    {"POST", API "/licenses/admin/sync/user/{}", ROLE_INSTRUCTOR, h_sync_user_spec, BODY},
    {"POST", API "/licenses/admin/sync/user/{}/all", ROLE_INSTRUCTOR, h_sync_user_all, BODY},
    {"POST", API "/licenses/admin/sync/all", ROLE_ADMIN, h_sync_all, BODY},
    {"GET", API "/health/status", ROLE_ADMIN, h_health_status, NO_BODY},
    {"GET", API "/health/latest-report", ROLE_ADMIN, h_health_latest_report, NO_BODY},
    {"GET", API "/health/violations", ROLE_ADMIN, h_health_violations, NO_BODY},
    {"GET", API "/health/metrics", ROLE_ADMIN, h_health_metrics, NO_BODY},
    {"POST", API "/health/check-now", ROLE_ADMIN, h_health_check_now, BODY},
    {"GET", API "/health/history", ROLE_ADMIN, h_health_history, NO_BODY},
    {"GET", API "/health/jobs", ROLE_ADMIN, h_health_jobs, NO_BODY},
    {"GET", API "/health/baselines", ROLE_ADMIN, h_baselines_list, NO_BODY},
    {"POST", API "/health/baselines", ROLE_ADMIN, h_baseline_create, BODY},
    {"GET", API "/health/baselines/{}", ROLE_ADMIN, h_baseline_get, NO_BODY},
    {"GET", API "/health/trend", ROLE_ADMIN, h_health_trend, NO_BODY},
    {"GET", API "/health/alerts", ROLE_ADMIN, h_alerts, NO_BODY},
    {"GET", API "/health/alerts/silences", ROLE_ADMIN, h_alert_silences, NO_BODY},
    {"POST", API "/health/alerts/silences", ROLE_ADMIN, h_alert_silence_create, BODY},
    {"DELETE", API "/health/alerts/silences/{}", ROLE_ADMIN, h_alert_silence_delete, NO_BODY},
    {"GET", API "/health/stabilization-report", ROLE_ADMIN, h_health_stabilization_report,
     NO_BODY},
    {"GET", "/healthz", ROLE_PUBLIC, h_healthz, NO_BODY},
    {"GET", "/readyz", ROLE_PUBLIC, h_readyz, NO_BODY},
    {"GET", "/metrics", ROLE_PUBLIC, h_prometheus, NO_BODY},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Route labels for lockstep_http_requests_total: "GET /api/v1/users/{}". */
static char route_labels[N_ROUTES][96];
static const char *route_label_ptrs[N_ROUTES];

const char *const *http_route_labels(int *n)
{
    for (size_t i = 0; i < N_ROUTES; i++) {
        snprintf(route_labels[i], sizeof route_labels[i], "%s %s", routes[i].method,
                 routes[i].pattern);
        route_label_ptrs[i] = route_labels[i];
    }
    *n = (int)N_ROUTES;
    return route_label_ptrs;
}

struct http_server {
    struct _u_instance inst;
    struct sockaddr_in addr;
    struct app *app;
    atomic_int in_flight;
    uint32_t id_prefix;
    atomic_uint id_counter;
    unsigned port;
};

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

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
        http_header(r, "Retry-After", "5");
        http_error(r, 503, "The database is unavailable; retry shortly (request %s)", r->id);
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

static json_t *body_field(struct http_req *r, const char *name)
{
    return r->body ? json_object_get(r->body, name) : NULL;
}

int http_body_string(struct http_req *r, const char *name, bool required, size_t max_len,
                     const char **out)
{
    json_t *v = body_field(r, name);
    if (!v || json_is_null(v)) {
        if (required) {
            http_error(r, 400, "Field '%s' is required", name);
            return -1;
        }
        return 0;
    }
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
    json_t *v = body_field(r, name);
    if (!v || json_is_null(v)) {
        if (required) {
            http_error(r, 400, "Field '%s' is required", name);
            return -1;
        }
        return 0;
    }
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
    json_t *v = body_field(r, name);
    if (!v || json_is_null(v)) {
        if (required) {
            http_error(r, 400, "Field '%s' is required", name);
            return -1;
        }
        return 0;
    }
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
    int rc = s->ops->audit_insert(s, &a);
    if (rc)
        log_msg(LOG_ERROR, "http", "request %s: cannot write audit row %s: %s", r->id, action,
                store_errmsg(s));
    free(text);
}

/* ---- routing ------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decode one path segment. Returns 0, or -1 when too long or it
 * decodes to a NUL or '/'. */
static int decode_segment(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
            if (c == '\0' || c == '/')
                return -1;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* Match a path against a pattern, capturing {} segments into r->params. */
static bool match(const char *pattern, const char *path, struct http_req *r)
{
    const char *p = pattern, *q = path;
    r->n_params = 0;
    while (*p && *q) {
        if (*p != '/' || *q != '/')
            return false;
        p++;
        q++;
        size_t pl = strcspn(p, "/"), ql = strcspn(q, "/");
        if (pl == 2 && p[0] == '{' && p[1] == '}') {
            if (ql == 0 || r->n_params >= HTTP_MAX_PARAMS ||
                decode_segment(q, ql, r->params[r->n_params], HTTP_PARAM_MAX) != 0)
                return false;
            r->n_params++;
        } else if (pl != ql || memcmp(p, q, pl) != 0) {
            return false;
        }
        p += pl;
        q += ql;
    }
    /* One trailing slash is tolerated: /api/v1/users/ is /api/v1/users. */
    if (*p == '\0' && q[0] == '/' && q[1] == '\0')
        return true;
    return *p == '\0' && *q == '\0';
}

static bool is_api_path(const char *path)
{
    return !strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strcmp(path, "/healthz") ||
           !strcmp(path, "/readyz") || !strcmp(path, "/metrics");
}

/* ---- the wrapper ---------------------------------------------------------------- */

static void client_ip(const struct _u_request *u, char *out, size_t len)
{
    snprintf(out, len, "unknown");
    if (!u->client_address)
        return;
    if (u->client_address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)u->client_address;
        inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)len);
    }
}

/* Copy for the access log with control characters replaced. */
static void printable(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; *in && o + 1 < len; in++)
        out[o++] = (unsigned char)*in < 0x20 || *in == 0x7f ? '?' : *in;
    out[o] = '\0';
}

static int parse_body(struct http_req *r, size_t limit)
{
    size_t n = r->u->binary_body_length;
    if (n == 0)
        return 0;
    json_error_t jerr;
    json_t *b = json_loadb(r->u->binary_body, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!b) {
        http_error(r, 400, "Malformed JSON body: %.200s", jerr.text);
        return -1;
    }
    if (!json_is_object(b)) {
        json_decref(b);
        http_error(r, 400, "The request body must be a JSON object");
        return -1;
    }
    (void)limit;
    r->body = b;
    return 0;
}

static int dispatch(const struct _u_request *u, struct _u_response *resp, void *data)
{
    struct http_server *srv = data;
    atomic_fetch_add(&srv->in_flight, 1);
    int64_t t0 = time_mono_us();
    struct http_req r;
    const struct route *rt = NULL;
    memset(&r, 0, sizeof r);
    r.u = u;
    r.resp = resp;
    r.app = srv->app;
    r.method = u->http_verb ? u->http_verb : "";
    r.path = u->url_path ? u->url_path : "/";
    snprintf(r.id, sizeof r.id, "%08x%08x", srv->id_prefix,
             atomic_fetch_add(&srv->id_counter, 1));
    client_ip(u, r.ip, sizeof r.ip);
    http_header(&r, "X-Request-Id", r.id);

    const char *path = r.path;
    /* "//healthz" in the API contract names the root path /healthz. */
    while (path[0] == '/' && path[1] == '/')
        path++;
    size_t limit = (size_t)srv->app->cfg.max_body_bytes;
    if (u->http_url && strlen(u->http_url) > HTTP_URL_MAX) {
        http_error(&r, 414, "URL too long (at most %d bytes)", HTTP_URL_MAX);
        goto done;
    }
    if (u->binary_body_length > limit) {
        http_error(&r, 413, "Request body too large (at most %zu bytes)", limit);
        goto done;
    }
    char allow[64] = "";
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!match(routes[i].pattern, path, &r))
            continue;
        if (!strcmp(routes[i].method, r.method) ||
            (!strcmp(r.method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
            rt = &routes[i];
            break;
        }
        if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", routes[i].method);
    }
    if (!rt) {
        if (allow[0]) {
            http_header(&r, "Allow", allow);
            http_error(&r, 405, "Method %.16s not allowed (allowed: %s)", r.method, allow);
        } else if (is_api_path(path)) {
            http_error(&r, 404, "Not found");
        } else {
            web_serve(&r);
        }
        goto done;
    }
    /* Match again: a later non-matching route may have overwritten params. */
    match(rt->pattern, path, &r);
    http_header(&r, "Cache-Control", "no-store");
    if (rt->role != ROLE_PUBLIC) {
        if (auth_authenticate(&r) != 0)
            goto done;
        if (users_role_rank(r.user.role) < (int)rt->role) {
            http_error(&r, 403, "Not enough permissions");
            goto done;
        }
    }
    if ((rt->flags & BODY) && parse_body(&r, limit) != 0)
        goto done;
    rt->handler(&r);
    if (!r.status)
        http_error(&r, 500, "Internal server error (request %s)", r.id);

done:
    metrics_http(srv->app->metrics, rt ? (int)(rt - routes) : (int)N_ROUTES, r.status);
    if (r.store)
        store_pool_put(srv->app->pool, r.store);
    json_decref(r.body);
    if (log_access_enabled()) {
        char p[256];
        printable(r.path, p, sizeof p);
        log_msg(LOG_INFO, "http", "%.10s %s %d %.2fms id=%s ip=%s", r.method, p, r.status,
                (double)(time_mono_us() - t0) / 1000.0, r.id, r.ip);
    }
    atomic_fetch_sub(&srv->in_flight, 1);
    return U_CALLBACK_COMPLETE;
}

/* ---- start and stop ------------------------------------------------------------- */

int http_parse_listen(const char *listen, char *addr, size_t addr_len, unsigned *port,
                      char *err, size_t errlen)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || colon == listen || (size_t)(colon - listen) >= addr_len) {
        snprintf(err, errlen, "invalid listen address '%.80s' (expected ADDR:PORT)",
                 listen ? listen : "");
        return -1;
    }
    memcpy(addr, listen, (size_t)(colon - listen));
    addr[colon - listen] = '\0';
    if (!strcmp(addr, "localhost"))
        snprintf(addr, addr_len, "127.0.0.1");
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    struct in_addr tmp;
    if (!*(colon + 1) || *end || p < 0 || p > 65535 || inet_pton(AF_INET, addr, &tmp) != 1) {
        snprintf(err, errlen, "invalid listen address '%.80s' (expected an IPv4 ADDR:PORT)",
                 listen);
        return -1;
    }
    *port = (unsigned)p;
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_msg(LOG_WARNING, "http", "libmicrohttpd: %s", msg);
}

int http_server_start(struct app *app, struct http_server **out, char *err, size_t errlen)
{
    *out = NULL;
    char addr[64];
    unsigned port;
    if (http_parse_listen(app->cfg.listen, addr, sizeof addr, &port, err, errlen) != 0)
        return -1;
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->app = app;
    s->id_prefix = randombytes_random();
    s->addr.sin_family = AF_INET;
    s->addr.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &s->addr.sin_addr);
    if (ulfius_init_instance(&s->inst, port ? port : 1, &s->addr, NULL) != U_OK) {
        snprintf(err, errlen, "cannot initialize the HTTP server");
        free(s);
        return -1;
    }
    s->inst.port = port;
    s->inst.max_post_body_size = (size_t)app->cfg.max_body_bytes + 1;
    s->inst.check_utf8 = 1;
    /* Form posts are not part of the API: keep bodies as raw bytes. */
    s->inst.allowed_post_processor = U_POST_PROCESS_NONE;
    u_map_put(s->inst.default_headers, "X-Content-Type-Options", "nosniff");
    u_map_put(s->inst.default_headers, "Referrer-Policy", "no-referrer");
    u_map_put(s->inst.default_headers, "X-Frame-Options", "DENY");
    u_map_put(s->inst.default_headers, "Content-Security-Policy", csp);
    /* One catch-all endpoint: routing happens in dispatch(). */
    if (ulfius_add_endpoint_by_val(&s->inst, "*", NULL, "*", 0, dispatch, s) != U_OK) {
        snprintf(err, errlen, "cannot register the HTTP router");
        ulfius_clean_instance(&s->inst);
        free(s);
        return -1;
    }
    /* A thread per connection: a slow request (argon2id login, a check on a
     * large store) holds only its own connection, never other clients'. poll()
     * instead of select() so descriptors above 1024 work. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)mhd_request_completed, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)ulfius_uri_logger, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &s->addr},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 512, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 512, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (ulfius_start_framework_with_mhd_options(&s->inst, flags, ops) != U_OK) {
        snprintf(err, errlen, "cannot listen on %s: %s", app->cfg.listen,
                 errno ? strerror(errno) : "address unavailable");
        ulfius_clean_instance(&s->inst);
        free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->inst.mhd_daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return 0;
}

unsigned http_server_port(const struct http_server *s)
{
    return s->port;
}

int http_server_in_flight(const struct http_server *s)
{
    return atomic_load(&((struct http_server *)s)->in_flight);
}

void http_server_stop(struct http_server *s, long timeout_ms)
{
    if (!s)
        return;
    MHD_quiesce_daemon(s->inst.mhd_daemon);
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    while (atomic_load(&s->in_flight) > 0 && time_mono_us() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->in_flight) > 0)
        log_msg(LOG_WARNING, "http", "stopping with %d request(s) still running",
                atomic_load(&s->in_flight));
    ulfius_stop_framework(&s->inst);
    ulfius_clean_instance(&s->inst);
    free(s);
}

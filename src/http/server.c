/* server.c — routing and the request wrapper around every handler. */
#include "http/server.h"

#include "http/client_addr.h"
#include "http/conn_guard.h"
#include "http/dispatch.h"
#include "http/http.h"
#include "http/request_check.h"
#include "service/errors.h"
#include "service/metrics.h"
#include "service/readiness.h"
#include "service/users.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* BODY: the route takes a JSON object. Handlers run on a handler thread of
 * the store lane by default (they may block: the store, a check), while the
 * epoll thread goes on serving other connections. PASSWORD: the handler may
 * hash a password (argon2id, ~150 ms of CPU), so it runs on the password
 * lane, whose few threads bound the CPU that hashing takes and keep a burst of
 * logins from occupying the store lane. INLINE: the handler never touches the
 * store (or defers with http_defer() when it would), so the epoll thread
 * answers it itself. PROBE: polled by monitors (load balancers, Prometheus):
 * its access-log line is DEBUG unless access_log_probes is set. */
enum route_flags { NO_BODY = 0, BODY = 1, PASSWORD = 2, INLINE = 4, PROBE = 8 };

struct route {
    const char *method;
    const char *pattern; /* "{name}" matches one path segment; also the metrics label */
    enum http_role role;
    http_handler handler;
    int flags;
};

#define API "/api/v1"
static const struct route routes[] = {
    {"POST", API "/auth/login", ROLE_PUBLIC, h_login, BODY | PASSWORD},
    {"POST", API "/auth/refresh", ROLE_PUBLIC, h_refresh, BODY},
    {"POST", API "/auth/logout", ROLE_ANY, h_logout, NO_BODY},
    {"GET", API "/auth/me", ROLE_ANY, h_me, NO_BODY},
    {"GET", API "/users", ROLE_ADMIN, h_users_list, NO_BODY},
    {"POST", API "/users", ROLE_ADMIN, h_users_create, BODY | PASSWORD},
    {"GET", API "/users/{id}", ROLE_ADMIN, h_user_get, NO_BODY},
    {"PATCH", API "/users/{id}", ROLE_ADMIN, h_user_patch, BODY | PASSWORD},
    {"GET", API "/users/{id}/progress", ROLE_ANY, h_progress_get, NO_BODY},
    {"POST", API "/users/{id}/progress/{spec}/level", ROLE_INSTRUCTOR, h_progress_level, BODY},
    {"POST", API "/users/{id}/progress/{spec}/xp", ROLE_INSTRUCTOR, h_progress_xp, BODY},
    {"GET", API "/specializations", ROLE_ANY, h_specs_list, NO_BODY},
    {"POST", API "/specializations", ROLE_ADMIN, h_specs_create, BODY},
    {"GET", API "/licenses/admin/sync/desync-issues", ROLE_INSTRUCTOR, h_desync_issues, NO_BODY},
    {"POST", API "/licenses/admin/sync/user/{id}", ROLE_INSTRUCTOR, h_sync_user_spec, BODY},
    {"POST", API "/licenses/admin/sync/user/{id}/all", ROLE_INSTRUCTOR, h_sync_user_all, BODY},
    {"POST", API "/licenses/admin/sync/all", ROLE_ADMIN, h_sync_all, BODY},
    {"GET", API "/health/status", ROLE_ADMIN, h_health_status, NO_BODY | INLINE},
    {"GET", API "/health/latest-report", ROLE_ADMIN, h_health_latest_report, NO_BODY},
    {"GET", API "/health/violations", ROLE_ADMIN, h_health_violations, NO_BODY},
    {"GET", API "/health/metrics", ROLE_ADMIN, h_health_metrics, NO_BODY},
    {"POST", API "/health/check-now", ROLE_ADMIN, h_health_check_now, BODY},
    {"GET", API "/health/history", ROLE_ADMIN, h_health_history, NO_BODY},
    {"GET", API "/health/jobs", ROLE_ADMIN, h_health_jobs, NO_BODY},
    {"GET", API "/health/baselines", ROLE_ADMIN, h_baselines_list, NO_BODY},
    {"POST", API "/health/baselines", ROLE_ADMIN, h_baseline_create, BODY},
    {"GET", API "/health/baselines/{id}", ROLE_ADMIN, h_baseline_get, NO_BODY},
    {"GET", API "/health/trend", ROLE_ADMIN, h_health_trend, NO_BODY},
    {"GET", API "/health/alerts", ROLE_ADMIN, h_alerts, NO_BODY},
    {"GET", API "/health/alerts/silences", ROLE_ADMIN, h_alert_silences, NO_BODY},
    {"POST", API "/health/alerts/silences", ROLE_ADMIN, h_alert_silence_create, BODY},
    {"DELETE", API "/health/alerts/silences/{id}", ROLE_ADMIN, h_alert_silence_delete, NO_BODY},
    {"GET", API "/health/stabilization-report", ROLE_ADMIN, h_health_stabilization_report,
     NO_BODY},
    {"GET", "/healthz", ROLE_PUBLIC, h_healthz, NO_BODY | INLINE | PROBE},
    {"GET", "/readyz", ROLE_PUBLIC, h_readyz, NO_BODY | INLINE | PROBE},
    {"GET", "/metrics", ROLE_PUBLIC, h_prometheus, NO_BODY | PROBE},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* The route label of lockstep_http_requests_total and
 * lockstep_http_request_duration_seconds: the pattern without the method
 * ("/api/v1/users/{id}"), each once; route_label_of[i] is routes[i]'s. */
static const char *route_labels[N_ROUTES];
static int n_route_labels;
static int route_label_of[N_ROUTES];

const char *const *http_route_labels(int *n)
{
    if (!n_route_labels) {
        for (size_t i = 0; i < N_ROUTES; i++) {
            int k = 0;
            while (k < n_route_labels && strcmp(route_labels[k], routes[i].pattern))
                k++;
            if (k == n_route_labels)
                route_labels[n_route_labels++] = routes[i].pattern;
            route_label_of[i] = k;
        }
    }
    *n = n_route_labels;
    return route_labels;
}

struct req;
struct http_server;

/* A queue of requests and the handler threads that serve it. */
enum lane_id {
    LANE_STORE = METRICS_LANE_STORE,
    LANE_PASSWORD = METRICS_LANE_PASSWORD,
    N_LANES = METRICS_LANES
};

struct lane {
    struct http_server *srv;
    enum lane_id id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req *head, *tail;
    int queued, busy;
    int writers;               /* handler threads running a write */
    int write_slots;           /* at most this many at once (0: no cap) */
    bool quit;
    pthread_t *threads;
    int n_threads;             /* started */
    int size;                  /* to start */
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct sockaddr_in addr;
    struct app *app;
    atomic_int in_flight;      /* requests read whole and not yet answered */
    uint32_t id_prefix;
    atomic_uint id_counter;
    unsigned port;
    struct lane lanes[N_LANES];
    atomic_bool stopping;
    struct conn_guard *guard;  /* caps and deadlines of connections (conn_guard.c) */
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
        readiness_store_failed(r->app->readiness, message);
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

/* Match a path against a pattern, capturing {name} segments into r->params. */
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
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
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

/* One request from its first line to its answer (see "connections" below):
 * read by an epoll thread, maybe queued for a handler thread, answered. */
enum req_state { REQ_NEW, REQ_READING, REQ_QUEUED, REQ_ANSWERED };

struct req {
    struct _u_request u;
    struct _u_response resp;
    struct MHD_Connection *conn;
    struct req *next;          /* handler queue */
    atomic_int state;
    bool counted;              /* in srv->in_flight until its answer is queued */
    bool too_large;            /* body bytes beyond the limit were dropped */
    const struct route *rt;    /* found once the request is read whole; NULL: none */
    const char *raw_target;    /* the target in libmicrohttpd's request line */
    struct request_verdict verdict; /* refused by request_check.c: answer it and close */
    char id[20];               /* request id, set by the first dispatch() */
    int64_t t0;                /* when it was read whole (access log duration) */
};

/* The route for a method and path, or NULL (404, 405 and the dashboard's
 * files are answered without one). */
static const struct route *find_route(const char *method, const char *path, struct http_req *r)
{
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!match(routes[i].pattern, path, r))
            continue;
        if (!strcmp(routes[i].method, method) ||
            (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET")))
            return &routes[i];
    }
    return NULL;
}

/* "//healthz" in the API contract names the root path /healthz. */
static const char *route_path(const char *path)
{
    while (path[0] == '/' && path[1] == '/')
        path++;
    return path;
}

/* Handle one request: route, authenticate, check the role, parse the body,
 * run the handler, count and log it. Runs on an epoll thread (INLINE routes,
 * and requests that match no route), or on a handler thread. can_defer (epoll thread only) lets the handler
 * call http_defer(); then nothing is answered, counted or logged, and false
 * is returned. */
static bool dispatch(struct http_server *srv, struct req *q, bool can_defer)
{
    const struct _u_request *u = &q->u;
    struct _u_response *resp = &q->resp;
    int64_t t0 = q->t0;
    struct http_req r;
    const struct route *rt = NULL;
    int metric_route = METRICS_ROUTE_OTHER;
    memset(&r, 0, sizeof r);
    r.u = u;
    r.resp = resp;
    r.app = srv->app;
    r.can_defer = can_defer;
    r.method = u->http_verb ? u->http_verb : "";
    r.path = u->url_path ? u->url_path : "/";
    /* One id per request, kept when a deferred request runs again. */
    if (!q->id[0])
        snprintf(q->id, sizeof q->id, "%08x%08x", srv->id_prefix,
                 atomic_fetch_add(&srv->id_counter, 1));
    memcpy(r.id, q->id, sizeof r.id);
    client_addr_of(u, srv->app->cfg.trusted_proxies, r.ip, sizeof r.ip);
    http_header(&r, "X-Request-Id", r.id);

    const char *path = route_path(r.path);
    size_t limit = (size_t)srv->app->cfg.max_body_bytes;
    if (q->verdict.status) {
        http_error(&r, q->verdict.status, "%s", q->verdict.detail);
        goto done;
    }
    if (u->http_url && strlen(u->http_url) > HTTP_URL_MAX) {
        http_error(&r, 414, "URL too long (at most %d bytes)", HTTP_URL_MAX);
        goto done;
    }
    if (u->binary_body_length > limit) {
        http_error(&r, 413, "Request body too large (at most %zu bytes)", limit);
        goto done;
    }
    rt = q->rt;
    if (!rt) {
        char allow[64] = "";
        for (size_t i = 0; i < N_ROUTES; i++) {
            if (!match(routes[i].pattern, path, &r))
                continue;
            if (metric_route == METRICS_ROUTE_OTHER)
                metric_route = route_label_of[i];
            if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow)
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                         allow[0] ? ", " : "", routes[i].method);
        }
        if (allow[0]) {
            http_header(&r, "Allow", allow);
            http_error(&r, 405, "Method %.16s not allowed (allowed: %s)", r.method, allow);
        } else if (is_api_path(path)) {
            http_error(&r, 404, "Not found");
        } else {
            metric_route = METRICS_ROUTE_DASHBOARD;
            web_serve(&r);
        }
        goto done;
    }
    metric_route = route_label_of[rt - routes];
    /* route_lane() matched into a scratch request: capture the {name} segments. */
    match(rt->pattern, path, &r);
    http_header(&r, "Cache-Control", "no-store");
    if (rt->role != ROLE_PUBLIC) {
        int rc = auth_authenticate(&r);
        if (rc > 0)
            goto deferred;
        if (rc < 0)
            goto done;
        if (users_role_rank(r.user.role) < (int)rt->role) {
            http_error(&r, 403, "Not enough permissions");
            goto done;
        }
    }
    if ((rt->flags & BODY) && parse_body(&r, limit) != 0)
        goto done;
    rt->handler(&r);
    if (r.deferred)
        goto deferred;
    if (!r.status)
        http_error(&r, 500, "Internal server error (request %s)", r.id);

done:
    if (r.store)
        store_pool_put(srv->app->pool, r.store);
    json_decref(r.body);
    int64_t took = time_mono_us() - t0;
    metrics_http(srv->app->metrics, metric_route, r.method, r.status, took);
    if (log_access_enabled()) {
        char p[256];
        printable(r.path, p, sizeof p);
        bool probe = rt && (rt->flags & PROBE) && !srv->app->cfg.access_log_probes;
        log_msg(probe ? LOG_DEBUG : LOG_INFO, "http", "%.10s %s %d %.2fms id=%s ip=%s",
                r.method, p, r.status, (double)took / 1000.0, r.id, r.ip);
    }
    return true;

deferred:
    if (r.store)
        store_pool_put(srv->app->pool, r.store);
    json_decref(r.body);
    return false;
}

bool http_defer(struct http_req *r)
{
    if (r->can_defer)
        r->deferred = true;
    return r->deferred;
}

/* ---- connections: epoll threads and handler threads -----------------------------
 *
 * libmicrohttpd runs `http_threads` epoll threads (MHD_USE_EPOLL_INTERNAL_THREAD
 * with a thread pool); each owns its share of the connections. They read
 * requests, write answers and answer what needs no store. A request whose
 * handler may block (argon2id, a write waiting for the SQLite lock, a check
 * on a large store, a PostgreSQL round trip) is suspended and queued for a
 * handler thread of its lane (store, or password for argon2id); when the
 * handler is done the connection is resumed and its epoll thread sends the
 * answer. A slow login therefore holds one password-lane thread, never the
 * other connections of its epoll thread nor the store lane.
 *
 * The request model is ulfius's (struct _u_request / _u_response, u_map,
 * cookies, header writers); the access handler is ours because ulfius's own
 * dispatcher cannot suspend a connection. */


/* Bytes that are not UTF-8 make a header, cookie or query value absent, as
 * ulfius does with check_utf8. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                         : (c & 0xf8) == 0xf0    ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xc2) || (n == 3 && c > 0xf4))
            return false;
        uint32_t cp = c & (0x7f >> n);
        for (int k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        p += n + 1;
    }
    return true;
}

static enum MHD_Result fill_map(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct _u_map *map = cls;
    if (!key || !utf8_valid(key) || (value && !utf8_valid(value)))
        return MHD_YES;
    const char *prev = u_map_get(map, key);
    if (!prev) {
        u_map_put(map, key, value ? value : "");
        return MHD_YES;
    }
    /* A repeated name keeps every value, comma-separated (RFC 9110 5.3). */
    size_t a = strlen(prev), b = value ? strlen(value) : 0;
    char *both = malloc(a + b + 2);
    if (both) {
        memcpy(both, prev, a);
        both[a] = ',';
        memcpy(both + a + 1, value ? value : "", b + 1);
        u_map_put(map, key, both);
        free(both);
    }
    return MHD_YES;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the first thing MHD reports of a request, with
 * the URI as sent (query included, before MHD decodes it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    struct req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    if (ulfius_init_request(&q->u) != U_OK) {
        free(q);
        return NULL;
    }
    if (ulfius_init_response(&q->resp) != U_OK) {
        ulfius_clean_request(&q->u);
        free(q);
        return NULL;
    }
    q->conn = conn;
    q->u.http_url = strdup(uri);
    q->u.url_path = strndup(uri, strcspn(uri, "?"));
    q->raw_target = uri;
    request_check_target(uri, &q->verdict);
    atomic_init(&q->state, REQ_NEW);
    return q;
}

static const char *const default_headers[][2] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Content-Security-Policy", csp},
};

static void request_done(struct http_server *s, struct req *q)
{
    if (q->counted) {
        q->counted = false;
        atomic_fetch_sub(&s->in_flight, 1);
    }
}

/* The response's headers and cookies onto the MHD response. */
static bool add_headers(struct MHD_Response *m, const struct _u_response *resp)
{
    const char **keys = u_map_enum_keys(resp->map_header);
    for (size_t i = 0; keys && keys[i]; i++)
        if (MHD_add_response_header(m, keys[i], u_map_get(resp->map_header, keys[i])) != MHD_YES)
            return false;
    for (size_t i = 0; i < sizeof default_headers / sizeof default_headers[0]; i++)
        if (!u_map_has_key_case(resp->map_header, default_headers[i][0]) &&
            MHD_add_response_header(m, default_headers[i][0], default_headers[i][1]) != MHD_YES)
            return false;
    for (unsigned i = 0; i < resp->nb_cookies; i++) {
        const struct _u_cookie *c = &resp->map_cookie[i];
        char line[1024];
        bool clear = !c->value || !c->value[0];
        /* An empty value clears the cookie: Max-Age=0. */
        int n = snprintf(line, sizeof line, "%s=%s; Max-Age=%u%s%s%s%s%s%s%s%s", c->key,
                         c->value ? c->value : "", clear ? 0u : c->max_age,
                         c->domain ? "; Domain=" : "", c->domain ? c->domain : "",
                         c->path ? "; Path=" : "", c->path ? c->path : "",
                         c->secure ? "; Secure" : "", c->http_only ? "; HttpOnly" : "",
                         c->same_site == U_COOKIE_SAME_SITE_STRICT ? "; SameSite=Strict"
                         : c->same_site == U_COOKIE_SAME_SITE_LAX  ? "; SameSite=Lax"
                                                                   : "",
                         "");
        if (n < 0 || (size_t)n >= sizeof line ||
            MHD_add_response_header(m, MHD_HTTP_HEADER_SET_COOKIE, line) != MHD_YES)
            return false;
    }
    return true;
}

/* Queue the answer built in q->resp. */
static enum MHD_Result send_answer(struct http_server *s, struct req *q)
{
    struct MHD_Response *m;
    if (q->resp.stream_callback) { /* http_file(): read as the client takes it */
        m = MHD_create_response_from_callback(q->resp.stream_size, q->resp.stream_block_size,
                                              q->resp.stream_callback,
                                              q->resp.stream_user_data,
                                              q->resp.stream_callback_free);
        if (m)
            q->resp.stream_user_data = NULL;
    } else if (q->resp.binary_body && q->resp.binary_body_length) {
        m = MHD_create_response_from_buffer_with_free_callback(q->resp.binary_body_length,
                                                               q->resp.binary_body, free);
        if (m)
            q->resp.binary_body = NULL;
    } else {
        m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    enum MHD_Result rc = MHD_NO;
    if (m) {
        /* A request refused as malformed ends its connection: what follows
         * it on the wire cannot be trusted to be a request. */
        if (add_headers(m, &q->resp) &&
            (!q->verdict.status ||
             MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES))
            rc = MHD_queue_response(q->conn, (unsigned)q->resp.status, m);
        else
            log_msg(LOG_ERROR, "http", "cannot build the response headers");
        MHD_destroy_response(m);
    }
    atomic_store(&q->state, REQ_ANSWERED);
    request_done(s, q);
    return rc;
}

/* Find q's route once it is read whole (none for a body or URL that is too
 * long: dispatch() answers 413/414), and return its lane, or -1: answered on
 * the epoll thread. */
static int route_lane(struct req *q)
{
    struct http_req scratch;
    scratch.n_params = 0;
    if (q->too_large || q->verdict.status ||
        (q->u.http_url && strlen(q->u.http_url) > HTTP_URL_MAX))
        return -1;
    q->rt = find_route(q->u.http_verb ? q->u.http_verb : "",
                       route_path(q->u.url_path ? q->u.url_path : "/"), &scratch);
    if (!q->rt)
        return -1;
    return q->rt->flags & INLINE ? -1 : q->rt->flags & PASSWORD ? LANE_PASSWORD : LANE_STORE;
}

static void lane_metrics(const struct lane *l)
{
    metrics_http_handlers(l->srv->app->metrics, (int)l->id, l->size, l->busy, l->queued);
}

/* Hand q to a handler thread of lane l. False once the handler threads are
 * stopping: the caller answers on its own thread. */
static bool enqueue(struct lane *l, struct req *q)
{
    pthread_mutex_lock(&l->mu);
    if (l->quit) {
        pthread_mutex_unlock(&l->mu);
        return false;
    }
    atomic_store(&q->state, REQ_QUEUED);
    MHD_suspend_connection(q->conn);
    q->next = NULL;
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    l->queued++;
    lane_metrics(l);
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)url;
    struct http_server *s = cls;
    struct req *q = *con_cls;
    if (!q)
        return MHD_NO;
    int state = atomic_load(&q->state);
    if (state == REQ_NEW) {
        if (conn_guard_refused(s->guard, conn))
            return MHD_NO; /* answered 503 by the guard */
        atomic_store(&q->state, REQ_READING);
        q->u.http_verb = strdup(method);
        q->u.http_protocol = strdup(version);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && (q->u.client_address = malloc(sizeof(struct sockaddr))))
            memcpy(q->u.client_address, ci->client_addr, sizeof(struct sockaddr));
        if (!q->u.http_verb || !q->u.http_protocol || !q->u.http_url || !q->u.url_path)
            return MHD_NO;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, fill_map, q->u.map_header);
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, fill_map, q->u.map_url);
        MHD_get_connection_values(conn, MHD_COOKIE_KIND, fill_map, q->u.map_cookie);
        if (!q->verdict.status)
            request_check_head(conn, q->raw_target, strlen(q->u.http_url), version, &q->verdict);
        if (!q->verdict.status) {
            conn_guard_head_read(s->guard, conn);
            return MHD_YES;
        }
        /* Refused: answered now, before any body is read. */
        conn_guard_request_read(s->guard, conn);
        q->counted = true;
        q->t0 = time_mono_us();
        atomic_fetch_add(&s->in_flight, 1);
        dispatch(s, q, false);
        return send_answer(s, q);
    }
    if (*upload_size) {
        /* Keep one byte past the limit so dispatch() answers 413; drop the rest. */
        size_t cap = (size_t)s->app->cfg.max_body_bytes + 1, have = q->u.binary_body_length;
        size_t take = have >= cap ? 0 : (*upload_size < cap - have ? *upload_size : cap - have);
        if (take) {
            char *b = realloc(q->u.binary_body, have + take);
            if (!b)
                return MHD_NO;
            memcpy(b + have, upload, take);
            q->u.binary_body = b;
            q->u.binary_body_length = have + take;
        }
        if (take < *upload_size)
            q->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (state == REQ_ANSWERED) /* back from a handler thread */
        return send_answer(s, q);
    if (state == REQ_QUEUED)
        return MHD_YES;
    if (!q->counted) {
        q->counted = true;
        q->t0 = time_mono_us();
        atomic_fetch_add(&s->in_flight, 1);
        conn_guard_request_read(s->guard, conn);
    }
    int lane = route_lane(q);
    if (lane >= 0 && enqueue(&s->lanes[lane], q))
        return MHD_YES;
    bool can_defer = !atomic_load(&s->stopping);
    if (dispatch(s, q, can_defer))
        return send_answer(s, q);
    /* The handler asked for a handler thread. */
    if (enqueue(&s->lanes[LANE_STORE], q))
        return MHD_YES;
    dispatch(s, q, false);
    return send_answer(s, q);
}

/* A request that may write (any method but GET and HEAD). */
static bool is_write(const struct req *q)
{
    const char *m = q->u.http_verb ? q->u.http_verb : "";
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* The first queued request that may run now (under l->mu): a read always; a
 * write while fewer than write_slots writes run. Writes beyond that stay
 * parked in the queue without a thread, so writers waiting for a lock held by
 * another process (an sqlite3 shell, a long PostgreSQL transaction) never
 * take every thread of the lane and reads go on being answered. */
static struct req *take(struct lane *l, bool *write)
{
    struct req *prev = NULL;
    for (struct req *q = l->head; q; prev = q, q = q->next) {
        *write = is_write(q);
        if (*write && l->write_slots > 0 && l->writers >= l->write_slots)
            continue;
        if (prev)
            prev->next = q->next;
        else
            l->head = q->next;
        if (l->tail == q)
            l->tail = prev;
        if (*write)
            l->writers++;
        return q;
    }
    return NULL;
}

static void *handler_thread(void *arg)
{
    struct lane *l = arg;
    for (;;) {
        bool write = false;
        struct req *q;
        pthread_mutex_lock(&l->mu);
        while (!(q = take(l, &write)) && !(l->quit && !l->head))
            pthread_cond_wait(&l->cv, &l->mu);
        if (!q) { /* quit, and the queue is drained */
            pthread_mutex_unlock(&l->mu);
            return NULL;
        }
        l->queued--;
        l->busy++;
        lane_metrics(l);
        pthread_mutex_unlock(&l->mu);

        dispatch(l->srv, q, false);
        atomic_store(&q->state, REQ_ANSWERED);
        /* From here q belongs to the epoll thread again, which may free it. */
        MHD_resume_connection(q->conn);

        pthread_mutex_lock(&l->mu);
        l->busy--;
        if (write) {
            l->writers--;
            if (l->head) /* a parked write may run now */
                pthread_cond_broadcast(&l->cv);
        }
        lane_metrics(l);
        pthread_mutex_unlock(&l->mu);
    }
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over (answered, or the
 * connection failed or timed out). */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_server *s = cls;
    struct req *q = *con_cls;
    conn_guard_answer_done(s->guard, conn);
    if (!q)
        return;
    if (q->resp.stream_callback_free && q->resp.stream_user_data) /* never sent */
        q->resp.stream_callback_free(q->resp.stream_user_data);
    q->resp.stream_user_data = NULL;
    request_done(s, q);
    ulfius_clean_request(&q->u);
    ulfius_clean_response(&q->resp);
    free(q);
    *con_cls = NULL;
    http_memory_after_answer();
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

/* libmicrohttpd's messages (cls: the connection guard, which rate-limits
 * them: a flood of broken connections must not flood the log). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    unsigned long dropped = 0;
    if (cls && !conn_guard_log_allowed(cls, &dropped))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    if (dropped)
        log_msg(LOG_WARNING, "http", "libmicrohttpd: %s (%lu similar messages not logged)", msg,
                dropped);
    else
        log_msg(LOG_WARNING, "http", "libmicrohttpd: %s", msg);
}

static void lane_stop(struct lane *l)
{
    pthread_mutex_lock(&l->mu);
    l->quit = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_threads; i++)
        pthread_join(l->threads[i], NULL);
    l->n_threads = 0;
}

static int lane_start(struct http_server *s, enum lane_id id, int size, char *err,
                      size_t errlen)
{
    struct lane *l = &s->lanes[id];
    l->srv = s;
    l->id = id;
    l->size = size;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (!(l->threads = calloc((size_t)size, sizeof *l->threads))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (; l->n_threads < size; l->n_threads++) {
        if (pthread_create(&l->threads[l->n_threads], NULL, handler_thread, l) != 0) {
            snprintf(err, errlen, "cannot start the HTTP handler threads: %s", strerror(errno));
            return -1;
        }
    }
    lane_metrics(l);
    return 0;
}

static void server_free(struct http_server *s)
{
    conn_guard_free(s->guard);
    for (int i = 0; i < N_LANES; i++) {
        struct lane *l = &s->lanes[i];
        if (!l->srv)
            continue;
        lane_stop(l);
        free(l->threads);
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
    }
    free(s);
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
    int n_labels;
    http_route_labels(&n_labels); /* route_label_of[] for the metrics */
    s->id_prefix = randombytes_random();
    s->addr.sin_family = AF_INET;
    s->addr.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &s->addr.sin_addr);

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int io_threads = app->cfg.http_threads > 0 ? (int)app->cfg.http_threads
                                               : (int)(cpus > 0 ? cpus : 2);
    int workers = app->workers > 0 ? app->workers : 4, hashers = auth_hash_slots();
    /* Half the store lane may run writes; the rest stays for reads. */
    s->lanes[LANE_STORE].write_slots = workers > 1 ? workers / 2 : 1;
    if (lane_start(s, LANE_STORE, workers, err, errlen) != 0 ||
        lane_start(s, LANE_PASSWORD, hashers, err, errlen) != 0) {
        server_free(s);
        return -1;
    }
    const struct config *cfg = &app->cfg;
    struct conn_guard_limits limits = {
        .header_timeout = cfg->request_header_timeout,
        .body_timeout = cfg->request_body_timeout,
        .max_connections = cfg->max_connections,
        .max_per_address = cfg->max_connections_per_address,
    };
    if (conn_guard_start(&limits, &s->guard, err, errlen) != 0) {
        server_free(s);
        return -1;
    }
    /* epoll, a thread pool sized to the machine, and suspend/resume for the
     * requests handed to handler threads. libmicrohttpd's timeout is the idle
     * one (keepalive_timeout); the guard adds the absolute deadlines and the
     * caps, and libmicrohttpd's connection limit is only its backstop. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        s->guard, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        s, MHD_OPTION_SOCK_ADDR, &s->addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)io_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->keepalive_timeout,
        MHD_OPTION_CONNECTION_LIMIT, conn_guard_library_limit(s->guard, io_threads),
        MHD_OPTION_NOTIFY_CONNECTION, conn_guard_notify, s->guard,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        1024u, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s: %s", app->cfg.listen,
                 errno ? strerror(errno) : "address unavailable");
        server_free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    log_msg(LOG_INFO, "http",
            "%d epoll thread%s; handler threads: %d store (at most %d writing), %d password",
            io_threads, io_threads == 1 ? "" : "s", workers, s->lanes[LANE_STORE].write_slots,
            hashers);
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
    MHD_quiesce_daemon(s->daemon);
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    while (atomic_load(&s->in_flight) > 0 && time_mono_us() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->in_flight) > 0)
        log_msg(LOG_WARNING, "http", "stopping with %d request(s) still running",
                atomic_load(&s->in_flight));
    /* No connection may stay suspended when the daemon stops: the handler
     * threads finish what they hold and what is queued, each resuming its
     * connection, before MHD_stop_daemon. */
    atomic_store(&s->stopping, true);
    for (int i = 0; i < N_LANES; i++)
        lane_stop(&s->lanes[i]);
    MHD_stop_daemon(s->daemon);
    server_free(s);
}

/* ---- one request without a connection (dispatch.h) -------------------------------- */

bool http_route_at(int i, const char **method, const char **pattern, bool *takes_body)
{
    if (i < 0 || (size_t)i >= N_ROUTES)
        return false;
    *method = routes[i].method;
    *pattern = routes[i].pattern;
    *takes_body = routes[i].flags & BODY;
    return true;
}

void http_request_add_value(struct _u_map *map, const char *key, const char *value)
{
    fill_map(map, MHD_HEADER_KIND, key, value);
}

int http_dispatch_request(struct app *app, const struct _u_request *u,
                          struct _u_response *resp)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    struct req *q = calloc(1, sizeof *q);
    int status = -1;
    if (!srv || !q)
        goto out;
    srv->app = app;
    /* Borrowed: nothing below frees the request's parts. */
    q->u = *u;
    q->resp = *resp;
    q->t0 = time_mono_us();
    q->too_large = u->binary_body_length > (size_t)app->cfg.max_body_bytes + 1;
    /* As on_request(): a routed request runs on a handler thread; the
     * others on the epoll thread, which may hand them to a handler thread. */
    if (route_lane(q) >= 0 || !dispatch(srv, q, true))
        dispatch(srv, q, false);
    *resp = q->resp;
    status = resp->status;
    struct MHD_Response *m = MHD_create_response_from_buffer(
        resp->binary_body_length, resp->binary_body ? resp->binary_body : (void *)"",
        MHD_RESPMEM_PERSISTENT);
    if (!m || !add_headers(m, resp))
        status = -1;
    if (m)
        MHD_destroy_response(m);
out:
    free(q);
    free(srv);
    return status;
}

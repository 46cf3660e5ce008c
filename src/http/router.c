/* router.c — serve's routing table and the wrapper around every handler. */
#include "http/router.h"

#include "http/auth.h"
#include "http/client_addr.h"
#include "http/dispatch.h"
#include "http/handlers.h"
#include "http/request.h"
#include "http/web.h"
#include "service/metrics.h"
#include "service/users.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Minimum role of a route: none (public), any signed-in user, instructor, admin. */
enum http_role { ROLE_PUBLIC = 0, ROLE_ANY = 1, ROLE_INSTRUCTOR = 2, ROLE_ADMIN = 3 };

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

/* ---- matching ----------------------------------------------------------------- */

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

/* Copy for the access log with control characters replaced. */
static void printable(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; *in && o + 1 < len; in++)
        out[o++] = (unsigned char)*in < 0x20 || *in == 0x7f ? '?' : *in;
    out[o] = '\0';
}

static int parse_body(struct http_req *r)
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
    r->body = b;
    return 0;
}


/* "//healthz" in the API contract names the root path /healthz. */
static const char *route_path(const char *path)
{
    while (path[0] == '/' && path[1] == '/')
        path++;
    return path;
}

/* The route for a method and path (its {name} segments into r), or NULL. */
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

const struct route *router_find(const char *method, const char *path)
{
    struct http_req scratch;
    scratch.n_params = 0;
    return find_route(method, route_path(path), &scratch);
}

bool router_inline(const struct route *rt)
{
    return rt->flags & INLINE;
}

bool router_hashes_password(const struct route *rt)
{
    return rt->flags & PASSWORD;
}

/* ---- the wrapper ---------------------------------------------------------------- */

/* A request that matches no route: 405 with Allow when its path has routes
 * for other methods, 404 under the API's paths, else the dashboard. Returns
 * the metrics label of what answered it. */
static int answer_unrouted(struct http_req *r, const char *path)
{
    int metric_route = METRICS_ROUTE_OTHER;
    char allow[64] = "";
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!match(routes[i].pattern, path, r))
            continue;
        if (metric_route == METRICS_ROUTE_OTHER)
            metric_route = route_label_of[i];
        if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", routes[i].method);
    }
    if (allow[0]) {
        http_header(r, "Allow", allow);
        http_error(r, 405, "Method %.16s not allowed (allowed: %s)", r->method, allow);
    } else if (is_api_path(path)) {
        http_error(r, 404, "Not found");
    } else {
        metric_route = METRICS_ROUTE_DASHBOARD;
        web_serve(r);
    }
    return metric_route;
}

/* Authenticate, check the role, parse the body and run rt's handler. Returns
 * 1 when the handler (or authentication) deferred the request, else 0. */
static int run_route(struct http_req *r, const struct route *rt)
{
    http_header(r, "Cache-Control", "no-store");
    if (rt->role != ROLE_PUBLIC) {
        int rc = auth_authenticate(r);
        if (rc > 0)
            return 1;
        if (rc < 0)
            return 0;
        if (users_role_rank(r->user.role) < (int)rt->role) {
            http_error(r, 403, "Not enough permissions");
            return 0;
        }
    }
    if ((rt->flags & BODY) && parse_body(r) != 0)
        return 0;
    rt->handler(r);
    if (r->deferred)
        return 1;
    if (!r->status)
        http_error(r, 500, "Internal server error (request %s)", r->id);
    return 0;
}

bool router_dispatch(struct app *app, const struct router_call *c, bool can_defer)
{
    const struct _u_request *u = c->u;
    const struct route *rt = c->rt;
    struct http_req r;
    memset(&r, 0, sizeof r);
    r.u = u;
    r.resp = c->resp;
    r.app = app;
    r.can_defer = can_defer;
    r.method = u->http_verb ? u->http_verb : "";
    r.path = u->url_path ? u->url_path : "/";
    snprintf(r.id, sizeof r.id, "%s", c->id);
    client_addr_of(u, app->cfg.trusted_proxies, r.ip, sizeof r.ip);
    http_header(&r, "X-Request-Id", r.id);

    const char *path = route_path(r.path);
    size_t limit = (size_t)app->cfg.max_body_bytes;
    int metric_route = METRICS_ROUTE_OTHER;
    bool deferred = false;
    const struct route *ran = NULL; /* the route whose handler answered */
    if (c->verdict && c->verdict->status) {
        http_error(&r, c->verdict->status, "%s", c->verdict->detail);
    } else if (u->http_url && strlen(u->http_url) > HTTP_URL_MAX) {
        http_error(&r, 414, "URL too long (at most %d bytes)", HTTP_URL_MAX);
    } else if (u->binary_body_length > limit) {
        http_error(&r, 413, "Request body too large (at most %zu bytes)", limit);
    } else if (!rt) {
        metric_route = answer_unrouted(&r, path);
    } else {
        metric_route = route_label_of[rt - routes];
        /* router_find() matched into a scratch request: capture the {name} segments. */
        match(rt->pattern, path, &r);
        deferred = run_route(&r, rt) != 0;
        ran = rt;
    }
    if (r.store)
        store_pool_put(app->pool, r.store);
    json_decref(r.body);
    if (deferred)
        return false;
    int64_t took = time_mono_us() - c->t0;
    metrics_http(app->metrics, metric_route, r.method, r.status, took);
    if (log_access_enabled()) {
        char p[256];
        printable(r.path, p, sizeof p);
        bool probe = ran && (ran->flags & PROBE) && !app->cfg.access_log_probes;
        log_msg(probe ? LOG_DEBUG : LOG_INFO, "http", "%.10s %s %d %.2fms id=%s ip=%s",
                r.method, p, r.status, (double)took / 1000.0, r.id, r.ip);
    }
    return true;
}

/* ---- the table for the fuzz harness (dispatch.h) ---------------------------------- */

bool http_route_at(int i, const char **method, const char **pattern, bool *takes_body)
{
    if (i < 0 || (size_t)i >= N_ROUTES)
        return false;
    *method = routes[i].method;
    *pattern = routes[i].pattern;
    *takes_body = routes[i].flags & BODY;
    return true;
}

/* server.c — the listener of `lockstep serve`: libmicrohttpd's epoll threads
 * read requests and send answers, handler threads (lanes) run the handlers
 * that may block, and a graceful stop. Routing is router.c's. */
#include "http/server.h"

#include "http/auth.h"
#include "http/conn_guard.h"
#include "http/dispatch.h"
#include "http/request.h"
#include "http/request_check.h"
#include "http/router.h"
#include "service/metrics.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
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
#include <unistd.h>

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

/* Answer q through the router (see router_dispatch); the request id is
 * drawn on the first call and kept when a deferred request runs again. */
static bool dispatch(struct http_server *s, struct req *q, bool can_defer)
{
    if (!q->id[0])
        snprintf(q->id, sizeof q->id, "%08x%08x", s->id_prefix,
                 atomic_fetch_add(&s->id_counter, 1));
    struct router_call c = {.u = &q->u, .resp = &q->resp, .rt = q->rt, .verdict = &q->verdict,
                            .id = q->id, .t0 = q->t0};
    return router_dispatch(s->app, &c, can_defer);
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
 * long: the router answers 413/414), and return its lane, or -1: answered on
 * the epoll thread. */
static int route_lane(struct req *q)
{
    if (q->too_large || q->verdict.status ||
        (q->u.http_url && strlen(q->u.http_url) > HTTP_URL_MAX))
        return -1;
    q->rt = router_find(q->u.http_verb ? q->u.http_verb : "",
                        q->u.url_path ? q->u.url_path : "/");
    if (!q->rt || router_inline(q->rt))
        return -1;
    return router_hashes_password(q->rt) ? LANE_PASSWORD : LANE_STORE;
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
        /* Keep one byte past the limit so the router answers 413; drop the rest. */
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

void http_server_stop(struct http_server *s, long timeout_ms)
{
    if (!s)
        return;
    MHD_quiesce_daemon(s->daemon);
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    while (atomic_load(&s->in_flight) > 0 && time_mono_us() < deadline) {
        time_sleep_ms(10);
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

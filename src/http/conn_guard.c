/* conn_guard.c — per-address and global connection caps with an early 503,
 * and absolute head/body deadlines enforced by a sweeper thread.
 *
 * libmicrohttpd's own timeout is an idle timeout (every byte resets it) and
 * its connection limit closes new connections silently, so a few hundred
 * sockets trickling one byte at a time could hold every slot. The guard
 * tracks every connection (MHD_OPTION_NOTIFY_CONNECTION), answers one over a
 * cap with a short 503 and closes it, and shuts down the socket of a
 * connection whose request is not read whole by its deadline; libmicrohttpd
 * then sees the socket end and closes the connection itself. */
#include "http/conn_guard.h"

#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

enum phase {
    PHASE_HEAD,    /* waiting for a request's head: deadline */
    PHASE_BODY,    /* reading its body: deadline */
    PHASE_BUSY,    /* read whole: handled and answered, no deadline */
    PHASE_REFUSED, /* answered 503 by the guard: closed at its deadline */
};

struct slot {
    struct slot *prev, *next;
    int fd;
    uint32_t addr; /* IPv4 address (network order); 0 when not IPv4 */
    enum phase phase;
    int64_t deadline; /* monotonic µs; 0: none */
    bool shut;        /* its socket was shut down */
    bool counted;     /* in its address's count */
};

/* How many connections each client address holds. */
struct addr_count {
    struct addr_count *next;
    uint32_t addr;
    long count;
};

#define ADDR_BUCKETS 4096
/* File descriptors kept free for the store, logs, pipes and libraries. */
#define FD_RESERVE 256
/* How long a refused connection may stay open to read its 503. */
#define REFUSED_LINGER_US (1 * USEC_PER_SEC)
#define SWEEP_EVERY_MS 200
#define LOG_LINES_PER_SECOND 10

struct conn_guard {
    struct conn_guard_limits lim;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;
    pthread_t sweeper;
    bool sweeper_started;
    struct slot *head;
    long open;
    uint32_t hash_key;
    struct addr_count *buckets[ADDR_BUCKETS];
    unsigned long refused, timed_out;          /* totals */
    unsigned long refused_logged, timed_out_logged;
    int64_t log_second;       /* monotonic second of the library's log budget */
    int log_lines;            /* lines written in it */
    unsigned long log_dropped;
};

static size_t bucket_of(const struct conn_guard *g, uint32_t addr)
{
    return (size_t)(((addr ^ g->hash_key) * UINT32_C(2654435761)) >> 20) % ADDR_BUCKETS;
}

static struct addr_count **find_addr(struct conn_guard *g, uint32_t addr)
{
    struct addr_count **p = &g->buckets[bucket_of(g, addr)];
    while (*p && (*p)->addr != addr)
        p = &(*p)->next;
    return p;
}

/* Add delta to addr's count; returns the new count (-1: out of memory). */
static long addr_add(struct conn_guard *g, uint32_t addr, long delta)
{
    struct addr_count **p = find_addr(g, addr);
    if (!*p) {
        if (delta <= 0)
            return 0;
        struct addr_count *a = calloc(1, sizeof *a);
        if (!a)
            return -1;
        a->addr = addr;
        *p = a;
    }
    struct addr_count *a = *p;
    a->count += delta;
    long n = a->count;
    if (n <= 0) {
        *p = a->next;
        free(a);
    }
    return n;
}

static void unlink_slot(struct conn_guard *g, struct slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        g->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* Answer 503 on the raw socket before any request was read, and half-close
 * it: the client reads the answer, and the connection serves nothing. */
static void refuse(int fd, const char *why)
{
    char body[160], msg[400];
    int bn = snprintf(body, sizeof body, "{\"detail\":\"%s; retry shortly\"}", why);
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 503 Service Unavailable\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %d\r\n"
                     "Retry-After: 1\r\n"
                     "Connection: close\r\n\r\n%s",
                     bn, body);
    if (n > 0 && (size_t)n < sizeof msg)
        (void)send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)shutdown(fd, SHUT_WR);
}

static uint32_t client_addr(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
        return 0;
    struct sockaddr_in in;
    memcpy(&in, ci->client_addr, sizeof in);
    return in.sin_addr.s_addr;
}

void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    struct conn_guard *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct slot *s = *socket_context;
        if (!s)
            return;
        pthread_mutex_lock(&g->mu);
        unlink_slot(g, s);
        g->open--;
        if (s->counted)
            addr_add(g, s->addr, -1);
        pthread_mutex_unlock(&g->mu);
        free(s);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct slot *s = calloc(1, sizeof *s);
    if (!s || !fi) {
        /* Untracked: serve it, libmicrohttpd's own limits still hold. */
        free(s);
        *socket_context = NULL;
        return;
    }
    s->fd = fi->connect_fd;
    s->addr = client_addr(conn);
    int64_t now = time_mono_us();
    pthread_mutex_lock(&g->mu);
    long per_addr = addr_add(g, s->addr, 1);
    s->counted = per_addr > 0;
    g->open++;
    const char *why = NULL;
    if (per_addr < 0 || per_addr > g->lim.max_per_address)
        why = "Too many connections from this address";
    else if (g->open > g->lim.max_connections)
        why = "Too many connections";
    if (why) {
        refuse(s->fd, why);
        s->phase = PHASE_REFUSED;
        s->deadline = now + REFUSED_LINGER_US;
        g->refused++;
    } else {
        s->phase = PHASE_HEAD;
        s->deadline = now + g->lim.header_timeout * USEC_PER_SEC;
    }
    s->next = g->head;
    if (g->head)
        g->head->prev = s;
    g->head = s;
    pthread_mutex_unlock(&g->mu);
    *socket_context = s;
}

static struct slot *slot_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_phase(struct conn_guard *g, struct MHD_Connection *conn, enum phase phase,
                      long timeout_s)
{
    struct slot *s = slot_of(conn);
    if (!s)
        return;
    pthread_mutex_lock(&g->mu);
    if (s->phase != PHASE_REFUSED) {
        s->phase = phase;
        s->deadline = timeout_s ? time_mono_us() + timeout_s * USEC_PER_SEC : 0;
    }
    pthread_mutex_unlock(&g->mu);
}

bool conn_guard_refused(struct conn_guard *g, struct MHD_Connection *conn)
{
    struct slot *s = slot_of(conn);
    if (!s)
        return false;
    pthread_mutex_lock(&g->mu);
    bool refused = s->phase == PHASE_REFUSED;
    pthread_mutex_unlock(&g->mu);
    return refused;
}

void conn_guard_head_read(struct conn_guard *g, struct MHD_Connection *conn)
{
    set_phase(g, conn, PHASE_BODY, g->lim.body_timeout);
}

void conn_guard_request_read(struct conn_guard *g, struct MHD_Connection *conn)
{
    set_phase(g, conn, PHASE_BUSY, 0);
}

void conn_guard_answer_done(struct conn_guard *g, struct MHD_Connection *conn)
{
    set_phase(g, conn, PHASE_HEAD, g->lim.header_timeout);
}

/* Shut down every socket past its deadline (the mutex is held: a slot is
 * unlinked, under the same mutex, before libmicrohttpd closes its socket,
 * so the descriptor shut down is always still this connection's). */
static void sweep(struct conn_guard *g, int64_t now)
{
    static const char body[] = "{\"detail\":\"The request was not received in time\"}";
    char answer[256];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, body);
    for (struct slot *s = g->head; s; s = s->next) {
        if (s->shut || !s->deadline || now < s->deadline)
            continue;
        /* A body that stalls is told why; an idle or trickling head is just closed. */
        if (s->phase == PHASE_BODY && n > 0 && (size_t)n < sizeof answer)
            (void)send(s->fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)shutdown(s->fd, SHUT_RDWR);
        s->shut = true;
        if (s->phase != PHASE_REFUSED)
            g->timed_out++;
    }
}

static void *sweeper_main(void *arg)
{
    struct conn_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->quit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SWEEP_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (g->quit)
            break;
        sweep(g, time_mono_us());
        unsigned long refused = g->refused - g->refused_logged;
        unsigned long timed_out = g->timed_out - g->timed_out_logged;
        g->refused_logged = g->refused;
        g->timed_out_logged = g->timed_out;
        long open = g->open;
        pthread_mutex_unlock(&g->mu);
        if (refused)
            log_msg(LOG_WARNING, "http", "refused %lu connection%s over the connection caps "
                    "(%ld open; max_connections %ld, max_connections_per_address %ld)",
                    refused, refused == 1 ? "" : "s", open, g->lim.max_connections,
                    g->lim.max_per_address);
        if (timed_out)
            log_msg(LOG_WARNING, "http", "closed %lu connection%s that did not send a whole "
                    "request in time (request_header_timeout %lds, request_body_timeout %lds)",
                    timed_out, timed_out == 1 ? "" : "s", g->lim.header_timeout,
                    g->lim.body_timeout);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Raise the soft open-file limit to the hard one; returns the soft limit. */
static long raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = rl.rlim_max;
        else
            log_msg(LOG_WARNING, "http", "cannot raise the open-file limit to %llu: %s",
                    (unsigned long long)rl.rlim_max, strerror(errno));
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)1 << 30 ? 1L << 30
                                                                          : (long)rl.rlim_cur;
}

int conn_guard_start(const struct conn_guard_limits *limits, struct conn_guard **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    struct conn_guard *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->lim = *limits;
    g->hash_key = randombytes_random();
    long nofile = raise_nofile();
    if (nofile > 0 && g->lim.max_connections > nofile - FD_RESERVE) {
        long fit = nofile - FD_RESERVE > 16 ? nofile - FD_RESERVE : 16;
        log_msg(LOG_WARNING, "http", "max_connections %ld lowered to %ld: the open-file limit "
                "is %ld", g->lim.max_connections, fit, nofile);
        g->lim.max_connections = fit;
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (pthread_create(&g->sweeper, NULL, sweeper_main, g) != 0) {
        snprintf(err, errlen, "cannot start the connection sweeper: %s", strerror(errno));
        conn_guard_free(g);
        return -1;
    }
    g->sweeper_started = true;
    *out = g;
    return 0;
}

unsigned conn_guard_library_limit(const struct conn_guard *g, int threads)
{
    long per_thread = g->lim.max_connections + FD_RESERVE;
    long total = per_thread * (threads > 0 ? threads : 1);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)total > rl.rlim_cur - FD_RESERVE / 2)
        total = (long)(rl.rlim_cur - FD_RESERVE / 2);
    return (unsigned)(total > 16 ? total : 16);
}

bool conn_guard_log_allowed(struct conn_guard *g, unsigned long *dropped)
{
    int64_t second = time_mono_us() / USEC_PER_SEC;
    pthread_mutex_lock(&g->mu);
    if (second != g->log_second) {
        g->log_second = second;
        g->log_lines = 0;
    }
    bool ok = g->log_lines < LOG_LINES_PER_SECOND;
    if (ok) {
        g->log_lines++;
        *dropped = g->log_dropped;
        g->log_dropped = 0;
    } else {
        g->log_dropped++;
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void conn_guard_counts(struct conn_guard *g, unsigned long *refused, unsigned long *timed_out)
{
    pthread_mutex_lock(&g->mu);
    *refused = g->refused;
    *timed_out = g->timed_out;
    pthread_mutex_unlock(&g->mu);
}

void conn_guard_free(struct conn_guard *g)
{
    if (!g)
        return;
    if (g->sweeper_started) {
        pthread_mutex_lock(&g->mu);
        g->quit = true;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->sweeper, NULL);
    }
    /* Connections are gone once the daemon stopped; free what is left. */
    while (g->head) {
        struct slot *s = g->head;
        g->head = s->next;
        free(s);
    }
    for (size_t i = 0; i < ADDR_BUCKETS; i++)
        while (g->buckets[i]) {
            struct addr_count *a = g->buckets[i];
            g->buckets[i] = a->next;
            free(a);
        }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

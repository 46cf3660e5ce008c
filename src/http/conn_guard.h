/* conn_guard.h — connection hygiene of serve: a cap on connections per
 * client address and in total (over it: an early 503 and close), absolute
 * deadlines for reading a request's head and body that a trickle of bytes
 * does not extend, and the open-file limit raised to what the caps need. */
#ifndef LOCKSTEP_CONN_GUARD_H
#define LOCKSTEP_CONN_GUARD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct conn_guard;

struct conn_guard_limits {
    long header_timeout;   /* seconds to read a request's head, from when the
                              connection is ready for it (accept or the previous answer) */
    long body_timeout;     /* seconds to read its body, from the end of the head */
    long max_connections;  /* open connections in total */
    long max_per_address;  /* open connections per client address */
};

/* Raise RLIMIT_NOFILE's soft limit to its hard limit, create the guard and
 * start its sweeper thread (it closes connections past their deadline).
 * max_connections is lowered to what the open-file limit allows (logged).
 * Returns 0 with *out set (free with conn_guard_free), or -1 with err. */
int conn_guard_start(const struct conn_guard_limits *limits, struct conn_guard **out, char *err,
                     size_t errlen);
/* Stop the sweeper and free the guard; call after the daemon has stopped. */
void conn_guard_free(struct conn_guard *g);
/* The connection limit to give libmicrohttpd (MHD_OPTION_CONNECTION_LIMIT)
 * for `threads` epoll threads: each thread gets its share of it, so this is
 * a backstop above the guard's own cap, which answers 503 first. */
unsigned conn_guard_library_limit(const struct conn_guard *g, int threads);
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard): counts the
 * connection, refuses it over a cap, and forgets it when it closes. */
void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* True when the guard refused this connection (answered 503): serve nothing
 * on it. */
bool conn_guard_refused(struct conn_guard *g, struct MHD_Connection *conn);
/* The phases of a request on a connection, each with its deadline:
 * head read whole (the body deadline starts), request read whole (no
 * deadline while it is handled and answered), answer done (the next
 * request's head deadline starts). */
void conn_guard_head_read(struct conn_guard *g, struct MHD_Connection *conn);
void conn_guard_request_read(struct conn_guard *g, struct MHD_Connection *conn);
void conn_guard_answer_done(struct conn_guard *g, struct MHD_Connection *conn);
/* Whether one more of libmicrohttpd's log lines may be written now (at most
 * LOG_LINES_PER_SECOND a second); when true, *dropped is how many were held
 * back since the last one. */
bool conn_guard_log_allowed(struct conn_guard *g, unsigned long *dropped);
/* Counters since start: connections refused over a cap, and closed past a
 * deadline. */
void conn_guard_counts(struct conn_guard *g, unsigned long *refused, unsigned long *timed_out);

#endif

/* request.h — the request model of the HTTP layer: the context every handler
 * receives, the answer helpers, query/path/body parsing and bounded answers
 * (request.c, bounded.c). Handlers never build SQL and never call the store
 * themselves: they call services (src/service) with the request's
 * connection. */
#ifndef LOCKSTEP_HTTP_REQUEST_H
#define LOCKSTEP_HTTP_REQUEST_H

#include "service/app.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ulfius.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_PARAM_MAX 256
#define HTTP_URL_MAX 2048

struct http_req {
    const struct _u_request *u;
    struct _u_response *resp;
    struct app *app;
    char id[20];                       /* request id, in logs and X-Request-Id */
    const char *method;
    const char *path;                  /* without the query string */
    char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX]; /* decoded {} segments of the route */
    int n_params;
    json_t *body;                      /* the parsed JSON object, when the route takes one */
    bool authed;
    struct user user;                  /* the caller, when authed */
    char ip[64];
    struct store *store;               /* borrowed from the pool on first use */
    int status;                        /* what was answered */
    bool can_defer;                    /* on an epoll thread: http_defer() works */
    bool deferred;
};

/* The connection for this request (borrowed from the pool until the request
 * ends). */
struct store *http_store(struct http_req *r);

/* Answer with a JSON value (the reference is stolen). */
void http_json(struct http_req *r, int status, json_t *value);
/* Answer with JSON text already serialized (copied). */
void http_json_text(struct http_req *r, int status, const char *text, size_t len);
/* Answer {"detail": message}; 401 answers also carry WWW-Authenticate: Bearer. */
void http_error(struct http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer a service error code (LS_ERR_*) with its HTTP status and `message`;
 * database faults are logged with the request id and answered 500 (or 503
 * when the database is unreachable or locked) without internal detail. */
void http_service_error(struct http_req *r, int code, const char *message);
/* Answer a store failure (STORE_ERR_*), as http_service_error. */
void http_store_error(struct http_req *r, int store_code);
/* On an epoll thread, ask for this request to be run again on a handler
 * thread (the handler returns without answering). Returns false on a handler
 * thread: go on and answer. */
bool http_defer(struct http_req *r);
/* Set a response header. */
void http_header(struct http_req *r, const char *name, const char *value);

/* Query parameter (decoded, valid UTF-8) or NULL. */
const char *http_query(struct http_req *r, const char *name);
/* Parse a boolean query parameter: absent → def; "true"/"false"/"1"/"0";
 * anything else answers 422 and returns -1. */
int http_query_bool(struct http_req *r, const char *name, bool def, bool *out);
/* Parse an integer query parameter within [min, max]; absent → def; otherwise
 * 422 and -1. */
int http_query_int(struct http_req *r, const char *name, long long def, long long min,
                   long long max, long long *out);
/* The {} parameter i as a positive id; answers 404 and returns -1 if it is not one. */
int http_param_id(struct http_req *r, int i, int64_t *out);

/* Body fields. Each returns 1 when present and valid, 0 when absent (and not
 * required), -1 after answering 400 (wrong type / missing) or 422 (bad value). */
int http_body_string(struct http_req *r, const char *name, bool required, size_t max_len,
                     const char **out);
int http_body_int(struct http_req *r, const char *name, bool required, long long min,
                  long long max, long long *out);
int http_body_bool(struct http_req *r, const char *name, bool required, bool *out);

/* Bounded answers (bounded.c). A list answers at most HTTP_PAGE_MAX items a
 * request. */
#define HTTP_PAGE_MAX 1000
/* The `limit` (1..HTTP_PAGE_MAX, default HTTP_PAGE_MAX) and `offset` (>= 0,
 * default 0) query parameters; -1 after answering 422. */
int http_query_page(struct http_req *r, long long *limit, long long *offset);
/* X-Total-Count: how many items the whole list holds. */
void http_total_header(struct http_req *r, long long total);
/* Answer the file at `path` from disk, in blocks as the client reads them
 * (never whole in memory). Returns 0, or -1 when it cannot be opened as a
 * regular file (nothing answered). */
int http_file(struct http_req *r, int status, const char *path, const char *content_type);
/* After a request's answer is done: give freed heap pages back to the
 * system (malloc_trim), at most once a second, so that RSS falls again
 * after large answers. */
void http_memory_after_answer(void);

/* Write an audit row for this request (user, ip, status). Failures are logged. */
void http_audit(struct http_req *r, const char *action, const char *resource_type,
                const char *resource_id, json_t *details);

#endif

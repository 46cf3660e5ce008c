/* fuzz_json_bodies.c — libFuzzer harness: the JSON body of every route that
 * takes one, through the real routing, body parser and handler (the same
 * path as fuzz_http, with the request line fixed so that mutations go to the
 * body). Input: one byte picks the route (among the routes of the routing
 * table that take a body, in table order), one byte the caller (low two bits:
 * none, admin, instructor, student) and a query (bit 2: ?session=cookie,
 * bit 3: ?dry_run=true), the rest is the body. The first {…} in a route's
 * path becomes a demo student's id, the second a specialization the demo
 * store has. */
#include "fixture.h"

#include "http/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 64

static char targets[MAX_ROUTES][160];
static char methods[MAX_ROUTES][8];
static int n_routes;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixture_start();
    const char *method, *pattern;
    bool body;
    for (int i = 0; http_route_at(i, &method, &pattern, &body) && n_routes < MAX_ROUTES; i++) {
        if (!body)
            continue;
        snprintf(methods[n_routes], sizeof methods[n_routes], "%s", method);
        /* "/api/v1/users/{id}/progress/{spec}/level" → ".../users/3/progress/PLAYER/level" */
        char *t = targets[n_routes];
        size_t o = 0;
        int param = 0;
        for (const char *p = pattern; *p && o + 32 < sizeof targets[n_routes]; p++) {
            if (*p == '{' && strchr(p, '}')) {
                o += (size_t)(param++ == 0
                                  ? snprintf(t + o, 32, "%lld", (long long)fixture_student_id())
                                  : snprintf(t + o, 32, "%s", fixture_spec()));
                p = strchr(p, '}');
            } else {
                t[o++] = *p;
            }
        }
        t[o] = '\0';
        n_routes++;
    }
    if (!n_routes) {
        fprintf(stderr, "fuzz_json_bodies: no route takes a body\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int route = data[0] % n_routes, flags = data[1];
    char target[200];
    snprintf(target, sizeof target, "%s%s%s", targets[route],
             flags & 4 ? "?session=cookie" : "",
             flags & 8 ? (flags & 4 ? "&dry_run=true" : "?dry_run=true") : "");
    const struct fixture_header ct = {"Content-Type", "application/json"};
    struct _u_response resp;
    ulfius_init_response(&resp);
    int status = fixture_request(methods[route], target, &ct, 1, data + 2, size - 2,
                                 (enum fixture_caller)(flags & 3), &resp);
    if (status < 100 || status > 599) {
        fprintf(stderr, "fuzz_json_bodies: %s %s: no answer could be sent\n", methods[route],
                target);
        abort();
    }
    /* A body the handler could not read must not reach it as a server fault. */
    if (status == 500) {
        fprintf(stderr, "fuzz_json_bodies: %s %s answered 500: %.*s\n", methods[route], target,
                (int)resp.binary_body_length, resp.binary_body ? (char *)resp.binary_body : "");
        abort();
    }
    ulfius_clean_response(&resp);
    fixture_reset(target);
    return 0;
}

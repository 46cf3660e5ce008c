/* fixture.h — what the HTTP harnesses share: a Lockstep app on a SQLite
 * store with demo data in a temporary directory made once per process, an
 * admin's tokens, and one request run through the real routing table. */
#ifndef LOCKSTEP_FUZZ_FIXTURE_H
#define LOCKSTEP_FUZZ_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ulfius.h>

/* Who the fixture signs a request in as (the Authorization header it adds). */
enum fixture_caller { CALLER_NONE, CALLER_ADMIN, CALLER_INSTRUCTOR, CALLER_STUDENT };

struct fixture_header {
    const char *name, *value;
};

/* Start the app once (later calls do nothing). Exits the process when it
 * cannot: a harness without its fixture has nothing to run. */
void fixture_start(void);
/* After a request to target that may have written: make the store, the data
 * directory and the login throttle what they were after fixture_start(), so
 * that each input starts from the same state. */
void fixture_reset(const char *target);
/* A demo student's id, and a specialization the demo store has. */
int64_t fixture_student_id(void);
const char *fixture_spec(void);
/* The refresh token of the admin's session (for the refresh route). */
const char *fixture_refresh_token(void);

/* Run one request: method, target (path and query as sent), headers, body.
 * caller adds "Authorization: Bearer <token>". The answer goes into resp,
 * which the caller has initialised with ulfius_init_response and cleans.
 * Returns the status, or -1 when the answer cannot be sent. */
int fixture_request(const char *method, const char *target, const struct fixture_header *headers,
                    int n_headers, const void *body, size_t body_len, enum fixture_caller caller,
                    struct _u_response *resp);

/* True when the method may change the store (every other method is answered
 * from it or refused): the harness resets after those. */
bool fixture_method_writes(const char *method);

#endif

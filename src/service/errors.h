/* errors.h — the error codes every service returns (negative; 0 is success).
 *
 * They map one to one onto the domain's error_type values and onto HTTP
 * statuses at the edge (http/), so a service never needs to know about HTTP.
 */
#ifndef LOCKSTEP_ERRORS_H
#define LOCKSTEP_ERRORS_H

#define LS_OK 0
#define LS_ERR_VALIDATION (-10) /* bad input: error_type validation_error, HTTP 422 */
#define LS_ERR_NOT_FOUND (-11)  /* unknown user/specialization: not_found, HTTP 404 */
#define LS_ERR_CONFLICT (-12)   /* duplicate or forbidden state change: HTTP 409 */
#define LS_ERR_DATABASE (-13)   /* the store failed: database_error, HTTP 500/503 */
#define LS_ERR_BUSY (-14)       /* the store stayed locked past the busy timeout */
#define LS_ERR_IO (-15)         /* a file could not be written */
#define LS_ERR_UNAVAILABLE (-16) /* the database server cannot be reached: HTTP 503 */
#define LS_ERR_NOMEM (-17)      /* out of memory: HTTP 500; error_type database_error, the
                                   only fault type domain.md names */

/* The domain's error_type name for a code ("validation_error", …). */
const char *ls_error_type(int code);
/* Map a store code (STORE_ERR_*) to a service code. */
int ls_from_store(int store_code);

#endif

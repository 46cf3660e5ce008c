/* demo.h — reproducible demo data: students with progress and licenses, a
 * chosen share of drifted pairs, orphans of each side, and an admin account. */
#ifndef LOCKSTEP_DEMO_H
#define LOCKSTEP_DEMO_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_ADMIN_EMAIL "admin@lockstep.local"

struct demo_options {
    int64_t users;      /* students with one coupled pair each (default 150) */
    double drift_pct;   /* percent of those pairs whose license level differs (1.5) */
    int64_t orphans;    /* extra students with only progress, and as many with only a license */
    uint64_t seed;      /* same seed, same data */
};

struct demo_result {
    int64_t students, pairs, drifted, orphan_progress, orphan_license;
    bool admin_created;
    char admin_email[EMAIL_MAX + 1];
    char admin_password[64]; /* only when admin_created; shown once */
};

/* Fill the store. Returns 0 or an LS_ERR_* code with err set (LS_ERR_CONFLICT
 * when demo students already exist). Data is committed in batches; a failure
 * leaves whole batches only. */
int demo_generate(struct store *s, const struct demo_options *o, struct demo_result *r,
                  char *err, size_t errlen);

#endif

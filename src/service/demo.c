/* demo.c — demo data from a seeded generator (splitmix64), so the same seed
 * gives the same students, levels and drift on every machine. */
#include "service/demo.h"

#include "service/errors.h"
#include "service/users.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 20000

static uint64_t next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int64_t below(uint64_t *state, int64_t n)
{
    return n <= 0 ? 0 : (int64_t)(next(state) % (uint64_t)n);
}

static const char *const first_names[] = {
    "Ada", "Bruno", "Carla", "Dani", "Emil", "Fatima", "Gabor", "Hana", "Ivan", "Jonas",
    "Kira", "Luca", "Mira", "Noah", "Olga", "Pavel", "Rosa", "Sami", "Tess", "Uma",
};
static const char *const last_names[] = {
    "Almeida", "Berg", "Costa", "Dinh", "Eriksen", "Fischer", "Garcia", "Horvath",
    "Ito", "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov",
};
#define COUNT(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

struct spec_list {
    struct specialization items[3];
    int n;
};

static int keep_default(void *ctx, const struct specialization *sp)
{
    struct spec_list *l = ctx;
    if (l->n < 3 && (!strcmp(sp->id, "PLAYER") || !strcmp(sp->id, "COACH") ||
                     !strcmp(sp->id, "INTERNSHIP")))
        l->items[l->n++] = *sp;
    return 0;
}

/* Make the admin account when no active admin exists. */
static int ensure_admin(struct store *s, struct demo_result *r, char *err, size_t errlen)
{
    int64_t admins = 0;
    int rc = s->ops->user_count(s, "admin", true, &admins);
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if (admins > 0)
        return 0;
    unsigned char raw[15];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(r->admin_password, sizeof r->admin_password, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(r->admin_email, sizeof r->admin_email, DEMO_ADMIN_EMAIL);
    struct user u;
    rc = users_create(s, DEMO_ADMIN_EMAIL, "Lockstep Admin", r->admin_password, "admin", &u,
                      err, errlen);
    if (rc)
        return rc;
    r->admin_created = true;
    return 0;
}

/* One student and the rows of its pair; kind 0 coupled, 1 progress only, 2 license only. */
static int add_student(struct store *s, uint64_t *rng, int64_t index, int kind, bool drift,
                       const struct spec_list *specs, int64_t now, char *err, size_t errlen)
{
    struct user u;
    memset(&u, 0, sizeof u);
    snprintf(u.email, sizeof u.email, "student%lld@demo.lockstep.local", (long long)index);
    snprintf(u.name, sizeof u.name, "%s %s", first_names[below(rng, COUNT(first_names))],
             last_names[below(rng, COUNT(last_names))]);
    snprintf(u.password_hash, sizeof u.password_hash, USERS_NO_PASSWORD);
    snprintf(u.role, sizeof u.role, "student");
    u.is_active = true;
    u.created_at = u.updated_at = now;
    int rc = s->ops->user_insert(s, &u);
    if (rc) {
        if (rc == STORE_ERR_CONFLICT)
            snprintf(err, errlen,
                     "demo data already exists (%s); use an empty data dir or database",
                     u.email);
        else
            snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    const struct specialization *sp = &specs->items[below(rng, specs->n)];
    int level = 1 + (int)below(rng, sp->max_levels);
    int license_level = level;
    if (drift) {
        /* A different level in range: one or two steps away. */
        int step = 1 + (int)below(rng, 2);
        license_level = level + step <= sp->max_levels ? level + step : level - step;
        if (license_level < 1)
            license_level = level == 1 ? 2 : 1;
        if (license_level > sp->max_levels || license_level == level)
            license_level = level == 1 ? 2 : level - 1;
    }
    if (kind != 2) {
        struct progress p;
        memset(&p, 0, sizeof p);
        p.student_id = u.id;
        snprintf(p.spec, sizeof p.spec, "%s", sp->id);
        p.current_level = level;
        p.total_xp = (int64_t)level * 1000 + below(rng, 1000);
        p.completed_sessions = level * 4 + below(rng, 4);
        p.completed_projects = below(rng, level + 1);
        if (!strcmp(sp->id, "COACH")) {
            p.theory_hours_completed = level * 10 + below(rng, 10);
            p.practice_hours_completed = level * 20 + below(rng, 20);
        }
        p.last_activity = p.created_at = p.updated_at = now;
        if ((rc = s->ops->progress_insert(s, &p)) != 0)
            goto store_failed;
    }
    if (kind != 1) {
        struct license l;
        memset(&l, 0, sizeof l);
        l.user_id = u.id;
        snprintf(l.spec, sizeof l.spec, "%s", sp->id);
        l.current_level = license_level;
        l.max_achieved_level = license_level > level ? license_level : level;
        l.started_at = l.created_at = l.updated_at = now;
        l.last_advanced_at = now;
        if ((rc = s->ops->license_insert(s, &l)) != 0)
            goto store_failed;
    }
    return 0;
store_failed:
    snprintf(err, errlen, "%s", store_errmsg(s));
    return ls_from_store(rc);
}

int demo_generate(struct store *s, const struct demo_options *o, struct demo_result *r,
                  char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (o->users < 0 || o->users > 100000000 || o->orphans < 0 || o->orphans > 1000000 ||
        !(o->drift_pct >= 0 && o->drift_pct <= 100)) {
        snprintf(err, errlen, "demo: users must be 0-100000000, orphans 0-1000000 and drift "
                              "0-100");
        return LS_ERR_VALIDATION;
    }
    struct spec_list specs = {.n = 0};
    int rc = s->ops->spec_list(s, keep_default, &specs);
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if (specs.n == 0) {
        snprintf(err, errlen, "the default specializations are missing");
        return LS_ERR_NOT_FOUND;
    }
    if ((rc = ensure_admin(s, r, err, errlen)) != 0)
        return rc;

    int64_t n = o->users;
    int64_t drifted = (int64_t)((double)n * o->drift_pct / 100.0 + 1e-9);
    /* Which students drift: a bitmap filled by rejection sampling. */
    unsigned char *drift = calloc((size_t)(n / 8 + 1), 1);
    if (!drift) {
        snprintf(err, errlen, "out of memory");
        return LS_ERR_NOMEM;
    }
    uint64_t rng = o->seed;
    for (int64_t k = 0; k < drifted;) {
        int64_t i = below(&rng, n);
        if (!(drift[i / 8] & (1u << (i % 8)))) {
            drift[i / 8] |= (unsigned char)(1u << (i % 8));
            k++;
        }
    }
    int64_t total = n + 2 * o->orphans, now = time_now_us();
    rc = 0;
    for (int64_t i = 0; i < total && rc == 0; i++) {
        if (i % BATCH == 0 && (rc = s->ops->begin(s, STORE_TXN_WRITE)) != 0) {
            snprintf(err, errlen, "%s", store_errmsg(s));
            rc = ls_from_store(rc);
            break;
        }
        int kind = i < n ? 0 : (i - n) < o->orphans ? 1 : 2;
        bool d = i < n && (drift[i / 8] & (1u << (i % 8)));
        rc = add_student(s, &rng, i + 1, kind, d, &specs, now, err, errlen);
        if (rc) {
            s->ops->rollback(s);
            break;
        }
        if ((i + 1) % BATCH == 0 || i + 1 == total) {
            int crc = s->ops->commit(s);
            if (crc) {
                snprintf(err, errlen, "%s", store_errmsg(s));
                rc = ls_from_store(crc);
            }
        }
    }
    free(drift);
    if (rc)
        return rc;
    /* A bulk load: the capture triggers saw every row; the next full sweep
     * reads them all, so the change rows go (watch.md). */
    if (s->ops->watch_discard &&
        ((rc = s->ops->begin(s, STORE_TXN_WRITE)) != 0 || (rc = s->ops->watch_discard(s)) != 0 ||
         (rc = s->ops->commit(s)) != 0)) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        if (s->in_txn)
            s->ops->rollback(s);
        return ls_from_store(rc);
    }
    r->students = total;
    r->pairs = total;
    r->drifted = drifted;
    r->orphan_progress = r->orphan_license = o->orphans;
    return 0;
}

/* progress.c — a user's pairs in one read snapshot: their state from the pair
 * scan (the whole rule), their rows from user_pairs. */
#include "service/progress.h"
#include "util/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct user_states {
    struct pair_levels *pairs; /* from the scan, ordered by specialization */
    size_t n, cap, next;
    char last_spec[SPEC_ID_MAX]; /* the last specialization passed on */
    progress_pair_cb cb;
    void *ctx;
};

static int pass_pair(void *ctx, const struct progress *p, const struct license *l)
{
    struct user_states *u = ctx;
    const char *spec = p ? p->spec : l->spec;
    if (u->last_spec[0] && !strcmp(u->last_spec, spec))
        return 0; /* a further row of a side with duplicates: the pair is passed once */
    snprintf(u->last_spec, sizeof u->last_spec, "%s", spec);
    while (u->next < u->n && strcmp(u->pairs[u->next].spec, spec) < 0)
        u->next++;
    enum pair_state st;
    if (u->next < u->n && !strcmp(u->pairs[u->next].spec, spec))
        st = pair_state_of(&u->pairs[u->next]);
    else /* not possible in one snapshot; the rows alone then */
        st = pair_classify(p != NULL, p ? p->current_level : 0, l != NULL,
                           l ? l->current_level : 0);
    return u->cb(u->ctx, st, p, l);
}

int progress_user_pairs(struct store *s, int64_t id, char *email, char *name,
                        progress_pair_cb cb, void *ctx)
{
    /* The student exists (in attached mode: the academy's). */
    int rc = s->ops->user_email(s, id, email, name);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(s, STORE_TXN_READ)) != 0)
        return rc;
    struct user_states us = {.cb = cb, .ctx = ctx};
    struct pair_filter f = {.user_id = id};
    struct store_scan *scan = NULL;
    if ((rc = s->ops->pair_scan_open(s, &f, &scan)) == 0) {
        struct pair_levels pl;
        while ((rc = s->ops->pair_scan_next(scan, &pl)) == 1) {
            if (ARRAY_RESERVE(us.pairs, us.n, us.cap, 8) != 0) {
                rc = store_fail(s, STORE_ERR_NOMEM, "out of memory");
                break;
            }
            us.pairs[us.n++] = pl;
        }
        s->ops->pair_scan_close(scan);
    }
    if (rc == 0)
        rc = s->ops->user_pairs(s, id, pass_pair, &us);
    free(us.pairs);
    if (rc == 0)
        return s->ops->commit(s);
    s->ops->rollback(s);
    return rc;
}

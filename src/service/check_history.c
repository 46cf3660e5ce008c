/* check_history.c — the recorded checks and their open violations. */
#include "service/check_history.h"

int check_history_latest(struct store *s, struct check_run *out)
{
    return s->ops->check_latest(s, out);
}

int check_history_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                       store_check_cb cb, void *ctx)
{
    return s->ops->check_list(s, since, until, limit, cb, ctx);
}

int check_history_open_violations(struct store *s, const char *spec, int64_t limit,
                                  int64_t offset, store_violation_cb cb, void *ctx,
                                  int64_t *total)
{
    *total = 0;
    int rc = s->ops->violations_open_count(s, spec, total);
    if (rc)
        return rc;
    return s->ops->violations_open_page(s, spec, limit, offset, cb, ctx);
}

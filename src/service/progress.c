/* progress.c — a user's pairs in one read snapshot. */
#include "service/progress.h"

int progress_user_pairs(struct store *s, int64_t id, store_pair_rows_cb cb, void *ctx)
{
    struct user u;
    int rc = s->ops->user_get(s, id, &u);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(s, STORE_TXN_READ)) != 0)
        return rc;
    rc = s->ops->user_pairs(s, id, cb, ctx);
    if (rc == 0)
        return s->ops->commit(s);
    s->ops->rollback(s);
    return rc;
}

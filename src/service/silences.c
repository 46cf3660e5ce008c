/* silences.c — the silences in force, and ending one. */
#include "service/silences.h"

#include "service/alerts.h"

struct silence_list {
    json_t *arr;
    int64_t now;
    bool active_only;
};

static int add_silence(void *ctx, const struct alert_silence *si)
{
    struct silence_list *l = ctx;
    json_t *o = alerts_silence_json(si, l->now);
    if (!o)
        return STORE_ERR;
    if (l->active_only && !json_is_true(json_object_get(o, "active"))) {
        json_decref(o);
        return 0;
    }
    return json_array_append_new(l->arr, o) ? STORE_ERR : 0;
}

int silences_list_json(struct store *s, int64_t now, bool all, json_t **out)
{
    struct silence_list l = {json_array(), now, !all};
    *out = NULL;
    int rc = l.arr ? s->ops->silence_list(s, all ? 0 : now, all ? 500 : 0, add_silence, &l)
                   : STORE_ERR;
    if (rc) {
        json_decref(l.arr);
        return rc;
    }
    *out = l.arr;
    return 0;
}

int silences_delete(struct store *s, int64_t id, int64_t now)
{
    return s->ops->silence_delete(s, id, now);
}

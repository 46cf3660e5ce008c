/* specs.c — specializations. The maximum level always comes from the store. */
#include "service/specs.h"

#include "service/errors.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int specs_normalize_id(const char *in, char out[SPEC_ID_MAX])
{
    size_t n = in ? strlen(in) : 0;
    if (n == 0 || n >= SPEC_ID_MAX)
        return LS_ERR_VALIDATION;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (!isascii(c) || !(isalnum(c) || c == '_'))
            return LS_ERR_VALIDATION;
        out[i] = (char)toupper(c);
    }
    out[n] = '\0';
    return 0;
}

int specs_id_too_long(const char *in, char *err, size_t errlen)
{
    size_t n = in ? strlen(in) : 0;
    if (n <= SPEC_ID_LEN)
        return 0;
    snprintf(err, errlen, "specialization id '%.40s…' is %zu characters: the limit is %d", in, n,
             SPEC_ID_LEN);
    return LS_ERR_VALIDATION;
}

int specs_create(struct store *s, const char *id, const char *name, int max_levels,
                 struct specialization *out, char *err, size_t errlen)
{
    struct specialization sp;
    memset(&sp, 0, sizeof sp);
    if (s->domain_read_only) { /* the attached database's specializations are its own */
        snprintf(err, errlen, "%s", STORE_REPAIR_OFF);
        return LS_ERR_CONFLICT;
    }
    if (specs_id_too_long(id, err, errlen))
        return LS_ERR_VALIDATION;
    if (specs_normalize_id(id, sp.id)) {
        snprintf(err, errlen, "invalid specialization id '%.40s' (1-%d letters, digits or _)",
                 id ? id : "", SPEC_ID_LEN);
        return LS_ERR_VALIDATION;
    }
    if (!name || !*name || strlen(name) > USER_NAME_MAX) {
        snprintf(err, errlen, "specialization name must be 1-%d characters", USER_NAME_MAX);
        return LS_ERR_VALIDATION;
    }
    if (max_levels < 1 || max_levels > 100) {
        snprintf(err, errlen, "max_levels must be from 1 to 100 (got %d)", max_levels);
        return LS_ERR_VALIDATION;
    }
    snprintf(sp.name, sizeof sp.name, "%s", name);
    sp.max_levels = max_levels;
    sp.is_active = true;
    sp.created_at = time_now_us();
    int rc = s->ops->spec_insert(s, &sp);
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    if (out)
        *out = sp;
    return 0;
}

int specs_get(struct store *s, const char *id, struct specialization *out, char *err,
              size_t errlen)
{
    char norm[SPEC_ID_MAX];
    if (specs_id_too_long(id, err, errlen))
        return LS_ERR_VALIDATION;
    if (specs_normalize_id(id, norm)) {
        snprintf(err, errlen, "Unknown specialization %.40s", id ? id : "");
        return LS_ERR_NOT_FOUND;
    }
    int rc = s->ops->spec_get(s, norm, out);
    if (rc == STORE_ERR_NOT_FOUND) {
        snprintf(err, errlen, "Unknown specialization %s", norm);
        return LS_ERR_NOT_FOUND;
    }
    if (rc) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return ls_from_store(rc);
    }
    return 0;
}

int specs_list(struct store *s, store_spec_cb cb, void *ctx)
{
    return s->ops->spec_list(s, cb, ctx);
}

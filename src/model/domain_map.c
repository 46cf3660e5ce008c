/* domain_map.c — the mapped names of the domain tables: their keys, the names
 * of domain.md, and the rule for a valid identifier. */
#include "model/domain_map.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *key;
    const char *own; /* the name in domain.md */
    int optional;
} names[DOMAIN_NAME_COUNT] = {
    [DOMAIN_PROGRESS_TABLE] = {"progress_table", "specialization_progress", 0},
    [DOMAIN_PROGRESS_USER] = {"progress_user", "student_id", 0},
    [DOMAIN_PROGRESS_SPEC] = {"progress_spec", "specialization_id", 0},
    [DOMAIN_PROGRESS_LEVEL] = {"progress_level", "current_level", 0},
    [DOMAIN_PROGRESS_UPDATED_AT] = {"progress_updated_at", "updated_at", 1},
    [DOMAIN_LICENSE_TABLE] = {"license_table", "user_licenses", 0},
    [DOMAIN_LICENSE_USER] = {"license_user", "user_id", 0},
    [DOMAIN_LICENSE_SPEC] = {"license_spec", "specialization_type", 0},
    [DOMAIN_LICENSE_LEVEL] = {"license_level", "current_level", 0},
    [DOMAIN_LICENSE_MAX_LEVEL] = {"license_max_level", "max_achieved_level", 0},
    [DOMAIN_LICENSE_STARTED_AT] = {"license_started_at", "started_at", 0},
    [DOMAIN_LICENSE_UPDATED_AT] = {"license_updated_at", "updated_at", 1},
    [DOMAIN_PROGRESSIONS_TABLE] = {"progressions_table", "license_progressions", 1},
    [DOMAIN_USERS_TABLE] = {"users_table", "users", 0},
    [DOMAIN_USERS_ID] = {"users_id", "id", 0},
    [DOMAIN_USERS_EMAIL] = {"users_email", "email", 0},
    [DOMAIN_USERS_NAME] = {"users_name", "name", 0},
    [DOMAIN_SPECS_TABLE] = {"specs_table", "specializations", 0},
    [DOMAIN_SPECS_MAX_LEVELS] = {"specs_max_levels", "max_levels", 1},
};

const char *domain_name_key(enum domain_name n)
{
    return (unsigned)n < DOMAIN_NAME_COUNT ? names[n].key : NULL;
}

int domain_name_find(const char *key)
{
    for (int i = 0; i < DOMAIN_NAME_COUNT; i++)
        if (!strcmp(names[i].key, key))
            return i;
    return -1;
}

int domain_name_optional(enum domain_name n)
{
    return (unsigned)n < DOMAIN_NAME_COUNT && names[n].optional;
}

void domain_map_own(struct domain_map *m)
{
    for (int i = 0; i < DOMAIN_NAME_COUNT; i++)
        snprintf(m->name[i], sizeof m->name[i], "%s", names[i].own);
}

int domain_map_set(struct domain_map *m, enum domain_name n, const char *value, char *err,
                   size_t errlen)
{
    if ((unsigned)n >= DOMAIN_NAME_COUNT || !value) {
        snprintf(err, errlen, "no such name");
        return -1;
    }
    size_t len = strlen(value);
    if (len == 0 && !names[n].optional) {
        snprintf(err, errlen, "%s must name a %s", names[n].key,
                 strstr(names[n].key, "_table") ? "table" : "column");
        return -1;
    }
    if (len >= DOMAIN_IDENT_MAX) {
        snprintf(err, errlen, "%s: an identifier is at most %d bytes", names[n].key,
                 DOMAIN_IDENT_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "%s: an identifier has no control characters", names[n].key);
            return -1;
        }
    }
    memcpy(m->name[n], value, len + 1);
    return 0;
}

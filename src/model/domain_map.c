/* domain_map.c — the mapped names of the domain tables: their keys, the names
 * of domain.md, and the rule for a valid identifier. */
#include "model/domain_map.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

int domain_name_table(enum domain_name n)
{
    switch (n) {
    case DOMAIN_PROGRESS_USER:
    case DOMAIN_PROGRESS_SPEC:
    case DOMAIN_PROGRESS_LEVEL:
    case DOMAIN_PROGRESS_UPDATED_AT:
        return DOMAIN_PROGRESS_TABLE;
    case DOMAIN_LICENSE_USER:
    case DOMAIN_LICENSE_SPEC:
    case DOMAIN_LICENSE_LEVEL:
    case DOMAIN_LICENSE_MAX_LEVEL:
    case DOMAIN_LICENSE_STARTED_AT:
    case DOMAIN_LICENSE_UPDATED_AT:
        return DOMAIN_LICENSE_TABLE;
    case DOMAIN_USERS_ID:
    case DOMAIN_USERS_EMAIL:
    case DOMAIN_USERS_NAME:
        return DOMAIN_USERS_TABLE;
    case DOMAIN_SPECS_MAX_LEVELS:
        return DOMAIN_SPECS_TABLE;
    default:
        return -1;
    }
}

bool domain_map_maps_column(const struct domain_map *m, enum domain_name table, const char *col)
{
    for (int c = 0; c < DOMAIN_NAME_COUNT; c++)
        if (domain_name_table((enum domain_name)c) == (int)table && m->name[c][0] &&
            !strcmp(m->name[c], col))
            return true;
    return false;
}

void domain_map_own(struct domain_map *m)
{
    memset(m, 0, sizeof *m);
    m->repair = true;
    snprintf(m->schema, sizeof m->schema, "public");
    snprintf(m->own_schema, sizeof m->own_schema, "lockstep");
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

int domain_map_set_level(struct domain_map *m, const char *spec, const char *value, char *err,
                         size_t errlen)
{
    char id[SPEC_ID_MAX];
    size_t len = strlen(spec);
    if (len == 0 || len >= sizeof id) {
        snprintf(err, errlen, "[levels] %.40s…: a specialization id is 1-%d characters", spec,
                 SPEC_ID_LEN);
        return -1;
    }
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)toupper((unsigned char)spec[i]);
        if (c && !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            snprintf(err, errlen, "[levels] %.40s: a specialization id is made of A-Z, 0-9 and _",
                     spec);
            return -1;
        }
        id[i] = (char)c;
    }
    char *end = NULL;
    errno = 0;
    long max = strtol(value, &end, 10);
    if (!value[0] || *end || errno || max < 1 || max > DOMAIN_LEVEL_LIMIT) {
        snprintf(err, errlen, "[levels] %s: the maximum level is a whole number 1-%d, not '%.40s'",
                 id, DOMAIN_LEVEL_LIMIT, value);
        return -1;
    }
    if (domain_map_level(m, id)) {
        snprintf(err, errlen, "[levels] %s is given twice", id);
        return -1;
    }
    if (m->levels >= DOMAIN_LEVELS_MAX) {
        snprintf(err, errlen, "[levels] lists at most %d specializations", DOMAIN_LEVELS_MAX);
        return -1;
    }
    struct domain_level *l = &m->level[m->levels++];
    memcpy(l->spec, id, len + 1);
    l->max = (int)max;
    return 0;
}

int domain_map_level(const struct domain_map *m, const char *spec)
{
    for (int i = 0; i < m->levels; i++)
        if (!strcmp(m->level[i].spec, spec))
            return m->level[i].max;
    return 0;
}

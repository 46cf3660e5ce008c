/* domain_map.h — the names of the domain tables and columns (attach.md, "The
 * mapping"): one description of the domain schema, read by both store
 * backends. Own mode uses the names of domain.md; attached mode (attach.md)
 * fills it from the [domain] section of the config. */
#ifndef LOCKSTEP_DOMAIN_MAP_H
#define LOCKSTEP_DOMAIN_MAP_H

#include "model/records.h"

#include <stdbool.h>
#include <stddef.h>

/* Each mapped name, in the order of attach.md; domain_name_key() gives the
 * config key, which is also the token a SQL template writes as {key}. */
enum domain_name {
    DOMAIN_PROGRESS_TABLE,
    DOMAIN_PROGRESS_USER,
    DOMAIN_PROGRESS_SPEC,
    DOMAIN_PROGRESS_LEVEL,
    DOMAIN_PROGRESS_UPDATED_AT,
    DOMAIN_LICENSE_TABLE,
    DOMAIN_LICENSE_USER,
    DOMAIN_LICENSE_SPEC,
    DOMAIN_LICENSE_LEVEL,
    DOMAIN_LICENSE_MAX_LEVEL,
    DOMAIN_LICENSE_STARTED_AT,
    DOMAIN_LICENSE_UPDATED_AT,
    DOMAIN_PROGRESSIONS_TABLE,
    DOMAIN_USERS_TABLE,
    DOMAIN_USERS_ID,
    DOMAIN_USERS_EMAIL,
    DOMAIN_USERS_NAME,
    DOMAIN_SPECS_TABLE,
    DOMAIN_SPECS_MAX_LEVELS,
    DOMAIN_NAME_COUNT
};

/* PostgreSQL's identifier limit (NAMEDATALEN - 1), and the room for it. */
#define DOMAIN_IDENT_MAX 64

/* The most specializations [levels] may list, and the bounds of a maximum
 * level (those of a specialization created through Lockstep). */
#define DOMAIN_LEVELS_MAX 256
#define DOMAIN_LEVEL_LIMIT 100

struct domain_level {
    char spec[SPEC_ID_MAX]; /* upper case */
    int max;                    /* 1..DOMAIN_LEVEL_LIMIT */
};

struct domain_map {
    /* Each name, unquoted; "" for an optional name left unmapped
     * (progress_updated_at, license_updated_at, progressions_table,
     * specs_max_levels). */
    char name[DOMAIN_NAME_COUNT][DOMAIN_IDENT_MAX];
    /* [domain] source = attached: the tables are another application's. */
    bool attached;
    bool repair;      /* writes to the domain tables allowed (own mode: always) */
    bool allow_empty; /* attached: a check over zero pairs is not an error */
    char schema[DOMAIN_IDENT_MAX];     /* PostgreSQL: the schema of the attached tables */
    char own_schema[DOMAIN_IDENT_MAX]; /* PostgreSQL: Lockstep's own tables (lockstep_schema) */
    char database[1024];               /* SQLite: the academy's database file */
    /* [levels]: the maximum level of each specialization, read when
     * specs_max_levels is not mapped. */
    int levels;
    struct domain_level level[DOMAIN_LEVELS_MAX];
};

/* The config key of a name ("progress_table"). */
const char *domain_name_key(enum domain_name n);
/* The name whose key is `key`, or -1 when no name has that key. */
int domain_name_find(const char *key);
/* True for the names that may be left empty (unmapped). */
int domain_name_optional(enum domain_name n);
/* The table a column name belongs to (DOMAIN_PROGRESS_USER → DOMAIN_PROGRESS_TABLE),
 * or -1 when n names a table. */
int domain_name_table(enum domain_name n);
/* Whether `col` is one of the columns m maps in table `table` (the columns a
 * repair writes: attach.md, rule 3). */
bool domain_map_maps_column(const struct domain_map *m, enum domain_name table, const char *col);
/* Fill m with the names of domain.md: Lockstep's own tables (own mode,
 * repairs on, no [levels]). */
void domain_map_own(struct domain_map *m);
/* Set one name from the config. An identifier is 1..63 bytes without control
 * characters (a quote is allowed: it is doubled when quoted); empty is allowed
 * only for an optional name. Returns 0, or -1 with a reason in err[errlen]
 * (m unchanged). */
int domain_map_set(struct domain_map *m, enum domain_name n, const char *value, char *err,
                   size_t errlen);

/* Set the maximum level of one specialization ([levels] SPEC = N): the id is
 * upper-cased, 1–SPEC_ID_LEN of [A-Z0-9_]; N is 1..DOMAIN_LEVEL_LIMIT; an id given twice
 * is an error. Returns 0, or -1 with a reason in err[errlen]. */
int domain_map_set_level(struct domain_map *m, const char *spec, const char *value, char *err,
                         size_t errlen);
/* The maximum level [levels] gives spec, or 0 when it gives none. */
int domain_map_level(const struct domain_map *m, const char *spec);

#endif

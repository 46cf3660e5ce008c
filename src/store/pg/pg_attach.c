/* pg_attach.c — an attached PostgreSQL database (attach.md): Lockstep's own
 * schema beside the academy's tables, the check at open that every mapped
 * table and column exists, and what `lockstep doctor` reports about them.
 * Only reads the attached tables (catalog queries and counts). */
#include "store/attach_doctor.h"
#include "store/pg/pg_private.h"

#include "model/domain_map.h"
#include "util/buf.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first line of a libpq message. */
static void first_line(char *out, size_t len, const char *msg)
{
    snprintf(out, len, "%s", msg ? msg : "");
    out[strcspn(out, "\n")] = '\0';
}

/* Run a catalog query with text parameters: its result, or NULL with the
 * reason in err. */
static PGresult *query(struct pg_store *ps, const char *sql, int n, const char *const *v,
                       char *err, size_t errlen)
{
    PGresult *res = PQexecParams(ps->conn, sql, n, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
        return res;
    char msg[300];
    first_line(msg, sizeof msg, res ? PQresultErrorMessage(res) : PQerrorMessage(ps->conn));
    snprintf(err, errlen, "%s", msg);
    PQclear(res);
    return NULL;
}

/* The columns of one attached table: name, type, NOT NULL, has a default.
 * Zero rows: no such table. */
#define TABLE_COLUMNS                                                                    \
    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, "       \
    "a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', t.typcategory::text "   \
    "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = "       \
    "to_regclass(format('%I.%I', $1::text, $2::text)) AND a.attnum > 0 "                 \
    "AND NOT a.attisdropped ORDER BY a.attnum"

static int row_of(PGresult *r, const char *column)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (!strcmp(PQgetvalue(r, i, 0), column))
            return i;
    return -1;
}

/* The first column a repair needs beyond the mapped ones that table t lacks
 * (NULL: none): each row's id, and the columns of domain.md's progressions. */
static const char *repair_column_missing(PGresult *columns, int t)
{
    static const char *const row[] = {"id", NULL};
    static const char *const progression[] = {"user_license_id", "from_level", "to_level",
                                              "advanced_by", "advancement_reason",
                                              "advanced_at", NULL};
    const char *const *need = t == DOMAIN_PROGRESS_TABLE || t == DOMAIN_LICENSE_TABLE ? row
                              : t == DOMAIN_PROGRESSIONS_TABLE                         ? progression
                                                                                       : NULL;
    for (int i = 0; need && need[i]; i++)
        if (row_of(columns, need[i]) < 0)
            return need[i];
    return NULL;
}

int pg_attach_prepare(struct pg_store *ps, bool create, char *err, size_t errlen)
{
    const struct domain_map *m = &ps->domain;
    const char *v[2] = {NULL, NULL};
    char msg[300];
    PGresult *res = NULL;
    /* The mapping first: a wrong name creates nothing. */
    for (int t = 0; t < DOMAIN_NAME_COUNT; t++) {
        if (domain_name_table((enum domain_name)t) != -1 || !m->name[t][0])
            continue;
        v[0] = m->schema;
        v[1] = m->name[t];
        if (!(res = query(ps, TABLE_COLUMNS, 2, v, msg, sizeof msg))) {
            snprintf(err, errlen, "cannot read the attached table %s.%s: %s", m->schema,
                     m->name[t], msg);
            return STORE_ERR;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            snprintf(err, errlen, "[domain] %s: no table %s.%s in database %s",
                     domain_name_key((enum domain_name)t), m->schema, m->name[t], PQdb(ps->conn));
            return STORE_ERR;
        }
        for (int c = 0; c < DOMAIN_NAME_COUNT; c++) {
            if (domain_name_table((enum domain_name)c) != t || !m->name[c][0])
                continue;
            if (row_of(res, m->name[c]) < 0) {
                PQclear(res);
                snprintf(err, errlen, "[domain] %s: no column %s in table %s.%s",
                         domain_name_key((enum domain_name)c), m->name[c], m->schema,
                         m->name[t]);
                return STORE_ERR;
            }
        }
        const char *missing = m->repair ? repair_column_missing(res, t) : NULL;
        PQclear(res);
        if (missing) {
            snprintf(err, errlen, "[domain] repair = on: repairs need the column %s in table "
                     "%s.%s (%s)", missing, m->schema, m->name[t],
                     t == DOMAIN_PROGRESSIONS_TABLE ? "the columns of domain.md's "
                                                      "license_progressions"
                                                    : "rows are updated by their id");
            return STORE_ERR;
        }
    }
    v[0] = m->own_schema;
    v[1] = NULL;
    res = query(ps, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                          1, v, msg, sizeof msg);
    if (!res) {
        snprintf(err, errlen, "cannot look for Lockstep's schema: %s", msg);
        return STORE_ERR;
    }
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists && !create) {
        snprintf(err, errlen, "no Lockstep schema \"%s\" in database %s ([domain] "
                 "lockstep_schema; `lockstep migrate` creates it)", m->own_schema,
                 PQdb(ps->conn));
        return STORE_ERR_NO_STORE;
    }
    if (!exists) {
        v[0] = m->own_schema;
        /* The name is quoted by the server (format %I), then run as it is. */
        res = query(ps, "SELECT format('CREATE SCHEMA IF NOT EXISTS %I', $1::text)", 1, v, msg,
                    sizeof msg);
        PGresult *made = res ? query(ps, PQgetvalue(res, 0, 0), 0, NULL, msg, sizeof msg) : NULL;
        PQclear(res);
        if (!made) {
            snprintf(err, errlen, "cannot create Lockstep's schema \"%s\" ([domain] "
                     "lockstep_schema): %s", m->own_schema, msg);
            return STORE_ERR;
        }
        PQclear(made);
    }
    return 0;
}

/* ---- doctor ------------------------------------------------------------------------- */

/* The type categories a mapped column may have (pg_type.typcategory): N
 * numeric, S string, E enum, D date/time, B boolean. */
static const char *wanted_category(enum domain_name n)
{
    switch (n) {
    case DOMAIN_PROGRESS_USER:
    case DOMAIN_LICENSE_USER:
    case DOMAIN_USERS_ID:
    case DOMAIN_PROGRESS_LEVEL:
    case DOMAIN_LICENSE_LEVEL:
    case DOMAIN_LICENSE_MAX_LEVEL:
    case DOMAIN_SPECS_MAX_LEVELS:
        return "N";
    case DOMAIN_PROGRESS_SPEC:
    case DOMAIN_LICENSE_SPEC:
    case DOMAIN_USERS_EMAIL:
    case DOMAIN_USERS_NAME:
        return "SE";
    case DOMAIN_PROGRESS_UPDATED_AT:
    case DOMAIN_LICENSE_UPDATED_AT:
    case DOMAIN_LICENSE_STARTED_AT:
        return "D";
    default:
        return "";
    }
}

struct inspect {
    struct pg_store *ps;
    store_doctor_cb cb;
    void *ctx;
};

static void say(struct inspect *in, const char *name, int verdict, const char *fix,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void say(struct inspect *in, const char *name, int verdict, const char *fix,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    attach_doctor_vsay(in->cb, in->ctx, name, verdict, fix, fmt, ap);
    va_end(ap);
}

/* Column types, NOT NULL columns a repair would have to fill, and the
 * privileges, table by table. */
static void inspect_tables(struct inspect *in)
{
    struct pg_store *ps = in->ps;
    const struct domain_map *m = &ps->domain;
    struct buf bad_types = BUF_INIT(4096), unfilled = BUF_INIT(4096), denied = BUF_INIT(4096);
    int tables = 0, columns = 0;
    char msg[300];
    for (int t = 0; t < DOMAIN_NAME_COUNT; t++) {
        if (domain_name_table((enum domain_name)t) != -1 || !m->name[t][0])
            continue;
        const char *v[2] = {m->schema, m->name[t]};
        PGresult *res = query(ps, TABLE_COLUMNS, 2, v, msg, sizeof msg);
        if (!res || PQntuples(res) == 0) {
            say(in, "tables", 2, "create it, or map the key to the right table",
                "[domain] %s: no table %s.%s%s%s", domain_name_key((enum domain_name)t),
                m->schema, m->name[t], res ? "" : ": ", res ? "" : msg);
            PQclear(res);
            goto done;
        }
        tables++;
        for (int c = 0; c < DOMAIN_NAME_COUNT; c++) {
            if (domain_name_table((enum domain_name)c) != t || !m->name[c][0])
                continue;
            int r = row_of(res, m->name[c]);
            if (r < 0)
                continue; /* the open already failed naming it */
            columns++;
            const char *cat = PQgetvalue(res, r, 4);
            if (!strchr(wanted_category((enum domain_name)c), cat[0]))
                buf_printf(&bad_types, "%s%s.%s is %s", bad_types.len ? "; " : "",
                           m->name[t], m->name[c], PQgetvalue(res, r, 1));
        }
        bool written = t == DOMAIN_PROGRESS_TABLE || t == DOMAIN_LICENSE_TABLE ||
                       t == DOMAIN_PROGRESSIONS_TABLE;
        if (written && t != DOMAIN_PROGRESSIONS_TABLE) {
            for (int r = 0; r < PQntuples(res); r++) {
                const char *col = PQgetvalue(res, r, 0);
                if (PQgetvalue(res, r, 2)[0] == 't' && PQgetvalue(res, r, 3)[0] != 't' &&
                    !domain_map_maps_column(m, (enum domain_name)t, col))
                    buf_printf(&unfilled, "%s%s.%s", unfilled.len ? ", " : "", m->name[t], col);
            }
        }
        PQclear(res);
        const char *want = written && m->repair ? (t == DOMAIN_PROGRESSIONS_TABLE ? "SELECT, INSERT"
                                                                                 : "SELECT, INSERT, UPDATE")
                                                : "SELECT";
        const char *pv[3] = {m->schema, m->name[t], want};
        res = query(ps, "SELECT has_table_privilege(format('%I.%I', $1::text, $2::text), $3)", 3,
                    pv, msg, sizeof msg);
        if (!res || PQgetvalue(res, 0, 0)[0] != 't')
            buf_printf(&denied, "%s%s on %s.%s", denied.len ? "; " : "", want, m->schema,
                       m->name[t]);
        PQclear(res);
    }
    if (bad_types.len)
        say(in, "tables", 2, "map each key to a column of the kind attach.md describes",
            "%d tables, %d columns mapped; unusable types: %s", tables, columns,
            buf_str(&bad_types));
    else
        say(in, "tables", 0, NULL, "%d tables and %d columns mapped in schema %s, every type "
            "usable", tables, columns, m->schema);
    attach_doctor_not_null(in->cb, in->ctx, m, buf_str(&unfilled));
    if (denied.len)
        say(in, "privileges", 2, "GRANT them to the role Lockstep connects as (docs/attach.md)",
            "missing: %s", buf_str(&denied));
    else
        say(in, "privileges", 0, NULL, "%s on every mapped table",
            m->repair ? "reads, and writes of progress and licenses," : "reads (SELECT)");
done:
    buf_free(&bad_types);
    buf_free(&unfilled);
    buf_free(&denied);
}

/* Whether table t keeps a unique index on exactly its pair's two columns:
 * how many such indexes, or -1 on error. */
static int pair_key_indexes(struct pg_store *ps, int t, int user, int spec)
{
    const struct domain_map *m = &ps->domain;
    const char *v[4] = {m->schema, m->name[t], m->name[user], m->name[spec]};
    char msg[300];
    PGresult *res = query(
        ps,
        "SELECT count(*) FROM pg_index i WHERE i.indrelid = "
        "to_regclass(format('%I.%I', $1::text, $2::text)) AND i.indisunique AND i.indisvalid "
        "AND i.indpred IS NULL AND i.indexprs IS NULL AND NOT EXISTS (SELECT 1 FROM "
        "generate_series(0, i.indnkeyatts - 1) k WHERE i.indkey[k] NOT IN (SELECT a.attnum "
        "FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname IN ($3, $4)))",
        4, v, msg, sizeof msg);
    if (!res)
        return -1;
    int n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* The two tables of a pair and their key columns. */
static const struct {
    int table, user, spec;
} pair_tables[2] = {{DOMAIN_PROGRESS_TABLE, DOMAIN_PROGRESS_USER, DOMAIN_PROGRESS_SPEC},
                    {DOMAIN_LICENSE_TABLE, DOMAIN_LICENSE_USER, DOMAIN_LICENSE_SPEC}};

/* Whether each table of a pair keeps a unique index on the pair's key. */
static void inspect_pair_keys(struct inspect *in)
{
    const struct domain_map *m = &in->ps->domain;
    for (int i = 0; i < 2; i++) {
        int user = pair_tables[i].user, spec = pair_tables[i].spec;
        int n = pair_key_indexes(in->ps, pair_tables[i].table, user, spec);
        const char *t = m->name[pair_tables[i].table];
        if (n < 0)
            say(in, "pair_key", 2, NULL, "%s: the unique constraints cannot be read", t);
        else if (n == 0)
            say(in, "pair_key", 1, "add UNIQUE (%s, %s) to the table if the application allows",
                "%s has no unique constraint on (%s, %s): two rows of a pair are possible; each "
                "such pair is reported as duplicate_rows, and checks group the rows (slower)",
                t, m->name[user], m->name[spec]);
        else
            say(in, "pair_key", 0, NULL, "%s: unique on (%s, %s)%s", t, m->name[user],
                m->name[spec], n > 1 ? " (more than one identical constraint: harmless)" : "");
    }
}

/* The database's collation, which the bytewise merge of the scan ignores. */
static void inspect_collation(struct inspect *in)
{
    char msg[300];
    PGresult *res = query(in->ps, "SELECT datcollate FROM pg_database WHERE datname = "
                          "current_database()", 0, NULL, msg, sizeof msg);
    if (res && PQntuples(res) == 1)
        say(in, "collation", 0, NULL, "database collation %s; pairs are merged bytewise "
            "(COLLATE \"C\") whatever it is", PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* Rows: counts of the two tables (a full count: doctor is run by hand). */
static void inspect_rows(struct inspect *in)
{
    const struct domain_map *m = &in->ps->domain;
    char msg[300];
    long long counts[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        const char *v[2] = {m->schema, m->name[pair_tables[i].table]};
        PGresult *q = query(in->ps, "SELECT format('SELECT count(*) FROM %I.%I', $1::text, "
                            "$2::text)", 2, v, msg, sizeof msg);
        PGresult *c = q ? query(in->ps, PQgetvalue(q, 0, 0), 0, NULL, msg, sizeof msg) : NULL;
        if (c)
            counts[i] = atoll(PQgetvalue(c, 0, 0));
        PQclear(q);
        PQclear(c);
    }
    if (counts[0] < 0 || counts[1] < 0)
        say(in, "rows", 2, "GRANT SELECT on the tables (docs/attach.md)",
            "the progress and license rows cannot be counted: %s", msg);
    else
        attach_doctor_rows(in->cb, in->ctx, m, counts[0], counts[1],
                           "check the mapping and the database (or set [domain] allow_empty = "
                           "true if it is empty on purpose)");
}

/* Specialization ids: the longest each column that holds them has (a full
 * read: doctor is run by hand). */
static void inspect_spec_ids(struct inspect *in)
{
    const struct domain_map *m = &in->ps->domain;
    struct attach_spec_column col[3];
    memset(col, 0, sizeof col);
    const char *table[3] = {m->name[DOMAIN_PROGRESS_TABLE], m->name[DOMAIN_LICENSE_TABLE],
                            m->name[DOMAIN_SPECS_TABLE]};
    const char *column[3] = {m->name[DOMAIN_PROGRESS_SPEC], m->name[DOMAIN_LICENSE_SPEC], "id"};
    for (int i = 0; i < 3; i++) {
        snprintf(col[i].where, sizeof col[i].where, "%s.%s", table[i], column[i]);
        const char *v[3] = {m->schema, table[i], column[i]};
        PGresult *q = query(in->ps, "SELECT format('SELECT octet_length(%3$I::text), "
                            "left(%3$I::text, " SPEC_ID_LEN_TEXT ") FROM %1$I.%2$I ORDER BY 1 "
                            "DESC NULLS LAST LIMIT 1', $1::text, $2::text, $3::text)",
                            3, v, col[i].error, sizeof col[i].error);
        PGresult *r = q ? query(in->ps, PQgetvalue(q, 0, 0), 0, NULL, col[i].error,
                                sizeof col[i].error)
                        : NULL;
        if (!r) {
            col[i].longest = -1;
        } else if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
            col[i].longest = atoll(PQgetvalue(r, 0, 0));
            snprintf(col[i].example, sizeof col[i].example, "%s", PQgetvalue(r, 0, 1));
        }
        PQclear(q);
        PQclear(r);
    }
    attach_doctor_spec_ids(in->cb, in->ctx, col, 3);
}

/* Levels: every specialization of the table has a known maximum. */
static void inspect_levels(struct inspect *in)
{
    const struct domain_map *m = &in->ps->domain;
    if (m->name[DOMAIN_SPECS_MAX_LEVELS][0]) {
        attach_doctor_levels(in->cb, in->ctx, m, 0, "");
        return;
    }
    char msg[300];
    const char *v[2] = {m->schema, m->name[DOMAIN_SPECS_TABLE]};
    PGresult *q = query(in->ps, "SELECT format('SELECT id::text FROM %I.%I ORDER BY 1', "
                        "$1::text, $2::text)", 2, v, msg, sizeof msg);
    PGresult *r = q ? query(in->ps, PQgetvalue(q, 0, 0), 0, NULL, msg, sizeof msg) : NULL;
    PQclear(q);
    struct buf missing = BUF_INIT(4096);
    for (int i = 0; r && i < PQntuples(r); i++) {
        char up[SPEC_ID_MAX] = ""; /* an id too long for [levels] stays "": missing */
        if (PQgetlength(r, i, 0) <= SPEC_ID_LEN)
            snprintf(up, sizeof up, "%s", PQgetvalue(r, i, 0));
        for (char *c = up; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        if (!up[0] || !domain_map_level(m, up))
            buf_printf(&missing, "%s%s", missing.len ? ", " : "", PQgetvalue(r, i, 0));
    }
    if (!r)
        say(in, "levels", 2, "GRANT SELECT on it", "%s cannot be read: %s",
            m->name[DOMAIN_SPECS_TABLE], msg);
    else
        attach_doctor_levels(in->cb, in->ctx, m, PQntuples(r), buf_str(&missing));
    PQclear(r);
    buf_free(&missing);
}

int pg_attached_inspect(struct store *s, store_doctor_cb cb, void *ctx)
{
    struct pg_store *ps = PS(s);
    const struct domain_map *m = &ps->domain;
    struct inspect in = {.ps = ps, .cb = cb, .ctx = ctx};
    if (!ps->attached)
        return 0;
    say(&in, "attached", 0, NULL, "the domain tables are %s's (schema %s), Lockstep's own in "
        "schema %s", PQdb(ps->conn), m->schema, m->own_schema);
    inspect_tables(&in);
    inspect_pair_keys(&in);
    inspect_collation(&in);
    inspect_rows(&in);
    inspect_spec_ids(&in);
    inspect_levels(&in);
    if (m->repair)
        say(&in, "repair", 1, NULL, "repairs are on: sync and the level endpoints write the "
            "mapped columns of %s and %s", m->name[DOMAIN_PROGRESS_TABLE],
            m->name[DOMAIN_LICENSE_TABLE]);
    else
        say(&in, "repair", 0, NULL, "repairs are off: Lockstep only reads the attached "
            "tables; sync answers \"%s\"", STORE_REPAIR_OFF);
    return 0;
}

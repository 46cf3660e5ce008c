/* sqlite_attach.c — an attached SQLite academy file (attach.md): Lockstep's
 * own tables stay in its store file, the academy's database is attached to
 * each connection as "academy" (read-only unless repairs are on), the mapped
 * tables and columns are checked when the store opens, and `lockstep doctor`
 * is told what holds. Only reads the attached file (its schema, counts). */
#include "store/attach_doctor.h"
#include "store/sqlite/sqlite_private.h"

#include "model/domain_map.h"
#include "util/buf.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* The file: URI of path (characters URIs give a meaning escaped). */
static int uri_of(const char *path, bool writable, char *out, size_t len)
{
    struct buf b = BUF_INIT(len);
    int rc = buf_puts(&b, "file:");
    for (const char *c = path; rc == 0 && *c; c++) {
        if (*c == '%' || *c == '?' || *c == '#')
            rc = buf_printf(&b, "%%%02X", (unsigned char)*c);
        else
            rc = buf_append(&b, c, 1);
    }
    if (rc == 0)
        rc = buf_puts(&b, writable ? "?mode=rw" : "?mode=ro");
    if (rc == 0 && b.len < len)
        memcpy(out, buf_str(&b), b.len + 1);
    else
        rc = -1;
    buf_free(&b);
    return rc;
}

/* The names of the columns of academy table `table` into cols (one per row
 * of a NULL-terminated list built by the caller's statement). */
static sqlite3_stmt *columns_of(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk "
                               "FROM pragma_table_info(?1, '" SQ_ACADEMY "')",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    return st;
}

/* Whether table `table` has column `col` (rows of columns_of: step through). */
static int has_column(sqlite3 *db, const char *table, const char *col, bool *table_found)
{
    sqlite3_stmt *st = columns_of(db, table);
    if (!st)
        return -1;
    bool found = false;
    *table_found = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        *table_found = true;
        if (col && !strcmp((const char *)sqlite3_column_text(st, 0), col))
            found = true;
    }
    sqlite3_finalize(st);
    return found;
}

int sq_attach_academy(struct sqlite_store *ss, sqlite3 *db, char *err, size_t errlen)
{
    const struct domain_map *m = &ss->domain;
    char spare[300];
    if (!err) {
        err = spare;
        errlen = sizeof spare;
    }
    struct stat st;
    if (stat(m->database, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        snprintf(err, errlen, "[domain] database: %s is not the academy's database file (%s)",
                 m->database,
                 errno == ENOENT ? "no such file" : st.st_size == 0 ? "empty" : strerror(errno));
        return STORE_ERR;
    }
    char uri[STORE_PATH_MAX * 3 + 32];
    if (uri_of(m->database, m->repair, uri, sizeof uri) != 0) {
        snprintf(err, errlen, "[domain] database: the path is too long");
        return STORE_ERR;
    }
    sqlite3_stmt *at = NULL;
    int rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS " SQ_ACADEMY, -1, &at, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(at, 1, uri, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(at);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(at);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot attach the academy's database %s: %s", m->database,
                 sqlite3_errmsg(db));
        return STORE_ERR;
    }
    if (err == spare)
        return 0;
    for (int t = 0; t < DOMAIN_NAME_COUNT; t++) {
        if (domain_name_table((enum domain_name)t) != -1 || !m->name[t][0])
            continue;
        bool table = false;
        if (has_column(db, m->name[t], NULL, &table) < 0 || !table) {
            snprintf(err, errlen, "[domain] %s: no table %s in %s",
                     domain_name_key((enum domain_name)t), m->name[t], m->database);
            return STORE_ERR;
        }
        for (int c = 0; c < DOMAIN_NAME_COUNT; c++) {
            if (domain_name_table((enum domain_name)c) != t || !m->name[c][0])
                continue;
            if (has_column(db, m->name[t], m->name[c], &table) <= 0) {
                snprintf(err, errlen, "[domain] %s: no column %s in table %s of %s",
                         domain_name_key((enum domain_name)c), m->name[c], m->name[t],
                         m->database);
                return STORE_ERR;
            }
        }
        bool row_table = t == DOMAIN_PROGRESS_TABLE || t == DOMAIN_LICENSE_TABLE;
        if (m->repair && row_table && has_column(db, m->name[t], "id", &table) <= 0) {
            snprintf(err, errlen, "[domain] repair = on: repairs need the column id in table "
                     "%s of %s (rows are updated by their id)", m->name[t], m->database);
            return STORE_ERR;
        }
    }
    return 0;
}

/* ---- doctor ------------------------------------------------------------------------- */

/* How many unique indexes of academy table `table` have exactly the two key
 * columns (in any order), or -1. */
static int pair_key_indexes(sqlite3 *db, const char *table, const char *user, const char *spec)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db,
        "SELECT count(*) FROM pragma_index_list(?1, '" SQ_ACADEMY "') il WHERE il.\"unique\" "
        "AND il.partial = 0 AND (SELECT count(*) FROM pragma_index_info(il.name, '" SQ_ACADEMY
        "')) = 2 AND NOT EXISTS (SELECT 1 FROM pragma_index_info(il.name, '" SQ_ACADEMY "') ii "
        "WHERE ii.name IS NULL OR ii.name NOT IN (?2, ?3))",
        -1, &st, NULL);
    int n = -1;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, spec, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

/* count(*) of an academy table (the name quoted), or -1. */
static long long count_rows(sqlite3 *db, const char *table)
{
    char *sql = sqlite3_mprintf("SELECT count(*) FROM " SQ_ACADEMY ".\"%w\"", table);
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return n;
}

/* The longest specialization id of an academy table's column into col. */
static void longest_spec(sqlite3 *db, const char *table, const char *column,
                         struct attach_spec_column *col)
{
    snprintf(col->where, sizeof col->where, "%s.%s", table, column);
    char *sql = sqlite3_mprintf("SELECT length(CAST(\"%w\" AS BLOB)), substr(CAST(\"%w\" AS "
                                "BLOB), 1, " SPEC_ID_LEN_TEXT ") FROM " SQ_ACADEMY ".\"%w\" "
                                "ORDER BY 1 DESC LIMIT 1", column, column, table);
    sqlite3_stmt *st = NULL;
    int rc = sql ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        col->longest = sqlite3_column_int64(st, 0);
        snprintf(col->example, sizeof col->example, "%.*s", sqlite3_column_bytes(st, 1),
                 sqlite3_column_blob(st, 1) ? (const char *)sqlite3_column_blob(st, 1) : "");
    } else if (rc != SQLITE_DONE) {
        col->longest = -1;
        snprintf(col->error, sizeof col->error, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
}

/* NOT NULL columns without a default (and not the rowid) of the progress and
 * license tables that a repair inserting a row would leave unfilled. */
static void inspect_not_null(struct sqlite_store *ss, store_doctor_cb cb, void *ctx)
{
    const struct domain_map *m = &ss->domain;
    struct buf unfilled = BUF_INIT(4096);
    static const int tables[] = {DOMAIN_PROGRESS_TABLE, DOMAIN_LICENSE_TABLE};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        int t = tables[i];
        sqlite3_stmt *st = columns_of(ss->db, m->name[t]);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            const char *col = (const char *)sqlite3_column_text(st, 0);
            const char *type = (const char *)sqlite3_column_text(st, 1);
            bool rowid = sqlite3_column_int(st, 4) > 0 && type && !strcasecmp(type, "INTEGER");
            if (col && sqlite3_column_int(st, 2) && !sqlite3_column_int(st, 3) && !rowid &&
                !domain_map_maps_column(m, (enum domain_name)t, col))
                buf_printf(&unfilled, "%s%s.%s", unfilled.len ? ", " : "", m->name[t], col);
        }
        sqlite3_finalize(st);
    }
    attach_doctor_not_null(cb, ctx, m, buf_str(&unfilled));
    buf_free(&unfilled);
}

int sq_attached_inspect(struct store *s, store_doctor_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    const struct domain_map *m = &ss->domain;
    if (!ss->attached)
        return 0;
    attach_doctor_say(cb, ctx, "attached", 0, NULL, "the domain tables are those of %s "
                      "(attached %s), Lockstep's own in %s", m->database,
                      m->repair ? "read-write" : "read-only", ss->path);
    int tables = 0, columns = 0;
    for (int t = 0; t < DOMAIN_NAME_COUNT; t++) {
        if (domain_name_table((enum domain_name)t) != -1 || !m->name[t][0])
            continue;
        tables++;
        for (int c = 0; c < DOMAIN_NAME_COUNT; c++)
            columns += domain_name_table((enum domain_name)c) == t && m->name[c][0];
    }
    attach_doctor_say(cb, ctx, "tables", 0, NULL, "%d tables and %d columns mapped in %s", tables,
                      columns, m->database);
    inspect_not_null(ss, cb, ctx);
    static const struct {
        int table, user, spec;
    } keys[2] = {{DOMAIN_PROGRESS_TABLE, DOMAIN_PROGRESS_USER, DOMAIN_PROGRESS_SPEC},
                 {DOMAIN_LICENSE_TABLE, DOMAIN_LICENSE_USER, DOMAIN_LICENSE_SPEC}};
    long long counts[2];
    struct attach_spec_column spec_ids[3];
    memset(spec_ids, 0, sizeof spec_ids);
    for (int i = 0; i < 2; i++) {
        const char *t = m->name[keys[i].table];
        int n = pair_key_indexes(ss->db, t, m->name[keys[i].user], m->name[keys[i].spec]);
        if (n < 0)
            attach_doctor_say(cb, ctx, "pair_key", 2, NULL,
                              "%s: the unique indexes cannot be read: %s", t,
                              sqlite3_errmsg(ss->db));
        else if (n == 0)
            attach_doctor_say(cb, ctx, "pair_key", 1, "add UNIQUE (user, specialization) if the "
                              "application allows", "%s has no unique index on (%s, %s): pairs "
                              "with two rows are reported as duplicate_rows", t,
                              m->name[keys[i].user], m->name[keys[i].spec]);
        else
            attach_doctor_say(cb, ctx, "pair_key", 0, NULL, "%s: unique on (%s, %s)", t,
                              m->name[keys[i].user], m->name[keys[i].spec]);
        counts[i] = count_rows(ss->db, t);
        longest_spec(ss->db, t, m->name[keys[i].spec], &spec_ids[i]);
    }
    attach_doctor_say(cb, ctx, "collation", 0, NULL, "pairs are merged bytewise (COLLATE BINARY) "
                      "whatever the columns declare");
    if (counts[0] < 0 || counts[1] < 0)
        attach_doctor_say(cb, ctx, "rows", 2, "check the file's permissions",
                          "the rows cannot be counted: %s", sqlite3_errmsg(ss->db));
    else
        attach_doctor_rows(cb, ctx, m, counts[0], counts[1],
                           "check [domain] database and the mapping (or set allow_empty = true "
                           "if it is empty on purpose)");
    longest_spec(ss->db, m->name[DOMAIN_SPECS_TABLE], "id", &spec_ids[2]);
    attach_doctor_spec_ids(cb, ctx, spec_ids, 3);
    if (m->name[DOMAIN_SPECS_MAX_LEVELS][0]) {
        attach_doctor_levels(cb, ctx, m, 0, "");
    } else {
        char *sql = sqlite3_mprintf("SELECT id FROM " SQ_ACADEMY ".\"%w\" ORDER BY 1",
                                    m->name[DOMAIN_SPECS_TABLE]);
        sqlite3_stmt *st = NULL;
        struct buf missing = BUF_INIT(4096);
        int n = 0;
        bool ok = sql && sqlite3_prepare_v2(ss->db, sql, -1, &st, NULL) == SQLITE_OK;
        while (ok && sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            char up[SPEC_ID_MAX] = ""; /* an id too long for [levels] stays "": missing */
            if (id && sqlite3_column_bytes(st, 0) <= SPEC_ID_LEN)
                snprintf(up, sizeof up, "%s", id);
            for (char *c = up; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
            n++;
            if (!up[0] || !domain_map_level(m, up))
                buf_printf(&missing, "%s%s", missing.len ? ", " : "", up[0] ? up : id ? id : "NULL");
        }
        sqlite3_finalize(st);
        sqlite3_free(sql);
        if (!ok)
            attach_doctor_say(cb, ctx, "levels", 2, NULL, "%s cannot be read: %s",
                              m->name[DOMAIN_SPECS_TABLE], sqlite3_errmsg(ss->db));
        else
            attach_doctor_levels(cb, ctx, m, n, buf_str(&missing));
        buf_free(&missing);
    }
    if (m->repair)
        attach_doctor_say(cb, ctx, "repair", 1, NULL, "repairs are on: sync and the level "
                          "endpoint write the mapped columns of %s and %s",
                          m->name[DOMAIN_PROGRESS_TABLE], m->name[DOMAIN_LICENSE_TABLE]);
    else
        attach_doctor_say(cb, ctx, "repair", 0, NULL, "repairs are off: the academy's file is "
                          "attached read-only; sync answers \"%s\"", STORE_REPAIR_OFF);
    return 0;
}

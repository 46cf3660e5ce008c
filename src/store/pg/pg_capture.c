/* pg_capture.c — the capture triggers of watch.md (`lockstep watch
 * install|uninstall [--print]`): on an attached PostgreSQL database made from
 * the domain map, in own mode migration 14's put back; installed and removed
 * in one transaction, and looked for; and the updated_at indexes poll mode
 * reads through. */
#include "store/domain_sql.h"
#include "store/pg/pg_private.h"
#include "store/pg/pg_schema.h"
#include "util/buf.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANGED_AT "date_part('epoch', clock_timestamp())"
#define APPEND(user, spec, delta)                                                              \
    "INSERT INTO {lockstep_schema}.pair_changes(user_id, specialization, delta, changed_at) "  \
    "VALUES (" user ", " spec ", " delta ", " CHANGED_AT ");"

/* One side's function and its three triggers (the same shape as migration
 * 14's in own mode). */
#define SIDE(prefix, table, user, spec, level)                                                 \
    "CREATE FUNCTION {lockstep_schema}." prefix "_changed() RETURNS trigger LANGUAGE plpgsql "  \
    "AS $lockstep$ BEGIN"                                                                      \
    " IF TG_OP = 'INSERT' THEN " APPEND("NEW.{" user "}", "NEW.{" spec "}", "1")               \
    " ELSIF TG_OP = 'DELETE' THEN " APPEND("OLD.{" user "}", "OLD.{" spec "}", "-1")           \
    " ELSIF OLD.{" user "} IS DISTINCT FROM NEW.{" user "} OR OLD.{" spec "} IS DISTINCT FROM " \
    "NEW.{" spec "} THEN " APPEND("OLD.{" user "}", "OLD.{" spec "}", "-1")                    \
    " " APPEND("NEW.{" user "}", "NEW.{" spec "}", "1")                                        \
    " ELSE " APPEND("NEW.{" user "}", "NEW.{" spec "}", "0")                                   \
    " END IF; PERFORM pg_notify('lockstep_pair_changes', ''); RETURN NULL; END $lockstep$;\n"  \
    "CREATE TRIGGER " prefix "_insert AFTER INSERT ON {" table "} FOR EACH ROW "               \
    "EXECUTE FUNCTION {lockstep_schema}." prefix "_changed();\n"                               \
    "CREATE TRIGGER " prefix "_delete AFTER DELETE ON {" table "} FOR EACH ROW "               \
    "EXECUTE FUNCTION {lockstep_schema}." prefix "_changed();\n"                               \
    "CREATE TRIGGER " prefix "_update AFTER UPDATE OF {" user "}, {" spec "}, {" level "} "    \
    "ON {" table "} FOR EACH ROW WHEN (OLD.{" user "} IS DISTINCT FROM NEW.{" user "} "        \
    "OR OLD.{" spec "} IS DISTINCT FROM NEW.{" spec "} OR OLD.{" level "} IS DISTINCT FROM "   \
    "NEW.{" level "}) EXECUTE FUNCTION {lockstep_schema}." prefix "_changed();\n"

static const char install_tmpl[] =
    "BEGIN;\n" SIDE("lockstep_progress", "progress_table", "progress_user", "progress_spec",
                    "progress_level")
        SIDE("lockstep_license", "license_table", "license_user", "license_spec", "license_level")
    /* Only a full sweep can tell what a changed track did to its pairs. */
    "CREATE FUNCTION {lockstep_schema}.lockstep_specs_changed() RETURNS trigger "
    "LANGUAGE plpgsql AS $lockstep$ BEGIN UPDATE {lockstep_schema}.watch_state "
    "SET sweep_requested = TRUE WHERE id = 1; PERFORM pg_notify('lockstep_pair_changes', ''); "
    "RETURN NULL; END $lockstep$;\n"
    "CREATE TRIGGER lockstep_specs_changed AFTER INSERT OR UPDATE OR DELETE ON {specs_table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION {lockstep_schema}.lockstep_specs_changed();\n"
    "COMMIT;";

static const char uninstall_tmpl[] =
    "BEGIN;\n"
    "DROP TRIGGER IF EXISTS lockstep_progress_insert ON {progress_table};\n"
    "DROP TRIGGER IF EXISTS lockstep_progress_delete ON {progress_table};\n"
    "DROP TRIGGER IF EXISTS lockstep_progress_update ON {progress_table};\n"
    "DROP TRIGGER IF EXISTS lockstep_license_insert ON {license_table};\n"
    "DROP TRIGGER IF EXISTS lockstep_license_delete ON {license_table};\n"
    "DROP TRIGGER IF EXISTS lockstep_license_update ON {license_table};\n"
    "DROP TRIGGER IF EXISTS lockstep_specs_changed ON {specs_table};\n"
    "DROP FUNCTION IF EXISTS {lockstep_schema}.lockstep_progress_changed();\n"
    "DROP FUNCTION IF EXISTS {lockstep_schema}.lockstep_license_changed();\n"
    "DROP FUNCTION IF EXISTS {lockstep_schema}.lockstep_specs_changed();\n"
    "COMMIT;";

/* Own mode: migration 14's triggers (its domain part), dropped first so
 * that install puts back what is missing or disabled, as SQLite's does. */
#define OWN_UNINSTALL                                                                          \
    "DROP TRIGGER IF EXISTS lockstep_progress_insert ON specialization_progress;\n"           \
    "DROP TRIGGER IF EXISTS lockstep_progress_delete ON specialization_progress;\n"           \
    "DROP TRIGGER IF EXISTS lockstep_progress_update ON specialization_progress;\n"           \
    "DROP TRIGGER IF EXISTS lockstep_license_insert ON user_licenses;\n"                      \
    "DROP TRIGGER IF EXISTS lockstep_license_delete ON user_licenses;\n"                      \
    "DROP TRIGGER IF EXISTS lockstep_license_update ON user_licenses;\n"                      \
    "DROP TRIGGER IF EXISTS lockstep_specs_insert ON specializations;\n"                      \
    "DROP TRIGGER IF EXISTS lockstep_specs_update ON specializations;\n"                      \
    "DROP TRIGGER IF EXISTS lockstep_specs_delete ON specializations;\n"                      \
    "DROP FUNCTION IF EXISTS lockstep_progress_changed();\n"                                  \
    "DROP FUNCTION IF EXISTS lockstep_license_changed();\n"                                   \
    "DROP FUNCTION IF EXISTS lockstep_specs_changed();\n"

/* The own-mode SQL into *sql (malloc'd). */
static int own_capture(struct store *s, bool install, char **sql)
{
    const struct store_migration *m = &pg_migrations[13];
    if (m->version != 14 || !m->domain_sql)
        return store_fail(s, STORE_ERR, "the capture triggers' migration is not where expected");
    size_t n = strlen(OWN_UNINSTALL) + (install ? strlen(m->domain_sql) : 0) + 80;
    if (!(*sql = malloc(n)))
        return store_fail(s, STORE_ERR_NOMEM, "out of memory");
    snprintf(*sql, n, "BEGIN;\nSET LOCAL client_min_messages = warning;\n%s%s\nCOMMIT;",
             OWN_UNINSTALL, install ? m->domain_sql : "");
    return 0;
}

int pg_watch_capture(struct store *s, bool install, bool apply, char **sql)
{
    struct pg_store *ps = PS(s);
    *sql = NULL;
    char err[256];
    if (!ps->attached) {
        int rc = own_capture(s, install, sql);
        if (rc)
            return rc;
    } else if (!(*sql = domain_sql_expand(&ps->domain, ps->domain.schema,
                                          install ? install_tmpl : uninstall_tmpl, err,
                                          sizeof err))) {
        return store_fail(s, STORE_ERR, "%s", err);
    }
    if (!apply)
        return 0;
    int rc = pg_command(ps, *sql, install ? "install the capture triggers"
                                          : "remove the capture triggers");
    if (rc && PQtransactionStatus(ps->conn) != PQTRANS_IDLE)
        (void)pg_command(ps, "ROLLBACK", "roll back");
    return rc;
}

int pg_watch_capture_installed(struct store *s, bool *installed)
{
    struct pg_store *ps = PS(s);
    *installed = false;
    char err[256];
    char *tables = domain_sql_expand(&ps->domain, ps->attached ? ps->domain.schema : NULL,
                                     "{progress_table}\n{license_table}", err, sizeof err);
    if (!tables)
        return store_fail(s, STORE_ERR, "%s", err);
    char *nl = strchr(tables, '\n');
    *nl = '\0';
    const char *vals[2] = {tables, nl + 1};
    int rc = pg_ensure(ps, "look for the capture triggers");
    if (rc) {
        free(tables);
        return rc;
    }
    PGresult *res = PQexecParams(
        ps->conn,
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname IN "
        "('lockstep_progress_insert', 'lockstep_progress_delete', 'lockstep_progress_update', "
        "'lockstep_license_insert', 'lockstep_license_delete', 'lockstep_license_update') "
        "AND tgenabled <> 'D' AND tgrelid IN (to_regclass($1), to_regclass($2))",
        2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        *installed = atoi(PQgetvalue(res, 0, 0)) == 6;
    else
        rc = store_fail(s, STORE_ERR, "look for the capture triggers: %s",
                        PQresultErrorMessage(res));
    PQclear(res);
    free(tables);
    return rc;
}

int pg_watch_poll_indexed(struct store *s, bool indexed[2])
{
    struct pg_store *ps = PS(s);
    indexed[0] = indexed[1] = false;
    char err[256];
    char *tables = domain_sql_expand(&ps->domain, ps->attached ? ps->domain.schema : NULL,
                                     "{progress_table}\n{license_table}", err, sizeof err);
    if (!tables)
        return store_fail(s, STORE_ERR, "%s", err);
    char *nl = strchr(tables, '\n');
    *nl = '\0';
    const char *vals[4] = {tables, ps->domain.name[DOMAIN_PROGRESS_UPDATED_AT], nl + 1,
                           ps->domain.name[DOMAIN_LICENSE_UPDATED_AT]};
    int rc = pg_ensure(ps, "look for the updated_at indexes");
    if (rc) {
        free(tables);
        return rc;
    }
    /* A valid index, not partial, whose first key is the column (an index
     * led by an expression has 0 there and matches no column). */
    PGresult *res = PQexecParams(
        ps->conn,
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($1) AND a.attname = $2 "
        "AND i.indisvalid AND i.indpred IS NULL), "
        "EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($3) AND a.attname = $4 "
        "AND i.indisvalid AND i.indpred IS NULL)",
        4, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        indexed[0] = PQgetvalue(res, 0, 0)[0] == 't';
        indexed[1] = PQgetvalue(res, 0, 1)[0] == 't';
    } else {
        rc = store_fail(s, STORE_ERR, "look for the updated_at indexes: %s",
                        PQresultErrorMessage(res));
    }
    PQclear(res);
    free(tables);
    return rc;
}

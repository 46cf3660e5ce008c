/* domain_sql.h — the statements over the domain tables are written as
 * templates (store/statements.h, or a backend's own table) that name each
 * mapped table and column by its key in braces ("SELECT {progress_user} FROM
 * {progress_table}"); a store makes its SQL from them and its domain_map when
 * it opens. Private to the backends. */
#ifndef LOCKSTEP_STORE_DOMAIN_SQL_H
#define LOCKSTEP_STORE_DOMAIN_SQL_H

#include "model/domain_map.h"

#include <stddef.h>

/* The SQL of `tmpl` for the tables of `m`: each {key} of domain_map becomes
 * that name as a quoted identifier ("name", a quote inside doubled); the
 * *_table names are qualified as "qualifier"."name" when qualifier is not NULL
 * (a PostgreSQL schema, an attached SQLite database). A conditional
 * {?key|text} is text (its tokens made) when the map gives key a name, and
 * nothing when it leaves key empty; {!key|text} the other way round (an
 * optional column: "{?progress_updated_at|, {progress_updated_at} = $9}").
 * {lockstep_schema} is Lockstep's own schema (own_schema), quoted. Text
 * outside tokens is copied as it is. Returns the SQL (malloc'd; the caller frees it), or NULL
 * with a reason in err[errlen]: a token that is no key, an optional name the
 * map leaves empty, out of memory. */
char *domain_sql_expand(const struct domain_map *m, const char *qualifier, const char *tmpl,
                        char *err, size_t errlen);

#endif

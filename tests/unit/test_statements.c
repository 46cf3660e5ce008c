/* test_statements.c — the statements both stores share (store/statements.h):
 * their ?N parameters become PostgreSQL's $N, and nothing else does. */
#include "model/domain_map.h"
#include "store/domain_sql.h"
#include "store/statements.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void numbered_parameters_become_dollar_parameters(void **state)
{
    (void)state;
    char text[] = "INSERT INTO t(a, b) VALUES (?1, ?2, ?11) WHERE x = ?1";
    statements_dollar_params(text);
    assert_string_equal(text, "INSERT INTO t(a, b) VALUES ($1, $2, $11) WHERE x = $1");
}

static void quoted_text_is_left_alone(void **state)
{
    (void)state;
    char text[] = "SELECT '?1', 'it''s ?2', \"col\"\"?3\", ?4, \"?5\"";
    statements_dollar_params(text);
    assert_string_equal(text, "SELECT '?1', 'it''s ?2', \"col\"\"?3\", $4, \"?5\"");
}

static void question_mark_operators_are_left_alone(void **state)
{
    (void)state;
    char text[] = "SELECT d ? 'k', d ?| array['a'], d ?& array['b'], {?key|x} WHERE id = ?1?";
    statements_dollar_params(text);
    assert_string_equal(text,
                        "SELECT d ? 'k', d ?| array['a'], d ?& array['b'], {?key|x} WHERE id = $1?");
}

/* The PostgreSQL store rewrites a statement once it is made for its tables:
 * a mapped name that holds "?1" keeps it (it is a quoted identifier), the
 * parameters of an optional column's conditional are rewritten too. */
static void a_made_statement_keeps_its_mapped_names(void **state)
{
    (void)state;
    struct domain_map m;
    domain_map_own(&m);
    char err[128];
    assert_int_equal(domain_map_set(&m, DOMAIN_PROGRESS_TABLE, "progress ?1", err, sizeof err), 0);
    char *sql = domain_sql_expand(&m, NULL, STMT_PROGRESS_UPDATE_ATTACHED, err, sizeof err);
    assert_non_null(sql);
    statements_dollar_params(sql);
    assert_non_null(strstr(sql, "UPDATE \"progress ?1\" SET "));
    assert_non_null(strstr(sql, " = $2, "));
    assert_non_null(strstr(sql, " = $9 WHERE id = $1"));
    assert_null(strstr(sql, "?2"));
    free(sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbered_parameters_become_dollar_parameters),
        cmocka_unit_test(quoted_text_is_left_alone),
        cmocka_unit_test(question_mark_operators_are_left_alone),
        cmocka_unit_test(a_made_statement_keeps_its_mapped_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

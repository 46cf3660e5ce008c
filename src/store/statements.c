/* statements.c — the one piece of code behind the shared statements
 * (statements.h): their ?N parameters made PostgreSQL's $N. */
#include "store/statements.h"

void statements_dollar_params(char *text)
{
    char quote = 0; /* the quote character of the string or identifier we are in */
    for (char *c = text; *c; c++) {
        if (quote) {
            /* A doubled quote inside reads as leaving and entering again. */
            if (*c == quote)
                quote = 0;
        } else if (*c == '\'' || *c == '"') {
            quote = *c;
        } else if (*c == '?' && c[1] >= '0' && c[1] <= '9') {
            *c = '$';
        }
    }
}

/* audit.c — writing audit rows. */
#include "service/audit.h"

int audit_record(struct store *s, const struct audit_entry *a)
{
    return s->ops->audit_insert(s, a);
}

/* role.c — the roles of an account and their order. */
#include "model/role.h"

#include <stddef.h>
#include <string.h>

/* In rank order: a role's rank is its index + 1. */
static const char *const roles[] = {"student", "instructor", "admin"};

int role_rank(const char *role)
{
    for (size_t i = 0; role && i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(role, roles[i]))
            return (int)i + 1;
    return 0;
}

bool role_valid(const char *role)
{
    return role_rank(role) > 0;
}

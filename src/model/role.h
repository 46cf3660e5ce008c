/* role.h — the roles of an account (domain.md, "Users"): student, instructor,
 * admin, each with the rights of the ones before it. */
#ifndef LOCKSTEP_ROLE_H
#define LOCKSTEP_ROLE_H

#include <stdbool.h>

/* The rank of a role: student 1, instructor 2, admin 3 (0 unknown); a role
 * has the rights of every role of lower rank. */
int role_rank(const char *role);
/* True for the three roles. */
bool role_valid(const char *role);

#endif

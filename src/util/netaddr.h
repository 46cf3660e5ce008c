/* netaddr.h — IP addresses and CIDR lists: parse, match, format (IPv4 is kept
 * as its IPv4-mapped IPv6 form, so one comparison serves both families). */
#ifndef LOCKSTEP_NETADDR_H
#define LOCKSTEP_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NETADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

struct netaddr {
    unsigned char bytes[16]; /* IPv6, or ::ffff:a.b.c.d for IPv4 */
};

/* Parse `len` bytes of `text` (an IPv4 or IPv6 address, nothing else).
 * Returns 0 or -1. */
int netaddr_parse(const char *text, size_t len, struct netaddr *out);
/* The address of a socket address (AF_INET or AF_INET6). Returns 0 or -1. */
int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);
/* The text of an address into out[NETADDR_TEXT_MAX]: dotted quad for IPv4. */
void netaddr_format(const struct netaddr *a, char out[NETADDR_TEXT_MAX]);
/* Check a list of addresses and CIDR blocks separated by commas or spaces
 * ("10.0.0.0/8, ::1"; "" is an empty list). Returns 0, or -1 with err naming
 * the first bad entry. */
int netaddr_list_check(const char *list, char *err, size_t errlen);
/* Whether `a` is in a list that netaddr_list_check accepts (bad entries never match). */
bool netaddr_list_contains(const char *list, const struct netaddr *a);

#endif

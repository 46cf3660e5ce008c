/* client_addr.h — the client address of a request: the socket's peer, or,
 * behind a trusted proxy, the right-most untrusted X-Forwarded-For entry. */
#ifndef LOCKSTEP_CLIENT_ADDR_H
#define LOCKSTEP_CLIENT_ADDR_H

#include <stddef.h>
#include <ulfius.h>

/* The client address of `u` as text into out[len] ("unknown" when the socket
 * has no IP address). Only when the peer is in `trusted_proxies` (a list that
 * netaddr_list_check accepts) is X-Forwarded-For read: from its right end,
 * trusted entries are skipped and the first untrusted one is the client (if
 * every entry is trusted, the left-most; an entry that is not an address ends
 * the walk at the hop that wrote it). */
void client_addr_of(const struct _u_request *u, const char *trusted_proxies, char *out,
                    size_t len);

#endif

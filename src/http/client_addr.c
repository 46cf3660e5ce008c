/* client_addr.c — which address a request comes from (the throttle and the
 * audit rows key on it): X-Forwarded-For is believed only from trusted proxies. */
#include "http/client_addr.h"

#include "util/netaddr.h"

#include <stdio.h>
#include <string.h>

#define FORWARDED_HOPS_MAX 64

void client_addr_of(const struct _u_request *u, const char *trusted_proxies, char *out,
                    size_t len)
{
    struct netaddr client;
    if (netaddr_from_sockaddr(u->client_address, &client) != 0) {
        snprintf(out, len, "unknown");
        return;
    }
    const char *xff = NULL;
    if (trusted_proxies && trusted_proxies[0] &&
        netaddr_list_contains(trusted_proxies, &client))
        xff = u_map_get_case(u->map_header, "X-Forwarded-For");
    if (xff) {
        /* Right to left: each entry was written by the hop to its right. */
        const char *end = xff + strlen(xff);
        for (int hop = 0; hop < FORWARDED_HOPS_MAX && end > xff; hop++) {
            const char *start = end;
            while (start > xff && start[-1] != ',')
                start--;
            const char *a = start, *b = end;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            struct netaddr entry;
            if (netaddr_parse(a, (size_t)(b - a), &entry) != 0)
                break;
            client = entry;
            if (!netaddr_list_contains(trusted_proxies, &entry))
                break;
            end = start > xff ? start - 1 : xff;
        }
    }
    char text[NETADDR_TEXT_MAX];
    netaddr_format(&client, text);
    snprintf(out, len, "%s", text);
}

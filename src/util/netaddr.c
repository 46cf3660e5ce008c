/* netaddr.c — IP addresses and CIDR lists (inet_pton underneath). */
#include "util/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int netaddr_parse(const char *text, size_t len, struct netaddr *out)
{
    char buf[NETADDR_TEXT_MAX];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memcpy(out->bytes, v4_mapped, 12);
        memcpy(out->bytes + 12, &v4, 4);
        return 0;
    }
    struct in6_addr v6;
    if (inet_pton(AF_INET6, buf, &v6) == 1) {
        memcpy(out->bytes, &v6, 16);
        return 0;
    }
    return -1;
}

int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out->bytes, v4_mapped, 12);
        memcpy(out->bytes + 12, &in->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->bytes, &in6->sin6_addr, 16);
        return 0;
    }
    return -1;
}

void netaddr_format(const struct netaddr *a, char out[NETADDR_TEXT_MAX])
{
    if (!memcmp(a->bytes, v4_mapped, 12))
        inet_ntop(AF_INET, a->bytes + 12, out, NETADDR_TEXT_MAX);
    else
        inet_ntop(AF_INET6, a->bytes, out, NETADDR_TEXT_MAX);
}

/* One entry "ADDR" or "ADDR/BITS": the network and its prefix length (of 128). */
static int parse_entry(const char *p, size_t len, struct netaddr *net, int *bits)
{
    const char *slash = memchr(p, '/', len);
    size_t alen = slash ? (size_t)(slash - p) : len;
    if (netaddr_parse(p, alen, net) != 0)
        return -1;
    bool v4 = !memcmp(net->bytes, v4_mapped, 12) && memchr(p, ':', alen) == NULL;
    int max = v4 ? 32 : 128;
    int b = max;
    if (slash) {
        size_t dlen = len - alen - 1;
        if (dlen == 0 || dlen > 3)
            return -1;
        b = 0;
        for (size_t i = 0; i < dlen; i++) {
            char c = slash[1 + i];
            if (c < '0' || c > '9')
                return -1;
            b = b * 10 + (c - '0');
        }
        if (b > max)
            return -1;
    }
    *bits = v4 ? b + 96 : b;
    return 0;
}

static bool in_net(const struct netaddr *a, const struct netaddr *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a->bytes, net->bytes, (size_t)full) != 0)
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a->bytes[full] & mask) == (net->bytes[full] & mask);
}

/* Calls fn for each entry of the list; stops at the first non-zero answer. */
static int each_entry(const char *list, int (*fn)(void *ctx, const char *p, size_t len),
                      void *ctx)
{
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len) {
            int rc = fn(ctx, p, len);
            if (rc)
                return rc;
        }
        p += len;
    }
    return 0;
}

struct check_ctx {
    char *err;
    size_t errlen;
};

static int check_one(void *ctx, const char *p, size_t len)
{
    struct check_ctx *c = ctx;
    struct netaddr net;
    int bits;
    if (parse_entry(p, len, &net, &bits) == 0)
        return 0;
    snprintf(c->err, c->errlen, "'%.*s' is not an IP address or CIDR block",
             (int)(len > 64 ? 64 : len), p);
    return -1;
}

int netaddr_list_check(const char *list, char *err, size_t errlen)
{
    struct check_ctx c = {err, errlen};
    return each_entry(list, check_one, &c);
}

struct match_ctx {
    const struct netaddr *a;
};

static int match_one(void *ctx, const char *p, size_t len)
{
    struct match_ctx *m = ctx;
    struct netaddr net;
    int bits;
    return parse_entry(p, len, &net, &bits) == 0 && in_net(m->a, &net, bits);
}

bool netaddr_list_contains(const char *list, const struct netaddr *a)
{
    struct match_ctx m = {a};
    return each_entry(list, match_one, &m) == 1;
}

/* intern.c — a set of strings with dense indexes: an arena of the strings
 * and an open-addressing hash table of their indexes. */
#include "util/intern.h"

#include "util/array.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over the bytes of s, and its length. */
static uint64_t hash_of(const char *s, size_t *len)
{
    uint64_t h = 1469598103934665603ULL;
    const char *p = s;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    *len = (size_t)(p - s);
    return h;
}

/* Double the slots and place every index again. Returns 0 or -1. */
static int grow_slots(struct intern *t)
{
    size_t n_slots = t->n_slots ? t->n_slots * 2 : 64;
    uint32_t *slot = calloc(n_slots, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t len;
        size_t at = (size_t)hash_of(t->text + t->offset[i], &len) & (n_slots - 1);
        while (slot[at])
            at = (at + 1) & (n_slots - 1);
        slot[at] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->n_slots = n_slots;
    return 0;
}

int intern_add(struct intern *t, const char *s, uint32_t *index)
{
    size_t len;
    uint64_t h = hash_of(s, &len);
    size_t at = t->n_slots ? (size_t)h & (t->n_slots - 1) : 0;
    for (; t->n_slots && t->slot[at]; at = (at + 1) & (t->n_slots - 1)) {
        uint32_t i = t->slot[at] - 1;
        if (!strcmp(t->text + t->offset[i], s)) {
            *index = i;
            return 0;
        }
    }
    if (t->n >= UINT32_MAX - 1)
        return -1;
    if ((t->n + 1) * 2 > t->n_slots) {
        if (grow_slots(t) != 0)
            return -1;
        at = (size_t)h & (t->n_slots - 1);
        while (t->slot[at])
            at = (at + 1) & (t->n_slots - 1);
    }
    while (t->cap - t->len < len + 1) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        char *text = cap > t->cap ? realloc(t->text, cap) : NULL;
        if (!text)
            return -1;
        t->text = text;
        t->cap = cap;
    }
    if (ARRAY_RESERVE(t->offset, t->n, t->cap_n, 64) != 0)
        return -1;
    memcpy(t->text + t->len, s, len + 1);
    t->offset[t->n] = t->len;
    t->len += len + 1;
    t->slot[at] = (uint32_t)t->n + 1;
    *index = (uint32_t)t->n++;
    return 0;
}

const char *intern_str(const struct intern *t, uint32_t index)
{
    return index < t->n ? t->text + t->offset[index] : "";
}

void intern_free(struct intern *t)
{
    free(t->text);
    free(t->offset);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

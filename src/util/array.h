/* array.h — the one way Lockstep grows an array of records: doubling, with
 * the size arithmetic checked. */
#ifndef LOCKSTEP_ARRAY_H
#define LOCKSTEP_ARRAY_H

#include <stddef.h>

/* Make room for one more element in *items (n used, *cap allocated, each
 * `size` bytes): when n == *cap, grow to twice *cap (`first` when empty) with
 * realloc, updating *items and *cap. The caller owns *items and frees it.
 * Returns 0, or -1 when out of memory or the size would overflow (nothing
 * changed then). */
int array_reserve(void **items, size_t n, size_t *cap, size_t size, size_t first);

/* array_reserve for a typed pointer `p` (e.g. struct violation *items). */
#define ARRAY_RESERVE(p, n, cap, first) \
    array_reserve((void **)&(p), (n), &(cap), sizeof *(p), (first))

/* The qsort and bsearch order of int64_t elements, ascending. */
int array_cmp_i64(const void *a, const void *b);

#endif

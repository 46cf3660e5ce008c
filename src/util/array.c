/* array.c — growing arrays of records (array.h). */
#include "util/array.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int array_reserve(void **items, size_t n, size_t *cap, size_t size, size_t first)
{
    assert(n <= *cap && size > 0 && first > 0);
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap : first;
    if (*cap && __builtin_mul_overflow(*cap, (size_t)2, &want))
        return -1;
    size_t bytes;
    if (__builtin_mul_overflow(want, size, &bytes) || bytes > PTRDIFF_MAX)
        return -1;
    void *p = realloc(*items, bytes);
    if (!p)
        return -1;
    *items = p;
    *cap = want;
    return 0;
}

int array_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

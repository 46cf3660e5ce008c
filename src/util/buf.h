/* buf.h — a growable byte/string buffer with a hard size limit.
 *
 * Ownership: a `struct buf` owns `data`; buf_free() releases it. The data is
 * always NUL-terminated (when data != NULL) so it can be used as a C string.
 * Every append fails with BUF_ERR_LIMIT instead of growing past `limit`, so a
 * hostile input can never make a buffer grow without bound.
 */
#ifndef LOCKSTEP_BUF_H
#define LOCKSTEP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_ERR_NOMEM (-1)
#define BUF_ERR_LIMIT (-2)

struct buf {
    char *data;   /* NUL-terminated contents, or NULL while empty */
    size_t len;   /* bytes used, excluding the terminating NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* maximum len; 0 means the default of 64 MiB */
};

#define BUF_INIT(lim) { NULL, 0, 0, (lim) }

/* Append `n` bytes. Returns 0, BUF_ERR_NOMEM or BUF_ERR_LIMIT (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. Same returns as buf_append. */
int buf_puts(struct buf *b, const char *s);
/* Append printf-formatted text. Same returns as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Copy the string src into dst[size] (size > 0), cut to fit and always
 * NUL-terminated, as snprintf(dst, size, "%s", src) would, without its cost
 * (the watcher copies several per changed pair). */
void str_copy(char *dst, size_t size, const char *src);
/* Forget the contents but keep the allocation. */
void buf_reset(struct buf *b);
/* Release the allocation; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Hand the contents to the caller (who frees them with free()); the buffer
 * becomes empty. Returns "" allocated when empty, or NULL on allocation failure. */
char *buf_detach(struct buf *b);
/* The contents as a string; "" when empty. Borrowed. */
const char *buf_str(const struct buf *b);

#endif

/* intern.h — a set of strings, each given a dense index (0, 1, 2, …) the
 * first time it is added: compact keys for large arrays that hold few
 * distinct strings (the specializations of a check's violations). */
#ifndef LOCKSTEP_INTERN_H
#define LOCKSTEP_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialize one (struct intern t = {0}); intern_free releases it. */
struct intern {
    char *text;        /* the strings, each with its NUL, one after another */
    size_t len, cap;
    size_t *offset;    /* index → where its string starts in text */
    size_t n, cap_n;
    uint32_t *slot;    /* open addressing: index + 1, 0 empty */
    size_t n_slots;    /* a power of two, kept above twice n */
};

/* The index of `s`, added when new. Returns 0 with *index set, or -1 when
 * out of memory (t unchanged). */
int intern_add(struct intern *t, const char *s, uint32_t *index);
/* The string of an index intern_add gave (borrowed: valid until the next
 * intern_add or intern_free). */
const char *intern_str(const struct intern *t, uint32_t index);
/* Release what t holds and empty it. */
void intern_free(struct intern *t);

#endif

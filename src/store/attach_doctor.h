/* attach_doctor.h — the doctor points of an attached academy database that
 * both stores word alike (store/sqlite/sqlite_attach.c, store/pg/pg_attach.c):
 * each backend reads its counts and lists, these say what they mean. Private
 * to the store backends. */
#ifndef LOCKSTEP_STORE_ATTACH_DOCTOR_H
#define LOCKSTEP_STORE_ATTACH_DOCTOR_H

#include "model/domain_map.h"
#include "store/store.h"

#include <stdarg.h>

/* Report one point to cb: its text made from fmt, fix NULL for none. */
void attach_doctor_say(store_doctor_cb cb, void *ctx, const char *name, int verdict,
                       const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The same with the arguments of fmt as a va_list. */
void attach_doctor_vsay(store_doctor_cb cb, void *ctx, const char *name, int verdict,
                        const char *fix, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* not_null: `unfilled` lists ("table.column, …"; "" for none) the NOT NULL
 * columns without a default that a repair inserting a row would leave
 * unfilled; whether that matters depends on m's repair setting. */
void attach_doctor_not_null(store_doctor_cb cb, void *ctx, const struct domain_map *m,
                            const char *unfilled);

/* rows: the progress and license rows counted (both >= 0). Both empty is an
 * error unless m allows it; empty_fix says what to do then. */
void attach_doctor_rows(store_doctor_cb cb, void *ctx, const struct domain_map *m,
                        long long progress, long long license, const char *empty_fix);

/* levels: when m maps specs_max_levels, the maximum levels come from that
 * column (specs and missing are not read). Otherwise from [levels]: `specs`
 * specializations read from the table, `missing` those of them [levels]
 * gives no maximum ("A, B"; "" for none). */
void attach_doctor_levels(store_doctor_cb cb, void *ctx, const struct domain_map *m, int specs,
                          const char *missing);

/* The longest specialization id a column of the academy's holds
 * (attach_doctor_spec_ids). */
struct attach_spec_column {
    char where[2 * DOMAIN_IDENT_MAX]; /* "table.column" */
    long long longest;                /* bytes; 0: the table is empty; -1: not read */
    char example[SPEC_ID_MAX];        /* the first bytes of a longest id */
    char error[256];                  /* why it was not read (longest -1) */
};

/* spec_ids: the columns that hold specialization ids (the progress and
 * license tables' mapped ones, the specializations table's id), n of them.
 * An id longer than SPEC_ID_LEN bytes is an error: what reads it fails rather
 * than cut it (store_spec_copy). */
void attach_doctor_spec_ids(store_doctor_cb cb, void *ctx, const struct attach_spec_column *cols,
                            int n);

#endif

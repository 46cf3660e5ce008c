/* attach_doctor.c — the doctor points of an attached academy database that
 * both stores word alike, made from the counts and lists each one reads. */
#include "store/attach_doctor.h"

#include "util/buf.h"

#include <stdio.h>

void attach_doctor_vsay(store_doctor_cb cb, void *ctx, const char *name, int verdict,
                        const char *fix, const char *fmt, va_list ap)
{
    char text[600];
    vsnprintf(text, sizeof text, fmt, ap);
    cb(ctx, name, verdict, text, fix ? fix : "");
}

void attach_doctor_say(store_doctor_cb cb, void *ctx, const char *name, int verdict,
                       const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    attach_doctor_vsay(cb, ctx, name, verdict, fix, fmt, ap);
    va_end(ap);
}

void attach_doctor_not_null(store_doctor_cb cb, void *ctx, const struct domain_map *m,
                            const char *unfilled)
{
    if (!unfilled[0])
        attach_doctor_say(cb, ctx, "not_null", 0, NULL, "no NOT NULL column without a default "
                          "beyond the mapped ones: a repair can insert rows");
    else if (m->repair)
        attach_doctor_say(cb, ctx, "not_null", 1, "give those columns defaults, or expect each "
                          "such insert to fail for its pair with the database's reason",
                          "a repair that inserts a row leaves these NOT NULL columns without a "
                          "default unfilled: %s", unfilled);
    else
        attach_doctor_say(cb, ctx, "not_null", 0, NULL, "repairs are off: nothing is inserted "
                          "(NOT NULL columns without a default a repair could not fill: %s)",
                          unfilled);
}

void attach_doctor_rows(store_doctor_cb cb, void *ctx, const struct domain_map *m,
                        long long progress, long long license, const char *empty_fix)
{
    if (progress + license == 0)
        attach_doctor_say(cb, ctx, "rows", m->allow_empty ? 1 : 2,
                          m->allow_empty ? NULL : empty_fix,
                          "%s and %s are empty: a check covers zero pairs%s",
                          m->name[DOMAIN_PROGRESS_TABLE], m->name[DOMAIN_LICENSE_TABLE],
                          m->allow_empty ? "" : " and fails");
    else
        attach_doctor_say(cb, ctx, "rows", 0, NULL, "%lld progress rows, %lld license rows",
                          progress, license);
}

void attach_doctor_levels(store_doctor_cb cb, void *ctx, const struct domain_map *m, int specs,
                          const char *missing)
{
    if (m->name[DOMAIN_SPECS_MAX_LEVELS][0])
        attach_doctor_say(cb, ctx, "levels", 0, NULL, "maximum levels from %s.%s",
                          m->name[DOMAIN_SPECS_TABLE], m->name[DOMAIN_SPECS_MAX_LEVELS]);
    else if (missing[0])
        attach_doctor_say(cb, ctx, "levels", 1, "add them under [levels] (SPEC = maximum level) "
                          "if they are in use", "[levels] lists %d specializations; no maximum "
                          "for %s: their pairs are unknown_specialization", m->levels, missing);
    else
        attach_doctor_say(cb, ctx, "levels", 0, NULL, "[levels] gives a maximum for each of the "
                          "%d specializations", specs);
}

void attach_doctor_spec_ids(store_doctor_cb cb, void *ctx, const struct attach_spec_column *cols,
                            int n)
{
    struct buf fine = BUF_INIT(1024);
    bool all_fit = true;
    for (int i = 0; i < n; i++) {
        const struct attach_spec_column *c = &cols[i];
        if (c->longest < 0) {
            all_fit = false;
            attach_doctor_say(cb, ctx, "spec_ids", 2, "GRANT SELECT on the table (docs/attach.md)",
                              "%s: the specialization ids cannot be read: %s", c->where,
                              c->error);
        } else if (c->longest > SPEC_ID_LEN) {
            all_fit = false;
            attach_doctor_say(cb, ctx, "spec_ids", 2,
                              "shorten the ids longer than " SPEC_ID_LEN_TEXT " bytes in the "
                              "academy's tables (docs/attach.md, \"Specialization ids\")",
                              "%s holds a specialization id of %lld bytes ('%s…'); Lockstep "
                              "handles ids of up to %d bytes and never cuts one: what reads it (a "
                              "check, the watcher, the specializations list) fails while it is "
                              "there",
                              c->where, c->longest, c->example, SPEC_ID_LEN);
        } else {
            buf_printf(&fine, "%s%lld in %s", fine.len ? ", " : "", c->longest, c->where);
        }
    }
    if (all_fit)
        attach_doctor_say(cb, ctx, "spec_ids", 0, NULL, "the longest specialization ids: %s "
                          "bytes (Lockstep handles up to %d)", buf_str(&fine), SPEC_ID_LEN);
    buf_free(&fine);
}

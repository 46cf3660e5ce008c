/* daylog.h — the scheduler's day log: logs/sync_jobs/scheduler_YYYYMMDD.log,
 * lines "YYYY-MM-DD HH:MM:SS - <component> - <LEVEL> - <message>" (UTC), the
 * file switching at midnight UTC. Operators grep it; its phrases are fixed by
 * operations.md. Every line also goes to the process log (util/log.h). */
#ifndef LOCKSTEP_DAYLOG_H
#define LOCKSTEP_DAYLOG_H

#include "util/log.h"

#include <stdint.h>

struct daylog;

/* A day log under `data_dir` (borrowed; must outlive it). NULL on no memory. */
struct daylog *daylog_open(const char *data_dir);
void daylog_close(struct daylog *d);
/* Write one line. A write failure (full disk, permissions) is reported on
 * stderr, counted, and never stops the caller. Thread-safe. */
void daylog_write(struct daylog *d, enum log_level level, const char *component,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Write with an explicit time (tests of the midnight switch). */
void daylog_write_at(struct daylog *d, int64_t now_us, enum log_level level,
                     const char *component, const char *message);
/* Make every day log of the process open its file anew, by name, at its next
 * line (SIGHUP). A day log also notices by itself, at its next line, that its
 * file was renamed or removed, and starts a new one of the canonical name.
 * Thread-safe. */
void daylog_reopen_all(void);
/* How many lines could not be written. */
long daylog_failures(struct daylog *d);

#endif

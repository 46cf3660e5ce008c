/* log.h — the process log, operator-facing lines on stderr (or log_file):
 * "YYYY-MM-DD HH:MM:SS - <component> - <LEVEL> - <message>" (UTC), one
 * write(2) per line so lines from many threads never interleave. When stderr
 * is the systemd journal (log_detect_journal) a line is instead
 * "<N><component> - <LEVEL> - <message>", N its syslog priority (3 error,
 * 4 warning, 6 info, 7 debug): journald keeps the priority and adds the time.
 * Never pass a secret (password, token, key) to these functions. */
#ifndef LOCKSTEP_LOG_H
#define LOCKSTEP_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* The levels of a line. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR };

/* Lines below `min` are dropped (default LOG_INFO: the logs hold INFO and
 * above). The fuzz harnesses silence every line with LOG_ERROR + 1. */
void log_set_level(enum log_level min);

/* Turn the per-request access log on or off (default on). */
void log_set_access(bool on);
bool log_access_enabled(void);
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format one line (without the trailing newline) into out[len]; the day log
 * uses the same format. Returns the length written. */
int log_format_line(char *out, int len, long long now_us, enum log_level level,
                    const char *component, const char *message);
const char *log_level_name(enum log_level level);
/* Write one line with an explicit time (the day log echoes its lines so). */
void log_write(long long now_us, enum log_level level, const char *component,
               const char *message);
/* Look at JOURNAL_STREAM: when it names stderr's device and inode (as
 * sd-daemon documents), lines on stderr take the journal format. Call once at
 * start, before any thread logs. Returns whether it does. */
bool log_detect_journal(void);
/* True when stderr is the journal (log_detect_journal found it so); lines
 * take the journal format while they go to stderr, not to a log_file. */
bool log_stderr_is_journal(void);
/* Append lines to `path` (created 0640) instead of stderr, in the day-log
 * format. Call at start, before any thread logs. Returns 0 or -errno. */
int log_open_file(const char *path, char *err, size_t errlen);
/* Open the log_file path anew (after a rename by logrotate: SIGHUP) and write
 * there from now on; lines in flight go to one file or the other, none is
 * lost. Without a log_file it does nothing. Returns 0, or -errno with err
 * (the old file stays in use). Thread-safe. */
int log_reopen(char *err, size_t errlen);
/* Buffer INFO lines and write them from a background thread (serve); stop
 * writes out everything buffered. Returns 0 or -1. */
int log_start_async(void);
void log_stop_async(void);

#endif

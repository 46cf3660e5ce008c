/* log.h — operator-facing log lines on stderr:
 * "YYYY-MM-DD HH:MM:SS - <component> - <LEVEL> - <message>" (UTC), one
 * write(2) per line so lines from many threads never interleave. Never pass
 * a secret (password, token, key) to these functions. */
#ifndef LOCKSTEP_LOG_H
#define LOCKSTEP_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR };

/* Lines below `min` are dropped (default LOG_INFO). */
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
/* Write a formatted line (newline included) the way log_msg does. */
void log_line(enum log_level level, const char *line, size_t n);
/* Buffer INFO lines and write them from a background thread (serve); stop
 * writes out everything buffered. Returns 0 or -1. */
int log_start_async(void);
void log_stop_async(void);

#endif

/* log.c — stderr log lines in the day-log format. */
#include "util/log.h"

#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static bool access_on = true;

void log_set_level(enum log_level min)
{
    min_level = min;
}

void log_set_access(bool on)
{
    access_on = on;
}

bool log_access_enabled(void)
{
    return access_on;
}

const char *log_level_name(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return "DEBUG";
    case LOG_INFO:
        return "INFO";
    case LOG_WARNING:
        return "WARNING";
    default:
        return "ERROR";
    }
}

int log_format_line(char *out, int len, long long now_us, enum log_level level,
                    const char *component, const char *message)
{
    char ts[20];
    time_format_log(now_us, ts);
    int n = snprintf(out, (size_t)len, "%s - %s - %s - %s", ts, component, log_level_name(level),
                     message);
    if (n < 0)
        return 0;
    return n >= len ? len - 1 : n;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[2048], line[2200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n = log_format_line(line, (int)sizeof line - 1, time_now_us(), level, component, msg);
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

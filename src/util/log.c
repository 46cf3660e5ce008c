/* log.c — stderr log lines in the day-log format. In serve the lines go
 * through a buffer that a background thread writes every 200 ms (one access
 * line per request would otherwise cost a write(2) each); warnings and errors
 * are written at once, after whatever is buffered. */
#include "util/log.h"

#include "util/timeutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUFFER (256 * 1024)

static enum log_level min_level = LOG_INFO;
static bool access_on = true;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stop;
    pthread_t thread;
    char *buf;
    size_t len;
    atomic_ulong dropped;
} async = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

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
    /* The timestamp changes once a second: format it once per second per thread. */
    static _Thread_local long long cached_sec = -1;
    static _Thread_local char ts[20];
    long long sec = now_us / USEC_PER_SEC;
    if (sec != cached_sec) {
        time_format_log(now_us, ts);
        cached_sec = sec;
    }
    int n = snprintf(out, (size_t)len, "%s - %s - %s - %s", ts, component, log_level_name(level),
                     message);
    if (n < 0)
        return 0;
    return n >= len ? len - 1 : n;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Write out what is buffered. Called with the mutex held. */
static void flush_locked(void)
{
    if (async.len) {
        write_all(async.buf, async.len);
        async.len = 0;
    }
    unsigned long dropped = atomic_exchange(&async.dropped, 0);
    if (dropped) {
        char line[160];
        int n = snprintf(line, sizeof line, "log: %lu line(s) dropped (stderr too slow)\n",
                         dropped);
        write_all(line, (size_t)n);
    }
}

static void *flusher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&async.mu);
    while (!async.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&async.cv, &async.mu, &ts);
        flush_locked();
    }
    flush_locked();
    pthread_mutex_unlock(&async.mu);
    return NULL;
}

int log_start_async(void)
{
    pthread_mutex_lock(&async.mu);
    int rc = 0;
    if (!async.running) {
        async.buf = malloc(LOG_BUFFER);
        async.stop = false;
        if (!async.buf || pthread_create(&async.thread, NULL, flusher, NULL) != 0) {
            free(async.buf);
            async.buf = NULL;
            rc = -1;
        } else {
            async.running = true;
        }
    }
    pthread_mutex_unlock(&async.mu);
    return rc;
}

void log_stop_async(void)
{
    pthread_mutex_lock(&async.mu);
    if (!async.running) {
        pthread_mutex_unlock(&async.mu);
        return;
    }
    async.stop = true;
    pthread_cond_signal(&async.cv);
    pthread_mutex_unlock(&async.mu);
    pthread_join(async.thread, NULL);
    pthread_mutex_lock(&async.mu);
    async.running = false;
    free(async.buf);
    async.buf = NULL;
    pthread_mutex_unlock(&async.mu);
}

void log_line(enum log_level level, const char *line, size_t n)
{
    pthread_mutex_lock(&async.mu);
    if (!async.running || level >= LOG_WARNING) {
        if (async.running)
            flush_locked();
        pthread_mutex_unlock(&async.mu);
        write_all(line, n);
        return;
    }
    if (async.len + n > LOG_BUFFER)
        atomic_fetch_add(&async.dropped, 1);
    else {
        memcpy(async.buf + async.len, line, n);
        async.len += n;
        if (async.len > LOG_BUFFER / 2)
            pthread_cond_signal(&async.cv);
    }
    pthread_mutex_unlock(&async.mu);
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
    log_line(level, line, (size_t)n);
}

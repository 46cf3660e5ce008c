/* log.c — the process log: lines in the day-log format on stderr (or in
 * `log_file`, reopened on SIGHUP), with syslog priorities instead of
 * timestamps when stderr is the journal. In serve the lines go through a
 * buffer that a background thread writes every 200 ms (one access line per
 * request would otherwise cost a write(2) each); warnings and errors are
 * written at once, after whatever is buffered. */
#include "util/log.h"

#include "util/fsutil.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUFFER (256 * 1024)

static enum log_level min_level = LOG_INFO;
static bool access_on = true;
/* Where lines go: stderr, or the descriptor of log_file (log_open_file), which
 * log_reopen() points at a fresh open of the same path with dup3() — atomic,
 * so a writer never sees a closed descriptor. */
static int out_fd = STDERR_FILENO;
static char out_path[4096];
static bool journal; /* stderr is the journal: "<N>" prefixes, no timestamp */

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

bool log_detect_journal(void)
{
    /* sd-daemon: JOURNAL_STREAM is "<device>:<inode>" of the stream systemd
     * connected; it counts only while stderr is still that stream. */
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    char tail;
    journal = js && sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) == 2 &&
              fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
              (unsigned long long)st.st_ino == ino;
    return journal;
}

bool log_stderr_is_journal(void)
{
    return journal;
}

int log_open_file(const char *path, char *err, size_t errlen)
{
    if (strlen(path) >= sizeof out_path) {
        snprintf(err, errlen, "log_file path is too long");
        return -ENAMETOOLONG;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, FS_FILE_MODE);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open log_file %s: %s", path, strerror(e));
        return -e;
    }
    snprintf(out_path, sizeof out_path, "%s", path);
    out_fd = fd;
    return 0;
}

int log_reopen(char *err, size_t errlen)
{
    if (out_fd == STDERR_FILENO)
        return 0;
    int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, FS_FILE_MODE);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot reopen log_file %s: %s (still writing to the old file)",
                 out_path, strerror(e));
        return -e;
    }
    int rc = 0;
    if (dup3(fd, out_fd, O_CLOEXEC) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot reopen log_file %s: %s (still writing to the old file)",
                 out_path, strerror(-rc));
    }
    close(fd);
    return rc;
}

static int journal_priority(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return 7;
    case LOG_INFO:
        return 6;
    case LOG_WARNING:
        return 4;
    default:
        return 3;
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

/* A process-log line (without the newline): the day-log format, or under the
 * journal "<N>component - LEVEL - message" (journald adds the time). */
static int format_process_line(char *out, int len, long long now_us, enum log_level level,
                               const char *component, const char *message)
{
    if (!journal || out_fd != STDERR_FILENO)
        return log_format_line(out, len, now_us, level, component, message);
    int n = snprintf(out, (size_t)len, "<%d>%s - %s - %s", journal_priority(level), component,
                     log_level_name(level), message);
    if (n < 0)
        return 0;
    return n >= len ? len - 1 : n;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(out_fd, p, n);
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
        char msg[80], line[200];
        snprintf(msg, sizeof msg, "%lu line(s) dropped (the log was too slow)", dropped);
        int n = format_process_line(line, (int)sizeof line - 1, time_now_us(), LOG_WARNING,
                                    "log", msg);
        line[n++] = '\n';
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

static void log_line(enum log_level level, const char *line, size_t n)
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

void log_write(long long now_us, enum log_level level, const char *component,
               const char *message)
{
    if (level < min_level)
        return;
    char line[2300];
    int n = format_process_line(line, (int)sizeof line - 1, now_us, level, component, message);
    line[n++] = '\n';
    log_line(level, line, (size_t)n);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write(time_now_us(), level, component, msg);
}

/* daylog.c — append-only day log files, one write(2) per line. */
#include "service/daylog.h"

#include "util/fsutil.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAYLOG_DIR "logs/sync_jobs"

/* Bumped by daylog_reopen_all(): a day log whose file was opened in an older
 * generation opens it anew by name at its next line. */
static atomic_uint reopen_generation;

struct daylog {
    const char *data_dir;
    pthread_mutex_t mu;
    int fd;
    char day[9];      /* the day of the open file */
    unsigned generation; /* reopen_generation when it was opened */
    char path[FS_PATH_MAX]; /* the open file's name */
    dev_t dev;        /* and its identity, to notice a rename or removal */
    ino_t ino;
    long failures;
    bool reported;    /* the last failure was already reported on stderr */
};

struct daylog *daylog_open(const char *data_dir)
{
    struct daylog *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->data_dir = data_dir;
    d->fd = -1;
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

void daylog_close(struct daylog *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

long daylog_failures(struct daylog *d)
{
    pthread_mutex_lock(&d->mu);
    long n = d->failures;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* Open the file of `day` if it is not the open one. Called with the mutex held. */
static int ensure_file(struct daylog *d, const char day[9], char *err, size_t errlen)
{
    unsigned generation = atomic_load(&reopen_generation);
    struct stat st;
    /* Still the file of that name? An operator may have renamed or removed it
     * (a stat per line: the day log writes a few lines per job run). */
    if (d->fd >= 0 && !strcmp(d->day, day) && d->generation == generation &&
        stat(d->path, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino)
        return 0;
    if (d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
    }
    char dir[FS_PATH_MAX], path[FS_PATH_MAX];
    if (fs_join(dir, sizeof dir, d->data_dir, DAYLOG_DIR) != 0 ||
        snprintf(path, sizeof path, "%s/scheduler_%s.log", dir, day) >= (int)sizeof path) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    int rc = fs_mkdir_p(dir, FS_DIR_MODE);
    if (rc) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
        return -1;
    }
    d->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, FS_FILE_MODE);
    if (d->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(d->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        close(d->fd);
        d->fd = -1;
        return -1;
    }
    memcpy(d->day, day, sizeof d->day);
    memcpy(d->path, path, sizeof d->path);
    d->dev = st.st_dev;
    d->ino = st.st_ino;
    d->generation = generation;
    return 0;
}

void daylog_reopen_all(void)
{
    atomic_fetch_add(&reopen_generation, 1);
}

void daylog_write_at(struct daylog *d, int64_t now_us, enum log_level level,
                     const char *component, const char *message)
{
    char line[2300], day[9], err[300];
    int n = log_format_line(line, (int)sizeof line - 1, now_us, level, component, message);
    line[n++] = '\n';
    log_write(now_us, level, component, message);
    time_format_day(now_us, day);
    pthread_mutex_lock(&d->mu);
    int rc = ensure_file(d, day, err, sizeof err);
    if (rc == 0 && write(d->fd, line, (size_t)n) != n) {
        snprintf(err, sizeof err, "cannot write the day log: %s", strerror(errno));
        rc = -1;
        close(d->fd); /* reopen next time: the disk may have room again */
        d->fd = -1;
    }
    if (rc) {
        d->failures++;
        if (!d->reported)
            log_msg(LOG_ERROR, "scheduler", "%s (further day-log failures are counted)", err);
        d->reported = true;
    } else {
        d->reported = false;
    }
    pthread_mutex_unlock(&d->mu);
}

void daylog_write(struct daylog *d, enum log_level level, const char *component,
                  const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    daylog_write_at(d, time_now_us(), level, component, msg);
}

/* fsutil.c — directory creation, atomic files, bounded whole-file reads. */
#include "util/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void set_err(char *err, size_t errlen, const char *what, const char *path, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
}

int fs_join(char *out, size_t len, const char *a, const char *b)
{
    int n = snprintf(out, len, "%s/%s", a, b);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
    char tmp[FS_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return 0;
}

static int dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, len, ".");
        return 0;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;
    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomic_file_open(struct atomic_file *af, const char *path, mode_t mode, char *err,
                     size_t errlen)
{
    char dir[FS_PATH_MAX];
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path) {
        set_err(err, errlen, "path too long:", path, ENAMETOOLONG);
        return -ENAMETOOLONG;
    }
    snprintf(af->path, sizeof af->path, "%s", path);
    int rc = dir_of(path, dir, sizeof dir);
    if (rc == 0)
        rc = fs_mkdir_p(dir, FS_DIR_MODE);
    if (rc) {
        set_err(err, errlen, "cannot create directory", dir, -rc);
        return rc;
    }
    int n = snprintf(af->tmp_path, sizeof af->tmp_path, "%s/.tmp.%ld.XXXXXX", dir,
                     (long)getpid());
    if (n < 0 || (size_t)n >= sizeof af->tmp_path) {
        set_err(err, errlen, "path too long:", path, ENAMETOOLONG);
        return -ENAMETOOLONG;
    }
    int fd = mkostemp(af->tmp_path, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_err(err, errlen, "cannot create file in", dir, e);
        af->tmp_path[0] = '\0';
        return -e;
    }
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        af->tmp_path[0] = '\0';
        set_err(err, errlen, "cannot set mode of", path, e);
        return -e;
    }
    af->fp = fdopen(fd, "w+");
    if (!af->fp) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        af->tmp_path[0] = '\0';
        set_err(err, errlen, "cannot open", path, e);
        return -e;
    }
    return 0;
}

void atomic_file_abort(struct atomic_file *af)
{
    if (af->fp) {
        fclose(af->fp);
        af->fp = NULL;
    }
    if (af->tmp_path[0]) {
        unlink(af->tmp_path);
        af->tmp_path[0] = '\0';
    }
}

/* Flush and fsync the temporary file and close it. */
static int finish_tmp(struct atomic_file *af, char *err, size_t errlen)
{
    int e = 0;
    if (!af->fp)
        e = EBADF;
    else if (ferror(af->fp) || fflush(af->fp) != 0)
        e = errno ? errno : EIO;
    else if (fsync(fileno(af->fp)) != 0)
        e = errno;
    if (af->fp && fclose(af->fp) != 0 && !e)
        e = errno ? errno : EIO;
    af->fp = NULL;
    if (e) {
        set_err(err, errlen, "cannot write", af->path, e);
        atomic_file_abort(af);
        return -e;
    }
    return 0;
}

int atomic_file_commit(struct atomic_file *af, char *err, size_t errlen)
{
    errno = 0;
    int rc = finish_tmp(af, err, errlen);
    if (rc)
        return rc;
    if (rename(af->tmp_path, af->path) != 0) {
        int e = errno;
        set_err(err, errlen, "cannot rename into", af->path, e);
        atomic_file_abort(af);
        return -e;
    }
    af->tmp_path[0] = '\0';
    char dir[FS_PATH_MAX];
    if (dir_of(af->path, dir, sizeof dir) == 0)
        fsync_dir(dir);
    return 0;
}

int atomic_file_commit_unique(struct atomic_file *af, const char *dir, const char *stem,
                              const char *ext, char *out, size_t outlen, char *err,
                              size_t errlen)
{
    errno = 0;
    int rc = finish_tmp(af, err, errlen);
    if (rc)
        return rc;
    for (int i = 1; i < 10000; i++) {
        int n = i == 1 ? snprintf(out, outlen, "%s/%s%s", dir, stem, ext)
                       : snprintf(out, outlen, "%s/%s_%d%s", dir, stem, i, ext);
        if (n < 0 || (size_t)n >= outlen) {
            set_err(err, errlen, "path too long in", dir, ENAMETOOLONG);
            atomic_file_abort(af);
            return -ENAMETOOLONG;
        }
        if (renameat2(AT_FDCWD, af->tmp_path, AT_FDCWD, out, RENAME_NOREPLACE) == 0) {
            af->tmp_path[0] = '\0';
            fsync_dir(dir);
            return 0;
        }
        if (errno != EEXIST) {
            int e = errno;
            set_err(err, errlen, "cannot rename into", out, e);
            atomic_file_abort(af);
            return -e;
        }
    }
    set_err(err, errlen, "too many files named like", stem, EEXIST);
    atomic_file_abort(af);
    return -EEXIST;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t errlen)
{
    struct atomic_file af;
    int rc = atomic_file_open(&af, path, mode, err, errlen);
    if (rc)
        return rc;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        int e = errno ? errno : EIO;
        set_err(err, errlen, "cannot write", path, e);
        atomic_file_abort(&af);
        return -e;
    }
    return atomic_file_commit(&af, err, errlen);
}

int fs_write_with(const char *path, mode_t mode, fs_writer write, const void *ctx, char *err,
                  size_t errlen)
{
    struct atomic_file af;
    int rc = atomic_file_open(&af, path, mode, err, errlen);
    if (rc)
        return rc;
    if (write(af.fp, ctx) != 0 || ferror(af.fp)) {
        snprintf(err, errlen, "cannot write %s: write failed", path);
        atomic_file_abort(&af);
        return -EIO;
    }
    return atomic_file_commit(&af, err, errlen);
}

int fs_read_file(const char *path, size_t limit, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    if (!p) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > limit + 1) {
                free(p);
                close(fd);
                return -EFBIG;
            }
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                close(fd);
                return -ENOMEM;
            }
            p = q;
            cap *= 2;
        }
        ssize_t r = read(fd, p + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(p);
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > limit) {
            free(p);
            close(fd);
            return -EFBIG;
        }
    }
    close(fd);
    p[n] = '\0';
    *out = p;
    if (len)
        *len = n;
    return 0;
}

int fs_prune_older(const char *dir, const char *suffix, long long max_age_seconds)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    time_t cutoff = time(NULL) - (time_t)max_age_seconds;
    size_t sl = strlen(suffix);
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.' || nl < sl || strcmp(de->d_name + nl - sl, suffix) != 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (st.st_mtime < cutoff && unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int fs_remove_stale_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (!strncmp(de->d_name, ".tmp.", 5) && unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
    closedir(d);
    return removed;
}

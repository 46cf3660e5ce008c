/* fsutil.h — directories and atomic files (temporary file, fsync, rename).
 *
 * A reader or a crash never sees half a file written through atomic_file:
 * the data goes to a temporary file beside the target, is flushed and
 * fsynced, then renamed into place and the directory fsynced.
 */
#ifndef LOCKSTEP_FSUTIL_H
#define LOCKSTEP_FSUTIL_H

#include <stdio.h>
#include <sys/types.h>

#define FS_PATH_MAX 4096
/* Modes of what Lockstep creates under the data dir (serve and the verbs also
 * run with umask 027): readable by the service's group at most, never by
 * others; secrets by the owner only. */
#define FS_FILE_MODE 0640
#define FS_DIR_MODE 0750
#define FS_SECRET_MODE 0600

struct atomic_file {
    FILE *fp;                     /* write through this while open */
    char path[FS_PATH_MAX];       /* the target (or the first choice for _unique) */
    char tmp_path[FS_PATH_MAX];   /* the temporary file */
};

/* Create `path` and its parents with `mode` (FS_DIR_MODE). Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Start an atomic write of `path` (parent directories are created). The
 * file gets `mode`. Returns 0 or -errno; `err` gets the cause. */
int atomic_file_open(struct atomic_file *af, const char *path, mode_t mode, char *err,
                     size_t errlen);
/* Flush, fsync and rename into af->path (replacing it). Returns 0 or -errno;
 * on failure the temporary file is removed and the target left untouched. */
int atomic_file_commit(struct atomic_file *af, char *err, size_t errlen);
/* Flush, fsync and rename to `dir/stem.ext`, or `dir/stem_2.ext`, `_3`, …
 * when that name is taken (never replaces an existing file). The chosen path
 * goes to out[outlen]. Returns 0 or -errno. */
int atomic_file_commit_unique(struct atomic_file *af, const char *dir, const char *stem,
                              const char *ext, char *out, size_t outlen, char *err,
                              size_t errlen);
/* Abandon the write: close and remove the temporary file. Safe to call twice. */
void atomic_file_abort(struct atomic_file *af);
/* What fs_write_with writes: the file's contents through fp. Returns 0, or
 * non-zero when a write failed. */
typedef int (*fs_writer)(FILE *fp, const void *ctx);
/* Write `path` atomically with `mode`, its contents put by write(fp, ctx).
 * Returns 0 or -errno; err gets the cause ("cannot write PATH: write failed"
 * when the writer fails). The target is left untouched on failure. */
int fs_write_with(const char *path, mode_t mode, fs_writer write, const void *ctx, char *err,
                  size_t errlen);
/* Write `len` bytes to `path` atomically with `mode`. Returns 0 or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t errlen);
/* Read a whole file of at most `limit` bytes into *out (NUL-terminated, caller
 * frees). Returns 0, -errno, or -EFBIG when larger than the limit. */
int fs_read_file(const char *path, size_t limit, char **out, size_t *len);
/* Join `a` and `b` with '/'. Returns 0, or -1 when it does not fit. */
int fs_join(char *out, size_t len, const char *a, const char *b);
/* Remove regular files in `dir` whose names end with `suffix` and whose
 * modification time is older than `max_age_seconds`. Returns the number removed
 * or -errno. Used for log retention. */
int fs_prune_older(const char *dir, const char *suffix, long long max_age_seconds);

/* Remove temporary files (".tmp.*") an interrupted atomic write left in
 * `dir`. Returns the number removed or -errno. */
int fs_remove_stale_tmp(const char *dir);

#endif

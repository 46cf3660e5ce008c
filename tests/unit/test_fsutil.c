/* test_fsutil.c — atomic files (whole or nothing, modes, unique names that
 * never replace), bounded reads, directories, retention pruning. */
#include "testutil.h"
#include "util/fsutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char dir[512];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("fsutil"));
    return 0;
}


static int entries(const char *d)
{
    char *out;
    assert_int_equal(tu_cmd(&out, "ls -A '%s' | wc -l", d), 0);
    return atoi(out);
}

static void atomic_write_and_replace(void **state)
{
    (void)state;
    char path[700], err[300];
    snprintf(path, sizeof path, "%s/a/b/c.txt", dir);
    assert_int_equal(fs_write_atomic(path, "hello", 5, 0600, err, sizeof err), 0);
    assert_string_equal(tu_file_text(path), "hello");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* secret.key relies on this */
    /* Replacing keeps one file with the new contents and no temporary left. */
    assert_int_equal(fs_write_atomic(path, "bye", 3, 0644, err, sizeof err), 0);
    assert_string_equal(tu_file_text(path), "bye");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char sub[700];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    assert_int_equal(entries(sub), 1);
    /* An empty file is a file. */
    snprintf(path, sizeof path, "%s/empty", dir);
    assert_int_equal(fs_write_atomic(path, "", 0, 0644, err, sizeof err), 0);
    assert_string_equal(tu_file_text(path), "");
}

static void unique_names_never_replace(void **state)
{
    (void)state;
    char sub[700], path[700], out[700], err[300];
    snprintf(sub, sizeof sub, "%s/unique", dir);
    for (int i = 1; i <= 3; i++) {
        struct atomic_file af;
        snprintf(path, sizeof path, "%s/20251025_143000_violations.json", sub);
        assert_int_equal(atomic_file_open(&af, path, 0644, err, sizeof err), 0);
        fprintf(af.fp, "%d", i);
        assert_int_equal(atomic_file_commit_unique(&af, sub, "20251025_143000_violations",
                                                   ".json", out, sizeof out, err, sizeof err),
                         0);
        const char *want[] = {"", "20251025_143000_violations.json",
                              "20251025_143000_violations_2.json",
                              "20251025_143000_violations_3.json"};
        snprintf(path, sizeof path, "%s/%s", sub, want[i]);
        assert_string_equal(out, path);
    }
    snprintf(path, sizeof path, "%s/20251025_143000_violations.json", sub);
    assert_string_equal(tu_file_text(path), "1");
    snprintf(path, sizeof path, "%s/20251025_143000_violations_3.json", sub);
    assert_string_equal(tu_file_text(path), "3");
    assert_int_equal(entries(sub), 3);
}

static void aborted_write_leaves_nothing(void **state)
{
    (void)state;
    char sub[700], path[700], err[300];
    snprintf(sub, sizeof sub, "%s/aborted", dir);
    snprintf(path, sizeof path, "%s/report.json", sub);
    assert_int_equal(fs_write_atomic(path, "old", 3, 0644, err, sizeof err), 0);
    struct atomic_file af;
    assert_int_equal(atomic_file_open(&af, path, 0644, err, sizeof err), 0);
    fputs("partial", af.fp);
    fflush(af.fp);
    assert_string_equal(tu_file_text(path), "old"); /* a reader never sees half a file */
    atomic_file_abort(&af);
    atomic_file_abort(&af); /* twice is safe */
    assert_string_equal(tu_file_text(path), "old");
    assert_int_equal(entries(sub), 1);
}

static void unwritable_places(void **state)
{
    (void)state;
    char path[700], err[300];
    snprintf(path, sizeof path, "%s/plain", dir);
    assert_int_equal(fs_write_atomic(path, "x", 1, 0644, err, sizeof err), 0);
    /* A file where a directory should be: a clear error, nothing written. */
    snprintf(path, sizeof path, "%s/plain/x.txt", dir);
    assert_true(fs_write_atomic(path, "x", 1, 0644, err, sizeof err) < 0);
    assert_non_null(strstr(err, "cannot create directory"));
    assert_int_equal(fs_mkdir_p(path, 0755), -ENOTDIR);
    snprintf(path, sizeof path, "%s/plain", dir);
    assert_int_equal(fs_mkdir_p(path, 0755), -ENOTDIR);
    snprintf(path, sizeof path, "%s/new/deeper/still", dir);
    assert_int_equal(fs_mkdir_p(path, 0755), 0);
    assert_int_equal(fs_mkdir_p(path, 0755), 0); /* twice is fine */
    /* Paths that do not fit are refused, not cut. */
    char out[16];
    assert_int_equal(fs_join(out, sizeof out, "data", "logs"), 0);
    assert_string_equal(out, "data/logs");
    assert_int_equal(fs_join(out, sizeof out, "data_dir_long", "logs"), -1);
}

static void bounded_reads(void **state)
{
    (void)state;
    char path[700], err[300];
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/sized", dir);
    static char big[10000];
    memset(big, 'x', sizeof big);
    assert_int_equal(fs_write_atomic(path, big, sizeof big, 0644, err, sizeof err), 0);
    /* Exactly the limit is read whole; one byte less is refused. */
    assert_int_equal(fs_read_file(path, sizeof big, &text, &len), 0);
    assert_int_equal(len, sizeof big);
    assert_int_equal(strlen(text), sizeof big);
    free(text);
    assert_int_equal(fs_read_file(path, sizeof big - 1, &text, &len), -EFBIG);
    assert_null(text);
    assert_int_equal(fs_read_file(path, 3, &text, &len), -EFBIG);
    snprintf(path, sizeof path, "%s/absent", dir);
    assert_int_equal(fs_read_file(path, 100, &text, &len), -ENOENT);
    assert_int_equal(fs_read_file(dir, 100, &text, &len), -EISDIR);
}

static void pruning(void **state)
{
    (void)state;
    char sub[700];
    snprintf(sub, sizeof sub, "%s/logs", dir);
    assert_int_equal(fs_mkdir_p(sub, 0755), 0);
    assert_int_equal(tu_sh("cd '%s' && touch -d '40 days ago' old_violations.json old.txt "
                           ".old_violations.json && touch new_violations.json && "
                           "mkdir -p -- dir_violations.json && touch -d '40 days ago' "
                           "dir_violations.json",
                           sub),
                     0);
    /* Only old regular files with the suffix go; dot files and directories stay. */
    assert_int_equal(fs_prune_older(sub, "_violations.json", 30 * 86400LL), 1);
    assert_int_equal(tu_sh("cd '%s' && test ! -e old_violations.json && test -e old.txt && "
                           "test -e new_violations.json && test -e .old_violations.json && "
                           "test -d dir_violations.json",
                           sub),
                     0);
    snprintf(sub, sizeof sub, "%s/never-made", dir);
    assert_int_equal(fs_prune_older(sub, ".json", 1), 0);
    /* Temporary files an interrupted write left are removed, nothing else. */
    snprintf(sub, sizeof sub, "%s/logs", dir);
    assert_int_equal(tu_sh("touch '%s/.tmp.1.abc' '%s/.tmp.2.def'", sub, sub), 0);
    assert_int_equal(fs_remove_stale_tmp(sub), 2);
    assert_int_equal(tu_sh("test -e '%s/new_violations.json'", sub), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atomic_write_and_replace),
        cmocka_unit_test(unique_names_never_replace),
        cmocka_unit_test(aborted_write_leaves_nothing),
        cmocka_unit_test(unwritable_places),
        cmocka_unit_test(bounded_reads),
        cmocka_unit_test(pruning),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

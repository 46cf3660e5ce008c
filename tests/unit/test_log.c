/* test_log.c — the process log: the day-log format by default, "<N>" syslog
 * priorities without a timestamp when stderr is the journal (JOURNAL_STREAM
 * names it), and a log_file that log_reopen() follows to a new file after a
 * rename (logrotate), with nothing lost. */
#include "testutil.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>


/* Point stderr at a fresh file `name` of the test directory; its path goes to
 * path[len]. Returns the saved stderr for restore_stderr(). */
static int stderr_to_file(const char *dir, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
    return saved;
}

static void restore_stderr(int saved)
{
    dup2(saved, STDERR_FILENO);
    close(saved);
}

static void journal_lines_carry_priorities_and_no_timestamp(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("log-journal");
    char path[600], stream[64];
    int saved = stderr_to_file(dir, "journal", path, sizeof path);
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(stream, sizeof stream, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", stream, 1);
    assert_true(log_detect_journal());
    log_msg(LOG_ERROR, "serve", "broken %d", 1);
    log_msg(LOG_WARNING, "http", "slow");
    log_msg(LOG_INFO, "scheduler", "Health check complete: 1/1 consistent (100.00%%)");
    log_msg(LOG_DEBUG, "http", "GET /metrics 200"); /* below INFO: dropped */
    restore_stderr(saved);
    assert_string_equal(tu_file_text(path), "<3>serve - ERROR - broken 1\n"
                                        "<4>http - WARNING - slow\n"
                                        "<6>scheduler - INFO - Health check complete: 1/1 "
                                        "consistent (100.00%)\n");

    /* Another stream (stderr was redirected after systemd set it), or none: the
     * usual format. */
    saved = stderr_to_file(dir, "other", path, sizeof path);
    assert_false(log_detect_journal()); /* stream still names the first file */
    log_msg(LOG_ERROR, "serve", "plain");
    restore_stderr(saved);
    const char *text = tu_file_text(path);
    assert_int_equal(strlen(text), strlen("YYYY-MM-DD HH:MM:SS - serve - ERROR - plain\n"));
    assert_non_null(strstr(text, " - serve - ERROR - plain\n"));
    assert_true(text[4] == '-' && text[10] == ' ' && text[13] == ':');
    for (size_t i = 0; i < 4; i++) {
        static const char *bad[] = {"", "12", "1:2:3", "a:b"};
        setenv("JOURNAL_STREAM", bad[i], 1);
        assert_false(log_detect_journal());
    }
    unsetenv("JOURNAL_STREAM");
    assert_false(log_detect_journal());
}

static void log_file_follows_a_rename_on_reopen(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("log-file");
    char path[600], rotated[700], err[600];
    snprintf(path, sizeof path, "%s/lockstep.log", dir);
    snprintf(rotated, sizeof rotated, "%s.1", path);
    mode_t old = umask(022);
    assert_int_equal(log_open_file(path, err, sizeof err), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(log_start_async(), 0);
    log_msg(LOG_INFO, "http", "GET /a 200");
    log_msg(LOG_ERROR, "serve", "first error");
    assert_int_equal(rename(path, rotated), 0);
    log_msg(LOG_INFO, "http", "GET /b 200"); /* before the reopen: still the old file */
    assert_int_equal(log_reopen(err, sizeof err), 0);
    log_msg(LOG_INFO, "http", "GET /c 200");
    log_msg(LOG_ERROR, "serve", "second error");
    log_stop_async();
    const char *old_text = tu_file_text(rotated);
    assert_non_null(strstr(old_text, " - http - INFO - GET /a 200\n"));
    assert_non_null(strstr(old_text, " - serve - ERROR - first error\n"));
    const char *new_text = tu_file_text(path);
    assert_non_null(strstr(new_text, " - http - INFO - GET /c 200\n"));
    assert_non_null(strstr(new_text, " - serve - ERROR - second error\n"));
    assert_null(strstr(new_text, "first error"));
    /* The line written between rename and reopen is in one file or the other. */
    assert_true((strstr(tu_file_text(rotated), "GET /b 200") != NULL) !=
                (strstr(tu_file_text(path), "GET /b 200") != NULL));

    /* A path that cannot be opened again keeps the old file and says why. */
    assert_int_equal(tu_sh("rm -rf '%s' && mkdir '%s'", path, path), 0);
    assert_true(log_reopen(err, sizeof err) < 0);
    assert_non_null(strstr(err, "still writing to the old file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(journal_lines_carry_priorities_and_no_timestamp),
        cmocka_unit_test(log_file_follows_a_rename_on_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

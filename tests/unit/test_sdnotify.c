/* test_sdnotify.c — the service manager hears from serve: READY=1 once it
 * listens (with its address in STATUS=), STOPPING=1 on SIGTERM, and nothing
 * is sent (or fails) outside systemd. The manager's side is a datagram
 * socket bound here and named in NOTIFY_SOCKET, as systemd does. */
#include "testutil.h"
#include "util/sdnotify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* A bound datagram socket at dir/notify.sock; its path goes to path_out. */
static int manager_socket(const char *dir, char *path_out, size_t len)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path, sizeof a.sun_path, "%s/notify.sock", dir);
    assert_true(n > 0 && (size_t)n < sizeof a.sun_path);
    snprintf(path_out, len, "%s", a.sun_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* The next message within timeout_ms, NUL-terminated into buf; false on timeout. */
static bool next_message(int fd, char *buf, size_t len, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    ssize_t n = recv(fd, buf, len - 1, 0);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return true;
}

static void nothing_sent_outside_systemd(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sdnotify_ready("x"), 0);
    assert_int_equal(sdnotify_stopping(NULL), 0);
    assert_int_equal(sdnotify_status("y"), 0);
}

static void messages_follow_the_protocol(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("sdnotify-msg");
    char path[256], msg[600];
    int fd = manager_socket(dir, path, sizeof path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(sdnotify_ready("Serving"), 1);
    assert_true(next_message(fd, msg, sizeof msg, 5000));
    assert_string_equal(msg, "READY=1\nSTATUS=Serving");
    /* A status is one line: a newline in it cannot start another assignment. */
    assert_int_equal(sdnotify_status("one\nREADY=1"), 1);
    assert_true(next_message(fd, msg, sizeof msg, 5000));
    assert_string_equal(msg, "STATUS=one READY=1");
    assert_int_equal(sdnotify_stopping(NULL), 1);
    assert_true(next_message(fd, msg, sizeof msg, 5000));
    assert_string_equal(msg, "STOPPING=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

/* The serve process under test; the teardown stops it when a check failed. */
static pid_t serve_pid;

static int stop_serve(void **state)
{
    (void)state;
    if (serve_pid > 0) {
        kill(serve_pid, SIGKILL);
        waitpid(serve_pid, NULL, 0);
        serve_pid = 0;
    }
    return 0;
}

static void serve_is_ready_when_it_listens_and_stops_on_sigterm(void **state)
{
    (void)state;
    const char *tmp = tu_tmpdir("sdnotify-serve");
    char dir[512], path[256], db[600], log[600], msg[600];
    snprintf(dir, sizeof dir, "%s", tmp);
    snprintf(db, sizeof db, "sqlite:%s/lockstep.db", dir);
    snprintf(log, sizeof log, "%s/serve.log", dir);
    int fd = manager_socket(dir, path, sizeof path);

    pid_t pid = fork();
    assert_true(pid >= 0);
    serve_pid = pid;
    if (pid == 0) {
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        setenv("NOTIFY_SOCKET", path, 1);
        execl(tu_bin(), "lockstep", "--data-dir", dir, "--db", db, "serve", "--listen",
              "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    /* READY=1 comes once, after the server listens: its STATUS names the port. */
    bool ready = next_message(fd, msg, sizeof msg, 60000);
    if (!ready)
        tu_sh("cat '%s' >&2", log);
    assert_true(ready);
    assert_non_null(strstr(msg, "READY=1"));
    const char *at = strstr(msg, "STATUS=Serving on http://127.0.0.1:");
    assert_non_null(at);
    long port = strtol(at + strlen("STATUS=Serving on http://127.0.0.1:"), NULL, 10);
    assert_true(port > 0 && port < 65536);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    close(s);

    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_true(next_message(fd, msg, sizeof msg, 60000));
    assert_non_null(strstr(msg, "STOPPING=1"));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    serve_pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_sent_outside_systemd),
        cmocka_unit_test(messages_follow_the_protocol),
        cmocka_unit_test_teardown(serve_is_ready_when_it_listens_and_stops_on_sigterm,
                                  stop_serve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

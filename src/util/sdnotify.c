/* sdnotify.c — systemd's readiness protocol for `serve`; libsystemd does the
 * socket work (abstract sockets, credentials), this file only words the
 * messages. */
#include "util/sdnotify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

/* One datagram: the state line (may be NULL), then STATUS=<status> when
 * given. A status is one line: a newline in it would start another
 * assignment, so it becomes a space; a long one is cut. */
static int send_state(const char *state, const char *status)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s", state ? state : "");
    if (n < 0 || (size_t)n >= sizeof msg)
        return -1;
    if (status && status[0]) {
        int head = snprintf(msg + n, sizeof msg - (size_t)n, "%sSTATUS=", n ? "\n" : "");
        if (head < 0 || (size_t)(n + head) >= sizeof msg)
            return -1;
        size_t at = (size_t)(n + head);
        for (const char *p = status; *p && at + 1 < sizeof msg; p++)
            msg[at++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
        msg[at] = '\0';
    }
    return msg[0] ? sd_notify(0, msg) : 0;
}

int sdnotify_ready(const char *status)
{
    return send_state("READY=1", status);
}

int sdnotify_stopping(const char *status)
{
    return send_state("STOPPING=1", status);
}

int sdnotify_status(const char *status)
{
    return send_state(NULL, status);
}

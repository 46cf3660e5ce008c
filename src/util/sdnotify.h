/* sdnotify.h — tell the service manager how `serve` stands (systemd's
 * Type=notify protocol, through libsystemd's sd_notify). Outside systemd
 * ($NOTIFY_SOCKET unset) every call does nothing. */
#ifndef LOCKSTEP_SDNOTIFY_H
#define LOCKSTEP_SDNOTIFY_H

/* The service is up: it listens and its scheduler runs. Sends READY=1 and
 * STATUS=<status> (status may be NULL). Returns 1 sent, 0 not under a
 * service manager, negative errno on a send failure (never fatal). */
int sdnotify_ready(const char *status);
/* The service is stopping (SIGTERM/SIGINT): STOPPING=1 and STATUS=<status>. */
int sdnotify_stopping(const char *status);
/* A free-form status line (systemctl status shows it). */
int sdnotify_status(const char *status);

#endif

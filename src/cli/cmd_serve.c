/* cmd_serve.c — `lockstep serve`: the API, the dashboard and (from the
 * scheduler) the jobs, until SIGTERM or SIGINT; SIGHUP reopens the logs. */
#include "cli/cli.h"
#include "http/auth.h"
#include "http/router.h"
#include "http/server.h"
#include "service/alerts.h"
#include "service/app.h"
#include "service/daylog.h"
#include "service/metrics.h"
#include "service/readiness.h"
#include "service/watch.h"
#include "service/monitor.h"
#include "service/notify.h"
#include "service/scheduler.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "util/timeutil.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SIGHUP: open the log files anew by name (logrotate renamed them). Requests
 * and jobs go on; a line written meanwhile lands in the old or the new file. */
static void reopen_logs(void)
{
    char err[600];
    daylog_reopen_all();
    if (log_reopen(err, sizeof err) != 0)
        log_msg(LOG_ERROR, "serve", "%s", err);
    else
        log_msg(LOG_INFO, "serve", "received SIGHUP; reopened the log files");
}

/* A store made by an older version (0644) lets every local user read the
 * password hashes and emails: say so at start (the operator decides). */
static void warn_if_store_open_to_others(const char *db)
{
    struct stat st;
    if (strncmp(db, "sqlite:", 7) != 0)
        return;
    const char *path = db[7] == '/' && db[8] == '/' ? db + 9 : db + 7;
    if (stat(path, &st) == 0 && (st.st_mode & 0007))
        log_msg(LOG_WARNING, "serve",
                "the store %s is readable by other users (mode %03o); run: chmod o-rwx %s*",
                path, (unsigned)(st.st_mode & 0777), path);
}

static int pool_size(const struct config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long n = cfg->workers > 0 ? cfg->workers : (cpus > 0 ? cpus : 2) * 2 + 2;
    return (int)(n < 4 ? 4 : n);
}

/* Signals are taken by sigwait(): block them before any thread starts. */
static void block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The app of this process: its configuration, name, data dir and pool of
 * store connections. Returns 0, or prints why and returns EXIT_FAIL. */
static int app_open(struct cli *c, struct app *app)
{
    memset(app, 0, sizeof *app);
    app->cfg = c->cfg;
    app->started_at = time_now_us();
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(app->instance_id, sizeof app->instance_id, "%.40s:%ld", host, (long)getpid());
    int rc = fs_mkdir_p(app->cfg.data_dir, FS_DIR_MODE);
    if (rc) {
        cli_error(c, "cannot create data dir %s: %s", app->cfg.data_dir, strerror(-rc));
        return EXIT_FAIL;
    }
    struct store_options so;
    app_store_options(&app->cfg, &so);
    app->workers = pool_size(&app->cfg);
    char err[600];
    if ((rc = store_pool_open(app->cfg.db, &so, app->workers, &app->pool, err, sizeof err))) {
        cli_store_error(c, rc, err);
        return EXIT_FAIL;
    }
    return 0;
}

/* The job-done hook: the alert rules are evaluated after every job run. */
static void kick_alerts(void *alerts, const char *job, const char *status)
{
    (void)job;
    (void)status;
    alerts_kick(alerts);
}

/* Whether this process leads the scheduled jobs (asked by the evaluation and
 * the outbox). */
static bool leads_jobs(void *scheduler)
{
    return scheduler_is_leader(scheduler);
}

/* The scheduled jobs and, with them, the alert evaluation and the outbox
 * (none with --no-scheduler). Returns 0 or -1 with err. */
static int start_jobs(struct app *app, bool no_scheduler, char *err, size_t errlen)
{
    if (no_scheduler) {
        scheduler_record_disabled(app);
        return 0;
    }
    if (scheduler_start(app, &app->scheduler, err, errlen) != 0 ||
        !(app->notifier = notify_start(app, leads_jobs, app->scheduler, err, errlen)) ||
        !(app->alerts = alerts_start(app, leads_jobs, app->scheduler, err, errlen)))
        return -1;
    if (!strcmp(app->cfg.watch_mode, "triggers")) {
        /* An attached database gets its triggers only on request: without
         * them the watcher would see nothing (watch.md). Poll mode needs
         * none. */
        struct store *s = store_pool_get(app->pool);
        bool installed = true;
        int rc = s->ops->watch_capture_installed ? s->ops->watch_capture_installed(s, &installed)
                                                 : 0;
        if (rc)
            snprintf(err, errlen, "cannot look for the capture triggers: %s", store_errmsg(s));
        store_pool_put(app->pool, s);
        if (rc)
            return -1;
        if (!installed) {
            snprintf(err, errlen, "[watch] mode = triggers, but the capture triggers are not "
                     "installed: run `lockstep watch install` (or --print for a DBA), or set "
                     "[watch] mode = poll or off");
            return -1;
        }
    }
    if (strcmp(app->cfg.watch_mode, "off") != 0 &&
        !(app->watcher = watcher_start(app, leads_jobs, app->scheduler, err, errlen)))
        return -1;
    if (scheduler_add_job_done_hook(app->scheduler, kick_alerts, app->alerts) != 0) {
        snprintf(err, errlen, "cannot hook the alert evaluation to the scheduled jobs");
        return -1;
    }
    return 0;
}

/* Stop what start_jobs started (any part of it): the evaluation and the
 * outbox before the scheduler they ask about, once its jobs no longer kick
 * the evaluation; running jobs get timeout_ms to finish. */
/* Stop the background jobs. False: a scheduled job overran the timeout and
 * still runs with app's pool and monitor (scheduler_stop). */
static bool stop_jobs(struct app *app, long timeout_ms)
{
    watcher_stop(app->watcher);
    app->watcher = NULL;
    scheduler_remove_job_done_hook(app->scheduler, kick_alerts, app->alerts);
    alerts_stop(app->alerts);
    app->alerts = NULL;
    notify_stop(app->notifier);
    app->notifier = NULL;
    bool stopped = scheduler_stop(app->scheduler, timeout_ms);
    app->scheduler = NULL;
    return stopped;
}

/* Start serve's parts in order: metrics and the monitor, auth, the
 * readiness probe, the background jobs, the HTTP server (*srv). Returns 0, or
 * -1 after saying why; what started is stopped by cmd_serve's cleanup. */
static int start_components(struct cli *c, struct app *app, bool no_scheduler,
                            struct http_server **srv)
{
    char err[600];
    int n_routes = 0;
    const char *const *labels = http_route_labels(&n_routes);
    app->metrics = metrics_new(labels, n_routes);
    app->monitor = app->metrics ? monitor_new(&app->cfg, app->metrics) : NULL;
    if (!app->monitor) {
        cli_error(c, "out of memory");
        return -1;
    }
    warn_if_store_open_to_others(app->cfg.db);
    if (auth_init(app, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return -1;
    }
    log_start_async();
    if (!(app->readiness = readiness_start(app, err, sizeof err)) ||
        start_jobs(app, no_scheduler, err, sizeof err) != 0 ||
        http_server_start(app, srv, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return -1;
    }
    return 0;
}

/* Say where serve listens: the process log, the terminal, systemd. */
static void announce(const struct app *app, const char *addr, struct http_server *srv)
{
    log_msg(LOG_INFO, "serve", "Lockstep listening on http://%s:%u (data dir %s, scheduler %s)",
            addr, http_server_port(srv), app->cfg.data_dir, app->scheduler ? "on" : "off");
    printf("Lockstep is serving on http://%s:%u/ (Ctrl-C to stop)\n", addr,
           http_server_port(srv));
    fflush(stdout);
    char status[160];
    snprintf(status, sizeof status, "Serving on http://%s:%u/ (scheduler %s)", addr,
             http_server_port(srv), app->scheduler ? "on" : "off");
    sdnotify_ready(status);
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
    bool no_scheduler = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_CONFIG("--listen", "listen"),
        CLI_CONFIG("--web-dir", "web_dir"),
        CLI_FLAG("--no-scheduler", &no_scheduler),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 0, &args);
    if (rc)
        return rc;
    if ((rc = cli_configure(c)) != 0)
        return rc;
    char err[600], addr[64];
    unsigned port;
    if (http_parse_listen(c->cfg.listen, addr, sizeof addr, &port, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    sigset_t sigs;
    block_signals(&sigs);

    log_set_access(c->cfg.access_log);
    if (c->cfg.log_file[0] && log_open_file(c->cfg.log_file, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    /* Every request allocates and frees a few dozen small blocks (libmicrohttpd
     * and ulfius): keep freed memory for reuse instead of returning it to the
     * kernel after each burst; blocks of 1 MiB and more still come and go
     * with mmap (argon2id's 64 MiB, for one). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    struct app app;
    if ((rc = app_open(c, &app)) != 0)
        return rc;
    int code = EXIT_FAIL;
    struct http_server *srv = NULL;
    if (start_components(c, &app, no_scheduler, &srv) != 0)
        goto out;
    announce(&app, addr, srv);

    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
        reopen_logs();
    app.stopping = 1;
    sdnotify_stopping(sig == SIGINT ? "Stopping (SIGINT)" : "Stopping (SIGTERM)");
    log_msg(LOG_INFO, "serve", "received %s; finishing requests in flight",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv, app.cfg.shutdown_timeout * 1000);
    srv = NULL;
    if (!stop_jobs(&app, app.cfg.shutdown_timeout * 1000)) {
        /* The job still uses the pool, the monitor and app, which lives in
         * this frame: end the process here, without freeing them. Its
         * uncommitted transaction is rolled back by the store. */
        log_msg(LOG_WARNING, "serve", "stopped with a job still running (shutdown_timeout "
                "%ld s); it is marked interrupted at the next start", app.cfg.shutdown_timeout);
        log_stop_async();
        exit(EXIT_OK);
    }
    code = EXIT_OK;
    log_msg(LOG_INFO, "serve", "stopped");
out:
    http_server_stop(srv, 0);
    if (!stop_jobs(&app, 0)) { /* as above: the job's app, pool and monitor stay */
        log_stop_async();
        exit(code);
    }
    readiness_stop(app.readiness);
    auth_shutdown();
    monitor_free(app.monitor);
    metrics_free(app.metrics);
    log_stop_async();
    store_pool_close(app.pool);
    return code;
}

/* testutil.c — shared unit-test helpers. */
#include "testutil.h"

#include "service/users.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int tu_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *tu_tmpdir(const char *name)
{
    static char path[1024];
    const char *base = getenv("LOCKSTEP_TEST_TMP");
    if (!base || !*base)
        base = "/tmp/lockstep-test";
    snprintf(path, sizeof path, "%s/%s-%ld", base, name, (long)getpid());
    tu_sh("rm -rf '%s'", path);
    if (fs_mkdir_p(path, 0755) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        abort();
    }
    return path;
}

const char *tu_url(const char *dir)
{
    static char url[1100];
    const char *pg = getenv("LOCKSTEP_TEST_PG");
    if (pg && *pg)
        snprintf(url, sizeof url, "%s", pg);
    else
        snprintf(url, sizeof url, "sqlite:%s/lockstep.db", dir);
    return url;
}

struct store *tu_store_again(const char *dir)
{
    return tu_store_scan(dir, 8L << 20);
}

struct store *tu_store_scan(const char *dir, long parallel_min_bytes)
{
    struct store *s = NULL;
    char err[600];
    struct store_options o;
    store_options_default(&o);
    o.parallel_scan_min_bytes = parallel_min_bytes;
    if (store_open(tu_url(dir), &o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "cannot open test store: %s\n", err);
        abort();
    }
    return s;
}

struct store *tu_store(const char *name, char *dir_out)
{
    users_init();
    const char *dir = tu_tmpdir(name);
    if (dir_out)
        snprintf(dir_out, 512, "%s", dir);
    return tu_store_again(dir);
}

int64_t tu_user(struct store *s, const char *tag, const char *role)
{
    struct user u;
    memset(&u, 0, sizeof u);
    snprintf(u.email, sizeof u.email, "%s@test.local", tag);
    snprintf(u.name, sizeof u.name, "User %s", tag);
    snprintf(u.password_hash, sizeof u.password_hash, USERS_NO_PASSWORD);
    snprintf(u.role, sizeof u.role, "%s", role ? role : "student");
    u.is_active = true;
    u.created_at = u.updated_at = time_now_us();
    if (s->ops->user_insert(s, &u) != 0) {
        fprintf(stderr, "cannot insert user: %s\n", store_errmsg(s));
        abort();
    }
    return u.id;
}

void tu_pair(struct store *s, int64_t user, const char *spec, int progress_level,
             int license_level)
{
    int64_t now = time_now_us();
    if (progress_level > 0) {
        struct progress p;
        memset(&p, 0, sizeof p);
        p.student_id = user;
        snprintf(p.spec, sizeof p.spec, "%s", spec);
        p.current_level = progress_level;
        p.created_at = p.updated_at = now;
        if (s->ops->progress_insert(s, &p) != 0) {
            fprintf(stderr, "cannot insert progress: %s\n", store_errmsg(s));
            abort();
        }
    }
    if (license_level > 0) {
        struct license l;
        memset(&l, 0, sizeof l);
        l.user_id = user;
        snprintf(l.spec, sizeof l.spec, "%s", spec);
        l.current_level = l.max_achieved_level = license_level;
        l.started_at = l.created_at = l.updated_at = now;
        if (s->ops->license_insert(s, &l) != 0) {
            fprintf(stderr, "cannot insert license: %s\n", store_errmsg(s));
            abort();
        }
    }
}

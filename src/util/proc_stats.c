/* proc_stats.c — /proc/self/stat, /proc/stat's btime and /proc/self/fd, read
 * the way Prometheus's client libraries read them for process_* metrics. */
#include "util/proc_stats.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The system's boot time (Unix seconds) from /proc/stat, or -1. */
static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return -1;
    char line[256];
    long long btime = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    fclose(f);
    return btime;
}

/* Entries of /proc/self/fd, not counting the descriptor that lists them. */
static int64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int self = dirfd(d);
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            n++;
    closedir(d);
    return n;
}

int proc_stats_read(struct proc_stats *out)
{
    char text[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return -1;
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    /* The command name (field 2) is in parentheses and may hold spaces or
     * parentheses itself: the fields resume after the last ')'. */
    const char *p = strrchr(text, ')');
    if (!p)
        return -1;
    unsigned long long utime, stime, starttime, vsize;
    long long rss;
    /* Fields 3..24: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt,
     * cminflt, majflt, cmajflt, utime, stime, cutime, cstime, priority, nice,
     * num_threads, itrealvalue, starttime, vsize, rss. */
    if (sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
               "%*d %llu %llu %lld",
               &utime, &stime, &starttime, &vsize, &rss) != 5)
        return -1;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    long long btime = boot_time();
    if (ticks <= 0 || page <= 0 || btime < 0)
        return -1;
    out->cpu_seconds = (double)(utime + stime) / (double)ticks;
    out->start_time_seconds = (double)btime + (double)starttime / (double)ticks;
    out->virtual_bytes = vsize;
    out->resident_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
    out->open_fds = open_fds();
    struct rlimit rl;
    out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (int64_t)rl.rlim_cur
                       : -1;
    return 0;
}

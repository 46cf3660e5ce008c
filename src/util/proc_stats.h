/* proc_stats.h — this process's CPU time, memory, file descriptors and start
 * time from /proc (Linux), for the standard process_* metrics. */
#ifndef LOCKSTEP_PROC_STATS_H
#define LOCKSTEP_PROC_STATS_H

#include <stdint.h>

struct proc_stats {
    double cpu_seconds;         /* user + system CPU time */
    double start_time_seconds;  /* Unix time the process started */
    uint64_t resident_bytes;
    uint64_t virtual_bytes;
    int64_t open_fds;           /* -1: unknown */
    int64_t max_fds;            /* the soft RLIMIT_NOFILE; -1: unlimited or unknown */
};

/* Read this process's figures. Returns 0, or -1 when /proc/self/stat cannot be
 * read or parsed (then *out is untouched). open_fds and max_fds are -1 when
 * they cannot be read while the rest could. */
int proc_stats_read(struct proc_stats *out);

#endif

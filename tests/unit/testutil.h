/* testutil.h — helpers shared by the unit tests: fresh temporary stores and
 * data dirs, users and pairs arranged in one line. */
#ifndef LOCKSTEP_TESTUTIL_H
#define LOCKSTEP_TESTUTIL_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

/* A fresh empty directory for this test (under LOCKSTEP_TEST_TMP or /tmp).
 * Returned path is static storage valid until the next call. */
const char *tu_tmpdir(const char *name);
/* Open a fresh SQLite store in a fresh directory; the directory goes to
 * dir_out (at least 512 bytes) when non-NULL. Aborts the test on failure. */
struct store *tu_store(const char *name, char *dir_out);
/* A fresh place for a store that is not opened yet: an empty directory (and,
 * on PostgreSQL, an empty database); the directory goes to dir_out (at least
 * 512 bytes). Returns its URL (as tu_url). */
const char *tu_fresh_place(const char *name, char *dir_out);
/* Open another connection to the store of `dir`. */
struct store *tu_store_again(const char *dir);
/* Another connection for tests of writers that contend on purpose: it waits
 * up to a minute for a lock (the default busy timeout is 5 s), so "the busy
 * timeout absorbs the contention" holds however loaded the machine is. */
struct store *tu_store_contended(const char *dir);
/* The same, with full scans threaded from `parallel_min_bytes` (0: always). */
struct store *tu_store_scan(const char *dir, long parallel_min_bytes);
/* The URL of the store under test in `dir` (static storage of the calling
 * thread, valid until its next call). */
const char *tu_url(const char *dir);
/* A student (or other role) with an email made from `tag`; returns its id. */
int64_t tu_user(struct store *s, const char *tag, const char *role);
/* Insert raw rows (bypassing the enforcer) to arrange a pair's state; a level
 * of 0 leaves that side out. */
void tu_pair(struct store *s, int64_t user, const char *spec, int progress_level,
             int license_level);
/* Record a scheduler start at `when` with these intervals (seconds) and the
 * default misfire graces (60 s, 300 s), as `serve` records one. */
void tu_sched_start(struct store *s, int64_t when, const char *owner, long check_interval,
                    long sync_interval);
/* Run a shell command; returns its exit status. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run a shell command and capture its standard output (add "2>&1" or
 * "2>&1 >/dev/null" to the command for standard error) into a static buffer
 * valid until the next call, stored in *out. Returns the exit status, or -1
 * when the command did not exit normally. */
int tu_cmd(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with standard error too (" 2>&1" appended to the command line). */
int tu_cmd_all(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The lockstep binary under test ($LOCKSTEP_BIN). */
const char *tu_bin(void);
/* True when the tests run on PostgreSQL (LOCKSTEP_TEST_PG). */
bool tu_pg(void);
/* Run SQL on the store of `dir` through the backend's own client library, for
 * what the store interface does not offer (raw rows to arrange or inspect).
 * Write portable SQL: it runs on SQLite and PostgreSQL. The result rows go to
 * out (columns joined by '|', rows by '\n', NULL as ""). Returns 0, or -1 with
 * the reason on stderr. */
int tu_sql(const char *dir, char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same, for a query that answers one integer; -1 on any failure. */
long long tu_sql_int(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A file's contents (static buffer, up to 64 KiB, valid until the next call),
 * or "<missing>" when it cannot be read. */
const char *tu_file_text(const char *path);
/* The progression rows of a user's licenses in the store of `dir`,
 * "from|to|advanced_by|reason" by line (static buffer, valid until the next
 * call). Aborts the test when the query fails. */
const char *tu_progression_rows(const char *dir, int64_t user);

#endif

/* migrations.h — what the numbered migrations of the two stores
 * (sqlite/sqlite_schema.h, pg/pg_schema.h) share: the record of one migration
 * and the migrations whose DDL is the same text in both dialects. Private to
 * the store backends. Never edit a released migration: add a new one. */
#ifndef LOCKSTEP_STORE_MIGRATIONS_H
#define LOCKSTEP_STORE_MIGRATIONS_H

struct store_migration {
    int version;
    const char *name;
    const char *sql;        /* Lockstep's own tables: every store; NULL: none */
    const char *domain_sql; /* the domain tables of domain.md: only a store that holds them
                               (own mode; attached mode reads another application's) */
};

/* 10, "sync runs recorded while they run". */
#define MIGRATION_SYNC_RUNS_WHILE_RUNNING                                              \
    "ALTER TABLE sync_runs ADD COLUMN status TEXT NOT NULL DEFAULT 'finished';"        \
    "ALTER TABLE sync_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';"                 \
    "CREATE INDEX sync_runs_running ON sync_runs(status) WHERE status = 'running';"

/* 12, "emails without regard to case": the lookup by lower(email) (attach.md)
 * uses this index. */
#define MIGRATION_EMAILS_WITHOUT_CASE "CREATE INDEX users_email_lower ON users(lower(email));"

/* 13, "where each check read its pairs": a streaming replica or the primary
 * (operations.md, "Reading from a replica"); NULL lag: no replica was asked. */
#define MIGRATION_CHECK_SOURCE                                                          \
    "ALTER TABLE check_runs ADD COLUMN source TEXT NOT NULL DEFAULT 'primary';"          \
    "ALTER TABLE check_runs ADD COLUMN replica_lag_seconds DOUBLE PRECISION;"            \
    "ALTER TABLE check_runs ADD COLUMN replica_fallback TEXT NOT NULL DEFAULT '';"

/* 14, "change capture and the watcher": the kind of each recorded check
 * (full | incremental) and the pairs a full sweep found the watcher wrong
 * about (watch.md). */
#define MIGRATION_WATCH_COMMON                                                          \
    "ALTER TABLE check_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'full';"               \
    "ALTER TABLE check_runs ADD COLUMN divergences INTEGER NOT NULL DEFAULT 0;"

/* 15, "poll watermarks": where [watch] mode = poll stands in each table
 * (watch.md): the text of the newest updated_at taken; NULL: not polled yet. */
#define MIGRATION_POLL_WATERMARKS                                                       \
    "ALTER TABLE watch_state ADD COLUMN progress_watermark TEXT;"                        \
    "ALTER TABLE watch_state ADD COLUMN license_watermark TEXT;"

/* 17, "the newest open violations in order": the page of /violations and a
 * run's newest (first_seen descending, then the pair and issue) read from
 * one partial index, backwards, a page's rows and no more. On
 * violations(first_seen) every row of the newest first_seen had to be read
 * and sorted: a batch of the watcher or a full check opens thousands at one
 * instant, and a scheduled run with nothing changed took 12 ms at 317,000
 * open violations (docs/benchmarks.md, run W6). Its columns run the other
 * way from the page's order so that a batch, which opens its violations
 * last pair first (sqlite_watch.c), appends each at the index's end. */
#define MIGRATION_VIOLATIONS_NEWEST                                                     \
    "DROP INDEX IF EXISTS violations_first_seen;"                                        \
    "CREATE INDEX IF NOT EXISTS violations_newest"                                       \
    " ON violations(first_seen, user_id DESC, specialization DESC, issue_type DESC)"     \
    " WHERE resolved_at IS NULL;"

#endif

/* login_throttle.h — failed logins counted per account and per client address
 * in a fixed-size table that never forgets a failure to make room: when it is
 * full, a login whose failure could not be counted is refused instead.
 *
 * Keys are stored only as their SipHash (libsodium crypto_shorthash) under a
 * key drawn at random when the process starts, so nobody can choose emails or
 * addresses that land on a given record. A lookup probes a bounded run of
 * slots; a slot is reused only when its failures have all left the window and
 * no attempt is being verified against it. */
#ifndef LOGIN_THROTTLE_H
#define LOGIN_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGIN_THROTTLE_KEEP_MAX 256 /* the most failure times one record keeps */

struct login_throttle_limits {
    long account_max;  /* failures for one account (email) in the window */
    long address_max;  /* failures from one client address, any accounts */
    long window_s;
};

/* An attempt let through by login_throttle_begin: pass it to _end. */
struct login_throttle_ticket {
    long account_slot, address_slot;
};

/* Allocate `slots` records (each keeps up to `keep` failure times, at most
 * LOGIN_THROTTLE_KEEP_MAX: the larger of the two limits). Idempotent
 * while initialised. Returns 0 or -1 (out of memory, libsodium). */
int login_throttle_init(long slots, long keep);
void login_throttle_shutdown(void);
/* Before a password is verified. Returns 0 (go on; t filled), or the seconds
 * to wait (> 0) when the account or the address has reached its limit
 * (failures plus attempts still being verified) or when the table has no room
 * to count a failure of this attempt. */
long login_throttle_begin(const char *account, const char *address, int64_t now_us,
                          const struct login_throttle_limits *lim,
                          struct login_throttle_ticket *t);
enum login_outcome {
    LOGIN_FAILED,    /* wrong password or unknown account: a failure for both keys */
    LOGIN_SUCCEEDED, /* the right password: the account's failures are cleared (never
                        the address's: a login to one account must not reset what was
                        counted from that address for others) */
    LOGIN_ABANDONED  /* not verified (a store error): nothing counted, nothing cleared */
};

/* After the verification of an attempt that login_throttle_begin let through. */
void login_throttle_end(const struct login_throttle_ticket *t, enum login_outcome outcome,
                        int64_t now_us);
/* Whether the table had no room since the last call (for a warning in the log). */
bool login_throttle_was_full(void);

#endif

/*  ih_audit.h: the Members Zone's audit log, append-only and hash-chained.

    One file (AGENTDIR/console/audit.log, 0600), one JSON object a line:

      {"seq":1,"time":"2026-12-06T10:00:00.000Z","actor":"alice","addr":"127.0.0.1",
       "event":"login","detail":"…","prev":"<64 hex>","hash":"<64 hex>"}

    "prev" is the hash of the line before (64 zeros for the first), and "hash" is
    BLAKE2b-256 over prev's 32 bytes followed by the line's bytes up to (not including)
    ",\"hash\"". Each entry thus commits to every entry before it: editing, removing or
    reordering any line, or flipping one byte anywhere, breaks the chain at that line,
    and ih_audit_verify says where. (Cutting lines off the end cannot be seen from the
    file alone: the count of entries is shown on the admin page and in the agent's log.)

    Writers (the console, the `user` commands) append under an exclusive flock, read
    the last line's seq and hash, and write the new line with one write(2) in O_APPEND
    mode, then fsync. Events: login, login-failed, totp-failed, totp-reuse, throttled,
    logout, session-ended, password-changed, totp-reset, recovery-used, user-added,
    user-removed, user-changed, users-listed, and every action taken (publish, revise, retract,
    comment, sighting, export).

    Threading: an ih_audit_t may be shared by threads (appends are serialised inside).
*/
#ifndef IH_AUDIT_H
#define IH_AUDIT_H

#include "ih_util.h"

typedef struct ih_audit ih_audit_t;

/*  Opens (creating, 0600) the log at path. NULL with err. */
ih_audit_t *ih_audit_open(const char *path, ih_err_t *err);
void ih_audit_destroy(ih_audit_t **self_p);

/*  Appends one entry. actor: a user name or "-" ; addr: the client address or "cli";
    event: one of the names above; detail: free text (escaped as JSON). Returns 0, or -1
    with err (the disk: nothing half-written stays, the line is written with one call). */
int ih_audit_append(ih_audit_t *self, const char *actor, const char *addr, const char *event,
                    const char *detail, ih_err_t *err);
int ih_audit_appendf(ih_audit_t *self, const char *actor, const char *addr, const char *event,
                     ih_err_t *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*  Walks the file at path and checks every line's hash and chain. Returns 0 with
    *entries set, or -1 with err naming the first bad line ("audit.log:12: hash does not
    match: the line was changed" …). A missing file is an empty log. */
int ih_audit_verify(const char *path, uint64_t *entries, ih_err_t *err);

/*  One entry as read back (strings borrowed for the call). */
typedef struct {
    uint64_t seq;
    const char *time, *actor, *addr, *event, *detail;
} ih_audit_entry_t;
typedef int (ih_audit_fn)(const ih_audit_entry_t *e, void *arg);
/*  Calls fn for the last `max` entries (all when 0), oldest first; fn returns 0 to go
    on. Returns 0, fn's value, or -1 with err. */
int ih_audit_tail(const char *path, size_t max, ih_audit_fn *fn, void *arg, ih_err_t *err);

void ih_audit_test(bool verbose);

#endif

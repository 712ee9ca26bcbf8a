/*  ih_users.h: the Members Zone's accounts: the people of a member organisation who log
    in to its console, their sessions, and the throttle on failed logins (OWASP ASVS
    4.0.3 V2 and V3). The member's keys are not here: they stay with the agent daemon.

    STORAGE. One LMDB environment in a directory (AGENTDIR/console by default, created
    0700), shared by the console (sessions, throttle, last TOTP step) and the `user`
    commands of infohub-agent (LMDB takes one writer at a time across processes):
      users     name -> JSON record (ih_user_t)
      sessions  BLAKE2b-256 of the session id -> JSON {user, full, created, seen, csrf,
                addr}: the id itself is never stored, so a copy of the database does
                not let anyone into a session
      throttle  "u:NAME" or "a:ADDR" -> {failures, first, until}

    ROLES. analyst reads, comments and reports sightings; publisher also shares, revises
    and retracts alerts; admin also manages users and reads the audit log.

    PASSWORDS. argon2id through libsodium's crypto_pwhash_str, with its INTERACTIVE
    limits (64 MiB, 2 passes: ASVS 2.4.4 asks for at least those). A new password has
    12 to 128 characters, is not the user's name, and is not on a list of common
    passwords (ih_users_password_policy). An unknown user's login runs the same hash
    (ih_users_password_verify with no user), so it takes the same time.

    TOTP (ih_totp.h). The secret is stored sealed under the console key, which this
    module never sees. ih_users_totp_step records the step of an accepted code atomically:
    a code whose step is not above the last one used is a reuse, refused and counted
    (reuse_seen), so the user sees it at the next login (ASVS 2.8.4, 2.8.5).

    SESSIONS. 256-bit random ids, base64url (43 characters), stored hashed. A session is
    "pending" after the password step (5 minutes to give the code) and "full" after the
    TOTP step, which always starts a new session (a new id at login); a user has one
    pending session at a time (ih_users_session_end_pending). A full session
    ends after 30 minutes idle or 12 hours in all, or at logout. Each carries its own
    CSRF token (32 random bytes, base64url).

    THROTTLE. Per key (the account, and the client address), failures count in a window
    of 15 minutes from the first: the first 3 cost nothing, the 4th and later make the
    next attempt wait 1, 2, 4 … seconds (at most 60), and after 10 the key is refused
    until the window ends. A success clears the account's key.

    Threading: an ih_users_t may be used from several threads (LMDB serialises writers;
    each call runs its own transaction).
*/
#ifndef IH_USERS_H
#define IH_USERS_H

#include <sodium.h>

#include "ih_totp.h"

#define IH_USER_NAME        64
#define IH_USER_DISPLAY     128
#define IH_USER_RECOVERY    10          /* single-use recovery codes */
#define IH_RECOVERY_LEN     16          /* "abcd-efgh-jkmn-pqrs" without the dashes */
#define IH_SESSION_ID       43          /* base64url of 32 bytes */
#define IH_SESSION_IDLE_MS  (30 * 60 * 1000LL)
#define IH_SESSION_MAX_MS   (12 * 3600 * 1000LL)
#define IH_SESSION_PENDING_MS (5 * 60 * 1000LL)
#define IH_THROTTLE_WINDOW_MS (15 * 60 * 1000LL)
#define IH_THROTTLE_MAX     10

typedef enum { IH_USER_ANALYST = 0, IH_USER_PUBLISHER, IH_USER_ADMIN } ih_user_role_t;

/*  "analyst", "publisher", "admin"; parse returns 0 or -1. */
const char *ih_user_role_name(ih_user_role_t r);
int ih_user_role_parse(const char *s, ih_user_role_t *r);

typedef struct {
    char name [IH_USER_NAME + 1];           /* login name: a slug */
    char display [IH_USER_DISPLAY + 1];     /* shown with comments and alerts */
    ih_user_role_t role;
    char pwhash [crypto_pwhash_STRBYTES];
    uint8_t totp [IH_TOTP_SEALED];          /* the sealed TOTP secret */
    uint64_t last_step;                     /* the last TOTP step used */
    uint8_t recovery [IH_USER_RECOVERY][32];/* BLAKE2b of each code; all zero once used */
    int64_t created, pw_changed, last_login, prev_login, last_visit;   /* ms */
    uint32_t reuse_seen;                    /* TOTP reuses since the last login */
} ih_user_t;

typedef struct ih_users ih_users_t;

/*  Opens (creating) the accounts database in dir. NULL with err. */
ih_users_t *ih_users_open(const char *dir, ih_err_t *err);
void ih_users_destroy(ih_users_t **self_p);

/* ---- accounts -------------------------------------------------------------------------- */
/*  1 (found, u filled), 0 (no such user), -1 with err. */
int ih_users_get(ih_users_t *self, const char *name, ih_user_t *u, ih_err_t *err);
/*  Writes u; with create, fails ("user NAME exists") when the name is taken. 0 or -1. */
int ih_users_put(ih_users_t *self, const ih_user_t *u, bool create, ih_err_t *err);
/*  Removes a user and ends all its sessions. 1 removed, 0 no such user, -1. */
int ih_users_remove(ih_users_t *self, const char *name, ih_err_t *err);
typedef int (ih_users_fn)(const ih_user_t *u, void *arg);
/*  Every user in name order; fn returns 0 to go on. 0, fn's value, or -1. */
int ih_users_foreach(ih_users_t *self, ih_users_fn *fn, void *arg, ih_err_t *err);

/* ---- passwords and codes ------------------------------------------------------------------- */
/*  0 when pw may be a new password for name, else -1 with err saying why (too short,
    too long, the user's name, a common password). */
int ih_users_password_policy(const char *pw, const char *name, ih_err_t *err);
/*  Checks the policy and stores pw's argon2id hash in u. 0 or -1 with err. */
int ih_users_password_set(ih_user_t *u, const char *pw, ih_err_t *err);
/*  True when pw is u's password. u NULL (no such user) runs the same hash on a dummy
    and returns false, so that the answer takes the same time. */
bool ih_users_password_verify(const ih_user_t *u, const char *pw);
/*  New recovery codes: writes IH_USER_RECOVERY codes, formatted "xxxx-xxxx-xxxx-xxxx"
    (20 bytes each with the NUL), and stores their hashes in u. */
void ih_users_recovery_new(ih_user_t *u, char codes [IH_USER_RECOVERY][20]);
/*  Uses a recovery code (dashes and case ignored): true and marks it used, or false. */
bool ih_users_recovery_use(ih_user_t *u, const char *code);
/*  How many recovery codes are left. */
int ih_users_recovery_left(const ih_user_t *u);
/*  Records that user name gave a valid code of TOTP step `step`, atomically: 1 when step
    is above the last one used (it becomes the last), 0 when it is not (a reuse: counted
    in reuse_seen), -1 with err (also: no such user). */
int ih_users_totp_step(ih_users_t *self, const char *name, uint64_t step, ih_err_t *err);

/* ---- sessions ---------------------------------------------------------------------------------- */
typedef struct {
    char user [IH_USER_NAME + 1];
    bool full;                              /* both steps done */
    int64_t created, seen;                  /* ms */
    char csrf [IH_SESSION_ID + 1];
    char addr [64];                         /* client address at creation */
    char handle [17];                       /* 16 hex of the id's hash: names it in lists */
} ih_session_t;

/*  Starts a session for user (pending unless full) from addr. Writes the new id (44
    bytes with the NUL) and fills s. 0 or -1. */
int ih_users_session_new(ih_users_t *self, const char *user, bool full, const char *addr,
                         char id [IH_SESSION_ID + 1], ih_session_t *s, ih_err_t *err);
/*  Looks session id up at time now (ms): 1 valid (s filled; seen is updated when it is
    more than 30 s old), 0 none or expired (an expired one is deleted), -1. */
int ih_users_session_get(ih_users_t *self, const char *id, int64_t now, ih_session_t *s, ih_err_t *err);
/*  Ends session id (logout). 1 ended, 0 none, -1. */
int ih_users_session_end(ih_users_t *self, const char *id, ih_err_t *err);
/*  Ends the session that `handle` names, if it is user's. 1, 0, -1. */
int ih_users_session_end_handle(ih_users_t *self, const char *user, const char *handle, ih_err_t *err);
/*  Ends all of user's sessions (but `except`, a session id, when not NULL). Returns the
    number ended or -1. */
int ih_users_session_end_all(ih_users_t *self, const char *user, const char *except, ih_err_t *err);
/*  Ends user's pending sessions (the password step done, the code not yet given) but
    `except` (a session id, or NULL). The console calls it after each password success,
    so that a user has one pending session at a time: someone who knows the password
    cannot pile up sessions waiting for a code. Returns the number ended or -1. */
int ih_users_session_end_pending(ih_users_t *self, const char *user, const char *except, ih_err_t *err);
typedef int (ih_session_fn)(const ih_session_t *s, void *arg);
/*  Calls fn for each live session of user (expired ones are skipped). 0, fn's value, -1. */
int ih_users_sessions_of(ih_users_t *self, const char *user, int64_t now, ih_session_fn *fn, void *arg,
                         ih_err_t *err);

/* ---- throttle ------------------------------------------------------------------------------------ */
/*  May key try now? 1 yes; 0 no, with *retry_ms the wait and *locked true when the key
    reached IH_THROTTLE_MAX failures (the wait is then the rest of the window); -1. */
int ih_users_throttle_check(ih_users_t *self, const char *key, int64_t now, int64_t *retry_ms,
                            bool *locked, ih_err_t *err);
/*  Counts a failure of key at now. Returns the failures in the window, or -1. */
int ih_users_throttle_fail(ih_users_t *self, const char *key, int64_t now, ih_err_t *err);
/*  Forgets key's failures. 0 or -1. */
int ih_users_throttle_clear(ih_users_t *self, const char *key, ih_err_t *err);

void ih_users_test(bool verbose);

#endif

/*  ih_con_login.h: the console's login, in two steps, and logout (ih_con.h has the gate).

      GET  /login           the password step's form (a full session goes home)
      POST /login           user, password: throttled per account and per client address
                            (ih_users_throttle_*); an unknown user is answered as a wrong
                            password, after the same argon2id work; on success a pending
                            session (5 minutes) and its cookie, then /login/code
      GET  /login/code      the code step's form (pending sessions only)
      POST /login/code      code: 6 digits checked by the agent daemon (totp-check: the
                            console never sees the secret), then the step is recorded
                            (ih_users_totp_step): a code used once is refused, counted and
                            shown at the next login; or a single-use recovery code. On
                            success the pending session ends and a new full one starts (a
                            new id at login)
      POST /logout          ends the session, clears the cookie

    Every outcome goes to the audit log: login-password, login, login-failed,
    totp-failed, totp-reuse, recovery-used, throttled, logout.
*/
#ifndef IH_CON_LOGIN_H
#define IH_CON_LOGIN_H

#include "ih_con.h"

void ih_con_login(ih_con_req_t *x);
void ih_con_login_code(ih_con_req_t *x);
void ih_con_logout(ih_con_req_t *x);

/*  Sets the session cookie (IH_CON_COOKIE) to id; NULL clears it. */
void ih_con_login_cookie(ih_con_req_t *x, const char *id);

#endif

/*  ih_con_account.h: the user's own account in the console.

      GET  /account            who you are, your sessions, the forms below
      POST /account/password   current, new, again: the policy (ih_users_password_policy),
                               then every other session of the user ends
      POST /account/totp       re-authenticate (password): the daemon makes a new secret
                               (op totp-new), shown once as a QR code, the base32 secret and
                               the otpauth URI; it takes effect when a code from it is
                               confirmed (second POST: the sealed secret, bound to the user
                               and the moment by a key of this process, and the code)
      POST /account/recovery   re-authenticate: ten new recovery codes, shown once (the old
                               ones stop working)
      POST /account/sessions   handle: ends one of the user's sessions (this one: logout)

    A wrong password here counts against the account's throttle like a login's. Every
    change goes to the audit log (password-changed, totp-reset, recovery-new,
    session-ended).
*/
#ifndef IH_CON_ACCOUNT_H
#define IH_CON_ACCOUNT_H

#include "ih_con.h"

void ih_con_account(ih_con_req_t *x);
void ih_con_account_password(ih_con_req_t *x);
void ih_con_account_totp(ih_con_req_t *x);
void ih_con_account_recovery(ih_con_req_t *x);
void ih_con_account_session_end(ih_con_req_t *x);

/*  Shared with the admin pages: a new TOTP secret from the daemon for account (user
    name), with the page that shows it once (QR code, secret, URI) appended to b.
    Writes the sealed secret into sealed. Returns 0, or -1 with x->error set. */
int ih_con_totp_enrol(ih_con_req_t *x, const char *account, uint8_t sealed [IH_TOTP_SEALED], ih_buf_t *b);
/*  A random password that passes the policy (20 characters), into out (21 bytes). */
void ih_con_password_new(char out [21]);

#endif

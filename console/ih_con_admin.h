/*  ih_con_admin.h: the console's administration (admin role): users, roles, the audit log.

      GET  /admin        the users (role, last login, recovery codes left, codes reused),
                         a form to add one, and the audit log: its chain verified
                         (ih_audit_verify) and its last 200 entries, newest first
      POST /admin/add    name, display, role: a random password and a TOTP secret (op
                         totp-new), shown once with the QR code and recovery codes
      POST /admin/user   name, action: role (role=...), reset-password, reset-otp, remove
                         (confirm=1); each resetting action ends the user's sessions. An
                         admin cannot change or remove their own account here (no lock-out)

    Everything goes to the audit log (user-added, user-changed, user-removed).
*/
#ifndef IH_CON_ADMIN_H
#define IH_CON_ADMIN_H

#include "ih_con.h"

void ih_con_admin(ih_con_req_t *x);
void ih_con_admin_add(ih_con_req_t *x);
void ih_con_admin_user(ih_con_req_t *x);

#endif

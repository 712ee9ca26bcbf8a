/*  ih_con_login.c: the two login steps and logout (see ih_con_login.h). */
#include <ctype.h>
#include <czmq.h>

#include "ih_con_login.h"
#include "ih_html.h"

void
ih_con_login_cookie (ih_con_req_t *x, const char *id)
{
    //  A browser-session cookie: the server ends the session (idle, absolute, logout);
    //  the browser forgets it when it closes.
    ih_req_set_cookie (x->r, IH_CON_COOKIE, id ? id : "", id ? -1 : 0);
}

/*  Both throttle keys (the account's and the address's) allow a try now? Else audits
    and shows when to try again, and returns false. */
static bool
s_throttle_ok (ih_con_req_t *x, const char *user, bool *failed)
{
    char keys [2][IH_USER_NAME + 72];
    snprintf (keys [0], sizeof keys [0], "u:%.*s", IH_USER_NAME, user);
    snprintf (keys [1], sizeof keys [1], "a:%s", x->addr);
    int64_t worst = 0;
    bool locked = false;
    for (int i = 0; i < 2; i++) {
        int64_t retry = 0;
        bool lk = false;
        ih_err_t err = { "" };
        int rc = ih_users_throttle_check (x->con->users, keys [i], ih_now_ms (), &retry, &lk, &err);
        if (rc < 0) {
            fprintf (stderr, "E console: %s\n", err.msg);
            *failed = true;
            return false;
        }
        if (rc == 0) {
            worst = retry > worst ? retry : worst;
            locked = locked || lk;
        }
    }
    if (worst == 0)
        return true;
    ih_con_audit (x, "throttled", "login as %.64s refused for %" PRId64 " s%s", user, (worst + 999) / 1000,
                  locked ? " (10 failures in 15 minutes)" : "");
    return false;
}

/*  Counts a failure of the account and of the address. */
static void
s_throttle_fail (ih_con_req_t *x, const char *user)
{
    char key [IH_USER_NAME + 72];
    ih_err_t err = { "" };
    snprintf (key, sizeof key, "u:%.*s", IH_USER_NAME, user);
    if (ih_users_throttle_fail (x->con->users, key, ih_now_ms (), &err) < 0)
        fprintf (stderr, "E console: %s\n", err.msg);
    snprintf (key, sizeof key, "a:%s", x->addr);
    if (ih_users_throttle_fail (x->con->users, key, ih_now_ms (), &err) < 0)
        fprintf (stderr, "E console: %s\n", err.msg);
}

/* ---- the password step ---------------------------------------------------------------------- */

static void
s_login_page (ih_con_req_t *x, const char *user, int status)
{
    ih_buf_t *b = &x->r->body;
    ih_con_begin_bare (x, "Log in");
    ih_html_puts (b, "<h1>Log in</h1><p class=\"lede\">");
    ih_html_esc (b, x->con->site);
    ih_html_puts (b, ": the Members Zone of <strong>");
    ih_html_esc (b, x->con->org);
    ih_html_puts (b, "</strong>. Two steps: your password, then a code from your authenticator app."
                     "</p>\n<form class=\"form\" method=\"post\" action=\"/login\">"
                     "<div class=\"row\"><label for=\"user\">User name</label><input type=\"text\" "
                     "id=\"user\" name=\"user\" autocomplete=\"username\" autocapitalize=\"none\" "
                     "spellcheck=\"false\" maxlength=\"64\" required value=\"");
    ih_html_esc (b, user);
    ih_buf_printf (b, "\"%s></div><div class=\"row\"><label for=\"password\">Password</label>"
                    "<input type=\"password\" id=\"password\" name=\"password\" "
                    "autocomplete=\"current-password\" maxlength=\"256\" required%s></div>"
                    "<div class=\"actions\"><button type=\"submit\">Next</button></div></form>\n",
                    *user ? "" : " autofocus", *user ? " autofocus" : "");
    ih_con_end (x);
    x->r->status = status;
}

void
ih_con_login (ih_con_req_t *x)
{
    if (x->session && x->sess.full && x->user_ok) {
        ih_req_redirect (x->r, "/");
        return;
    }
    if (!x->r->post) {
        if (ih_req_arg (x->r, "out"))
            x->notice = "You are logged out.";
        s_login_page (x, "", 200);
        return;
    }
    const char *user = ih_req_form (x->r, "user");
    const char *pw = ih_req_form (x->r, "password");
    if (!user || !pw || !*user || strlen (user) > IH_USER_NAME || strlen (pw) > 256) {
        x->error = "Give your user name and your password.";
        s_login_page (x, user && strlen (user) <= IH_USER_NAME ? user : "", 400);
        return;
    }
    bool failed = false;
    if (!s_throttle_ok (x, user, &failed)) {
        x->error = failed ? "The accounts database cannot be read right now."
                          : "Too many failed attempts: wait a while before you try again.";
        s_login_page (x, user, failed ? 503 : 429);
        return;
    }
    ih_user_t u;
    ih_err_t err = { "" };
    int found = ih_users_get (x->con->users, user, &u, &err);
    if (found < 0) {
        fprintf (stderr, "E console: %s\n", err.msg);
        x->error = "The accounts database cannot be read right now.";
        s_login_page (x, user, 503);
        return;
    }
    //  An unknown user costs the same argon2id work and gets the same answer.
    bool ok = ih_users_password_verify (found == 1 ? &u : NULL, pw);
    sodium_memzero (&u, sizeof u);
    if (!ok) {
        s_throttle_fail (x, user);
        ih_con_audit (x, "login-failed", "user %.64s: %s", user, found == 1 ? "wrong password" : "no such user");
        x->error = "Wrong user name or password.";
        s_login_page (x, user, 403);
        return;
    }
    if (x->session)
        ih_users_session_end (x->con->users, x->sid, NULL);
    char id [IH_SESSION_ID + 1];
    ih_session_t s;
    if (ih_users_session_new (x->con->users, user, false, x->addr, id, &s, &err) != 0) {
        fprintf (stderr, "E console: %s\n", err.msg);
        x->error = "The accounts database cannot be written right now.";
        s_login_page (x, user, 503);
        return;
    }
    //  One pending session per user: the others (an earlier tab, or someone else who has
    //  the password) end here, so they cannot pile up waiting for a code.
    int ended = ih_users_session_end_pending (x->con->users, user, id, &err);
    if (ended < 0)
        fprintf (stderr, "E console: %s\n", err.msg);
    snprintf (x->sess.user, sizeof x->sess.user, "%s", user);
    x->session = true;
    ih_con_audit (x, "login-password", "password accepted; the code step follows%s",
                  ended > 0 ? " (an earlier pending login ended)" : "");
    ih_con_login_cookie (x, id);
    sodium_memzero (id, sizeof id);
    ih_req_redirect (x->r, "/login/code");
}

/* ---- the code step ----------------------------------------------------------------------------- */

static void
s_code_page (ih_con_req_t *x, int status)
{
    ih_buf_t *b = &x->r->body;
    ih_con_begin_bare (x, "Code");
    ih_html_puts (b, "<h1>Your code</h1><p class=\"lede\">Logged in as <strong>");
    ih_html_esc (b, x->sess.user);
    ih_html_puts (b, "</strong>. Type the 6-digit code your authenticator app shows now, or one "
                     "of your recovery codes.</p>\n<form class=\"form\" method=\"post\" "
                     "action=\"/login/code\">");
    ih_con_csrf_field (x);
    ih_html_puts (b, "<div class=\"row\"><label for=\"code\">Code</label><input type=\"text\" "
                     "id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" "
                     "maxlength=\"24\" required autofocus></div><div class=\"actions\">"
                     "<button type=\"submit\">Log in</button></div></form>\n"
                     "<form method=\"post\" action=\"/logout\">");
    ih_con_csrf_field (x);
    ih_html_puts (b, "<button class=\"quiet small\" type=\"submit\">Start again</button></form>\n");
    ih_con_end (x);
    x->r->status = status;
}

/*  The code as typed without spaces and dashes, into out; true when it has 6 digits. */
static bool
s_code_clean (const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 1 < size; in++)
        if (!isspace ((unsigned char) *in))
            out [n++] = *in;
    out [n] = 0;
    if (n != IH_TOTP_DIGITS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit ((unsigned char) out [i]))
            return false;
    return true;
}

/*  Checks a 6-digit code with the daemon and records its step. Returns 1 (accepted), 0
    (refused: x->error says why), -1 (the daemon or the database failed: x->error). */
static int
s_check_totp (ih_con_req_t *x, const ih_user_t *u, const char *code)
{
    char sealed [2 * IH_TOTP_SEALED + 1];
    ih_hex_encode (u->totp, sizeof u->totp, sealed);
    json_t *req = json_pack ("{s:s, s:s, s:s}", "sealed", sealed, "code", code, "name", u->name);
    ih_err_t err = { "" };
    json_t *ans = ih_con_call (x, "totp-check", req, 5000, &err);
    if (!ans) {
        fprintf (stderr, "E console: %s\n", err.msg);
        x->error = "The agent daemon does not answer, so the code cannot be checked: is "
                   "`infohub-agent run` running?";
        return -1;
    }
    int ret = 0;
    if (json_is_true (json_object_get (ans, "ok"))) {
        json_int_t step = json_integer_value (json_object_get (ans, "step"));
        int rc = ih_users_totp_step (x->con->users, u->name, (uint64_t) step, &err);
        if (rc < 0) {
            fprintf (stderr, "E console: %s\n", err.msg);
            x->error = "The accounts database cannot be written right now.";
            ret = -1;
        }
        else
        if (rc == 0) {
            //  A code already used (a replay, or a second login within 30 s): refused,
            //  counted on the account, shown at the next login.
            ih_con_audit (x, "totp-reuse", "a code of step %" PRId64 " was used again", (int64_t) step);
            x->error = "That code was used already. Wait for the next one (a new code every 30 seconds).";
        }
        else
            ret = 1;
    }
    else {
        char why [256];
        ih_con_audit (x, "totp-failed", "%s", ih_con_refusal (ans, why, sizeof why));
        x->error = "Wrong code.";
    }
    json_decref (ans);
    return ret;
}

void
ih_con_login_code (ih_con_req_t *x)
{
    if (!x->r->post) {
        s_code_page (x, 200);
        return;
    }
    if (x->stale) {
        //  A stale form: ask for the code again (a code is never echoed).
        s_code_page (x, 403);
        return;
    }
    const char *user = x->sess.user;
    bool failed = false;
    if (!s_throttle_ok (x, user, &failed)) {
        x->error = failed ? "The accounts database cannot be read right now."
                          : "Too many failed attempts: wait a while before you try again.";
        s_code_page (x, failed ? 503 : 429);
        return;
    }
    ih_user_t u;
    ih_err_t err = { "" };
    if (ih_users_get (x->con->users, user, &u, &err) != 1) {
        ih_users_session_end (x->con->users, x->sid, NULL);
        ih_con_login_cookie (x, NULL);
        ih_req_redirect (x->r, "/login");
        return;
    }
    char code [32];
    const char *typed = ih_req_form (x->r, "code");
    int ok = 0;
    bool recovery = false;
    if (typed && s_code_clean (typed, code, sizeof code))
        ok = s_check_totp (x, &u, code);
    else
    if (typed && *typed && strlen (typed) < 32) {
        recovery = true;
        if (ih_users_recovery_use (&u, typed)) {
            if (ih_users_put (x->con->users, &u, false, &err) != 0) {
                fprintf (stderr, "E console: %s\n", err.msg);
                x->error = "The accounts database cannot be written right now.";
                ok = -1;
            }
            else {
                ih_con_audit (x, "recovery-used", "a recovery code was used (%d left)",
                              ih_users_recovery_left (&u));
                ok = 1;
            }
        }
        else {
            ih_con_audit (x, "totp-failed", "a wrong recovery code");
            x->error = "Wrong code.";
        }
    }
    else
        x->error = "Type the 6-digit code of your authenticator app, or a recovery code.";
    sodium_memzero (&u, sizeof u);
    sodium_memzero (code, sizeof code);
    if (ok < 0) {
        s_code_page (x, 503);
        return;
    }
    if (ok == 0) {
        s_throttle_fail (x, user);
        s_code_page (x, 403);
        return;
    }
    //  Both steps done: a new session id (the pending one ends), the account's failures
    //  forgotten, the login recorded.
    char id [IH_SESSION_ID + 1];
    ih_session_t s;
    char name [IH_USER_NAME + 1];
    snprintf (name, sizeof name, "%s", user);
    ih_users_session_end (x->con->users, x->sid, NULL);
    if (ih_users_session_new (x->con->users, name, true, x->addr, id, &s, &err) != 0) {
        fprintf (stderr, "E console: %s\n", err.msg);
        x->error = "The accounts database cannot be written right now.";
        s_code_page (x, 503);
        return;
    }
    char key [IH_USER_NAME + 8];
    snprintf (key, sizeof key, "u:%s", name);
    ih_users_throttle_clear (x->con->users, key, NULL);
    if (ih_users_get (x->con->users, name, &u, &err) == 1) {
        u.prev_login = u.last_login;
        u.last_login = ih_now_ms ();
        ih_users_put (x->con->users, &u, false, &err);
        sodium_memzero (&u, sizeof u);
    }
    ih_con_audit (x, "login", "both steps done (%s)", recovery ? "recovery code" : "TOTP");
    ih_con_login_cookie (x, id);
    sodium_memzero (id, sizeof id);
    ih_req_redirect (x->r, "/");
}

/* ---- logout ------------------------------------------------------------------------------------- */

void
ih_con_logout (ih_con_req_t *x)
{
    ih_users_session_end (x->con->users, x->sid, NULL);
    ih_con_audit (x, "logout", "session ended by the user");
    ih_con_login_cookie (x, NULL);
    ih_req_redirect (x->r, "/login?out=1");
}

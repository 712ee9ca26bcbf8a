/*  ih_con_account.c: the user's own account (see ih_con_account.h). */
#include <czmq.h>
#include <pthread.h>

#include "ih_con_account.h"
#include "ih_con_login.h"
#include "ih_html.h"
#include "ih_totp.h"

#define s_BIND_MS   (10 * 60 * 1000LL)      /* a new TOTP secret must be confirmed within */

/* ---- shared with admin ------------------------------------------------------------------- */

void
ih_con_password_new (char out [21])
{
    //  20 characters of 55 (115 bits): no look-alikes, never on the common list.
    static const char alphabet [] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 20; i++)
        out [i] = alphabet [randombytes_uniform (sizeof alphabet - 1)];
    out [20] = 0;
}

int
ih_con_totp_enrol (ih_con_req_t *x, const char *account, uint8_t sealed [IH_TOTP_SEALED], ih_buf_t *b)
{
    //  agent/console/issuer, as the daemon and `user add` name it ("Infohub ORG" unless set).
    char issuer [IH_MAX_SHORT + 16];
    if (x->con->issuer && *x->con->issuer)
        snprintf (issuer, sizeof issuer, "%s", x->con->issuer);
    else
        snprintf (issuer, sizeof issuer, "Infohub %s", x->con->org);
    json_t *req = json_pack ("{s:s, s:s}", "issuer", issuer, "account", account);
    ih_err_t err = { "" };
    json_t *ans = ih_con_call (x, "totp-new", req, 5000, &err);
    if (!ans) {
        fprintf (stderr, "E console: totp-new: %s\n", err.msg);
        x->error = "The agent daemon does not answer, so no new secret can be made: is `infohub-agent run` running?";
        return -1;
    }
    const char *hex = json_string_value (json_object_get (ans, "sealed"));
    const char *secret = json_string_value (json_object_get (ans, "secret"));
    const char *uri = json_string_value (json_object_get (ans, "uri"));
    if (!json_is_true (json_object_get (ans, "ok")) || !hex || !secret || !uri
    ||  strlen (hex) != 2 * IH_TOTP_SEALED || ih_hex_decode (hex, sealed, IH_TOTP_SEALED) != 0) {
        static __thread char why [400];
        char reason [300];
        snprintf (why, sizeof why, "The agent daemon made no new secret: %s", ih_con_refusal (ans, reason, sizeof reason));
        x->error = why;
        json_decref (ans);
        return -1;
    }
    //  The daemon's QR code ("qr", SVG), else one drawn here from the URI.
    ih_buf_t svg;
    ih_buf_init (&svg);
    const char *qr = json_string_value (json_object_get (ans, "qr"));
    if (qr)
        ih_buf_append (&svg, qr, strlen (qr));
    ih_html_puts (b, "<div class=\"cols\"><div class=\"qr\">");
    if (qr || ih_totp_qr_svg (uri, &svg, &err) == 0) {
        //  Inline: the document without its XML declaration.
        ih_buf_append (&svg, "", 1);
        const char *s = (const char *) svg.data;
        const char *at = strstr (s, "<svg");
        if (at)
            ih_buf_append (b, at, strlen (at));
    }
    ih_buf_free (&svg);
    ih_html_puts (b, "</div><div><p>Scan the code with an authenticator app (any TOTP app: 6 digits, 30 "
                     "seconds), or type the secret:</p><p class=\"secret\">");
    ih_html_esc (b, secret);
    ih_html_puts (b, "</p><details class=\"small\"><summary>otpauth URI</summary><p class=\"secret\">");
    ih_html_esc (b, uri);
    ih_html_puts (b, "</p></details><p class=\"small muted\">Shown once: this page is not kept.</p></div></div>\n");
    json_decref (ans);
    return 0;
}

/* ---- binding a new secret to its confirmation ----------------------------------------------------- */

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static uint8_t s_key [32];

static void
s_key_init (void)
{
    randombytes_buf (s_key, sizeof s_key);
}

/*  A tag over (user, sealed secret, expiry) with this process's key, so the confirm
    step takes only a secret this console gave this user a moment ago. */
static void
s_bind (const char *user, const char *sealed_hex, int64_t until, char out [65])
{
    pthread_once (&s_once, s_key_init);
    char msg [IH_USER_NAME + 2 * IH_TOTP_SEALED + 40];
    int n = snprintf (msg, sizeof msg, "%s|%s|%" PRId64, user, sealed_hex, until);
    uint8_t h [32];
    crypto_generichash (h, sizeof h, (const uint8_t *) msg, (size_t) n, s_key, sizeof s_key);
    ih_hex_encode (h, sizeof h, out);
}

/* ---- the page ---------------------------------------------------------------------------------- */

typedef struct {
    ih_con_req_t *x;
    int n;
} s_sess_t;

static int
s_session_row (const ih_session_t *s, void *arg)
{
    s_sess_t *ss = (s_sess_t *) arg;
    ih_con_req_t *x = ss->x;
    ih_buf_t *b = &x->r->body;
    bool me = streq (s->handle, x->sess.handle);
    ih_buf_printf (b, "<tr><td><code>%s</code>%s</td><td>", s->handle, me ? " <span class=\"tag\">this one</span>" : "");
    ih_con_time (b, s->created);
    ih_html_puts (b, "</td><td>");
    ih_con_ago (b, s->seen);
    ih_html_puts (b, "</td><td>");
    ih_html_esc (b, s->addr);
    ih_buf_printf (b, "</td><td><form class=\"inline\" method=\"post\" action=\"/account/sessions\">"
                    "<input type=\"hidden\" name=\"handle\" value=\"%s\">", s->handle);
    ih_con_csrf_field (x);
    ih_buf_printf (b, "<button class=\"quiet small\" type=\"submit\">%s</button></form></td></tr>\n",
                    me ? "Log out" : "End");
    ss->n++;
    return 0;
}

static void
s_password_row (ih_buf_t *b, const char *name, const char *label, const char *ac)
{
    ih_buf_printf (b, "<div class=\"row\"><label for=\"%s\">%s</label><input type=\"password\" id=\"%s\" "
                    "name=\"%s\" autocomplete=\"%s\" maxlength=\"256\" required></div>", name, label, name, name, ac);
}

void
ih_con_account (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    const ih_user_t *u = &x->user;
    ih_con_begin (x, "Account", "/account");
    ih_html_puts (b, "<h1>Your account</h1><dl class=\"facts\"><dt>User</dt><dd><strong>");
    ih_html_esc (b, u->name);
    ih_html_puts (b, "</strong> (");
    ih_html_esc (b, ih_con_author (x));
    ih_html_puts (b, ")</dd><dt>Role</dt><dd>");
    ih_html_esc (b, ih_user_role_name (u->role));
    ih_html_puts (b, "</dd><dt>Organisation</dt><dd>");
    ih_html_esc (b, x->con->org);
    ih_html_puts (b, "</dd><dt>Previous login</dt><dd>");
    ih_con_time (b, u->prev_login);
    ih_html_puts (b, "</dd><dt>Password changed</dt><dd>");
    ih_con_time (b, u->pw_changed);
    ih_buf_printf (b, "</dd><dt>Recovery codes left</dt><dd>%d of %d</dd></dl>\n", ih_users_recovery_left (u),
                    IH_USER_RECOVERY);

    ih_html_puts (b, "<h2>Sessions</h2><table class=\"dense\"><thead><tr><th>Session</th><th>Started</th>"
                     "<th>Last seen</th><th>From</th><th></th></tr></thead><tbody>\n");
    s_sess_t ss = { x, 0 };
    ih_users_sessions_of (x->con->users, u->name, ih_now_ms (), s_session_row, &ss, NULL);
    ih_html_puts (b, "</tbody></table><p class=\"small muted\">A session ends after 30 minutes idle or 12 hours "
                     "in all.</p>\n");

    ih_html_puts (b, "<div class=\"cols\"><div><h2>Change your password</h2><form class=\"form\" method=\"post\" "
                     "action=\"/account/password\">");
    ih_con_csrf_field (x);
    s_password_row (b, "password", "Current password", "current-password");
    s_password_row (b, "new_password", "New password", "new-password");
    s_password_row (b, "new_password2", "Again", "new-password");
    ih_html_puts (b, "<p class=\"hint\">12 to 128 characters, not a common one: a long phrase of your own is "
                     "best. Your other sessions end.</p><div class=\"actions\"><button type=\"submit\">Change "
                     "password</button></div></form></div><div>");
    ih_html_puts (b, "<h2>New authenticator</h2><form class=\"form\" method=\"post\" action=\"/account/totp\">");
    ih_con_csrf_field (x);
    s_password_row (b, "password", "Password", "current-password");
    ih_html_puts (b, "<p class=\"hint\">A new secret for your authenticator app (a new phone). The old one "
                     "works until you confirm the new one.</p><div class=\"actions\"><button type=\"submit\">"
                     "Start</button></div></form>");
    ih_html_puts (b, "<h2>Recovery codes</h2><form class=\"form\" method=\"post\" action=\"/account/recovery\">");
    ih_con_csrf_field (x);
    s_password_row (b, "password", "Password", "current-password");
    ih_html_puts (b, "<p class=\"hint\">Ten new single-use codes for when your phone is gone; the old ones stop "
                     "working.</p><div class=\"actions\"><button type=\"submit\">New codes</button></div></form>"
                     "</div></div>\n");
    ih_con_end (x);
}

/*  The current password again, throttled like a login. Returns true, or false having
    shown the account page with the reason. */
static bool
s_reauth (ih_con_req_t *x)
{
    char key [IH_USER_NAME + 8];
    snprintf (key, sizeof key, "u:%s", x->user.name);
    int64_t retry = 0;
    bool locked = false;
    if (ih_users_throttle_check (x->con->users, key, ih_now_ms (), &retry, &locked, NULL) == 0) {
        ih_con_audit (x, "throttled", "re-authentication refused for %" PRId64 " s", (retry + 999) / 1000);
        x->error = "Too many wrong passwords: wait a while.";
        ih_con_account (x);
        x->r->status = 429;
        return false;
    }
    const char *pw = ih_req_form (x->r, "password");
    if (!pw || !ih_users_password_verify (&x->user, pw)) {
        ih_users_throttle_fail (x->con->users, key, ih_now_ms (), NULL);
        ih_con_audit (x, "login-failed", "wrong password when re-authenticating");
        x->error = "Wrong password.";
        ih_con_account (x);
        x->r->status = 403;
        return false;
    }
    return true;
}

static int
s_put (ih_con_req_t *x, ih_user_t *u)
{
    ih_err_t err = { "" };
    if (ih_users_put (x->con->users, u, false, &err) != 0) {
        fprintf (stderr, "E console: %s\n", err.msg);
        x->error = "The accounts database cannot be written right now.";
        ih_con_account (x);
        x->r->status = 503;
        return -1;
    }
    return 0;
}

void
ih_con_account_password (ih_con_req_t *x)
{
    if (x->stale) {
        ih_con_account (x);
        return;
    }
    if (!s_reauth (x))
        return;
    const char *pw = ih_con_val (x, "new_password");
    const char *again = ih_con_val (x, "new_password2");
    ih_err_t err = { "" };
    static __thread char msg [300];
    if (!streq (pw, again)) {
        x->error = "The two new passwords differ.";
        ih_con_account (x);
        x->r->status = 400;
        return;
    }
    ih_user_t u = x->user;
    if (ih_users_password_set (&u, pw, &err) != 0) {
        snprintf (msg, sizeof msg, "Not changed: %s", err.msg);
        x->error = msg;
        ih_con_account (x);
        x->r->status = 400;
        sodium_memzero (&u, sizeof u);
        return;
    }
    if (s_put (x, &u) == 0) {
        x->user = u;
        int ended = ih_users_session_end_all (x->con->users, u.name, x->sid, NULL);
        ih_con_audit (x, "password-changed", "by the user; %d other %s ended", ended < 0 ? 0 : ended,
                      ih_plural (ended < 0 ? 0 : (uint64_t) ended, "session", "sessions"));
        x->notice = "Password changed. Your other sessions have ended.";
        ih_con_account (x);
    }
    sodium_memzero (&u, sizeof u);
}

void
ih_con_account_totp (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    const char *hex = ih_req_form (x->r, "sealed");
    if (x->stale) {
        ih_con_account (x);
        return;
    }
    if (hex) {
        //  The confirmation: the code from the new secret.
        const char *code = ih_con_val (x, "code");
        const char *tag = ih_con_val (x, "bind");
        const char *until_s = ih_con_val (x, "until");
        uint64_t until = 0;
        char want [65];
        ih_parse_u64 (until_s, &until);
        s_bind (x->user.name, hex, (int64_t) until, want);
        uint8_t sealed [IH_TOTP_SEALED];
        if (strlen (tag) != 64 || sodium_memcmp (tag, want, 64) != 0 || (int64_t) until < ih_now_ms ()
        ||  strlen (hex) != 2 * IH_TOTP_SEALED || ih_hex_decode (hex, sealed, sizeof sealed) != 0) {
            x->error = "That enrolment has expired: start again.";
            ih_con_account (x);
            x->r->status = 400;
            return;
        }
        json_t *req = json_pack ("{s:s, s:s, s:s}", "sealed", hex, "code", code, "name", x->user.name);
        ih_err_t err = { "" };
        json_t *ans = ih_con_call (x, "totp-check", req, 5000, &err);
        if (!ans || !json_is_true (json_object_get (ans, "ok"))) {
            x->error = ans ? "Wrong code: the new secret is not in use. Start again." : "The agent daemon does not answer.";
            json_decref (ans);
            ih_con_audit (x, "totp-failed", "confirming a new authenticator");
            ih_con_account (x);
            x->r->status = ans ? 403 : 503;
            return;
        }
        ih_user_t u = x->user;
        memcpy (u.totp, sealed, sizeof u.totp);
        u.last_step = (uint64_t) json_integer_value (json_object_get (ans, "step"));
        json_decref (ans);
        if (s_put (x, &u) == 0) {
            x->user = u;
            ih_users_session_end_all (x->con->users, u.name, x->sid, NULL);
            ih_con_audit (x, "totp-reset", "by the user: a new authenticator secret");
            x->notice = "Your new authenticator is in use; the old one no longer works.";
            ih_con_account (x);
        }
        sodium_memzero (&u, sizeof u);
        return;
    }
    if (!s_reauth (x))
        return;
    uint8_t sealed [IH_TOTP_SEALED];
    ih_buf_t page;
    ih_buf_init (&page);
    if (ih_con_totp_enrol (x, x->user.name, sealed, &page) != 0) {
        ih_buf_free (&page);
        ih_con_account (x);
        x->r->status = 503;
        return;
    }
    char shex [2 * IH_TOTP_SEALED + 1], tag [65];
    ih_hex_encode (sealed, sizeof sealed, shex);
    int64_t until = ih_now_ms () + s_BIND_MS;
    s_bind (x->user.name, shex, until, tag);
    ih_con_begin (x, "New authenticator", "/account");
    ih_html_puts (b, "<h1>New authenticator</h1>");
    ih_buf_append (b, page.data, page.len);
    ih_buf_free (&page);
    ih_buf_printf (b, "<form class=\"form\" method=\"post\" action=\"/account/totp\"><input type=\"hidden\" "
                    "name=\"sealed\" value=\"%s\"><input type=\"hidden\" name=\"bind\" value=\"%s\">"
                    "<input type=\"hidden\" name=\"until\" value=\"%" PRId64 "\">", shex, tag, until);
    ih_con_csrf_field (x);
    ih_html_puts (b, "<div class=\"row\"><label for=\"code\">Code from the new secret</label><input type=\"text\" "
                     "id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"8\" "
                     "required autofocus></div><div class=\"actions\"><button type=\"submit\">Confirm</button>"
                     " <a href=\"/account\">Cancel</a></div></form>\n");
    ih_con_end (x);
}

void
ih_con_account_recovery (ih_con_req_t *x)
{
    if (x->stale) {
        ih_con_account (x);
        return;
    }
    if (!s_reauth (x))
        return;
    ih_user_t u = x->user;
    char codes [IH_USER_RECOVERY][20];
    ih_users_recovery_new (&u, codes);
    if (s_put (x, &u) == 0) {
        ih_con_audit (x, "recovery-new", "ten new recovery codes");
        ih_buf_t *b = &x->r->body;
        ih_con_begin (x, "Recovery codes", "/account");
        ih_html_puts (b, "<h1>Your recovery codes</h1><p class=\"lede\">Each works once, instead of a code from "
                         "your app. Keep them offline; they are shown only now.</p><div class=\"secret\">");
        for (int i = 0; i < IH_USER_RECOVERY; i++)
            ih_buf_printf (b, "%s<br>", codes [i]);
        ih_html_puts (b, "</div><p><a href=\"/account\">Back to your account</a></p>\n");
        ih_con_end (x);
    }
    sodium_memzero (codes, sizeof codes);
    sodium_memzero (&u, sizeof u);
}

void
ih_con_account_session_end (ih_con_req_t *x)
{
    const char *handle = ih_con_val (x, "handle");
    bool me = streq (handle, x->sess.handle);
    int rc = ih_users_session_end_handle (x->con->users, x->user.name, handle, NULL);
    if (rc == 1)
        ih_con_audit (x, "session-ended", "session %.16s%s", handle, me ? " (this one: logout)" : "");
    if (me) {
        ih_con_login_cookie (x, NULL);
        ih_req_redirect (x->r, "/login?out=1");
        return;
    }
    x->notice = rc == 1 ? "Session ended." : "No such session (it had ended).";
    ih_con_account (x);
}

/*  ih_con_test.c: the console's self-test (ih_con.h): the whole site on an ephemeral port
    over a temporary store and accounts database, with a toy agent daemon on the control
    socket (the real server side, ih_control_new, answering from a table): the gate, both
    login steps, a session's pages, CSRF and Origin refusals that keep what was typed, an
    action through the daemon with its author, logout.
*/
#ifdef IH_SELFTEST
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ih_con.h"
#include "ih_control.h"
#include "ih_testkit.h"
#include "ih_tk_http.h"
#include "ih_totp.h"

#define s_PASSWORD  "a long and quiet river at dawn"

/* ---- a toy daemon ---------------------------------------------------------------------- */

typedef struct {
    char path [300];
    uint8_t key [IH_TOTP_KEY];
    _Atomic bool stop;
    _Atomic bool ready;
    _Atomic int comments;
    char author [IH_USER_DISPLAY + 1];
    char text [256];
    pthread_t thread;
} s_daemon_t;

static json_t *
s_daemon_op (const char *op, json_t *req, void *arg)
{
    s_daemon_t *d = (s_daemon_t *) arg;
    if (streq (op, "ping"))
        return json_pack ("{s:b, s:b, s:i, s:i}", "ok", 1, "connected", 1, "cursor", 0, "head", 0);
    if (streq (op, "totp-check")) {
        const char *hex = json_string_value (json_object_get (req, "sealed"));
        const char *code = json_string_value (json_object_get (req, "code"));
        uint8_t sealed [IH_TOTP_SEALED], secret [IH_TOTP_SECRET];
        uint64_t step;
        if (!hex || !code || strlen (hex) != 2 * IH_TOTP_SEALED || ih_hex_decode (hex, sealed, sizeof sealed) != 0
        ||  ih_totp_unseal (d->key, sealed, secret) != 0)
            return ih_control_refuse ("bad-secret", "the sealed secret does not open");
        int rc = ih_totp_verify (secret, sizeof secret, code, ih_now_ms () / 1000, &step);
        sodium_memzero (secret, sizeof secret);
        return rc == 1 ? json_pack ("{s:b, s:I}", "ok", 1, "step", (json_int_t) step)
                       : ih_control_refuse ("wrong-code", "the code does not match");
    }
    if (streq (op, "comment")) {
        snprintf (d->author, sizeof d->author, "%s", json_string_value (json_object_get (req, "author")));
        snprintf (d->text, sizeof d->text, "%s", json_string_value (json_object_get (req, "text")));
        d->comments++;
        return json_pack ("{s:b, s:s, s:i}", "ok", 1, "id", "99999999-9999-4999-8999-999999999999", "seq", 7);
    }
    return NULL;
}

static void *
s_daemon_run (void *arg)
{
    s_daemon_t *d = (s_daemon_t *) arg;
    ih_err_t err = { "" };
    ih_control_t *ctl = ih_control_new (d->path, s_daemon_op, d, &err);
    IH_CHECK (ctl);
    d->ready = true;
    zpoller_t *poller = zpoller_new (ih_control_sock (ctl), NULL);
    while (!d->stop)
        if (zpoller_wait (poller, 20))
            ih_control_serve (ctl);
    zpoller_destroy (&poller);
    ih_control_destroy (&ctl);
    return NULL;
}

/* ---- requests ---------------------------------------------------------------------------- */

/*  A request with the session cookie (may be ""), a form body (may be NULL) and extra
    header lines. */
static int
s_req (ih_tk_http_t *res, uint16_t port, const char *method, const char *path, const char *cookie,
       const char *form, const char *extra)
{
    char h [1024];
    size_t n = form ? strlen (form) : 0;
    snprintf (h, sizeof h, "%s%s%s%s%s", cookie && *cookie ? "Cookie: " IH_CON_COOKIE "=" : "",
              cookie && *cookie ? cookie : "", cookie && *cookie ? "\r\n" : "",
              form ? "Content-Type: application/x-www-form-urlencoded\r\n" : "", extra ? extra : "");
    if (form)
        snprintf (h + strlen (h), sizeof h - strlen (h), "Content-Length: %zu\r\n", n);
    return ih_tk_http_send (res, port, method, path, h, form, n);
}

/*  The console cookie a response sets, into out ("" when none). */
static void
s_cookie (const ih_tk_http_t *res, char *out, size_t size)
{
    char v [256];
    out [0] = 0;
    if (ih_tk_http_header (res, "Set-Cookie", v, sizeof v) && strncmp (v, IH_CON_COOKIE "=", 11) == 0)
        snprintf (out, size, "%.*s", (int) strcspn (v + 11, ";"), v + 11);
}

static void
s_csrf (const ih_tk_http_t *res, char out [IH_SESSION_ID + 1])
{
    const char *p = strstr (res->body, "name=\"csrf\" value=\"");
    IH_CHECK (p);
    snprintf (out, IH_SESSION_ID + 1, "%s", p + 19);
}

static void
s_expect (ih_tk_http_t *res, int status, const char *location, const char *want, bool verbose)
{
    char v [300];
    if (verbose)
        printf ("\n    -> %d %s", res->status, ih_tk_http_header (res, "Location", v, sizeof v) ? v : "");
    if (res->status != status)
        fprintf (stderr, "con: got %d, want %d:\n%.2000s\n", res->status, status, res->body);
    IH_CHECK (res->status == status);
    if (location)
        IH_CHECK (ih_tk_http_header (res, "Location", v, sizeof v) && streq (v, location));
    if (want && !strstr (res->body, want))
        fprintf (stderr, "con: no '%s' in:\n%.3000s\n", want, res->body);
    IH_CHECK (!want || strstr (res->body, want));
}

void
ih_con_test (bool verbose)
{
    IH_CHECK (!ih_con_id_after ("/alerts/short", "/alerts/", (char [IH_UUID_LEN + 1]) { 0 }));

    char dir [256], sdir [300], udir [300], apath [320];
    ih_tk_tempdir ("con", dir, sizeof dir);
    ih_tk_path (sdir, sizeof sdir, dir, "store");
    ih_tk_path (udir, sizeof udir, dir, "console");
    ih_err_t err = { "" };

    //  The store, with an alert whose title is hostile.
    ih_store_t *store = ih_store_open (sdir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_msg_t m;
    ih_tk_alert (&m, NULL, IH_TLP_AMBER, "<b>Citrix</b> bleed");
    uint64_t seq = 1;
    IH_CHECK (ih_store_ingest_msgs (store, &m, &seq, 1, NULL, &err) == 0);

    //  The toy daemon, the console key it holds, an account sealed under it.
    s_daemon_t *d = (s_daemon_t *) calloc (1, sizeof *d);
    IH_CHECK (d);
    ih_tk_path (d->path, sizeof d->path, dir, "agent.sock");
    randombytes_buf (d->key, sizeof d->key);
    IH_CHECK (pthread_create (&d->thread, NULL, s_daemon_run, d) == 0);
    for (int i = 0; i < 500 && !d->ready; i++)
        zclock_sleep (5);
    IH_CHECK (d->ready);
    ih_users_t *users = ih_users_open (udir, &err);
    IH_CHECK (users);
    ih_user_t u;
    memset (&u, 0, sizeof u);
    snprintf (u.name, sizeof u.name, "alice");
    snprintf (u.display, sizeof u.display, "Alice <Liddell>");
    u.role = IH_USER_PUBLISHER;
    uint8_t secret [IH_TOTP_SECRET];
    ih_totp_secret_new (secret);
    ih_totp_seal (d->key, secret, u.totp);
    IH_CHECK (ih_users_password_set (&u, s_PASSWORD, &err) == 0);
    IH_CHECK (ih_users_put (users, &u, true, &err) == 0);
    ih_tk_path (apath, sizeof apath, udir, "audit.log");
    ih_audit_t *audit = ih_audit_open (apath, &err);
    IH_CHECK (audit);

    ih_con_t con;
    memset (&con, 0, sizeof con);
    con.org = "bank-a";
    con.member = "soc";
    con.sector = "finance";
    con.site = "Test Zone";
    con.store = store;
    con.users = users;
    con.audit = audit;
    con.audit_path = apath;
    con.control = d->path;
    con.public_url = "";
    con.bind = "127.0.0.1";
    con.control_ms = 3000;
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1";
    ih_http_t *http = ih_con_serve (&con, &cfg, &err);
    IH_CHECK (http);
    uint16_t port = ih_http_port (http);
    con.port = port;
    ih_tk_http_t res;
    char pending [IH_SESSION_ID + 1], full [IH_SESSION_ID + 1], csrf [IH_SESSION_ID + 1], path [128],
         form [512], v [300];

    //  Nothing but the login pages and the assets without a session.
    s_req (&res, port, "GET", "/", NULL, NULL, NULL);
    s_expect (&res, 303, "/login", NULL, verbose);
    IH_CHECK (ih_tk_http_header (&res, "Content-Security-Policy", v, sizeof v) && streq (v, IH_CON_CSP));
    IH_CHECK (ih_tk_http_header (&res, "Referrer-Policy", v, sizeof v) && streq (v, "same-origin"));
    ih_tk_http_free (&res);
    snprintf (path, sizeof path, "/alerts/%s", m.id);
    s_req (&res, port, "GET", path, NULL, NULL, NULL);
    s_expect (&res, 303, "/login", NULL, verbose);
    IH_CHECK (!strstr (res.body, "Citrix"));
    ih_tk_http_free (&res);
    s_req (&res, port, "POST", "/comment", NULL, "text=x", NULL);
    s_expect (&res, 401, NULL, NULL, verbose);
    ih_tk_http_free (&res);
    s_req (&res, port, "GET", "/static/style.css", NULL, NULL, NULL);
    s_expect (&res, 200, NULL, ".tlp-amber", verbose);           //  the console's rules appended
    ih_tk_http_free (&res);

    //  The password step: wrong, then right; a pending session sees the code page only.
    s_req (&res, port, "POST", "/login", NULL, "user=alice&password=wrong+one+entirely", NULL);
    s_expect (&res, 403, NULL, "Wrong user name or password.", verbose);
    s_cookie (&res, pending, sizeof pending);
    IH_CHECK (!*pending);
    ih_tk_http_free (&res);
    s_req (&res, port, "POST", "/login", NULL, "user=alice&password=a+long+and+quiet+river+at+dawn", NULL);
    s_expect (&res, 303, "/login/code", NULL, verbose);
    s_cookie (&res, pending, sizeof pending);
    IH_CHECK (strlen (pending) == IH_SESSION_ID);
    IH_CHECK (ih_tk_http_header (&res, "Set-Cookie", v, sizeof v) && strstr (v, "; Path=/; HttpOnly; SameSite=Strict"));
    ih_tk_http_free (&res);
    s_req (&res, port, "GET", "/", pending, NULL, NULL);
    s_expect (&res, 303, "/login/code", NULL, verbose);
    ih_tk_http_free (&res);
    s_req (&res, port, "GET", "/login/code", pending, NULL, NULL);
    s_expect (&res, 200, NULL, "autocomplete=\"one-time-code\"", verbose);
    s_csrf (&res, csrf);
    ih_tk_http_free (&res);

    //  The code step: a wrong code, then the right one (the daemon checks it); a new id.
    snprintf (form, sizeof form, "code=000000&csrf=%s", csrf);
    char code [IH_TOTP_DIGITS + 1];
    ih_totp_code (secret, sizeof secret, ih_now_ms () / 1000, code);
    if (streq (code, "000000"))
        form [5] = '1';
    s_req (&res, port, "POST", "/login/code", pending, form, NULL);
    s_expect (&res, 403, NULL, "Wrong code.", verbose);
    ih_tk_http_free (&res);
    snprintf (form, sizeof form, "code=%s&csrf=%s", code, csrf);
    s_req (&res, port, "POST", "/login/code", pending, form, NULL);
    s_expect (&res, 303, "/", NULL, verbose);
    s_cookie (&res, full, sizeof full);
    IH_CHECK (strlen (full) == IH_SESSION_ID && !streq (full, pending));
    ih_tk_http_free (&res);
    //  The same code again, from another pending session: a reuse, refused.
    s_req (&res, port, "POST", "/login", NULL, "user=alice&password=a+long+and+quiet+river+at+dawn", NULL);
    char other [IH_SESSION_ID + 1];
    s_cookie (&res, other, sizeof other);
    ih_tk_http_free (&res);
    s_req (&res, port, "GET", "/login/code", other, NULL, NULL);
    s_csrf (&res, csrf);
    ih_tk_http_free (&res);
    snprintf (form, sizeof form, "code=%s&csrf=%s", code, csrf);
    zclock_sleep (1100);            //  the address's fourth failure asks for a second
    s_req (&res, port, "POST", "/login/code", other, form, NULL);
    s_expect (&res, 403, NULL, "used already", verbose);
    ih_tk_http_free (&res);

    //  A full session: home, the alert (escaped), the reply form's token.
    s_req (&res, port, "GET", "/", full, NULL, NULL);
    s_expect (&res, 200, NULL, "Alice &lt;Liddell&gt;", verbose);
    IH_CHECK (strstr (res.body, "code of yours that had been used already"));
    ih_tk_http_free (&res);
    s_req (&res, port, "GET", path, full, NULL, NULL);
    s_expect (&res, 200, NULL, "&lt;b&gt;Citrix&lt;/b&gt; bleed", verbose);
    IH_CHECK (!strstr (res.body, "<b>Citrix"));
    s_csrf (&res, csrf);
    ih_tk_http_free (&res);

    //  A comment without the token: not sent, the text kept; a foreign Origin: refused;
    //  with both: sent, with the author.
    snprintf (form, sizeof form, "ref=%s&text=%%3Ci%%3Ehello%%3C%%2Fi%%3E", m.id);
    s_req (&res, port, "POST", "/comment", full, form, NULL);
    s_expect (&res, 403, NULL, "&lt;i&gt;hello&lt;/i&gt;</textarea>", verbose);
    IH_CHECK (strstr (res.body, "Nothing was sent yet") && d->comments == 0);
    ih_tk_http_free (&res);
    snprintf (form, sizeof form, "ref=%s&text=hello&csrf=%s", m.id, csrf);
    s_req (&res, port, "POST", "/comment", full, form, "Origin: http://evil.example\r\n");
    s_expect (&res, 403, NULL, "did not come from the console", verbose);
    ih_tk_http_free (&res);
    s_req (&res, port, "POST", "/comment", full, form, "Sec-Fetch-Site: same-site\r\n");
    s_expect (&res, 403, NULL, NULL, verbose);
    ih_tk_http_free (&res);
    IH_CHECK (d->comments == 0);
    char origin [80];
    snprintf (origin, sizeof origin, "Origin: http://127.0.0.1:%u\r\nSec-Fetch-Site: same-origin\r\n", port);
    s_req (&res, port, "POST", "/comment", full, form, origin);
    snprintf (v, sizeof v, "/alerts/%s?posted=comment#discussion", m.id);
    s_expect (&res, 303, v, NULL, verbose);
    ih_tk_http_free (&res);
    IH_CHECK (d->comments == 1 && streq (d->author, "Alice <Liddell>") && streq (d->text, "hello"));

    //  Logout: the session ends; its cookie then gets the login page.
    snprintf (form, sizeof form, "csrf=%s", csrf);
    s_req (&res, port, "POST", "/logout", full, form, NULL);
    s_expect (&res, 303, "/login?out=1", NULL, verbose);
    ih_tk_http_free (&res);
    s_req (&res, port, "GET", "/", full, NULL, NULL);
    s_expect (&res, 303, "/login", NULL, verbose);
    ih_tk_http_free (&res);

    //  The audit log holds it all, its chain intact.
    uint64_t entries = 0;
    IH_CHECK (ih_audit_verify (apath, &entries, &err) == 0 && entries >= 8);
    size_t loglen;
    char *log = ih_file_read (apath, 1 << 20, &loglen, &err);
    IH_CHECK (log);
    IH_CHECK (strstr (log, "\"login-failed\"") && strstr (log, "\"totp-failed\"") && strstr (log, "\"login\"")
              && strstr (log, "\"totp-reuse\"") && strstr (log, "\"refused\"") && strstr (log, "\"comment\"")
              && strstr (log, "\"logout\""));
    free (log);

    ih_http_destroy (&http);
    d->stop = true;
    pthread_join (d->thread, NULL);
    free (d);
    ih_audit_destroy (&audit);
    ih_users_destroy (&users);
    ih_store_destroy (&store);
    ih_msg_free (&m);
    sodium_memzero (secret, sizeof secret);
    ih_tk_rmtree (dir);
    if (verbose)
        printf ("\n    ");
}
#endif

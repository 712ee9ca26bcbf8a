/*  ih_con.c: the Members Zone console on the web layer: the gate, the route table, the
    page shell and the helpers its pages share (see ih_con.h).

    Read top to bottom: the stylesheet, small renderers, the shell, the daemon and the
    audit log, the gate (session, role, Origin, CSRF), the route table, the server's
    callbacks, the self-test.
*/
#include <czmq.h>
#include <strings.h>
#include <time.h>

#include "ih_con.h"
#include "ih_con_account.h"
#include "ih_con_admin.h"
#include "ih_con_alert.h"
#include "ih_con_alerts.h"
#include "ih_con_login.h"
#include "ih_con_more.h"
#include "ih_con_share.h"
#include "ih_control.h"
#include "ih_html.h"

/* ---- the console's rules after the shared stylesheet (ih_layout's css hook) -------------- */

//  Dense and legible: a wider column, compact tables with tabular numbers, TLP 2.0
//  colours on black (FIRST's), forms that work from the keyboard (visible focus).
static const char s_css [] =
".wrap{max-width:1400px}main{padding:18px 24px 40px}\n"
"h1{font-size:22px;margin:4px 0 6px}h2{font-size:16px;margin:22px 0 8px}\n"
".tlp{background:#000;font-size:11px;padding:4px 6px}.tlp-clear{color:#fff}.tlp-green{color:#33ff00}"
".tlp-amber,.tlp-amber-strict{color:#ffc000}.tlp-red{color:#ff2b2b}\n"
".sev{font-size:10px;padding:4px 6px}\n"
"table.dense{font-size:13px;border-radius:6px}table.dense th,table.dense td{padding:5px 8px}"
"table.dense th{font-size:11px}table.dense tr:hover td{background:#f7f9fc}\n"
"table.dense td.t{max-width:520px}table.dense td.t a{color:var(--ink);font-weight:600}"
"table.dense td.nowrap,.nowrap{white-space:nowrap}\n"
"td.value code,code.v{user-select:all;word-break:break-all;background:#f6f8fa;padding:1px 4px;"
"border-radius:3px;font-size:12.5px}\n"
".muted{color:var(--muted)}.small{font-size:12px}.num{font-variant-numeric:tabular-nums}\n"
".userbar{display:flex;justify-content:flex-end;align-items:center;gap:10px;font-size:13px;"
"color:var(--muted);margin:-6px 0 6px}\n"
"form.inline{display:inline;margin:0}\n"
".flash{border-radius:6px;padding:9px 12px;margin:8px 0 14px;font-size:14px}"
".flash.err{background:#fff0f0;border:1px solid #f1a7a7;color:#7a1010}"
".flash.ok{background:#effaf1;border:1px solid #9fd8ab;color:#1d5b2a}"
".flash.warn{background:#fff8e6;border:1px solid #f3cf7a;color:#6b4a00}\n"
"form.filters{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end;margin:6px 0 12px;"
"background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 10px}\n"
"form.filters label{display:flex;flex-direction:column;font-size:11px;color:var(--muted);"
"text-transform:uppercase;letter-spacing:.3px}\n"
"input,select,textarea,button{font:inherit;font-size:14px}\n"
"input[type=text],input[type=search],input[type=password],input[type=date],select,textarea{"
"border:1px solid #b8c2cc;border-radius:5px;padding:5px 7px;background:#fff;color:var(--ink)}\n"
"textarea{width:100%;font:13px/1.45 var(--mono)}\n"
"input:focus,select:focus,textarea:focus,button:focus,a:focus{outline:2px solid #4c8bf5;outline-offset:1px}\n"
"button,.button{border:1px solid #1d4270;background:#1d4270;color:#fff;border-radius:5px;"
"padding:5px 12px;cursor:pointer;font-size:13px}\n"
"button.quiet,.button.quiet{background:#fff;color:#1d4270}button.danger{background:#a51111;border-color:#a51111}\n"
"button.small{padding:2px 8px;font-size:12px}button{white-space:nowrap}\n"
".form{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:0 0 14px}\n"
".form .row{display:grid;grid-template-columns:150px 1fr;gap:6px 14px;align-items:start;margin:7px 0}\n"
".form .row>label{font-weight:600;font-size:13px;padding-top:6px}\n"
".form .hint{font-size:12px;color:var(--muted);margin-top:2px}\n"
".checks{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}.checks label{white-space:nowrap}\n"
".actions{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:10px}\n"
".cols{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:18px}\n"
"@media (max-width:900px){.cols{grid-template-columns:1fr}.form .row{grid-template-columns:1fr}}\n"
".comment{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;margin:0 0 8px}\n"
".comment .who{font-size:12px;color:var(--muted)}.comment .who b{color:var(--ink)}\n"
".comment .text p{margin:6px 0}\n"
".matrix td,.matrix th{text-align:center}.matrix td.zero{color:#b0b8c0}\n"
".login{max-width:420px;margin:40px auto}.login .form .row{grid-template-columns:1fr}\n"
".secret{font:15px var(--mono);background:#f6f8fa;border:1px dashed #b8c2cc;padding:8px 10px;"
"border-radius:6px;user-select:all;word-break:break-all}\n"
".qr svg{width:200px;height:200px;background:#fff}\n"
".sugg{display:inline-block;font-size:11px;line-height:1.3;padding:1px 6px;border-radius:9px;"
"background:#e7f0fd;color:#1d4270;border:1px solid #b9cff0;margin-left:4px;white-space:nowrap}"
".sugg.offer{background:#fff;color:var(--muted);border-style:dashed}\n"
".tag.dup{background:#fff1d6;color:#6b4a00;border-color:#f3cf7a}"
"ul.related{list-style:none;padding:0;margin:0 0 10px}ul.related li{margin:0 0 8px}\n"
"input[type=time]{border:1px solid #b8c2cc;border-radius:5px;padding:5px 7px;background:#fff}\n"
"kbd{font:11px var(--mono);border:1px solid #c5ced8;border-bottom-width:2px;border-radius:3px;padding:0 4px}\n"
"ins{background:#e6ffec;text-decoration:none}del{background:#ffebe9}\n";

/* ---- small renderers -------------------------------------------------------------------------- */

void
ih_con_tlp (ih_buf_t *b, ih_tlp_t tlp)
{
    const char *name = ih_tlp_name (tlp);
    if (!name)
        return;
    static const char *const cls [IH_TLP_COUNT] = { "clear", "green", "amber", "amber-strict", "red" };
    ih_buf_printf (b, "<span class=\"tlp tlp-%s\">TLP:", cls [tlp]);
    ih_html_esc (b, name);
    ih_html_puts (b, "</span>");
}

void
ih_con_sev (ih_buf_t *b, ih_severity_t sev)
{
    const char *name = ih_severity_name (sev);
    if (name)
        ih_buf_printf (b, "<span class=\"sev sev-%s\">%s</span>", name, name);
}

void
ih_con_time (ih_buf_t *b, int64_t ms)
{
    if (ms <= 0) {
        ih_html_puts (b, "\xe2\x80\x94");
        return;
    }
    char iso [IH_TIME_MAX];
    ih_time_format (ms, iso);
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char text [40];
    strftime (text, sizeof text, "%Y-%m-%d %H:%M", &tm);
    ih_buf_printf (b, "<time datetime=\"%s\" title=\"%s\">%s</time>", iso, iso, text);
}

void
ih_con_ago (ih_buf_t *b, int64_t ms)
{
    int64_t d = (ih_now_ms () - ms) / 1000;
    if (ms <= 0)
        ih_html_puts (b, "never");
    else
    if (d < 60)
        ih_html_puts (b, "just now");
    else
    if (d < 3600)
        ih_buf_printf (b, "%" PRId64 " min ago", d / 60);
    else
    if (d < 86400)
        ih_buf_printf (b, "%" PRId64 " h ago", d / 3600);
    else
        ih_buf_printf (b, "%" PRId64 " d ago", d / 86400);
}

const char *
ih_con_cat_label (ih_category_t c)
{
    const char *name = ih_category_name (c);
    static const struct { const char *name, *label; } labels [] = {
        { "ransomware", "Ransomware" }, { "phishing", "Phishing" }, { "malware", "Malware" },
        { "vulnerability", "Vulnerability" }, { "ddos", "DDoS" }, { "intrusion", "Intrusion" },
        { "fraud", "Fraud" }, { "data-leak", "Data leak" }, { "advisory", "Advisory" },
        { "event", "Event" }, { "other", "Other" }
    };
    for (size_t i = 0; name && i < sizeof labels / sizeof labels [0]; i++)
        if (streq (name, labels [i].name))
            return labels [i].label;
    return name ? name : "Other";
}

const char *
ih_con_ioc_label (ih_ioc_type_t t)
{
    static const char *const labels [IH_IOC_COUNT] = {
        "IPv4", "IPv6", "CIDR", "Domain", "URL", "Email", "MD5", "SHA-1", "SHA-256", "File name",
        "CVE", "ASN"
    };
    return (int) t >= 0 && t < IH_IOC_COUNT ? labels [t] : "?";
}

bool
ih_con_id_after (const char *path, const char *prefix, char id [IH_UUID_LEN + 1])
{
    size_t n = strlen (prefix);
    if (strncmp (path, prefix, n) != 0)
        return false;
    const char *p = path + n;
    size_t len = strlen (p);
    if (len == IH_UUID_LEN + 1 && p [IH_UUID_LEN] == '/')
        len = IH_UUID_LEN;
    if (len != IH_UUID_LEN)
        return false;
    memcpy (id, p, IH_UUID_LEN);
    id [IH_UUID_LEN] = 0;
    return ih_uuid_valid (id);
}

const char *
ih_con_val (ih_con_req_t *x, const char *key)
{
    const char *v = x->r->post ? ih_req_form (x->r, key) : ih_req_arg (x->r, key);
    return v ? v : "";
}

const char *
ih_con_author (const ih_con_req_t *x)
{
    if (!x->user_ok)
        return "";
    return x->user.display [0] ? x->user.display : x->user.name;
}

const char *
ih_con_msg_author (const ih_msg_t *m)
{
    //  The member (the agent) signs; the person is the body's author field, signed with
    //  it (the daemon puts the console user's display name there). A message from the
    //  command line names no one: the agent's name then.
    if (m->author && *m->author)
        return m->author;
    return m->member && *m->member ? m->member : "?";
}

/* ---- the shell ------------------------------------------------------------------------------- */

static const struct {
    ih_layout_link_t link;
    ih_user_role_t role;
} s_nav [] = {
    { { "/", "Home" }, IH_USER_ANALYST },
    { { "/alerts", "Alerts" }, IH_USER_ANALYST },
    { { "/share", "Share" }, IH_USER_PUBLISHER },
    { { "/events", "Events" }, IH_USER_ANALYST },
    { { "/members", "Members" }, IH_USER_ANALYST },
    { { "/downloads", "Downloads" }, IH_USER_ANALYST },
    { { "/account", "Account" }, IH_USER_ANALYST },
    { { "/admin", "Admin" }, IH_USER_ADMIN },
};
#define s_NNAV ((int) (sizeof s_nav / sizeof s_nav [0]))

static void
s_layout (const ih_con_t *con, ih_layout_t *l)
{
    memset (l, 0, sizeof *l);
    l->site = con->site;
    l->home = "/";
    l->css = s_css;
    l->back = "Back to the console";
    l->footer = "<div>Infohub Members Zone: what this member's agent holds, at every TLP. "
                "Handle each item as its TLP says.</div><div><a href=\"/alerts\">Alerts</a>"
                "<a href=\"/downloads\">Downloads</a><a href=\"/account\">Account</a></div>";
}

static void
s_flash (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    if (x->stale)
        ih_html_puts (b, "<div class=\"flash warn\" role=\"alert\"><strong>Nothing was sent yet.</strong> "
                         "This form had expired (or came from another session); what you typed is "
                         "below. Check it and send it again.</div>\n");
    if (x->error) {
        ih_html_puts (b, "<div class=\"flash err\" role=\"alert\">");
        ih_html_esc (b, x->error);
        ih_html_puts (b, "</div>\n");
    }
    if (x->notice) {
        ih_html_puts (b, "<div class=\"flash ok\" role=\"status\">");
        ih_html_esc (b, x->notice);
        ih_html_puts (b, "</div>\n");
    }
}

void
ih_con_begin (ih_con_req_t *x, const char *title, const char *active)
{
    ih_layout_t l;
    s_layout (x->con, &l);
    ih_layout_link_t nav [s_NNAV];
    int n = 0;
    for (int i = 0; i < s_NNAV; i++)
        if (x->user_ok && x->user.role >= s_nav [i].role)
            nav [n++] = s_nav [i].link;
    l.nav = nav;
    l.nnav = n;
    ih_layout_begin (&l, x->r, title, active);
    ih_buf_t *b = &x->r->body;
    if (x->user_ok) {
        ih_html_puts (b, "<div class=\"userbar\"><span><strong>");
        ih_html_esc (b, ih_con_author (x));
        ih_html_puts (b, "</strong> (");
        ih_html_esc (b, ih_user_role_name (x->user.role));
        ih_html_puts (b, ") \xc2\xb7 ");
        ih_html_esc (b, x->con->org);
        ih_html_puts (b, "</span><form class=\"inline\" method=\"post\" action=\"/logout\">");
        ih_con_csrf_field (x);
        ih_html_puts (b, "<button class=\"quiet small\" type=\"submit\">Log out</button></form></div>\n");
    }
    s_flash (x);
}

void
ih_con_begin_bare (ih_con_req_t *x, const char *title)
{
    ih_layout_t l;
    s_layout (x->con, &l);
    l.footer = NULL;
    ih_layout_begin (&l, x->r, title, NULL);
    ih_html_puts (&x->r->body, "<div class=\"login\">");
    s_flash (x);
}

void
ih_con_end (ih_con_req_t *x)
{
    ih_layout_t l;
    s_layout (x->con, &l);
    if (!x->user_ok) {
        ih_html_puts (&x->r->body, "</div>");
        l.footer = NULL;
    }
    ih_layout_end (&l, x->r);
    x->r->etag = false;
    x->r->cache = NULL;
}

void
ih_con_csrf_field (ih_con_req_t *x)
{
    if (!x->session)
        return;
    ih_html_puts (&x->r->body, "<input type=\"hidden\" name=\"csrf\" value=\"");
    ih_html_esc (&x->r->body, x->sess.csrf);
    ih_html_puts (&x->r->body, "\">");
}

void
ih_con_fail (ih_con_req_t *x, int status, const char *msg)
{
    ih_layout_t l;
    s_layout (x->con, &l);
    ih_layout_error (&l, x->r, status, status == 403 ? "Not allowed" : status == 404 ? "Not found"
                     : status == 503 || status == 502 ? "Unavailable" : "Error", msg);
    x->r->cache = NULL;
}

/* ---- the daemon and the audit log ------------------------------------------------------------ */

json_t *
ih_con_call (ih_con_req_t *x, const char *op, json_t *req, int timeout_ms, ih_err_t *err)
{
    if (!req)
        req = json_object ();
    json_object_set_new (req, "op", json_string (op));
    int ms = timeout_ms > 0 ? timeout_ms : x->con->control_ms > 0 ? x->con->control_ms : 15000;
    json_t *answer = ih_control_call (x->con->control, req, ms, err);
    json_decref (req);
    return answer;
}

const char *
ih_con_refusal (json_t *answer, char *out, size_t size)
{
    const char *code = json_string_value (json_object_get (answer, "code"));
    const char *reason = json_string_value (json_object_get (answer, "reason"));
    snprintf (out, size, "%s%s%s", reason ? reason : "refused", code ? " (" : "",
              code ? code : "");
    if (code)
        snprintf (out + strlen (out), size - strlen (out), ")");
    return out;
}

void
ih_con_audit (ih_con_req_t *x, const char *event, const char *fmt, ...)
{
    char detail [2048];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (detail, sizeof detail, fmt, ap);
    va_end (ap);
    const char *actor = x->user_ok ? x->user.name : x->session ? x->sess.user : "-";
    ih_err_t err = { "" };
    if (x->con->audit && ih_audit_append (x->con->audit, actor, x->addr, event, detail, &err) != 0)
        fprintf (stderr, "E console: audit log: %s\n", err.msg);
}

/* ---- the gate ---------------------------------------------------------------------------------- */

/*  The origin part of a URL ("https://zone.example:8443" of "https://zone.example:8443/x"). */
static void
s_origin_of (const char *url, char *out, size_t size)
{
    const char *p = strstr (url, "://");
    size_t n = p ? (size_t) (strchr (p + 3, '/') ? strchr (p + 3, '/') - url : (ptrdiff_t) strlen (url))
                 : 0;
    snprintf (out, size, "%.*s", (int) n, url);
}

/*  Does the Host header name this console? A page that a DNS rebinding points at the
    console's address sends its own name: refused (the bind address, localhost and the
    public URL's host are this console's; a wildcard bind takes any name). */
static bool
s_host_ok (ih_con_req_t *x)
{
    const ih_con_t *con = x->con;
    const char *host = ih_req_header (x->r, MHD_HTTP_HEADER_HOST);
    if (!host || !con->bind || streq (con->bind, "0.0.0.0") || streq (con->bind, "::"))
        return true;
    char want [300];
    if (con->public_url && *con->public_url) {
        s_origin_of (con->public_url, want, sizeof want);
        const char *h = strstr (want, "://");
        if (h && strcasecmp (h + 3, host) == 0)
            return true;
    }
    bool v6 = strchr (con->bind, ':') != NULL;
    snprintf (want, sizeof want, "%s%s%s:%u", v6 ? "[" : "", con->bind, v6 ? "]" : "", con->port);
    if (strcasecmp (host, want) == 0)
        return true;
    snprintf (want, sizeof want, "localhost:%u", con->port);
    return strcasecmp (host, want) == 0;
}

/*  Is this POST from one of the console's own pages? Sec-Fetch-Site (sent by every
    current browser) must say same-origin; an Origin must be this console's. A request
    with neither (a script, an old browser) still needs the session's token. */
static bool
s_same_origin (ih_con_req_t *x, const char **why)
{
    const char *sfs = ih_req_header (x->r, "Sec-Fetch-Site");
    if (sfs && !streq (sfs, "same-origin") && !streq (sfs, "none")) {
        *why = "Sec-Fetch-Site";
        return false;
    }
    const char *origin = ih_req_header (x->r, "Origin");
    if (!origin)
        return true;
    *why = "Origin";
    char want [320];
    const char *host = ih_req_header (x->r, MHD_HTTP_HEADER_HOST);
    if (host) {
        snprintf (want, sizeof want, "%s://%s", ih_req_tls (x->r) ? "https" : "http", host);
        if (strcasecmp (origin, want) == 0)
            return true;
    }
    if (x->con->public_url && *x->con->public_url) {
        s_origin_of (x->con->public_url, want, sizeof want);
        if (strcasecmp (origin, want) == 0)
            return true;
    }
    return false;
}

/*  Not logged in (or not far enough): a GET goes to the step it needs, a POST is refused
    (what it carried is not acted on). */
static void
s_to_login (ih_con_req_t *x, const char *where)
{
    if (x->r->post) {
        ih_con_fail (x, 401, "Your session has ended: log in again (nothing was sent).");
        return;
    }
    ih_req_redirect (x->r, where);
}

typedef struct {
    ih_con_req_t *x;
} s_resend_t;

static int
s_resend_field (const char *key, const char *value, void *arg)
{
    ih_con_req_t *x = (ih_con_req_t *) arg;
    if (streq (key, "csrf") || strstr (key, "password"))
        return 0;               //  a fresh token below; passwords are never echoed
    ih_html_puts (&x->r->body, "<input type=\"hidden\" name=\"");
    ih_html_esc (&x->r->body, key);
    ih_html_puts (&x->r->body, "\" value=\"");
    ih_html_esc (&x->r->body, value);
    ih_html_puts (&x->r->body, "\">");
    return 0;
}

/*  A stale POST of a route without a form of its own: the same fields, to send again. */
static void
s_resend (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    ih_con_begin (x, "Send again?", NULL);
    ih_html_puts (b, "<h1>Send again?</h1><div class=\"form\"><form method=\"post\" action=\"");
    ih_html_esc (b, x->r->path);
    ih_html_puts (b, "\">");
    ih_req_form_each (x->r, s_resend_field, x);
    ih_con_csrf_field (x);
    ih_html_puts (b, "<p>The page this came from had expired. Nothing was done.</p><div class=\"actions\">"
                     "<button type=\"submit\" autofocus>Send again</button> <a href=\"/\">Cancel</a>"
                     "</div></form></div>\n");
    ih_con_end (x);
}

static void
s_serve (ih_req_t *r)
{
    const ih_con_route_t *route = (const ih_con_route_t *) r->route->data;
    ih_con_req_t *x = (ih_con_req_t *) calloc (1, sizeof *x);
    if (!x)
        abort ();
    x->r = r;
    x->con = (ih_con_t *) r->app;
    ih_req_addr (r, x->addr, sizeof x->addr);
    ih_err_t err = { "" };
    if (!s_host_ok (x)) {
        ih_con_fail (x, 400, "This console does not answer to that host name.");
        goto done;
    }
    x->store = (ih_store_t *) ih_req_local (r);
    if (!x->store) {
        ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        goto done;
    }
    const char *sid = ih_req_cookie (r, IH_CON_COOKIE);
    if (sid && strlen (sid) == IH_SESSION_ID) {
        int rc = ih_users_session_get (x->con->users, sid, ih_now_ms (), &x->sess, &err);
        if (rc < 0) {
            fprintf (stderr, "E console: %s\n", err.msg);
            ih_con_fail (x, 503, "The accounts database cannot be read right now.");
            goto done;
        }
        if (rc == 1) {
            x->session = true;
            snprintf (x->sid, sizeof x->sid, "%s", sid);
        }
    }
    const char *why = "";
    if (r->post && !s_same_origin (x, &why)) {
        const char *sfs = ih_req_header (r, "Sec-Fetch-Site"), *origin = ih_req_header (r, "Origin");
        ih_con_audit (x, "refused", "cross-site %s to %s (%s: Sec-Fetch-Site %.40s, Origin %.100s)", r->method,
                      r->path, why, sfs ? sfs : "-", origin ? origin : "-");
        ih_con_fail (x, 403, "This form did not come from the console's own pages: refused.");
        goto done;
    }
    switch (route->gate) {
        case IH_CON_PUBLIC:
            break;
        case IH_CON_PENDING:
        case IH_CON_ANY:
            if (!x->session) {
                s_to_login (x, "/login");
                goto done;
            }
            if (route->gate == IH_CON_PENDING && x->sess.full) {
                s_to_login (x, "/");
                goto done;
            }
            break;
        case IH_CON_FULL:
            if (!x->session) {
                s_to_login (x, "/login");
                goto done;
            }
            if (!x->sess.full) {
                s_to_login (x, "/login/code");
                goto done;
            }
            break;
    }
    if (x->session && x->sess.full) {
        int rc = ih_users_get (x->con->users, x->sess.user, &x->user, &err);
        if (rc != 1) {
            //  Removed while logged in: the session goes with the account.
            ih_users_session_end (x->con->users, x->sid, NULL);
            x->session = false;
            if (route->gate != IH_CON_PUBLIC) {
                s_to_login (x, "/login");
                goto done;
            }
        }
        else
            x->user_ok = true;
    }
    if (route->gate == IH_CON_FULL && x->user.role < route->role) {
        ih_con_audit (x, "refused", "%s %s needs the %s role", r->method, r->path,
                      ih_user_role_name (route->role));
        ih_con_fail (x, 403, "Your role does not allow this.");
        goto done;
    }
    if (r->post && route->gate != IH_CON_PUBLIC) {
        const char *tok = ih_req_form (r, "csrf");
        size_t want = strlen (x->sess.csrf);
        if (!tok || strlen (tok) != want || want == 0 || sodium_memcmp (tok, x->sess.csrf, want) != 0) {
            ih_con_audit (x, "refused", "a form to %s without this session's token", r->path);
            x->stale = true;
            if (route->form)
                route->form (x);
            else
                s_resend (x);
            if (r->status == 0 || r->status == 200)
                r->status = 403;
            goto done;
        }
    }
    route->fn (x);
done:
    sodium_memzero (x, sizeof *x);
    free (x);
}

/* ---- assets ------------------------------------------------------------------------------------ */

static void
s_static (ih_con_req_t *x)
{
    ih_layout_t l;
    s_layout (x->con, &l);
    if (!ih_layout_asset (&l, x->r, strrchr (x->r->path, '/') + 1))
        ih_con_fail (x, 404, "no such file");
}

static void
s_robots (ih_con_req_t *x)
{
    x->r->ctype = "text/plain; charset=utf-8";
    x->r->etag = true;
    x->r->cache = "public, max-age=86400";
    ih_html_puts (&x->r->body, "User-agent: *\nDisallow: /\n");
}

/* ---- the route table ---------------------------------------------------------------------------- */

#define s_GATE(name, g, ro, f, fo) static const ih_con_route_t name = { g, ro, f, fo }
s_GATE (s_r_static,    IH_CON_PUBLIC,  IH_USER_ANALYST,   s_static, NULL);
s_GATE (s_r_robots,    IH_CON_PUBLIC,  IH_USER_ANALYST,   s_robots, NULL);
s_GATE (s_r_login,     IH_CON_PUBLIC,  IH_USER_ANALYST,   ih_con_login, NULL);
s_GATE (s_r_code,      IH_CON_PENDING, IH_USER_ANALYST,   ih_con_login_code, ih_con_login_code);
s_GATE (s_r_logout,    IH_CON_ANY,     IH_USER_ANALYST,   ih_con_logout, NULL);
s_GATE (s_r_home,      IH_CON_FULL,    IH_USER_ANALYST,   ih_con_home, NULL);
s_GATE (s_r_alerts,    IH_CON_FULL,    IH_USER_ANALYST,   ih_con_alerts, NULL);
s_GATE (s_r_alert,     IH_CON_FULL,    IH_USER_ANALYST,   ih_con_alert, NULL);
s_GATE (s_r_comment,   IH_CON_FULL,    IH_USER_ANALYST,   ih_con_comment, ih_con_comment_form);
s_GATE (s_r_sighting,  IH_CON_FULL,    IH_USER_ANALYST,   ih_con_sighting, NULL);
s_GATE (s_r_retract,   IH_CON_FULL,    IH_USER_PUBLISHER, ih_con_retract, NULL);
s_GATE (s_r_share,     IH_CON_FULL,    IH_USER_PUBLISHER, ih_con_share, ih_con_share);
s_GATE (s_r_events,    IH_CON_FULL,    IH_USER_ANALYST,   ih_con_events, NULL);
s_GATE (s_r_members,   IH_CON_FULL,    IH_USER_ANALYST,   ih_con_members, NULL);
s_GATE (s_r_downloads, IH_CON_FULL,    IH_USER_ANALYST,   ih_con_downloads, NULL);
s_GATE (s_r_export,    IH_CON_FULL,    IH_USER_ANALYST,   ih_con_export, NULL);
s_GATE (s_r_account,   IH_CON_FULL,    IH_USER_ANALYST,   ih_con_account, NULL);
s_GATE (s_r_password,  IH_CON_FULL,    IH_USER_ANALYST,   ih_con_account_password, ih_con_account);
s_GATE (s_r_totp,      IH_CON_FULL,    IH_USER_ANALYST,   ih_con_account_totp, ih_con_account);
s_GATE (s_r_recovery,  IH_CON_FULL,    IH_USER_ANALYST,   ih_con_account_recovery, ih_con_account);
s_GATE (s_r_sessions,  IH_CON_FULL,    IH_USER_ANALYST,   ih_con_account_session_end, NULL);
s_GATE (s_r_admin,     IH_CON_FULL,    IH_USER_ADMIN,     ih_con_admin, NULL);
s_GATE (s_r_adm_add,   IH_CON_FULL,    IH_USER_ADMIN,     ih_con_admin_add, ih_con_admin);
s_GATE (s_r_adm_user,  IH_CON_FULL,    IH_USER_ADMIN,     ih_con_admin_user, NULL);

#define s_GET  IH_HTTP_GET
#define s_POST IH_HTTP_POST
#define s_BOTH (IH_HTTP_GET | IH_HTTP_POST)
#define s_ROUTE(p, m, l, me, d, mb) { .path = p, .match = m, .label = l, .handler = s_serve, \
                                      .methods = me, .data = &d, .max_body = mb }
//  In order: the first match answers. The share form carries a pasted advisory and up to
//  IH_MAX_IOCS reviewed indicators: a larger body than the others.
static const ih_http_route_t s_routes [] = {
    s_ROUTE ("/static/style.css",   IH_HTTP_EXACT,  "static",    s_GET,  s_r_static, 0),
    s_ROUTE ("/static/icon.svg",    IH_HTTP_EXACT,  "static",    s_GET,  s_r_static, 0),
    s_ROUTE ("/favicon.ico",        IH_HTTP_EXACT,  "static",    s_GET,  s_r_static, 0),
    s_ROUTE ("/robots.txt",         IH_HTTP_EXACT,  "static",    s_GET,  s_r_robots, 0),
    s_ROUTE ("/login",              IH_HTTP_EXACT,  "login",     s_BOTH, s_r_login, 4096),
    s_ROUTE ("/login/code",         IH_HTTP_EXACT,  "login",     s_BOTH, s_r_code, 4096),
    s_ROUTE ("/logout",             IH_HTTP_EXACT,  "login",     s_POST, s_r_logout, 4096),
    s_ROUTE ("/",                   IH_HTTP_EXACT,  "home",      s_GET,  s_r_home, 0),
    s_ROUTE ("/alerts",             IH_HTTP_EXACT,  "alerts",    s_GET,  s_r_alerts, 0),
    s_ROUTE ("/alerts/",            IH_HTTP_PREFIX, "alert",     s_GET,  s_r_alert, 0),
    s_ROUTE ("/comment",            IH_HTTP_EXACT,  "act",       s_POST, s_r_comment, 64 * 1024),
    s_ROUTE ("/sighting",           IH_HTTP_EXACT,  "act",       s_POST, s_r_sighting, 8 * 1024),
    s_ROUTE ("/retract",            IH_HTTP_EXACT,  "act",       s_POST, s_r_retract, 512 * 1024),
    s_ROUTE ("/share",              IH_HTTP_EXACT,  "share",     s_BOTH, s_r_share, 4 * 1024 * 1024),
    s_ROUTE ("/events",             IH_HTTP_EXACT,  "events",    s_GET,  s_r_events, 0),
    s_ROUTE ("/members",            IH_HTTP_EXACT,  "members",   s_GET,  s_r_members, 0),
    s_ROUTE ("/downloads",          IH_HTTP_EXACT,  "downloads", s_GET,  s_r_downloads, 0),
    s_ROUTE ("/export",             IH_HTTP_EXACT,  "export",    s_GET,  s_r_export, 0),
    s_ROUTE ("/account",            IH_HTTP_EXACT,  "account",   s_GET,  s_r_account, 0),
    s_ROUTE ("/account/password",   IH_HTTP_EXACT,  "account",   s_POST, s_r_password, 4096),
    s_ROUTE ("/account/totp",       IH_HTTP_EXACT,  "account",   s_POST, s_r_totp, 4096),
    s_ROUTE ("/account/recovery",   IH_HTTP_EXACT,  "account",   s_POST, s_r_recovery, 4096),
    s_ROUTE ("/account/sessions",   IH_HTTP_EXACT,  "account",   s_POST, s_r_sessions, 4096),
    s_ROUTE ("/admin",              IH_HTTP_EXACT,  "admin",     s_GET,  s_r_admin, 0),
    s_ROUTE ("/admin/add",          IH_HTTP_EXACT,  "admin",     s_POST, s_r_adm_add, 8192),
    s_ROUTE ("/admin/user",         IH_HTTP_EXACT,  "admin",     s_POST, s_r_adm_user, 8192),
};
#define s_NROUTES (sizeof s_routes / sizeof s_routes [0])

int
ih_con_routes (ih_con_route_each_fn *fn, void *arg)
{
    for (size_t i = 0; i < s_NROUTES; i++) {
        int rc = fn (s_routes [i].path, s_routes [i].match == IH_HTTP_PREFIX, s_routes [i].methods,
                     (const ih_con_route_t *) s_routes [i].data, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the server's callbacks ----------------------------------------------------------------------- */

static void *
s_store_new (void *app)
{
    return ih_store_share (((ih_con_t *) app)->store);
}

static void
s_store_free (void *local)
{
    ih_store_t *store = (ih_store_t *) local;
    ih_store_destroy (&store);
}

static void
s_html_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    ih_layout_t l;
    s_layout ((ih_con_t *) r->app, &l);
    ih_layout_error (&l, r, status, reason, msg);
}

ih_http_t *
ih_con_serve (ih_con_t *con, const ih_http_cfg_t *cfg, ih_err_t *err)
{
    ih_http_cfg_t c = *cfg;
    c.name = "console";
    c.csp = IH_CON_CSP;
    //  Browsers send Origin: null with a form under no-referrer; same-origin keeps the
    //  real Origin for the console's own forms and still sends nothing elsewhere.
    c.referrer = "same-origin";
    c.app = con;
    c.generation = NULL;            //  only the assets are ever cached
    c.local_new = s_store_new;
    c.local_free = s_store_free;
    c.html_error = s_html_error;
    if (!c.threads)
        c.threads = 4;              //  a control call waits for the broker's verdict
    ih_http_t *http = ih_http_new (&c);
    for (size_t i = 0; i < s_NROUTES; i++)
        if (ih_http_route (http, &s_routes [i], err) != 0) {
            ih_http_destroy (&http);
            return NULL;
        }
    if (ih_http_start (http, err) != 0)
        ih_http_destroy (&http);
    return http;
}

//  The self-test is ih_con_test.c: it drives the whole site.

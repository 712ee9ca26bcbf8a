/*  ih_con.h: the Members Zone console as a front end of the web layer (web/): its shared
    state, the gate every request passes (sessions, roles, CSRF, Origin), the site (route
    table and page shell), and the helpers its pages share. docs/ARCHITECTURE.md has the
    console in the layers and the path of a comment.

    PRIVILEGE SEPARATION. The console holds no key. It reads the agent's store read-only
    (a per-thread handle, as the gateway does), the accounts database (ih_users.h) and
    the audit log (ih_audit.h), and hands everything that needs the member's keys or the
    console key to the agent daemon over its control socket (ih_control.h): publish,
    comment, sighting, retract, totp-check, totp-new. Whoever takes over the console can
    act as the member through the daemon (that is what it is for), but cannot take the
    member's signing or CURVE key, nor anyone's TOTP secret.

    THE GATE. Every route is registered with an ih_con_route_t (the route's data): which
    sessions it answers (public, the code step only, any session, or both steps done) and
    the least role (ih_users.h: analyst, publisher, admin). ih_con_serve runs before every
    handler:
      - the session: the cookie IH_CON_COOKIE names it (ih_users_session_get: idle and
        absolute expiry); no session or an ended one sends a GET to /login (303) and
        refuses a POST (401); a session with the password step only sees the code page
        and logout; a user below the route's role gets 403, on GET and POST alike;
      - every POST: a Sec-Fetch-Site other than same-origin or none, or an Origin that
        is not this console's (its Host, or agent/console/public-url), is refused (403)
        before anything is read; then, for a session, the form's "csrf" field must be
        the session's token (compared in constant time). A missing or stale token does
        not act: the route's form is shown again (status 403) with what was typed
        (escaped) and a fresh token, asking to send it again; a route without a form of
        its own gets a page that resends the same fields. Passwords are never echoed.
    The handler then gets an ih_con_req_t: the request, this thread's store handle, the
    session and the user.

    AUDIT. ih_con_audit appends to the audit log with the user and the client address:
    logins, failures, reuse, throttling, refusals, and every action taken.

    Threading: ih_con_t is set up by main before ih_con_serve and read only after (its
    users, audit and warninglist are safe to share); each request runs on one of the web
    layer's threads with its own store handle.
*/
#ifndef IH_CON_H
#define IH_CON_H

#include <jansson.h>
#include <stdatomic.h>

#include "ih_audit.h"
#include "ih_http.h"
#include "ih_layout.h"
#include "ih_store.h"
#include "ih_users.h"
#include "ih_warninglist.h"

#define IH_CON_COOKIE       "ih_console"
#define IH_CON_WALK_BUDGET  20000       /* records a page's walk reads at most */
#define IH_CON_CSP          "default-src 'none'; style-src 'self'; img-src 'self' data:; " \
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

typedef struct ih_con_analytics ih_con_analytics_t;     /* ih_con_suggest.h */

/*  The console: what main opened, shared by every request. */
typedef struct {
    const char *org;                /* the member's org, name and sector (agent.cfg) */
    const char *member;
    const char *sector;
    const char *site;               /* the site name on every page */
    ih_store_t *store;              /* opened read-only by main; threads share it */
    ih_users_t *users;
    ih_audit_t *audit;
    const char *audit_path;
    const char *control;            /* the daemon's control socket (a path) */
    const char *public_url;         /* "" or the console's URL behind a proxy (Origin) */
    const char *bind;               /* the address listened on ("127.0.0.1") ... */
    uint16_t port;                  /* ... and the port, for the Host check */
    const char *issuer;             /* the otpauth issuer of new TOTP secrets (agent/console/issuer) */
    const ih_warninglist_t *wl;     /* NULL when no lists were found */
    ih_con_analytics_t *analytics;  /* the model and the related index (may be NULL) */
    int control_ms;                 /* a control call's time limit (0 = 15000) */
    int64_t started_ms;
    _Atomic int streams;            /* exports running */
} ih_con_t;

/*  Who may see a route. */
typedef enum {
    IH_CON_PUBLIC = 0,              /* anyone: the login page, assets */
    IH_CON_PENDING,                 /* a session with the password step done: the code page */
    IH_CON_ANY,                     /* any session (logout) */
    IH_CON_FULL                     /* both steps done (every other page) */
} ih_con_gate_t;

typedef struct ih_con_req ih_con_req_t;
typedef void (ih_con_fn)(ih_con_req_t *x);

/*  What the gate knows of a route (ih_http_route_t data). */
typedef struct {
    ih_con_gate_t gate;
    ih_user_role_t role;            /* the least role (IH_CON_FULL routes) */
    ih_con_fn *fn;                  /* the page or the action */
    ih_con_fn *form;                /* shows a stale POST's form again (NULL: resend page) */
} ih_con_route_t;

/*  One request as a console page sees it. */
struct ih_con_req {
    ih_req_t *r;
    ih_con_t *con;
    ih_store_t *store;              /* this thread's read handle */
    bool session;                   /* a live session (pending or full) */
    ih_session_t sess;
    char sid [IH_SESSION_ID + 1];
    bool user_ok;                   /* user was read (full sessions) */
    ih_user_t user;
    char addr [64];                 /* the client's address */
    bool stale;                     /* a POST whose CSRF token did not match: show it again */
    const char *error;              /* a message for the page to show (data: escaped) */
    const char *notice;
};

/* ---- the site ------------------------------------------------------------------------------ */
/*  Starts the web server on cfg with the console's routes (its front-end part is set
    here). NULL with err. Stop it with ih_http_destroy before what con points to. */
ih_http_t *ih_con_serve(ih_con_t *con, const ih_http_cfg_t *cfg, ih_err_t *err);

typedef int (ih_con_route_each_fn)(const char *path, bool prefix, unsigned methods,
                                   const ih_con_route_t *route, void *arg);
/*  Each registered route, in order (for --routes and the tests that walk them). */
int ih_con_routes(ih_con_route_each_fn *fn, void *arg);

/* ---- the page shell ------------------------------------------------------------------------ */
/*  Starts a page (the shell, the navigation this user's role sees, the user bar with
    logout), and shows x->error and x->notice. active: the nav link to highlight. */
void ih_con_begin(ih_con_req_t *x, const char *title, const char *active);
void ih_con_end(ih_con_req_t *x);
/*  A page of the login steps: the shell without navigation. */
void ih_con_begin_bare(ih_con_req_t *x, const char *title);
/*  Appends the hidden CSRF field of the session. */
void ih_con_csrf_field(ih_con_req_t *x);
/*  An error page in the shell (status, escaped text). */
void ih_con_fail(ih_con_req_t *x, int status, const char *msg);

/* ---- helpers -------------------------------------------------------------------------------- */
/*  A form value on a POST (or a GET argument), "" when absent: what a page shows again. */
const char *ih_con_val(ih_con_req_t *x, const char *key);
/*  The name shown for the user (display name, else login name). */
const char *ih_con_author(const ih_con_req_t *x);
/*  Who wrote a message: its author when the body carries one, else the member. */
const char *ih_con_msg_author(const ih_msg_t *m);
/*  Appends to the audit log as this user (or "-") from this address; a failure to
    write is logged, not shown. */
void ih_con_audit(ih_con_req_t *x, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*  Calls the agent daemon: req (stolen; NULL for none) gets "op"; waits up to timeout_ms
    (0: con->control_ms). Returns the answer (new reference: check "ok"), or NULL with
    err when the daemon did not answer. */
json_t *ih_con_call(ih_con_req_t *x, const char *op, json_t *req, int timeout_ms, ih_err_t *err);
/*  The reason of a refusal ({"ok": false, "code", "reason"}) as one line. */
const char *ih_con_refusal(json_t *answer, char *out, size_t size);

/*  Renders. All escape their data. */
void ih_con_tlp(ih_buf_t *b, ih_tlp_t tlp);                 /* a TLP badge */
void ih_con_sev(ih_buf_t *b, ih_severity_t sev);            /* a severity badge */
void ih_con_time(ih_buf_t *b, int64_t ms);                  /* <time> "2026-11-28 17:25" */
void ih_con_ago(ih_buf_t *b, int64_t ms);                   /* "5 min ago", "3 d ago" */
const char *ih_con_cat_label(ih_category_t c);
const char *ih_con_ioc_label(ih_ioc_type_t t);
/*  If path is prefix + a 36-char id (+ optional "/"), copies the id. */
bool ih_con_id_after(const char *path, const char *prefix, char id [IH_UUID_LEN + 1]);

void ih_con_test(bool verbose);

#endif

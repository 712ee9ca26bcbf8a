/*  ih_con_admin.c: users and the audit log (see ih_con_admin.h). */
#include <czmq.h>

#include "ih_con_account.h"
#include "ih_con_admin.h"
#include "ih_html.h"

#define s_AUDIT_TAIL    200

/* ---- the page --------------------------------------------------------------------------------- */

static void
s_role_select (ih_buf_t *b, ih_user_role_t role)
{
    ih_html_puts (b, "<select name=\"role\" aria-label=\"role\">");
    for (int i = 0; i <= IH_USER_ADMIN; i++)
        ih_buf_printf (b, "<option%s>%s</option>", (int) role == i ? " selected" : "",
                        ih_user_role_name ((ih_user_role_t) i));
    ih_html_puts (b, "</select>");
}

typedef struct {
    ih_con_req_t *x;
    int n;
} s_users_t;

static void
s_user_action (ih_con_req_t *x, const char *name, const char *action, const char *label, const char *cls,
               bool confirm)
{
    ih_buf_t *b = &x->r->body;
    ih_html_puts (b, "<form class=\"inline\" method=\"post\" action=\"/admin/user\"><input type=\"hidden\" "
                     "name=\"name\" value=\"");
    ih_html_esc (b, name);
    ih_buf_printf (b, "\"><input type=\"hidden\" name=\"action\" value=\"%s\">", action);
    ih_con_csrf_field (x);
    if (confirm)
        ih_html_puts (b, "<label class=\"small\"><input type=\"checkbox\" name=\"confirm\" value=\"1\" required> "
                         "sure</label> ");
    ih_buf_printf (b, "<button class=\"%s small\" type=\"submit\">%s</button></form> ", cls, label);
}

static int
s_user_row (const ih_user_t *u, void *arg)
{
    s_users_t *su = (s_users_t *) arg;
    ih_con_req_t *x = su->x;
    ih_buf_t *b = &x->r->body;
    bool me = streq (u->name, x->user.name);
    ih_html_puts (b, "<tr><td><strong>");
    ih_html_esc (b, u->name);
    ih_html_puts (b, "</strong>");
    if (me)
        ih_html_puts (b, " <span class=\"tag\">you</span>");
    ih_html_puts (b, "</td><td>");
    ih_html_esc (b, u->display);
    ih_html_puts (b, "</td><td>");
    if (me)
        ih_html_esc (b, ih_user_role_name (u->role));
    else {
        ih_html_puts (b, "<form class=\"inline\" method=\"post\" action=\"/admin/user\"><input type=\"hidden\" "
                         "name=\"name\" value=\"");
        ih_html_esc (b, u->name);
        ih_html_puts (b, "\"><input type=\"hidden\" name=\"action\" value=\"role\">");
        ih_con_csrf_field (x);
        s_role_select (b, u->role);
        ih_html_puts (b, " <button class=\"quiet small\" type=\"submit\">Set</button></form>");
    }
    ih_html_puts (b, "</td><td class=\"nowrap\">");
    ih_con_time (b, u->last_login);
    ih_buf_printf (b, "</td><td class=\"num\">%d</td><td class=\"num\">%u</td><td>", ih_users_recovery_left (u),
                    u->reuse_seen);
    if (!me) {
        s_user_action (x, u->name, "reset-password", "New password", "quiet", false);
        s_user_action (x, u->name, "reset-otp", "New authenticator", "quiet", false);
        s_user_action (x, u->name, "remove", "Remove", "danger", true);
    }
    else
        ih_html_puts (b, "<a class=\"small\" href=\"/account\">your account</a>");
    ih_html_puts (b, "</td></tr>\n");
    su->n++;
    return 0;
}

static int
s_audit_row (const ih_audit_entry_t *e, void *arg)
{
    ih_buf_t *rows = (ih_buf_t *) arg;
    //  Collected oldest first; each row is prepended later by reversing: keep simple,
    //  write rows into a list and reverse on output.
    ih_buf_t row;
    ih_buf_init (&row);
    ih_buf_printf (&row, "<tr><td class=\"num\">%" PRIu64 "</td><td class=\"nowrap\">", e->seq);
    ih_html_esc (&row, e->time);
    ih_html_puts (&row, "</td><td>");
    ih_html_esc (&row, e->actor);
    ih_html_puts (&row, "</td><td>");
    ih_html_esc (&row, e->addr);
    ih_html_puts (&row, "</td><td><code>");
    ih_html_esc (&row, e->event);
    ih_html_puts (&row, "</code></td><td>");
    ih_html_esc (&row, e->detail);
    ih_html_puts (&row, "</td></tr>\n");
    //  Length-prefixed, so the rows can be written newest first.
    uint32_t n = (uint32_t) row.len;
    ih_buf_append (rows, &n, sizeof n);
    ih_buf_append (rows, row.data, row.len);
    ih_buf_free (&row);
    return 0;
}

void
ih_con_admin (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    ih_con_begin (x, "Admin", "/admin");
    ih_html_puts (b, "<h1>Administration</h1><h2>Users</h2><table class=\"dense\"><thead><tr><th>User</th>"
                     "<th>Shown as</th><th>Role</th><th>Last login</th><th class=\"num\" title=\"recovery codes "
                     "left\">Recovery</th><th class=\"num\" title=\"codes reused since the last login\">Reuse</th>"
                     "<th></th></tr></thead><tbody>\n");
    s_users_t su = { x, 0 };
    ih_err_t err = { "" };
    if (ih_users_foreach (x->con->users, s_user_row, &su, &err) < 0)
        ih_html_puts (b, "<tr><td colspan=\"7\">The accounts database cannot be read.</td></tr>");
    ih_html_puts (b, "</tbody></table><p class=\"small muted\">Analysts read, comment and report sightings; "
                     "publishers also share, revise and retract; admins also manage users. "
                     "<code>infohub-agent user</code> does the same on the command line.</p>\n");
    ih_html_puts (b, "<h2>Add a user</h2><form class=\"form\" method=\"post\" action=\"/admin/add\">");
    ih_con_csrf_field (x);
    ih_html_puts (b, "<div class=\"row\"><label for=\"name\">User name</label><input type=\"text\" id=\"name\" "
                     "name=\"name\" maxlength=\"64\" pattern=\"[a-z0-9][a-z0-9._-]*\" required value=\"");
    ih_html_esc (b, ih_con_val (x, "name"));
    ih_html_puts (b, "\"></div><div class=\"row\"><label for=\"display\">Shown as</label><input type=\"text\" "
                     "id=\"display\" name=\"display\" maxlength=\"128\" value=\"");
    ih_html_esc (b, ih_con_val (x, "display"));
    ih_html_puts (b, "\"></div><div class=\"row\"><label>Role</label><div>");
    ih_user_role_t role = IH_USER_ANALYST;
    ih_user_role_parse (ih_con_val (x, "role"), &role);
    s_role_select (b, role);
    ih_html_puts (b, "</div></div><div class=\"actions\"><button type=\"submit\">Add</button></div></form>\n");

    //  The audit log: its chain checked, its tail.
    uint64_t entries = 0;
    ih_html_puts (b, "<h2>Audit log</h2>");
    if (ih_audit_verify (x->con->audit_path, &entries, &err) == 0)
        ih_buf_printf (b, "<p class=\"flash ok\">%" PRIu64 " entries; the hash chain is intact.</p>", entries);
    else {
        ih_html_puts (b, "<p class=\"flash err\"><strong>The audit log was altered:</strong> ");
        ih_html_esc (b, err.msg);
        ih_html_puts (b, "</p>");
    }
    ih_buf_t rows;
    ih_buf_init (&rows);
    ih_audit_tail (x->con->audit_path, s_AUDIT_TAIL, s_audit_row, &rows, NULL);
    ih_html_puts (b, "<table class=\"dense\"><thead><tr><th class=\"num\">#</th><th>Time (UTC)</th><th>Who</th>"
                     "<th>From</th><th>Event</th><th>Detail</th></tr></thead><tbody>\n");
    //  Newest first: walk the length-prefixed rows, then write them backwards.
    size_t count = 0;
    for (size_t off = 0; off + 4 <= rows.len; count++) {
        uint32_t n;
        memcpy (&n, rows.data + off, 4);
        off += 4 + n;
    }
    size_t *at = (size_t *) calloc (count ? count : 1, sizeof (size_t));
    if (!at)
        abort ();
    size_t k = 0;
    for (size_t off = 0; off + 4 <= rows.len; k++) {
        uint32_t n;
        memcpy (&n, rows.data + off, 4);
        at [k] = off;
        off += 4 + n;
    }
    for (size_t i = count; i > 0; i--) {
        uint32_t n;
        memcpy (&n, rows.data + at [i - 1], 4);
        ih_buf_append (b, rows.data + at [i - 1] + 4, n);
    }
    free (at);
    ih_buf_free (&rows);
    ih_html_puts (b, "</tbody></table><p class=\"small muted\"><code>infohub-agent audit verify</code> checks the "
                     "chain on the command line.</p>\n");
    ih_con_end (x);
}

/* ---- actions ---------------------------------------------------------------------------------- */

/*  The page that shows a new credential once. */
static void
s_once_page (ih_con_req_t *x, const char *title, const char *name, const char *password, const ih_buf_t *enrol,
             char codes [IH_USER_RECOVERY][20])
{
    ih_buf_t *b = &x->r->body;
    ih_con_begin (x, title, "/admin");
    ih_html_puts (b, "<h1>");
    ih_html_esc (b, title);
    ih_html_puts (b, "</h1><p class=\"lede\">Give these to <strong>");
    ih_html_esc (b, name);
    ih_html_puts (b, "</strong> by a way you trust. They are shown only now.</p>\n");
    if (password) {
        ih_html_puts (b, "<h2>Password</h2><p class=\"secret\">");
        ih_html_esc (b, password);
        ih_html_puts (b, "</p><p class=\"small\">They change it under Account after their first login.</p>\n");
    }
    if (enrol && enrol->len) {
        ih_html_puts (b, "<h2>Authenticator</h2>");
        ih_buf_append (b, enrol->data, enrol->len);
    }
    if (codes) {
        ih_html_puts (b, "<h2>Recovery codes</h2><div class=\"secret\">");
        for (int i = 0; i < IH_USER_RECOVERY; i++)
            ih_buf_printf (b, "%s<br>", codes [i]);
        ih_html_puts (b, "</div>\n");
    }
    ih_html_puts (b, "<p><a href=\"/admin\">Back to the users</a></p>\n");
    ih_con_end (x);
}

void
ih_con_admin_add (ih_con_req_t *x)
{
    if (x->stale) {
        ih_con_admin (x);
        return;
    }
    const char *name = ih_con_val (x, "name");
    const char *display = ih_con_val (x, "display");
    ih_user_role_t role;
    static __thread char msg [300];
    if (!ih_slug_valid (name, IH_USER_NAME) || strlen (display) > IH_USER_DISPLAY
    ||  ih_user_role_parse (ih_con_val (x, "role"), &role) != 0) {
        x->error = "name: a-z, 0-9, '-', '_', '.' (64 at most); role: analyst, publisher or admin.";
        ih_con_admin (x);
        x->r->status = 400;
        return;
    }
    ih_err_t err = { "" };
    if (ih_users_get (x->con->users, name, NULL, &err) == 1) {
        snprintf (msg, sizeof msg, "User %s exists already.", name);
        x->error = msg;
        ih_con_admin (x);
        x->r->status = 409;
        return;
    }
    ih_user_t u;
    memset (&u, 0, sizeof u);
    snprintf (u.name, sizeof u.name, "%s", name);
    snprintf (u.display, sizeof u.display, "%s", *display ? display : name);
    u.role = role;
    u.created = ih_now_ms ();
    char password [21];
    ih_con_password_new (password);
    ih_buf_t enrol;
    ih_buf_init (&enrol);
    char codes [IH_USER_RECOVERY][20];
    if (ih_users_password_set (&u, password, &err) != 0 || ih_con_totp_enrol (x, name, u.totp, &enrol) != 0) {
        if (!x->error) {
            snprintf (msg, sizeof msg, "Not added: %s", err.msg);
            x->error = msg;
        }
        ih_con_admin (x);
        x->r->status = 503;
    }
    else {
        ih_users_recovery_new (&u, codes);
        if (ih_users_put (x->con->users, &u, true, &err) != 0) {
            snprintf (msg, sizeof msg, "Not added: %s", err.msg);
            x->error = msg;
            ih_con_admin (x);
            x->r->status = 409;
        }
        else {
            ih_con_audit (x, "user-added", "%s (%s) as %s", u.name, u.display, ih_user_role_name (role));
            s_once_page (x, "User added", u.name, password, &enrol, codes);
        }
        sodium_memzero (codes, sizeof codes);
    }
    sodium_memzero (password, sizeof password);
    sodium_memzero (&u, sizeof u);
    ih_buf_free (&enrol);
}

void
ih_con_admin_user (ih_con_req_t *x)
{
    const char *name = ih_con_val (x, "name");
    const char *action = ih_con_val (x, "action");
    ih_user_t u;
    ih_err_t err = { "" };
    if (ih_users_get (x->con->users, name, &u, &err) != 1) {
        x->error = "No such user.";
        ih_con_admin (x);
        x->r->status = 404;
        return;
    }
    if (streq (name, x->user.name)) {
        //  No lock-out: an admin's own account changes under Account, never from here.
        sodium_memzero (&u, sizeof u);
        x->error = "Change your own account under Account; another admin manages yours.";
        ih_con_admin (x);
        x->r->status = 403;
        return;
    }
    static __thread char msg [300];
    if (streq (action, "role")) {
        ih_user_role_t role;
        if (ih_user_role_parse (ih_con_val (x, "role"), &role) != 0) {
            x->error = "role: analyst, publisher or admin.";
            x->r->status = 400;
        }
        else {
            ih_user_role_t was = u.role;
            u.role = role;
            if (ih_users_put (x->con->users, &u, false, &err) == 0) {
                ih_con_audit (x, "user-changed", "%s: role %s -> %s", u.name, ih_user_role_name (was),
                              ih_user_role_name (role));
                snprintf (msg, sizeof msg, "%s is now %s.", u.name, ih_user_role_name (role));
                x->notice = msg;
            }
        }
        ih_con_admin (x);
    }
    else
    if (streq (action, "remove")) {
        if (!streq (ih_con_val (x, "confirm"), "1")) {
            x->error = "Tick \"sure\" to remove a user.";
            x->r->status = 400;
        }
        else
        if (ih_users_remove (x->con->users, u.name, &err) == 1) {
            ih_con_audit (x, "user-removed", "%s (their sessions ended)", u.name);
            snprintf (msg, sizeof msg, "%s removed.", u.name);
            x->notice = msg;
        }
        ih_con_admin (x);
    }
    else
    if (streq (action, "reset-password")) {
        char password [21];
        ih_con_password_new (password);
        if (ih_users_password_set (&u, password, &err) == 0 && ih_users_put (x->con->users, &u, false, &err) == 0) {
            int ended = ih_users_session_end_all (x->con->users, u.name, NULL, NULL);
            ih_con_audit (x, "user-changed", "%s: new password set by an admin; %d %s ended", u.name,
                          ended < 0 ? 0 : ended, ih_plural (ended < 0 ? 0 : (uint64_t) ended, "session", "sessions"));
            s_once_page (x, "New password", u.name, password, NULL, NULL);
        }
        else {
            snprintf (msg, sizeof msg, "Not changed: %s", err.msg);
            x->error = msg;
            ih_con_admin (x);
            x->r->status = 503;
        }
        sodium_memzero (password, sizeof password);
    }
    else
    if (streq (action, "reset-otp")) {
        ih_buf_t enrol;
        ih_buf_init (&enrol);
        if (ih_con_totp_enrol (x, u.name, u.totp, &enrol) == 0) {
            u.last_step = 0;
            if (ih_users_put (x->con->users, &u, false, &err) == 0) {
                ih_users_session_end_all (x->con->users, u.name, NULL, NULL);
                ih_con_audit (x, "totp-reset", "%s: a new authenticator secret set by an admin", u.name);
                s_once_page (x, "New authenticator", u.name, NULL, &enrol, NULL);
            }
            else {
                x->error = "The accounts database cannot be written right now.";
                ih_con_admin (x);
                x->r->status = 503;
            }
        }
        else {
            ih_con_admin (x);
            x->r->status = 503;
        }
        ih_buf_free (&enrol);
    }
    else {
        x->error = "action: role, remove, reset-password or reset-otp.";
        ih_con_admin (x);
        x->r->status = 400;
    }
    sodium_memzero (&u, sizeof u);
}

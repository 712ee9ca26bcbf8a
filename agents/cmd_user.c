/*  cmd_user.c: `user` and `audit`, the Members Zone's accounts from the command line
    (cmd.h; the accounts are ih_users.h, the audit log ih_audit.h).

      user add NAME [--role R] [--display "Full Name"] [--password-stdin] [--qr FILE]
      user list [--json]
      user remove NAME
      user reset-otp NAME [--qr FILE]
      user reset-password NAME [--password-stdin]
      audit verify

    The accounts database is agent.cfg's agent/console/dir (AGENTDIR/console, 0700);
    the console key, which seals every TOTP secret, is agent/console/key (made 0600 by
    the first `user add`). A new TOTP secret is shown once: as an otpauth:// URI on
    stdout and as a QR code in an SVG file (0600) whose path is printed; recovery codes
    likewise, once. Every user command appends an entry to the audit log (actor "cli"):
    user-added, users-listed, user-removed, totp-reset, password-changed.
*/
#include <errno.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "ih_audit.h"
#include "ih_keys.h"
#include "ih_users.h"

/* ---- passwords ------------------------------------------------------------------------------- */

/*  One line of at most size - 1 bytes from f, without its newline. 0, or -1 (end of input,
    or a line too long). */
static int
s_read_line (FILE *f, char *out, size_t size)
{
    if (!fgets (out, (int) size, f))
        return -1;
    size_t n = strlen (out);
    if (n == size - 1 && out [n - 1] != '\n') {
        sodium_memzero (out, size);
        return -1;
    }
    while (n && (out [n - 1] == '\n' || out [n - 1] == '\r'))
        out [--n] = 0;
    return 0;
}

/*  Reads a line from the terminal without echo, after prompt. 0 or -1 with err. */
static int
s_read_hidden (const char *prompt, char *out, size_t size, ih_err_t *err)
{
    FILE *tty = fopen ("/dev/tty", "r+");
    if (!tty)
        return ih_err_set (err, "no terminal to read the password from; use --password-stdin");
    struct termios old, quiet;
    int fd = fileno (tty);
    bool restore = tcgetattr (fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t) ~ECHO;
        tcsetattr (fd, TCSAFLUSH, &quiet);
    }
    fputs (prompt, tty);
    fflush (tty);
    int rc = s_read_line (tty, out, size);
    fputs ("\n", tty);
    if (restore)
        tcsetattr (fd, TCSAFLUSH, &old);
    fclose (tty);
    return rc == 0 ? 0 : ih_err_set (err, "no password read");
}

/*  The new password of user u: the first line of stdin, or typed twice at the terminal.
    Checks the policy and stores its hash in u. 0 or -1 with err. */
static int
s_new_password (ih_user_t *u, bool from_stdin, ih_err_t *err)
{
    char pw [256], again [256];
    int rc;
    if (from_stdin)
        rc = s_read_line (stdin, pw, sizeof pw) == 0 ? 0 : ih_err_set (err, "--password-stdin: no password"
                                                                       " on stdin (one line, at most 128 characters)");
    else {
        char prompt [128];
        snprintf (prompt, sizeof prompt, "New password for %s: ", u->name);
        rc = s_read_hidden (prompt, pw, sizeof pw, err);
        if (rc == 0)
            rc = s_read_hidden ("Again: ", again, sizeof again, err);
        if (rc == 0 && strcmp (pw, again) != 0)
            rc = ih_err_set (err, "the two passwords differ; nothing changed");
        sodium_memzero (again, sizeof again);
    }
    if (rc == 0)
        rc = ih_users_password_set (u, pw, err);
    sodium_memzero (pw, sizeof pw);
    return rc;
}

/* ---- TOTP enrolment ------------------------------------------------------------------------------ */

/*  A new TOTP secret for u, sealed under the console key (made when missing) into
    u->totp; its enrolment URI into uri (NUL-terminated; the caller wipes it), and its QR
    code written to qr (default: CONSOLE_DIR/NAME.totp.svg, 0600), whose path goes into
    path (4096 bytes). */
static int
s_new_totp (ih_agent_cfg_t *cfg, ih_user_t *u, const char *qr, ih_buf_t *uri, char *path, ih_err_t *err)
{
    uint8_t key [IH_TOTP_KEY], secret [IH_TOTP_SECRET];
    if (ih_totp_key_load (cfg->console_key, true, key, err) != 0)
        return -1;
    ih_totp_secret_new (secret);
    ih_totp_seal (key, secret, u->totp);
    sodium_memzero (key, sizeof key);
    ih_buf_t svg;
    ih_buf_init (&svg);
    ih_buf_reset (uri);
    ih_totp_uri (secret, cfg->console_issuer, u->name, uri);
    sodium_memzero (secret, sizeof secret);
    ih_buf_append (uri, "", 1);
    if (qr)
        snprintf (path, 4096, "%s", qr);
    else
        snprintf (path, 4096, "%s/%s.totp.svg", cfg->console_dir, u->name);
    int rc = ih_totp_qr_svg ((const char *) uri->data, &svg, err);
    if (rc == 0)
        rc = ih_keys_write_file (path, svg.data, svg.len, 0600, true, err);
    ih_buf_free (&svg);
    return rc;
}

static void
s_print_totp (const ih_buf_t *uri, const char *path)
{
    printf ("%s\n", (const char *) uri->data);
    printf ("QR code: %s (scan it with an authenticator app, then delete it)\n", path);
}

static void
s_wipe (ih_buf_t *b)
{
    if (b->data)
        sodium_memzero (b->data, b->len);
    ih_buf_free (b);
}

/* ---- the commands ------------------------------------------------------------------------------ */

/*  Opens the accounts and the audit log, or fails with a one-line message. */
static int
s_open (ih_agent_cfg_t *cfg, ih_users_t **users, ih_audit_t **audit)
{
    ih_err_t err = { "" };
    *users = ih_users_open (cfg->console_dir, &err);
    if (!*users)
        return cmd_fail ("%s", err.msg);
    *audit = ih_audit_open (cfg->audit_log, &err);
    if (!*audit) {
        ih_users_destroy (users);
        return cmd_fail ("%s", err.msg);
    }
    return 0;
}

static void
s_audit (ih_audit_t *audit, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
s_audit (ih_audit_t *audit, const char *event, const char *fmt, ...)
{
    char detail [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (detail, sizeof detail, fmt, ap);
    va_end (ap);
    ih_err_t err = { "" };
    if (ih_audit_append (audit, "cli", "cli", event, detail, &err) != 0)
        cmd_log ('E', "audit log: %s", err.msg);
}

/*  A display name: one line of 1..IH_USER_DISPLAY bytes of text (it goes into the bodies
    the member signs as their author). */
static bool
s_display_ok (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > IH_USER_DISPLAY)
        return false;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int
s_user_add (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *name = NULL, *display = NULL, *qr = NULL;
    ih_user_role_t role = IH_USER_ANALYST;
    bool from_stdin = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i], *v = i + 1 < argc ? argv [i + 1] : NULL;
        if ((streq (a, "--role") || streq (a, "--display") || streq (a, "--qr")) && !v)
            return cmd_fail ("user add: %s needs a value; see user --help", a);
        if (streq (a, "--role")) {
            if (ih_user_role_parse (v, &role) != 0)
                return cmd_fail ("user add: --role: '%.32s' is not analyst, publisher or admin", v);
            i++;
        }
        else
        if (streq (a, "--display"))
            display = argv [++i];
        else
        if (streq (a, "--qr"))
            qr = argv [++i];
        else
        if (streq (a, "--password-stdin"))
            from_stdin = true;
        else
        if (a [0] == '-' || name)
            return cmd_fail ("user add: unexpected argument '%s'; see user --help", a);
        else
            name = a;
    }
    if (!name)
        return cmd_fail ("user add: NAME is missing; see user --help");
    if (!ih_slug_valid (name, IH_USER_NAME))
        return cmd_fail ("user add: '%.64s' is not a user name (a-z, 0-9, '-', '_', '.', at most %d)",
                         name, IH_USER_NAME);
    if (!display)
        display = name;
    if (!s_display_ok (display))
        return cmd_fail ("user add: --display: one line of 1 to %d bytes, without control characters",
                         IH_USER_DISPLAY);
    ih_users_t *users;
    ih_audit_t *audit;
    if (s_open (cfg, &users, &audit) != 0)
        return 1;
    ih_err_t err = { "" };
    ih_user_t u;
    int ret = 0;
    int found = ih_users_get (users, name, &u, &err);
    if (found != 0)
        ret = found < 0 ? cmd_fail ("%s", err.msg) : cmd_fail ("user add: user %s exists already", name);
    else {
        memset (&u, 0, sizeof u);
        snprintf (u.name, sizeof u.name, "%s", name);
        snprintf (u.display, sizeof u.display, "%s", display);
        u.role = role;
        u.created = ih_now_ms ();
        char codes [IH_USER_RECOVERY][20];
        ih_buf_t uri;
        ih_buf_init (&uri);
        char path [4096];
        if (s_new_password (&u, from_stdin, &err) != 0)
            ret = cmd_fail ("user add: %s", err.msg);
        else
        if (s_new_totp (cfg, &u, qr, &uri, path, &err) != 0)
            ret = cmd_fail ("user add: %s", err.msg);
        else {
            ih_users_recovery_new (&u, codes);
            if (ih_users_put (users, &u, true, &err) != 0) {
                ret = cmd_fail ("user add: %s", err.msg);
                unlink (path);
            }
            else {
                printf ("user %s added (%s, shown as \"%s\")\n", name, ih_user_role_name (role), display);
                s_print_totp (&uri, path);
                printf ("recovery codes (each works once; they are not shown again):\n");
                for (int i = 0; i < IH_USER_RECOVERY; i++)
                    printf ("  %s\n", codes [i]);
                s_audit (audit, "user-added", "%s, role %s", name, ih_user_role_name (role));
            }
        }
        s_wipe (&uri);
        sodium_memzero (codes, sizeof codes);
    }
    sodium_memzero (&u, sizeof u);
    ih_audit_destroy (&audit);
    ih_users_destroy (&users);
    return ret;
}

typedef struct {
    bool json;
    int n;
} s_list_t;

static int
s_list_one (const ih_user_t *u, void *arg)
{
    s_list_t *l = (s_list_t *) arg;
    char last [IH_TIME_MAX] = "never";
    if (u->last_login)
        ih_time_format (u->last_login, last);
    if (l->json) {
        json_t *o = json_pack ("{s:s, s:s, s:s, s:s?, s:i, s:i}", "name", u->name,
                               "role", ih_user_role_name (u->role), "display", u->display,
                               "last_login", u->last_login ? last : NULL,
                               "recovery_codes", ih_users_recovery_left (u),
                               "totp_reuses", (int) u->reuse_seen);
        if (!o || cmd_print_json (o) != 0)
            return -1;
    }
    else {
        if (l->n == 0)
            printf ("%-20s %-9s %-24s %-24s %s\n", "NAME", "ROLE", "LAST LOGIN", "RECOVERY CODES", "DISPLAY");
        printf ("%-20s %-9s %-24s %-24d ", u->name, ih_user_role_name (u->role), last,
                ih_users_recovery_left (u));
        //  The display name was checked when it was set; print it as one line anyway.
        for (const unsigned char *p = (const unsigned char *) u->display; *p; p++)
            putchar (*p < 0x20 || *p == 0x7f ? '?' : *p);
        putchar ('\n');
    }
    l->n++;
    return 0;
}

static int
s_user_list (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    s_list_t l = { false, 0 };
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            l.json = true;
        else
            return cmd_fail ("user list: unexpected argument '%s'; see user --help", argv [i]);
    }
    ih_users_t *users;
    ih_audit_t *audit;
    if (s_open (cfg, &users, &audit) != 0)
        return 1;
    ih_err_t err = { "" };
    int rc = ih_users_foreach (users, s_list_one, &l, &err);
    ih_users_destroy (&users);
    //  Reading the accounts is an administrator's act too: the log says who looked when.
    if (rc == 0)
        s_audit (audit, "users-listed", "%d %s", l.n, ih_plural ((uint64_t) l.n, "user", "users"));
    ih_audit_destroy (&audit);
    if (rc < 0)
        return cmd_fail ("%s", err.msg[0] ? err.msg : "user list: cannot write output");
    if (l.n == 0 && !l.json)
        printf ("no users; add one with `%s -c %s user add NAME`\n", CMD_PROG, cfg->path);
    return fflush (stdout) == 0 ? 0 : cmd_fail ("user list: cannot write output");
}

/*  remove, reset-otp, reset-password: NAME and the command's options. */
static int
s_user_change (ih_agent_cfg_t *cfg, const char *what, int argc, char **argv)
{
    const char *name = NULL, *qr = NULL;
    bool from_stdin = false;
    bool reset_otp = streq (what, "reset-otp"), reset_pw = streq (what, "reset-password");
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        if (reset_otp && streq (a, "--qr") && i + 1 < argc)
            qr = argv [++i];
        else
        if (reset_pw && streq (a, "--password-stdin"))
            from_stdin = true;
        else
        if (a [0] == '-' || name)
            return cmd_fail ("user %s: unexpected argument '%s'; see user --help", what, a);
        else
            name = a;
    }
    if (!name)
        return cmd_fail ("user %s: NAME is missing; see user --help", what);
    ih_users_t *users;
    ih_audit_t *audit;
    if (s_open (cfg, &users, &audit) != 0)
        return 1;
    ih_err_t err = { "" };
    ih_user_t u;
    int ret = 0;
    int found = ih_users_get (users, name, &u, &err);
    if (found <= 0)
        ret = found < 0 ? cmd_fail ("%s", err.msg) : cmd_fail ("user %s: no user '%.64s'", what, name);
    else
    if (streq (what, "remove")) {
        if (ih_users_remove (users, name, &err) < 0)
            ret = cmd_fail ("%s", err.msg);
        else {
            printf ("user %s removed, and their sessions ended\n", name);
            s_audit (audit, "user-removed", "%s", name);
        }
    }
    else {
        //  A new secret or password: the user's sessions end (ASVS 3.3.3), and a TOTP
        //  secret is shown once more, as at enrolment.
        ih_buf_t uri;
        ih_buf_init (&uri);
        char path [4096];
        int rc = reset_otp ? s_new_totp (cfg, &u, qr, &uri, path, &err) : s_new_password (&u, from_stdin, &err);
        if (rc == 0) {
            if (reset_otp)
                u.reuse_seen = 0;
            rc = ih_users_put (users, &u, false, &err);
        }
        if (rc == 0 && reset_otp)
            s_print_totp (&uri, path);
        s_wipe (&uri);
        if (rc != 0)
            ret = cmd_fail ("user %s: %s", what, err.msg);
        else {
            int ended = ih_users_session_end_all (users, name, NULL, &err);
            printf ("user %s: %s%s; %d %s ended\n", name, reset_otp ? "new TOTP secret" : "new password",
                    reset_otp ? " (the old codes no longer work)" : "", ended < 0 ? 0 : ended,
                    ih_plural (ended < 0 ? 0 : (uint64_t) ended, "session", "sessions"));
            s_audit (audit, reset_otp ? "totp-reset" : "password-changed", "%s", name);
        }
    }
    sodium_memzero (&u, sizeof u);
    ih_audit_destroy (&audit);
    ih_users_destroy (&users);
    return ret;
}

int
cmd_user (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    if (argc < 1)
        return cmd_fail ("user: add, list, remove, reset-otp or reset-password; see user --help");
    const char *sub = argv [0];
    if (streq (sub, "add"))
        return s_user_add (cfg, argc - 1, argv + 1);
    if (streq (sub, "list"))
        return s_user_list (cfg, argc - 1, argv + 1);
    if (streq (sub, "remove") || streq (sub, "reset-otp") || streq (sub, "reset-password"))
        return s_user_change (cfg, sub, argc - 1, argv + 1);
    return cmd_fail ("user: unknown subcommand '%.32s'; see user --help", sub);
}

int
cmd_audit (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    if (argc != 1 || !streq (argv [0], "verify"))
        return cmd_fail ("audit: the subcommand is verify; see audit --help");
    uint64_t entries = 0;
    ih_err_t err = { "" };
    if (access (cfg->audit_log, F_OK) != 0)
        return cmd_fail ("%s: no audit log (no user was added yet)", cfg->audit_log);
    if (ih_audit_verify (cfg->audit_log, &entries, &err) != 0)
        return cmd_fail ("%s", err.msg);
    printf ("%s: %" PRIu64 " %s, chain intact\n", cfg->audit_log, entries,
            ih_plural (entries, "entry", "entries"));
    return fflush (stdout) == 0 ? 0 : 1;
}

/*  infohub-console: the Members Zone (docs/ARCHITECTURE.md "Layers"; console/ih_con.h).

    infohub-console -c AGENTDIR/agent.cfg [--bind ADDR:PORT] [--insecure-bind] [-v] [-n]

    A member's web console, run beside its agent: it reads the agent's store read-only,
    keeps its accounts and its audit log in the console directory (ih_users.h,
    ih_audit.h), reads the agent's suggestion model and related-alerts index (ih_model.h,
    ih_related.h), and asks the agent daemon (`infohub-agent run`) over its control
    socket for anything that needs a key. It never opens a key file.

    Its settings are agent.cfg's, loaded by ih_agent_cfg.h (the same file, the same
    defaults and messages as the agent's): agent/control, agent/store, agent/warninglists
    and agent/console/{dir, listen, port, tls-cert, tls-key, public-url, issuer, threads,
    title}. The default port is IH_AGENT_CONSOLE_PORT (8443).

    It listens on loopback unless told otherwise; a non-loopback address needs TLS, or
    --insecure-bind (behind a TLS proxy on the same host, say).
*/
#include <arpa/inet.h>
#include <czmq.h>
#include <unistd.h>

#include "ih_agent_cfg.h"
#include "ih_con.h"
#include "ih_con_suggest.h"
#include "ih_daemon.h"
#include "ih_keys.h"

#define s_PROG      "infohub-console"
#define s_VERSION   "0.1"

#define s_fail(...) ih_fail (s_PROG, NULL, __VA_ARGS__)

static void
s_usage (FILE *f)
{
    fprintf (f, "usage: %s -c AGENTDIR/agent.cfg [--bind ADDR:PORT] [--insecure-bind] [-v] [-n]\n"
             "Runs the Infohub Members Zone: a web console for this member's people, beside its\n"
             "agent. It reads the agent's store, keeps accounts and an audit log in the console\n"
             "directory, and asks the agent daemon (infohub-agent run) to sign and send.\n"
             "  -c FILE          the agent's configuration\n"
             "  --bind ADDR:PORT where to listen (default: agent/console/listen and port, else\n"
             "                   127.0.0.1:%d); [::1]:PORT for IPv6\n"
             "  --insecure-bind  allow an address other than loopback without TLS\n"
             "  -v               log every HTTP request\n"
             "  -n               check the configuration and exit\n"
             "  --routes         print the console's routes and exit\n"
             "Users: infohub-agent -c CFG user add NAME --role analyst|publisher|admin.\n"
             "Stops on SIGTERM or SIGINT.\n", s_PROG, IH_AGENT_CONSOLE_PORT);
}

static const char *
s_gate_name (ih_con_gate_t g)
{
    switch (g) {
        case IH_CON_PUBLIC:  return "public";
        case IH_CON_PENDING: return "code-step";
        case IH_CON_ANY:     return "any-session";
        case IH_CON_FULL:    return "logged-in";
    }
    return "?";
}

static int
s_print_route (const char *path, bool prefix, unsigned methods, const ih_con_route_t *route, void *arg)
{
    printf ("%-9s %-20s %-11s %s\n", methods == (IH_HTTP_GET | IH_HTTP_POST) ? "GET,POST"
            : methods == IH_HTTP_POST ? "POST" : "GET", prefix ? "prefix" : "exact", s_gate_name (route->gate),
            path);
    return 0;
}

/*  "ADDR:PORT", "[V6]:PORT". Returns 0 with addr and port, or -1. */
static int
s_parse_bind (const char *s, char *addr, size_t size, uint16_t *port)
{
    const char *colon = strrchr (s, ':');
    if (!colon || colon == s)
        return -1;
    const char *a = s;
    size_t n = (size_t) (colon - s);
    if (*s == '[') {
        if (n < 3 || s [n - 1] != ']')
            return -1;
        a = s + 1;
        n -= 2;
    }
    if (n >= size)
        return -1;
    memcpy (addr, a, n);
    addr [n] = 0;
    uint64_t p;
    if (!ih_parse_uint (colon + 1, 0, 65535, &p))
        return -1;
    *port = (uint16_t) p;
    return 0;
}

static bool
s_loopback (const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton (AF_INET, addr, &a4) == 1)
        return (ntohl (a4.s_addr) >> 24) == 127;
    if (inet_pton (AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK (&a6);
    return false;
}

int
main (int argc, char **argv)
{
    const char *cfg_path = NULL, *bind = NULL;
    bool verbose = false, check_only = false, insecure = false;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "-h") || streq (argv [i], "--help")) {
            s_usage (stdout);
            return 0;
        }
        else
        if (streq (argv [i], "--routes")) {
            ih_con_routes (s_print_route, NULL);
            return 0;
        }
        else
        if (streq (argv [i], "-c") || streq (argv [i], "--bind")) {
            if (i + 1 >= argc) {
                s_fail ("%s needs a value (see --help)", argv [i]);
                return 2;
            }
            if (streq (argv [i], "-c"))
                cfg_path = argv [++i];
            else
                bind = argv [++i];
        }
        else
        if (streq (argv [i], "--insecure-bind"))
            insecure = true;
        else
        if (streq (argv [i], "-v"))
            verbose = true;
        else
        if (streq (argv [i], "-n"))
            check_only = true;
        else {
            s_fail ("unexpected argument '%s' (see --help)", argv [i]);
            return 2;
        }
    }
    if (!cfg_path) {
        s_usage (stderr);
        return 2;
    }
    ih_daemon_signals (IH_DAEMON_INTERRUPT);

    ih_err_t err = { "" };
    ih_agent_cfg_t cfg;
    if (ih_agent_cfg_load (&cfg, cfg_path, &err) != 0)
        return s_fail ("%s", err.msg);
    int ret = 1;
    ih_con_t con;
    memset (&con, 0, sizeof con);
    ih_http_t *http = NULL;
    ih_warninglist_t *wl = NULL;
    char listen [64];
    snprintf (listen, sizeof listen, "%s", cfg.console_listen);
    uint16_t port = (uint16_t) cfg.console_port;
    if (bind && s_parse_bind (bind, listen, sizeof listen, &port) != 0) {
        s_fail ("--bind: '%s' is not ADDR:PORT (127.0.0.1:%d, [::1]:%d)", bind, IH_AGENT_CONSOLE_PORT,
                IH_AGENT_CONSOLE_PORT);
        ret = 2;
        goto done;
    }
    //  The TLS key is the web server's own (not the member's): it must be private.
    if (cfg.console_tls_key && ih_keys_check_private (cfg.console_tls_key, &err) != 0) {
        s_fail ("agent/console/tls-key: %s", err.msg);
        goto done;
    }
    //  Without TLS, a password crosses the network in clear: loopback only, unless the
    //  operator says a TLS proxy on this host fronts it.
    if (!cfg.console_tls_cert && !s_loopback (listen) && !insecure) {
        s_fail ("%s is not a loopback address and agent/console has no tls-cert and tls-key: passwords "
                "would cross the network in clear (configure TLS, or give --insecure-bind when a TLS "
                "proxy on this host fronts the console)", listen);
        ret = 2;
        goto done;
    }
    if (check_only) {
        printf ("%s: configuration OK (console %s:%u%s, accounts %s, control %s)\n", cfg_path, listen, port,
                cfg.console_tls_cert ? ", TLS" : "", cfg.console_dir, cfg.control);
        ret = 0;
        goto done;
    }

    //  The store, read-only: the daemon writes it.
    con.store = ih_store_open (cfg.store, 0, 0, 0, &err);
    if (!con.store) {
        s_fail ("%s (start `infohub-agent -c %s run` first)", err.msg, cfg_path);
        goto done;
    }
    con.users = ih_users_open (cfg.console_dir, &err);
    if (!con.users) {
        s_fail ("%s", err.msg);
        goto done;
    }
    con.audit = ih_audit_open (cfg.audit_log, &err);
    if (!con.audit) {
        s_fail ("%s", err.msg);
        goto done;
    }
    char *wldir = ih_warninglist_dir (cfg.warninglists, cfg_path, &err);
    if (wldir) {
        wl = ih_warninglist_load (wldir, &err);
        if (!wl)
            fprintf (stderr, "W console: warninglists: %s (indicators are shown without)\n", err.msg);
        free (wldir);
    }
    else
        fprintf (stderr, "W console: warninglists: %s (indicators are shown without)\n", err.msg);
    con.org = cfg.org;
    con.member = cfg.name;
    con.sector = cfg.sector;
    con.site = cfg.console_title;
    con.audit_path = cfg.audit_log;
    con.control = cfg.control;
    con.public_url = cfg.console_public_url;
    con.issuer = cfg.console_issuer;
    con.bind = listen;
    con.wl = wl;
    con.started_ms = ih_now_ms ();
    //  The analytics the daemon keeps beside the store: read when there, never waited for.
    con.analytics = ih_con_analytics_new (cfg.store);

    ih_http_cfg_t hcfg;
    memset (&hcfg, 0, sizeof hcfg);
    hcfg.listen = listen;
    hcfg.port = port;
    hcfg.tls_cert = cfg.console_tls_cert;
    hcfg.tls_key = cfg.console_tls_key;
    hcfg.threads = cfg.console_threads;
    hcfg.verbose = verbose;
    http = ih_con_serve (&con, &hcfg, &err);
    if (!http) {
        s_fail ("%s", err.msg);
        goto done;
    }
    con.port = ih_http_port (http);
    ih_audit_appendf (con.audit, "-", "cli", "console-start", NULL, "%s %s on %s:%u", s_PROG, s_VERSION, listen,
                      con.port);
    fprintf (stderr, "I console: %s %s serving %s://%s%s%s:%u/ for %s (agent %s), store %s, accounts %s, "
             "control %s\n", s_PROG, s_VERSION, cfg.console_tls_cert ? "https" : "http",
             strchr (listen, ':') ? "[" : "", listen, strchr (listen, ':') ? "]" : "", con.port, cfg.org, cfg.name,
             cfg.store, cfg.console_dir, cfg.control);
    while (!ih_daemon_stop)
        zclock_sleep (100);
    fprintf (stderr, "I console: stopping\n");
    ret = 0;
done:
    ih_http_destroy (&http);        //  first: no request reads anything any more
    ih_con_analytics_destroy (&con.analytics);
    ih_audit_destroy (&con.audit);
    ih_users_destroy (&con.users);
    ih_store_destroy (&con.store);
    ih_warninglist_destroy (&wl);
    ih_agent_cfg_free (&cfg);
    return ret;
}

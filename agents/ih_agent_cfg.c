/*  ih_agent_cfg.c: loading a member's agent.cfg (ih_agent_cfg.h).

    Moved out of infohub-agent's main so that every program of a member (the agent, the
    Members Zone console) reads the file the same way, with the same messages.
*/
#include <czmq.h>

#include "ih_agent_cfg.h"
#include "ih_keys.h"
#include "ih_msg.h"

void
ih_agent_cfg_free (ih_agent_cfg_t *self)
{
    zconfig_destroy (&self->zc);
    free (self->path);
    free (self->curve_cert);
    free (self->signing_key);
    free (self->store);
    free (self->control);
    free (self->console_dir);
    free (self->console_key);
    free (self->audit_log);
    free (self->console_tls_cert);
    free (self->console_tls_key);
    free (self->console_issuer);
    memset (self, 0, sizeof *self);
}

/*  A path key, resolved beside the file; def when absent or empty (NULL: none). */
static char *
s_path (ih_agent_cfg_t *c, const char *path, const char *key, const char *def)
{
    const char *v = zconfig_get (c->zc, key, NULL);
    if (!v || !*v)
        v = def;
    return v ? ih_keys_resolve (path, v) : NULL;
}

/*  The control socket and the Members Zone's keys (all optional). */
static int
s_load_console (ih_agent_cfg_t *c, const char *path, ih_err_t *err)
{
    c->control = s_path (c, path, "agent/control", "agent.sock");
    c->console_dir = s_path (c, path, "agent/console/dir", "console");
    c->console_key = s_path (c, path, "agent/console/key", "console.key");
    c->console_tls_cert = s_path (c, path, "agent/console/tls-cert", NULL);
    c->console_tls_key = s_path (c, path, "agent/console/tls-key", NULL);
    size_t n = strlen (c->console_dir) + sizeof "/audit.log";
    c->audit_log = (char *) malloc (n);
    if (!c->audit_log)
        abort ();
    snprintf (c->audit_log, n, "%s/audit.log", c->console_dir);
    c->console_listen = zconfig_get (c->zc, "agent/console/listen", "");
    if (!*c->console_listen)
        c->console_listen = "127.0.0.1";
    c->console_public_url = zconfig_get (c->zc, "agent/console/public-url", "");
    const char *issuer = zconfig_get (c->zc, "agent/console/issuer", "");
    char def [IH_MAX_SHORT + 16];
    snprintf (def, sizeof def, "Infohub %s", c->org);
    c->console_issuer = strdup (*issuer ? issuer : def);
    if (!c->console_issuer)
        abort ();
    uint64_t port;
    if (ih_config_uint (c->zc, path, "agent/console/port", 1, 65535, IH_AGENT_CONSOLE_PORT, &port, err))
        return -1;
    c->console_port = (uint32_t) port;
    uint64_t threads;
    if (ih_config_uint (c->zc, path, "agent/console/threads", 1, 64, IH_AGENT_CONSOLE_THREADS, &threads, err))
        return -1;
    c->console_threads = (uint32_t) threads;
    c->console_title = zconfig_get (c->zc, "agent/console/title", "");
    if (!*c->console_title)
        c->console_title = "Infohub Members Zone";
    if (!c->console_tls_cert != !c->console_tls_key)
        return ih_err_set (err, "%s: agent/console/tls-cert and tls-key go together: set both or neither",
                           path);
    return 0;
}

static int
s_load (ih_agent_cfg_t *c, const char *path, ih_err_t *err)
{
    c->path = strdup (path);
    if (!c->path)
        abort ();
    c->zc = ih_config_load (path, err);
    if (!c->zc)
        return -1;
    const char *curve, *signing, *store, *reg;
    if (!(c->name = ih_config_require (c->zc, path, "agent/name", err))
    ||  !(c->org = ih_config_require (c->zc, path, "agent/org", err))
    ||  !(curve = ih_config_require (c->zc, path, "agent/curve-cert", err))
    ||  !(signing = ih_config_require (c->zc, path, "agent/signing-key", err))
    ||  !(reg = ih_config_require (c->zc, path, "agent/registry-key", err))
    ||  !(store = ih_config_require (c->zc, path, "agent/store", err))
    ||  !(c->endpoint = ih_config_require (c->zc, path, "agent/broker/endpoint", err))
    ||  !(c->broker_key = ih_config_require (c->zc, path, "agent/broker/public-key", err)))
        return -1;
    c->sector = zconfig_get (c->zc, "agent/sector", "");
    c->role = zconfig_get (c->zc, "agent/role", "reader");
    c->on_alert = zconfig_get (c->zc, "agent/on-alert", "");
    c->warninglists = zconfig_get (c->zc, "agent/warninglists", NULL);
    if (strlen (reg) != 64 || ih_hex_decode (reg, c->registry_pk, 32) != 0)
        return ih_err_set (err, "%s: agent/registry-key: expected 64 hex digits", path);
    if (!ih_slug_valid (c->name, IH_MAX_SHORT) || !ih_slug_valid (c->org, IH_MAX_SHORT))
        return ih_err_set (err, "%s: agent/name and agent/org must be slugs", path);
    c->curve_cert = ih_keys_resolve (path, curve);
    c->signing_key = ih_keys_resolve (path, signing);
    c->store = ih_keys_resolve (path, store);
    uint64_t window, hook_timeout, hook_max;
    if (ih_config_uint (c->zc, path, "agent/window", 1, 10000, 2000, &window, err)
    ||  ih_config_uint (c->zc, path, "agent/map-size", 0, UINT64_MAX, 0, &c->map_size, err)
    ||  ih_config_uint (c->zc, path, "agent/max-map-size", 0, UINT64_MAX, 0, &c->max_map, err)
    ||  ih_config_uint (c->zc, path, "agent/hook-timeout", 1, 86400, 10, &hook_timeout, err)
    ||  ih_config_uint (c->zc, path, "agent/hook-max", 1, 64, 4, &hook_max, err)
    ||  ih_config_uint (c->zc, path, "agent/log-keep", 0, IH_AGENT_LOG_KEEP_MAX,
                        IH_AGENT_LOG_KEEP, &c->log_keep, err))
        return -1;
    c->window = (uint32_t) window;
    c->hook_timeout = (uint32_t) hook_timeout;
    c->hook_max = (uint32_t) hook_max;
    return s_load_console (c, path, err);
}

int
ih_agent_cfg_load (ih_agent_cfg_t *self, const char *path, ih_err_t *err)
{
    memset (self, 0, sizeof *self);
    if (s_load (self, path, err) == 0)
        return 0;
    ih_agent_cfg_free (self);
    return -1;
}

/* ---- self-test ---------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

#define s_TEST_KEY "db8d6ca4db6a08bb4230478d8d3065309f1f5c7991242abd4f35b2f194c6feeb"

/*  Writes an agent.cfg at path: the required keys, with this name and registry-key
    (NULL leaves the key out), then extra lines under agent ("    key = value\n"...). */
static void
s_test_write (const char *path, const char *name, const char *registry_key, const char *extra)
{
    FILE *f = fopen (path, "w");
    IH_CHECK (f);
    fprintf (f, "#   test\n"
                "agent\n"
                "    name = \"%s\"\n"
                "    org = \"bank-a\"\n"
                "    curve-cert = \"curve.cert_secret\"\n"
                "    signing-key = \"/keys/signing.key\"\n"
                "%s%s%s"
                "    store = \"store\"\n"
                "%s"
                "    broker\n"
                "        endpoint = \"tcp://127.0.0.1:7710\"\n"
                "        public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\"\n",
             name, registry_key ? "    registry-key = \"" : "", registry_key ? registry_key : "",
             registry_key ? "\"\n" : "", extra ? extra : "");
    IH_CHECK (fclose (f) == 0);
}

/*  Loading path fails with exactly "PATH: what". */
static void
s_test_fails (const char *path, const char *what)
{
    ih_agent_cfg_t c;
    ih_err_t err = { "" };
    IH_CHECK (ih_agent_cfg_load (&c, path, &err) == -1);
    char want [600];
    snprintf (want, sizeof want, "%s: %s", path, what);
    if (!streq (err.msg, want)) {
        fprintf (stderr, "agent_cfg: got '%s', want '%s'\n", err.msg, want);
        IH_CHECK (false);
    }
    IH_CHECK (c.path == NULL && c.zc == NULL && c.store == NULL);
    ih_agent_cfg_free (&c);
}

void
ih_agent_cfg_test (bool verbose)
{
    char dir [256], path [300];
    ih_tk_tempdir ("agentcfg", dir, sizeof dir);
    ih_tk_path (path, sizeof path, dir, "agent.cfg");

    //  The required keys alone: defaults for the rest, paths resolved beside the file.
    s_test_write (path, "soc", s_TEST_KEY, NULL);
    ih_agent_cfg_t c;
    ih_err_t err = { "" };
    IH_CHECK (ih_agent_cfg_load (&c, path, &err) == 0);
    IH_CHECK (streq (c.path, path) && c.zc);
    IH_CHECK (streq (c.name, "soc") && streq (c.org, "bank-a"));
    IH_CHECK (streq (c.sector, "") && streq (c.role, "reader") && streq (c.on_alert, ""));
    IH_CHECK (c.warninglists == NULL);
    char want [600];
    snprintf (want, sizeof want, "%s/curve.cert_secret", dir);
    IH_CHECK (streq (c.curve_cert, want));
    IH_CHECK (streq (c.signing_key, "/keys/signing.key"));
    snprintf (want, sizeof want, "%s/store", dir);
    IH_CHECK (streq (c.store, want));
    IH_CHECK (streq (c.endpoint, "tcp://127.0.0.1:7710"));
    IH_CHECK (streq (c.broker_key, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"));
    IH_CHECK (c.registry_pk [0] == 0xdb && c.registry_pk [31] == 0xeb);
    IH_CHECK (c.window == 2000 && c.map_size == 0 && c.max_map == 0);
    IH_CHECK (c.hook_timeout == 10 && c.hook_max == 4);
    IH_CHECK (c.log_keep == IH_AGENT_LOG_KEEP && IH_AGENT_LOG_KEEP == 100000);
    //  The control socket and the console beside agent.cfg, on loopback
    snprintf (want, sizeof want, "%s/agent.sock", dir);
    IH_CHECK (streq (c.control, want));
    snprintf (want, sizeof want, "%s/console", dir);
    IH_CHECK (streq (c.console_dir, want));
    snprintf (want, sizeof want, "%s/console/audit.log", dir);
    IH_CHECK (streq (c.audit_log, want));
    snprintf (want, sizeof want, "%s/console.key", dir);
    IH_CHECK (streq (c.console_key, want));
    IH_CHECK (streq (c.console_listen, "127.0.0.1") && c.console_port == 8443);
    IH_CHECK (!c.console_tls_cert && !c.console_tls_key && streq (c.console_public_url, ""));
    IH_CHECK (streq (c.console_issuer, "Infohub bank-a"));
    IH_CHECK (c.console_threads == 4 && streq (c.console_title, "Infohub Members Zone"));
    ih_agent_cfg_free (&c);
    ih_agent_cfg_free (&c);             //  safe twice
    IH_CHECK (c.path == NULL && c.zc == NULL);

    //  Every optional key set.
    s_test_write (path, "soc", s_TEST_KEY,
                  "    sector = \"finance\"\n"
                  "    role = \"publisher\"\n"
                  "    on-alert = \"./hook.sh 'x'\"\n"
                  "    warninglists = \"/usr/share/wl\"\n"
                  "    window = \"10000\"\n"
                  "    map-size = \"1048576\"\n"
                  "    max-map-size = \"18446744073709551615\"\n"
                  "    hook-timeout = \"86400\"\n"
                  "    hook-max = \"1\"\n"
                  "    log-keep = \"0\"\n"
                  "    control = \"/run/infohub/soc.sock\"\n"
                  "    console\n"
                  "        dir = \"/var/lib/infohub/console\"\n"
                  "        key = \"keys/console.key\"\n"
                  "        listen = \"0.0.0.0\"\n"
                  "        port = \"443\"\n"
                  "        tls-cert = \"tls/cert.pem\"\n"
                  "        tls-key = \"/etc/tls/key.pem\"\n"
                  "        public-url = \"https://zone.bank-a.example\"\n"
                  "        issuer = \"Bank A Members Zone\"\n"
                  "        threads = \"16\"\n"
                  "        title = \"Bank A's Zone\"\n");
    IH_CHECK (ih_agent_cfg_load (&c, path, &err) == 0);
    IH_CHECK (c.log_keep == 0);
    IH_CHECK (streq (c.control, "/run/infohub/soc.sock"));
    IH_CHECK (streq (c.console_dir, "/var/lib/infohub/console"));
    IH_CHECK (streq (c.audit_log, "/var/lib/infohub/console/audit.log"));
    snprintf (want, sizeof want, "%s/keys/console.key", dir);
    IH_CHECK (streq (c.console_key, want));
    snprintf (want, sizeof want, "%s/tls/cert.pem", dir);
    IH_CHECK (streq (c.console_tls_cert, want) && streq (c.console_tls_key, "/etc/tls/key.pem"));
    IH_CHECK (streq (c.console_listen, "0.0.0.0") && c.console_port == 443);
    IH_CHECK (streq (c.console_public_url, "https://zone.bank-a.example"));
    IH_CHECK (streq (c.console_issuer, "Bank A Members Zone"));
    IH_CHECK (c.console_threads == 16 && streq (c.console_title, "Bank A's Zone"));
    IH_CHECK (streq (c.sector, "finance") && streq (c.role, "publisher"));
    IH_CHECK (streq (c.on_alert, "./hook.sh 'x'") && streq (c.warninglists, "/usr/share/wl"));
    IH_CHECK (c.window == 10000 && c.map_size == 1048576 && c.max_map == UINT64_MAX);
    IH_CHECK (c.hook_timeout == 86400 && c.hook_max == 1);
    ih_agent_cfg_free (&c);
    //  An empty number is the default.
    s_test_write (path, "soc", s_TEST_KEY, "    window = \"\"\n");
    IH_CHECK (ih_agent_cfg_load (&c, path, &err) == 0 && c.window == 2000);
    ih_agent_cfg_free (&c);

    //  A bad number names the file, the key, the value and the range.
    const struct { const char *line, *what; } bad [] = {
        { "    window = \"abc\"\n", "agent/window: 'abc' is not a number in 1..10000" },
        { "    window = \"0\"\n", "agent/window: '0' is not a number in 1..10000" },
        { "    window = \"-1\"\n", "agent/window: '-1' is not a number in 1..10000" },
        { "    map-size = \"12x\"\n", "agent/map-size: '12x' is not a number in 0..18446744073709551615" },
        { "    max-map-size = \"99999999999999999999\"\n",
          "agent/max-map-size: '99999999999999999999' is not a number in 0..18446744073709551615" },
        { "    hook-timeout = \"86401\"\n", "agent/hook-timeout: '86401' is not a number in 1..86400" },
        { "    hook-max = \"65\"\n", "agent/hook-max: '65' is not a number in 1..64" },
        { "    log-keep = \"1000000001\"\n", "agent/log-keep: '1000000001' is not a number in 0..1000000000" },
        { "    log-keep = \"lots\"\n", "agent/log-keep: 'lots' is not a number in 0..1000000000" },
        { "    console\n        port = \"0\"\n", "agent/console/port: '0' is not a number in 1..65535" },
        { "    console\n        tls-cert = \"c.pem\"\n",
          "agent/console/tls-cert and tls-key go together: set both or neither" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        if (verbose)
            printf ("  bad: %s", bad [i].line);
        s_test_write (path, "soc", s_TEST_KEY, bad [i].line);
        s_test_fails (path, bad [i].what);
    }
    //  A missing required key; a registry key that is not 64 hex digits.
    s_test_write (path, "soc", NULL, NULL);
    s_test_fails (path, "missing agent/registry-key");
    s_test_write (path, "soc", "db8d6ca4", NULL);
    s_test_fails (path, "agent/registry-key: expected 64 hex digits");
    s_test_write (path, "soc", "zz8d6ca4db6a08bb4230478d8d3065309f1f5c7991242abd4f35b2f194c6feeb", NULL);
    s_test_fails (path, "agent/registry-key: expected 64 hex digits");
    s_test_write (path, "Soc Team", s_TEST_KEY, NULL);
    s_test_fails (path, "agent/name and agent/org must be slugs");
    //  ih_config_load's own errors come through.
    ih_tk_path (path, sizeof path, dir, "missing.cfg");
    IH_CHECK (ih_agent_cfg_load (&c, path, &err) == -1 && strstr (err.msg, "cannot read"));
    IH_CHECK (c.path == NULL);

    ih_tk_rmtree (dir);
}
#endif

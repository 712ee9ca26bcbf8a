/*  ih_agent_cfg.h: a member's agent.cfg, loaded and checked. `infohub-agent` reads it
    before every command; the Members Zone console reads the same file.

    agent.cfg is ZPL (czmq's zconfig), written by `infohub-admin member add`; relative
    paths are relative to the file's directory (README.md "Configuration"):

        agent
            name = "soc"                        required, a slug
            org = "bank-a"                      required, a slug
            sector = "finance"                  optional ("")
            role = "publisher"                  optional ("reader")
            curve-cert = "curve.cert_secret"    required, a path
            signing-key = "signing.key"         required, a path
            registry-key = "<64 hex digits>"    required, the pinned registry public key
            store = "store"                     required, a path (the LMDB directory)
            on-alert = "COMMAND"                optional (""): run per new alert or revision
            window = "2000"                     deliveries in flight, 1..10000
            map-size = "0"                      initial store map in bytes (0: the store's
                                                default, 64 MiB)
            max-map-size = "0"                  cap on its growth (0: none)
            hook-timeout = "10"                 seconds one on-alert hook may run, 1..86400
            hook-max = "4"                      on-alert hooks at once, 1..64
            log-keep = "100000"                 the store's log (`tail`, the hook's queue)
                                                keeps this many newest entries, 80 bytes
                                                each; 0 keeps them all; 0..1000000000
            warninglists = "DIR"                optional: the warninglist directory
                                                (ih_warninglist.h: where it is looked
                                                for without it)
            control = "agent.sock"              the daemon's control socket (ih_control.h),
                                                a path; the Members Zone console asks the
                                                daemon to sign and send through it
            broker
                endpoint = "tcp://..."          required
                public-key = "<Z85>"            required, the broker's CURVE key
            console                             the Members Zone (all optional)
                dir = "console"                 accounts database and audit.log (0700)
                key = "console.key"             the console key that seals TOTP secrets
                                                (0600; made by the first `user add`);
                                                the daemon and `user` read it, the web
                                                process never
                listen = "127.0.0.1"            where the console listens (an address)
                port = "8443"                   1..65535
                tls-cert = "PATH"               PEM certificate and key: both set, HTTPS
                tls-key = "PATH"
                public-url = "https://…"        the console's URL as users see it ("":
                                                from listen and port)
                issuer = "Infohub ORG"          the issuer an authenticator app shows
                                                (otpauth URI); default "Infohub " + org
                threads = "4"                   the console's HTTP threads, 1..64 (a
                                                control call holds its thread until
                                                the broker answers)
                title = "Infohub Members Zone"  the site name on every page

    ZPL has no escapes: an on-alert command holds either double or single quotes, not
    both (a script path is simplest).

    Errors are one line naming the file and the key, as the command line prints them:
      "PATH: missing agent/broker/endpoint"
      "PATH: agent/window: 'abc' is not a number in 1..10000"
      "PATH: agent/registry-key: expected 64 hex digits"
      "PATH: agent/name and agent/org must be slugs"
      "PATH: agent/console/tls-cert and tls-key go together: set both or neither"
    plus ih_config_load's "PATH: cannot read: ..." and "PATH:LINE: syntax error".

    Nothing here opens a key file or the store: the paths are resolved, not checked.
    Threading: a loaded ih_agent_cfg_t is read-only and may be shared.
*/
#ifndef IH_AGENT_CFG_H
#define IH_AGENT_CFG_H

#include <czmq.h>

#include "ih_util.h"

#define IH_AGENT_LOG_KEEP       100000          /* agent/log-keep's default */
#define IH_AGENT_LOG_KEEP_MAX   1000000000

/*  The strings are borrowed from zc (const char *) or owned (char *); all live until
    ih_agent_cfg_free. A zeroed ih_agent_cfg_t is a valid "no configuration" (path and zc
    NULL): commands that can run without one (--help, warninglist) are given that. */
typedef struct {
    char *path;                 /* agent.cfg as given */
    zconfig_t *zc;              /* the parsed file */
    const char *name, *org, *sector, *role;
    char *curve_cert;           /* resolved paths */
    char *signing_key;
    char *store;
    const char *on_alert;       /* "" when none */
    const char *endpoint;
    const char *broker_key;
    const char *warninglists;   /* NULL when not set */
    uint8_t registry_pk [32];
    uint32_t window;
    uint64_t map_size;          /* 0: the store's default */
    uint64_t max_map;           /* 0: no cap */
    uint32_t hook_timeout;      /* seconds */
    uint32_t hook_max;          /* hooks running at once */
    uint64_t log_keep;          /* log entries the store keeps (ih_store_log_limit), 0 = all */
    char *control;              /* the control socket's path (resolved) */
    /* the Members Zone console (agent/console/...) */
    char *console_dir;          /* accounts database and audit log (resolved) */
    char *console_key;          /* the console key file (resolved) */
    char *audit_log;            /* console_dir + "/audit.log" */
    const char *console_listen; /* "127.0.0.1" */
    uint32_t console_port;      /* 8443 */
    char *console_tls_cert;     /* resolved, NULL when not set */
    char *console_tls_key;      /* resolved, NULL when not set */
    const char *console_public_url; /* "" when not set */
    char *console_issuer;       /* "Infohub " + org unless set */
    uint32_t console_threads;   /* 4 */
    const char *console_title;  /* "Infohub Members Zone" */
} ih_agent_cfg_t;

/*  agent/console/port's default, the one default port of the console everywhere (the
    README, the man pages, infohub-console --help): the console serves off its host only
    over HTTPS (it refuses another address without TLS), so its port is the usual
    alternative HTTPS port, the one its TLS example uses; on loopback without TLS the
    same port serves plain HTTP. It stays clear of the gateway's 8080 when both run on
    one host (the demo). */
#define IH_AGENT_CONSOLE_PORT       8443
#define IH_AGENT_CONSOLE_THREADS    4           /* agent/console/threads' default */

/*  Loads and checks path into self (overwritten). Returns 0, or -1 with err and self
    left empty (as after ih_agent_cfg_free). */
int ih_agent_cfg_load(ih_agent_cfg_t *self, const char *path, ih_err_t *err);

/*  Frees what self holds and zeroes it; safe twice, and on a zeroed one. */
void ih_agent_cfg_free(ih_agent_cfg_t *self);

void ih_agent_cfg_test(bool verbose);

#endif

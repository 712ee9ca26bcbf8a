/*  infohub-admin: keys and the member registry of a deployment.

        infohub-admin init DIR [--endpoint E] [--http-port P]
        infohub-admin member add DIR --org ORG --name NAME [--sector S]
                                     [--role publisher|reader] --out AGENTDIR [--endpoint E]
        infohub-admin member revoke DIR NAME
        infohub-admin member list DIR [--json]

    Layout and file formats: README.md "Deploying a hub", broker/ih_registry.h, proto/ih_keys.h.
    Exit status 0 on success, 1 on an error, 2 on a usage error; every error is one line
    on stderr, "infohub-admin: <reason>". Nothing here ever prints a secret: only public
    keys are shown, secret buffers are wiped (sodium_memzero) as soon as they are used.

    Every file is created exclusively (O_EXCL): the tool never overwrites a key. When a
    command fails half-way, the files and directories it created are removed again.
*/
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <czmq.h>
#include <jansson.h>
#include <sodium.h>

#include "ih_keys.h"
#include "ih_msg.h"
#include "ih_registry.h"
#include "ih_sign.h"

#define s_PROG "infohub-admin"
#define s_DEFAULT_ENDPOINT "tcp://127.0.0.1:7710"
#define s_DEFAULT_HTTP_PORT "8080"
#define s_EXIT_ERROR 1
#define s_EXIT_USAGE 2

/* ---- usage texts ---------------------------------------------------------------------- */

static const char *s_usage_main =
    "usage: infohub-admin COMMAND ...\n"
    "\n"
    "Keys and the member registry of an Infohub deployment.\n"
    "\n"
    "commands:\n"
    "  init DIR [--endpoint E] [--http-port P]\n"
    "        create a deployment: registry key, broker keys, broker.cfg, gateway identity\n"
    "  member add DIR --org ORG --name NAME [--sector S] [--role publisher|reader]\n"
    "             --out AGENTDIR [--endpoint E]\n"
    "        register a member and write its agent directory (keys and agent.cfg)\n"
    "  member revoke DIR NAME\n"
    "        revoke a member; a running broker notices within a second (or send it SIGHUP)\n"
    "  member set DIR NAME [--rate N] [--bandwidth B] [--quota B]\n"
    "        set what a member may send (the broker's limits for it)\n"
    "  member list DIR [--json]\n"
    "        list the members: name, org, sector, role, created, status, limits\n"
    "\n"
    "Run 'infohub-admin COMMAND --help' for the details of a command.\n";

static const char *s_usage_init =
    "usage: infohub-admin init DIR [--endpoint E] [--http-port P]\n"
    "\n"
    "Creates the deployment directory DIR (it may exist, but not hold a broker.cfg):\n"
    "  registry.key (0600), registry.pub     the registry signing key (ed25519)\n"
    "  broker.cert, broker.cert_secret (0600) the broker's CURVE keys\n"
    "  broker.cfg                            the broker configuration\n"
    "  members/                              the member registry, one NAME.member a member\n"
    "  gateway.cert, gateway.cert_secret (0600), gateway.cfg, members/gateway.member\n"
    "                                        the public gateway identity (TLP:CLEAR only)\n"
    "\n"
    "options:\n"
    "  --endpoint E    ZeroMQ endpoint the broker binds (default " s_DEFAULT_ENDPOINT ")\n"
    "  --http-port P   port of the gateway's web server, in gateway.cfg (default " s_DEFAULT_HTTP_PORT ")\n"
    "  -h, --help      this text\n";

static const char *s_usage_member =
    "usage: infohub-admin member add|revoke|set|list DIR ...\n"
    "\n"
    "  member add DIR --org ORG --name NAME [--sector S] [--role publisher|reader]\n"
    "             --out AGENTDIR [--endpoint E] [--rate N] [--bandwidth B] [--quota B]\n"
    "  member revoke DIR NAME\n"
    "  member set DIR NAME [--rate N] [--bandwidth B] [--quota B]\n"
    "  member list DIR [--json]\n"
    "\n"
    "Run 'infohub-admin member add --help' (or revoke, set, list) for details.\n";

static const char *s_usage_add =
    "usage: infohub-admin member add DIR --org ORG --name NAME [--sector S]\n"
    "                                [--role publisher|reader] --out AGENTDIR [--endpoint E]\n"
    "\n"
    "Registers a member in DIR/members (signed by the registry key) and creates AGENTDIR\n"
    "(new, or an empty directory) holding its keys and agent.cfg:\n"
    "  curve.cert, curve.cert_secret (0600)   the member's CURVE keys\n"
    "  signing.key (0600), signing.pub        the member's ed25519 signing key\n"
    "  agent.cfg                              with the pinned registry public key and the\n"
    "                                         broker's endpoint and public key\n"
    "\n"
    "options:\n"
    "  --org ORG        organisation id (a-z, 0-9, '-', '_', '.'; max 64)\n"
    "  --name NAME      member name, unique in the deployment (same characters)\n"
    "  --sector S       sector (same characters; default none)\n"
    "  --role R         publisher or reader (default reader)\n"
    "  --out AGENTDIR   where the agent's files go\n"
    "  --endpoint E     endpoint the agent connects to (default: the broker's, from\n"
    "                   DIR/broker.cfg, with a wildcard host replaced by 127.0.0.1)\n"
    "  --rate N, --bandwidth B, --quota B\n"
    "                   the member's limits, as for member set (default: its role's,\n"
    "                   from broker.cfg)\n"
    "  -h, --help       this text\n";

static const char *s_usage_set =
    "usage: infohub-admin member set DIR NAME [--rate N] [--bandwidth B] [--quota B]\n"
    "\n"
    "Sets what member NAME may send, overriding its role's limits (broker/limits/ROLE/...\n"
    "in broker.cfg). The limits are the broker's policy, kept in DIR/members/NAME.member\n"
    "outside the record the registry key signs (no registry key is needed); a running\n"
    "broker applies them within a second. A message over a limit is refused with\n"
    "`rate-limited` and the time to wait (PROTOCOL.md 4.3). Prints the limits in force.\n"
    "\n"
    "options (each: a number, `unlimited`, or `default` for the role's):\n"
    "  --rate N        messages a second (publishes, status and roster requests)\n"
    "  --bandwidth B   signed-body bytes a second (K, M, G: powers of 1024)\n"
    "  --quota B       signed-body bytes journaled per UTC day\n"
    "  -h, --help      this text\n";

static const char *s_usage_revoke =
    "usage: infohub-admin member revoke DIR NAME\n"
    "\n"
    "Marks member NAME revoked in DIR/members/NAME.member (atomically). A running broker\n"
    "notices by itself within a second and refuses the member from then on; SIGHUP makes\n"
    "it reload at once. A revoked name or key cannot be registered again.\n"
    "\n"
    "options:\n"
    "  -h, --help   this text\n";

static const char *s_usage_list =
    "usage: infohub-admin member list DIR [--json]\n"
    "\n"
    "Lists the members whose records verify against the registry key: name, org, sector,\n"
    "role, created, status (active or revoked), and with --json the limits set for the\n"
    "member (member set; absent: its role's). Records that do not verify are reported\n"
    "on stderr and not listed.\n"
    "\n"
    "options:\n"
    "  --json       one JSON object a line\n"
    "  -h, --help   this text\n";

/* ---- errors and argument parsing --------------------------------------------------------- */

static int
s_fail (int status, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (int status, const char *fmt, ...)
{
    char line [1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    //  One line, whatever a message embedded
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf (stderr, "%s: %s\n", s_PROG, line);
    return status;
}

typedef struct {
    const char *name;       /* "--org" */
    const char **value;     /* an option with an argument */
    bool *flag;             /* a flag */
} s_opt_t;

static bool
s_wants_help (int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--"))
            break;
        if (streq (argv [i], "-h") || streq (argv [i], "--help"))
            return true;
    }
    return false;
}

/*  Parses argv (the words after the command) into opts and pos [0..npos-1]. Returns 0,
    or s_EXIT_USAGE after printing the reason. */
static int
s_parse (const char *cmd, int argc, char **argv, const s_opt_t *opts, const char **pos,
         int npos, const char *const *pos_names)
{
    int have = 0;
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv [i];
        if (!options_done && streq (arg, "--")) {
            options_done = true;
            continue;
        }
        if (!options_done && arg [0] == '-' && arg [1]) {
            const char *eq = strchr (arg, '=');
            size_t name_len = eq ? (size_t) (eq - arg) : strlen (arg);
            const s_opt_t *opt = NULL;
            for (int o = 0; opts && opts [o].name; o++)
                if (strlen (opts [o].name) == name_len && strncmp (opts [o].name, arg, name_len) == 0)
                    opt = &opts [o];
            if (!opt)
                return s_fail (s_EXIT_USAGE, "%s: unknown option '%.*s' (see --help)", cmd,
                               (int) name_len, arg);
            if (opt->flag) {
                if (eq)
                    return s_fail (s_EXIT_USAGE, "%s: %s takes no value", cmd, opt->name);
                *opt->flag = true;
            }
            else
            if (eq)
                *opt->value = eq + 1;
            else
            if (i + 1 < argc)
                *opt->value = argv [++i];
            else
                return s_fail (s_EXIT_USAGE, "%s: %s needs a value (see --help)", cmd, opt->name);
            continue;
        }
        if (have == npos)
            return s_fail (s_EXIT_USAGE, "%s: unexpected argument '%.200s' (see --help)", cmd, arg);
        pos [have++] = arg;
    }
    if (have < npos)
        return s_fail (s_EXIT_USAGE, "%s: missing %s (see --help)", cmd, pos_names [have]);
    return 0;
}

/* ---- small helpers ----------------------------------------------------------------------- */

/*  "dir/name" without doubling a trailing slash of dir. Caller frees. */
static char *
s_path (const char *dir, const char *name)
{
    size_t n = strlen (dir);
    while (n > 1 && dir [n - 1] == '/')
        n--;
    size_t len = n + strlen (name) + 2;
    char *out = (char *) malloc (len);
    assert (out);
    snprintf (out, len, "%.*s/%s", (int) n, dir, name);
    return out;
}

/*  What we created, so that a failure can remove it again (in reverse order). */
typedef struct {
    char *paths [32];
    bool is_dir [32];
    int count;
} s_created_t;

static void
s_created_add (s_created_t *c, const char *path, bool is_dir)
{
    assert (c->count < 32);
    c->paths [c->count] = strdup (path);
    c->is_dir [c->count] = is_dir;
    c->count++;
}

static void
s_created_rollback (s_created_t *c)
{
    for (int i = c->count - 1; i >= 0; i--) {
        if (c->is_dir [i])
            rmdir (c->paths [i]);
        else
            unlink (c->paths [i]);
    }
}

static void
s_created_free (s_created_t *c)
{
    for (int i = 0; i < c->count; i++)
        free (c->paths [i]);
    c->count = 0;
}

/*  A value we write between double quotes in a ZPL file. */
static bool
s_zpl_safe (const char *v, size_t max)
{
    size_t n = strlen (v);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) v [i];
        if (c < 0x21 || c == 0x7f || c == '"' || c == '\'')
            return false;
    }
    return true;
}

static int
s_check_endpoint (const char *e, ih_err_t *err)
{
    if (!s_zpl_safe (e, 256) || !(strncmp (e, "tcp://", 6) == 0 || strncmp (e, "ipc://", 6) == 0)
    ||  strlen (e) < 7)
        return ih_err_set (err, "--endpoint: '%.256s' is not a ZeroMQ tcp:// or ipc:// endpoint", e);
    return 0;
}

/*  The endpoint to connect to for a bind endpoint: a wildcard host becomes loopback. */
static char *
s_connect_endpoint (const char *bind)
{
    const char *hosts [] = { "tcp://*:", "tcp://0.0.0.0:" };
    for (size_t i = 0; i < sizeof hosts / sizeof hosts [0]; i++) {
        size_t n = strlen (hosts [i]);
        if (strncmp (bind, hosts [i], n) == 0) {
            size_t len = strlen (bind) - n + strlen ("tcp://127.0.0.1:") + 1;
            char *out = (char *) malloc (len);
            assert (out);
            snprintf (out, len, "tcp://127.0.0.1:%s", bind + n);
            return out;
        }
    }
    return strdup (bind);
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return lstat (path, &st) == 0;
}

static int
s_mkdir (const char *path, int mode, s_created_t *created, ih_err_t *err)
{
    if (mkdir (path, (mode_t) mode) == 0) {
        chmod (path, (mode_t) mode);     /* whatever the umask */
        if (created)
            s_created_add (created, path, true);
        return 0;
    }
    if (errno == EEXIST) {
        struct stat st;
        if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
            return 0;
        return ih_err_set (err, "%s: exists and is not a directory", path);
    }
    return ih_err_set (err, "%s: cannot create directory: %s", path, strerror (errno));
}

/*  mkdir -p: missing parents get 0755, path itself gets mode. */
static int
s_mkdir_p (const char *path, int mode, s_created_t *created, ih_err_t *err)
{
    char *copy = strdup (path);
    assert (copy);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int rc = s_exists (copy) ? 0 : s_mkdir (copy, 0755, created, err);
        *p = '/';
        if (rc) {
            free (copy);
            return -1;
        }
    }
    free (copy);
    return s_mkdir (path, mode, created, err);
}

static int
s_write_text (const char *path, const char *text, int mode, s_created_t *created, ih_err_t *err)
{
    if (ih_keys_write_file (path, text, strlen (text), mode, false, err))
        return -1;
    s_created_add (created, path, false);
    //  What we wrote must read back: a ZPL mistake here would only show at the daemon
    zconfig_t *cfg = ih_config_load (path, err);
    if (!cfg)
        return -1;
    zconfig_destroy (&cfg);
    return 0;
}

static int
s_save_cert (zcert_t *cert, const char *path, s_created_t *created, ih_err_t *err)
{
    if (ih_keys_save_cert (cert, path, err))
        return -1;
    size_t len = strlen (path) + sizeof "_secret";
    char *secret = (char *) malloc (len);
    assert (secret);
    snprintf (secret, len, "%s_secret", path);
    s_created_add (created, secret, false);
    s_created_add (created, path, false);
    free (secret);
    return 0;
}

static int
s_save_signing (const char *path, const uint8_t pk [32], const uint8_t *sk, s_created_t *created,
                ih_err_t *err)
{
    if (ih_keys_save_signing (path, pk, sk, err))
        return -1;
    s_created_add (created, path, false);
    return 0;
}

/*  Reads a CURVE public key (Z85) from a public cert file. */
static int
s_load_curve_public (const char *path, char z85 [41], ih_err_t *err)
{
    zconfig_t *cfg = ih_config_load (path, err);
    if (!cfg)
        return -1;
    uint8_t key [32];
    const char *txt = ih_config_require (cfg, path, "curve/public-key", err);
    int rc = -1;
    if (txt) {
        if (strlen (txt) != 40 || !zmq_z85_decode (key, txt))
            ih_err_set (err, "%s: curve/public-key: malformed (want 40 Z85 characters)", path);
        else {
            memcpy (z85, txt, 41);
            rc = 0;
        }
    }
    //  never keep a secret we did not need, should this be a secret file
    zconfig_t *sec = zconfig_locate (cfg, "curve/secret-key");
    if (sec && zconfig_value (sec))
        sodium_memzero (zconfig_value (sec), strlen (zconfig_value (sec)));
    zconfig_destroy (&cfg);
    return rc;
}

/* ---- the deployment as broker.cfg describes it ------------------------------------------- */

typedef struct {
    char *cfg_path;         /* DIR/broker.cfg */
    zconfig_t *cfg;
    char *members;          /* resolved registry directory */
    char *registry_pub;     /* resolved registry-key path */
    char *registry_key;     /* DIR/registry.key (next to broker.cfg) */
    char *cert;             /* resolved broker cert (secret file) */
    const char *endpoint;
    uint8_t registry_pk [32];
} s_deploy_t;

static void
s_deploy_free (s_deploy_t *d)
{
    zconfig_destroy (&d->cfg);
    free (d->cfg_path);
    free (d->members);
    free (d->registry_pub);
    free (d->registry_key);
    free (d->cert);
    memset (d, 0, sizeof *d);
}

static int
s_deploy_open (const char *dir, s_deploy_t *d, ih_err_t *err)
{
    memset (d, 0, sizeof *d);
    d->cfg_path = s_path (dir, "broker.cfg");
    struct stat st;
    if (stat (dir, &st) || !S_ISDIR (st.st_mode))
        return ih_err_set (err, "%s: no such deployment directory", dir);
    if (!s_exists (d->cfg_path))
        return ih_err_set (err, "%s: not initialised (no broker.cfg; run infohub-admin init %s)",
                           dir, dir);
    d->cfg = ih_config_load (d->cfg_path, err);
    if (!d->cfg)
        return -1;
    const char *members = ih_config_require (d->cfg, d->cfg_path, "broker/registry", err);
    const char *registry_key = members ? ih_config_require (d->cfg, d->cfg_path, "broker/registry-key", err) : NULL;
    const char *cert = registry_key ? ih_config_require (d->cfg, d->cfg_path, "broker/cert", err) : NULL;
    d->endpoint = cert ? ih_config_require (d->cfg, d->cfg_path, "broker/endpoint", err) : NULL;
    if (!d->endpoint)
        return -1;
    d->members = ih_keys_resolve (d->cfg_path, members);
    d->registry_pub = ih_keys_resolve (d->cfg_path, registry_key);
    d->registry_key = ih_keys_resolve (d->cfg_path, "registry.key");
    d->cert = ih_keys_resolve (d->cfg_path, cert);
    return ih_keys_load_signing (d->registry_pub, d->registry_pk, NULL, err);
}

/* ---- init ---------------------------------------------------------------------------------- */

static int
s_cmd_init (int argc, char **argv)
{
    if (s_wants_help (argc, argv)) {
        fputs (s_usage_init, stdout);
        return 0;
    }
    const char *dir = NULL, *endpoint = s_DEFAULT_ENDPOINT, *http_port = s_DEFAULT_HTTP_PORT;
    const s_opt_t opts [] = {
        { "--endpoint", &endpoint, NULL }, { "--http-port", &http_port, NULL }, { NULL, NULL, NULL }
    };
    const char *pos_names [] = { "DIR" };
    int rc = s_parse ("init", argc, argv, opts, &dir, 1, pos_names);
    if (rc)
        return rc;
    ih_err_t err;
    if (!dir [0])
        return s_fail (s_EXIT_USAGE, "init: DIR is empty");
    if (s_check_endpoint (endpoint, &err))
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    char *end = NULL;
    errno = 0;
    long port = strtol (http_port, &end, 10);
    if (errno || !end || *end || end == http_port || port < 1 || port > 65535)
        return s_fail (s_EXIT_ERROR, "--http-port: '%.32s' is not a port number (1-65535)", http_port);

    s_created_t created = { .count = 0 };
    if (s_mkdir_p (dir, 0755, &created, &err)) {
        s_created_rollback (&created);
        s_created_free (&created);
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    }
    char *broker_cfg = s_path (dir, "broker.cfg");
    if (s_exists (broker_cfg)) {
        free (broker_cfg);
        s_created_free (&created);     /* nothing was created: DIR existed */
        return s_fail (s_EXIT_ERROR, "%s already initialised", dir);
    }
    char *registry_key = s_path (dir, "registry.key");
    char *registry_pub = s_path (dir, "registry.pub");
    char *broker_cert = s_path (dir, "broker.cert");
    char *gateway_cert = s_path (dir, "gateway.cert");
    char *gateway_cfg = s_path (dir, "gateway.cfg");
    char *members = s_path (dir, "members");
    char *connect = s_connect_endpoint (endpoint);
    uint8_t reg_pk [32], reg_sk [64], gw_sign_pk [32], gw_sign_sk [64];
    char reg_hex [65];
    zcert_t *broker = zcert_new ();
    zcert_t *gateway = zcert_new ();
    assert (broker && gateway);
    zcert_set_meta (broker, "name", "infohub broker");
    zcert_set_meta (gateway, "name", "gateway");
    zcert_set_meta (gateway, "org", "public");

    ih_sign_keypair (reg_pk, reg_sk);
    ih_hex_encode (reg_pk, 32, reg_hex);
    //  The gateway never signs: its record needs an ed25519 key, so it gets a fresh one
    //  whose secret half is wiped at once (nobody can sign as the gateway).
    ih_sign_keypair (gw_sign_pk, gw_sign_sk);
    sodium_memzero (gw_sign_sk, sizeof gw_sign_sk);

    ih_member_t rec;
    memset (&rec, 0, sizeof rec);
    snprintf (rec.name, sizeof rec.name, "gateway");
    snprintf (rec.org, sizeof rec.org, "public");
    rec.role = IH_ROLE_READER;
    rec.gateway = true;
    memcpy (rec.curve, zcert_public_key (gateway), 32);
    memcpy (rec.sign, gw_sign_pk, 32);
    rec.created = ih_now_ms ();

    char broker_text [2048], gateway_text [2048];
    snprintf (broker_text, sizeof broker_text,
        "#   Infohub broker configuration, written by infohub-admin init.\n"
        "#   Paths are relative to this file's directory.\n"
        "broker\n"
        "    endpoint = \"%s\"\n"
        "    cert = \"broker.cert_secret\"\n"
        "    registry = \"members\"\n"
        "    registry-key = \"registry.pub\"\n"
        "    journal = \"journal\"\n"
        "    heartbeat = \"1000\"          # ms, sent in welcome\n"
        "    max-window = \"2000\"\n"
        "    map-size = \"1073741824\"     # initial LMDB map; grows on MDB_MAP_FULL\n"
        "    status = \"broker.status\"    # JSON counters rewritten every second\n",
        endpoint);
    snprintf (gateway_text, sizeof gateway_text,
        "#   Infohub gateway configuration, written by infohub-admin init.\n"
        "#   Paths are relative to this file's directory.\n"
        "gateway\n"
        "    name = \"gateway\"\n"
        "    org = \"public\"\n"
        "    curve-cert = \"gateway.cert_secret\"\n"
        "    registry-key = \"%s\"\n"
        "    store = \"gateway-store\"\n"
        "    broker\n"
        "        endpoint = \"%s\"\n"
        "        public-key = \"%s\"\n"
        "    http\n"
        "        listen = \"127.0.0.1\"\n"
        "        port = \"%ld\"\n"
        "        tls-cert = \"\"\n"
        "        tls-key = \"\"\n",
        reg_hex, connect, zcert_public_txt (broker), port);

    int status = 0;
    if (s_save_signing (registry_key, reg_pk, reg_sk, &created, &err)
    ||  s_save_signing (registry_pub, reg_pk, NULL, &created, &err)
    ||  s_save_cert (broker, broker_cert, &created, &err)
    ||  s_save_cert (gateway, gateway_cert, &created, &err)
    ||  s_mkdir (members, 0755, &created, &err))
        status = s_EXIT_ERROR;
    if (status == 0) {
        if (ih_registry_add (members, &rec, reg_sk, &err))
            status = s_EXIT_ERROR;
        else {
            char *gw_member = s_path (members, "gateway.member");
            s_created_add (&created, gw_member, false);
            free (gw_member);
        }
    }
    //  broker.cfg last: its presence means "initialised"
    if (status == 0
    && (s_write_text (gateway_cfg, gateway_text, 0644, &created, &err)
    ||  s_write_text (broker_cfg, broker_text, 0644, &created, &err)))
        status = s_EXIT_ERROR;

    if (status) {
        s_created_rollback (&created);
        s_fail (status, "%s", err.msg);
    }
    else {
        printf ("initialised %s\n", dir);
        printf ("  broker endpoint      %s\n", endpoint);
        printf ("  broker public key    %s\n", zcert_public_txt (broker));
        printf ("  registry public key  %s\n", reg_hex);
        printf ("  gateway public key   %s (gateway.cfg, http port %ld)\n",
                zcert_public_txt (gateway), port);
        printf ("next: infohub-admin member add %s --org ORG --name NAME --out AGENTDIR\n", dir);
    }
    sodium_memzero (reg_sk, sizeof reg_sk);
    zcert_destroy (&broker);
    zcert_destroy (&gateway);
    s_created_free (&created);
    free (broker_cfg);
    free (registry_key);
    free (registry_pub);
    free (broker_cert);
    free (gateway_cert);
    free (gateway_cfg);
    free (members);
    free (connect);
    return status;
}

/* ---- member add ------------------------------------------------------------------------------ */

static int
s_check_slug (const char *option, const char *what, const char *value, ih_err_t *err)
{
    if (!ih_slug_valid (value, IH_MAX_SHORT))
        return ih_err_set (err, "%s: '%.64s' is not a valid %s (a-z, 0-9, '-', '_', '.', "
                           "starting with a letter or digit, at most %d)", option, value, what,
                           IH_MAX_SHORT);
    return 0;
}

/*  AGENTDIR must be new, or an empty directory. */
static int
s_check_agentdir (const char *path, ih_err_t *err)
{
    struct stat st;
    if (lstat (path, &st)) {
        if (errno == ENOENT)
            return 0;
        return ih_err_set (err, "%s: %s", path, strerror (errno));
    }
    if (!S_ISDIR (st.st_mode))
        return ih_err_set (err, "%s: exists and is not a directory", path);
    DIR *dh = opendir (path);
    if (!dh)
        return ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    struct dirent *de;
    bool empty = true;
    while ((de = readdir (dh)))
        if (!streq (de->d_name, ".") && !streq (de->d_name, ".."))
            empty = false;
    closedir (dh);
    if (!empty)
        return ih_err_set (err, "%s: exists and is not empty", path);
    return 0;
}

/* ---- member limits ---------------------------------------------------------------------------- */

static const char *const s_limit_opt [3] = { "--rate", "--bandwidth", "--quota" };

static uint64_t *
s_limit_field (ih_limits_t *l, int i)
{
    return i == 0 ? &l->msgs_per_s : i == 1 ? &l->bytes_per_s : &l->bytes_per_day;
}

/*  The values of --rate, --bandwidth and --quota (NULL: not given) into lim; `default`
    is IH_LIMIT_UNSET (the role's). Returns 0 or -1 with err naming the option. */
static int
s_limit_opts (const char *const text [3], ih_limits_t *lim, ih_err_t *err)
{
    for (int i = 0; i < 3; i++) {
        if (!text [i])
            continue;
        if (streq (text [i], "default"))
            *s_limit_field (lim, i) = IH_LIMIT_UNSET;
        else
        if (ih_limit_parse (s_limit_opt [i], text [i], i > 0, s_limit_field (lim, i), err))
            return -1;
    }
    return 0;
}

static int
s_cmd_member_add (int argc, char **argv)
{
    if (s_wants_help (argc, argv)) {
        fputs (s_usage_add, stdout);
        return 0;
    }
    const char *dir = NULL, *org = NULL, *name = NULL, *sector = "", *role_s = "reader";
    const char *out = NULL, *endpoint_opt = NULL;
    const char *lim_text [3] = { NULL, NULL, NULL };
    const s_opt_t opts [] = {
        { "--org", &org, NULL }, { "--name", &name, NULL }, { "--sector", &sector, NULL },
        { "--role", &role_s, NULL }, { "--out", &out, NULL }, { "--endpoint", &endpoint_opt, NULL },
        { "--rate", &lim_text [0], NULL }, { "--bandwidth", &lim_text [1], NULL },
        { "--quota", &lim_text [2], NULL },
        { NULL, NULL, NULL }
    };
    const char *pos_names [] = { "DIR" };
    int rc = s_parse ("member add", argc, argv, opts, &dir, 1, pos_names);
    if (rc)
        return rc;
    if (!org)
        return s_fail (s_EXIT_USAGE, "member add: missing --org ORG (see --help)");
    if (!name)
        return s_fail (s_EXIT_USAGE, "member add: missing --name NAME (see --help)");
    if (!out)
        return s_fail (s_EXIT_USAGE, "member add: missing --out AGENTDIR (see --help)");
    ih_err_t err;
    ih_role_t role;
    if (s_check_slug ("--org", "org id", org, &err)
    ||  s_check_slug ("--name", "member name", name, &err)
    || (sector [0] && s_check_slug ("--sector", "sector", sector, &err)))
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    if (ih_role_parse (role_s, &role))
        return s_fail (s_EXIT_ERROR, "--role: '%.32s' is not a role (publisher or reader)", role_s);
    if (endpoint_opt && s_check_endpoint (endpoint_opt, &err))
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    if (!out [0])
        return s_fail (s_EXIT_USAGE, "member add: --out is empty");
    ih_limits_t limits = ih_limits_unset ();
    if (s_limit_opts (lim_text, &limits, &err))
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    bool set_limits = lim_text [0] || lim_text [1] || lim_text [2];

    s_deploy_t d;
    if (s_deploy_open (dir, &d, &err)) {
        s_deploy_free (&d);
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    }
    int status = 0;
    uint8_t reg_pk [32], reg_sk [64], sign_pk [32], sign_sk [64];
    char broker_z85 [41] = "", reg_hex [65];
    char *endpoint = NULL, *member_file = NULL, *cfg_path = NULL;
    char *curve_path = NULL, *signing_key = NULL, *signing_pub = NULL, *member_name = NULL;
    s_created_t created = { .count = 0 };
    zcert_t *curve = NULL;
    ih_registry_t *reg = NULL;
    memset (reg_sk, 0, sizeof reg_sk);
    memset (sign_sk, 0, sizeof sign_sk);

    //  1. Everything that can be checked before a file is written
    if (ih_keys_load_signing (d.registry_key, reg_pk, reg_sk, &err))
        status = s_EXIT_ERROR;
    else
    if (memcmp (reg_pk, d.registry_pk, 32) != 0) {
        ih_err_set (&err, "%s does not match %s", d.registry_key, d.registry_pub);
        status = s_EXIT_ERROR;
    }
    if (status == 0) {
        //  The broker's public key: from the public cert next to the secret one
        size_t n = strlen (d.cert);
        char *pub = strdup (d.cert);
        if (n > 7 && streq (pub + n - 7, "_secret"))
            pub [n - 7] = 0;
        if (s_load_curve_public (s_exists (pub) ? pub : d.cert, broker_z85, &err))
            status = s_EXIT_ERROR;
        free (pub);
    }
    if (status == 0) {
        size_t len = strlen (name) + sizeof ".member";
        member_name = (char *) malloc (len);
        assert (member_name);
        snprintf (member_name, len, "%s.member", name);
        member_file = s_path (d.members, member_name);
        reg = ih_registry_load (d.members, d.registry_pk, &err);
        if (!reg)
            status = s_EXIT_ERROR;
        else
        if (ih_registry_by_name (reg, name) || s_exists (member_file)) {
            ih_err_set (&err, "member '%s' exists", name);
            status = s_EXIT_ERROR;
        }
        else
        if (s_check_agentdir (out, &err))
            status = s_EXIT_ERROR;
    }
    //  2. The agent directory, its keys, the signed record, agent.cfg
    if (status == 0) {
        endpoint = endpoint_opt ? strdup (endpoint_opt) : s_connect_endpoint (d.endpoint);
        curve_path = s_path (out, "curve.cert");
        signing_key = s_path (out, "signing.key");
        signing_pub = s_path (out, "signing.pub");
        cfg_path = s_path (out, "agent.cfg");
        curve = zcert_new ();
        assert (curve);
        zcert_set_meta (curve, "name", "%s", name);
        zcert_set_meta (curve, "org", "%s", org);
        ih_sign_keypair (sign_pk, sign_sk);
        if (s_mkdir_p (out, 0700, &created, &err)
        ||  s_save_cert (curve, curve_path, &created, &err)
        ||  s_save_signing (signing_key, sign_pk, sign_sk, &created, &err)
        ||  s_save_signing (signing_pub, sign_pk, NULL, &created, &err))
            status = s_EXIT_ERROR;
        sodium_memzero (sign_sk, sizeof sign_sk);
    }
    if (status == 0) {
        ih_member_t rec;
        memset (&rec, 0, sizeof rec);
        snprintf (rec.name, sizeof rec.name, "%s", name);
        snprintf (rec.org, sizeof rec.org, "%s", org);
        snprintf (rec.sector, sizeof rec.sector, "%s", sector);
        rec.role = role;
        memcpy (rec.curve, zcert_public_key (curve), 32);
        memcpy (rec.sign, sign_pk, 32);
        rec.created = ih_now_ms ();
        if (ih_registry_add (d.members, &rec, reg_sk, &err))
            status = s_EXIT_ERROR;
        else {
            s_created_add (&created, member_file, false);
            if (set_limits && ih_registry_set_limits (d.members, name, &limits, &err))
                status = s_EXIT_ERROR;
        }
    }
    sodium_memzero (reg_sk, sizeof reg_sk);
    if (status == 0) {
        ih_hex_encode (d.registry_pk, 32, reg_hex);
        char text [2048];
        snprintf (text, sizeof text,
            "#   Infohub agent configuration for %s@%s, written by infohub-admin.\n"
            "#   Paths are relative to this file's directory.\n"
            "agent\n"
            "    name = \"%s\"\n"
            "    org = \"%s\"\n"
            "    sector = \"%s\"\n"
            "    role = \"%s\"\n"
            "    curve-cert = \"curve.cert_secret\"\n"
            "    signing-key = \"signing.key\"\n"
            "    registry-key = \"%s\"\n"
            "    store = \"store\"\n"
            "    on-alert = \"\"\n"
            "    broker\n"
            "        endpoint = \"%s\"\n"
            "        public-key = \"%s\"\n",
            name, org, name, org, sector, ih_role_name (role), reg_hex, endpoint, broker_z85);
        if (s_write_text (cfg_path, text, 0644, &created, &err))
            status = s_EXIT_ERROR;
    }
    if (status) {
        s_created_rollback (&created);
        s_fail (status, "%s", err.msg);
    }
    else {
        printf ("added member %s (org %s, sector %s, role %s)\n", name, org,
                sector [0] ? sector : "-", ih_role_name (role));
        printf ("  agent directory      %s (start with: infohub-agent -c %s run)\n", out, cfg_path);
        printf ("  curve public key     %s\n", zcert_public_txt (curve));
        char sign_hex [65];
        ih_hex_encode (sign_pk, 32, sign_hex);
        printf ("  signing public key   %s\n", sign_hex);
        printf ("  broker               %s %s\n", endpoint, broker_z85);
    }
    zcert_destroy (&curve);
    ih_registry_destroy (&reg);
    s_created_free (&created);
    s_deploy_free (&d);
    free (endpoint);
    free (member_name);
    free (member_file);
    free (cfg_path);
    free (curve_path);
    free (signing_key);
    free (signing_pub);
    return status;
}

static int
s_cmd_member_set (int argc, char **argv)
{
    if (s_wants_help (argc, argv)) {
        fputs (s_usage_set, stdout);
        return 0;
    }
    const char *pos [2] = { NULL, NULL };
    const char *text [3] = { NULL, NULL, NULL };
    const s_opt_t opts [] = {
        { "--rate", &text [0], NULL }, { "--bandwidth", &text [1], NULL },
        { "--quota", &text [2], NULL }, { NULL, NULL, NULL }
    };
    const char *pos_names [] = { "DIR", "NAME" };
    int rc = s_parse ("member set", argc, argv, opts, pos, 2, pos_names);
    if (rc)
        return rc;
    if (!text [0] && !text [1] && !text [2])
        return s_fail (s_EXIT_USAGE, "member set: nothing to set: give --rate, --bandwidth or "
                       "--quota (see --help)");
    ih_err_t err;
    s_deploy_t d;
    ih_limits_t lim;
    if (s_deploy_open (pos [0], &d, &err)
    ||  ih_registry_limits (d.members, pos [1], &lim, &err)
    ||  s_limit_opts (text, &lim, &err)
    ||  ih_registry_set_limits (d.members, pos [1], &lim, &err)) {
        s_deploy_free (&d);
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    }
    s_deploy_free (&d);
    static const char *const names [3] = { "messages-per-s", "bytes-per-s", "bytes-per-day" };
    printf ("member %s:", pos [1]);
    for (int i = 0; i < 3; i++) {
        char v [32];
        uint64_t x = *s_limit_field (&lim, i);
        if (x == IH_LIMIT_UNSET)
            snprintf (v, sizeof v, "its role's");
        else
            ih_limit_format (x, i > 0, v, sizeof v);
        printf ("%s %s %s", i ? "," : "", names [i], v);
    }
    printf ("; a running broker applies it within a second\n");
    return 0;
}

/* ---- member revoke, member list --------------------------------------------------------------- */

static int
s_cmd_member_revoke (int argc, char **argv)
{
    if (s_wants_help (argc, argv)) {
        fputs (s_usage_revoke, stdout);
        return 0;
    }
    const char *pos [2] = { NULL, NULL };
    const char *pos_names [] = { "DIR", "NAME" };
    int rc = s_parse ("member revoke", argc, argv, NULL, pos, 2, pos_names);
    if (rc)
        return rc;
    ih_err_t err;
    s_deploy_t d;
    if (s_deploy_open (pos [0], &d, &err)
    ||  ih_registry_revoke (d.members, pos [1], &err)) {
        s_deploy_free (&d);
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    }
    s_deploy_free (&d);
    printf ("revoked member %s; a running broker refuses it within a second "
            "(send it SIGHUP to reload at once)\n", pos [1]);
    return 0;
}

static int
s_cmd_member_list (int argc, char **argv)
{
    if (s_wants_help (argc, argv)) {
        fputs (s_usage_list, stdout);
        return 0;
    }
    const char *dir = NULL;
    bool json = false;
    const s_opt_t opts [] = { { "--json", NULL, &json }, { NULL, NULL, NULL } };
    const char *pos_names [] = { "DIR" };
    int rc = s_parse ("member list", argc, argv, opts, &dir, 1, pos_names);
    if (rc)
        return rc;
    ih_err_t err;
    s_deploy_t d;
    if (s_deploy_open (dir, &d, &err)) {
        s_deploy_free (&d);
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    }
    ih_registry_t *reg = ih_registry_load (d.members, d.registry_pk, &err);
    if (!reg) {
        s_deploy_free (&d);
        return s_fail (s_EXIT_ERROR, "%s", err.msg);
    }
    size_t count = ih_registry_size (reg);
    if (json) {
        for (size_t i = 0; i < count; i++) {
            const ih_reg_entry_t *e = ih_registry_at (reg, i);
            char created [IH_TIME_MAX], sign_hex [65];
            ih_time_format (e->rec.created, created);
            ih_hex_encode (e->rec.sign, 32, sign_hex);
            json_t *o = json_pack ("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s}",
                                   "name", e->rec.name, "org", e->rec.org,
                                   "sector", e->rec.sector, "role", ih_role_name (e->rec.role),
                                   "gateway", e->rec.gateway, "created", created,
                                   "status", e->revoked ? "revoked" : "active",
                                   "curve_public_key", e->curve_z85,
                                   "signing_public_key", sign_hex);
            assert (o);
            static const char *const keys [3] = { "messages-per-s", "bytes-per-s", "bytes-per-day" };
            json_t *lim = json_object ();
            ih_limits_t l = e->limits;
            for (int k = 0; k < 3; k++) {
                uint64_t x = *s_limit_field (&l, k);
                if (x == IH_LIMIT_UNSET)
                    continue;
                char v [32];
                ih_limit_format (x, k > 0, v, sizeof v);
                json_object_set_new (lim, keys [k], json_string (v));
            }
            json_object_set_new (o, "limits", lim);
            char *line = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            assert (line);
            printf ("%s\n", line);
            free (line);
            json_decref (o);
        }
    }
    else {
        int wn = 4, wo = 3, ws = 6, wr = 4;
        for (size_t i = 0; i < count; i++) {
            const ih_reg_entry_t *e = ih_registry_at (reg, i);
            wn = (int) strlen (e->rec.name) > wn ? (int) strlen (e->rec.name) : wn;
            wo = (int) strlen (e->rec.org) > wo ? (int) strlen (e->rec.org) : wo;
            ws = (int) strlen (e->rec.sector) > ws ? (int) strlen (e->rec.sector) : ws;
            wr = (int) strlen ("publisher") > wr ? (int) strlen ("publisher") : wr;
        }
        printf ("%-*s  %-*s  %-*s  %-*s  %-24s  %s\n", wn, "NAME", wo, "ORG", ws, "SECTOR",
                wr, "ROLE", "CREATED", "STATUS");
        for (size_t i = 0; i < count; i++) {
            const ih_reg_entry_t *e = ih_registry_at (reg, i);
            char created [IH_TIME_MAX];
            ih_time_format (e->rec.created, created);
            printf ("%-*s  %-*s  %-*s  %-*s  %-24s  %s\n", wn, e->rec.name, wo, e->rec.org,
                    ws, e->rec.sector [0] ? e->rec.sector : "-", wr, ih_role_name (e->rec.role),
                    created, e->revoked ? "revoked" : "active");
        }
    }
    ih_registry_destroy (&reg);
    s_deploy_free (&d);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
    ih_sign_init ();
    if (argc < 2) {
        fputs (s_usage_main, stderr);
        return s_EXIT_USAGE;
    }
    const char *cmd = argv [1];
    if (streq (cmd, "-h") || streq (cmd, "--help") || streq (cmd, "help")) {
        fputs (s_usage_main, stdout);
        return 0;
    }
    if (streq (cmd, "init"))
        return s_cmd_init (argc - 2, argv + 2);
    if (streq (cmd, "member")) {
        if (argc < 3)
            return s_fail (s_EXIT_USAGE, "member: missing add, revoke, set or list (see member --help)");
        const char *sub = argv [2];
        if (streq (sub, "-h") || streq (sub, "--help") || streq (sub, "help")) {
            fputs (s_usage_member, stdout);
            return 0;
        }
        if (streq (sub, "add"))
            return s_cmd_member_add (argc - 3, argv + 3);
        if (streq (sub, "revoke"))
            return s_cmd_member_revoke (argc - 3, argv + 3);
        if (streq (sub, "set"))
            return s_cmd_member_set (argc - 3, argv + 3);
        if (streq (sub, "list"))
            return s_cmd_member_list (argc - 3, argv + 3);
        return s_fail (s_EXIT_USAGE, "member: unknown command '%.64s' (add, revoke, set or list)", sub);
    }
    return s_fail (s_EXIT_USAGE, "unknown command '%.64s' (see --help)", cmd);
}

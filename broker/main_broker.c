/*  infohub-broker: the Infohub broker daemon (proto/PROTOCOL.md, docs/ARCHITECTURE.md).

    usage: infohub-broker -c DIR/broker.cfg [-v] [--verify]

    Reads broker.cfg (ZPL, paths relative to the file), loads the broker's CURVE keypair,
    the pinned registry key and the member registry, opens the journal and serves until
    SIGTERM or SIGINT (exit 0 after the current commit). SIGHUP reloads the registry.
    --verify checks the journal instead (ih_jcheck.h) and exits: 0 sound, 1 damaged.
*/
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "ih_broker.h"
#include "ih_daemon.h"
#include "ih_jcheck.h"
#include "ih_keys.h"
#include "ih_sign.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: infohub-broker -c DIR/broker.cfg [-v] [--verify]\n"
        "\n"
        "Runs the Infohub broker: authenticates members (CURVE + ZAP), checks and journals\n"
        "their signed messages (LMDB) and delivers them to every entitled agent (TLP 2.0).\n"
        "\n"
        "  -c FILE     broker configuration (written by `infohub-admin init DIR`)\n"
        "  -v          debug log lines\n"
        "  --verify    check the journal instead of serving: read every item and check it\n"
        "              (signatures against its member record and the registry key; seqs\n"
        "              1..head; the ids index); one line per damage, then a summary. It may\n"
        "              run beside the broker. Exit status 0 when sound, 1 when damaged\n"
        "              (README, Recovery)\n"
        "  -h, --help  this help\n"
        "\n"
        "Signals: SIGHUP reloads the member registry; SIGTERM/SIGINT stop cleanly.\n");
}

/*  broker/limits/ROLE/KEY of broker.cfg into limits [role] (ih_limits.h), each key
    optional (the role's default). Returns 0 or -1 with err naming the file and key. */
static int
s_load_limits (zconfig_t *cfg, const char *cfg_path, ih_limits_t limits [2], ih_err_t *err)
{
    static const char *const keys [3] = { "messages-per-s", "bytes-per-s", "bytes-per-day" };
    for (int r = 0; r < 2; r++) {
        limits [r] = ih_limits_default ((ih_role_t) r);
        uint64_t *field [3] = { &limits [r].msgs_per_s, &limits [r].bytes_per_s,
                                &limits [r].bytes_per_day };
        for (int k = 0; k < 3; k++) {
            char path [96];
            snprintf (path, sizeof path, "broker/limits/%s/%s", ih_role_name ((ih_role_t) r), keys [k]);
            const char *text = zconfig_get (cfg, path, NULL);
            if (text && ih_limit_parse (path, text, k > 0, field [k], err)) {
                ih_err_prefix (err, "%s", cfg_path);
                return -1;
            }
        }
    }
    return 0;
}

/*  Each connection is a descriptor: the soft limit goes up to the hard one, so that a
    member opening many connections meets the per-key caps (max-peers), not the process's
    limit, which would refuse everyone (1024 under a default systemd unit). */
static void
s_raise_nofile (void)
{
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &rl) == 0)
            fprintf (stderr, "I broker: open files limit raised from %llu to %llu\n",
                     (unsigned long long) was, (unsigned long long) rl.rlim_max);
    }
}

static void
s_verify_line (const char *line, void *arg)
{
    (void) arg;
    printf ("damaged: %s\n", line);
}

/*  --verify: the journal, read-only (a running broker keeps serving), checked with the
    pinned registry key. Returns 0 (sound), 1 (damaged) or -1 with err. */
static int
s_verify (const char *jrn_path, const char *key_path, ih_err_t *err)
{
    uint8_t registry_pk [32];
    if (ih_keys_load_signing (key_path, registry_pk, NULL, err))
        return -1;
    ih_journal_t *j = ih_journal_open_readonly (jrn_path, err);
    if (!j)
        return -1;
    ih_jcheck_stats_t st;
    int rc = ih_jcheck (j, registry_pk, s_verify_line, NULL, &st, err);
    ih_journal_destroy (&j);
    if (rc)
        return -1;
    printf ("journal %s: head %" PRIu64 ", %" PRIu64 " items read, %" PRIu64 " signatures verified, "
            "%" PRIu64 " index entries: %s\n", jrn_path, st.head, st.items, st.verified, st.ids,
            st.damaged ? "DAMAGED" : "sound");
    if (st.damaged)
        printf ("%" PRIu64 " damaged. To recover (README, Recovery): stop the broker, copy a healthy "
                "journal (a standby's, or a backup made with mdb_copy) in its place, and start it "
                "again; agents catch up from their cursors.\n", st.damaged);
    fflush (stdout);
    return st.damaged ? 1 : 0;
}

/*  A failure at start, as a log line of the broker module. The libraries' messages name
    the module they come from ("journal: cannot open …", "broker: cannot bind …"); when
    that is the broker itself, the line says it once. */
static int
s_fail (const char *msg)
{
    if (strncmp (msg, "broker: ", 8) == 0)
        msg += 8;
    fprintf (stderr, "E broker: %s\n", msg);
    return 1;
}

int
main (int argc, char **argv)
{
    const char *cfg_path = NULL;
    bool verbose = false, verify = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "-h") == 0 || strcmp (argv [i], "--help") == 0) {
            s_usage (stdout);
            return 0;
        }
        else
        if (strcmp (argv [i], "-v") == 0)
            verbose = true;
        else
        if (strcmp (argv [i], "--verify") == 0)
            verify = true;
        else
        if (strcmp (argv [i], "-c") == 0) {
            if (i + 1 >= argc) {
                fprintf (stderr, "infohub-broker: -c needs a value (DIR/broker.cfg)\n");
                return 2;
            }
            cfg_path = argv [++i];
        }
        else {
            fprintf (stderr, "infohub-broker: unexpected argument '%s'\n", argv [i]);
            s_usage (stderr);
            return 2;
        }
    }
    if (!cfg_path) {
        fprintf (stderr, "infohub-broker: -c DIR/broker.cfg is required\n");
        s_usage (stderr);
        return 2;
    }

    //  Our own signal handling (ih_daemon.h): SIGHUP reloads the registry.
    ih_daemon_signals (IH_DAEMON_RELOAD);
    ih_sign_init ();

    ih_err_t err;
    zconfig_t *cfg = ih_config_load (cfg_path, &err);
    if (!cfg)
        return s_fail (err.msg);
    const char *endpoint = ih_config_require (cfg, cfg_path, "broker/endpoint", &err);
    const char *cert_rel = endpoint ? ih_config_require (cfg, cfg_path, "broker/cert", &err) : NULL;
    const char *reg_rel = cert_rel ? ih_config_require (cfg, cfg_path, "broker/registry", &err) : NULL;
    const char *key_rel = reg_rel ? ih_config_require (cfg, cfg_path, "broker/registry-key", &err) : NULL;
    const char *jrn_rel = key_rel ? ih_config_require (cfg, cfg_path, "broker/journal", &err) : NULL;
    uint64_t heartbeat, max_window, map_size, max_sessions, max_peers, io_threads;
    ih_limits_t limits [2];
    if (!jrn_rel
    ||  ih_config_uint (cfg, cfg_path, "broker/heartbeat", 100, 600000, 1000, &heartbeat, &err)
    ||  ih_config_uint (cfg, cfg_path, "broker/max-window", 1, 10000, 2000, &max_window, &err)
    ||  ih_config_uint (cfg, cfg_path, "broker/max-sessions", 1, 10000, 8, &max_sessions, &err)
    ||  ih_config_uint (cfg, cfg_path, "broker/max-peers", 2, 100000, 32, &max_peers, &err)
    ||  ih_config_uint (cfg, cfg_path, "broker/io-threads", 0, 64, 0, &io_threads, &err)
    ||  s_load_limits (cfg, cfg_path, limits, &err)
    ||  ih_config_uint (cfg, cfg_path, "broker/map-size", 1ull << 16, 1ull << 44, 1ull << 30,
                        &map_size, &err)) {
        zconfig_destroy (&cfg);
        return s_fail (err.msg);
    }
    const char *status_rel = zconfig_get (cfg, "broker/status", "");
    char *cert_path = ih_keys_resolve (cfg_path, cert_rel);
    char *reg_path = ih_keys_resolve (cfg_path, reg_rel);
    char *key_path = ih_keys_resolve (cfg_path, key_rel);
    char *jrn_path = ih_keys_resolve (cfg_path, jrn_rel);
    char *status_path = *status_rel ? ih_keys_resolve (cfg_path, status_rel) : NULL;

    if (verify) {
        int vrc = s_verify (jrn_path, key_path, &err);
        if (vrc < 0)
            s_fail (err.msg);
        free (cert_path);
        free (reg_path);
        free (key_path);
        free (jrn_path);
        free (status_path);
        zconfig_destroy (&cfg);
        return vrc < 0 ? 1 : vrc;
    }
    int rc = 1;
    zcert_t *cert = NULL;
    ih_registry_t *registry = NULL;
    ih_journal_t *journal = NULL;
    ih_broker_t *broker = NULL;
    uint8_t registry_pk [32];
    if (!(cert = ih_keys_load_cert (cert_path, &err))
    ||  ih_keys_load_signing (key_path, registry_pk, NULL, &err)
    ||  !(registry = ih_registry_load (reg_path, registry_pk, &err))
    ||  !(journal = ih_journal_open (jrn_path, map_size, &err))) {
        s_fail (err.msg);
        goto done;
    }
    ih_broker_cfg_t bcfg = {
        .endpoint = endpoint,
        .cert = cert,
        .registry = registry,
        .journal = journal,
        .heartbeat = (uint32_t) heartbeat,
        .max_window = (uint32_t) max_window,
        .max_sessions = (uint32_t) max_sessions,
        .status_path = status_path,
        .verbose = verbose,
        .limits = limits,
        .max_peers = (uint32_t) max_peers,
        .io_threads = (uint32_t) io_threads,
    };
    s_raise_nofile ();
    broker = ih_broker_new (&bcfg, &err);
    if (!broker) {
        s_fail (err.msg);
        goto done;
    }
    //  Log lines leave in one write per loop iteration, not one per line
    static char logbuf [64 * 1024];
    setvbuf (stderr, logbuf, _IOFBF, sizeof logbuf);
    rc = ih_broker_run (broker, &ih_daemon_stop, &ih_daemon_reload) == 0 ? 0 : 1;
    ih_broker_destroy (&broker);
    fprintf (stderr, "I broker: stopped\n");
    fflush (stderr);
    setvbuf (stderr, NULL, _IONBF, 0);
done:
    ih_broker_destroy (&broker);
    ih_journal_destroy (&journal);
    ih_registry_destroy (&registry);
    zcert_destroy (&cert);
    zconfig_destroy (&cfg);
    free (cert_path);
    free (reg_path);
    free (key_path);
    free (jrn_path);
    free (status_path);
    return rc;
}

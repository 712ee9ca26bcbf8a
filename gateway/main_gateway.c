/*  infohub-gateway: the Public Zone (docs/ARCHITECTURE.md "Layers").

    infohub-gateway -c DIR/gateway.cfg [-v] [-n]

    Subscribes to the broker with the gateway identity (TLP:CLEAR only), keeps its own
    LMDB copy (the agent's store format) and serves it over HTTP(S): pages, Atom, JSON,
    exports, TAXII 2.1, /healthz and /metrics. One subscriber thread (ih_sync) owns the
    broker session and the store's writer; the HTTP threads (the web layer's server,
    web/ih_http, with the gateway's routes: ih_gw_serve) read the store.

    gateway.cfg (written by `infohub-admin init`; paths relative to the file):
        gateway
            name, org, curve-cert, registry-key, store      (required)
            title = "Infohub Public Zone"                   (optional)
            map-size = "4294967296"                         (store map, fixed; optional)
            broker
                endpoint, public-key                        (required)
            http
                listen = "127.0.0.1"    port = "8080"       (required)
                tls-cert = ""           tls-key = ""        (both: HTTPS)
                public-url = ""         (absolute URL in feeds; default http(s)://listen:port)
                threads = "2"  max-connections = "1024"  per-ip-connections = "100"
                    (per client address: everyone behind one NAT or proxy shares it;
                    0 = no per-address cap, for a gateway behind a reverse proxy or CDN)
                per-ip-workers = half the threads, at least 1 (requests of one address
                    handled at once; 0 = no cap: all the threads)
                per-ip-queue = "16"     (an address's requests waiting for a thread before
                    the next is answered 429 with Retry-After; 0 = no cap. Both are shared
                    by everyone behind one NAT or proxy, as per-ip-connections is)
                timeout = "15"  (seconds idle before a connection is closed)
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>

#include "ih_daemon.h"
#include "ih_gw.h"
#include "ih_keys.h"
#include "ih_sync.h"

#define s_PROG      "infohub-gateway"
#define s_VERSION   "0.1"
#define s_MAP       ((uint64_t) 4 << 30)

#define s_fail(...) ih_fail (s_PROG, NULL, __VA_ARGS__)

static void
s_usage (FILE *f)
{
    fprintf (f, "usage: %s -c DIR/gateway.cfg [-v] [-n]\n"
             "Runs the Infohub Public Zone: subscribes to the broker as the gateway identity\n"
             "(TLP:CLEAR only), keeps an LMDB copy, and serves it over HTTP on the address and\n"
             "port of gateway.cfg (http/listen, http/port; HTTPS when http/tls-cert and\n"
             "http/tls-key are set): /, /alerts/ID, /search, /trends, /feed.atom,\n"
             "/api/v1/alerts, /export/csv, /export/stix21, /taxii2/, /healthz, /metrics.\n"
             "  -c FILE   the configuration (written by infohub-admin init)\n"
             "  -v        log every HTTP request\n"
             "  -n        check the configuration and exit\n"
             "Stops on SIGTERM or SIGINT.\n", s_PROG);
}

int
main (int argc, char **argv)
{
    const char *cfg_path = NULL;
    bool verbose = false, check_only = false;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "-h") || streq (argv [i], "--help")) {
            s_usage (stdout);
            return 0;
        }
        else
        if (streq (argv [i], "-c")) {
            if (i + 1 >= argc) {
                s_fail ("-c needs a value (DIR/gateway.cfg)");
                return 2;
            }
            cfg_path = argv [++i];
        }
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
    zconfig_t *zc = ih_config_load (cfg_path, &err);
    if (!zc)
        return s_fail ("%s", err.msg);
    const char *curve, *reg, *store_rel, *endpoint, *broker_key, *listen, *port_s;
    if (!ih_config_require (zc, cfg_path, "gateway/name", &err)
    ||  !(curve = ih_config_require (zc, cfg_path, "gateway/curve-cert", &err))
    ||  !(reg = ih_config_require (zc, cfg_path, "gateway/registry-key", &err))
    ||  !(store_rel = ih_config_require (zc, cfg_path, "gateway/store", &err))
    ||  !(endpoint = ih_config_require (zc, cfg_path, "gateway/broker/endpoint", &err))
    ||  !(broker_key = ih_config_require (zc, cfg_path, "gateway/broker/public-key", &err))
    ||  !(listen = ih_config_require (zc, cfg_path, "gateway/http/listen", &err))
    ||  !(port_s = ih_config_require (zc, cfg_path, "gateway/http/port", &err))) {
        zconfig_destroy (&zc);
        return s_fail ("%s", err.msg);
    }
    ih_sync_cfg_t scfg;
    memset (&scfg, 0, sizeof scfg);
    ih_http_cfg_t hcfg;
    memset (&hcfg, 0, sizeof hcfg);
    uint64_t port, threads, conns, per_ip, per_ip_workers, per_ip_queue, timeout, map;
    int ret = 1;
    char *cert_path = NULL, *store_dir = NULL, *tls_cert = NULL, *tls_key = NULL;
    zcert_t *cert = NULL;
    ih_gw_t *gw = NULL;
    ih_http_t *http = NULL;
    ih_sync_t *sync = NULL;
    if (strlen (reg) != 64 || ih_hex_decode (reg, scfg.registry_pk, 32) != 0) {
        s_fail ("%s: gateway/registry-key: expected 64 hex digits", cfg_path);
        goto done;
    }
    if (ih_config_uint (zc, cfg_path, "gateway/http/port", 0, 65535, 8080, &port, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/http/threads", 1, 64, 2, &threads, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/http/max-connections", 1, 100000, 1024, &conns, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/http/per-ip-connections", 0, 100000, 100, &per_ip, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/http/per-ip-workers", 0, 64, threads / 2 ? threads / 2 : 1,
                        &per_ip_workers, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/http/per-ip-queue", 0, 100000, 16, &per_ip_queue, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/http/timeout", 1, 3600, 15, &timeout, &err)
    ||  ih_config_uint (zc, cfg_path, "gateway/map-size", 1 << 24, (uint64_t) 1 << 40, s_MAP, &map, &err)) {
        s_fail ("%s", err.msg);
        goto done;
    }
    //  The per-address cap counts every client behind one NAT, or behind a reverse proxy
    //  or CDN (they all come from its address), as one: 0 turns it off (the total cap,
    //  max-connections, still holds) for a gateway that only a proxy reaches
    if (per_ip == 0 || per_ip > conns)
        per_ip = conns;
    //  The same for the share of the threads: 0 lifts each cap (max-connections still
    //  bounds what can wait).
    if (per_ip_workers == 0 || per_ip_workers > threads)
        per_ip_workers = threads;
    if (per_ip_queue == 0 || per_ip_queue > conns)
        per_ip_queue = conns;
    cert_path = ih_keys_resolve (cfg_path, curve);
    store_dir = ih_keys_resolve (cfg_path, store_rel);
    const char *tc = zconfig_get (zc, "gateway/http/tls-cert", "");
    const char *tk = zconfig_get (zc, "gateway/http/tls-key", "");
    if (*tc)
        tls_cert = ih_keys_resolve (cfg_path, tc);
    if (*tk)
        tls_key = ih_keys_resolve (cfg_path, tk);
    if (tls_key && ih_keys_check_private (tls_key, &err) != 0) {
        s_fail ("gateway/http/tls-key: %s", err.msg);
        goto done;
    }
    cert = ih_keys_load_cert (cert_path, &err);
    if (!cert) {
        s_fail ("%s", err.msg);
        goto done;
    }
    if (check_only) {
        printf ("%s: configuration OK (store %s, http %s:%" PRIu64 "%s)\n", cfg_path, store_dir,
                listen, port, tls_cert ? ", TLS" : "");
        ret = 0;
        goto done;
    }

    gw = (ih_gw_t *) calloc (1, sizeof *gw);
    if (!gw)
        abort ();
    gw->title = zconfig_get (zc, "gateway/title", "Infohub Public Zone");
    gw->broker_endpoint = endpoint;
    gw->started_ms = ih_now_ms ();
    //  The map is fixed (map == max): LMDB must not grow it under the HTTP threads' reads.
    gw->store = ih_store_open (store_dir, IH_STORE_WRITER, map, map, &err);
    if (!gw->store) {
        s_fail ("%s", err.msg);
        goto done;
    }
    char taxii_dir [4200];
    snprintf (taxii_dir, sizeof taxii_dir, "%s/taxii", store_dir);
    gw->added = ih_added_open (taxii_dir, &err);
    if (!gw->added) {
        s_fail ("%s", err.msg);
        goto done;
    }
    //  Related advisories: an index beside the store; the site works without it.
    gw->related = ih_related_open (store_dir, true, &err);
    if (!gw->related)
        fprintf (stderr, "W gateway: no related advisories: %s\n", err.msg);
    hcfg.listen = listen;
    hcfg.port = (uint16_t) port;
    hcfg.tls_cert = tls_cert;
    hcfg.tls_key = tls_key;
    hcfg.threads = (unsigned) threads;
    hcfg.max_conns = (unsigned) conns;
    hcfg.per_ip = (unsigned) per_ip;
    hcfg.per_ip_workers = (unsigned) per_ip_workers;
    hcfg.per_ip_queue = (unsigned) per_ip_queue;
    hcfg.timeout_s = (unsigned) timeout;
    hcfg.verbose = verbose;
    http = ih_gw_serve (gw, &hcfg, &err);
    if (!http) {
        s_fail ("%s", err.msg);
        goto done;
    }
    const char *pub = zconfig_get (zc, "gateway/http/public-url", "");
    if (*pub)
        snprintf (gw->base_url, sizeof gw->base_url, "%s", pub);
    else
        snprintf (gw->base_url, sizeof gw->base_url, "%s://%s%s%s:%u", tls_cert ? "https" : "http",
                  strchr (listen, ':') ? "[" : "", listen, strchr (listen, ':') ? "]" : "",
                  ih_http_port (http));
    size_t bl = strlen (gw->base_url);
    while (bl > 0 && gw->base_url [bl - 1] == '/')
        gw->base_url [--bl] = 0;

    scfg.endpoint = endpoint;
    scfg.broker_key = broker_key;
    scfg.cert = cert;
    sync = ih_sync_new (gw, &scfg, &err);
    if (!sync) {
        s_fail ("%s: %s", cfg_path, err.msg);
        goto done;
    }
    fprintf (stderr, "I gateway: %s %s serving %s/ (listening on %s port %u, %u %s), store %s, "
             "broker %s\n", s_PROG, s_VERSION, gw->base_url, listen, ih_http_port (http),
             (unsigned) threads, ih_plural (threads, "thread", "threads"), store_dir, endpoint);
    while (!ih_daemon_stop)
        zclock_sleep (100);
    fprintf (stderr, "I gateway: stopping\n");
    ret = 0;
done:
    ih_http_destroy (&http);        //  first: no request reads the store any more
    ih_sync_destroy (&sync);
    if (gw) {
        ih_added_destroy (&gw->added);
        ih_related_destroy (&gw->related);
        ih_store_destroy (&gw->store);
        ih_gw_release (gw);
        free (gw);
    }
    zcert_destroy (&cert);
    free (cert_path);
    free (store_dir);
    free (tls_cert);
    free (tls_key);
    zconfig_destroy (&zc);
    return ret;
}

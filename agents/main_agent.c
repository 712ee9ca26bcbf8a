/*  infohub-agent: the member agent (DESIGN.md "Command-line contract").

    infohub-agent -c AGENTDIR/agent.cfg COMMAND [ARGS]

      run                 the daemon: receive, verify, persist (ih_client, ih_store)
      publish FILE|-      sign and publish an alert (or retraction, comment, sighting)
      list [--json] …     the alerts in the store, oldest first
      show ID [--json]    one alert as JSON
      status [--json]     cursor, connection, counts

    One line per event on stderr ("I agent: …"); one-line errors ("infohub-agent: …")
    with a non-zero exit; no secret is ever printed. Commands are a table (s_commands)
    so that later ones (search, tail, export, import …) slot in beside these.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_client.h"
#include "ih_codec.h"
#include "ih_json.h"
#include "ih_keys.h"
#include "ih_sign.h"
#include "ih_store.h"

#define s_PROG          "infohub-agent"
#define s_VERSION       "0.1"
#define s_PUBLISH_MS    10000
#define s_RETRY_MS      5000        /* after a store failure, reconnect (and replay) after */
#define s_MAX_INPUT     (8 << 20)

/* ---- configuration ------------------------------------------------------------------ */

typedef struct {
    char *path;                 /* agent.cfg */
    zconfig_t *zc;
    const char *name, *org, *sector, *role;
    char *curve_cert;           /* resolved paths, malloc'd */
    char *signing_key;
    char *store;
    const char *on_alert;
    const char *endpoint;
    const char *broker_key;
    uint8_t registry_pk [32];
    uint32_t window;
    uint64_t map_size;
    uint64_t max_map;
} s_cfg_t;

static void
s_cfg_free (s_cfg_t *c)
{
    zconfig_destroy (&c->zc);
    free (c->path);
    free (c->curve_cert);
    free (c->signing_key);
    free (c->store);
    memset (c, 0, sizeof *c);
}

static int
s_cfg_uint (s_cfg_t *c, const char *key, uint64_t min, uint64_t max, uint64_t def, uint64_t *out,
            ih_err_t *err)
{
    const char *v = zconfig_get (c->zc, key, NULL);
    *out = def;
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull (v, &end, 10);
    if (errno || end == v || *end || v [0] == '-' || n < min || n > max)
        return ih_err_set (err, "%s: %s: '%s' is not a number in %" PRIu64 "..%" PRIu64,
                           c->path, key, v, min, max);
    *out = n;
    return 0;
}

static int
s_cfg_load (s_cfg_t *c, const char *path, ih_err_t *err)
{
    memset (c, 0, sizeof *c);
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
    if (strlen (reg) != 64 || ih_hex_decode (reg, c->registry_pk, 32) != 0)
        return ih_err_set (err, "%s: agent/registry-key: expected 64 hex digits", path);
    if (!ih_slug_valid (c->name, IH_MAX_SHORT) || !ih_slug_valid (c->org, IH_MAX_SHORT))
        return ih_err_set (err, "%s: agent/name and agent/org must be slugs", path);
    c->curve_cert = ih_keys_resolve (path, curve);
    c->signing_key = ih_keys_resolve (path, signing);
    c->store = ih_keys_resolve (path, store);
    uint64_t window;
    if (s_cfg_uint (c, "agent/window", 1, 10000, 1000, &window, err)
    ||  s_cfg_uint (c, "agent/map-size", 0, UINT64_MAX, 0, &c->map_size, err)
    ||  s_cfg_uint (c, "agent/max-map-size", 0, UINT64_MAX, 0, &c->max_map, err))
        return -1;
    c->window = (uint32_t) window;
    return 0;
}

/* ---- output helpers ------------------------------------------------------------------ */

static void
s_log (char level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_log (char level, const char *fmt, ...)
{
    char line [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    fprintf (stderr, "%c agent: %s\n", level, line);
}

static int
s_fail (const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_fail (const char *fmt, ...)
{
    char line [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    fprintf (stderr, "%s: %s\n", s_PROG, line);
    return 1;
}

static bool
s_is_help (const char *a)
{
    return streq (a, "-h") || streq (a, "--help");
}

/* ---- run: the daemon ----------------------------------------------------------------- */

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
    zsys_interrupted = 1;
}

static void
s_install_signals (void)
{
    //  Our own handlers, without SA_RESTART so that zmq_poll returns at once; czmq must
    //  not install its own (zsys_handler_set (NULL) before any socket exists).
    zsys_handler_set (NULL);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    //  A file-size limit then fails a write with EFBIG, which the store reports as a
    //  full disk (and retries), instead of killing the daemon.
    signal (SIGXFSZ, SIG_IGN);
}

/*  The daemon batches: every deliver envelope already waiting is verified and collected
    (copied out of its frame), then the batch is stored in one transaction (one fsync)
    and acknowledged once. A live stream of single-item deliveries thus costs one commit
    per burst rather than one per alert. */
#define s_BATCH_MAX     1024            /* items per transaction */
#define s_BATCH_BYTES   (16 << 20)      /* bytes copied per transaction, about */

typedef struct {
    s_cfg_t *cfg;
    ih_store_t *store;
    ih_client_t *client;
    uint64_t cursor;            /* durable: the store's */
    ih_msg_t msgs [s_BATCH_MAX];
    ih_member_t recs [s_BATCH_MAX];
    ih_store_item_t items [s_BATCH_MAX];
    size_t count;               /* items collected, not stored yet */
    uint64_t last_seq;          /* highest seq collected */
    ih_arena_t arena;           /* copies of the collected items' bytes */
    size_t arena_bytes;
    char status_path [4096];
    int64_t status_at;
    uint64_t stored, rejected;
    int exit_code;
} s_daemon_t;

/*  STORE/agent.status: what `status` shows about the daemon (rewritten atomically). */
static void
s_write_status (s_daemon_t *d, bool force)
{
    int64_t now = zclock_mono ();
    if (!force && now - d->status_at < 1000)
        return;
    d->status_at = now;
    char tmp [4200];
    snprintf (tmp, sizeof tmp, "%s.tmp", d->status_path);
    json_t *j = json_pack ("{s:i, s:b, s:s, s:I, s:I, s:I}", "pid", (int) getpid (),
                           "connected", ih_client_connected (d->client), "endpoint", d->cfg->endpoint,
                           "head", (json_int_t) ih_client_head (d->client),
                           "cursor", (json_int_t) d->cursor, "updated_ms", (json_int_t) ih_now_ms ());
    if (j && json_dump_file (j, tmp, JSON_COMPACT) == 0)
        rename (tmp, d->status_path);
    else
        unlink (tmp);
    json_decref (j);
}

static void
s_log_outcome (const ih_store_item_t *it, const ih_member_t *rec)
{
    const ih_msg_t *m = it->msg;
    switch (it->outcome) {
        case IH_STORE_NEW:
            s_log ('I', "stored alert %s rev %u seq %" PRIu64 " from %s@%s (%s, %s)", m->id,
                   m->revision, it->seq, rec->name, rec->org, ih_tlp_name (m->tlp),
                   ih_severity_name (m->severity));
            break;
        case IH_STORE_REVISED:
            s_log ('I', "stored alert %s rev %u seq %" PRIu64 " from %s@%s (new revision)", m->id,
                   m->revision, it->seq, rec->name, rec->org);
            break;
        case IH_STORE_STALE:
            s_log ('I', "kept alert %s as it is: rev %u seq %" PRIu64 " from %s@%s is not newer",
                   m->id, m->revision, it->seq, rec->name, rec->org);
            break;
        case IH_STORE_RETRACTED:
            if (m->ioc_count)
                s_log ('I', "retraction of %u IOCs of alert %s seq %" PRIu64 " from %s@%s",
                       m->ioc_count, m->ref, it->seq, rec->name, rec->org);
            else
                s_log ('I', "retraction of alert %s seq %" PRIu64 " from %s@%s", m->ref, it->seq,
                       rec->name, rec->org);
            break;
        case IH_STORE_COMMENTED:
            s_log ('I', "comment on alert %s seq %" PRIu64 " from %s@%s", m->ref, it->seq,
                   rec->name, rec->org);
            break;
        case IH_STORE_SIGHTED:
            s_log ('I', "sighting (%u) of %s %s seq %" PRIu64 " from %s@%s", m->count,
                   m->ioc_count ? ih_ioc_type_name (m->iocs [0].type) : "?",
                   m->ioc_count ? m->iocs [0].value : "?", it->seq, rec->name, rec->org);
            break;
        case IH_STORE_SKIPPED:
        case IH_STORE_REJECTED:
            break;
    }
}

static const uint8_t *
s_copy (s_daemon_t *d, const uint8_t *data, size_t len)
{
    uint8_t *p = (uint8_t *) ih_arena_alloc (&d->arena, len ? len : 1);
    if (len)
        memcpy (p, data, len);
    d->arena_bytes += len;
    return p;
}

/*  Verifies the items of a deliver envelope and adds them to the batch. */
static void
s_collect (s_daemon_t *d, const ih_env_t *e)
{
    for (uint32_t i = 0; i < e->item_count && d->count < s_BATCH_MAX; i++) {
        const ih_item_t *src = &e->items [i];
        //  Replayed duplicates (after a reconnect or a second hello) are dropped here.
        if (src->seq <= d->cursor || src->seq <= d->last_seq)
            continue;
        size_t k = d->count++;
        d->last_seq = src->seq;
        ih_store_item_t *it = &d->items [k];
        memset (it, 0, sizeof *it);
        it->seq = src->seq;
        ih_err_t err = { "" };
        if (ih_client_verify_item (src, d->cfg->registry_pk, &d->recs [k], &d->msgs [k], &err) != 0) {
            char who [2 * IH_MAX_SHORT + 2] = "unknown member";
            if (d->recs [k].name [0])
                snprintf (who, sizeof who, "%s@%s", d->recs [k].name, d->recs [k].org);
            s_log ('E', "rejected seq %" PRIu64 " from %s: %s", src->seq, who, err.msg);
            d->rejected++;
            continue;           //  not stored; the cursor still passes it
        }
        it->msg = &d->msgs [k];
        it->body = s_copy (d, src->body, src->body_len);
        it->body_len = src->body_len;
        it->sig = s_copy (d, src->sig, 64);
        it->rec = s_copy (d, src->rec, src->rec_len);
        it->rec_len = src->rec_len;
        it->rec_sig = s_copy (d, src->rec_sig, 64);
    }
}

static bool
s_batch_full (s_daemon_t *d)
{
    return d->count + IH_MAX_ITEMS > s_BATCH_MAX || d->arena_bytes > s_BATCH_BYTES;
}

/*  Stores the batch in one transaction and acknowledges it after the commit. */
static void
s_flush (s_daemon_t *d)
{
    size_t n = d->count;
    if (n == 0)
        return;
    uint64_t map0 = ih_store_map_size (d->store);
    ih_err_t err = { "" };
    int rc = ih_store_ingest (d->store, d->items, n, &err);
    if (rc != 0) {
        s_log ('E', "cannot store seq %" PRIu64 "..%" PRIu64 " in %s: %s; retrying in %d s",
               d->items [0].seq, d->items [n - 1].seq, ih_store_dir (d->store), err.msg,
               s_RETRY_MS / 1000);
        //  Nothing was kept and nothing is acknowledged: drop the session and let the
        //  broker replay from the durable cursor later.
        ih_client_reset (d->client, s_RETRY_MS);
    }
    else {
        uint64_t map1 = ih_store_map_size (d->store);
        if (map1 != map0)
            s_log ('I', "store map grown from %" PRIu64 " to %" PRIu64 " MiB", map0 >> 20, map1 >> 20);
        for (size_t i = 0; i < n; i++) {
            if (d->items [i].msg)
                s_log_outcome (&d->items [i], &d->recs [i]);
            if (d->items [i].outcome != IH_STORE_SKIPPED && d->items [i].outcome != IH_STORE_REJECTED)
                d->stored++;
        }
        if (d->items [n - 1].seq > d->cursor)
            d->cursor = d->items [n - 1].seq;
        ih_err_t aerr = { "" };
        if (ih_client_ack (d->client, d->cursor, &aerr) != 0)
            s_log ('W', "%s (will retry)", aerr.msg);
    }
    //  Give the memory of large messages back; verification re-initialises them.
    for (size_t i = 0; i < n; i++)
        ih_msg_free (&d->msgs [i]);
    ih_arena_reset (&d->arena);
    d->arena_bytes = 0;
    d->count = 0;
    d->last_seq = 0;
}

/*  Everything but deliveries. */
static void
s_handle (s_daemon_t *d, const ih_env_t *e)
{
    s_cfg_t *cfg = d->cfg;
    switch (e->type) {
        case IH_T_WELCOME:
            s_log ('I', "connected to %s as %s@%s (broker head %" PRIu64 ", our cursor %" PRIu64
                   ", heartbeat %u ms)", cfg->endpoint, e->member, e->org, e->head, d->cursor,
                   e->heartbeat);
            if (!streq (e->member, cfg->name) || !streq (e->org, cfg->org))
                s_log ('W', "the broker knows us as %s@%s, agent.cfg says %s@%s",
                       e->member, e->org, cfg->name, cfg->org);
            s_write_status (d, true);
            break;
        case IH_T_ERROR:
            if (streq (e->code, "bad-cursor")) {
                s_log ('E', "broker %s is behind our cursor %" PRIu64 " (%s): a different journal?"
                       " refusing to continue", cfg->endpoint, d->cursor, e->reason);
                d->exit_code = 2;
                s_stop = 1;
            }
            else
            if (streq (e->code, "no-session"))
                s_log ('I', "broker %s forgot our session; hello again from cursor %" PRIu64,
                       cfg->endpoint, d->cursor);
            else
                s_log (streq (e->code, "revoked") || streq (e->code, "not-registered") ? 'E' : 'W',
                       "broker %s: %s: %s", cfg->endpoint, e->code, e->reason);
            break;
        default:
            break;
    }
}

static int
s_cmd_run (s_cfg_t *cfg, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (s_is_help (argv [i])) {
            printf ("usage: %s -c AGENTDIR/agent.cfg run\n"
                    "Runs the agent: connects to the broker (CURVE), receives what this member is\n"
                    "entitled to, verifies every message against the pinned registry key, stores it\n"
                    "in the LMDB store and acknowledges it. Stops on SIGTERM or SIGINT.\n", s_PROG);
            return 0;
        }
        return s_fail ("run: unexpected argument '%s'", argv [i]);
    }
    s_install_signals ();
    ih_err_t err = { "" };
    s_daemon_t *d = (s_daemon_t *) calloc (1, sizeof *d);
    if (!d)
        abort ();
    d->cfg = cfg;
    for (int i = 0; i < s_BATCH_MAX; i++)
        ih_msg_init (&d->msgs [i], IH_KIND_ALERT);
    ih_arena_init (&d->arena);
    int ret = 1;
    zcert_t *cert = NULL;
    d->store = ih_store_open (cfg->store, IH_STORE_WRITER, cfg->map_size, cfg->max_map, &err);
    if (!d->store) {
        s_fail ("%s", err.msg);
        goto done;
    }
    snprintf (d->status_path, sizeof d->status_path, "%s/agent.status", cfg->store);
    d->cursor = ih_store_cursor (d->store);
    cert = ih_keys_load_cert (cfg->curve_cert, &err);
    if (!cert) {
        s_fail ("%s", err.msg);
        goto done;
    }
    ih_client_cfg_t ccfg = { cfg->endpoint, cfg->broker_key, cert, "agent", s_PROG "/" s_VERSION, 0, false };
    d->client = ih_client_new (&ccfg, &err);
    zcert_destroy (&cert);
    if (!d->client) {
        s_fail ("%s: %s", cfg->path, err.msg);
        goto done;
    }
    s_log ('I', "started %s@%s, store %s, cursor %" PRIu64, cfg->name, cfg->org, cfg->store, d->cursor);
    ih_client_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.cursor = d->cursor;
    hello.window = cfg->window;
    if (ih_client_subscribe (d->client, &hello, &err) != 0)
        s_log ('W', "%s", err.msg);     //  the session logic retries by itself

    while (!s_stop) {
        ih_env_t *e = NULL;
        err.msg [0] = 0;
        int rc = ih_client_recv (d->client, &e, 500, &err);
        while (rc != 0) {
            if (rc < 0)
                s_log ('W', "bad frame from broker %s: %s", cfg->endpoint, err.msg);
            else
            if (e->type == IH_T_DELIVER) {
                size_t before = d->count;
                s_collect (d, e);
                if (d->count == before && d->count == 0)
                    ih_client_ack (d->client, d->cursor, NULL);   //  only duplicates
            }
            else
                s_handle (d, e);
            //  Take whatever else is already waiting into the same transaction.
            if (d->count == 0 || s_batch_full (d) || s_stop)
                break;
            err.msg [0] = 0;
            rc = ih_client_recv (d->client, &e, 0, &err);
        }
        s_flush (d);
        s_write_status (d, false);
    }
    ret = d->exit_code;
    s_log ('I', "stopping %s@%s at cursor %" PRIu64 " (%" PRIu64 " stored, %" PRIu64 " rejected)",
           cfg->name, cfg->org, d->cursor, d->stored, d->rejected);
done:
    if (d->client) {
        ih_client_destroy (&d->client);
        unlink (d->status_path);
    }
    ih_store_destroy (&d->store);
    for (int i = 0; i < s_BATCH_MAX; i++)
        ih_msg_free (&d->msgs [i]);
    ih_arena_free (&d->arena);
    free (d);
    return ret;
}

/* ---- publish --------------------------------------------------------------------------- */

/*  Reads a file (or stdin for "-") into a malloc'd buffer. */
static char *
s_read_input (const char *path, size_t *len, ih_err_t *err)
{
    FILE *f = streq (path, "-") ? stdin : fopen (path, "rb");
    if (!f) {
        ih_err_set (err, "%s: cannot open: %s", path, strerror (errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = (char *) malloc (cap);
    if (!buf)
        abort ();
    while (true) {
        if (n == cap) {
            if (cap >= s_MAX_INPUT) {
                ih_err_set (err, "%s: larger than %d MiB", path, s_MAX_INPUT >> 20);
                free (buf);
                buf = NULL;
                break;
            }
            cap *= 2;
            buf = (char *) realloc (buf, cap);
            if (!buf)
                abort ();
        }
        size_t got = fread (buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror (f)) {
                ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
                free (buf);
                buf = NULL;
            }
            break;
        }
    }
    if (f != stdin)
        fclose (f);
    *len = n;
    return buf;
}

static int
s_cmd_publish (s_cfg_t *cfg, int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (s_is_help (argv [i])) {
            printf ("usage: %s -c AGENTDIR/agent.cfg publish FILE.json|-\n"
                    "Signs the alert in FILE.json (or stdin) with this member's signing key,\n"
                    "sends it to the broker and waits up to %d s for its answer. Prints the id.\n"
                    "With \"id\" in the JSON, publishes a new revision of that alert. A JSON with\n"
                    "\"kind\" retraction, comment or sighting publishes that instead.\n",
                    s_PROG, s_PUBLISH_MS / 1000);
            return 0;
        }
        if (file)
            return s_fail ("publish: unexpected argument '%s'", argv [i]);
        file = argv [i];
    }
    if (!file)
        return s_fail ("publish: FILE.json (or -) is missing; see publish --help");

    ih_err_t err = { "" };
    size_t len = 0;
    char *text = s_read_input (file, &len, &err);
    if (!text)
        return s_fail ("%s", err.msg);
    ih_msg_t m;
    int rc = ih_msg_from_json_str (&m, text, len, NULL, &err);
    free (text);
    if (rc != 0) {
        ih_msg_free (&m);
        return s_fail ("%s: %s", streq (file, "-") ? "stdin" : file, err.msg);
    }
    int64_t now = ih_now_ms ();
    bool have_id = m.id [0] != 0;
    bool from_store = false;
    if (m.kind == IH_KIND_ALERT && have_id) {
        //  A new revision of an alert we hold: the next revision, its created kept.
        ih_store_t *store = ih_store_open (cfg->store, 0, 0, 0, &err);
        if (store) {
            ih_msg_t old;
            ih_msg_init (&old, IH_KIND_ALERT);
            ih_store_alert_t info;
            int found = ih_store_get (store, m.id, &old, &info, &err);
            if (found == 1) {
                if (m.revision < info.revision + 1)
                    m.revision = info.revision + 1;
                m.created = old.created;
                from_store = true;
            }
            ih_msg_free (&old);
            ih_store_destroy (&store);
            if (found < 0) {
                ih_msg_free (&m);
                return s_fail ("%s", err.msg);
            }
        }
    }
    if (!have_id)
        ih_uuid_new (m.id);
    m.modified = now;
    if (m.kind != IH_KIND_ALERT || !have_id || (!from_store && (m.created == 0 || m.created > now)))
        m.created = now;
    m.org = ih_msg_str (&m, cfg->org);
    m.member = ih_msg_str (&m, cfg->name);

    uint8_t pk [32], sk [64];
    if (ih_keys_load_signing (cfg->signing_key, pk, sk, &err) != 0) {
        ih_msg_free (&m);
        sodium_memzero (sk, sizeof sk);
        return s_fail ("%s", err.msg);
    }
    memcpy (m.signer, pk, 32);
    ih_buf_t body;
    ih_buf_init (&body);
    if (ih_body_encode (&m, &body, &err) != 0) {
        sodium_memzero (sk, sizeof sk);
        ih_buf_free (&body);
        ih_msg_free (&m);
        return s_fail ("%s: %s", streq (file, "-") ? "stdin" : file, err.msg);
    }
    uint8_t sig [64];
    ih_sign (sig, IH_CTX_MSG, body.data, body.len, sk);
    sodium_memzero (sk, sizeof sk);

    zsys_handler_set (NULL);
    zcert_t *cert = ih_keys_load_cert (cfg->curve_cert, &err);
    if (!cert) {
        ih_buf_free (&body);
        ih_msg_free (&m);
        return s_fail ("%s", err.msg);
    }
    ih_client_cfg_t ccfg = { cfg->endpoint, cfg->broker_key, cert, "agent", s_PROG "/" s_VERSION, 0, true };
    ih_client_t *client = ih_client_new (&ccfg, &err);
    zcert_destroy (&cert);
    if (!client) {
        ih_buf_free (&body);
        ih_msg_free (&m);
        return s_fail ("%s: %s", cfg->path, err.msg);
    }
    uint64_t seq = 0;
    char id [IH_UUID_LEN + 1] = "";
    char code [32] = "";
    rc = ih_client_publish_wait (client, body.data, body.len, sig, s_PUBLISH_MS, &seq, id, code, &err);
    ih_client_destroy (&client);
    ih_buf_free (&body);
    int ret = 0;
    if (rc == 0) {
        printf ("%s\n", id [0] ? id : m.id);
        fflush (stdout);
    }
    else
    if (rc == 1) {
        bool hint = m.kind == IH_KIND_ALERT && have_id && !from_store
                 && (streq (code, "duplicate-id") || streq (code, "stale-revision"));
        ret = s_fail ("broker refused: %s: %s%s", code, err.msg,
                      hint ? " (this agent's store does not hold the alert: is the agent running?"
                             " or set \"revision\" in the JSON)" : "");
    }
    else
        ret = s_fail ("%s", err.msg);
    ih_msg_free (&m);
    return ret;
}

/* ---- list, show, status ------------------------------------------------------------------- */

/*  Opens the store for reading. Returns NULL and *missing when it does not exist yet. */
static ih_store_t *
s_open_reader (s_cfg_t *cfg, bool *missing, ih_err_t *err)
{
    *missing = false;
    ih_store_t *store = ih_store_open (cfg->store, 0, 0, 0, err);
    if (!store && strstr (err->msg, "not created yet"))
        *missing = true;
    return store;
}

static ih_json_meta_t
s_meta (const ih_store_alert_t *info)
{
    ih_json_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.seq = info->seq;
    meta.retracted = info->retracted;
    meta.revisions = info->revisions;
    meta.sightings = info->sightings > UINT32_MAX ? UINT32_MAX : (uint32_t) info->sightings;
    return meta;
}

typedef struct {
    bool json;
    int64_t since;              /* modified >= since; 0 = all */
    int tlp, category;          /* -1 = all */
    const char *sector;
    uint64_t shown;
} s_list_t;

static int
s_list_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_list_t *l = (s_list_t *) arg;
    if (l->since && m->modified < l->since)
        return 0;
    if (l->tlp >= 0 && (int) m->tlp != l->tlp)
        return 0;
    if (l->category >= 0 && (int) m->category != l->category)
        return 0;
    if (l->sector) {
        bool found = false;
        for (uint32_t i = 0; i < m->sectors.count && !found; i++)
            found = streq (m->sectors.items [i], l->sector);
        if (!found)
            return 0;
    }
    l->shown++;
    if (l->json) {
        ih_json_meta_t meta = s_meta (info);
        char *line = ih_msg_to_json_str (m, &meta);
        printf ("%s\n", line);
        free (line);
    }
    else {
        char when [IH_TIME_MAX];
        ih_time_format (m->modified, when);
        printf ("%-8" PRIu64 " %s  %-3u %-12s %-8s %-9s %.19s  %s\n", info->seq, m->id, m->revision,
                ih_tlp_name (m->tlp), ih_severity_name (m->severity),
                info->retracted ? "retracted" : "active", when, m->title);
    }
    return ferror (stdout) ? -1 : 0;
}

static int
s_cmd_list (s_cfg_t *cfg, int argc, char **argv)
{
    s_list_t l;
    memset (&l, 0, sizeof l);
    l.tlp = l.category = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (s_is_help (a)) {
            printf ("usage: %s -c AGENTDIR/agent.cfg list [--json] [--since TIME] [--tlp L]\n"
                    "                     [--category C] [--sector S]\n"
                    "Lists the alerts in the store, oldest first (broker order), at their latest\n"
                    "revision. --json prints one JSON object a line.\n", s_PROG);
            return 0;
        }
        if (streq (a, "--json"))
            l.json = true;
        else
        if (streq (a, "--since") && v) {
            ih_err_t err = { "" };
            if (ih_time_parse (v, &l.since, &err) != 0)
                return s_fail ("list: --since: %s", err.msg);
            i++;
        }
        else
        if (streq (a, "--tlp") && v) {
            ih_tlp_t t;
            if (ih_tlp_parse (v, &t) != 0)
                return s_fail ("list: --tlp: unknown level '%s'", v);
            l.tlp = (int) t;
            i++;
        }
        else
        if (streq (a, "--category") && v) {
            ih_category_t c;
            if (ih_category_parse (v, &c) != 0)
                return s_fail ("list: --category: unknown category '%s'", v);
            l.category = (int) c;
            i++;
        }
        else
        if (streq (a, "--sector") && v) {
            l.sector = v;
            i++;
        }
        else
            return s_fail ("list: unexpected argument '%s'", a);
    }
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = s_open_reader (cfg, &missing, &err);
    if (!store)
        return missing ? 0 : s_fail ("%s", err.msg);
    int rc = ih_store_foreach (store, 0, false, s_list_one, &l, &err);
    ih_store_destroy (&store);
    if (rc < 0)
        return s_fail ("%s", err.msg [0] ? err.msg : "list: cannot write output");
    return 0;
}

static int
s_cmd_show (s_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL;
    bool compact = false;
    for (int i = 0; i < argc; i++) {
        if (s_is_help (argv [i])) {
            printf ("usage: %s -c AGENTDIR/agent.cfg show ID [--json]\n"
                    "Prints one alert, at its latest revision, as JSON (--json: on one line).\n",
                    s_PROG);
            return 0;
        }
        if (streq (argv [i], "--json"))
            compact = true;
        else
        if (!id)
            id = argv [i];
        else
            return s_fail ("show: unexpected argument '%s'", argv [i]);
    }
    if (!id)
        return s_fail ("show: ID is missing; see show --help");
    if (!ih_uuid_valid (id))
        return s_fail ("show: '%.64s' is not an alert id (a lower-case UUID)", id);
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = s_open_reader (cfg, &missing, &err);
    if (!store)
        return missing ? s_fail ("show: no alert %s (the store is empty)", id) : s_fail ("%s", err.msg);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    int found = ih_store_get (store, id, &m, &info, &err);
    ih_store_destroy (&store);
    int ret = 0;
    if (found == 1) {
        ih_json_meta_t meta = s_meta (&info);
        json_t *j = ih_msg_to_json (&m, &meta);
        char *text = json_dumps (j, JSON_ENSURE_ASCII | (compact ? JSON_COMPACT : JSON_INDENT (2)));
        printf ("%s\n", text);
        free (text);
        json_decref (j);
    }
    else
        ret = found == 0 ? s_fail ("show: no alert %s", id) : s_fail ("%s", err.msg);
    ih_msg_free (&m);
    return ret;
}

/*  The daemon's status file, if the daemon is alive. */
static json_t *
s_daemon_status (s_cfg_t *cfg)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/agent.status", cfg->store);
    json_t *j = json_load_file (path, 0, NULL);
    if (!j)
        return NULL;
    json_int_t pid = json_integer_value (json_object_get (j, "pid"));
    json_int_t updated = json_integer_value (json_object_get (j, "updated_ms"));
    if (pid <= 0 || (kill ((pid_t) pid, 0) != 0 && errno == ESRCH) || ih_now_ms () - updated > 10000) {
        json_decref (j);
        return NULL;
    }
    return j;
}

static int
s_cmd_status (s_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false;
    for (int i = 0; i < argc; i++) {
        if (s_is_help (argv [i])) {
            printf ("usage: %s -c AGENTDIR/agent.cfg status [--json]\n"
                    "Shows whether the daemon runs and is connected, the last sequence number\n"
                    "stored, the lag behind the broker, and the store's counts.\n", s_PROG);
            return 0;
        }
        if (streq (argv [i], "--json"))
            as_json = true;
        else
            return s_fail ("status: unexpected argument '%s'", argv [i]);
    }
    ih_err_t err = { "" };
    bool missing;
    ih_store_counts_t c;
    memset (&c, 0, sizeof c);
    ih_store_t *store = s_open_reader (cfg, &missing, &err);
    if (!store && !missing)
        return s_fail ("%s", err.msg);
    if (store && ih_store_counts (store, &c, &err) != 0) {
        ih_store_destroy (&store);
        return s_fail ("%s", err.msg);
    }
    ih_store_destroy (&store);
    json_t *d = s_daemon_status (cfg);
    bool running = d != NULL;
    bool connected = d && json_is_true (json_object_get (d, "connected"));
    uint64_t head = d ? (uint64_t) json_integer_value (json_object_get (d, "head")) : 0;
    if (d)
        json_decref (d);
    uint64_t lag = head > c.cursor ? head - c.cursor : 0;
    if (as_json) {
        json_t *o = json_pack ("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "member", cfg->name, "org", cfg->org, "endpoint", cfg->endpoint,
                               "running", running, "connected", connected,
                               "cursor", (json_int_t) c.cursor, "head", (json_int_t) head,
                               "lag", (json_int_t) lag, "alerts", (json_int_t) c.alerts,
                               "retracted", (json_int_t) c.retracted, "iocs", (json_int_t) c.iocs,
                               "comments", (json_int_t) c.comments,
                               "retractions", (json_int_t) c.retractions,
                               "sightings", (json_int_t) c.sightings,
                               "rejected", (json_int_t) c.rejected,
                               "store_bytes", (json_int_t) c.used_bytes,
                               "map_bytes", (json_int_t) c.map_size);
        char *text = json_dumps (o, JSON_COMPACT);
        printf ("%s\n", text);
        free (text);
        json_decref (o);
        return 0;
    }
    printf ("member      %s@%s\n", cfg->name, cfg->org);
    printf ("broker      %s (%s)\n", cfg->endpoint,
            !running ? "agent not running" : connected ? "connected" : "not connected");
    printf ("cursor      %" PRIu64 "\n", c.cursor);
    if (running)
        printf ("head        %" PRIu64 " (lag %" PRIu64 ")\n", head, lag);
    printf ("alerts      %" PRIu64 " (%" PRIu64 " retracted)\n", c.alerts, c.retracted);
    printf ("iocs        %" PRIu64 "\n", c.iocs);
    printf ("comments    %" PRIu64 "\n", c.comments);
    printf ("sightings   %" PRIu64 "\n", c.sightings);
    printf ("rejected    %" PRIu64 "\n", c.rejected);
    printf ("store       %s (%" PRIu64 " KiB used of a %" PRIu64 " KiB map)\n", cfg->store,
            c.used_bytes >> 10, c.map_size >> 10);
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*fn) (s_cfg_t *cfg, int argc, char **argv);
    const char *summary;
} s_command_t;

static const s_command_t s_commands [] = {
    { "run",     s_cmd_run,     "run the agent: receive, verify, store (until SIGTERM)" },
    { "publish", s_cmd_publish, "publish FILE.json|-: sign and send an alert, print its id" },
    { "list",    s_cmd_list,    "list [--json] …: the alerts in the store" },
    { "show",    s_cmd_show,    "show ID: one alert as JSON" },
    { "status",  s_cmd_status,  "status [--json]: cursor, connection, counts" },
    { NULL, NULL, NULL }
};

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: %s -c AGENTDIR/agent.cfg COMMAND [ARGS]\n\ncommands:\n", s_PROG);
    for (int i = 0; s_commands [i].name; i++)
        fprintf (out, "  %-9s %s\n", s_commands [i].name, s_commands [i].summary);
    fprintf (out, "\n'%s -c CFG COMMAND --help' explains each command.\n", s_PROG);
}

int
main (int argc, char **argv)
{
    const char *cfg_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv [i];
        if (s_is_help (a)) {
            s_usage (stdout);
            return 0;
        }
        if (streq (a, "--version")) {
            printf ("%s %s\n", s_PROG, s_VERSION);
            return 0;
        }
        if (streq (a, "-c") || streq (a, "--config")) {
            if (i + 1 >= argc)
                return s_fail ("%s needs a file (AGENTDIR/agent.cfg)", a);
            cfg_path = argv [++i];
        }
        else
        if (a [0] == '-')
            return s_fail ("unknown option '%s'; see --help", a);
        else
            break;
    }
    if (i >= argc) {
        s_usage (stderr);
        return 2;
    }
    const s_command_t *cmd = NULL;
    for (int k = 0; s_commands [k].name; k++)
        if (streq (s_commands [k].name, argv [i]))
            cmd = &s_commands [k];
    if (!cmd)
        return s_fail ("unknown command '%s'; see --help", argv [i]);
    //  COMMAND --help works without a configuration.
    for (int k = i + 1; k < argc; k++)
        if (s_is_help (argv [k])) {
            s_cfg_t none;
            memset (&none, 0, sizeof none);
            return cmd->fn (&none, 1, &argv [k]);
        }
    if (!cfg_path)
        return s_fail ("-c AGENTDIR/agent.cfg is required");
    ih_sign_init ();
    s_cfg_t cfg;
    ih_err_t err = { "" };
    if (s_cfg_load (&cfg, cfg_path, &err) != 0) {
        s_cfg_free (&cfg);
        return s_fail ("%s", err.msg);
    }
    int rc = cmd->fn (&cfg, argc - i - 1, argv + i + 1);
    s_cfg_free (&cfg);
    return rc;
}

/*  infohub-agent: the member agent (DESIGN.md "Command-line contract").

    infohub-agent -c AGENTDIR/agent.cfg COMMAND [ARGS]

      run                 the daemon: receive, verify, persist (ih_client, ih_store),
                          and run the on-alert hook (ih_hook)
      publish FILE|-      sign and publish an alert (or retraction, comment, sighting)
      retract, comment, sight   publish those from the command line
      list [--json] …     the alerts in the store, oldest first
      show ID [--json]    one alert, its retractions, comments and sightings (ih_view)
      search VALUE        the IOC index: exact, IP in CIDR, parent domains
      tail [--json]       new alerts as the daemon stores them, until interrupted
      status [--json]     cursor, connection, lag, counts, hook

    One line per event on stderr ("I agent: …"); one-line errors ("infohub-agent: …")
    with a non-zero exit; no secret is ever printed. Commands are a table (s_commands)
    so that later ones (search, tail, export, import …) slot in beside these. Human
    tables by default, --json for machines; text from peers is printed with control
    characters replaced, so an alert cannot drive the analyst's terminal.

    agent.cfg keys beyond DEPLOYMENT.md's: window (hello window, 1000), map-size (initial
    LMDB map, 64 MiB), max-map-size (cap on its growth; 0 = none), hook-timeout
    (seconds, 10), hook-max (hooks at once, 4). ZPL has no escapes: an on-alert command
    holds either double or single quotes, not both (a script path is simplest).
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
#include "ih_daemon.h"
#include "ih_export.h"
#include "ih_hook.h"
#include "ih_import.h"
#include "ih_ioc.h"
#include "ih_json.h"
#include "ih_log.h"
#include "ih_keys.h"
#include "ih_sign.h"
#include "ih_select.h"
#include "ih_store.h"
#include "ih_subscriber.h"
#include "ih_view.h"

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
    uint32_t hook_timeout;      /* seconds */
    uint32_t hook_max;          /* hooks running at once */
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
    uint64_t window, hook_timeout, hook_max;
    if (s_cfg_uint (c, "agent/window", 1, 10000, 1000, &window, err)
    ||  s_cfg_uint (c, "agent/map-size", 0, UINT64_MAX, 0, &c->map_size, err)
    ||  s_cfg_uint (c, "agent/max-map-size", 0, UINT64_MAX, 0, &c->max_map, err)
    ||  s_cfg_uint (c, "agent/hook-timeout", 1, 86400, 10, &hook_timeout, err)
    ||  s_cfg_uint (c, "agent/hook-max", 1, 64, 4, &hook_max, err))
        return -1;
    c->window = (uint32_t) window;
    c->hook_timeout = (uint32_t) hook_timeout;
    c->hook_max = (uint32_t) hook_max;
    return 0;
}

/* ---- output helpers ------------------------------------------------------------------ */

#define s_log(level, ...) ih_log (level, "agent", __VA_ARGS__)

#define s_fail(...) ih_fail (s_PROG, NULL, __VA_ARGS__)

static bool
s_is_help (const char *a)
{
    return streq (a, "-h") || streq (a, "--help");
}

/* ---- run: the daemon ----------------------------------------------------------------- */

/*  SIGINT/SIGTERM stop the daemon (and tail): ih_daemon_stop, and zsys_interrupted so
    that the client's waits return at once (ih_daemon.h). */
#define s_stop ih_daemon_stop

static void
s_install_signals (void)
{
    ih_daemon_signals (IH_DAEMON_INTERRUPT);
}

/*  The daemon is the subscriber core (ih_subscriber.h: receive, verify, store in one
    transaction per batch, acknowledge) plus what is the agent's own: the on-alert hook,
    the status file, and a stop on a broker that is behind our cursor. */
typedef struct {
    s_cfg_t *cfg;
    ih_store_t *store;
    ih_subscriber_t *sub;
    char status_path [4096];
    int64_t status_at;
    int exit_code;
    ih_hook_t *hook;            /* the on-alert hook, NULL when none is configured */
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
    ih_client_t *client = ih_subscriber_client (d->sub);
    ih_subscriber_stats_t st;
    ih_subscriber_stats (d->sub, &st);
    json_t *j = json_pack ("{s:i, s:b, s:s, s:I, s:I, s:I}", "pid", (int) getpid (),
                           "connected", ih_client_connected (client), "endpoint", d->cfg->endpoint,
                           "head", (json_int_t) ih_client_head (client),
                           "cursor", (json_int_t) st.cursor, "updated_ms", (json_int_t) ih_now_ms ());
    if (j && d->hook) {
        ih_hook_stats_t hs;
        ih_hook_stats (d->hook, &hs);
        json_object_set_new (j, "hook", json_pack ("{s:s, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I}",
                             "command", d->cfg->on_alert, "after", (json_int_t) hs.watermark,
                             "scanned", (json_int_t) hs.scanned, "running", (int) hs.running,
                             "started", (json_int_t) hs.started, "ok", (json_int_t) hs.ok,
                             "failed", (json_int_t) hs.failed, "timed_out", (json_int_t) hs.timed_out,
                             "coalesced", (json_int_t) hs.coalesced));
    }
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

static void
s_on_commit (const ih_store_item_t *items, const ih_member_t *recs, size_t count, void *arg)
{
    (void) arg;
    for (size_t i = 0; i < count; i++)
        if (items [i].msg)
            s_log_outcome (&items [i], &recs [i]);
}

/*  Everything but deliveries (ih_client has already acted on welcome and no-session). */
static void
s_on_event (const ih_env_t *e, void *arg)
{
    s_daemon_t *d = (s_daemon_t *) arg;
    s_cfg_t *cfg = d->cfg;
    uint64_t cursor = ih_store_cursor (d->store);
    switch (e->type) {
        case IH_T_WELCOME:
            s_log ('I', "connected to %s as %s@%s (broker head %" PRIu64 ", our cursor %" PRIu64
                   ", heartbeat %u ms)", cfg->endpoint, e->member, e->org, e->head, cursor,
                   e->heartbeat);
            if (!streq (e->member, cfg->name) || !streq (e->org, cfg->org))
                s_log ('W', "the broker knows us as %s@%s, agent.cfg says %s@%s",
                       e->member, e->org, cfg->name, cfg->org);
            d->status_at = 0;       //  rewrite the status file at once
            break;
        case IH_T_ERROR:
            if (streq (e->code, "bad-cursor")) {
                s_log ('E', "broker %s is behind our cursor %" PRIu64 " (%s): a different journal?"
                       " refusing to continue", cfg->endpoint, cursor, e->reason);
                d->exit_code = 2;
                s_stop = 1;
            }
            else
            if (streq (e->code, "no-session"))
                s_log ('I', "broker %s forgot our session; hello again from cursor %" PRIu64,
                       cfg->endpoint, cursor);
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
                    "in the LMDB store and acknowledges it. Stops on SIGTERM or SIGINT.\n"
                    "\n"
                    "agent.cfg `on-alert = \"COMMAND\"` runs COMMAND (/bin/sh -c, in the agent's\n"
                    "directory) for each new alert and new revision, with the alert's JSON (as\n"
                    "`show ID --json`) on stdin and INFOHUB_EVENT (new|revision), INFOHUB_ALERT_ID,\n"
                    "INFOHUB_REVISION, INFOHUB_SEQ, INFOHUB_STATUS in its environment. A hook runs\n"
                    "at most `hook-timeout` seconds (10; then its process group is killed), at most\n"
                    "`hook-max` at once (4), never blocks storing, and is neither repeated nor\n"
                    "skipped across a clean restart (a hook cut off by a crash runs again).\n", s_PROG);
            return 0;
        }
        return s_fail ("run: unexpected argument '%s'", argv [i]);
    }
    s_install_signals ();
    ih_err_t err = { "" };
    s_daemon_t d;
    memset (&d, 0, sizeof d);
    d.cfg = cfg;
    int ret = 1;
    zcert_t *cert = NULL;
    d.store = ih_store_open (cfg->store, IH_STORE_WRITER, cfg->map_size, cfg->max_map, &err);
    if (!d.store) {
        s_fail ("%s", err.msg);
        goto done;
    }
    snprintf (d.status_path, sizeof d.status_path, "%s/agent.status", cfg->store);
    if (cfg->on_alert && *cfg->on_alert) {
        char *workdir = strdup (cfg->path);
        if (!workdir)
            abort ();
        char *slash = strrchr (workdir, '/');
        if (slash)
            *slash = 0;
        ih_hook_cfg_t hcfg = { cfg->on_alert, slash ? workdir : NULL, (int) cfg->hook_timeout * 1000,
                               (int) cfg->hook_max, NULL, NULL };
        d.hook = ih_hook_new (&hcfg, d.store, &err);
        free (workdir);
        if (!d.hook) {
            s_fail ("%s", err.msg);
            goto done;
        }
    }
    else
    if (ih_hook_forget (d.store, &err) != 0)
        s_log ('W', "%s", err.msg);
    cert = ih_keys_load_cert (cfg->curve_cert, &err);
    if (!cert) {
        s_fail ("%s", err.msg);
        goto done;
    }
    s_log ('I', "started %s@%s, store %s, cursor %" PRIu64, cfg->name, cfg->org, cfg->store,
           ih_store_cursor (d.store));
    ih_subscriber_cfg_t scfg = { cfg->endpoint, cfg->broker_key, cert, cfg->registry_pk, cfg->window,
                                 "agent", s_PROG "/" s_VERSION, &s_stop, NULL, s_on_commit,
                                 s_on_event, &d };
    d.sub = ih_subscriber_new (d.store, &scfg, &err);
    zcert_destroy (&cert);
    if (!d.sub) {
        s_fail ("%s: %s", cfg->path, err.msg);
        goto done;
    }
    int wait_ms = 500;
    while (!s_stop) {
        ih_subscriber_poll (d.sub, wait_ms);
        //  Hooks run beside ingest: the pump only reaps, kills and starts processes.
        wait_ms = 500;
        if (d.hook) {
            int w = ih_hook_pump (d.hook, true);
            if (w >= 0 && w < wait_ms)
                wait_ms = w;
        }
        s_write_status (&d, false);
    }
    if (d.hook) {
        //  A clean stop lets running hooks end (each within its time limit).
        ih_hook_stats_t hs;
        ih_hook_stats (d.hook, &hs);
        if (hs.running)
            s_log ('I', "waiting for %u on-alert hooks to end (at most %u s)", hs.running,
                   cfg->hook_timeout + 2);
        ih_hook_drain (d.hook, (int) (cfg->hook_timeout + 2) * 1000);
    }
    ret = d.exit_code;
    ih_subscriber_stats_t st;
    ih_subscriber_stats (d.sub, &st);
    s_log ('I', "stopping %s@%s at cursor %" PRIu64 " (%" PRIu64 " stored, %" PRIu64 " rejected)",
           cfg->name, cfg->org, st.cursor, st.stored, st.rejected + st.refused);
done:
    ih_hook_destroy (&d.hook);
    if (d.sub) {
        ih_subscriber_destroy (&d.sub);
        unlink (d.status_path);
    }
    ih_store_destroy (&d.store);
    return ret;
}

/* ---- publish --------------------------------------------------------------------------- */

/*  Signs m as this member (org, member and signer are set here; the caller set id,
    created and modified) and publishes it, waiting for the broker's answer. label names
    the input in an encoding error. Returns 0 (id, 37 bytes, filled), 1 (refused: code,
    32 bytes, and err hold the broker's reason), or -1 with err. */
static int
s_sign_send (s_cfg_t *cfg, ih_msg_t *m, const char *label, char *id, char *code, ih_err_t *err)
{
    m->org = ih_msg_str (m, cfg->org);
    m->member = ih_msg_str (m, cfg->name);
    uint8_t pk [32], sk [64];
    if (ih_keys_load_signing (cfg->signing_key, pk, sk, err) != 0) {
        sodium_memzero (sk, sizeof sk);
        return -1;
    }
    memcpy (m->signer, pk, 32);
    ih_buf_t body;
    ih_buf_init (&body);
    if (ih_body_encode (m, &body, err) != 0) {
        sodium_memzero (sk, sizeof sk);
        ih_buf_free (&body);
        ih_err_prefix (err, "%s", label);
        return -1;
    }
    uint8_t sig [64];
    ih_sign (sig, IH_CTX_MSG, body.data, body.len, sk);
    sodium_memzero (sk, sizeof sk);

    zsys_handler_set (NULL);
    zcert_t *cert = ih_keys_load_cert (cfg->curve_cert, err);
    if (!cert) {
        ih_buf_free (&body);
        return -1;
    }
    ih_client_cfg_t ccfg = { cfg->endpoint, cfg->broker_key, cert, "agent", s_PROG "/" s_VERSION, 0, true };
    ih_client_t *client = ih_client_new (&ccfg, err);
    zcert_destroy (&cert);
    if (!client) {
        ih_buf_free (&body);
        ih_err_prefix (err, "%s", cfg->path);
        return -1;
    }
    uint64_t seq = 0;
    int rc = ih_client_publish_wait (client, body.data, body.len, sig, s_PUBLISH_MS, &seq, id, code, err);
    ih_client_destroy (&client);
    ih_buf_free (&body);
    return rc;
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
    char *text = ih_file_read (file, s_MAX_INPUT, &len, &err);
    if (!text)
        return s_fail ("%s", err.msg);
    ih_msg_t m;
    //  `show ID --json` output publishes as a new revision: its detail keys (comments …)
    //  are the store's, not the alert's, and are dropped here.
    json_error_t jerr;
    json_t *j = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
    free (text);
    int rc;
    if (!j) {
        ih_msg_init (&m, IH_KIND_ALERT);
        rc = ih_err_set (&err, "json: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    }
    else {
        if (json_is_object (j) && !json_object_get (j, "kind"))
            ih_view_strip (j);
        rc = ih_msg_from_json (&m, j, NULL, &err);
        json_decref (j);
    }
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
    char id [IH_UUID_LEN + 1] = "";
    char code [32] = "";
    rc = s_sign_send (cfg, &m, streq (file, "-") ? "stdin" : file, id, code, &err);
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

/* ---- retract, comment, sight ---------------------------------------------------------------- */

/*  "TYPE:VALUE" (TYPE an IOC type name) -> the type and where the value starts. */
static const char *
s_typed (const char *arg, ih_ioc_type_t *t)
{
    const char *colon = strchr (arg, ':');
    if (!colon || colon - arg > 15)
        return NULL;
    char name [16];
    snprintf (name, sizeof name, "%.*s", (int) (colon - arg), arg);
    return ih_ioc_type_parse (name, t) == 0 ? colon + 1 : NULL;
}

/*  An IOC value from the command line: TYPE:VALUE, or a value whose type is given
    (type_name) or guessed from its refanged form. out gets the normal form
    (IH_MAX_IOC_VALUE + 1 bytes). Returns 0 or -1 with err. */
static int
s_parse_value (const char *arg, const char *type_name, ih_ioc_type_t *t, char *out, ih_err_t *err)
{
    const char *value = arg;
    if (type_name) {
        if (ih_ioc_type_parse (type_name, t) != 0)
            return ih_err_set (err, "--type: unknown IOC type '%.32s' (expected ipv4, ipv6, cidr, domain,"
                               " url, email, md5, sha1, sha256, filename, cve or asn)", type_name);
    }
    else {
        const char *rest = s_typed (arg, t);
        if (rest)
            value = rest;
        else {
            char refanged [IH_MAX_IOC_VALUE + 1];
            if (strlen (arg) > IH_MAX_IOC_VALUE || ih_ioc_refang (arg, refanged, sizeof refanged) < 0)
                return ih_err_set (err, "'%.64s…': too long for an IOC value", arg);
            if (ih_ioc_guess (refanged, t) != 0)
                return ih_err_set (err, "cannot tell what kind of IOC '%.64s' is; write TYPE:VALUE"
                                   " (e.g. filename:%.64s)", arg, arg);
        }
    }
    return ih_ioc_normalise (*t, value, out, IH_MAX_IOC_VALUE + 1, err);
}

/*  A message of kind about an alert, before signing: fresh id, times now. */
static void
s_draft (ih_msg_t *m, ih_kind_t kind)
{
    ih_msg_init (m, kind);
    m->revision = 0;
    ih_uuid_new (m->id);
    m->created = m->modified = ih_now_ms ();
}

/*  Signs and sends m; prints its id, or fails with the broker's reason. Frees m. */
static int
s_send_and_report (s_cfg_t *cfg, ih_msg_t *m, const char *what)
{
    ih_err_t err = { "" };
    char id [IH_UUID_LEN + 1] = "";
    char code [32] = "";
    int rc = s_sign_send (cfg, m, what, id, code, &err);
    int ret = 0;
    if (rc == 0) {
        printf ("%s\n", id [0] ? id : m->id);
        fflush (stdout);
    }
    else
    if (rc == 1)
        ret = s_fail ("broker refused: %s: %s", code, err.msg);
    else
        ret = s_fail ("%s", err.msg);
    ih_msg_free (m);
    return ret;
}

static int
s_cmd_retract (s_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL, *reason = "";
    const char *iocs [IH_MAX_IOCS];
    int n_iocs = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (s_is_help (a)) {
            printf ("usage: %s -c AGENTDIR/agent.cfg retract ID [--ioc VALUE]... [--reason TEXT]\n"
                    "Retracts alert ID (one of this member's org), or with --ioc only those IOCs of\n"
                    "it. VALUE is matched against the alert's IOCs in the store (refanged and\n"
                    "normalised first); write TYPE:VALUE for an alert the store does not hold.\n"
                    "Waits for the broker's answer and prints the retraction's id.\n", s_PROG);
            return 0;
        }
        if (streq (a, "--ioc") && v) {
            if (n_iocs == IH_MAX_IOCS)
                return s_fail ("retract: more than %d --ioc", IH_MAX_IOCS);
            iocs [n_iocs++] = v;
            i++;
        }
        else
        if ((streq (a, "--reason") || streq (a, "--text")) && v) {
            reason = v;
            i++;
        }
        else
        if (a [0] == '-' || id)
            return s_fail ("retract: unexpected argument '%s'; see retract --help", a);
        else
            id = a;
    }
    if (!id)
        return s_fail ("retract: ID is missing; see retract --help");
    if (!ih_uuid_valid (id))
        return s_fail ("retract: '%.64s' is not an alert id (a lower-case UUID)", id);
    ih_msg_t m;
    s_draft (&m, IH_KIND_RETRACTION);
    snprintf (m.ref, sizeof m.ref, "%s", id);
    m.text = ih_msg_str (&m, reason);
    //  The alert as the store holds it, to find the IOCs named.
    ih_err_t err = { "" };
    ih_msg_t alert;
    ih_msg_init (&alert, IH_KIND_ALERT);
    int found = 0;
    if (n_iocs) {
        ih_store_t *store = ih_store_open (cfg->store, 0, 0, 0, &err);
        found = store ? ih_store_get (store, id, &alert, NULL, &err) : 0;
        ih_store_destroy (&store);
        if (found < 0) {
            ih_msg_free (&alert);
            ih_msg_free (&m);
            return s_fail ("%s", err.msg);
        }
    }
    for (int k = 0; k < n_iocs; k++) {
        const char *arg = iocs [k];
        ih_ioc_type_t t;
        char value [IH_MAX_IOC_VALUE + 1];
        bool matched = false;
        if (found == 1 && !s_typed (arg, &t)) {
            //  Whatever type the alert gives it.
            for (uint32_t i = 0; i < alert.ioc_count && !matched; i++) {
                if (ih_ioc_normalise (alert.iocs [i].type, arg, value, sizeof value, NULL) == 0
                &&  streq (value, alert.iocs [i].value)) {
                    t = alert.iocs [i].type;
                    matched = true;
                }
            }
            if (!matched) {
                ih_msg_free (&alert);
                ih_msg_free (&m);
                return s_fail ("retract: --ioc '%.64s' is not an IOC of alert %s", arg, id);
            }
        }
        else
        if (s_parse_value (arg, NULL, &t, value, &err) != 0) {
            ih_msg_free (&alert);
            ih_msg_free (&m);
            return s_fail ("retract: --ioc: %s", err.msg);
        }
        bool dup = false;
        for (uint32_t i = 0; i < m.ioc_count; i++)
            dup |= m.iocs [i].type == t && streq (m.iocs [i].value, value);
        if (!dup)
            ih_msg_ioc_add (&m, t, value, "", false);
    }
    ih_msg_free (&alert);
    return s_send_and_report (cfg, &m, "retract");
}

static int
s_cmd_comment (s_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL;
    ih_buf_t text;
    ih_buf_init (&text);
    for (int i = 0; i < argc; i++) {
        if (s_is_help (argv [i])) {
            ih_buf_free (&text);
            printf ("usage: %s -c AGENTDIR/agent.cfg comment ID TEXT...\n"
                    "Comments on alert ID (the words of TEXT joined by spaces; \"-\" reads stdin).\n"
                    "Whoever receives the alert receives the comment. Prints the comment's id.\n",
                    s_PROG);
            return 0;
        }
        if (!id) {
            id = argv [i];
            continue;
        }
        if (streq (argv [i], "-") && text.len == 0 && i == argc - 1) {
            ih_err_t err = { "" };
            size_t len = 0;
            char *in = ih_file_read ("-", s_MAX_INPUT, &len, &err);
            if (!in) {
                ih_buf_free (&text);
                return s_fail ("comment: %s", err.msg);
            }
            while (len > 0 && (in [len - 1] == '\n' || in [len - 1] == '\r'))
                len--;
            ih_buf_append (&text, in, len);
            free (in);
            continue;
        }
        if (text.len)
            ih_buf_append (&text, " ", 1);
        ih_buf_append (&text, argv [i], strlen (argv [i]));
    }
    ih_buf_append (&text, "", 1);
    const char *t = (const char *) text.data;
    int ret;
    if (!id)
        ret = s_fail ("comment: ID is missing; see comment --help");
    else
    if (!ih_uuid_valid (id))
        ret = s_fail ("comment: '%.64s' is not an alert id (a lower-case UUID)", id);
    else
    if (!*t)
        ret = s_fail ("comment: TEXT is missing; see comment --help");
    else {
        ih_msg_t m;
        s_draft (&m, IH_KIND_COMMENT);
        snprintf (m.ref, sizeof m.ref, "%s", id);
        m.text = ih_msg_str (&m, t);
        ret = s_send_and_report (cfg, &m, "comment");
    }
    ih_buf_free (&text);
    return ret;
}

static int
s_cmd_sight (s_cfg_t *cfg, int argc, char **argv)
{
    const char *value = NULL, *alert = "", *type_name = NULL;
    ih_tlp_t tlp = IH_TLP_AMBER;
    uint64_t count = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (s_is_help (a)) {
            printf ("usage: %s -c AGENTDIR/agent.cfg sight VALUE [--alert ID] [--tlp L] [--count N]\n"
                    "                     [--type T]\n"
                    "Reports that VALUE (an IOC; refanged, its type guessed unless --type or\n"
                    "TYPE:VALUE) was seen in this member's network, N times (1), about alert ID if\n"
                    "given. --tlp says who receives the report (AMBER: members; never the public\n"
                    "unless CLEAR). Prints the sighting's id.\n", s_PROG);
            return 0;
        }
        if (streq (a, "--alert") && v) {
            alert = v;
            i++;
        }
        else
        if (streq (a, "--tlp") && v) {
            if (ih_tlp_parse (v, &tlp) != 0)
                return s_fail ("sight: --tlp: unknown level '%.32s'", v);
            i++;
        }
        else
        if (streq (a, "--count") && v) {
            char *end = NULL;
            errno = 0;
            count = strtoull (v, &end, 10);
            if (errno || end == v || *end || v [0] == '-' || count < 1 || count > 1000000)
                return s_fail ("sight: --count: '%.32s' is not a number in 1..1000000", v);
            i++;
        }
        else
        if (streq (a, "--type") && v) {
            type_name = v;
            i++;
        }
        else
        if (a [0] == '-' || value)
            return s_fail ("sight: unexpected argument '%s'; see sight --help", a);
        else
            value = a;
    }
    if (!value)
        return s_fail ("sight: VALUE is missing; see sight --help");
    if (*alert && !ih_uuid_valid (alert))
        return s_fail ("sight: --alert: '%.64s' is not an alert id (a lower-case UUID)", alert);
    ih_err_t err = { "" };
    ih_ioc_type_t t;
    char norm [IH_MAX_IOC_VALUE + 1];
    if (s_parse_value (value, type_name, &t, norm, &err) != 0)
        return s_fail ("sight: %s", err.msg);
    ih_msg_t m;
    s_draft (&m, IH_KIND_SIGHTING);
    snprintf (m.ref, sizeof m.ref, "%s", alert);
    m.tlp = tlp;
    m.count = (uint32_t) count;
    ih_msg_ioc_add (&m, t, norm, "", false);
    return s_send_and_report (cfg, &m, "sight");
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

/*  Prints one JSON object on a line. Returns 0, or -1 when stdout fails. */
static int
s_print_json (json_t *o)
{
    char *text = json_dumps (o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (o);
    if (!text)
        return -1;
    printf ("%s\n", text);
    free (text);
    return ferror (stdout) ? -1 : 0;
}

/*  "2026-11-28T17:25:36.123Z" -> "2026-11-28 17:25" */
static void
s_when (int64_t ms, char out [IH_TIME_MAX])
{
    char t [IH_TIME_MAX];
    ih_time_format (ms, t);
    snprintf (out, IH_TIME_MAX, "%.10s %.5s", t, t + 11);
}

typedef struct {
    ih_store_t *store;
    bool json;
    ih_select_t sel;            /* list: status any by default (an inventory of the store) */
    uint64_t shown;
} s_list_t;

static void
s_list_header (void)
{
    printf ("%-8s %-36s %-3s %-12s %-8s %-9s %-16s  %s\n", "SEQ", "ID", "REV", "TLP", "SEVERITY",
            "STATUS", "MODIFIED (UTC)", "TITLE");
}

static void
s_list_row (const ih_msg_t *m, const ih_store_alert_t *info)
{
    char when [IH_TIME_MAX];
    s_when (m->modified, when);
    printf ("%-8" PRIu64 " %s %-3u %-12s %-8s %-9s %-16s  %s\n", info->seq, m->id, m->revision,
            ih_tlp_name (m->tlp), ih_severity_name (m->severity),
            info->retracted ? "retracted" : "active", when, m->title);
}

static int
s_list_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_list_t *l = (s_list_t *) arg;
    if (ih_select_alert (&l->sel, m, info) != IH_SELECT_TAKEN)
        return 0;
    if (l->json)
        return s_print_json (ih_view_alert (l->store, m, info, 0));
    if (l->shown++ == 0)
        s_list_header ();
    s_list_row (m, info);
    return ferror (stdout) ? -1 : 0;
}

static int
s_cmd_list (s_cfg_t *cfg, int argc, char **argv)
{
    s_list_t l;
    memset (&l, 0, sizeof l);
    ih_select_init (&l.sel);
    l.sel.status = IH_SELECT_ANY;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (s_is_help (a)) {
            printf ("usage: %s -c AGENTDIR/agent.cfg list [--json] [--since TIME] [--tlp L | --tlp-max L]\n"
                    "                     [--category C] [--sector S] [--min-severity S]\n"
                    "                     [--status active|retracted|any] [--type T,...]\n"
                    "Lists the alerts in the store, oldest first (broker order), each once at its\n"
                    "latest revision, retracted ones too (--status active leaves them out). The\n"
                    "filters are those of `export` and the HTTP API: --since keeps those modified\n"
                    "since TIME (RFC 3339, a date, or an age: 30m, 24h, 7d); --tlp L is exactly L,\n"
                    "--tlp-max L at most as restrictive as L; --min-severity S is S or higher.\n"
                    "--json prints one JSON object a line (IOCs retracted on their own say\n"
                    "\"retracted\": true).\n", s_PROG);
            return 0;
        }
        if (streq (a, "--json")) {
            l.json = true;
            continue;
        }
        bool takes = ih_select_takes_value (a);
        if (takes && !v)
            return s_fail ("list: %s needs a value; see list --help", a);
        ih_err_t err = { "" };
        int rc = a [0] == '-' && a [1] == '-' ? ih_select_set (&l.sel, a, takes ? v : NULL, &err) : 1;
        if (rc < 0)
            return s_fail ("list: %s", err.msg);
        if (rc > 0)
            return s_fail ("list: unexpected argument '%s'", a);
        if (takes)
            i++;
    }
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = s_open_reader (cfg, &missing, &err);
    if (!store)
        return missing ? 0 : s_fail ("%s", err.msg);
    l.store = store;
    int rc = ih_store_foreach (store, 0, false, s_list_one, &l, &err);
    ih_store_destroy (&store);
    if (rc != 0)
        return s_fail ("%s", err.msg [0] ? err.msg : "list: cannot write output");
    return 0;
}

/*  Prints text for a terminal: control characters (escape sequences from a peer's
    alert) become '?'; newlines start a new line indented by indent when keep_lines,
    else a space. */
static void
s_print_clean (const char *text, bool keep_lines, int indent)
{
    for (const unsigned char *p = (const unsigned char *) (text ? text : ""); *p; p++) {
        if (*p == '\n' && keep_lines)
            printf ("\n%*s", indent, "");
        else
        if (*p == '\n' || *p == '\t')
            putchar (' ');
        else
        if (*p < 0x20 || *p == 0x7f)
            putchar ('?');
        else
            putchar (*p);
    }
}

static void
s_show_field (const char *label, const char *value)
{
    printf ("%-12s", label);
    s_print_clean (value && *value ? value : "-", false, 0);
    putchar ('\n');
}

static void
s_show_list (const char *label, json_t *arr)
{
    printf ("%-12s", label);
    if (json_array_size (arr) == 0)
        printf ("-");
    for (size_t i = 0; i < json_array_size (arr); i++) {
        if (i)
            printf (", ");
        s_print_clean (json_string_value (json_array_get (arr, i)), false, 0);
    }
    putchar ('\n');
}

static const char *
s_jstr (json_t *o, const char *key)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v ? v : "";
}

/*  "2026-11-28T17:25:36.123Z" -> "2026-11-28 17:25:36 UTC" */
static void
s_show_time (const char *label, const char *rfc3339)
{
    printf ("%-12s%.10s %.8s UTC\n", label, rfc3339, strlen (rfc3339) >= 19 ? rfc3339 + 11 : "");
}

static void
s_show_human (json_t *o, const ih_store_alert_t *info)
{
    json_t *pub = json_object_get (o, "publisher");
    char who [160];
    snprintf (who, sizeof who, "%s@%s", s_jstr (pub, "member"), s_jstr (pub, "org"));
    s_show_field ("alert", s_jstr (o, "id"));
    s_show_field ("title", s_jstr (o, "title"));
    if (info->retracted)
        printf ("%-12sRETRACTED (seq %" PRIu64 ")\n", "status", info->retract_seq);
    else
        printf ("%-12sactive\n", "status");
    printf ("%-12s%u (%u revision%s seen; this one stored at seq %" PRIu64 ", the first at seq %" PRIu64
            ")\n", "revision", info->revision, info->revisions, info->revisions == 1 ? "" : "s",
            info->seq, info->first_seq);
    s_show_field ("publisher", who);
    s_show_field ("tlp", s_jstr (o, "tlp"));
    s_show_field ("severity", s_jstr (o, "severity"));
    s_show_field ("category", s_jstr (o, "category"));
    s_show_list ("sectors", json_object_get (o, "sectors"));
    s_show_list ("recipients", json_object_get (o, "recipients"));
    s_show_list ("tags", json_object_get (o, "tags"));
    s_show_list ("references", json_object_get (o, "references"));
    s_show_time ("created", s_jstr (o, "created"));
    s_show_time ("modified", s_jstr (o, "modified"));
    printf ("%-12s%" PRIu64 " (reports citing this alert)\n", "sightings", info->sightings);
    printf ("%-12s%u\n", "comments", info->comments);
    const char *summary = s_jstr (o, "summary");
    if (*summary) {
        printf ("\nsummary:\n  ");
        s_print_clean (summary, true, 2);
        putchar ('\n');
    }
    json_t *iocs = json_object_get (o, "iocs");
    json_t *seen = json_object_get (o, "ioc_sightings");
    size_t n = json_array_size (iocs), nret = 0;
    for (size_t i = 0; i < n; i++)
        nret += json_is_true (json_object_get (json_array_get (iocs, i), "retracted"));
    printf ("\niocs (%zu", n);
    if (nret)
        printf ("; %zu retracted", nret);
    printf ("):\n");
    if (n)
        printf ("  %-8s %-40s %-6s %-6s %-9s %s\n", "TYPE", "VALUE", "DETECT", "SEEN", "STATUS", "COMMENT");
    for (size_t i = 0; i < n; i++) {
        json_t *ioc = json_array_get (iocs, i);
        const char *type = s_jstr (ioc, "type"), *value = s_jstr (ioc, "value");
        json_int_t count = 0;
        for (size_t k = 0; k < json_array_size (seen); k++) {
            json_t *sg = json_array_get (seen, k);
            if (streq (s_jstr (sg, "type"), type) && streq (s_jstr (sg, "value"), value))
                count = json_integer_value (json_object_get (sg, "count"));
        }
        char cnt [24] = "-";
        if (count)
            snprintf (cnt, sizeof cnt, "%lld", (long long) count);
        printf ("  %-8s ", type);
        s_print_clean (value, false, 0);
        printf ("%*s %-6s %-6s %-9s ", strlen (value) < 40 ? (int) (40 - strlen (value)) : 0, "",
                json_is_true (json_object_get (ioc, "detect")) ? "yes" : "no", cnt,
                json_is_true (json_object_get (ioc, "retracted")) ? "retracted" : "active");
        s_print_clean (s_jstr (ioc, "comment"), false, 0);
        putchar ('\n');
    }
    json_t *rets = json_object_get (o, "retractions");
    if (json_array_size (rets)) {
        printf ("\nretractions:\n");
        for (size_t i = 0; i < json_array_size (rets); i++) {
            json_t *r = json_array_get (rets, i);
            json_t *rp = json_object_get (r, "publisher");
            json_t *ri = json_object_get (r, "iocs");
            printf ("  seq %lld  %.10s %.5s  %s@%s  ", (long long) json_integer_value (json_object_get (r, "seq")),
                    s_jstr (r, "created"), strlen (s_jstr (r, "created")) >= 16 ? s_jstr (r, "created") + 11 : "",
                    s_jstr (rp, "member"), s_jstr (rp, "org"));
            if (json_array_size (ri) == 0)
                printf ("the whole alert");
            for (size_t k = 0; k < json_array_size (ri); k++) {
                printf ("%s", k ? ", " : "IOCs ");
                s_print_clean (s_jstr (json_array_get (ri, k), "value"), false, 0);
            }
            if (*s_jstr (r, "text")) {
                printf (": ");
                s_print_clean (s_jstr (r, "text"), false, 0);
            }
            putchar ('\n');
        }
    }
    json_t *cms = json_object_get (o, "comments");
    if (json_array_size (cms)) {
        printf ("\ncomments:\n");
        for (size_t i = 0; i < json_array_size (cms); i++) {
            json_t *c = json_array_get (cms, i);
            json_t *cp = json_object_get (c, "publisher");
            printf ("  seq %lld  %.10s %.5s  %s@%s: ", (long long) json_integer_value (json_object_get (c, "seq")),
                    s_jstr (c, "created"), strlen (s_jstr (c, "created")) >= 16 ? s_jstr (c, "created") + 11 : "",
                    s_jstr (cp, "member"), s_jstr (cp, "org"));
            s_print_clean (s_jstr (c, "text"), true, 4);
            putchar ('\n');
        }
    }
}

static int
s_cmd_show (s_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL;
    bool as_json = false;
    for (int i = 0; i < argc; i++) {
        if (s_is_help (argv [i])) {
            printf ("usage: %s -c AGENTDIR/agent.cfg show ID [--json]\n"
                    "Shows one alert at its latest revision: how many revisions were seen, whether\n"
                    "it (or which of its IOCs) was retracted, its retractions, comments and the\n"
                    "sightings of its IOCs. --json prints it on one line: the alert JSON, IOCs\n"
                    "retracted on their own marked \"retracted\": true, plus \"retractions\",\n"
                    "\"comments\" and \"ioc_sightings\" when there are any.\n", s_PROG);
            return 0;
        }
        if (streq (argv [i], "--json"))
            as_json = true;
        else
        if (!id && argv [i][0] != '-')
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
    json_t *o = found == 1 ? ih_view_alert (store, &m, &info, IH_VIEW_DETAILS) : NULL;
    ih_store_destroy (&store);
    ih_msg_free (&m);
    if (found != 1)
        return found == 0 ? s_fail ("show: no alert %s", id) : s_fail ("%s", err.msg);
    if (as_json)
        return s_print_json (o) == 0 ? 0 : s_fail ("show: cannot write output");
    s_show_human (o, &info);
    json_decref (o);
    return ferror (stdout) ? s_fail ("show: cannot write output") : 0;
}

/* ---- search ---------------------------------------------------------------------------------- */

typedef struct {
    ih_index_hit_t *hits;
    size_t n, cap;
    bool active_only;
} s_hits_t;

static int
s_search_hit (const ih_index_hit_t *hit, void *arg)
{
    s_hits_t *h = (s_hits_t *) arg;
    if (h->active_only && hit->retracted)
        return 0;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->hits = (ih_index_hit_t *) realloc (h->hits, h->cap * sizeof *h->hits);
        if (!h->hits)
            abort ();
    }
    h->hits [h->n++] = *hit;
    return 0;
}

static int
s_cmd_search (s_cfg_t *cfg, int argc, char **argv)
{
    const char *value = NULL, *type_name = NULL;
    bool as_json = false;
    unsigned flags = 0;
    s_hits_t h;
    memset (&h, 0, sizeof h);
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        if (s_is_help (a)) {
            printf ("usage: %s -c AGENTDIR/agent.cfg search VALUE [--type T] [--active] [--subdomains]\n"
                    "                     [--inside] [--json]\n"
                    "Looks VALUE up in the store's IOC index: the same value for every type, the\n"
                    "CIDRs that contain an IP (or CIDR), the parent domains of a domain, and the\n"
                    "hosts of URLs and domains of e-mail addresses. VALUE may be defanged\n"
                    "(hxxp, [.]); its type is guessed (a value that is also a valid filename is\n"
                    "looked up as one too) unless --type T or TYPE:VALUE says it.\n"
                    "  --active      leave out IOCs that were retracted (shown, marked, otherwise)\n"
                    "  --subdomains  a domain: also the indexed domains below it\n"
                    "  --inside      a CIDR: also the indexed IPs and CIDRs inside it\n"
                    "  --json        one object: {\"query\", \"searched\": [{\"type\", \"value\",\n"
                    "                \"sightings\"}], \"hits\": [{\"match\", \"type\", \"value\", \"id\",\n"
                    "                \"title\", \"tlp\", \"severity\", \"status\", \"retracted\", …}]}\n",
                    s_PROG);
            return 0;
        }
        if (streq (a, "--json"))
            as_json = true;
        else
        if (streq (a, "--active"))
            h.active_only = true;
        else
        if (streq (a, "--subdomains"))
            flags |= IH_SEARCH_SUBDOMAINS;
        else
        if (streq (a, "--inside"))
            flags |= IH_SEARCH_INSIDE;
        else
        if (streq (a, "--type") && i + 1 < argc)
            type_name = argv [++i];
        else
        if (a [0] == '-' && a [1] && !value)
            return s_fail ("search: unexpected argument '%s'; see search --help", a);
        else
        if (value)
            return s_fail ("search: unexpected argument '%s'; see search --help", a);
        else
            value = a;
    }
    if (!value)
        return s_fail ("search: VALUE is missing; see search --help");

    //  What to look up: the given or guessed type, and the value as a filename too.
    ih_err_t err = { "" };
    ih_ioc_type_t types [2];
    char norms [2][IH_MAX_IOC_VALUE + 1];
    int nt = 0;
    ih_ioc_type_t t;
    if (type_name || s_typed (value, &t)) {
        if (s_parse_value (value, type_name, &types [0], norms [0], &err) != 0)
            return s_fail ("search: %s", err.msg);
        nt = 1;
    }
    else {
        if (s_parse_value (value, NULL, &types [0], norms [0], NULL) == 0)
            nt = 1;
        if ((nt == 0 || types [0] != IH_IOC_FILENAME)
        &&  ih_ioc_normalise (IH_IOC_FILENAME, value, norms [nt], IH_MAX_IOC_VALUE + 1, NULL) == 0)
            types [nt++] = IH_IOC_FILENAME;
        if (nt == 0)
            return s_fail ("search: '%.64s' is no IOC value of any type", value);
    }
    bool missing;
    ih_store_t *store = s_open_reader (cfg, &missing, &err);
    if (!store && !missing)
        return s_fail ("%s", err.msg);
    json_t *searched = json_array ();
    for (int k = 0; k < nt; k++) {
        uint64_t count = 0;
        uint32_t reports = 0;
        if (store) {
            if (ih_store_search (store, types [k], norms [k], flags, s_search_hit, &h, &err) < 0
            ||  ih_store_sightings (store, types [k], norms [k], &count, &reports, &err) != 0) {
                ih_store_destroy (&store);
                json_decref (searched);
                free (h.hits);
                return s_fail ("%s", err.msg);
            }
        }
        json_array_append_new (searched, json_pack ("{s:s, s:s, s:{s:I, s:I}}", "type",
                               ih_ioc_type_name (types [k]), "value", norms [k], "sightings",
                               "count", (json_int_t) count, "reports", (json_int_t) reports));
    }
    //  The alerts behind the hits.
    json_t *hits = json_array ();
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    for (size_t i = 0; i < h.n; i++) {
        const ih_index_hit_t *x = &h.hits [i];
        ih_store_alert_t info;
        memset (&info, 0, sizeof info);
        int found = ih_store_get (store, x->id, &m, &info, &err);
        json_t *o = json_pack ("{s:s, s:s, s:s, s:b, s:b, s:b, s:s}", "match", ih_match_name (x->match),
                               "type", ih_ioc_type_name (x->type), "value", x->value,
                               "derived", x->derived, "detect", x->detect, "retracted", x->retracted,
                               "id", x->id);
        if (found == 1) {
            json_object_set_new (o, "title", json_string (m.title));
            json_object_set_new (o, "tlp", json_string (ih_tlp_name (m.tlp)));
            json_object_set_new (o, "severity", json_string (ih_severity_name (m.severity)));
            json_object_set_new (o, "category", json_string (ih_category_name (m.category)));
            json_object_set_new (o, "status", json_string (info.retracted ? "retracted" : "active"));
            json_object_set_new (o, "revision", json_integer (info.revision));
            json_object_set_new (o, "seq", json_integer ((json_int_t) info.seq));
            json_object_set_new (o, "publisher", json_pack ("{s:s, s:s}", "org", m.org, "member", m.member));
        }
        json_array_append_new (hits, o);
    }
    ih_msg_free (&m);
    ih_store_destroy (&store);
    free (h.hits);
    if (as_json) {
        json_t *o = json_pack ("{s:s, s:o, s:o}", "query", value, "searched", searched, "hits", hits);
        return s_print_json (o) == 0 ? 0 : s_fail ("search: cannot write output");
    }
    for (size_t k = 0; k < json_array_size (searched); k++) {
        json_t *q = json_array_get (searched, k);
        json_t *sg = json_object_get (q, "sightings");
        if (json_integer_value (json_object_get (sg, "count")))
            printf ("%s %s was sighted %lld times (%lld report%s)\n", s_jstr (q, "type"), s_jstr (q, "value"),
                    (long long) json_integer_value (json_object_get (sg, "count")),
                    (long long) json_integer_value (json_object_get (sg, "reports")),
                    json_integer_value (json_object_get (sg, "reports")) == 1 ? "" : "s");
    }
    if (json_array_size (hits) == 0) {
        printf ("no match for");
        for (size_t k = 0; k < json_array_size (searched); k++)
            printf ("%s %s %s", k ? " or" : "", s_jstr (json_array_get (searched, k), "type"),
                    s_jstr (json_array_get (searched, k), "value"));
        printf ("%s\n", h.active_only ? " (among IOCs not retracted)" : "");
    }
    else
        printf ("%-9s %-8s %-32s %-36s %-12s %-8s %-9s %s\n", "MATCH", "TYPE", "VALUE", "ALERT", "TLP",
                "SEVERITY", "STATUS", "TITLE");
    for (size_t i = 0; i < json_array_size (hits); i++) {
        json_t *x = json_array_get (hits, i);
        char type [32];
        snprintf (type, sizeof type, "%s%s", s_jstr (x, "type"),
                  json_is_true (json_object_get (x, "derived")) ? "*" : "");
        const char *v = s_jstr (x, "value");
        printf ("%-9s %-8s ", s_jstr (x, "match"), type);
        s_print_clean (v, false, 0);
        printf ("%*s %-36s %-12s %-8s %-9s ", strlen (v) < 32 ? (int) (32 - strlen (v)) : 0, "",
                s_jstr (x, "id"), s_jstr (x, "tlp"), s_jstr (x, "severity"),
                json_is_true (json_object_get (x, "retracted")) ? "retracted" : "active");
        s_print_clean (s_jstr (x, "title"), false, 0);
        putchar ('\n');
    }
    if (json_array_size (hits) && !h.active_only) {
        bool derived = false;
        for (size_t i = 0; i < json_array_size (hits); i++)
            derived |= json_is_true (json_object_get (json_array_get (hits, i), "derived"));
        if (derived)
            printf ("(* the host of a url, or the domain of an e-mail address)\n");
    }
    json_decref (searched);
    json_decref (hits);
    return ferror (stdout) ? s_fail ("search: cannot write output") : 0;
}

/* ---- tail ------------------------------------------------------------------------------------ */

typedef struct {
    uint64_t seq;
    json_t *found;
} s_find_ref_t;

static int
s_find_ref (uint64_t seq, const ih_msg_t *msg, void *arg)
{
    s_find_ref_t *f = (s_find_ref_t *) arg;
    if (seq != f->seq)
        return 0;
    ih_json_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.seq = seq;
    f->found = ih_msg_to_json (msg, &meta);
    return 1;
}

/*  Prints one log entry. Returns 0, or -1 when stdout is gone. */
static int
s_tail_one (ih_store_t *store, const ih_store_log_t *e, bool as_json, bool all)
{
    bool alert = !e->rejected && e->kind == IH_KIND_ALERT
              && (e->outcome == IH_STORE_NEW || e->outcome == IH_STORE_REVISED);
    if (alert) {
        ih_msg_t m;
        ih_msg_init (&m, IH_KIND_ALERT);
        ih_store_alert_t info;
        int found = ih_store_get (store, e->id, &m, &info, NULL);
        int rc = 0;
        //  An entry revised again since is shown with the later one.
        if (found == 1 && info.seq == e->seq) {
            if (as_json)
                rc = s_print_json (ih_view_alert (store, &m, &info, 0));
            else {
                printf ("%-8s ", e->outcome == IH_STORE_NEW ? "new" : "revision");
                s_list_row (&m, &info);
            }
        }
        ih_msg_free (&m);
        return rc || ferror (stdout) ? -1 : 0;
    }
    if (!all)
        return 0;
    if (as_json) {
        json_t *o = NULL;
        if (!e->rejected && (e->kind == IH_KIND_COMMENT || e->kind == IH_KIND_RETRACTION)) {
            s_find_ref_t f = { e->seq, NULL };
            ih_store_refs_foreach (store, e->ref, e->kind, s_find_ref, &f, NULL);
            o = f.found;
        }
        if (!o) {
            o = json_pack ("{s:s, s:I, s:s}", "kind", e->rejected ? "rejected" : ih_kind_name (e->kind),
                           "seq", (json_int_t) e->seq, "outcome", ih_store_outcome_name (e->outcome));
            if (!e->rejected) {
                json_object_set_new (o, "id", json_string (e->id));
                if (e->ref [0])
                    json_object_set_new (o, "ref", json_string (e->ref));
                if (e->kind == IH_KIND_ALERT)
                    json_object_set_new (o, "revision", json_integer (e->revision));
            }
        }
        return s_print_json (o);
    }
    if (e->rejected)
        printf ("%-8s %-8" PRIu64 " (failed verification; not stored)\n", "rejected", e->seq);
    else
    if (e->kind == IH_KIND_ALERT)
        printf ("%-8s %-8" PRIu64 " %s %-3u (not newer than the stored revision)\n", "stale", e->seq,
                e->id, e->revision);
    else
        printf ("%-8s %-8" PRIu64 " %s on %s\n", ih_kind_name (e->kind), e->seq, e->id,
                e->ref [0] ? e->ref : "(no alert)");
    return ferror (stdout) ? -1 : 0;
}

static int
s_cmd_tail (s_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false, all = false, have_from = false;
    uint64_t from = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        if (s_is_help (a)) {
            printf ("usage: %s -c AGENTDIR/agent.cfg tail [--json] [--all] [--from SEQ]\n"
                    "Prints each new alert and new revision as the daemon stores it, until\n"
                    "interrupted (SIGINT, SIGTERM). Starts at the store's cursor, or after SEQ.\n"
                    "  --all   also retractions, comments, sightings, stale revisions and\n"
                    "          messages that failed verification\n"
                    "  --json  one JSON object a line (alerts as `list --json`)\n", s_PROG);
            return 0;
        }
        if (streq (a, "--json"))
            as_json = true;
        else
        if (streq (a, "--all"))
            all = true;
        else
        if (streq (a, "--from") && i + 1 < argc) {
            const char *v = argv [++i];
            char *end = NULL;
            errno = 0;
            from = strtoull (v, &end, 10);
            if (errno || end == v || *end || v [0] == '-')
                return s_fail ("tail: --from: '%.32s' is not a sequence number", v);
            have_from = true;
        }
        else
            return s_fail ("tail: unexpected argument '%s'; see tail --help", a);
    }
    s_install_signals ();
    ih_err_t err = { "" };
    ih_store_t *store = NULL;
    uint64_t after = from;
    int ret = 0;
    bool waiting_said = false;
    ih_store_log_t log [256];
    while (!s_stop) {
        if (!store) {
            bool missing;
            store = s_open_reader (cfg, &missing, &err);
            if (!store && !missing) {
                ret = s_fail ("%s", err.msg);
                break;
            }
            if (!store) {
                if (!waiting_said)
                    fprintf (stderr, "%s: waiting for the store %s to be created\n", s_PROG, cfg->store);
                waiting_said = true;
                usleep (500000);
                continue;
            }
            if (!have_from)
                after = ih_store_cursor (store);
        }
        int n = ih_store_log_read (store, after, log, 256, &err);
        if (n < 0) {
            ret = s_fail ("%s", err.msg);
            break;
        }
        for (int i = 0; i < n && !s_stop; i++) {
            after = log [i].seq;
            if (s_tail_one (store, &log [i], as_json, all) != 0) {
                s_stop = 1;         //  stdout closed: done
                break;
            }
        }
        if (fflush (stdout) != 0)
            break;
        if (n < 256 && !s_stop)
            usleep (200000);
    }
    ih_store_destroy (&store);
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
                    "stored, the lag behind the broker (as of the daemon's last word with it),\n"
                    "the store's counts and size, and the on-alert hook's progress.\n", s_PROG);
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
    json_t *hook = d ? json_object_get (d, "hook") : NULL;
    if (hook)
        json_incref (hook);
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
        json_object_set_new (o, "store", json_string (cfg->store));
        json_object_set_new (o, "messages", json_integer ((json_int_t) c.messages));
        if (hook)
            json_object_set_new (o, "hook", hook);
        return s_print_json (o) == 0 ? 0 : s_fail ("status: cannot write output");
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
    if (hook) {
        printf ("on-alert    %s\n", s_jstr (hook, "command"));
        printf ("            %lld ok, %lld failed, %lld timed out, %lld running; done up to seq %lld\n",
                (long long) json_integer_value (json_object_get (hook, "ok")),
                (long long) json_integer_value (json_object_get (hook, "failed")),
                (long long) json_integer_value (json_object_get (hook, "timed_out")),
                (long long) json_integer_value (json_object_get (hook, "running")),
                (long long) json_integer_value (json_object_get (hook, "after")));
        json_decref (hook);
    }
    else
    if (cfg->on_alert && *cfg->on_alert)
        printf ("on-alert    %s (runs in the daemon)\n", cfg->on_alert);
    return ferror (stdout) ? s_fail ("status: cannot write output") : 0;
}

/* ---- export, import, warninglist (ih_export_cmd.c, ih_import_cmd.c, ih_warninglist.c) ------ */

static const char *
s_warninglists (s_cfg_t *cfg)
{
    return cfg->zc ? zconfig_get (cfg->zc, "agent/warninglists", NULL) : NULL;
}

static int
s_cmd_export (s_cfg_t *cfg, int argc, char **argv)
{
    ih_export_cmd_cfg_t c = { s_PROG, s_VERSION, cfg->store, cfg->path, s_warninglists (cfg) };
    return ih_export_cmd (&c, argc, argv);
}

/*  Publishes one imported draft as a new alert, like publish: prints its id. */
static int
s_import_publish (ih_msg_t *m, void *arg)
{
    s_cfg_t *cfg = (s_cfg_t *) arg;
    ih_uuid_new (m->id);
    m->revision = 1;
    m->created = m->modified = ih_now_ms ();
    ih_err_t err = { "" };
    char id [IH_UUID_LEN + 1] = "";
    char code [32] = "";
    int rc = s_sign_send (cfg, m, "import", id, code, &err);
    if (rc == 0) {
        printf ("%s\n", id [0] ? id : m->id);
        fflush (stdout);
        return 0;
    }
    if (rc == 1)
        s_fail ("import: broker refused '%.60s': %s: %s", m->title, code, err.msg);
    else
        s_fail ("import: %s", err.msg);
    return -1;
}

static int
s_cmd_import (s_cfg_t *cfg, int argc, char **argv)
{
    ih_import_cmd_cfg_t c = { s_PROG, s_import_publish, cfg };
    return ih_import_cmd (&c, argc, argv);
}

static int
s_cmd_warninglist (s_cfg_t *cfg, int argc, char **argv)
{
    return ih_warninglist_cmd (s_PROG, s_warninglists (cfg), cfg->path, argc, argv);
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
    { "retract", s_cmd_retract, "retract ID [--ioc VALUE]...: withdraw an alert or some of its IOCs" },
    { "comment", s_cmd_comment, "comment ID TEXT: comment on an alert" },
    { "sight",   s_cmd_sight,   "sight VALUE [--alert ID] [--count N]: report an IOC seen here" },
    { "list",    s_cmd_list,    "list [--json] …: the alerts in the store" },
    { "show",    s_cmd_show,    "show ID [--json]: one alert, its retractions, comments, sightings" },
    { "search",  s_cmd_search,  "search VALUE [--json]: IOC lookup (exact, IP in CIDR, parent domains)" },
    { "tail",    s_cmd_tail,    "tail [--json]: print new alerts as they are stored, until interrupted" },
    { "status",  s_cmd_status,  "status [--json]: connection, cursor, lag, counts, store size, hook" },
    { "export",  s_cmd_export,  "export --format F [filters] [--out FILE]: csv, jsonl, stix21, misp, IDS rules …" },
    { "import",  s_cmd_import,  "import --format F FILE: publish what STIX, MISP, CSV or prose holds" },
    { "warninglist", s_cmd_warninglist, "warninglist check VALUE: which known-benign list matches" },
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
    if (!cfg_path && cmd->fn == s_cmd_warninglist) {
        s_cfg_t none;           //  the lists are found beside the binary without a config
        memset (&none, 0, sizeof none);
        return cmd->fn (&none, argc - i - 1, argv + i + 1);
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

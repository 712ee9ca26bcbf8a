/*  cmd_publish.c: what a member sends (cmd.h): `publish` (an alert from JSON, or a new
    revision, retraction, comment or sighting written as JSON), `retract`, `comment` and
    `sight` from the command line, and `import`'s alerts. Each signs its message with the
    member's signing key and waits for the broker's answer (s_sign_send): the id on
    stdout, or the broker's reason in a one-line error.
*/
#include <czmq.h>
#include <sodium.h>

#include "cmd.h"
#include "ih_client.h"
#include "ih_codec.h"
#include "ih_import.h"
#include "ih_json.h"
#include "ih_keys.h"
#include "ih_sign.h"
#include "ih_view.h"

/* ---- signing and sending ---------------------------------------------------------------------- */

/*  A client in request mode for this member (publish needs no hello), or NULL with err. */
static ih_client_t *
s_connect (ih_agent_cfg_t *cfg, ih_err_t *err)
{
    zsys_handler_set (NULL);
    zcert_t *cert = ih_keys_load_cert (cfg->curve_cert, err);
    if (!cert)
        return NULL;
    ih_client_cfg_t ccfg = { cfg->endpoint, cfg->broker_key, cert, "agent", CMD_PROG "/" CMD_VERSION, 0, true };
    ih_client_t *client = ih_client_new (&ccfg, err);
    zcert_destroy (&cert);
    if (!client)
        ih_err_prefix (err, "%s", cfg->path);
    return client;
}

/*  The broker's refusal in err, for a person: a `rate-limited` one says first when to
    try again ("rate-limited: retry after 200 ms (rate: ...)"). */
static void
s_refusal (ih_client_t *client, const char *code, ih_err_t *err)
{
    uint64_t retry = client ? ih_client_retry_after (client) : 0;
    if (streq (code, "rate-limited") && retry) {
        ih_err_t why = *err;
        ih_err_set (err, "retry after %" PRIu64 " ms (%s)", retry, why.msg);
    }
}

/*  Signs m as this member (org, member and signer are set here; the caller set id,
    created and modified), publishes it on client (NULL: a client for this one message),
    waits for the broker's answer, and prints the message's id on stdout (the broker's,
    when it names one). label names the input in an encoding error. With wait_limits, a
    publish refused `rate-limited` is sent again after the time the broker asked for (up
    to a minute at a time): an import of thousands goes at the member's rate. Returns 0,
    1 (refused: code, 32 bytes, and err hold the broker's reason), or -1 with err. */
static int
s_sign_send_on (ih_agent_cfg_t *cfg, ih_client_t *client, ih_msg_t *m, const char *label, char *code,
                bool wait_limits, ih_err_t *err)
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

    ih_client_t *own = client ? NULL : s_connect (cfg, err);
    if (!client && !own) {
        ih_buf_free (&body);
        return -1;
    }
    uint64_t seq = 0;
    char id [IH_UUID_LEN + 1] = "";
    ih_client_t *c = client ? client : own;
    int rc;
    while (true) {
        rc = ih_client_publish_wait (c, body.data, body.len, sig, CMD_PUBLISH_S * 1000, &seq, id, code, err);
        uint64_t retry = rc == 1 && streq (code, "rate-limited") ? ih_client_retry_after (c) : 0;
        if (!wait_limits || !retry || retry > 60000 || zsys_interrupted)
            break;
        zclock_sleep ((int) retry);
    }
    if (rc == 1)
        s_refusal (c, code, err);
    ih_client_destroy (&own);
    ih_buf_free (&body);
    if (rc == 0) {
        printf ("%s\n", id [0] ? id : m->id);
        fflush (stdout);
    }
    return rc;
}

static int
s_sign_send (ih_agent_cfg_t *cfg, ih_msg_t *m, const char *label, char *code, ih_err_t *err)
{
    return s_sign_send_on (cfg, NULL, m, label, code, false, err);
}

/*  Signs and sends m; prints its id, or fails with the broker's reason. Frees m. */
static int
s_send_and_report (ih_agent_cfg_t *cfg, ih_msg_t *m, const char *what)
{
    ih_err_t err = { "" };
    char code [32] = "";
    int rc = s_sign_send (cfg, m, what, code, &err);
    int ret = 0;
    if (rc == 1)
        ret = cmd_fail ("broker refused: %s: %s", code, err.msg);
    else
    if (rc != 0)
        ret = cmd_fail ("%s", err.msg);
    ih_msg_free (m);
    return ret;
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

/* ---- IOC values from the command line (also search's) ------------------------------------------ */

const char *
cmd_ioc_typed (const char *arg, ih_ioc_type_t *t)
{
    const char *colon = strchr (arg, ':');
    if (!colon || colon - arg > 15)
        return NULL;
    char name [16];
    snprintf (name, sizeof name, "%.*s", (int) (colon - arg), arg);
    return ih_ioc_type_parse (name, t) == 0 ? colon + 1 : NULL;
}

int
cmd_ioc_value (const char *arg, const char *type_name, ih_ioc_type_t *t, char *out, ih_err_t *err)
{
    const char *value = arg;
    if (type_name) {
        if (ih_ioc_type_parse (type_name, t) != 0)
            return ih_err_set (err, "--type: unknown IOC type '%.32s' (expected ipv4, ipv6, cidr, domain,"
                               " url, email, md5, sha1, sha256, filename, cve or asn)", type_name);
    }
    else {
        const char *rest = cmd_ioc_typed (arg, t);
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

/* ---- publish -------------------------------------------------------------------------------- */

/*  --dry-run: m as it would be signed (this member's org, member and signing key's public
    half; the secret key is not read), validated as the encoder validates it, printed as
    one JSON line. Nothing is signed or sent. Frees m. */
static int
s_dry_run (ih_agent_cfg_t *cfg, ih_msg_t *m, const char *label)
{
    ih_err_t err = { "" };
    m->org = ih_msg_str (m, cfg->org);
    m->member = ih_msg_str (m, cfg->name);
    ih_buf_t body;
    ih_buf_init (&body);
    int rc = ih_keys_load_signing (cfg->signing_key, m->signer, NULL, &err);
    if (rc == 0 && (rc = ih_body_encode (m, &body, &err)) != 0)
        ih_err_prefix (&err, "%s", label);
    ih_buf_free (&body);
    char *text = rc == 0 ? ih_msg_to_json_str (m, NULL) : NULL;
    ih_msg_free (m);
    if (rc != 0)
        return cmd_fail ("%s", err.msg);
    printf ("%s\n", text);
    free (text);
    if (fflush (stdout) != 0 || ferror (stdout))
        return cmd_fail ("publish: cannot write output");
    fprintf (stderr, "%s: publish: dry run: nothing was signed or sent\n", CMD_PROG);
    return 0;
}

int
cmd_publish (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *file = NULL;
    bool dry_run = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        if (streq (a, "--dry-run"))
            dry_run = true;
        else
        if (file || (a [0] == '-' && a [1]))
            return cmd_fail ("publish: unexpected argument '%s'; see publish --help", a);
        else
            file = a;
    }
    if (!file)
        return cmd_fail ("publish: FILE.json (or -) is missing; see publish --help");

    ih_err_t err = { "" };
    size_t len = 0;
    char *text = ih_file_read (file, CMD_MAX_INPUT, &len, &err);
    if (!text)
        return cmd_fail ("%s", err.msg);
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
        return cmd_fail ("%s: %s", streq (file, "-") ? "stdin" : file, err.msg);
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
                return cmd_fail ("%s", err.msg);
            }
        }
    }
    if (!have_id)
        ih_uuid_new (m.id);
    m.modified = now;
    if (m.kind != IH_KIND_ALERT || !have_id || (!from_store && (m.created == 0 || m.created > now)))
        m.created = now;
    if (dry_run)
        return s_dry_run (cfg, &m, streq (file, "-") ? "stdin" : file);
    char code [32] = "";
    rc = s_sign_send (cfg, &m, streq (file, "-") ? "stdin" : file, code, &err);
    int ret = 0;
    if (rc == 1) {
        bool hint = m.kind == IH_KIND_ALERT && have_id && !from_store
                 && (streq (code, "duplicate-id") || streq (code, "stale-revision"));
        ret = cmd_fail ("broker refused: %s: %s%s", code, err.msg,
                          hint ? " (this agent's store does not hold the alert: is the agent running?"
                                 " or set \"revision\" in the JSON)" : "");
    }
    else
    if (rc != 0)
        ret = cmd_fail ("%s", err.msg);
    ih_msg_free (&m);
    return ret;
}

/* ---- retract, comment, sight ---------------------------------------------------------------- */

int
cmd_retract (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL, *reason = "";
    const char *iocs [IH_MAX_IOCS];
    int n_iocs = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (!v && (streq (a, "--ioc") || streq (a, "--reason") || streq (a, "--text")))
            return cmd_fail ("retract: %s needs a value; see retract --help", a);
        if (streq (a, "--ioc") && v) {
            if (n_iocs == IH_MAX_IOCS)
                return cmd_fail ("retract: more than %d --ioc", IH_MAX_IOCS);
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
            return cmd_fail ("retract: unexpected argument '%s'; see retract --help", a);
        else
            id = a;
    }
    if (!id)
        return cmd_fail ("retract: ID is missing; see retract --help");
    if (!ih_uuid_valid (id))
        return cmd_fail ("retract: '%.64s' is not an alert id (a lower-case UUID)", id);
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
            return cmd_fail ("%s", err.msg);
        }
    }
    for (int k = 0; k < n_iocs; k++) {
        const char *arg = iocs [k];
        ih_ioc_type_t t;
        char value [IH_MAX_IOC_VALUE + 1];
        bool matched = false;
        if (found == 1 && !cmd_ioc_typed (arg, &t)) {
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
                return cmd_fail ("retract: --ioc '%.64s' is not an IOC of alert %s", arg, id);
            }
        }
        else
        if (cmd_ioc_value (arg, NULL, &t, value, &err) != 0) {
            ih_msg_free (&alert);
            ih_msg_free (&m);
            return cmd_fail ("retract: --ioc: %s", err.msg);
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

int
cmd_comment (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL;
    ih_buf_t text;
    ih_buf_init (&text);
    for (int i = 0; i < argc; i++) {
        if (!id) {
            id = argv [i];
            continue;
        }
        if (streq (argv [i], "-") && text.len == 0 && i == argc - 1) {
            ih_err_t err = { "" };
            size_t len = 0;
            char *in = ih_file_read ("-", CMD_MAX_INPUT, &len, &err);
            if (!in) {
                ih_buf_free (&text);
                return cmd_fail ("comment: %s", err.msg);
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
        ret = cmd_fail ("comment: ID is missing; see comment --help");
    else
    if (!ih_uuid_valid (id))
        ret = cmd_fail ("comment: '%.64s' is not an alert id (a lower-case UUID)", id);
    else
    if (!*t)
        ret = cmd_fail ("comment: TEXT is missing; see comment --help");
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

int
cmd_sight (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *value = NULL, *alert = "", *type_name = NULL;
    ih_tlp_t tlp = IH_TLP_AMBER;
    uint64_t count = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (!v && (streq (a, "--alert") || streq (a, "--tlp") || streq (a, "--count") || streq (a, "--type")))
            return cmd_fail ("sight: %s needs a value; see sight --help", a);
        if (streq (a, "--alert") && v) {
            alert = v;
            i++;
        }
        else
        if (streq (a, "--tlp") && v) {
            if (ih_tlp_parse (v, &tlp) != 0)
                return cmd_fail ("sight: --tlp: unknown level '%.32s'", v);
            i++;
        }
        else
        if (streq (a, "--count") && v) {
            if (!ih_parse_uint (v, 1, 1000000, &count))
                return cmd_fail ("sight: --count: '%.32s' is not a number in 1..1000000", v);
            i++;
        }
        else
        if (streq (a, "--type") && v) {
            type_name = v;
            i++;
        }
        else
        if (a [0] == '-' || value)
            return cmd_fail ("sight: unexpected argument '%s'; see sight --help", a);
        else
            value = a;
    }
    if (!value)
        return cmd_fail ("sight: VALUE is missing; see sight --help");
    if (*alert && !ih_uuid_valid (alert))
        return cmd_fail ("sight: --alert: '%.64s' is not an alert id (a lower-case UUID)", alert);
    ih_err_t err = { "" };
    ih_ioc_type_t t;
    char norm [IH_MAX_IOC_VALUE + 1];
    if (cmd_ioc_value (value, type_name, &t, norm, &err) != 0)
        return cmd_fail ("sight: %s", err.msg);
    ih_msg_t m;
    s_draft (&m, IH_KIND_SIGHTING);
    snprintf (m.ref, sizeof m.ref, "%s", alert);
    m.tlp = tlp;
    m.count = (uint32_t) count;
    ih_msg_ioc_add (&m, t, norm, "", false);
    return s_send_and_report (cfg, &m, "sight");
}

/* ---- import (ih_import_cmd.c) ----------------------------------------------------------------- */

/*  One import's connection to the broker, opened at its first alert and kept for the
    rest (an import of a feed publishes many). */
typedef struct {
    ih_agent_cfg_t *cfg;
    ih_client_t *client;
} s_import_t;

/*  ih_import_publish_fn: publishes one imported alert as the import planned it (id,
    revision, times set), like publish: prints its id. */
static int
s_import_publish (ih_msg_t *m, void *arg, char *code, ih_err_t *err)
{
    s_import_t *imp = (s_import_t *) arg;
    if (!imp->client && !(imp->client = s_connect (imp->cfg, err)))
        return -1;
    //  The label names the alert that failed ("import: alert 'X': body: too large"),
    //  not the command again.
    char label [96];
    ih_fmt (label, sizeof label, "alert '%.60s'", m->title);
    return s_sign_send_on (imp->cfg, imp->client, m, label, code, true, err);
}

int
cmd_import (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    s_import_t imp = { cfg, NULL };
    ih_import_cmd_cfg_t c = { CMD_PROG, cfg->org, cfg->store, cfg->warninglists, cfg->path,
                              s_import_publish, &imp };
    int rc = ih_import_cmd (&c, argc, argv);
    ih_client_destroy (&imp.client);
    return rc;
}

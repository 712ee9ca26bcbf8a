/*  ih_signer.c: the daemon's signing service for the console (see ih_signer.h).

    Read top to bottom: keys, answers and the requests in flight, the fields of a
    request, each operation, the handler. The self-test is ih_signer_test.c.
*/
#include <inttypes.h>
#include <sodium.h>

#include "ih_codec.h"
#include "ih_ioc.h"
#include "ih_json.h"
#include "ih_keys.h"
#include "ih_log.h"
#include "ih_sign.h"
#include "ih_signer.h"
#include "ih_view.h"

#define s_log(level, ...) ih_log (level, "agent", __VA_ARGS__)

typedef enum { s_FREE = 0, s_WAIT_BROKER, s_WAIT_STORE } s_state_t;

/*  A message sent for the console, waiting for the broker's answer, then for the store. */
typedef struct {
    s_state_t state;
    uint64_t req;                   /* the publish's req on the session */
    int64_t deadline;               /* mono ms */
    ih_control_req_t *creq;         /* the console's request, answered at the end */
    ih_kind_t kind;
    char id [IH_UUID_LEN + 1];
    uint32_t revision;
    uint64_t seq;
} s_pending_t;

struct ih_signer {
    const ih_agent_cfg_t *cfg;
    uint8_t pk [IH_PK_LEN];
    uint8_t *sk;                    /* sodium_malloc'd, PROT_NONE but while signing */
    uint8_t *ckey;                  /* the console key, likewise; loaded: ckey_loaded */
    bool ckey_loaded;
    ih_store_t *store;
    ih_client_t *client;
    ih_control_t *control;
    int broker_ms, store_ms;
    s_pending_t pending [IH_SIGNER_PENDING];
};

/* ---- keys ---------------------------------------------------------------------------------- */

ih_signer_t *
ih_signer_new (const ih_agent_cfg_t *cfg, ih_err_t *err)
{
    ih_sign_init ();
    ih_signer_t *self = (ih_signer_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->cfg = cfg;
    self->broker_ms = IH_SIGNER_BROKER_MS;
    self->store_ms = IH_SIGNER_STORE_MS;
    //  Guarded, locked pages: never swapped, and out of reach (PROT_NONE) between
    //  signatures, so a stray read elsewhere in the daemon faults instead of leaking it.
    self->sk = (uint8_t *) sodium_malloc (IH_SK_LEN);
    self->ckey = (uint8_t *) sodium_malloc (IH_TOTP_KEY);
    if (!self->sk || !self->ckey)
        abort ();
    int rc = ih_keys_load_signing (cfg->signing_key, self->pk, self->sk, err);
    sodium_mprotect_noaccess (self->sk);
    if (rc != 0) {
        ih_signer_destroy (&self);
        return NULL;
    }
    //  The console key exists once the first user was added; else it is read when the
    //  first TOTP request comes (s_console_key).
    if (cfg->console_key && access (cfg->console_key, F_OK) == 0) {
        ih_err_t kerr = { "" };
        if (ih_totp_key_load (cfg->console_key, false, self->ckey, &kerr) == 0)
            self->ckey_loaded = true;
        else
            s_log ('W', "%s (TOTP checks will fail until it can be read)", kerr.msg);
    }
    sodium_mprotect_noaccess (self->ckey);
    return self;
}

void
ih_signer_attach (ih_signer_t *self, ih_store_t *store, ih_client_t *client, ih_control_t *control)
{
    self->store = store;
    self->client = client;
    self->control = control;
}

/*  The console key, readable until s_console_key_done; create: make it when missing (a
    TOTP enrolment before any `user add`). 0, or -1 with err. */
static int
s_console_key (ih_signer_t *self, bool create, ih_err_t *err)
{
    sodium_mprotect_readwrite (self->ckey);
    if (self->ckey_loaded)
        return 0;
    if (!self->cfg->console_key)
        return ih_err_set (err, "agent.cfg names no console key");
    if (ih_totp_key_load (self->cfg->console_key, create, self->ckey, err) != 0) {
        //  `user add` may have made it between our look and our write: read it then.
        ih_err_t again = { "" };
        if (!create || ih_totp_key_load (self->cfg->console_key, false, self->ckey, &again) != 0) {
            sodium_mprotect_noaccess (self->ckey);
            return -1;
        }
    }
    self->ckey_loaded = true;
    return 0;
}

static void
s_console_key_done (ih_signer_t *self)
{
    sodium_mprotect_noaccess (self->ckey);
}

int
ih_signer_sign (ih_signer_t *self, ih_msg_t *m, ih_buf_t *body, uint8_t sig [64], ih_err_t *err)
{
    m->org = ih_msg_str (m, self->cfg->org);
    m->member = ih_msg_str (m, self->cfg->name);
    memcpy (m->signer, self->pk, sizeof m->signer);
    if (ih_body_encode (m, body, err) != 0)
        return -1;
    sodium_mprotect_readonly (self->sk);
    ih_sign (sig, IH_CTX_MSG, body->data, body->len, self->sk);
    sodium_mprotect_noaccess (self->sk);
    return 0;
}

/* ---- answers and the requests in flight --------------------------------------------------------- */

static json_t *
s_ok (void)
{
    json_t *o = json_object ();
    if (!o)
        abort ();
    json_object_set_new (o, "ok", json_true ());
    return o;
}

/*  What a message the broker accepted answers: its id, seq, kind, revision (alerts),
    and whether the store holds it yet. */
static json_t *
s_accepted (const s_pending_t *p, bool stored)
{
    json_t *o = s_ok ();
    json_object_set_new (o, "id", json_string (p->id));
    json_object_set_new (o, "seq", json_integer ((json_int_t) p->seq));
    json_object_set_new (o, "kind", json_string (ih_kind_name (p->kind)));
    if (p->kind == IH_KIND_ALERT)
        json_object_set_new (o, "revision", json_integer (p->revision));
    json_object_set_new (o, "stored", json_boolean (stored));
    return o;
}

static void
s_settle (ih_signer_t *self, s_pending_t *p, json_t *answer)
{
    ih_control_answer (self->control, &p->creq, answer);
    memset (p, 0, sizeof *p);
}

bool
ih_signer_on_event (ih_signer_t *self, const ih_env_t *e)
{
    if ((e->type != IH_T_OK && e->type != IH_T_ERROR) || e->req == 0)
        return false;
    for (size_t i = 0; i < IH_SIGNER_PENDING; i++) {
        s_pending_t *p = &self->pending [i];
        if (p->state != s_WAIT_BROKER || p->req != e->req)
            continue;
        if (e->type == IH_T_ERROR) {
            s_log ('I', "console: broker refused %s %s: %s: %s", ih_kind_name (p->kind), p->id, e->code,
                   e->reason);
            s_settle (self, p, ih_control_refuse (e->code, "%s", e->reason));
            return true;
        }
        p->seq = e->seq;
        if (e->id && ih_uuid_valid (e->id))
            snprintf (p->id, sizeof p->id, "%s", e->id);
        p->state = s_WAIT_STORE;
        p->deadline = zclock_mono () + self->store_ms;
        s_log ('I', "console: broker accepted %s %s, seq %" PRIu64, ih_kind_name (p->kind), p->id, p->seq);
        return true;
    }
    return false;
}

int
ih_signer_tick (ih_signer_t *self, uint64_t cursor)
{
    int64_t now = zclock_mono ();
    int64_t next = -1;
    for (size_t i = 0; i < IH_SIGNER_PENDING; i++) {
        s_pending_t *p = &self->pending [i];
        if (p->state == s_FREE)
            continue;
        if (p->state == s_WAIT_STORE && (cursor >= p->seq || now >= p->deadline)) {
            s_settle (self, p, s_accepted (p, cursor >= p->seq));
            continue;
        }
        if (p->state == s_WAIT_BROKER && now >= p->deadline) {
            s_log ('W', "console: no answer from broker %s about %s %s within %d ms",
                   ih_client_endpoint (self->client), ih_kind_name (p->kind), p->id, self->broker_ms);
            s_settle (self, p, ih_control_refuse ("unavailable", "no answer from broker %s within %d ms;"
                                                  " it may still have taken the message",
                                                  ih_client_endpoint (self->client), self->broker_ms));
            continue;
        }
        if (next < 0 || p->deadline - now < next)
            next = p->deadline - now;
    }
    return (int) next;
}

size_t
ih_signer_pending (ih_signer_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < IH_SIGNER_PENDING; i++)
        n += self->pending [i].state != s_FREE;
    return n;
}

void
ih_signer_destroy (ih_signer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_signer_t *self = *self_p;
    for (size_t i = 0; i < IH_SIGNER_PENDING; i++)
        if (self->pending [i].state != s_FREE)
            s_settle (self, &self->pending [i],
                      ih_control_refuse ("unavailable", "the agent daemon is stopping"));
    sodium_free (self->sk);         //  wipes, then unmaps
    sodium_free (self->ckey);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

/*  Signs m and sends it on the session; the request is deferred until the broker answers.
    Returns NULL (deferred) or the refusal. Frees nothing: m stays the caller's. */
static json_t *
s_send (ih_signer_t *self, ih_msg_t *m)
{
    if (!self->client || !ih_client_connected (self->client))
        return ih_control_refuse ("unavailable", "the agent is not connected to broker %s (yet)",
                                  self->client ? ih_client_endpoint (self->client) : "?");
    s_pending_t *p = NULL;
    for (size_t i = 0; i < IH_SIGNER_PENDING && !p; i++)
        if (self->pending [i].state == s_FREE)
            p = &self->pending [i];
    if (!p)
        return ih_control_refuse ("busy", "%d messages are waiting for the broker already", IH_SIGNER_PENDING);
    ih_buf_t body;
    ih_buf_init (&body);
    uint8_t sig [64];
    ih_err_t err = { "" };
    json_t *refusal = NULL;
    uint64_t req = 0;
    if (ih_signer_sign (self, m, &body, sig, &err) != 0)
        refusal = ih_control_refuse ("bad-request", "%s", err.msg);
    else
    if (ih_client_publish_send (self->client, body.data, body.len, sig, &req, &err) != 0)
        refusal = ih_control_refuse ("unavailable", "%s", err.msg);
    ih_buf_free (&body);
    if (refusal)
        return refusal;
    p->state = s_WAIT_BROKER;
    p->req = req;
    p->deadline = zclock_mono () + self->broker_ms;
    p->kind = m->kind;
    snprintf (p->id, sizeof p->id, "%s", m->id);
    p->revision = m->revision;
    p->creq = ih_control_defer (self->control);
    char q [IH_QUOTE_BUF];
    s_log ('I', "console: sent %s %s%s%s%s%s%s", ih_kind_name (m->kind), m->id, m->ref [0] ? " on " : "",
           m->ref, *m->author ? " by '" : "", ih_quote (m->author, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q),
           *m->author ? "'" : "");
    return NULL;
}

/* ---- the fields of a request ---------------------------------------------------------------------- */

/*  A string field of at most max bytes: 1 present (*out), 0 absent, -1 wrong (*bad: the
    refusal). */
static int
s_str (json_t *req, const char *key, size_t max, const char **out, json_t **bad)
{
    json_t *v = json_object_get (req, key);
    if (!v)
        return 0;
    if (!json_is_string (v)) {
        *bad = ih_control_refuse ("bad-request", "%s: expected a string", key);
        return -1;
    }
    if (json_string_length (v) > max) {
        *bad = ih_control_refuse ("bad-request", "%s: too long (%zu > %zu bytes)", key,
                                  json_string_length (v), max);
        return -1;
    }
    *out = json_string_value (v);
    return 1;
}

/*  A required string field. */
static int
s_need_str (json_t *req, const char *key, size_t max, const char **out, json_t **bad)
{
    int rc = s_str (req, key, max, out, bad);
    if (rc == 0) {
        *bad = ih_control_refuse ("bad-request", "%s: missing", key);
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

/*  "author": the console user's display name, into m ("" when absent). The body's
    validation (ih_msg_validate) refuses one that is not one line of text. */
static int
s_author (json_t *req, ih_msg_t *m, json_t **bad)
{
    const char *a = "";
    if (s_str (req, "author", IH_MAX_AUTHOR, &a, bad) < 0)
        return -1;
    m->author = ih_msg_str (m, a);
    return 0;
}

/*  "ref": an alert id (required unless optional; "" then means none). */
static int
s_ref (json_t *req, bool optional, char out [IH_UUID_LEN + 1], json_t **bad)
{
    const char *ref = NULL;
    int rc = s_str (req, "ref", IH_UUID_LEN + 64, &ref, bad);
    if (rc < 0)
        return -1;
    if ((rc == 0 || !*ref) && optional) {
        out [0] = 0;
        return 0;
    }
    if (rc == 0) {
        *bad = ih_control_refuse ("bad-request", "ref: missing (the alert's id)");
        return -1;
    }
    if (!ih_uuid_valid (ref)) {
        char q [IH_QUOTE_BUF];
        *bad = ih_control_refuse ("bad-request", "ref: '%s' is not an alert id (a lower-case UUID)",
                                  ih_quote (ref, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
        return -1;
    }
    memcpy (out, ref, IH_UUID_LEN + 1);
    return 0;
}

/*  An IOC from "type" (optional: guessed from the refanged value) and "value", in
    normal form. */
static int
s_ioc (json_t *obj, const char *where, ih_ioc_type_t *t, char out [IH_MAX_IOC_VALUE + 1], json_t **bad)
{
    const char *type = NULL, *value = NULL;
    char q [IH_QUOTE_BUF];
    if (s_str (obj, "type", 64, &type, bad) < 0 || s_need_str (obj, "value", 8 * IH_MAX_IOC_VALUE, &value, bad) < 0) {
        json_t *inner = *bad;
        *bad = ih_control_refuse ("bad-request", "%s%s", where, json_string_value (json_object_get (inner, "reason")));
        json_decref (inner);
        return -1;
    }
    if (type) {
        if (ih_ioc_type_parse (type, t) != 0) {
            *bad = ih_control_refuse ("bad-request", "%stype: unknown IOC type '%s'", where,
                                      ih_quote (type, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
            return -1;
        }
    }
    else {
        char refanged [IH_MAX_IOC_VALUE + 1];
        if (ih_ioc_refang (value, refanged, sizeof refanged) < 0 || ih_ioc_guess (refanged, t) != 0) {
            *bad = ih_control_refuse ("bad-request", "%svalue: cannot tell what kind of IOC '%s' is;"
                                      " give its type", where,
                                      ih_quote (value, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
            return -1;
        }
    }
    ih_err_t err = { "" };
    if (ih_ioc_normalise (*t, value, out, IH_MAX_IOC_VALUE + 1, &err) != 0) {
        *bad = ih_control_refuse ("bad-request", "%svalue: %s", where, err.msg);
        return -1;
    }
    return 0;
}

/*  A message of kind about an alert, before signing: a fresh id, times now. */
static void
s_draft (ih_msg_t *m, ih_kind_t kind)
{
    ih_msg_init (m, kind);
    m->revision = 0;
    ih_uuid_new (m->id);
    m->created = m->modified = ih_now_ms ();
}

/* ---- the operations ------------------------------------------------------------------------------ */

static json_t *
s_ping (ih_signer_t *self)
{
    json_t *o = s_ok ();
    ih_client_t *c = self->client;
    json_object_set_new (o, "connected", json_boolean (c && ih_client_connected (c)));
    json_object_set_new (o, "broker", json_string (c ? ih_client_endpoint (c) : ""));
    json_object_set_new (o, "member", json_string (self->cfg->name));
    json_object_set_new (o, "org", json_string (self->cfg->org));
    json_object_set_new (o, "role", json_string (self->cfg->role ? self->cfg->role : "reader"));
    json_object_set_new (o, "cursor", json_integer (self->store ? (json_int_t) ih_store_cursor (self->store) : 0));
    json_object_set_new (o, "head", json_integer (c ? (json_int_t) ih_client_head (c) : 0));
    json_object_set_new (o, "owed", json_integer (c ? (json_int_t) ih_client_owed (c) : 0));
    json_object_set_new (o, "pending", json_integer ((json_int_t) ih_signer_pending (self)));
    return o;
}

/*  publish: a new alert, or the next revision of one the store holds ("id"). */
static json_t *
s_publish (ih_signer_t *self, json_t *req)
{
    json_t *bad = NULL;
    json_t *alert = json_object_get (req, "alert");
    if (!json_is_object (alert))
        return ih_control_refuse ("bad-request", "alert: missing (the alert JSON, an object)");
    const char *kind = json_string_value (json_object_get (alert, "kind"));
    if (json_object_get (alert, "kind") && (!kind || !streq (kind, "alert")))
        return ih_control_refuse ("bad-request", "alert.kind: publish takes an alert; comment, sighting"
                                  " and retract are operations of their own");
    //  `show --json` output revises as it is: its detail keys are the store's
    json_t *copy = json_deep_copy (alert);
    if (!copy)
        abort ();
    ih_view_strip (copy);
    ih_msg_t m;
    ih_err_t err = { "" };
    int rc = ih_msg_from_json (&m, copy, NULL, &err);
    json_decref (copy);
    if (rc != 0) {
        ih_msg_free (&m);
        return ih_control_refuse ("bad-request", "alert.%s", err.msg);
    }
    if (s_author (req, &m, &bad) < 0) {
        ih_msg_free (&m);
        return bad;
    }
    int64_t now = ih_now_ms ();
    if (m.id [0]) {
        //  A revision: the next one, its created kept; only of an alert we hold, and of
        //  our own org (the broker would refuse another's: not-owner).
        ih_msg_t old;
        ih_msg_init (&old, IH_KIND_ALERT);
        ih_store_alert_t info;
        int found = ih_store_get (self->store, m.id, &old, &info, &err);
        json_t *refusal = NULL;
        if (found < 0)
            refusal = ih_control_refuse ("internal", "%s", err.msg);
        else
        if (found == 0)
            refusal = ih_control_refuse ("unknown-alert", "id: this agent's store does not hold alert %s", m.id);
        else
        if (!streq (old.org, self->cfg->org))
            refusal = ih_control_refuse ("not-owner", "id: alert %s is %s's; only its publisher's org"
                                         " revises it", m.id, old.org);
        else {
            m.revision = info.revision + 1;
            m.created = old.created;
        }
        ih_msg_free (&old);
        if (refusal) {
            ih_msg_free (&m);
            return refusal;
        }
    }
    else {
        ih_uuid_new (m.id);
        m.revision = 1;
        m.created = now;
    }
    m.modified = now > m.created ? now : m.created;
    ih_event_t ev;
    if (ih_msg_event (&m, &ev, &err) < 0) {
        ih_msg_free (&m);
        return ih_control_refuse ("bad-request", "alert.%s", err.msg);
    }
    json_t *answer = s_send (self, &m);
    ih_msg_free (&m);
    return answer;
}

static json_t *
s_comment (ih_signer_t *self, json_t *req)
{
    json_t *bad = NULL;
    ih_msg_t m;
    s_draft (&m, IH_KIND_COMMENT);
    const char *text = NULL;
    if (s_ref (req, false, m.ref, &bad) < 0 || s_need_str (req, "text", IH_MAX_TEXT, &text, &bad) < 0
    ||  s_author (req, &m, &bad) < 0) {
        ih_msg_free (&m);
        return bad;
    }
    m.text = ih_msg_str (&m, text);
    json_t *answer = s_send (self, &m);
    ih_msg_free (&m);
    return answer;
}

static json_t *
s_sighting (ih_signer_t *self, json_t *req)
{
    json_t *bad = NULL;
    ih_msg_t m;
    s_draft (&m, IH_KIND_SIGHTING);
    const char *tlp = NULL;
    ih_ioc_type_t t;
    char value [IH_MAX_IOC_VALUE + 1];
    if (s_ref (req, true, m.ref, &bad) < 0 || s_author (req, &m, &bad) < 0
    ||  s_need_str (req, "tlp", 64, &tlp, &bad) < 0 || s_ioc (req, "", &t, value, &bad) < 0) {
        ih_msg_free (&m);
        return bad;
    }
    char q [IH_QUOTE_BUF];
    if (ih_tlp_parse (tlp, &m.tlp) != 0) {
        ih_msg_free (&m);
        return ih_control_refuse ("bad-request", "tlp: unknown level '%s'",
                                  ih_quote (tlp, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
    }
    json_t *count = json_object_get (req, "count");
    if (count && (!json_is_integer (count) || json_integer_value (count) < 1
              ||  json_integer_value (count) > 1000000)) {
        ih_msg_free (&m);
        return ih_control_refuse ("bad-request", "count: expected a number in 1..1000000");
    }
    m.count = count ? (uint32_t) json_integer_value (count) : 1;
    ih_msg_ioc_add (&m, t, value, "", false);
    json_t *answer = s_send (self, &m);
    ih_msg_free (&m);
    return answer;
}

static json_t *
s_retract (ih_signer_t *self, json_t *req)
{
    json_t *bad = NULL;
    ih_msg_t m;
    s_draft (&m, IH_KIND_RETRACTION);
    const char *text = "";
    if (s_ref (req, false, m.ref, &bad) < 0 || s_author (req, &m, &bad) < 0
    ||  s_str (req, "text", IH_MAX_TEXT, &text, &bad) < 0) {
        ih_msg_free (&m);
        return bad;
    }
    m.text = ih_msg_str (&m, text);
    json_t *iocs = json_object_get (req, "iocs");
    if (iocs) {
        //  Absent is the whole alert; an empty list is more likely a form sent with
        //  nothing ticked than a wish to withdraw everything.
        if (!json_is_array (iocs) || json_array_size (iocs) == 0 || json_array_size (iocs) > IH_MAX_IOCS) {
            ih_msg_free (&m);
            return ih_control_refuse ("bad-request", "iocs: expected 1..%d IOCs ({type, value}); leave the"
                                      " key out to retract the whole alert", IH_MAX_IOCS);
        }
        for (size_t i = 0; i < json_array_size (iocs); i++) {
            json_t *o = json_array_get (iocs, i);
            char where [32], value [IH_MAX_IOC_VALUE + 1];
            snprintf (where, sizeof where, "iocs[%zu].", i);
            ih_ioc_type_t t;
            if (!json_is_object (o)) {
                ih_msg_free (&m);
                return ih_control_refuse ("bad-request", "iocs[%zu]: expected an object {type, value}", i);
            }
            if (s_ioc (o, where, &t, value, &bad) < 0) {
                ih_msg_free (&m);
                return bad;
            }
            bool dup = false;
            for (uint32_t k = 0; k < m.ioc_count && !dup; k++)
                dup = m.iocs [k].type == t && streq (m.iocs [k].value, value);
            if (!dup)
                ih_msg_ioc_add (&m, t, value, "", false);
        }
    }
    json_t *answer = s_send (self, &m);
    ih_msg_free (&m);
    return answer;
}

static json_t *
s_totp_check (ih_signer_t *self, json_t *req)
{
    json_t *bad = NULL;
    const char *sealed_hex = NULL, *code = NULL, *name = "";
    if (s_need_str (req, "sealed", 2 * IH_TOTP_SEALED, &sealed_hex, &bad) < 0
    ||  s_need_str (req, "code", 64, &code, &bad) < 0 || s_str (req, "name", 128, &name, &bad) < 0)
        return bad;
    uint8_t sealed [IH_TOTP_SEALED];
    if (strlen (sealed_hex) != 2 * IH_TOTP_SEALED || ih_hex_decode (sealed_hex, sealed, sizeof sealed) != 0)
        return ih_control_refuse ("bad-request", "sealed: expected %d hex digits", 2 * IH_TOTP_SEALED);
    ih_err_t err = { "" };
    if (s_console_key (self, false, &err) != 0)
        return ih_control_refuse ("no-console-key", "%s", err.msg);
    uint8_t secret [IH_TOTP_SECRET];
    int rc = ih_totp_unseal (self->ckey, sealed, secret);
    s_console_key_done (self);
    if (rc != 0) {
        sodium_memzero (secret, sizeof secret);
        return ih_control_refuse ("bad-sealed", "sealed: not sealed with this console key (or altered)");
    }
    uint64_t step = 0;
    rc = ih_totp_verify (secret, sizeof secret, code, (int64_t) time (NULL), &step);
    sodium_memzero (secret, sizeof secret);
    char q [IH_QUOTE_BUF];
    if (rc < 0)
        return ih_control_refuse ("bad-request", "code: expected %d digits", IH_TOTP_DIGITS);
    if (rc == 0) {
        s_log ('I', "console: wrong TOTP code for '%s'", ih_quote (name, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
        return ih_control_refuse ("wrong-code", "the code does not match");
    }
    json_t *o = s_ok ();
    json_object_set_new (o, "step", json_integer ((json_int_t) step));
    return o;
}

static json_t *
s_totp_new (ih_signer_t *self, json_t *req)
{
    json_t *bad = NULL;
    const char *issuer = self->cfg->console_issuer ? self->cfg->console_issuer : "Infohub";
    const char *account = NULL;
    if (s_need_str (req, "account", 128, &account, &bad) < 0 || s_str (req, "issuer", 128, &issuer, &bad) < 0)
        return bad;
    for (const unsigned char *p = (const unsigned char *) account; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return ih_control_refuse ("bad-request", "account: control character");
    if (!*account)
        return ih_control_refuse ("bad-request", "account: empty");
    ih_err_t err = { "" };
    if (s_console_key (self, true, &err) != 0)
        return ih_control_refuse ("no-console-key", "%s", err.msg);
    uint8_t secret [IH_TOTP_SECRET], sealed [IH_TOTP_SEALED];
    ih_totp_secret_new (secret);
    ih_totp_seal (self->ckey, secret, sealed);
    s_console_key_done (self);
    char hex [2 * IH_TOTP_SEALED + 1], b32 [64];
    ih_hex_encode (sealed, sizeof sealed, hex);
    ih_totp_base32 (secret, b32, sizeof b32);
    ih_buf_t uri, svg;
    ih_buf_init (&uri);
    ih_buf_init (&svg);
    ih_totp_uri (secret, issuer, account, &uri);
    sodium_memzero (secret, sizeof secret);
    ih_buf_append (&uri, "", 1);
    json_t *o = s_ok ();
    json_object_set_new (o, "sealed", json_string (hex));
    json_object_set_new (o, "secret", json_string (b32));
    json_object_set_new (o, "uri", json_string ((const char *) uri.data));
    if (ih_totp_qr_svg ((const char *) uri.data, &svg, &err) == 0) {
        ih_buf_append (&svg, "", 1);
        json_object_set_new (o, "qr", json_string ((const char *) svg.data));
    }
    sodium_memzero (b32, sizeof b32);
    sodium_memzero (uri.data, uri.len);
    ih_buf_free (&uri);
    ih_buf_free (&svg);
    return o;
}

/* ---- the handler ----------------------------------------------------------------------------------- */

json_t *
ih_signer_handle (const char *op, json_t *request, void *arg)
{
    ih_signer_t *self = (ih_signer_t *) arg;
    if (streq (op, "ping"))
        return s_ping (self);
    if (streq (op, "publish"))
        return s_publish (self, request);
    if (streq (op, "comment"))
        return s_comment (self, request);
    if (streq (op, "sighting"))
        return s_sighting (self, request);
    if (streq (op, "retract"))
        return s_retract (self, request);
    if (streq (op, "totp-check"))
        return s_totp_check (self, request);
    if (streq (op, "totp-new"))
        return s_totp_new (self, request);
    return NULL;
}

void
ih_signer_set_waits (ih_signer_t *self, int broker_ms, int store_ms)
{
    self->broker_ms = broker_ms;
    self->store_ms = store_ms;
}

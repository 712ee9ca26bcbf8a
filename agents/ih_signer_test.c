/*  ih_signer_test.c: the self-test of ih_signer, kept apart from the code.

    A daemon in miniature: a fake broker (the test kit's), a session client, a store and
    the control socket, served by a loop thread as cmd_run serves them; the test plays
    the console (requests on the socket) and the broker (answers, or none).
*/
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>

#include "ih_codec.h"
#include "ih_keys.h"
#include "ih_signer.h"

#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    ih_signer_t *signer;
    ih_client_t *client;
    ih_control_t *control;
    volatile uint64_t cursor;       //  what the store would hold
    volatile int stop;
} s_loop_t;

static void *
s_loop (void *arg)
{
    s_loop_t *l = (s_loop_t *) arg;
    while (!l->stop) {
        ih_env_t *e = NULL;
        ih_err_t err = { "" };
        if (ih_client_recv (l->client, &e, 20, &err) == 1)
            ih_signer_on_event (l->signer, e);
        ih_control_serve (l->control);
        ih_signer_tick (l->signer, l->cursor);
    }
    return NULL;
}

/*  The console: a request sent on its own REQ socket (answer it with s_answer). */
static zsock_t *
s_ask (const char *path, const char *json)
{
    zsock_t *s = zsock_new (ZMQ_REQ);
    IH_CHECK (s);
    zsock_set_linger (s, 0);
    zsock_set_rcvtimeo (s, 5000);
    IH_CHECK (zsock_connect (s, "ipc://%s", path) == 0);
    IH_CHECK (zstr_send (s, json) == 0);
    return s;
}

static json_t *
s_answer (zsock_t **s)
{
    char *text = zstr_recv (*s);
    IH_CHECK (text);
    json_t *a = json_loads (text, 0, NULL);
    IH_CHECK (a);
    zstr_free (&text);
    zsock_destroy (s);
    return a;
}

static json_t *
s_call (const char *path, const char *json)
{
    zsock_t *s = s_ask (path, json);
    return s_answer (&s);
}

static bool
s_refused (json_t *a, const char *code, const char *reason, bool verbose)
{
    const char *c = json_string_value (json_object_get (a, "code"));
    const char *r = json_string_value (json_object_get (a, "reason"));
    if (verbose)
        printf ("\n    %s: %s", c ? c : "?", r ? r : "?");
    bool ok = json_is_false (json_object_get (a, "ok")) && c && streq (c, code) && r && strstr (r, reason)
           && !strchr (r, '\n');
    if (!ok)
        fprintf (stderr, "\nexpected %s '%s', got %s\n", code, reason, json_dumps (a, 0));
    json_decref (a);
    return ok;
}

/*  The broker's side of one publish: the envelope, its body decoded and its signature
    checked against pk. */
static uint64_t
s_broker_publish (ih_tk_broker_t *broker, const uint8_t pk [32], ih_msg_t *m)
{
    ih_env_t e;
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PUBLISH, &e, 5000, NULL, NULL));
    ih_err_t err = { "" };
    IH_CHECK (ih_body_decode (m, e.body, e.body_len, &err) == 0);
    IH_CHECK (ih_verify (e.sig, IH_CTX_MSG, e.body, e.body_len, pk, &err) == 0);
    uint64_t req = e.req;
    ih_env_free (&e);
    return req;
}

static void
s_broker_ok (ih_tk_broker_t *broker, uint64_t req, uint64_t seq, const char *id)
{
    ih_env_t ok;
    ih_env_init (&ok, IH_T_OK);
    ok.req = req;
    ok.seq = seq;
    ok.id = id;
    ih_tk_broker_send (broker, &ok);
}

void
ih_signer_test (bool verbose)
{
    ih_sign_init ();
    char dir [256], key [300], ckey [300], store_dir [300], sock [300];
    ih_tk_tempdir ("signer", dir, sizeof dir);
    ih_tk_path (key, sizeof key, dir, "signing.key");
    ih_tk_path (ckey, sizeof ckey, dir, "console.key");
    ih_tk_path (store_dir, sizeof store_dir, dir, "store");
    ih_tk_path (sock, sizeof sock, dir, "agent.sock");
    uint8_t pk [IH_PK_LEN], sk [IH_SK_LEN];
    ih_sign_keypair (pk, sk);
    ih_err_t err = { "" };
    IH_CHECK (ih_keys_save_signing (key, pk, sk, &err) == 0);
    sodium_memzero (sk, sizeof sk);

    ih_agent_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.name = "soc";
    cfg.org = "bank-a";
    cfg.role = "publisher";
    cfg.signing_key = key;
    cfg.console_key = ckey;
    cfg.console_issuer = (char *) "Infohub bank-a";

    //  No key file: no signer
    ih_agent_cfg_t nokey = cfg;
    nokey.signing_key = (char *) "/nonexistent/signing.key";
    IH_CHECK (ih_signer_new (&nokey, &err) == NULL && strstr (err.msg, "/nonexistent/signing.key"));

    //  The key is read once: afterwards the file may be gone
    ih_signer_t *signer = ih_signer_new (&cfg, &err);
    IH_CHECK (signer);
    IH_CHECK (unlink (key) == 0);
    ih_msg_t m, d;
    ih_tk_ref (&m, NULL, IH_KIND_COMMENT, "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    m.author = "Ana";
    ih_buf_t body;
    ih_buf_init (&body);
    uint8_t sig [64];
    IH_CHECK (ih_signer_sign (signer, &m, &body, sig, &err) == 0);
    IH_CHECK (streq (m.org, "bank-a") && streq (m.member, "soc") && memcmp (m.signer, pk, 32) == 0);
    IH_CHECK (ih_verify (sig, IH_CTX_MSG, body.data, body.len, pk, &err) == 0);
    m.author = "two\nlines";
    IH_CHECK (ih_signer_sign (signer, &m, &body, sig, &err) == -1 && strstr (err.msg, "author:"));
    ih_msg_free (&m);
    ih_buf_free (&body);

    //  The daemon in miniature
    ih_store_t *store = ih_store_open (store_dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_tk_broker_t *broker = ih_tk_broker_new ();
    zcert_t *cert = zcert_new ();
    ih_client_cfg_t ccfg = { ih_tk_broker_endpoint (broker), ih_tk_broker_key (broker), cert, "agent",
                             "selftest/1", 0, true };
    ih_client_t *client = ih_client_new (&ccfg, &err);
    IH_CHECK (client);
    ih_client_hello_t hello;
    memset (&hello, 0, sizeof hello);
    IH_CHECK (ih_client_subscribe (client, &hello, &err) == 0);
    ih_control_t *control = ih_control_new (sock, ih_signer_handle, signer, &err);
    IH_CHECK (control);
    ih_signer_attach (signer, store, client, control);
    ih_signer_set_waits (signer, 500, 300);
    ih_client_wake_on (client, ih_control_sock (control));
    //  Not connected yet: refused at once
    s_loop_t loop = { signer, client, control, 0, 0 };
    pthread_t thread;
    IH_CHECK (pthread_create (&thread, NULL, s_loop, &loop) == 0);
    IH_CHECK (s_refused (s_call (sock, "{\"op\":\"comment\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\","
                                        "\"text\":\"x\"}"), "unavailable", "not connected", verbose));
    ih_env_t e;
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 5000, NULL, NULL));
    ih_env_free (&e);
    ih_env_t w;
    ih_env_init (&w, IH_T_WELCOME);
    w.head = 6;
    w.owed = 6;
    w.heartbeat = 60000;            //  no pings in this test
    w.member = "soc";
    w.org = "bank-a";
    ih_tk_broker_send (broker, &w);
    json_t *a = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref (a);
        a = s_call (sock, "{\"op\":\"ping\"}");
        if (json_is_true (json_object_get (a, "connected")))
            break;
        zclock_sleep (20);
    }
    IH_CHECK (json_is_true (json_object_get (a, "connected")));
    IH_CHECK (streq (json_string_value (json_object_get (a, "member")), "soc"));
    IH_CHECK (json_integer_value (json_object_get (a, "head")) == 6);
    json_decref (a);

    //  A comment: signed with the author, sent, answered after the broker's ok; the
    //  store does not hold it yet, so "stored" is false once the wait ends
    zsock_t *q = s_ask (sock, "{\"op\":\"comment\",\"author\":\"Ana M\\u00fcller\","
                              "\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"text\":\"seen\"}");
    uint64_t req = s_broker_publish (broker, pk, &d);
    IH_CHECK (d.kind == IH_KIND_COMMENT && streq (d.author, "Ana M\xc3\xbcller") && streq (d.text, "seen"));
    IH_CHECK (streq (d.org, "bank-a") && streq (d.member, "soc"));
    s_broker_ok (broker, req, 7, d.id);
    a = s_answer (&q);
    IH_CHECK (json_is_true (json_object_get (a, "ok")) && json_integer_value (json_object_get (a, "seq")) == 7);
    IH_CHECK (streq (json_string_value (json_object_get (a, "id")), d.id));
    IH_CHECK (streq (json_string_value (json_object_get (a, "kind")), "comment"));
    IH_CHECK (json_is_false (json_object_get (a, "stored")) && !json_object_get (a, "revision"));
    json_decref (a);
    ih_msg_free (&d);
    //  ... and true when the store has caught up
    loop.cursor = 8;
    q = s_ask (sock, "{\"op\":\"publish\",\"author\":\"Ana\",\"alert\":{\"title\":\"T\",\"tlp\":\"amber\","
                     "\"severity\":\"High\",\"category\":\"phishing\",\"author\":\"ignored\",\"recipients\":[\"bank-b\"],"
                     "\"iocs\":[{\"type\":\"domain\",\"value\":\"evil[.]example\"}]}}");
    req = s_broker_publish (broker, pk, &d);
    IH_CHECK (d.kind == IH_KIND_ALERT && d.revision == 1 && streq (d.author, "Ana") && d.tlp == IH_TLP_AMBER);
    IH_CHECK (d.ioc_count == 1 && streq (d.iocs [0].value, "evil.example") && d.created == d.modified);
    s_broker_ok (broker, req, 8, d.id);
    a = s_answer (&q);
    IH_CHECK (json_is_true (json_object_get (a, "stored")) && json_integer_value (json_object_get (a, "revision")) == 1);
    json_decref (a);
    ih_msg_free (&d);

    //  The broker's refusal comes back as it is
    q = s_ask (sock, "{\"op\":\"sighting\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"tlp\":\"GREEN\","
                     "\"value\":\"hxxp://evil[.]example/x\",\"count\":2}");
    req = s_broker_publish (broker, pk, &d);
    IH_CHECK (d.kind == IH_KIND_SIGHTING && d.count == 2 && d.iocs [0].type == IH_IOC_URL && streq (d.author, ""));
    ih_msg_free (&d);
    ih_env_t no;
    ih_env_init (&no, IH_T_ERROR);
    no.req = req;
    no.code = "unknown-alert";
    no.reason = "ref: no such alert";
    ih_tk_broker_send (broker, &no);
    IH_CHECK (s_refused (s_answer (&q), "unknown-alert", "ref: no such alert", verbose));
    //  No answer at all: "unavailable" when the wait ends
    q = s_ask (sock, "{\"op\":\"retract\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\","
                     "\"iocs\":[{\"type\":\"domain\",\"value\":\"EVIL.example\"},{\"type\":\"domain\",\"value\":\"evil.example\"}]}");
    req = s_broker_publish (broker, pk, &d);
    IH_CHECK (d.kind == IH_KIND_RETRACTION && d.ioc_count == 1 && !d.iocs [0].detect);
    ih_msg_free (&d);
    IH_CHECK (s_refused (s_answer (&q), "unavailable", "no answer from broker", verbose));
    //  Refused before anything is signed: each names its field
    static const struct { const char *json, *code, *reason; } bad [] = {
        { "{\"op\":\"publish\",\"alert\":{\"id\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"title\":\"T\","
          "\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\"}}", "unknown-alert", "does not hold" },
        { "{\"op\":\"publish\",\"alert\":{\"title\":\"T\",\"tlp\":\"GREEN\",\"severity\":\"low\","
          "\"category\":\"event\",\"tags\":[\"date:2027-13-01\"]}}", "bad-request", "alert.tags[0]: 'date:2027-13-01'" },
        { "{\"op\":\"publish\",\"alert\":[]}", "bad-request", "alert: missing" },
        { "{\"op\":\"comment\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"text\":\"\"}", "bad-request",
          "text: must not be empty" },
        { "{\"op\":\"sighting\",\"tlp\":\"PINK\",\"value\":\"evil.example\"}", "bad-request", "tlp: unknown level 'PINK'" },
        { "{\"op\":\"retract\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"iocs\":[{\"value\":\"x\"}]}",
          "bad-request", "iocs[0].value: cannot tell" },
        { "{\"op\":\"retract\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"iocs\":[5]}",
          "bad-request", "iocs[0]: expected an object" },
        { "{\"op\":\"totp-check\",\"sealed\":\"zz\",\"code\":\"1\"}", "bad-request", "sealed: expected 120 hex digits" },
        { "{\"op\":\"totp-new\",\"account\":\"a\\u0007b\"}", "bad-request", "account: control character" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        IH_CHECK (s_refused (s_call (sock, bad [i].json), bad [i].code, bad [i].reason, verbose));

    //  TOTP: no console key yet: a check cannot work, an enrolment makes the key
    char sealed0 [2 * IH_TOTP_SEALED + 64];
    memset (sealed0, '0', 2 * IH_TOTP_SEALED);
    snprintf (sealed0 + 2 * IH_TOTP_SEALED, 64, "%s", "");
    char req_json [512];
    snprintf (req_json, sizeof req_json, "{\"op\":\"totp-check\",\"sealed\":\"%s\",\"code\":\"123456\"}", sealed0);
    IH_CHECK (s_refused (s_call (sock, req_json), "no-console-key", "console.key", verbose));
    a = s_call (sock, "{\"op\":\"totp-new\",\"account\":\"ana\"}");
    IH_CHECK (json_is_true (json_object_get (a, "ok")));
    struct stat st;
    IH_CHECK (stat (ckey, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == IH_TOTP_KEY);
    const char *sealed_hex = json_string_value (json_object_get (a, "sealed"));
    IH_CHECK (sealed_hex && strlen (sealed_hex) == 2 * IH_TOTP_SEALED);
    IH_CHECK (strstr (json_string_value (json_object_get (a, "uri")), "otpauth://totp/Infohub%20bank-a:ana?secret="));
    IH_CHECK (strstr (json_string_value (json_object_get (a, "qr")), "<svg"));
    uint8_t k [IH_TOTP_KEY], sealed [IH_TOTP_SEALED], secret [IH_TOTP_SECRET];
    IH_CHECK (ih_totp_key_load (ckey, false, k, &err) == 0);
    IH_CHECK (ih_hex_decode (sealed_hex, sealed, sizeof sealed) == 0);
    IH_CHECK (ih_totp_unseal (k, sealed, secret) == 0);
    char b32 [64];
    ih_totp_base32 (secret, b32, sizeof b32);
    IH_CHECK (streq (b32, json_string_value (json_object_get (a, "secret"))));
    char code [IH_TOTP_DIGITS + 1];
    int64_t now = (int64_t) time (NULL);
    ih_totp_code (secret, sizeof secret, now, code);
    snprintf (req_json, sizeof req_json, "{\"op\":\"totp-check\",\"sealed\":\"%s\",\"code\":\"%s\",\"name\":\"ana\"}",
              sealed_hex, code);
    json_t *c = s_call (sock, req_json);
    IH_CHECK (json_is_true (json_object_get (c, "ok")));
    uint64_t step = (uint64_t) json_integer_value (json_object_get (c, "step"));
    IH_CHECK (step + 1 >= (uint64_t) now / 30 && step <= (uint64_t) now / 30 + 1);
    json_decref (c);
    code [0] = code [0] == '9' ? '0' : (char) (code [0] + 1);
    snprintf (req_json, sizeof req_json, "{\"op\":\"totp-check\",\"sealed\":\"%s\",\"code\":\"%s\"}", sealed_hex, code);
    IH_CHECK (s_refused (s_call (sock, req_json), "wrong-code", "does not match", verbose));
    sealed [30] ^= 1;
    char hex [2 * IH_TOTP_SEALED + 1];
    ih_hex_encode (sealed, sizeof sealed, hex);
    snprintf (req_json, sizeof req_json, "{\"op\":\"totp-check\",\"sealed\":\"%s\",\"code\":\"%s\"}", hex, code);
    IH_CHECK (s_refused (s_call (sock, req_json), "bad-sealed", "not sealed with this console key", verbose));
    json_decref (a);
    sodium_memzero (k, sizeof k);
    sodium_memzero (secret, sizeof secret);

    //  Stopping with a publish in flight: it is answered, not left hanging
    q = s_ask (sock, "{\"op\":\"comment\",\"ref\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\",\"text\":\"late\"}");
    s_broker_publish (broker, pk, &d);
    ih_msg_free (&d);
    IH_CHECK (ih_signer_pending (signer) == 1);
    loop.stop = 1;
    pthread_join (thread, NULL);
    ih_signer_destroy (&signer);
    ih_signer_destroy (&signer);
    IH_CHECK (s_refused (s_answer (&q), "unavailable", "stopping", verbose));

    ih_control_destroy (&control);
    ih_client_destroy (&client);
    zcert_destroy (&cert);
    ih_tk_broker_destroy (&broker);
    ih_store_destroy (&store);
    ih_tk_rmtree (dir);
    if (verbose)
        printf ("\n");
}
#endif

/*  ih_client_test.c: the self-test of ih_client (item verification, and a session against
    the test kit's fake broker: hello, welcome, deliveries, pings, publishing without
    waiting, the roster, the wake socket, refusals, reconnects), kept apart from the code. */
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#include "ih_client.h"
#include "ih_sign.h"

#ifdef IH_SELFTEST
#include "ih_testkit.h"

static void
s_test_record (ih_member_t *r, const char *name, const char *org, const uint8_t sign_pk [32])
{
    memset (r, 0, sizeof *r);
    snprintf (r->name, sizeof r->name, "%s", name);
    snprintf (r->org, sizeof r->org, "%s", org);
    snprintf (r->sector, sizeof r->sector, "finance");
    r->role = IH_ROLE_PUBLISHER;
    randombytes_buf (r->curve, 32);
    memcpy (r->sign, sign_pk, 32);
    r->created = 1767225600000;     //  2026-01-01
    r->gateway = false;
}

static void
s_test_alert (ih_msg_t *m, const char *org, const char *member, const uint8_t signer [32])
{
    ih_msg_init (m, IH_KIND_ALERT);
    ih_uuid_new (m->id);
    m->revision = 1;
    m->created = m->modified = 1767225600000;
    m->org = ih_msg_str (m, org);
    m->member = ih_msg_str (m, member);
    memcpy (m->signer, signer, 32);
    m->title = ih_msg_str (m, "Phishing wave against banks");
    m->summary = ih_msg_str (m, "Look *out*.");
    m->tlp = IH_TLP_GREEN;
    m->severity = IH_SEV_HIGH;
    m->category = IH_CAT_PHISHING;
    ih_msg_strlist_add (m, &m->sectors, "finance");
    ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", true);
    ih_msg_ioc_add (m, IH_IOC_IPV4, "192.0.2.1", "c2", true);
}

/*  Builds an item: record signed with reg_sk, body signed with msg_sk. */
static void
s_test_item (ih_item_t *it, ih_buf_t *rec_buf, uint8_t rec_sig [64], ih_buf_t *body_buf,
             uint8_t sig [64], const ih_member_t *r, const uint8_t reg_sk [64],
             const ih_msg_t *m, const uint8_t msg_sk [64])
{
    IH_CHECK (ih_member_encode (r, rec_buf, NULL) == 0);
    ih_sign (rec_sig, IH_CTX_MEMBER, rec_buf->data, rec_buf->len, reg_sk);
    IH_CHECK (ih_body_encode (m, body_buf, NULL) == 0);
    ih_sign (sig, IH_CTX_MSG, body_buf->data, body_buf->len, msg_sk);
    it->seq = 7;
    it->body = body_buf->data;
    it->body_len = body_buf->len;
    it->sig = sig;
    it->rec = rec_buf->data;
    it->rec_len = rec_buf->len;
    it->rec_sig = rec_sig;
}

/*  Receives from the client until an envelope of type t (others are dropped). */
static ih_env_t *
s_client_expect (ih_client_t *c, ih_type_t t, int timeout)
{
    int64_t deadline = zclock_mono () + timeout;
    while (zclock_mono () < deadline) {
        ih_env_t *e = NULL;
        int rc = ih_client_recv (c, &e, (int) (deadline - zclock_mono ()), NULL);
        if (rc == 1 && e->type == t)
            return e;
    }
    return NULL;
}

/*  Lets the single-threaded client run its session while the fake broker waits. */
static void
s_pump (void *arg)
{
    ih_env_t *ignored;
    ih_client_recv ((ih_client_t *) arg, &ignored, 10, NULL);
}

/*  A session against the test kit's fake broker: hello, welcome, deliver, ack,
    ping/pong, no-session, a silent broker (reconnect with the cursor), publish ok and
    error. */
static void
s_test_session (bool verbose, const ih_item_t *item)
{
    ih_tk_broker_t *broker = ih_tk_broker_new ();
    zcert_t *client_cert = zcert_new ();
    ih_client_cfg_t cfg = { ih_tk_broker_endpoint (broker), ih_tk_broker_key (broker), client_cert,
                            "test", "selftest/1", 0, true };
    ih_err_t err = { "" };
    ih_client_t *c = ih_client_new (&cfg, &err);
    IH_CHECK (c);
    ih_client_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.cursor = 0;
    hello.window = 50;
    IH_CHECK (ih_client_subscribe (c, &hello, &err) == 0);
    ih_client_set_refused_ms (c, 200);

    ih_env_t e;
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, c));
    IH_CHECK (e.cursor == 0 && e.window == 50 && streq (e.agent, "selftest/1"));
    ih_env_free (&e);
    IH_CHECK (!ih_client_connected (c));

    //  welcome (heartbeat 100 ms) and a delivery
    ih_env_t w;
    ih_env_init (&w, IH_T_WELCOME);
    w.head = 7;
    w.owed = 6;
    w.heartbeat = 100;
    w.member = "soc";
    w.org = "bank-a";
    ih_tk_broker_send (broker, &w);
    ih_env_t *got = s_client_expect (c, IH_T_WELCOME, 3000);
    IH_CHECK (got && got->head == 7);
    IH_CHECK (ih_client_connected (c) && ih_client_heartbeat (c) == 100 && ih_client_head (c) == 7);
    IH_CHECK (ih_client_owed (c) == 6);
    ih_item_t it = *item;
    it.seq = 7;
    ih_tk_broker_deliver (broker, &it, 1);
    got = s_client_expect (c, IH_T_DELIVER, 3000);
    IH_CHECK (got && got->item_count == 1 && got->items [0].seq == 7);
    IH_CHECK (ih_client_owed (c) == 7);             //  delivered, so owed
    IH_CHECK (got->items [0].body_len == item->body_len
           && memcmp (got->items [0].body, item->body, item->body_len) == 0);
    IH_CHECK (ih_client_ack (c, 7, &err) == 0);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, c) && e.seq == 7);
    ih_env_free (&e);

    //  pings come every heartbeat; answer one
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PING, &e, 3000, s_pump, c));
    ih_env_free (&e);
    ih_env_t pong;
    ih_env_init (&pong, IH_T_PONG);
    pong.head = 9;
    pong.owed = 8;
    ih_tk_broker_send (broker, &pong);
    got = s_client_expect (c, IH_T_PONG, 3000);
    IH_CHECK (got && ih_client_head (c) == 9 && ih_client_owed (c) == 8);

    //  a publish on the session without waiting: its ok comes back through recv; the
    //  roster likewise
    uint64_t req = 0;
    IH_CHECK (ih_client_publish_send (c, item->body, item->body_len, item->sig, &req, &err) == 0 && req);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PUBLISH, &e, 3000, s_pump, c) && e.req == req);
    ih_env_free (&e);
    ih_env_t ok;
    ih_env_init (&ok, IH_T_OK);
    ok.req = req;
    ok.seq = 10;
    ok.id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    ih_tk_broker_send (broker, &ok);
    got = s_client_expect (c, IH_T_OK, 3000);
    IH_CHECK (got && got->req == req && got->seq == 10);
    IH_CHECK (ih_client_roster (c, &err) == 0);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ROSTER, &e, 3000, s_pump, c));
    ih_env_free (&e);
    //  input on the wake socket ends a wait at once
    zsock_t *wake_in = zsock_new_pair ("@inproc://ih-client-test-wake");
    zsock_t *wake_out = zsock_new_pair (">inproc://ih-client-test-wake");
    IH_CHECK (wake_in && wake_out);
    ih_client_wake_on (c, wake_in);
    zstr_send (wake_out, "now");
    int64_t t_wake = zclock_mono ();
    ih_env_t *none = NULL;
    IH_CHECK (ih_client_recv (c, &none, 5000, &err) == 0 && none == NULL);
    IH_CHECK (zclock_mono () - t_wake < 1000);
    char *word = zstr_recv (wake_in);
    zstr_free (&word);
    ih_client_wake_on (c, NULL);
    zsock_destroy (&wake_out);
    zsock_destroy (&wake_in);

    //  the broker forgot us: the client says hello again, from its cursor
    ih_env_t nos;
    ih_env_init (&nos, IH_T_ERROR);
    nos.code = "no-session";
    nos.reason = "who are you";
    ih_tk_broker_send (broker, &nos);
    got = s_client_expect (c, IH_T_ERROR, 3000);
    IH_CHECK (got && streq (got->code, "no-session"));
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, c) && e.cursor == 7);
    ih_env_free (&e);
    ih_tk_broker_send (broker, &w);
    IH_CHECK (s_client_expect (c, IH_T_WELCOME, 3000));

    //  refusals: `not-registered` is final only when the broker still says it
    //  refused_ms after the first time; `revoked` at once; a welcome clears both
    const char *why = NULL;
    IH_CHECK (ih_client_refused (c, &why) == IH_CLIENT_ADMITTED && streq (why, ""));
    ih_env_t unk;
    ih_env_init (&unk, IH_T_ERROR);
    unk.code = "not-registered";
    unk.reason = "key x is not registered";
    ih_tk_broker_send (broker, &unk);
    IH_CHECK (s_client_expect (c, IH_T_ERROR, 3000));
    IH_CHECK (ih_client_refused (c, NULL) == IH_CLIENT_ADMITTED);   //  enrolled a moment ago?
    zclock_sleep (250);
    ih_tk_broker_send (broker, &unk);
    IH_CHECK (s_client_expect (c, IH_T_ERROR, 3000));
    IH_CHECK (ih_client_refused (c, &why) == IH_CLIENT_NOT_REGISTERED);
    if (verbose)
        printf ("\n    refused: %s", why);
    IH_CHECK (strstr (why, "not-registered: key x is not registered (for 0 s)"));
    ih_tk_broker_send (broker, &w);
    IH_CHECK (s_client_expect (c, IH_T_WELCOME, 3000));
    IH_CHECK (ih_client_refused (c, NULL) == IH_CLIENT_ADMITTED);
    ih_env_t rvk;
    ih_env_init (&rvk, IH_T_ERROR);
    rvk.code = "revoked";
    rvk.reason = "member soc@bank-a is revoked";
    ih_tk_broker_send (broker, &rvk);
    IH_CHECK (s_client_expect (c, IH_T_ERROR, 3000));
    IH_CHECK (ih_client_refused (c, &why) == IH_CLIENT_REVOKED);
    IH_CHECK (streq (why, "revoked: member soc@bank-a is revoked"));
    ih_tk_broker_send (broker, &w);
    IH_CHECK (s_client_expect (c, IH_T_WELCOME, 3000));
    ih_env_free (&unk);
    ih_env_free (&rvk);

    //  a silent broker: after 3 heartbeats the client reconnects (new socket, new
    //  routing id) and says hello from its durable cursor
    int64_t t0 = zclock_mono ();
    ih_client_set_cursor (c, 8);
    zframe_t *old_rid = zframe_dup (ih_tk_broker_peer (broker));
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, c) && e.cursor == 8);
    ih_env_free (&e);
    IH_CHECK (!zframe_eq (old_rid, ih_tk_broker_peer (broker)));
    int64_t took = zclock_mono () - t0;
    if (verbose)
        printf ("\n    reconnected after %" PRId64 " ms of silence", took);
    IH_CHECK (took >= 300);
    zframe_destroy (&old_rid);
    ih_client_destroy (&c);

    //  request mode: ok, then an error, each matched to its req
    cfg.quiet = true;
    c = ih_client_new (&cfg, &err);
    IH_CHECK (c);
    uint8_t sig [64] = { 0 };
    //  a first request times out (nobody answers in time); its late answer must not be
    //  taken for the answer to the next request: replies are matched by req
    IH_CHECK (ih_client_publish_wait (c, item->body, item->body_len, sig, 300, NULL, NULL, NULL, &err) == -1);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PUBLISH, &e, 3000, NULL, NULL));
    IH_CHECK (e.req == 1 && e.body_len == item->body_len);
    ih_env_free (&e);
    ih_env_t late;
    ih_env_init (&late, IH_T_OK);
    late.req = 1;
    late.seq = 10;
    late.id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff";
    ih_tk_broker_send (broker, &late);  //  a late answer to req 1: ignored by req 2
    ih_env_t refuse;
    ih_env_init (&refuse, IH_T_ERROR);
    refuse.req = 2;
    refuse.code = "not-publisher";
    refuse.reason = "role: reader";
    ih_tk_broker_send (broker, &refuse);
    char code [32] = "";
    IH_CHECK (ih_client_publish_wait (c, item->body, item->body_len, sig, 3000, NULL, NULL, code, &err) == 1);
    IH_CHECK (streq (code, "not-publisher") && streq (err.msg, "role: reader"));
    ih_env_t okay;
    ih_env_init (&okay, IH_T_OK);
    okay.req = 3;
    okay.seq = 11;
    okay.id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff";
    ih_tk_broker_send (broker, &okay);
    uint64_t seq = 0;
    char id [IH_UUID_LEN + 1] = "";
    IH_CHECK (ih_client_publish_wait (c, item->body, item->body_len, sig, 3000, &seq, id, code, &err) == 0);
    IH_CHECK (seq == 11 && streq (id, okay.id));
    ih_client_destroy (&c);

    ih_env_free (&w);
    ih_env_free (&pong);
    ih_env_free (&nos);
    ih_env_free (&late);
    ih_env_free (&refuse);
    ih_env_free (&okay);
    ih_tk_broker_destroy (&broker);
    zcert_destroy (&client_cert);
}

void
ih_client_test (bool verbose)
{
    ih_sign_init ();
    uint8_t reg_pk [32], reg_sk [64], other_pk [32], other_sk [64];
    uint8_t pub_pk [32], pub_sk [64], mal_pk [32], mal_sk [64];
    ih_sign_keypair (reg_pk, reg_sk);
    ih_sign_keypair (other_pk, other_sk);
    ih_sign_keypair (pub_pk, pub_sk);
    ih_sign_keypair (mal_pk, mal_sk);

    ih_member_t r;
    s_test_record (&r, "soc", "bank-a", pub_pk);
    ih_msg_t m;
    s_test_alert (&m, "bank-a", "soc", pub_pk);

    ih_buf_t rec_buf, body_buf;
    ih_buf_init (&rec_buf);
    ih_buf_init (&body_buf);
    uint8_t rec_sig [64], sig [64];
    ih_item_t it;
    ih_member_t got_rec;
    ih_msg_t got;
    ih_msg_init (&got, IH_KIND_ALERT);
    ih_err_t err;

    //  1. a good item verifies, and the body comes back decoded
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    err.msg [0] = 0;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == 0);
    IH_CHECK (streq (got.id, m.id));
    IH_CHECK (streq (got.title, m.title));
    IH_CHECK (got.ioc_count == 2);
    IH_CHECK (streq (got_rec.name, "soc") && streq (got_rec.org, "bank-a"));
    ih_msg_free (&got);

    //  2. wrong registry key: the record does not verify
    IH_CHECK (ih_client_verify_item (&it, other_pk, &got_rec, &got, &err) == -1);
    if (verbose)
        printf ("\n    wrong registry key: %s", err.msg);
    IH_CHECK (streq (err.msg, "member record: bad signature"));
    IH_CHECK (streq (got_rec.name, "soc"));     //  named for the log line
    ih_msg_free (&got);

    //  3. forged record: a broker makes up a member with its own signing key and signs
    //     the record with a key of its own; the alert is signed by that forged key
    ih_member_t forged;
    s_test_record (&forged, "soc", "bank-a", mal_pk);
    ih_msg_t fm;
    s_test_alert (&fm, "bank-a", "soc", mal_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &forged, mal_sk, &fm, mal_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (streq (err.msg, "member record: bad signature"));
    ih_msg_free (&got);
    //  … and a genuine record whose bytes were altered (sign key swapped) after signing
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &fm, mal_sk);
    IH_CHECK (ih_member_encode (&forged, &rec_buf, NULL) == 0);   //  rec_sig is r's
    it.rec = rec_buf.data;
    it.rec_len = rec_buf.len;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (streq (err.msg, "member record: bad signature"));
    ih_msg_free (&got);
    ih_msg_free (&fm);

    //  4. altered body: one byte of the title changes after signing
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    uint8_t *p = (uint8_t *) memmem (body_buf.data, body_buf.len, "Phishing", 8);
    IH_CHECK (p);
    p [0] = 'F';
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    if (verbose)
        printf ("\n    altered body: %s", err.msg);
    IH_CHECK (streq (err.msg, "bad signature"));
    ih_msg_free (&got);
    //  … a signature by someone else
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, mal_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (streq (err.msg, "bad signature"));
    ih_msg_free (&got);
    //  … a body that no longer decodes
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    it.body_len = body_buf.len - 1;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "body: ", 6) == 0);
    ih_msg_free (&got);

    //  5. signer mismatch: a genuine member signs an alert claiming another org/member
    ih_msg_t mm;
    s_test_alert (&mm, "bank-b", "soc", pub_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &mm, pub_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    if (verbose)
        printf ("\n    signer mismatch: %s", err.msg);
    IH_CHECK (strncmp (err.msg, "signer mismatch: body org", 25) == 0);
    ih_msg_free (&got);
    ih_msg_free (&mm);
    s_test_alert (&mm, "bank-a", "analyst", pub_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &mm, pub_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "signer mismatch: body member", 28) == 0);
    ih_msg_free (&got);
    ih_msg_free (&mm);
    //  the body names a signer key that is not the record's (and is signed by it)
    s_test_alert (&mm, "bank-a", "soc", mal_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &mm, pub_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "signer mismatch: body signer", 28) == 0);
    ih_msg_free (&got);
    ih_msg_free (&mm);
    //  an alert or a retraction from a reader, or anything from the gateway identity:
    //  not a publisher's; a reader's comment and sighting are fine (readers collaborate)
    for (int g = 0; g < 2; g++) {
        ih_member_t rr = r;
        rr.role = IH_ROLE_READER;
        rr.gateway = g == 1;            //  (a gateway record is always a reader's)
        for (int k = 0; k < IH_KIND_COUNT; k++) {
            ih_msg_t km;
            if (k == IH_KIND_ALERT)
                s_test_alert (&km, "bank-a", "soc", pub_pk);
            else {
                ih_msg_init (&km, (ih_kind_t) k);
                ih_uuid_new (km.id);
                km.created = km.modified = 1767225600000;
                km.org = ih_msg_str (&km, "bank-a");
                km.member = ih_msg_str (&km, "soc");
                memcpy (km.signer, pub_pk, 32);
                memcpy (km.ref, m.id, sizeof km.ref);
                if (k == IH_KIND_SIGHTING) {
                    km.tlp = IH_TLP_GREEN;
                    km.count = 2;
                    ih_msg_ioc_add (&km, IH_IOC_IPV4, "192.0.2.1", "", false);
                }
                else
                    km.text = ih_msg_str (&km, "seen here too");
            }
            s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &rr, reg_sk, &km, pub_sk);
            bool chat = k == IH_KIND_COMMENT || k == IH_KIND_SIGHTING;
            int rc = ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err);
            if (verbose && rc != 0)
                printf ("\n    %s: %s", ih_kind_name ((ih_kind_t) k), err.msg);
            if (chat && !g)
                IH_CHECK (rc == 0 && got.kind == (ih_kind_t) k);
            else {
                IH_CHECK (rc == -1);
                IH_CHECK (strstr (err.msg, "member record: ") && strstr (err.msg, " is not a publisher"));
                IH_CHECK (!g == !strstr (err.msg, "the gateway"));
            }
            ih_msg_free (&got);
            ih_msg_free (&km);
        }
    }
    IH_CHECK (ih_client_seq_plausible (0, 1) && ih_client_seq_plausible (5, 5 + IH_SEQ_MAX_STEP));
    IH_CHECK (!ih_client_seq_plausible (5, 5) && !ih_client_seq_plausible (5, 4));
    IH_CHECK (!ih_client_seq_plausible (5, 6 + IH_SEQ_MAX_STEP) && !ih_client_seq_plausible (0, UINT64_MAX));
    IH_CHECK (!ih_client_seq_plausible (IH_SEQ_LIMIT - 1, IH_SEQ_LIMIT));

    //  6. a garbage record
    uint8_t junk [3] = { 0xc1, 0x00, 0x01 };
    it.rec = junk;
    it.rec_len = sizeof junk;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "member record: ", 15) == 0);
    IH_CHECK (got_rec.name [0] == 0);
    ih_msg_free (&got);

    //  7. configuration errors are reported, not asserted
    ih_client_cfg_t cfg = { 0 };
    IH_CHECK (ih_client_new (&cfg, &err) == NULL);
    cfg.endpoint = "tcp://127.0.0.1:1";
    cfg.broker_key = "short";
    IH_CHECK (ih_client_new (&cfg, &err) == NULL);
    IH_CHECK (strstr (err.msg, "broker public key"));

    //  8. a request to a port where nobody listens times out with a clear error
    zcert_t *server = zcert_new ();
    zcert_t *client = zcert_new ();
    cfg.broker_key = zcert_public_txt (server);
    cfg.cert = client;
    cfg.quiet = true;
    ih_client_t *c = ih_client_new (&cfg, &err);
    IH_CHECK (c);
    IH_CHECK (ih_client_publish_wait (c, body_buf.data, body_buf.len, sig, 200, NULL, NULL, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "no answer"));
    ih_client_destroy (&c);
    ih_client_destroy (&c);
    zcert_destroy (&server);
    zcert_destroy (&client);

    //  9. the session logic against a fake broker
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    s_test_session (verbose, &it);

    ih_msg_free (&m);
    ih_buf_free (&rec_buf);
    ih_buf_free (&body_buf);
    sodium_memzero (reg_sk, sizeof reg_sk);
    sodium_memzero (pub_sk, sizeof pub_sk);
}
#endif

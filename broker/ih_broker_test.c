/*  ih_broker_test.c: the broker's self-test, ih_broker_test (ih_broker.h).

    The cases are end to end: a broker on a thread of this process, a registry and a
    journal in a temporary directory, and DEALER clients speaking the protocol: publish
    (good, forged, from a reader, resent; a reader's comment and sighting), live delivery and replay with entitlement,
    flow control, control messages, bad frames, revocation of a connected member, and a
    clean stop. The rules a publish is judged by have their own table (ih_admit.c).
*/
#include "ih_broker.h"

#ifdef IH_SELFTEST
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ih_testkit.h"
typedef struct {
    ih_broker_t *broker;
    volatile sig_atomic_t stop;
    volatile sig_atomic_t reload;
} s_test_run_t;

static void *
s_test_thread (void *arg)
{
    s_test_run_t *run = (s_test_run_t *) arg;
    IH_CHECK (ih_broker_run (run->broker, &run->stop, &run->reload) == 0);
    return NULL;
}

//  A member with fresh keys (ih_tk_member), written into the registry directory.
static void
s_test_member (ih_tk_member_t *m, const char *dir, const ih_tk_keypair_t *reg, const char *name,
               const char *org, const char *sector, ih_role_t role)
{
    ih_tk_member (m, reg, name, org, sector, role);
    ih_err_t err;
    IH_CHECK (ih_registry_add (dir, &m->rec, reg->sk, &err) == 0);
}

static zsock_t *
s_test_client (const char *endpoint, zcert_t *server, zcert_t *cert)
{
    zsock_t *s = zsock_new (ZMQ_DEALER);
    IH_CHECK (s);
    zcert_apply (cert, s);
    zsock_set_curve_serverkey (s, zcert_public_txt (server));
    zsock_set_rcvtimeo (s, 3000);
    IH_CHECK (zsock_connect (s, "%s", endpoint) == 0);
    return s;
}

static void
s_test_send (zsock_t *s, const ih_env_t *e)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_err_t err;
    IH_CHECK (ih_env_encode (e, &buf, &err) == 0);
    IH_CHECK (zmq_send (zsock_resolve (s), buf.data, buf.len, 0) == (int) buf.len);
    ih_buf_free (&buf);
}

//  Receives one envelope (NULL on timeout); *frame keeps the bytes e borrows.
static bool
s_test_recv (zsock_t *s, ih_env_t *e, zframe_t **frame, int timeout)
{
    zframe_destroy (frame);
    zsock_set_rcvtimeo (s, timeout);
    *frame = zframe_recv (s);
    if (!*frame)
        return false;
    ih_err_t err;
    IH_CHECK (ih_env_decode (e, zframe_data (*frame), zframe_size (*frame), &err) == 0);
    return true;
}

//  Signs and publishes an alert; returns the request id.
static uint64_t
s_test_publish (zsock_t *s, const ih_tk_member_t *m, ih_msg_t *msg, bool forge)
{
    static uint64_t req = 0;
    ih_buf_t body;
    ih_buf_init (&body);
    ih_err_t err;
    IH_CHECK (ih_body_encode (msg, &body, &err) == 0);
    uint8_t sig [IH_SIG_LEN];
    ih_sign (sig, IH_CTX_MSG, body.data, body.len, m->sk);
    if (forge)
        sig [5] ^= 0x20;
    ih_env_t e;
    ih_env_init (&e, IH_T_PUBLISH);
    e.req = ++req;
    e.body = body.data;
    e.body_len = body.len;
    e.sig = sig;
    s_test_send (s, &e);
    ih_buf_free (&body);
    return req;
}

//  An alert by m (ih_tk_alert) with one IOC, and one recipient unless NULL.
static void
s_test_alert (ih_msg_t *msg, const ih_tk_member_t *m, ih_tlp_t tlp, const char *recipient)
{
    static const char *const iocs [] = { "ipv4:45.77.1.2", NULL };
    ih_tk_alert (msg, m, tlp, "Ransomware C2");
    if (recipient)
        ih_msg_strlist_add (msg, &msg->recipients, recipient);
    ih_tk_iocs (msg, iocs, true);
}

static uint64_t s_test_last_owed;           //  of the last pong s_test_expect took

//  Asks for the roster on s; checks every record against the registry key and returns
//  the member names, sorted and joined by spaces, in names.
static void
s_test_roster (zsock_t *s, const uint8_t registry_pk [32], char *names, size_t size)
{
    ih_env_t e;
    ih_env_init (&e, IH_T_ROSTER);
    s_test_send (s, &e);
    zframe_t *frame = NULL;
    IH_CHECK (s_test_recv (s, &e, &frame, 3000));
    IH_CHECK (e.type == IH_T_MEMBERS);
    zlistx_t *list = zlistx_new ();
    zlistx_set_destructor (list, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (list, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator (list, (zlistx_comparator_fn *) strcmp);
    for (uint32_t i = 0; i < e.record_count; i++) {
        ih_member_t r;
        ih_err_t err;
        IH_CHECK (ih_member_decode (&r, e.records [i].rec, e.records [i].rec_len, &err) == 0);
        IH_CHECK (ih_verify (e.records [i].rec_sig, IH_CTX_MEMBER, e.records [i].rec,
                             e.records [i].rec_len, registry_pk, &err) == 0);
        zlistx_add_end (list, r.name);
    }
    zlistx_sort (list);
    names [0] = 0;
    for (char *n = (char *) zlistx_first (list); n; n = (char *) zlistx_next (list))
        ih_fmt (names + strlen (names), size - strlen (names), "%s%s", names [0] ? " " : "", n);
    zlistx_destroy (&list);
    ih_env_free (&e);
    zframe_destroy (&frame);
}

//  Expects an answer of type t (and error code, when t is IH_T_ERROR) for req.
static void
s_test_expect (zsock_t *s, ih_type_t t, uint64_t req, const char *code, uint64_t *seq)
{
    ih_env_t e;
    zframe_t *frame = NULL;
    IH_CHECK (s_test_recv (s, &e, &frame, 3000));
    if (e.type != t || (code && strcmp (e.code, code) != 0))
        fprintf (stderr, "expected %s %s, got %s %s %s\n", ih_type_name (t), code ? code : "",
                 ih_type_name (e.type), e.type == IH_T_ERROR ? e.code : "",
                 e.type == IH_T_ERROR ? e.reason : "");
    IH_CHECK (e.type == t);
    if (req)
        IH_CHECK (e.req == req);
    if (code)
        IH_CHECK (strcmp (e.code, code) == 0);
    if (seq)
        *seq = e.type == IH_T_PONG ? e.head : e.seq;
    if (e.type == IH_T_PONG)
        s_test_last_owed = e.owed;
    ih_env_free (&e);
    zframe_destroy (&frame);
}

//  Receives deliveries for up to ms; appends their seqs to seqs (n in/out), acks them.
static void
s_test_collect (zsock_t *s, uint64_t *seqs, size_t *n, size_t max, int ms, bool ack)
{
    ih_env_t e;
    zframe_t *frame = NULL;
    while (s_test_recv (s, &e, &frame, ms)) {
        IH_CHECK (e.type == IH_T_DELIVER);
        for (uint32_t i = 0; i < e.item_count; i++) {
            IH_CHECK (*n < max);
            seqs [(*n)++] = e.items [i].seq;
        }
        uint64_t last = e.items [e.item_count - 1].seq;
        ih_env_free (&e);
        if (ack) {
            ih_env_t a;
            ih_env_init (&a, IH_T_ACK);
            a.seq = last;
            s_test_send (s, &a);
        }
    }
    zframe_destroy (&frame);
}

static void
s_test_hello_owed (zsock_t *s, uint64_t cursor, uint32_t window, uint64_t *head, uint64_t *owed)
{
    ih_env_t e;
    ih_env_init (&e, IH_T_HELLO);
    e.cursor = cursor;
    e.window = window;
    e.agent = "selftest";
    s_test_send (s, &e);
    zframe_t *frame = NULL;
    IH_CHECK (s_test_recv (s, &e, &frame, 3000));
    IH_CHECK (e.type == IH_T_WELCOME);
    if (head)
        *head = e.head;
    if (owed)
        *owed = e.owed;
    ih_env_free (&e);
    zframe_destroy (&frame);
}

static void
s_test_hello (zsock_t *s, uint64_t cursor, uint32_t window, uint64_t *head)
{
    s_test_hello_owed (s, cursor, window, head, NULL);
}

void
ih_broker_test (bool verbose)
{
    ih_sign_init ();
    char dir [256], members [512], jdir [512], status [512];
    ih_tk_tempdir ("broker", dir, sizeof dir);
    ih_tk_path (members, sizeof members, dir, "members");
    ih_tk_path (jdir, sizeof jdir, dir, "journal");
    ih_tk_path (status, sizeof status, dir, "broker.status");
    IH_CHECK (mkdir (members, 0755) == 0);
    ih_tk_keypair_t reg;
    ih_tk_keypair (&reg);
    ih_tk_member_t soc, noc, ops;
    s_test_member (&soc, members, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    s_test_member (&noc, members, &reg, "noc", "telco", "telecom", IH_ROLE_READER);
    s_test_member (&ops, members, &reg, "ops", "energy-co", "energy", IH_ROLE_READER);
    zcert_t *server = zcert_new ();
    zcert_t *stranger = zcert_new ();

    ih_err_t err;
    ih_registry_t *registry = ih_registry_load (members, reg.pk, &err);
    IH_CHECK (registry && ih_registry_size (registry) == 3);
    ih_journal_t *journal = ih_journal_open (jdir, 1 << 20, &err);
    IH_CHECK (journal);
    //  Readers get 5 messages a second (a bucket of 50): the limits case below
    ih_limits_t limits [2] = { { 5, 0, 0 }, ih_limits_default (IH_ROLE_PUBLISHER) };
    ih_broker_cfg_t cfg = { "tcp://127.0.0.1:*", server, registry, journal, 2000, 100, 0, status,
                            verbose, limits, 0, 0 };
    s_test_run_t run = { ih_broker_new (&cfg, &err), 0, 0 };
    IH_CHECK (run.broker);
    //  Only one broker per process: the ZAP endpoint is taken
    IH_CHECK (ih_broker_new (&cfg, &err) == NULL);
    char endpoint [128];
    snprintf (endpoint, sizeof endpoint, "%s", ih_broker_endpoint (run.broker));
    pthread_t thread;
    IH_CHECK (pthread_create (&thread, NULL, s_test_thread, &run) == 0);

    zsock_t *pub = s_test_client (endpoint, server, soc.cert);
    zsock_t *nsock = s_test_client (endpoint, server, noc.cert);
    zsock_t *osock = s_test_client (endpoint, server, ops.cert);

    //  A GREEN alert: ok seq 1; resent: ok seq 1 again
    ih_msg_t a1, a2;
    s_test_alert (&a1, &soc, IH_TLP_GREEN, NULL);
    uint64_t seq = 0, req = s_test_publish (pub, &soc, &a1, false);
    s_test_expect (pub, IH_T_OK, req, NULL, &seq);
    IH_CHECK (seq == 1);
    req = s_test_publish (pub, &soc, &a1, false);
    s_test_expect (pub, IH_T_OK, req, NULL, &seq);
    IH_CHECK (seq == 1);
    //  Refused: a forged signature, a reader publishing, a revision of another... nothing
    //  is journaled
    req = s_test_publish (pub, &soc, &a1, true);
    s_test_expect (pub, IH_T_ERROR, req, "bad-signature", NULL);
    s_test_alert (&a2, &noc, IH_TLP_GREEN, NULL);
    req = s_test_publish (nsock, &noc, &a2, false);
    s_test_expect (nsock, IH_T_ERROR, req, "not-publisher", NULL);
    ih_msg_free (&a2);

    //  Subscriptions: noc (telco) and ops (energy-co) from 0; both get seq 1
    uint64_t head, got [64];
    size_t n = 0;
    s_test_hello (nsock, 0, 10, &head);
    IH_CHECK (head == 1);
    s_test_collect (nsock, got, &n, 64, 700, true);
    IH_CHECK (n == 1 && got [0] == 1);
    n = 0;
    s_test_hello (osock, 0, 2, NULL);
    s_test_collect (osock, got, &n, 64, 700, false);
    IH_CHECK (n == 1 && got [0] == 1);

    //  Live: RED to telco reaches noc only; 3 GREEN reach both, ops only as its window
    //  (2, one used) allows until it acks
    s_test_alert (&a2, &soc, IH_TLP_RED, "telco");
    req = s_test_publish (pub, &soc, &a2, false);
    s_test_expect (pub, IH_T_OK, req, NULL, &seq);
    IH_CHECK (seq == 2);
    ih_msg_free (&a2);
    for (int i = 0; i < 3; i++) {
        s_test_alert (&a2, &soc, IH_TLP_GREEN, NULL);
        req = s_test_publish (pub, &soc, &a2, false);
        s_test_expect (pub, IH_T_OK, req, NULL, &seq);
        IH_CHECK (seq == 3 + (uint64_t) i);
        ih_msg_free (&a2);
    }
    n = 0;
    s_test_collect (nsock, got, &n, 64, 700, true);
    IH_CHECK (n == 4 && got [0] == 2 && got [3] == 5);
    n = 0;
    s_test_collect (osock, got, &n, 64, 700, false);
    IH_CHECK (n == 1 && got [0] == 3);                  //  window full after seq 3
    ih_env_t ack;
    ih_env_init (&ack, IH_T_ACK);
    ack.seq = 3;
    s_test_send (osock, &ack);
    n = 0;
    s_test_collect (osock, got, &n, 64, 700, true);     //  refilled from the journal
    IH_CHECK (n == 2 && got [0] == 4 && got [1] == 5);

    //  Replay from a cursor: exactly what is entitled after it
    zsock_t *again = s_test_client (endpoint, server, ops.cert);
    s_test_hello (again, 1, 100, &head);
    IH_CHECK (head == 5);
    n = 0;
    s_test_collect (again, got, &n, 64, 700, true);
    IH_CHECK (n == 3 && got [0] == 3 && got [2] == 5);
    ih_env_t e;
    ih_env_init (&e, IH_T_HELLO);
    e.cursor = 99;
    e.window = 10;
    s_test_send (again, &e);
    s_test_expect (again, IH_T_ERROR, 0, "bad-cursor", NULL);
    zsock_destroy (&again);

    //  Control messages: ping/pong, status, bad frames, no-session after bye
    ih_env_init (&e, IH_T_PING);
    s_test_send (nsock, &e);
    s_test_expect (nsock, IH_T_PONG, 0, NULL, &seq);
    IH_CHECK (seq == 5 && s_test_last_owed == 5);
    ih_env_init (&e, IH_T_STATUS);
    s_test_send (pub, &e);
    s_test_expect (pub, IH_T_STATS, 0, NULL, NULL);
    //  The roster: every member's record, as the registry signed it
    char names [256];
    s_test_roster (pub, reg.pk, names, sizeof names);
    IH_CHECK (streq (names, "noc ops soc"));
    IH_CHECK (zmq_send (zsock_resolve (pub), "\xc1", 1, 0) == 1);
    s_test_expect (pub, IH_T_ERROR, 0, "bad-frame", NULL);
    IH_CHECK (zmq_send (zsock_resolve (pub), "\x82\xa1v\x01", 4, ZMQ_SNDMORE) == 4);
    IH_CHECK (zmq_send (zsock_resolve (pub), "x", 1, 0) == 1);
    s_test_expect (pub, IH_T_ERROR, 0, "bad-frame", NULL);
    ih_env_init (&e, IH_T_WELCOME);
    e.member = "x";
    e.org = "y";
    s_test_send (pub, &e);
    s_test_expect (pub, IH_T_ERROR, 0, "bad-type", NULL);
    ih_env_init (&e, IH_T_BYE);
    s_test_send (osock, &e);
    ih_env_init (&e, IH_T_PING);
    s_test_send (osock, &e);
    s_test_expect (osock, IH_T_ERROR, 0, "no-session", NULL);

    //  An unknown key gets nothing at all
    zsock_t *intruder = s_test_client (endpoint, server, stranger);
    zsock_set_sndtimeo (intruder, 0);
    ih_env_init (&e, IH_T_STATUS);
    zframe_t *frame = NULL;
    ih_buf_t buf;
    ih_buf_init (&buf);
    IH_CHECK (ih_env_encode (&e, &buf, &err) == 0);
    zmq_send (zsock_resolve (intruder), buf.data, buf.len, ZMQ_DONTWAIT);
    ih_buf_free (&buf);
    IH_CHECK (!s_test_recv (intruder, &e, &frame, 500));
    zsock_destroy (&intruder);

    //  Readers collaborate: noc (a reader) comments on seq 1's alert and reports a
    //  sighting of it; it may not retract it (nor publish an alert, above). Its live
    //  session gets both, as everyone entitled to the alert does.
    zsock_t *nreq = s_test_client (endpoint, server, noc.cert);
    ih_msg_t c;
    ih_tk_ref (&c, &noc, IH_KIND_COMMENT, a1.id);
    req = s_test_publish (nreq, &noc, &c, false);
    s_test_expect (nreq, IH_T_OK, req, NULL, &seq);
    IH_CHECK (seq == 6);
    ih_msg_free (&c);
    static const char *const seen [] = { "ipv4:45.77.1.2", NULL };
    ih_tk_ref (&c, &noc, IH_KIND_SIGHTING, a1.id);
    ih_tk_iocs (&c, seen, false);
    req = s_test_publish (nreq, &noc, &c, false);
    s_test_expect (nreq, IH_T_OK, req, NULL, &seq);
    IH_CHECK (seq == 7);
    ih_msg_free (&c);
    ih_tk_ref (&c, &noc, IH_KIND_RETRACTION, a1.id);
    req = s_test_publish (nreq, &noc, &c, false);
    s_test_expect (nreq, IH_T_ERROR, req, "not-publisher", NULL);
    ih_msg_free (&c);
    zsock_destroy (&nreq);
    n = 0;
    s_test_collect (nsock, got, &n, 64, 700, true);
    IH_CHECK (n == 2 && got [0] == 6 && got [1] == 7);

    //  What each member is owed (welcome, pong): the last seq it is entitled to. A RED
    //  alert to telco (seq 8) is owed to noc, not to ops (energy-co), whose lag stays 0
    s_test_alert (&a2, &soc, IH_TLP_RED, "telco");
    req = s_test_publish (pub, &soc, &a2, false);
    s_test_expect (pub, IH_T_OK, req, NULL, &seq);
    IH_CHECK (seq == 8);
    ih_msg_free (&a2);
    uint64_t owed = 0;
    zsock_t *ops2 = s_test_client (endpoint, server, ops.cert);
    s_test_hello_owed (ops2, 7, 10, &head, &owed);
    IH_CHECK (head == 8 && owed == 7);
    zsock_destroy (&ops2);
    n = 0;
    s_test_collect (nsock, got, &n, 64, 700, true);
    IH_CHECK (n == 1 && got [0] == 8);
    ih_env_init (&e, IH_T_PING);
    s_test_send (nsock, &e);
    s_test_expect (nsock, IH_T_PONG, 0, NULL, &seq);
    IH_CHECK (seq == 8 && s_test_last_owed == 8);

    //  Revocation of a connected member: one `error revoked`, then nothing more
    IH_CHECK (ih_registry_revoke (members, "noc", &err) == 0);
    run.reload = 1;
    s_test_expect (nsock, IH_T_ERROR, 0, "revoked", NULL);
    s_test_alert (&a2, &soc, IH_TLP_GREEN, NULL);
    req = s_test_publish (pub, &soc, &a2, false);
    s_test_expect (pub, IH_T_OK, req, NULL, &seq);
    ih_msg_free (&a2);
    ih_env_init (&e, IH_T_PING);
    s_test_send (nsock, &e);
    IH_CHECK (!s_test_recv (nsock, &e, &frame, 500));
    //  ... and leaves the roster
    s_test_roster (pub, reg.pk, names, sizeof names);
    IH_CHECK (streq (names, "ops soc"));

    //  Limits: ops (a reader: 5 a second here, a bucket of 50) asks for status 60 times
    //  at once: 50 answers, then `rate-limited` with when to try again
    zsock_t *ops3 = s_test_client (endpoint, server, ops.cert);
    ih_env_init (&e, IH_T_STATUS);
    for (int i = 0; i < 60; i++)
        s_test_send (ops3, &e);
    int stats = 0, limited = 0;
    uint64_t retry = 0;
    while (s_test_recv (ops3, &e, &frame, 1000)) {
        if (e.type == IH_T_STATS)
            stats++;
        else
        if (e.type == IH_T_ERROR && streq (e.code, "rate-limited")) {
            limited++;
            retry = e.retry_after;
            IH_CHECK (strstr (e.reason, "over its messages-per-s limit (5 a second); retry after"));
        }
        ih_env_free (&e);
        if (stats + limited == 60)
            break;
    }
    zframe_destroy (&frame);
    IH_CHECK (stats == 50 && limited == 10 && retry >= 150 && retry <= 200);
    zclock_sleep ((int) retry);
    ih_env_init (&e, IH_T_STATUS);
    s_test_send (ops3, &e);
    s_test_expect (ops3, IH_T_STATS, 0, NULL, NULL);
    zsock_destroy (&ops3);

    //  The pipeline: a burst that arrives at once goes through in batches (32 of one key
    //  each), each verified while the one before it commits. Forged signatures in the
    //  middle are refused and the others acknowledged in order with consecutive seqs; a
    //  comment sees the alert journaled by an earlier batch, a resend gets its first seq;
    //  a live session gets exactly the acknowledged seqs, in order.
    {
        enum { BURST = 200 };
        zsock_t *live = s_test_client (endpoint, server, ops.cert);
        s_test_hello (live, 9, 100, &head);
        IH_CHECK (head == 9);
        ih_buf_t *envs = calloc (BURST, sizeof *envs);
        char (*ids) [IH_UUID_LEN + 1] = calloc (BURST, sizeof *ids);
        bool forged [BURST];
        IH_CHECK (envs && ids);
        for (int i = 0; i < BURST; i++) {
            ih_msg_t m;
            forged [i] = i % 37 == 5;
            if (i == 100)
                ih_tk_ref (&m, &soc, IH_KIND_COMMENT, ids [10]);
            else
                s_test_alert (&m, &soc, IH_TLP_GREEN, NULL);
            ih_buf_t body;
            ih_buf_init (&body);
            IH_CHECK (ih_body_encode (&m, &body, &err) == 0);
            snprintf (ids [i], sizeof ids [i], "%s", m.id);
            uint8_t sig [IH_SIG_LEN];
            ih_sign (sig, IH_CTX_MSG, body.data, body.len, soc.sk);
            if (forged [i])
                sig [17] ^= 0x01;
            ih_env_t pe;
            ih_env_init (&pe, IH_T_PUBLISH);
            pe.req = 1000 + (uint64_t) i;
            pe.body = body.data;
            pe.body_len = body.len;
            pe.sig = sig;
            ih_buf_init (&envs [i]);
            IH_CHECK (ih_env_encode (&pe, &envs [i], &err) == 0);
            ih_buf_free (&body);
            ih_msg_free (&m);
        }
        //  index 150 resends index 20, byte for byte
        ih_buf_reset (&envs [150]);
        ih_env_t pe;
        ih_err_t derr;
        IH_CHECK (ih_env_decode (&pe, envs [20].data, envs [20].len, &derr) == 0);
        pe.req = 1150;
        IH_CHECK (ih_env_encode (&pe, &envs [150], &err) == 0);
        ih_env_free (&pe);
        forged [150] = false;
        for (int i = 0; i < BURST; i++)
            IH_CHECK (zmq_send (zsock_resolve (pub), envs [i].data, envs [i].len, 0)
                      == (int) envs [i].len);
        uint64_t next = 10, seq20 = 0;
        for (int i = 0; i < BURST; i++) {
            if (forged [i]) {
                s_test_expect (pub, IH_T_ERROR, 1000 + (uint64_t) i, "bad-signature", NULL);
                continue;
            }
            s_test_expect (pub, IH_T_OK, 1000 + (uint64_t) i, NULL, &seq);
            if (i == 150)
                IH_CHECK (seq == seq20);
            else
                IH_CHECK (seq == next++);
            if (i == 20)
                seq20 = seq;
        }
        uint64_t *seqs = calloc (BURST, sizeof *seqs);
        IH_CHECK (seqs);
        n = 0;
        s_test_collect (live, seqs, &n, BURST, 700, true);
        IH_CHECK (n == next - 10);
        for (size_t i = 0; i < n; i++)
            IH_CHECK (seqs [i] == 10 + i);
        free (seqs);
        for (int i = 0; i < BURST; i++)
            ih_buf_free (&envs [i]);
        free (envs);
        free (ids);
        zsock_destroy (&live);
    }

    //  The status file is written once a second
    zclock_sleep (1100);
    IH_CHECK (access (status, R_OK) == 0);

    run.stop = 1;
    IH_CHECK (pthread_join (thread, NULL) == 0);
    IH_CHECK (ih_journal_head (journal) == 9 + 193);   //  the burst: 200 - 6 forged - 1 resent
    //  ... and it went through the pipeline
    char json [1024];
    ih_broker_stats (run.broker, json, sizeof json);
    const char *pl = strstr (json, "\"pipelined\":");
    IH_CHECK (pl && strtoull (pl + 12, NULL, 10) > 0);
    zsock_destroy (&pub);
    zsock_destroy (&nsock);
    zsock_destroy (&osock);
    ih_broker_destroy (&run.broker);
    ih_broker_destroy (&run.broker);
    ih_journal_destroy (&journal);
    ih_registry_destroy (&registry);
    ih_msg_free (&a1);
    zcert_destroy (&server);
    zcert_destroy (&stranger);
    ih_tk_member_free (&soc);
    ih_tk_member_free (&noc);
    ih_tk_member_free (&ops);
    ih_tk_rmtree (dir);
}
#endif


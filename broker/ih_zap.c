/*  ih_zap.c: ZAP handler (RFC 27). See ih_zap.h.

    A request is: version "1.0", request id, domain, address, routing id, mechanism,
    then the mechanism's credentials (CURVE: the client's 32-byte public key).
    The reply is: version "1.0", request id, status code ("200", "300", "400" or "500"),
    status text, user id, metadata (empty).
*/
#include <string.h>

#include "ih_zap.h"

#define S_MAX_FRAMES 16

struct ih_zap {
    zsock_t *sock;          //  REP, bound at IH_ZAP_ENDPOINT
};

ih_zap_t *
ih_zap_new (ih_err_t *err)
{
    ih_zap_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->sock = zsock_new (ZMQ_REP);
    if (!self->sock || zsock_bind (self->sock, IH_ZAP_ENDPOINT) != 0) {
        ih_err_set (err, "zap: cannot bind %s: %s", IH_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()));
        ih_zap_destroy (&self);
        return NULL;
    }
    return self;
}

void
ih_zap_destroy (ih_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy (&(*self_p)->sock);
    free (*self_p);
    *self_p = NULL;
}

zsock_t *
ih_zap_sock (ih_zap_t *self)
{
    return self->sock;
}

//  Copies a frame as a NUL-terminated string (cut to size - 1).
static void
s_frame_str (zmq_msg_t *f, char *out, size_t size)
{
    size_t n = zmq_msg_size (f);
    if (n >= size)
        n = size - 1;
    memcpy (out, zmq_msg_data (f), n);
    out [n] = 0;
    //  No NULs inside: a string with one would read as shorter than it is
    for (size_t i = 0; i < n; i++)
        if (out [i] == 0)
            out [i] = '?';
}

static int
s_send_str (void *sock, const char *s, bool more)
{
    return zmq_send (sock, s, strlen (s), more ? ZMQ_SNDMORE : 0);
}

int
ih_zap_handle (ih_zap_t *self, ih_zap_decide_fn *fn, void *arg)
{
    void *sock = zsock_resolve (self->sock);
    int answered = 0;
    while (true) {
        zmq_msg_t frames [S_MAX_FRAMES];
        int n = 0;
        bool more = true;
        bool extra = false;
        while (more) {
            zmq_msg_t f;
            zmq_msg_init (&f);
            if (zmq_msg_recv (&f, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close (&f);
                if (n == 0)
                    return answered;        //  nothing pending (EAGAIN) or interrupted
                break;                      //  cannot happen: frames arrive whole
            }
            more = zmq_msg_more (&f);
            if (n < S_MAX_FRAMES)
                frames [n++] = f;
            else {
                extra = true;
                zmq_msg_close (&f);
            }
        }
        ih_zap_request_t req;
        memset (&req, 0, sizeof req);
        char version [8] = "";
        if (n >= 1)
            s_frame_str (&frames [0], version, sizeof version);
        const char *code = "500";
        char text [128] = "malformed ZAP request";
        char user_id [256] = "";
        if (!extra && n >= 6 && strcmp (version, "1.0") == 0) {
            s_frame_str (&frames [2], req.domain, sizeof req.domain);
            s_frame_str (&frames [3], req.address, sizeof req.address);
            s_frame_str (&frames [5], req.mechanism, sizeof req.mechanism);
            bool ok = true;
            if (strcmp (req.mechanism, "CURVE") == 0) {
                if (n == 7 && zmq_msg_size (&frames [6]) == 32) {
                    memcpy (req.key, zmq_msg_data (&frames [6]), 32);
                    req.has_key = true;
                    zmq_z85_encode (req.key_z85, req.key, 32);
                }
                else
                    ok = false;
            }
            if (ok) {
                snprintf (text, sizeof text, "denied");
                ih_zap_status_t status = fn (arg, &req, user_id, sizeof user_id, text, sizeof text);
                if (status == IH_ZAP_ADMIT) {
                    code = "200";
                    if (!text [0] || strcmp (text, "denied") == 0)
                        snprintf (text, sizeof text, "OK");
                }
                else {
                    code = status == IH_ZAP_LATER ? "300" : "400";
                    user_id [0] = 0;
                }
            }
        }
        //  Always answer: a REP socket takes no new request before it replied
        s_send_str (sock, "1.0", true);
        if (n >= 2)
            zmq_send (sock, zmq_msg_data (&frames [1]), zmq_msg_size (&frames [1]), ZMQ_SNDMORE);
        else
            zmq_send (sock, "", 0, ZMQ_SNDMORE);
        s_send_str (sock, code, true);
        s_send_str (sock, text, true);
        s_send_str (sock, user_id, true);
        zmq_send (sock, "", 0, 0);
        for (int i = 0; i < n; i++)
            zmq_msg_close (&frames [i]);
        answered++;
    }
}

/* ---- self-test -------------------------------------------------------------------- */
#ifdef IH_SELFTEST
typedef struct {
    uint8_t good [32];
    int admitted;
    int denied;
} s_test_state_t;

static ih_zap_status_t
s_test_decide (void *arg, const ih_zap_request_t *req, char *user_id, size_t user_id_size,
               char *text, size_t text_size)
{
    s_test_state_t *st = (s_test_state_t *) arg;
    if (strcmp (req->mechanism, "CURVE") == 0 && req->has_key
    &&  memcmp (req->key, st->good, 32) == 0 && strcmp (req->domain, "infohub") == 0) {
        snprintf (user_id, user_id_size, "%s", req->key_z85);
        st->admitted++;
        return IH_ZAP_ADMIT;
    }
    snprintf (text, text_size, "unknown key");
    st->denied++;
    return IH_ZAP_DENY;
}

//  Polls the handler and the server for up to ms; returns the first message's User-Id
//  (or "" when nothing arrived) in user_id.
static void
s_test_pump (ih_zap_t *zap, zsock_t *server, s_test_state_t *st, int ms, char *user_id, size_t size)
{
    user_id [0] = 0;
    zpoller_t *poller = zpoller_new (ih_zap_sock (zap), server, NULL);
    int64_t end = zclock_mono () + ms;
    while (zclock_mono () < end && !user_id [0]) {
        void *which = zpoller_wait (poller, 20);
        if (which == ih_zap_sock (zap))
            ih_zap_handle (zap, s_test_decide, st);
        else
        if (which == server) {
            zmq_msg_t rid, body;
            zmq_msg_init (&rid);
            zmq_msg_init (&body);
            IH_CHECK (zmq_msg_recv (&rid, zsock_resolve (server), 0) >= 0);
            IH_CHECK (zmq_msg_recv (&body, zsock_resolve (server), 0) >= 0);
            const char *uid = zmq_msg_gets (&body, "User-Id");
            snprintf (user_id, size, "%s", uid ? uid : "(none)");
            zmq_msg_close (&rid);
            zmq_msg_close (&body);
        }
    }
    zpoller_destroy (&poller);
}

void
ih_zap_test (bool verbose)
{
    ih_err_t err;
    ih_zap_t *zap = ih_zap_new (&err);
    IH_CHECK (zap);
    IH_CHECK (ih_zap_new (&err) == NULL);           //  one handler per context
    if (verbose)
        printf ("\n   %s\n", err.msg);

    zcert_t *server_cert = zcert_new ();
    zcert_t *good = zcert_new ();
    zcert_t *bad = zcert_new ();
    s_test_state_t st;
    memset (&st, 0, sizeof st);
    memcpy (st.good, zcert_public_key (good), 32);

    zsock_t *server = zsock_new (ZMQ_ROUTER);
    zcert_apply (server_cert, server);
    zsock_set_curve_server (server, 1);
    zsock_set_zap_domain (server, "infohub");
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    IH_CHECK (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    //  A registered key gets in, and its messages carry its Z85 key as User-Id
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zcert_apply (good, client);
    zsock_set_curve_serverkey (client, zcert_public_txt (server_cert));
    IH_CHECK (zsock_connect (client, "%s", endpoint) == 0);
    IH_CHECK (zstr_send (client, "hello") == 0);
    char uid [256];
    s_test_pump (zap, server, &st, 3000, uid, sizeof uid);
    IH_CHECK (strcmp (uid, zcert_public_txt (good)) == 0);
    IH_CHECK (st.admitted == 1);

    //  An unknown key is refused: nothing it sends arrives
    zsock_t *intruder = zsock_new (ZMQ_DEALER);
    zcert_apply (bad, intruder);
    zsock_set_curve_serverkey (intruder, zcert_public_txt (server_cert));
    IH_CHECK (zsock_connect (intruder, "%s", endpoint) == 0);
    zsock_set_sndtimeo (intruder, 0);
    zstr_send (intruder, "let me in");
    s_test_pump (zap, server, &st, 500, uid, sizeof uid);
    IH_CHECK (uid [0] == 0);
    IH_CHECK (st.denied >= 1);

    //  Malformed requests get a 500 and never reach the decision function
    int denied = st.denied, admitted = st.admitted;
    zsock_t *raw = zsock_new (ZMQ_REQ);
    IH_CHECK (zsock_connect (raw, IH_ZAP_ENDPOINT) == 0);
    zsock_set_rcvtimeo (raw, 2000);
    const char *bad_reqs [][8] = {
        { "1.0", "1", NULL },                                           //  too short
        { "2.0", "2", "infohub", "127.0.0.1", "", "CURVE", "k", NULL }, //  wrong version
        { "1.0", "3", "infohub", "127.0.0.1", "", "CURVE", "short", NULL },   //  key size
    };
    for (size_t i = 0; i < sizeof bad_reqs / sizeof bad_reqs [0]; i++) {
        zmsg_t *req = zmsg_new ();
        for (int f = 0; bad_reqs [i][f]; f++)
            zmsg_addstr (req, bad_reqs [i][f]);
        IH_CHECK (zmsg_send (&req, raw) == 0);
        zpoller_t *poller = zpoller_new (ih_zap_sock (zap), NULL);
        IH_CHECK (zpoller_wait (poller, 2000) == ih_zap_sock (zap));
        zpoller_destroy (&poller);
        IH_CHECK (ih_zap_handle (zap, s_test_decide, &st) == 1);
        zmsg_t *reply = zmsg_recv (raw);
        IH_CHECK (reply && zmsg_size (reply) == 6);
        char *version = zmsg_popstr (reply);
        char *id = zmsg_popstr (reply);
        char *code = zmsg_popstr (reply);
        IH_CHECK (strcmp (version, "1.0") == 0 && strcmp (code, "500") == 0);
        IH_CHECK (strcmp (id, bad_reqs [i][1]) == 0);
        zstr_free (&version);
        zstr_free (&id);
        zstr_free (&code);
        zmsg_destroy (&reply);
    }
    //  A NULL-mechanism request reaches the function, which denies it with 400
    zmsg_t *req = zmsg_new ();
    const char *null_req [] = { "1.0", "9", "infohub", "127.0.0.1", "", "NULL" };
    for (int f = 0; f < 6; f++)
        zmsg_addstr (req, null_req [f]);
    IH_CHECK (zmsg_send (&req, raw) == 0);
    zpoller_t *poller = zpoller_new (ih_zap_sock (zap), NULL);
    IH_CHECK (zpoller_wait (poller, 2000) == ih_zap_sock (zap));
    zpoller_destroy (&poller);
    IH_CHECK (ih_zap_handle (zap, s_test_decide, &st) == 1);
    zmsg_t *reply = zmsg_recv (raw);
    IH_CHECK (reply && zmsg_size (reply) == 6);
    zframe_t *f = zmsg_first (reply);
    f = zmsg_next (reply);
    f = zmsg_next (reply);
    IH_CHECK (zframe_streq (f, "400"));
    zmsg_destroy (&reply);
    IH_CHECK (st.denied == denied + 1 && st.admitted == admitted);
    IH_CHECK (ih_zap_handle (zap, s_test_decide, &st) == 0);      //  nothing pending

    zsock_destroy (&raw);
    zsock_destroy (&intruder);
    zsock_destroy (&client);
    zsock_destroy (&server);
    zcert_destroy (&server_cert);
    zcert_destroy (&good);
    zcert_destroy (&bad);
    ih_zap_destroy (&zap);
    ih_zap_destroy (&zap);
}
#endif

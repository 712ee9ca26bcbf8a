/*  ih_control.c: the daemon's local control socket (see ih_control.h). */
#include <errno.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ih_control.h"

struct ih_control {
    zsock_t *sock;
    char *path;
    ih_control_fn *fn;
    void *arg;
    zframe_t *current;          /* the routing id of the request being handled */
    bool deferred;              /* the handler took it (ih_control_defer) */
};

struct ih_control_req {
    zframe_t *rid;              /* the REQ client's routing id */
};

static int
s_endpoint (const char *path, char *out, size_t size, ih_err_t *err)
{
    struct sockaddr_un sa;
    if (strlen (path) >= sizeof sa.sun_path)
        return ih_err_set (err, "control socket %s: path too long (at most %zu bytes)", path,
                           sizeof sa.sun_path - 1);
    if (!ih_fmt (out, size, "ipc://%s", path))
        return ih_err_set (err, "control socket %s: path too long", path);
    return 0;
}

json_t *
ih_control_refuse (const char *code, const char *fmt, ...)
{
    char reason [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (reason, sizeof reason, fmt, ap);
    va_end (ap);
    json_t *o = json_pack ("{s:b, s:s, s:s}", "ok", 0, "code", code, "reason", reason);
    if (!o)
        o = json_pack ("{s:b, s:s, s:s}", "ok", 0, "code", code, "reason", "(not UTF-8)");
    return o;
}

/* ---- the client ----------------------------------------------------------------------------- */

json_t *
ih_control_call (const char *path, json_t *request, int timeout_ms, ih_err_t *err)
{
    char ep [256];
    if (s_endpoint (path, ep, sizeof ep, err) != 0)
        return NULL;
    if (access (path, F_OK) != 0) {
        ih_err_set (err, "the agent daemon does not answer on %s: is `infohub-agent run` running?", path);
        return NULL;
    }
    char *text = json_dumps (request, JSON_COMPACT);
    if (!text)
        abort ();
    zsock_t *s = zsock_new (ZMQ_REQ);
    if (!s)
        abort ();
    zsock_set_linger (s, 0);
    zsock_set_rcvtimeo (s, timeout_ms);
    zsock_set_sndtimeo (s, timeout_ms);
    zsock_set_maxmsgsize (s, IH_CONTROL_MAX);
    json_t *answer = NULL;
    if (zsock_connect (s, "%s", ep) != 0)
        ih_err_set (err, "control socket %s: cannot connect: %s", path, zmq_strerror (zmq_errno ()));
    else
    if (zstr_send (s, text) != 0)
        ih_err_set (err, "the agent daemon does not answer on %s: is `infohub-agent run` running?", path);
    else {
        zframe_t *f = zframe_recv (s);
        if (!f)
            ih_err_set (err, "the agent daemon did not answer on %s within %d ms", path, timeout_ms);
        else {
            json_error_t jerr;
            answer = json_loadb ((const char *) zframe_data (f), zframe_size (f), 0, &jerr);
            if (!answer || !json_is_object (answer)) {
                json_decref (answer);
                answer = NULL;
                ih_err_set (err, "control socket %s: the answer is not a JSON object", path);
            }
            zframe_destroy (&f);
        }
    }
    zsock_destroy (&s);
    free (text);
    return answer;
}

/* ---- the server ------------------------------------------------------------------------------- */

ih_control_t *
ih_control_new (const char *path, ih_control_fn *fn, void *arg, ih_err_t *err)
{
    char ep [256];
    if (s_endpoint (path, ep, sizeof ep, err) != 0)
        return NULL;
    //  A socket file that answers belongs to a live daemon; one that does not is a stale
    //  leftover of a crash, and is replaced.
    if (access (path, F_OK) == 0) {
        json_t *ping = json_pack ("{s:s}", "op", "ping");
        ih_err_t ignored;
        json_t *answer = ih_control_call (path, ping, 300, &ignored);
        json_decref (ping);
        if (answer) {
            json_decref (answer);
            ih_err_set (err, "control socket %s: another agent daemon answers there", path);
            return NULL;
        }
        if (unlink (path) != 0) {
            ih_err_set (err, "control socket %s: cannot remove the stale socket: %s", path, strerror (errno));
            return NULL;
        }
    }
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock)
        abort ();
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, IH_CONTROL_MAX);
    //  The socket file gets mode 0600: only the agent's user can connect.
    mode_t old = umask (077);
    int rc = zsock_bind (sock, "%s", ep);
    umask (old);
    if (rc != 0) {
        ih_err_set (err, "control socket %s: cannot bind: %s", path, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    chmod (path, 0600);
    ih_control_t *self = (ih_control_t *) calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path)))
        abort ();
    self->sock = sock;
    self->fn = fn;
    self->arg = arg;
    return self;
}

void
ih_control_destroy (ih_control_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_control_t *self = *self_p;
    zsock_destroy (&self->sock);
    unlink (self->path);
    free (self->path);
    free (self);
    *self_p = NULL;
}

zsock_t *
ih_control_sock (ih_control_t *self)
{
    return self->sock;
}

/*  Sends answer (taken) to the client with routing id rid (taken). */
static void
s_send_answer (ih_control_t *self, zframe_t **rid, json_t *answer)
{
    char *text = answer ? json_dumps (answer, JSON_COMPACT) : NULL;
    if (text) {
        zmsg_t *out = zmsg_new ();
        zmsg_append (out, rid);
        zmsg_addmem (out, "", 0);
        zmsg_addstr (out, text);
        zmsg_send (&out, self->sock);      //  a client that is gone: ROUTER drops it
        zmsg_destroy (&out);
        free (text);
    }
    zframe_destroy (rid);
    json_decref (answer);
}

ih_control_req_t *
ih_control_defer (ih_control_t *self)
{
    assert (self->current && !self->deferred);
    ih_control_req_t *req = (ih_control_req_t *) calloc (1, sizeof *req);
    if (!req || !(req->rid = zframe_dup (self->current)))
        abort ();
    self->deferred = true;
    return req;
}

void
ih_control_answer (ih_control_t *self, ih_control_req_t **req_p, json_t *answer)
{
    if (!req_p || !*req_p) {
        json_decref (answer);
        return;
    }
    ih_control_req_t *req = *req_p;
    s_send_answer (self, &req->rid, answer);
    free (req);
    *req_p = NULL;
}

/*  One request: [routing id, empty delimiter, JSON]. */
static void
s_serve_one (ih_control_t *self, zmsg_t *msg)
{
    zframe_t *rid = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    json_t *answer = NULL;
    if (!rid || !empty || zframe_size (empty) != 0 || !body || zmsg_size (msg) != 0)
        answer = NULL;          //  not a REQ envelope: nothing to answer to
    else {
        json_error_t jerr;
        json_t *req = json_loadb ((const char *) zframe_data (body), zframe_size (body),
                                  JSON_REJECT_DUPLICATES, &jerr);
        const char *op = json_string_value (json_object_get (req, "op"));
        if (!req || !json_is_object (req))
            answer = ih_control_refuse ("bad-request", "not a JSON object: %s", jerr.text);
        else
        if (!op)
            answer = ih_control_refuse ("bad-request", "op: missing");
        else {
            self->current = rid;
            self->deferred = false;
            answer = self->fn (op, req, self->arg);
            self->current = NULL;
            if (self->deferred) {
                json_decref (answer);       //  the handler answers later
                answer = NULL;
                json_decref (req);
                zframe_destroy (&rid);
                zframe_destroy (&empty);
                zframe_destroy (&body);
                return;
            }
            if (!answer) {
                char q [IH_QUOTE_BUF];
                answer = ih_control_refuse ("bad-request", "op: unknown operation '%s'",
                                            ih_quote (op, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
            }
        }
        json_decref (req);
        s_send_answer (self, &rid, answer);
        answer = NULL;
    }
    json_decref (answer);
    zframe_destroy (&rid);
    zframe_destroy (&empty);
    zframe_destroy (&body);
}

int
ih_control_serve (ih_control_t *self)
{
    int n = 0;
    for (;;) {
        zmq_pollitem_t item = { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 0) <= 0 || !(item.revents & ZMQ_POLLIN))
            break;
        zmsg_t *msg = zmsg_recv (self->sock);
        if (!msg)
            break;
        s_serve_one (self, msg);
        zmsg_destroy (&msg);
        n++;
    }
    return n;
}

/* ---- self-test ---------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include <pthread.h>
#include "ih_testkit.h"

static ih_control_t *s_t_srv;           //  the server, for the deferred op
static ih_control_req_t *s_t_later;     //  the request it deferred

static json_t *
s_t_handler (const char *op, json_t *request, void *arg)
{
    (*(int *) arg)++;
    if (streq (op, "later")) {
        s_t_later = ih_control_defer (s_t_srv);
        return NULL;
    }
    if (streq (op, "ping"))
        return json_pack ("{s:b, s:b}", "ok", 1, "connected", 0);
    if (streq (op, "echo"))
        return json_pack ("{s:b, s:O}", "ok", 1, "got", json_object_get (request, "x"));
    return NULL;
}

typedef struct {
    ih_control_t *srv;
    volatile int stop;
} s_t_server_t;

static void *
s_t_serve (void *arg)
{
    s_t_server_t *t = (s_t_server_t *) arg;
    while (!t->stop) {
        zmq_pollitem_t item = { zsock_resolve (ih_control_sock (t->srv)), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 20) > 0)
            ih_control_serve (t->srv);
        //  A deferred request is answered on a later round, as the daemon does once the
        //  broker has answered.
        if (s_t_later)
            ih_control_answer (t->srv, &s_t_later, json_pack ("{s:b, s:s}", "ok", 1, "when", "later"));
    }
    return NULL;
}

void
ih_control_test (bool verbose)
{
    char dir [256], path [300];
    ih_tk_tempdir ("control", dir, sizeof dir);
    ih_tk_path (path, sizeof path, dir, "agent.sock");
    ih_err_t err = { "" };
    json_t *ping = json_pack ("{s:s}", "op", "ping");
    //  No daemon: a clear error.
    IH_CHECK (ih_control_call (path, ping, 200, &err) == NULL && strstr (err.msg, "is `infohub-agent run` running"));
    int calls = 0;
    ih_control_t *srv = ih_control_new (path, s_t_handler, &calls, &err);
    IH_CHECK (srv);
    s_t_srv = srv;
    struct stat st;
    IH_CHECK (stat (path, &st) == 0 && S_ISSOCK (st.st_mode) && (st.st_mode & 0777) == 0600);
    s_t_server_t t = { srv, 0 };
    pthread_t th;
    IH_CHECK (pthread_create (&th, NULL, s_t_serve, &t) == 0);
    json_t *a = ih_control_call (path, ping, 2000, &err);
    IH_CHECK (a && json_is_true (json_object_get (a, "ok")));
    json_decref (a);
    json_t *echo = json_pack ("{s:s, s:s}", "op", "echo", "x", "héllo");
    a = ih_control_call (path, echo, 2000, &err);
    IH_CHECK (a && streq (json_string_value (json_object_get (a, "got")), "héllo"));
    json_decref (a);
    json_decref (echo);
    json_t *later = json_pack ("{s:s}", "op", "later");
    a = ih_control_call (path, later, 2000, &err);
    IH_CHECK (a && streq (json_string_value (json_object_get (a, "when")), "later"));
    json_decref (a);
    json_decref (later);
    IH_CHECK (s_t_later == NULL);
    json_t *bad = json_pack ("{s:s}", "op", "launch\nmissiles");
    a = ih_control_call (path, bad, 2000, &err);
    IH_CHECK (a && json_is_false (json_object_get (a, "ok")));
    if (verbose)
        printf ("\n    %s", json_string_value (json_object_get (a, "reason")));
    IH_CHECK (strstr (json_string_value (json_object_get (a, "reason")), "'launch\\x0amissiles'"));
    json_decref (a);
    json_decref (bad);
    //  A second daemon on the same socket is refused while the first answers.
    int calls2 = 0;
    IH_CHECK (ih_control_new (path, s_t_handler, &calls2, &err) == NULL && strstr (err.msg, "another agent daemon"));
    t.stop = 1;
    pthread_join (th, NULL);
    ih_control_destroy (&srv);
    ih_control_destroy (&srv);
    IH_CHECK (access (path, F_OK) != 0);
    //  A stale socket file (a crashed daemon) is replaced.
    zsock_t *stale = zsock_new (ZMQ_ROUTER);
    char ep [320];
    snprintf (ep, sizeof ep, "ipc://%s", path);
    IH_CHECK (zsock_bind (stale, "%s", ep) == 0);
    zsock_destroy (&stale);
    if (access (path, F_OK) != 0) {     //  libzmq may unlink it on close: leave a dead file
        FILE *f = fopen (path, "w");
        IH_CHECK (f && fclose (f) == 0);
    }
    srv = ih_control_new (path, s_t_handler, &calls, &err);
    IH_CHECK (srv);
    ih_control_destroy (&srv);
    IH_CHECK (calls == 5);          //  ping, echo, later, the unknown op, and the second daemon's ping
    json_decref (ping);
    ih_tk_rmtree (dir);
}
#endif

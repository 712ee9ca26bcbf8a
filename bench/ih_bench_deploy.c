/*  ih_bench_deploy.c: a real deployment made by bin/infohub-admin, the real
    bin/infohub-broker on it, client connections to it, and its journal read beside it
    (read-only: the broker keeps writing). The contract is in ih_bench.h.
*/
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include <sys/wait.h>

#include "ih_bench.h"
#include "ih_keys.h"

/* ---- the deployment ---------------------------------------------------------------------------- */
void
ih_bench_deploy (ih_bench_deploy_t *d)
{
    char admin [4096], log [4200], out [4200], name [32];
    snprintf (admin, sizeof admin, "%s/infohub-admin", d->bindir);
    snprintf (log, sizeof log, "%s/admin.log", d->work);
    snprintf (d->dep, sizeof d->dep, "%s/dep", d->work);
    snprintf (d->journal, sizeof d->journal, "%s/journal", d->dep);
    snprintf (d->endpoint, sizeof d->endpoint, "tcp://127.0.0.1:%d", ih_bench_free_port ());
    char *init [] = { admin, "init", d->dep, "--endpoint", d->endpoint, NULL };
    ih_bench_run (init, log);
    //  BENCH_BROKER_IO_THREADS=N: the broker's ZeroMQ I/O threads (broker.cfg io-threads;
    //  a broker older than the key ignores it)
    const char *io = getenv ("BENCH_BROKER_IO_THREADS");
    if (io && *io) {
        char cfgpath [4300];
        snprintf (cfgpath, sizeof cfgpath, "%s/broker.cfg", d->dep);
        FILE *cf = fopen (cfgpath, "a");
        if (!cf)
            ih_bench_die ("cannot open %s", cfgpath);
        fprintf (cf, "    io-threads = \"%s\"\n", io);
        if (fclose (cf) != 0)
            ih_bench_die ("cannot write %s", cfgpath);
    }
    snprintf (out, sizeof out, "%s/pub", d->work);
    char *addpub [] = { admin, "member", "add", d->dep, "--org", "org-pub", "--name", "pub",
                        "--role", "publisher", "--out", out, NULL };
    ih_bench_run (addpub, log);
    //  The bench measures the pipeline, not the broker's per-member limits (100 messages a
    //  second for a publisher by default): its publisher has none. A build from before
    //  the limits has no `member set`, and needs none: its failure is ignored.
    char *unlimited [] = { admin, "member", "set", d->dep, "pub", "--rate", "unlimited",
                           "--bandwidth", "unlimited", "--quota", "unlimited", NULL };
    int status = 0;
    pid_t pid = ih_bench_spawn (unlimited, log);
    waitpid (pid, &status, 0);
    for (size_t i = 0; i < d->nsubs; i++) {
        snprintf (name, sizeof name, "sub%zu", i + 1);
        snprintf (out, sizeof out, "%s/%s", d->work, name);
        char *add [] = { admin, "member", "add", d->dep, "--org", i % 2 ? "org-b" : "org-c",
                         "--name", name, "--role", "reader", "--out", out, NULL };
        ih_bench_run (add, log);
    }
    ih_err_t err;
    char path [4300];
    snprintf (path, sizeof path, "%s/broker.cert_secret", d->dep);
    if (!(d->broker_cert = ih_keys_load_cert (path, &err)))
        ih_bench_die ("%s", err.msg);
    snprintf (path, sizeof path, "%s/pub/curve.cert_secret", d->work);
    if (!(d->pub_cert = ih_keys_load_cert (path, &err)))
        ih_bench_die ("%s", err.msg);
    snprintf (path, sizeof path, "%s/pub/signing.key", d->work);
    if (ih_keys_load_signing (path, d->sign_pk, d->sign_sk, &err))
        ih_bench_die ("%s", err.msg);
    for (size_t i = 0; i < d->nsubs; i++) {
        snprintf (path, sizeof path, "%s/sub%zu/curve.cert_secret", d->work, i + 1);
        if (!(d->sub_certs [i] = ih_keys_load_cert (path, &err)))
            ih_bench_die ("%s", err.msg);
    }
}

void
ih_bench_deploy_free (ih_bench_deploy_t *d)
{
    for (size_t i = 0; i < d->nsubs; i++)
        zcert_destroy (&d->sub_certs [i]);
    zcert_destroy (&d->pub_cert);
    zcert_destroy (&d->broker_cert);
    sodium_memzero (d->sign_sk, sizeof d->sign_sk);
}

/* ---- the broker -------------------------------------------------------------------------------- */
void
ih_bench_broker_start (ih_bench_deploy_t *d, void *ctx)
{
    char broker [4096], cfg [4200], log [4200];
    snprintf (broker, sizeof broker, "%s/infohub-broker", d->bindir);
    snprintf (cfg, sizeof cfg, "%s/broker.cfg", d->dep);
    snprintf (log, sizeof log, "%s/broker.log", d->work);
    char *argv [] = { broker, "-c", cfg, NULL };
    d->broker_pid = ih_bench_start (argv, log, SIGTERM, 5000);
    //  For bench_broker.sh, should this process die without stopping it
    char pidfile [4200];
    snprintf (pidfile, sizeof pidfile, "%s/broker.pid", d->work);
    FILE *f = fopen (pidfile, "w");
    if (f) {
        fprintf (f, "%d\n", (int) d->broker_pid);
        fclose (f);
    }
    //  Ready when a status request is answered
    void *s = ih_bench_curve_client (ctx, ZMQ_DEALER, d->pub_cert,
                                     zcert_public_key (d->broker_cert), d->endpoint);
    ih_bench_send_simple (s, IH_T_STATUS);
    ih_bench_expect_all (&s, 1, IH_T_STATS, NULL, 10000);
    zmq_close (s);
}

void
ih_bench_broker_stop (ih_bench_deploy_t *d)
{
    ih_bench_stop (&d->broker_pid);
}

void
ih_bench_broker_stats (ih_bench_deploy_t *d, void *ctx, char *out, size_t size)
{
    out [0] = 0;
    void *s = ih_bench_curve_client (ctx, ZMQ_DEALER, d->pub_cert,
                                     zcert_public_key (d->broker_cert), d->endpoint);
    ih_bench_send_simple (s, IH_T_STATUS);
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&it, 1, 5000) > 0) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        ih_env_t e;
        ih_err_t err;
        if (zmq_msg_recv (&msg, s, 0) >= 0
        &&  ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err) == 0) {
            if (e.type == IH_T_STATS)
                snprintf (out, size, "%s", e.json);
            ih_env_free (&e);
        }
        zmq_msg_close (&msg);
    }
    zmq_close (s);
}

uint64_t
ih_bench_broker_head (ih_bench_deploy_t *d, void *ctx)
{
    char stats [1024];
    ih_bench_broker_stats (d, ctx, stats, sizeof stats);
    const char *h = strstr (stats, "\"head\":");
    if (!h)
        ih_bench_die ("the broker's stats have no head: '%s' (see broker.log)", stats);
    return strtoull (h + 7, NULL, 10);
}

void
ih_bench_member_add (ih_bench_deploy_t *d, const char *name, const char *role)
{
    char admin [4096], log [4200], out [4200];
    snprintf (admin, sizeof admin, "%s/infohub-admin", d->bindir);
    snprintf (log, sizeof log, "%s/admin.log", d->work);
    snprintf (out, sizeof out, "%s/%s", d->work, name);
    char *add [] = { admin, "member", "add", d->dep, "--org", "org-c", "--name", (char *) name,
                     "--role", (char *) role, "--out", out, NULL };
    ih_bench_run (add, log);
}

/* ---- client connections ------------------------------------------------------------------------ */
void **
ih_bench_connect_subs (ih_bench_deploy_t *d, void *ctx)
{
    return ih_bench_connect_subs_n (d, ctx, d->nsubs);
}

void **
ih_bench_connect_subs_n (ih_bench_deploy_t *d, void *ctx, size_t n)
{
    if (n > d->nsubs)
        ih_bench_die ("%zu subscribers: the deployment has %zu readers", n, d->nsubs);
    void **socks = calloc (n ? n : 1, sizeof *socks);
    if (!socks)
        abort ();
    for (size_t i = 0; i < n; i++)
        socks [i] = ih_bench_curve_client (ctx, ZMQ_DEALER, d->sub_certs [i],
                                           zcert_public_key (d->broker_cert), d->endpoint);
    //  status/stats: the CURVE handshake and ZAP are done before anything is timed
    for (size_t i = 0; i < n; i++)
        ih_bench_send_simple (socks [i], IH_T_STATUS);
    ih_bench_expect_all (socks, n, IH_T_STATS, NULL, 20000);
    return socks;
}

void
ih_bench_close_subs (void **socks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ih_bench_send_simple (socks [i], IH_T_BYE);
        zmq_close (socks [i]);
    }
    free (socks);
}

void
ih_bench_hello_all (void **socks, size_t n, uint64_t cursor, uint32_t window)
{
    for (size_t i = 0; i < n; i++) {
        ih_env_t e;
        ih_env_init (&e, IH_T_HELLO);
        e.cursor = cursor;
        e.window = window;
        e.agent = "bench-broker";
        ih_bench_send_env (socks [i], &e);
        ih_env_free (&e);
    }
}

void **
ih_bench_connect_pubs (ih_bench_deploy_t *d, void *ctx, size_t n)
{
    void **socks = calloc (n, sizeof *socks);
    if (!socks)
        abort ();
    for (size_t i = 0; i < n; i++) {
        socks [i] = ih_bench_curve_client (ctx, ZMQ_DEALER, d->pub_cert,
                                           zcert_public_key (d->broker_cert), d->endpoint);
        ih_bench_send_simple (socks [i], IH_T_STATUS);
    }
    ih_bench_expect_all (socks, n, IH_T_STATS, NULL, 10000);
    return socks;
}

void
ih_bench_close_socks (void **socks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_close (socks [i]);
    free (socks);
}

/* ---- the journal, read beside the broker ------------------------------------------------------- */
uint64_t
ih_bench_journal_txnid (const char *dir)
{
    MDB_env *env;
    MDB_envinfo info;
    if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 4)
    ||  mdb_env_open (env, dir, MDB_RDONLY | MDB_NOTLS, 0600))
        ih_bench_die ("%s: cannot open read-only", dir);
    mdb_env_info (env, &info);
    mdb_env_close (env);
    return (uint64_t) info.me_last_txnid;
}

void
ih_bench_journal_values (const char *dir, ih_bench_frames_t *vals)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 4)
    ||  mdb_env_open (env, dir, MDB_RDONLY | MDB_NOTLS, 0600)
    ||  mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open (txn, "items", 0, &dbi)
    ||  mdb_cursor_open (txn, dbi, &cur))
        ih_bench_die ("%s: cannot read the journal", dir);
    MDB_val k, v;
    int rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        ih_bench_frames_add (vals, v.mv_data, v.mv_size, 1);
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    mdb_env_close (env);
}

/*  bench_broker: the broker against raw libzmq and raw LMDB, side by side, in one run
    (issue 3, item 3: "at least 0.8x a raw libzmq CURVE XPUB fan-out of the same bytes to
    the same number of agents, and at least 0.5x raw LMDB for durable ingest at the same
    commit batching").

    usage: bench-broker WORKDIR [--subs N] [--fanout M] [--ingest M] [--pubs P]
                                [--inflight K] [--window W] [--bin DIR] [--perf PREFIX]

    WORKDIR must exist and be empty (bench/bench_broker.sh makes and removes it).
    In it, through bin/infohub-admin: a deployment whose broker binds 127.0.0.1 on a free
    port, one publisher member and N reader members. Then, with the real
    bin/infohub-broker running on it (stderr in WORKDIR/broker.log):

    0. Before the broker starts: FANOUT + INGEST alerts are built and signed (GREEN, every
       member entitled, 4 IOCs, the summary padded so that each signed body is exactly
       1024 bytes) and their `publish` envelopes encoded. ih_verify and ih_body_decode are
       timed per message on one thread (the broker's per-message CPU floor for ingest).
    1. Live fan-out: N DEALER CURVE sessions (status/stats to finish the handshake,
       hello cursor 0, welcome) wait; P publisher connections send FANOUT publishes with K
       in flight. Timed from the first publish to the moment every subscriber holds every
       message. Subscribers decode every deliver (ih_env_decode), check that seqs arrive
       without gap or duplicate, and ack cumulatively after each drained burst.
       Subscriber 0 keeps a copy of every deliver frame it received.
    2. Replay fan-out: N new connections (handshake finished first), hello cursor 0 on a
       journal holding FANOUT messages. Same measure; frames of subscriber 0 kept.
    3. Durable ingest: no subscribers; INGEST publishes with K in flight, timed from the
       first send to the last `ok`. The LMDB transaction id of the journal (read-only
       environment, mdb_env_info) before and after gives the commits, hence the batch the
       broker achieved.
    4. Raw LMDB, right after phase 3 (the broker idle, so that both meet the disk in the
       same state): a fresh environment in WORKDIR (same filesystem), default flags
       (fsync), the same 1 GiB map; pre-filled untimed with the phase 1 records, then the
       phase 3 records (the very values the journal holds, read back from it) put under
       8-byte big-endian keys with MDB_APPEND, committing every B puts: B = the broker's
       achieved batch, and B = 256 (its maximum). Three environments each; the median.
    Then the broker is stopped (SIGTERM), and:
    5. Raw XPUB, in a child process with its own context (as the broker is): one XPUB
       socket, CURVE server with the broker's key, ZMQ_XPUB_NODROP, SNDHWM as the broker's
       ROUTER, waits for the N subscriptions, then sends exactly the deliver frames
       subscriber 0 got in phase 1 (then, separately, in phase 2) to N SUB sockets with the
       subscribers' keys, which run the very same receive loop (minus the acks SUB cannot
       send). Also, for context, the same items one per frame.

    Output: a table, then `result KEY VALUE` lines for bench_broker.sh to aggregate.
    With --perf PREFIX, `perf record -g` is attached to the broker during each phase
    (PREFIX-live.data, PREFIX-replay.data, PREFIX-ingest.data); the figures of such a run
    carry perf's overhead.

    Everything binds 127.0.0.1 only. The broker (and perf) are stopped on exit, also on
    SIGINT/SIGTERM.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <czmq.h>
#include <sodium.h>

#include "ih_codec.h"
#include "ih_keys.h"
#include "ih_sign.h"

#define S_BODY_SIZE     1024
#define S_MAX_SUBS      64
#define S_MAX_PUBS      16
#define S_PHASE_TIMEOUT 60          //  s, per phase
#define S_SNDHWM        100000      //  the broker's ROUTER (ih_broker.c S_SNDHWM)
#define S_CLIENT_HWM    10000       //  ih_client.c
#define S_BROKER_BATCH  256         //  ih_broker_int.h IH_BROKER_BATCH

/* ---- small helpers ---------------------------------------------------------------------- */
static volatile pid_t s_broker_pid = 0;
static volatile pid_t s_perf_pid = 0;

static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
s_die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

static void
s_die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "bench-broker: ");
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\n");
    va_end (ap);
    exit (1);
}

static void
s_stop_children (void)
{
    if (s_perf_pid > 0) {
        kill (s_perf_pid, SIGINT);
        waitpid (s_perf_pid, NULL, 0);
        s_perf_pid = 0;
    }
    if (s_broker_pid > 0) {
        kill (s_broker_pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid (s_broker_pid, NULL, WNOHANG) == s_broker_pid) {
                s_broker_pid = 0;
                return;
            }
            usleep (100 * 1000);
        }
        kill (s_broker_pid, SIGKILL);
        waitpid (s_broker_pid, NULL, 0);
        s_broker_pid = 0;
    }
}

static void
s_on_signal (int sig)
{
    if (s_perf_pid > 0)
        kill (s_perf_pid, SIGINT);
    if (s_broker_pid > 0)
        kill (s_broker_pid, SIGKILL);
    _exit (128 + sig);
}

static long
s_arg_num (const char *name, const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        s_die ("%s: expected a number from %ld to %ld, got '%s'", name, min, max, s);
    return v;
}

//  Starts argv with stdout and stderr appended to log. Returns the pid.
static pid_t
s_spawn (char *const argv [], const char *log)
{
    pid_t pid = fork ();
    if (pid < 0)
        s_die ("fork: %s", strerror (errno));
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
            close (fd);
        }
        execv (argv [0], argv);
        fprintf (stderr, "exec %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    return pid;
}

static void
s_run (char *const argv [], const char *log)
{
    pid_t pid = s_spawn (argv, log);
    int status = 0;
    if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
        s_die ("%s %s failed (see %s)", argv [0], argv [1], log);
}

//  A TCP port on 127.0.0.1 that is free right now.
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset (&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) != 0
    ||  getsockname (fd, (struct sockaddr *) &a, &alen) != 0)
        s_die ("cannot find a free port: %s", strerror (errno));
    int port = ntohs (a.sin_port);
    close (fd);
    return port;
}

//  CPU seconds (user + system, all threads) of a process so far.
static double
s_proc_cpu (pid_t pid)
{
    char path [64], buf [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf [n] = 0;
    char *p = strrchr (buf, ')');
    if (!p)
        return 0;
    //  after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
    unsigned long long ut = 0, st = 0;
    if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double) (ut + st) / (double) sysconf (_SC_CLK_TCK);
}

static double
s_self_cpu (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

//  Per-thread scheduler times of a process (/proc/PID/task/TID/schedstat: ns on a CPU,
//  ns runnable but waiting for one), to tell CPU work, CPU starvation and sleep apart.
#define S_MAX_THREADS 32
typedef struct {
    int tid;
    char comm [32];
    uint64_t run_ns, wait_ns;
} s_thread_t;

typedef struct {
    s_thread_t t [S_MAX_THREADS];
    size_t n;
    int64_t at;
} s_threads_t;

static void
s_threads_snap (pid_t pid, s_threads_t *out)
{
    memset (out, 0, sizeof *out);
    out->at = s_now_ns ();
    char path [128];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *d = opendir (path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d)) && out->n < S_MAX_THREADS) {
        if (e->d_name [0] < '0' || e->d_name [0] > '9')
            continue;
        s_thread_t *t = &out->t [out->n];
        t->tid = (int) strtol (e->d_name, NULL, 10);
        char file [256];
        snprintf (file, sizeof file, "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen (file, "r");
        if (!f)
            continue;
        unsigned long long run = 0, wait = 0;
        int ok = fscanf (f, "%llu %llu", &run, &wait) == 2;
        fclose (f);
        snprintf (file, sizeof file, "%s/%s/comm", path, e->d_name);
        f = fopen (file, "r");
        if (f) {
            if (!fgets (t->comm, sizeof t->comm, f))
                t->comm [0] = 0;
            t->comm [strcspn (t->comm, "\n")] = 0;
            fclose (f);
        }
        if (!ok)
            continue;
        t->run_ns = run;
        t->wait_ns = wait;
        out->n++;
    }
    closedir (d);
}

//  "main 1.20/0.10/0.90 ..." : per thread that ran, seconds on a CPU / waiting for a CPU /
//  asleep (blocked: fsync, a condition variable, poll), over the interval.
static void
s_threads_diff (pid_t pid, const s_threads_t *a, const s_threads_t *b, char *out, size_t size)
{
    double wall = (double) (b->at - a->at) / 1e9;
    size_t used = 0;
    out [0] = 0;
    int helper = 0;
    for (size_t i = 0; i < b->n; i++) {
        const s_thread_t *t = &b->t [i];
        uint64_t run0 = 0, wait0 = 0;
        for (size_t j = 0; j < a->n; j++)
            if (a->t [j].tid == t->tid) {
                run0 = a->t [j].run_ns;
                wait0 = a->t [j].wait_ns;
            }
        double run = (double) (t->run_ns - run0) / 1e9, wait = (double) (t->wait_ns - wait0) / 1e9;
        if (run < 0.005)
            continue;
        char name [48];
        if (t->tid == (int) pid)
            snprintf (name, sizeof name, "main");
        else
        if (streq (t->comm, "infohub-broker"))
            snprintf (name, sizeof name, "verifier%d", ++helper);
        else
            snprintf (name, sizeof name, "%s", t->comm);
        double asleep = wall - run - wait;
        used += (size_t) snprintf (out + used, used < size ? size - used : 0, "%s%s %.2f/%.2f/%.2f",
                                   used ? ", " : "", name, run, wait, asleep < 0 ? 0 : asleep);
        if (used >= size)
            break;
    }
}

static void
s_perf_start (const char *prefix, const char *phase)
{
    if (!prefix || s_broker_pid <= 0)
        return;
    char out [4096], pid [32];
    snprintf (out, sizeof out, "%s-%s.data", prefix, phase);
    snprintf (pid, sizeof pid, "%d", (int) s_broker_pid);
    char log [4200];
    snprintf (log, sizeof log, "%s-%s.log", prefix, phase);
    const char *cg = getenv ("BENCH_PERF_CALLGRAPH");     //  "dwarf" for libraries without frame pointers
    char cgarg [64];
    snprintf (cgarg, sizeof cgarg, "--call-graph=%s", cg && *cg ? cg : "fp");
    char *argv [] = { "/usr/bin/perf", "record", cgarg, "-F", "999", "-o", out, "-p", pid, NULL };
    s_perf_pid = s_spawn (argv, log);
    usleep (500 * 1000);                //  perf needs a moment to attach
}

static void
s_perf_stop (void)
{
    if (s_perf_pid <= 0)
        return;
    kill (s_perf_pid, SIGINT);
    waitpid (s_perf_pid, NULL, 0);
    s_perf_pid = 0;
}

/* ---- the alerts --------------------------------------------------------------------------- */
typedef struct {
    size_t count;
    ih_buf_t *bodies;               //  signed bodies, S_BODY_SIZE bytes each
    uint8_t (*sigs) [IH_SIG_LEN];
    ih_buf_t *envs;                 //  the `publish` envelopes (req = index + 1)
} s_alerts_t;

static void
s_alerts_make (s_alerts_t *a, size_t count, size_t first, const uint8_t pk [32],
               const uint8_t sk [64])
{
    a->count = count;
    a->bodies = calloc (count, sizeof *a->bodies);
    a->sigs = calloc (count, sizeof *a->sigs);
    a->envs = calloc (count, sizeof *a->envs);
    if (!a->bodies || !a->sigs || !a->envs)
        abort ();
    static char pad [S_BODY_SIZE];
    static const char words [] = "Observed phishing wave against member banks; indicators below. ";
    for (size_t i = 0; i < sizeof pad; i++)
        pad [i] = words [i % (sizeof words - 1)];
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_err_t err;
    int64_t now = ih_now_ms ();
    for (size_t i = 0; i < count; i++) {
        size_t k = first + i;
        size_t summary_len = 0;
        ih_buf_init (&a->bodies [i]);
        for (int attempt = 0; attempt < 4; attempt++) {
            ih_msg_reset (&m, IH_KIND_ALERT);
            ih_uuid_new (m.id);
            m.created = m.modified = now - 1000 + (int64_t) (k % 1000);
            m.org = ih_msg_str (&m, "org-pub");
            m.member = ih_msg_str (&m, "pub");
            memcpy (m.signer, pk, 32);
            char s [128];
            snprintf (s, sizeof s, "Benchmark alert %zu: credential phishing kit", k);
            m.title = ih_msg_str (&m, s);
            char summary [S_BODY_SIZE + 1];
            memcpy (summary, pad, summary_len);
            summary [summary_len] = 0;
            m.summary = ih_msg_str (&m, summary);
            m.tlp = IH_TLP_GREEN;
            m.severity = (ih_severity_t) (k % IH_SEV_COUNT);
            m.category = IH_CAT_PHISHING;
            ih_msg_strlist_add (&m, &m.sectors, "finance");
            ih_msg_strlist_add (&m, &m.tags, "bench");
            snprintf (s, sizeof s, "%u.%u.%u.7", 11 + (unsigned) ((k >> 16) & 15),
                      (unsigned) ((k >> 8) & 255), (unsigned) (k & 255));
            ih_msg_ioc_add (&m, IH_IOC_IPV4, s, "", true);
            snprintf (s, sizeof s, "login-%zu.bench-phish.com", k);
            ih_msg_ioc_add (&m, IH_IOC_DOMAIN, s, "", true);
            snprintf (s, sizeof s, "https://login-%zu.bench-phish.com/owa/", k);
            ih_msg_ioc_add (&m, IH_IOC_URL, s, "landing page", true);
            snprintf (s, sizeof s, "%064zx", k * 2654435761u + 1);
            ih_msg_ioc_add (&m, IH_IOC_SHA256, s, "kit archive", false);
            ih_buf_reset (&a->bodies [i]);
            if (ih_body_encode (&m, &a->bodies [i], &err))
                s_die ("alert %zu: %s", k, err.msg);
            size_t len = a->bodies [i].len;
            if (len == S_BODY_SIZE)
                break;
            if (len > S_BODY_SIZE && summary_len == 0)
                s_die ("alert %zu: %zu bytes without a summary", k, len);
            //  the string header grows by a byte at 32 and 256 characters: converge
            summary_len = summary_len + S_BODY_SIZE - len;
            if (summary_len > S_BODY_SIZE)
                s_die ("alert %zu: cannot pad to %d bytes", k, S_BODY_SIZE);
        }
        if (a->bodies [i].len != S_BODY_SIZE)
            s_die ("alert %zu: %zu bytes, not %d", k, a->bodies [i].len, S_BODY_SIZE);
        ih_sign (a->sigs [i], IH_CTX_MSG, a->bodies [i].data, a->bodies [i].len, sk);
        ih_env_t e;
        ih_env_init (&e, IH_T_PUBLISH);
        e.req = i + 1;
        e.body = a->bodies [i].data;
        e.body_len = a->bodies [i].len;
        e.sig = a->sigs [i];
        ih_buf_init (&a->envs [i]);
        if (ih_env_encode (&e, &a->envs [i], &err))
            s_die ("publish %zu: %s", k, err.msg);
        ih_env_free (&e);
    }
    ih_msg_free (&m);
}

static void
s_alerts_free (s_alerts_t *a)
{
    for (size_t i = 0; i < a->count; i++) {
        ih_buf_free (&a->bodies [i]);
        ih_buf_free (&a->envs [i]);
    }
    free (a->bodies);
    free (a->sigs);
    free (a->envs);
}

/* ---- sockets -------------------------------------------------------------------------------- */
static void *
s_curve_client (void *ctx, int type, zcert_t *cert, const uint8_t server_pk [32], const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, hwm = S_CLIENT_HWM;
    int64_t maxmsg = IH_MAX_FRAME;
    if (!s
    ||  zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, server_pk, 32)
    ||  zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, zcert_public_key (cert), 32)
    ||  zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, zcert_secret_key (cert), 32)
    ||  zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero)
    ||  zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)
    ||  zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof hwm)
    ||  zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof hwm)
    ||  zmq_connect (s, ep))
        s_die ("client socket on %s: %s", ep, zmq_strerror (zmq_errno ()));
    return s;
}

static void
s_send_env (void *sock, ih_env_t *e)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_err_t err;
    if (ih_env_encode (e, &buf, &err))
        s_die ("encode %s: %s", ih_type_name (e->type), err.msg);
    if (zmq_send (sock, buf.data, buf.len, 0) != (int) buf.len)
        s_die ("send %s: %s", ih_type_name (e->type), zmq_strerror (zmq_errno ()));
    ih_buf_free (&buf);
}

static void
s_send_simple (void *sock, ih_type_t type)
{
    ih_env_t e;
    ih_env_init (&e, type);
    s_send_env (sock, &e);
    ih_env_free (&e);
}

//  Waits for an envelope of the given type on each socket (skipping nothing else).
static void
s_expect_all (void **socks, size_t n, ih_type_t type, uint64_t *head, int timeout_ms)
{
    int64_t deadline = s_now_ns () + (int64_t) timeout_ms * 1000000;
    for (size_t i = 0; i < n; i++) {
        zmq_pollitem_t it = { socks [i], 0, ZMQ_POLLIN, 0 };
        long left = (long) ((deadline - s_now_ns ()) / 1000000);
        if (left < 0 || zmq_poll (&it, 1, left) <= 0)
            s_die ("no %s on connection %zu within %d ms (see broker.log)",
                   ih_type_name (type), i, timeout_ms);
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, socks [i], 0) < 0)
            s_die ("recv: %s", zmq_strerror (zmq_errno ()));
        ih_env_t e;
        ih_err_t err;
        if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err))
            s_die ("connection %zu: undecodable frame: %s", i, err.msg);
        if (e.type != type)
            s_die ("connection %zu: expected %s, got %s%s%s", i, ih_type_name (type),
                   ih_type_name (e.type), e.type == IH_T_ERROR ? ": " : "",
                   e.type == IH_T_ERROR ? e.reason : "");
        if (head)
            *head = e.head;
        ih_env_free (&e);
        zmq_msg_close (&msg);
    }
}

/* ---- subscribers ------------------------------------------------------------------------------
    One thread runs every subscriber socket (the same loop for the broker's DEALERs and the
    raw SUBs): it decodes each deliver, checks the seqs, counts, and (DEALER only) acks the
    highest seq after each drained burst of up to 32 frames. */
typedef struct {
    uint8_t *data;
    size_t len;
} s_frame_t;

typedef struct {
    s_frame_t *v;
    size_t n, cap;
    uint64_t items;
} s_frames_t;

static void
s_frames_add (s_frames_t *f, const void *data, size_t len, uint32_t items)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->v = realloc (f->v, f->cap * sizeof *f->v);
        if (!f->v)
            abort ();
    }
    f->v [f->n].data = malloc (len);
    if (!f->v [f->n].data)
        abort ();
    memcpy (f->v [f->n].data, data, len);
    f->v [f->n].len = len;
    f->n++;
    f->items += items;
}

static void
s_frames_free (s_frames_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free (f->v [i].data);
    free (f->v);
    memset (f, 0, sizeof *f);
}

typedef struct {
    void *sock;
    uint64_t expect;                //  next seq
    uint64_t last;                  //  the seq to reach
    uint64_t frames, items, acked;
    s_frames_t *capture;            //  NULL = none
} s_sub_t;

typedef struct {
    s_sub_t *subs;
    size_t n;
    bool ack;
    int64_t t_done;                 //  when the last subscriber got its last item
    int rc;
    char error [512];
} s_subrun_t;

static void *
s_subs_thread (void *arg)
{
    s_subrun_t *run = (s_subrun_t *) arg;
    zmq_pollitem_t items [S_MAX_SUBS];
    for (size_t i = 0; i < run->n; i++)
        items [i] = (zmq_pollitem_t) { run->subs [i].sock, 0, ZMQ_POLLIN, 0 };
    int64_t deadline = s_now_ns () + (int64_t) S_PHASE_TIMEOUT * 1000000000LL;
    size_t done = 0;
    for (size_t i = 0; i < run->n; i++)
        if (run->subs [i].expect > run->subs [i].last)
            done++;
    while (done < run->n) {
        if (s_now_ns () > deadline) {
            size_t k = 0;
            while (k < run->n && run->subs [k].expect > run->subs [k].last)
                k++;
            snprintf (run->error, sizeof run->error,
                      "timeout: %zu of %zu subscribers complete; subscriber %zu is at seq %" PRIu64
                      " of %" PRIu64, done, run->n, k, run->subs [k].expect - 1, run->subs [k].last);
            run->rc = -1;
            return NULL;
        }
        if (zmq_poll (items, (int) run->n, 100) < 0 && zmq_errno () != EINTR) {
            snprintf (run->error, sizeof run->error, "poll: %s", zmq_strerror (zmq_errno ()));
            run->rc = -1;
            return NULL;
        }
        for (size_t i = 0; i < run->n; i++) {
            if (!(items [i].revents & ZMQ_POLLIN))
                continue;
            s_sub_t *s = &run->subs [i];
            bool was_done = s->expect > s->last;
            uint64_t top = 0;
            for (int burst = 0; burst < 32; burst++) {
                zmq_msg_t msg;
                zmq_msg_init (&msg);
                if (zmq_msg_recv (&msg, s->sock, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&msg);
                    break;
                }
                ih_env_t e;
                ih_err_t err;
                if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err)) {
                    snprintf (run->error, sizeof run->error, "subscriber %zu: bad frame: %s", i,
                              err.msg);
                    run->rc = -1;
                    zmq_msg_close (&msg);
                    return NULL;
                }
                if (e.type == IH_T_DELIVER) {
                    for (uint32_t k = 0; k < e.item_count; k++) {
                        if (e.items [k].seq != s->expect) {
                            snprintf (run->error, sizeof run->error,
                                      "subscriber %zu: got seq %" PRIu64 ", expected %" PRIu64
                                      " (gap or duplicate)", i, e.items [k].seq, s->expect);
                            run->rc = -1;
                            ih_env_free (&e);
                            zmq_msg_close (&msg);
                            return NULL;
                        }
                        s->expect++;
                    }
                    s->items += e.item_count;
                    s->frames++;
                    top = s->expect - 1;
                    if (s->capture)
                        s_frames_add (s->capture, zmq_msg_data (&msg), zmq_msg_size (&msg),
                                      e.item_count);
                    if (!was_done && s->expect > s->last) {
                        was_done = true;
                        done++;
                        if (done == run->n)
                            run->t_done = s_now_ns ();
                    }
                }
                else
                if (e.type == IH_T_ERROR) {
                    snprintf (run->error, sizeof run->error, "subscriber %zu: error %s: %s", i,
                              e.code, e.reason);
                    run->rc = -1;
                    ih_env_free (&e);
                    zmq_msg_close (&msg);
                    return NULL;
                }
                ih_env_free (&e);
                zmq_msg_close (&msg);
            }
            if (run->ack && top > s->acked) {
                ih_env_t a;
                ih_env_init (&a, IH_T_ACK);
                a.seq = top;
                s_send_env (s->sock, &a);
                ih_env_free (&a);
                s->acked = top;
            }
        }
    }
    return NULL;
}

/* ---- publishers: P DEALER connections, K publishes in flight in all ------------------------- */
typedef struct {
    void **socks;
    size_t n;
    const s_alerts_t *alerts;
    size_t inflight;
    int64_t t_first, t_last;
    uint64_t ok, errors, max_seq;
    int rc;
    char error [512];
} s_pubrun_t;

static void *
s_pubs_thread (void *arg)
{
    s_pubrun_t *run = (s_pubrun_t *) arg;
    zmq_pollitem_t items [S_MAX_PUBS];
    for (size_t i = 0; i < run->n; i++)
        items [i] = (zmq_pollitem_t) { run->socks [i], 0, ZMQ_POLLIN, 0 };
    size_t total = run->alerts->count, sent = 0, answered = 0;
    int64_t deadline = s_now_ns () + (int64_t) S_PHASE_TIMEOUT * 1000000000LL;
    run->t_first = s_now_ns ();
    while (answered < total) {
        while (sent < total && sent - answered < run->inflight) {
            const ih_buf_t *env = &run->alerts->envs [sent];
            if (zmq_send (run->socks [sent % run->n], env->data, env->len, 0) != (int) env->len) {
                snprintf (run->error, sizeof run->error, "publish: %s", zmq_strerror (zmq_errno ()));
                run->rc = -1;
                return NULL;
            }
            sent++;
        }
        if (s_now_ns () > deadline) {
            snprintf (run->error, sizeof run->error, "timeout: %zu of %zu publishes answered",
                      answered, total);
            run->rc = -1;
            return NULL;
        }
        if (zmq_poll (items, (int) run->n, 100) <= 0)
            continue;
        for (size_t i = 0; i < run->n; i++) {
            if (!(items [i].revents & ZMQ_POLLIN))
                continue;
            while (true) {
                zmq_msg_t msg;
                zmq_msg_init (&msg);
                if (zmq_msg_recv (&msg, run->socks [i], ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&msg);
                    break;
                }
                ih_env_t e;
                ih_err_t err;
                if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err) == 0) {
                    if (e.type == IH_T_OK) {
                        run->ok++;
                        if (e.seq > run->max_seq)
                            run->max_seq = e.seq;
                        answered++;
                    }
                    else
                    if (e.type == IH_T_ERROR) {
                        if (run->errors++ == 0)
                            snprintf (run->error, sizeof run->error, "publish refused: %s: %s",
                                      e.code, e.reason);
                        if (e.req)
                            answered++;
                    }
                    ih_env_free (&e);
                }
                zmq_msg_close (&msg);
            }
        }
    }
    run->t_last = s_now_ns ();
    return NULL;
}

/* ---- the deployment ---------------------------------------------------------------------------- */
typedef struct {
    const char *work;
    const char *bindir;
    char endpoint [64];
    char dep [4096];
    char journal [4200];
    zcert_t *broker_cert;           //  secret: the raw XPUB uses it as its server key
    zcert_t *pub_cert;
    zcert_t *sub_certs [S_MAX_SUBS];
    uint8_t sign_pk [32], sign_sk [64];
    size_t nsubs;
} s_deploy_t;

static void
s_deploy (s_deploy_t *d)
{
    char admin [4096], log [4200], out [4200], name [32];
    snprintf (admin, sizeof admin, "%s/infohub-admin", d->bindir);
    snprintf (log, sizeof log, "%s/admin.log", d->work);
    snprintf (d->dep, sizeof d->dep, "%s/dep", d->work);
    snprintf (d->journal, sizeof d->journal, "%s/journal", d->dep);
    snprintf (d->endpoint, sizeof d->endpoint, "tcp://127.0.0.1:%d", s_free_port ());
    char *init [] = { admin, "init", d->dep, "--endpoint", d->endpoint, NULL };
    s_run (init, log);
    snprintf (out, sizeof out, "%s/pub", d->work);
    char *addpub [] = { admin, "member", "add", d->dep, "--org", "org-pub", "--name", "pub",
                        "--role", "publisher", "--out", out, NULL };
    s_run (addpub, log);
    for (size_t i = 0; i < d->nsubs; i++) {
        snprintf (name, sizeof name, "sub%zu", i + 1);
        snprintf (out, sizeof out, "%s/%s", d->work, name);
        char *add [] = { admin, "member", "add", d->dep, "--org", i % 2 ? "org-b" : "org-c",
                         "--name", name, "--role", "reader", "--out", out, NULL };
        s_run (add, log);
    }
    ih_err_t err;
    char path [4300];
    snprintf (path, sizeof path, "%s/broker.cert_secret", d->dep);
    if (!(d->broker_cert = ih_keys_load_cert (path, &err)))
        s_die ("%s", err.msg);
    snprintf (path, sizeof path, "%s/pub/curve.cert_secret", d->work);
    if (!(d->pub_cert = ih_keys_load_cert (path, &err)))
        s_die ("%s", err.msg);
    snprintf (path, sizeof path, "%s/pub/signing.key", d->work);
    if (ih_keys_load_signing (path, d->sign_pk, d->sign_sk, &err))
        s_die ("%s", err.msg);
    for (size_t i = 0; i < d->nsubs; i++) {
        snprintf (path, sizeof path, "%s/sub%zu/curve.cert_secret", d->work, i + 1);
        if (!(d->sub_certs [i] = ih_keys_load_cert (path, &err)))
            s_die ("%s", err.msg);
    }
}

static void
s_broker_start (s_deploy_t *d, void *ctx)
{
    char broker [4096], cfg [4200], log [4200];
    snprintf (broker, sizeof broker, "%s/infohub-broker", d->bindir);
    snprintf (cfg, sizeof cfg, "%s/broker.cfg", d->dep);
    snprintf (log, sizeof log, "%s/broker.log", d->work);
    char *argv [] = { broker, "-c", cfg, NULL };
    s_broker_pid = s_spawn (argv, log);
    //  For bench_broker.sh, should this process die without stopping it
    char pidfile [4200];
    snprintf (pidfile, sizeof pidfile, "%s/broker.pid", d->work);
    FILE *f = fopen (pidfile, "w");
    if (f) {
        fprintf (f, "%d\n", (int) s_broker_pid);
        fclose (f);
    }
    //  Ready when a status request is answered
    void *s = s_curve_client (ctx, ZMQ_DEALER, d->pub_cert, zcert_public_key (d->broker_cert),
                              d->endpoint);
    s_send_simple (s, IH_T_STATUS);
    s_expect_all (&s, 1, IH_T_STATS, NULL, 10000);
    zmq_close (s);
}

//  The journal's last committed LMDB transaction id (a read-only environment beside the broker's).
static uint64_t
s_journal_txnid (const char *dir)
{
    MDB_env *env;
    MDB_envinfo info;
    if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 4)
    ||  mdb_env_open (env, dir, MDB_RDONLY | MDB_NOTLS, 0600))
        s_die ("%s: cannot open read-only", dir);
    mdb_env_info (env, &info);
    mdb_env_close (env);
    return (uint64_t) info.me_last_txnid;
}

//  Reads the journal's item records (values) from seq 1 on, in order.
static void
s_journal_values (const char *dir, s_frames_t *vals)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 4)
    ||  mdb_env_open (env, dir, MDB_RDONLY | MDB_NOTLS, 0600)
    ||  mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open (txn, "items", 0, &dbi)
    ||  mdb_cursor_open (txn, dbi, &cur))
        s_die ("%s: cannot read the journal", dir);
    MDB_val k, v;
    int rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        s_frames_add (vals, v.mv_data, v.mv_size, 1);
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    mdb_env_close (env);
}

/* ---- broker phases ----------------------------------------------------------------------------- */
typedef struct {
    double rate;                    //  deliveries/s or msgs/s
    double secs;
    double broker_cpu;              //  s of CPU the broker used
    double self_cpu;                //  s of CPU this process used
    uint64_t frames, items;         //  of subscriber 0
    uint64_t commits;
    double batch;
    double ingest_rate;             //  live: accepted msgs/s meanwhile
    char threads [512];             //  the broker's threads: run/queued/asleep s
} s_result_t;

static void **
s_connect_subs (s_deploy_t *d, void *ctx)
{
    void **socks = calloc (d->nsubs, sizeof *socks);
    if (!socks)
        abort ();
    for (size_t i = 0; i < d->nsubs; i++)
        socks [i] = s_curve_client (ctx, ZMQ_DEALER, d->sub_certs [i],
                                    zcert_public_key (d->broker_cert), d->endpoint);
    //  status/stats: the CURVE handshake and ZAP are done before anything is timed
    for (size_t i = 0; i < d->nsubs; i++)
        s_send_simple (socks [i], IH_T_STATUS);
    s_expect_all (socks, d->nsubs, IH_T_STATS, NULL, 10000);
    return socks;
}

static void
s_close_subs (void **socks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s_send_simple (socks [i], IH_T_BYE);
        zmq_close (socks [i]);
    }
    free (socks);
}

static void
s_hello_all (void **socks, size_t n, uint64_t cursor, uint32_t window)
{
    for (size_t i = 0; i < n; i++) {
        ih_env_t e;
        ih_env_init (&e, IH_T_HELLO);
        e.cursor = cursor;
        e.window = window;
        e.agent = "bench-broker";
        s_send_env (socks [i], &e);
        ih_env_free (&e);
    }
}

static void **
s_connect_pubs (s_deploy_t *d, void *ctx, size_t n)
{
    void **socks = calloc (n, sizeof *socks);
    if (!socks)
        abort ();
    for (size_t i = 0; i < n; i++) {
        socks [i] = s_curve_client (ctx, ZMQ_DEALER, d->pub_cert, zcert_public_key (d->broker_cert),
                                    d->endpoint);
        s_send_simple (socks [i], IH_T_STATUS);
    }
    s_expect_all (socks, n, IH_T_STATS, NULL, 10000);
    return socks;
}

static void
s_close_socks (void **socks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_close (socks [i]);
    free (socks);
}

static void
s_run_subs_and_pubs (s_subrun_t *sr, s_pubrun_t *pr)
{
    pthread_t st, pt;
    if (pthread_create (&st, NULL, s_subs_thread, sr)
    ||  (pr && pthread_create (&pt, NULL, s_pubs_thread, pr)))
        s_die ("cannot start a thread");
    pthread_join (st, NULL);
    if (pr)
        pthread_join (pt, NULL);
    if (sr->rc)
        s_die ("%s", sr->error);
    if (pr && pr->rc)
        s_die ("%s", pr->error);
    if (pr && pr->errors)
        s_die ("%" PRIu64 " publishes refused; first: %s", pr->errors, pr->error);
}

//  Phase 1: live fan-out.
static void
s_phase_live (s_deploy_t *d, void *sctx, void *pctx, const s_alerts_t *alerts, size_t npubs,
              size_t inflight, uint32_t window, const char *perf, s_frames_t *capture,
              s_result_t *r)
{
    void **subs = s_connect_subs (d, sctx);
    uint64_t head = 0;
    s_hello_all (subs, d->nsubs, 0, window);
    s_expect_all (subs, d->nsubs, IH_T_WELCOME, &head, 10000);
    void **pubs = s_connect_pubs (d, pctx, npubs);
    s_sub_t sub [S_MAX_SUBS];
    for (size_t i = 0; i < d->nsubs; i++)
        sub [i] = (s_sub_t) { subs [i], head + 1, head + alerts->count, 0, 0, 0,
                              i == 0 ? capture : NULL };
    s_subrun_t sr = { sub, d->nsubs, true, 0, 0, "" };
    s_pubrun_t pr = { pubs, npubs, alerts, inflight, 0, 0, 0, 0, 0, 0, "" };
    s_perf_start (perf, "live");
    uint64_t tx0 = s_journal_txnid (d->journal);
    double bcpu = s_proc_cpu (s_broker_pid), scpu = s_self_cpu ();
    s_threads_t th0, th1;
    s_threads_snap (s_broker_pid, &th0);
    s_run_subs_and_pubs (&sr, &pr);
    s_threads_snap (s_broker_pid, &th1);
    s_threads_diff (s_broker_pid, &th0, &th1, r->threads, sizeof r->threads);
    r->broker_cpu = s_proc_cpu (s_broker_pid) - bcpu;
    r->self_cpu = s_self_cpu () - scpu;
    s_perf_stop ();
    r->commits = s_journal_txnid (d->journal) - tx0;
    r->batch = r->commits ? (double) alerts->count / (double) r->commits : 0;
    r->secs = (double) (sr.t_done - pr.t_first) / 1e9;
    r->rate = (double) alerts->count * (double) d->nsubs / r->secs;
    r->ingest_rate = (double) alerts->count / ((double) (pr.t_last - pr.t_first) / 1e9);
    r->frames = sub [0].frames;
    r->items = sub [0].items;
    s_close_socks (pubs, npubs);
    s_close_subs (subs, d->nsubs);
}

//  Phase 2: replay fan-out from cursor 0.
static void
s_phase_replay (s_deploy_t *d, void *sctx, uint64_t count, uint32_t window, const char *perf,
                s_frames_t *capture, s_result_t *r)
{
    void **subs = s_connect_subs (d, sctx);
    s_sub_t sub [S_MAX_SUBS];
    for (size_t i = 0; i < d->nsubs; i++)
        sub [i] = (s_sub_t) { subs [i], 1, count, 0, 0, 0, i == 0 ? capture : NULL };
    s_perf_start (perf, "replay");
    double bcpu = s_proc_cpu (s_broker_pid), scpu = s_self_cpu ();
    s_threads_t th0, th1;
    s_threads_snap (s_broker_pid, &th0);
    int64_t t0 = s_now_ns ();
    s_hello_all (subs, d->nsubs, 0, window);
    s_expect_all (subs, d->nsubs, IH_T_WELCOME, NULL, 10000);
    s_subrun_t sr = { sub, d->nsubs, true, 0, 0, "" };
    s_run_subs_and_pubs (&sr, NULL);
    s_threads_snap (s_broker_pid, &th1);
    s_threads_diff (s_broker_pid, &th0, &th1, r->threads, sizeof r->threads);
    r->broker_cpu = s_proc_cpu (s_broker_pid) - bcpu;
    r->self_cpu = s_self_cpu () - scpu;
    s_perf_stop ();
    r->secs = (double) (sr.t_done - t0) / 1e9;
    r->rate = (double) count * (double) d->nsubs / r->secs;
    r->frames = sub [0].frames;
    r->items = sub [0].items;
    s_close_subs (subs, d->nsubs);
}

//  Phase 3: durable ingest, no subscribers.
static void
s_phase_ingest (s_deploy_t *d, void *pctx, const s_alerts_t *alerts, size_t npubs, size_t inflight,
                const char *perf, s_result_t *r)
{
    void **pubs = s_connect_pubs (d, pctx, npubs);
    s_pubrun_t pr = { pubs, npubs, alerts, inflight, 0, 0, 0, 0, 0, 0, "" };
    s_perf_start (perf, "ingest");
    uint64_t tx0 = s_journal_txnid (d->journal);
    double bcpu = s_proc_cpu (s_broker_pid), scpu = s_self_cpu ();
    s_threads_t th0, th1;
    s_threads_snap (s_broker_pid, &th0);
    pthread_t pt;
    if (pthread_create (&pt, NULL, s_pubs_thread, &pr))
        s_die ("cannot start a thread");
    pthread_join (pt, NULL);
    s_threads_snap (s_broker_pid, &th1);
    s_threads_diff (s_broker_pid, &th0, &th1, r->threads, sizeof r->threads);
    if (pr.rc)
        s_die ("%s", pr.error);
    if (pr.errors)
        s_die ("%" PRIu64 " publishes refused; first: %s", pr.errors, pr.error);
    r->broker_cpu = s_proc_cpu (s_broker_pid) - bcpu;
    r->self_cpu = s_self_cpu () - scpu;
    s_perf_stop ();
    r->commits = s_journal_txnid (d->journal) - tx0;
    r->batch = r->commits ? (double) alerts->count / (double) r->commits : 0;
    r->secs = (double) (pr.t_last - pr.t_first) / 1e9;
    r->rate = (double) alerts->count / r->secs;
    s_close_socks (pubs, npubs);
}

/* ---- raw baselines ------------------------------------------------------------------------------- */
//  Raw XPUB: the frames to N SUBs; the subscribers count and check them as in the broker
//  phases. The XPUB runs in a child process with its own context (one I/O thread), as the
//  broker does, so that its CPU time is its own; r->broker_cpu gets it.
static void
s_xpub_child (s_deploy_t *d, const s_frames_t *frames, int out, int in)
{
    void *xctx = zmq_ctx_new ();
    void *x = zmq_socket (xctx, ZMQ_XPUB);
    int one = 1, hwm = S_SNDHWM, zero = 0;
    char ep [256] = "";
    size_t eplen = sizeof ep;
    if (zmq_setsockopt (x, ZMQ_CURVE_SERVER, &one, sizeof one)
    ||  zmq_setsockopt (x, ZMQ_CURVE_SECRETKEY, zcert_secret_key (d->broker_cert), 32)
    ||  zmq_setsockopt (x, ZMQ_SNDHWM, &hwm, sizeof hwm)
    ||  zmq_setsockopt (x, ZMQ_XPUB_NODROP, &one, sizeof one)
    ||  zmq_setsockopt (x, ZMQ_XPUB_VERBOSE, &one, sizeof one)
    ||  zmq_setsockopt (x, ZMQ_LINGER, &zero, sizeof zero)
    ||  zmq_bind (x, "tcp://127.0.0.1:*")
    ||  zmq_getsockopt (x, ZMQ_LAST_ENDPOINT, ep, &eplen)) {
        fprintf (stderr, "bench-broker: raw XPUB: %s\n", zmq_strerror (zmq_errno ()));
        _exit (1);
    }
    if (write (out, ep, sizeof ep) != (ssize_t) sizeof ep)
        _exit (1);
    //  Every subscription has arrived: every SUB is connected, its handshake done
    for (size_t i = 0; i < d->nsubs; i++) {
        zmq_pollitem_t it = { x, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&it, 1, 10000) <= 0) {
            fprintf (stderr, "bench-broker: raw XPUB: only %zu of %zu subscriptions\n", i, d->nsubs);
            _exit (1);
        }
        char buf [16];
        zmq_recv (x, buf, sizeof buf, 0);
    }
    double cpu0 = s_self_cpu ();
    int64_t t0 = s_now_ns ();
    for (size_t i = 0; i < frames->n; i++)
        if (zmq_send (x, frames->v [i].data, frames->v [i].len, 0) != (int) frames->v [i].len) {
            fprintf (stderr, "bench-broker: raw XPUB send: %s\n", zmq_strerror (zmq_errno ()));
            _exit (1);
        }
    //  Keep sending (the I/O thread) until the parent says every subscriber has it all
    char c;
    if (read (in, &c, 1) != 1)
        _exit (1);
    double cpu = s_self_cpu () - cpu0;
    zmq_close (x);
    zmq_ctx_term (xctx);
    if (write (out, &t0, sizeof t0) != (ssize_t) sizeof t0
    ||  write (out, &cpu, sizeof cpu) != (ssize_t) sizeof cpu)
        _exit (1);
    _exit (0);
}

static void
s_raw_xpub (s_deploy_t *d, void *sctx, const s_frames_t *frames, uint64_t first_seq,
            s_result_t *r)
{
    int up [2], down [2];
    if (pipe (up) || pipe (down))
        s_die ("pipe: %s", strerror (errno));
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid < 0)
        s_die ("fork: %s", strerror (errno));
    if (pid == 0) {
        close (up [0]);
        close (down [1]);
        s_xpub_child (d, frames, up [1], down [0]);
    }
    close (up [1]);
    close (down [0]);
    char ep [256];
    if (read (up [0], ep, sizeof ep) != (ssize_t) sizeof ep)
        s_die ("raw XPUB: the child failed to start");
    s_sub_t sub [S_MAX_SUBS];
    for (size_t i = 0; i < d->nsubs; i++) {
        void *s = s_curve_client (sctx, ZMQ_SUB, d->sub_certs [i], zcert_public_key (d->broker_cert),
                                  ep);
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
        sub [i] = (s_sub_t) { s, first_seq, first_seq + frames->items - 1, 0, 0, 0, NULL };
    }
    s_subrun_t sr = { sub, d->nsubs, false, 0, 0, "" };
    double scpu = s_self_cpu ();
    s_run_subs_and_pubs (&sr, NULL);
    r->self_cpu = s_self_cpu () - scpu;
    int64_t t0 = 0;
    double cpu = 0;
    if (write (down [1], "x", 1) != 1
    ||  read (up [0], &t0, sizeof t0) != (ssize_t) sizeof t0
    ||  read (up [0], &cpu, sizeof cpu) != (ssize_t) sizeof cpu)
        s_die ("raw XPUB: the child failed");
    int status = 0;
    waitpid (pid, &status, 0);
    close (up [0]);
    close (down [1]);
    r->broker_cpu = cpu;
    r->secs = (double) (sr.t_done - t0) / 1e9;
    r->rate = (double) frames->items * (double) d->nsubs / r->secs;
    r->frames = frames->n;
    r->items = frames->items;
    for (size_t i = 0; i < d->nsubs; i++)
        zmq_close (sub [i].sock);
}

//  The same items, one per deliver frame.
static void
s_split_frames (const s_frames_t *in, s_frames_t *out)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    for (size_t f = 0; f < in->n; f++) {
        ih_env_t e;
        ih_err_t err;
        if (ih_env_decode (&e, in->v [f].data, in->v [f].len, &err))
            s_die ("captured frame %zu: %s", f, err.msg);
        for (uint32_t k = 0; k < e.item_count; k++) {
            ih_env_t one;
            ih_env_init (&one, IH_T_DELIVER);
            one.items = &e.items [k];
            one.item_count = 1;
            if (ih_env_encode (&one, &buf, &err))
                s_die ("split: %s", err.msg);
            s_frames_add (out, buf.data, buf.len, 1);
            ih_env_free (&one);
        }
        ih_env_free (&e);
    }
    ih_buf_free (&buf);
}

//  Raw LMDB: a fresh environment, default (synchronous) flags; prefill untimed, then
//  vals [first, first + count) committing every batch puts. Returns puts/s.
static double
s_raw_lmdb (const char *dir, const s_frames_t *vals, size_t prefill, size_t first, size_t count,
            size_t batch)
{
    if (mkdir (dir, 0700) != 0)
        s_die ("mkdir %s: %s", dir, strerror (errno));
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 4)
    ||  mdb_env_set_mapsize (env, (size_t) 1 << 30)
    ||  mdb_env_open (env, dir, MDB_NOTLS, 0600))
        s_die ("%s: cannot open", dir);
    if (mdb_txn_begin (env, NULL, 0, &txn) || mdb_dbi_open (txn, "items", MDB_CREATE, &dbi))
        s_die ("%s: cannot open the database", dir);
    int rc = 0;
    for (size_t i = 0; i < prefill && rc == 0; i++) {
        uint8_t key [8];
        uint64_t seq = i + 1;
        for (int b = 0; b < 8; b++)
            key [b] = (uint8_t) (seq >> (56 - 8 * b));
        MDB_val k = { 8, key }, v = { vals->v [i].len, vals->v [i].data };
        rc = mdb_put (txn, dbi, &k, &v, MDB_APPEND);
    }
    if (rc || mdb_txn_commit (txn))
        s_die ("%s: prefill failed: %s", dir, mdb_strerror (rc));
    int64_t t0 = s_now_ns ();
    for (size_t i = first; i < first + count; ) {
        if (mdb_txn_begin (env, NULL, 0, &txn))
            s_die ("%s: begin failed", dir);
        for (size_t n = 0; n < batch && i < first + count; n++, i++) {
            uint8_t key [8];
            uint64_t seq = i + 1;
            for (int b = 0; b < 8; b++)
                key [b] = (uint8_t) (seq >> (56 - 8 * b));
            MDB_val k = { 8, key }, v = { vals->v [i].len, vals->v [i].data };
            if ((rc = mdb_put (txn, dbi, &k, &v, MDB_APPEND)))
                s_die ("%s: put: %s", dir, mdb_strerror (rc));
        }
        if ((rc = mdb_txn_commit (txn)))
            s_die ("%s: commit: %s", dir, mdb_strerror (rc));
    }
    double secs = (double) (s_now_ns () - t0) / 1e9;
    mdb_env_close (env);
    return (double) count / secs;
}

static double
s_median3 (const double v [3])
{
    double a = v [0], b = v [1], c = v [2];
    return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

/* ---- main -------------------------------------------------------------------------------------- */
static void
s_usage (void)
{
    fprintf (stderr,
        "usage: bench-broker WORKDIR [--subs N] [--fanout M] [--ingest M] [--pubs P]\n"
        "                            [--inflight K] [--window W] [--bin DIR] [--perf PREFIX]\n"
        "  defaults: N=10, fanout M=20000, ingest M=10000, P=2, K=1024, W=1000 (the broker's\n"
        "  max-window), DIR=bin. WORKDIR must exist and be empty. See bench/bench_broker.md.\n");
    exit (2);
}

int
main (int argc, char **argv)
{
    if (argc < 2 || argv [1][0] == '-')
        s_usage ();
    s_deploy_t d;
    memset (&d, 0, sizeof d);
    d.work = argv [1];
    d.bindir = "bin";
    d.nsubs = 10;
    size_t mf = 20000, mi = 10000, npubs = 2, inflight = 1024;
    uint32_t window = 1000;
    const char *perf = NULL;
    for (int i = 2; i < argc; i++) {
        const char *o = argv [i];
        if (i + 1 >= argc)
            s_usage ();
        const char *v = argv [++i];
        if (streq (o, "--subs"))
            d.nsubs = (size_t) s_arg_num (o, v, 1, S_MAX_SUBS);
        else if (streq (o, "--fanout"))
            mf = (size_t) s_arg_num (o, v, 1, 1000000);
        else if (streq (o, "--ingest"))
            mi = (size_t) s_arg_num (o, v, 1, 1000000);
        else if (streq (o, "--pubs"))
            npubs = (size_t) s_arg_num (o, v, 1, S_MAX_PUBS);
        else if (streq (o, "--inflight"))
            inflight = (size_t) s_arg_num (o, v, 1, 100000);
        else if (streq (o, "--window"))
            window = (uint32_t) s_arg_num (o, v, 1, 10000);
        else if (streq (o, "--bin"))
            d.bindir = v;
        else if (streq (o, "--perf"))
            perf = v;
        else
            s_usage ();
    }
    zsys_handler_set (NULL);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGPIPE, SIG_IGN);
    atexit (s_stop_children);
    ih_sign_init ();

    s_deploy (&d);
    //  0. Pre-signed alerts; verification and decoding timed in isolation
    s_alerts_t fan, ing;
    s_alerts_make (&fan, mf, 0, d.sign_pk, d.sign_sk);
    s_alerts_make (&ing, mi, mf, d.sign_pk, d.sign_sk);
    size_t nv = mi < 4000 ? mi : 4000;
    ih_err_t err;
    int64_t t0 = s_now_ns ();
    for (size_t i = 0; i < nv; i++)
        if (ih_verify (ing.sigs [i], IH_CTX_MSG, ing.bodies [i].data, ing.bodies [i].len,
                       d.sign_pk, &err))
            s_die ("verify %zu: %s", i, err.msg);
    double verify_us = (double) (s_now_ns () - t0) / 1e3 / (double) nv;
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    t0 = s_now_ns ();
    for (size_t i = 0; i < nv; i++) {
        if (ih_body_decode (&m, ing.bodies [i].data, ing.bodies [i].len, &err))
            s_die ("decode %zu: %s", i, err.msg);
        ih_msg_free (&m);
    }
    double decode_us = (double) (s_now_ns () - t0) / 1e3 / (double) nv;
    long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
    long vthreads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : ncpu;    //  ih_sigpool: the caller + helpers

    //  Clients: one context for the subscribers, one for the publishers (1 I/O thread each)
    void *sctx = zmq_ctx_new ();
    void *pctx = zmq_ctx_new ();
    s_broker_start (&d, pctx);
    s_frames_t live_frames = { 0 }, replay_frames = { 0 };
    s_result_t live = { 0 }, replay = { 0 }, ingest = { 0 };
    s_phase_live (&d, sctx, pctx, &fan, npubs, inflight, window, perf, &live_frames, &live);
    s_phase_replay (&d, sctx, mf, window, perf, &replay_frames, &replay);
    s_phase_ingest (&d, pctx, &ing, npubs, inflight, perf, &ingest);
    //  4. Raw LMDB with the journal's own records, right after the broker's ingest (the broker
    //  idle, still up) so that both meet the disk in the same state: fsync latency on a
    //  shared disk varies; three environments per batch size, the median
    s_frames_t vals = { 0 };
    s_journal_values (d.journal, &vals);
    if (vals.n != mf + mi)
        s_die ("journal holds %zu records, expected %zu", vals.n, mf + mi);
    double vbytes = 0;
    for (size_t i = mf; i < vals.n; i++)
        vbytes += (double) vals.v [i].len;
    vbytes /= (double) mi;
    size_t batch = (size_t) (ingest.batch + 0.5);
    if (batch < 1)
        batch = 1;
    double same [3], b256 [3];
    for (int rep = 0; rep < 3; rep++) {
        char dir [4300];
        snprintf (dir, sizeof dir, "%s/raw-lmdb-b%zu-%d", d.work, batch, rep);
        same [rep] = s_raw_lmdb (dir, &vals, mf, mf, mi, batch);
        snprintf (dir, sizeof dir, "%s/raw-lmdb-b%d-%d", d.work, S_BROKER_BATCH, rep);
        b256 [rep] = s_raw_lmdb (dir, &vals, mf, mf, mi, S_BROKER_BATCH);
    }
    double lmdb_same = s_median3 (same), lmdb_256 = s_median3 (b256);
    double commit_ms = 1e3 * (double) batch / lmdb_same;
    //  the broker's own counters, then stop it
    char stats [1024] = "";
    {
        void *s = s_curve_client (pctx, ZMQ_DEALER, d.pub_cert, zcert_public_key (d.broker_cert),
                                  d.endpoint);
        s_send_simple (s, IH_T_STATUS);
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&it, 1, 5000) > 0) {
            zmq_msg_t msg;
            zmq_msg_init (&msg);
            ih_env_t e;
            if (zmq_msg_recv (&msg, s, 0) >= 0
            &&  ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err) == 0) {
                if (e.type == IH_T_STATS)
                    snprintf (stats, sizeof stats, "%s", e.json);
                ih_env_free (&e);
            }
            zmq_msg_close (&msg);
        }
        zmq_close (s);
    }
    s_stop_children ();

    //  5. Raw XPUB, the broker stopped
    s_result_t raw_live = { 0 }, raw_replay = { 0 }, raw_single = { 0 };
    s_raw_xpub (&d, sctx, &live_frames, 1, &raw_live);
    s_raw_xpub (&d, sctx, &replay_frames, 1, &raw_replay);
    s_frames_t single = { 0 };
    s_split_frames (&live_frames, &single);
    s_raw_xpub (&d, sctx, &single, 1, &raw_single);
    s_frames_free (&single);

    //  The table
    double item_bytes = (double) 0;
    for (size_t i = 0; i < live_frames.n; i++)
        item_bytes += (double) live_frames.v [i].len;
    item_bytes /= (double) (live_frames.items ? live_frames.items : 1);
    printf ("== bench-broker: %zu subscribers, fan-out %zu alerts, ingest %zu alerts, %zu publisher "
            "connections, %zu in flight, window %u\n", d.nsubs, mf, mi, npubs, inflight, window);
    printf ("   signed body %d B; a deliver item ~%.0f B on the wire; journal record %.0f B; "
            "%ld CPUs\n", S_BODY_SIZE, item_bytes, vbytes, ncpu);
    printf ("%-34s %14s %14s %7s  %s\n", "", "broker", "raw", "ratio", "notes");
    printf ("%-34s %14.0f %14.0f %7.2f  frames of 1 subscriber: broker %" PRIu64 " (%.1f items/frame); "
            "publishers got ok at %.0f msgs/s; %.0f per commit; CPU s: broker %.2f, raw sender %.2f\n",
            "live fan-out, deliveries/s", live.rate, raw_live.rate, live.rate / raw_live.rate,
            live.frames, (double) live.items / (double) live.frames, live.ingest_rate, live.batch,
            live.broker_cpu, raw_live.broker_cpu);
    printf ("%-34s %14s %14.0f %7.2f  the same items one per frame (what per-message framing "
            "costs); raw sender CPU %.2f s\n", "  raw XPUB, 1 item/frame", "", raw_single.rate,
            live.rate / raw_single.rate, raw_single.broker_cpu);
    printf ("%-34s %14.0f %14.0f %7.2f  frames: %" PRIu64 " (%.1f items/frame); CPU s: broker %.2f, "
            "raw sender %.2f\n", "replay fan-out, deliveries/s", replay.rate, raw_replay.rate,
            replay.rate / raw_replay.rate, replay.frames,
            (double) replay.items / (double) replay.frames, replay.broker_cpu, raw_replay.broker_cpu);
    printf ("%-34s %14.0f %14.0f %7.2f  %" PRIu64 " commits, %.1f per commit; raw LMDB at batch %zu; "
            "%.1f ms/commit; broker CPU %.2f s (%.0f us/msg)\n",
            "durable ingest, msgs/s", ingest.rate, lmdb_same, ingest.rate / lmdb_same,
            ingest.commits, ingest.batch, batch, commit_ms, ingest.broker_cpu,
            ingest.broker_cpu * 1e6 / (double) mi);
    printf ("%-34s %14s %14.0f %7.2f  raw LMDB at the broker's maximum batch\n",
            "  raw LMDB, batch 256", "", lmdb_256, ingest.rate / lmdb_256);
    printf ("%-34s %14.1f us/msg: ceiling %.0f msgs/s on 1 thread, %.0f on %ld (ih_sigpool)\n",
            "ih_verify, isolated", verify_us, 1e6 / verify_us, 1e6 * (double) vthreads / verify_us,
            vthreads);
    printf ("%-34s %14.1f us/msg: the broker's main thread does it for every publish\n",
            "ih_body_decode, isolated", decode_us);
    printf ("broker threads, seconds on a CPU / waiting for a CPU / asleep (fsync, condvar, poll):\n");
    printf ("  live   (%.2f s): %s\n", live.secs, live.threads);
    printf ("  replay (%.2f s): %s\n", replay.secs, replay.threads);
    printf ("  ingest (%.2f s): %s\n", ingest.secs, ingest.threads);
    printf ("%-34s %s\n", "broker stats", stats);

    printf ("result live_broker %.0f\nresult live_raw %.0f\nresult live_ratio %.3f\n",
            live.rate, raw_live.rate, live.rate / raw_live.rate);
    printf ("result live_raw_single %.0f\nresult live_ratio_single %.3f\n", raw_single.rate,
            live.rate / raw_single.rate);
    printf ("result live_items_per_frame %.1f\nresult live_ingest %.0f\nresult live_batch %.1f\n",
            (double) live.items / (double) live.frames, live.ingest_rate, live.batch);
    printf ("result replay_broker %.0f\nresult replay_raw %.0f\nresult replay_ratio %.3f\n",
            replay.rate, raw_replay.rate, replay.rate / raw_replay.rate);
    printf ("result replay_items_per_frame %.1f\n", (double) replay.items / (double) replay.frames);
    printf ("result ingest_broker %.0f\nresult ingest_batch %.1f\nresult ingest_raw %.0f\n"
            "result ingest_ratio %.3f\nresult ingest_raw256 %.0f\nresult ingest_ratio256 %.3f\n",
            ingest.rate, ingest.batch, lmdb_same, ingest.rate / lmdb_same, lmdb_256,
            ingest.rate / lmdb_256);
    printf ("result ingest_broker_cpu_us %.0f\nresult verify_us %.1f\nresult verify_ceiling %.0f\n"
            "result decode_us %.1f\n", ingest.broker_cpu * 1e6 / (double) mi, verify_us,
            1e6 * (double) vthreads / verify_us, decode_us);
    printf ("result live_broker_cpu %.2f\nresult live_bench_cpu %.2f\nresult live_secs %.2f\n"
            "result raw_live_bench_cpu %.2f\nresult raw_live_secs %.2f\n"
            "result replay_broker_cpu %.2f\nresult replay_bench_cpu %.2f\nresult replay_secs %.2f\n"
            "result raw_replay_bench_cpu %.2f\nresult raw_replay_secs %.2f\n"
            "result raw_live_sender_cpu %.2f\nresult raw_replay_sender_cpu %.2f\n"
            "result raw_single_sender_cpu %.2f\nresult ingest_broker_cpu %.2f\n",
            live.broker_cpu, live.self_cpu, live.secs, raw_live.self_cpu, raw_live.secs,
            replay.broker_cpu, replay.self_cpu, replay.secs, raw_replay.self_cpu, raw_replay.secs,
            raw_live.broker_cpu, raw_replay.broker_cpu, raw_single.broker_cpu, ingest.broker_cpu);
    printf ("result ingest_raw_commit_ms %.2f\n", commit_ms);
    printf ("result ingest_raw_min %.0f\nresult ingest_raw_max %.0f\n",
            same [0] < same [1] ? (same [0] < same [2] ? same [0] : same [2]) : (same [1] < same [2] ? same [1] : same [2]),
            same [0] > same [1] ? (same [0] > same [2] ? same [0] : same [2]) : (same [1] > same [2] ? same [1] : same [2]));

    s_frames_free (&live_frames);
    s_frames_free (&replay_frames);
    s_frames_free (&vals);
    s_alerts_free (&fan);
    s_alerts_free (&ing);
    for (size_t i = 0; i < d.nsubs; i++)
        zcert_destroy (&d.sub_certs [i]);
    zcert_destroy (&d.pub_cert);
    zcert_destroy (&d.broker_cert);
    sodium_memzero (d.sign_sk, sizeof d.sign_sk);
    zmq_ctx_term (sctx);
    zmq_ctx_term (pctx);
    return 0;
}

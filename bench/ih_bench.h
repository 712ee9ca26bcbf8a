/*  ih_bench.h: the machinery the benchmarks share (bench/bench_broker.c and the peers that
    will run beside it). Not a library any program uses: bin/bench-broker links these
    objects directly (Makefile, "bench kit").

    Reading order, one file per job:
      ih_bench.c         the basics: the program's name and dying with it, the clock,
                         numeric arguments, free ports; the signed alerts every phase sends
      ih_bench_proc.c    child processes (spawn, run, start and stop, all of them stopped on
                         exit and on SIGINT/SIGTERM), the CPU time of a process and of each
                         of its threads, perf attached to a process
      ih_bench_zmq.c     CURVE client sockets, envelope send/expect, captured frames, the
                         counting subscriber thread and the publisher thread
      ih_bench_deploy.c  a real deployment (infohub-admin init, members, their keys), the
                         real bin/infohub-broker started on it, clients connected to it, and
                         its journal read beside it
      ih_bench_sys.c     the machine: CPU model, ed25519 verifies/s per core and on all
                         cores, the disk's fsync latency, raw LMDB at a given batching,
                         percentiles
      ih_bench_agent.c   real agents (bin/infohub-agent run, each with its own store), the
                         watcher that sees when each store holds a seq, and a publisher
                         paced at a given rate
    The peers (NATS, MQTT, their servers and TLS) are in ih_bench_peer.h.

    Errors: a benchmark has no way to recover from a failed step, so most functions die
    (ih_bench_die: one line "NAME: what failed" on stderr, exit 1, which stops every child
    started with ih_bench_start). Those that run on a thread of their own (the subscriber
    and publisher threads) report in their run structure instead, and the caller dies.

    Threads: everything here is for the main thread, except ih_bench_subs_thread and
    ih_bench_pubs_thread, which own the sockets of their run structure while they run.
    The socket helpers may be called from any thread on sockets that thread owns.

    Everything binds and connects 127.0.0.1 only.
*/
#ifndef IH_BENCH_H
#define IH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <czmq.h>

#include "ih_codec.h"
#include "ih_sign.h"

#define IH_BENCH_BODY_SIZE      1024        //  bytes of each signed alert body
#define IH_BENCH_MAX_SUBS       128         //  subscriber sockets per run (and members)
#define IH_BENCH_MAX_PUBS       16          //  publisher sockets per run
#define IH_BENCH_PHASE_TIMEOUT  60          //  s, per subscriber or publisher run
#define IH_BENCH_CLIENT_HWM     10000       //  the HWMs of a client socket (ih_client.c)
#define IH_BENCH_MAX_CHILDREN   64          //  children started and not yet stopped
#define IH_BENCH_MAX_THREADS    32          //  threads of a process ih_bench_threads_snap sees

/* ---- the basics (ih_bench.c) ------------------------------------------------------------- */

/*  Names the program (for ih_bench_die's messages: a string the caller keeps alive) and
    sets up the process: czmq's signal handler off, SIGINT and SIGTERM stop every started
    child at once and exit 128 + signal, SIGPIPE ignored, and every child still running is
    stopped at exit (ih_bench_stop_all). Call it once, first. */
void ih_bench_init (const char *name);

/*  Prints "NAME: " and the message on stderr as one line, then exit (1): the children
    started with ih_bench_start are stopped on the way out (atexit). */
void ih_bench_die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

/*  CLOCK_MONOTONIC, in nanoseconds. */
int64_t ih_bench_now_ns (void);

/*  The decimal number s, which must be all digits and within min..max; dies otherwise with
    "NAME: OPTION: expected a number from MIN to MAX, got 'S'" (name is the option). */
long ih_bench_arg_num (const char *name, const char *s, long min, long max);

/*  A TCP port on 127.0.0.1 that is free right now (bound and released: another process
    may take it before the caller binds it, which on loopback in a bench does not happen
    in practice). Dies when no socket can be bound. */
int ih_bench_free_port (void);

/*  Signed alerts and their `publish` envelopes, made before anything is timed. */
typedef struct {
    size_t count;
    ih_buf_t *bodies;               //  signed bodies, IH_BENCH_BODY_SIZE bytes each
    uint8_t (*sigs) [IH_SIG_LEN];
    ih_buf_t *envs;                 //  the `publish` envelopes (req = index + 1)
} ih_bench_alerts_t;

/*  Fills a (which it owns until ih_bench_alerts_free) with count GREEN alerts from member
    "pub" of "org-pub", numbered first..first+count-1 (their IOCs and titles differ by
    number: 4 IOCs, ipv4, domain, url, sha256), each body padded through its summary to
    exactly IH_BENCH_BODY_SIZE bytes, signed with sk (pk is the signer written in the body)
    and encoded as a `publish` envelope with req = index + 1. ih_sign_init must have been
    called. Dies when an alert cannot be encoded or padded. */
void ih_bench_alerts_make (ih_bench_alerts_t *a, size_t count, size_t first,
                           const uint8_t pk [32], const uint8_t sk [64]);

/*  As ih_bench_alerts_make, with bodies of exactly body_size bytes (1024 .. 60,000). */
void ih_bench_alerts_make_sized (ih_bench_alerts_t *a, size_t count, size_t first, size_t body_size,
                                 const uint8_t pk [32], const uint8_t sk [64]);

/*  A bulk feed: count GREEN alerts from "pub" of "org-pub" of per IOCs each (at most
    IH_MAX_IOCS), numbered from first, every IOC distinct, valid and off the warninglists
    (ipv4, domain, sha256 and url in turn, as bin/ih-bench-load makes them), signed and
    encoded as `publish` envelopes with req = index + 1. Dies on failure. */
void ih_bench_alerts_bulk (ih_bench_alerts_t *a, size_t count, size_t first, size_t per,
                           const uint8_t pk [32], const uint8_t sk [64]);

/*  Frees what ih_bench_alerts_make allocated (not a itself). */
void ih_bench_alerts_free (ih_bench_alerts_t *a);

/* ---- processes, CPU time, perf (ih_bench_proc.c) ----------------------------------------- */

/*  Starts argv (argv [0] a path, not searched in PATH) with its stdout and stderr appended
    to the file log (created 0600). Returns the pid; the child is not watched: the caller
    waits for it. Dies when fork fails; a failed exec exits the child with 127. */
pid_t ih_bench_spawn (char *const argv [], const char *log);

/*  Runs argv to completion (as ih_bench_spawn); dies "NAME: ARGV0 ARGV1 failed (see LOG)"
    unless it exits 0. argv needs at least two entries before its NULL. */
void ih_bench_run (char *const argv [], const char *log);

/*  As ih_bench_spawn, and watches the child until ih_bench_stop: ih_bench_stop_all (at exit
    too) stops it with stop_sig, waits up to grace_ms, then kills it (SIGKILL); grace_ms < 0
    waits as long as it takes. On SIGINT/SIGTERM, the bench cannot wait: a child with
    grace_ms < 0 gets stop_sig (so that perf, say, can still write its file) and the others
    SIGKILL. Dies when more than IH_BENCH_MAX_CHILDREN are watched at once. */
pid_t ih_bench_start (char *const argv [], const char *log, int stop_sig, int grace_ms);

/*  Stops the watched child *pid as ih_bench_start said, reaps it, and sets *pid to 0. Safe
    with *pid 0 (nothing to do) and twice. A pid it does not watch is left alone (*pid is
    still set to 0). */
void ih_bench_stop (pid_t *pid);

/*  Stops every watched child, the last started first. Called at exit by ih_bench_init. */
void ih_bench_stop_all (void);

/*  What ih_bench_init does for the children: SIGINT and SIGTERM signal every watched child
    (as ih_bench_start says) and _exit (128 + signal); ih_bench_stop_all runs at exit. */
void ih_bench_stop_on_signals (void);

/*  CPU seconds (user + system, every thread) of process pid so far (/proc/PID/stat); 0 when
    it cannot be read. */
double ih_bench_proc_cpu (pid_t pid);

/*  CPU seconds (user + system, every thread) of this process so far (getrusage). */
double ih_bench_self_cpu (void);

/*  The scheduler times of each thread of a process at one moment
    (/proc/PID/task/TID/schedstat): ns on a CPU and ns runnable but waiting for one, to tell
    CPU work, CPU starvation and sleep apart. Plain data: no destructor. */
typedef struct {
    int tid;
    char comm [32];
    uint64_t run_ns, wait_ns;
} ih_bench_thread_t;

typedef struct {
    ih_bench_thread_t t [IH_BENCH_MAX_THREADS];
    size_t n;
    int64_t at;                     //  ih_bench_now_ns of the snapshot
} ih_bench_threads_t;

/*  Fills out with the threads of pid now (the first IH_BENCH_MAX_THREADS; none when the
    process is gone). */
void ih_bench_threads_snap (pid_t pid, ih_bench_threads_t *out);

/*  Writes into out (size bytes, cut to fit) "main 1.20/0.10/0.90, verifier1 ..." : for each
    thread of b that ran at least 5 ms since a, the seconds on a CPU / waiting for a CPU /
    asleep (blocked: fsync, a condition variable, poll) over the interval from a to b. The
    thread pid is "main"; threads named "infohub-broker" (the broker's ih_sigpool helpers,
    which keep the process's name) are "verifier1", "verifier2"...; others go by their
    own name (libzmq's "ZMQbg/IO/0"). */
void ih_bench_threads_diff (pid_t pid, const ih_bench_threads_t *a, const ih_bench_threads_t *b,
                            char *out, size_t size);

/*  Attaches `perf record` (call graphs as $BENCH_PERF_CALLGRAPH says, "fp" by default;
    "dwarf" for libraries without frame pointers; 999 Hz) to process pid, writing
    PREFIX-PHASE.data (its messages in PREFIX-PHASE.log), and waits half a second for it to
    attach. Returns perf's pid, watched (stopped with SIGINT, however long it takes), or 0
    (nothing started) when prefix is NULL or pid is not positive. */
pid_t ih_bench_perf_start (const char *prefix, const char *phase, pid_t pid);

/*  Stops perf (SIGINT: it writes its file) and waits for it; *perf becomes 0. Safe with
    *perf 0 and twice. */
void ih_bench_perf_stop (pid_t *perf);

/* ---- sockets, subscribers, publishers (ih_bench_zmq.c) ----------------------------------- */

/*  A socket of type on ctx, CURVE client with cert's keys against server_pk, linger 0,
    max message IH_MAX_FRAME, send and receive HWM IH_BENCH_CLIENT_HWM (as ih_client),
    connected to ep. The caller owns it (zmq_close). Dies on any failure. */
void *ih_bench_curve_client (void *ctx, int type, zcert_t *cert, const uint8_t server_pk [32],
                             const char *ep);

/*  Encodes e and sends it as one frame on sock (blocking); dies on failure. e stays the
    caller's. */
void ih_bench_send_env (void *sock, ih_env_t *e);

/*  Sends an envelope of type with no field set (status, bye). */
void ih_bench_send_simple (void *sock, ih_type_t type);

/*  Receives one envelope on each of the n sockets, in order, all within timeout_ms in
    total. Dies when one is late, undecodable or not of type (an `error` is quoted, and the
    message points at broker.log). With head not NULL, *head is the `head` field of the
    last one. */
void ih_bench_expect_all (void **socks, size_t n, ih_type_t type, uint64_t *head,
                          int timeout_ms);

/*  Frames kept in memory, in order: the deliver frames a subscriber got, or journal
    records. Start from { 0 }; owned by whoever made it, freed with ih_bench_frames_free. */
typedef struct {
    uint8_t *data;
    size_t len;
} ih_bench_frame_t;

typedef struct {
    ih_bench_frame_t *v;
    size_t n, cap;
    uint64_t items;                 //  deliver items in all the frames
} ih_bench_frames_t;

/*  Appends a copy of data (len bytes) holding items deliver items. Aborts on no memory. */
void ih_bench_frames_add (ih_bench_frames_t *f, const void *data, size_t len, uint32_t items);

/*  Frees every frame and resets f to { 0 }; safe twice. */
void ih_bench_frames_free (ih_bench_frames_t *f);

/*  One subscriber socket of a run: it must receive deliver items expect..last, in order.
    The socket stays the caller's. */
typedef struct {
    void *sock;
    uint64_t expect;                //  next seq
    uint64_t last;                  //  the seq to reach
    uint64_t frames, items, acked;  //  counted by the thread
    ih_bench_frames_t *capture;     //  a copy of every deliver frame goes here; NULL = none
} ih_bench_sub_t;

/*  A subscriber run: n subscribers (at most IH_BENCH_MAX_SUBS), ack true for the broker's
    DEALERs (a SUB cannot send). idle_ms > 0: give up (rc -1, "nothing more arrived") when
    no subscriber got anything for that long. The thread sets t_done (or, when it gives
    up, t_last: the last arrival), and rc -1 with error on failure. */
typedef struct {
    ih_bench_sub_t *subs;
    size_t n;
    bool ack;
    int idle_ms;
    int64_t t_done;                 //  when the last subscriber got its last item
    int64_t t_last;                 //  when the last item arrived
    int rc;
    char error [512];
} ih_bench_subrun_t;

/*  The subscriber thread (pthread_create with an ih_bench_subrun_t *): one thread runs every
    subscriber socket of the run, the same loop for the broker's DEALERs and raw SUBs. It
    decodes each deliver (ih_env_decode), checks that the seqs arrive without gap or
    duplicate, counts, captures, and (ack true) acks the highest seq after each drained
    burst of up to 32 frames. Returns when every subscriber has its last seq, on an error
    envelope or a bad frame, or after IH_BENCH_PHASE_TIMEOUT s (rc -1, error says which
    subscriber is where). Returns NULL. */
void *ih_bench_subs_thread (void *arg);

/*  A publisher run: the alerts' `publish` envelopes sent round-robin on n DEALER sockets
    (at most IH_BENCH_MAX_PUBS, the caller's), at most inflight unanswered at a time. The
    thread fills in the rest: t_first (first send) and t_last (last answer), ok (answers
    `ok`), errors (answers `error`; error quotes the first), max_seq (the highest seq in an
    `ok`), and rc -1 with error on a send failure or a timeout. */
typedef struct {
    void **socks;
    size_t n;
    const ih_bench_alerts_t *alerts;
    size_t inflight;
    int64_t t_first, t_last;
    uint64_t ok, errors, max_seq;
    int rc;
    char error [512];
} ih_bench_pubrun_t;

/*  The publisher thread (pthread_create with an ih_bench_pubrun_t *): sends every alert
    and returns when each has an answer, or after IH_BENCH_PHASE_TIMEOUT s. Returns NULL. */
void *ih_bench_pubs_thread (void *arg);

/*  Runs sr (not NULL) and, when pr is not NULL, pr on two threads, waits for both, and
    dies with the error of either, or when a publish was refused. */
void ih_bench_run_threads (ih_bench_subrun_t *sr, ih_bench_pubrun_t *pr);

/*  As ih_bench_run_threads, but a subscriber run that failed (a timeout, a gap: what was
    received is counted in each sub's items) is returned: -1, sr->error says why. A
    publisher's failure still dies. */
int ih_bench_run_threads_counted (ih_bench_subrun_t *sr, ih_bench_pubrun_t *pr);


/* ---- a real deployment and its broker (ih_bench_deploy.c) -------------------------------- */

/*  A deployment in WORK, made by infohub-admin from BINDIR: WORK/dep (broker.cfg, the
    journal, the broker's keys), one publisher member "pub" (org-pub) in WORK/pub and nsubs
    reader members sub1..subN (org-c, org-b alternately) in WORK/subN. The caller sets work,
    bindir and nsubs (at most IH_BENCH_MAX_SUBS) and owns the strings; ih_bench_deploy fills
    in the rest; ih_bench_deploy_free frees it. */
typedef struct {
    const char *work;
    const char *bindir;
    size_t nsubs;
    char endpoint [64];             //  the broker's, "tcp://127.0.0.1:PORT"
    char dep [4096];                //  WORK/dep
    char journal [4200];            //  WORK/dep/journal (the LMDB environment)
    zcert_t *broker_cert;           //  secret: the raw XPUB uses it as its server key
    zcert_t *pub_cert;
    zcert_t *sub_certs [IH_BENCH_MAX_SUBS];
    uint8_t sign_pk [32], sign_sk [64];     //  the publisher's signing key
    pid_t broker_pid;               //  0 until ih_bench_broker_start, and after the stop
} ih_bench_deploy_t;

/*  Makes the deployment (infohub-admin init on a free port, member add; their output in
    WORK/admin.log) and loads the keys the clients need. Dies on any failure. */
void ih_bench_deploy (ih_bench_deploy_t *d);

/*  Destroys the certificates and wipes the signing secret; safe twice. The broker is not
    stopped here (ih_bench_broker_stop). */
void ih_bench_deploy_free (ih_bench_deploy_t *d);

/*  Starts BINDIR/infohub-broker -c WORK/dep/broker.cfg (stdout and stderr appended to
    WORK/broker.log), watched (SIGTERM, then SIGKILL after 5 s), writes its pid to
    WORK/broker.pid (for bench_broker.sh, should the bench die without stopping it), and
    returns once a `status` sent from a publisher connection on ctx is answered. Dies when
    it is not answered within 10 s. */
void ih_bench_broker_start (ih_bench_deploy_t *d, void *ctx);

/*  Stops the broker (ih_bench_stop); safe twice. */
void ih_bench_broker_stop (ih_bench_deploy_t *d);

/*  Asks the broker for its counters (`status` on a new publisher connection on ctx) and
    copies the `stats` JSON into out (cut to size); out is "" when no answer came within
    5 s. Never dies for want of an answer. */
void ih_bench_broker_stats (ih_bench_deploy_t *d, void *ctx, char *out, size_t size);

/*  nsubs subscriber connections on ctx (DEALER, CURVE with sub1..subN's keys), each with a
    `status` answered (so that the CURVE handshake and ZAP are done before anything is
    timed). Returns a malloc'd array of sockets, closed with ih_bench_close_subs. */
void **ih_bench_connect_subs (ih_bench_deploy_t *d, void *ctx);

/*  As ih_bench_connect_subs, with the first n readers only (n <= nsubs). */
void **ih_bench_connect_subs_n (ih_bench_deploy_t *d, void *ctx, size_t n);

/*  Sends `bye` on each of the n sockets, closes them and frees the array. */
void ih_bench_close_subs (void **socks, size_t n);

/*  Sends `hello` (the cursor, the window, agent "bench-broker") on each of the n sockets;
    the `welcome`s are the caller's to expect. */
void ih_bench_hello_all (void **socks, size_t n, uint64_t cursor, uint32_t window);

/*  n publisher connections on ctx (DEALER, CURVE with pub's keys), each with a `status`
    answered. Returns a malloc'd array, closed with ih_bench_close_socks. */
void **ih_bench_connect_pubs (ih_bench_deploy_t *d, void *ctx, size_t n);

/*  Closes the n sockets and frees the array. */
void ih_bench_close_socks (void **socks, size_t n);

/*  The journal's last committed LMDB transaction id, read through a read-only environment
    beside the broker's (mdb_env_info): the difference over a phase is its commits. */
uint64_t ih_bench_journal_txnid (const char *dir);

/*  Appends the journal's item records (the values, as stored) to vals, from seq 1 on, in
    order, one item each. */
void ih_bench_journal_values (const char *dir, ih_bench_frames_t *vals);

/*  Raw libzmq CURVE XPUB, the transport's ceiling: in a child process with its own
    context (one I/O thread, as the broker), an XPUB socket, CURVE server with the broker's
    key, ZMQ_XPUB_NODROP, SNDHWM 100,000 as the broker's ROUTER, waits for nsubs
    subscriptions, then sends the frames (deliver envelopes whose seqs start at first_seq)
    to nsubs CURVE SUB sockets on sctx with sub1..subN's keys, which run the subscriber
    loop above (decode, seq check; no acks). idle_ms as in ih_bench_subrun_t (0: the phase
    timeout only). */
typedef struct {
    size_t subs;
    double rate;                    //  deliveries/s
    double secs;                    //  first send .. last subscriber complete
    double sender_cpu, self_cpu;    //  s of CPU: the XPUB's process, this one
    uint64_t received, lost;
    char note [512];
} ih_bench_xpubres_t;

void ih_bench_raw_xpub (ih_bench_deploy_t *d, void *sctx, size_t nsubs, const ih_bench_frames_t *frames,
                        uint64_t first_seq, int idle_ms, ih_bench_xpubres_t *r);

/*  The deployment's broker head: `status` on a new publisher connection on ctx, the
    `head` of its `stats`. Dies when no answer comes within 5 s. */
uint64_t ih_bench_broker_head (ih_bench_deploy_t *d, void *ctx);

/*  Registers one more member with infohub-admin (reader, org "org-c"): its agent
    directory is WORK/NAME (agent.cfg, keys; store WORK/NAME/store). */
void ih_bench_member_add (ih_bench_deploy_t *d, const char *name, const char *role);

/* ---- the machine (ih_bench_sys.c) ------------------------------------------------------------ */

/*  /proc/cpuinfo's first "model name" ("?" when there is none). */
void ih_bench_cpu_model (char *out, size_t size);

/*  Percentiles of n samples (v is sorted in place); all 0 when n is 0. */
typedef struct {
    size_t n;
    double p50, p99, max, mean;
} ih_bench_pct_t;

void ih_bench_pct (double *v, size_t n, ih_bench_pct_t *out);

/*  ed25519 verifications per second (libsodium crypto_sign_verify_detached over msg_len
    byte messages, each signed beforehand) on threads threads at once, for about secs
    seconds: the sum over the threads. */
double ih_bench_verify_rate (int threads, double secs, size_t msg_len);

/*  The disk's raw fsync latency, in ms: count times, a 4 KiB pwrite at the end of a
    file in dir then fdatasync (what one LMDB commit does twice). */
void ih_bench_fsync_lat (const char *dir, size_t count, ih_bench_pct_t *out);

/*  Raw LMDB (moved here from bench_broker.c): a fresh environment in dir (created; it must
    not exist), default synchronous flags and a 1 GiB map; vals [0..prefill) put untimed,
    then vals [first .. first + count) put with 8-byte big-endian keys and MDB_APPEND,
    committing every batch puts. Returns puts/s. Dies on failure. */
double ih_bench_raw_lmdb (const char *dir, const ih_bench_frames_t *vals, size_t prefill,
                          size_t first, size_t count, size_t batch);

/* ---- real agents, their stores, a paced publisher (ih_bench_agent.c) ------------------------- */

/*  One agent: member NAME of the deployment (ih_bench_member_add), run as
    `BINDIR/infohub-agent -c WORK/NAME/agent.cfg run` (stderr in WORK/NAME/agent.log).
    The watcher keeps the history of its store's cursor: at hist_t [k] (ih_bench_now_ns,
    read right after the read transaction that saw it) the cursor was hist_c [k]. */
typedef struct {
    char name [32];
    char cfg [4200], store [4200], log [4200];
    pid_t pid;
    void *reader;                   //  the watcher's read-only ih_store_t
    int wd;                         //  its inotify watch
    volatile uint64_t cursor;       //  the latest the watcher saw
    int64_t *hist_t;
    uint64_t *hist_c;
    size_t hist_n, hist_cap;
} ih_bench_agent_t;

/*  Fills a for member name (which must have been added) and starts the agent; returns
    when its store exists and its status file says it is connected (dies after 20 s). */
void ih_bench_agent_start (ih_bench_deploy_t *d, ih_bench_agent_t *a, const char *name);

/*  Stops the agent (SIGTERM, waited for); its history stays. Safe twice. */
void ih_bench_agent_stop (ih_bench_agent_t *a);

/*  Frees the history; the agent must be stopped and unwatched. */
void ih_bench_agent_free (ih_bench_agent_t *a);

/*  The watcher: one thread that opens each agent's store read-only and, woken by inotify
    when the agent writes its data.mdb (IN_MODIFY; LMDB writes its meta page last, through
    a descriptor opened O_DSYNC, so the event of that write comes after the commit is
    durable) or every 20 ms, reads each cursor and records every change. */
typedef struct ih_bench_watch ih_bench_watch_t;

ih_bench_watch_t *ih_bench_watch_new (ih_bench_agent_t **agents, size_t n);

/*  Stops the thread and closes the stores; safe with NULL and twice. */
void ih_bench_watch_destroy (ih_bench_watch_t **wp);

/*  Waits until every watched agent's cursor is at least seq, or timeout_ms. Returns true
    when they all are. */
bool ih_bench_watch_wait (ih_bench_watch_t *w, uint64_t seq, int timeout_ms);

/*  How often the watcher woke for an inotify event, and for its 20 ms timer (read after
    the phase: a watcher that woke by events saw each commit as it became durable). */
void ih_bench_watch_counts (ih_bench_watch_t *w, uint64_t *events, uint64_t *timeouts);

/*  When a's store first held seq (ih_bench_now_ns), or 0 when it never did. */
int64_t ih_bench_agent_seen (const ih_bench_agent_t *a, uint64_t seq);

/*  A publisher paced at rate alerts/s on sock (a DEALER of the publisher): alert i is sent
    at t_first + i / rate, and its `ok` gives seq [i]. t_send [i] is when it was sent.
    The thread sets rc -1 with error when a send fails, an alert is refused, or an answer
    is missing 30 s after the last send. */
typedef struct {
    void *sock;
    const ih_bench_alerts_t *alerts;
    double rate;
    int64_t *t_send;                //  count entries, filled by the thread
    int64_t *t_ok;                  //  count entries, filled by the thread: the `ok` came
    uint64_t *seq;                  //  count entries, filled by the thread (0: no answer)
    int64_t t_first, t_last;        //  first send, last answer
    uint64_t ok;
    int rc;
    char error [512];
} ih_bench_paced_t;

/*  pthread_create with an ih_bench_paced_t *; returns NULL. */
void *ih_bench_paced_thread (void *arg);

#endif

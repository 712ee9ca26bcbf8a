/*  ih_broker.h: the Infohub broker (PROTOCOL.md), one thread, one ROUTER socket.

    The broker is a loop over four event sources: the CURVE ROUTER socket (member
    messages), its ZAP handler (new connections, ih_zap.h), a socket monitor
    (connection counts) and timers (registry watch, heartbeat expiry, status file).

    Per batch it drains up to 256 publishes (and control messages, up to 1024 messages in
    all) without blocking, charges each publish to its member's limits (ih_limiter.h: one
    over them is answered `rate-limited` there, before anything costly; a member's 32nd
    publish closes the batch), checks each publish without touching state (role, strict
    body decode, signer = authenticated member, size) and verifies its signature, on
    every core (ih_sigpool.h), applies the stateful rules (ids, revisions, refs,
    entitlement of the sender: proto/ih_admit.h) and journals every accepted publish in
    ONE LMDB write transaction (ih_journal.h). After the commit it answers every publish,
    in order, and delivers the batch's new messages to the live sessions.

    Pipeline. The checks and the signatures of batch n+1 run on the verifier stage
    (ih_stage.h, a thread with the signature pool) while this thread commits, answers and
    delivers batch n; up to 8 batches go through in a row per loop iteration, the last
    committed before the loop polls again. Nothing is answered before its commit; seqs
    follow the order the publishes came in, batch after batch; and the rules with state
    are applied at the commit, so a publish sees every batch before it.

    Delivery. Each live session gets a plan: the batch's messages it is entitled to
    (ih_jitem_entitled, on the metadata frozen in the journal) and that its hello filters
    let through, as far as its window allows. Sessions with the same plan share the same
    `deliver` frames: each is encoded once into a zmq_msg_t and sent to all of them by
    reference (zmq_msg_copy): no encoding and no allocation per recipient. A batch of one
    message is one frame for everybody; under load one frame carries several messages
    (up to 256 items / 256 KiB), which divides the CURVE cost per delivered message.

    Sessions. A peer is a connection (ROUTER routing id) that sent something; it becomes
    a session with `hello`. A session is LIVE (gets new messages as they are committed)
    or LAGGING (its window or byte budget is used up, its ZeroMQ queue is full, or it is
    replaying): a lagging session is refilled from the journal, up to 256 items / 256 KiB
    per `deliver`, as its acknowledgements open the window, and rejoins the live stream
    when it has read the journal to its head. Per session the broker keeps a ring of
    in-flight sequence numbers (window sized, allocated at hello) and at most 8 MiB in
    flight, so a slow or dead agent costs bounded memory and never delays the others.
    Refills share a scan budget per loop iteration (journal records examined), handed
    round-robin across the lagging sessions, and one member key holds at most
    max_sessions sessions, decided before any replay starts, and max_peers connections
    (ZAP refuses more for now): however many connections a member opens, each loop
    iteration does bounded work and live delivery to the others goes on.
    Live delivery and replay decide on the same journaled metadata, so a reconnecting
    agent gets exactly what it missed, in order, with no gap and no duplicate.

    What a member is owed: welcome and pong carry `owed`, the last seq the member is
    entitled to (ih_owed.h, kept per audience with the journal, in the batch's
    transaction), so that an agent's lag counts only its own messages.

    Identity and revocation: the member of every message is found again in the registry
    by the authenticated CURVE key (User-Id); the registry is reloaded on request (SIGHUP)
    or when its directory changes (checked every 250 ms), and then every open session is
    re-resolved: a revoked or removed member gets one `error revoked` and nothing more;
    its connection is closed 200 ms later (shutdown(2) on the descriptor its messages came
    from: libzmq 4.3 cannot drop one ROUTER peer), and what was queued for it goes too.

    Threading: one broker object belongs to the thread that runs it; the only other
    threads are the verifier stage and the signature pool, which see nothing but one
    batch's bytes and the registry entries of its senders (read only), and ZeroMQ's I/O
    threads (io_threads: CURVE work).

    Session states. Every peer is in one of these (ih_broker_int.h, ih_session_state_t
    and the peer's tombstone flag); "forgotten" means the peer's state is freed, and its
    next message starts afresh as a new peer.

      state      meaning
      NONE       a known peer without a session: it may publish, ask for status and
                 for the roster
      LIVE       gets each committed batch as it is committed (its window allowing)
      LAGGING    refilled from the journal as acks open its window
      TOMBSTONE  an unknown or revoked key: told once, then ignored (NONE + tombstone)

      from              event                                           to
      (no peer)         a message from a registered, unrevoked key      NONE
      any but TOMBSTONE a message from an unknown or revoked key:       TOMBSTONE
                        one `error not-registered` / `revoked`
      any but TOMBSTONE hello, cursor = head: welcome                   LIVE
      any but TOMBSTONE hello, cursor < head: welcome, replay           LAGGING
      LIVE, LAGGING     hello, bad filter: `error bad-frame`            unchanged
      any but TOMBSTONE hello, cursor > head: `error bad-cursor`        NONE
      any but TOMBSTONE a hello beyond its key's max_sessions, all of     unchanged
                        them alive: `error busy`, nothing starts
      LIVE, LAGGING     a hello of the same key beyond max_sessions,    NONE
                        this session being the key's oldest and silent
                        for two heartbeats: `error busy`
      LIVE              delivery: the window (items or 8 MiB) fills,    LAGGING
                        or the ZeroMQ queue is full (retried in 10 ms)
      LAGGING           a refill reaches the journal's head             LIVE
      NONE              ack or ping: `error no-session`                 NONE
      LIVE, LAGGING,    registry reload: the member is revoked or       TOMBSTONE
      NONE              removed: one `error revoked`, the connection
                        closed 200 ms later
      any               1,000 `rate-limited` answers (or 64 MiB) in     TOMBSTONE
                        10 s: connection closed, key cut off for 10 s
      NONE              the key's longest-silent peer without a         forgotten
                        session, when the key goes beyond max_peers:
                        its connection closed
      LIVE              a batch out of step with the session (never     LAGGING
                        expected: replay repairs it)
      any               bye; silence for 3 x heartbeat (TOMBSTONE: 10   forgotten
                        minutes); a deliver that cannot be sent because
                        the peer is gone; its connection's DISCONNECTED

    Reading order. The broker is one object written in four files by job, sharing the
    private header ih_broker_int.h:
      ih_broker.c          the loop and construction: receiving and dispatch, ZAP, the
                           socket monitor, registry reloads, timers, stats
      ih_broker_session.c  peers and sessions: the peer table, the sessions of each key,
                           the window ring, sending, hello / ack / status / roster
      ih_broker_publish.c  the publish pipeline: take, check and verify (on the stage),
                           apply the rules (proto/ih_admit.h) on the journal's index,
                           commit, answer
      ih_broker_deliver.c  fan-out and refill: delivery plans, shared deliver frames,
                           replay from the journal
      ih_broker_test.c     the self-test (end to end: a broker and ZeroMQ clients)
*/
#ifndef IH_BROKER_H
#define IH_BROKER_H

#include <signal.h>
#include <czmq.h>
#include "ih_registry.h"
#include "ih_journal.h"
#include "ih_limiter.h"

typedef struct {
    const char *endpoint;       /* where the ROUTER binds, "tcp://127.0.0.1:7710" */
    zcert_t *cert;              /* the broker's CURVE keypair (borrowed) */
    ih_registry_t *registry;    /* borrowed; reloaded in place by the broker */
    ih_journal_t *journal;      /* borrowed */
    uint32_t heartbeat;         /* ms, told to agents in welcome; 0 = 1000 */
    uint32_t max_window;        /* cap on hello.window; 0 = 2000 */
    uint32_t max_sessions;      /* concurrent sessions per member key; 0 = 8. A hello
                                   beyond it ends that member's oldest session, which
                                   gets `error busy` (PROTOCOL.md 8) */
    const char *status_path;    /* JSON counters rewritten every second; NULL/"" = none */
    bool verbose;               /* debug lines ("D broker: ..."): sets the process-wide
                                   log level (ih_log_set_level) */
    const ih_limits_t *limits;  /* [2]: each role's limits, indexed by ih_role_t (a
                                   member's registry file may override them); NULL =
                                   ih_limits_default */
    uint32_t max_peers;         /* connections that spoke, per member key; 0 = 32. One
                                   more makes the key's longest-silent connection
                                   without a session be closed (at least max_sessions + 1) */
    uint32_t io_threads;        /* ZeroMQ I/O threads, which do the CURVE work of the
                                   connections (each connection is one thread's); 0 = one
                                   per core, at most 4. Takes effect only when the broker
                                   creates the process's first ZeroMQ socket (a program
                                   that made one before keeps its context as it is) */
} ih_broker_cfg_t;

typedef struct ih_broker ih_broker_t;

/*  Binds the ZAP handler, then the ROUTER. Returns NULL with err (address in use, ...). */
ih_broker_t *ih_broker_new(const ih_broker_cfg_t *cfg, ih_err_t *err);
/*  Closes the sockets (pending replies get up to 500 ms to leave). Safe twice. */
void ih_broker_destroy(ih_broker_t **self_p);
/*  The bound endpoint with its real port (borrowed). */
const char *ih_broker_endpoint(ih_broker_t *self);

/*  Runs until *stop becomes non-zero (checked at least every 250 ms and whenever a
    signal interrupts the poll); a batch being committed is finished first. When
    *reload is non-zero the registry is reloaded and *reload cleared. Either pointer may
    be NULL. Returns 0, or -1 when the sockets failed. */
int ih_broker_run(ih_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

/*  The counters as a JSON object, into out (size bytes). */
void ih_broker_stats(ih_broker_t *self, char *out, size_t size);

void ih_broker_test(bool verbose);

#endif

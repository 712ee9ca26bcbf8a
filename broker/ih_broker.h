/*  ih_broker.h: the Infohub broker (PROTOCOL.md), one thread, one ROUTER socket.

    The broker is a loop over four event sources: the CURVE ROUTER socket (member
    messages), its ZAP handler (new connections, ih_zap.h), a socket monitor
    (connection counts) and timers (registry watch, heartbeat expiry, status file).

    Per loop iteration it drains up to 256 publishes (and any number of control messages,
    up to a bound) without blocking, checks each publish without touching state
    (role, strict body decode, signer = authenticated member, signature), then applies
    the stateful rules of every publish (ids, revisions, refs, entitlement of the sender)
    and journals all accepted ones in ONE LMDB write transaction. After the commit it
    answers every publish and delivers every new message to the live sessions entitled
    to it: each `deliver` frame is encoded once and shared by reference between its
    recipients (zmq_msg_copy), with no allocation per recipient.

    Sessions. A peer is a connection (ROUTER routing id) that sent something; it becomes
    a session with `hello`. A session is LIVE (gets new messages as they are committed)
    or LAGGING (its window or its ZeroMQ queue is full, or it is replaying): a lagging
    session is refilled from the journal, up to 256 items / 256 KiB per `deliver`, as
    its acknowledgements open the window, and rejoins the live stream when it has read
    the journal to its head. Per session the broker keeps a fixed ring of in-flight
    sequence numbers (window sized), so a slow agent costs bounded memory.

    Identity and revocation: the member of every message is found again in the registry
    by the authenticated CURVE key (User-Id); the registry is reloaded on request (SIGHUP)
    or when its directory changes (checked every 250 ms), and then every open session is
    re-resolved: a revoked or removed member gets one `error revoked` and nothing more.

    Threading: one broker object belongs to the thread that created it.
*/
#ifndef IH_BROKER_H
#define IH_BROKER_H

#include <signal.h>
#include <czmq.h>
#include "ih_registry.h"
#include "ih_journal.h"

typedef struct {
    const char *endpoint;       /* where the ROUTER binds, "tcp://127.0.0.1:7710" */
    zcert_t *cert;              /* the broker's CURVE keypair (borrowed) */
    ih_registry_t *registry;    /* borrowed; reloaded in place by the broker */
    ih_journal_t *journal;      /* borrowed */
    uint32_t heartbeat;         /* ms, told to agents in welcome; 0 = 1000 */
    uint32_t max_window;        /* cap on hello.window; 0 = 1000 */
    const char *status_path;    /* JSON counters rewritten every second; NULL/"" = none */
    bool verbose;               /* debug lines ("D broker: ...") */
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

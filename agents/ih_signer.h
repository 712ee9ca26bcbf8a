/*  ih_signer.h: the agent daemon's signing service for the Members Zone console.

    The console holds no key (issue 11, privilege separation as OpenBSD's httpd does it):
    it asks the daemon, over the control socket (ih_control.h), to sign and send what its
    users write, and to check their TOTP codes. This module is the daemon's side of those
    requests: the operations, the member's signing key, and the requests waiting for the
    broker.

    KEYS IN LOCKED MEMORY. ih_signer_new reads the member's signing key once, into memory
    from sodium_malloc (guard pages, mlock'ed, never swapped) that is kept PROT_NONE but
    for the moment of a signature, and wiped when the signer is destroyed. The console
    key (ih_totp.h), which seals the users' TOTP secrets, is read the same way, at start
    when it exists, else at the first TOTP request (the first `user add` makes it). After
    start the key files may be unreadable to everyone: the daemon does not open them
    again. (cmd_run also makes the process non-dumpable, so that another process of the
    same user, such as a console taken over through a hole in its web code, can neither
    ptrace it nor read its memory through /proc.)

    NOT BLOCKING THE DAEMON. A publish is sent on the daemon's own session with the
    broker (ih_client_publish_send: no second connection, no thread) and the request is
    deferred (ih_control_defer); the broker's `ok` or `error` comes back through the
    subscriber's events (ih_signer_on_event), and ih_signer_tick answers the console.
    Ingest never waits for a publish, and the console never waits for ingest longer than
    one commit. A publish the broker has not answered within IH_SIGNER_BROKER_MS is
    answered "unavailable" (the broker may still have journaled it: a resend of the same
    body is answered with its first seq, PROTOCOL.md 4.3). After the broker's `ok`, the
    answer waits up to IH_SIGNER_STORE_MS for the message to come back into the store
    (every message is delivered to its sender: an org always receives its own), so that
    the console can show it at once; "stored" says whether it is there.

    OPERATIONS (ih_control.h has the table of fields): ping, publish, comment, sighting,
    retract, totp-check, totp-new. Every request is checked as if anyone could send it:
    fields are typed and bounded, and errors are one line naming the field ("bad-request":
    "ref: not an alert id (a lower-case UUID)"). Every op that signs puts the request's
    "author" (the console user's display name) into the signed body.

    Threading: the daemon's loop only (the store writer, the session client and the
    control socket are that thread's).
*/
#ifndef IH_SIGNER_H
#define IH_SIGNER_H

#include "ih_agent_cfg.h"
#include "ih_client.h"
#include "ih_control.h"
#include "ih_store.h"
#include "ih_totp.h"

#define IH_SIGNER_BROKER_MS     10000   /* how long a publish waits for the broker */
#define IH_SIGNER_STORE_MS      2000    /* then how long for the message in the store */
#define IH_SIGNER_PENDING       64      /* publishes in flight; more: "busy" */

typedef struct ih_signer ih_signer_t;

/*  Reads the member's signing key (cfg->signing_key) into locked memory, and the console
    key (cfg->console_key) when it exists. cfg is borrowed for the signer's life. NULL
    with err ("PATH: cannot read: …") when the signing key cannot be read. */
ih_signer_t *ih_signer_new(const ih_agent_cfg_t *cfg, ih_err_t *err);
/*  The daemon's store (the writer: revisions are looked up in it), its session with the
    broker and its control socket (deferred answers). All borrowed; attach before the
    first request. */
void ih_signer_attach(ih_signer_t *self, ih_store_t *store, ih_client_t *client, ih_control_t *control);
/*  Answers every request still waiting ("unavailable": the daemon is stopping), wipes
    and frees the keys; safe twice. Call before destroying the control socket. */
void ih_signer_destroy(ih_signer_t **self_p);

/*  The control socket's handler (ih_control_fn; arg: the signer). */
json_t *ih_signer_handle(const char *op, json_t *request, void *arg);
/*  An envelope from the broker: true when it was the answer (ok, or error with a req) to
    one of our publishes, which it then settles; false for anything else. */
bool ih_signer_on_event(ih_signer_t *self, const ih_env_t *e);
/*  Answers what is due: publishes whose message the store now holds (cursor: the store's
    durable cursor) or whose wait ended. Call after every round of the loop. Returns the
    milliseconds until the next deadline (-1: nothing waits). */
int ih_signer_tick(ih_signer_t *self, uint64_t cursor);
/*  Requests waiting for the broker or the store. */
size_t ih_signer_pending(ih_signer_t *self);

/*  Signs m as this member: sets org, member and signer, encodes the body (validating it:
    ih_body_encode) into body and signs it into sig. 0, or -1 with err. */
int ih_signer_sign(ih_signer_t *self, ih_msg_t *m, ih_buf_t *body, uint8_t sig[64], ih_err_t *err);

/*  Shortens the waits (IH_SIGNER_BROKER_MS, IH_SIGNER_STORE_MS), for tests. */
void ih_signer_set_waits(ih_signer_t *self, int broker_ms, int store_ms);

void ih_signer_test(bool verbose);          /* ih_signer_test.c */

#endif

/*  ih_control.h: the agent daemon's local control socket: how the Members Zone console,
    which holds no key, asks the daemon to sign and send, and to check a TOTP code.

    TRANSPORT. A ZeroMQ ROUTER bound by the daemon on ipc://AGENTDIR/agent.sock (the path
    is the agent.cfg key agent/control, default "agent.sock" beside agent.cfg; loaded
    into ih_agent_cfg_t.control). The socket file is created mode 0600 (the daemon binds
    it under umask 077) in the agent's directory, so only the agent's user can connect:
    the filesystem is the authentication, as for OpenBSD's imsg sockets. A client uses
    one REQ socket per call.

    MESSAGES. One frame each way, a JSON object (at most 1 MiB). A request has "op"; the
    answer has "ok": true with the op's fields, or "ok": false with "code" and "reason"
    (one line, naming the field: "ref: 'x' is not an alert id (a lower-case UUID)"). The
    daemon validates every request as if it came from anyone on the machine who can
    reach the socket: the console is trusted with the member's authority (whoever
    controls it can publish as the member), but never with its keys. The daemon's side
    of the operations is ih_signer.h.

    Every op that signs takes "author" (optional, default "": none): the display name of
    the console's user, one line of at most 128 bytes, signed into the body (ih_msg.h).

      op          request fields                      answer fields (ok true)
      ping        -                                   connected (bool), broker (endpoint),
                                                      member, org, role, cursor (the
                                                      store's), head, owed, pending
      publish     author, alert: the alert JSON       id, seq, kind "alert", revision,
                  (ih_json.h; `show --json` output    stored
                  too). With "id" of an alert the
                  store holds: its next revision
                  (created kept; our org's only)
      comment     author, ref (alert id), text        id, seq, kind "comment", stored
                  (1 byte .. 16 KiB)
      sighting    author, ref (alert id, "" or        id, seq, kind "sighting", stored
                  absent: none), tlp (required),
                  value (refanged), type (optional:
                  guessed), count (1..1000000, 1)
      retract     author, ref, text (optional),       id, seq, kind "retraction", stored
                  iocs: [{type, value}] (1..5000),
                  absent for the whole alert
      totp-check  sealed (120 hex digits), code       step: the TOTP step the code
                  (6 digits), name (for the log)      matched (now ±1; record it with
                                                      ih_users_totp_step to refuse reuse)
      totp-new    account (the user name), issuer     sealed (hex: store it in the user),
                  (optional: agent/console/issuer)    secret (base32, for oathtool -b),
                                                      uri (otpauth://), qr (SVG text):
                                                      show them once

    "stored" says whether the message was in the store when the daemon answered: after
    the broker's ok, the daemon waits up to 2 s for it to come back (an org receives its
    own messages), so that the console can show it at once.

    Codes of an answer with "ok": false:
      bad-request     a field is missing or wrong (the reason names it), or the op is
                      unknown
      unavailable     the daemon is not connected to the broker, or the broker did not
                      answer within 10 s (it may have taken the message: sending the
                      same request again makes a new message), or the daemon is stopping
      busy            64 messages are waiting for the broker already
      unknown-alert   publish: "id" names an alert this store does not hold
      not-owner       publish: a revision of another org's alert
      internal        the store could not be read
      no-console-key  totp-*: the console key cannot be read (no user was added yet)
      bad-sealed      totp-check: not sealed under this console key, or altered
      wrong-code      totp-check: the code matches none of the steps now-1..now+1
      any code of the broker (PROTOCOL.md 8): its refusal, with its reason
                      (not-publisher, stale-revision, unknown-alert, ...)

    A client sets its own timeout above 10 s (IH_CONTROL_TIMEOUT_MS) for the ops that
    sign: their answer waits for the broker.

    Threading: the server belongs to the daemon's loop; ih_control_call may be called
    from any thread (each call has its own socket).
*/
#ifndef IH_CONTROL_H
#define IH_CONTROL_H

#include <czmq.h>
#include <jansson.h>

#include "ih_util.h"

#define IH_CONTROL_MAX      (1024 * 1024)
#define IH_CONTROL_TIMEOUT_MS   15000           /* a client's wait for the ops that sign */

/* ---- the daemon's side ------------------------------------------------------------------ */
typedef struct ih_control ih_control_t;

/*  Handles one request (a JSON object with "op"); returns the answer (new reference)
    or NULL for "unknown op". A handler that cannot answer at once (a publish waits for
    the broker) calls ih_control_defer and returns NULL; it answers later with
    ih_control_answer, and meanwhile the server serves other requests. */
typedef json_t *(ih_control_fn)(const char *op, json_t *request, void *arg);
/*  A request kept to be answered later. */
typedef struct ih_control_req ih_control_req_t;

/*  Binds ipc://path (the socket file 0600; a stale file from a crashed daemon is
    replaced, a live one refused: "another daemon answers on PATH"). NULL with err. */
ih_control_t *ih_control_new(const char *path, ih_control_fn *fn, void *arg, ih_err_t *err);
void ih_control_destroy(ih_control_t **self_p);
/*  The socket, for the daemon's poll loop. */
zsock_t *ih_control_sock(ih_control_t *self);
/*  Answers every request waiting (none: returns at once). Returns how many. */
int ih_control_serve(ih_control_t *self);

/*  Inside the handler only: keeps the request being handled, to answer it later. The
    caller owns the result until it passes it to ih_control_answer. */
ih_control_req_t *ih_control_defer(ih_control_t *self);
/*  Sends answer (taken: decref'd) to a deferred request, frees it and nulls *req_p. A
    client that gave up meanwhile is simply not there any more (the answer is dropped).
    *req_p NULL: only answer is freed. */
void ih_control_answer(ih_control_t *self, ih_control_req_t **req_p, json_t *answer);

/*  An error answer {"ok": false, "code": code, "reason": reason}. New reference. */
json_t *ih_control_refuse(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the client's side ---------------------------------------------------------------------- */
/*  Sends request to the daemon at path and waits up to timeout_ms for the answer.
    Returns the answer (new reference: check "ok"), or NULL with err ("the agent daemon
    does not answer on PATH: is `infohub-agent run` running?"). */
json_t *ih_control_call(const char *path, json_t *request, int timeout_ms, ih_err_t *err);

void ih_control_test(bool verbose);

#endif

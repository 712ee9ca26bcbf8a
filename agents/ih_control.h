/*  ih_control.h: the agent daemon's local control socket: how the Members Zone console,
    which holds no key, asks the daemon to sign and send, and to check a TOTP code.

    TRANSPORT. A ZeroMQ ROUTER bound by the daemon on ipc://AGENTDIR/agent.sock (the path
    is the agent.cfg key agent/control, default "agent.sock" beside agent.cfg). The
    socket file is created mode 0600 (the daemon binds it under umask 077) in the
    agent's directory, so only the agent's user can connect: the filesystem is the
    authentication, as for OpenBSD's imsg sockets. A client uses one REQ socket per call.

    MESSAGES. One frame each way, a JSON object (at most 1 MiB). A request has "op"; the
    answer has "ok": true with the op's fields, or "ok": false with "code" and "reason"
    (one line). The daemon validates every request as if it came from anyone on the
    machine who can reach the socket: the console is trusted with the member's authority
    (whoever controls it can publish as the member), but never with its keys.

      op          request fields                          answer fields
      ping        -                                       connected, broker, member, org,
                                                          cursor, head
      publish     author, alert (the alert JSON; "id"     id, revision, seq
                  for a revision of an alert we hold)
      comment     author, ref, text                       id, seq
      sighting    author, ref ("" for none), tlp, type,   id, seq
                  value, count
      retract     author, ref, text, iocs ([{type,value}] id, seq
                  or absent for the whole alert)
      totp-check  sealed (hex), code, name                step (the step matched), or
                                                          ok false, code "wrong-code"
      totp-new    issuer, account                         sealed (hex), secret (base32),
                                                          uri: for an enrolment; the
                                                          caller shows it once
    Broker refusals come back as ok false with the broker's code and reason
    (not-owner, stale-revision, ...); "unavailable" when the daemon cannot reach the
    broker in time.

    Threading: the server belongs to the daemon's loop; ih_control_call may be called
    from any thread (each call has its own socket).
*/
#ifndef IH_CONTROL_H
#define IH_CONTROL_H

#include <czmq.h>
#include <jansson.h>

#include "ih_util.h"

#define IH_CONTROL_MAX      (1024 * 1024)

/* ---- the daemon's side ------------------------------------------------------------------ */
typedef struct ih_control ih_control_t;

/*  Handles one request (a JSON object with "op"); returns the answer (new reference)
    or NULL for "unknown op". */
typedef json_t *(ih_control_fn)(const char *op, json_t *request, void *arg);

/*  Binds ipc://path (the socket file 0600; a stale file from a crashed daemon is
    replaced, a live one refused: "another daemon answers on PATH"). NULL with err. */
ih_control_t *ih_control_new(const char *path, ih_control_fn *fn, void *arg, ih_err_t *err);
void ih_control_destroy(ih_control_t **self_p);
/*  The socket, for the daemon's poll loop. */
zsock_t *ih_control_sock(ih_control_t *self);
/*  Answers every request waiting (none: returns at once). Returns how many. */
int ih_control_serve(ih_control_t *self);

/*  An error answer {"ok": false, "code": code, "reason": reason}. New reference. */
json_t *ih_control_refuse(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the client's side ---------------------------------------------------------------------- */
/*  Sends request to the daemon at path and waits up to timeout_ms for the answer.
    Returns the answer (new reference: check "ok"), or NULL with err ("the agent daemon
    does not answer on PATH: is `infohub-agent run` running?"). */
json_t *ih_control_call(const char *path, json_t *request, int timeout_ms, ih_err_t *err);

void ih_control_test(bool verbose);

#endif

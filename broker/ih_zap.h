/*  ih_zap.h: a ZAP handler (ZeroMQ RFC 27) for the broker's CURVE socket.

    libzmq asks the socket bound at inproc://zeromq.zap.01 (in the same context) whether
    to admit each connecting peer, once, at the handshake. This module owns that REP
    socket and turns each request into a call of the broker's decision function, which
    says yes (with the User-Id that every message of the connection will carry) or no.

    czmq's zauth is not used: it keeps one store for every domain and cannot tell members
    from revoked keys; the broker decides from its registry instead.

    The handler is polled by the broker's own thread (ih_zap_sock() in its poller), so
    the decision function sees the same registry as the rest of the broker, with no
    lock. Create the handler BEFORE the CURVE socket binds: a handshake that finds no
    handler is admitted by libzmq without asking anyone.
*/
#ifndef IH_ZAP_H
#define IH_ZAP_H

#include <czmq.h>
#include "ih_util.h"

#define IH_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct {
    char domain [256];
    char address [256];         /* the peer's IP address, for logs */
    char mechanism [32];        /* "CURVE", "NULL", "PLAIN", ... */
    bool has_key;               /* CURVE: the client's long-term public key */
    uint8_t key [32];
    char key_z85 [41];
} ih_zap_request_t;

/*  What a decision says (RFC 27 status codes). */
typedef enum {
    IH_ZAP_ADMIT = 200,         /* with the User-Id */
    IH_ZAP_LATER = 300,         /* a temporary refusal: the client may try again later */
    IH_ZAP_DENY = 400           /* not admitted */
} ih_zap_status_t;

/*  Decides one request: IH_ZAP_ADMIT with user_id (NUL-terminated, at most
    user_id_size - 1 bytes) as the connection's User-Id, or IH_ZAP_LATER / IH_ZAP_DENY
    with a short status text. The decision function logs what it decided. */
typedef ih_zap_status_t (ih_zap_decide_fn) (void *arg, const ih_zap_request_t *req,
                                            char *user_id, size_t user_id_size,
                                            char *text, size_t text_size);

typedef struct ih_zap ih_zap_t;

/*  Binds the handler. Returns NULL with err (e.g. another handler is bound). */
ih_zap_t *ih_zap_new(ih_err_t *err);
void ih_zap_destroy(ih_zap_t **self_p);
/*  The socket to poll for requests (borrowed). */
zsock_t *ih_zap_sock(ih_zap_t *self);
/*  Answers every pending request without blocking; a malformed request is answered
    with status 500 and never reaches fn. Returns the number of requests answered. */
int ih_zap_handle(ih_zap_t *self, ih_zap_decide_fn *fn, void *arg);

void ih_zap_test(bool verbose);

#endif

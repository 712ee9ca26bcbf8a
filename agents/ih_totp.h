/*  ih_totp.h: the second step of the Members Zone's login: TOTP (RFC 6238 with liboath:
    30-second steps, 6 digits, HMAC-SHA-1, so every authenticator app works), the
    enrolment URI and its QR code (libqrencode, drawn as SVG), and the sealing of each
    user's secret at rest.

    SEALED SECRETS. A user's TOTP secret is stored in the accounts database (ih_users.h)
    only sealed (libsodium crypto_secretbox) under the console key, a 32-byte file
    (AGENTDIR/console.key, 0600) that the agent daemon and the `user` commands read and
    the web process never opens: the console asks the daemon to check a code
    (ih_control.h). A copy of the accounts database alone therefore does not give
    anyone's codes.

    Threading: every function may be called from any thread.
*/
#ifndef IH_TOTP_H
#define IH_TOTP_H

#include "ih_util.h"

#define IH_TOTP_SECRET      20              /* bytes (160 bits, RFC 4226's recommendation) */
#define IH_TOTP_STEP        30              /* seconds */
#define IH_TOTP_DIGITS      6
#define IH_TOTP_WINDOW      1               /* steps accepted either side of now */
#define IH_TOTP_SEALED      (24 + 16 + IH_TOTP_SECRET)  /* nonce, MAC, secret */
#define IH_TOTP_KEY         32

/*  A fresh random secret. */
void ih_totp_secret_new(uint8_t secret[IH_TOTP_SECRET]);
/*  The secret in RFC 4648 base32 without padding (what `oathtool --totp -b` takes) into
    out (at least 33 bytes). */
void ih_totp_base32(const uint8_t secret[IH_TOTP_SECRET], char *out, size_t size);
/*  The enrolment URI: otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&algorithm=SHA1
    &digits=6&period=30, with issuer and account percent-encoded. Appended to out. */
void ih_totp_uri(const uint8_t secret[IH_TOTP_SECRET], const char *issuer, const char *account,
                 ih_buf_t *out);
/*  A QR code of text as a standalone SVG document (black modules on white, a 4-module
    quiet zone). Returns 0, or -1 with err when the text does not fit a QR code. */
int ih_totp_qr_svg(const char *text, ih_buf_t *out, ih_err_t *err);

/*  The code for the step that contains now (seconds since the epoch), into out
    (7 bytes), for tests and tools. */
void ih_totp_code(const uint8_t *secret, size_t len, int64_t now, char out[IH_TOTP_DIGITS + 1]);
/*  Checks a code against the steps now-1, now, now+1. Returns 1 with *step set to the
    step it matched (seconds / 30 since the epoch), 0 when it matches none, -1 when code
    is not 6 digits. Replay is the caller's to refuse: a step at or below the last one
    the user used is a reuse. */
int ih_totp_verify(const uint8_t *secret, size_t len, const char *code, int64_t now, uint64_t *step);

/*  Seals or unseals a secret under key. unseal returns 0, or -1 when the box was not
    made with this key (or was altered). */
void ih_totp_seal(const uint8_t key[IH_TOTP_KEY], const uint8_t secret[IH_TOTP_SECRET],
                  uint8_t out[IH_TOTP_SEALED]);
int ih_totp_unseal(const uint8_t key[IH_TOTP_KEY], const uint8_t sealed[IH_TOTP_SEALED],
                   uint8_t secret[IH_TOTP_SECRET]);

/*  The console key file: loads it (it must be a private file of 32 bytes, ih_keys.h) or,
    with create, makes a new one (0600) when it is missing. Returns 0, or -1 with err. */
int ih_totp_key_load(const char *path, bool create, uint8_t key[IH_TOTP_KEY], ih_err_t *err);

void ih_totp_test(bool verbose);

#endif

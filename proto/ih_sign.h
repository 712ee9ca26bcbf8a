/*  ih_sign.h: ed25519 signatures (libsodium) with domain separation.

    What is signed is ctx || 0x00 || body, where ctx is an ASCII context string:
      IH_CTX_MSG     "infohub/msg/1"     a signed message body (alert, retraction, …)
      IH_CTX_MEMBER  "infohub/member/1"  a member record signed by the registry key
    so that a signature made for one purpose never verifies for another.
*/
#ifndef IH_SIGN_H
#define IH_SIGN_H

#include "ih_util.h"

#define IH_CTX_MSG    "infohub/msg/1"
#define IH_CTX_MEMBER "infohub/member/1"
#define IH_SIG_LEN    64
#define IH_PK_LEN     32
#define IH_SK_LEN     64

/*  Calls sodium_init() once; aborts if libsodium cannot start. Safe to call often. */
void ih_sign_init(void);
/*  New ed25519 keypair. */
void ih_sign_keypair(uint8_t pk[IH_PK_LEN], uint8_t sk[IH_SK_LEN]);
/*  Detached signature of ctx||0||body. */
void ih_sign(uint8_t sig[IH_SIG_LEN], const char *ctx, const uint8_t *body, size_t len,
             const uint8_t sk[IH_SK_LEN]);
/*  0 when sig is valid for ctx||0||body under pk, else -1 with err "bad signature". */
int ih_verify(const uint8_t sig[IH_SIG_LEN], const char *ctx, const uint8_t *body, size_t len,
              const uint8_t pk[IH_PK_LEN], ih_err_t *err);

void ih_sign_test(bool verbose);

#endif

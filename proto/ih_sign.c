/*  ih_sign.c: ed25519 signatures (libsodium) with domain separation.

    The signed message is ctx || 0x00 || body. Bodies up to s_STACK_MAX bytes are
    assembled on the stack so that signing and verifying the usual alert allocate
    nothing; larger ones use one malloc, freed before returning.
*/
#include <string.h>
#include <sodium.h>

#include "ih_sign.h"

#define s_STACK_MAX 4096

/* ---- helpers ------------------------------------------------------------------------ */

/*  Lays out ctx || 0 || body in stack (when it fits) or in a malloc'd block; returns the
    pointer (stack or heap) and sets *total. *heap is set when it must be freed. */
static uint8_t *
s_assemble (uint8_t *stack, const char *ctx, const uint8_t *body, size_t len,
            size_t *total, uint8_t **heap)
{
    size_t ctx_len = strlen (ctx);
    *heap = NULL;
    if (len > SIZE_MAX - ctx_len - 1) {
        fprintf (stderr, "ih_sign: message too large\n");
        abort ();
    }
    *total = ctx_len + 1 + len;
    uint8_t *msg = stack;
    if (*total > s_STACK_MAX) {
        *heap = (uint8_t *) malloc (*total);
        if (!*heap) {
            fprintf (stderr, "ih_sign: out of memory (%zu bytes)\n", *total);
            abort ();
        }
        msg = *heap;
    }
    memcpy (msg, ctx, ctx_len);
    msg [ctx_len] = 0;
    if (len)
        memcpy (msg + ctx_len + 1, body, len);
    return msg;
}

/* ---- API ----------------------------------------------------------------------------- */

void
ih_sign_init (void)
{
    //  sodium_init() is thread-safe and returns 1 when already initialised
    if (sodium_init () < 0) {
        fprintf (stderr, "ih_sign: libsodium failed to initialise\n");
        abort ();
    }
}

void
ih_sign_keypair (uint8_t pk [IH_PK_LEN], uint8_t sk [IH_SK_LEN])
{
    ih_sign_init ();
    crypto_sign_keypair (pk, sk);
}

void
ih_sign (uint8_t sig [IH_SIG_LEN], const char *ctx, const uint8_t *body, size_t len,
         const uint8_t sk [IH_SK_LEN])
{
    ih_sign_init ();
    uint8_t stack [s_STACK_MAX];
    uint8_t *heap;
    size_t total;
    uint8_t *msg = s_assemble (stack, ctx, body, len, &total, &heap);
    crypto_sign_detached (sig, NULL, msg, total, sk);
    free (heap);
}

int
ih_verify (const uint8_t sig [IH_SIG_LEN], const char *ctx, const uint8_t *body, size_t len,
           const uint8_t pk [IH_PK_LEN], ih_err_t *err)
{
    ih_sign_init ();
    uint8_t stack [s_STACK_MAX];
    uint8_t *heap;
    size_t total;
    uint8_t *msg = s_assemble (stack, ctx, body, len, &total, &heap);
    int rc = crypto_sign_verify_detached (sig, msg, total, pk);
    free (heap);
    if (rc != 0)
        return ih_err_set (err, "bad signature");
    return 0;
}

/* ---- self-test ----------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_sign_test (bool verbose)
{
    uint8_t pk [IH_PK_LEN], sk [IH_SK_LEN], pk2 [IH_PK_LEN], sk2 [IH_SK_LEN];
    uint8_t sig [IH_SIG_LEN];
    ih_err_t err;
    ih_sign_keypair (pk, sk);
    ih_sign_keypair (pk2, sk2);
    IH_CHECK (memcmp (pk, pk2, IH_PK_LEN) != 0);

    //  Small (stack) and large (heap) bodies, and an empty one
    static const size_t sizes [] = { 0, 1, 100, s_STACK_MAX - 20, s_STACK_MAX, 100000 };
    for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes [0]); i++) {
        size_t len = sizes [i];
        uint8_t *body = (uint8_t *) malloc (len ? len : 1);
        IH_CHECK (body);
        randombytes_buf (body, len ? len : 1);

        ih_sign (sig, IH_CTX_MSG, body, len, sk);
        IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk, &err) == 0);
        IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk, NULL) == 0);

        //  Deterministic: same input, same signature
        uint8_t sig2 [IH_SIG_LEN];
        ih_sign (sig2, IH_CTX_MSG, body, len, sk);
        IH_CHECK (memcmp (sig, sig2, IH_SIG_LEN) == 0);

        //  Wrong key
        err.msg [0] = 0;
        IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk2, &err) == -1);
        IH_CHECK (strcmp (err.msg, "bad signature") == 0);
        IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk2, NULL) == -1);

        //  Wrong context: a message signature is not a member-record signature
        IH_CHECK (ih_verify (sig, IH_CTX_MEMBER, body, len, pk, &err) == -1);
        IH_CHECK (ih_verify (sig, "infohub/msg/", body, len, pk, &err) == -1);

        //  Altered body byte (first, middle, last)
        if (len) {
            size_t at [3] = { 0, len / 2, len - 1 };
            for (int k = 0; k < 3; k++) {
                body [at [k]] ^= 0x01;
                IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk, &err) == -1);
                body [at [k]] ^= 0x01;
            }
            //  Truncated body
            IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len - 1, pk, &err) == -1);
        }
        //  Altered signature byte
        for (int k = 0; k < IH_SIG_LEN; k += 9) {
            sig [k] ^= 0x80;
            IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk, &err) == -1);
            sig [k] ^= 0x80;
        }
        //  Truncated signature: the remaining bytes zero
        uint8_t trunc [IH_SIG_LEN] = { 0 };
        memcpy (trunc, sig, 32);
        IH_CHECK (ih_verify (trunc, IH_CTX_MSG, body, len, pk, &err) == -1);
        IH_CHECK (ih_verify (sig, IH_CTX_MSG, body, len, pk, &err) == 0);
        free (body);
    }

    //  Domain separation: the signature covers ctx || 0 || body, so moving bytes between
    //  context and body does not verify ("infohub/msg/1" + "\0x" vs "infohub/msg/1\0" + "x")
    const uint8_t x [] = "x";
    ih_sign (sig, IH_CTX_MSG, x, 1, sk);
    uint8_t moved [] = { 0, 'x' };
    IH_CHECK (ih_verify (sig, IH_CTX_MSG, moved, 2, pk, &err) == -1);

    //  Known answer: ed25519 over "infohub/msg/1\0abc" with the seed 0x01 * 32 (the
    //  Python test in tests/interop checks the same vector with PyNaCl)
    uint8_t seed [32];
    memset (seed, 1, sizeof seed);
    uint8_t kpk [IH_PK_LEN], ksk [IH_SK_LEN];
    crypto_sign_seed_keypair (kpk, ksk, seed);
    const uint8_t abc [] = "abc";
    ih_sign (sig, IH_CTX_MSG, abc, 3, ksk);
    uint8_t raw [sizeof IH_CTX_MSG + 3];
    memcpy (raw, IH_CTX_MSG, sizeof IH_CTX_MSG);   // includes the NUL
    memcpy (raw + sizeof IH_CTX_MSG, abc, 3);
    IH_CHECK (crypto_sign_verify_detached (sig, raw, sizeof raw, kpk) == 0);
    sodium_memzero (ksk, sizeof ksk);
    sodium_memzero (sk, sizeof sk);
    sodium_memzero (sk2, sizeof sk2);
    if (verbose)
        printf ("(sign/verify, wrong key, altered byte, wrong context, truncated sig) ");
}
#endif

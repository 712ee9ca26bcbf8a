/*  ih_minhash.h: MinHash signatures of alert text, for near-duplicates and related alerts
    (ih_related.h) and for keeping near-duplicate texts in one fold (ih_model_eval).

    A text's shingles are its runs of 3 consecutive words (ih_text_words: stop words
    kept, nothing stemmed; a text of fewer words is one shingle). The signature keeps,
    for each of IH_MINHASH_PERM hash functions, the least hash of any shingle; the share
    of equal positions in two signatures estimates the Jaccard similarity of their
    shingle sets (standard error about 0.044 at 128). LSH: the signature is cut into
    IH_MINHASH_BANDS bands of IH_MINHASH_ROWS rows; two texts whose Jaccard is J share
    at least one band hash with probability 1 - (1 - J^4)^32: 0.98 at J = 0.5, 0.41 at
    J = 0.3, 0.03 at J = 0.1.

    Pure functions (over a table of hash constants made once): any thread.
*/
#ifndef IH_MINHASH_H
#define IH_MINHASH_H

#include "ih_text.h"

#define IH_MINHASH_PERM     128
#define IH_MINHASH_BANDS    32
#define IH_MINHASH_ROWS     (IH_MINHASH_PERM / IH_MINHASH_BANDS)
#define IH_MINHASH_NEAR_DUP 0.6         /* estimated Jaccard from which two texts are near-duplicates */

typedef struct {
    uint32_t h [IH_MINHASH_PERM];
    uint32_t shingles;                  /* how many shingles went in (0: an empty text) */
} ih_minhash_t;

/*  The signature of len bytes of text (words by t). */
void ih_minhash_text(ih_minhash_t *m, ih_text_t *t, const char *text, size_t len);

/*  The estimated Jaccard similarity of two signatures (0 when either text was empty). */
double ih_minhash_jaccard(const ih_minhash_t *a, const ih_minhash_t *b);

/*  The hash of band b (0..IH_MINHASH_BANDS-1) of m, with b mixed in: equal only for equal
    rows of the same band. */
uint64_t ih_minhash_band(const ih_minhash_t *m, int b);

void ih_minhash_test(bool verbose);

#endif

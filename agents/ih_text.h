/*  ih_text.h: the words and terms of an alert's text, as the analytics see them: the
    suggestion model (ih_model.h) weighs terms, related alerts (ih_related.h) compare
    word shingles and terms. Both must cut text the same way, so they share this.

    WORDS, in order: runs of ASCII letters and digits (other non-ASCII letters join
    them), lower-cased; every CJK ideograph (U+3400..U+4DBF, U+4E00..U+9FFF,
    U+F900..U+FAFF) is a word of its own, Traditional characters folded to Simplified
    (a table of the common ones: 釣魚電郵 and 钓鱼电邮 are the same words), so reports
    in either script, or mixed with English, meet. Pure numbers, one-letter words,
    words over 40 bytes and hex runs of 16 digits or more (hashes) are left out.

    TERMS (ih_text_terms), what TF-IDF counts:
      - each English word that is not a stop word ("the", "with" …), stemmed with the
        Snowball English stemmer (libstemmer): "encrypted", "encrypts" -> "encrypt";
      - each pair of consecutive such stems, "shadow copi" (a bigram, joined by a
        space);
      - each CJK character, and each pair of consecutive CJK characters (character
        bigrams: Chinese has no spaces, and two characters are most of its words);
    A change to any of this changes what a trained model means: IH_TEXT_VERSION is
    written into each model, and a model with another is stale.

    Threading: an ih_text_t (it holds a stemmer) belongs to one thread at a time; make
    one per thread.
*/
#ifndef IH_TEXT_H
#define IH_TEXT_H

#include "ih_util.h"

#define IH_TEXT_VERSION     1
#define IH_TEXT_TERM_MAX    96          /* bytes of the longest term (a bigram of two words) */

typedef struct ih_text ih_text_t;

/*  A tokeniser; NULL only when libstemmer has no English stemmer (never on Debian). */
ih_text_t *ih_text_new(void);
/*  Frees; safe twice; nulls *self_p. */
void ih_text_destroy(ih_text_t **self_p);

/*  fn gets each item NUL-terminated with its length; returns 0 to go on, anything else
    to stop (returned). */
typedef int (ih_text_fn)(const char *item, size_t len, void *arg);

/*  The words of len bytes of text, in order, stop words included and nothing stemmed
    (the shingles of related alerts). Returns 0 or fn's value. */
int ih_text_words(ih_text_t *self, const char *text, size_t len, ih_text_fn *fn, void *arg);

/*  The terms of len bytes of text (see top), in order, repeats included. Returns 0 or
    fn's value. */
int ih_text_terms(ih_text_t *self, const char *text, size_t len, ih_text_fn *fn, void *arg);

/*  64-bit FNV-1a of len bytes: how the analytics hash terms, words and IOCs (stable
    across runs and machines: it is written into indexes). */
uint64_t ih_text_hash(const void *data, size_t len);

void ih_text_test(bool verbose);

#endif

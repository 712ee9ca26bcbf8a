/*  ih_minhash.c: MinHash signatures (ih_minhash.h). */
#include <czmq.h>
#include <pthread.h>

#include "ih_minhash.h"

/*  splitmix64: the mixer behind each of the hash functions (seeded by its index). */
static inline uint64_t
s_mix (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

typedef struct {
    ih_minhash_t *m;
    uint64_t w [3];         /* the last three words' hashes */
    size_t n;               /* words seen */
} s_shingle_t;

/*  The hash functions: h_i (x) = the high half of a_i * x + b_i (mod 2^64) over x =
    s_mix (shingle), with odd a_i; one multiply-add each (the compiler vectorises the
    loop), where a splitmix per function cost a third of the related index's time. */
static uint64_t s_a [IH_MINHASH_PERM], s_b [IH_MINHASH_PERM];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_init (void)
{
    for (int i = 0; i < IH_MINHASH_PERM; i++) {
        s_a [i] = s_mix ((uint64_t) (2 * i + 1)) | 1;
        s_b [i] = s_mix ((uint64_t) (2 * i + 2));
    }
}

static void
s_add (ih_minhash_t *m, uint64_t shingle)
{
    uint64_t x = s_mix (shingle);
    for (int i = 0; i < IH_MINHASH_PERM; i++) {
        uint32_t h = (uint32_t) ((x * s_a [i] + s_b [i]) >> 32);
        m->h [i] = h < m->h [i] ? h : m->h [i];
    }
    m->shingles++;
}

static int
s_on_word (const char *w, size_t len, void *arg)
{
    s_shingle_t *s = (s_shingle_t *) arg;
    s->w [0] = s->w [1];
    s->w [1] = s->w [2];
    s->w [2] = ih_text_hash (w, len);
    if (++s->n >= 3)
        s_add (s->m, s->w [0] * 31 * 31 + s->w [1] * 31 + s->w [2]);
    return 0;
}

void
ih_minhash_text (ih_minhash_t *m, ih_text_t *t, const char *text, size_t len)
{
    pthread_once (&s_once, s_init);
    memset (m->h, 0xff, sizeof m->h);
    m->shingles = 0;
    s_shingle_t s = { m, { 0, 0, 0 }, 0 };
    ih_text_words (t, text, len, s_on_word, &s);
    if (s.n > 0 && s.n < 3)
        s_add (m, s.w [0] * 31 * 31 + s.w [1] * 31 + s.w [2]);
}

double
ih_minhash_jaccard (const ih_minhash_t *a, const ih_minhash_t *b)
{
    if (!a->shingles || !b->shingles)
        return 0;
    int same = 0;
    for (int i = 0; i < IH_MINHASH_PERM; i++)
        same += a->h [i] == b->h [i];
    return (double) same / IH_MINHASH_PERM;
}

uint64_t
ih_minhash_band (const ih_minhash_t *m, int b)
{
    uint64_t h = s_mix ((uint64_t) b + 1);
    for (int r = 0; r < IH_MINHASH_ROWS; r++)
        h = s_mix (h ^ m->h [b * IH_MINHASH_ROWS + r]);
    return h;
}

#ifdef IH_SELFTEST
void
ih_minhash_test (bool verbose)
{
    ih_text_t *t = ih_text_new ();
    IH_CHECK (t);
    const char *a = "Ransomware hits municipal water utility billing systems. The attackers entered "
                    "through an exposed remote desktop server and encrypted the billing database overnight.";
    const char *b = "Ransomware hits municipal water utility billing systems. The attackers entered "
                    "through an exposed remote desktop server and encrypted the billing database on Sunday.";
    const char *c = "Fake parcel notification e-mails lead to a card-harvesting page hosted abroad.";
    ih_minhash_t ma, mb, mc, me;
    ih_minhash_text (&ma, t, a, strlen (a));
    ih_minhash_text (&mb, t, b, strlen (b));
    ih_minhash_text (&mc, t, c, strlen (c));
    ih_minhash_text (&me, t, "", 0);
    double jab = ih_minhash_jaccard (&ma, &mb), jac = ih_minhash_jaccard (&ma, &mc);
    if (verbose)
        printf ("\n  J(a,b) %.2f J(a,c) %.2f\n", jab, jac);
    IH_CHECK (jab > IH_MINHASH_NEAR_DUP && jac < 0.1);
    IH_CHECK (ih_minhash_jaccard (&ma, &ma) == 1.0 && ih_minhash_jaccard (&ma, &me) == 0);
    int shared = 0;
    for (int i = 0; i < IH_MINHASH_BANDS; i++)
        shared += ih_minhash_band (&ma, i) == ih_minhash_band (&mb, i);
    IH_CHECK (shared > 0);
    IH_CHECK (ih_minhash_band (&ma, 0) != ih_minhash_band (&ma, 1));
    //  Short texts are one shingle.
    ih_minhash_t s1, s2;
    ih_minhash_text (&s1, t, "phishing wave", 13);
    ih_minhash_text (&s2, t, "Phishing  wave!", 15);
    IH_CHECK (s1.shingles == 1 && ih_minhash_jaccard (&s1, &s2) == 1.0);
    //  The estimate against the true Jaccard of two shingle sets: words w0..w99 and
    //  w50..w149 share 48 of 148 shingles (0.32; three standard errors are 0.12).
    char *x = (char *) malloc (2000), *y = (char *) malloc (2000);
    IH_CHECK (x && y);
    size_t xn = 0, yn = 0;
    for (int i = 0; i < 150; i++) {
        if (i < 100)
            xn += (size_t) sprintf (x + xn, "word%c%c ", 'a' + i / 26, 'a' + i % 26);
        if (i >= 50)
            yn += (size_t) sprintf (y + yn, "word%c%c ", 'a' + i / 26, 'a' + i % 26);
    }
    ih_minhash_t mx, my;
    ih_minhash_text (&mx, t, x, xn);
    ih_minhash_text (&my, t, y, yn);
    double jxy = ih_minhash_jaccard (&mx, &my);
    if (verbose)
        printf ("  J(x,y) %.3f (true 0.324)\n", jxy);
    IH_CHECK (mx.shingles == 98 && jxy > 0.324 - 0.12 && jxy < 0.324 + 0.12);
    free (x);
    free (y);
    ih_text_destroy (&t);
}
#endif

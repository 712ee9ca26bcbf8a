/*  ih_model_int.h: what ih_model.c and ih_model_data.c share; nothing else includes it.
    A map of 64-bit hashes (terms, LSH bands) to 32-bit values, open addressing. A key
    of 0 is stored as 1. */
#ifndef IH_MODEL_INT_H
#define IH_MODEL_INT_H

#include "ih_model.h"

typedef struct {
    uint64_t *keys;             /* 0: empty (a hash of 0 is stored as 1) */
    uint32_t *vals;
    size_t cap, n;
} ih_u64map_t;

static inline void
ih_u64map_init (ih_u64map_t *m, size_t cap)
{
    m->cap = 16;
    while (m->cap < cap * 2)
        m->cap *= 2;
    m->keys = (uint64_t *) calloc (m->cap, sizeof *m->keys);
    m->vals = (uint32_t *) calloc (m->cap, sizeof *m->vals);
    if (!m->keys || !m->vals)
        abort ();
    m->n = 0;
}

static inline void
ih_u64map_free (ih_u64map_t *m)
{
    free (m->keys);
    free (m->vals);
    memset (m, 0, sizeof *m);
}

/*  The slot of key (found or where it would go). */
static inline size_t
ih_u64map_slot (const ih_u64map_t *m, uint64_t key)
{
    key = key ? key : 1;
    size_t i = (size_t) (key * 0x9e3779b97f4a7c15ULL) & (m->cap - 1);
    while (m->keys [i] && m->keys [i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static inline uint32_t *
ih_u64map_get (const ih_u64map_t *m, uint64_t key)
{
    size_t i = ih_u64map_slot (m, key);
    return m->keys [i] ? &m->vals [i] : NULL;
}

static inline uint32_t *
ih_u64map_put (ih_u64map_t *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        ih_u64map_t big;
        ih_u64map_init (&big, m->cap);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys [i]) {
                size_t j = ih_u64map_slot (&big, m->keys [i]);
                big.keys [j] = m->keys [i];
                big.vals [j] = m->vals [i];
                big.n++;
            }
        ih_u64map_free (m);
        *m = big;
    }
    size_t i = ih_u64map_slot (m, key);
    if (!m->keys [i]) {
        m->keys [i] = key ? key : 1;
        m->vals [i] = val;
        m->n++;
    }
    return &m->vals [i];
}


/* ---- the model (ih_model.c trains and predicts, ih_model_file.c saves and loads) ---- */

typedef struct {
    char *label;
    double threshold;
    uint32_t count;             /* training alerts with it */
    double cv_precision;        /* at the threshold; -1 when never reached */
    uint32_t cv_support;        /* cross-validated suggestions at the threshold */
    double pa, pb;              /* calibration: p = sigmoid (pa logit (raw) + pb) */
} ih_model_col_t;

/*  Platt scaling (ih_model.c): a, b of p = sigmoid (a sc + b) fitted to truth y. */
void ih_model_platt (const double *sc, const bool *y, size_t n, double *a, double *b);

struct ih_model {
    int64_t trained_ms;
    size_t alerts;
    uint32_t nterms;
    char **terms;
    float *idf;
    ih_u64map_t vocab;              /* hash of term -> index + 1 */
    uint32_t *woff;             /* nterms + 1: term j's weights are [woff [j], woff [j + 1]) */
    uint16_t *wcol;
    float *wval;
    uint32_t ncols;
    ih_model_col_t *cols;
    float *bias;                /* ncols */
    uint32_t first [IH_MODEL_FIELDS], count [IH_MODEL_FIELDS];
    char *meta;                 /* JSON */
};

#endif

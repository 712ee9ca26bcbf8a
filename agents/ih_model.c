/*  ih_model.c: the suggestion model (ih_model.h): training data, source-document groups,
    the vectoriser, training with liblinear, thresholds by cross-validation, the file,
    and prediction. `model eval` is ih_model_eval.c.
*/
#include <czmq.h>
#include <jansson.h>
#include <linear.h>
#include <math.h>
#include <pthread.h>

#include "ih_minhash.h"
#include "ih_model.h"
#include "ih_model_int.h"

static const char *s_field_names [IH_MODEL_FIELDS] = { "category", "sectors", "tags", "severity" };

const char *
ih_model_field_name (ih_model_field_t f)
{
    return (unsigned) f < IH_MODEL_FIELDS ? s_field_names [f] : NULL;
}

static char *
s_strdup (const char *s)
{
    char *d = strdup (s ? s : "");
    if (!d)
        abort ();
    return d;
}

static void
s_free_list (char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free (l [i]);
    free (l);
}

/*  Category and severity hold one value each: their probabilities sum to 1. */
static bool
s_one_of (ih_model_field_t f)
{
    return f == IH_MODEL_CATEGORY || f == IH_MODEL_SEVERITY;
}

/* ---- the model ------------------------------------------------------------------------------- */

void
ih_model_destroy (ih_model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_model_t *self = *self_p;
    s_free_list (self->terms, self->nterms);
    free (self->idf);
    ih_u64map_free (&self->vocab);
    free (self->woff);
    free (self->wcol);
    free (self->wval);
    for (uint32_t c = 0; c < self->ncols; c++)
        free (self->cols [c].label);
    free (self->cols);
    free (self->bias);
    free (self->meta);
    free (self);
    *self_p = NULL;
}

char *
ih_model_path (const char *store_dir)
{
    char *p = NULL;
    if (asprintf (&p, "%s/model", store_dir) < 0)
        abort ();
    return p;
}

int64_t ih_model_trained_ms (const ih_model_t *self) { return self->trained_ms; }
size_t ih_model_alerts (const ih_model_t *self) { return self->alerts; }
const char *ih_model_meta_json (const ih_model_t *self) { return self->meta; }

/* ---- vectors --------------------------------------------------------------------------------- */

/*  A document's terms, hashed: the text's (ih_text_terms) and one per IOC type. */
typedef struct {
    uint64_t *h;
    size_t n, cap;
} s_hashes_t;

static int
s_on_term (const char *term, size_t len, void *arg)
{
    s_hashes_t *s = (s_hashes_t *) arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->h = (uint64_t *) realloc (s->h, s->cap * sizeof *s->h);
        if (!s->h)
            abort ();
    }
    s->h [s->n++] = ih_text_hash (term, len);
    return 0;
}

static void
s_doc_hashes (ih_text_t *t, const char *text, size_t len, uint32_t ioc_types, s_hashes_t *out)
{
    out->n = 0;
    ih_text_terms (t, text, len, s_on_term, out);
    for (int k = 0; k < IH_IOC_COUNT; k++)
        if (ioc_types & (1u << k)) {
            char term [32];
            snprintf (term, sizeof term, "ioc:%s", ih_ioc_type_name ((ih_ioc_type_t) k));
            s_on_term (term, strlen (term), out);
        }
}

static int
s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

/*  The TF-IDF vector of hashes h (n) as liblinear nodes (1-based indexes, then the bias
    node at nterms + 1, then -1): malloc'd. idx is scratch of n entries. */
static struct feature_node *
s_vector (const ih_u64map_t *vocab, const float *idf, uint32_t nterms, const uint64_t *h, size_t n, uint32_t *idx)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t *v = ih_u64map_get (vocab, h [i]);
        if (v)
            idx [k++] = *v - 1;
    }
    qsort (idx, k, sizeof *idx, s_cmp_u32);
    struct feature_node *x = (struct feature_node *) malloc ((k + 2) * sizeof *x);
    if (!x)
        abort ();
    size_t m = 0;
    double norm = 0;
    for (size_t i = 0; i < k; ) {
        size_t j = i;
        while (j < k && idx [j] == idx [i])
            j++;
        double w = (1 + log ((double) (j - i))) * idf [idx [i]];
        x [m++] = (struct feature_node) { (int) idx [i] + 1, w };
        norm += w * w;
        i = j;
    }
    norm = norm > 0 ? sqrt (norm) : 1;
    for (size_t i = 0; i < m; i++)
        x [i].value /= norm;
    x [m++] = (struct feature_node) { (int) nterms + 1, 1.0 };
    x [m] = (struct feature_node) { -1, 0 };
    return x;
}

/* ---- the vocabulary -------------------------------------------------------------------------- */

typedef struct {
    uint64_t h;
    uint32_t df;
} s_df_t;

static int
s_cmp_df (const void *a, const void *b)
{
    const s_df_t *x = (const s_df_t *) a, *y = (const s_df_t *) b;
    if (x->df != y->df)
        return x->df > y->df ? -1 : 1;
    return x->h < y->h ? -1 : x->h > y->h;
}

/*  Captures the text of the kept terms as a pass over the documents meets them. */
typedef struct {
    ih_model_t *m;
} s_names_t;

static int
s_on_name (const char *term, size_t len, void *arg)
{
    ih_model_t *m = ((s_names_t *) arg)->m;
    uint32_t *v = ih_u64map_get (&m->vocab, ih_text_hash (term, len));
    if (v && !m->terms [*v - 1])
        m->terms [*v - 1] = s_strdup (term);
    return 0;
}

/*  Builds m's vocabulary and idf from the used documents; their hashes are in dh. */
static void
s_vocabulary (ih_model_t *m, const ih_model_data_t *data, const size_t *use, size_t nuse, s_hashes_t *dh,
              ih_text_t *t)
{
    ih_u64map_t df;
    ih_u64map_init (&df, 1 << 16);
    ih_u64map_t once;
    ih_u64map_init (&once, 1024);
    for (size_t u = 0; u < nuse; u++) {
        //  Distinct terms of this document.
        ih_u64map_free (&once);
        ih_u64map_init (&once, dh [u].n + 1);
        for (size_t i = 0; i < dh [u].n; i++) {
            if (ih_u64map_get (&once, dh [u].h [i]))
                continue;
            ih_u64map_put (&once, dh [u].h [i], 1);
            (*ih_u64map_put (&df, dh [u].h [i], 0))++;
        }
    }
    ih_u64map_free (&once);
    uint32_t min_df = nuse >= 50 ? 2 : 1;
    s_df_t *all = (s_df_t *) malloc ((df.n + 1) * sizeof *all);
    if (!all)
        abort ();
    size_t n = 0;
    for (size_t i = 0; i < df.cap; i++)
        if (df.keys [i] && df.vals [i] >= min_df)
            all [n++] = (s_df_t) { df.keys [i], df.vals [i] };
    qsort (all, n, sizeof *all, s_cmp_df);
    if (n > IH_MODEL_MAX_TERMS)
        n = IH_MODEL_MAX_TERMS;
    m->nterms = (uint32_t) n;
    m->terms = (char **) calloc (n + 1, sizeof *m->terms);
    m->idf = (float *) malloc ((n + 1) * sizeof *m->idf);
    if (!m->terms || !m->idf)
        abort ();
    ih_u64map_init (&m->vocab, n + 1);
    for (size_t i = 0; i < n; i++) {
        ih_u64map_put (&m->vocab, all [i].h, (uint32_t) i + 1);
        m->idf [i] = (float) (log ((1.0 + (double) nuse) / (1.0 + all [i].df)) + 1.0);
    }
    free (all);
    ih_u64map_free (&df);
    //  The terms' text, for the file (the IOC-type terms are not in the documents' text).
    s_names_t names = { m };
    for (size_t u = 0; u < nuse && u < data->n; u++) {
        const ih_model_doc_t *d = &data->docs [use [u]];
        ih_text_terms (t, d->text, strlen (d->text), s_on_name, &names);
    }
    for (int k = 0; k < IH_IOC_COUNT; k++) {
        char term [32];
        snprintf (term, sizeof term, "ioc:%s", ih_ioc_type_name ((ih_ioc_type_t) k));
        s_on_name (term, strlen (term), &names);
    }
    for (uint32_t i = 0; i < m->nterms; i++)
        if (!m->terms [i])
            m->terms [i] = s_strdup ("");       //  a hash collision: harmless, never met
}

/* ---- the columns (labels) --------------------------------------------------------------------- */

typedef struct {
    const char *label;
    uint32_t count;
} s_count_t;

static int
s_cmp_count (const void *a, const void *b)
{
    const s_count_t *x = (const s_count_t *) a, *y = (const s_count_t *) b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp (x->label, y->label);
}

/*  Whether doc d has label of field f. */
static bool
s_doc_has (const ih_model_doc_t *d, ih_model_field_t f, const char *label)
{
    if (f == IH_MODEL_CATEGORY)
        return streq (ih_category_name ((ih_category_t) d->category), label);
    if (f == IH_MODEL_SEVERITY)
        return streq (ih_severity_name ((ih_severity_t) d->severity), label);
    char **l = f == IH_MODEL_SECTORS ? d->sectors : d->tags;
    size_t n = f == IH_MODEL_SECTORS ? d->nsectors : d->ntags;
    for (size_t i = 0; i < n; i++)
        if (streq (l [i], label))
            return true;
    return false;
}

static void
s_add_col (ih_model_t *m, const char *label, uint32_t count)
{
    m->cols = (ih_model_col_t *) realloc (m->cols, (m->ncols + 1) * sizeof *m->cols);
    if (!m->cols)
        abort ();
    m->cols [m->ncols++] = (ih_model_col_t) { s_strdup (label), IH_MODEL_DEFAULT_THRESHOLD, count, -1, 0, 1, 0 };
}

/*  The labels of each field: one-of fields every value present, any-of fields those seen
    IH_MODEL_MIN_LABEL times and not on every alert; most frequent first. */
static void
s_columns (ih_model_t *m, const ih_model_data_t *data, const size_t *use, size_t nuse)
{
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        zhashx_t *counts = zhashx_new ();
        for (size_t u = 0; u < nuse; u++) {
            const ih_model_doc_t *d = &data->docs [use [u]];
            const char *one [1];
            char **l = (char **) one;
            size_t n = 1;
            if (f == IH_MODEL_CATEGORY)
                one [0] = ih_category_name ((ih_category_t) d->category);
            else
            if (f == IH_MODEL_SEVERITY)
                one [0] = ih_severity_name ((ih_severity_t) d->severity);
            else {
                l = f == IH_MODEL_SECTORS ? d->sectors : d->tags;
                n = f == IH_MODEL_SECTORS ? d->nsectors : d->ntags;
            }
            for (size_t i = 0; i < n; i++) {
                if (i > 0 && f != IH_MODEL_CATEGORY && f != IH_MODEL_SEVERITY) {
                    bool dup = false;
                    for (size_t j = 0; j < i && !dup; j++)
                        dup = streq (l [j], l [i]);
                    if (dup)
                        continue;
                }
                uintptr_t c = (uintptr_t) zhashx_lookup (counts, l [i]);
                zhashx_update (counts, l [i], (void *) (c + 1));
            }
        }
        size_t n = zhashx_size (counts), k = 0;
        s_count_t *all = (s_count_t *) malloc ((n + 1) * sizeof *all);
        if (!all)
            abort ();
        for (void *c = zhashx_first (counts); c; c = zhashx_next (counts))
            all [k++] = (s_count_t) { (const char *) zhashx_cursor (counts), (uint32_t) (uintptr_t) c };
        qsort (all, k, sizeof *all, s_cmp_count);
        m->first [f] = m->ncols;
        bool one_of = s_one_of ((ih_model_field_t) f);
        for (size_t i = 0; i < k && m->ncols < 65535; i++)
            if (one_of ? k >= 2 : all [i].count >= IH_MODEL_MIN_LABEL && all [i].count < nuse)
                s_add_col (m, all [i].label, all [i].count);
        m->count [f] = m->ncols - m->first [f];
        free (all);
        zhashx_destroy (&counts);
    }
}

/* ---- liblinear -------------------------------------------------------------------------------- */

static void
s_quiet (const char *s)
{
    (void) s;
}

#define S_C         8.0
#define S_THREADS   4           /* at most, for the fits; fewer on fewer cores */

typedef struct {
    const ih_model_t *m;
    ih_model_field_t f;
    const ih_model_data_t *data;
    const size_t *rows;
    size_t n;
    struct feature_node **x;
    float **w;
    double C;
    uint32_t stride, start;         //  this worker fits columns start, start + stride, ...
} s_fit_t;

/*  Fits columns of one field, one binary problem each (for category and severity that
    is liblinear's own one-vs-rest, done here so that it spreads over the cores too). */
static void *
s_fit_columns (void *arg)
{
    const s_fit_t *j = (const s_fit_t *) arg;
    const ih_model_t *m = j->m;
    uint32_t first = m->first [j->f], count = m->count [j->f];
    double *y = (double *) malloc (j->n * sizeof *y);
    if (!y)
        abort ();
    struct problem prob = { (int) j->n, (int) m->nterms + 1, y, j->x, 1.0 };
    struct parameter param;
    memset (&param, 0, sizeof param);
    param.solver_type = L2R_LR;
    param.eps = 0.01;
    param.C = j->C;
    for (uint32_t c = j->start; c < count; c += j->stride) {
        memset (j->w [c], 0, (m->nterms + 1) * sizeof (float));
        size_t pos = 0;
        for (size_t i = 0; i < j->n; i++) {
            y [i] = s_doc_has (&j->data->docs [j->rows [i]], j->f, m->cols [first + c].label) ? 1 : -1;
            pos += y [i] > 0;
        }
        if (pos == 0 || pos == j->n) {
            j->w [c] [m->nterms] = pos ? 10.0f : -10.0f;
            continue;
        }
        struct model *mod = train (&prob, &param);
        int labels [2];
        get_labels (mod, labels);
        //  One weight vector, for the first label liblinear met: negated when that is -1.
        float sign = labels [0] == 1 ? 1.0f : -1.0f;
        for (uint32_t t = 0; t < m->nterms + 1; t++)
            j->w [c] [t] = sign * (float) get_decfun_coef (mod, (int) t + 1, 0);
        free_and_destroy_model (&mod);
    }
    free (y);
    return NULL;
}

/*  Fits field f's columns on the docs rows (n of them; x [i] is row i's vector) and
    writes each column's weights into w [col - first] (nterms + 1 floats, the bias
    last), on up to S_THREADS threads (columns are independent, so the weights do not
    depend on how many). Columns whose label is absent (or everywhere) in these rows get
    a constant. cscale scales C (s_cv_thresholds). */
static void
s_fit_field (const ih_model_t *m, ih_model_field_t f, const ih_model_data_t *data, const size_t *rows, size_t n,
             struct feature_node **x, float **w, double cscale)
{
    uint32_t count = m->count [f];
    if (count == 0 || n == 0)
        return;
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    uint32_t nt = cores < 1 ? 1 : cores > S_THREADS ? S_THREADS : (uint32_t) cores;
    if (nt > count)
        nt = count;
    s_fit_t jobs [S_THREADS];
    pthread_t threads [S_THREADS];
    bool started [S_THREADS] = { false };
    for (uint32_t t = 0; t < nt; t++) {
        jobs [t] = (s_fit_t) { m, f, data, rows, n, x, w, S_C * cscale, nt, t };
        if (t > 0)
            started [t] = pthread_create (&threads [t], NULL, s_fit_columns, &jobs [t]) == 0;
    }
    s_fit_columns (&jobs [0]);
    for (uint32_t t = 1; t < nt; t++)
        if (started [t])
            pthread_join (threads [t], NULL);
        else
            s_fit_columns (&jobs [t]);          //  no thread to be had: here, then
}

static double
s_sigmoid (double z)
{
    return 1.0 / (1.0 + exp (-z));
}

/*  Field f's n probabilities p scaled to sum to 1 when it is one-of. */
static void
s_sum_to_one (ih_model_field_t f, double *p, uint32_t n)
{
    if (!s_one_of (f))
        return;
    double sum = 0;
    for (uint32_t c = 0; c < n; c++)
        sum += p [c];
    if (sum > 0)
        for (uint32_t c = 0; c < n; c++)
            p [c] /= sum;
}

/*  Probabilities of field f's columns for vector x, from dense weights w (training). */
static void
s_probs_dense (const ih_model_t *m, ih_model_field_t f, float **w, const struct feature_node *x, double *p)
{
    uint32_t count = m->count [f];
    for (uint32_t c = 0; c < count; c++) {
        double z = 0;
        for (const struct feature_node *e = x; e->index != -1; e++)
            z += w [c] [e->index - 1] * e->value;
        p [c] = s_sigmoid (z);
    }
    s_sum_to_one (f, p, count);
}

/* ---- calibration and thresholds ---------------------------------------------------------------- */

static double
s_logit (double p)
{
    p = p < 1e-9 ? 1e-9 : p > 1 - 1e-9 ? 1 - 1e-9 : p;
    return log (p / (1 - p));
}

/*  log (1 + e^x), without overflow. */
static double
s_softplus (double x)
{
    return x > 0 ? x + log1p (exp (-x)) : log1p (exp (x));
}

static double
s_platt_loss (const double *sc, const bool *y, size_t n, double hi, double lo, double a, double b)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        double z = a * sc [i] + b, t = y [i] ? hi : lo;
        loss += t * s_softplus (-z) + (1 - t) * s_softplus (z);
    }
    return loss;
}

/*  Platt scaling: the a, b of p = sigmoid (a s + b) that fit the out-of-fold scores sc
    (logits) to the truth y best, with Platt's targets ((positives + 1) / (positives + 2)
    and 1 / (negatives + 2), so that a label seen a few times is not believed certain);
    Newton's method with backtracking (Lin, Lin and Weng, "A note on Platt's
    probabilistic outputs", 2007). A fit that would rank backwards (a < 0: noise) is
    flattened to the label's base rate. */
void
ih_model_platt (const double *sc, const bool *y, size_t n, double *a_out, double *b_out)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += y [i];
    double hi = (pos + 1.0) / (pos + 2.0), lo = 1.0 / ((double) (n - pos) + 2.0);
    double a = 1, b = 0, loss = s_platt_loss (sc, y, n, hi, lo, a, b);
    for (int it = 0; it < 100; it++) {
        double g1 = 0, g2 = 0, h11 = 1e-12, h22 = 1e-12, h21 = 0;
        for (size_t i = 0; i < n; i++) {
            double p = s_sigmoid (a * sc [i] + b), d1 = p - (y [i] ? hi : lo), d2 = p * (1 - p);
            g1 += sc [i] * d1;
            g2 += d1;
            h11 += sc [i] * sc [i] * d2;
            h22 += d2;
            h21 += sc [i] * d2;
        }
        if (fabs (g1) < 1e-5 && fabs (g2) < 1e-5)
            break;
        double det = h11 * h22 - h21 * h21;
        if (det <= 0)
            break;
        double da = -(h22 * g1 - h21 * g2) / det, db = -(h11 * g2 - h21 * g1) / det;
        double step = 1, gd = g1 * da + g2 * db;
        for (; step >= 1e-10; step /= 2) {
            double na = a + step * da, nb = b + step * db, nl = s_platt_loss (sc, y, n, hi, lo, na, nb);
            if (nl < loss + 1e-4 * step * gd) {
                a = na;
                b = nb;
                loss = nl;
                break;
            }
        }
        if (step < 1e-10)
            break;
    }
    if (!(a > 0) || !isfinite (b)) {
        a = 0;
        b = s_logit ((pos + 1.0) / ((double) n + 2.0));
    }
    *a_out = a;
    *b_out = b;
}

/*  Calibrates a text's raw probabilities p (every column, as s_probs_dense or
    s_predict_all give them) in place: each column's Platt sigmoid, then for a one-of
    field scaled to sum to 1. */
static void
s_calibrate (const ih_model_t *m, double *p)
{
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        for (uint32_t c = m->first [f]; c < m->first [f] + m->count [f]; c++)
            p [c] = s_sigmoid (m->cols [c].pa * s_logit (p [c]) + m->cols [c].pb);
        s_sum_to_one ((ih_model_field_t) f, p + m->first [f], m->count [f]);
    }
}

typedef struct {
    double p;
    bool pos;
} ih_model_pp_t;

static int
s_cmp_pp (const void *a, const void *b)
{
    double x = ((const ih_model_pp_t *) a)->p, y = ((const ih_model_pp_t *) b)->p;
    return x > y ? -1 : x < y;
}

/*  Wilson's lower bound on the proportion k/n at z standard deviations (one-sided). */
static double
s_wilson_lb (double k, double n, double z)
{
    if (n <= 0)
        return 0;
    double p = k / n, z2 = z * z;
    return (p + z2 / (2 * n) - z * sqrt (p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

/*  The lowest cut from which the suggestions (p >= it) among pp (n of them, sorted
    here, highest first) are right IH_MODEL_PRECISION of the time with
    IH_MODEL_CONFIDENCE: Wilson's lower bound, not the raw proportion, reaches it. With a
    handful of examples the best-looking cut is luck (the raw proportion over at least 3
    suggestions chose cuts whose suggestions were right 65 % of the time on held-out
    source documents). Returns -1 when no cut gets there; else *prec and *support are
    the raw precision and the number of suggestions from the cut. */
static double
s_cut (ih_model_pp_t *pp, size_t n, double *prec, uint32_t *support)
{
    qsort (pp, n, sizeof *pp, s_cmp_pp);
    double cut = -1;
    size_t tp = 0;
    for (size_t i = 0; i < n; i++) {
        tp += pp [i].pos;
        if (i + 1 < n && pp [i + 1].p == pp [i].p)
            continue;                   //  cut only between distinct probabilities
        if (s_wilson_lb ((double) tp, (double) (i + 1), IH_MODEL_CONFIDENCE_Z) >= IH_MODEL_PRECISION) {
            cut = pp [i].p;
            *prec = (double) tp / (double) (i + 1);
            *support = (uint32_t) (i + 1);
        }
    }
    return cut;
}

/*  Column col's threshold from its out-of-fold (calibrated probability, right) pairs,
    those it was suggested in. For a one-of field (category, severity) the suggestion is
    one decision, the top candidate, so a value that does not reach the target on its
    own takes the field's pooled cut (pooled >= 0), unless its own suggestions above
    that are right less than IH_MODEL_PRECISION of the time. */
static void
s_threshold (ih_model_pp_t *pp, size_t n, ih_model_col_t *col, double pooled)
{
    col->threshold = IH_MODEL_DEFAULT_THRESHOLD;
    col->cv_precision = -1;
    col->cv_support = 0;
    double prec = 0;
    uint32_t support = 0;
    double cut = s_cut (pp, n, &prec, &support);
    if (cut >= 0) {
        col->threshold = cut;
        col->cv_precision = prec;
        col->cv_support = support;
        return;
    }
    if (pooled < 0)
        return;
    size_t above = 0, tp = 0;
    for (size_t i = 0; i < n && pp [i].p >= pooled; i++) {
        above++;
        tp += pp [i].pos;
    }
    if (above == 0 || (double) tp / (double) above >= IH_MODEL_PRECISION) {
        col->threshold = pooled;
        if (above) {
            col->cv_precision = (double) tp / (double) above;
            col->cv_support = (uint32_t) above;
        }
    }
}

/* ---- training ----------------------------------------------------------------------------------- */

static float **
s_dense (const ih_model_t *m, ih_model_field_t f)
{
    float **w = (float **) calloc (m->count [f] + 1, sizeof *w);
    if (!w)
        abort ();
    for (uint32_t c = 0; c < m->count [f]; c++) {
        w [c] = (float *) calloc (m->nterms + 1, sizeof (float));
        if (!w [c])
            abort ();
    }
    return w;
}

static void
s_dense_free (float **w, uint32_t count)
{
    for (uint32_t c = 0; w && c < count; c++)
        free (w [c]);
    free (w);
}

/*  Vector x without the terms of df below min_df, scaled to length 1 again: malloc'd. */
static struct feature_node *
s_fold_vector (const struct feature_node *x, const uint32_t *df, uint32_t nterms, uint32_t min_df)
{
    size_t n = 0;
    while (x [n].index != -1)
        n++;
    struct feature_node *y = (struct feature_node *) malloc ((n + 1) * sizeof *y);
    if (!y)
        abort ();
    size_t m = 0;
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        if ((uint32_t) x [i].index <= nterms) {
            if (df [x [i].index - 1] < min_df)
                continue;
            norm += x [i].value * x [i].value;
        }
        y [m++] = x [i];
    }
    norm = norm > 0 ? sqrt (norm) : 1;
    for (size_t i = 0; i < m; i++)
        if ((uint32_t) y [i].index <= nterms)
            y [i].value /= norm;
    y [m] = (struct feature_node) { -1, 0 };
    return y;
}

/*  Calibration and thresholds from k folds of whole groups over (a sample of) the used
    rows: every column's out-of-fold probabilities, their Platt sigmoid (ih_model_platt), then
    on the calibrated probabilities each column's threshold (s_threshold). */
static void
s_cv_thresholds (ih_model_t *m, const ih_model_data_t *data, const size_t *use, size_t nuse,
                 struct feature_node **x)
{
    //  A sample when there are many rows (every step-th), and its source documents.
    size_t step = nuse > IH_MODEL_CV_MAX ? (nuse + IH_MODEL_CV_MAX - 1) / IH_MODEL_CV_MAX : 1;
    size_t ns = (nuse + step - 1) / step;
    ih_model_data_t view = { (ih_model_doc_t *) malloc ((ns ? ns : 1) * sizeof (ih_model_doc_t)), ns, ns };
    if (!view.docs)
        abort ();
    for (size_t i = 0; i < ns; i++)
        view.docs [i] = data->docs [use [i * step]];
    int *group = NULL;
    size_t ngroups = ih_model_groups (&view, &group);
    free (view.docs);
    int k = ns > 1000 ? 3 : 5;
    if ((int) ngroups < k)
        k = (int) ngroups;
    if (k < 2 || m->ncols == 0) {
        free (group);
        return;
    }
    size_t nc = m->ncols;
    size_t *train_rows = (size_t *) malloc (ns * sizeof *train_rows);
    struct feature_node **tx = (struct feature_node **) malloc (ns * sizeof *tx);
    double *oof = (double *) malloc (ns * nc * sizeof *oof);       //  row i's column c: [i * nc + c]
    bool *truth = (bool *) malloc (ns * nc * sizeof *truth);
    if (!train_rows || !tx || !oof || !truth)
        abort ();
    for (size_t i = 0; i < ns; i++)
        for (int f = 0; f < IH_MODEL_FIELDS; f++)
            for (uint32_t c = m->first [f]; c < m->first [f] + m->count [f]; c++)
                truth [i * nc + c] = s_doc_has (&data->docs [use [i * step]], (ih_model_field_t) f, m->cols [c].label);
    uint32_t *df = (uint32_t *) malloc ((m->nterms + 1) * sizeof *df);
    struct feature_node **fx = (struct feature_node **) calloc (ns, sizeof *fx);
    if (!df || !fx)
        abort ();
    for (int fold = 0; fold < k; fold++) {
        //  The fold's vectors: without the terms the fold's own vocabulary would not have
        //  (fewer than 2 of its training alerts), as the final model has not those of
        //  the alerts it is later asked about. Else a term met in one training alert and
        //  one held-out alert, the most telling kind, would flatter the folds.
        size_t nt = 0;
        memset (df, 0, (m->nterms + 1) * sizeof *df);
        for (size_t i = 0; i < ns; i++)
            if (group [i] % k != fold) {
                train_rows [nt++] = use [i * step];
                for (const struct feature_node *e = x [i * step]; e->index != -1; e++)
                    if ((uint32_t) e->index <= m->nterms)
                        df [e->index - 1]++;
            }
        uint32_t min_df = step == 1 && nt >= 50 ? 2 : 1;
        nt = 0;
        for (size_t i = 0; i < ns; i++) {
            fx [i] = s_fold_vector (x [i * step], df, m->nterms, min_df);
            if (group [i] % k != fold)
                tx [nt++] = fx [i];
        }
        for (int f = 0; f < IH_MODEL_FIELDS; f++) {
            if (m->count [f] == 0)
                continue;
            float **w = s_dense (m, (ih_model_field_t) f);
            //  C scaled as if the fold had the sample's rows: liblinear's C weighs the sum
            //  of the losses, so a fold's model with fewer rows would be regularised
            //  harder, less confident than the final one, and calibrated for another.
            s_fit_field (m, (ih_model_field_t) f, data, train_rows, nt, tx, w, (double) ns / (double) nt);
            for (size_t i = 0; i < ns; i++)
                if (group [i] % k == fold)
                    s_probs_dense (m, (ih_model_field_t) f, w, fx [i], oof + i * nc + m->first [f]);
            s_dense_free (w, m->count [f]);
        }
        for (size_t i = 0; i < ns; i++)
            free (fx [i]);
    }
    free (fx);
    free (df);
    //  Each column's sigmoid, then every row calibrated.
    double *sc = (double *) malloc (ns * sizeof *sc);
    bool *y = (bool *) malloc (ns * sizeof *y);
    if (!sc || !y)
        abort ();
    for (size_t c = 0; c < nc; c++) {
        for (size_t i = 0; i < ns; i++) {
            sc [i] = s_logit (oof [i * nc + c]);
            y [i] = truth [i * nc + c];
        }
        ih_model_platt (sc, y, ns, &m->cols [c].pa, &m->cols [c].pb);
    }
    free (sc);
    free (y);
    for (size_t i = 0; i < ns; i++)
        s_calibrate (m, oof + i * nc);
    //  Thresholds: any-of fields from every row, one-of fields from the rows whose top
    //  candidate the column is (and a cut pooled over those of all the field's values).
    ih_model_pp_t *pp = (ih_model_pp_t *) malloc (ns * sizeof *pp);
    ih_model_pp_t *all = (ih_model_pp_t *) malloc (ns * sizeof *all);
    uint32_t *top = (uint32_t *) malloc (ns * sizeof *top);
    if (!pp || !all || !top)
        abort ();
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        uint32_t first = m->first [f], last = first + m->count [f];
        bool one_of = s_one_of ((ih_model_field_t) f);
        double pooled = -1;
        if (one_of && last > first) {
            for (size_t i = 0; i < ns; i++) {
                top [i] = first;
                for (uint32_t c = first + 1; c < last; c++)
                    if (oof [i * nc + c] > oof [i * nc + top [i]])
                        top [i] = c;
                all [i] = (ih_model_pp_t) { oof [i * nc + top [i]], truth [i * nc + top [i]] };
            }
            double prec;
            uint32_t support;
            pooled = s_cut (all, ns, &prec, &support);
        }
        for (uint32_t c = first; c < last; c++) {
            size_t n = 0;
            for (size_t i = 0; i < ns; i++)
                if (!one_of || top [i] == c)
                    pp [n++] = (ih_model_pp_t) { oof [i * nc + c], truth [i * nc + c] };
            s_threshold (pp, n, &m->cols [c], pooled);
        }
    }
    free (pp);
    free (all);
    free (top);
    free (oof);
    free (truth);
    free (train_rows);
    free (tx);
    free (group);
}

/*  The metadata of a model, as JSON. */
static void
s_meta (ih_model_t *m)
{
    json_t *j = json_pack ("{s:I, s:I, s:i, s:i, s:I, s:f, s:f, s:f, s:i}", "trained_ms", (json_int_t) m->trained_ms,
                           "alerts", (json_int_t) m->alerts, "format", IH_MODEL_FORMAT,
                           "text_version", IH_TEXT_VERSION, "terms", (json_int_t) m->nterms,
                           "precision_target", IH_MODEL_PRECISION, "confidence", IH_MODEL_CONFIDENCE, "default_threshold",
                           IH_MODEL_DEFAULT_THRESHOLD, "min_label", IH_MODEL_MIN_LABEL);
    json_t *cats = json_array (), *sevs = json_array ();
    for (int c = 0; c < IH_CAT_COUNT; c++)
        json_array_append_new (cats, json_string (ih_category_name ((ih_category_t) c)));
    for (int c = 0; c < IH_SEV_COUNT; c++)
        json_array_append_new (sevs, json_string (ih_severity_name ((ih_severity_t) c)));
    json_object_set_new (j, "categories", cats);
    json_object_set_new (j, "severities", sevs);
    json_t *fields = json_object ();
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        json_t *labels = json_array ();
        for (uint32_t c = m->first [f]; c < m->first [f] + m->count [f]; c++) {
            const ih_model_col_t *col = &m->cols [c];
            json_t *one = json_pack ("{s:s, s:i, s:f, s:[f, f]}", "label", col->label, "count", (int) col->count,
                                     "threshold", round (col->threshold * 1e4) / 1e4, "calibration", col->pa,
                                     col->pb);
            if (col->cv_precision >= 0) {
                json_object_set_new (one, "cv_precision", json_real (round (col->cv_precision * 1e4) / 1e4));
                json_object_set_new (one, "cv_suggestions", json_integer (col->cv_support));
            }
            json_array_append_new (labels, one);
        }
        json_object_set_new (fields, s_field_names [f], labels);
    }
    json_object_set_new (j, "fields", fields);
    free (m->meta);
    m->meta = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
    json_decref (j);
    if (!m->meta)
        abort ();
}

ih_model_t *
ih_model_train (const ih_model_data_t *data, const size_t *use, size_t nuse, ih_err_t *err)
{
    size_t *all = NULL;
    if (!use) {
        nuse = data->n;
        all = (size_t *) malloc ((nuse ? nuse : 1) * sizeof *all);
        if (!all)
            abort ();
        for (size_t i = 0; i < nuse; i++)
            all [i] = i;
        use = all;
    }
    if (nuse < IH_MODEL_MIN_ALERTS) {
        free (all);
        ih_err_set (err, "model: %zu %s too few to train on (at least %d)", nuse,
                    nuse == 1 ? "alert is" : "alerts are", IH_MODEL_MIN_ALERTS);
        return NULL;
    }
    set_print_string_function (s_quiet);
    ih_model_t *m = (ih_model_t *) calloc (1, sizeof *m);
    ih_text_t *t = ih_text_new ();
    if (!m || !t)
        abort ();
    m->trained_ms = ih_now_ms ();
    m->alerts = nuse;
    //  Terms, the vocabulary, the vectors.
    s_hashes_t *dh = (s_hashes_t *) calloc (nuse, sizeof *dh);
    if (!dh)
        abort ();
    for (size_t u = 0; u < nuse; u++) {
        const ih_model_doc_t *d = &data->docs [use [u]];
        s_doc_hashes (t, d->text, strlen (d->text), d->ioc_types, &dh [u]);
    }
    s_vocabulary (m, data, use, nuse, dh, t);
    struct feature_node **x = (struct feature_node **) malloc (nuse * sizeof *x);
    if (!x)
        abort ();
    size_t scratch_n = 0;
    for (size_t u = 0; u < nuse; u++)
        scratch_n = dh [u].n > scratch_n ? dh [u].n : scratch_n;
    uint32_t *scratch = (uint32_t *) malloc ((scratch_n + 1) * sizeof *scratch);
    if (!scratch)
        abort ();
    for (size_t u = 0; u < nuse; u++) {
        x [u] = s_vector (&m->vocab, m->idf, m->nterms, dh [u].h, dh [u].n, scratch);
        free (dh [u].h);
    }
    free (scratch);
    free (dh);
    //  Labels, thresholds, then the final fit on every row.
    s_columns (m, data, use, nuse);
    s_cv_thresholds (m, data, use, nuse, x);
    float **w [IH_MODEL_FIELDS];
    size_t nnz = 0;
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        w [f] = s_dense (m, (ih_model_field_t) f);
        s_fit_field (m, (ih_model_field_t) f, data, use, nuse, x, w [f], 1.0);
        for (uint32_t c = 0; c < m->count [f]; c++)
            for (uint32_t j = 0; j < m->nterms; j++)
                nnz += fabsf (w [f] [c] [j]) >= 1e-4f;
    }
    //  Weights by term (what a prediction reads), the negligible ones left out.
    m->woff = (uint32_t *) calloc (m->nterms + 1, sizeof *m->woff);
    m->wcol = (uint16_t *) malloc ((nnz + 1) * sizeof *m->wcol);
    m->wval = (float *) malloc ((nnz + 1) * sizeof *m->wval);
    m->bias = (float *) calloc (m->ncols + 1, sizeof *m->bias);
    if (!m->woff || !m->wcol || !m->wval || !m->bias)
        abort ();
    size_t k = 0;
    for (uint32_t j = 0; j < m->nterms; j++) {
        m->woff [j] = (uint32_t) k;
        for (int f = 0; f < IH_MODEL_FIELDS; f++)
            for (uint32_t c = 0; c < m->count [f]; c++)
                if (fabsf (w [f] [c] [j]) >= 1e-4f) {
                    m->wcol [k] = (uint16_t) (m->first [f] + c);
                    m->wval [k++] = w [f] [c] [j];
                }
    }
    m->woff [m->nterms] = (uint32_t) k;
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        for (uint32_t c = 0; c < m->count [f]; c++)
            m->bias [m->first [f] + c] = w [f] [c] [m->nterms];
        s_dense_free (w [f], m->count [f]);
    }
    for (size_t u = 0; u < nuse; u++)
        free (x [u]);
    free (x);
    free (all);
    ih_text_destroy (&t);
    s_meta (m);
    return m;
}

/* ---- prediction ------------------------------------------------------------------------------- */

/*  Every column's probability for a text. p has ncols entries. Returns how many of the
    text's terms the model knows. */
static size_t
s_predict_all (const ih_model_t *m, ih_text_t *t, const char *text, size_t len, uint32_t ioc_types, double *p)
{
    s_hashes_t h = { NULL, 0, 0 };
    s_doc_hashes (t, text, len, ioc_types, &h);
    uint32_t *scratch = (uint32_t *) malloc ((h.n + 1) * sizeof *scratch);
    if (!scratch)
        abort ();
    struct feature_node *x = s_vector (&m->vocab, m->idf, m->nterms, h.h, h.n, scratch);
    free (scratch);
    free (h.h);
    double *z = p;
    size_t known = 0;
    for (uint32_t c = 0; c < m->ncols; c++)
        z [c] = m->bias [c];
    for (const struct feature_node *e = x; e->index != -1; e++) {
        uint32_t j = (uint32_t) e->index - 1;
        if (j >= m->nterms)
            continue;
        known++;
        for (uint32_t k = m->woff [j]; k < m->woff [j + 1]; k++)
            z [m->wcol [k]] += m->wval [k] * e->value;
    }
    free (x);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        for (uint32_t c = m->first [f]; c < m->first [f] + m->count [f]; c++)
            p [c] = s_sigmoid (z [c]);
        s_sum_to_one ((ih_model_field_t) f, p + m->first [f], m->count [f]);
    }
    s_calibrate (m, p);
    return known;
}

void
ih_model_predict (const ih_model_t *self, ih_text_t *t, const char *text, size_t len, uint32_t ioc_types,
                  ih_model_prediction_t *out)
{
    memset (out, 0, sizeof *out);
    double *p = (double *) malloc ((self->ncols + 1) * sizeof *p);
    if (!p)
        abort ();
    //  A text without a term the model knows gets the priors, and no suggestion: the
    //  model has nothing to stand behind.
    bool known = s_predict_all (self, t, text, len, ioc_types, p) > 0;
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        //  The top IH_MODEL_TOP by probability (a few passes: fields are small).
        bool *used = (bool *) calloc (self->count [f] + 1, sizeof *used);
        if (!used)
            abort ();
        for (size_t r = 0; r < IH_MODEL_TOP && r < self->count [f]; r++) {
            uint32_t best = UINT32_MAX;
            for (uint32_t c = self->first [f]; c < self->first [f] + self->count [f]; c++)
                if (!used [c - self->first [f]] && (best == UINT32_MAX || p [c] > p [best]))
                    best = c;
            if (best == UINT32_MAX)
                break;
            used [best - self->first [f]] = true;
            ih_model_guess_t *g = &out->top [f] [out->ntop [f]++];
            g->label = self->cols [best].label;
            g->p = p [best];
            g->threshold = self->cols [best].threshold;
            bool one_of = s_one_of ((ih_model_field_t) f);
            g->suggested = known && p [best] >= g->threshold && (!one_of || r == 0);
        }
        free (used);
    }
    free (p);
}

bool
ih_model_scores (const ih_model_t *self, ih_text_t *t, const char *text, size_t len, uint32_t ioc_types,
                 double *p [IH_MODEL_FIELDS], size_t max)
{
    double *all = (double *) malloc ((self->ncols + 1) * sizeof *all);
    if (!all)
        abort ();
    bool known = s_predict_all (self, t, text, len, ioc_types, all) > 0;
    for (int f = 0; f < IH_MODEL_FIELDS; f++)
        memcpy (p [f], all + self->first [f], (self->count [f] < max ? self->count [f] : max) * sizeof *all);
    free (all);
    return known;
}

size_t
ih_model_labels (const ih_model_t *self, ih_model_field_t f, const char **names, double *thresholds, size_t max)
{
    size_t n = self->count [f] < max ? self->count [f] : max;
    for (size_t c = 0; c < n; c++) {
        if (names)
            names [c] = self->cols [self->first [f] + c].label;
        if (thresholds)
            thresholds [c] = self->cols [self->first [f] + c].threshold;
    }
    return n;
}

/*  ih_model_file.c: the model's file (ih_model.h "THE FILE"): saving atomically, loading
    with every length checked and a stale model refused; and the model's self-test. */
#include <czmq.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>

#include "ih_model.h"
#include "ih_model_int.h"

static const char s_magic [8] = "IHMODEL";     /* with its NUL: 8 bytes */

static void
s_put32 (ih_buf_t *b, uint32_t v)
{
    uint8_t p [4];
    ih_put_le32 (p, v);
    ih_buf_append (b, p, 4);
}

static void
s_putf (ih_buf_t *b, float f)
{
    uint32_t v;
    memcpy (&v, &f, 4);
    s_put32 (b, v);
}

static void
s_put16 (ih_buf_t *b, uint16_t v)
{
    uint8_t p [2];
    ih_put_le16 (p, v);
    ih_buf_append (b, p, 2);
}

int
ih_model_save (const ih_model_t *self, const char *path, ih_err_t *err)
{
    ih_buf_t b;
    ih_buf_init (&b);
    ih_buf_append (&b, s_magic, 8);
    s_put32 (&b, IH_MODEL_FORMAT);
    s_put32 (&b, (uint32_t) strlen (self->meta));
    ih_buf_append (&b, self->meta, strlen (self->meta));
    s_put32 (&b, self->nterms);
    for (uint32_t j = 0; j < self->nterms; j++) {
        size_t tl = strlen (self->terms [j]);
        s_put16 (&b, (uint16_t) tl);
        ih_buf_append (&b, self->terms [j], tl);
        s_putf (&b, self->idf [j]);
        uint32_t n = self->woff [j + 1] - self->woff [j];
        s_put16 (&b, (uint16_t) n);
        for (uint32_t k = self->woff [j]; k < self->woff [j + 1]; k++) {
            s_put16 (&b, self->wcol [k]);
            s_putf (&b, self->wval [k]);
        }
    }
    s_put32 (&b, self->ncols);
    for (uint32_t c = 0; c < self->ncols; c++)
        s_putf (&b, self->bias [c]);
    char tmp [4200];
    if (!ih_fmt (tmp, sizeof tmp, "%s.tmp", path)) {
        ih_buf_free (&b);
        return ih_err_set (err, "model: path '%s' is too long", path);
    }
    //  0600, as the store: the vocabulary holds words of AMBER and RED alerts.
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen (fd, "wb") : NULL;
    if (fd >= 0 && !f)
        close (fd);
    bool ok = f && fchmod (fd, 0600) == 0 && fwrite (b.data, 1, b.len, f) == b.len && fflush (f) == 0
           && fsync (fileno (f)) == 0;
    int e = errno;
    if (f && fclose (f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    ih_buf_free (&b);
    if (!ok || rename (tmp, path) != 0) {
        e = ok ? errno : e;
        unlink (tmp);
        return ih_err_set (err, "model: cannot write %s: %s", path, strerror (e));
    }
    return 0;
}

/* ---- loading ---------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} s_rd_t;

static const uint8_t *
s_take (s_rd_t *r, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t
s_get32 (s_rd_t *r)
{
    const uint8_t *p = s_take (r, 4);
    return p ? ih_get_le32 (p) : 0;
}

static uint16_t
s_get16 (s_rd_t *r)
{
    const uint8_t *p = s_take (r, 2);
    return p ? ih_get_le16 (p) : 0;
}

static float
s_getf (s_rd_t *r)
{
    uint32_t v = s_get32 (r);
    float f;
    memcpy (&f, &v, 4);
    return f;
}

/*  Whether the metadata's names list equals the program's (n names from name (i)). */
static bool
s_same_names (json_t *list, int n, const char *(*name) (int))
{
    if (!json_is_array (list) || json_array_size (list) != (size_t) n)
        return false;
    for (int i = 0; i < n; i++)
        if (!json_is_string (json_array_get (list, (size_t) i))
        ||  !streq (json_string_value (json_array_get (list, (size_t) i)), name (i)))
            return false;
    return true;
}

static const char *
s_cat_name (int i)
{
    return ih_category_name ((ih_category_t) i);
}

static const char *
s_sev_name (int i)
{
    return ih_severity_name ((ih_severity_t) i);
}

/*  The columns from the metadata's fields. Returns 0, or -1 with why. */
static int
s_load_cols (ih_model_t *m, json_t *meta, const char **why)
{
    json_t *fields = json_object_get (meta, "fields");
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        json_t *labels = json_object_get (fields, ih_model_field_name ((ih_model_field_t) f));
        if (!json_is_array (labels)) {
            *why = "no labels";
            return -1;
        }
        m->first [f] = m->ncols;
        size_t i;
        json_t *one;
        json_array_foreach (labels, i, one) {
            const char *label = json_string_value (json_object_get (one, "label"));
            if (!label || m->ncols >= 65535) {
                *why = "a label without a name";
                return -1;
            }
            m->cols = (ih_model_col_t *) realloc (m->cols, (m->ncols + 1) * sizeof *m->cols);
            char *dup = strdup (label);
            if (!m->cols || !dup)
                abort ();
            json_t *prec = json_object_get (one, "cv_precision");
            json_t *cal = json_object_get (one, "calibration");
            if (json_array_size (cal) != 2 || !json_is_number (json_array_get (cal, 0))
            ||  !json_is_number (json_array_get (cal, 1))) {
                free (dup);
                *why = "a label without its calibration";
                return -1;
            }
            m->cols [m->ncols++] = (ih_model_col_t) {
                dup, json_number_value (json_object_get (one, "threshold")),
                (uint32_t) json_integer_value (json_object_get (one, "count")),
                prec ? json_number_value (prec) : -1,
                (uint32_t) json_integer_value (json_object_get (one, "cv_suggestions")),
                json_number_value (json_array_get (cal, 0)), json_number_value (json_array_get (cal, 1)) };
        }
        m->count [f] = m->ncols - m->first [f];
    }
    return 0;
}

ih_model_t *
ih_model_load (const char *path, ih_err_t *err)
{
    ih_err_t rerr;
    size_t len = 0;
    if (access (path, F_OK) != 0) {
        ih_err_set (err, "no model yet");
        return NULL;
    }
    char *data = ih_file_read (path, (size_t) 1 << 30, &len, &rerr);
    if (!data) {
        ih_err_set (err, "model: %s", rerr.msg);
        return NULL;
    }
    ih_model_t *m = ih_model_from_bytes (data, len, path, err);
    free (data);
    return m;
}

ih_model_t *
ih_model_from_bytes (const char *data, size_t len, const char *path, ih_err_t *err)
{
    s_rd_t r = { (const uint8_t *) data, len, false };
    const char *why = NULL;
    ih_model_t *m = (ih_model_t *) calloc (1, sizeof *m);
    json_t *meta = NULL;
    if (!m)
        abort ();
    const uint8_t *magic = s_take (&r, 8);
    uint32_t format = s_get32 (&r);
    if (!magic || memcmp (magic, s_magic, 8) != 0)
        why = "not a model file";
    else
    if (format != IH_MODEL_FORMAT)
        why = "another format";
    uint32_t mlen = why ? 0 : s_get32 (&r);
    const uint8_t *mtext = why ? NULL : s_take (&r, mlen);
    if (!why && mtext) {
        json_error_t jerr;
        meta = json_loadb ((const char *) mtext, mlen, 0, &jerr);
        if (!meta)
            why = "unreadable metadata";
        else
        if (json_integer_value (json_object_get (meta, "text_version")) != IH_TEXT_VERSION)
            why = "another text version";
        else
        if (!s_same_names (json_object_get (meta, "categories"), IH_CAT_COUNT, s_cat_name)
        ||  !s_same_names (json_object_get (meta, "severities"), IH_SEV_COUNT, s_sev_name))
            why = "trained on another set of categories or severities";
        else {
            m->meta = strndup ((const char *) mtext, mlen);
            m->trained_ms = (int64_t) json_integer_value (json_object_get (meta, "trained_ms"));
            m->alerts = (size_t) json_integer_value (json_object_get (meta, "alerts"));
            if (!m->meta)
                abort ();
            if (s_load_cols (m, meta, &why) == 0) {
                m->nterms = s_get32 (&r);
                if (m->nterms > IH_MODEL_MAX_TERMS * 4 || m->nterms > len)
                    r.bad = true;
            }
        }
    }
    if (!why && !r.bad) {
        m->terms = (char **) calloc (m->nterms + 1, sizeof *m->terms);
        m->idf = (float *) malloc ((m->nterms + 1) * sizeof *m->idf);
        m->woff = (uint32_t *) calloc (m->nterms + 1, sizeof *m->woff);
        ih_buf_t cols, vals;
        ih_buf_init (&cols);
        ih_buf_init (&vals);
        if (!m->terms || !m->idf || !m->woff)
            abort ();
        ih_u64map_init (&m->vocab, m->nterms + 1);
        size_t k = 0;
        for (uint32_t j = 0; j < m->nterms && !r.bad; j++) {
            uint16_t tl = s_get16 (&r);
            const uint8_t *t = s_take (&r, tl);
            m->terms [j] = t ? strndup ((const char *) t, tl) : strdup ("");
            if (!m->terms [j])
                abort ();
            m->idf [j] = s_getf (&r);
            if (!isfinite (m->idf [j]))
                r.bad = true;           //  a flipped bit: NaN would reach every answer
            ih_u64map_put (&m->vocab, ih_text_hash (m->terms [j], strlen (m->terms [j])), j + 1);
            m->woff [j] = (uint32_t) k;
            uint16_t n = s_get16 (&r);
            for (uint16_t i = 0; i < n && !r.bad; i++) {
                uint16_t col = s_get16 (&r);
                float w = s_getf (&r);
                if (col >= m->ncols || !isfinite (w))
                    r.bad = true;
                ih_buf_append (&cols, &col, sizeof col);
                ih_buf_append (&vals, &w, sizeof w);
                k++;
            }
        }
        m->woff [m->nterms] = (uint32_t) k;
        m->wcol = (uint16_t *) malloc ((k + 1) * sizeof *m->wcol);
        m->wval = (float *) malloc ((k + 1) * sizeof *m->wval);
        if (!m->wcol || !m->wval)
            abort ();
        if (k) {
            memcpy (m->wcol, cols.data, k * sizeof *m->wcol);
            memcpy (m->wval, vals.data, k * sizeof *m->wval);
        }
        ih_buf_free (&cols);
        ih_buf_free (&vals);
        if (!r.bad && s_get32 (&r) != m->ncols)
            r.bad = true;
        m->bias = (float *) calloc (m->ncols + 1, sizeof *m->bias);
        if (!m->bias)
            abort ();
        for (uint32_t c = 0; c < m->ncols && !r.bad; c++) {
            m->bias [c] = s_getf (&r);
            if (!isfinite (m->bias [c]))
                r.bad = true;
        }
        if (r.left)
            r.bad = true;
    }
    json_decref (meta);
    if (why || r.bad) {
        if (why && (streq (why, "another format") || streq (why, "another text version")
                    || strstr (why, "categories")))
            ih_err_set (err, "model %s is stale: %s; `model train` makes a new one", path, why);
        else
            ih_err_set (err, "model %s: %s", path, why ? why : "truncated or corrupt");
        ih_model_destroy (&m);
        return NULL;
    }
    return m;
}

int
ih_model_peek (const char *path, size_t *alerts, int64_t *trained_ms)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return 0;
    uint8_t head [16];
    int ok = 0;
    if (fread (head, 1, 16, f) == 16 && memcmp (head, s_magic, 8) == 0
    &&  ih_get_le32 (head + 8) == IH_MODEL_FORMAT && ih_get_le32 (head + 12) < (1u << 24)) {
        uint32_t mlen = ih_get_le32 (head + 12);
        char *meta = (char *) malloc (mlen + 1);
        if (!meta)
            abort ();
        json_error_t jerr;
        json_t *j = fread (meta, 1, mlen, f) == mlen ? json_loadb (meta, mlen, 0, &jerr) : NULL;
        if (j && json_integer_value (json_object_get (j, "text_version")) == IH_TEXT_VERSION
        &&  s_same_names (json_object_get (j, "categories"), IH_CAT_COUNT, s_cat_name)
        &&  s_same_names (json_object_get (j, "severities"), IH_SEV_COUNT, s_sev_name)) {
            ok = 1;
            if (alerts)
                *alerts = (size_t) json_integer_value (json_object_get (j, "alerts"));
            if (trained_ms)
                *trained_ms = (int64_t) json_integer_value (json_object_get (j, "trained_ms"));
        }
        json_decref (j);
        free (meta);
    }
    fclose (f);
    return ok;
}

bool
ih_model_changed (const ih_model_t *self, const char *path)
{
    int64_t trained = 0;
    if (!ih_model_peek (path, NULL, &trained))
        return false;
    return !self || trained != self->trained_ms;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

/*  A synthetic training set: three kinds of text, labelled by what they say. */
static void
s_tdata (ih_model_data_t *data, int n)
{
    static const char *kinds [3][2] = {
        { "Ransomware encrypted the file servers; ransom note left, shadow copies deleted", "ransomware" },
        { "Phishing e-mails with a credential harvesting page imitate the bank login", "phishing" },
        { "DDoS: a volumetric flood of 80 Gbps from reflectors hit the web portal", "ddos" },
    };
    static const char *fill [] = { "overnight", "on Monday", "at several members", "again", "in Hong Kong",
                                   "釣魚電郵", "勒索软件", "this week" };
    for (int i = 0; i < n; i++) {
        ih_msg_t m;
        ih_msg_init (&m, IH_KIND_ALERT);
        ih_uuid_new (m.id);
        int k = i % 3;
        char title [128], summary [256];
        snprintf (title, sizeof title, "Alert %d", i);
        snprintf (summary, sizeof summary, "%s %s %s.", kinds [k][0], fill [i % 8], fill [(i / 3) % 8]);
        m.title = ih_msg_str (&m, title);
        m.summary = ih_msg_str (&m, summary);
        IH_CHECK (ih_category_parse (kinds [k][1], &m.category) == 0);
        m.severity = k == 2 ? IH_SEV_HIGH : IH_SEV_MEDIUM;
        ih_msg_strlist_add (&m, &m.sectors, k == 1 ? "finance" : "health");
        ih_msg_strlist_add (&m, &m.tags, k == 0 ? "T1486" : k == 1 ? "T1566" : "T1498");
        if (i % 2)
            ih_msg_strlist_add (&m, &m.tags, "rare-or-common");
        ih_model_data_add (data, &m);
        ih_msg_free (&m);
    }
}

/*  A reproducible uniform number in [0, 1) (an LCG's top 53 bits). */
static double
s_unit (uint64_t *r)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double) (*r >> 11) / (double) (1ULL << 53);
}

void
ih_model_test (bool verbose)
{
    ih_err_t err;
    ih_model_data_t data;
    memset (&data, 0, sizeof data);
    s_tdata (&data, 10);
    IH_CHECK (!ih_model_train (&data, NULL, 0, &err) && strstr (err.msg, "10 alerts are too few"));
    ih_model_data_free (&data);
    s_tdata (&data, 90);
    int *group = NULL;
    IH_CHECK (ih_model_groups (&data, &group) > 1);
    free (group);
    ih_model_t *m = ih_model_train (&data, NULL, 0, &err);
    IH_CHECK (m);
    if (verbose)
        printf ("\n  %s\n", ih_model_meta_json (m));
    ih_text_t *t = ih_text_new ();
    ih_model_prediction_t pr;
    const char *text = "Staff got phishing e-mails pointing at a fake bank login page";
    ih_model_predict (m, t, text, strlen (text), 0, &pr);
    if (verbose)
        for (int f = 0; f < IH_MODEL_FIELDS; f++)
            for (size_t i = 0; i < pr.ntop [f]; i++)
                printf ("  %s %s %.3f %s\n", ih_model_field_name ((ih_model_field_t) f), pr.top [f][i].label,
                        pr.top [f][i].p, pr.top [f][i].suggested ? "suggested" : "");
    fflush (stdout);
    IH_CHECK (pr.ntop [IH_MODEL_CATEGORY] == 3 && streq (pr.top [IH_MODEL_CATEGORY][0].label, "phishing"));
    IH_CHECK (pr.top [IH_MODEL_CATEGORY][0].p > pr.top [IH_MODEL_CATEGORY][1].p);
    IH_CHECK (streq (pr.top [IH_MODEL_TAGS][0].label, "T1566"));
    IH_CHECK (streq (pr.top [IH_MODEL_SECTORS][0].label, "finance"));
    double sum = 0;
    for (size_t i = 0; i < pr.ntop [IH_MODEL_CATEGORY]; i++)
        sum += pr.top [IH_MODEL_CATEGORY][i].p;
    IH_CHECK (sum > 0.99 && sum < 1.01);
    //  Save, load: the same predictions; a stale or corrupt file is refused.
    char dir [256];
    IH_CHECK (ih_tk_tempdir ("model", dir, sizeof dir));
    char *path = ih_model_path (dir);
    IH_CHECK (!ih_model_load (path, &err) && streq (err.msg, "no model yet"));
    IH_CHECK (ih_model_save (m, path, &err) == 0);
    struct stat st;
    IH_CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    ih_model_t *back = ih_model_load (path, &err);
    IH_CHECK (back);
    ih_model_prediction_t pr2;
    ih_model_predict (back, t, text, strlen (text), 0, &pr2);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        IH_CHECK (pr.ntop [f] == pr2.ntop [f]);
        for (size_t i = 0; i < pr.ntop [f]; i++)
            IH_CHECK (streq (pr.top [f][i].label, pr2.top [f][i].label)
                      && fabs (pr.top [f][i].p - pr2.top [f][i].p) < 1e-5
                      && pr.top [f][i].suggested == pr2.top [f][i].suggested);
    }
    IH_CHECK (ih_model_alerts (back) == 90 && ih_model_trained_ms (back) == ih_model_trained_ms (m));
    size_t peek_alerts = 0;
    IH_CHECK (ih_model_peek (path, &peek_alerts, NULL) == 1 && peek_alerts == 90);
    IH_CHECK (!ih_model_changed (back, path) && ih_model_changed (NULL, path));
    size_t len = 0;
    char *bytes = ih_file_read (path, 1 << 26, &len, &err);
    IH_CHECK (bytes);
    FILE *f = fopen (path, "wb");
    IH_CHECK (f && fwrite (bytes, 1, len - 3, f) == len - 3 && fclose (f) == 0);
    IH_CHECK (!ih_model_load (path, &err) && strstr (err.msg, "truncated or corrupt"));
    {
        //  A non-finite number (a flipped bit) is refused: NaN would reach every answer.
        //  The first term's idf follows the metadata, the term count and the term.
        uint32_t mlen = ih_get_le32 ((const uint8_t *) bytes + 12);
        size_t at = 16 + mlen + 4;
        uint16_t tl = (uint16_t) ((uint8_t) bytes [at] | (uint8_t) bytes [at + 1] << 8);
        at += 2 + tl;
        char keep [4];
        memcpy (keep, bytes + at, 4);
        memcpy (bytes + at, "\x00\x00\xc0\x7f", 4);        //  a quiet NaN, little-endian
        f = fopen (path, "wb");
        IH_CHECK (f && fwrite (bytes, 1, len, f) == len && fclose (f) == 0);
        IH_CHECK (!ih_model_load (path, &err) && strstr (err.msg, "truncated or corrupt"));
        memcpy (bytes + at, keep, 4);
        ih_model_t *again = ih_model_from_bytes (bytes, len, path, &err);
        IH_CHECK (again);
        ih_model_destroy (&again);
    }
    bytes [8] = 99;     //  another format
    f = fopen (path, "wb");
    IH_CHECK (f && fwrite (bytes, 1, len, f) == len && fclose (f) == 0);
    IH_CHECK (!ih_model_load (path, &err) && strstr (err.msg, "is stale: another format"));
    IH_CHECK (ih_model_peek (path, NULL, NULL) == 0);
    free (bytes);
    //  Platt's sigmoid: recovers a known one; noise or a backward ranking gets the base
    //  rate, not a reversed order.
    {
        size_t n = 20000;
        double *sc = (double *) malloc (n * sizeof *sc);
        bool *y = (bool *) malloc (n * sizeof *y);
        IH_CHECK (sc && y);
        uint64_t r = 42;
        for (size_t i = 0; i < n; i++) {
            sc [i] = s_unit (&r) * 8 - 4;
            y [i] = s_unit (&r) < 1 / (1 + exp (-(2 * sc [i] - 1)));
        }
        double a, b;
        ih_model_platt (sc, y, n, &a, &b);
        IH_CHECK (fabs (a - 2) < 0.15 && fabs (b + 1) < 0.15);
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            y [i] = sc [i] < -3;            //  backward: the lowest scores are the positives
            pos += y [i];
        }
        ih_model_platt (sc, y, n, &a, &b);
        double base = 1 / (1 + exp (-b));
        IH_CHECK (a == 0 && fabs (base - (double) pos / n) < 0.01);
        free (sc);
        free (y);
    }
    //  Calibrated: a held-out text the model knows nothing of is not given a tag as
    //  likely (the raw sigmoids of rare labels sat near 0.5).
    ih_model_predict (back, t, "quarterly newsletter about the weather", 38, 0, &pr2);
    IH_CHECK (pr2.ntop [IH_MODEL_TAGS] > 0 && pr2.top [IH_MODEL_TAGS][0].p < 0.5 && !pr2.top [IH_MODEL_TAGS][0].suggested);
    //  Predictions on empty text still answer (the priors).
    ih_model_predict (back, t, "", 0, 0, &pr2);
    IH_CHECK (pr2.ntop [IH_MODEL_CATEGORY] == 3);
    ih_model_destroy (&back);
    ih_model_destroy (&m);
    ih_model_destroy (&m);
    ih_text_destroy (&t);
    ih_model_data_free (&data);
    ih_model_data_free (&data);
    ih_tk_rmtree (dir);
    free (path);
}
#endif

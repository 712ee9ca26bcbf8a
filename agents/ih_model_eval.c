/*  ih_model_eval.c: `infohub-agent model eval`: cross-validation split by source
    document (ih_model.h). A random split flatters a model: members re-share one report
    in their own words, and a fold that trains on one retelling and tests on another
    measures memory, not learning. So whole groups (ih_model_groups: a shared references
    URL or a near-duplicate text) go to one fold, and each fold's model is trained from
    scratch on the others (vocabulary, classifiers, thresholds).

    Decisions scored: category and severity by their top candidate (accuracy, against
    the majority class of the training folds), and by what the model marks `suggested`;
    sectors and tags by their suggested labels (probability at the label's threshold).
    Probabilities: every candidate's, in tenths, against how often it was right (the
    calibration table). With --curve, the same folds trained on a quarter and a half of
    their training documents too (the learning curve).
*/
#include <czmq.h>
#include <math.h>

#include "ih_model.h"

#define S_TOO_FEW   5           /* examples under which a label's figures are no estimate */
#define S_BINS      10          /* of the calibration table: tenths of probability */

typedef struct {
    uint32_t tp, fp, fn, examples;
} s_tally_t;

typedef struct {
    zhashx_t *labels [IH_MODEL_FIELDS];     /* label -> s_tally_t */
    uint32_t top_right [IH_MODEL_FIELDS], top_total [IH_MODEL_FIELDS];
    uint32_t base_right [IH_MODEL_FIELDS];
    uint32_t sugg [IH_MODEL_FIELDS], sugg_right [IH_MODEL_FIELDS];
    //  Calibration: every candidate's probability, in tenths, and how often it was right.
    uint32_t cal_n [IH_MODEL_FIELDS][S_BINS], cal_right [IH_MODEL_FIELDS][S_BINS];
    double cal_p [IH_MODEL_FIELDS][S_BINS];
} s_eval_t;

static s_tally_t *
s_tally (s_eval_t *e, int f, const char *label)
{
    s_tally_t *t = (s_tally_t *) zhashx_lookup (e->labels [f], label);
    if (!t) {
        t = (s_tally_t *) calloc (1, sizeof *t);
        if (!t)
            abort ();
        zhashx_insert (e->labels [f], label, t);
    }
    return t;
}

static bool
s_has (char **l, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (streq (l [i], label))
            return true;
    return false;
}

static const char *
s_one_of (const ih_model_doc_t *d, int f)
{
    return f == IH_MODEL_CATEGORY ? ih_category_name ((ih_category_t) d->category)
                                  : ih_severity_name ((ih_severity_t) d->severity);
}

/*  The most frequent value of a one-of field among the used docs. */
static const char *
s_majority (const ih_model_data_t *data, const size_t *use, size_t nuse, int f)
{
    uint32_t counts [16] = { 0 };
    for (size_t u = 0; u < nuse; u++) {
        const ih_model_doc_t *d = &data->docs [use [u]];
        counts [f == IH_MODEL_CATEGORY ? d->category : d->severity]++;
    }
    int best = 0;
    for (int i = 1; i < 16; i++)
        if (counts [i] > counts [best])
            best = i;
    return f == IH_MODEL_CATEGORY ? ih_category_name ((ih_category_t) best) : ih_severity_name ((ih_severity_t) best);
}

/*  Scores doc d with model m into e. */
static void
s_score (s_eval_t *e, const ih_model_t *m, ih_text_t *t, const ih_model_doc_t *d, const char *majority [])
{
    const char *names [4096];
    double thr [4096];
    double *all = (double *) malloc (IH_MODEL_FIELDS * 4096 * sizeof *all), *pf [IH_MODEL_FIELDS];
    if (!all)
        abort ();
    for (int f = 0; f < IH_MODEL_FIELDS; f++)
        pf [f] = all + f * 4096;
    bool known = ih_model_scores (m, t, d->text, strlen (d->text), d->ioc_types, pf, 4096);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        size_t n = ih_model_labels (m, (ih_model_field_t) f, names, thr, 4096);
        const double *p = pf [f];
        for (size_t c = 0; c < n; c++) {
            int bin = p [c] >= 1 ? S_BINS - 1 : p [c] <= 0 ? 0 : (int) (p [c] * S_BINS);
            bool right = f == IH_MODEL_CATEGORY || f == IH_MODEL_SEVERITY
                       ? streq (names [c], s_one_of (d, f))
                       : s_has (f == IH_MODEL_SECTORS ? d->sectors : d->tags,
                                f == IH_MODEL_SECTORS ? d->nsectors : d->ntags, names [c]);
            e->cal_n [f][bin]++;
            e->cal_p [f][bin] += p [c];
            e->cal_right [f][bin] += right;
        }
        if (f == IH_MODEL_CATEGORY || f == IH_MODEL_SEVERITY) {
            const char *truth = s_one_of (d, f);
            size_t best = 0;
            for (size_t c = 1; c < n; c++)
                if (p [c] > p [best])
                    best = c;
            const char *guess = n ? names [best] : majority [f];
            bool right = streq (guess, truth);
            e->top_total [f]++;
            e->top_right [f] += right;
            e->base_right [f] += streq (majority [f], truth);
            s_tally (e, f, truth)->examples++;
            if (right)
                s_tally (e, f, truth)->tp++;
            else {
                s_tally (e, f, truth)->fn++;
                s_tally (e, f, guess)->fp++;
            }
            if (n && known && p [best] >= thr [best]) {
                e->sugg [f]++;
                e->sugg_right [f] += right;
            }
            continue;
        }
        char **truth = f == IH_MODEL_SECTORS ? d->sectors : d->tags;
        size_t nt = f == IH_MODEL_SECTORS ? d->nsectors : d->ntags;
        for (size_t i = 0; i < nt; i++)
            if (!s_has (truth, i, truth [i]))
                s_tally (e, f, truth [i])->examples++;
        for (size_t c = 0; c < n; c++) {
            bool has = s_has (truth, nt, names [c]);
            if (known && p [c] >= thr [c]) {
                e->sugg [f]++;
                e->sugg_right [f] += has;
                if (has)
                    s_tally (e, f, names [c])->tp++;
                else
                    s_tally (e, f, names [c])->fp++;
            }
        }
        //  Every true label not suggested is missed, also those the model never learnt.
        for (size_t i = 0; i < nt; i++) {
            if (s_has (truth, i, truth [i]))
                continue;
            bool suggested = false;
            for (size_t c = 0; c < n && !suggested; c++)
                suggested = known && streq (names [c], truth [i]) && p [c] >= thr [c];
            if (!suggested)
                s_tally (e, f, truth [i])->fn++;
        }
    }
    free (all);
}

static json_t *
s_prf (uint32_t tp, uint32_t fp, uint32_t fn)
{
    json_t *o = json_object ();
    double p = tp + fp ? (double) tp / (tp + fp) : NAN, r = tp + fn ? (double) tp / (tp + fn) : NAN;
    double f1 = (tp + fp && tp + fn && p + r > 0) ? 2 * p * r / (p + r) : (tp + fp && tp + fn ? 0 : NAN);
    json_object_set_new (o, "precision", isnan (p) ? json_null () : json_real (round (p * 1e3) / 1e3));
    json_object_set_new (o, "recall", isnan (r) ? json_null () : json_real (round (r * 1e3) / 1e3));
    json_object_set_new (o, "f1", isnan (f1) ? json_null () : json_real (round (f1 * 1e3) / 1e3));
    return o;
}

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/*  Per-label rows, macro and micro averages of field f. Macro: over the labels with an
    estimate (at least S_TOO_FEW examples). */
static json_t *
s_field_report (s_eval_t *e, int f, json_t *warnings, double *tech_macro, int *tech_n)
{
    json_t *o = json_object (), *rows = json_array ();
    size_t n = zhashx_size (e->labels [f]), k = 0;
    const char **keys = (const char **) malloc ((n + 1) * sizeof *keys);
    if (!keys)
        abort ();
    for (void *v = zhashx_first (e->labels [f]); v; v = zhashx_next (e->labels [f]))
        keys [k++] = (const char *) zhashx_cursor (e->labels [f]);
    qsort (keys, k, sizeof *keys, s_cmp_str);
    uint32_t tp = 0, fp = 0, fn = 0, few = 0;
    double macro_p = 0, macro_r = 0, macro_f = 0;
    int macro_n = 0;
    *tech_macro = 0;
    *tech_n = 0;
    for (size_t i = 0; i < k; i++) {
        s_tally_t *t = (s_tally_t *) zhashx_lookup (e->labels [f], keys [i]);
        json_t *row = s_prf (t->tp, t->fp, t->fn);
        json_object_set_new (row, "label", json_string (keys [i]));
        json_object_set_new (row, "examples", json_integer (t->examples));
        bool too_few = t->examples < S_TOO_FEW;
        json_object_set_new (row, "too_few", json_boolean (too_few));
        json_array_append_new (rows, row);
        tp += t->tp;
        fp += t->fp;
        fn += t->fn;
        if (too_few) {
            few++;
            continue;
        }
        double p = t->tp + t->fp ? (double) t->tp / (t->tp + t->fp) : 0;
        double r = t->tp + t->fn ? (double) t->tp / (t->tp + t->fn) : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        macro_p += p;
        macro_r += r;
        macro_f += f1;
        macro_n++;
        if (f == IH_MODEL_TAGS && keys [i][0] == 'T' && isdigit ((unsigned char) keys [i][1])) {
            *tech_macro += f1;
            (*tech_n)++;
        }
    }
    if (*tech_n)
        *tech_macro /= *tech_n;
    free (keys);
    json_t *macro = json_object ();
    json_object_set_new (macro, "precision", macro_n ? json_real (round (macro_p / macro_n * 1e3) / 1e3) : json_null ());
    json_object_set_new (macro, "recall", macro_n ? json_real (round (macro_r / macro_n * 1e3) / 1e3) : json_null ());
    json_object_set_new (macro, "f1", macro_n ? json_real (round (macro_f / macro_n * 1e3) / 1e3) : json_null ());
    json_object_set_new (macro, "labels", json_integer (macro_n));
    json_object_set_new (o, "macro", macro);
    json_object_set_new (o, "micro", s_prf (tp, fp, fn));
    json_object_set_new (o, "suggested", json_pack ("{s:i, s:o}", "count", (int) e->sugg [f], "precision",
                         e->sugg [f] ? json_real (round ((double) e->sugg_right [f] / e->sugg [f] * 1e3) / 1e3)
                                     : json_null ()));
    if (f == IH_MODEL_CATEGORY || f == IH_MODEL_SEVERITY) {
        double total = e->top_total [f] ? e->top_total [f] : 1;
        json_object_set_new (o, "accuracy", json_real (round (e->top_right [f] / total * 1e3) / 1e3));
        json_object_set_new (o, "baseline_accuracy", json_real (round (e->base_right [f] / total * 1e3) / 1e3));
        json_object_set_new (json_object_get (o, "suggested"), "coverage",
                             json_real (round (e->sugg [f] / total * 1e3) / 1e3));
    }
    json_t *cal = json_array ();
    for (int b = 0; b < S_BINS; b++)
        if (e->cal_n [f][b])
            json_array_append_new (cal, json_pack ("{s:f, s:f, s:i, s:f, s:f}", "from", b / (double) S_BINS,
                                   "to", (b + 1) / (double) S_BINS, "candidates", (int) e->cal_n [f][b],
                                   "mean_p", round (e->cal_p [f][b] / e->cal_n [f][b] * 1e3) / 1e3,
                                   "right", round ((double) e->cal_right [f][b] / e->cal_n [f][b] * 1e3) / 1e3));
    json_object_set_new (o, "calibration", cal);
    json_object_set_new (o, "labels", rows);
    if (few)
        json_array_append_new (warnings, json_sprintf ("%s: %u %s fewer than %d examples: %s no estimate "
                               "(left out of the macro average)", ih_model_field_name ((ih_model_field_t) f),
                               few, few == 1 ? "label has" : "labels have", S_TOO_FEW,
                               few == 1 ? "its figures are" : "their figures are"));
    return o;
}

/*  Whether group g's alerts are among a fraction of the training documents: a fixed
    pseudo-random share of the groups, so that the smaller fractions are inside the
    larger ones. */
static bool
s_in_fraction (int g, double fraction)
{
    return fraction >= 1 || (double) (((uint32_t) g * 2654435761u) % 1000u) < fraction * 1000;
}

static void
s_eval_init (s_eval_t *e)
{
    memset (e, 0, sizeof *e);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        e->labels [f] = zhashx_new ();
        zhashx_set_destructor (e->labels [f], (zhashx_destructor_fn *) zstr_free);
    }
}

static void
s_eval_done (s_eval_t *e)
{
    for (int f = 0; f < IH_MODEL_FIELDS; f++)
        zhashx_destroy (&e->labels [f]);
}

/*  Trains a model per fold on the other folds' alerts (of their source documents, the
    given fraction) and scores the fold's alerts into e. Returns how many folds were
    scored; *trained is the mean of their training alerts. */
static int
s_run_folds (s_eval_t *e, const ih_model_data_t *data, const int *group, const int *gfold, int k,
             double fraction, json_t *warnings, size_t *trained)
{
    size_t *use = (size_t *) malloc ((data->n + 1) * sizeof *use);
    ih_text_t *t = ih_text_new ();
    if (!use || !t)
        abort ();
    int folds_run = 0;
    size_t sum = 0;
    for (int fold = 0; fold < k; fold++) {
        size_t nuse = 0;
        for (size_t i = 0; i < data->n; i++)
            if (gfold [group [i]] != fold && s_in_fraction (group [i], fraction))
                use [nuse++] = i;
        ih_err_t terr;
        ih_model_t *m = ih_model_train (data, use, nuse, &terr);
        if (!m) {
            if (warnings)
                json_array_append_new (warnings, json_sprintf ("fold %d not scored: %s", fold + 1, terr.msg));
            continue;
        }
        folds_run++;
        sum += nuse;
        const char *majority [IH_MODEL_FIELDS] = { s_majority (data, use, nuse, IH_MODEL_CATEGORY), NULL, NULL,
                                                   s_majority (data, use, nuse, IH_MODEL_SEVERITY) };
        for (size_t i = 0; i < data->n; i++)
            if (gfold [group [i]] == fold)
                s_score (e, m, t, &data->docs [i], majority);
        ih_model_destroy (&m);
    }
    *trained = folds_run ? sum / (size_t) folds_run : 0;
    ih_text_destroy (&t);
    free (use);
    return folds_run;
}

/*  The learning curve: the same folds, trained on a quarter, a half and all of the other
    folds' source documents: does the model get better with more alerts? */
static json_t *
s_curve (const ih_model_data_t *data, const int *group, const int *gfold, int k, json_t *full, size_t full_trained,
         json_t *warnings)
{
    static const double fractions [] = { 0.25, 0.5, 1 };
    json_t *curve = json_array ();
    for (size_t i = 0; i < sizeof fractions / sizeof fractions [0]; i++) {
        s_eval_t e;
        json_t *fields = full;
        size_t trained = full_trained;
        if (fractions [i] < 1) {
            s_eval_init (&e);
            int run = s_run_folds (&e, data, group, gfold, k, fractions [i], NULL, &trained);
            if (run < 2) {
                json_array_append_new (warnings, json_sprintf ("learning curve: %.0f %% of the training documents "
                                       "is too few to train on (a model needs %d alerts)", fractions [i] * 100,
                                       IH_MODEL_MIN_ALERTS));
                s_eval_done (&e);
                continue;
            }
            json_t *w = json_array ();
            fields = json_object ();
            double tm;
            int tn;
            for (int f = 0; f < IH_MODEL_FIELDS; f++) {
                json_object_set_new (fields, ih_model_field_name ((ih_model_field_t) f), s_field_report (&e, f, w, &tm, &tn));
                if (f == IH_MODEL_TAGS)
                    json_object_set_new (fields, "techniques", json_pack ("{s:o}", "macro_f1",
                                         tn ? json_real (round (tm * 1e3) / 1e3) : json_null ()));
            }
            json_decref (w);
            s_eval_done (&e);
        }
        else
            json_incref (fields);
        json_t *cat = json_object_get (fields, "category"), *tags = json_object_get (fields, "tags");
        json_t *point = json_pack ("{s:f, s:i, s:O, s:O, s:O, s:O, s:O}", "fraction", fractions [i],
            "training_alerts", (int) trained,
            "category_accuracy", json_object_get (cat, "accuracy"),
            "tags_suggested", json_object_get (json_object_get (tags, "suggested"), "count"),
            "tags_suggested_precision", json_object_get (json_object_get (tags, "suggested"), "precision"),
            "tags_micro_f1", json_object_get (json_object_get (tags, "micro"), "f1"),
            "techniques_macro_f1", json_object_get (json_object_get (fields, "techniques"), "macro_f1"));
        json_array_append_new (curve, point);
        json_decref (fields);
    }
    return curve;
}

json_t *
ih_model_eval (const ih_model_data_t *data, int k, bool curve, ih_err_t *err)
{
    int *group = NULL;
    size_t ngroups = ih_model_groups (data, &group);
    json_t *warnings = json_array ();
    if (ngroups < 2) {
        free (group);
        json_decref (warnings);
        ih_err_set (err, "model eval: %zu %s from %zu source %s: too few to split", data->n,
                    data->n == 1 ? "alert" : "alerts", ngroups, ngroups == 1 ? "document" : "documents");
        return NULL;
    }
    if ((size_t) k > ngroups) {
        json_array_append_new (warnings, json_sprintf ("%d folds asked, but there are only %zu source "
                               "documents: %zu folds", k, ngroups, ngroups));
        k = (int) ngroups;
    }
    //  Folds of whole groups, the largest groups first, each to the emptiest fold.
    size_t *gsize = (size_t *) calloc (ngroups, sizeof *gsize);
    int *gfold = (int *) malloc (ngroups * sizeof *gfold);
    size_t *order = (size_t *) malloc (ngroups * sizeof *order);
    size_t *fsize = (size_t *) calloc ((size_t) k, sizeof *fsize);
    if (!gsize || !gfold || !order || !fsize)
        abort ();
    for (size_t i = 0; i < data->n; i++)
        gsize [group [i]]++;
    for (size_t g = 0; g < ngroups; g++)
        order [g] = g;
    for (size_t a = 1; a < ngroups; a++)        //  stable insertion sort by size, descending
        for (size_t b = a; b > 0 && gsize [order [b]] > gsize [order [b - 1]]; b--) {
            size_t tmp = order [b];
            order [b] = order [b - 1];
            order [b - 1] = tmp;
        }
    for (size_t i = 0; i < ngroups; i++) {
        int best = 0;
        for (int f = 1; f < k; f++)
            if (fsize [f] < fsize [best])
                best = f;
        gfold [order [i]] = best;
        fsize [best] += gsize [order [i]];
    }
    s_eval_t e;
    s_eval_init (&e);
    size_t trained = 0;
    int folds_run = s_run_folds (&e, data, group, gfold, k, 1, warnings, &trained);
    json_t *report = NULL;
    if (folds_run < 2) {
        ih_err_set (err, "model eval: %zu alerts are too few for an estimate: fewer than two folds could be "
                    "trained (each needs %d alerts)", data->n, IH_MODEL_MIN_ALERTS);
    }
    else {
        report = json_pack ("{s:s, s:s, s:i, s:i, s:i}", "split", "source document",
                            "note", "folds keep alerts that share a references URL or a near-duplicate text "
                            "together; a random split flatters a model",
                            "folds", folds_run, "alerts", (int) data->n, "source_documents", (int) ngroups);
        json_t *fields = json_object ();
        double tech = 0;
        int tech_n = 0;
        for (int f = 0; f < IH_MODEL_FIELDS; f++) {
            double tm;
            int tn;
            json_object_set_new (fields, ih_model_field_name ((ih_model_field_t) f),
                                 s_field_report (&e, f, warnings, &tm, &tn));
            if (f == IH_MODEL_TAGS) {
                tech = tm;
                tech_n = tn;
            }
        }
        json_object_set_new (report, "fields", fields);
        json_object_set_new (report, "techniques", json_pack ("{s:o, s:i}", "macro_f1",
                             tech_n ? json_real (round (tech * 1e3) / 1e3) : json_null (), "labels", tech_n));
        if (curve) {
            json_t *all = json_deep_copy (fields);
            json_object_set (all, "techniques", json_object_get (report, "techniques"));
            json_object_set_new (report, "curve", s_curve (data, group, gfold, k, all, trained, warnings));
            json_decref (all);
        }
        if (data->n < 200)
            json_array_append_new (warnings, json_sprintf ("%zu alerts: the figures are rough estimates", data->n));
        json_object_set (report, "warnings", warnings);
    }
    s_eval_done (&e);
    free (gsize);
    free (gfold);
    free (order);
    free (fsize);
    free (group);
    json_decref (warnings);
    return report;
}

/* ---- the report as text -------------------------------------------------------------------- */

static void
s_num (FILE *out, json_t *v)
{
    if (json_is_number (v))
        fprintf (out, " %9.3f", json_number_value (v));
    else
        fprintf (out, " %9s", "-");
}

void
ih_model_eval_print (json_t *report, FILE *out)
{
    fprintf (out, "cross-validation, %d folds split by source document (%d alerts, %d source documents)\n",
             (int) json_integer_value (json_object_get (report, "folds")),
             (int) json_integer_value (json_object_get (report, "alerts")),
             (int) json_integer_value (json_object_get (report, "source_documents")));
    fprintf (out, "  alerts that share a references URL or a near-duplicate text stay in one fold:\n"
                  "  a random split flatters a model\n");
    json_t *fields = json_object_get (report, "fields");
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        const char *name = ih_model_field_name ((ih_model_field_t) f);
        json_t *o = json_object_get (fields, name);
        fprintf (out, "\n%s\n", name);
        if (json_object_get (o, "accuracy"))
            fprintf (out, "  accuracy of the top candidate %.3f (majority-class baseline %.3f)\n",
                     json_number_value (json_object_get (o, "accuracy")),
                     json_number_value (json_object_get (o, "baseline_accuracy")));
        json_t *s = json_object_get (o, "suggested");
        if (json_is_number (json_object_get (s, "precision")))
            fprintf (out, "  suggested: %d, precision %.3f\n", (int) json_integer_value (json_object_get (s, "count")),
                     json_number_value (json_object_get (s, "precision")));
        else
            fprintf (out, "  suggested: none\n");
        fprintf (out, "  %-28s %9s %9s %9s %9s\n", "label", "examples", "precision", "recall", "f1");
        size_t i;
        json_t *row;
        json_array_foreach (json_object_get (o, "labels"), i, row) {
            fprintf (out, "  %-28.28s %9d", json_string_value (json_object_get (row, "label")),
                     (int) json_integer_value (json_object_get (row, "examples")));
            s_num (out, json_object_get (row, "precision"));
            s_num (out, json_object_get (row, "recall"));
            s_num (out, json_object_get (row, "f1"));
            fprintf (out, "%s\n", json_is_true (json_object_get (row, "too_few")) ? "  (too few for an estimate)" : "");
        }
        json_t *ma = json_object_get (o, "macro"), *mi = json_object_get (o, "micro");
        fprintf (out, "  %-28s %9s", "macro average", "");
        s_num (out, json_object_get (ma, "precision"));
        s_num (out, json_object_get (ma, "recall"));
        s_num (out, json_object_get (ma, "f1"));
        fprintf (out, "\n  %-28s %9s", "micro average", "");
        s_num (out, json_object_get (mi, "precision"));
        s_num (out, json_object_get (mi, "recall"));
        s_num (out, json_object_get (mi, "f1"));
        fprintf (out, "\n");
    }
    json_t *tech = json_object_get (report, "techniques");
    if (json_is_number (json_object_get (tech, "macro_f1")))
        fprintf (out, "\nATT&CK technique tags: macro-F1 %.3f over %d techniques with an estimate\n",
                 json_number_value (json_object_get (tech, "macro_f1")),
                 (int) json_integer_value (json_object_get (tech, "labels")));
    fprintf (out, "\ncalibration (every candidate for every held-out alert: how often a probability was right)\n"
                  "  %-9s", "p");
    for (int f = 0; f < IH_MODEL_FIELDS; f++)
        fprintf (out, " %17s", ih_model_field_name ((ih_model_field_t) f));
    fprintf (out, "\n");
    for (int b = S_BINS - 1; b >= 0; b--) {
        fprintf (out, "  %.1f-%.1f  ", b / (double) S_BINS, (b + 1) / (double) S_BINS);
        for (int f = 0; f < IH_MODEL_FIELDS; f++) {
            json_t *bins = json_object_get (json_object_get (fields, ih_model_field_name ((ih_model_field_t) f)),
                                            "calibration");
            json_t *hit = NULL, *one;
            size_t k;
            json_array_foreach (bins, k, one)
                if (fabs (json_number_value (json_object_get (one, "from")) - b / (double) S_BINS) < 1e-9)
                    hit = one;
            if (hit)
                fprintf (out, " %7d %7.0f %%", (int) json_integer_value (json_object_get (hit, "candidates")),
                         json_number_value (json_object_get (hit, "right")) * 100);
            else
                fprintf (out, " %17s", "-");
        }
        fprintf (out, "\n");
    }
    json_t *curve = json_object_get (report, "curve");
    if (json_array_size (curve)) {
        fprintf (out, "\nlearning curve (the same folds, trained on part of the other folds' source documents)\n");
        fprintf (out, "  %-9s %9s %9s %9s %9s %9s %9s\n", "share", "alerts", "cat acc", "tags sugg", "precision",
                 "tags f1", "tech f1");
        size_t k;
        json_t *pt;
        json_array_foreach (curve, k, pt) {
            fprintf (out, "  %8.0f%% %9d", json_number_value (json_object_get (pt, "fraction")) * 100,
                     (int) json_integer_value (json_object_get (pt, "training_alerts")));
            s_num (out, json_object_get (pt, "category_accuracy"));
            fprintf (out, " %9d", (int) json_integer_value (json_object_get (pt, "tags_suggested")));
            s_num (out, json_object_get (pt, "tags_suggested_precision"));
            s_num (out, json_object_get (pt, "tags_micro_f1"));
            s_num (out, json_object_get (pt, "techniques_macro_f1"));
            fprintf (out, "\n");
        }
    }
    size_t i;
    json_t *w;
    json_array_foreach (json_object_get (report, "warnings"), i, w)
        fprintf (out, "note: %s\n", json_string_value (w));
}

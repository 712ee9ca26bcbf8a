/*  ih_model.h: the suggestion model. Trained from the alerts in the member's own store
    (nothing central reads anyone's AMBER or RED text), it suggests for a new text its
    category, sectors, tags (ATT&CK technique ids among them) and severity, each with a
    probability, and says which suggestions it stands behind.

    FEATURES. TF-IDF over the terms of title + summary (ih_text.h: English stems and
    their bigrams, CJK characters and their bigrams), plus one term per IOC type the
    alert carries ("ioc:cve"). Weights (1 + ln tf) x idf, idf = ln ((1 + N) / (1 + df))
    + 1, each vector scaled to length 1. The vocabulary keeps terms found in at least 2
    alerts (1 below 50 alerts), at most IH_MODEL_MAX_TERMS of them, the most frequent.

    CLASSIFIERS (liblinear, L2-regularised logistic regression, solver 0, C = 8, bias),
    one binary model per label, fitted on up to 4 threads (the labels are independent):
      category, severity   one of: one-vs-rest over the values present (as liblinear's
                           own multi-class); probabilities scaled to sum to 1
      sectors, tags        any of: a label seen at least IH_MODEL_MIN_LABEL (3) times
                           (and not on every alert)

    CALIBRATION. Raw one-vs-rest sigmoids are no probabilities: a category right 9 times
    in 10 came out near 0.2, a sector named on 3 % of alerts near 0.45. So each column
    gets Platt's sigmoid, p = sigmoid (a logit (raw) + b), fitted on out-of-fold
    predictions (k folds of whole source documents: ih_model_groups, alerts that share
    a references URL or a near-duplicate text stay together; above IH_MODEL_CV_MAX
    alerts a sample of that many) with Platt's targets, so a label seen a few times is
    not believed certain; category and severity are then scaled to sum to 1. The folds
    are made like the final fit: each with the vocabulary it would have (no term found
    in fewer than 2 of its training alerts) and C scaled to the rows the final fit sees.
    Else they flatter: a term met in one training alert and one held-out alert is the
    most telling kind, and the final model never has it.

    THRESHOLDS. On the calibrated probabilities, per label, the lowest from which the
    label's suggestions in the folds were right IH_MODEL_PRECISION (0.85) of the time
    with IH_MODEL_CONFIDENCE (90 %, one-sided): Wilson's lower bound on their precision
    reaches 0.85, so it takes at least 10 suggestions, all right, or more with a few
    wrong. Category and severity are one decision each (the top candidate), so they also
    pool their values: a value that does not get there on its own takes the field's
    cut, unless its own suggestions above that are right less than 0.85 of the time. A
    label that never gets there has IH_MODEL_DEFAULT_THRESHOLD (0.9).
    A suggestion is `suggested` when its probability reaches its label's threshold (and,
    for category and severity, it is the top one).

    THE FILE (ih_model_save, ih_model_load), written to a temporary file then renamed, so
    a reader sees the old model or the new one, never half of one:
        "IHMODEL\0", u32 IH_MODEL_FORMAT, u32 metadata length, metadata (JSON: trained_ms,
        alerts, text_version, the names of the categories and severities the program
        knew, per field its labels with threshold, count, cross-validated precision and
        calibration [a, b]),
        u32 terms, per term: u16 length, bytes, f32 idf, u16 n, n x (u16 column, f32
        weight); u32 columns, per column f32 bias weight. All little-endian.
    STALE. A file of another format, text version, or set of category and severity
    names (a program that learnt a new category) does not load: ih_model_load says
    why, and callers carry on without suggestions ("no model yet"). Nothing ever waits
    for a model.

    USE FROM A LONG-RUNNING PROGRAM (the Members Zone console's share form): load once
    (ih_model_load; "no model yet" is a normal answer: show no suggestions), predict per
    request with the request thread's own ih_text_t (ih_model_predict: pre-fill the
    `suggested` candidates and mark them as suggestions; offer the others below them),
    and every so often ask ih_model_changed whether the daemon wrote a newer model, then
    load it and swap the pointer (free the old one once no request uses it). The paste
    step's IOCs come from ih_extract_run (ih_extract.h) with the warninglists, and the
    related alerts of the draft from ih_related_query (ih_related.h).

    Threading: a loaded ih_model_t is read-only: predictions from several threads may
    share it, each with its own ih_text_t.
*/
#ifndef IH_MODEL_H
#define IH_MODEL_H

#include <jansson.h>

#include "ih_msg.h"
#include "ih_store.h"
#include "ih_text.h"

#define IH_MODEL_FORMAT             2
#define IH_MODEL_MAX_TERMS          50000
#define IH_MODEL_MIN_LABEL          3
#define IH_MODEL_PRECISION          0.85
#define IH_MODEL_CONFIDENCE         0.90    /* one-sided, that a threshold reaches the precision */
#define IH_MODEL_CONFIDENCE_Z       1.2816  /* its normal quantile */
#define IH_MODEL_DEFAULT_THRESHOLD  0.9
#define IH_MODEL_CV_MAX             5000
#define IH_MODEL_TOP                5       /* candidates listed per field */

typedef enum { IH_MODEL_CATEGORY = 0, IH_MODEL_SECTORS, IH_MODEL_TAGS, IH_MODEL_SEVERITY } ih_model_field_t;
#define IH_MODEL_FIELDS 4

/*  "category", "sectors", "tags", "severity". */
const char *ih_model_field_name(ih_model_field_t f);

/* ---- the training data ------------------------------------------------------------------------- */

/*  One labelled alert. Strings are owned by the set. */
typedef struct {
    char id [IH_UUID_LEN + 1];
    char *title;
    char *text;                 /* title + "\n" + summary */
    int category;               /* ih_category_t */
    int severity;               /* ih_severity_t */
    char **sectors;
    size_t nsectors;
    char **tags;
    size_t ntags;
    char **refs;                /* references: alerts citing one source stay in one fold */
    size_t nrefs;
    uint32_t ioc_types;         /* bit per ih_ioc_type_t the alert carries */
} ih_model_doc_t;

typedef struct {
    ih_model_doc_t *docs;
    size_t n, cap;
} ih_model_data_t;

/*  Adds a copy of alert m to data. */
void ih_model_data_add(ih_model_data_t *data, const ih_msg_t *m);
/*  Every active (not retracted) alert of store, at its latest revision. Returns 0 or -1
    with err. */
int ih_model_data_load(ih_model_data_t *data, ih_store_t *store, ih_err_t *err);
/*  Frees what data holds and empties it; safe twice. */
void ih_model_data_free(ih_model_data_t *data);

/*  Source documents: group [i] for each doc i, equal for alerts that share a references
    URL or whose texts are near-duplicates (MinHash, ih_minhash.h), transitively; groups
    are numbered 0.. in the order of their first alert. Returns how many groups (a
    malloc'd array in *group, the caller's to free). */
size_t ih_model_groups(const ih_model_data_t *data, int **group);

/* ---- training and the file ------------------------------------------------------------------- */

typedef struct ih_model ih_model_t;

/*  Trains on the docs of data whose index is in use (use NULL: all of them; nuse
    entries otherwise). Returns the model, or NULL with err ("model: 12 alerts are too
    few to train on (at least 20)"). Takes seconds for thousands of alerts, memory in
    proportion to the vocabulary times the labels. */
#define IH_MODEL_MIN_ALERTS 20
ih_model_t *ih_model_train(const ih_model_data_t *data, const size_t *use, size_t nuse, ih_err_t *err);

/*  Writes the model to path atomically (path.tmp, fsync, rename). Returns 0 or -1 with
    err. */
int ih_model_save(const ih_model_t *self, const char *path, ih_err_t *err);
/*  Reads a model. Returns NULL with err: "no model yet" (no file), "model PATH is stale:
    …" (another format, text version or label set), or a read error. */
ih_model_t *ih_model_load(const char *path, ih_err_t *err);
/*  The same from the len bytes at data (path only names them in err). */
ih_model_t *ih_model_from_bytes(const char *data, size_t len, const char *path, ih_err_t *err);
/*  Frees; safe twice; nulls *self_p. */
void ih_model_destroy(ih_model_t **self_p);
/*  Reads only the head of the file at path: 1 when it holds a current (not stale)
    model, with *alerts and *trained_ms set (either may be NULL); 0 when there is none
    or it is stale (the daemon then trains one). Cheap: for deciding when to retrain. */
int ih_model_peek(const char *path, size_t *alerts, int64_t *trained_ms);
/*  Whether the file at path now holds a current model other than self (trained at
    another time); self may be NULL (then: whether there is one at all). Cheap (reads
    the file's head). */
bool ih_model_changed(const ih_model_t *self, const char *path);

/*  Where a store's model lives: STORE/model (a malloc'd string, the caller's). */
char *ih_model_path(const char *store_dir);

/*  What a model knows (for `model status`): when it was trained (ms), on how many
    alerts, its metadata as JSON (borrowed, valid while self lives). */
int64_t ih_model_trained_ms(const ih_model_t *self);
size_t ih_model_alerts(const ih_model_t *self);
const char *ih_model_meta_json(const ih_model_t *self);

/* ---- prediction ------------------------------------------------------------------------------ */

typedef struct {
    const char *label;          /* borrowed from the model */
    double p;
    bool suggested;
    double threshold;
} ih_model_guess_t;

typedef struct {
    ih_model_guess_t top [IH_MODEL_FIELDS][IH_MODEL_TOP];   /* by probability, highest first */
    size_t ntop [IH_MODEL_FIELDS];
} ih_model_prediction_t;

/*  Suggestions for len bytes of text (title and summary as one text), carrying IOCs of
    the types in ioc_types (bits per ih_ioc_type_t; 0 when unknown): up to IH_MODEL_TOP
    candidates per field, highest probability first, below the threshold too. t is the
    calling thread's tokeniser. The console's share form pre-fills the suggested ones
    and marks them as suggestions. Never fails: an empty text gives the priors. */
void ih_model_predict(const ih_model_t *self, ih_text_t *t, const char *text, size_t len,
                      uint32_t ioc_types, ih_model_prediction_t *out);

/*  Every probability for a text (what eval scores): p [f][k] for field f's label k
    (ih_model_labels), at most max of a field. Returns whether the text has a term the
    model knows (else ih_model_predict suggests nothing). */
bool ih_model_scores(const ih_model_t *self, ih_text_t *t, const char *text, size_t len,
                     uint32_t ioc_types, double *p [IH_MODEL_FIELDS], size_t max);
/*  The labels of a field, their thresholds: label k is names [k]. Returns how many. */
size_t ih_model_labels(const ih_model_t *self, ih_model_field_t f, const char **names,
                       double *thresholds, size_t max);

/* ---- `infohub-agent model eval` (ih_model_eval.c) ------------------------------------------- */

/*  Cross-validation split by source document: k folds of whole groups; each fold's
    model is trained on the others (vocabulary, classifiers and thresholds) and scored on
    it. With curve, also the learning curve: the same folds trained on a quarter and a
    half of the other folds' source documents ("curve": share, training alerts, category
    accuracy, tags suggested and their precision, tags micro-F1, techniques macro-F1).
    Returns the report as a JSON object (the caller's to decref), or NULL with err when
    there is too little to split. */
json_t *ih_model_eval(const ih_model_data_t *data, int k, bool curve, ih_err_t *err);
/*  The report as text for a person. */
void ih_model_eval_print(json_t *report, FILE *out);

void ih_model_test(bool verbose);

#endif

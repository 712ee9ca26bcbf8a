/*  cmd_analyse.c: `analyse`, `related` and `model` (train, status, eval): the text
    analytics on the command line (cmd.h; README.md "Analytics").

      analyse FILE|-     the IOCs of a text (with their warninglist hits), the model's
                         suggestions, and the related alerts the store holds
      related ID         the alerts most related to a stored one
      model train        trains STORE/model from the store, now (the daemon does it in
                         the background as alerts come in)
      model status       what the model was trained on, its labels and thresholds
      model eval         cross-validation split by source document (ih_model_eval.c)

    Nothing here needs a model: without one (or with a stale one), analyse says "no
    model yet" and still extracts and finds related alerts.
*/
#include <czmq.h>
#include <inttypes.h>

#include "cmd.h"
#include "ih_extract.h"
#include "ih_model.h"
#include "ih_related.h"
#include "ih_store_prefix.h"
#include "ih_warninglist.h"

/* ---- analyse ------------------------------------------------------------------------------- */

typedef struct {
    json_t *iocs;               /* [{type, value, warninglist}] */
    ih_ioc_t *list;             /* the IOCs, for related (values owned by `values`) */
    size_t n, cap;
    zlistx_t *values;
    zlistx_t *refs;
    uint32_t types;
} s_found_t;

static int
s_found (const ih_extract_hit_t *h, void *arg)
{
    s_found_t *f = (s_found_t *) arg;
    if (h->kind == IH_EXTRACT_REFERENCE)
        zlistx_add_end (f->refs, (void *) h->value);
    if (h->kind != IH_EXTRACT_IOC && h->kind != IH_EXTRACT_TECHNIQUE)
        return 0;
    const char *type = h->kind == IH_EXTRACT_IOC ? ih_ioc_type_name (h->type) : "technique";
    json_t *one = json_pack ("{s:s, s:s}", "type", type, "value", h->value);
    json_object_set_new (one, "warninglist", h->warninglist ? json_string (h->warninglist) : json_null ());
    json_array_append_new (f->iocs, one);
    if (h->kind == IH_EXTRACT_IOC) {
        f->types |= 1u << h->type;
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 32;
            f->list = (ih_ioc_t *) realloc (f->list, f->cap * sizeof *f->list);
            if (!f->list)
                abort ();
        }
        void *handle = zlistx_add_end (f->values, (void *) h->value);
        f->list [f->n++] = (ih_ioc_t) { h->type, (const char *) zlistx_handle_item (handle), "", true };
    }
    return 0;
}

/*  The related hits as JSON, retracted or unknown alerts left out (the index may lag a
    retraction; the store says). */
static json_t *
s_related_json (ih_store_t *store, const ih_related_hit_t *hits, int n, size_t max)
{
    json_t *a = json_array ();
    for (int i = 0; i < n && json_array_size (a) < max; i++) {
        ih_store_alert_t info;
        ih_err_t err;
        if (store && ih_store_get (store, hits [i].id, NULL, &info, &err) == 1 && info.retracted)
            continue;
        json_t *one = json_pack ("{s:s, s:s, s:f, s:b}", "id", hits [i].id, "title", hits [i].title,
                                 "score", round (hits [i].score * 1000) / 1000, "near_duplicate",
                                 hits [i].near_duplicate);
        if (hits [i].shared_iocs)
            json_object_set_new (one, "shared_iocs", json_integer (hits [i].shared_iocs));
        if (hits [i].shared_reference)
            json_object_set_new (one, "shared_reference", json_true ());
        json_array_append_new (a, one);
    }
    return a;
}

static void
s_print_related (json_t *related)
{
    size_t i;
    json_t *r;
    if (json_array_size (related) == 0)
        printf ("  (none)\n");
    json_array_foreach (related, i, r) {
        char clean [IH_MAX_TITLE + 1];
        snprintf (clean, sizeof clean, "%s", cmd_jstr (r, "title"));
        for (char *p = clean; *p; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                *p = ' ';
        printf ("  %.3f  %s  %s%s\n", json_number_value (json_object_get (r, "score")), cmd_jstr (r, "id"), clean,
                json_is_true (json_object_get (r, "near_duplicate")) ? "  [near-duplicate]" : "");
    }
}

int
cmd_analyse (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            as_json = true;
        else
        if (argv [i][0] == '-' && argv [i][1])
            return cmd_fail ("analyse: unknown option '%s'; see analyse --help", argv [i]);
        else
        if (file)
            return cmd_fail ("analyse: one FILE only (got '%s' and '%s')", file, argv [i]);
        else
            file = argv [i];
    }
    if (!file)
        return cmd_fail ("analyse: FILE (or - for stdin) is missing; see analyse --help");
    ih_err_t err = { "" };
    size_t len = 0;
    char *text = ih_file_read (file, CMD_MAX_INPUT, &len, &err);
    if (!text)
        return cmd_fail ("analyse: %s", err.msg);
    //  IOCs, each with the warninglist it hits.
    ih_warninglist_t *wl = NULL;
    char *wl_dir = ih_warninglist_dir (cfg->warninglists, cfg->path, &err);
    if (wl_dir)
        wl = ih_warninglist_load (wl_dir, &err);
    if (!wl)
        cmd_log ('W', "analyse: no warninglists: %s", err.msg);
    free (wl_dir);
    s_found_t found = { json_array (), NULL, 0, 0, zlistx_new (), zlistx_new (), 0 };
    zlistx_set_duplicator (found.values, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (found.values, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (found.refs, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (found.refs, (zlistx_destructor_fn *) zstr_free);
    ih_extract_opts_t opts = { false, wl };
    ih_extract_run (text, len, &opts, s_found, &found);
    //  Suggestions.
    json_t *out = json_object ();
    json_object_set_new (out, "iocs", found.iocs);
    char *model_path = ih_model_path (cfg->store);
    ih_model_t *model = ih_model_load (model_path, &err);
    char model_note [300] = "";
    if (!model)
        snprintf (model_note, sizeof model_note, "%s", err.msg);
    ih_model_prediction_t pr;
    memset (&pr, 0, sizeof pr);
    if (model) {
        ih_text_t *t = ih_text_new ();
        ih_model_predict (model, t, text, len, found.types, &pr);
        ih_text_destroy (&t);
    }
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        json_t *a = json_array ();
        for (size_t i = 0; i < pr.ntop [f]; i++)
            json_array_append_new (a, json_pack ("{s:s, s:f, s:b}", "label", pr.top [f][i].label, "p",
                                   round (pr.top [f][i].p * 1000) / 1000, "suggested", pr.top [f][i].suggested));
        json_object_set_new (out, ih_model_field_name ((ih_model_field_t) f), a);
    }
    //  Related alerts.
    ih_related_t *rel = ih_related_open (cfg->store, false, &err);
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    ih_related_hit_t hits [IH_RELATED_MAX];
    int nh = 0;
    if (rel) {
        const char **refs = (const char **) calloc (zlistx_size (found.refs) + 1, sizeof *refs);
        size_t nrefs = 0;
        for (const char *r = (const char *) zlistx_first (found.refs); r; r = (const char *) zlistx_next (found.refs))
            refs [nrefs++] = r;
        ih_related_query_t q = { text, len, found.list, found.n, refs, nrefs };
        nh = ih_related_query (rel, &q, hits, IH_RELATED_MAX, &err);
        if (nh < 0) {
            cmd_log ('W', "analyse: %s", err.msg);
            nh = 0;
        }
        free (refs);
    }
    json_object_set_new (out, "related", s_related_json (store, hits, nh, IH_RELATED_DEFAULT));
    int rc = 0;
    if (as_json) {
        if (model_note [0])
            cmd_log ('I', "analyse: %s: no suggestions", model_note);
        rc = cmd_print_json (out) == 0 ? 0 : 1;
    }
    else {
        json_t *iocs = json_object_get (out, "iocs");
        printf ("IOCs (%zu)\n", json_array_size (iocs));
        size_t i;
        json_t *one;
        json_array_foreach (iocs, i, one) {
            const char *wl_name = json_string_value (json_object_get (one, "warninglist"));
            printf ("  %-10s %s%s%s%s\n", cmd_jstr (one, "type"), cmd_jstr (one, "value"),
                    wl_name ? "  [warninglist: " : "", wl_name ? wl_name : "", wl_name ? "]" : "");
        }
        if (model_note [0])
            printf ("\nsuggestions: %s (they appear once the daemon or `model train` has trained one)\n",
                    model_note);
        else
            for (int f = 0; f < IH_MODEL_FIELDS; f++) {
                printf ("\n%s\n", ih_model_field_name ((ih_model_field_t) f));
                for (size_t k = 0; k < pr.ntop [f]; k++)
                    printf ("  %-24s %.3f%s\n", pr.top [f][k].label, pr.top [f][k].p,
                            pr.top [f][k].suggested ? "  suggested" : "");
            }
        printf ("\nrelated alerts\n");
        s_print_related (json_object_get (out, "related"));
        json_decref (out);
    }
    ih_model_destroy (&model);
    ih_related_destroy (&rel);
    ih_store_destroy (&store);
    ih_warninglist_destroy (&wl);
    free (model_path);
    free (found.list);
    zlistx_destroy (&found.values);
    zlistx_destroy (&found.refs);
    free (text);
    return rc;
}

/* ---- related -------------------------------------------------------------------------------- */

int
cmd_related (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false;
    const char *id = NULL;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            as_json = true;
        else
        if (argv [i][0] == '-')
            return cmd_fail ("related: unknown option '%s'; see related --help", argv [i]);
        else
        if (id)
            return cmd_fail ("related: one ID only (got '%s' and '%s')", id, argv [i]);
        else
            id = argv [i];
    }
    if (!id)
        return cmd_fail ("related: ID is missing; see related --help");
    char low [IH_UUID_LEN + 1];
    size_t n = strlen (id);
    for (size_t i = 0; i <= n && n <= IH_UUID_LEN; i++)
        low [i] = (char) tolower ((unsigned char) id [i]);
    if (n > IH_UUID_LEN || n < IH_STORE_PREFIX_MIN || !ih_store_prefix_valid (low))
        return cmd_fail ("related: '%.64s' is not an alert id nor the start of one (at least %d characters)", id,
                         IH_STORE_PREFIX_MIN);
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store)
        return missing ? cmd_fail ("related: no alert '%s' (the store is empty)", id) : cmd_fail ("%s", err.msg);
    char ids [2][IH_UUID_LEN + 1];
    int found = ih_store_find_prefix (store, low, ids, 2, &err);
    if (found != 1) {
        ih_store_destroy (&store);
        return found < 0 ? cmd_fail ("related: %s", err.msg)
             : found == 0 ? cmd_fail ("related: no alert starts with '%s'", id)
                          : cmd_fail ("related: '%s' is ambiguous: %d alerts start with it", id, found);
    }
    ih_related_t *rel = ih_related_open (cfg->store, false, &err);
    ih_related_hit_t hits [IH_RELATED_MAX];
    int nh = rel ? ih_related_for_alert (rel, ids [0], hits, IH_RELATED_MAX, &err) : 0;
    if (nh < 0) {
        ih_related_destroy (&rel);
        ih_store_destroy (&store);
        return cmd_fail ("%s", err.msg);
    }
    json_t *related = s_related_json (store, hits, nh, IH_RELATED_DEFAULT);
    int rc = 0;
    if (as_json)
        rc = cmd_print_json (json_pack ("{s:s, s:o}", "id", ids [0], "related", related)) == 0 ? 0 : 1;
    else {
        if (!rel)
            printf ("(the related-alerts index does not exist yet: the daemon builds it)\n");
        printf ("alerts related to %s\n", ids [0]);
        s_print_related (related);
        json_decref (related);
    }
    ih_related_destroy (&rel);
    ih_store_destroy (&store);
    return rc;
}

/* ---- model ---------------------------------------------------------------------------------- */

static int
s_model_train (ih_agent_cfg_t *cfg)
{
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store)
        return cmd_fail ("model train: %s", missing ? "the store is empty (no alerts to learn from)" : err.msg);
    ih_model_data_t data;
    memset (&data, 0, sizeof data);
    int64_t t0 = zclock_mono ();
    int rc = ih_model_data_load (&data, store, &err);
    ih_store_destroy (&store);
    if (rc != 0) {
        ih_model_data_free (&data);
        return cmd_fail ("model train: %s", err.msg);
    }
    ih_model_t *m = ih_model_train (&data, NULL, 0, &err);
    ih_model_data_free (&data);
    if (!m)
        return cmd_fail ("%s", err.msg);
    char *path = ih_model_path (cfg->store);
    rc = ih_model_save (m, path, &err);
    if (rc == 0)
        cmd_log ('I', "model trained on %zu alerts in %.1f s: %s", ih_model_alerts (m),
                 (double) (zclock_mono () - t0) / 1000.0, path);
    ih_model_destroy (&m);
    free (path);
    return rc == 0 ? 0 : cmd_fail ("%s", err.msg);
}

static int
s_model_status (ih_agent_cfg_t *cfg, bool as_json)
{
    ih_err_t err = { "" };
    char *path = ih_model_path (cfg->store);
    ih_model_t *m = ih_model_load (path, &err);
    if (!m) {
        if (as_json)
            cmd_print_json (json_pack ("{s:s, s:s}", "file", path, "model", err.msg));
        else
            printf ("model: %s (file %s)\n", err.msg, path);
        free (path);
        return 0;
    }
    json_error_t jerr;
    json_t *meta = json_loads (ih_model_meta_json (m), 0, &jerr);
    int rc = 0;
    if (as_json) {
        json_object_set_new (meta, "file", json_string (path));
        rc = cmd_print_json (meta) == 0 ? 0 : 1;
    }
    else {
        char when [IH_TIME_MAX];
        ih_time_format (ih_model_trained_ms (m), when);
        printf ("model %s\n  trained %s on %zu alerts, %d terms\n", path, when, ih_model_alerts (m),
                (int) json_integer_value (json_object_get (meta, "terms")));
        printf ("  probabilities are calibrated on cross-validation folds split by source document; a label\n"
                "  is suggested from its threshold: the lowest probability from which its suggestions in\n"
                "  the folds were right at least %.2f of the time with %.0f %% confidence, else %.2f\n",
                IH_MODEL_PRECISION, IH_MODEL_CONFIDENCE * 100, IH_MODEL_DEFAULT_THRESHOLD);
        for (int f = 0; f < IH_MODEL_FIELDS; f++) {
            const char *name = ih_model_field_name ((ih_model_field_t) f);
            json_t *labels = json_object_get (json_object_get (meta, "fields"), name);
            printf ("\n%s (%zu labels)\n  %-24s %7s %9s %12s\n", name, json_array_size (labels), "label",
                    "alerts", "threshold", "cv precision");
            size_t i;
            json_t *one;
            json_array_foreach (labels, i, one) {
                json_t *prec = json_object_get (one, "cv_precision");
                char pbuf [32] = "-";
                if (prec)
                    snprintf (pbuf, sizeof pbuf, "%.3f", json_number_value (prec));
                printf ("  %-24s %7d %9.3f %12s\n", cmd_jstr (one, "label"),
                        (int) json_integer_value (json_object_get (one, "count")),
                        json_number_value (json_object_get (one, "threshold")), pbuf);
            }
        }
        json_decref (meta);
    }
    ih_model_destroy (&m);
    free (path);
    return rc;
}

static int
s_model_eval (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false, curve = false;
    uint64_t folds = 5;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            as_json = true;
        else
        if (streq (argv [i], "--curve"))
            curve = true;
        else
        if (streq (argv [i], "--folds")) {
            if (i + 1 >= argc || !ih_parse_uint (argv [i + 1], 2, 20, &folds))
                return cmd_fail ("model eval: --folds needs a number in 2..20 (got '%s')",
                                 i + 1 < argc ? argv [i + 1] : "");
            i++;
        }
        else
            return cmd_fail ("model eval: unknown argument '%s'; see model --help", argv [i]);
    }
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store)
        return cmd_fail ("model eval: %s", missing ? "the store is empty" : err.msg);
    ih_model_data_t data;
    memset (&data, 0, sizeof data);
    int rc = ih_model_data_load (&data, store, &err);
    ih_store_destroy (&store);
    json_t *report = rc == 0 ? ih_model_eval (&data, (int) folds, curve, &err) : NULL;
    ih_model_data_free (&data);
    if (!report)
        return cmd_fail ("%s", err.msg);
    if (as_json)
        return cmd_print_json (report) == 0 ? 0 : 1;
    ih_model_eval_print (report, stdout);
    json_decref (report);
    return 0;
}

int
cmd_model (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    if (argc < 1)
        return cmd_fail ("model: train, status or eval; see model --help");
    if (streq (argv [0], "train")) {
        if (argc > 1)
            return cmd_fail ("model train: unexpected argument '%s'", argv [1]);
        return s_model_train (cfg);
    }
    if (streq (argv [0], "status")) {
        bool as_json = argc > 1 && streq (argv [1], "--json");
        if (argc > (as_json ? 2 : 1))
            return cmd_fail ("model status: unexpected argument '%s'", argv [as_json ? 2 : 1]);
        return s_model_status (cfg, as_json);
    }
    if (streq (argv [0], "eval"))
        return s_model_eval (cfg, argc - 1, argv + 1);
    return cmd_fail ("model: unknown subcommand '%s' (train, status, eval); see model --help", argv [0]);
}

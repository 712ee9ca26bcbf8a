/*  fuzz_input: libFuzzer target for the parsers of files and command-line input (built by
    `make bin/fuzz-input`, run by `make fuzz`). The first input byte picks the parser, the
    rest is its input:
      0        ih_msg_from_json_str (alert/sighting/... JSON); what parses prints again
      1..12    ih_ioc_normalise as type (byte - 1); the normal form is a fixed point
      13       ih_ioc_guess; a guessed value normalises as the guessed type
      14       ih_time_parse; what parses formats and parses back the same
      15..18   ih_import_run stix21, misp, csv, text, with a callback that only prints
               each draft (the --dry-run path: nothing is published), as an org (the
               audience, attribution and documentation-range rules run)
      19       ih_extract_scan and ih_extract_tlp (both URL modes)
      20       ih_import_feed_manifest (a MISP feed's manifest.json): each uuid it gives
               is a lower-case UUID (it names a file)
      21       ih_model_from_bytes (a model file, STORE/model, as the agent and the
               console read it); what loads answers a prediction and lists its labels
    Other bytes wrap around (byte % 22). Everything is freed on every path (the fuzzer
    runs with LeakSanitizer).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_extract.h"
#include "ih_import.h"
#include "ih_ioc.h"
#include "ih_json.h"
#include "ih_model.h"
#include "ih_text.h"
#include "ih_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define S_SELECTORS 22

//  A NUL-terminated copy, for the parsers that take C strings (cut at the first NUL,
//  like a command-line argument would be)
static char *
s_cstr (const uint8_t *data, size_t size)
{
    char *s = malloc (size + 1);
    IH_CHECK (s);
    memcpy (s, data, size);
    s [size] = 0;
    return s;
}

static void
s_json (const uint8_t *data, size_t size)
{
    ih_msg_t m;
    ih_json_meta_t meta;
    ih_err_t err;
    if (ih_msg_from_json_str (&m, (const char *) data, size, &meta, &err) == 0) {
        char *out = ih_msg_to_json_str (&m, &meta);
        IH_CHECK (out);
        free (out);
    }
    else
        IH_CHECK (err.msg [0] != 0);
    ih_msg_free (&m);
}

static void
s_ioc (ih_ioc_type_t t, const uint8_t *data, size_t size)
{
    char *in = s_cstr (data, size);
    char out [IH_MAX_IOC_VALUE + 1];
    ih_err_t err;
    if (ih_ioc_normalise (t, in, out, sizeof out, &err) == 0) {
        char again [IH_MAX_IOC_VALUE + 1];
        IH_CHECK (ih_ioc_normalise (t, out, again, sizeof again, &err) == 0);
        IH_CHECK (strcmp (out, again) == 0);
    }
    else
        IH_CHECK (err.msg [0] != 0);
    //  A small output must fail cleanly, never write past it
    char small [8];
    (void) ih_ioc_normalise (t, in, small, sizeof small, &err);
    char refanged [IH_MAX_IOC_VALUE + 1];
    (void) ih_ioc_refang (in, refanged, sizeof refanged);
    free (in);
}

static void
s_guess (const uint8_t *data, size_t size)
{
    char *in = s_cstr (data, size);
    ih_ioc_type_t t;
    if (ih_ioc_guess (in, &t) == 0) {
        char out [IH_MAX_IOC_VALUE + 1];
        ih_err_t err;
        IH_CHECK (ih_ioc_normalise (t, in, out, sizeof out, &err) == 0);
    }
    free (in);
}

static void
s_time (const uint8_t *data, size_t size)
{
    char *in = s_cstr (data, size);
    int64_t ms;
    ih_err_t err;
    if (ih_time_parse (in, &ms, &err) == 0) {
        char text [IH_TIME_MAX];
        ih_time_format (ms, text);
        int64_t ms2;
        IH_CHECK (ih_time_parse (text, &ms2, &err) == 0);
        IH_CHECK (ms2 == ms);
    }
    else
        IH_CHECK (err.msg [0] != 0);
    free (in);
}

static int
s_print_draft (ih_msg_t *draft, void *arg, ih_err_t *why)
{
    (void) why;
    IH_CHECK (ih_uuid_valid (draft->id));
    char *out = ih_msg_to_json_str (draft, NULL);
    IH_CHECK (out);
    free (out);
    (*(int *) arg)++;
    return IH_IMPORT_NEW;
}

static void
s_import (ih_import_format_t format, const uint8_t *data, size_t size)
{
    //  The parsers take (data, len): give them an exact-size heap copy so that ASan
    //  sees any read past len
    char *copy = malloc (size ? size : 1);
    IH_CHECK (copy);
    if (size)
        memcpy (copy, data, size);
    ih_import_opts_t opts;
    ih_import_opts_init (&opts);
    //  Half the inputs get a default TLP, so that the paths after the TLP check run
    if (size && (data [size - 1] & 1))
        opts.tlp = IH_TLP_AMBER;
    opts.source = "fuzz";
    opts.org = "bank-f";
    ih_import_report_t report;
    ih_err_t err;
    int drafts = 0;
    if (ih_import_run (format, copy, size, &opts, s_print_draft, &drafts, &report, &err) == 0) {
        IH_CHECK ((uint64_t) drafts == report.alerts);
        char text [1024];
        ih_import_report_text (&report, text, sizeof text);
    }
    else
        IH_CHECK (err.msg [0] != 0);
    free (copy);
}

static int
s_hit (const ih_extract_hit_t *hit, void *arg)
{
    IH_CHECK (hit->value);
    if (hit->kind == IH_EXTRACT_IOC) {
        char out [IH_MAX_IOC_VALUE + 1];
        ih_err_t err;
        int rc = ih_ioc_normalise (hit->type, hit->value, out, sizeof out, &err);
        if (rc)
            fprintf (stderr, "extracted %s '%s' does not normalise: %s\n",
                     ih_ioc_type_name (hit->type), hit->value, err.msg);
        IH_CHECK (rc == 0);
    }
    return 0;
}

static void
s_extract (const uint8_t *data, size_t size)
{
    char *copy = malloc (size ? size : 1);
    IH_CHECK (copy);
    if (size)
        memcpy (copy, data, size);
    (void) ih_extract_scan (copy, size, false, s_hit, NULL);
    (void) ih_extract_scan (copy, size, true, s_hit, NULL);
    int tlp = ih_extract_tlp (copy, size);
    IH_CHECK (tlp >= -1 && tlp <= IH_TLP_RED);
    free (copy);
}

static int
s_uuid (const char *uuid, void *arg)
{
    IH_CHECK (ih_uuid_valid (uuid));
    (*(size_t *) arg)++;
    return 0;
}

static void
s_manifest (const uint8_t *data, size_t size)
{
    char *copy = malloc (size ? size : 1);
    IH_CHECK (copy);
    if (size)
        memcpy (copy, data, size);
    size_t n = 0, bad = 0;
    ih_err_t err;
    if (ih_import_feed_manifest (copy, size, s_uuid, &n, &bad, &err) != 0)
        IH_CHECK (err.msg [0] != 0);
    free (copy);
}

static void
s_model (const uint8_t *data, size_t size)
{
    ih_err_t err;
    ih_model_t *m = ih_model_from_bytes ((const char *) data, size, "fuzz", &err);
    if (!m) {
        IH_CHECK (err.msg [0] != 0);
        return;
    }
    static ih_text_t *t;
    if (!t)
        t = ih_text_new ();         //  kept: the stemmer is costly to make
    const char *text = "Phishing e-mails lead to a fake bank login page; ransomware 勒索软件 follows";
    ih_model_prediction_t pr;
    ih_model_predict (m, t, text, strlen (text), 0, &pr);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        IH_CHECK (pr.ntop [f] <= IH_MODEL_TOP);
        for (size_t i = 0; i < pr.ntop [f]; i++)
            IH_CHECK (pr.top [f][i].label && pr.top [f][i].p >= 0 && pr.top [f][i].p <= 1.000001);
        const char *names [64];
        double thr [64];
        (void) ih_model_labels (m, (ih_model_field_t) f, names, thr, 64);
    }
    ih_model_destroy (&m);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int sel = data [0] % S_SELECTORS;
    data++;
    size--;
    if (sel == 0)
        s_json (data, size);
    else
    if (sel <= IH_IOC_COUNT)
        s_ioc ((ih_ioc_type_t) (sel - 1), data, size);
    else
    if (sel == 13)
        s_guess (data, size);
    else
    if (sel == 14)
        s_time (data, size);
    else
    if (sel <= 18)
        s_import ((ih_import_format_t) (sel - 15), data, size);
    else
    if (sel == 19)
        s_extract (data, size);
    else
    if (sel == 20)
        s_manifest (data, size);
    else
        s_model (data, size);
    return 0;
}

/*  ih_extract_test.c: the self-tests of ih_extract (ih_extract.h): the rules one by one,
    and every case of tests/analytics/extract_cases.jsonl (the extractor's specification),
    which prints each failing case with what was expected and what came out. */
#ifdef IH_SELFTEST
#include <czmq.h>
#include <jansson.h>

#include "ih_extract.h"
#include "ih_ioc.h"

typedef struct {
    char seen [48][200];
    int n;
    int stop_at;
} s_tseen_t;

static int
s_tcollect (const ih_extract_hit_t *h, void *arg)
{
    s_tseen_t *t = (s_tseen_t *) arg;
    if (t->stop_at && t->n == t->stop_at)
        return 7;
    IH_CHECK (t->n < 48);
    static const char *kinds [] = { "ioc", "ref", "skip", "technique" };
    snprintf (t->seen [t->n++], sizeof t->seen [0], "%s %s %s%s%s%s%s%s", kinds [h->kind],
              h->kind == IH_EXTRACT_IOC ? ih_ioc_type_name (h->type) : "-", h->value,
              h->comment [0] ? " / " : "", h->comment, h->kind == IH_EXTRACT_IOC && !h->detect ? " nodetect" : "",
              h->warninglist ? " wl:" : "", h->warninglist ? h->warninglist : "");
    return 0;
}

static bool
s_thas (const s_tseen_t *t, const char *want)
{
    for (int i = 0; i < t->n; i++)
        if (streq (t->seen [i], want))
            return true;
    return false;
}

void
ih_extract_test (bool verbose)
{
    const char *text =
        "Subject: \"Invoice\" wave -- TLP:GREEN\n"
        "Lure (invoice.exe) and update.zip, later update[.]zip; calls hxxps://pay-portal[.]top/login,\n"
        "45.33.32[.]156:8443, [2a03:2880::1]:443 and <evil-cdn(.)com>. Mail: billing[@]pay-portal[.]top.\n"
        "Hash 0C7B8F5D3E2A1B9C8D7E6F5A4B3C2D1E; CVE-2024-3400, AS64496, e.g. see readme.md or notes.txt\n"
        "at https://advisories.example.org/2024/1 and www.evil.example. 10.0.0.1 is internal (T1566.001).\n"
        "Also: evil-cdn.com:8080, run.ps1 and \"x.vbs\". Handled as TLP: amber.\n";
    s_tseen_t t;
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_scan (text, strlen (text), false, s_tcollect, &t) == 0);
    if (verbose)
        for (int i = 0; i < t.n; i++)
            printf ("  %s\n", t.seen [i]);
    IH_CHECK (s_thas (&t, "ioc filename invoice.exe nodetect"));
    IH_CHECK (s_thas (&t, "skip - update.zip"));
    IH_CHECK (s_thas (&t, "ioc domain update.zip"));            //  defanged: a domain
    IH_CHECK (s_thas (&t, "ioc url https://pay-portal.top/login"));
    IH_CHECK (s_thas (&t, "ioc ipv4 45.33.32.156 / port 8443"));
    IH_CHECK (s_thas (&t, "ioc ipv6 2a03:2880::1 / port 443"));
    IH_CHECK (s_thas (&t, "ioc domain evil-cdn.com"));
    IH_CHECK (!s_thas (&t, "ioc domain evil-cdn.com / port 8080"));     //  each value once
    IH_CHECK (s_thas (&t, "ioc email billing@pay-portal.top"));
    IH_CHECK (s_thas (&t, "ioc md5 0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e"));
    IH_CHECK (s_thas (&t, "ioc cve CVE-2024-3400") && s_thas (&t, "ioc asn AS64496"));
    IH_CHECK (s_thas (&t, "ref - https://advisories.example.org/2024/1"));
    IH_CHECK (s_thas (&t, "skip - www.evil.example"));          //  .example: no public suffix
    IH_CHECK (s_thas (&t, "skip - readme.md"));
    IH_CHECK (s_thas (&t, "ioc ipv4 10.0.0.1"));                //  warninglists decide later
    IH_CHECK (s_thas (&t, "technique - T1566.001"));
    IH_CHECK (s_thas (&t, "ioc filename run.ps1 nodetect") && s_thas (&t, "ioc filename x.vbs nodetect"));
    for (int i = 0; i < t.n; i++) {
        IH_CHECK (!strstr (t.seen [i], "notes.txt") && !strstr (t.seen [i], "ioc domain e.g"));
        IH_CHECK (!strstr (t.seen [i], "ioc domain invoice.exe"));
    }
    //  plain URLs as IOCs; fn stops the scan with its value.
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_scan ("see https://pay-portal.top/x.", 29, true, s_tcollect, &t) == 0);
    IH_CHECK (t.n == 1 && streq (t.seen [0], "ioc url https://pay-portal.top/x"));
    memset (&t, 0, sizeof t);
    t.stop_at = 1;
    IH_CHECK (ih_extract_scan (text, strlen (text), false, s_tcollect, &t) == 7);
    IH_CHECK (ih_extract_scan ("", 0, false, s_tcollect, &t) == 0);
    //  An executable-looking name that is no valid file name (control characters,
    //  invalid UTF-8) is not handed out as a filename IOC (found by fuzzing).
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_scan ("A\x18\x18voice.exe bad\xff.dll ok.exe", 28, false, s_tcollect, &t) == 0);
    IH_CHECK (s_thas (&t, "ioc filename ok.exe nodetect"));
    for (int i = 0; i < t.n; i++)
        IH_CHECK (!strstr (t.seen [i], "voice.exe") || strstr (t.seen [i], "voice.exe nodetect"));

    //  Warninglists: each IOC says which list it hits.
    char dir [] = "/tmp/ih-extract-wl-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char path [128];
    snprintf (path, sizeof path, "%s/resolvers.txt", dir);
    FILE *f = fopen (path, "w");
    IH_CHECK (f);
    fputs ("# name: public-resolvers\n8.8.8.8\n", f);
    fclose (f);
    ih_err_t err;
    ih_warninglist_t *wl = ih_warninglist_load (dir, &err);
    IH_CHECK (wl);
    ih_extract_opts_t opts = { false, wl };
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_run ("dns to 8.8.8.8 and 203.0.113.9", 30, &opts, s_tcollect, &t) == 0);
    IH_CHECK (t.n == 2 && streq (t.seen [0], "ioc ipv4 8.8.8.8 wl:public-resolvers")
              && streq (t.seen [1], "ioc ipv4 203.0.113.9"));
    ih_warninglist_destroy (&wl);
    unlink (path);
    rmdir (dir);

    //  TLP in prose: the most restrictive; WHITE is CLEAR; words must stand alone.
    IH_CHECK (ih_extract_tlp (text, strlen (text)) == IH_TLP_AMBER);
    IH_CHECK (ih_extract_tlp ("tlp:white", 9) == IH_TLP_CLEAR);
    IH_CHECK (ih_extract_tlp ("TLP:AMBER+STRICT and TLP:GREEN", 30) == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_extract_tlp ("TLP RED!", 8) == IH_TLP_RED);
    IH_CHECK (ih_extract_tlp ("TLP:REDDISH, ATLP:RED", 21) == -1);
    IH_CHECK (ih_extract_tlp ("no marking", 10) == -1);
    IH_CHECK (ih_extract_registrable ("evil.com") && !ih_extract_registrable ("co.uk")
              && !ih_extract_registrable ("evil.example"));
}

/* ---- the corpus --------------------------------------------------------------------------- */

typedef struct {
    zlistx_t *got;              /* "type value" of every IOC and technique */
    zlistx_t *refs;             /* references */
} s_case_t;

static int
s_case_hit (const ih_extract_hit_t *h, void *arg)
{
    s_case_t *c = (s_case_t *) arg;
    char line [IH_MAX_IOC_VALUE + 32];
    if (h->kind == IH_EXTRACT_IOC)
        snprintf (line, sizeof line, "%s %s", ih_ioc_type_name (h->type), h->value);
    else
    if (h->kind == IH_EXTRACT_TECHNIQUE)
        snprintf (line, sizeof line, "technique %s", h->value);
    else
    if (h->kind == IH_EXTRACT_REFERENCE) {
        zlistx_add_end (c->refs, (void *) h->value);
        return 0;
    }
    else
        return 0;
    zlistx_add_end (c->got, line);
    return 0;
}

static void
s_sorted (zlistx_t *l)
{
    zlistx_set_comparator (l, (zlistx_comparator_fn *) strcmp);
    zlistx_sort (l);
}

static bool
s_same (zlistx_t *a, zlistx_t *b)
{
    if (zlistx_size (a) != zlistx_size (b))
        return false;
    for (const char *x = (const char *) zlistx_first (a), *y = (const char *) zlistx_first (b); x && y;
         x = (const char *) zlistx_next (a), y = (const char *) zlistx_next (b))
        if (!streq (x, y))
            return false;
    return true;
}

static void
s_print_list (const char *what, zlistx_t *l)
{
    printf ("    %s:", what);
    for (const char *x = (const char *) zlistx_first (l); x; x = (const char *) zlistx_next (l))
        printf (" [%s]", x);
    printf ("\n");
}

void
ih_extract_corpus_test (bool verbose)
{
    const char *path = "tests/analytics/extract_cases.jsonl";
    FILE *f = fopen (path, "r");
    if (!f)
        fprintf (stderr, "extract_corpus: cannot open %s (run from the top of the tree)\n", path);
    IH_CHECK (f);
    char *line = NULL;
    size_t cap = 0;
    int cases = 0, failed = 0;
    while (getline (&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *j = json_loads (line, 0, &jerr);
        IH_CHECK (j);
        const char *name = json_string_value (json_object_get (j, "name"));
        const char *text = json_string_value (json_object_get (j, "text"));
        IH_CHECK (name && text);
        s_case_t c = { zlistx_new (), zlistx_new () };
        zlistx_set_duplicator (c.got, (zlistx_duplicator_fn *) strdup);
        zlistx_set_destructor (c.got, (zlistx_destructor_fn *) zstr_free);
        zlistx_set_duplicator (c.refs, (zlistx_duplicator_fn *) strdup);
        zlistx_set_destructor (c.refs, (zlistx_destructor_fn *) zstr_free);
        IH_CHECK (ih_extract_scan (text, strlen (text), false, s_case_hit, &c) == 0);
        zlistx_t *want = zlistx_new (), *want_refs = zlistx_new ();
        zlistx_set_duplicator (want, (zlistx_duplicator_fn *) strdup);
        zlistx_set_destructor (want, (zlistx_destructor_fn *) zstr_free);
        size_t k;
        json_t *e;
        json_array_foreach (json_object_get (j, "expect"), k, e) {
            char one [IH_MAX_IOC_VALUE + 32];
            snprintf (one, sizeof one, "%s %s", json_string_value (json_object_get (e, "type")),
                      json_string_value (json_object_get (e, "value")));
            zlistx_add_end (want, one);
        }
        json_array_foreach (json_object_get (j, "references"), k, e)
            zlistx_add_end (want_refs, (void *) json_string_value (e));
        s_sorted (want);
        s_sorted (want_refs);
        s_sorted (c.got);
        s_sorted (c.refs);
        cases++;
        bool ok = s_same (want, c.got) && s_same (want_refs, c.refs);
        if (!ok) {
            failed++;
            printf ("\n  FAIL %s: %s\n", name, text);
            s_print_list ("expected", want);
            s_print_list ("got     ", c.got);
            if (!s_same (want_refs, c.refs)) {
                s_print_list ("expected references", want_refs);
                s_print_list ("got references     ", c.refs);
            }
        }
        else
        if (verbose)
            printf ("\n  ok %s", name);
        zlistx_destroy (&want);
        zlistx_destroy (&want_refs);
        zlistx_destroy (&c.got);
        zlistx_destroy (&c.refs);
        json_decref (j);
    }
    free (line);
    fclose (f);
    printf ("%s%d of %d extraction cases pass ", failed || verbose ? "\n  " : "", cases - failed, cases);
    fflush (stdout);
    IH_CHECK (cases >= 200);
    IH_CHECK (failed == 0);
}
#endif

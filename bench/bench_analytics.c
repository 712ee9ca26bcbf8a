/*  bench-analytics: the text analytics at scale (bench/bench_analytics.sh; a benchmark,
    not a test).

    usage: bench-analytics load STOREDIR CORPUS.jsonl N
               fills STOREDIR with N alerts (the corpus's own when N is not more than its
               size, else synthetic ones made by recombining the corpus's sentences: each
               takes a corpus alert's labels, IOCs and first sentence, and its other
               sentences from alerts of the same category), straight through the store
               API (ih_store_ingest_msgs, as the daemon does after verification), then
               builds the related-alerts index (ih_related_catch_up) and times it
           bench-analytics related STOREDIR [QUERIES]
               times ih_related_for_alert over QUERIES (1000) random stored alerts
           bench-analytics analyse STOREDIR TEXTFILE [QUERIES]
               times one analysis in process: extraction, the model's prediction (the
               model loaded once) and ih_related_query, QUERIES (200) times
    Prints one line per figure on stdout.
*/
#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>

#include "ih_extract.h"
#include "ih_json.h"
#include "ih_model.h"
#include "ih_related.h"
#include "ih_store.h"

static uint64_t s_rng = 88172645463325252ULL;

static uint64_t
s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static double
s_ms (int64_t from_us)
{
    return (double) (zclock_usecs () - from_us) / 1000.0;
}

/*  The sentences of a summary: cut after ". " (good enough for recombining). */
static size_t
s_sentences (const char *text, char ***out)
{
    size_t n = 0, cap = 8;
    char **s = (char **) malloc (cap * sizeof *s);
    const char *p = text;
    while (*p) {
        const char *end = strstr (p, ". ");
        size_t len = end ? (size_t) (end - p) + 1 : strlen (p);
        if (n == cap) {
            cap *= 2;
            s = (char **) realloc (s, cap * sizeof *s);
        }
        s [n++] = strndup (p, len);
        p += len;
        while (*p == ' ')
            p++;
    }
    *out = s;
    return n;
}

typedef struct {
    ih_msg_t *msgs;
    size_t n;
    char ***sent;
    size_t *nsent;
} s_corpus_t;

static int
s_load_corpus (const char *path, s_corpus_t *c)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "bench-analytics: cannot open %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    c->msgs = (ih_msg_t *) calloc (1024, sizeof *c->msgs);
    c->sent = (char ***) calloc (1024, sizeof *c->sent);
    c->nsent = (size_t *) calloc (1024, sizeof *c->nsent);
    while (getline (&line, &cap, f) > 0 && c->n < 1024) {
        ih_err_t err;
        ih_msg_t *m = &c->msgs [c->n];
        if (ih_msg_from_json_str (m, line, strlen (line), NULL, &err) != 0) {
            fprintf (stderr, "bench-analytics: %s line %zu: %s\n", path, c->n + 1, err.msg);
            return -1;
        }
        c->nsent [c->n] = s_sentences (m->summary, &c->sent [c->n]);
        c->n++;
    }
    free (line);
    fclose (f);
    return 0;
}

/*  Alert i of the store: the corpus's own, or a recombination. */
static void
s_make (const s_corpus_t *c, size_t i, ih_msg_t *out)
{
    size_t base = i < c->n ? i : s_rand () % c->n;
    ih_msg_copy (out, &c->msgs [base]);
    ih_uuid_new (out->id);
    out->org = ih_msg_str (out, "bank-a");
    out->member = ih_msg_str (out, "soc");
    out->created = out->modified = ih_now_ms ();
    if (i < c->n)
        return;
    ih_buf_t b;
    ih_buf_init (&b);
    ih_buf_printf (&b, "%s", c->nsent [base] ? c->sent [base][0] : "");
    size_t want = c->nsent [base] > 1 ? c->nsent [base] - 1 : 1;
    for (size_t k = 0, tries = 0; k < want && tries < 200; tries++) {
        size_t j = s_rand () % c->n;
        if (c->msgs [j].category != c->msgs [base].category || c->nsent [j] == 0)
            continue;
        ih_buf_printf (&b, " %s", c->sent [j][s_rand () % c->nsent [j]]);
        k++;
    }
    char title [IH_MAX_TITLE + 1];
    snprintf (title, sizeof title, "%s (%zu)", c->msgs [base].title, i);
    out->title = ih_msg_str (out, title);
    out->summary = ih_msg_str (out, (const char *) b.data);
    ih_buf_free (&b);
}

static int
s_cmd_load (const char *dir, const char *corpus, size_t n)
{
    s_corpus_t c;
    memset (&c, 0, sizeof c);
    if (s_load_corpus (corpus, &c) != 0)
        return 1;
    ih_err_t err;
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, (uint64_t) 1 << 30, 0, &err);
    if (!store) {
        fprintf (stderr, "bench-analytics: %s\n", err.msg);
        return 1;
    }
    int64_t t0 = zclock_usecs ();
    size_t batch = 500;
    ih_msg_t *msgs = (ih_msg_t *) calloc (batch, sizeof *msgs);
    uint64_t *seqs = (uint64_t *) calloc (batch, sizeof *seqs);
    uint64_t seq = ih_store_cursor (store);
    for (size_t i = 0; i < n; ) {
        size_t k = 0;
        for (; k < batch && i < n; k++, i++) {
            s_make (&c, i, &msgs [k]);
            seqs [k] = ++seq;
        }
        if (ih_store_ingest_msgs (store, msgs, seqs, k, NULL, &err) != 0) {
            fprintf (stderr, "bench-analytics: ingest: %s\n", err.msg);
            return 1;
        }
        for (size_t j = 0; j < k; j++)
            ih_msg_free (&msgs [j]);
    }
    printf ("load: %zu alerts in %.1f s\n", n, s_ms (t0) / 1000);
    ih_related_t *rel = ih_related_open (dir, true, &err);
    if (!rel) {
        fprintf (stderr, "bench-analytics: %s\n", err.msg);
        return 1;
    }
    t0 = zclock_usecs ();
    int done;
    size_t total = 0;
    while ((done = ih_related_catch_up (rel, store, 2000, &err)) > 0)
        total += (size_t) done;
    if (done < 0) {
        fprintf (stderr, "bench-analytics: %s\n", err.msg);
        return 1;
    }
    printf ("related index: %zu alerts indexed in %.1f s (%.0f alerts/s)\n", total, s_ms (t0) / 1000,
            total / (s_ms (t0) / 1000));
    ih_related_destroy (&rel);
    ih_store_destroy (&store);
    free (msgs);
    free (seqs);
    return 0;
}

static int
s_collect_id (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    zlistx_add_end ((zlistx_t *) arg, (void *) m->id);
    return 0;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_report (const char *what, double *t, size_t n)
{
    qsort (t, n, sizeof *t, s_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += t [i];
    printf ("%s: %zu queries, mean %.2f ms, median %.2f ms, p99 %.2f ms, max %.2f ms\n", what, n, sum / n,
            t [n / 2], t [(size_t) ((double) n * 0.99)], t [n - 1]);
}

static int
s_cmd_related (const char *dir, size_t queries)
{
    ih_err_t err;
    ih_store_t *store = ih_store_open (dir, 0, 0, 0, &err);
    ih_related_t *rel = store ? ih_related_open (dir, false, &err) : NULL;
    if (!rel) {
        fprintf (stderr, "bench-analytics: %s\n", err.msg);
        return 1;
    }
    zlistx_t *ids = zlistx_new ();
    zlistx_set_duplicator (ids, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
    ih_store_foreach (store, 0, false, s_collect_id, ids, &err);
    size_t n = zlistx_size (ids);
    char **all = (char **) malloc (n * sizeof *all);
    size_t k = 0;
    for (char *id = (char *) zlistx_first (ids); id; id = (char *) zlistx_next (ids))
        all [k++] = id;
    double *t = (double *) malloc (queries * sizeof *t);
    ih_related_hit_t hits [IH_RELATED_MAX];
    size_t found = 0, dups = 0;
    for (size_t q = 0; q < queries; q++) {
        int64_t t0 = zclock_usecs ();
        int h = ih_related_for_alert (rel, all [s_rand () % n], hits, IH_RELATED_DEFAULT, &err);
        t [q] = s_ms (t0);
        found += h > 0 ? (size_t) h : 0;
        dups += h > 0 && hits [0].near_duplicate;
    }
    printf ("related over %" PRIu64 " indexed alerts: %.1f hits a query, %zu of %zu queries with a "
            "near-duplicate first\n", ih_related_count (rel), (double) found / queries, dups, queries);
    s_report ("related", t, queries);
    free (t);
    free (all);
    zlistx_destroy (&ids);
    ih_related_destroy (&rel);
    ih_store_destroy (&store);
    return 0;
}

static int
s_count_hit (const ih_extract_hit_t *h, void *arg)
{
    (*(int *) arg)++;
    return 0;
}

static int
s_cmd_analyse (const char *dir, const char *textfile, size_t queries)
{
    ih_err_t err;
    size_t len;
    char *text = ih_file_read (textfile, 1 << 20, &len, &err);
    char *mpath = ih_model_path (dir);
    int64_t t0 = zclock_usecs ();
    ih_model_t *m = text ? ih_model_load (mpath, &err) : NULL;
    double load_ms = s_ms (t0);
    ih_related_t *rel = m ? ih_related_open (dir, false, &err) : NULL;
    if (!rel) {
        fprintf (stderr, "bench-analytics: %s\n", err.msg);
        return 1;
    }
    printf ("model load: %.1f ms\n", load_ms);
    ih_text_t *t = ih_text_new ();
    double *times = (double *) malloc (queries * sizeof *times);
    for (size_t q = 0; q < queries; q++) {
        t0 = zclock_usecs ();
        int iocs = 0;
        ih_extract_run (text, len, NULL, s_count_hit, &iocs);
        ih_model_prediction_t pr;
        ih_model_predict (m, t, text, len, 0, &pr);
        ih_related_hit_t hits [IH_RELATED_MAX];
        ih_related_query_t rq = { text, len, NULL, 0, NULL, 0 };
        ih_related_query (rel, &rq, hits, IH_RELATED_DEFAULT, &err);
        times [q] = s_ms (t0);
    }
    s_report ("analyse (extract + predict + related, in process)", times, queries);
    free (times);
    ih_text_destroy (&t);
    ih_related_destroy (&rel);
    ih_model_destroy (&m);
    free (mpath);
    free (text);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc >= 5 && streq (argv [1], "load"))
        return s_cmd_load (argv [2], argv [3], (size_t) strtoul (argv [4], NULL, 10));
    if (argc >= 3 && streq (argv [1], "related"))
        return s_cmd_related (argv [2], argc > 3 ? (size_t) strtoul (argv [3], NULL, 10) : 1000);
    if (argc >= 4 && streq (argv [1], "analyse"))
        return s_cmd_analyse (argv [2], argv [3], argc > 4 ? (size_t) strtoul (argv [4], NULL, 10) : 200);
    fprintf (stderr, "usage: bench-analytics load STOREDIR CORPUS.jsonl N | related STOREDIR [Q] | "
                     "analyse STOREDIR TEXTFILE [Q]\n");
    return 2;
}

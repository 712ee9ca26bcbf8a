/*  ih_model_data.c: the model's training data from the store, and source documents:
    which alerts come from one report (ih_model.h). */
#include <czmq.h>

#include "ih_minhash.h"
#include "ih_model.h"
#include "ih_model_int.h"

/* ---- training data --------------------------------------------------------------------------- */

static char *
s_strdup (const char *s)
{
    char *d = strdup (s ? s : "");
    if (!d)
        abort ();
    return d;
}

static char **
s_strlist (const ih_strlist_t *l, size_t *n)
{
    *n = l->count;
    char **out = (char **) calloc (l->count + 1, sizeof *out);
    if (!out)
        abort ();
    for (uint32_t i = 0; i < l->count; i++)
        out [i] = s_strdup (l->items [i]);
    return out;
}

void
ih_model_data_add (ih_model_data_t *data, const ih_msg_t *m)
{
    if (data->n == data->cap) {
        data->cap = data->cap ? data->cap * 2 : 256;
        data->docs = (ih_model_doc_t *) realloc (data->docs, data->cap * sizeof *data->docs);
        if (!data->docs)
            abort ();
    }
    ih_model_doc_t *d = &data->docs [data->n++];
    memset (d, 0, sizeof *d);
    snprintf (d->id, sizeof d->id, "%s", m->id);
    d->title = s_strdup (m->title);
    size_t tl = strlen (m->title ? m->title : ""), sl = strlen (m->summary ? m->summary : "");
    d->text = (char *) malloc (tl + sl + 2);
    if (!d->text)
        abort ();
    memcpy (d->text, m->title ? m->title : "", tl);
    d->text [tl] = '\n';
    memcpy (d->text + tl + 1, m->summary ? m->summary : "", sl);
    d->text [tl + sl + 1] = 0;
    d->category = (int) m->category;
    d->severity = (int) m->severity;
    d->sectors = s_strlist (&m->sectors, &d->nsectors);
    d->tags = s_strlist (&m->tags, &d->ntags);
    d->refs = s_strlist (&m->references, &d->nrefs);
    for (uint32_t i = 0; i < m->ioc_count; i++)
        d->ioc_types |= 1u << m->iocs [i].type;
}

/*  The store is read in chunks of S_CHUNK alerts, one read transaction each: training
    runs at low priority beside a daemon that stores at full speed, and a transaction
    held while it waits for the CPU keeps the store's writer from reusing pages (a
    training that waited through a burst grew the store to several times its size). An
    alert revised between two chunks may come twice (at its old and its new seq): a
    duplicate document, no harm to a model. */
#define S_CHUNK 512

typedef struct {
    ih_model_data_t *data;
    uint64_t last;
    size_t seen;
} s_load_t;

static int
s_load_one (const ih_msg_t *msg, const ih_store_alert_t *info, void *arg)
{
    s_load_t *l = (s_load_t *) arg;
    if (!info->retracted)
        ih_model_data_add (l->data, msg);
    l->last = info->seq;
    return ++l->seen >= S_CHUNK;
}

int
ih_model_data_load (ih_model_data_t *data, ih_store_t *store, ih_err_t *err)
{
    s_load_t l = { data, 0, 0 };
    int rc;
    do {
        l.seen = 0;
        rc = ih_store_foreach (store, l.last, false, s_load_one, &l, err);
    } while (rc == 1);
    return rc < 0 ? -1 : 0;
}

static void
s_free_list (char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free (l [i]);
    free (l);
}

void
ih_model_data_free (ih_model_data_t *data)
{
    for (size_t i = 0; i < data->n; i++) {
        ih_model_doc_t *d = &data->docs [i];
        free (d->title);
        free (d->text);
        s_free_list (d->sectors, d->nsectors);
        s_free_list (d->tags, d->ntags);
        s_free_list (d->refs, d->nrefs);
    }
    free (data->docs);
    memset (data, 0, sizeof *data);
}

/* ---- source documents ------------------------------------------------------------------------ */

static size_t
s_find (size_t *parent, size_t i)
{
    while (parent [i] != i) {
        parent [i] = parent [parent [i]];
        i = parent [i];
    }
    return i;
}

static void
s_union (size_t *parent, size_t a, size_t b)
{
    a = s_find (parent, a);
    b = s_find (parent, b);
    if (a != b)
        parent [a > b ? a : b] = a < b ? a : b;
}

size_t
ih_model_groups (const ih_model_data_t *data, int **group)
{
    size_t n = data->n;
    size_t *parent = (size_t *) malloc ((n ? n : 1) * sizeof *parent);
    *group = (int *) malloc ((n ? n : 1) * sizeof **group);
    if (!parent || !*group)
        abort ();
    for (size_t i = 0; i < n; i++)
        parent [i] = i;
    //  A shared references URL: the same source document.
    zhashx_t *by_ref = zhashx_new ();
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < data->docs [i].nrefs; r++) {
            void *seen = zhashx_lookup (by_ref, data->docs [i].refs [r]);
            if (seen)
                s_union (parent, (size_t) (uintptr_t) seen - 1, i);
            else
                zhashx_insert (by_ref, data->docs [i].refs [r], (void *) (uintptr_t) (i + 1));
        }
    zhashx_destroy (&by_ref);
    //  Near-duplicate texts: candidates by LSH band, confirmed by the estimated Jaccard.
    ih_text_t *t = ih_text_new ();
    ih_minhash_t *sig = (ih_minhash_t *) malloc ((n ? n : 1) * sizeof *sig);
    if (!t || !sig)
        abort ();
    for (size_t i = 0; i < n; i++)
        ih_minhash_text (&sig [i], t, data->docs [i].text, strlen (data->docs [i].text));
    ih_u64map_t band;
    ih_u64map_init (&band, n * IH_MINHASH_BANDS);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < IH_MINHASH_BANDS && sig [i].shingles; b++) {
            uint32_t *first = ih_u64map_put (&band, ih_minhash_band (&sig [i], b), (uint32_t) i + 1);
            size_t j = *first - 1;
            if (j != i && s_find (parent, i) != s_find (parent, j)
            &&  ih_minhash_jaccard (&sig [i], &sig [j]) >= IH_MINHASH_NEAR_DUP)
                s_union (parent, i, j);
        }
    ih_u64map_free (&band);
    free (sig);
    ih_text_destroy (&t);
    //  Number the groups in the order of their first alert.
    size_t groups = 0;
    int *num = (int *) malloc ((n ? n : 1) * sizeof *num);
    if (!num)
        abort ();
    for (size_t i = 0; i < n; i++)
        num [i] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t root = s_find (parent, i);
        if (num [root] < 0)
            num [root] = (int) groups++;
        (*group) [i] = num [root];
    }
    free (num);
    free (parent);
    return groups;
}


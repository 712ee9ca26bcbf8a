/*  ih_taxii.c: the read-only TAXII 2.1 server (see ih_taxii.h). */
#include <czmq.h>
#include <errno.h>

#include "ih_added.h"
#include "ih_html.h"
#include "ih_stix.h"
#include "ih_taxii.h"

#define s_COLLECTION    IH_GW_COLLECTION
#define s_LIMIT_DEFAULT 100
#define s_LIMIT_MAX     1000
#define s_MATCH_MAX     32          /* values in one match[...] */
#define s_CACHE         "public, max-age=30"

const char *
ih_taxii_collection_id (void)
{
    return s_COLLECTION;
}

/* ---- Accept ------------------------------------------------------------------------------- */

/*  Trims spaces and tabs around [*s, *e). */
static void
s_trim (const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e) [-1] == ' ' || (*e) [-1] == '\t'))
        (*e)--;
}

static bool
s_ieq (const char *s, const char *e, const char *lit)
{
    size_t n = strlen (lit);
    return (size_t) (e - s) == n && strncasecmp (s, lit, n) == 0;
}

/*  One media range "type/sub;p=v;q=0.5": true when it admits TAXII 2.1. */
static bool
s_range_ok (const char *s, const char *e)
{
    const char *semi = memchr (s, ';', (size_t) (e - s));
    const char *te = semi ? semi : e;
    const char *ts = s;
    s_trim (&ts, &te);
    bool any = s_ieq (ts, te, "*/*") || s_ieq (ts, te, "application/*");
    bool taxii = s_ieq (ts, te, "application/taxii+json");
    if (!any && !taxii)
        return false;
    //  Parameters: q (0 refuses), version (must be 2.1 for the TAXII type).
    const char *p = semi;
    while (p && p < e) {
        const char *ps = p + 1;
        const char *pe = memchr (ps, ';', (size_t) (e - ps));
        if (!pe)
            pe = e;
        const char *eq = memchr (ps, '=', (size_t) (pe - ps));
        if (eq) {
            const char *ks = ps, *ke = eq, *vs = eq + 1, *ve = pe;
            s_trim (&ks, &ke);
            s_trim (&vs, &ve);
            if (ve - vs >= 2 && *vs == '"' && ve [-1] == '"') {
                vs++;
                ve--;
            }
            if (s_ieq (ks, ke, "q")) {
                char q [16] = "";
                size_t n = (size_t) (ve - vs) < sizeof q - 1 ? (size_t) (ve - vs) : sizeof q - 1;
                memcpy (q, vs, n);
                char *end = NULL;
                double v = strtod (q, &end);
                if (end == q || v <= 0)
                    return false;
            }
            else
            if (s_ieq (ks, ke, "version") && taxii && !s_ieq (vs, ve, "2.1"))
                return false;
        }
        p = pe < e ? pe : NULL;
    }
    return true;
}

bool
ih_taxii_accept_ok (const char *accept)
{
    if (!accept)
        return true;
    const char *p = accept;
    bool blank = true;
    while (*p) {
        const char *e = strchr (p, ',');
        if (!e)
            e = p + strlen (p);
        const char *s = p, *ee = e;
        s_trim (&s, &ee);
        if (s < ee) {
            blank = false;
            if (s_range_ok (s, ee))
                return true;
        }
        p = *e ? e + 1 : e;
    }
    return blank;
}

/* ---- STIX objects of an alert --------------------------------------------------------------- */

/*  Collects objects (ih_stix) into an array; only the one with id `only` when set. */
typedef struct {
    json_t *out;
    const char *only;
} s_collect_t;

static int
s_collect (json_t *o, void *arg)
{
    s_collect_t *c = (s_collect_t *) arg;
    if (!c->only || streq (json_string_value (json_object_get (o, "id")) ?: "", c->only))
        json_array_append (c->out, o);
    return 0;
}

/*  The alert's own objects (report, indicators, vulnerabilities) with the IOCs the
    public may see: all but those retracted one by one. */
static json_t *
s_alert_objects (const ih_msg_t *m, const ih_store_alert_t *info)
{
    ih_ioc_t *iocs = (ih_ioc_t *) malloc ((m->ioc_count ? m->ioc_count : 1) * sizeof *iocs);
    if (!iocs)
        abort ();
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (!info->retracted_iocs || !ih_store_ioc_retracted (info, &m->iocs [i]))
            iocs [n++] = m->iocs [i];
    s_collect_t c = { json_array (), NULL };
    ih_stix_own (m, iocs, n, s_collect, &c);
    free (iocs);
    return c.out;
}

/*  The shared object stix_id (an identity, a marking) as alert m describes it, or NULL. */
static json_t *
s_shared_object (const ih_msg_t *m, const char *stix_id)
{
    s_collect_t c = { json_array (), stix_id };
    ih_stix_shared (m, s_collect, &c);
    if (json_array_size (c.out) == 0) {
        json_decref (c.out);
        return NULL;
    }
    return c.out;
}

/* ---- filters ------------------------------------------------------------------------------- */

typedef struct {
    int n;
    char *v [s_MATCH_MAX];
} s_values_t;

typedef struct {
    s_values_t ids, types, versions, specs;
    int64_t from;               /* first date to walk (added_after + 1 µs) */
    int64_t skip_date;          /* next token: resume in this entry ... */
    int skip_idx;               /* ... at this object index */
    int limit;
    /* match[version], read from versions: none given is last */
    bool v_last, v_first, v_all;
    int v_nts;
    int64_t v_ts [s_MATCH_MAX];     /* exact versions (µs) */
} s_filter_t;

static void
s_values_free (s_values_t *v)
{
    for (int i = 0; i < v->n; i++)
        free (v->v [i]);
    v->n = 0;
}

/*  Splits a comma-separated match[...] value. -1 when there are too many. */
static int
s_values_parse (const char *text, s_values_t *out)
{
    if (!text)
        return 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr (p, ',');
        if (!e)
            e = p + strlen (p);
        const char *s = p, *ee = e;
        s_trim (&s, &ee);
        if (s < ee) {
            if (out->n == s_MATCH_MAX)
                return -1;
            out->v [out->n] = strndup (s, (size_t) (ee - s));
            if (!out->v [out->n])
                abort ();
            out->n++;
        }
        p = *e ? e + 1 : e;
    }
    return 0;
}

static bool
s_values_has (const s_values_t *v, const char *s)
{
    for (int i = 0; i < v->n; i++)
        if (s && streq (v->v [i], s))
            return true;
    return false;
}

/*  next tokens: "<date, 16 hex>.<index, hex>". */
static void
s_token (int64_t date, int idx, char *out, size_t outsz)
{
    snprintf (out, outsz, "%016" PRIx64 ".%x", (uint64_t) date, (unsigned) idx);
}

static int
s_token_parse (const char *s, int64_t *date, int *idx)
{
    if (!s || strlen (s) < 18 || strlen (s) > 26 || s [16] != '.')
        return -1;
    uint64_t d = 0;
    for (int i = 0; i < 16; i++) {
        char c = s [i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        d = (d << 4) | (uint64_t) v;
    }
    uint64_t x = 0;
    const char *p = s + 17;
    if (!*p)
        return -1;
    for (; *p; p++) {
        int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (v < 0 || x > 0xfffff)
            return -1;
        x = (x << 4) | (uint64_t) v;
    }
    if (d == 0 || d > (uint64_t) INT64_MAX)
        return -1;
    *date = (int64_t) d;
    *idx = (int) x;
    return 0;
}

static void
s_filter_free (s_filter_t *f)
{
    s_values_free (&f->ids);
    s_values_free (&f->types);
    s_values_free (&f->versions);
    s_values_free (&f->specs);
}

/*  match[version] into the keyword flags and the exact versions. -1 on a bad value. */
static int
s_versions_read (s_filter_t *f)
{
    f->v_last = f->v_first = f->v_all = false;
    f->v_nts = 0;
    for (int i = 0; i < f->versions.n; i++) {
        const char *x = f->versions.v [i];
        if (streq (x, "last"))
            f->v_last = true;
        else
        if (streq (x, "first"))
            f->v_first = true;
        else
        if (streq (x, "all"))
            f->v_all = true;
        else
        if (ih_added_parse (x, &f->v_ts [f->v_nts], NULL) == 0)
            f->v_nts++;
        else
            return -1;
    }
    if (f->versions.n == 0)
        f->v_last = true;           //  the default
    return 0;
}

/*  Only the last version of each object: the common case, answered from the latest
    revision alone. */
static bool
s_only_last (const s_filter_t *f)
{
    return f->v_last && !f->v_first && !f->v_all && f->v_nts == 0;
}

/*  Reads the query. Returns 0, or -1 with err (a 400). */
static int
s_filter_parse (ih_req_t *r, s_filter_t *f, ih_err_t *err)
{
    memset (f, 0, sizeof f [0]);
    f->limit = s_LIMIT_DEFAULT;
    f->v_last = true;
    const char *v;
    if ((v = ih_req_arg (r, "limit"))) {
        char *end = NULL;
        errno = 0;
        long n = strtol (v, &end, 10);
        if (errno || end == v || *end || n < 1)
            return ih_err_set (err, "limit: expected a positive number");
        f->limit = n > s_LIMIT_MAX ? s_LIMIT_MAX : (int) n;
    }
    if ((v = ih_req_arg (r, "added_after"))) {
        int64_t us;
        if (ih_added_parse (v, &us, err) != 0) {
            ih_err_prefix (err, "added_after");
            return -1;
        }
        f->from = us + 1;
    }
    if ((v = ih_req_arg (r, "next"))) {
        if (s_token_parse (v, &f->skip_date, &f->skip_idx) != 0)
            return ih_err_set (err, "next: not a token this server gave");
        if (f->skip_date > f->from)
            f->from = f->skip_date;
    }
    if (s_values_parse (ih_req_arg (r, "match[id]"), &f->ids)
    ||  s_values_parse (ih_req_arg (r, "match[type]"), &f->types)
    ||  s_values_parse (ih_req_arg (r, "match[version]"), &f->versions)
    ||  s_values_parse (ih_req_arg (r, "match[spec_version]"), &f->specs))
        return ih_err_set (err, "match: at most %d values per field", s_MATCH_MAX);
    if (s_versions_read (f) != 0)
        return ih_err_set (err, "match[version]: expected last, first, all or a timestamp");
    return 0;
}

/*  The id, type and spec_version filters (versions are chosen per entry). */
static bool
s_object_matches (const s_filter_t *f, json_t *o)
{
    const char *id = json_string_value (json_object_get (o, "id"));
    const char *type = json_string_value (json_object_get (o, "type"));
    const char *spec = json_string_value (json_object_get (o, "spec_version"));
    if (f->ids.n && !s_values_has (&f->ids, id))
        return false;
    if (f->types.n && !s_values_has (&f->types, type))
        return false;
    if (f->specs.n && !s_values_has (&f->specs, spec ? spec : "2.1"))
        return false;
    return true;
}

/*  An object's version: its modified (or created) timestamp. */
static const char *
s_version_of (json_t *o)
{
    const char *v = json_string_value (json_object_get (o, "modified"));
    return v ? v : json_string_value (json_object_get (o, "created"));
}

/*  Whether match[version] takes version ver of an object, being its first and/or last. */
static bool
s_version_taken (const s_filter_t *f, const char *ver, bool first, bool last)
{
    if (f->v_all || (f->v_first && first) || (f->v_last && last))
        return true;
    int64_t have;
    if (f->v_nts == 0 || !ver || ih_added_parse (ver, &have, NULL) != 0)
        return false;
    for (int i = 0; i < f->v_nts; i++)
        if (f->v_ts [i] == have)
            return true;
    return false;
}

/* ---- versions ---------------------------------------------------------------------------------- */

/*  VERSIONS. Each kept revision of an alert (ih_store.h, revisions) is a version of its
    objects: objects of revision n are built from revision n's body. The collection's
    objects are those of each alert's latest revision (an indicator a revision dropped
    is no longer in it, in no version); the versions of one are its modified timestamps
    over the revisions that carry it. A version is served once, at the log entry of the
    latest revision that carries it (its date added), from that revision's body: a
    revision that left an object unchanged (the same modified) does not repeat it. */
typedef struct {
    uint64_t seq;
    json_t *objs;               /* the revision's objects, in order */
    json_t *vers;               /* object id -> its version in this revision */
} s_rev_t;

typedef struct {
    const ih_store_alert_t *info;   /* the latest revision's: the IOCs retracted one by one */
    s_rev_t *revs;              /* kept revisions, lowest first */
    int n;
} s_revs_t;

static int
s_revs_add (const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg)
{
    s_revs_t *x = (s_revs_t *) arg;
    s_rev_t *more = (s_rev_t *) realloc (x->revs, (size_t) (x->n + 1) * sizeof *more);
    if (!more)
        abort ();
    x->revs = more;
    s_rev_t *r = &x->revs [x->n++];
    r->seq = rev->seq;
    r->objs = s_alert_objects (msg, x->info);
    r->vers = json_object ();
    size_t i;
    json_t *o;
    json_array_foreach (r->objs, i, o) {
        const char *id = json_string_value (json_object_get (o, "id"));
        const char *ver = s_version_of (o);
        if (id && ver)
            json_object_set_new (r->vers, id, json_string (ver));
    }
    return 0;
}

static void
s_revs_free (s_revs_t *x)
{
    for (int i = 0; i < x->n; i++) {
        json_decref (x->revs [i].objs);
        json_decref (x->revs [i].vers);
    }
    free (x->revs);
    x->revs = NULL;
    x->n = 0;
}

/*  The versions of alert m's objects that the log entry of revision seq serves under
    filter f (new reference), or NULL; -1 in *failed when the store cannot be read. */
static json_t *
s_entry_versions (ih_store_t *store, const s_filter_t *f, const ih_msg_t *m,
                  const ih_store_alert_t *info, uint64_t seq, bool *failed)
{
    s_revs_t x = { info, NULL, 0 };
    if (ih_store_revisions_foreach (store, m->id, s_revs_add, &x, NULL) < 0) {
        *failed = true;
        s_revs_free (&x);
        return NULL;
    }
    int k = -1, latest = -1;
    for (int i = 0; i < x.n; i++) {
        if (x.revs [i].seq == seq)
            k = i;
        if (x.revs [i].seq == info->seq)
            latest = i;
    }
    json_t *out = NULL;
    if (k >= 0 && latest >= 0) {
        out = json_array ();
        size_t i;
        json_t *o;
        json_array_foreach (x.revs [k].objs, i, o) {
            const char *id = json_string_value (json_object_get (o, "id"));
            const char *ver = s_version_of (o);
            const char *last = id ? json_string_value (json_object_get (x.revs [latest].vers, id)) : NULL;
            if (!ver || !last)
                continue;           //  not in the collection any more
            const char *first = NULL;
            int carrier = -1;       //  the latest revision that carries this version
            for (int j = 0; j < x.n; j++) {
                const char *vj = json_string_value (json_object_get (x.revs [j].vers, id));
                if (vj && !first)
                    first = vj;
                if (vj && streq (vj, ver))
                    carrier = j;
            }
            if (carrier == k && s_version_taken (f, ver, first && streq (first, ver), streq (last, ver)))
                json_array_append (out, o);
        }
    }
    else
    if (seq == info->seq && s_version_taken (f, NULL, false, true))
        out = s_alert_objects (m, info);    //  revisions not kept (a store older than them)
    s_revs_free (&x);
    return out;
}

/* ---- walking the collection ----------------------------------------------------------------- */

typedef enum { s_OBJECTS, s_MANIFEST, s_VERSIONS } s_mode_t;

typedef struct {
    ih_req_t *r;
    ih_store_t *store;
    s_filter_t *f;
    s_mode_t mode;
    json_t *out;                /* objects, manifest records, or versions */
    int count;
    int64_t first_added, last_added;
    bool more;
    int64_t next_date;
    int next_idx;
    /* what match[id] and match[type] leave (item: no store read for the rest) */
    bool alert_entries;         /* alert entries can give a wanted type */
    bool only_listed;           /* only the alerts below can have a wanted object */
    int nalerts;
    char alerts [s_MATCH_MAX][IH_UUID_LEN + 1];
    int64_t until;              /* no entry after this date can match (0: any) */
    bool failed;
} s_walk_t;

/*  The objects an entry contributes (new reference), or NULL for none: those of the
    revision it logged (ih_added.h), in the versions the filter takes. */
static json_t *
s_entry_objects (s_walk_t *w, const ih_added_entry_t *e)
{
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    json_t *out = NULL;
    int rc = ih_store_get (w->store, e->id, &m, &info, NULL);
    if (rc < 0)
        w->failed = true;
    if (rc == 1 && ih_gw_visible (&m)) {
        if (e->kind == IH_ADDED_SHARED) {
            //  The shared object as the alert that brought it describes it (whatever
            //  became of that alert since: an identity outlives a retraction). It has
            //  one version: first, last and all name it.
            out = s_shared_object (&m, e->stix_id);
            json_t *o = json_array_get (out, 0);
            if (o && !s_version_taken (w->f, s_version_of (o), true, true)) {
                json_decref (out);
                out = NULL;
            }
        }
        else
        if (e->kind == IH_ADDED_ALERT && !info.retracted) {
            if (s_only_last (w->f))
                out = info.seq == e->seq ? s_alert_objects (&m, &info) : NULL;
            else
                out = s_entry_versions (w->store, w->f, &m, &info, e->seq, &w->failed);
        }
    }
    ih_msg_free (&m);
    return out;
}

/*  Whether an entry may give a wanted object, from the entry alone (no store read). */
static bool
s_entry_wanted (const s_walk_t *w, const ih_added_entry_t *e)
{
    const s_filter_t *f = w->f;
    if (e->kind == IH_ADDED_SHARED) {
        if (f->ids.n && !s_values_has (&f->ids, e->stix_id))
            return false;
        if (f->types.n) {
            char type [IH_ADDED_IDMAX + 1];
            snprintf (type, sizeof type, "%s", e->stix_id);
            char *dd = strstr (type, "--");
            if (dd)
                *dd = 0;
            return s_values_has (&f->types, type);
        }
        return true;
    }
    if (!w->alert_entries)
        return false;
    if (!w->only_listed)
        return true;
    for (int i = 0; i < w->nalerts; i++)
        if (streq (w->alerts [i], e->id))
            return true;
    return false;
}

static int
s_walk_entry (const ih_added_entry_t *e, void *arg)
{
    s_walk_t *w = (s_walk_t *) arg;
    if (w->until && e->date > w->until)
        return 2;
    if (!s_entry_wanted (w, e))
        return 0;
    json_t *objs = s_entry_objects (w, e);
    if (w->failed) {
        json_decref (objs);
        return -1;
    }
    size_t i;
    json_t *o;
    int stop = 0;
    json_array_foreach (objs, i, o) {
        if (e->date == w->f->skip_date && (int) i < w->f->skip_idx)
            continue;
        if (!s_object_matches (w->f, o))
            continue;
        if (w->count == w->f->limit) {
            w->more = true;
            w->next_date = e->date;
            w->next_idx = (int) i;
            stop = 1;
            break;
        }
        char added [IH_TIME_MAX];
        ih_added_format (e->date, added);
        const char *ver = s_version_of (o);
        if (w->mode == s_MANIFEST)
            json_array_append_new (w->out, json_pack ("{s:O, s:s, s:s?, s:s}", "id",
                                   json_object_get (o, "id"), "date_added", added, "version",
                                   ver, "media_type", IH_STIX_MEDIA));
        else
        if (w->mode == s_VERSIONS)
            json_array_append_new (w->out, json_string (ver ? ver : ""));
        else
            json_array_append (w->out, o);
        if (w->count == 0)
            w->first_added = e->date;
        w->last_added = e->date;
        w->count++;
    }
    json_decref (objs);
    return stop;
}

typedef struct {
    ih_added_t *added;
    int64_t first, last;
} s_span_t;

static int
s_span_rev (const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg)
{
    s_span_t *x = (s_span_t *) arg;
    int64_t d = ih_added_seq_date (x->added, rev->seq);
    if (d > 0 && (x->first == 0 || d < x->first))
        x->first = d;
    if (d > x->last)
        x->last = d;
    return 0;
}

/*  match[id] (or the object of objects/{id}/): which alerts can hold the objects asked
    for (a report names its alert; the objects index, ih_added.h, knows the others) and
    the span of dates of their entries, so that the walk reads only those. Leaves the
    walk as it is when an id's alert is not known (the index is not complete yet). */
static void
s_narrow_ids (s_walk_t *w, ih_added_t *added)
{
    s_filter_t *f = w->f;
    if (f->ids.n == 0)
        return;
    bool complete = ih_added_objects_complete (added);
    s_span_t span = { added, 0, 0 };
    int nalerts = 0;
    for (int i = 0; i < f->ids.n; i++) {
        const char *id = f->ids.v [i];
        char alert [IH_UUID_LEN + 1] = "";
        int64_t shared = ih_added_shared_date (added, id);
        if (shared > 0) {
            if (span.first == 0 || shared < span.first)
                span.first = shared;
            if (shared > span.last)
                span.last = shared;
            continue;
        }
        if (strncmp (id, "report--", 8) == 0 && ih_uuid_valid (id + 8))
            snprintf (alert, sizeof alert, "%s", id + 8);
        else
        if (!ih_added_object_alert (added, id, alert)) {
            if (!complete)
                return;             //  unknown here: walk everything, as before
            continue;               //  in no alert: it matches nothing
        }
        bool seen = false;
        for (int j = 0; j < nalerts && !seen; j++)
            seen = streq (w->alerts [j], alert);
        if (seen)
            continue;
        snprintf (w->alerts [nalerts++], IH_UUID_LEN + 1, "%s", alert);
        if (ih_store_revisions_foreach (w->store, alert, s_span_rev, &span, NULL) < 0)
            return;
    }
    w->only_listed = true;
    w->nalerts = nalerts;
    if (span.first == 0) {
        w->alert_entries = false;   //  nothing of these is in the log
        w->until = 1;
        return;
    }
    if (span.first > f->from)
        f->from = span.first;
    w->until = span.last;
}

/*  Whether the collection holds object id in some version (an objects/{id}/ whose
    filters leave nothing is an empty envelope, not a 404). */
static bool
s_object_exists (ih_req_t *r, const char *id)
{
    s_filter_t f;
    memset (&f, 0, sizeof f);
    f.limit = 1;
    f.v_all = true;
    s_values_parse (id, &f.ids);
    s_walk_t w;
    memset (&w, 0, sizeof w);
    w.store = ih_gw_store (r);
    w.f = &f;
    w.mode = s_VERSIONS;
    w.out = json_array ();
    w.alert_entries = true;
    s_narrow_ids (&w, ih_gw_of (r)->added);
    if (w.until != 1)
        ih_added_walk (ih_gw_of (r)->added, f.from, s_walk_entry, &w, NULL);
    json_decref (w.out);
    s_filter_free (&f);
    return w.count > 0;
}

/*  objects/, manifest/, objects/{id}/ (object_id) and objects/{id}/versions/. */
static void
s_objects (ih_req_t *r, s_mode_t mode, const char *object_id)
{
    s_filter_t f;
    ih_err_t err = { "" };
    if (s_filter_parse (r, &f, &err) != 0) {
        s_filter_free (&f);
        ih_req_error (r, 400, err.msg);
        return;
    }
    ih_added_t *added = ih_gw_of (r)->added;
    s_walk_t w;
    memset (&w, 0, sizeof w);
    w.r = r;
    w.store = ih_gw_store (r);
    w.f = &f;
    w.mode = mode;
    w.out = json_array ();
    if (object_id) {
        //  The id is one more filter.
        s_values_free (&f.ids);
        s_values_parse (object_id, &f.ids);
    }
    if (mode == s_VERSIONS) {
        //  Every version of the object, whatever match[version] says.
        f.v_all = true;
        f.v_first = f.v_last = false;
        f.v_nts = 0;
    }
    //  What the entries' kinds and the ids allow, before reading the store.
    w.alert_entries = !f.types.n || s_values_has (&f.types, "report")
                   || s_values_has (&f.types, "indicator") || s_values_has (&f.types, "vulnerability");
    s_narrow_ids (&w, added);
    int rc = 0;
    if (w.until != 1)
        rc = ih_added_walk (added, f.from, s_walk_entry, &w, &err);
    s_filter_free (&f);
    if (rc < 0 || w.failed) {
        json_decref (w.out);
        ih_gw_store_failed (r, err.msg [0] ? err.msg : "the TAXII log or the store cannot be read");
        ih_req_error (r, 503, "the collection cannot be read right now");
        return;
    }
    if (object_id && w.count == 0 && (mode == s_VERSIONS || !s_object_exists (r, object_id))) {
        json_decref (w.out);
        ih_req_error (r, 404, "no such object in this collection");
        return;
    }
    json_t *env = json_object ();
    json_object_set_new (env, "more", json_boolean (w.more));
    if (w.more) {
        char tok [40];
        s_token (w.next_date, w.next_idx, tok, sizeof tok);
        json_object_set_new (env, "next", json_string (tok));
    }
    if (w.count)
        json_object_set_new (env, mode == s_VERSIONS ? "versions" : "objects", w.out);
    else
        json_decref (w.out);
    char *text = json_dumps (env, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (env);
    if (!text)
        abort ();
    ih_html_puts (&r->body, text);
    ih_html_puts (&r->body, "\n");
    free (text);
    if (w.count) {
        char first [IH_TIME_MAX], last [IH_TIME_MAX];
        ih_added_format (w.first_added, first);
        ih_added_format (w.last_added, last);
        ih_req_add_header (r, "X-TAXII-Date-Added-First", first);
        ih_req_add_header (r, "X-TAXII-Date-Added-Last", last);
    }
    r->etag = true;
    r->cache = s_CACHE;
}

/* ---- resources ------------------------------------------------------------------------------ */

static void
s_json (ih_req_t *r, json_t *j)
{
    char *text = json_dumps (j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (j);
    if (!text)
        abort ();
    ih_html_puts (&r->body, text);
    ih_html_puts (&r->body, "\n");
    free (text);
    r->etag = true;
    r->cache = s_CACHE;
}

static json_t *
s_collection (void)
{
    return json_pack ("{s:s, s:s, s:s, s:b, s:b, s:[s]}", "id", s_COLLECTION,
                      "title", "Public advisories (TLP:CLEAR)",
                      "description", "Every TLP:CLEAR alert shared by Infohub members, as STIX 2.1: "
                                     "reports, indicators, vulnerabilities and publisher identities.",
                      "can_read", 1, "can_write", 0, "media_types", IH_STIX_MEDIA);
}

void
ih_taxii_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    r->ctype = IH_TAXII_MEDIA;
    ih_buf_printf (&r->body, "{\"title\":\"%s\",\"http_status\":\"%d\",\"description\":\"",
                    reason, status);
    ih_html_json_esc (&r->body, msg);
    ih_html_puts (&r->body, "\"}\n");
}

void
ih_taxii_handle (ih_req_t *r, const char *rest)
{
    r->ctype = IH_TAXII_MEDIA;
    r->vary_accept = true;
    if (!ih_taxii_accept_ok (ih_req_header (r, MHD_HTTP_HEADER_ACCEPT))) {
        ih_req_error (r, 406, "this server speaks application/taxii+json;version=2.1");
        return;
    }
    ih_gw_t *gw = ih_gw_of (r);
    char api [300];
    snprintf (api, sizeof api, "%s/taxii2/api/", gw->base_url);
    if (streq (rest, "") || streq (rest, "/")) {
        s_json (r, json_pack ("{s:s, s:s, s:s, s:s, s:[s]}", "title", gw->title,
                              "description", "Read-only TAXII 2.1 server of the Infohub Public Zone "
                                             "(TLP:CLEAR only).",
                              "contact", gw->base_url, "default", api, "api_roots", api));
        return;
    }
    if (strncmp (rest, "/api/", 5) != 0) {
        ih_req_error (r, 404, "no such API root");
        return;
    }
    const char *p = rest + 5;
    if (!*p) {
        s_json (r, json_pack ("{s:s, s:s, s:[s], s:i}", "title", "Infohub public API root",
                              "description", "One public collection of TLP:CLEAR STIX 2.1 objects.",
                              "versions", IH_TAXII_MEDIA, "max_content_length", 0));
        return;
    }
    if (streq (p, "collections/")) {
        s_json (r, json_pack ("{s:[o]}", "collections", s_collection ()));
        return;
    }
    if (strncmp (p, "collections/", 12) != 0) {
        ih_req_error (r, 404, "no such resource");
        return;
    }
    p += 12;
    size_t cl = strlen (s_COLLECTION);
    if (strncmp (p, s_COLLECTION, cl) != 0 || p [cl] != '/') {
        ih_req_error (r, 404, "no such collection");
        return;
    }
    p += cl + 1;
    if (!*p)
        s_json (r, s_collection ());
    else
    if (streq (p, "objects/"))
        s_objects (r, s_OBJECTS, NULL);
    else
    if (streq (p, "manifest/"))
        s_objects (r, s_MANIFEST, NULL);
    else
    if (strncmp (p, "objects/", 8) == 0) {
        //  objects/{id}/ and objects/{id}/versions/
        const char *id = p + 8;
        size_t n = strlen (id);
        s_mode_t mode = s_OBJECTS;
        if (n > 10 && streq (id + n - 10, "/versions/")) {
            mode = s_VERSIONS;
            n -= 9;
        }
        if (n < 3 || n > 200 || id [n - 1] != '/') {
            ih_req_error (r, 404, "no such resource");
            return;
        }
        char oid [201];
        memcpy (oid, id, n - 1);
        oid [n - 1] = 0;
        if (strchr (oid, '/') || strchr (oid, ',') || !strstr (oid, "--")) {
            ih_req_error (r, 404, "no such object in this collection");
            return;
        }
        s_objects (r, mode, oid);
    }
    else
        ih_req_error (r, 404, "no such resource");
}

/* ---- self-test -------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_taxii_test (bool verbose)
{
    //  Accept headers.
    static const struct { const char *accept; bool ok; } cases [] = {
        { NULL, true }, { "", true }, { "*/*", true }, { "application/*", true },
        { "application/taxii+json;version=2.1", true },
        { "application/taxii+json; version=2.1", true },
        { "Application/TAXII+JSON;Version=\"2.1\"", true },
        { "application/taxii+json", true },
        { "text/html,application/xhtml+xml,*/*;q=0.8", true },
        { "application/xml, application/taxii+json;version=2.1;q=0.5", true },
        { "application/taxii+json;version=2.0", false },
        { "application/json", false },
        { "application/xml", false },
        { "text/html", false },
        { "application/taxii+json;version=2.1;q=0", false },
        { "*/*;q=0", false },
        { "*/*;q=zero", false },
        { " , ,", true },
        { "application/stix+json;version=2.1", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        bool got = ih_taxii_accept_ok (cases [i].accept);
        if (verbose)
            printf ("\n    accept '%s' -> %d", cases [i].accept ? cases [i].accept : "(none)", got);
        IH_CHECK (got == cases [i].ok);
    }

    //  next tokens round trip; garbage is refused.
    char tok [40];
    int64_t d;
    int idx;
    s_token (1764350736123456, 7, tok, sizeof tok);
    IH_CHECK (s_token_parse (tok, &d, &idx) == 0 && d == 1764350736123456 && idx == 7);
    s_token (1, 0, tok, sizeof tok);
    IH_CHECK (s_token_parse (tok, &d, &idx) == 0 && d == 1 && idx == 0);
    static const char *bad [] = {
        "", "x", "0000000000000000.0", "00064541dc3fa2c0", "00064541dc3fa2c0.", "00064541dc3fa2c0.g",
        "00064541DC3FA2C0.1", "00064541dc3fa2c0.1000000", "ffffffffffffffff.1", "00064541dc3fa2c0x1",
        NULL
    };
    for (int i = 0; bad [i]; i++)
        IH_CHECK (s_token_parse (bad [i], &d, &idx) == -1);
    IH_CHECK (s_token_parse (NULL, &d, &idx) == -1);

    //  match[...] lists.
    s_values_t v;
    memset (&v, 0, sizeof v);
    IH_CHECK (s_values_parse ("indicator, report,,vulnerability ", &v) == 0 && v.n == 3);
    IH_CHECK (s_values_has (&v, "report") && !s_values_has (&v, "identity") && !s_values_has (&v, NULL));
    s_values_free (&v);
    char many [200];
    for (int i = 0; i < 40; i++)
        memcpy (many + 2 * i, "a,", 2);
    many [80] = 0;
    IH_CHECK (s_values_parse (many, &v) == -1);
    s_values_free (&v);

    //  Filters on objects.
    s_filter_t f;
    memset (&f, 0, sizeof f);
    json_t *o = json_pack ("{s:s, s:s, s:s, s:s}", "type", "indicator", "id", "indicator--1",
                           "spec_version", "2.1", "modified", "2026-01-02T03:04:05.678Z");
    IH_CHECK (s_object_matches (&f, o));
    s_values_parse ("report", &f.types);
    IH_CHECK (!s_object_matches (&f, o));
    s_values_free (&f.types);
    s_values_parse ("report,indicator", &f.types);
    s_values_parse ("2.1", &f.specs);
    IH_CHECK (s_object_matches (&f, o));
    s_values_parse ("indicator--2", &f.ids);
    IH_CHECK (!s_object_matches (&f, o));
    s_filter_free (&f);
    IH_CHECK (streq (s_version_of (o), "2026-01-02T03:04:05.678Z"));
    json_decref (o);

    //  match[version]: the keywords (none: last) and exact versions, OR'ed.
    const char *v1 = "2026-01-02T03:04:05.678Z", *v2 = "2026-01-02T03:04:05.679Z";
    IH_CHECK (s_versions_read (&f) == 0 && s_only_last (&f));
    IH_CHECK (s_version_taken (&f, v1, false, true) && !s_version_taken (&f, v1, true, false));
    s_values_parse ("first", &f.versions);
    IH_CHECK (s_versions_read (&f) == 0 && !s_only_last (&f));
    IH_CHECK (s_version_taken (&f, v1, true, false) && !s_version_taken (&f, v1, false, true));
    s_values_free (&f.versions);
    s_values_parse ("2026-01-02T03:04:05.678Z,last", &f.versions);
    IH_CHECK (s_versions_read (&f) == 0 && !s_only_last (&f));
    IH_CHECK (s_version_taken (&f, v1, false, false) && !s_version_taken (&f, v2, false, false));
    IH_CHECK (s_version_taken (&f, v2, false, true));
    s_values_free (&f.versions);
    s_values_parse ("all", &f.versions);
    IH_CHECK (s_versions_read (&f) == 0 && s_version_taken (&f, v2, false, false));
    s_values_free (&f.versions);
    s_values_parse ("sometimes", &f.versions);
    IH_CHECK (s_versions_read (&f) == -1);
    s_filter_free (&f);

    //  An alert's own objects (its IOCs, none retracted), and a shared object by id.
    ih_msg_t m;
    ih_tk_alert (&m, NULL, IH_TLP_CLEAR, "Public");
    const char *iocs [] = { "domain:evil.example", "cve:CVE-2024-3400", NULL };
    ih_tk_iocs (&m, iocs, true);
    ih_store_alert_t info;
    memset (&info, 0, sizeof info);
    json_t *objs = s_alert_objects (&m, &info);
    IH_CHECK (json_array_size (objs) == 3);
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (objs, 0), "type")), "report"));
    json_decref (objs);
    objs = s_shared_object (&m, ih_stix_marking_id (IH_TLP_CLEAR));
    IH_CHECK (json_array_size (objs) == 1);
    json_decref (objs);
    char id [IH_STIX_ID_MAX];
    ih_stix_identity_id (m.org, id);
    objs = s_shared_object (&m, id);
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (objs, 0), "name")), "bank-a"));
    json_decref (objs);
    IH_CHECK (s_shared_object (&m, "identity--00000000-0000-5000-8000-000000000000") == NULL);
    ih_msg_free (&m);

    IH_CHECK (ih_uuid_valid (ih_taxii_collection_id ()));
    if (verbose)
        printf ("\n    ");
}
#endif

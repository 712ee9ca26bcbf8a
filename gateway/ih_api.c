/*  ih_api.c: the JSON API and the streamed exports (see ih_api.h). */
#include <czmq.h>
#include <errno.h>

#include "ih_api.h"
#include "ih_export.h"
#include "ih_html.h"
#include "ih_select.h"
#include "ih_view.h"

#define s_LIMIT_DEFAULT 50
#define s_LIMIT_MAX     500
#define s_CACHE_API     "public, max-age=30"
#define s_MAX_EXPORTS   8           /* streams at once: each walks the store */
#define s_CHUNK         (64 * 1024)

/* ---- alert JSON ------------------------------------------------------------------------ */

json_t *
ih_api_alert_json (ih_store_t *store, const ih_msg_t *m, const ih_store_alert_t *info)
{
    json_t *o = ih_view_alert (store, m, info, 0);
    json_t *iocs = json_object_get (o, "iocs");
    if (json_is_array (iocs)) {
        //  Retracted IOCs (all of them for a retracted alert) are not public knowledge
        //  any more: the public copy leaves them out rather than flagging them.
        size_t i = 0;
        while (i < json_array_size (iocs)) {
            json_t *ioc = json_array_get (iocs, i);
            if ((info && info->retracted) || json_is_true (json_object_get (ioc, "retracted")))
                json_array_remove (iocs, i);
            else {
                json_object_del (ioc, "retracted");
                i++;
            }
        }
    }
    //  Who may receive it is the publisher's business; everything here is CLEAR.
    json_object_del (o, "recipients");
    return o;
}

static void
s_dump (ih_req_t *r, json_t *j)
{
    char *text = json_dumps (j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        abort ();
    ih_html_puts (&r->body, text);
    ih_html_puts (&r->body, "\n");
    free (text);
}

/* ---- /api/v1/alerts ---------------------------------------------------------------------- */

typedef struct {
    ih_store_t *store;
    ih_select_t sel;            /* status active: retracted alerts are not listed */
    int limit;
    json_t *list;
    uint64_t last_seq;
    bool more;
} s_list_t;

/*  An alert the selection took (ih_select_walk). */
static int
s_list_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_list_t *x = (s_list_t *) arg;
    if (!ih_gw_visible (m))
        return 0;
    if ((int) json_array_size (x->list) == x->limit) {
        x->more = true;
        return 1;
    }
    json_array_append_new (x->list, ih_api_alert_json (x->store, m, info));
    x->last_seq = info->seq;
    return 0;
}

static const char *
s_arg (void *r, const char *key)
{
    return ih_req_arg ((ih_req_t *) r, key);
}

void
ih_api_alerts (ih_req_t *r)
{
    s_list_t x;
    memset (&x, 0, sizeof x);
    ih_select_init (&x.sel);
    x.limit = s_LIMIT_DEFAULT;
    const char *v;
    ih_err_t err = { "" };
    //  The selection of `list` and `export` (ih_select.h), read from the query.
    static const char *const keys [] = { "since", "category", "severity", "sector", "type", NULL };
    if (ih_select_from (&x.sel, keys, s_arg, r, &err) != 0) {
        ih_req_error (r, 400, err.msg);
        return;
    }
    uint64_t n;
    if ((v = ih_req_arg (r, "limit"))) {
        if (!ih_parse_u64 (v, &n) || n < 1 || n > s_LIMIT_MAX) {
            ih_req_error (r, 400, "limit: expected 1 to 500");
            return;
        }
        x.limit = (int) n;
    }
    if ((v = ih_req_arg (r, "next")) && (!ih_parse_u64 (v, &x.sel.before) || x.sel.before == 0)) {
        ih_req_error (r, 400, "next: not a token this server gave");
        return;
    }
    x.store = ih_gw_store (r);
    x.list = json_array ();
    //  From `next` down, by the store's indexes for the filters (ih_select_walk).
    uint64_t cut = 0;
    if (ih_select_walk (x.store, &x.sel, true, IH_GW_WALK_BUDGET, &cut, s_list_one, &x, &err) < 0) {
        json_decref (x.list);
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "the store cannot be read right now");
        return;
    }
    if (cut && !x.more) {
        //  The walk's budget ran out before a full page: `next` goes on from there.
        x.more = true;
        x.last_seq = cut;
    }
    json_t *o = json_object ();
    json_object_set_new (o, "count", json_integer ((json_int_t) json_array_size (x.list)));
    json_object_set_new (o, "alerts", x.list);
    char next [24];
    snprintf (next, sizeof next, "%" PRIu64, x.last_seq);
    json_object_set_new (o, "next", x.more ? json_string (next) : json_null ());
    r->ctype = "application/json";
    r->etag = true;
    r->cache = s_CACHE_API;
    s_dump (r, o);
    json_decref (o);
}

void
ih_api_alert (ih_req_t *r, const char *id)
{
    ih_store_t *store = ih_gw_store (r);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    ih_err_t err = { "" };
    int rc = ih_store_get (store, id, &m, &info, &err);
    if (rc < 0) {
        ih_gw_store_failed (r, err.msg);
        ih_req_error (r, 503, "the store cannot be read right now");
    }
    else
    if (rc == 0 || !ih_gw_visible (&m))
        ih_req_error (r, 404, "no such alert");
    else {
        json_t *o = ih_api_alert_json (store, &m, &info);
        r->ctype = "application/json";
        r->etag = true;
        r->cache = s_CACHE_API;
        s_dump (r, o);
        json_decref (o);
    }
    ih_msg_free (&m);
}

/* ---- streamed exports ----------------------------------------------------------------------- */

static _Atomic int s_streams;

/*  A stream reads the store in steps (a fill per part the web layer asks for:
    ih_req_stream), all from one snapshot (ih_store_snapshot), taken when the request
    came: an alert revised while the stream runs moves to a later seq in the store, and
    a stream that read each step afresh would list it a second time (and miss nothing,
    but a consumer that counts would). The snapshot is a handle of its own: the web layer
    calls s_stream_fill on its threads, one call at a time for a connection, and the
    store's environment is opened MDB_NOTLS, so its read transaction may move between
    threads and live beside the thread's own handle. */
typedef struct {
    ih_gw_t *gw;
    ih_store_t *snap;           /* the store as it was when the request came */
    ih_export_t *x;
    ih_buf_t *out;              /* the part being filled (the sink's) */
    uint64_t after;             /* highest seq walked */
    int batch;                  /* alerts exported in this part */
    bool failed;
} s_stream_t;

static int
s_sink (const void *data, size_t len, void *arg)
{
    ih_buf_append (((s_stream_t *) arg)->out, data, len);
    return 0;
}

static int
s_stream_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_stream_t *s = (s_stream_t *) arg;
    s->after = info->seq;
    if (ih_gw_visible (m)) {
        ih_err_t err = { "" };
        if (ih_export_alert (s->x, m, info, &err) != 0) {
            fprintf (stderr, "E gateway: export of alert %s failed: %s\n", m->id, err.msg);
            s->failed = true;
            return -1;
        }
        s->batch++;
    }
    //  Enough for one part: let it be sent (the next part goes on in the snapshot).
    return s->batch >= 64 || s->out->len >= s_CHUNK ? 1 : 0;
}

static int
s_stream_fill (void *arg, ih_buf_t *out)
{
    s_stream_t *s = (s_stream_t *) arg;
    s->out = out;
    s->batch = 0;
    ih_err_t err = { "" };
    int rc = ih_store_foreach (s->snap, s->after, false, s_stream_one, s, &err);
    if (rc < 0 || s->failed) {
        if (!s->failed) {
            fprintf (stderr, "E gateway: export stopped: %s\n", err.msg);
            ih_gw_storage_bad (s->gw, err.msg);
        }
        s->failed = true;
        return -1;
    }
    if (rc == 0) {
        if (ih_export_finish (s->x, &err) != 0) {
            fprintf (stderr, "E gateway: export could not finish: %s\n", err.msg);
            return -1;
        }
        return 0;
    }
    return 1;
}

static void
s_stream_free (void *arg)
{
    s_stream_t *s = (s_stream_t *) arg;
    ih_export_destroy (&s->x);
    ih_store_destroy (&s->snap);        //  the writer may reuse what it pinned
    free (s);
    s_streams--;
}

void
ih_api_export (ih_req_t *r, const char *format)
{
    ih_export_format_t f;
    if (ih_export_format_parse (format, &f) != 0) {
        ih_req_error (r, 404, "no such export");
        return;
    }
    if (++s_streams > s_MAX_EXPORTS) {
        s_streams--;
        ih_req_error (r, 503, "too many exports are running; try again in a moment");
        ih_req_add_header (r, "Retry-After", "5");
        return;
    }
    s_stream_t *s = (s_stream_t *) calloc (1, sizeof *s);
    if (!s)
        abort ();
    s->gw = ih_gw_of (r);
    ih_err_t serr = { "" };
    s->snap = ih_store_snapshot (ih_gw_store (r), &serr);
    if (!s->snap) {
        ih_gw_store_failed (r, serr.msg);
        s_stream_free (s);
        ih_req_error (r, 503, "the store cannot be read right now");
        return;
    }
    ih_export_opts_t opts;
    ih_export_opts_init (&opts);
    opts.sel.tlp_max = IH_TLP_CLEAR;        //  defence in depth: the store holds nothing else
    opts.generator = "infohub-gateway";
    ih_err_t err = { "" };
    s->x = ih_export_new (f, &opts, s_sink, s, NULL, &err);
    if (!s->x) {
        s_stream_free (s);
        ih_req_error (r, 500, err.msg);
        return;
    }
    r->status = 200;
    r->cache = "public, max-age=60";
    if (f == IH_EXPORT_CSV) {
        r->ctype = "text/csv; charset=utf-8; header=present";
        ih_req_add_header (r, "Content-Disposition", "attachment; filename=\"infohub-public.csv\"");
    }
    else {
        r->ctype = "application/stix+json;version=2.1";
        ih_req_add_header (r, "Content-Disposition", "attachment; filename=\"infohub-public.stix.json\"");
    }
    ih_req_stream (r, s_stream_fill, s_stream_free, s);     //  frees s when it fails
}

/* ---- self-test -------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_api_test (bool verbose)
{
    uint64_t v;
    IH_CHECK (ih_parse_u64 ("42", &v) && v == 42);
    IH_CHECK (!ih_parse_u64 ("4 2", &v) && !ih_parse_u64 ("", &v) && !ih_parse_u64 (NULL, &v));
    IH_CHECK (!ih_parse_u64 ("99999999999999999999", &v));

    //  The public JSON drops retracted IOCs and the recipients list.
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    snprintf (m.id, sizeof m.id, "11111111-1111-4111-8111-111111111111");
    m.title = ih_msg_str (&m, "t");
    m.org = ih_msg_str (&m, "bank-a");
    m.member = ih_msg_str (&m, "soc");
    ih_msg_ioc_add (&m, IH_IOC_DOMAIN, "evil.example", "", true);
    ih_store_alert_t info;
    memset (&info, 0, sizeof info);
    info.revisions = 1;
    json_t *o = ih_api_alert_json (NULL, &m, &info);
    IH_CHECK (json_array_size (json_object_get (o, "iocs")) == 1);
    IH_CHECK (!json_object_get (o, "recipients"));
    IH_CHECK (!json_object_get (o, "author"));
    json_decref (o);
    //  ... and keeps the author, when the alert names one (signed with it)
    m.author = ih_msg_str (&m, "Ana M\xc3\xbcller");
    o = ih_api_alert_json (NULL, &m, &info);
    IH_CHECK (streq (json_string_value (json_object_get (o, "author")), "Ana M\xc3\xbcller"));
    json_decref (o);
    info.retracted = true;
    o = ih_api_alert_json (NULL, &m, &info);
    IH_CHECK (json_array_size (json_object_get (o, "iocs")) == 0);
    IH_CHECK (streq (json_string_value (json_object_get (o, "status")), "retracted"));
    if (verbose) {
        char *t = json_dumps (o, JSON_COMPACT);
        printf ("\n    %s\n    ", t);
        free (t);
    }
    json_decref (o);
    ih_msg_free (&m);
}
#endif

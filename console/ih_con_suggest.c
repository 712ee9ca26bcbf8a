/*  ih_con_suggest.c: the model's suggestions on the share form and the related alerts
    (see ih_con_suggest.h).

    Read top to bottom: the shared state (the model held and swapped, the index opened
    when it is there), predictions and queries, the draft's suggestions (from the form,
    merged, rendered), the related list, the self-test.
*/
#include <czmq.h>
#include <math.h>
#include <pthread.h>

#include "ih_con_suggest.h"
#include "ih_extract.h"
#include "ih_html.h"

/* ---- the shared state ------------------------------------------------------------------ */

/*  A loaded model and the requests using it: freed when the last lets go. */
typedef struct {
    ih_model_t *m;
    int refs;
} s_model_t;

struct ih_con_analytics {
    char *store_dir;
    char *model_path;
    pthread_mutex_t lock;
    s_model_t *model;               /* the current one (one ref is the console's), or NULL */
    char why [300];                 /* why there is none */
    int64_t model_checked;          /* zclock_mono of the last look at the file */
    ih_related_t *related;          /* opened once there is an index; kept */
    int64_t related_checked;
    int64_t check_ms;               /* IH_CON_ANALYTICS_CHECK_MS (the self-test: 0) */
};

static void
s_unref (s_model_t **held)
{
    s_model_t *h = *held;
    *held = NULL;
    if (h && --h->refs == 0) {
        ih_model_destroy (&h->m);
        free (h);
    }
}

/*  Under the lock: reads the model file again when it changed (or was never read). */
static void
s_model_refresh (ih_con_analytics_t *self, bool force)
{
    int64_t now = zclock_mono ();
    if (!force && now - self->model_checked < self->check_ms)
        return;
    self->model_checked = now;
    if (!ih_model_changed (self->model ? self->model->m : NULL, self->model_path)) {
        if (!self->model && !ih_model_peek (self->model_path, NULL, NULL)) {
            //  None, or a stale one: say which (ih_model_load names it).
            ih_err_t err = { "" };
            ih_model_t *m = ih_model_load (self->model_path, &err);
            ih_model_destroy (&m);
            snprintf (self->why, sizeof self->why, "%s", err.msg [0] ? err.msg : "no model yet");
        }
        return;
    }
    ih_err_t err = { "" };
    ih_model_t *m = ih_model_load (self->model_path, &err);
    if (!m) {
        //  A file caught while written, or stale: keep what we have.
        if (!self->model)
            snprintf (self->why, sizeof self->why, "%s", err.msg);
        return;
    }
    s_model_t *h = (s_model_t *) calloc (1, sizeof *h);
    if (!h)
        abort ();
    h->m = m;
    h->refs = 1;
    s_unref (&self->model);
    self->model = h;
    self->why [0] = 0;
    fprintf (stderr, "I console: suggestions from the model of %zu alerts in %s\n", ih_model_alerts (m),
             self->model_path);
}

ih_con_analytics_t *
ih_con_analytics_new (const char *store_dir)
{
    ih_con_analytics_t *self = (ih_con_analytics_t *) calloc (1, sizeof *self);
    if (!self || !(self->store_dir = strdup (store_dir)))
        abort ();
    self->model_path = ih_model_path (store_dir);
    self->check_ms = IH_CON_ANALYTICS_CHECK_MS;
    pthread_mutex_init (&self->lock, NULL);
    s_model_refresh (self, true);
    return self;
}

void
ih_con_analytics_destroy (ih_con_analytics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_con_analytics_t *self = *self_p;
    s_unref (&self->model);
    ih_related_destroy (&self->related);
    pthread_mutex_destroy (&self->lock);
    free (self->model_path);
    free (self->store_dir);
    free (self);
    *self_p = NULL;
}

/*  The current model, held (release with s_release), or NULL with why. */
static s_model_t *
s_hold (ih_con_analytics_t *self, char *why, size_t size)
{
    pthread_mutex_lock (&self->lock);
    s_model_refresh (self, false);
    s_model_t *h = self->model;
    if (h)
        h->refs++;
    else
        snprintf (why, size, "%s", self->why [0] ? self->why : "no model yet");
    pthread_mutex_unlock (&self->lock);
    return h;
}

static void
s_release (ih_con_analytics_t *self, s_model_t **held)
{
    pthread_mutex_lock (&self->lock);
    s_unref (held);
    pthread_mutex_unlock (&self->lock);
}

static ih_related_t *
s_related (ih_con_analytics_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t now = zclock_mono ();
    if (!self->related && (self->related_checked == 0 || now - self->related_checked >= self->check_ms)) {
        self->related_checked = now;
        ih_err_t err = { "" };
        self->related = ih_related_open (self->store_dir, false, &err);
    }
    ih_related_t *r = self->related;
    pthread_mutex_unlock (&self->lock);
    return r;
}

/* ---- predictions and queries ------------------------------------------------------------- */

bool
ih_con_suggest (ih_con_analytics_t *self, const char *text, size_t len, uint32_t ioc_types,
                ih_con_suggestions_t *out, char *why, size_t size)
{
    memset (out, 0, sizeof *out);
    if (!self) {
        snprintf (why, size, "no model yet");
        return false;
    }
    s_model_t *h = s_hold (self, why, size);
    if (!h)
        return false;
    ih_text_t *t = ih_text_new ();
    ih_model_prediction_t pr;
    ih_model_predict (h->m, t, text, len, ioc_types, &pr);
    ih_text_destroy (&t);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        for (size_t i = 0; i < pr.ntop [f] && i < IH_MODEL_TOP; i++) {
            ih_con_guess_t *g = &out->top [f][out->ntop [f]];
            if (!pr.top [f][i].label || strlen (pr.top [f][i].label) > IH_MAX_SHORT)
                continue;
            snprintf (g->label, sizeof g->label, "%s", pr.top [f][i].label);
            g->p = pr.top [f][i].p;
            g->suggested = pr.top [f][i].suggested;
            out->ntop [f]++;
        }
    }
    out->trained_ms = ih_model_trained_ms (h->m);
    out->alerts = ih_model_alerts (h->m);
    s_release (self, &h);
    return true;
}

int
ih_con_related_alert (ih_con_analytics_t *self, const char *id, ih_related_hit_t *out, size_t max,
                      ih_err_t *err)
{
    ih_related_t *r = self ? s_related (self) : NULL;
    return r ? ih_related_for_alert (r, id, out, max, err) : 0;
}

int
ih_con_related_draft (ih_con_analytics_t *self, const ih_related_query_t *q, ih_related_hit_t *out,
                      size_t max, ih_err_t *err)
{
    ih_related_t *r = self ? s_related (self) : NULL;
    return r ? ih_related_query (r, q, out, max, err) : 0;
}

/* ---- the draft's suggestions --------------------------------------------------------------- */

#define s_OFFER_MIN     0.05        /* candidates below this probability are not offered */

static const char *
s_str (json_t *o, const char *key)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v ? v : "";
}

/*  The candidate of list with that label, or NULL. */
static json_t *
s_find (json_t *list, const char *label)
{
    size_t i;
    json_t *c;
    json_array_foreach (list, i, c)
        if (streq (s_str (c, "label"), label))
            return c;
    return NULL;
}

static bool
s_has (json_t *list, const char *v)
{
    size_t i;
    json_t *s;
    json_array_foreach (list, i, s)
        if (json_is_string (s) && streq (json_string_value (s), v))
            return true;
    return false;
}

/*  "a\tb\tc…" into at most n fields (copied, NUL-terminated, each < size). Returns how
    many. */
static int
s_fields (const char *v, char (*f) [IH_MAX_SHORT + 8], int n)
{
    int got = 0;
    while (got < n) {
        size_t len = strcspn (v, "\t");
        if (len > IH_MAX_SHORT + 6)
            return 0;
        snprintf (f [got], IH_MAX_SHORT + 8, "%.*s", (int) len, v);
        got++;
        if (!v [len])
            break;
        v += len + 1;
    }
    return got;
}

/*  A probability as the form carried it back ("0.9123"): 0..1, anything else 0. */
static double
s_prob (const char *s)
{
    char *end = NULL;
    double p = strtod (s, &end);
    return end && end != s && !*end && p >= 0 && p <= 1 ? p : 0;
}

static bool
s_label_ok (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > IH_MAX_SHORT)
        return false;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int
s_form_secc (const char *v, void *arg)
{
    char f [3][IH_MAX_SHORT + 8];
    json_t *list = (json_t *) arg;
    if (s_fields (v, f, 3) != 3 || !s_label_ok (f [0]) || s_find (list, f [0]))
        return 0;
    json_array_append_new (list, json_pack ("{s:s, s:f, s:b}", "label", f [0], "p", s_prob (f [1]),
                                            "suggested", f [2][0] == '1'));
    return 0;
}

typedef struct {
    json_t *list, *picked;
} s_tagc_t;

static int
s_form_pick (const char *v, void *arg)
{
    json_object_set_new ((json_t *) arg, v, json_true ());
    return 0;
}

static int
s_form_tagc (const char *v, void *arg)
{
    s_tagc_t *t = (s_tagc_t *) arg;
    char f [4][IH_MAX_SHORT + 8];
    if (s_fields (v, f, 4) != 4 || !s_label_ok (f [0]) || s_find (t->list, f [0]))
        return 0;
    json_array_append_new (t->list, json_pack ("{s:s, s:s, s:f, s:b, s:b}", "label", f [0], "src",
                                               streq (f [1], "text") ? "text" : "model", "p", s_prob (f [2]),
                                               "suggested", f [3][0] == '1',
                                               "on", json_object_get (t->picked, f [0]) != NULL));
    return 0;
}

void
ih_con_suggest_fresh (json_t *d)
{
    json_object_set_new (d, "auto", json_pack ("{s:b, s:b}", "category", 1, "severity", 1));
    json_object_set_new (d, "secc", json_array ());
    json_object_set_new (d, "tagc", json_array ());
}

void
ih_con_suggest_from_form (ih_con_req_t *x, json_t *d)
{
    //  A field is still automatic when it holds what the form showed automatically.
    json_t *a = json_object ();
    static const char *const fields [] = { "category", "severity" };
    for (int i = 0; i < 2; i++) {
        char key [32];
        snprintf (key, sizeof key, "auto_%s", fields [i]);
        const char *shown = ih_con_val (x, key);
        json_object_set_new (a, fields [i], json_boolean (*shown && streq (shown, ih_con_val (x, fields [i]))));
    }
    json_object_set_new (d, "auto", a);
    json_t *secc = json_array ();
    ih_req_form_all (x->r, "secc", s_form_secc, secc);
    json_object_set_new (d, "secc", secc);
    s_tagc_t t = { json_array (), json_object () };
    ih_req_form_all (x->r, "tagpick", s_form_pick, t.picked);
    ih_req_form_all (x->r, "tagc", s_form_tagc, &t);
    json_decref (t.picked);
    json_object_set_new (d, "tagc", t.list);
}

/*  Is tag among the tags typed (comma-separated)? */
static bool
s_typed_tag (const char *typed, const char *tag)
{
    size_t n = strlen (tag);
    for (const char *p = typed; *p; ) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        size_t len = strcspn (p, ",\r\n");
        size_t m = len;
        while (m && (p [m - 1] == ' ' || p [m - 1] == '\t'))
            m--;
        if (m == n && n && memcmp (p, tag, n) == 0)
            return true;
        p += len;
    }
    return false;
}

void
ih_con_suggest_technique (json_t *d, const char *id)
{
    json_t *tagc = json_object_get (d, "tagc");
    if (!tagc || !s_label_ok (id) || s_typed_tag (s_str (d, "tags"), id))
        return;
    json_t *c = s_find (tagc, id);
    if (c)
        json_object_set_new (c, "src", json_string ("text"));
    else
        json_array_append_new (tagc, json_pack ("{s:s, s:s, s:f, s:b, s:b}", "label", id, "src", "text",
                                                "p", 1.0, "suggested", 0, "on", 1));
}

static int
s_types (const ih_extract_hit_t *hit, void *arg)
{
    if (hit->kind == IH_EXTRACT_IOC)
        *(uint32_t *) arg |= 1u << hit->type;
    return 0;
}

void
ih_con_suggest_draft (ih_con_req_t *x, json_t *d)
{
    if (!json_object_get (d, "auto"))
        ih_con_suggest_fresh (d);
    ih_buf_t text;
    ih_buf_init (&text);
    ih_buf_printf (&text, "%s\n%s\n%s", s_str (d, "title"), s_str (d, "summary"), s_str (d, "paste"));
    bool blank = true;
    for (size_t i = 0; i < text.len && blank; i++)
        blank = ((const char *) text.data) [i] == '\n' || ((const char *) text.data) [i] == ' ';
    if (blank) {
        //  Nothing to ask about yet; say whether there is a model to ask.
        ih_buf_free (&text);
        char why [300] = "";
        s_model_t *h = x->con->analytics ? s_hold (x->con->analytics, why, sizeof why) : NULL;
        if (!x->con->analytics)
            snprintf (why, sizeof why, "no model yet");
        if (h)
            s_release (x->con->analytics, &h);
        json_object_set_new (d, "sugg", h || !why [0] ? json_pack ("{s:s}", "state", "empty")
                                                      : json_pack ("{s:s, s:s}", "state", "none", "why", why));
        return;
    }
    //  The IOC types the model weighs: those the text names (as `analyse` finds them, so
    //  both suggest the same for the same text) and those ticked on the form.
    uint32_t types = 0;
    ih_extract_run ((const char *) text.data, text.len, NULL, s_types, &types);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (d, "cands"), i, c) {
        ih_ioc_type_t t;
        if (json_is_true (json_object_get (c, "on")) && ih_ioc_type_parse (s_str (c, "type"), &t) == 0)
            types |= 1u << t;
    }
    ih_con_suggestions_t s;
    char why [300];
    bool have = ih_con_suggest (x->con->analytics, (const char *) text.data, text.len, types, &s, why, sizeof why);
    ih_buf_free (&text);
    if (!have) {
        json_object_set_new (d, "sugg", json_pack ("{s:s, s:s}", "state", "none", "why", why));
        return;
    }
    json_t *sugg = json_pack ("{s:s, s:I, s:I}", "state", "ok", "trained", (json_int_t) s.trained_ms,
                              "alerts", (json_int_t) s.alerts);
    for (int f = 0; f < IH_MODEL_FIELDS; f++) {
        json_t *list = json_array ();
        for (size_t k = 0; k < s.ntop [f]; k++)
            json_array_append_new (list, json_pack ("{s:s, s:f, s:b}", "label", s.top [f][k].label,
                                                    "p", s.top [f][k].p, "suggested", s.top [f][k].suggested));
        json_object_set_new (sugg, ih_model_field_name ((ih_model_field_t) f), list);
    }
    json_object_set_new (d, "sugg", sugg);

    //  Category and severity: only a field the user has not chosen takes a suggestion.
    json_t *a = json_object_get (d, "auto");
    static const struct { const char *field; ih_model_field_t f; } one [] = {
        { "category", IH_MODEL_CATEGORY }, { "severity", IH_MODEL_SEVERITY }
    };
    for (int k = 0; k < 2; k++)
        if (json_is_true (json_object_get (a, one [k].field)) && s.ntop [one [k].f]
        &&  s.top [one [k].f][0].suggested)
            json_object_set_new (d, one [k].field, json_string (s.top [one [k].f][0].label));

    //  Sectors: a new candidate the model stands behind is ticked; one offered before
    //  keeps the user's tick.
    json_t *secc = json_object_get (d, "secc"), *sectors = json_object_get (d, "sectors");
    for (size_t k = 0; k < s.ntop [IH_MODEL_SECTORS]; k++) {
        const ih_con_guess_t *g = &s.top [IH_MODEL_SECTORS][k];
        if (!g->suggested && g->p < s_OFFER_MIN)
            continue;
        json_t *old = s_find (secc, g->label);
        if (old) {
            json_object_set_new (old, "p", json_real (g->p));
            json_object_set_new (old, "suggested", json_boolean (g->suggested));
            continue;
        }
        json_array_append_new (secc, json_pack ("{s:s, s:f, s:b}", "label", g->label, "p", g->p,
                                                "suggested", g->suggested));
        if (g->suggested && !s_has (sectors, g->label))
            json_array_append_new (sectors, json_string (g->label));
    }
    //  Tags likewise, left out when typed already.
    json_t *tagc = json_object_get (d, "tagc");
    for (size_t k = 0; k < s.ntop [IH_MODEL_TAGS]; k++) {
        const ih_con_guess_t *g = &s.top [IH_MODEL_TAGS][k];
        if ((!g->suggested && g->p < s_OFFER_MIN) || s_typed_tag (s_str (d, "tags"), g->label))
            continue;
        json_t *old = s_find (tagc, g->label);
        if (old) {
            json_object_set_new (old, "p", json_real (g->p));
            json_object_set_new (old, "suggested", json_boolean (g->suggested));
            continue;
        }
        json_array_append_new (tagc, json_pack ("{s:s, s:s, s:f, s:b, s:b}", "label", g->label, "src", "model",
                                                "p", g->p, "suggested", g->suggested, "on", g->suggested));
    }
}

void
ih_con_suggest_tags (json_t *d, json_t *tags)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (d, "tagc"), i, c)
        if (json_is_true (json_object_get (c, "on")) && !s_has (tags, s_str (c, "label")))
            json_array_append_new (tags, json_string (s_str (c, "label")));
}

/* ---- rendering -------------------------------------------------------------------------------- */

static void
s_pct (ih_buf_t *b, double p)
{
    int pc = (int) lround (p * 100);
    ih_buf_printf (b, "%d\xc2\xa0%%", pc < 1 ? 1 : pc > 99 ? 99 : pc);
}

/*  The mark of a candidate: "suggested 92 %" (the model stands behind it) or "41 %". */
static void
s_mark (ih_buf_t *b, json_t *c, const char *src_label)
{
    bool sugg = json_is_true (json_object_get (c, "suggested"));
    if (streq (s_str (c, "src"), "text")) {
        ih_html_puts (b, " <span class=\"sugg\" title=\"named in the text\">");
        ih_html_puts (b, src_label ? src_label : "in the text");
        ih_html_puts (b, "</span>");
        return;
    }
    ih_html_puts (b, sugg ? " <span class=\"sugg\" title=\"the model's suggestion: keep it or change it\">"
                            "suggested " : " <span class=\"sugg offer\" title=\"offered by the model, not chosen\">");
    s_pct (b, json_number_value (json_object_get (c, "p")));
    ih_html_puts (b, "</span>");
}

static const char *
s_label_of (const char *field, const char *label)
{
    ih_category_t c;
    if (streq (field, "category") && ih_category_parse (label, &c) == 0)
        return ih_con_cat_label (c);
    return label;
}

void
ih_con_suggest_field (ih_con_req_t *x, json_t *d, const char *field)
{
    ih_buf_t *b = &x->r->body;
    json_t *sugg = json_object_get (d, "sugg");
    const char *state = s_str (sugg, "state");
    if (streq (field, "status")) {
        ih_html_puts (b, "<div class=\"row\"><label>Suggestions</label><div class=\"small\">");
        if (streq (state, "ok")) {
            ih_buf_printf (b, "From this agent's model, trained on %" PRId64 " alerts this member holds (",
                           (int64_t) json_integer_value (json_object_get (sugg, "alerts")));
            ih_con_time (b, json_integer_value (json_object_get (sugg, "trained")));
            ih_html_puts (b, " UTC). What it pre-filled is marked <span class=\"sugg\">suggested</span>; the "
                             "rest is <span class=\"sugg offer\">offered</span>. Keep it or change it.");
        }
        else
        if (streq (state, "none")) {
            ih_html_puts (b, "<span class=\"muted\">No suggestions yet: ");
            ih_html_esc (b, s_str (sugg, "why"));
            ih_buf_printf (b, ". The agent trains a model once the store holds %d labelled alerts "
                              "(<code>infohub-agent model train</code>).</span>", IH_MODEL_MIN_ALERTS);
        }
        else
            ih_html_puts (b, "<span class=\"muted\">Write a title and a summary (or paste a report), then "
                             "<em>Extract</em> or <em>Preview</em>: the model suggests the category, sectors, tags "
                             "and severity.</span>");
        ih_html_puts (b, "</div></div>\n");
        return;
    }
    //  category, severity: the hidden mark of an automatic value, then the candidates.
    const char *value = s_str (d, field);
    bool automatic = json_is_true (json_object_get (json_object_get (d, "auto"), field));
    if (automatic) {
        ih_buf_printf (b, "<input type=\"hidden\" name=\"auto_%s\" value=\"", field);
        ih_html_esc (b, *value ? value : streq (field, "category") ? "advisory" : "medium");
        ih_html_puts (b, "\">");
    }
    json_t *list = json_object_get (sugg, field);
    if (!streq (state, "ok") || json_array_size (list) == 0)
        return;
    size_t i;
    json_t *c;
    ih_html_puts (b, "<span class=\"small\">");
    json_array_foreach (list, i, c) {
        const char *label = s_str (c, "label");
        bool chosen = automatic && streq (label, value) && json_is_true (json_object_get (c, "suggested"));
        if (!chosen && json_number_value (json_object_get (c, "p")) < s_OFFER_MIN)
            continue;
        ih_html_puts (b, " ");
        ih_html_esc (b, s_label_of (field, label));
        if (chosen) {
            ih_html_puts (b, " <span class=\"sugg\" title=\"the model's suggestion, pre-selected\">suggested ");
            s_pct (b, json_number_value (json_object_get (c, "p")));
            ih_html_puts (b, "</span>");
        }
        else
            s_mark (b, c, NULL);
    }
    ih_html_puts (b, "</span>");
}

void
ih_con_suggest_sector_mark (ih_con_req_t *x, json_t *d, const char *sector)
{
    json_t *c = s_find (json_object_get (d, "secc"), sector);
    if (c)
        s_mark (&x->r->body, c, NULL);
}

void
ih_con_suggest_sector_extra (ih_con_req_t *x, json_t *d, json_t *shown)
{
    ih_buf_t *b = &x->r->body;
    json_t *sectors = json_object_get (d, "sectors");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (d, "secc"), i, c) {
        const char *label = s_str (c, "label");
        if (!s_has (shown, label)) {
            ih_html_puts (b, "<label><input type=\"checkbox\" name=\"sector\" value=\"");
            ih_html_esc (b, label);
            ih_html_puts (b, s_has (sectors, label) ? "\" checked> " : "\"> ");
            ih_html_esc (b, label);
            s_mark (b, c, NULL);
            ih_html_puts (b, "</label>");
            json_array_append_new (shown, json_string (label));
        }
        ih_html_puts (b, "<input type=\"hidden\" name=\"secc\" value=\"");
        ih_html_esc (b, label);
        ih_buf_printf (b, "\t%.4f\t%d\">", json_number_value (json_object_get (c, "p")),
                       json_is_true (json_object_get (c, "suggested")));
    }
}

void
ih_con_suggest_tag_row (ih_con_req_t *x, json_t *d)
{
    json_t *tagc = json_object_get (d, "tagc");
    if (json_array_size (tagc) == 0)
        return;
    ih_buf_t *b = &x->r->body;
    ih_html_puts (b, "<div class=\"row\"><label>Suggested tags</label><div><div class=\"checks\">");
    size_t i;
    json_t *c;
    json_array_foreach (tagc, i, c) {
        const char *label = s_str (c, "label");
        ih_html_puts (b, "<label><input type=\"hidden\" name=\"tagc\" value=\"");
        ih_html_esc (b, label);
        ih_buf_printf (b, "\t%s\t%.4f\t%d\"><input type=\"checkbox\" name=\"tagpick\" value=\"",
                       streq (s_str (c, "src"), "text") ? "text" : "model",
                       json_number_value (json_object_get (c, "p")), json_is_true (json_object_get (c, "suggested")));
        ih_html_esc (b, label);
        ih_html_puts (b, json_is_true (json_object_get (c, "on")) ? "\" checked> " : "\"> ");
        ih_html_esc (b, label);
        s_mark (b, c, NULL);
        ih_html_puts (b, "</label>");
    }
    ih_html_puts (b, "</div><div class=\"hint\">Ticked ones are sent with the tags above (ATT&amp;CK "
                     "technique ids among them).</div></div></div>\n");
}

/* ---- related alerts ----------------------------------------------------------------------------- */

int
ih_con_related_list (ih_con_req_t *x, const char *title, const ih_related_hit_t *hits, int n, const char *skip)
{
    ih_buf_t *b = &x->r->body;
    ih_msg_t other;
    ih_msg_init (&other, IH_KIND_ALERT);
    int shown = 0;
    for (int i = 0; i < n && shown < IH_CON_RELATED_SHOWN; i++) {
        ih_store_alert_t info;
        if ((skip && streq (hits [i].id, skip))
        ||  ih_store_get (x->store, hits [i].id, &other, &info, NULL) != 1 || info.retracted)
            continue;
        if (shown++ == 0) {
            ih_html_puts (b, "<h2 id=\"related\">");
            ih_html_esc (b, title);
            ih_html_puts (b, "</h2><ul class=\"related\">");
        }
        ih_html_puts (b, "<li>");
        ih_con_tlp (b, other.tlp);
        ih_buf_printf (b, " <a href=\"/alerts/%s\">", other.id);
        ih_html_esc (b, other.title);
        ih_html_puts (b, "</a>");
        if (hits [i].near_duplicate)
            ih_html_puts (b, " <span class=\"tag dup\" title=\"the same report, shared again (most of its "
                             "text is the same)\">near-duplicate</span>");
        ih_html_puts (b, "<div class=\"small muted\">");
        ih_html_esc (b, other.org);
        ih_html_puts (b, " \xc2\xb7 ");
        ih_con_time (b, other.modified);
        ih_buf_printf (b, " \xc2\xb7 similarity %.2f", hits [i].score);
        if (hits [i].shared_iocs)
            ih_buf_printf (b, " \xc2\xb7 %u shared %s", hits [i].shared_iocs,
                           ih_plural (hits [i].shared_iocs, "indicator", "indicators"));
        if (hits [i].shared_reference)
            ih_html_puts (b, " \xc2\xb7 same source");
        ih_html_puts (b, "</div></li>");
    }
    if (shown)
        ih_html_puts (b, "</ul>\n");
    ih_msg_free (&other);
    return shown;
}

/* ---- self-test ------------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

/*  Alerts of three kinds, labelled by what they say (as ih_model's own test). */
static void
s_tstore (ih_store_t *store, ih_model_data_t *data, int n)
{
    static const char *kinds [3][3] = {
        { "Ransomware encrypted the file servers; ransom note left, shadow copies deleted", "ransomware", "health" },
        { "Phishing e-mails with a credential harvesting page imitate the bank login", "phishing", "finance" },
        { "DDoS: a volumetric flood of 80 Gbps from reflectors hit the web portal", "ddos", "telecom" },
    };
    static const char *fill [] = { "overnight", "on Monday", "at several members", "again", "this week" };
    for (int i = 0; i < n; i++) {
        ih_msg_t m;
        int k = i % 3;
        char title [128], summary [256];
        snprintf (title, sizeof title, "Alert %d", i);
        snprintf (summary, sizeof summary, "%s %s %s.", kinds [k][0], fill [i % 5], fill [(i / 3) % 5]);
        ih_tk_alert (&m, NULL, IH_TLP_GREEN, title);
        m.summary = ih_msg_str (&m, summary);
        IH_CHECK (ih_category_parse (kinds [k][1], &m.category) == 0);
        m.severity = k == 2 ? IH_SEV_HIGH : IH_SEV_MEDIUM;
        m.sectors.count = 0;
        ih_msg_strlist_add (&m, &m.sectors, kinds [k][2]);
        m.tags.count = 0;
        ih_msg_strlist_add (&m, &m.tags, k == 0 ? "T1486" : k == 1 ? "T1566" : "T1498");
        ih_model_data_add (data, &m);
        uint64_t seq = (uint64_t) i + 1;
        ih_err_t err = { "" };
        IH_CHECK (ih_store_ingest_msgs (store, &m, &seq, 1, NULL, &err) == 0);
        ih_msg_free (&m);
    }
}

static json_t *
s_tdraft (const char *title, const char *summary)
{
    json_t *d = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:[]}", "title", title, "summary", summary,
                           "paste", "", "tags", "", "category", "advisory", "severity", "medium", "sectors",
                           "cands");
    ih_con_suggest_fresh (d);
    return d;
}

void
ih_con_suggest_test (bool verbose)
{
    char dir [256], sdir [300];
    ih_tk_tempdir ("con-suggest", dir, sizeof dir);
    ih_tk_path (sdir, sizeof sdir, dir, "store");
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (sdir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_con_t con;
    memset (&con, 0, sizeof con);
    ih_con_req_t x;
    memset (&x, 0, sizeof x);
    x.con = &con;
    x.store = store;

    //  No model, no index: nothing blocks, the form says why.
    con.analytics = ih_con_analytics_new (sdir);
    con.analytics->check_ms = 0;
    json_t *d = s_tdraft ("Phishing at the bank", "Staff got phishing e-mails with a fake bank login page");
    ih_con_suggest_draft (&x, d);
    IH_CHECK (streq (s_str (json_object_get (d, "sugg"), "state"), "none"));
    IH_CHECK (strstr (s_str (json_object_get (d, "sugg"), "why"), "no model yet"));
    IH_CHECK (streq (s_str (d, "category"), "advisory") && json_array_size (json_object_get (d, "tagc")) == 0);
    ih_related_hit_t hits [8];
    IH_CHECK (ih_con_related_alert (con.analytics, "11111111-2222-4333-8444-555555555555", hits, 8, &err) == 0);
    json_decref (d);
    //  An empty text asks nothing; the form still says there is no model.
    d = s_tdraft ("", " ");
    ih_con_suggest_draft (&x, d);
    IH_CHECK (streq (s_str (json_object_get (d, "sugg"), "state"), "none"));
    json_decref (d);

    //  The daemon trains a model: the console takes it without a restart.
    ih_model_data_t data;
    memset (&data, 0, sizeof data);
    s_tstore (store, &data, 90);
    ih_model_t *m = ih_model_train (&data, NULL, 0, &err);
    IH_CHECK (m);
    char *path = ih_model_path (sdir);
    IH_CHECK (ih_model_save (m, path, &err) == 0);
    ih_model_destroy (&m);
    d = s_tdraft ("", "");
    ih_con_suggest_draft (&x, d);
    IH_CHECK (streq (s_str (json_object_get (d, "sugg"), "state"), "empty"));
    json_decref (d);
    d = s_tdraft ("Phishing at the bank", "Staff got phishing e-mails with a credential harvesting page "
                  "that imitates the bank login");
    json_object_set_new (d, "tags", json_string ("T1566, wave"));
    ih_con_suggest_technique (d, "T1598");
    ih_con_suggest_draft (&x, d);
    char *t = json_dumps (d, JSON_COMPACT | JSON_SORT_KEYS);
    if (verbose)
        printf ("\n    %s", t);
    free (t);
    json_t *sugg = json_object_get (d, "sugg");
    IH_CHECK (streq (s_str (sugg, "state"), "ok") && json_integer_value (json_object_get (sugg, "alerts")) == 90);
    //  The category was automatic: it takes the suggestion; the sector is ticked and
    //  offered; T1566 was typed (not offered again); the technique named stays ticked.
    IH_CHECK (streq (s_str (d, "category"), "phishing"));
    IH_CHECK (s_has (json_object_get (d, "sectors"), "finance"));
    json_t *fin = s_find (json_object_get (d, "secc"), "finance");
    IH_CHECK (fin && json_is_true (json_object_get (fin, "suggested")));
    IH_CHECK (!s_find (json_object_get (d, "tagc"), "T1566"));
    json_t *named = s_find (json_object_get (d, "tagc"), "T1598");
    IH_CHECK (named && json_is_true (json_object_get (named, "on")) && streq (s_str (named, "src"), "text"));
    //  A category the user chose stays; a suggestion below the bar is offered, not ticked.
    json_t *d2 = s_tdraft ("Phishing at the bank", "Staff got phishing e-mails imitating the bank login");
    json_object_set_new (json_object_get (d2, "auto"), "category", json_false ());
    json_object_set_new (d2, "category", json_string ("fraud"));
    ih_con_suggest_draft (&x, d2);
    IH_CHECK (streq (s_str (d2, "category"), "fraud"));
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (d2, "tagc"), i, c)
        IH_CHECK (json_is_true (json_object_get (c, "on")) == json_is_true (json_object_get (c, "suggested")));
    json_array_foreach (json_object_get (d2, "secc"), i, c)
        IH_CHECK (s_has (json_object_get (d2, "sectors"), s_str (c, "label"))
                  == json_is_true (json_object_get (c, "suggested")));
    json_decref (d2);
    //  Sent tags: the typed ones (by the caller) and the ticked candidates.
    json_t *tags = json_pack ("[s]", "wave");
    ih_con_suggest_tags (d, tags);
    IH_CHECK (s_has (tags, "T1598") && s_has (tags, "wave"));
    json_decref (tags);
    json_decref (d);

    //  The related index, once the daemon has written one.
    ih_related_t *w = ih_related_open (sdir, true, &err);
    IH_CHECK (w && ih_related_catch_up (w, store, 0, &err) == 90);
    ih_related_destroy (&w);
    ih_msg_t first;
    ih_msg_init (&first, IH_KIND_ALERT);
    IH_CHECK (ih_store_get (store, data.docs [1].id, &first, NULL, &err) == 1);
    int n = ih_con_related_alert (con.analytics, first.id, hits, 8, &err);
    if (verbose)
        printf ("\n    %d related to %s, first %s %.3f%s", n, first.id, n > 0 ? hits [0].id : "-",
                n > 0 ? hits [0].score : 0, n > 0 && hits [0].near_duplicate ? " near-duplicate" : "");
    IH_CHECK (n > 0);
    ih_msg_free (&first);

    ih_con_analytics_destroy (&con.analytics);
    ih_con_analytics_destroy (&con.analytics);
    ih_model_data_free (&data);
    free (path);
    ih_store_destroy (&store);
    ih_tk_rmtree (dir);
    if (verbose)
        printf ("\n    ");
}
#endif

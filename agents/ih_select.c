/*  ih_select.c: the selection rule (see ih_select.h). */
#include <ctype.h>

#include "ih_select.h"

void
ih_select_init (ih_select_t *s)
{
    memset (s, 0, sizeof *s);
    s->tlp = s->tlp_max = s->category = s->min_severity = -1;
    s->status = IH_SELECT_ACTIVE;
}

/* ---- parsing --------------------------------------------------------------------------- */

typedef enum {
    s_F_NONE = 0, s_F_SINCE, s_F_TLP, s_F_TLP_MAX, s_F_CATEGORY, s_F_SECTOR, s_F_SEVERITY,
    s_F_STATUS, s_F_TYPE, s_F_DETECT, s_F_BEFORE
} s_field_t;

/*  "--tlp-max", "tlp_max", "TLP-MAX" -> s_F_TLP_MAX. */
static s_field_t
s_field (const char *name)
{
    static const struct { const char *name; s_field_t f; } names [] = {
        { "since", s_F_SINCE }, { "tlp", s_F_TLP }, { "tlp-max", s_F_TLP_MAX },
        { "category", s_F_CATEGORY }, { "sector", s_F_SECTOR }, { "min-severity", s_F_SEVERITY },
        { "severity", s_F_SEVERITY }, { "status", s_F_STATUS }, { "type", s_F_TYPE },
        { "types", s_F_TYPE }, { "detect-only", s_F_DETECT }, { "detect", s_F_DETECT },
        { "before", s_F_BEFORE }
    };
    if (!name)
        return s_F_NONE;
    if (name [0] == '-' && name [1] == '-')
        name += 2;
    char n [16];
    size_t i = 0;
    for (; name [i] && i < sizeof n - 1; i++)
        n [i] = name [i] == '_' ? '-' : (char) tolower ((unsigned char) name [i]);
    if (name [i])
        return s_F_NONE;
    n [i] = 0;
    for (size_t k = 0; k < sizeof names / sizeof names [0]; k++)
        if (streq (names [k].name, n))
            return names [k].f;
    return s_F_NONE;
}

bool
ih_select_takes_value (const char *name)
{
    s_field_t f = s_field (name);
    return f != s_F_NONE && f != s_F_DETECT;
}

/*  value lower-cased into out; false when it does not fit. */
static bool
s_lower (const char *value, char *out, size_t size)
{
    size_t i = 0;
    for (; value [i]; i++) {
        if (i + 1 >= size)
            return false;
        out [i] = (char) tolower ((unsigned char) value [i]);
    }
    out [i] = 0;
    return true;
}

static int
s_types (const char *v, uint32_t *types)
{
    *types = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn (p, ",");
        while (n && p [n - 1] == ' ')
            n--;
        char t [16];
        if (n == 0 || n >= sizeof t)
            return -1;
        for (size_t i = 0; i < n; i++)
            t [i] = (char) tolower ((unsigned char) p [i]);
        t [n] = 0;
        ih_ioc_type_t ty;
        if (ih_ioc_type_parse (t, &ty) != 0)
            return -1;
        *types |= 1u << ty;
        p += n;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    return *types ? 0 : -1;
}

int
ih_select_set (ih_select_t *s, const char *name, const char *value, ih_err_t *err)
{
    s_field_t f = s_field (name);
    if (f == s_F_NONE)
        return 1;
    char q [IH_QUOTE_BUF];
    char low [32];
    if (f == s_F_DETECT) {
        if (value && !streq (value, "1") && !streq (value, "true"))
            return ih_err_set (err, "%s: expected 1 or true, got '%s'", name,
                               ih_quote (value, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
        s->detect_only = true;
        return 0;
    }
    if (!value || !*value)
        return ih_err_set (err, "%s: a value is missing", name);
    ih_quote (value, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
    bool fits = s_lower (value, low, sizeof low);
    switch (f) {
        case s_F_SINCE: {
            int64_t ms;
            ih_err_t why = { "" };
            if (ih_since_parse (value, &ms, &why) != 0)
                return ih_err_set (err, "%s: %s", name, why.msg);
            s->since = ms;
            return 0;
        }
        case s_F_TLP:
        case s_F_TLP_MAX: {
            ih_tlp_t t;
            if (!fits || ih_tlp_parse (low, &t) != 0)
                return ih_err_set (err, "%s: unknown TLP level '%s' (CLEAR, GREEN, AMBER, "
                                   "AMBER+STRICT, RED)", name, q);
            if (f == s_F_TLP)
                s->tlp = (int) t;
            else
                s->tlp_max = (int) t;
            return 0;
        }
        case s_F_CATEGORY: {
            ih_category_t c;
            if (!fits || ih_category_parse (low, &c) != 0)
                return ih_err_set (err, "%s: unknown category '%s'", name, q);
            s->category = (int) c;
            return 0;
        }
        case s_F_SECTOR:
            if (!fits || !ih_slug_valid (low, IH_MAX_SHORT))
                return ih_err_set (err, "%s: not a sector name '%s'", name, q);
            snprintf (s->sector, sizeof s->sector, "%s", low);
            return 0;
        case s_F_SEVERITY: {
            ih_severity_t v;
            if (!fits || ih_severity_parse (low, &v) != 0)
                return ih_err_set (err, "%s: unknown severity '%s' (low, medium, high, critical)",
                                   name, q);
            s->min_severity = (int) v;
            return 0;
        }
        case s_F_STATUS:
            if (fits && streq (low, "active"))
                s->status = IH_SELECT_ACTIVE;
            else
            if (fits && streq (low, "retracted"))
                s->status = IH_SELECT_RETRACTED;
            else
            if (fits && (streq (low, "any") || streq (low, "all")))
                s->status = IH_SELECT_ANY;
            else
                return ih_err_set (err, "%s: expected active, retracted or any, got '%s'", name, q);
            return 0;
        case s_F_TYPE: {
            uint32_t types;
            if (s_types (value, &types) != 0)
                return ih_err_set (err, "%s: '%s' is not a list of IOC types (ipv4, ipv6, cidr, "
                                   "domain, url, email, md5, sha1, sha256, filename, cve, asn)", name, q);
            s->types = types;
            return 0;
        }
        case s_F_BEFORE: {
            uint64_t seq;
            if (!ih_parse_u64 (value, &seq) || seq == 0)
                return ih_err_set (err, "%s: expected a sequence number, got '%s'", name, q);
            s->before = seq;
            return 0;
        }
        case s_F_DETECT:
        case s_F_NONE:
            break;
    }
    return 1;
}

int
ih_select_from (ih_select_t *s, const char *const *keys, ih_select_arg_fn *get, void *arg, ih_err_t *err)
{
    for (size_t i = 0; keys [i]; i++) {
        const char *v = get (arg, keys [i]);
        if (v && ih_select_set (s, keys [i], v, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- the rule -------------------------------------------------------------------------------- */

bool
ih_select_ioc (const ih_select_t *s, const ih_ioc_t *ioc)
{
    if (s->types && !(s->types & (1u << ioc->type)))
        return false;
    return !s->detect_only || ioc->detect;
}

ih_select_verdict_t
ih_select_alert (const ih_select_t *s, const ih_msg_t *m, const ih_store_alert_t *info)
{
    bool retracted = info && info->retracted;
    if ((s->status == IH_SELECT_ACTIVE && retracted) || (s->status == IH_SELECT_RETRACTED && !retracted))
        return IH_SELECT_LEFT_RETRACTED;
    if ((s->before && (!info || info->seq >= s->before))
    ||  (s->since && m->modified < s->since)
    ||  (s->tlp >= 0 && (int) m->tlp != s->tlp)
    ||  (s->tlp_max >= 0 && (int) m->tlp > s->tlp_max)
    ||  (s->category >= 0 && (int) m->category != s->category)
    ||  (s->min_severity >= 0 && (int) m->severity < s->min_severity)
    ||  (s->sector [0] && !ih_strlist_has (&m->sectors, s->sector)))
        return IH_SELECT_LEFT_FILTERED;
    if (s->types) {
        bool any = false;
        for (uint32_t i = 0; i < m->ioc_count && !any; i++)
            any = (s->types & (1u << m->iocs [i].type)) != 0;
        if (!any)
            return IH_SELECT_LEFT_FILTERED;
    }
    return IH_SELECT_TAKEN;
}

/* ---- the walk --------------------------------------------------------------------------------- */

typedef struct {
    const ih_select_t *sel;
    ih_store_alert_fn *fn;
    void *arg;
} s_walk_t;

static int
s_walk_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_walk_t *x = (s_walk_t *) arg;
    return ih_select_alert (x->sel, m, info) == IH_SELECT_TAKEN ? x->fn (m, info, x->arg) : 0;
}

/*  Adds a group of keys by, values [lo..hi] (or text), unless it lists every alert (no
    use as an index: the rule checks it anyway). */
static int
s_group (ih_store_t *store, ih_store_walk_t *w, int64_t *size, uint64_t alerts, ih_store_by_t by,
         int lo, int hi, const char *text, ih_err_t *err)
{
    int g = w->ngroups;
    int64_t n = 0;
    w->groups [g].nkeys = 0;
    for (int v = lo; v <= hi && w->groups [g].nkeys < IH_STORE_WALK_KEYS; v++) {
        ih_store_key_t key = { by, v, text };
        int64_t c = ih_store_key_count (store, &key, err);
        if (c < 0)
            return -1;
        n += c;
        w->groups [g].keys [w->groups [g].nkeys++] = key;
    }
    if ((uint64_t) n < alerts || n == 0) {
        size [g] = n;
        w->ngroups++;
    }
    return 0;
}

int
ih_select_walk (ih_store_t *store, const ih_select_t *s, bool reverse, uint64_t budget, uint64_t *cut,
                ih_store_alert_fn *fn, void *arg, ih_err_t *err)
{
    if (cut)
        *cut = 0;
    ih_store_counts_t counts;
    if (ih_store_counts (store, &counts, err) != 0)
        return -1;
    ih_store_walk_t w;
    memset (&w, 0, sizeof w);
    w.before = s->before;
    w.reverse = reverse;
    w.budget = budget;
    w.cut = cut;
    int64_t size [IH_STORE_WALK_GROUPS];
    uint64_t all = counts.alerts;
    int rc = 0;
    if (s->category >= 0)
        rc = s_group (store, &w, size, all, IH_STORE_BY_CATEGORY, s->category, s->category, NULL, err);
    if (rc == 0 && s->sector [0])
        rc = s_group (store, &w, size, all, IH_STORE_BY_SECTOR, 0, 0, s->sector, err);
    if (rc == 0 && s->min_severity >= 0)
        rc = s_group (store, &w, size, all, IH_STORE_BY_SEVERITY, s->min_severity, IH_SEV_COUNT - 1,
                      NULL, err);
    if (rc == 0 && (s->tlp >= 0 || s->tlp_max >= 0))
        rc = s_group (store, &w, size, all, IH_STORE_BY_TLP, s->tlp >= 0 ? s->tlp : 0,
                      s->tlp >= 0 ? s->tlp : s->tlp_max, NULL, err);
    if (rc)
        return -1;
    //  The rarest group first: the join moves by its postings.
    for (int i = 1; i < w.ngroups; i++)
        for (int j = i; j > 0 && size [j] < size [j - 1]; j--) {
            int64_t t = size [j];
            size [j] = size [j - 1];
            size [j - 1] = t;
            __typeof__ (w.groups [0]) g = w.groups [j];
            w.groups [j] = w.groups [j - 1];
            w.groups [j - 1] = g;
        }
    s_walk_t x = { s, fn, arg };
    return ih_store_walk (store, &w, s_walk_one, &x, err);
}

/* ---- links ------------------------------------------------------------------------------------ */

static void
s_param (ih_buf_t *out, const char *key, const char *value)
{
    static const char hex [] = "0123456789ABCDEF";
    if (out->len)
        ih_buf_append (out, "&", 1);
    ih_buf_printf (out, "%s=", key);
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        if (isalnum (*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            ih_buf_append (out, p, 1);
        else {
            char e [3] = { '%', hex [*p >> 4], hex [*p & 15] };
            ih_buf_append (out, e, 3);
        }
    }
}

void
ih_select_query (const ih_select_t *s, ih_buf_t *out)
{
    ih_buf_t q;
    ih_buf_init (&q);
    char t [IH_TIME_MAX];
    if (s->since) {
        ih_time_format (s->since, t);
        s_param (&q, "since", t);
    }
    if (s->tlp >= 0)
        s_param (&q, "tlp", ih_tlp_name ((ih_tlp_t) s->tlp));
    if (s->tlp_max >= 0)
        s_param (&q, "tlp_max", ih_tlp_name ((ih_tlp_t) s->tlp_max));
    if (s->category >= 0)
        s_param (&q, "category", ih_category_name ((ih_category_t) s->category));
    if (s->sector [0])
        s_param (&q, "sector", s->sector);
    if (s->min_severity >= 0)
        s_param (&q, "severity", ih_severity_name ((ih_severity_t) s->min_severity));
    if (s->status != IH_SELECT_ACTIVE)
        s_param (&q, "status", s->status == IH_SELECT_RETRACTED ? "retracted" : "any");
    if (s->types) {
        ih_buf_t list;
        ih_buf_init (&list);
        for (int i = 0; i < IH_IOC_COUNT; i++)
            if (s->types & (1u << i))
                ih_buf_printf (&list, "%s%s", list.len ? "," : "", ih_ioc_type_name ((ih_ioc_type_t) i));
        ih_buf_append (&list, "", 1);
        s_param (&q, "type", (const char *) list.data);
        ih_buf_free (&list);
    }
    if (s->detect_only)
        s_param (&q, "detect", "1");
    ih_buf_append (out, q.data, q.len);
    ih_buf_free (&q);
    ih_buf_reserve (out, 1);
    out->data [out->len] = 0;
}

/* ---- self-test ---------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    const ih_select_t *sel;
    int n;
    uint64_t seqs [256];
} s_tseqs_t;

static int
s_tseq (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_tseqs_t *t = (s_tseqs_t *) arg;
    if (t->n < 256)
        t->seqs [t->n] = info->seq;
    t->n++;
    return 0;
}

/*  What the rule takes, from a walk of every alert. */
static int
s_trule (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_tseqs_t *t = (s_tseqs_t *) arg;
    return ih_select_alert (t->sel, m, info) == IH_SELECT_TAKEN ? s_tseq (m, info, arg) : 0;
}

/*  ih_select_walk lists what the rule takes from the whole store, in order, whatever the
    indexes it goes by; in budgeted steps too. */
static void
s_twalks (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("select", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 1 << 20, 0, &err);
    IH_CHECK (store);
    static const char *const sectors [] = { "finance", "health", "energy" };
    ih_msg_t m [200];
    uint64_t seqs [200];
    for (int i = 0; i < 200; i++) {
        ih_tk_alert (&m [i], NULL, (ih_tlp_t) (i % IH_TLP_COUNT), "walk");
        m [i].category = (ih_category_t) (i % 7);
        m [i].severity = (ih_severity_t) (i % IH_SEV_COUNT);
        m [i].modified = m [i].created + i * 1000;
        ih_msg_strlist_add (&m [i], &m [i].sectors, sectors [i % 3]);
        const char *iocs [] = { i % 2 ? "domain:walk.example" : "ipv4:203.0.113.9", NULL };
        ih_tk_iocs (&m [i], iocs, true);
        seqs [i] = (uint64_t) (i + 1) * 2;
    }
    IH_CHECK (ih_store_ingest_msgs (store, m, seqs, 200, NULL, &err) == 0);
    static const char *const cases [][2] = {
        { NULL, NULL }, { "category", "phishing" }, { "sector", "energy" }, { "severity", "high" },
        { "tlp", "AMBER" }, { "tlp_max", "GREEN" }, { "before", "201" }, { "type", "domain" },
        { "since", "2026-01-01T00:00:30Z" }, { "status", "any" }, { "sector", "nowhere" }
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        ih_select_t sel;
        ih_select_init (&sel);
        if (cases [c][0])
            IH_CHECK (ih_select_set (&sel, cases [c][0], cases [c][1], &err) == 0);
        if (c % 2) {
            //  combined with another filter
            IH_CHECK (ih_select_set (&sel, "severity", "medium", &err) == 0);
        }
        for (int reverse = 0; reverse < 2; reverse++) {
            s_tseqs_t want, got;
            memset (&want, 0, sizeof want);
            memset (&got, 0, sizeof got);
            want.sel = got.sel = &sel;
            IH_CHECK (ih_store_foreach (store, 0, reverse, s_trule, &want, &err) == 0);
            IH_CHECK (ih_select_walk (store, &sel, reverse, 0, NULL, s_tseq, &got, &err) == 0);
            IH_CHECK (got.n == want.n && memcmp (got.seqs, want.seqs, sizeof got.seqs) == 0);
            if (!reverse)
                continue;
            //  In steps of a small budget, going on from each cut: the same list.
            s_tseqs_t steps;
            memset (&steps, 0, sizeof steps);
            ih_select_t part = sel;
            uint64_t cut = 0;
            int n = 0;
            do {
                IH_CHECK (ih_select_walk (store, &part, true, 15, &cut, s_tseq, &steps, &err) == 0);
                part.before = cut;
                n++;
            } while (cut && n < 1000);
            IH_CHECK (steps.n == want.n && memcmp (steps.seqs, want.seqs, sizeof steps.seqs) == 0);
            if (verbose)
                printf ("\n    %s=%s%s: %d alerts, %d steps", cases [c][0] ? cases [c][0] : "(all)",
                        cases [c][1] ? cases [c][1] : "", c % 2 ? " severity=medium" : "", want.n, n);
        }
    }
    for (int i = 0; i < 200; i++)
        ih_msg_free (&m [i]);
    ih_store_destroy (&store);
    ih_tk_rmtree (base);
}

/*  A one-pair "key=value" query for ih_select_from. */
static const char *
s_test_arg (void *arg, const char *key)
{
    const char *q = (const char *) arg;
    size_t n = strlen (key);
    return strncmp (q, key, n) == 0 && q [n] == '=' ? q + n + 1 : NULL;
}

void
ih_select_test (bool verbose)
{
    //  Parsing: each field by its CLI and query names; bad values change nothing and say
    //  which field, quoting the value; names that are not fields are left to the caller.
    ih_select_t s;
    ih_select_init (&s);
    ih_err_t err = { "" };
    IH_CHECK (ih_select_set (&s, "--tlp-max", "amber", &err) == 0 && s.tlp_max == IH_TLP_AMBER);
    IH_CHECK (ih_select_set (&s, "tlp_max", "AMBER+STRICT", &err) == 0 && s.tlp_max == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_select_set (&s, "tlp", "Green", &err) == 0 && s.tlp == IH_TLP_GREEN);
    IH_CHECK (ih_select_set (&s, "severity", "HIGH", &err) == 0 && s.min_severity == IH_SEV_HIGH);
    IH_CHECK (ih_select_set (&s, "--min-severity", "low", &err) == 0 && s.min_severity == IH_SEV_LOW);
    IH_CHECK (ih_select_set (&s, "--since", "1h", &err) == 0 && s.since > ih_now_ms () - 3600001);
    IH_CHECK (ih_select_set (&s, "since", "2026-01-31", &err) == 0 && s.since == 1769817600000LL);
    IH_CHECK (ih_select_set (&s, "--type", "ipv4,Domain", &err) == 0
              && s.types == ((1u << IH_IOC_IPV4) | (1u << IH_IOC_DOMAIN)));
    IH_CHECK (ih_select_set (&s, "--detect-only", NULL, &err) == 0 && s.detect_only);
    IH_CHECK (ih_select_set (&s, "status", "any", &err) == 0 && s.status == IH_SELECT_ANY);
    IH_CHECK (ih_select_set (&s, "before", "42", &err) == 0 && s.before == 42);
    IH_CHECK (ih_select_set (&s, "--format", "csv", &err) == 1);
    IH_CHECK (ih_select_takes_value ("--since") && !ih_select_takes_value ("--detect-only")
              && !ih_select_takes_value ("--out"));
    ih_select_t before = s;
    const struct { const char *name, *value, *expect; } bad [] = {
        { "--tlp", "PURPLE", "--tlp: unknown TLP level 'PURPLE'" },
        { "category", "spam\n", "category: unknown category 'spam\\x0a'" },
        { "severity", "urgent", "severity: unknown severity 'urgent'" },
        { "since", "7y", "since: " },
        { "sector", "Fin ance", "sector: not a sector name 'Fin ance'" },
        { "--type", "ipv4,,url", "--type: 'ipv4,,url' is not a list of IOC types" },
        { "status", "gone", "status: expected active, retracted or any" },
        { "before", "0", "before: expected a sequence number, got '0'" },
        { "tlp", "", "tlp: a value is missing" },
        { "detect", "yes", "detect: expected 1 or true" }
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        err.msg [0] = 0;
        IH_CHECK (ih_select_set (&s, bad [i].name, bad [i].value, &err) == -1);
        if (verbose)
            printf ("\n    %s", err.msg);
        IH_CHECK (strncmp (err.msg, bad [i].expect, strlen (bad [i].expect)) == 0);
        IH_CHECK (memcmp (&s, &before, sizeof s) == 0);
    }

    //  The rule, as a table: alert (TLP, severity, category, sector, retracted, seq,
    //  modified, IOC type) x selection -> verdict.
    ih_msg_t m;
    ih_tk_alert (&m, NULL, IH_TLP_AMBER, "t");
    m.severity = IH_SEV_HIGH;
    m.category = IH_CAT_PHISHING;
    m.modified = 1800000000000LL;
    ih_msg_strlist_add (&m, &m.sectors, "finance");
    const char *iocs [] = { "domain:evil.example", NULL };
    ih_tk_iocs (&m, iocs, false);
    ih_store_alert_t info;
    memset (&info, 0, sizeof info);
    info.seq = 10;
    const struct {
        const char *name, *value;
        bool retracted;
        ih_select_verdict_t v;
    } rule [] = {
        { NULL, NULL, false, IH_SELECT_TAKEN },
        { NULL, NULL, true, IH_SELECT_LEFT_RETRACTED },
        { "status", "any", true, IH_SELECT_TAKEN },
        { "status", "retracted", false, IH_SELECT_LEFT_RETRACTED },
        { "status", "retracted", true, IH_SELECT_TAKEN },
        { "tlp", "AMBER", false, IH_SELECT_TAKEN },             //  exact
        { "tlp", "RED", false, IH_SELECT_LEFT_FILTERED },
        { "tlp", "GREEN", false, IH_SELECT_LEFT_FILTERED },
        { "tlp_max", "RED", false, IH_SELECT_TAKEN },           //  ceiling
        { "tlp_max", "AMBER", false, IH_SELECT_TAKEN },
        { "tlp_max", "GREEN", false, IH_SELECT_LEFT_FILTERED },
        { "severity", "high", false, IH_SELECT_TAKEN },         //  at least
        { "severity", "medium", false, IH_SELECT_TAKEN },
        { "severity", "critical", false, IH_SELECT_LEFT_FILTERED },
        { "category", "phishing", false, IH_SELECT_TAKEN },
        { "category", "malware", false, IH_SELECT_LEFT_FILTERED },
        { "sector", "finance", false, IH_SELECT_TAKEN },
        { "sector", "energy", false, IH_SELECT_LEFT_FILTERED },
        { "since", "2027-01-15T08:00:00Z", false, IH_SELECT_TAKEN },
        { "since", "2027-01-15T08:00:00.001Z", false, IH_SELECT_LEFT_FILTERED },
        { "before", "11", false, IH_SELECT_TAKEN },
        { "before", "10", false, IH_SELECT_LEFT_FILTERED },
        { "type", "domain", false, IH_SELECT_TAKEN },
        { "type", "ipv4,url", false, IH_SELECT_LEFT_FILTERED },
    };
    for (size_t i = 0; i < sizeof rule / sizeof rule [0]; i++) {
        ih_select_init (&s);
        if (rule [i].name)
            IH_CHECK (ih_select_set (&s, rule [i].name, rule [i].value, &err) == 0);
        info.retracted = rule [i].retracted;
        if (ih_select_alert (&s, &m, &info) != rule [i].v) {
            fprintf (stderr, "select case %zu (%s=%s): got %d\n", i, rule [i].name ? rule [i].name : "-",
                     rule [i].value ? rule [i].value : "-", (int) ih_select_alert (&s, &m, &info));
            IH_CHECK (false);
        }
    }
    //  IOC fields.
    ih_select_init (&s);
    IH_CHECK (ih_select_ioc (&s, &m.iocs [0]));
    s.detect_only = true;
    IH_CHECK (!ih_select_ioc (&s, &m.iocs [0]));
    s.detect_only = false;
    s.types = 1u << IH_IOC_IPV4;
    IH_CHECK (!ih_select_ioc (&s, &m.iocs [0]));

    //  A query string through a lookup function.
    {
        const char *keys [] = { "since", "severity", "tlp_max", NULL };
        ih_select_init (&s);
        IH_CHECK (ih_select_from (&s, keys, s_test_arg, "severity=high", &err) == 0
                  && s.min_severity == IH_SEV_HIGH && s.tlp_max == -1);
        IH_CHECK (ih_select_from (&s, keys, s_test_arg, "tlp_max=BLUE", &err) == -1
                  && strstr (err.msg, "tlp_max: unknown TLP level 'BLUE'"));
    }

    //  Query strings round-trip through ih_select_set.
    ih_select_init (&s);
    IH_CHECK (ih_select_set (&s, "tlp_max", "AMBER+STRICT", &err) == 0);
    IH_CHECK (ih_select_set (&s, "sector", "finance", &err) == 0);
    IH_CHECK (ih_select_set (&s, "type", "ipv4,url", &err) == 0);
    IH_CHECK (ih_select_set (&s, "since", "2026-01-31", &err) == 0);
    ih_buf_t q;
    ih_buf_init (&q);
    ih_select_query (&s, &q);
    IH_CHECK (streq ((char *) q.data, "since=2026-01-31T00%3A00%3A00.000Z&tlp_max=AMBER%2BSTRICT"
                                      "&sector=finance&type=ipv4%2Curl"));
    ih_buf_free (&q);
    ih_msg_free (&m);

    s_twalks (verbose);
}
#endif

/*  cmd_query.c: reading the store (cmd.h): `list`, `show`, `search` and `tail`.

    The store is opened read-only: the daemon may be writing meanwhile (LMDB readers
    never block it). A store that does not exist yet (the daemon has not run) is not an
    error: list prints nothing, show and search find nothing, tail waits for it. `tail`
    stops on SIGINT/SIGTERM (ih_daemon.h). Text from peers is printed with control
    characters replaced (s_print_clean), so that an alert cannot drive the analyst's
    terminal; --json output is ASCII.
*/
#include <ctype.h>
#include <czmq.h>
#include <inttypes.h>
#include <unistd.h>

#include "cmd.h"
#include "ih_daemon.h"
#include "ih_index.h"
#include "ih_json.h"
#include "ih_select.h"
#include "ih_store_prefix.h"
#include "ih_view.h"

/* ---- shared with status (cmd.h) ------------------------------------------------------------- */

ih_store_t *
cmd_open_reader (ih_agent_cfg_t *cfg, bool *missing, ih_err_t *err)
{
    *missing = false;
    ih_store_t *store = ih_store_open (cfg->store, 0, 0, 0, err);
    if (!store && strstr (err->msg, "not created yet"))
        *missing = true;
    return store;
}

int
cmd_print_json (json_t *o)
{
    char *text = json_dumps (o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (o);
    if (!text)
        return -1;
    printf ("%s\n", text);
    free (text);
    return ferror (stdout) ? -1 : 0;
}

const char *
cmd_jstr (json_t *o, const char *key)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v ? v : "";
}

/* ---- list ------------------------------------------------------------------------------------ */

/*  "2026-11-28T17:25:36.123Z" -> "2026-11-28 17:25" */
static void
s_when (int64_t ms, char out [IH_TIME_MAX])
{
    char t [IH_TIME_MAX];
    ih_time_format (ms, t);
    snprintf (out, IH_TIME_MAX, "%.10s %.5s", t, t + 11);
}

typedef struct {
    ih_store_t *store;
    bool json;
    ih_select_t sel;            /* list: status any by default (an inventory of the store) */
    uint64_t shown;
} s_list_t;

static void
s_list_header (void)
{
    printf ("%-8s %-36s %-3s %-12s %-8s %-9s %-16s  %s\n", "SEQ", "ID", "REV", "TLP", "SEVERITY",
            "STATUS", "MODIFIED (UTC)", "TITLE");
}

static void
s_list_row (const ih_msg_t *m, const ih_store_alert_t *info)
{
    char when [IH_TIME_MAX];
    s_when (m->modified, when);
    printf ("%-8" PRIu64 " %s %-3u %-12s %-8s %-9s %-16s  %s\n", info->seq, m->id, m->revision,
            ih_tlp_name (m->tlp), ih_severity_name (m->severity),
            info->retracted ? "retracted" : "active", when, m->title);
}

static int
s_list_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_list_t *l = (s_list_t *) arg;
    if (ih_select_alert (&l->sel, m, info) != IH_SELECT_TAKEN)
        return 0;
    if (l->json)
        return cmd_print_json (ih_view_alert (l->store, m, info, 0));
    if (l->shown++ == 0)
        s_list_header ();
    s_list_row (m, info);
    return ferror (stdout) ? -1 : 0;
}

int
cmd_list (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    s_list_t l;
    memset (&l, 0, sizeof l);
    ih_select_init (&l.sel);
    l.sel.status = IH_SELECT_ANY;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        if (streq (a, "--json")) {
            l.json = true;
            continue;
        }
        bool takes = ih_select_takes_value (a);
        if (takes && !v)
            return cmd_fail ("list: %s needs a value; see list --help", a);
        ih_err_t err = { "" };
        int rc = a [0] == '-' && a [1] == '-' ? ih_select_set (&l.sel, a, takes ? v : NULL, &err) : 1;
        if (rc < 0)
            return cmd_fail ("list: %s", err.msg);
        if (rc > 0)
            return cmd_fail ("list: unexpected argument '%s'", a);
        if (takes)
            i++;
    }
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store)
        return missing ? 0 : cmd_fail ("%s", err.msg);
    l.store = store;
    int rc = ih_store_foreach (store, 0, false, s_list_one, &l, &err);
    ih_store_destroy (&store);
    if (rc != 0)
        return cmd_fail ("%s", err.msg [0] ? err.msg : "list: cannot write output");
    return 0;
}

/* ---- show ------------------------------------------------------------------------------------ */

/*  Prints text for a terminal: control characters (escape sequences from a peer's
    alert) become '?'; newlines start a new line indented by indent when keep_lines,
    else a space. */
static void
s_print_clean (const char *text, bool keep_lines, int indent)
{
    for (const unsigned char *p = (const unsigned char *) (text ? text : ""); *p; p++) {
        if (*p == '\n' && keep_lines)
            printf ("\n%*s", indent, "");
        else
        if (*p == '\n' || *p == '\t')
            putchar (' ');
        else
        if (*p < 0x20 || *p == 0x7f)
            putchar ('?');
        else
            putchar (*p);
    }
}

static void
s_show_field (const char *label, const char *value)
{
    printf ("%-12s", label);
    s_print_clean (value && *value ? value : "-", false, 0);
    putchar ('\n');
}

static void
s_show_list (const char *label, json_t *arr)
{
    printf ("%-12s", label);
    if (json_array_size (arr) == 0)
        printf ("-");
    for (size_t i = 0; i < json_array_size (arr); i++) {
        if (i)
            printf (", ");
        s_print_clean (json_string_value (json_array_get (arr, i)), false, 0);
    }
    putchar ('\n');
}

/*  "2026-11-28T17:25:36.123Z" -> "2026-11-28 17:25:36 UTC" */
static void
s_show_time (const char *label, const char *rfc3339)
{
    printf ("%-12s%.10s %.8s UTC\n", label, rfc3339, strlen (rfc3339) >= 19 ? rfc3339 + 11 : "");
}

/*  The retractions or the comments of o (key), a line each: "  seq 4  2026-12-06 10:08
    soc@bank-a  IOCs 203.0.113.7: false positive", "  seq 3  ...  soc@bank-a: text". */
static void
s_show_entries (json_t *o, const char *key)
{
    json_t *arr = json_object_get (o, key);
    if (json_array_size (arr) == 0)
        return;
    bool comments = streq (key, "comments");
    printf ("\n%s:\n", key);
    for (size_t i = 0; i < json_array_size (arr); i++) {
        json_t *e = json_array_get (arr, i);
        json_t *pub = json_object_get (e, "publisher");
        const char *created = cmd_jstr (e, "created");
        printf ("  seq %lld  %.10s %.5s  %s@%s", (long long) json_integer_value (json_object_get (e, "seq")),
                created, strlen (created) >= 16 ? created + 11 : "", cmd_jstr (pub, "member"),
                cmd_jstr (pub, "org"));
        if (comments) {
            printf (": ");
            s_print_clean (cmd_jstr (e, "text"), true, 4);
        }
        else {
            json_t *iocs = json_object_get (e, "iocs");
            printf ("  ");
            if (json_array_size (iocs) == 0)
                printf ("the whole alert");
            for (size_t k = 0; k < json_array_size (iocs); k++) {
                printf ("%s", k ? ", " : "IOCs ");
                s_print_clean (cmd_jstr (json_array_get (iocs, k), "value"), false, 0);
            }
            if (*cmd_jstr (e, "text")) {
                printf (": ");
                s_print_clean (cmd_jstr (e, "text"), false, 0);
            }
        }
        putchar ('\n');
    }
}

/*  How many sighting reports cite alert id: a report counts its sightings (`sight
    --count 3` is one report of three), and the store keeps their sum per alert
    (info->sightings) but not how many reports made it, so they are counted in the log,
    where each delivered message has its entry. A walk of the log, cut short once the
    reports are as many as the sightings (each report counts at least one). */
static uint64_t
s_sighting_reports (ih_store_t *store, const ih_store_alert_t *info)
{
    if (info->sightings <= 1)
        return info->sightings;
    uint64_t reports = 0, after = 0;
    ih_store_log_t log [256];
    int n;
    while (reports < info->sightings && (n = ih_store_log_read (store, after, log, 256, NULL)) > 0) {
        for (int i = 0; i < n; i++)
            reports += !log [i].rejected && log [i].kind == IH_KIND_SIGHTING && streq (log [i].ref, info->id);
        after = log [n - 1].seq;
    }
    return reports;
}

static void
s_show_human (json_t *o, const ih_store_alert_t *info, uint64_t reports)
{
    json_t *pub = json_object_get (o, "publisher");
    char who [160];
    snprintf (who, sizeof who, "%s@%s", cmd_jstr (pub, "member"), cmd_jstr (pub, "org"));
    s_show_field ("alert", cmd_jstr (o, "id"));
    s_show_field ("title", cmd_jstr (o, "title"));
    if (info->retracted)
        printf ("%-12sRETRACTED (seq %" PRIu64 ")\n", "status", info->retract_seq);
    else
        printf ("%-12sactive\n", "status");
    printf ("%-12s%u (%u revision%s seen; this one stored at seq %" PRIu64 ", the first at seq %" PRIu64
            ")\n", "revision", info->revision, info->revisions, info->revisions == 1 ? "" : "s",
            info->seq, info->first_seq);
    s_show_field ("publisher", who);
    s_show_field ("tlp", cmd_jstr (o, "tlp"));
    s_show_field ("severity", cmd_jstr (o, "severity"));
    s_show_field ("category", cmd_jstr (o, "category"));
    s_show_list ("sectors", json_object_get (o, "sectors"));
    s_show_list ("recipients", json_object_get (o, "recipients"));
    s_show_list ("tags", json_object_get (o, "tags"));
    s_show_list ("references", json_object_get (o, "references"));
    s_show_time ("created", cmd_jstr (o, "created"));
    s_show_time ("modified", cmd_jstr (o, "modified"));
    if (info->sightings)
        printf ("%-12s%" PRIu64 " %s in %" PRIu64 " %s citing this alert\n", "sightings", info->sightings,
                ih_plural (info->sightings, "sighting", "sightings"), reports,
                ih_plural (reports, "report", "reports"));
    else
        printf ("%-12snone reported\n", "sightings");
    printf ("%-12s%u\n", "comments", info->comments);
    const char *summary = cmd_jstr (o, "summary");
    if (*summary) {
        printf ("\nsummary:\n  ");
        s_print_clean (summary, true, 2);
        putchar ('\n');
    }
    json_t *iocs = json_object_get (o, "iocs");
    json_t *seen = json_object_get (o, "ioc_sightings");
    size_t n = json_array_size (iocs), nret = 0;
    for (size_t i = 0; i < n; i++)
        nret += json_is_true (json_object_get (json_array_get (iocs, i), "retracted"));
    printf ("\niocs (%zu", n);
    if (nret)
        printf ("; %zu retracted", nret);
    printf ("):\n");
    if (n)
        printf ("  %-8s %-40s %-6s %-6s %-9s %s\n", "TYPE", "VALUE", "DETECT", "SEEN", "STATUS", "COMMENT");
    for (size_t i = 0; i < n; i++) {
        json_t *ioc = json_array_get (iocs, i);
        const char *type = cmd_jstr (ioc, "type"), *value = cmd_jstr (ioc, "value");
        json_int_t count = 0;
        for (size_t k = 0; k < json_array_size (seen); k++) {
            json_t *sg = json_array_get (seen, k);
            if (streq (cmd_jstr (sg, "type"), type) && streq (cmd_jstr (sg, "value"), value))
                count = json_integer_value (json_object_get (sg, "count"));
        }
        char cnt [24] = "-";
        if (count)
            snprintf (cnt, sizeof cnt, "%lld", (long long) count);
        printf ("  %-8s ", type);
        s_print_clean (value, false, 0);
        printf ("%*s %-6s %-6s %-9s ", strlen (value) < 40 ? (int) (40 - strlen (value)) : 0, "",
                json_is_true (json_object_get (ioc, "detect")) ? "yes" : "no", cnt,
                json_is_true (json_object_get (ioc, "retracted")) ? "retracted" : "active");
        s_print_clean (cmd_jstr (ioc, "comment"), false, 0);
        putchar ('\n');
    }
    s_show_entries (o, "retractions");
    s_show_entries (o, "comments");
}

/*  At most this many candidates are named when a prefix matches several alerts. */
#define s_SHOW_CANDIDATES  5

/*  "show: 'abcd' is ambiguous: 7 alerts start with it: ID, ID, ID, ID, ID and 2 more" */
static int
s_show_ambiguous (const char *prefix, char ids [][IH_UUID_LEN + 1], int found)
{
    char list [s_SHOW_CANDIDATES * (IH_UUID_LEN + 2) + 32] = "";
    size_t o = 0;
    for (int i = 0; i < found && i < s_SHOW_CANDIDATES; i++)
        o += (size_t) snprintf (list + o, sizeof list - o, "%s%s", i ? ", " : "", ids [i]);
    if (found > s_SHOW_CANDIDATES)
        snprintf (list + o, sizeof list - o, " and %d more", found - s_SHOW_CANDIDATES);
    return cmd_fail ("show: '%s' is ambiguous: %d alerts start with it: %s", prefix, found, list);
}

int
cmd_show (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *id = NULL;
    bool as_json = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            as_json = true;
        else
        if (!id && argv [i][0] != '-')
            id = argv [i];
        else
            return cmd_fail ("show: unexpected argument '%s'", argv [i]);
    }
    if (!id)
        return cmd_fail ("show: ID is missing; see show --help");
    //  The whole id, or a unique start of it as git takes a commit's (any case).
    char low [IH_UUID_LEN + 1];
    size_t n = strlen (id);
    for (size_t i = 0; i <= n && n <= IH_UUID_LEN; i++)
        low [i] = (char) tolower ((unsigned char) id [i]);
    if (n > IH_UUID_LEN || !ih_store_prefix_valid (low))
        return cmd_fail ("show: '%.64s' is not an alert id (a lower-case UUID) nor the start of one", id);
    if (n < IH_STORE_PREFIX_MIN)
        return cmd_fail ("show: '%s' is too short; give at least %d characters of the id", id,
                         IH_STORE_PREFIX_MIN);
    ih_err_t err = { "" };
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store)
        return missing ? cmd_fail ("show: no alert %s'%s' (the store is empty)",
                                   n == IH_UUID_LEN ? "" : "starts with ", id)
                       : cmd_fail ("%s", err.msg);
    char ids [s_SHOW_CANDIDATES][IH_UUID_LEN + 1];
    if (!ih_uuid_valid (low)) {
        int found = ih_store_find_prefix (store, low, ids, s_SHOW_CANDIDATES, &err);
        if (found != 1) {
            ih_store_destroy (&store);
            if (found < 0)
                return cmd_fail ("show: %s", err.msg);
            if (found == 0)
                return cmd_fail ("show: no alert starts with '%s'", id);
            return s_show_ambiguous (id, ids, found);
        }
        id = ids [0];
    }
    else
        id = low;
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    int found = ih_store_get (store, id, &m, &info, &err);
    json_t *o = found == 1 ? ih_view_alert (store, &m, &info, IH_VIEW_DETAILS) : NULL;
    uint64_t reports = found == 1 && !as_json ? s_sighting_reports (store, &info) : 0;
    ih_store_destroy (&store);
    ih_msg_free (&m);
    if (found != 1)
        return found == 0 ? cmd_fail ("show: no alert %s", id) : cmd_fail ("%s", err.msg);
    if (as_json)
        return cmd_print_json (o) == 0 ? 0 : cmd_fail ("show: cannot write output");
    s_show_human (o, &info, reports);
    json_decref (o);
    return ferror (stdout) ? cmd_fail ("show: cannot write output") : 0;
}

/* ---- search ---------------------------------------------------------------------------------- */

typedef struct {
    ih_index_hit_t *hits;
    size_t n, cap;
    bool active_only;
} s_hits_t;

static int
s_search_hit (const ih_index_hit_t *hit, void *arg)
{
    s_hits_t *h = (s_hits_t *) arg;
    if (h->active_only && hit->retracted)
        return 0;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->hits = (ih_index_hit_t *) realloc (h->hits, h->cap * sizeof *h->hits);
        if (!h->hits)
            abort ();
    }
    h->hits [h->n++] = *hit;
    return 0;
}

/*  search exits as grep does: 0 when something matched, 1 when nothing did, and
    CMD_SEARCH_ERROR (2) on an error, so that a script can tell "not known here" from
    "could not look". */
#define s_search_fail(...)  (cmd_fail (__VA_ARGS__), CMD_SEARCH_ERROR)

int
cmd_search (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    const char *value = NULL, *type_name = NULL;
    bool as_json = false;
    unsigned flags = 0;
    s_hits_t h;
    memset (&h, 0, sizeof h);
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        if (streq (a, "--json"))
            as_json = true;
        else
        if (streq (a, "--active"))
            h.active_only = true;
        else
        if (streq (a, "--subdomains"))
            flags |= IH_SEARCH_SUBDOMAINS;
        else
        if (streq (a, "--inside"))
            flags |= IH_SEARCH_INSIDE;
        else
        if (streq (a, "--type")) {
            if (i + 1 >= argc)
                return s_search_fail ("search: --type needs a value; see search --help");
            type_name = argv [++i];
        }
        else
        if (a [0] == '-' && a [1] && !value)
            return s_search_fail ("search: unexpected argument '%s'; see search --help", a);
        else
        if (value)
            return s_search_fail ("search: unexpected argument '%s'; see search --help", a);
        else
            value = a;
    }
    if (!value)
        return s_search_fail ("search: VALUE is missing; see search --help");

    //  What to look up: the given or guessed type, and the value as a filename too.
    ih_err_t err = { "" };
    ih_ioc_type_t types [2];
    char norms [2][IH_MAX_IOC_VALUE + 1];
    int nt = 0;
    ih_ioc_type_t t;
    if (type_name || cmd_ioc_typed (value, &t)) {
        if (cmd_ioc_value (value, type_name, &types [0], norms [0], &err) != 0)
            return s_search_fail ("search: %s", err.msg);
        nt = 1;
    }
    else {
        if (cmd_ioc_value (value, NULL, &types [0], norms [0], NULL) == 0)
            nt = 1;
        if ((nt == 0 || types [0] != IH_IOC_FILENAME)
        &&  ih_ioc_normalise (IH_IOC_FILENAME, value, norms [nt], IH_MAX_IOC_VALUE + 1, NULL) == 0)
            types [nt++] = IH_IOC_FILENAME;
        if (nt == 0)
            return s_search_fail ("search: '%.64s' is no IOC value of any type", value);
    }
    bool missing;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store && !missing)
        return s_search_fail ("%s", err.msg);
    json_t *searched = json_array ();
    for (int k = 0; k < nt; k++) {
        uint64_t count = 0;
        uint32_t reports = 0;
        if (store) {
            if (ih_store_search (store, types [k], norms [k], flags, s_search_hit, &h, &err) < 0
            ||  ih_store_sightings (store, types [k], norms [k], &count, &reports, &err) != 0) {
                ih_store_destroy (&store);
                json_decref (searched);
                free (h.hits);
                return s_search_fail ("%s", err.msg);
            }
        }
        json_array_append_new (searched, json_pack ("{s:s, s:s, s:{s:I, s:I}}", "type",
                               ih_ioc_type_name (types [k]), "value", norms [k], "sightings",
                               "count", (json_int_t) count, "reports", (json_int_t) reports));
    }
    //  The alerts behind the hits.
    json_t *hits = json_array ();
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    for (size_t i = 0; i < h.n; i++) {
        const ih_index_hit_t *x = &h.hits [i];
        ih_store_alert_t info;
        memset (&info, 0, sizeof info);
        int found = ih_store_get (store, x->id, &m, &info, &err);
        json_t *o = json_pack ("{s:s, s:s, s:s, s:b, s:b, s:b, s:s}", "match", ih_match_name (x->match),
                               "type", ih_ioc_type_name (x->type), "value", x->value,
                               "derived", x->derived, "detect", x->detect, "retracted", x->retracted,
                               "id", x->id);
        if (found == 1) {
            json_object_set_new (o, "title", json_string (m.title));
            json_object_set_new (o, "tlp", json_string (ih_tlp_name (m.tlp)));
            json_object_set_new (o, "severity", json_string (ih_severity_name (m.severity)));
            json_object_set_new (o, "category", json_string (ih_category_name (m.category)));
            json_object_set_new (o, "status", json_string (info.retracted ? "retracted" : "active"));
            json_object_set_new (o, "revision", json_integer (info.revision));
            json_object_set_new (o, "seq", json_integer ((json_int_t) info.seq));
            json_object_set_new (o, "publisher", json_pack ("{s:s, s:s}", "org", m.org, "member", m.member));
        }
        json_array_append_new (hits, o);
    }
    ih_msg_free (&m);
    ih_store_destroy (&store);
    free (h.hits);
    if (as_json) {
        size_t nhits = json_array_size (hits);
        json_t *o = json_pack ("{s:s, s:o, s:o}", "query", value, "searched", searched, "hits", hits);
        if (cmd_print_json (o) != 0)
            return s_search_fail ("search: cannot write output");
        return nhits ? 0 : 1;
    }
    for (size_t k = 0; k < json_array_size (searched); k++) {
        json_t *q = json_array_get (searched, k);
        json_t *sg = json_object_get (q, "sightings");
        uint64_t count = (uint64_t) json_integer_value (json_object_get (sg, "count"));
        uint64_t reports = (uint64_t) json_integer_value (json_object_get (sg, "reports"));
        if (count)
            printf ("%s %s was sighted %" PRIu64 " %s (%" PRIu64 " %s)\n", cmd_jstr (q, "type"),
                    cmd_jstr (q, "value"), count, ih_plural (count, "time", "times"), reports,
                    ih_plural (reports, "report", "reports"));
    }
    if (json_array_size (hits) == 0) {
        printf ("no match for");
        for (size_t k = 0; k < json_array_size (searched); k++)
            printf ("%s %s %s", k ? " or" : "", cmd_jstr (json_array_get (searched, k), "type"),
                    cmd_jstr (json_array_get (searched, k), "value"));
        printf ("%s\n", h.active_only ? " (among IOCs not retracted)" : "");
    }
    else
        printf ("%-9s %-8s %-32s %-36s %-12s %-8s %-9s %s\n", "MATCH", "TYPE", "VALUE", "ALERT", "TLP",
                "SEVERITY", "STATUS", "TITLE");
    for (size_t i = 0; i < json_array_size (hits); i++) {
        json_t *x = json_array_get (hits, i);
        char type [32];
        snprintf (type, sizeof type, "%s%s", cmd_jstr (x, "type"),
                  json_is_true (json_object_get (x, "derived")) ? "*" : "");
        const char *v = cmd_jstr (x, "value");
        printf ("%-9s %-8s ", cmd_jstr (x, "match"), type);
        s_print_clean (v, false, 0);
        printf ("%*s %-36s %-12s %-8s %-9s ", strlen (v) < 32 ? (int) (32 - strlen (v)) : 0, "",
                cmd_jstr (x, "id"), cmd_jstr (x, "tlp"), cmd_jstr (x, "severity"),
                json_is_true (json_object_get (x, "retracted")) ? "retracted" : "active");
        s_print_clean (cmd_jstr (x, "title"), false, 0);
        putchar ('\n');
    }
    if (json_array_size (hits) && !h.active_only) {
        bool derived = false;
        for (size_t i = 0; i < json_array_size (hits); i++)
            derived |= json_is_true (json_object_get (json_array_get (hits, i), "derived"));
        if (derived)
            printf ("(* the host of a url, or the domain of an e-mail address)\n");
    }
    size_t nhits = json_array_size (hits);
    json_decref (searched);
    json_decref (hits);
    if (ferror (stdout))
        return s_search_fail ("search: cannot write output");
    return nhits ? 0 : 1;
}

/* ---- tail ------------------------------------------------------------------------------------ */

typedef struct {
    uint64_t seq;
    json_t *found;
} s_find_ref_t;

static int
s_find_ref (uint64_t seq, const ih_msg_t *msg, void *arg)
{
    s_find_ref_t *f = (s_find_ref_t *) arg;
    if (seq != f->seq)
        return 0;
    ih_json_meta_t meta;
    memset (&meta, 0, sizeof meta);
    meta.seq = seq;
    f->found = ih_msg_to_json (msg, &meta);
    return 1;
}

/*  Prints one log entry. Returns 0, or -1 when stdout is gone. */
static int
s_tail_one (ih_store_t *store, const ih_store_log_t *e, bool as_json, bool all)
{
    bool alert = !e->rejected && e->kind == IH_KIND_ALERT
              && (e->outcome == IH_STORE_NEW || e->outcome == IH_STORE_REVISED);
    if (alert) {
        ih_msg_t m;
        ih_msg_init (&m, IH_KIND_ALERT);
        ih_store_alert_t info;
        int found = ih_store_get (store, e->id, &m, &info, NULL);
        int rc = 0;
        //  An entry revised again since is shown with the later one.
        if (found == 1 && info.seq == e->seq) {
            if (as_json)
                rc = cmd_print_json (ih_view_alert (store, &m, &info, 0));
            else {
                printf ("%-8s ", e->outcome == IH_STORE_NEW ? "new" : "revision");
                s_list_row (&m, &info);
            }
        }
        ih_msg_free (&m);
        return rc || ferror (stdout) ? -1 : 0;
    }
    if (!all)
        return 0;
    if (as_json) {
        json_t *o = NULL;
        if (!e->rejected && (e->kind == IH_KIND_COMMENT || e->kind == IH_KIND_RETRACTION)) {
            s_find_ref_t f = { e->seq, NULL };
            ih_store_refs_foreach (store, e->ref, e->kind, s_find_ref, &f, NULL);
            o = f.found;
        }
        if (!o) {
            o = json_pack ("{s:s, s:I, s:s}", "kind", e->rejected ? "rejected" : ih_kind_name (e->kind),
                           "seq", (json_int_t) e->seq, "outcome", ih_store_outcome_name (e->outcome));
            if (!e->rejected) {
                json_object_set_new (o, "id", json_string (e->id));
                if (e->ref [0])
                    json_object_set_new (o, "ref", json_string (e->ref));
                if (e->kind == IH_KIND_ALERT)
                    json_object_set_new (o, "revision", json_integer (e->revision));
            }
        }
        return cmd_print_json (o);
    }
    if (e->rejected)
        printf ("%-8s %-8" PRIu64 " (failed verification; not stored)\n", "rejected", e->seq);
    else
    if (e->kind == IH_KIND_ALERT)
        printf ("%-8s %-8" PRIu64 " %s %-3u (not newer than the stored revision)\n", "stale", e->seq,
                e->id, e->revision);
    else
        printf ("%-8s %-8" PRIu64 " %s on %s\n", ih_kind_name (e->kind), e->seq, e->id,
                e->ref [0] ? e->ref : "(no alert)");
    return ferror (stdout) ? -1 : 0;
}

int
cmd_tail (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false, all = false, have_from = false;
    uint64_t from = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        if (streq (a, "--json"))
            as_json = true;
        else
        if (streq (a, "--all"))
            all = true;
        else
        if (streq (a, "--from")) {
            if (i + 1 >= argc)
                return cmd_fail ("tail: --from needs a value; see tail --help");
            const char *v = argv [++i];
            if (!ih_parse_uint (v, 0, UINT64_MAX, &from))
                return cmd_fail ("tail: --from: '%.32s' is not a sequence number", v);
            have_from = true;
        }
        else
            return cmd_fail ("tail: unexpected argument '%s'; see tail --help", a);
    }
    ih_daemon_signals (IH_DAEMON_INTERRUPT);
    ih_err_t err = { "" };
    ih_store_t *store = NULL;
    uint64_t after = from;
    int ret = 0;
    bool waiting_said = false;
    ih_store_log_t log [256];
    while (!ih_daemon_stop) {
        if (!store) {
            bool missing;
            store = cmd_open_reader (cfg, &missing, &err);
            if (!store && !missing) {
                ret = cmd_fail ("%s", err.msg);
                break;
            }
            if (!store) {
                if (!waiting_said)
                    fprintf (stderr, "%s: waiting for the store %s to be created\n", CMD_PROG, cfg->store);
                waiting_said = true;
                usleep (500000);
                continue;
            }
            if (!have_from)
                after = ih_store_cursor (store);
        }
        int n = ih_store_log_read (store, after, log, 256, &err);
        if (n < 0) {
            ret = cmd_fail ("%s", err.msg);
            break;
        }
        for (int i = 0; i < n && !ih_daemon_stop; i++) {
            after = log [i].seq;
            if (s_tail_one (store, &log [i], as_json, all) != 0) {
                ih_daemon_stop = 1;         //  stdout closed: done
                break;
            }
        }
        if (fflush (stdout) != 0)
            break;
        if (n < 256 && !ih_daemon_stop)
            usleep (200000);
    }
    ih_store_destroy (&store);
    return ret;
}

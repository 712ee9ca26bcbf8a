/*  ih_import_cmd.c: `infohub-agent import` (ih_import.h, ih_import_cmd).

    Reads the input (a file or stdin, at most 64 MiB; a directory for a MISP feed),
    converts it with ih_import_run (ih_import_run_feed), compares each draft with what the
    agent's store holds under its stable id (ih_import_plan; the store opened read-only,
    the daemon may be writing meanwhile) and hands what is new or revised to the
    publisher the agent passes in (the same code as `publish`), or with --dry-run prints
    it as JSON, one draft a line. Notes on stderr name each alert narrowed or not
    imported; one line at the end says what became of the rest (ih_import_report_line).
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "ih_import.h"
#include "ih_json.h"

#define s_MAX_INPUT     (64 << 20)

#define s_fail(prog, ...) ih_fail (prog, "import", __VA_ARGS__)

typedef struct {
    const ih_import_cmd_cfg_t *cfg;
    const char *prog;
    const char *source;
    ih_store_t *store;          /* NULL: no store yet */
    bool dry;
} s_cmd_t;

/*  The broker's answers that concern one alert (the import goes on); any other stops it
    (a reader's role, a revoked key, a broker failing: the next alert would fare alike). */
static bool
s_per_alert (const char *code)
{
    return streq (code, "bad-message") || streq (code, "not-owner") || streq (code, "unknown-alert")
        || streq (code, "not-entitled");
}

/*  Each draft: the plan against the store, then publish (or print) what is new or revised. */
static int
s_each (ih_msg_t *draft, void *arg, ih_err_t *why)
{
    s_cmd_t *c = (s_cmd_t *) arg;
    int plan = ih_import_plan (c->store, c->cfg->org, draft, ih_now_ms (), why);
    if (plan < 0 || plan == IH_IMPORT_UNCHANGED || plan == IH_IMPORT_REFUSED)
        return plan;
    if (c->dry) {
        char *line = ih_msg_to_json_str (draft, NULL);
        printf ("%s\n", line);
        free (line);
        return ferror (stdout) ? ih_err_set (why, "stdout: %s", strerror (errno)) : plan;
    }
    char code [32] = "";
    ih_err_t err = { "" };
    int rc = c->cfg->publish (draft, c->cfg->publish_arg, code, &err);
    if (rc == 0)
        return plan;
    if (rc < 0)
        return ih_err_set (why, "%s", err.msg);
    //  Taken: this id (and revision) went out before, from this org (the id is the org's):
    //  the agent's store has not caught up with it yet.
    if (streq (code, "duplicate-id") || streq (code, "stale-revision"))
        return IH_IMPORT_KNOWN;
    ih_err_set (why, "broker refused: %s: %s", code, err.msg);
    return s_per_alert (code) ? IH_IMPORT_REFUSED : -1;
}

static void
s_note (const char *title, const char *what, void *arg)
{
    s_cmd_t *c = (s_cmd_t *) arg;
    fprintf (stderr, "%s: import: %s: '%.80s': %s\n", c->prog, c->source, title, what);
}

static void
s_usage (const char *prog)
{
    printf ("usage: %s -c AGENTDIR/agent.cfg import --format stix21|misp|csv|text [--tlp L]\n"
            "         [--severity S] [--category C] [--title T] [--plain-urls-as-iocs]\n"
            "         [--keep-detect] [--dry-run] FILE|DIR|-\n"
            "Turns what another platform or an analyst holds into alerts and publishes them as\n"
            "this member (like publish), printing the id of each alert published:\n"
            "  stix21   a bundle: an alert per report (its indicators and vulnerabilities), and\n"
            "           one per TLP and creator for the indicators no report refers to\n"
            "  misp     MISP event JSON ({\"Event\": ...} or {\"response\": [...]}): an alert per\n"
            "           event; or DIR, a MISP feed (manifest.json and <event-uuid>.json files,\n"
            "           as export --format misp-feed writes)\n"
            "  csv      a header naming value (and type, alert_id, title, tlp, severity, category,\n"
            "           sectors, tags, recipients, org, comment, detect): an alert per alert_id\n"
            "           (or title)\n"
            "  text     prose, e.g. an advisory from an e-mail: the IOCs in it, defanged or not;\n"
            "           plain http(s) links become references (--plain-urls-as-iocs: IOCs)\n"
            "Importing again is safe: each source object (report, event, alert_id, text) is one\n"
            "alert of this org; the same content is left alone, changed content goes out as its\n"
            "next revision. The last line on stderr says: N new, N revised, N unchanged, N not\n"
            "imported (why).\n"
            "TLP and recipients come from the input (STIX markings and Infohub properties, MISP\n"
            "tlp: and infohub:recipient tags, tlp and recipients columns, \"TLP:AMBER\" in text;\n"
            "TLP:WHITE is CLEAR). An import never widens an audience: an alert without TLP is\n"
            "not imported, one whose audience Infohub cannot express (a MISP sharing group,\n"
            "distribution 0) goes out as TLP:RED for this org alone; --tlp L chooses the TLP of\n"
            "both instead. The original publisher is kept: a source:ORG tag and a first summary\n"
            "line \"Originally published by ORG.\". IOCs on a warninglist or in a documentation\n"
            "range get detect false and a comment naming it, unless --keep-detect.\n"
            "--severity (default medium) and --category (default other) apply where the input\n"
            "has none. What is not imported is counted by kind on stderr. --dry-run prints the\n"
            "alerts that would be published as JSON, one a line, and publishes nothing.\n", prog);
}

int
ih_import_cmd (const ih_import_cmd_cfg_t *cfg, int argc, char **argv)
{
    const char *prog = cfg->prog ? cfg->prog : "infohub-agent";
    ih_import_opts_t opts;
    ih_import_opts_init (&opts);
    const char *format_s = NULL, *file = NULL;
    bool dry = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        bool takes = streq (a, "--format") || streq (a, "--tlp") || streq (a, "--severity")
                  || streq (a, "--category") || streq (a, "--title");
        if (streq (a, "-h") || streq (a, "--help")) {
            s_usage (prog);
            return 0;
        }
        if (takes && !v)
            return s_fail (prog, "%s needs a value; see import --help", a);
        if (takes)
            i++;
        if (streq (a, "--format"))
            format_s = v;
        else
        if (streq (a, "--tlp")) {
            ih_tlp_t t;
            if (ih_tlp_parse (v, &t) != 0)
                return s_fail (prog, "--tlp: unknown TLP '%.32s'", v);
            opts.tlp = (int) t;
        }
        else
        if (streq (a, "--severity")) {
            if (ih_severity_parse (v, &opts.severity) != 0)
                return s_fail (prog, "--severity: unknown severity '%.32s'", v);
        }
        else
        if (streq (a, "--category")) {
            if (ih_category_parse (v, &opts.category) != 0)
                return s_fail (prog, "--category: unknown category '%.32s'", v);
        }
        else
        if (streq (a, "--title"))
            opts.title = v;
        else
        if (streq (a, "--dry-run"))
            dry = true;
        else
        if (streq (a, "--keep-detect"))
            opts.keep_detect = true;
        else
        if (streq (a, "--plain-urls-as-iocs"))
            opts.plain_urls_as_iocs = true;
        else
        if (a [0] == '-' && a [1])
            return s_fail (prog, "unknown option '%.64s'; see import --help", a);
        else
        if (file)
            return s_fail (prog, "unexpected argument '%.64s'", a);
        else
            file = a;
    }
    if (!format_s)
        return s_fail (prog, "--format is missing (stix21, misp, csv, text)");
    ih_import_format_t format;
    if (ih_import_format_parse (format_s, &format) != 0)
        return s_fail (prog, "--format: unknown format '%.32s' (stix21, misp, csv, text)", format_s);
    if (!file)
        return s_fail (prog, "FILE (or -) is missing; see import --help");
    struct stat st;
    bool dir = !streq (file, "-") && stat (file, &st) == 0 && S_ISDIR (st.st_mode);
    if (dir && format != IH_IMPORT_MISP)
        return s_fail (prog, "%.200s is a directory: only --format misp reads one (a MISP feed: manifest.json"
                       " and the event files)", file);
    const char *base = strrchr (file, '/');
    opts.source = streq (file, "-") ? "stdin" : base && base [1] ? base + 1 : file;
    opts.org = cfg->org;

    //  What the import needs besides the input: the warninglists, and the store to
    //  compare with (not there yet: nothing imported before, as far as it knows).
    ih_err_t err = { "" };
    ih_warninglist_t *wl = NULL;
    if (!opts.keep_detect) {
        char *wdir = ih_warninglist_dir (cfg->warninglists, cfg->cfg_path, &err);
        wl = wdir ? ih_warninglist_load (wdir, &err) : NULL;
        free (wdir);
        if (!wl)
            return s_fail (prog, "%s (or --keep-detect)", err.msg);
    }
    ih_store_t *store = cfg->store ? ih_store_open (cfg->store, 0, 0, 0, &err) : NULL;
    //  "not created yet" (ih_store_open says callers may take it for empty): the daemon
    //  has not run, or not committed its first transaction.
    if (cfg->store && !store && !strstr (err.msg, "not created yet")) {
        ih_warninglist_destroy (&wl);
        return s_fail (prog, "%s", err.msg);
    }
    opts.warninglist = wl;
    s_cmd_t c = { cfg, prog, opts.source, store, dry };
    opts.note = s_note;
    opts.note_arg = &c;

    ih_import_report_t rep;
    int rc;
    if (dir)
        rc = ih_import_run_feed (file, &opts, s_each, &c, &rep, &err);
    else {
        size_t len = 0;
        char *data = ih_file_read (file, s_MAX_INPUT, &len, &err);
        if (!data) {
            ih_store_destroy (&store);
            ih_warninglist_destroy (&wl);
            return s_fail (prog, "%s", err.msg);
        }
        rc = ih_import_run (format, data, len, &opts, s_each, &c, &rep, &err);
        free (data);
    }
    ih_store_destroy (&store);
    ih_warninglist_destroy (&wl);
    fflush (stdout);
    char line [4096], left [1024];
    ih_import_report_line (&rep, line, sizeof line);
    ih_import_report_text (&rep, left, sizeof left);
    const char *mode = dry ? "dry run, nothing published: " : "";
    uint64_t refused = rep.outcome [IH_IMPORT_REFUSED];
    //  One line, whatever the outcome (the report line may be longer than ih_fail's).
    if (rc != 0 && (rep.alerts || refused))
        fprintf (stderr, "%s: import: %s: %s; so far: %s%s\n", prog, opts.source, err.msg, mode, line);
    else
    if (rc != 0)
        fprintf (stderr, "%s: import: %s: %s%s%s\n", prog, opts.source, err.msg, left [0] ? "; not imported: " : "",
                 left);
    else
    if (rep.alerts == 0 && refused == 0)
        fprintf (stderr, "%s: import: %s: nothing to import%s%s\n", prog, opts.source,
                 left [0] ? "; not imported: " : "", left);
    else
        fprintf (stderr, "%s: import: %s: %s%s\n", prog, opts.source, mode, line);
    return rc != 0 || refused || rep.alerts == 0 ? 1 : 0;
}

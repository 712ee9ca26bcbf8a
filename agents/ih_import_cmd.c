/*  ih_import_cmd.c: `infohub-agent import` (ih_import.h, ih_import_cmd).

    Reads the input (a file or stdin, at most 64 MiB), converts it with ih_import_run and
    hands each draft to the publisher the agent passes in (the same code as `publish`),
    or with --dry-run prints it as JSON, one draft a line. Ends with one line on stderr
    saying what was imported and what was not, by kind.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>

#include "ih_import.h"
#include "ih_json.h"

#define s_MAX_INPUT     (64 << 20)

#define s_fail(prog, ...) ih_fail (prog, "import", __VA_ARGS__)

static int
s_print (ih_msg_t *draft, void *arg)
{
    (void) arg;
    char *line = ih_msg_to_json_str (draft, NULL);
    printf ("%s\n", line);
    free (line);
    return ferror (stdout) ? -1 : 0;
}

static void
s_usage (const char *prog)
{
    printf ("usage: %s -c AGENTDIR/agent.cfg import --format stix21|misp|csv|text [--tlp L]\n"
            "         [--severity S] [--category C] [--title T] [--plain-urls-as-iocs] [--dry-run]\n"
            "         FILE|-\n"
            "Turns what another platform or an analyst holds into alerts and publishes them as\n"
            "this member (like publish), printing each new id:\n"
            "  stix21   a bundle: an alert per report (its indicators and vulnerabilities), and\n"
            "           one for the indicators no report refers to\n"
            "  misp     MISP event JSON ({\"Event\": ...} or {\"response\": [...]}): an alert per event\n"
            "  csv      a header naming value (and type, alert_id, title, tlp, severity, category,\n"
            "           sectors, tags, comment, detect): an alert per alert_id (or title)\n"
            "  text     prose, e.g. an advisory from an e-mail: the IOCs in it, defanged or not;\n"
            "           plain http(s) links become references (--plain-urls-as-iocs: IOCs)\n"
            "TLP comes from the input (STIX markings, MISP tags, a tlp column, \"TLP:AMBER\" in\n"
            "text; TLP:WHITE is CLEAR); --tlp applies where it has none, and without it such an\n"
            "import fails. --severity (default medium) and --category (default other) likewise.\n"
            "What is not imported is counted by kind on stderr. --dry-run prints the alerts as\n"
            "JSON, one a line, instead of publishing them.\n", prog);
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
    ih_err_t err = { "" };
    size_t len = 0;
    char *data = ih_file_read (file, s_MAX_INPUT, &len, &err);
    if (!data)
        return s_fail (prog, "%s", err.msg);
    const char *base = strrchr (file, '/');
    opts.source = streq (file, "-") ? "stdin" : base ? base + 1 : file;
    ih_import_report_t rep;
    int rc = ih_import_run (format, data, len, &opts, dry ? s_print : cfg->publish,
                            dry ? NULL : cfg->publish_arg, &rep, &err);
    free (data);
    fflush (stdout);
    char left [1024];
    ih_import_report_text (&rep, left, sizeof left);
    if (rc != 0)
        return s_fail (prog, "%s: %s%s%s", opts.source, err.msg, left [0] ? "; not imported: " : "", left);
    if (rep.alerts == 0)
        return s_fail (prog, "%s: nothing to import%s%s", opts.source, left [0] ? "; not imported: " : "",
                       left);
    fprintf (stderr, "%s: import: %s: %" PRIu64 " %s, %" PRIu64 " %s %s%s%s\n", prog, opts.source,
             rep.alerts, ih_plural (rep.alerts, "alert", "alerts"), rep.iocs, ih_plural (rep.iocs, "IOC", "IOCs"),
             dry ? "(dry run, not published)" : "published", left [0] ? "; not imported: " : "", left);
    return 0;
}

/*  ih_export_cmd.c: `infohub-agent export` (ih_export.h, ih_export_cmd).

    Opens the store read-only (the daemon may be writing meanwhile), walks it oldest first
    through an exporter, and writes to stdout, to FILE (via FILE.tmp-PID renamed into
    place, so a firewall reloading FILE never reads half of it) or, for misp-feed, into a
    directory. On a terminal, an export that takes more than a second shows its progress
    on stderr. Ends with one summary line on stderr (--quiet: none), after one more line
    when the default TLP ceiling (AMBER: no --tlp or --tlp-max) left alerts out.

    Only the public API of ih_export.h is used here: the gateway does the same.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include "ih_export.h"

typedef struct {
    ih_export_t *x;
    ih_err_t *err;
    bool progress;
    uint64_t total, seen;
    int64_t start, last;
    bool shown;
} s_run_t;

static void
s_progress (s_run_t *r, bool final)
{
    int64_t now = zclock_mono ();
    if (!final && (now - r->start < 1000 || now - r->last < 250))
        return;
    r->last = now;
    if (final) {
        if (r->shown)
            fprintf (stderr, "\r%60s\r", "");
        return;
    }
    r->shown = true;
    if (r->total)
        fprintf (stderr, "\rexport: %" PRIu64 " of %" PRIu64 " %s (%d%%), %.1f s ", r->seen, r->total,
                 ih_plural (r->total, "IOC", "IOCs"), (int) (r->seen * 100 / (r->total ? r->total : 1)),
                 (double) (now - r->start) / 1000.0);
    else
        fprintf (stderr, "\rexport: %" PRIu64 " %s, %.1f s ", r->seen, ih_plural (r->seen, "IOC", "IOCs"),
                 (double) (now - r->start) / 1000.0);
}

static int
s_walk (const ih_msg_t *msg, const ih_store_alert_t *info, void *arg)
{
    s_run_t *r = (s_run_t *) arg;
    if (ih_export_alert (r->x, msg, info, r->err) != 0)
        return -1;
    r->seen += msg->ioc_count;
    if (r->progress)
        s_progress (r, false);
    return zsys_interrupted ? -1 : 0;
}

static void
s_usage (const char *prog, FILE *out)
{
    fprintf (out,
        "usage: %s -c AGENTDIR/agent.cfg export --format F [--since TIME] [--type T,...]\n"
        "         [--tlp-max L] [--category C] [--sector S] [--min-severity S] [--detect-only]\n"
        "         [--no-warninglist] [--sid-base N] [--out FILE|DIR] [--quiet]\n"
        "Writes the alerts of the store (latest revisions, oldest first; never retracted\n"
        "alerts or IOCs) in format F:\n"
        "  csv, jsonl         one row per IOC / one alert per line\n"
        "  stix21             a STIX 2.1 bundle: identity, report, indicator, vulnerability,\n"
        "                     the TLP 2.0 marking definitions\n"
        "  misp               MISP event JSON ({\"response\": [{\"Event\": ...}]})\n"
        "  misp-feed          a MISP feed directory (--out DIR): manifest.json, hashes.csv,\n"
        "                     one <uuid>.json per event\n"
        "  suricata, zeek     IDS rules (sids 9000000.., see --sid-base) / Zeek intel file\n"
        "  rpz, nft, plain    DNS response policy zone / nftables sets / one value a line\n"
        "The detection formats (suricata, zeek, rpz, nft, plain) take only IOCs marked\n"
        "detect and leave out values on the warninglists (see `warninglist check`) unless\n"
        "--no-warninglist. Filters (the same as `list` and the HTTP API): --since TIME\n"
        "(modified at or after: RFC 3339, YYYY-MM-DD or an age such as 24h or 7d), --type\n"
        "ipv4,domain,... (IOC types), --tlp L (exactly) or --tlp-max L (CLEAR..RED: at most\n"
        "that restrictive), --category, --sector, --min-severity (low..critical),\n"
        "--status (active, the default; retracted alerts are never written), --detect-only.\n"
        "TLP: without --tlp or --tlp-max an export takes alerts up to TLP:AMBER and says on\n"
        "stderr how many it left out above it; --tlp-max RED takes everything.\n"
        "Output: stdout, or --out FILE (written whole, then renamed).\n", prog);
}

#define s_fail(prog, ...) ih_fail (prog, "export", __VA_ARGS__)

/*  One line on what the default TLP ceiling (AMBER) left out, and how to take it:
    "left out 3 alerts above TLP:AMBER (2 AMBER+STRICT, 1 RED): add --tlp-max RED to
    include them". Nothing when it left nothing out. */
static void
s_tlp_note (const char *prog, const ih_export_stats_t *s)
{
    uint64_t total = 0;
    int top = -1;
    char by [128] = "";
    size_t o = 0;
    for (int t = IH_TLP_AMBER + 1; t < IH_TLP_COUNT; t++) {
        if (!s->alerts_above_tlp [t])
            continue;
        o += (size_t) snprintf (by + o, sizeof by - o, "%s%" PRIu64 " %s", total ? ", " : "",
                                s->alerts_above_tlp [t], ih_tlp_name ((ih_tlp_t) t));
        total += s->alerts_above_tlp [t];
        top = t;
    }
    if (total)
        fprintf (stderr, "%s: export: left out %" PRIu64 " alert%s above TLP:AMBER (%s): add --tlp-max %s "
                 "to include them\n", prog, total, total == 1 ? "" : "s", by, ih_tlp_name ((ih_tlp_t) top));
}

int
ih_export_cmd (const ih_export_cmd_cfg_t *cfg, int argc, char **argv)
{
    const char *prog = cfg->prog ? cfg->prog : "infohub-agent";
    ih_export_opts_t opts;
    ih_export_opts_init (&opts);
    const char *format_s = NULL, *out = NULL;
    bool no_wl = false, quiet = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv [i];
        const char *v = i + 1 < argc ? argv [i + 1] : NULL;
        bool takes = streq (a, "--format") || streq (a, "--out") || streq (a, "--sid-base")
                  || ih_select_takes_value (a);
        if (streq (a, "-h") || streq (a, "--help")) {
            s_usage (prog, stdout);
            return 0;
        }
        if (takes && !v)
            return s_fail (prog, "%s needs a value; see export --help", a);
        if (takes)
            i++;
        ih_err_t err = { "" };
        int sel = a [0] == '-' && a [1] == '-' ? ih_select_set (&opts.sel, a, takes ? v : NULL, &err) : 1;
        if (sel < 0)
            return s_fail (prog, "%s", err.msg);
        if (sel == 0)
            continue;
        if (streq (a, "--format"))
            format_s = v;
        else
        if (streq (a, "--out"))
            out = v;
        else
        if (streq (a, "--sid-base")) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull (v, &end, 10);
            if (errno || end == v || *end || v [0] == '-' || n < 1 || n > UINT32_MAX)
                return s_fail (prog, "--sid-base: '%.32s' is not a number", v);
            opts.sid_base = (uint32_t) n;
        }
        else
        if (streq (a, "--no-warninglist"))
            no_wl = true;
        else
        if (streq (a, "--quiet") || streq (a, "-q"))
            quiet = true;
        else
            return s_fail (prog, "unexpected argument '%.64s'; see export --help", a);
    }
    if (opts.sel.status != IH_SELECT_ACTIVE)
        return s_fail (prog, "--status: exports never write retracted alerts");
    //  AMBER+STRICT and RED are for named recipients: an export (into a firewall, a SIEM,
    //  another platform) takes them only when asked to.
    bool tlp_default = opts.sel.tlp < 0 && opts.sel.tlp_max < 0;
    if (tlp_default)
        opts.sel.tlp_max = IH_TLP_AMBER;
    if (!format_s)
        return s_fail (prog, "--format is missing (csv, jsonl, stix21, misp, misp-feed, suricata, "
                       "zeek, rpz, nft, plain)");
    ih_export_format_t format;
    if (ih_export_format_parse (format_s, &format) != 0)
        return s_fail (prog, "--format: unknown format '%.32s' (csv, jsonl, stix21, misp, misp-feed, "
                       "suricata, zeek, rpz, nft, plain)", format_s);
    if (format == IH_EXPORT_MISP_FEED && !out)
        return s_fail (prog, "misp-feed needs --out DIR");

    ih_err_t err = { "" };
    ih_warninglist_t *wl = NULL;
    if (ih_export_format_detection (format) && !no_wl) {
        char *dir = ih_warninglist_dir (cfg->warninglists, cfg->cfg_path, &err);
        wl = dir ? ih_warninglist_load (dir, &err) : NULL;
        free (dir);
        if (!wl)
            return s_fail (prog, "%s (or --no-warninglist)", err.msg);
        opts.wl = wl;
    }
    char generator [64];
    snprintf (generator, sizeof generator, "%s %s", prog, cfg->version ? cfg->version : "");
    opts.generator = generator;

    //  The store: a missing one is an empty export.
    ih_store_t *store = NULL;
    if (cfg->store_dir) {
        store = ih_store_open (cfg->store_dir, 0, 0, 0, &err);
        if (!store && !strstr (err.msg, "not created yet")) {
            ih_warninglist_destroy (&wl);
            return s_fail (prog, "%s", err.msg);
        }
    }
    //  The output.
    FILE *f = NULL;
    char tmp [4200] = "";
    if (format != IH_EXPORT_MISP_FEED) {
        if (out && !streq (out, "-")) {
            snprintf (tmp, sizeof tmp, "%s.tmp-%d", out, (int) getpid ());
            f = fopen (tmp, "w");
            if (!f) {
                ih_store_destroy (&store);
                ih_warninglist_destroy (&wl);
                return s_fail (prog, "%s: cannot write: %s", out, strerror (errno));
            }
        }
        else
            f = stdout;
    }
    ih_export_t *x = ih_export_new (format, &opts, ih_export_sink_file, f,
                                    format == IH_EXPORT_MISP_FEED ? out : NULL, &err);
    int rc = x ? 0 : -1;
    s_run_t r;
    memset (&r, 0, sizeof r);
    r.x = x;
    r.err = &err;
    r.progress = !quiet && isatty (STDERR_FILENO);
    r.start = r.last = zclock_mono ();
    if (rc == 0 && store) {
        ih_store_counts_t c;
        if (r.progress && ih_store_counts (store, &c, NULL) == 0)
            r.total = c.iocs;
        rc = ih_store_foreach (store, 0, false, s_walk, &r, &err);
        if (rc && !err.msg [0])
            ih_err_set (&err, "interrupted");
    }
    if (r.progress)
        s_progress (&r, true);
    if (rc == 0)
        rc = ih_export_finish (x, &err);
    if (f && f != stdout) {
        if (fclose (f) != 0 && rc == 0)
            rc = ih_err_set (&err, "%s: cannot write: %s", tmp, strerror (errno));
        if (rc == 0 && rename (tmp, out) != 0)
            rc = ih_err_set (&err, "%s: cannot rename into place: %s", out, strerror (errno));
        if (rc != 0)
            unlink (tmp);
    }
    else
    if (f == stdout && fflush (stdout) != 0 && rc == 0)
        rc = ih_err_set (&err, "cannot write output: %s", strerror (errno));
    int ret = 0;
    if (rc != 0)
        ret = s_fail (prog, "%s", err.msg);
    else
    if (!quiet) {
        const ih_export_stats_t *s = ih_export_stats (x);
        if (tlp_default)
            s_tlp_note (prog, s);
        char left [512] = "";
        size_t o = 0;
        const char *sep = "";
        if (s->iocs_warninglisted) {
            o += (size_t) snprintf (left + o, sizeof left - o, "%s%" PRIu64 " %s on warninglists", sep,
                                    s->iocs_warninglisted, ih_plural (s->iocs_warninglisted, "IOC", "IOCs"));
            sep = ", ";
        }
        if (s->alerts_retracted || s->iocs_retracted) {
            o += (size_t) snprintf (left + o, sizeof left - o, "%s%" PRIu64 " retracted %s, %" PRIu64
                                    " retracted %s", sep, s->alerts_retracted,
                                    ih_plural (s->alerts_retracted, "alert", "alerts"), s->iocs_retracted,
                                    ih_plural (s->iocs_retracted, "IOC", "IOCs"));
            sep = ", ";
        }
        if (s->iocs_filtered) {
            o += (size_t) snprintf (left + o, sizeof left - o, "%s%" PRIu64 " %s by filters%s", sep,
                                    s->iocs_filtered, ih_plural (s->iocs_filtered, "IOC", "IOCs"),
                                    ih_export_format_detection (format) ? " (detect flag)" : "");
            sep = ", ";
        }
        if (s->iocs_no_form)
            o += (size_t) snprintf (left + o, sizeof left - o, "%s%" PRIu64 " %s %s cannot express", sep,
                                    s->iocs_no_form, ih_plural (s->iocs_no_form, "IOC", "IOCs"), format_s);
        fprintf (stderr, "%s: export: %s: %" PRIu64 " %s, %" PRIu64 " %s to %s%s%s\n", prog, format_s,
                 s->alerts, ih_plural (s->alerts, "alert", "alerts"), s->iocs, ih_plural (s->iocs, "IOC", "IOCs"),
                 out ? out : "stdout", o ? "; left out: " : "", left);
    }
    ih_export_destroy (&x);
    ih_store_destroy (&store);
    ih_warninglist_destroy (&wl);
    return ret;
}

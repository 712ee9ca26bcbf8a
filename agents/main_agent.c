/*  infohub-agent: the member agent (README.md "Running an agent"; docs/ARCHITECTURE.md).

    infohub-agent -c AGENTDIR/agent.cfg COMMAND [ARGS]

      run                 the daemon: receive, verify, persist (ih_subscriber, ih_store),
                          and run the on-alert hook (ih_hook)                 cmd_run.c
      publish FILE|-      sign and publish an alert (or retraction, comment, sighting)
      retract, comment, sight   publish those from the command line     cmd_publish.c
      list [--json] …     the alerts in the store, oldest first
      show ID [--json]    one alert, its retractions, comments and sightings (ih_view)
      search VALUE        the IOC index: exact, IP in CIDR, parent domains
      tail [--json]       new alerts as the daemon stores them, until
                          interrupted                                       cmd_query.c
      status [--json]     cursor, connection, lag, counts, hook            cmd_status.c
      export, import      IOCs out to formats, alerts in from STIX, MISP, CSV, prose
                          (ih_export_cmd.c, ih_import_cmd.c; import publishes through
                          cmd_publish.c)
      warninglist         which known-benign list a value is on (ih_warninglist.c)
      roster [--json]     the hub's orgs, sectors and members (ih_roster)  cmd_status.c
      verify [--json]     every record of the store checked               cmd_status.c
      user, audit         the Members Zone's accounts and its audit log      cmd_user.c
      analyse, related, model   the text analytics: IOCs out of prose, suggestions
                          (ih_model), related alerts (ih_related)           cmd_analyse.c

    This file is main(): the options, the command table (s_commands), and each
    command's --help text, which works without a configuration. Every other command
    first loads agent.cfg (ih_agent_cfg.h, where its keys and their defaults are listed),
    then runs with it; cmd.h is the commands' private header.

    One line per event on stderr ("I agent: …"); one-line errors ("infohub-agent: …")
    with a non-zero exit; no secret is ever printed. Human tables by default, --json for
    machines; text from peers is printed with control characters replaced, so an alert
    cannot drive the analyst's terminal.
*/
#include <czmq.h>

#include "cmd.h"
#include "ih_export.h"
#include "ih_sign.h"
#include "ih_warninglist.h"

#define s_STR(x)        #x
#define s_XSTR(x)       s_STR (x)

static bool
s_is_help (const char *a)
{
    return streq (a, "-h") || streq (a, "--help");
}

/* ---- the commands' --help ------------------------------------------------------------------ */

#define s_USAGE "usage: " CMD_PROG " -c AGENTDIR/agent.cfg "

static const char s_usage_run [] =
    s_USAGE "run\n"
    "Runs the agent: connects to the broker (CURVE), receives what this member is\n"
    "entitled to, verifies every message against the pinned registry key, stores it\n"
    "in the LMDB store and acknowledges it. Stops on SIGTERM or SIGINT. Logs one\n"
    "line per commit (\"stored 250 alerts, seq 1001..1250\"); with -v before the\n"
    "command, one per message too.\n"
    "\n"
    "agent.cfg `on-alert = \"COMMAND\"` runs COMMAND (/bin/sh -c, in the agent's\n"
    "directory) for each new alert and new revision, with the alert's JSON (as\n"
    "`show ID --json`) on stdin and INFOHUB_EVENT (new|revision), INFOHUB_ALERT_ID,\n"
    "INFOHUB_REVISION, INFOHUB_SEQ, INFOHUB_STATUS in its environment. A hook runs\n"
    "at most `hook-timeout` seconds (10; then its process group is killed), at most\n"
    "`hook-max` at once (4), never blocks storing, and is neither repeated nor\n"
    "skipped across a clean restart (a hook cut off by a crash runs again).\n"
    "\n"
    "The daemon also serves the Members Zone console on its control socket\n"
    "(agent.cfg `control`, default agent.sock beside agent.cfg, mode 0600): it\n"
    "signs and sends what the console's users write, with their display name as\n"
    "the author, and checks their TOTP codes. It reads the signing key once, at\n"
    "start, into locked memory: the key files may be unreadable afterwards. It\n"
    "keeps the hub's roster (`roster`) in the store, asking the broker when it\n"
    "connects and every 10 minutes.\n"
    "\n"
    "Exit status: 0 after SIGTERM or SIGINT; 1 when it cannot start (config, keys,\n"
    "store); 2 when the broker is behind the store's cursor (a different journal?);\n"
    "4 when the broker refuses this member: revoked (at once), or a key it does not\n"
    "know (when it still refuses it 10 s after the first time). After 2 and 4 the\n"
    "daemon leaves the reason in STORE/agent.status for `status`.\n";

static const char s_usage_publish [] =
    s_USAGE "publish [--dry-run] FILE.json|-\n"
    "Signs the alert in FILE.json (or stdin) with this member's signing key,\n"
    "sends it to the broker and waits up to " s_XSTR (CMD_PUBLISH_S) " s for its answer. Prints the id.\n"
    "With \"id\" in the JSON, publishes a new revision of that alert. A JSON with\n"
    "\"kind\" retraction, comment or sighting publishes that instead. Severity and\n"
    "category may be written in any case (\"High\"); they are stored in lower case.\n"
    "  --dry-run  check the message and print it as it would be signed (one JSON\n"
    "             line: id, times, publisher and signer filled in); sign nothing,\n"
    "             send nothing\n";

static const char s_usage_retract [] =
    s_USAGE "retract ID [--ioc VALUE]... [--reason TEXT]\n"
    "Retracts alert ID (one of this member's org), or with --ioc only those IOCs of\n"
    "it. VALUE is matched against the alert's IOCs in the store (refanged and\n"
    "normalised first); write TYPE:VALUE for an alert the store does not hold.\n"
    "Waits for the broker's answer and prints the retraction's id.\n";

static const char s_usage_comment [] =
    s_USAGE "comment ID TEXT...\n"
    "Comments on alert ID (the words of TEXT joined by spaces; \"-\" reads stdin).\n"
    "Whoever receives the alert receives the comment. Prints the comment's id.\n";

static const char s_usage_sight [] =
    s_USAGE "sight VALUE [--alert ID] [--tlp L] [--count N]\n"
    "                     [--type T]\n"
    "Reports that VALUE (an IOC; refanged, its type guessed unless --type or\n"
    "TYPE:VALUE) was seen in this member's network, N times (1), about alert ID if\n"
    "given. --tlp says who receives the report (AMBER: members; never the public\n"
    "unless CLEAR). Prints the sighting's id.\n";

static const char s_usage_list [] =
    s_USAGE "list [--json] [--since TIME] [--tlp L | --tlp-max L]\n"
    "                     [--category C] [--sector S] [--min-severity S]\n"
    "                     [--status active|retracted|any] [--type T,...]\n"
    "Lists the alerts in the store, oldest first (broker order), each once at its\n"
    "latest revision, retracted ones too (--status active leaves them out). The\n"
    "filters are those of `export` and the HTTP API: --since keeps those modified\n"
    "since TIME (RFC 3339, a date, or an age: 30m, 24h, 7d); --tlp L is exactly L,\n"
    "--tlp-max L at most as restrictive as L; --min-severity S is S or higher.\n"
    "--json prints one JSON object a line (IOCs retracted on their own say\n"
    "\"retracted\": true).\n";

static const char s_usage_show [] =
    s_USAGE "show ID [--json]\n"
    "ID may be the start of an alert's id (4 characters or more) when no other alert\n"
    "starts the same way, as git takes a commit's.\n"
    "Shows one alert at its latest revision: how many revisions were seen, whether\n"
    "it (or which of its IOCs) was retracted, its retractions, comments and the\n"
    "sightings of its IOCs. --json prints it on one line: the alert JSON, IOCs\n"
    "retracted on their own marked \"retracted\": true, plus \"retractions\",\n"
    "\"comments\" and \"ioc_sightings\" when there are any.\n";

static const char s_usage_search [] =
    s_USAGE "search VALUE [--type T] [--active] [--subdomains]\n"
    "                     [--inside] [--json]\n"
    "Looks VALUE up in the store's IOC index: the same value for every type, the\n"
    "CIDRs that contain an IP (or CIDR), the parent domains of a domain, and the\n"
    "hosts of URLs and domains of e-mail addresses. VALUE may be defanged\n"
    "(hxxp, [.]); its type is guessed (a value that is also a valid filename is\n"
    "looked up as one too) unless --type T or TYPE:VALUE says it.\n"
    "  --active      leave out IOCs that were retracted (shown, marked, otherwise)\n"
    "  --subdomains  a domain: also the indexed domains below it\n"
    "  --inside      a CIDR: also the indexed IPs and CIDRs inside it\n"
    "  --json        one object: {\"query\", \"searched\": [{\"type\", \"value\",\n"
    "                \"sightings\"}], \"hits\": [{\"match\", \"type\", \"value\", \"id\",\n"
    "                \"title\", \"tlp\", \"severity\", \"status\", \"retracted\", …}]}\n"
    "Exit status, as grep's: 0 when an alert matched, 1 when none did (sightings\n"
    "alone are no match), 2 on an error.\n";

static const char s_usage_tail [] =
    s_USAGE "tail [--json] [--all] [--from SEQ]\n"
    "Prints each new alert and new revision as the daemon stores it, until\n"
    "interrupted (SIGINT, SIGTERM). Starts at the store's cursor, or after SEQ.\n"
    "  --all   also retractions, comments, sightings, stale revisions and\n"
    "          messages that failed verification\n"
    "  --json  one JSON object a line (alerts as `list --json`)\n";

static const char s_usage_status [] =
    s_USAGE "status [--json]\n"
    "Shows whether the daemon runs and is connected (or why the broker stopped\n"
    "it: revoked, not registered), the last sequence number stored, the lag (the\n"
    "messages the broker holds for this member that the store does not have yet,\n"
    "as of the daemon's last word with the broker), the store's counts and size,\n"
    "the on-alert hook's progress, and whether the daemon finds its store sound\n"
    "(it checks every record in the background, and says when a write failed).\n"
    "Exit status (as LSB's): 0 when the daemon runs and its store is sound, 3 when\n"
    "it does not run, 1 on an error or a damaged store.\n";

static const char s_usage_verify [] =
    s_USAGE "verify [--json]\n"
    "Reads every record of the store and checks it: each alert, kept revision,\n"
    "comment and retraction against its publisher's member record and its\n"
    "signature, each member record against the pinned registry key, and every\n"
    "other record as LMDB reads it. Prints one line per damaged record, then a\n"
    "summary (--json: one object: records, verified, damaged, damage [...]). It may\n"
    "run beside the daemon. Exit status 0 when the store is sound, 1 when a record\n"
    "is damaged or the store cannot be read. To recover a damaged store, see the\n"
    "README, Recovery: stop the agent, move the store away, and start it again: it\n"
    "rebuilds the store from the broker.\n";

static const char s_usage_roster [] =
    s_USAGE "roster [--json]\n"
    "The hub's organisations, sectors and members, as the daemon last received\n"
    "them from the broker and verified against the pinned registry key (revoked\n"
    "members and the public gateway are not listed). --json prints one object:\n"
    "{\"updated\", \"orgs\": [{\"name\", \"sector\", \"members\", \"publishers\"}],\n"
    "\"sectors\": [...], \"members\": [{\"name\", \"org\", \"sector\", \"role\",\n"
    "\"created\"}]}.\n";

static const char s_usage_user [] =
    s_USAGE "user add NAME [--role R] [--display \"Full Name\"]\n"
    "                     [--password-stdin] [--qr FILE]\n"
    "       ... user list [--json]\n"
    "       ... user remove NAME\n"
    "       ... user reset-otp NAME [--qr FILE]\n"
    "       ... user reset-password NAME [--password-stdin]\n"
    "The people of this member who log in to its Members Zone console. A user\n"
    "has a role: analyst (reads, comments, reports sightings), publisher (also\n"
    "shares, revises and retracts alerts) or admin (also manages users); and a\n"
    "display name (--display, default NAME) that signs what they write.\n"
    "  add             asks for the password twice (no echo), or reads it from the\n"
    "                  first line of stdin with --password-stdin (12 to 128\n"
    "                  characters, not a common one); prints the otpauth:// URI of\n"
    "                  a new TOTP secret, writes its QR code to an SVG file (0600,\n"
    "                  --qr FILE or CONSOLE_DIR/NAME.totp.svg) and prints ten\n"
    "                  single-use recovery codes: all shown once\n"
    "  list            name, role, last login, recovery codes left, display name\n"
    "  remove          removes the user and ends their sessions\n"
    "  reset-otp       a new TOTP secret (URI and QR code as for add)\n"
    "  reset-password  a new password\n"
    "Resets end the user's sessions. The accounts live in agent.cfg's\n"
    "console/dir (default AGENTDIR/console, 0700); TOTP secrets are sealed under\n"
    "console/key (default AGENTDIR/console.key, 0600, made by the first add),\n"
    "which the console's web process never reads. Every user command is written\n"
    "to the audit log (CONSOLE_DIR/audit.log, actor \"cli\").\n";

static const char s_usage_audit [] =
    s_USAGE "audit verify\n"
    "Checks the Members Zone's audit log (CONSOLE_DIR/audit.log): each entry's\n"
    "hash, and that each commits to the one before. Prints \"PATH: N entries,\n"
    "chain intact\", or the first entry that was changed, removed or reordered\n"
    "(\"audit.log:LINE: ...\") with exit status 1.\n";
static const char s_usage_analyse [] =
    s_USAGE "analyse [--json] FILE|-\n"
    "Analyses a text (an advisory, a report, a draft alert; title and summary as one\n"
    "text) against what this member's store holds:\n"
    "  - the IOCs in it, refanged and normalised, ATT&CK technique ids and CVE ids\n"
    "    among them, each with the warninglist it hits, if any;\n"
    "  - the suggestion model's (STORE/model) top five candidates for category,\n"
    "    sectors, tags and severity with their probabilities, `suggested` on those\n"
    "    at or above their label's threshold (chosen for a precision of 0.85);\n"
    "  - the related alerts of the store, near-duplicates marked.\n"
    "Without a model (or with a stale one) it says \"no model yet\" and still does the\n"
    "rest. --json prints one object: {\"iocs\":[{\"type\",\"value\",\"warninglist\"}],\n"
    "\"category\":[{\"label\",\"p\",\"suggested\"}], \"tags\", \"sectors\", \"severity\" (the\n"
    "same), \"related\":[{\"id\",\"title\",\"score\",\"near_duplicate\"}]}.\n";

static const char s_usage_related [] =
    s_USAGE "related ID [--json]\n"
    "The alerts most related to alert ID (or a unique start of it) among those the\n"
    "store holds, best first: similar words (TF-IDF cosine), shared IOCs and a shared\n"
    "source (references URL) count; near-duplicates (the same report shared again,\n"
    "estimated word-shingle Jaccard 0.6 or more) are marked. The daemon keeps the\n"
    "index (STORE/related) in step with the store.\n";

static const char s_usage_model [] =
    s_USAGE "model train | status [--json] | eval [--folds K] [--curve] [--json]\n"
    "The suggestion model, trained only from this member's own store (STORE/model).\n"
    "  train   train it now from every active alert (the daemon also retrains in\n"
    "          the background once 50 new alerts, or 10 %, have come in)\n"
    "  status  when it was trained, on how many alerts, its labels, their\n"
    "          thresholds and cross-validated precision, the file\n"
    "  eval    K-fold cross-validation (5) split by source document: alerts that\n"
    "          share a references URL or a near-duplicate text stay in one fold (a\n"
    "          random split flatters a model); prints per-label precision, recall\n"
    "          and F1, macro and micro averages, the accuracy of category and\n"
    "          severity against the majority class, how often each probability was\n"
    "          right (calibration), and says where the data is too small for an\n"
    "          estimate; with --curve, also the same folds trained on a\n"
    "          quarter and a half of the other folds' documents (would more help?)\n";

/* ---- export, warninglist (ih_export_cmd.c, ih_warninglist.c) -------------------------------- */

static int
s_cmd_export (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    ih_export_cmd_cfg_t c = { CMD_PROG, CMD_VERSION, cfg->store, cfg->path, cfg->warninglists };
    return ih_export_cmd (&c, argc, argv);
}

static int
s_cmd_warninglist (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    return ih_warninglist_cmd (CMD_PROG, cfg->warninglists, cfg->path, argc, argv);
}

/* ---- main --------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int (*fn) (ih_agent_cfg_t *cfg, int argc, char **argv);
    const char *summary;
    const char *usage;          /* COMMAND --help; NULL: the command prints its own */
} s_command_t;

static const s_command_t s_commands [] = {
    { "run",     cmd_run,     "run the agent: receive, verify, store (until SIGTERM)", s_usage_run },
    { "publish", cmd_publish, "publish [--dry-run] FILE.json|-: sign and send an alert, print its id", s_usage_publish },
    { "retract", cmd_retract, "retract ID [--ioc VALUE]...: withdraw an alert or some of its IOCs", s_usage_retract },
    { "comment", cmd_comment, "comment ID TEXT: comment on an alert", s_usage_comment },
    { "sight",   cmd_sight,   "sight VALUE [--alert ID] [--count N]: report an IOC seen here", s_usage_sight },
    { "list",    cmd_list,    "list [--json] …: the alerts in the store", s_usage_list },
    { "show",    cmd_show,    "show ID [--json]: one alert, its retractions, comments, sightings", s_usage_show },
    { "search",  cmd_search,  "search VALUE [--json]: IOC lookup (exact, IP in CIDR, parent domains)", s_usage_search },
    { "tail",    cmd_tail,    "tail [--json]: print new alerts as they are stored, until interrupted", s_usage_tail },
    { "status",  cmd_status,  "status [--json]: connection, cursor, lag, counts, store size, hook", s_usage_status },
    { "export",  s_cmd_export, "export --format F [filters] [--out FILE]: csv, jsonl, stix21, misp, IDS rules …", NULL },
    { "import",  cmd_import,  "import --format F FILE: publish what STIX, MISP, CSV or prose holds", NULL },
    { "warninglist", s_cmd_warninglist, "warninglist check VALUE: which known-benign list matches", NULL },
    { "roster",  cmd_roster,  "roster [--json]: the hub's organisations, sectors and members", s_usage_roster },
    { "verify",  cmd_verify,  "verify [--json]: check every record of the store (signatures too)", s_usage_verify },
    { "user",    cmd_user,    "user add|list|remove|reset-otp|reset-password: Members Zone accounts", s_usage_user },
    { "audit",   cmd_audit,   "audit verify: check the Members Zone's hash-chained audit log", s_usage_audit },
    { "analyse", cmd_analyse, "analyse [--json] FILE|-: IOCs, suggested labels, related alerts", s_usage_analyse },
    { "related", cmd_related, "related ID [--json]: the alerts most like this one", s_usage_related },
    { "model",   cmd_model,   "model train|status|eval: the suggestion model", s_usage_model },
    { NULL, NULL, NULL, NULL }
};

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: %s -c AGENTDIR/agent.cfg [-v] COMMAND [ARGS]\n\ncommands:\n", CMD_PROG);
    for (int i = 0; s_commands [i].name; i++)
        fprintf (out, "  %-9s %s\n", s_commands [i].name, s_commands [i].summary);
    fprintf (out, "\n-v (--verbose) writes the debug lines too.\n"
             "'%s -c CFG COMMAND --help' explains each command.\n", CMD_PROG);
}

int
main (int argc, char **argv)
{
    const char *cfg_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv [i];
        if (s_is_help (a)) {
            s_usage (stdout);
            return 0;
        }
        if (streq (a, "--version")) {
            printf ("%s %s\n", CMD_PROG, CMD_VERSION);
            return 0;
        }
        if (streq (a, "-c") || streq (a, "--config")) {
            if (i + 1 >= argc)
                return cmd_fail ("%s needs a value (AGENTDIR/agent.cfg)", a);
            cfg_path = argv [++i];
        }
        else
        if (streq (a, "-v") || streq (a, "--verbose"))
            ih_log_set_level ('D');     //  the debug lines too (run: one per message stored)
        else
        if (a [0] == '-')
            return cmd_fail ("unknown option '%s'; see --help", a);
        else
            break;
    }
    if (i >= argc) {
        s_usage (stderr);
        return 2;
    }
    const s_command_t *cmd = NULL;
    for (int k = 0; s_commands [k].name; k++)
        if (streq (s_commands [k].name, argv [i]))
            cmd = &s_commands [k];
    if (!cmd)
        return cmd_fail ("unknown command '%s'; see --help", argv [i]);
    //  COMMAND --help works without a configuration.
    ih_agent_cfg_t none;
    memset (&none, 0, sizeof none);
    for (int k = i + 1; k < argc; k++)
        if (s_is_help (argv [k])) {
            if (!cmd->usage)
                return cmd->fn (&none, 1, &argv [k]);
            fputs (cmd->usage, stdout);
            return 0;
        }
    //  The warninglists are found beside the binary without a config.
    if (!cfg_path && cmd->fn == s_cmd_warninglist)
        return cmd->fn (&none, argc - i - 1, argv + i + 1);
    //  search's errors exit 2, as grep's do (1 is "no match").
    int fail = cmd->fn == cmd_search ? CMD_SEARCH_ERROR : 1;
    if (!cfg_path) {
        cmd_fail ("-c AGENTDIR/agent.cfg is required");
        return fail;
    }
    ih_sign_init ();
    ih_agent_cfg_t cfg;
    ih_err_t err = { "" };
    if (ih_agent_cfg_load (&cfg, cfg_path, &err) != 0) {
        cmd_fail ("%s", err.msg);
        return fail;
    }
    int rc = cmd->fn (&cfg, argc - i - 1, argv + i + 1);
    ih_agent_cfg_free (&cfg);
    return rc;
}

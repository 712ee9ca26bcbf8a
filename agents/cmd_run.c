/*  cmd_run.c: `infohub-agent run`, the daemon (cmd.h).

    SIGINT/SIGTERM stop the daemon: ih_daemon_stop, and zsys_interrupted so that the
    client's waits return at once (ih_daemon.h). A clean stop lets running on-alert hooks
    end, each within its time limit, and exits 0.

    The broker can also stop it, for good, with a distinct exit status, so that a service
    manager does not start it again (config/systemd, RestartPreventExitStatus=2 4):
      2  the broker is behind our cursor (a different journal?)
      4  the broker refuses this member: revoked, or its key is not registered
         (ih_client_refused: at once for `revoked`, after 10 s for an unknown key)
    Before it exits it writes why into STORE/agent.status ("stopped"), which `status`
    shows; a clean stop removes the file instead.

    The Members Zone console asks the daemon to sign and send, over the control socket
    (agent.cfg agent/control, ih_control.h), which the loop serves beside the subscriber:
    the client wakes its wait when a request comes (ih_client_wake_on), the signer sends
    publishes on the daemon's own session without waiting for the answer, and answers
    the console when the broker's verdict comes back among the subscriber's events
    (ih_signer.h). One thread, one connection: ingest never waits for a publish. The
    daemon also keeps the hub's roster in the store for the console (ih_roster.h): it asks
    after each welcome and every 10 minutes.
*/
#include <czmq.h>
#include <inttypes.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cmd.h"
#include "ih_analytics.h"
#include "ih_control.h"
#include "ih_daemon.h"
#include "ih_hook.h"
#include "ih_keys.h"
#include "ih_roster.h"
#include "ih_signer.h"
#include "ih_subscriber.h"

/*  The daemon is the subscriber core (ih_subscriber.h: receive, verify, store in one
    transaction per batch, acknowledge) plus what is the agent's own: the on-alert hook,
    the status file, and a stop on a broker that is behind our cursor. */
typedef struct {
    ih_agent_cfg_t *cfg;
    ih_store_t *store;
    ih_subscriber_t *sub;
    char status_path [4096];
    int64_t status_at;
    int exit_code;
    const char *stop_why;       /* "revoked", "not-registered", "bad-cursor": why the broker
                                   stopped us (exit_code != 0), for the status file */
    char stop_reason [300];
    ih_hook_t *hook;            /* the on-alert hook, NULL when none is configured */
    ih_signer_t *signer;        /* signs for the console (ih_signer.h) */
    ih_control_t *control;      /* the control socket the console talks to */
    int64_t roster_at;          /* when to ask the broker for the roster (mono ms) */
    int64_t analytics_at;       /* the training's next look */
    ih_analytics_t *analytics;  /* related-alerts index, background retraining */
    //  the scrub: the store checked a few records at a time (ih_store_check_step)
    ih_store_check_t *check;
    int64_t scrub_at;           /* when the next step runs (mono ms) */
    bool damage_said;           /* this pass's first damage was logged */
    char damage [300];          /* what the last finished pass (or this one) found, "" */
    uint64_t damaged;
    int64_t checked_ms;         /* wall clock when the last pass ended, 0 = none yet */
    uint64_t checked_records;
} s_daemon_t;

#define S_BEHIND         500      /* alerts owed beyond the cursor that count as behind */

/*  The scrub reads S_SCRUB_RECORDS records every S_SCRUB_MS (checking each signature: a
    few percent of a core at most), and rests S_SCRUB_REST_MS between passes. */
#define S_SCRUB_RECORDS  50
#define S_SCRUB_MS       250
#define S_SCRUB_REST_MS  (10 * 60 * 1000)

/*  STORE/agent.status: what `status` shows about the daemon (rewritten atomically). After
    the broker stopped us, it says why: "stopped" {why, reason, exit}. */
static void
s_write_status (s_daemon_t *d, bool force)
{
    int64_t now = zclock_mono ();
    if (!force && now - d->status_at < 1000)
        return;
    d->status_at = now;
    char tmp [4200];
    snprintf (tmp, sizeof tmp, "%s.tmp", d->status_path);
    ih_client_t *client = ih_subscriber_client (d->sub);
    ih_subscriber_stats_t st;
    ih_subscriber_stats (d->sub, &st);
    json_t *j = json_pack ("{s:i, s:b, s:s, s:I, s:I, s:I, s:I}", "pid", (int) getpid (),
                           "connected", d->stop_why ? false : ih_client_connected (client),
                           "endpoint", d->cfg->endpoint,
                           "head", (json_int_t) ih_client_head (client),
                           "owed", (json_int_t) ih_client_owed (client),
                           "cursor", (json_int_t) st.cursor, "updated_ms", (json_int_t) ih_now_ms ());
    if (j && d->stop_why)
        json_object_set_new (j, "stopped", json_pack ("{s:s, s:s, s:i}", "why", d->stop_why,
                             "reason", d->stop_reason, "exit", d->exit_code));
    //  Health of the store: what the scrub found, and whether the last batch could be
    //  stored (`status` reports both, and exits 1 when either is wrong)
    if (j) {
        const char *state = d->damage [0] ? "damaged" : st.store_error [0] ? "error" : "ok";
        json_t *sj = json_pack ("{s:s, s:I, s:I, s:I}", "state", state,
                                "damaged", (json_int_t) d->damaged,
                                "checked_ms", (json_int_t) d->checked_ms,
                                "checked_records", (json_int_t) d->checked_records);
        if (sj && (d->damage [0] || st.store_error [0]))
            json_object_set_new (sj, "detail", json_string (d->damage [0] ? d->damage : st.store_error));
        if (sj)
            json_object_set_new (j, "storage", sj);
    }
    if (j && d->hook) {
        ih_hook_stats_t hs;
        ih_hook_stats (d->hook, &hs);
        json_object_set_new (j, "hook", json_pack ("{s:s, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I}",
                             "command", d->cfg->on_alert, "after", (json_int_t) hs.watermark,
                             "scanned", (json_int_t) hs.scanned, "running", (int) hs.running,
                             "started", (json_int_t) hs.started, "ok", (json_int_t) hs.ok,
                             "failed", (json_int_t) hs.failed, "timed_out", (json_int_t) hs.timed_out,
                             "coalesced", (json_int_t) hs.coalesced));
    }
    if (j && json_dump_file (j, tmp, JSON_COMPACT) == 0)
        rename (tmp, d->status_path);
    else
        unlink (tmp);
    json_decref (j);
}

/*  One debug line per message stored (infohub-agent -v): at thousands of alerts a second
    the line of each would cost more than storing it. */
static void
s_log_outcome (const ih_store_item_t *it, const ih_member_t *rec)
{
    const ih_msg_t *m = it->msg;
    switch (it->outcome) {
        case IH_STORE_NEW:
            cmd_log ('D', "stored alert %s rev %u seq %" PRIu64 " from %s@%s (%s, %s)", m->id,
                     m->revision, it->seq, rec->name, rec->org, ih_tlp_name (m->tlp),
                     ih_severity_name (m->severity));
            break;
        case IH_STORE_REVISED:
            cmd_log ('D', "stored alert %s rev %u seq %" PRIu64 " from %s@%s (new revision)", m->id,
                     m->revision, it->seq, rec->name, rec->org);
            break;
        case IH_STORE_STALE:
            cmd_log ('D', "kept alert %s as it is: rev %u seq %" PRIu64 " from %s@%s is not newer",
                     m->id, m->revision, it->seq, rec->name, rec->org);
            break;
        case IH_STORE_RETRACTED:
            if (m->ioc_count)
                cmd_log ('D', "retraction of %u %s of alert %s seq %" PRIu64 " from %s@%s",
                         m->ioc_count, ih_plural (m->ioc_count, "IOC", "IOCs"), m->ref, it->seq, rec->name,
                         rec->org);
            else
                cmd_log ('D', "retraction of alert %s seq %" PRIu64 " from %s@%s", m->ref, it->seq,
                         rec->name, rec->org);
            break;
        case IH_STORE_COMMENTED:
            cmd_log ('D', "comment on alert %s seq %" PRIu64 " from %s@%s", m->ref, it->seq,
                     rec->name, rec->org);
            break;
        case IH_STORE_SIGHTED:
            cmd_log ('D', "sighting (%u) of %s %s seq %" PRIu64 " from %s@%s", m->count,
                     m->ioc_count ? ih_ioc_type_name (m->iocs [0].type) : "?",
                     m->ioc_count ? m->iocs [0].value : "?", it->seq, rec->name, rec->org);
            break;
        case IH_STORE_SKIPPED:
        case IH_STORE_REJECTED:
            break;
    }
}

/*  "N alerts" into b, after a comma when b holds something already; nothing for 0. */
static void
s_count_part (ih_buf_t *b, size_t n, const char *one, const char *many)
{
    if (n)
        ih_buf_printf (b, "%s%zu %s", b->len ? ", " : "", n, n == 1 ? one : many);
}

/*  One information line per commit: what it stored, and the seqs it covered ("stored
    1000 alerts, seq 2001..3000"); each message's own line is at debug level. */
static void
s_on_commit (const ih_store_item_t *items, const ih_member_t *recs, size_t count, void *arg)
{
    (void) arg;
    size_t n [IH_STORE_SIGHTED + 1] = { 0 };
    for (size_t i = 0; i < count; i++)
        if (items [i].msg) {
            if ((unsigned) items [i].outcome <= IH_STORE_SIGHTED)
                n [items [i].outcome]++;
            if (ih_log_on ('D'))
                s_log_outcome (&items [i], &recs [i]);
        }
    ih_buf_t b;
    ih_buf_init (&b);
    s_count_part (&b, n [IH_STORE_NEW], "alert", "alerts");
    s_count_part (&b, n [IH_STORE_REVISED], "revision", "revisions");
    s_count_part (&b, n [IH_STORE_STALE], "older revision kept out", "older revisions kept out");
    s_count_part (&b, n [IH_STORE_RETRACTED], "retraction", "retractions");
    s_count_part (&b, n [IH_STORE_COMMENTED], "comment", "comments");
    s_count_part (&b, n [IH_STORE_SIGHTED], "sighting", "sightings");
    if (b.len && count) {
        uint64_t first = items [0].seq, last = items [count - 1].seq;
        if (first == last)
            cmd_log ('I', "stored %.*s, seq %" PRIu64, (int) b.len, (const char *) b.data, first);
        else
            cmd_log ('I', "stored %.*s, seq %" PRIu64 "..%" PRIu64, (int) b.len, (const char *) b.data,
                     first, last);
    }
    ih_buf_free (&b);
}

/*  The store's log (`tail`, the hook's queue) keeps agent.cfg's log-keep newest entries,
    and every entry the on-alert hook has not dealt with yet: those above its watermark
    (everything at or below it has run, or needs no hook, so a crash after pruning it
    runs nothing twice and skips nothing). Set before every round of ingest. */
static void
s_log_limit (s_daemon_t *d)
{
    uint64_t after = UINT64_MAX;
    if (d->hook) {
        ih_hook_stats_t hs;
        ih_hook_stats (d->hook, &hs);
        after = hs.watermark;
    }
    ih_store_log_limit (d->store, d->cfg->log_keep, after);
}

/*  The scrub (ih_store.h, "checking"): LMDB keeps no checksum, and a damaged page is
    met only by what reads it (list, export, a replay), so the daemon reads its whole
    store in the background, a few records at a time, checking each signature. The first
    damage of a pass is logged once, and the status file says so until a pass finds the
    store sound again. */
static void
s_scrub_damage (const char *line, void *arg)
{
    s_daemon_t *d = (s_daemon_t *) arg;
    if (!d->damage_said)
        cmd_log ('E', "store %s is damaged: %s (infohub-agent verify lists every damaged record;"
                 " README, Recovery: move the store away and start the agent again: it rebuilds"
                 " from the broker)", d->cfg->store, line);
    d->damage_said = true;
    if (!d->damage [0])
        ih_fmt (d->damage, sizeof d->damage, "%s", line);
}

static void
s_scrub (s_daemon_t *d)
{
    int64_t now = zclock_mono ();
    if (now < d->scrub_at)
        return;
    d->scrub_at = now + S_SCRUB_MS;
    ih_err_t err = { "" };
    int rc = ih_store_check_step (d->check, d->store, S_SCRUB_RECORDS, s_scrub_damage, d, &err);
    if (rc < 0) {
        if (!d->damage [0])
            ih_fmt (d->damage, sizeof d->damage, "the store cannot be read: %s", err.msg);
        return;
    }
    if (rc == 1) {
        ih_store_check_stats_t st;
        ih_store_check_stats (d->check, &st);
        d->damaged = st.damaged;
        d->checked_ms = ih_now_ms ();
        d->checked_records = st.records;
        if (st.damaged)
            cmd_log ('E', "store check: %" PRIu64 " of %" PRIu64 " records damaged (first: %s)",
                     st.damaged, st.records, st.first);
        else {
            if (d->damage [0])
                cmd_log ('I', "store check: %" PRIu64 " records, sound again", st.records);
            d->damage [0] = 0;
        }
        d->damage_said = false;
        ih_store_check_restart (d->check);
        d->scrub_at = now + S_SCRUB_REST_MS;
    }
}

/*  The broker stopped us for good: exit with `code`, and say why in the status file. */
static void
s_stop (s_daemon_t *d, int code, const char *why, const char *reason)
{
    d->exit_code = code;
    d->stop_why = why;
    snprintf (d->stop_reason, sizeof d->stop_reason, "%s", reason ? reason : "");
    ih_daemon_stop = 1;
}

/*  Revoked, or a key the broker does not know (for 10 s): a daemon that retried would
    only log the same refusal every few seconds, so it stops with exit status 4, which
    the systemd unit does not restart. */
static void
s_check_refused (s_daemon_t *d)
{
    const char *reason = NULL;
    ih_client_refusal_t r = ih_client_refused (ih_subscriber_client (d->sub), &reason);
    if (r == IH_CLIENT_ADMITTED || d->stop_why)
        return;
    if (r == IH_CLIENT_REVOKED)
        cmd_log ('E', "stopping: broker %s says this member (%s@%s) is revoked (%s); exit status 4",
                 d->cfg->endpoint, d->cfg->name, d->cfg->org, reason);
    else
        cmd_log ('E', "stopping: broker %s does not know this member's key (%s@%s): %s; exit status 4",
                 d->cfg->endpoint, d->cfg->name, d->cfg->org, reason);
    s_stop (d, 4, r == IH_CLIENT_REVOKED ? "revoked" : "not-registered", reason);
}

/*  The broker's roster: verified against the pinned registry key, kept in the store for
    the console. */
static void
s_on_members (s_daemon_t *d, const ih_env_t *e)
{
    size_t kept = 0, dropped = 0;
    char why [256];
    ih_err_t err = { "" };
    if (ih_roster_accept (d->store, e, d->cfg->registry_pk, ih_now_ms (), &kept, &dropped, why, &err) != 0)
        cmd_log ('E', "roster from broker %s not stored: %s%s%s", d->cfg->endpoint, err.msg,
                 *why ? "; " : "", why);
    else
    if (dropped)
        cmd_log ('W', "roster: %zu members stored, %zu records refused (%s)", kept, dropped, why);
    else
        cmd_log ('D', "roster: %zu members stored", kept);
}

/*  Everything but deliveries (ih_client has already acted on welcome and no-session). */
static void
s_on_event (const ih_env_t *e, void *arg)
{
    s_daemon_t *d = (s_daemon_t *) arg;
    ih_agent_cfg_t *cfg = d->cfg;
    uint64_t cursor = ih_store_cursor (d->store);
    if (d->signer && ih_signer_on_event (d->signer, e))
        return;                 //  the answer to a publish of the console's
    switch (e->type) {
        case IH_T_WELCOME:
            cmd_log ('I', "connected to %s as %s@%s (broker head %" PRIu64 ", our cursor %" PRIu64
                     ", heartbeat %u ms)", cfg->endpoint, e->member, e->org, e->head, cursor,
                     e->heartbeat);
            if (!streq (e->member, cfg->name) || !streq (e->org, cfg->org))
                cmd_log ('W', "the broker knows us as %s@%s, agent.cfg says %s@%s",
                         e->member, e->org, cfg->name, cfg->org);
            d->status_at = 0;       //  rewrite the status file at once
            d->roster_at = 0;       //  and ask for the roster
            break;
        case IH_T_MEMBERS:
            s_on_members (d, e);
            break;
        case IH_T_ERROR:
            if (streq (e->code, "bad-cursor")) {
                cmd_log ('E', "broker %s is behind our cursor %" PRIu64 " (%s): a different journal?"
                         " refusing to continue (exit status 2)", cfg->endpoint, cursor, e->reason);
                s_stop (d, 2, "bad-cursor", e->reason);
            }
            else
            if (streq (e->code, "no-session"))
                cmd_log ('I', "broker %s forgot our session; hello again from cursor %" PRIu64,
                         cfg->endpoint, cursor);
            else
            if (streq (e->code, "revoked") || streq (e->code, "not-registered"))
                ;       //  ih_client_refused says whether it is final (s_check_refused)
            else
                cmd_log ('W', "broker %s: %s: %s", cfg->endpoint, e->code, e->reason);
            break;
        default:
            break;
    }
}

int
cmd_run (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    if (argc > 0)
        return cmd_fail ("run: unexpected argument '%s'", argv [0]);
    ih_daemon_signals (IH_DAEMON_INTERRUPT);
    ih_err_t err = { "" };
    s_daemon_t d;
    memset (&d, 0, sizeof d);
    d.cfg = cfg;
    int ret = 1;
    zcert_t *cert = NULL;
    d.store = ih_store_open (cfg->store, IH_STORE_WRITER, cfg->map_size, cfg->max_map, &err);
    if (!d.store) {
        cmd_fail ("%s", err.msg);
        goto done;
    }
    snprintf (d.status_path, sizeof d.status_path, "%s/agent.status", cfg->store);
    if (cfg->on_alert && *cfg->on_alert) {
        char *workdir = strdup (cfg->path);
        if (!workdir)
            abort ();
        char *slash = strrchr (workdir, '/');
        if (slash)
            *slash = 0;
        ih_hook_cfg_t hcfg = { cfg->on_alert, slash ? workdir : NULL, (int) cfg->hook_timeout * 1000,
                               (int) cfg->hook_max, NULL, NULL };
        d.hook = ih_hook_new (&hcfg, d.store, &err);
        free (workdir);
        if (!d.hook) {
            cmd_fail ("%s", err.msg);
            goto done;
        }
    }
    else
    if (ih_hook_forget (d.store, &err) != 0)
        cmd_log ('W', "%s", err.msg);
    //  Analytics after each commit, never in it; without them the agent still runs.
    d.analytics = ih_analytics_new (d.store, cfg->path, &err);
    if (!d.analytics)
        cmd_log ('W', "no related alerts nor retraining: %s", err.msg);
    cert = ih_keys_load_cert (cfg->curve_cert, &err);
    if (!cert) {
        cmd_fail ("%s", err.msg);
        goto done;
    }
    //  The keys are read once, here: the signing key into locked memory (ih_signer), the
    //  CURVE certificate into the client. From now on the key files may be unreadable.
    //  Not dumpable: no core file holds them, and no other process of this user (a
    //  console, say) may ptrace us or read our memory through /proc.
    d.signer = ih_signer_new (cfg, &err);
    if (!d.signer) {
        cmd_fail ("%s", err.msg);
        goto done;
    }
    if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        cmd_log ('W', "cannot make the daemon non-dumpable: %s", strerror (errno));
    d.control = ih_control_new (cfg->control, ih_signer_handle, d.signer, &err);
    if (!d.control) {
        cmd_fail ("%s: %s", cfg->path, err.msg);
        goto done;
    }
    cmd_log ('I', "started %s@%s, store %s, cursor %" PRIu64, cfg->name, cfg->org, cfg->store,
             ih_store_cursor (d.store));
    ih_subscriber_cfg_t scfg = { cfg->endpoint, cfg->broker_key, cert, cfg->registry_pk, cfg->window,
                                 "agent", CMD_PROG "/" CMD_VERSION, &ih_daemon_stop, NULL, s_on_commit,
                                 s_on_event, NULL, &d };
    d.sub = ih_subscriber_new (d.store, &scfg, &err);
    zcert_destroy (&cert);
    if (!d.sub) {
        cmd_fail ("%s: %s", cfg->path, err.msg);
        goto done;
    }
    ih_client_t *client = ih_subscriber_client (d.sub);
    ih_signer_attach (d.signer, d.store, client, d.control);
    d.check = ih_store_check_new (cfg->registry_pk);
    ih_client_wake_on (client, ih_control_sock (d.control));
    cmd_log ('I', "control socket %s", cfg->control);
    int wait_ms = 500;
    s_log_limit (&d);
    while (!ih_daemon_stop) {
        ih_subscriber_poll (d.sub, wait_ms);
        s_check_refused (&d);
        //  The console's requests; then what the broker or the store has settled.
        ih_control_serve (d.control);
        wait_ms = 500;
        ih_subscriber_stats_t sst;
        ih_subscriber_stats (d.sub, &sst);          //  the durable cursor, from memory
        int w = ih_signer_tick (d.signer, sst.cursor);
        if (w >= 0 && w < wait_ms)
            wait_ms = w;
        int64_t now = zclock_mono ();
        if (ih_client_connected (client) && now >= d.roster_at) {
            ih_err_t rerr = { "" };
            bool sent = ih_client_roster (client, &rerr) == 0;
            d.roster_at = now + (sent ? IH_ROSTER_EVERY_MS : 5000);
            if (!sent)
                cmd_log ('W', "cannot ask for the roster: %s", rerr.msg);
        }
        //  Hooks run beside ingest: the pump only reaps, kills and starts processes.
        if (d.hook) {
            w = ih_hook_pump (d.hook, true);
            if (w >= 0 && w < wait_ms)
                wait_ms = w;
        }
        //  Model training (the related index has a thread of its own at nice 19:
        //  ih_analytics.h): none starts while the agent is more than a step behind what
        //  the broker holds for it (catching up, or a burst), so that storing (and
        //  acknowledging) comes first: training took a child's whole core.
        bool behind = ih_client_owed (client) > sst.cursor + S_BEHIND;
        if (d.analytics && now >= d.analytics_at) {
            w = ih_analytics_pump (d.analytics, behind);
            d.analytics_at = now + (w >= 0 ? w : 1000);
        }
        if (d.analytics) {
            int64_t index_in = d.analytics_at - now;
            if (index_in < wait_ms)
                wait_ms = index_in > 0 ? (int) index_in : 0;
        }
        s_log_limit (&d);
        s_scrub (&d);
        int64_t scrub_in = d.scrub_at - zclock_mono ();
        if (scrub_in < wait_ms)
            wait_ms = scrub_in > 0 ? (int) scrub_in : 0;
        s_write_status (&d, false);
    }
    if (d.hook) {
        //  A clean stop lets running hooks end (each within its time limit).
        ih_hook_stats_t hs;
        ih_hook_stats (d.hook, &hs);
        if (hs.running)
            cmd_log ('I', "waiting for %u on-alert hooks to end (at most %u s)", hs.running,
                     cfg->hook_timeout + 2);
        ih_hook_drain (d.hook, (int) (cfg->hook_timeout + 2) * 1000);
    }
    ret = d.exit_code;
    ih_subscriber_stats_t st;
    ih_subscriber_stats (d.sub, &st);
    cmd_log ('I', "stopping %s@%s at cursor %" PRIu64 " (%" PRIu64 " stored, %" PRIu64 " rejected)",
             cfg->name, cfg->org, st.cursor, st.stored, st.rejected + st.refused);
    if (d.stop_why)
        s_write_status (&d, true);      //  why the broker stopped us, for `status`
done:
    ih_analytics_destroy (&d.analytics);
    ih_store_check_destroy (&d.check);
    ih_hook_destroy (&d.hook);
    ih_signer_destroy (&d.signer);      //  answers what waits, wipes the keys
    ih_control_destroy (&d.control);
    if (d.sub) {
        ih_subscriber_destroy (&d.sub);
        if (!d.stop_why)
            unlink (d.status_path);
    }
    ih_store_destroy (&d.store);
    return ret;
}

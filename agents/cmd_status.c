/*  cmd_status.c: `infohub-agent status`, `verify` and `roster` (cmd.h).

    status: the store's counts and size (read while the daemon may be writing), and what
    the daemon last wrote in STORE/agent.status (cmd_run.c): whether it runs and is
    connected, the broker's head and what the broker owes this member (so the lag), and
    the on-alert hook's progress. A status file whose daemon is gone, or that is over
    10 s old, counts as "not running"; one that says "stopped" tells why the broker
    stopped the daemon (revoked, not registered, a broker behind our cursor).

    The daemon also says whether its store is sound (STORE/agent.status "storage": what
    its background check found, and whether the last batch could be stored): a damaged
    store or one that refuses writes makes `status` exit 1, so a health check sees it.

    Exit status, as LSB's `status` action: 0 when the daemon runs and its store is sound,
    3 when it does not run (whatever the reason, and with --json too), 1 on an error or
    when the running daemon reports a damaged store or one it cannot write.

    verify: reads every record of the store and checks each (ih_store_check): exit 0 when
    sound, 1 when something is damaged (each damage one line).

    roster: the hub's organisations, sectors and members as the daemon last stored them.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>

#include "cmd.h"
#include "ih_related.h"
#include "ih_roster.h"

#define s_NOT_RUNNING 3            /* LSB: "program is not running" */

/*  The daemon's status file, if the daemon is alive; else NULL, and *stopped gets what
    a daemon the broker stopped wrote before it exited (or NULL; the caller frees it). */
static json_t *
s_daemon_status (ih_agent_cfg_t *cfg, json_t **stopped)
{
    *stopped = NULL;
    char path [4200];
    snprintf (path, sizeof path, "%s/agent.status", cfg->store);
    json_t *j = json_load_file (path, 0, NULL);
    if (!j)
        return NULL;
    json_t *why = json_object_get (j, "stopped");
    if (json_is_object (why)) {
        *stopped = json_incref (why);
        json_object_set_new (*stopped, "at_ms", json_integer (json_integer_value (
                             json_object_get (j, "updated_ms"))));
        json_decref (j);
        return NULL;
    }
    json_int_t pid = json_integer_value (json_object_get (j, "pid"));
    json_int_t updated = json_integer_value (json_object_get (j, "updated_ms"));
    if (pid <= 0 || (kill ((pid_t) pid, 0) != 0 && errno == ESRCH) || ih_now_ms () - updated > 10000) {
        json_decref (j);
        return NULL;
    }
    return j;
}

int
cmd_status (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            as_json = true;
        else
            return cmd_fail ("status: unexpected argument '%s'", argv [i]);
    }
    ih_err_t err = { "" };
    bool missing;
    ih_store_counts_t c;
    memset (&c, 0, sizeof c);
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store && !missing)
        return cmd_fail ("%s", err.msg);
    if (store && ih_store_counts (store, &c, &err) != 0) {
        ih_store_destroy (&store);
        return cmd_fail ("%s", err.msg);
    }
    ih_store_destroy (&store);
    //  The related index (the daemon's, derived; it waits while the agent is busy and
    //  catches up after: ih_analytics.h): how far it has come.
    ih_related_t *rel = ih_related_open (cfg->store, false, &err);
    uint64_t indexed_upto = rel ? ih_related_watermark (rel) : 0, indexed = rel ? ih_related_count (rel) : 0;
    ih_related_destroy (&rel);
    json_t *stopped = NULL;
    json_t *d = s_daemon_status (cfg, &stopped);
    bool running = d != NULL;
    bool connected = d && json_is_true (json_object_get (d, "connected"));
    uint64_t head = d ? (uint64_t) json_integer_value (json_object_get (d, "head")) : 0;
    //  The lag counts what the broker holds for this member, not everybody's traffic
    //  (a daemon older than "owed" wrote only the head)
    json_t *jo = d ? json_object_get (d, "owed") : NULL;
    uint64_t owed = jo ? (uint64_t) json_integer_value (jo) : head;
    json_t *hook = d ? json_object_get (d, "hook") : NULL;
    if (hook)
        json_incref (hook);
    json_t *storage = d ? json_object_get (d, "storage") : NULL;
    if (storage)
        json_incref (storage);
    bool storage_ok = !storage || streq (cmd_jstr (storage, "state"), "ok");
    if (d)
        json_decref (d);
    uint64_t lag = owed > c.cursor ? owed - c.cursor : 0;
    int rc = !running ? s_NOT_RUNNING : storage_ok ? 0 : 1;
    if (as_json) {
        json_t *o = json_pack ("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "member", cfg->name, "org", cfg->org, "endpoint", cfg->endpoint,
                               "running", running, "connected", connected,
                               "cursor", (json_int_t) c.cursor, "head", (json_int_t) head,
                               "lag", (json_int_t) lag, "alerts", (json_int_t) c.alerts,
                               "retracted", (json_int_t) c.retracted, "iocs", (json_int_t) c.iocs,
                               "comments", (json_int_t) c.comments,
                               "retractions", (json_int_t) c.retractions,
                               "sightings", (json_int_t) c.sightings,
                               "rejected", (json_int_t) c.rejected,
                               "store_bytes", (json_int_t) c.used_bytes,
                               "map_bytes", (json_int_t) c.map_size);
        json_object_set_new (o, "store", json_string (cfg->store));
        json_object_set_new (o, "messages", json_integer ((json_int_t) c.messages));
        json_object_set_new (o, "owed", json_integer ((json_int_t) owed));
        json_object_set_new (o, "related", json_pack ("{s:I, s:I}", "indexed_upto", (json_int_t) indexed_upto,
                                                      "alerts", (json_int_t) indexed));
        if (hook)
            json_object_set_new (o, "hook", hook);
        if (storage)
            json_object_set_new (o, "storage", storage);
        if (stopped)
            json_object_set_new (o, "stopped", stopped);
        return cmd_print_json (o) == 0 ? rc : cmd_fail ("status: cannot write output");
    }
    printf ("member      %s@%s\n", cfg->name, cfg->org);
    if (stopped) {
        char when [IH_TIME_MAX];
        ih_time_format (json_integer_value (json_object_get (stopped, "at_ms")), when);
        printf ("broker      %s (%s: the agent stopped at %s, exit status %d: %s)\n", cfg->endpoint,
                cmd_jstr (stopped, "why"), when,
                (int) json_integer_value (json_object_get (stopped, "exit")),
                cmd_jstr (stopped, "reason"));
        json_decref (stopped);
    }
    else
        printf ("broker      %s (%s)\n", cfg->endpoint,
                !running ? "agent not running" : connected ? "connected" : "not connected");
    printf ("cursor      %" PRIu64 "\n", c.cursor);
    if (running)
        printf ("head        %" PRIu64 " (%" PRIu64 " for this member, lag %" PRIu64 ")\n", head,
                owed, lag);
    printf ("alerts      %" PRIu64 " (%" PRIu64 " retracted)\n", c.alerts, c.retracted);
    printf ("iocs        %" PRIu64 "\n", c.iocs);
    printf ("comments    %" PRIu64 "\n", c.comments);
    printf ("sightings   %" PRIu64 "\n", c.sightings);
    printf ("rejected    %" PRIu64 "\n", c.rejected);
    printf ("related     %" PRIu64 " alerts indexed, up to seq %" PRIu64 "%s\n", indexed, indexed_upto,
            indexed_upto < c.cursor ? " (it catches up when the agent is not busy)" : "");
    printf ("store       %s (%" PRIu64 " KiB used of a %" PRIu64 " KiB map)\n", cfg->store,
            c.used_bytes >> 10, c.map_size >> 10);
    if (storage && !storage_ok)
        printf ("storage     %s: %s (infohub-agent verify; README, Recovery)\n",
                streq (cmd_jstr (storage, "state"), "damaged") ? "DAMAGED" : "CANNOT WRITE",
                cmd_jstr (storage, "detail"));
    else
    if (storage && json_integer_value (json_object_get (storage, "checked_ms"))) {
        char when [IH_TIME_MAX];
        ih_time_format (json_integer_value (json_object_get (storage, "checked_ms")), when);
        printf ("storage     sound (%lld records checked, the last pass ended %s)\n",
                (long long) json_integer_value (json_object_get (storage, "checked_records")), when);
    }
    if (storage)
        json_decref (storage);
    if (hook) {
        printf ("on-alert    %s\n", cmd_jstr (hook, "command"));
        printf ("            %lld ok, %lld failed, %lld timed out, %lld running; done up to seq %lld\n",
                (long long) json_integer_value (json_object_get (hook, "ok")),
                (long long) json_integer_value (json_object_get (hook, "failed")),
                (long long) json_integer_value (json_object_get (hook, "timed_out")),
                (long long) json_integer_value (json_object_get (hook, "running")),
                (long long) json_integer_value (json_object_get (hook, "after")));
        json_decref (hook);
    }
    else
    if (cfg->on_alert && *cfg->on_alert)
        printf ("on-alert    %s (runs in the daemon)\n", cfg->on_alert);
    return ferror (stdout) ? cmd_fail ("status: cannot write output") : rc;
}

/* ---- verify ------------------------------------------------------------------------------------ */

static void
s_verify_line (const char *line, void *arg)
{
    json_t *list = (json_t *) arg;
    if (list)
        json_array_append_new (list, json_string (line));
    else
        printf ("damaged: %s\n", line);
}

/*  `verify [--json]`: every record of the store, checked (ih_store_check). */
int
cmd_verify (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool as_json = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            as_json = true;
        else
            return cmd_fail ("verify: unexpected argument '%s'; see verify --help", argv [i]);
    }
    ih_err_t err = { "" };
    bool missing = false;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store)
        return cmd_fail ("%s", missing ? "verify: the store does not exist yet (the daemon has not run)"
                                       : err.msg);
    json_t *list = as_json ? json_array () : NULL;
    ih_store_check_stats_t st;
    int rc = ih_store_check (store, cfg->registry_pk, s_verify_line, list, &st, &err);
    ih_store_destroy (&store);
    if (rc != 0) {
        json_decref (list);
        return cmd_fail ("%s", err.msg);
    }
    if (as_json) {
        json_t *o = json_pack ("{s:s, s:I, s:I, s:I, s:o}", "store", cfg->store,
                               "records", (json_int_t) st.records, "verified", (json_int_t) st.verified,
                               "damaged", (json_int_t) st.damaged, "damage", list);
        if (cmd_print_json (o) != 0)
            return cmd_fail ("verify: cannot write output");
    }
    else {
        printf ("store %s: %" PRIu64 " records read, %" PRIu64 " signatures verified: %s\n",
                cfg->store, st.records, st.verified, st.damaged ? "DAMAGED" : "sound");
        if (st.damaged)
            printf ("%" PRIu64 " damaged %s. To recover (README, Recovery): stop the agent, move the "
                    "store away, start the agent again: it rebuilds the store from the broker.\n",
                    st.damaged, ih_plural (st.damaged, "record", "records"));
        if (fflush (stdout) != 0)
            return cmd_fail ("verify: cannot write output");
    }
    return st.damaged ? 1 : 0;
}

/* ---- roster ------------------------------------------------------------------------------------ */

/*  `roster [--json]`: the hub's organisations, sectors and members as the daemon last
    stored them (ih_roster.h): what the Members Zone shows, and what a publisher picks
    recipients from. */
int
cmd_roster (ih_agent_cfg_t *cfg, int argc, char **argv)
{
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--json"))
            json = true;
        else
            return cmd_fail ("roster: unexpected argument '%s'; see roster --help", argv [i]);
    }
    ih_err_t err = { "" };
    bool missing = false;
    ih_store_t *store = cmd_open_reader (cfg, &missing, &err);
    if (!store && !missing)
        return cmd_fail ("%s", err.msg);
    ih_roster_t *r = NULL;
    int found = store ? ih_roster_load (store, &r, &err) : 0;
    ih_store_destroy (&store);
    if (found < 0)
        return cmd_fail ("%s", err.msg);
    if (found == 0)
        return cmd_fail ("roster: the daemon has not received the hub's roster yet (it asks the broker"
                         " when it connects)");
    char updated [IH_TIME_MAX];
    ih_time_format (r->updated, updated);
    int rc = 0;
    if (json) {
        json_t *o = json_pack ("{s:s, s:[], s:[], s:[]}", "updated", updated, "orgs", "sectors", "members");
        if (!o)
            abort ();
        for (size_t i = 0; i < r->org_count; i++)
            json_array_append_new (json_object_get (o, "orgs"), json_pack ("{s:s, s:s, s:i, s:i}",
                                   "name", r->orgs [i].name, "sector", r->orgs [i].sector,
                                   "members", (int) r->orgs [i].members,
                                   "publishers", (int) r->orgs [i].publishers));
        for (size_t i = 0; i < r->sector_count; i++)
            json_array_append_new (json_object_get (o, "sectors"), json_string (r->sectors [i]));
        for (size_t i = 0; i < r->member_count; i++) {
            const ih_member_t *m = &r->members [i];
            char created [IH_TIME_MAX];
            ih_time_format (m->created, created);
            json_array_append_new (json_object_get (o, "members"), json_pack ("{s:s, s:s, s:s, s:s, s:s}",
                                   "name", m->name, "org", m->org, "sector", m->sector,
                                   "role", ih_role_name (m->role), "created", created));
        }
        rc = cmd_print_json (o);
    }
    else {
        printf ("%zu %s, %zu %s, %zu %s (as of %s)\n", r->org_count,
                ih_plural (r->org_count, "organisation", "organisations"), r->sector_count,
                ih_plural (r->sector_count, "sector", "sectors"), r->member_count,
                ih_plural (r->member_count, "member", "members"), updated);
        printf ("%-24s %-16s %-24s %s\n", "ORG", "SECTOR", "MEMBER", "ROLE");
        for (size_t i = 0; i < r->member_count; i++) {
            const ih_member_t *m = &r->members [i];
            printf ("%-24s %-16s %-24s %s\n", m->org, m->sector [0] ? m->sector : "-", m->name,
                    ih_role_name (m->role));
        }
    }
    ih_roster_destroy (&r);
    if (rc != 0 || fflush (stdout) != 0)
        return cmd_fail ("roster: cannot write output");
    return 0;
}

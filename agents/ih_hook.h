/*  ih_hook.h: the on-alert hook (agent.cfg `on-alert`): a command run for each new alert
    and each new revision the store took in, with the alert's JSON on stdin, so that a
    member can wire the agent to its firewall or SOAR.

    WHAT RUNS. `/bin/sh -c COMMAND`, in its own process group, in cfg.workdir, with:
      stdin       the alert as ih_view builds it with details (one line of JSON, the same
                  object as `show ID --json`), from a memory file: a hook that does not
                  read it never blocks anything
      stdout, stderr   a pipe the agent drains; the last line is quoted in the log when
                  the hook fails
      environment the agent's, plus INFOHUB_EVENT ("new" | "revision"), INFOHUB_ALERT_ID,
                  INFOHUB_REVISION, INFOHUB_SEQ, INFOHUB_STATUS ("active" | "retracted")
    A hook runs at most cfg.timeout_ms: then its process group gets SIGTERM, and SIGKILL
    one second later. At most cfg.max_running hooks run at once, and never two for the
    same alert (so a revision's hook starts after the previous one ended). One log line
    per hook: done, failed (exit status or signal, and the output's last line), timed
    out, or could not start.

    THE QUEUE is the store's log (ih_store_log_read): entries of kind alert with outcome
    new or revised, in seq order. An entry whose alert was revised again before its hook
    started is skipped (coalesced): the later revision's entry runs the hook with the
    latest state. Ingest never waits for a hook: the daemon calls ih_hook_pump between
    batches, and a pump only reaps, kills and starts processes (fork + exec).

    DURABLE CURSOR. The store keeps (ih_store_aux_put "hook") a watermark W (every log
    entry up to W is dealt with) and the set of seqs above W whose hooks ended while an
    older one still ran. After a restart, hooks run for the entries above W that are not
    in that set: a hook that ended is never run again and none is skipped. A hook that
    was still running when the daemon was killed (SIGKILL, power loss) runs again; a
    clean stop (ih_hook_drain) lets running hooks finish within their time limit first.
    The state is written when a hook ends, and at most every 500 ms while the watermark
    only moves over entries that need no hook.
    With no state yet (a hook configured for the first time), the queue starts after the
    store's cursor: alerts stored before the hook existed are not replayed to it. With
    no hook configured, the daemon calls ih_hook_forget, so that configuring one later
    starts from then.

    Threading: an ih_hook_t belongs to the thread that owns the store (the daemon's).
*/
#ifndef IH_HOOK_H
#define IH_HOOK_H

#include "ih_store.h"

typedef struct ih_hook ih_hook_t;

/*  A log line ("done …", "failed …"): level 'I', 'W' or 'E'. */
typedef void (ih_hook_log_fn)(char level, const char *line, void *arg);

typedef struct {
    const char *command;        /* run with /bin/sh -c; required */
    const char *workdir;        /* NULL = the agent's current directory */
    int timeout_ms;             /* 0 = 10000 */
    int max_running;            /* 0 = 4 */
    ih_hook_log_fn *log;        /* NULL = stderr, "L agent: line" */
    void *log_arg;
} ih_hook_cfg_t;

typedef struct {
    uint64_t watermark;         /* every log entry <= this is dealt with */
    uint64_t scanned;           /* highest log entry looked at */
    uint32_t running;
    uint32_t done_above;        /* hooks that ended above the watermark */
    uint64_t started, ok, failed, timed_out, coalesced;   /* since ih_hook_new */
} ih_hook_stats_t;

/*  Loads the durable cursor from the store (writer), or creates it at the store's cursor.
    Returns NULL with err when the command is empty or the state cannot be read/written. */
ih_hook_t *ih_hook_new(const ih_hook_cfg_t *cfg, ih_store_t *store, ih_err_t *err);
/*  Kills the process groups of hooks still running (they are not marked done: they run
    again after a restart), saves the cursor, frees; nulls *self_p; safe twice. */
void ih_hook_destroy(ih_hook_t **self_p);

/*  Reaps hooks that ended, enforces time limits, and when `start` starts hooks for new
    log entries up to max_running. Returns how many ms until it wants to be called again
    (20 while hooks run), or -1 when idle (call it again after the next ingest). */
int ih_hook_pump(ih_hook_t *self, bool start);
/*  A clean stop: starts nothing more and waits up to max_ms for running hooks (their own
    time limits still apply). Saves the cursor. Returns how many still run. */
int ih_hook_drain(ih_hook_t *self, int max_ms);

void ih_hook_stats(ih_hook_t *self, ih_hook_stats_t *st);

/*  Deletes the hook's durable state (no hook is configured). Returns 0 or -1 with err. */
int ih_hook_forget(ih_store_t *store, ih_err_t *err);

void ih_hook_test(bool verbose);

#endif

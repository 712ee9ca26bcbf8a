/*  ih_hook.c: the on-alert hook (ih_hook.h).

    Read top to bottom: time and state encoding, the done set, starting a hook (fork +
    exec), reaping and killing, the pump, the public entry points, self-test.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ih_hook.h"
#include "ih_log.h"
#include "ih_view.h"

#define s_AUX_NAME      "hook"
#define s_MAGIC         "IHK1"
#define s_DONE_MAX      4096        /* ended hooks above the watermark before we wait */
#define s_KILL_GRACE_MS 1000        /* SIGTERM, then SIGKILL after this */
#define s_SAVE_MS       500
#define s_TAIL          400
#define s_READ_AHEAD    64

extern char **environ;

typedef struct {
    pid_t pid;                  /* 0 = free slot */
    uint64_t seq;
    char id [IH_UUID_LEN + 1];
    uint32_t revision;
    bool revised;
    int64_t started;            /* monotonic ms */
    int64_t term_at;            /* SIGTERM sent at (0 = not yet) */
    int fd;                     /* read end of the output pipe, -1 when closed */
    char tail [s_TAIL];         /* last output bytes */
    size_t tail_len;
} s_run_t;

struct ih_hook {
    char *command;
    char *workdir;
    int timeout_ms;
    int max_running;
    ih_hook_log_fn *log;
    void *log_arg;
    ih_store_t *store;

    s_run_t *runs;              /* max_running slots */
    int running;
    uint64_t watermark;
    uint64_t scanned;           /* every entry <= scanned was handled or started */
    uint64_t read_to;           /* highest seq read into pend */
    uint64_t *done;             /* sorted seqs > watermark whose hooks ended */
    size_t ndone;
    ih_store_log_t pend [s_READ_AHEAD];
    size_t npend, ipend;
    bool dirty, done_changed;
    int64_t saved_at;
    bool save_failed;
    ih_hook_stats_t st;
};

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_log (ih_hook_t *self, char level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
s_log (ih_hook_t *self, char level, const char *fmt, ...)
{
    char line [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    if (self->log)
        self->log (level, line, self->log_arg);
    else
        ih_log (level, "agent", "%s", line);
}

/* ---- durable state: "IHK1", u64 watermark, u64 n, n x u64 done ------------------------- */

static int
s_save (ih_hook_t *self)
{
    ih_buf_t b;
    ih_buf_init (&b);
    uint8_t u [8];
    ih_buf_append (&b, s_MAGIC, 4);
    ih_put_le64 (u, self->watermark);
    ih_buf_append (&b, u, 8);
    ih_put_le64 (u, self->ndone);
    ih_buf_append (&b, u, 8);
    for (size_t i = 0; i < self->ndone; i++) {
        ih_put_le64 (u, self->done [i]);
        ih_buf_append (&b, u, 8);
    }
    ih_err_t err = { "" };
    int rc = ih_store_aux_put (self->store, s_AUX_NAME, b.data, b.len, &err);
    ih_buf_free (&b);
    if (rc != IH_OK) {          //  IH_ENOSPACE or IH_EFAIL: the next save tries again
        if (!self->save_failed)
            s_log (self, 'W', "on-alert hook: cannot save its cursor (%s); will retry", err.msg);
        self->save_failed = true;
        return IH_EFAIL;
    }
    if (self->save_failed)
        s_log (self, 'I', "on-alert hook: cursor saved again (after seq %" PRIu64 ")", self->watermark);
    self->save_failed = false;
    self->dirty = self->done_changed = false;
    self->saved_at = s_mono_ms ();
    return IH_OK;
}

static int
s_load (ih_hook_t *self, bool *found, ih_err_t *err)
{
    ih_buf_t b;
    ih_buf_init (&b);
    int rc = ih_store_aux_get (self->store, s_AUX_NAME, &b, err);
    *found = rc == 1;
    if (rc == 1) {
        uint64_t n = b.len >= 20 ? ih_get_le64 (b.data + 12) : 0;
        if (b.len < 20 || memcmp (b.data, s_MAGIC, 4) != 0 || n > s_DONE_MAX * 2
        ||  b.len != 20 + 8 * n) {
            ih_buf_free (&b);
            return ih_err_set (err, "on-alert hook: its saved cursor in %s is corrupt",
                               ih_store_dir (self->store));
        }
        self->watermark = ih_get_le64 (b.data + 4);
        self->done = (uint64_t *) calloc (s_DONE_MAX * 2 + 1, sizeof *self->done);
        if (!self->done)
            abort ();
        self->ndone = (size_t) n;
        for (size_t i = 0; i < n; i++)
            self->done [i] = ih_get_le64 (b.data + 20 + 8 * i);
    }
    ih_buf_free (&b);
    return rc < 0 ? IH_EFAIL : IH_OK;
}

/* ---- the done set ------------------------------------------------------------------------- */

static bool
s_is_done (ih_hook_t *self, uint64_t seq)
{
    size_t lo = 0, hi = self->ndone;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (self->done [mid] == seq)
            return true;
        if (self->done [mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void
s_mark_done (ih_hook_t *self, uint64_t seq)
{
    if (seq <= self->watermark || s_is_done (self, seq))
        return;
    size_t i = self->ndone;
    while (i > 0 && self->done [i - 1] > seq) {
        self->done [i] = self->done [i - 1];
        i--;
    }
    self->done [i] = seq;
    self->ndone++;
    self->dirty = self->done_changed = true;
}

/*  The watermark follows the oldest hook still running, or the scan when none runs. */
static void
s_advance (ih_hook_t *self)
{
    uint64_t w = self->scanned;
    for (int i = 0; i < self->max_running; i++)
        if (self->runs [i].pid && self->runs [i].seq - 1 < w)
            w = self->runs [i].seq - 1;
    if (w <= self->watermark)
        return;
    self->watermark = w;
    size_t k = 0;
    while (k < self->ndone && self->done [k] <= w)
        k++;
    if (k) {
        memmove (self->done, self->done + k, (self->ndone - k) * sizeof *self->done);
        self->ndone -= k;
    }
    self->dirty = true;
}

/* ---- starting a hook ---------------------------------------------------------------------- */

/*  A memory file holding text, positioned at its start (stdin of the hook). */
static int
s_stdin_file (const char *text, size_t len)
{
    int fd = memfd_create ("infohub-alert", MFD_CLOEXEC);
    if (fd < 0) {
        char path [] = "/tmp/infohub-alert-XXXXXX";
        fd = mkostemp (path, O_CLOEXEC);
        if (fd < 0)
            return -1;
        unlink (path);
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write (fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close (fd);
            return -1;
        }
        off += (size_t) n;
    }
    if (lseek (fd, 0, SEEK_SET) != 0) {
        close (fd);
        return -1;
    }
    return fd;
}

/*  The environment of a hook: ours without INFOHUB_*, plus the event's. */
static char **
s_env (const ih_store_log_t *e, const char *status)
{
    size_t n = 0;
    while (environ && environ [n])
        n++;
    char **env = (char **) calloc (n + 6, sizeof *env);
    if (!env)
        abort ();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp (environ [i], "INFOHUB_", 8) != 0)
            env [k++] = strdup (environ [i]);
    char v [128];
    snprintf (v, sizeof v, "INFOHUB_EVENT=%s", e->outcome == IH_STORE_REVISED ? "revision" : "new");
    env [k++] = strdup (v);
    snprintf (v, sizeof v, "INFOHUB_ALERT_ID=%s", e->id);
    env [k++] = strdup (v);
    snprintf (v, sizeof v, "INFOHUB_REVISION=%u", e->revision);
    env [k++] = strdup (v);
    snprintf (v, sizeof v, "INFOHUB_SEQ=%" PRIu64, e->seq);
    env [k++] = strdup (v);
    snprintf (v, sizeof v, "INFOHUB_STATUS=%s", status);
    env [k++] = strdup (v);
    env [k] = NULL;
    for (size_t i = 0; i < k; i++)
        if (!env [i])
            abort ();
    return env;
}

static void
s_env_free (char **env)
{
    for (size_t i = 0; env && env [i]; i++)
        free (env [i]);
    free (env);
}

/*  Starts the hook for log entry e in slot r. Returns 0, or -1 with err (nothing runs). */
static int
s_start (ih_hook_t *self, s_run_t *r, const ih_store_log_t *e, const char *json, size_t len,
         const char *status, ih_err_t *err)
{
    int in = s_stdin_file (json, len);
    if (in < 0)
        return ih_err_set (err, "cannot make its stdin: %s", strerror (errno));
    int out [2];
    if (pipe2 (out, O_CLOEXEC) != 0) {
        int e2 = errno;
        close (in);
        return ih_err_set (err, "pipe: %s", strerror (e2));
    }
    char **env = s_env (e, status);
    char *argv [] = { (char *) "sh", (char *) "-c", self->command, NULL };
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        //  The child: only async-signal-safe calls from here to exec.
        setpgid (0, 0);
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        if (dup2 (in, 0) < 0 || dup2 (out [1], 1) < 0 || dup2 (out [1], 2) < 0)
            _exit (127);
        if (self->workdir && chdir (self->workdir) != 0)
            _exit (126);
        struct sigaction sa;
        memset (&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset (&sa.sa_mask);
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                sigaction (sig, &sa, NULL);
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        if (close_range (3, ~0U, 0) != 0)
            for (int fd = 3; fd < 65536; fd++)
                close (fd);
        execve ("/bin/sh", argv, env);
        _exit (127);
    }
    int fork_errno = errno;
    s_env_free (env);
    close (in);
    close (out [1]);
    if (pid < 0) {
        close (out [0]);
        return ih_err_set (err, "fork: %s", strerror (fork_errno));
    }
    setpgid (pid, pid);         //  as the child does: whoever runs first
    int fl = fcntl (out [0], F_GETFL);
    fcntl (out [0], F_SETFL, fl | O_NONBLOCK);
    memset (r, 0, sizeof *r);
    r->pid = pid;
    r->seq = e->seq;
    memcpy (r->id, e->id, sizeof r->id);
    r->revision = e->revision;
    r->revised = e->outcome == IH_STORE_REVISED;
    r->started = s_mono_ms ();
    r->fd = out [0];
    self->running++;
    self->st.started++;
    return 0;
}

/* ---- reaping ---------------------------------------------------------------------------- */

/*  Reads what the hook wrote, keeping the last s_TAIL bytes. */
static void
s_drain_output (s_run_t *r)
{
    char buf [4096];
    while (r->fd >= 0) {
        ssize_t n = read (r->fd, buf, sizeof buf);
        if (n > 0) {
            size_t take = (size_t) n;
            if (take >= s_TAIL) {
                memcpy (r->tail, buf + take - s_TAIL, s_TAIL);
                r->tail_len = s_TAIL;
            }
            else {
                if (r->tail_len + take > s_TAIL) {
                    size_t drop = r->tail_len + take - s_TAIL;
                    memmove (r->tail, r->tail + drop, r->tail_len - drop);
                    r->tail_len -= drop;
                }
                memcpy (r->tail + r->tail_len, buf, take);
                r->tail_len += take;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            close (r->fd);
            r->fd = -1;
        }
        break;              //  EAGAIN: nothing more now
    }
}

/*  ": last line" of the output, printable, or "". */
static void
s_last_line (const s_run_t *r, char *out, size_t outsz)
{
    out [0] = 0;
    size_t end = r->tail_len;
    while (end > 0 && (r->tail [end - 1] == '\n' || r->tail [end - 1] == '\r'
                       || r->tail [end - 1] == ' '))
        end--;
    if (end == 0)
        return;
    size_t start = end;
    while (start > 0 && r->tail [start - 1] != '\n')
        start--;
    size_t k = 0;
    if (outsz < 8)
        return;
    out [k++] = ':';
    out [k++] = ' ';
    for (size_t i = start; i < end && k + 1 < outsz && i - start < 200; i++) {
        unsigned char c = (unsigned char) r->tail [i];
        out [k++] = c < 0x20 || c == 0x7f ? '?' : (char) c;
    }
    out [k] = 0;
}

static void
s_finish (ih_hook_t *self, s_run_t *r, int status)
{
    s_drain_output (r);
    if (r->fd >= 0)
        close (r->fd);
    int64_t ms = s_mono_ms () - r->started;
    char last [256];
    s_last_line (r, last, sizeof last);
    const char *what = r->revised ? "revision" : "new alert";
    if (r->term_at) {
        //  Whatever the shell left behind in its group goes too.
        kill (-r->pid, SIGKILL);
        self->st.timed_out++;
        s_log (self, 'W', "on-alert hook for %s %s rev %u (seq %" PRIu64 ") timed out after %d ms:"
               " killed its process group %d%s", what, r->id, r->revision, r->seq,
               self->timeout_ms, (int) r->pid, last);
    }
    else
    if (WIFEXITED (status) && WEXITSTATUS (status) == 0) {
        self->st.ok++;
        s_log (self, 'I', "on-alert hook for %s %s rev %u (seq %" PRIu64 ") done in %" PRId64 " ms",
               what, r->id, r->revision, r->seq, ms);
    }
    else {
        self->st.failed++;
        char how [64];
        if (WIFEXITED (status))
            snprintf (how, sizeof how, "exit status %d", WEXITSTATUS (status));
        else
            snprintf (how, sizeof how, "killed by signal %d", WIFSIGNALED (status) ? WTERMSIG (status) : 0);
        s_log (self, 'W', "on-alert hook for %s %s rev %u (seq %" PRIu64 ") failed: %s after %" PRId64
               " ms%s", what, r->id, r->revision, r->seq, how, ms, last);
    }
    s_mark_done (self, r->seq);
    r->pid = 0;
    r->fd = -1;
    self->running--;
}

static void
s_reap (ih_hook_t *self)
{
    int64_t now = s_mono_ms ();
    for (int i = 0; i < self->max_running; i++) {
        s_run_t *r = &self->runs [i];
        if (!r->pid)
            continue;
        s_drain_output (r);
        int status = 0;
        pid_t p = waitpid (r->pid, &status, WNOHANG);
        if (p == r->pid || (p < 0 && errno == ECHILD)) {
            s_finish (self, r, p == r->pid ? status : 0);
            continue;
        }
        if (!r->term_at && now - r->started >= self->timeout_ms) {
            kill (-r->pid, SIGTERM);
            r->term_at = now;
        }
        else
        if (r->term_at && now - r->term_at >= s_KILL_GRACE_MS)
            kill (-r->pid, SIGKILL);
    }
}

/* ---- the pump ----------------------------------------------------------------------------- */

static bool
s_alert_running (ih_hook_t *self, const char *id)
{
    for (int i = 0; i < self->max_running; i++)
        if (self->runs [i].pid && streq (self->runs [i].id, id))
            return true;
    return false;
}

static s_run_t *
s_free_slot (ih_hook_t *self)
{
    for (int i = 0; i < self->max_running; i++)
        if (!self->runs [i].pid)
            return &self->runs [i];
    return NULL;
}

/*  The next log entry to look at, reading ahead from the store; NULL when none. */
static const ih_store_log_t *
s_peek (ih_hook_t *self)
{
    if (self->ipend < self->npend)
        return &self->pend [self->ipend];
    self->ipend = self->npend = 0;
    ih_err_t err = { "" };
    int n = ih_store_log_read (self->store, self->read_to, self->pend, s_READ_AHEAD, &err);
    if (n < 0) {
        s_log (self, 'W', "on-alert hook: cannot read the log: %s", err.msg);
        return NULL;
    }
    if (n == 0)
        return NULL;
    self->npend = (size_t) n;
    self->read_to = self->pend [n - 1].seq;
    return &self->pend [0];
}

static void
s_consume (ih_hook_t *self, uint64_t seq)
{
    self->ipend++;
    if (seq > self->scanned)
        self->scanned = seq;
}

/*  Starts hooks for new entries while there is room. */
static void
s_start_more (ih_hook_t *self)
{
    const ih_store_log_t *e;
    while (self->ndone < s_DONE_MAX && (e = s_peek (self))) {
        bool wanted = !e->rejected && e->kind == IH_KIND_ALERT
                   && (e->outcome == IH_STORE_NEW || e->outcome == IH_STORE_REVISED);
        if (!wanted || s_is_done (self, e->seq)) {
            s_consume (self, e->seq);
            continue;
        }
        s_run_t *slot = s_free_slot (self);
        if (!slot || s_alert_running (self, e->id))
            break;              //  in order: wait for room, or for this alert's last hook
        ih_store_log_t entry = *e;
        ih_err_t err = { "" };
        json_t *o = NULL;
        int found = ih_view_get (self->store, entry.id, IH_VIEW_DETAILS, &o, &err);
        if (found == 1 && (uint64_t) json_integer_value (json_object_get (o, "seq")) != entry.seq) {
            //  Revised again since: the newer entry runs the hook with the latest state.
            self->st.coalesced++;
            json_decref (o);
            s_consume (self, entry.seq);
            continue;
        }
        if (found != 1) {
            s_log (self, 'E', "on-alert hook for alert %s rev %u (seq %" PRIu64 ") cannot start: %s",
                   entry.id, entry.revision, entry.seq, found == 0 ? "not in the store" : err.msg);
            self->st.failed++;
            s_consume (self, entry.seq);
            continue;
        }
        char status [16];
        snprintf (status, sizeof status, "%s", json_string_value (json_object_get (o, "status")));
        char *text = json_dumps (o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref (o);
        if (!text)
            abort ();
        size_t len = strlen (text);
        ih_buf_t in;
        ih_buf_init (&in);
        ih_buf_append (&in, text, len);
        ih_buf_append (&in, "\n", 1);
        free (text);
        int rc = s_start (self, slot, &entry, (const char *) in.data, in.len, status, &err);
        ih_buf_free (&in);
        if (rc != 0) {
            s_log (self, 'E', "on-alert hook for alert %s rev %u (seq %" PRIu64 ") cannot start: %s",
                   entry.id, entry.revision, entry.seq, err.msg);
            self->st.failed++;
        }
        s_consume (self, entry.seq);
    }
}

int
ih_hook_pump (ih_hook_t *self, bool start)
{
    s_reap (self);
    if (start)
        s_start_more (self);
    s_advance (self);
    if (self->dirty && (self->done_changed || s_mono_ms () - self->saved_at >= s_SAVE_MS))
        s_save (self);
    if (self->running)
        return 20;
    if (self->dirty)
        return s_SAVE_MS;
    if (start && self->ipend < self->npend && self->ndone < s_DONE_MAX && self->running < self->max_running)
        return 0;
    return -1;
}

/* ---- public ------------------------------------------------------------------------------- */

ih_hook_t *
ih_hook_new (const ih_hook_cfg_t *cfg, ih_store_t *store, ih_err_t *err)
{
    if (!cfg->command || !*cfg->command) {
        ih_err_set (err, "on-alert hook: no command");
        return NULL;
    }
    ih_hook_t *self = (ih_hook_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->command = strdup (cfg->command);
    self->workdir = cfg->workdir ? strdup (cfg->workdir) : NULL;
    self->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    self->max_running = cfg->max_running > 0 ? cfg->max_running : 4;
    self->log = cfg->log;
    self->log_arg = cfg->log_arg;
    self->store = store;
    self->runs = (s_run_t *) calloc ((size_t) self->max_running, sizeof *self->runs);
    if (!self->command || !self->runs)
        abort ();
    for (int i = 0; i < self->max_running; i++)
        self->runs [i].fd = -1;
    bool found = false;
    if (s_load (self, &found, err) != 0) {
        ih_hook_destroy (&self);
        return NULL;
    }
    if (!self->done) {
        self->done = (uint64_t *) calloc (s_DONE_MAX * 2 + 1, sizeof *self->done);
        if (!self->done)
            abort ();
    }
    if (!found) {
        self->watermark = ih_store_cursor (store);
        if (s_save (self) != 0) {
            ih_err_set (err, "on-alert hook: cannot save its cursor in %s", ih_store_dir (store));
            ih_hook_destroy (&self);
            return NULL;
        }
        s_log (self, 'I', "on-alert hook: first run; it runs for alerts stored after seq %" PRIu64,
               self->watermark);
    }
    else
        s_log (self, 'I', "on-alert hook: resuming after seq %" PRIu64 " (%zu ended beyond)",
               self->watermark, self->ndone);
    self->scanned = self->read_to = self->watermark;
    return self;
}

int
ih_hook_drain (ih_hook_t *self, int max_ms)
{
    int64_t until = s_mono_ms () + max_ms;
    while (self->running && s_mono_ms () < until) {
        ih_hook_pump (self, false);
        if (self->running)
            usleep (20000);
    }
    s_advance (self);
    if (self->dirty)
        s_save (self);
    return self->running;
}

void
ih_hook_destroy (ih_hook_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_hook_t *self = *self_p;
    for (int i = 0; self->runs && i < self->max_running; i++) {
        s_run_t *r = &self->runs [i];
        if (!r->pid)
            continue;
        kill (-r->pid, SIGKILL);
        waitpid (r->pid, NULL, 0);
        if (r->fd >= 0)
            close (r->fd);
        s_log (self, 'W', "on-alert hook for alert %s rev %u (seq %" PRIu64 ") interrupted by the"
               " stop: it runs again at the next start", r->id, r->revision, r->seq);
        r->pid = 0;
        self->running--;
    }
    if (self->store && self->dirty)
        s_save (self);
    free (self->command);
    free (self->workdir);
    free (self->runs);
    free (self->done);
    free (self);
    *self_p = NULL;
}

void
ih_hook_stats (ih_hook_t *self, ih_hook_stats_t *st)
{
    *st = self->st;
    st->watermark = self->watermark;
    st->scanned = self->scanned;
    st->running = (uint32_t) self->running;
    st->done_above = (uint32_t) self->ndone;
}

int
ih_hook_forget (ih_store_t *store, ih_err_t *err)
{
    ih_buf_t b;
    ih_buf_init (&b);
    int found = ih_store_aux_get (store, s_AUX_NAME, &b, err);
    ih_buf_free (&b);
    if (found <= 0)
        return found < 0 ? IH_EFAIL : IH_OK;    //  nothing to forget
    return ih_store_aux_put (store, s_AUX_NAME, NULL, 0, err) == IH_OK ? IH_OK : IH_EFAIL;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    int n;
    char lines [32][300];
} s_tlog_t;

static void
s_tlog (char level, const char *line, void *arg)
{
    s_tlog_t *l = (s_tlog_t *) arg;
    if (l->n < 32)
        snprintf (l->lines [l->n], sizeof l->lines [0], "%c %s", level, line);
    l->n++;
}

static bool
s_tlog_has (const s_tlog_t *l, const char *what)
{
    for (int i = 0; i < l->n && i < 32; i++)
        if (strstr (l->lines [i], what))
            return true;
    return false;
}

static void
s_talert (ih_msg_t *m, const char *id, uint32_t rev)
{
    ih_msg_init (m, IH_KIND_ALERT);
    snprintf (m->id, sizeof m->id, "%s", id);
    m->revision = rev;
    m->created = 1767225600000;
    m->modified = m->created + rev;
    m->org = ih_msg_str (m, "bank-a");
    m->member = ih_msg_str (m, "soc");
    m->title = ih_msg_str (m, "hooked");
    m->tlp = IH_TLP_GREEN;
    ih_msg_ioc_add (m, IH_IOC_IPV4, "192.0.2.7", "", true);
}

/*  Stores alerts ids [i] at revs [i] under seqs [i]. */
static void
s_tstore (ih_store_t *s, const char **ids, const uint32_t *revs, const uint64_t *seqs, size_t n)
{
    ih_msg_t m [16];
    IH_CHECK (n > 0 && n <= 16);
    memset (m, 0, sizeof m);
    for (size_t i = 0; i < n; i++)
        s_talert (&m [i], ids [i], revs [i]);
    ih_err_t err = { "" };
    IH_CHECK (ih_store_ingest_msgs (s, m, seqs, n, NULL, &err) == 0);
    for (size_t i = 0; i < n; i++)
        ih_msg_free (&m [i]);
}

/*  Pumps until idle (or max_ms). */
static void
s_tpump (ih_hook_t *h, int max_ms)
{
    int64_t until = s_mono_ms () + max_ms;
    while (s_mono_ms () < until) {
        int w = ih_hook_pump (h, true);
        ih_hook_stats_t st;
        ih_hook_stats (h, &st);
        if (w < 0 && st.running == 0)
            break;
        usleep (10000);
    }
}

/*  Lines of a file (0 when absent). */
static int
s_tlines (const char *path, char *buf, size_t bufsz)
{
    buf [0] = 0;
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    size_t n = fread (buf, 1, bufsz - 1, f);
    fclose (f);
    buf [n] = 0;
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf [i] == '\n';
    return lines;
}

/*  True once pid no longer runs (gone, or a zombie nobody reaped: its parent died). */
static bool
s_gone (int pid, int max_ms)
{
    for (int waited = 0; waited <= max_ms; waited += 20) {
        char path [64], stat [256] = "";
        snprintf (path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen (path, "r");
        if (!f)
            return true;
        size_t n = fread (stat, 1, sizeof stat - 1, f);
        fclose (f);
        stat [n] = 0;
        const char *close_paren = strrchr (stat, ')');
        if (close_paren && (close_paren [2] == 'Z' || close_paren [2] == 'X'))
            return true;
        usleep (20000);
    }
    return false;
}

void
ih_hook_test (bool verbose)
{
    char base [] = "/tmp/ih-hook-test-XXXXXX";
    IH_CHECK (mkdtemp (base));
    char dir [256], events [300], cmd [1024], buf [8192], path [400];
    snprintf (dir, sizeof dir, "%s/store", base);
    snprintf (events, sizeof events, "%s/events", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s);
    s_tlog_t log;
    memset (&log, 0, sizeof log);
    ih_hook_cfg_t cfg = { NULL, base, 2000, 2, s_tlog, &log };
    IH_CHECK (ih_hook_new (&cfg, s, &err) == NULL && strstr (err.msg, "no command"));

    //  1. Runs for new alerts and revisions, with the JSON on stdin and the environment;
    //     a revision stored before the hook ran coalesces; other kinds run nothing.
    const char *a = "aaaaaaaa-0000-4000-8000-00000000000a";
    const char *b = "bbbbbbbb-0000-4000-8000-00000000000b";
    const char *c = "cccccccc-0000-4000-8000-00000000000c";
    snprintf (cmd, sizeof cmd, "cat > in.$INFOHUB_SEQ && echo \"$INFOHUB_EVENT $INFOHUB_ALERT_ID"
              " $INFOHUB_REVISION $INFOHUB_SEQ $INFOHUB_STATUS\" >> %s", events);
    cfg.command = cmd;
    ih_hook_t *h = ih_hook_new (&cfg, s, &err);
    IH_CHECK (h);
    IH_CHECK (s_tlog_has (&log, "first run; it runs for alerts stored after seq 0"));
    IH_CHECK (ih_hook_pump (h, true) == -1);           //  nothing yet
    {
        const char *ids [] = { a, b, a };
        uint32_t revs [] = { 1, 1, 2 };
        uint64_t seqs [] = { 1, 2, 4 };
        s_tstore (s, ids, revs, seqs, 3);
        //  a comment at seq 5 (no hook)
        ih_msg_t cm;
        ih_msg_init (&cm, IH_KIND_COMMENT);
        ih_uuid_new (cm.id);
        cm.revision = 0;
        cm.created = cm.modified = 1767225600000;
        cm.org = ih_msg_str (&cm, "bank-a");
        cm.member = ih_msg_str (&cm, "soc");
        snprintf (cm.ref, sizeof cm.ref, "%s", b);
        cm.text = ih_msg_str (&cm, "hi");
        uint64_t cseq = 5;
        IH_CHECK (ih_store_ingest_msgs (s, &cm, &cseq, 1, NULL, &err) == 0);
        ih_msg_free (&cm);
    }
    s_tpump (h, 5000);
    IH_CHECK (s_tlines (events, buf, sizeof buf) == 2);
    if (verbose)
        printf ("\n    events:\n%s", buf);
    char want [200];
    snprintf (want, sizeof want, "new %s 1 2 active\n", b);
    IH_CHECK (strstr (buf, want));
    snprintf (want, sizeof want, "revision %s 2 4 active\n", a);
    IH_CHECK (strstr (buf, want));
    ih_hook_stats_t st;
    ih_hook_stats (h, &st);
    IH_CHECK (st.ok == 2 && st.coalesced == 1 && st.failed == 0 && st.watermark == 5);
    IH_CHECK (st.running == 0 && st.done_above == 0);
    snprintf (path, sizeof path, "%s/in.4", base);
    FILE *f = fopen (path, "r");
    IH_CHECK (f);
    json_error_t jerr;
    json_t *j = json_loadf (f, 0, &jerr);
    fclose (f);
    IH_CHECK (j && streq (json_string_value (json_object_get (j, "id")), a));
    IH_CHECK (json_integer_value (json_object_get (j, "revision")) == 2);
    IH_CHECK (json_integer_value (json_object_get (j, "revisions")) == 2);
    json_decref (j);
    IH_CHECK (s_tlog_has (&log, "done in"));
    ih_hook_destroy (&h);

    //  2. A restart resumes after the watermark: nothing runs again.
    h = ih_hook_new (&cfg, s, &err);
    IH_CHECK (h && s_tlog_has (&log, "resuming after seq 5 (0 ended beyond)"));
    s_tpump (h, 1000);
    IH_CHECK (s_tlines (events, buf, sizeof buf) == 2);
    ih_hook_destroy (&h);

    //  3. Hooks that ended above the watermark (while an older one still ran) are not
    //     run again; the one that was running is. (The state as a kill -9 leaves it.)
    {
        const char *ids [] = { c, b, a };
        uint32_t revs [] = { 1, 2, 3 };
        uint64_t seqs [] = { 7, 8, 9 };
        s_tstore (s, ids, revs, seqs, 3);
        uint8_t state [20 + 16];
        memcpy (state, s_MAGIC, 4);
        ih_put_le64 (state + 4, 6);
        ih_put_le64 (state + 12, 2);
        ih_put_le64 (state + 20, 8);
        ih_put_le64 (state + 28, 9);
        IH_CHECK (ih_store_aux_put (s, s_AUX_NAME, state, sizeof state, &err) == 0);
    }
    h = ih_hook_new (&cfg, s, &err);
    IH_CHECK (h && s_tlog_has (&log, "resuming after seq 6 (2 ended beyond)"));
    s_tpump (h, 5000);
    IH_CHECK (s_tlines (events, buf, sizeof buf) == 3);
    snprintf (want, sizeof want, "new %s 1 7 active\n", c);
    IH_CHECK (strstr (buf, want));
    ih_hook_stats (h, &st);
    IH_CHECK (st.ok == 1 && st.watermark == 9 && st.done_above == 0);
    ih_hook_destroy (&h);

    //  4. A failing hook: logged with its status and last line; the queue moves on.
    cfg.command = "echo first; echo 'it broke' >&2; exit 3";
    h = ih_hook_new (&cfg, s, &err);
    IH_CHECK (h);
    {
        const char *ids [] = { "dddddddd-0000-4000-8000-00000000000d" };
        uint32_t revs [] = { 1 };
        uint64_t seqs [] = { 10 };
        s_tstore (s, ids, revs, seqs, 1);
    }
    s_tpump (h, 5000);
    ih_hook_stats (h, &st);
    IH_CHECK (st.failed == 1 && st.ok == 0 && st.watermark == 10);
    IH_CHECK (s_tlog_has (&log, "failed: exit status 3 after"));
    IH_CHECK (s_tlog_has (&log, "ms: it broke"));
    ih_hook_destroy (&h);

    //  5. A hook that hangs (a shell waiting on a child that ignores nothing) is killed
    //     with its whole process group at the time limit; the others still run, at most
    //     max_running at once.
    snprintf (cmd, sizeof cmd, "if [ $INFOHUB_SEQ = 11 ]; then sleep 30 & echo $! > %s/child;"
              " wait; fi; echo \"$INFOHUB_SEQ\" >> %s/quick", base, base);
    cfg.command = cmd;
    cfg.timeout_ms = 400;
    h = ih_hook_new (&cfg, s, &err);
    IH_CHECK (h);
    {
        const char *ids [] = { "eeeeeeee-0000-4000-8000-00000000000e", "ffffffff-0000-4000-8000-00000000000f",
                               "abababab-0000-4000-8000-00000000000a", "cdcdcdcd-0000-4000-8000-00000000000c" };
        uint32_t revs [] = { 1, 1, 1, 1 };
        uint64_t seqs [] = { 11, 12, 13, 14 };
        s_tstore (s, ids, revs, seqs, 4);
    }
    int64_t t0 = s_mono_ms ();
    ih_hook_pump (h, true);
    ih_hook_stats (h, &st);
    IH_CHECK (st.running == 2);                         //  max_running
    s_tpump (h, 5000);
    int64_t took = s_mono_ms () - t0;
    ih_hook_stats (h, &st);
    if (verbose)
        printf ("    hang killed after %" PRId64 " ms\n", took);
    IH_CHECK (st.timed_out == 1 && st.ok == 3 && st.watermark == 14 && took < 3000);
    IH_CHECK (s_tlog_has (&log, "timed out after 400 ms: killed its process group"));
    snprintf (path, sizeof path, "%s/quick", base);
    IH_CHECK (s_tlines (path, buf, sizeof buf) == 3 && !strstr (buf, "11\n"));
    snprintf (path, sizeof path, "%s/child", base);
    f = fopen (path, "r");
    IH_CHECK (f);
    int child = 0;
    IH_CHECK (fscanf (f, "%d", &child) == 1 && child > 0);
    fclose (f);
    IH_CHECK (s_gone (child, 2000));                    //  the sleep went with its group
    ih_hook_destroy (&h);

    //  6. A stop with a hook still running: drain waits for it within its limit.
    cfg.command = "sleep 0.3";
    cfg.timeout_ms = 5000;
    h = ih_hook_new (&cfg, s, &err);
    {
        const char *ids [] = { "12121212-0000-4000-8000-000000000012" };
        uint32_t revs [] = { 1 };
        uint64_t seqs [] = { 15 };
        s_tstore (s, ids, revs, seqs, 1);
    }
    ih_hook_pump (h, true);
    IH_CHECK (ih_hook_drain (h, 3000) == 0);
    ih_hook_stats (h, &st);
    IH_CHECK (st.ok == 1 && st.watermark == 15);
    ih_hook_destroy (&h);

    //  7. Forgetting the state: the next hook starts after the store's cursor.
    IH_CHECK (ih_hook_forget (s, &err) == 0);
    IH_CHECK (ih_hook_forget (s, &err) == 0);
    log.n = 0;
    h = ih_hook_new (&cfg, s, &err);
    IH_CHECK (h && s_tlog_has (&log, "first run; it runs for alerts stored after seq 15"));
    ih_hook_destroy (&h);
    //  A corrupt state is an error, not a guess.
    IH_CHECK (ih_store_aux_put (s, s_AUX_NAME, "junk", 4, &err) == 0);
    IH_CHECK (ih_hook_new (&cfg, s, &err) == NULL && strstr (err.msg, "corrupt"));

    ih_store_destroy (&s);
    ih_tk_rmtree (base);
}
#endif

/*  ih_analytics.c: the analytics' background work in the daemon (ih_analytics.h). */
#include <czmq.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "ih_analytics.h"
#include "ih_log.h"
#include "ih_model.h"
#include "ih_related.h"

extern char **environ;

struct ih_analytics {
    ih_store_t *store;
    ih_related_t *related;
    char *cfg_path;
    char *model_path;
    pid_t child;                /* the training child, 0 when none */
    int64_t child_started;
    int64_t next_try;           /* no training start before this (mono ms) */
    size_t child_alerts;        /* active alerts when the child started */
    bool index_failed;          /* logged once */
};

ih_analytics_t *
ih_analytics_new (ih_store_t *store, const char *cfg_path, ih_err_t *err)
{
    ih_related_t *rel = ih_related_open (ih_store_dir (store), true, err);
    if (!rel)
        return NULL;
    ih_analytics_t *self = (ih_analytics_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->store = store;
    self->related = rel;
    self->cfg_path = strdup (cfg_path ? cfg_path : "");
    self->model_path = ih_model_path (ih_store_dir (store));
    if (!self->cfg_path)
        abort ();
    return self;
}

void
ih_analytics_destroy (ih_analytics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_analytics_t *self = *self_p;
    if (self->child > 0) {
        kill (self->child, SIGTERM);
        waitpid (self->child, NULL, 0);
    }
    ih_related_destroy (&self->related);
    free (self->cfg_path);
    free (self->model_path);
    free (self);
    *self_p = NULL;
}

/*  Whether a new training is due, for `alerts` active alerts now. */
static bool
s_due (ih_analytics_t *self, size_t alerts)
{
    if (alerts < IH_MODEL_MIN_ALERTS)
        return false;
    size_t trained = 0;
    if (!ih_model_peek (self->model_path, &trained, NULL))
        return true;
    size_t need = trained / 10 > IH_ANALYTICS_RETRAIN ? trained / 10 : IH_ANALYTICS_RETRAIN;
    return alerts >= trained + need;
}

static void
s_start (ih_analytics_t *self, size_t alerts)
{
    char exe [4096];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        ih_log ('W', "analytics", "cannot find the running program to train the model: %s", strerror (errno));
        return;
    }
    exe [n] = 0;
    char *argv [] = { exe, (char *) "-c", self->cfg_path, (char *) "model", (char *) "train", NULL };
    pid_t pid;
    int rc = posix_spawn (&pid, exe, NULL, NULL, argv, environ);
    if (rc != 0) {
        ih_log ('W', "analytics", "cannot start model training: %s", strerror (rc));
        return;
    }
    //  The training yields to everything else: at nice 19 it takes what the agent's
    //  ingest (and the other daemons on the host) leave, so a burst of alerts is stored
    //  at full speed while the model retrains on the side.
    if (setpriority (PRIO_PROCESS, (id_t) pid, 19) != 0)
        ih_log ('W', "analytics", "cannot lower the training's priority: %s", strerror (errno));
    self->child = pid;
    self->child_started = zclock_mono ();
    self->child_alerts = alerts;
    ih_log ('I', "analytics", "training the suggestion model on %zu alerts in the background (pid %d)", alerts,
            (int) pid);
}

int
ih_analytics_pump (ih_analytics_t *self, bool behind)
{
    int wait = 1000;
    //  The related index: a short step (the caller paces the steps: once a second while
    //  the agent is behind the broker, since per alert the index costs more than
    //  verifying it and storing comes first; at once while the index has more to do
    //  otherwise, the loop reading deliveries between steps).
    ih_err_t err;
    int batch = IH_ANALYTICS_BATCH;
    int n = ih_related_catch_up (self->related, self->store, batch, &err);
    if (n < 0 && !self->index_failed) {
        ih_log ('W', "analytics", "%s (related alerts may be out of date)", err.msg);
        self->index_failed = true;
    }
    if (n >= 0)
        self->index_failed = false;
    if (n >= batch)
        wait = 0;
    //  The training child.
    if (self->child > 0) {
        int status;
        pid_t p = waitpid (self->child, &status, WNOHANG);
        if (p == self->child) {
            if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
                ih_log ('I', "analytics", "model trained on %zu alerts in %.1f s", self->child_alerts,
                        (double) (zclock_mono () - self->child_started) / 1000.0);
            else
                ih_log ('W', "analytics", "model training (pid %d) failed (%s %d); trying again later",
                        (int) self->child, WIFEXITED (status) ? "exit" : "signal",
                        WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
            self->child = 0;
            self->next_try = zclock_mono () + IH_ANALYTICS_PAUSE_MS;
        }
        return wait;
    }
    if (behind || zclock_mono () < self->next_try)
        return wait;
    ih_store_counts_t c;
    if (ih_store_counts (self->store, &c, &err) != 0)
        return wait;
    size_t alerts = (size_t) (c.alerts - c.retracted);
    if (s_due (self, alerts))
        s_start (self, alerts);
    else
        self->next_try = zclock_mono () + 2000;     //  peek at the model's head at most every 2 s
    return wait;
}

#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_analytics_test (bool verbose)
{
    //  The index follows the store; training is not due below IH_MODEL_MIN_ALERTS (the
    //  child process itself is tested with the real program: tests/analytics).
    char dir [256];
    IH_CHECK (ih_tk_tempdir ("analytics", dir, sizeof dir));
    ih_err_t err;
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_analytics_t *a = ih_analytics_new (store, "/nonexistent/agent.cfg", &err);
    IH_CHECK (a);
    ih_msg_t m [3];
    uint64_t seqs [3] = { 1, 2, 3 };
    for (int i = 0; i < 3; i++)
        ih_tk_alert (&m [i], NULL, IH_TLP_GREEN, "An alert");
    IH_CHECK (ih_store_ingest_msgs (store, m, seqs, 3, NULL, &err) == 0);
    IH_CHECK (ih_analytics_pump (a, false) == 1000);
    IH_CHECK (ih_analytics_pump (a, true) == 1000);
    IH_CHECK (ih_related_watermark (a->related) == 3 && ih_related_count (a->related) == 3);
    IH_CHECK (a->child == 0 && !s_due (a, 3) && s_due (a, IH_MODEL_MIN_ALERTS));
    ih_analytics_destroy (&a);
    ih_analytics_destroy (&a);
    ih_store_destroy (&store);
    for (int i = 0; i < 3; i++)
        ih_msg_free (&m [i]);
    ih_tk_rmtree (dir);
}
#endif

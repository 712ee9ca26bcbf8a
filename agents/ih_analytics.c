/*  ih_analytics.c: the analytics' background work in the daemon (ih_analytics.h). */
#include <czmq.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "ih_analytics.h"
#include "ih_log.h"
#include "ih_model.h"
#include "ih_related.h"

extern char **environ;

/*  The related index: the loop thread reads new alerts from the store (short reads at
    its own priority) into a ring of copies; a thread of its own at idle priority
    (SCHED_IDLE) indexes them (ih_related_add), and never touches the store. So the
    index takes only the CPU that storing leaves: where the host's cores are busy
    storing, it falls behind (the ring stays full, the loop reads no more), and it
    catches up when the load eases. (On the loop thread, between deliveries, it took a
    quarter of the agent's CPU at 1,000 alerts/s, and ten agents on two cores fell
    behind the broker; at nice 19 on a thread that read the store itself, they still
    did, and a read held while the thread waited for the CPU kept the store's writer
    from reusing pages.) The ring is single-producer single-consumer, without a lock: a
    thread at idle priority must hold nothing the loop thread needs, not even malloc's
    arena (the loop thread frees the copies it made, when it reuses their slots). */
#define S_RING      1024                /* alerts copied ahead of the index, at most */
#define S_FEED      512                 /* alerts read per feed (every IH_ANALYTICS_IDLE_MS) */
#define S_ADD       256                 /* alerts per transaction of the index */

typedef struct {
    ih_msg_t msg;
    uint64_t seq;
    bool retracted;
    bool used;                          /* holds a copy (the loop thread's to free) */
} s_slot_t;

struct ih_analytics {
    ih_store_t *store;
    ih_related_t *related;              /* the indexer thread's */
    pthread_t indexer;
    bool running;
    _Atomic bool stop;
    s_slot_t *ring;                     /* S_RING slots */
    _Atomic uint64_t head;              /* slots filled (the loop thread's) */
    _Atomic uint64_t tail;              /* slots indexed (the indexer's) */
    uint64_t fed_upto;                  /* the store seq read up to (the loop thread's) */
    _Atomic bool index_failed;          /* logged once */
    char *cfg_path;
    char *model_path;
    pid_t child;                        /* the training child, 0 when none */
    int64_t child_started;
    int64_t next_try;                   /* no training start before this (mono ms) */
    size_t child_alerts;                /* active alerts when the child started */
    int64_t seen_at;                    /* the last look at the store's count (mono ms) */
    uint64_t seen_alerts;               /* and the count */
    int64_t due_since;                  /* a training became due (mono ms), or 0 */
    size_t active;                      /* active alerts at the last look */
    bool busy;                          /* s_look */
};

static void *
s_indexer (void *arg)
{
    ih_analytics_t *self = (ih_analytics_t *) arg;
    pthread_setname_np (pthread_self (), "ih-related");
    ih_log_unlocked (true);         //  starved at idle priority, it must not hold stderr's lock
    struct sched_param sp = { 0 };
    if (pthread_setschedparam (pthread_self (), SCHED_IDLE, &sp) != 0
    &&  setpriority (PRIO_PROCESS, (id_t) gettid (), 19) != 0)
        ih_log ('W', "analytics", "cannot lower the related index's priority: %s", strerror (errno));
    ih_related_doc_t docs [S_ADD];
    while (!atomic_load (&self->stop)) {
        uint64_t tail = atomic_load_explicit (&self->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit (&self->head, memory_order_acquire);
        size_t n = 0;
        for (uint64_t i = tail; i < head && n < S_ADD; i++, n++) {
            s_slot_t *sl = &self->ring [i % S_RING];
            docs [n] = (ih_related_doc_t) { &sl->msg, sl->seq, sl->retracted };
        }
        if (n == 0) {
            zclock_sleep (IH_ANALYTICS_IDLE_MS);
            continue;
        }
        ih_err_t err;
        int rc = ih_related_add (self->related, docs, n, &err);
        if (rc < 0 && !atomic_exchange (&self->index_failed, true))
            ih_log ('W', "analytics", "%s (related alerts may be out of date)", err.msg);
        if (rc < 0) {
            //  Nothing of it was kept: the same alerts again after a pause.
            zclock_sleep (1000);
            continue;
        }
        atomic_store (&self->index_failed, false);
        atomic_store_explicit (&self->tail, tail + n, memory_order_release);
    }
    return NULL;
}

/*  Copies store alerts into the ring (the loop thread). */
typedef struct {
    ih_analytics_t *self;
    size_t n, max;
} s_feed_t;

static int
s_feed_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_feed_t *f = (s_feed_t *) arg;
    ih_analytics_t *self = f->self;
    if (f->n >= f->max)
        return 1;
    uint64_t head = atomic_load_explicit (&self->head, memory_order_relaxed);
    s_slot_t *sl = &self->ring [head % S_RING];
    if (sl->used)
        ih_msg_free (&sl->msg);
    ih_msg_copy (&sl->msg, m);
    sl->seq = info->seq;
    sl->retracted = info->retracted;
    sl->used = true;
    self->fed_upto = info->seq;
    atomic_store_explicit (&self->head, head + 1, memory_order_release);
    f->n++;
    return 0;
}

static void
s_feed (ih_analytics_t *self)
{
    uint64_t head = atomic_load (&self->head), tail = atomic_load (&self->tail);
    size_t room = S_RING - (size_t) (head - tail);
    if (room == 0)
        return;
    s_feed_t f = { self, 0, room < S_FEED ? room : S_FEED };
    ih_err_t err;
    if (ih_store_foreach (self->store, self->fed_upto, false, s_feed_one, &f, &err) < 0)
        ih_log ('W', "analytics", "%s (related alerts may be out of date)", err.msg);
}

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
    self->ring = (s_slot_t *) calloc (S_RING, sizeof *self->ring);
    if (!self->cfg_path || !self->ring)
        abort ();
    self->fed_upto = ih_related_watermark (rel);
    if (ih_related_rebuilt (rel))
        ih_log ('I', "analytics", "the related index was written before the machine restarted: "
                "rebuilding it from the store");
    int rc = pthread_create (&self->indexer, NULL, s_indexer, self);
    if (rc != 0) {
        ih_err_set (err, "analytics: cannot start the related index's thread: %s", strerror (rc));
        ih_analytics_destroy (&self);
        return NULL;
    }
    self->running = true;
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
    if (self->running) {
        atomic_store (&self->stop, true);
        pthread_join (self->indexer, NULL);
    }
    for (size_t i = 0; self->ring && i < S_RING; i++)
        if (self->ring [i].used)
            ih_msg_free (&self->ring [i].msg);
    free (self->ring);
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
    //  at full speed while the model retrains on the side. (Not SCHED_IDLE: starved
    //  through a burst, a training never ended, and its reads of the store grew it.)
    if (setpriority (PRIO_PROCESS, (id_t) pid, 19) != 0)
        ih_log ('W', "analytics", "cannot lower the training's priority: %s", strerror (errno));
    self->child = pid;
    self->child_started = zclock_mono ();
    self->child_alerts = alerts;
    ih_log ('I', "analytics", "training the suggestion model on %zu alerts in the background (pid %d)", alerts,
            (int) pid);
}

/*  Busy: alerts came in faster than IH_ANALYTICS_BUSY a second over the last second or
    more (the store's count, looked at once a second). Returns whether it looked now. */
static bool
s_look (ih_analytics_t *self, int64_t now)
{
    if (self->seen_at && now - self->seen_at < 1000)
        return false;
    ih_store_counts_t c;
    ih_err_t err;
    if (ih_store_counts (self->store, &c, &err) != 0)
        return false;
    self->busy = self->seen_at && c.alerts > self->seen_alerts
              && (double) (c.alerts - self->seen_alerts) * 1000.0 / (double) (now - self->seen_at) > IH_ANALYTICS_BUSY;
    self->seen_at = now;
    self->seen_alerts = c.alerts;
    self->active = (size_t) (c.alerts - c.retracted);
    return true;
}

int
ih_analytics_pump (ih_analytics_t *self, bool behind)
{
    int64_t now = zclock_mono ();
    bool looked = s_look (self, now);
    //  The index's ring: fed while the agent is in step and not busy (storing comes
    //  first). At idle priority the index still slowed ten agents' storing on two cores
    //  by four times (publish -> stored p50 74 ms without it, 300-420 ms with it, even
    //  with its file in memory: it shares the caches and the cores' clock, not only
    //  their time), so during a burst it waits, and catches up after.
    int wait = behind ? 1000 : IH_ANALYTICS_IDLE_MS;
    if (!behind && !self->busy)
        s_feed (self);
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
            //  Training takes at most about a tenth of the time: the next starts no sooner
            //  than ten times this one's length (a store that grows by a tenth in seconds,
            //  under a burst, retrained without a break).
            int64_t took = zclock_mono () - self->child_started;
            self->child = 0;
            self->next_try = zclock_mono () + (took * 10 > IH_ANALYTICS_PAUSE_MS ? took * 10 : IH_ANALYTICS_PAUSE_MS);
        }
        return wait;
    }
    if (behind || now < self->next_try || !looked)
        return wait;
    //  A training waits while busy (up to IH_ANALYTICS_DEFER_MS after it became due): ten
    //  agents that each retrained on 10,000 alerts during a burst of 1,000 a second took a
    //  core of the two that storing needed, nice 19 or not.
    if (s_due (self, self->active)) {
        if (self->due_since == 0)
            self->due_since = now;
        if (!self->busy || now - self->due_since >= IH_ANALYTICS_DEFER_MS) {
            s_start (self, self->active);
            self->due_since = 0;
            return wait;
        }
    }
    self->next_try = now + 2000;        //  peek at the model's head at most every 2 s
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
    //  Behind the broker, the ring is not fed; in step it is, and the indexer thread
    //  follows on its own (a look every IH_ANALYTICS_IDLE_MS).
    IH_CHECK (ih_analytics_pump (a, true) == 1000 && atomic_load (&a->head) == 0);
    IH_CHECK (ih_analytics_pump (a, false) == IH_ANALYTICS_IDLE_MS && atomic_load (&a->head) == 3);
    for (int i = 0; i < 100 && ih_related_watermark (a->related) < 3; i++)
        zclock_sleep (50);
    IH_CHECK (ih_related_watermark (a->related) == 3 && ih_related_count (a->related) == 3);
    //  More than the ring holds: fed in turns as the indexer empties it.
    size_t more = S_RING + 200;
    ih_msg_t *mm = (ih_msg_t *) calloc (more, sizeof *mm);
    uint64_t *ss = (uint64_t *) calloc (more, sizeof *ss);
    IH_CHECK (mm && ss);
    for (size_t i = 0; i < more; i++) {
        ih_tk_alert (&mm [i], NULL, IH_TLP_GREEN, "Another alert");
        ss [i] = 4 + i;
    }
    IH_CHECK (ih_store_ingest_msgs (store, mm, ss, more, NULL, &err) == 0);
    for (int i = 0; i < 400 && ih_related_watermark (a->related) < 3 + more; i++) {
        ih_analytics_pump (a, false);
        zclock_sleep (25);
    }
    IH_CHECK (ih_related_watermark (a->related) == 3 + more && ih_related_count (a->related) == 3 + more);
    for (size_t i = 0; i < more; i++)
        ih_msg_free (&mm [i]);
    free (mm);
    free (ss);
    IH_CHECK (a->child == 0 && !s_due (a, 3) && s_due (a, IH_MODEL_MIN_ALERTS));
    ih_analytics_destroy (&a);
    ih_analytics_destroy (&a);
    ih_store_destroy (&store);
    for (int i = 0; i < 3; i++)
        ih_msg_free (&m [i]);
    ih_tk_rmtree (dir);
}
#endif

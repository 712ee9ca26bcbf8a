/*  ih_bench_proc.c: child processes, CPU time, perf.

    The watched children live in one table, so that whatever ends the bench (ih_bench_die,
    a normal return, Ctrl-C) stops them: nothing outlives the bench to disturb the next
    run. The signal handler only reads the table and sends signals (async-signal-safe);
    the table is written by the main thread. The contract is in ih_bench.h.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "ih_bench.h"

/* ---- children ---------------------------------------------------------------------------- */
typedef struct {
    volatile pid_t pid;             //  0: a free slot
    int stop_sig;
    int grace_ms;                   //  < 0: wait as long as it takes
} s_child_t;

//  Slots are taken in order and freed at the end only, so that the last started is stopped
//  first (perf before the process it watches).
static s_child_t s_children [IH_BENCH_MAX_CHILDREN];
static volatile size_t s_nchildren = 0;

pid_t
ih_bench_spawn (char *const argv [], const char *log)
{
    pid_t pid = fork ();
    if (pid < 0)
        ih_bench_die ("fork: %s", strerror (errno));
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
            close (fd);
        }
        execv (argv [0], argv);
        fprintf (stderr, "exec %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    return pid;
}

void
ih_bench_run (char *const argv [], const char *log)
{
    pid_t pid = ih_bench_spawn (argv, log);
    int status = 0;
    if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
        ih_bench_die ("%s %s failed (see %s)", argv [0], argv [1], log);
}

pid_t
ih_bench_start (char *const argv [], const char *log, int stop_sig, int grace_ms)
{
    if (s_nchildren == IH_BENCH_MAX_CHILDREN)
        ih_bench_die ("more than %d children running", IH_BENCH_MAX_CHILDREN);
    pid_t pid = ih_bench_spawn (argv, log);
    s_child_t *c = &s_children [s_nchildren];
    c->stop_sig = stop_sig;
    c->grace_ms = grace_ms;
    c->pid = pid;
    s_nchildren++;
    return pid;
}

static void
s_child_stop (s_child_t *c)
{
    pid_t pid = c->pid;
    if (pid <= 0)
        return;
    kill (pid, c->stop_sig);
    if (c->grace_ms < 0)
        waitpid (pid, NULL, 0);
    else {
        bool gone = false;
        for (int i = 0; i < c->grace_ms / 100 && !gone; i++) {
            if (waitpid (pid, NULL, WNOHANG) == pid)
                gone = true;
            else
                usleep (100 * 1000);
        }
        if (!gone) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
        }
    }
    c->pid = 0;
    while (s_nchildren > 0 && s_children [s_nchildren - 1].pid == 0)
        s_nchildren--;
}

void
ih_bench_stop (pid_t *pid)
{
    if (*pid > 0)
        for (size_t i = 0; i < s_nchildren; i++)
            if (s_children [i].pid == *pid) {
                s_child_stop (&s_children [i]);
                break;
            }
    *pid = 0;
}

void
ih_bench_stop_all (void)
{
    for (size_t i = s_nchildren; i > 0; i--)
        s_child_stop (&s_children [i - 1]);
}

static void
s_on_signal (int sig)
{
    for (size_t i = s_nchildren; i > 0; i--) {
        s_child_t *c = &s_children [i - 1];
        if (c->pid > 0)
            kill (c->pid, c->grace_ms < 0 ? c->stop_sig : SIGKILL);
    }
    _exit (128 + sig);
}

void
ih_bench_stop_on_signals (void)
{
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    atexit (ih_bench_stop_all);
}

/* ---- CPU time ---------------------------------------------------------------------------- */
double
ih_bench_proc_cpu (pid_t pid)
{
    char path [64], buf [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf [n] = 0;
    char *p = strrchr (buf, ')');
    if (!p)
        return 0;
    //  after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
    unsigned long long ut = 0, st = 0;
    if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double) (ut + st) / (double) sysconf (_SC_CLK_TCK);
}

double
ih_bench_self_cpu (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void
ih_bench_threads_snap (pid_t pid, ih_bench_threads_t *out)
{
    memset (out, 0, sizeof *out);
    out->at = ih_bench_now_ns ();
    char path [128];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *d = opendir (path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d)) && out->n < IH_BENCH_MAX_THREADS) {
        if (e->d_name [0] < '0' || e->d_name [0] > '9')
            continue;
        ih_bench_thread_t *t = &out->t [out->n];
        t->tid = (int) strtol (e->d_name, NULL, 10);
        //  room for the path, a whole d_name and the file's name: never cut
        char file [sizeof path + sizeof e->d_name + 16];
        snprintf (file, sizeof file, "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen (file, "r");
        if (!f)
            continue;
        unsigned long long run = 0, wait = 0;
        int ok = fscanf (f, "%llu %llu", &run, &wait) == 2;
        fclose (f);
        snprintf (file, sizeof file, "%s/%s/comm", path, e->d_name);
        f = fopen (file, "r");
        if (f) {
            if (!fgets (t->comm, sizeof t->comm, f))
                t->comm [0] = 0;
            t->comm [strcspn (t->comm, "\n")] = 0;
            fclose (f);
        }
        if (!ok)
            continue;
        t->run_ns = run;
        t->wait_ns = wait;
        out->n++;
    }
    closedir (d);
}

void
ih_bench_threads_diff (pid_t pid, const ih_bench_threads_t *a, const ih_bench_threads_t *b,
                       char *out, size_t size)
{
    double wall = (double) (b->at - a->at) / 1e9;
    size_t used = 0;
    out [0] = 0;
    int helper = 0;
    for (size_t i = 0; i < b->n; i++) {
        const ih_bench_thread_t *t = &b->t [i];
        uint64_t run0 = 0, wait0 = 0;
        for (size_t j = 0; j < a->n; j++)
            if (a->t [j].tid == t->tid) {
                run0 = a->t [j].run_ns;
                wait0 = a->t [j].wait_ns;
            }
        double run = (double) (t->run_ns - run0) / 1e9, wait = (double) (t->wait_ns - wait0) / 1e9;
        if (run < 0.005)
            continue;
        char name [48];
        if (t->tid == (int) pid)
            snprintf (name, sizeof name, "main");
        else
        if (streq (t->comm, "infohub-broker"))
            snprintf (name, sizeof name, "verifier%d", ++helper);
        else
            snprintf (name, sizeof name, "%s", t->comm);
        double asleep = wall - run - wait;
        used += (size_t) snprintf (out + used, used < size ? size - used : 0, "%s%s %.2f/%.2f/%.2f",
                                   used ? ", " : "", name, run, wait, asleep < 0 ? 0 : asleep);
        if (used >= size)
            break;
    }
}

/* ---- perf -------------------------------------------------------------------------------- */
pid_t
ih_bench_perf_start (const char *prefix, const char *phase, pid_t pid)
{
    if (!prefix || pid <= 0)
        return 0;
    char out [4096], pidarg [32];
    snprintf (out, sizeof out, "%s-%s.data", prefix, phase);
    snprintf (pidarg, sizeof pidarg, "%d", (int) pid);
    char log [4200];
    snprintf (log, sizeof log, "%s-%s.log", prefix, phase);
    const char *cg = getenv ("BENCH_PERF_CALLGRAPH");     //  "dwarf" for libraries without frame pointers
    char cgarg [64];
    snprintf (cgarg, sizeof cgarg, "--call-graph=%s", cg && *cg ? cg : "fp");
    char *argv [] = { "/usr/bin/perf", "record", cgarg, "-F", "999", "-o", out, "-p", pidarg, NULL };
    pid_t perf = ih_bench_start (argv, log, SIGINT, -1);
    usleep (500 * 1000);                //  perf needs a moment to attach
    return perf;
}

void
ih_bench_perf_stop (pid_t *perf)
{
    ih_bench_stop (perf);
}

/*  ih_daemon.c: signal handling for the daemons (see ih_daemon.h). */
#include <czmq.h>
#include <signal.h>

#include "ih_daemon.h"
#include "ih_util.h"

volatile sig_atomic_t ih_daemon_stop = 0;
volatile sig_atomic_t ih_daemon_reload = 0;
static volatile sig_atomic_t s_flags = 0;

static void
s_on_signal (int sig)
{
    if (sig == SIGHUP && (s_flags & IH_DAEMON_RELOAD)) {
        ih_daemon_reload = 1;
        return;
    }
    ih_daemon_stop = 1;
    if (s_flags & IH_DAEMON_INTERRUPT)
        zsys_interrupted = 1;
}

void
ih_daemon_signals (unsigned flags)
{
    s_flags = (sig_atomic_t) flags;
    zsys_handler_set (NULL);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    signal (SIGXFSZ, SIG_IGN);
    signal (SIGCHLD, SIG_DFL);
}

/* ---- self-test ------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
void
ih_daemon_test (bool verbose)
{
    ih_daemon_signals (IH_DAEMON_RELOAD);
    raise (SIGHUP);
    IH_CHECK (ih_daemon_reload == 1 && ih_daemon_stop == 0);
    raise (SIGTERM);
    IH_CHECK (ih_daemon_stop == 1 && !zsys_interrupted);
    ih_daemon_stop = ih_daemon_reload = 0;
    ih_daemon_signals (IH_DAEMON_INTERRUPT);
    raise (SIGHUP);                 //  without RELOAD, a hangup stops
    IH_CHECK (ih_daemon_stop == 1 && ih_daemon_reload == 0 && zsys_interrupted);
    IH_CHECK (raise (SIGPIPE) == 0);  //  ignored: still alive
    ih_daemon_stop = 0;
    zsys_interrupted = 0;
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGHUP, SIG_DFL);
    (void) verbose;
}
#endif

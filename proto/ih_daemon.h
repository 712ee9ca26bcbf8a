/*  ih_daemon.h: what every daemon does first: its own signal handling.

    ih_daemon_signals() turns czmq's handler off (it must run before any socket exists:
    czmq's handler would make the first signal stick in zsys_interrupted and hide
    SIGHUP) and installs ours, without SA_RESTART, so that a blocking poll returns at once:

      SIGINT, SIGTERM   ih_daemon_stop = 1 (and zsys_interrupted = 1 with
                        IH_DAEMON_INTERRUPT, so that czmq's and ih_client's waits return)
      SIGHUP            ih_daemon_reload = 1 with IH_DAEMON_RELOAD; otherwise a stop
      SIGPIPE           ignored (a closed peer is an error return, not a death)
      SIGXFSZ           ignored: a file-size limit fails a write with EFBIG, which the
                        stores report as a full disk, instead of killing the daemon
      SIGCHLD           default: children (the agent's on-alert hooks) are reaped by their
                        owner, even when a supervisor left SIGCHLD ignored

    Threading: call once from the main thread, before any other thread starts.
*/
#ifndef IH_DAEMON_H
#define IH_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#define IH_DAEMON_INTERRUPT  1      /* a stop also sets czmq's zsys_interrupted */
#define IH_DAEMON_RELOAD     2      /* SIGHUP asks for a reload instead of a stop */

extern volatile sig_atomic_t ih_daemon_stop;
extern volatile sig_atomic_t ih_daemon_reload;

void ih_daemon_signals(unsigned flags);

void ih_daemon_test(bool verbose);

#endif

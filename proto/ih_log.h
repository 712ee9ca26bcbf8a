/*  ih_log.h: one line per event on stderr, "L MODULE: message".

    L is the level: D (debug), I (information), W (warning), E (error). MODULE names the
    part of the program that speaks ("broker", "agent", "gateway", "registry"). A line
    is written with one call, so lines from several threads never interleave. Debug
    lines are dropped unless the program asked for them (-v: ih_log_set_level ('D')).
    Text from a peer goes through ih_quote (ih_util.h) before it reaches a log line, and
    no secret is ever logged.

    Threading: every function may be called from any thread (the limited lines' table
    has a lock of its own).
*/
#ifndef IH_LOG_H
#define IH_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/*  The least level written: 'D', 'I' (the default), 'W' or 'E'. */
void ih_log_set_level(char level);
/*  True when a line of this level would be written (to skip costly formatting). */
bool ih_log_on(char level);
/*  Writes "L MODULE: message\n" (the message cut at 1,000 bytes). */
void ih_log(char level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ih_logv(char level, const char *module, const char *fmt, va_list ap);
/*  This thread's lines go out in one write (2) each, not through stdio, whose lock on
    stderr it would hold while writing: for a thread at idle priority, which may wait
    long for a CPU and must hold nothing another thread waits for (ih_analytics.c). */
void ih_log_unlocked(bool on);

/*  Lines a peer can cause at will (one per refused message, one per frame it sends) go
    through ih_log_limited instead of ih_log, with a key naming the peer ("soc@bank-a",
    "key Xyz...", an address). Each key may write IH_LOG_BURST lines per interval of
    IH_LOG_INTERVAL_MS; the lines past that are counted, not written, and when the
    interval ends one summary line says how many were left out, at the level of the
    worst of them:

        W broker: soc@bank-a: 4211 more lines like this in the last 10 s were not logged:
          rejected publish from soc@bank-a: rate-limited: ...

    (one line; the sample is the first line that was left out). A summary is written by
    the next ih_log_limited call of the same key once its interval ended, or by
    ih_log_limited_flush, which a daemon calls from its timer (every second or so) so
    that a peer that fell silent still gets its summary. Keys live in a small table
    (IH_LOG_KEYS entries): a key pushed out early gets its summary then, so many peers
    at once cost the table and never more memory. */
#define IH_LOG_BURST        5
#define IH_LOG_INTERVAL_MS  10000
#define IH_LOG_KEYS         256
void ih_log_limited(const char *key, char level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*  Writes the summaries of the intervals that have ended (all: every summary pending,
    as a daemon stops). */
void ih_log_limited_flush(bool all);

void ih_log_test(bool verbose);

#endif

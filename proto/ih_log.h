/*  ih_log.h: one line per event on stderr, "L MODULE: message".

    L is the level: D (debug), I (information), W (warning), E (error). MODULE names the
    part of the program that speaks ("broker", "agent", "gateway", "registry"). A line
    is written with one call, so lines from several threads never interleave. Debug
    lines are dropped unless the program asked for them (-v: ih_log_set_level ('D')).
    Text from a peer goes through ih_quote (ih_util.h) before it reaches a log line, and
    no secret is ever logged.

    Threading: every function may be called from any thread.
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

void ih_log_test(bool verbose);

#endif

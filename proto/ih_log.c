/*  ih_log.c: one line per event (see ih_log.h). */
#include "ih_log.h"
#include "ih_util.h"

#include <stdatomic.h>

static _Atomic int s_min = 1;       /* index in s_levels */
static const char s_levels [] = "DIWE";

static int
s_rank (char level)
{
    const char *p = strchr (s_levels, level);
    return p && level ? (int) (p - s_levels) : 3;
}

void
ih_log_set_level (char level)
{
    s_min = s_rank (level);
}

bool
ih_log_on (char level)
{
    return s_rank (level) >= s_min;
}

void
ih_logv (char level, const char *module, const char *fmt, va_list ap)
{
    if (!ih_log_on (level))
        return;
    char line [1024];
    int n = snprintf (line, sizeof line, "%c %s: ", level, module ? module : "infohub");
    if (n < 0 || (size_t) n >= sizeof line - 2)
        n = 0;
    int m = vsnprintf (line + n, sizeof line - (size_t) n - 1, fmt, ap);
    size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line [len++] = '\n';
    line [len] = 0;
    fputs (line, stderr);
}

void
ih_log (char level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    ih_logv (level, module, fmt, ap);
    va_end (ap);
}

/* ---- self-test ------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include <unistd.h>

void
ih_log_test (bool verbose)
{
    //  Capture stderr in a file, log at each level, and read what came out.
    char path [] = "/tmp/ih-log-test-XXXXXX";
    int fd = mkstemp (path);
    IH_CHECK (fd >= 0);
    fflush (stderr);
    int saved = dup (2);
    IH_CHECK (dup2 (fd, 2) == 2);
    ih_log_set_level ('I');
    IH_CHECK (!ih_log_on ('D') && ih_log_on ('I') && ih_log_on ('E'));
    ih_log ('D', "test", "hidden %d", 1);
    ih_log ('I', "test", "shown %d", 2);
    ih_log_set_level ('D');
    ih_log ('D', "test", "debug %s", "now");
    char big [3000];
    memset (big, 'x', sizeof big - 1);
    big [sizeof big - 1] = 0;
    ih_log ('E', "test", "%s", big);
    ih_log_set_level ('I');
    fflush (stderr);
    IH_CHECK (dup2 (saved, 2) == 2);
    close (saved);
    close (fd);
    size_t len = 0;
    char *out = ih_file_read (path, 1 << 20, &len, NULL);
    IH_CHECK (out);
    unlink (path);
    IH_CHECK (strstr (out, "I test: shown 2\nD test: debug now\nE test: xxx") == out);
    IH_CHECK (!strstr (out, "hidden"));
    //  The long line is cut, and still ends the line.
    IH_CHECK (len < 3000 && out [len - 1] == '\n');
    free (out);
    (void) verbose;
}
#endif

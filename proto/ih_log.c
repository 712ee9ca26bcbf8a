/*  ih_log.c: one line per event (see ih_log.h). */
#include "ih_log.h"
#include "ih_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

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

static __thread bool tl_unlocked;     /* ih_log_unlocked */

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
    if (!tl_unlocked) {
        fputs (line, stderr);
        return;
    }
    for (size_t off = 0; off < len; ) {
        ssize_t w = write (STDERR_FILENO, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t) w;
    }
}

void
ih_log_unlocked (bool on)
{
    tl_unlocked = on;
}

void
ih_log (char level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    ih_logv (level, module, fmt, ap);
    va_end (ap);
}

/* ---- lines a peer can cause: a bucket per key ------------------------------------------------
    A small open-addressed table (IH_LOG_KEYS slots, four probes from the key's hash):
    a key that finds neither its slot nor a free one takes the probed slot whose interval
    began longest ago, and that slot's summary is written first. */
typedef struct {
    char key [96];
    char module [24];
    char level;                     //  the worst level among the lines left out
    int64_t start;                  //  when the interval began (monotonic ms); 0 = free
    uint32_t written;
    uint64_t dropped;
    char sample [320];              //  the first line left out
} s_bucket_t;

static s_bucket_t s_buckets [IH_LOG_KEYS];
static pthread_mutex_t s_buckets_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t s_fake_now;          //  the self-test's clock; 0 = the real one

static int64_t
s_mono_ms (void)
{
    if (s_fake_now)
        return s_fake_now;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;  //  never 0
}

//  Writes the summary of b's interval, if it left lines out, and empties the counts.
static void
s_bucket_summary (s_bucket_t *b, int64_t now)
{
    if (b->dropped) {
        int64_t secs = (now - b->start + 999) / 1000;
        if (secs < 1)
            secs = 1;
        ih_log (b->level, b->module, "%s: %llu more %s like this in the last %lld s %s not "
                "logged: %s", b->key, (unsigned long long) b->dropped,
                b->dropped == 1 ? "line" : "lines", (long long) secs,
                b->dropped == 1 ? "was" : "were", b->sample);
    }
    b->written = 0;
    b->dropped = 0;
    b->level = 0;
    b->sample [0] = 0;
}

static s_bucket_t *
s_bucket_for (const char *key, int64_t now)
{
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t) *p) * 16777619u;
    s_bucket_t *victim = NULL;
    for (uint32_t i = 0; i < 4; i++) {
        s_bucket_t *b = &s_buckets [(h + i) % IH_LOG_KEYS];
        if (b->start && strncmp (b->key, key, sizeof b->key - 1) == 0)
            return b;
        if (!victim || (victim->start && (!b->start || b->start < victim->start)))
            victim = b;
    }
    if (victim->start)
        s_bucket_summary (victim, now);
    memset (victim, 0, sizeof *victim);
    snprintf (victim->key, sizeof victim->key, "%s", key);
    victim->start = now;
    return victim;
}

void
ih_log_limited (const char *key, char level, const char *module, const char *fmt, ...)
{
    if (!ih_log_on (level))
        return;
    if (!key)
        key = "-";
    int64_t now = s_mono_ms ();
    pthread_mutex_lock (&s_buckets_lock);
    s_bucket_t *b = s_bucket_for (key, now);
    if (now - b->start >= IH_LOG_INTERVAL_MS) {
        s_bucket_summary (b, now);
        b->start = now;
    }
    va_list ap;
    va_start (ap, fmt);
    if (b->written < IH_LOG_BURST) {
        b->written++;
        ih_logv (level, module, fmt, ap);
    }
    else {
        if (b->dropped++ == 0) {
            vsnprintf (b->sample, sizeof b->sample, fmt, ap);
            snprintf (b->module, sizeof b->module, "%s", module ? module : "infohub");
        }
        if (s_rank (level) > s_rank (b->level ? b->level : 'D'))
            b->level = level;
    }
    va_end (ap);
    pthread_mutex_unlock (&s_buckets_lock);
}

void
ih_log_limited_flush (bool all)
{
    int64_t now = s_mono_ms ();
    pthread_mutex_lock (&s_buckets_lock);
    for (size_t i = 0; i < IH_LOG_KEYS; i++) {
        s_bucket_t *b = &s_buckets [i];
        if (b->start && (all || now - b->start >= IH_LOG_INTERVAL_MS)) {
            s_bucket_summary (b, now);
            b->start = 0;           //  free: the key starts afresh when heard again
        }
    }
    pthread_mutex_unlock (&s_buckets_lock);
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
    ih_log_unlocked (true);         //  a write (2) of the line, in order with the others
    ih_log ('W', "test", "unlocked %d", 3);
    ih_log_unlocked (false);
    ih_log ('I', "test", "locked again");
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
    char *cut = strstr (out, "E test: xxx");
    IH_CHECK (cut && strstr (cut, "\nW test: unlocked 3\nI test: locked again\n"));
    IH_CHECK (len < 3000 && out [len - 1] == '\n');
    free (out);

    //  Limited lines: five of a key per interval, then one summary; another key is not
    //  held back by the first; the flush writes what a silent key left out.
    snprintf (path, sizeof path, "/tmp/ih-log-test-XXXXXX");
    fd = mkstemp (path);
    IH_CHECK (fd >= 0);
    fflush (stderr);
    saved = dup (2);
    IH_CHECK (dup2 (fd, 2) == 2);
    s_fake_now = 1000000;
    for (int i = 0; i < 1000; i++)
        ih_log_limited ("flooder", i == 500 ? 'E' : 'W', "test", "refused message %d from flooder", i);
    ih_log_limited ("quiet", 'W', "test", "refused message from quiet");
    ih_log_limited_flush (false);               //  the interval has not ended: nothing
    s_fake_now += IH_LOG_INTERVAL_MS;
    ih_log_limited ("flooder", 'W', "test", "refused message %d from flooder", 1000);
    for (int i = 0; i < 7; i++)
        ih_log_limited ("silent", 'W', "test", "line %d of silent", i);
    s_fake_now += IH_LOG_INTERVAL_MS;
    ih_log_limited_flush (false);
    //  Many keys at once go through the small table without losing a count
    for (int i = 0; i < 3 * IH_LOG_KEYS; i++) {
        char key [32];
        snprintf (key, sizeof key, "peer-%d", i);
        for (int j = 0; j < 6; j++)
            ih_log_limited (key, 'W', "test", "x %d", j);
    }
    ih_log_limited_flush (true);                //  as a daemon stops: everything pending
    s_fake_now = 0;
    fflush (stderr);
    IH_CHECK (dup2 (saved, 2) == 2);
    close (saved);
    close (fd);
    out = ih_file_read (path, 1 << 22, &len, NULL);
    IH_CHECK (out);
    unlink (path);
    size_t flooder_lines = 0, summaries = 0, x_lines = 0;
    uint64_t x_dropped = 0;
    for (char *line = strtok (out, "\n"); line; line = strtok (NULL, "\n")) {
        if (strstr (line, "W test: refused message ") == line && strstr (line, "from flooder"))
            flooder_lines++;
        if (strstr (line, " like this in the last ")) {
            summaries++;
            if (strstr (line, "flooder")) {
                //  the worst level left out, the count, and the first line left out
                IH_CHECK (strstr (line, "E test: flooder: 995 more lines like this in the last 10 s "
                                  "were not logged: refused message 5 from flooder") == line);
            }
            else
            if (strstr (line, "silent"))
                IH_CHECK (strstr (line, "W test: silent: 2 more lines like this in the last 10 s") == line);
            else {
                unsigned long long n = 0;
                const char *c = strstr (line, "peer-");
                c = c ? strstr (c, ": ") : NULL;
                IH_CHECK (c && sscanf (c + 2, "%llu", &n) == 1);
                x_dropped += n;
            }
        }
        else
        if (strstr (line, "W test: x "))
            x_lines++;
    }
    IH_CHECK (flooder_lines == IH_LOG_BURST + 1);  //  five, then one in the next interval
    IH_CHECK (x_lines + x_dropped == 3 * IH_LOG_KEYS * 6);
    IH_CHECK (summaries >= 2);
    free (out);
    (void) verbose;
}
#endif

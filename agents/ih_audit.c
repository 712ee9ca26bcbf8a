/*  ih_audit.c: the hash-chained audit log (see ih_audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_audit.h"

#define s_HASH      32
#define s_MAX_LINE  (64 * 1024)

struct ih_audit {
    char *path;
    pthread_mutex_t lock;
};

/* ---- hashing --------------------------------------------------------------------------- */

static void
s_hash (const uint8_t prev [s_HASH], const char *line, size_t len, uint8_t out [s_HASH])
{
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, s_HASH);
    crypto_generichash_update (&st, prev, s_HASH);
    crypto_generichash_update (&st, (const uint8_t *) line, len);
    crypto_generichash_final (&st, out, s_HASH);
}

/*  The part of a line the hash covers: up to ",\"hash\"". */
static bool
s_split (const char *line, size_t len, size_t *covered)
{
    static const char tag [] = ",\"hash\":\"";
    const char *p = memmem (line, len, tag, sizeof tag - 1);
    if (!p)
        return false;
    *covered = (size_t) (p - line);
    return true;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef int (s_line_fn)(const char *line, size_t len, size_t lineno, void *arg);

/*  Calls fn for each line of the file (without its newline). */
static int
s_lines (int fd, s_line_fn *fn, void *arg, ih_err_t *err, const char *path)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    char chunk [16384];
    ssize_t n;
    size_t lineno = 0;
    int rc = 0;
    if (lseek (fd, 0, SEEK_SET) < 0) {
        ih_buf_free (&buf);
        return ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    }
    while (rc == 0 && (n = read (fd, chunk, sizeof chunk)) > 0) {
        ih_buf_append (&buf, chunk, (size_t) n);
        size_t start = 0;
        for (size_t i = 0; rc == 0 && i < buf.len; i++)
            if (buf.data [i] == '\n') {
                rc = fn ((const char *) buf.data + start, i - start, ++lineno, arg);
                start = i + 1;
            }
        memmove (buf.data, buf.data + start, buf.len - start);
        buf.len -= start;
        if (buf.len > s_MAX_LINE) {
            rc = ih_err_set (err, "%s:%zu: line too long", path, lineno + 1);
            break;
        }
    }
    if (rc == 0 && n < 0)
        rc = ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    if (rc == 0 && buf.len)
        rc = ih_err_set (err, "%s:%zu: the last line is cut (no newline): the file was cut or "
                         "is being written", path, lineno + 1);
    ih_buf_free (&buf);
    return rc;
}

typedef struct {
    const char *path;
    uint8_t prev [s_HASH];
    uint64_t seq;
    ih_err_t *err;
} s_verify_t;

static int
s_verify_line (const char *line, size_t len, size_t lineno, void *arg)
{
    s_verify_t *v = (s_verify_t *) arg;
    json_error_t jerr;
    json_t *o = json_loadb (line, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *hash = json_string_value (json_object_get (o, "hash"));
    const char *prev = json_string_value (json_object_get (o, "prev"));
    json_int_t seq = json_integer_value (json_object_get (o, "seq"));
    size_t covered;
    uint8_t want_prev [s_HASH], got [s_HASH], claimed [s_HASH];
    int rc = 0;
    if (!o || !hash || !prev || !json_is_integer (json_object_get (o, "seq")))
        rc = ih_err_set (v->err, "%s:%zu: not an audit entry (%s)", v->path, lineno,
                         o ? "a field is missing" : jerr.text);
    else
    if ((uint64_t) seq != v->seq + 1)
        rc = ih_err_set (v->err, "%s:%zu: entry %lld follows entry %llu: entries were removed or "
                         "reordered", v->path, lineno, (long long) seq, (unsigned long long) v->seq);
    else
    if (strlen (prev) != 2 * s_HASH || ih_hex_decode (prev, want_prev, s_HASH) != 0
    ||  memcmp (want_prev, v->prev, s_HASH) != 0)
        rc = ih_err_set (v->err, "%s:%zu: the chain is broken: prev is not the hash of the entry "
                         "before", v->path, lineno);
    else
    if (!s_split (line, len, &covered) || strlen (hash) != 2 * s_HASH
    ||  ih_hex_decode (hash, claimed, s_HASH) != 0)
        rc = ih_err_set (v->err, "%s:%zu: not an audit entry (bad hash field)", v->path, lineno);
    else {
        s_hash (v->prev, line, covered, got);
        if (memcmp (got, claimed, s_HASH) != 0)
            rc = ih_err_set (v->err, "%s:%zu: hash does not match: the entry was changed", v->path,
                             lineno);
        else {
            memcpy (v->prev, got, s_HASH);
            v->seq++;
        }
    }
    json_decref (o);
    return rc;
}

int
ih_audit_verify (const char *path, uint64_t *entries, ih_err_t *err)
{
    if (entries)
        *entries = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    flock (fd, LOCK_SH);
    s_verify_t v = { path, { 0 }, 0, err };
    int rc = s_lines (fd, s_verify_line, &v, err, path);
    close (fd);
    if (entries)
        *entries = v.seq;
    return rc ? -1 : 0;
}

/* ---- appending ------------------------------------------------------------------------------ */

ih_audit_t *
ih_audit_open (const char *path, ih_err_t *err)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        ih_err_set (err, "%s: cannot open the audit log: %s", path, strerror (errno));
        return NULL;
    }
    close (fd);
    ih_audit_t *self = (ih_audit_t *) calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path)))
        abort ();
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
ih_audit_destroy (ih_audit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_audit_t *self = *self_p;
    pthread_mutex_destroy (&self->lock);
    free (self->path);
    free (self);
    *self_p = NULL;
}

typedef struct {
    uint8_t prev [s_HASH];
    uint64_t seq;
} s_last_t;

static int
s_last_line (const char *line, size_t len, size_t lineno, void *arg)
{
    (void) lineno;
    s_last_t *l = (s_last_t *) arg;
    size_t covered;
    json_t *o = json_loadb (line, len, 0, NULL);
    const char *hash = json_string_value (json_object_get (o, "hash"));
    if (hash && s_split (line, len, &covered) && ih_hex_decode (hash, l->prev, s_HASH) == 0)
        l->seq = (uint64_t) json_integer_value (json_object_get (o, "seq"));
    json_decref (o);
    return 0;
}

static void
s_json_str (ih_buf_t *b, const char *s)
{
    json_t *j = json_string (s ? s : "");
    if (!j)
        j = json_string ("(not UTF-8)");
    char *text = json_dumps (j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    if (!text)
        abort ();
    ih_buf_append (b, text, strlen (text));
    free (text);
    json_decref (j);
}

int
ih_audit_append (ih_audit_t *self, const char *actor, const char *addr, const char *event,
                 const char *detail, ih_err_t *err)
{
    pthread_mutex_lock (&self->lock);
    int rc = -1;
    int fd = open (self->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        ih_err_set (err, "%s: cannot open the audit log: %s", self->path, strerror (errno));
        goto done;
    }
    if (flock (fd, LOCK_EX) != 0) {
        ih_err_set (err, "%s: cannot lock the audit log: %s", self->path, strerror (errno));
        goto done;
    }
    //  The chain's end is read under the lock, so two writers never fork it. (A long log
    //  is read whole each time: the console writes a few lines per user action.)
    s_last_t last = { { 0 }, 0 };
    ih_err_t rerr = { "" };
    if (s_lines (fd, s_last_line, &last, &rerr, self->path) != 0 && !strstr (rerr.msg, "cut")) {
        ih_err_set (err, "%s", rerr.msg);
        goto done;
    }
    char when [IH_TIME_MAX], prev [2 * s_HASH + 1], hash [2 * s_HASH + 1];
    ih_time_format (ih_now_ms (), when);
    ih_hex_encode (last.prev, s_HASH, prev);
    ih_buf_t line;
    ih_buf_init (&line);
    ih_buf_printf (&line, "{\"seq\":%llu,\"time\":\"%s\",\"actor\":", (unsigned long long) last.seq + 1,
                   when);
    s_json_str (&line, actor ? actor : "-");
    ih_buf_append (&line, ",\"addr\":", 8);
    s_json_str (&line, addr ? addr : "-");
    ih_buf_append (&line, ",\"event\":", 9);
    s_json_str (&line, event);
    ih_buf_append (&line, ",\"detail\":", 10);
    s_json_str (&line, detail);
    ih_buf_printf (&line, ",\"prev\":\"%s\"", prev);
    uint8_t h [s_HASH];
    s_hash (last.prev, (const char *) line.data, line.len, h);
    ih_hex_encode (h, s_HASH, hash);
    ih_buf_printf (&line, ",\"hash\":\"%s\"}\n", hash);
    ssize_t n = write (fd, line.data, line.len);
    if (n != (ssize_t) line.len) {
        //  A short write would break the chain: cut it off again.
        if (n > 0) {
            struct stat st;
            if (fstat (fd, &st) == 0)
                (void) !ftruncate (fd, st.st_size - n);
        }
        ih_err_set (err, "%s: cannot write the audit log: %s", self->path,
                    n < 0 ? strerror (errno) : "short write");
    }
    else
    if (fsync (fd) != 0)
        ih_err_set (err, "%s: cannot sync the audit log: %s", self->path, strerror (errno));
    else
        rc = 0;
    ih_buf_free (&line);
done:
    if (fd >= 0)
        close (fd);
    pthread_mutex_unlock (&self->lock);
    return rc;
}

int
ih_audit_appendf (ih_audit_t *self, const char *actor, const char *addr, const char *event,
                  ih_err_t *err, const char *fmt, ...)
{
    char detail [2048];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (detail, sizeof detail, fmt, ap);
    va_end (ap);
    return ih_audit_append (self, actor, addr, event, detail, err);
}

/* ---- the tail --------------------------------------------------------------------------------- */

typedef struct {
    ih_buf_t *lines;            /* ring of the last max lines, each NUL-terminated */
    size_t max, next, count;
} s_tail_t;

static int
s_tail_line (const char *line, size_t len, size_t lineno, void *arg)
{
    (void) lineno;
    s_tail_t *t = (s_tail_t *) arg;
    ih_buf_t *slot = &t->lines [t->next];
    ih_buf_reset (slot);
    ih_buf_append (slot, line, len);
    ih_buf_append (slot, "", 1);
    t->next = (t->next + 1) % t->max;
    if (t->count < t->max)
        t->count++;
    return 0;
}

int
ih_audit_tail (const char *path, size_t max, ih_audit_fn *fn, void *arg, ih_err_t *err)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    flock (fd, LOCK_SH);
    if (max == 0)
        max = 1000000;
    s_tail_t t = { NULL, max < 4096 ? max : 4096, 0, 0 };
    t.lines = (ih_buf_t *) calloc (t.max, sizeof (ih_buf_t));
    if (!t.lines)
        abort ();
    int rc = s_lines (fd, s_tail_line, &t, err, path);
    close (fd);
    size_t first = t.count < t.max ? 0 : t.next;
    for (size_t i = 0; rc == 0 && i < t.count; i++) {
        ih_buf_t *b = &t.lines [(first + i) % t.max];
        json_t *o = json_loadb ((const char *) b->data, b->len - 1, 0, NULL);
        if (!o)
            continue;
        ih_audit_entry_t e = {
            (uint64_t) json_integer_value (json_object_get (o, "seq")),
            json_string_value (json_object_get (o, "time")) ?: "",
            json_string_value (json_object_get (o, "actor")) ?: "",
            json_string_value (json_object_get (o, "addr")) ?: "",
            json_string_value (json_object_get (o, "event")) ?: "",
            json_string_value (json_object_get (o, "detail")) ?: ""
        };
        rc = fn (&e, arg);
        json_decref (o);
    }
    for (size_t i = 0; i < t.max; i++)
        ih_buf_free (&t.lines [i]);
    free (t.lines);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static int
s_t_collect (const ih_audit_entry_t *e, void *arg)
{
    ih_buf_t *b = (ih_buf_t *) arg;
    ih_buf_printf (b, "%llu:%s:%s;", (unsigned long long) e->seq, e->actor, e->event);
    return 0;
}

void
ih_audit_test (bool verbose)
{
    char dir [256], path [300];
    ih_tk_tempdir ("audit", dir, sizeof dir);
    ih_tk_path (path, sizeof path, dir, "audit.log");
    ih_err_t err = { "" };
    uint64_t n = 99;
    IH_CHECK (ih_audit_verify (path, &n, &err) == 0 && n == 0);       //  missing: empty
    ih_audit_t *a = ih_audit_open (path, &err);
    IH_CHECK (a);
    IH_CHECK (ih_audit_append (a, "alice", "127.0.0.1", "login", "from Firefox", &err) == 0);
    IH_CHECK (ih_audit_appendf (a, "alice", "127.0.0.1", "publish", &err, "alert %s \"x\"\n", "id") == 0);
    IH_CHECK (ih_audit_append (a, "bob", "::1", "login-failed", "wrong password", &err) == 0);
    IH_CHECK (ih_audit_verify (path, &n, &err) == 0 && n == 3);
    struct stat st;
    IH_CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    ih_buf_t b;
    ih_buf_init (&b);
    IH_CHECK (ih_audit_tail (path, 2, s_t_collect, &b, &err) == 0);
    ih_buf_append (&b, "", 1);
    IH_CHECK (streq ((char *) b.data, "2:alice:publish;3:bob:login-failed;"));
    ih_buf_free (&b);

    //  Every single flipped byte is detected (a line that no longer parses counts too).
    size_t len = 0;
    char *orig = ih_file_read (path, 1 << 20, &len, &err);
    IH_CHECK (orig && len == (size_t) st.st_size);
    size_t detected = 0;
    for (size_t i = 0; i < len; i++) {
        if (orig [i] == '\n')
            continue;
        char *copy = (char *) malloc (len);
        memcpy (copy, orig, len);
        copy [i] ^= 0x04;
        FILE *f = fopen (path, "wb");
        IH_CHECK (f && fwrite (copy, 1, len, f) == len && fclose (f) == 0);
        if (ih_audit_verify (path, &n, &err) == -1)
            detected++;
        free (copy);
    }
    if (verbose)
        printf ("\n    %zu of %zu flipped bytes detected; e.g. %s", detected, len - 3, err.msg);
    IH_CHECK (detected == len - 3);
    //  A removed line, and swapped lines.
    char *nl1 = strchr (orig, '\n'), *nl2 = strchr (nl1 + 1, '\n');
    FILE *f = fopen (path, "wb");
    IH_CHECK (f && fwrite (orig, 1, (size_t) (nl1 + 1 - orig), f) && fwrite (nl2 + 1, 1, len - (size_t) (nl2 + 1 - orig), f));
    fclose (f);
    IH_CHECK (ih_audit_verify (path, &n, &err) == -1 && strstr (err.msg, ":2: entry 3 follows entry 1"));
    f = fopen (path, "wb");
    IH_CHECK (f && fwrite (orig, 1, len, f) == len);
    fclose (f);
    IH_CHECK (ih_audit_verify (path, &n, &err) == 0 && n == 3);
    //  Appends continue the chain after a reopen.
    ih_audit_destroy (&a);
    a = ih_audit_open (path, &err);
    IH_CHECK (ih_audit_append (a, "carol", "cli", "user-added", "role analyst", &err) == 0);
    IH_CHECK (ih_audit_verify (path, &n, &err) == 0 && n == 4);
    ih_audit_destroy (&a);
    ih_audit_destroy (&a);
    free (orig);
    ih_tk_rmtree (dir);
}
#endif

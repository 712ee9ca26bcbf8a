/*  ih_util.c: errors, buffers, arenas, time, UUIDs, slugs, hex. */
#include "ih_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <sodium.h>

/* ---- errors ----------------------------------------------------------------------- */
int
ih_err_set (ih_err_t *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err->msg, sizeof err->msg, fmt, ap);
        va_end (ap);
    }
    return -1;
}

int
ih_fail (const char *prog, const char *cmd, const char *fmt, ...)
{
    char line [1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    if (cmd)
        fprintf (stderr, "%s: %s: %s\n", prog, cmd, line);
    else
        fprintf (stderr, "%s: %s\n", prog, line);
    return 1;
}

const char *
ih_plural (uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

bool
ih_fmt (char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (out, size, fmt, ap);
    va_end (ap);
    return n >= 0 && (size_t) n < size;
}

void
ih_err_prefix (ih_err_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix [IH_ERR_MAX];
    char old [IH_ERR_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (prefix, sizeof prefix, fmt, ap);
    va_end (ap);
    memcpy (old, err->msg, sizeof old);
    ih_fmt (err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

const char *
ih_rc_name (int rc)
{
    switch (rc) {
        case IH_OK:       return "IH_OK";
        case IH_EFAIL:    return "IH_EFAIL";
        case IH_ENOSPACE: return "IH_ENOSPACE";
        case IH_EMAPFULL: return "IH_EMAPFULL";
        default:          return "IH_E?";
    }
}

const char *
ih_quote (const char *s, size_t len, size_t max, char *out, size_t outsz)
{
    static const char hex [] = "0123456789abcdef";
    if (outsz < 5) {
        if (outsz)
            out [0] = 0;
        return out;
    }
    if (max > outsz - 4)
        max = outsz - 4;
    if (!s)
        len = 0;
    size_t o = 0, i;
    for (i = 0; i < len && s [i]; i++) {
        unsigned char c = (unsigned char) s [i];
        bool plain = c >= 0x20 && c <= 0x7e && c != '\\' && c != '\'';
        if (o + (plain ? 1 : 4) > max)
            break;
        if (plain)
            out [o++] = (char) c;
        else {
            out [o++] = '\\';
            out [o++] = 'x';
            out [o++] = hex [c >> 4];
            out [o++] = hex [c & 15];
        }
    }
    if (i < len && s [i]) {
        memcpy (out + o, "...", 3);
        o += 3;
    }
    out [o] = 0;
    return out;
}

/* ---- buffer ----------------------------------------------------------------------- */
void
ih_buf_init (ih_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
ih_buf_reserve (ih_buf_t *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *data = realloc (b->data, cap);
    if (!data) {
        fprintf (stderr, "ih_buf: out of memory (%zu bytes)\n", cap);
        abort ();
    }
    b->data = data;
    b->cap = cap;
}

void
ih_buf_append (ih_buf_t *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    ih_buf_reserve (b, len);
    memcpy (b->data + b->len, data, len);
    b->len += len;
}

void
ih_buf_reset (ih_buf_t *b)
{
    b->len = 0;
}

void
ih_buf_free (ih_buf_t *b)
{
    free (b->data);
    ih_buf_init (b);
}

void
ih_buf_vprintf (ih_buf_t *b, const char *fmt, va_list ap)
{
    //  Straight into the free room; only an output larger than it is formatted twice.
    if (b->cap - b->len < 128)
        ih_buf_reserve (b, 128);
    size_t room = b->cap - b->len;
    va_list again;
    va_copy (again, ap);
    int n = vsnprintf ((char *) b->data + b->len, room, fmt, ap);
    if (n >= 0 && (size_t) n >= room) {
        ih_buf_reserve (b, (size_t) n + 1);
        vsnprintf ((char *) b->data + b->len, (size_t) n + 1, fmt, again);
    }
    va_end (again);
    if (n < 0) {
        b->data [b->len] = 0;
        return;
    }
    b->len += (size_t) n;
}

void
ih_buf_printf (ih_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    ih_buf_vprintf (b, fmt, ap);
    va_end (ap);
}

/* ---- arena ------------------------------------------------------------------------ */
/*  Under AddressSanitizer every allocation is followed by a poisoned red zone and the
    unused rest of a block stays poisoned, so a write past an allocation is caught even
    though it lands inside the arena's own malloc'd block (which ASan alone cannot see). */
#if defined(__SANITIZE_ADDRESS__)
#   define S_ASAN 1
#elif defined(__has_feature)
#   if __has_feature(address_sanitizer)
#       define S_ASAN 1
#   endif
#endif
#ifdef S_ASAN
#   include <sanitizer/asan_interface.h>
#   define S_REDZONE       16
#   define S_POISON(p, n)   ASAN_POISON_MEMORY_REGION ((p), (n))
#   define S_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION ((p), (n))
#else
#   define S_REDZONE       0
#   define S_POISON(p, n)   ((void) (p), (void) (n))
#   define S_UNPOISON(p, n) ((void) (p), (void) (n))
#endif

struct ih_arena_block {
    ih_arena_block_t *next;
    size_t size;
    size_t used;
    _Alignas (16) unsigned char data [];
};

#define S_ARENA_BLOCK 4096

void
ih_arena_init (ih_arena_t *a)
{
    a->head = NULL;
    a->used_total = 0;
}

void *
ih_arena_alloc (ih_arena_t *a, size_t want)
{
    size_t size = ((want + 7) & ~(size_t) 7) + S_REDZONE;
    if (size == S_REDZONE)
        size += 8;
    ih_arena_block_t *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bsize = size > S_ARENA_BLOCK ? size : S_ARENA_BLOCK;
        ih_arena_block_t *nb = malloc (sizeof *nb + bsize);
        if (!nb) {
            fprintf (stderr, "ih_arena: out of memory (%zu bytes)\n", bsize);
            abort ();
        }
        nb->size = bsize;
        nb->used = 0;
        S_POISON (nb->data, bsize);
        /*  Keep the block with the most room at the head, so that a large one-off
            allocation does not waste the rest of the current block.             */
        if (b && bsize == size) {
            nb->next = b->next;
            b->next = nb;
            nb->used = size;
            a->used_total += size;
            S_UNPOISON (nb->data, want);
            return nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used_total += size;
    S_UNPOISON (p, want);
    return p;
}

char *
ih_arena_strndup (ih_arena_t *a, const char *s, size_t len)
{
    char *p = ih_arena_alloc (a, len + 1);
    if (len)
        memcpy (p, s, len);
    p [len] = 0;
    return p;
}

char *
ih_arena_strdup (ih_arena_t *a, const char *s)
{
    return ih_arena_strndup (a, s, strlen (s));
}

void
ih_arena_reset (ih_arena_t *a)
{
    /*  Keep one standard block, free the rest: a recycled arena does not allocate in
        steady state.                                                               */
    ih_arena_block_t *keep = NULL;
    ih_arena_block_t *b = a->head;
    while (b) {
        ih_arena_block_t *next = b->next;
        if (!keep && b->size == S_ARENA_BLOCK)
            keep = b;
        else {
            S_UNPOISON (b->data, b->size);
            free (b);
        }
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
        S_POISON (keep->data, keep->size);
    }
    a->head = keep;
    a->used_total = 0;
}

void
ih_arena_free (ih_arena_t *a)
{
    ih_arena_block_t *b = a->head;
    while (b) {
        ih_arena_block_t *next = b->next;
        S_UNPOISON (b->data, b->size);
        free (b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

size_t
ih_arena_size (const ih_arena_t *a)
{
    size_t n = 0;
    for (const ih_arena_block_t *b = a->head; b; b = b->next)
        n += sizeof *b + b->size;
    return n;
}

/* ---- time ------------------------------------------------------------------------- */
int64_t
ih_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ih_time_format (int64_t ms, char out [IH_TIME_MAX])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int millis = (int) (ms - secs * 1000);
    time_t t = (time_t) secs;
    struct tm tm;
    if (!gmtime_r (&t, &tm)) {
        snprintf (out, IH_TIME_MAX, "1970-01-01T00:00:00.000Z");
        return;
    }
    ih_fmt (out, IH_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

static int
s_digits (const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) (*p) [i]))
            return -1;
        v = v * 10 + ((*p) [i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/*  Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm. */
static int64_t
s_days_from_civil (int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned) (y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

int
ih_time_parse (const char *s, int64_t *ms, ih_err_t *err)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    if (s_digits (&p, 4, &y) || *p++ != '-' || s_digits (&p, 2, &mo) || *p++ != '-'
    ||  s_digits (&p, 2, &d))
        goto bad;
    int mdays [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)
        mdays [1] = 29;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays [mo - 1])
        goto bad;
    int64_t offset = 0;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            goto bad;
        p++;
        if (s_digits (&p, 2, &h) || *p++ != ':' || s_digits (&p, 2, &mi) || *p++ != ':'
        ||  s_digits (&p, 2, &se))
            goto bad;
        if (h > 23 || mi > 59 || se > 60)
            goto bad;
        if (*p == '.') {
            p++;
            int n = 0;
            while (isdigit ((unsigned char) *p)) {
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
                n++;
                p++;
            }
            if (n == 0 || n > 9)
                goto bad;
            for (; n < 3; n++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z')
            p++;
        else
        if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            int oh, om;
            p++;
            if (s_digits (&p, 2, &oh) || *p++ != ':' || s_digits (&p, 2, &om) || oh > 23 || om > 59)
                goto bad;
            offset = sign * ((int64_t) oh * 3600 + om * 60);
        }
        else
            goto bad;
        if (*p)
            goto bad;
    }
    if (se == 60)
        se = 59;        /*  leap second: clamp */
    int64_t secs = s_days_from_civil (y, (unsigned) mo, (unsigned) d) * 86400
                 + h * 3600 + mi * 60 + se - offset;
    //  The offset may move the instant out of years 0000..9999, which has no RFC 3339
    //  form (ih_time_format could not write it back): refuse it
    if (secs < s_days_from_civil (0, 1, 1) * 86400 || secs >= s_days_from_civil (10000, 1, 1) * 86400)
        goto bad;
    *ms = secs * 1000 + frac;
    return 0;
bad:
    return ih_err_set (err, "invalid time '%.40s': expected RFC 3339 like 2026-11-28T17:25:36Z", s);
}

/* ---- UUID ------------------------------------------------------------------------- */
void
ih_uuid_new (char out [IH_UUID_LEN + 1])
{
    uint8_t b [16];
    if (sodium_init () < 0)
        abort ();
    randombytes_buf (b, sizeof b);
    b [6] = (b [6] & 0x0f) | 0x40;
    b [8] = (b [8] & 0x3f) | 0x80;
    ih_uuid_format (b, out);
}

void
ih_uuid_format (const uint8_t b [16], char out [IH_UUID_LEN + 1])
{
    static const char hex [] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out [o++] = '-';
        out [o++] = hex [b [i] >> 4];
        out [o++] = hex [b [i] & 15];
    }
    out [o] = 0;
}

bool
ih_uuid_valid (const char *s)
{
    if (!s || strlen (s) != IH_UUID_LEN)
        return false;
    for (int i = 0; i < IH_UUID_LEN; i++) {
        char c = s [i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        }
        else
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* ---- misc ------------------------------------------------------------------------- */
bool
ih_slug_valid (const char *s, size_t max)
{
    size_t n = s ? strlen (s) : 0;
    if (n == 0 || n > max)
        return false;
    if (!islower ((unsigned char) s [0]) && !isdigit ((unsigned char) s [0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s [i];
        if (!(islower (c) || isdigit (c) || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

void
ih_hex_encode (const uint8_t *in, size_t len, char *out)
{
    static const char hex [] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out [2 * i] = hex [in [i] >> 4];
        out [2 * i + 1] = hex [in [i] & 15];
    }
    out [2 * len] = 0;
}

static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int
ih_hex_decode (const char *in, uint8_t *out, size_t outlen)
{
    if (strlen (in) != 2 * outlen)
        return -1;
    for (size_t i = 0; i < outlen; i++) {
        int hi = s_hexval (in [2 * i]), lo = s_hexval (in [2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out [i] = (uint8_t) (hi << 4 | lo);
    }
    return 0;
}

bool
ih_parse_u64 (const char *s, uint64_t *out)
{
    if (!s || !*s || strlen (s) > 20)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    unsigned long long v = strtoull (s, NULL, 10);
    if (errno)
        return false;
    *out = v;
    return true;
}

bool
ih_parse_uint (const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull (v, &end, 10);
    if (errno || end == v || *end || v [0] == '-' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

int
ih_since_parse (const char *v, int64_t *ms, ih_err_t *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull (v, &end, 10);
    if (!errno && end != v && v [0] != '-' && end [0] && !end [1] && n < 100000000ULL) {
        int64_t unit = end [0] == 's' ? 1000 : end [0] == 'm' ? 60000 : end [0] == 'h' ? 3600000
                     : end [0] == 'd' ? 86400000 : end [0] == 'w' ? 7 * 86400000LL : 0;
        if (unit) {
            *ms = ih_now_ms () - (int64_t) n * unit;
            return 0;
        }
    }
    if (ih_time_parse (v, ms, err) != 0) {
        ih_err_prefix (err, "expected a time (2026-01-31, 2026-01-31T08:00:00Z) or an age (24h, 7d)");
        return -1;
    }
    return 0;
}

char *
ih_file_read (const char *path, size_t max, size_t *len, ih_err_t *err)
{
    FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!f) {
        ih_err_set (err, "%s: cannot open: %s", path, strerror (errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = (char *) malloc (cap + 1);
    if (!buf)
        abort ();
    while (true) {
        if (n == cap) {
            if (cap >= max) {
                ih_err_set (err, "%s: larger than %zu MiB", path, max >> 20);
                free (buf);
                buf = NULL;
                break;
            }
            cap *= 2;
            buf = (char *) realloc (buf, cap + 1);
            if (!buf)
                abort ();
        }
        size_t got = fread (buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror (f)) {
                ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
                free (buf);
                buf = NULL;
            }
            break;
        }
    }
    if (f != stdin)
        fclose (f);
    if (buf)
        buf [n] = 0;
    *len = n;
    return buf;
}

/* ---- self-test -------------------------------------------------------------------- */
#ifdef IH_SELFTEST
void
ih_util_test (bool verbose)
{
    ih_err_t err;
    IH_CHECK (ih_err_set (&err, "title: too long (%d > %d)", 300, 256) == -1);
    IH_CHECK (strcmp (err.msg, "title: too long (300 > 256)") == 0);
    ih_err_prefix (&err, "iocs[%d]", 3);
    IH_CHECK (strcmp (err.msg, "iocs[3]: title: too long (300 > 256)") == 0);
    IH_CHECK (ih_err_set (NULL, "x") == -1);

    ih_buf_t b;
    ih_buf_init (&b);
    for (int i = 0; i < 1000; i++)
        ih_buf_append (&b, "abc", 3);
    IH_CHECK (b.len == 3000 && memcmp (b.data + 2997, "abc", 3) == 0);
    ih_buf_reset (&b);
    IH_CHECK (b.len == 0 && b.cap >= 3000);
    ih_buf_free (&b);
    ih_buf_free (&b);

    ih_arena_t a;
    ih_arena_init (&a);
    char *s1 = ih_arena_strdup (&a, "hello");
    void *big = ih_arena_alloc (&a, 100000);
    char *s2 = ih_arena_strdup (&a, "world");
    memset (big, 1, 100000);
    IH_CHECK (strcmp (s1, "hello") == 0 && strcmp (s2, "world") == 0);
    for (int i = 0; i < 5000; i++)
        IH_CHECK (ih_arena_alloc (&a, 10) != NULL);
    IH_CHECK (ih_arena_size (&a) > 100000 + 50000);
    ih_arena_reset (&a);
    IH_CHECK (a.used_total == 0);
    IH_CHECK (strcmp (ih_arena_strndup (&a, "abcdef", 3), "abc") == 0);
    ih_arena_free (&a);
    IH_CHECK (ih_arena_size (&a) == 0);
    ih_arena_free (&a);

    char t [IH_TIME_MAX];
    ih_time_format (0, t);
    IH_CHECK (strcmp (t, "1970-01-01T00:00:00.000Z") == 0);
    ih_time_format (1795887936123LL, t);
    IH_CHECK (strcmp (t, "2026-11-28T17:45:36.123Z") == 0);
    int64_t ms;
    IH_CHECK (ih_time_parse ("2026-11-28T17:45:36.123Z", &ms, &err) == 0 && ms == 1795887936123LL);
    IH_CHECK (ih_time_parse ("2026-11-28T18:45:36.123+01:00", &ms, &err) == 0 && ms == 1795887936123LL);
    IH_CHECK (ih_time_parse ("2026-11-28T17:45:36Z", &ms, &err) == 0 && ms == 1795887936000LL);
    IH_CHECK (ih_time_parse ("2026-11-28", &ms, &err) == 0 && ms == 1795824000000LL);
    IH_CHECK (ih_time_parse ("2024-02-29T00:00:00Z", &ms, &err) == 0);
    IH_CHECK (ih_time_parse ("0000-01-01T00:00:00Z", &ms, &err) == 0);
    IH_CHECK (ih_time_parse ("9999-12-31T23:59:59.999Z", &ms, &err) == 0);
    char tback [IH_TIME_MAX];
    ih_time_format (ms, tback);
    IH_CHECK (strcmp (tback, "9999-12-31T23:59:59.999Z") == 0);
    const char *bad [] = { "", "2026", "2026-13-01", "2023-02-29", "2026-11-28T25:00:00Z",
                           "2026-11-28T17:45:36", "2026-11-28T17:45:36Zjunk", "2026-11-28T17:45:36.Z",
                           "abcd-ef-gh",
                           //  offsets moving the instant out of years 0000..9999 (found by fuzzing)
                           "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999-00:01", NULL };
    for (int i = 0; bad [i]; i++) {
        IH_CHECK (ih_time_parse (bad [i], &ms, &err) == -1);
        IH_CHECK (strstr (err.msg, "invalid time") != NULL);
    }

    char u1 [IH_UUID_LEN + 1], u2 [IH_UUID_LEN + 1];
    ih_uuid_new (u1);
    ih_uuid_new (u2);
    IH_CHECK (ih_uuid_valid (u1) && ih_uuid_valid (u2) && strcmp (u1, u2) != 0);
    IH_CHECK (u1 [14] == '4');
    IH_CHECK (!ih_uuid_valid ("not-a-uuid"));
    IH_CHECK (!ih_uuid_valid ("0123456789abcdef0123456789abcdef0123"));
    IH_CHECK (!ih_uuid_valid ("01234567-89AB-4def-8123-456789abcdef"));
    static const uint8_t ub [16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4d, 0xef,
                                     0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
    ih_uuid_format (ub, u1);
    IH_CHECK (streq (u1, "01234567-89ab-4def-8123-456789abcdef"));

    uint64_t u = 0;
    IH_CHECK (ih_parse_u64 ("0", &u) && u == 0);
    IH_CHECK (ih_parse_u64 ("18446744073709551615", &u) && u == UINT64_MAX);
    IH_CHECK (!ih_parse_u64 ("18446744073709551616", &u));
    IH_CHECK (!ih_parse_u64 ("-1", &u) && !ih_parse_u64 (" 1", &u) && !ih_parse_u64 ("", &u));
    IH_CHECK (!ih_parse_u64 (NULL, &u));
    //  ih_parse_uint: strtoull's reading, in a range
    IH_CHECK (ih_parse_uint ("5", 1, 10, &u) && u == 5);
    IH_CHECK (ih_parse_uint ("+7", 1, 10, &u) && u == 7);
    IH_CHECK (ih_parse_uint ("18446744073709551615", 0, UINT64_MAX, &u) && u == UINT64_MAX);
    u = 42;
    IH_CHECK (!ih_parse_uint ("0", 1, 10, &u) && !ih_parse_uint ("11", 1, 10, &u));
    IH_CHECK (!ih_parse_uint ("-1", 0, 10, &u) && !ih_parse_uint ("", 0, 10, &u));
    IH_CHECK (!ih_parse_uint ("3x", 0, 10, &u) && !ih_parse_uint ("x", 0, 10, &u));
    IH_CHECK (!ih_parse_uint ("18446744073709551616", 0, UINT64_MAX, &u) && u == 42);

    int64_t before = ih_now_ms ();
    IH_CHECK (streq (ih_plural (1, "advisory", "advisories"), "advisory"));
    IH_CHECK (streq (ih_plural (0, "IOC", "IOCs"), "IOCs") && streq (ih_plural (2, "IOC", "IOCs"), "IOCs"));
    IH_CHECK (ih_since_parse ("2d", &ms, &err) == 0);
    IH_CHECK (ms <= before - 2 * 86400000LL && ms >= ih_now_ms () - 2 * 86400000LL);
    IH_CHECK (ih_since_parse ("2026-11-28", &ms, &err) == 0 && ms == 1795824000000LL);
    IH_CHECK (ih_since_parse ("7y", &ms, &err) == -1 && strstr (err.msg, "or an age") != NULL);
    IH_CHECK (ih_since_parse ("-2d", &ms, &err) == -1);

    size_t flen = 0;
    IH_CHECK (ih_file_read ("/nonexistent/ih-util-test", 1 << 20, &flen, &err) == NULL);
    IH_CHECK (strstr (err.msg, "cannot open") != NULL);
    char *fdata = ih_file_read ("/proc/self/cmdline", 1 << 20, &flen, &err);
    IH_CHECK (fdata && fdata [flen] == 0);
    free (fdata);
    char fpath [] = "/tmp/ih-util-test-XXXXXX";
    int fd = mkstemp (fpath);
    IH_CHECK (fd >= 0);
    FILE *ff = fdopen (fd, "wb");
    for (int i = 0; i < 70000; i++)
        fputc ('x', ff);
    fclose (ff);
    IH_CHECK (ih_file_read (fpath, 65536, &flen, &err) == NULL && strstr (err.msg, "larger than") != NULL);
    fdata = ih_file_read (fpath, 1 << 20, &flen, &err);
    IH_CHECK (fdata && flen == 70000 && fdata [69999] == 'x' && fdata [70000] == 0);
    free (fdata);
    unlink (fpath);

    IH_CHECK (ih_slug_valid ("bank-a", 64));
    IH_CHECK (ih_slug_valid ("cert.nl", 64));
    IH_CHECK (!ih_slug_valid ("", 64));
    IH_CHECK (!ih_slug_valid ("-bank", 64));
    IH_CHECK (!ih_slug_valid ("Bank", 64));
    IH_CHECK (!ih_slug_valid ("bank a", 64));
    IH_CHECK (!ih_slug_valid ("abcdef", 5));

    uint8_t raw [4] = { 0xde, 0xad, 0xbe, 0xef }, back [4];
    char hex [9];
    ih_hex_encode (raw, 4, hex);
    IH_CHECK (strcmp (hex, "deadbeef") == 0);
    IH_CHECK (ih_hex_decode ("DEADbeef", back, 4) == 0 && memcmp (raw, back, 4) == 0);
    IH_CHECK (ih_hex_decode ("deadbee", back, 4) == -1);
    IH_CHECK (ih_hex_decode ("deadbeeg", back, 4) == -1);

    //  Byte order: each width round-trips, and the bytes are where the format says.
    uint8_t le [8];
    ih_put_le16 (le, 0xbeef);
    IH_CHECK (le [0] == 0xef && le [1] == 0xbe && ih_get_le16 (le) == 0xbeef);
    ih_put_le32 (le, 0xdeadbeef);
    IH_CHECK (le [0] == 0xef && le [3] == 0xde && ih_get_le32 (le) == 0xdeadbeef);
    ih_put_le64 (le, 0x0102030405060708ULL);
    IH_CHECK (le [0] == 8 && le [7] == 1 && ih_get_le64 (le) == 0x0102030405060708ULL);
    ih_put_be64 (le, 0x0102030405060708ULL);
    IH_CHECK (le [0] == 1 && le [7] == 8 && ih_get_be64 (le) == 0x0102030405060708ULL);
    IH_CHECK (ih_get_be (le, 2) == 0x0102 && ih_get_be (le + 6, 2) == 0x0708);

    //  Quoting: escapes, the cut, exact-size and too-small buffers, NULL.
    char q [IH_QUOTE_SIZE (64)];
    IH_CHECK (streq (ih_quote ("it's a\\b\n", SIZE_MAX, 64, q, sizeof q), "it\\x27s a\\x5cb\\x0a"));
    IH_CHECK (streq (ih_quote ("it's a\\b\n", SIZE_MAX, 12, q, sizeof q), "it\\x27s a..."));
    IH_CHECK (streq (ih_quote ("abcdef", 3, 12, q, sizeof q), "abc"));
    IH_CHECK (streq (ih_quote ("0123456789ab", SIZE_MAX, 12, q, sizeof q), "0123456789ab"));
    IH_CHECK (streq (ih_quote ("0123456789abc", SIZE_MAX, 12, q, sizeof q), "0123456789ab..."));
    IH_CHECK (streq (ih_quote (NULL, SIZE_MAX, 12, q, sizeof q), ""));
    IH_CHECK (streq (ih_quote ("\x01\xff", SIZE_MAX, 12, q, sizeof q), "\\x01\\xff"));
    char tiny [4] = "zzz";
    IH_CHECK (*ih_quote ("abc", SIZE_MAX, 12, tiny, sizeof tiny) == 0);

    //  Growing printf: small, large (formatted twice), and the NUL kept after the data.
    ih_buf_init (&b);
    ih_buf_printf (&b, "%d-%s", 42, "x");
    IH_CHECK (b.len == 4 && streq ((char *) b.data, "42-x"));
    ih_buf_printf (&b, "%5000s|", "y");
    IH_CHECK (b.len == 4 + 5001 && b.data [b.len - 1] == '|' && b.data [b.len] == 0);
    ih_buf_free (&b);

    IH_CHECK (streq (ih_rc_name (IH_ENOSPACE), "IH_ENOSPACE") && streq (ih_rc_name (7), "IH_E?"));

#ifdef S_ASAN
    //  Under ASan, a write one byte past an arena allocation stops the process (the red
    //  zone), where it used to land silently in the next allocation.
    fflush (stdout);
    pid_t child = fork ();
    IH_CHECK (child >= 0);
    if (child == 0) {
        int devnull = open ("/dev/null", O_WRONLY);
        dup2 (devnull, 2);      //  ASan's report is the point, not the noise
        ih_arena_t ga;
        ih_arena_init (&ga);
        char *p = (char *) ih_arena_alloc (&ga, 24);
        ih_arena_alloc (&ga, 24);
        ((volatile char *) p) [24] = 1;
        _exit (0);
    }
    int status = 0;
    IH_CHECK (waitpid (child, &status, 0) == child);
    IH_CHECK (!(WIFEXITED (status) && WEXITSTATUS (status) == 0));
    if (verbose)
        printf ("\n    arena red zone: the overflowing child stopped (status %d)", status);
#endif
    (void) verbose;
}
#endif

/*  ih_util.h: small things every Infohub module uses.

    - ih_err_t: a one-line error message. Every function that can fail on bad input
      takes an ih_err_t *err (may be NULL) and fills it with "field: reason".
    - ih_buf_t: a growable byte buffer (owned).
    - ih_arena_t: a chunked arena; pointers into it stay valid until reset/destroy.
    - time and UUID helpers.
    - the return codes every module uses (IH_OK, IH_EFAIL, IH_ENOSPACE, IH_EMAPFULL).
    - byte order: little- and big-endian integers in stored records and keys.
    - ih_quote: untrusted bytes made safe to show in a one-line error message.
    - IH_CHECK: a test assertion that is never compiled out (for self-tests only).
*/
#ifndef IH_UTIL_H
#define IH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The same definition as czmq's (czmq_prelude.h), so either may come first. */
#ifndef streq
#define streq(s1,s2)    (!strcmp ((s1), (s2)))
#endif

/* ---- return codes --------------------------------------------------------------------
    One convention for every module. A function that can fail returns int: IH_OK, or a
    negative code below, and fills its ih_err_t *err with a one-line reason. Functions
    that look something up may also return 1 for "found" (their header says so). Other
    libraries' codes (MDB_*, errno) never leave the module that called the library: it
    turns them into one of these, and names the library's reason in err.

      IH_OK         0  done
      IH_EFAIL     -1  failed; err says why
      IH_ENOSPACE  -2  the disk (or a configured maximum) is full: nothing was written,
                       and the same call succeeds once there is room
      IH_EMAPFULL  -3  an LMDB map is full: nothing of the transaction is kept; the
                       writer grows the map (no transaction open) and redoes it. Only
                       between a writer's modules (journal, store); never returned to
                       a program. */
#define IH_OK           0
#define IH_EFAIL        (-1)
#define IH_ENOSPACE     (-2)
#define IH_EMAPFULL     (-3)

/*  "IH_OK", "IH_EFAIL", … or "IH_E?" for anything else. */
const char *ih_rc_name(int rc);

#define IH_ERR_MAX 256

typedef struct {
    char msg[IH_ERR_MAX];
} ih_err_t;

/*  Sets err (if not NULL) to the printf-formatted message; always returns -1 so that
    callers can write `return ih_err_set(err, "title: too long (%zu > %d)", n, max);`. */
int ih_err_set(ih_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Prints the one-line error "prog: cmd: message" (or "prog: message" when cmd is NULL)
    on stderr and returns 1, the exit status of a failed command. */
int ih_fail(const char *prog, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*  snprintf into a fixed buffer where a cut is intended (messages, labels): the text is
    cut to fit (always NUL-terminated). Returns true when it all fit. Where a cut would
    be wrong (a path), check the result. */
bool ih_fmt(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*  The noun for a count: one when n is 1, else many (a string the caller keeps):
    printf ("%" PRIu64 " %s", n, ih_plural (n, "report", "reports")) prints "1 report",
    "0 reports", "3 reports"; the caller spells irregular plurals ("advisory",
    "advisories"). Words people read never say "1 IOCs". */
const char *ih_plural(uint64_t n, const char *one, const char *many);

/*  Prefixes err->msg with "prefix: " (for nesting, e.g. "iocs[3]: value: ..."). */
void ih_err_prefix(ih_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Writes a printable one-line form of untrusted bytes s [0..len) into out, for an error
    message or a log line: bytes outside 0x20..0x7e, the backslash and the single quote
    become \xNN; when more than max output characters would be needed the text is cut
    and "..." appended. len may be SIZE_MAX for a NUL-terminated s (NULL shows as "").
    out must hold IH_QUOTE_SIZE(max) bytes (max is clamped to fit outsz otherwise).
    Returns out. */
#define IH_QUOTE_SIZE(max)  ((max) + 4)
/*  How much of a value error messages show: char q [IH_QUOTE_BUF], max IH_QUOTE_SHOW. */
#define IH_QUOTE_SHOW       64
#define IH_QUOTE_BUF        IH_QUOTE_SIZE (IH_QUOTE_SHOW)
const char *ih_quote(const char *s, size_t len, size_t max, char *out, size_t outsz);

/*  Self-test assertion, active whatever NDEBUG says. Prints file:line and aborts. */
#define IH_CHECK(cond) \
    do { if (!(cond)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

/* ---- growable buffer ---------------------------------------------------------- */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} ih_buf_t;

void ih_buf_init(ih_buf_t *b);
/*  Ensures room for `extra` more bytes. Aborts on out-of-memory (like czmq). */
void ih_buf_reserve(ih_buf_t *b, size_t extra);
void ih_buf_append(ih_buf_t *b, const void *data, size_t len);
void ih_buf_reset(ih_buf_t *b);   /* len = 0, keeps the memory */
void ih_buf_free(ih_buf_t *b);    /* frees, safe twice */
/*  Appends printf output (grows as needed; no NUL counted in len, but one is kept
    after the data, so (char *) b->data is a C string). */
void ih_buf_printf(ih_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ih_buf_vprintf(ih_buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* ---- byte order ----------------------------------------------------------------------
    Integers inside stored records are little-endian; integers in LMDB keys are
    big-endian, so that keys sort in numeric order. p need not be aligned. */
static inline void ih_put_le16(uint8_t *p, uint16_t v)
{ p [0] = (uint8_t) v; p [1] = (uint8_t) (v >> 8); }
static inline uint16_t ih_get_le16(const uint8_t *p)
{ return (uint16_t) (p [0] | (p [1] << 8)); }
static inline void ih_put_le32(uint8_t *p, uint32_t v)
{ for (int i = 0; i < 4; i++) p [i] = (uint8_t) (v >> (8 * i)); }
static inline uint32_t ih_get_le32(const uint8_t *p)
{ uint32_t v = 0; for (int i = 3; i >= 0; i--) v = (v << 8) | p [i]; return v; }
static inline void ih_put_le64(uint8_t *p, uint64_t v)
{ for (int i = 0; i < 8; i++) p [i] = (uint8_t) (v >> (8 * i)); }
static inline uint64_t ih_get_le64(const uint8_t *p)
{ uint64_t v = 0; for (int i = 7; i >= 0; i--) v = (v << 8) | p [i]; return v; }
static inline void ih_put_be64(uint8_t *p, uint64_t v)
{ for (int i = 0; i < 8; i++) p [i] = (uint8_t) (v >> (56 - 8 * i)); }
/*  n (1..8) bytes, big-endian: msgpack lengths and LMDB keys. */
static inline uint64_t ih_get_be(const uint8_t *p, int n)
{ uint64_t v = 0; for (int i = 0; i < n; i++) v = (v << 8) | p [i]; return v; }
static inline uint64_t ih_get_be64(const uint8_t *p)
{ return ih_get_be (p, 8); }

/* ---- arena ------------------------------------------------------------------- */
typedef struct ih_arena_block ih_arena_block_t;
typedef struct {
    ih_arena_block_t *head;
    size_t used_total;
} ih_arena_t;

void ih_arena_init(ih_arena_t *a);
/*  Returns `size` bytes aligned to 8, valid until reset/free. Aborts on OOM. */
void *ih_arena_alloc(ih_arena_t *a, size_t size);
/*  Copies len bytes and appends a NUL. */
char *ih_arena_strndup(ih_arena_t *a, const char *s, size_t len);
char *ih_arena_strdup(ih_arena_t *a, const char *s);
/*  Frees all but the first block, so a reused arena does not allocate in steady state. */
void ih_arena_reset(ih_arena_t *a);
void ih_arena_free(ih_arena_t *a);
/*  The bytes the arena holds from the heap (its blocks, headers included): what a cache
    of decoded messages counts against its bound. */
size_t ih_arena_size(const ih_arena_t *a);

/* ---- time -------------------------------------------------------------------- */
/*  Milliseconds since the Unix epoch, UTC. */
int64_t ih_now_ms(void);
/*  Formats ms as RFC 3339 UTC with milliseconds: "2026-11-28T17:25:36.123Z".
    out must hold IH_TIME_MAX bytes. */
#define IH_TIME_MAX 32
void ih_time_format(int64_t ms, char out[IH_TIME_MAX]);
/*  Parses RFC 3339 ("…Z" or "…+hh:mm", optional fraction, or a bare "YYYY-MM-DD")
    into ms since the epoch. Returns 0, or -1 with err set. */
int ih_time_parse(const char *s, int64_t *ms, ih_err_t *err);

/* ---- UUID -------------------------------------------------------------------- */
#define IH_UUID_LEN 36
/*  Writes a random (version 4) UUID, lower case, NUL-terminated. */
void ih_uuid_new(char out[IH_UUID_LEN + 1]);
/*  Writes 16 bytes as a UUID, lower case 8-4-4-4-12 hex, NUL-terminated. */
void ih_uuid_format(const uint8_t b[16], char out[IH_UUID_LEN + 1]);
/*  True when s is 36 chars of lower-case 8-4-4-4-12 hex. */
bool ih_uuid_valid(const char *s);

/* ---- misc -------------------------------------------------------------------- */
/*  True for a slug: 1..max chars of [a-z0-9], '-', '_', '.', starting alphanumeric. */
bool ih_slug_valid(const char *s, size_t max);
/*  Hex encode len bytes into out (2*len+1 bytes). */
void ih_hex_encode(const uint8_t *in, size_t len, char *out);
/*  Decodes exactly outlen bytes from a 2*outlen-char hex string; -1 if malformed. */
int ih_hex_decode(const char *in, uint8_t *out, size_t outlen);

/*  Parses a plain decimal uint64 (digits only, no sign or spaces). False on anything
    else, including NULL, "" and overflow. */
bool ih_parse_u64(const char *s, uint64_t *out);
/*  Parses a decimal number in min..max as strtoull reads it (leading blanks and a '+'
    pass; a '-' first does not, one after blanks wraps as strtoull's does), for what
    people type: command-line values and configuration keys (ih_config_uint). False when
    v is not such a number (out is left alone). Wire and file data want the strict
    ih_parse_u64. */
bool ih_parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out);
/*  A time (2026-01-31, RFC 3339) or an age before now (90s, 30m, 24h, 7d, 2w) into ms since
    the epoch. Returns 0, or -1 with err set. */
int ih_since_parse(const char *v, int64_t *ms, ih_err_t *err);
/*  Reads a whole file (or stdin for "-") into a malloc'd, NUL-terminated buffer of *len
    bytes (the NUL not counted). NULL with err when it cannot be opened or read, or is
    larger than max bytes. Aborts on out-of-memory. */
char *ih_file_read(const char *path, size_t max, size_t *len, ih_err_t *err);

void ih_util_test(bool verbose);

#endif

/*  ih_ioc.c: validation and normalisation of indicators of compromise.

    Every value goes through the same three steps: refang (undo the "[.]"/"hxxp"
    defanging that analysts apply so that indicators are not clickable), validate per
    type, and write the normal form documented in ih_ioc.h. The normal form is a fixed
    point: normalising a normalised value gives it back unchanged, which is what
    ih_msg_validate relies on to check values on the wire.

    Validators work on (pointer, length) pairs and explain a failure in a short reason
    ("expected 4 octets, got 3"); ih_ioc_normalise wraps that reason into the one-line
    error "invalid ipv4 address '1.2.3': expected 4 octets, got 3".
*/
#include "ih_ioc.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define S_WHY_MAX   160     /* one validator's reason */
#define S_SHOW_MAX  IH_QUOTE_BUF
#define S_SHOW_LEN  IH_QUOTE_SHOW

const char *const ih_ioc_type_desc [IH_IOC_COUNT] = {
    "ipv4 address", "ipv6 address", "cidr", "domain", "url", "email address",
    "md5 hash", "sha1 hash", "sha256 hash", "filename", "cve id", "asn"
};

/* ---- small helpers --------------------------------------------------------------- */
static bool s_is_digit (int c) { return c >= '0' && c <= '9'; }
static bool s_is_alpha (int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool s_is_space (int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int s_lower (int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int s_upper (int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

static int
s_hexval (int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*  Formats a reason into why; always returns -1. */
static int s_why (char *why, size_t whysz, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static int
s_why (char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (why, whysz, fmt, ap);
    va_end (ap);
    return -1;
}

/*  Prefixes why with "prefix: " (for "host: ..." inside a url, "domain: ..." in email). */
static void
s_why_prefix (char *why, size_t whysz, const char *prefix)
{
    char old [S_WHY_MAX];
    snprintf (old, sizeof old, "%s", why);
    snprintf (why, whysz, "%s: %s", prefix, old);
}

/*  Checks UTF-8 well-formedness (no overlongs, surrogates or > U+10FFFF) and the absence
    of control characters (C0, DEL, C1) and, when no_space, of spaces. Returns 0, or -1
    with why set. */
static int
s_check_text (const char *s, size_t len, bool no_space, char *why, size_t whysz)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p [i];
        if (c < 0x80) {
            if (c == ' ' && no_space)
                return s_why (why, whysz, "contains a space at position %zu", i + 1);
            if (c < 0x20 || c == 0x7f)
                return s_why (why, whysz, "contains control character \\x%02x at position %zu", c, i + 1);
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf)      { n = 2; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; min = 0x10000; }
        else
            return s_why (why, whysz, "invalid UTF-8 at position %zu", i + 1);
        if (len - i < n)
            return s_why (why, whysz, "invalid UTF-8 at position %zu", i + 1);
        for (size_t k = 1; k < n; k++) {
            if ((p [i + k] & 0xc0) != 0x80)
                return s_why (why, whysz, "invalid UTF-8 at position %zu", i + 1);
            cp = (cp << 6) | (p [i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return s_why (why, whysz, "invalid UTF-8 at position %zu", i + 1);
        if (cp >= 0x80 && cp <= 0x9f)
            return s_why (why, whysz, "contains control character U+%04X at position %zu", cp, i + 1);
        i += n;
    }
    return 0;
}

/* ---- refanging --------------------------------------------------------------------- */
/*  Every token ends with a closing bracket and no replacement contains one, which makes
    the single pass below reach a fixed point (see ih_ioc_refang). */
static const struct {
    const char *from;
    const char *to;
} s_tokens [] = {
    { "[.]", "." }, { "(.)", "." }, { "{.}", "." }, { "[dot]", "." }, { "(dot)", "." },
    { "[@]", "@" }, { "[at]", "@" }, { "(at)", "@" },
    { "[:]", ":" }, { "[://]", "://" },
    { NULL, NULL }
};

/*  The output is built like a stack: after each byte is appended, if the output now ends
    with a token, that token is replaced. Nested defanging ("[[.]]") therefore collapses
    fully, and the result never contains a token, so refanging twice changes nothing.
    out must hold len + 1 bytes (the stack never outgrows the input consumed so far) and
    may be s itself. Returns the length. */
static size_t
s_refang_into (const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s [i];
        out [o++] = c;
        if (c != ']' && c != ')' && c != '}')
            continue;
        for (int t = 0; s_tokens [t].from; t++) {
            size_t fl = strlen (s_tokens [t].from);
            if (fl <= o && strncasecmp (out + o - fl, s_tokens [t].from, fl) == 0) {
                size_t tl = strlen (s_tokens [t].to);
                o -= fl;
                memcpy (out + o, s_tokens [t].to, tl);
                o += tl;
                break;
            }
        }
    }
    out [o] = 0;

    /*  "hxxp://", "hXXps://" at the start: same length, so fixed in place. Only the
        scheme position is touched, so a path that mentions "hxxp" is left alone. */
    if (o >= 4 && s_lower (out [0]) == 'h' && s_lower (out [1]) == 'x' && s_lower (out [2]) == 'x'
    &&  s_lower (out [3]) == 'p') {
        size_t k = (o >= 5 && s_lower (out [4]) == 's') ? 5 : 4;
        if (o >= k + 3 && memcmp (out + k, "://", 3) == 0)
            memcpy (out, k == 5 ? "https" : "http", k);
    }
    return o;
}

/*  The result is never longer than the trimmed input, but while a token is being
    collapsed the work area can be (up to the whole input for deeply nested tokens), so
    a small `out` gets a scratch buffer: the answer is exactly "does the result fit". */
int
ih_ioc_refang (const char *in, char *out, size_t outsz)
{
    if (!in || !out || outsz == 0)
        return -1;
    size_t len = strlen (in);
    const char *start = in, *end = in + len;
    while (start < end && s_is_space ((unsigned char) *start))
        start++;
    while (end > start && s_is_space ((unsigned char) end [-1]))
        end--;
    size_t tl = (size_t) (end - start);
    if (tl > INT_MAX - 1)
        return -1;
    if (tl + 1 <= outsz) {
        memmove (out, start, tl);       /* in == out is allowed */
        return (int) s_refang_into (out, tl, out);
    }
    char *scratch = malloc (tl + 1);
    if (!scratch)
        abort ();
    memcpy (scratch, start, tl);
    size_t o = s_refang_into (scratch, tl, scratch);
    int rc = -1;
    if (o + 1 <= outsz) {
        memcpy (out, scratch, o + 1);
        rc = (int) o;
    }
    free (scratch);
    return rc;
}

/* ---- addresses ------------------------------------------------------------------- */
/*  Strict dotted quad: 4 decimal octets 0..255, no leading zeros, nothing else. */
static int
s_ipv4_parse (const char *s, size_t len, uint8_t a [4], char *why, size_t whysz)
{
    if (len == 0)
        return s_why (why, whysz, "empty");
    size_t parts = 1;
    for (size_t i = 0; i < len; i++)
        if (s [i] == '.')
            parts++;
    if (parts != 4)
        return s_why (why, whysz, "expected 4 octets, got %zu", parts);
    size_t i = 0;
    for (int n = 0; n < 4; n++) {
        size_t b = i;
        while (i < len && s [i] != '.')
            i++;
        size_t ol = i - b;
        if (ol == 0)
            return s_why (why, whysz, "octet %d is empty", n + 1);
        for (size_t k = b; k < i; k++)
            if (!s_is_digit ((unsigned char) s [k]))
                return s_why (why, whysz, "octet %d is not a decimal number", n + 1);
        if (ol > 1 && s [b] == '0')
            return s_why (why, whysz, "octet %d has a leading zero", n + 1);
        unsigned v = 0;
        for (size_t k = b; k < i && v <= 255; k++)
            v = v * 10 + (unsigned) (s [k] - '0');
        if (v > 255)
            return s_why (why, whysz, "octet %d is out of range (0..255)", n + 1);
        a [n] = (uint8_t) v;
        i++;    /* the dot */
    }
    return 0;
}

/*  IPv6 text via inet_pton; zone ids ("%eth0") are rejected. */
static int
s_ipv6_parse (const char *s, size_t len, uint8_t a [16], char *why, size_t whysz)
{
    if (len == 0)
        return s_why (why, whysz, "empty");
    const char *pct = memchr (s, '%', len);
    if (pct)
        return s_why (why, whysz, "zone id not allowed");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s [i];
        if (s_hexval (c) < 0 && c != ':' && c != '.') {
            char ch [S_SHOW_MAX];
            ih_quote ((const char *) &s [i], 1, 8, ch, sizeof ch);
            return s_why (why, whysz, "unexpected character '%s' at position %zu", ch, i + 1);
        }
    }
    if (!memchr (s, ':', len))
        return s_why (why, whysz, "not an IPv6 address (no ':')");
    char buf [INET6_ADDRSTRLEN];
    if (len >= sizeof buf)
        return s_why (why, whysz, "too long for an IPv6 address");
    memcpy (buf, s, len);
    buf [len] = 0;
    if (inet_pton (AF_INET6, buf, a) != 1)
        return s_why (why, whysz, "not a valid IPv6 address");
    return 0;
}

/*  Prefix length: decimal, no leading zeros, 0..max. */
static int
s_prefix_parse (const char *s, size_t len, int max, int *prefix, char *why, size_t whysz)
{
    if (len == 0)
        return s_why (why, whysz, "empty prefix length after '/'");
    for (size_t i = 0; i < len; i++)
        if (!s_is_digit ((unsigned char) s [i]))
            return s_why (why, whysz, "prefix length is not a decimal number");
    if (len > 1 && s [0] == '0')
        return s_why (why, whysz, "prefix length has a leading zero");
    if (len > 3)
        return s_why (why, whysz, "prefix length out of range (0..%d)", max);
    int v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (s [i] - '0');
    if (v > max)
        return s_why (why, whysz, "prefix length %d out of range (0..%d)", v, max);
    *prefix = v;
    return 0;
}

/*  Parses a cidr into family, address and prefix, rejecting host bits. */
static int
s_cidr_parse (const char *s, size_t len, int *family, uint8_t a [16], int *prefix,
              char *why, size_t whysz)
{
    const char *slash = memchr (s, '/', len);
    if (!slash)
        return s_why (why, whysz, "missing '/prefix' (a single address is an ipv4 or ipv6 IOC)");
    size_t al = (size_t) (slash - s);
    const char *ps = slash + 1;
    size_t pl = len - al - 1;
    if (memchr (ps, '/', pl))
        return s_why (why, whysz, "more than one '/'");
    memset (a, 0, 16);
    int fam, max;
    if (memchr (s, ':', al)) {
        fam = 6;
        max = 128;
        if (s_ipv6_parse (s, al, a, why, whysz))
            return -1;
    }
    else {
        fam = 4;
        max = 32;
        if (s_ipv4_parse (s, al, a, why, whysz))
            return -1;
    }
    int p = 0;
    if (s_prefix_parse (ps, pl, max, &p, why, whysz))
        return -1;
    /*  Host bits: every bit at or after position p must be zero. */
    uint8_t net [16];
    memcpy (net, a, 16);
    bool host = false;
    for (int bit = p; bit < max; bit++) {
        uint8_t m = (uint8_t) (0x80u >> (bit & 7));
        if (net [bit >> 3] & m) {
            host = true;
            net [bit >> 3] &= (uint8_t) ~m;
        }
    }
    if (host) {
        char txt [INET6_ADDRSTRLEN];
        if (!inet_ntop (fam == 4 ? AF_INET : AF_INET6, net, txt, sizeof txt))
            txt [0] = 0;
        return s_why (why, whysz, "host bits set (the network is %s/%d)", txt, p);
    }
    *family = fam;
    *prefix = p;
    return 0;
}

/* ---- names --------------------------------------------------------------------- */
/*  Domain rules of ih_ioc.h. Writes the normal form (lower case, no trailing dot) into
    out, which must hold len + 1 bytes; *outlen gets its length. */
static int
s_domain_norm (const char *s, size_t len, char *out, size_t *outlen, char *why, size_t whysz)
{
    if (len == 0)
        return s_why (why, whysz, "empty");
    if (s [len - 1] == '.')
        len--;                          /* the root: "example.com." */
    if (len == 0)
        return s_why (why, whysz, "empty label");
    if (len > 253)
        return s_why (why, whysz, "longer than 253 characters (%zu)", len);
    size_t labels = 0, i = 0, last = 0;
    while (i <= len) {
        size_t b = i;
        while (i < len && s [i] != '.')
            i++;
        size_t ll = i - b;
        char lab [S_SHOW_MAX];
        ih_quote (s + b, ll, 24, lab, sizeof lab);
        if (ll == 0)
            return s_why (why, whysz, "empty label");
        if (ll > 63)
            return s_why (why, whysz, "label '%s' longer than 63 characters (%zu)", lab, ll);
        for (size_t k = b; k < i; k++) {
            unsigned char c = (unsigned char) s [k];
            if (c >= 0x80)
                return s_why (why, whysz, "non-ASCII character at position %zu "
                              "(use the IDNA A-label, xn--...)", k + 1);
            if (!s_is_alpha (c) && !s_is_digit (c) && c != '-' && c != '_') {
                char ch [S_SHOW_MAX];
                ih_quote ((const char *) &s [k], 1, 8, ch, sizeof ch);
                return s_why (why, whysz, "invalid character '%s' at position %zu", ch, k + 1);
            }
            out [k] = (char) s_lower (c);
        }
        if (s [b] == '-')
            return s_why (why, whysz, "label '%s' starts with '-'", lab);
        if (s [i - 1] == '-')
            return s_why (why, whysz, "label '%s' ends with '-'", lab);
        labels++;
        last = b;
        if (i < len)
            out [i] = '.';
        i++;
    }
    if (labels < 2)
        return s_why (why, whysz, "needs at least two labels (like example.com)");
    bool digits = true;
    for (size_t k = last; k < len; k++)
        if (!s_is_digit ((unsigned char) s [k]))
            digits = false;
    if (digits)
        return s_why (why, whysz, "top-level label is all digits (an IP address?)");
    out [len] = 0;
    *outlen = len;
    return 0;
}

/*  RFC 5322 atext, plus '.', for the local part of an email address. */
static bool
s_is_atext (int c)
{
    return s_is_alpha (c) || s_is_digit (c) || (c && strchr ("!#$%&'*+-/=?^_`{|}~.", c));
}

/* ---- per-type normalisers ---------------------------------------------------------- */
/*  Each writes the normal form of s [0..len) into out (outsz bytes) or sets why. */
typedef int (s_norm_fn) (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz);

static int
s_copy_out (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len + 1 > outsz)
        return s_why (why, whysz, "value too long");
    memcpy (out, s, len);
    out [len] = 0;
    return 0;
}

static int
s_norm_ipv4 (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    uint8_t a [4];
    if (s_ipv4_parse (s, len, a, why, whysz))
        return -1;
    return s_copy_out (s, len, out, outsz, why, whysz);
}

static int
s_norm_ipv6 (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    uint8_t a [16];
    if (len >= 2 && s [0] == '[' && s [len - 1] == ']') {
        s++;                            /* "[2001:db8::1]" as written in URLs */
        len -= 2;
    }
    if (s_ipv6_parse (s, len, a, why, whysz))
        return -1;
    char txt [INET6_ADDRSTRLEN];
    if (!inet_ntop (AF_INET6, a, txt, sizeof txt))
        return s_why (why, whysz, "not a valid IPv6 address");
    return s_copy_out (txt, strlen (txt), out, outsz, why, whysz);
}

static int
s_norm_cidr (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    int fam, prefix;
    uint8_t a [16];
    if (s_cidr_parse (s, len, &fam, a, &prefix, why, whysz))
        return -1;
    char txt [INET6_ADDRSTRLEN];
    if (!inet_ntop (fam == 4 ? AF_INET : AF_INET6, a, txt, sizeof txt))
        return s_why (why, whysz, "not a valid address");
    char res [INET6_ADDRSTRLEN + 8];
    int n = snprintf (res, sizeof res, "%s/%d", txt, prefix);
    return s_copy_out (res, (size_t) n, out, outsz, why, whysz);
}

static int
s_norm_domain (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len + 1 > outsz)
        return s_why (why, whysz, "value too long");
    size_t n;
    return s_domain_norm (s, len, out, &n, why, whysz);
}

/*  scheme://[userinfo@]host[:port][/path][?query][#fragment] */
static int
s_norm_url (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len > IH_MAX_IOC_VALUE)
        return s_why (why, whysz, "longer than %d bytes (%zu)", IH_MAX_IOC_VALUE, len);
    if (len + 1 > outsz)
        return s_why (why, whysz, "value too long");
    if (s_check_text (s, len, true, why, whysz))
        return -1;
    const char *sep = memmem (s, len, "://", 3);
    if (!sep)
        return s_why (why, whysz, "missing 'scheme://' (http, https, ftp or ftps)");
    size_t sl = (size_t) (sep - s);
    static const char *schemes [] = { "http", "https", "ftp", "ftps", NULL };
    bool known = false;
    for (int k = 0; schemes [k]; k++)
        if (strlen (schemes [k]) == sl && strncasecmp (s, schemes [k], sl) == 0)
            known = true;
    if (!known) {
        char sch [S_SHOW_MAX];
        ih_quote (s, sl, 24, sch, sizeof sch);
        return s_why (why, whysz, "unsupported scheme '%s' (expected http, https, ftp or ftps)", sch);
    }
    size_t o = 0;
    for (size_t k = 0; k < sl; k++)
        out [o++] = (char) s_lower ((unsigned char) s [k]);
    memcpy (out + o, "://", 3);
    o += 3;

    /*  Authority: up to the first '/', '?' or '#'. */
    size_t ab = sl + 3, ae = ab;
    while (ae < len && s [ae] != '/' && s [ae] != '?' && s [ae] != '#')
        ae++;
    /*  Userinfo: up to the last '@' of the authority, kept as given. */
    size_t hb = ab;
    for (size_t k = ab; k < ae; k++)
        if (s [k] == '@')
            hb = k + 1;
    memcpy (out + o, s + ab, hb - ab);
    o += hb - ab;
    if (hb == ae)
        return s_why (why, whysz, "missing host");

    size_t he, pb;                      /* host end, port start (0 = none) */
    if (s [hb] == '[') {
        const char *close = memchr (s + hb, ']', ae - hb);
        if (!close)
            return s_why (why, whysz, "host: unterminated '['");
        he = (size_t) (close - s) + 1;
        uint8_t a [16];
        if (s_ipv6_parse (s + hb + 1, he - hb - 2, a, why, whysz)) {
            s_why_prefix (why, whysz, "host");
            return -1;
        }
        for (size_t k = hb; k < he; k++)
            out [o++] = (char) s_lower ((unsigned char) s [k]);
        if (he < ae && s [he] != ':')
            return s_why (why, whysz, "host: unexpected text after ']'");
    }
    else {
        he = hb;
        while (he < ae && s [he] != ':')
            he++;
        bool dotted = true;
        for (size_t k = hb; k < he; k++)
            if (!s_is_digit ((unsigned char) s [k]) && s [k] != '.')
                dotted = false;
        if (he == hb)
            return s_why (why, whysz, "missing host");
        if (dotted) {
            uint8_t a [4];
            if (s_ipv4_parse (s + hb, he - hb, a, why, whysz)) {
                s_why_prefix (why, whysz, "host");
                return -1;
            }
            memcpy (out + o, s + hb, he - hb);
            o += he - hb;
        }
        else {
            size_t n;
            if (s_domain_norm (s + hb, he - hb, out + o, &n, why, whysz)) {
                s_why_prefix (why, whysz, "host");
                return -1;
            }
            o += n;
        }
    }
    pb = he < ae ? he + 1 : 0;
    if (pb) {
        size_t pl = ae - pb;
        if (pl == 0)
            return s_why (why, whysz, "empty port after ':'");
        unsigned long port = 0;
        for (size_t k = pb; k < ae; k++) {
            if (!s_is_digit ((unsigned char) s [k]))
                return s_why (why, whysz, "port is not a decimal number");
            if (port <= 65535)
                port = port * 10 + (unsigned long) (s [k] - '0');
        }
        if (port < 1 || port > 65535)
            return s_why (why, whysz, "port out of range (1..65535)");
    }
    /*  Port, path, query and fragment as given. */
    memcpy (out + o, s + he, len - he);
    o += len - he;
    out [o] = 0;
    return 0;
}

static int
s_norm_email (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len + 1 > outsz)
        return s_why (why, whysz, "value too long");
    const char *at = memchr (s, '@', len);
    if (!at)
        return s_why (why, whysz, "missing '@'");
    if (memchr (at + 1, '@', len - (size_t) (at - s) - 1))
        return s_why (why, whysz, "more than one '@'");
    size_t ll = (size_t) (at - s);
    if (ll == 0)
        return s_why (why, whysz, "empty local part");
    if (ll > 64)
        return s_why (why, whysz, "local part longer than 64 characters (%zu)", ll);
    for (size_t k = 0; k < ll; k++)
        if (!s_is_atext ((unsigned char) s [k])) {
            char ch [S_SHOW_MAX];
            ih_quote (s + k, 1, 8, ch, sizeof ch);
            return s_why (why, whysz, "invalid character '%s' in local part", ch);
        }
    memcpy (out, s, ll + 1);
    size_t n;
    if (s_domain_norm (at + 1, len - ll - 1, out + ll + 1, &n, why, whysz)) {
        s_why_prefix (why, whysz, "domain");
        return -1;
    }
    return 0;
}

static int
s_norm_hash (const char *s, size_t len, size_t want, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len != want)
        return s_why (why, whysz, "expected %zu hex digits, got %zu", want, len);
    for (size_t k = 0; k < len; k++)
        if (s_hexval ((unsigned char) s [k]) < 0) {
            char ch [S_SHOW_MAX];
            ih_quote (s + k, 1, 8, ch, sizeof ch);
            return s_why (why, whysz, "non-hex character '%s' at position %zu", ch, k + 1);
        }
    if (len + 1 > outsz)
        return s_why (why, whysz, "value too long");
    for (size_t k = 0; k < len; k++)
        out [k] = (char) s_lower ((unsigned char) s [k]);
    out [len] = 0;
    return 0;
}

static int
s_norm_md5 (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    return s_norm_hash (s, len, 32, out, outsz, why, whysz);
}

static int
s_norm_sha1 (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    return s_norm_hash (s, len, 40, out, outsz, why, whysz);
}

static int
s_norm_sha256 (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    return s_norm_hash (s, len, 64, out, outsz, why, whysz);
}

static int
s_norm_filename (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len > 255)
        return s_why (why, whysz, "longer than 255 bytes (%zu)", len);
    if (memchr (s, '/', len))
        return s_why (why, whysz, "contains '/' (give the file name, not a path)");
    if (s_check_text (s, len, false, why, whysz))
        return -1;
    if ((len == 1 && s [0] == '.') || (len == 2 && s [0] == '.' && s [1] == '.'))
        return s_why (why, whysz, "'.' and '..' are not file names");
    return s_copy_out (s, len, out, outsz, why, whysz);
}

static int
s_norm_cve (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    if (len < 4 || strncasecmp (s, "CVE-", 4) != 0)
        return s_why (why, whysz, "expected CVE-YYYY-NNNN");
    size_t i = 4;
    while (i < len && s_is_digit ((unsigned char) s [i]))
        i++;
    if (i - 4 != 4 || i >= len || s [i] != '-')
        return s_why (why, whysz, "expected CVE-YYYY-NNNN (4-digit year)");
    int year = (s [4] - '0') * 1000 + (s [5] - '0') * 100 + (s [6] - '0') * 10 + (s [7] - '0');
    if (year < 1999 || year > 2100)
        return s_why (why, whysz, "year %d out of range (1999..2100)", year);
    size_t nb = i + 1;
    for (size_t k = nb; k < len; k++)
        if (!s_is_digit ((unsigned char) s [k]))
            return s_why (why, whysz, "sequence number is not a decimal number");
    size_t nl = len - nb;
    if (nl < 4 || nl > 7)
        return s_why (why, whysz, "sequence number must have 4 to 7 digits, got %zu", nl);
    if (nl > 4 && s [nb] == '0')
        return s_why (why, whysz, "sequence number of more than 4 digits has a leading zero");
    if (len + 1 > outsz)
        return s_why (why, whysz, "value too long");
    for (size_t k = 0; k < len; k++)
        out [k] = (char) s_upper ((unsigned char) s [k]);
    out [len] = 0;
    return 0;
}

static int
s_norm_asn (const char *s, size_t len, char *out, size_t outsz, char *why, size_t whysz)
{
    size_t b = 0;
    if (len >= 2 && s_lower ((unsigned char) s [0]) == 'a' && s_lower ((unsigned char) s [1]) == 's')
        b = 2;
    if (b == len)
        return s_why (why, whysz, "missing AS number");
    for (size_t k = b; k < len; k++)
        if (!s_is_digit ((unsigned char) s [k]))
            return s_why (why, whysz, "expected AS followed by a decimal number (like AS64496)");
    if (len - b > 1 && s [b] == '0')
        return s_why (why, whysz, "AS number has a leading zero");
    uint64_t v = 0;
    for (size_t k = b; k < len && v <= UINT32_MAX; k++)
        v = v * 10 + (uint64_t) (s [k] - '0');
    if (v < 1 || v > UINT32_MAX)
        return s_why (why, whysz, "AS number out of range (1..4294967295)");
    char res [16];
    int n = snprintf (res, sizeof res, "AS%u", (unsigned) v);
    return s_copy_out (res, (size_t) n, out, outsz, why, whysz);
}

static s_norm_fn *s_norms [IH_IOC_COUNT] = {
    s_norm_ipv4, s_norm_ipv6, s_norm_cidr, s_norm_domain, s_norm_url, s_norm_email,
    s_norm_md5, s_norm_sha1, s_norm_sha256, s_norm_filename, s_norm_cve, s_norm_asn
};

/* ---- public API -------------------------------------------------------------------- */
int
ih_ioc_normalise (ih_ioc_type_t t, const char *in, char *out, size_t outsz, ih_err_t *err)
{
    if ((unsigned) t >= IH_IOC_COUNT)
        return ih_err_set (err, "invalid ioc type %d", (int) t);
    if (!in)
        in = "";
    char shown [S_SHOW_MAX];
    ih_quote (in, strlen (in), S_SHOW_LEN, shown, sizeof shown);

    /*  The refanged value is never longer than the input once trimmed; a value that does
        not fit here is longer than any type allows. tmp may be `in`'s copy when out == in. */
    char tmp [IH_MAX_IOC_VALUE + 1];
    int n = ih_ioc_refang (in, tmp, sizeof tmp);
    if (n < 0)
        return ih_err_set (err, "invalid %s '%s': value too long (more than %d bytes)",
                           ih_ioc_type_desc [t], shown, IH_MAX_IOC_VALUE);
    char why [S_WHY_MAX];
    char res [IH_MAX_IOC_VALUE + 1];
    if (n == 0)
        return ih_err_set (err, "invalid %s '%s': empty", ih_ioc_type_desc [t], shown);
    if (s_norms [t] (tmp, (size_t) n, res, sizeof res, why, sizeof why))
        return ih_err_set (err, "invalid %s '%s': %s", ih_ioc_type_desc [t], shown, why);
    size_t rl = strlen (res);
    if (!out || rl + 1 > outsz)
        return ih_err_set (err, "%s '%s': value too long (%zu bytes, output holds %zu)",
                           ih_ioc_type_desc [t], shown, rl, outsz ? outsz - 1 : 0);
    memcpy (out, res, rl + 1);
    return 0;
}

/*  File extensions that are not top-level domains, so that "invoice.exe" or
    "dropper.js" are not guessed to be domains. ("zip", "mov", "sh", "py" are TLDs.) */
static bool
s_file_ext_not_tld (const char *v, size_t len)
{
    static const char *exts [] = {
        "exe", "dll", "sys", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf",
        "hta", "scr", "lnk", "pif", "cpl", "msi", "jar", "apk", "elf", "bin", "dat", "tmp",
        "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "pdf", "rtf", "txt",
        "rar", "7z", "gz", "tgz", "tar", "iso", "img", "dmg", "php", "html", "htm", "aspx", NULL
    };
    const char *dot = NULL;
    for (size_t k = 0; k < len; k++)
        if (v [k] == '.')
            dot = v + k;
    if (!dot)
        return false;
    size_t el = len - (size_t) (dot + 1 - v);
    for (int k = 0; exts [k]; k++)
        if (strlen (exts [k]) == el && strncasecmp (dot + 1, exts [k], el) == 0)
            return true;
    return false;
}

int
ih_ioc_guess (const char *value, ih_ioc_type_t *t)
{
    if (!value || !t)
        return -1;
    size_t len = strlen (value);
    if (len == 0 || len > IH_MAX_IOC_VALUE)
        return -1;
    static const ih_ioc_type_t order [] = {
        IH_IOC_CIDR, IH_IOC_IPV4, IH_IOC_IPV6, IH_IOC_URL, IH_IOC_EMAIL, IH_IOC_CVE,
        IH_IOC_ASN, IH_IOC_MD5, IH_IOC_SHA1, IH_IOC_SHA256, IH_IOC_DOMAIN
    };
    char res [IH_MAX_IOC_VALUE + 1];
    char why [S_WHY_MAX];
    for (size_t k = 0; k < sizeof order / sizeof order [0]; k++) {
        ih_ioc_type_t c = order [k];
        if (c == IH_IOC_ASN && !(len > 2 && strncasecmp (value, "as", 2) == 0))
            continue;                   /* a bare number is not guessed to be an ASN */
        if (c == IH_IOC_IPV6 && value [0] == '[')
            continue;                   /* bare values only */
        if (c == IH_IOC_DOMAIN && s_file_ext_not_tld (value, len))
            continue;
        if (s_norms [c] (value, len, res, sizeof res, why, sizeof why) == 0) {
            *t = c;
            return 0;
        }
    }
    return -1;
}

int
ih_ioc_url_host (const char *url, const char **host, size_t *len)
{
    const char *p = url ? strstr (url, "://") : NULL;
    if (!p)
        return -1;
    p += 3;
    size_t alen = strcspn (p, "/?#");
    //  The last '@' of the authority ends the userinfo.
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (p [i] == '@')
            at = p + i;
    if (at) {
        alen -= (size_t) (at + 1 - p);
        p = at + 1;
    }
    size_t hlen = 0;
    if (alen && p [0] == '[') {
        const char *close = memchr (p, ']', alen);
        if (!close)
            return -1;
        p++;
        hlen = (size_t) (close - p);
    }
    else
        while (hlen < alen && p [hlen] != ':')
            hlen++;
    if (hlen == 0)
        return -1;
    *host = p;
    *len = hlen;
    return 0;
}

int
ih_ioc_ip_parse (const char *value, int *family, uint8_t addr [16], int *prefix)
{
    if (!value || !family || !addr || !prefix)
        return -1;
    size_t len = strlen (value);
    char why [S_WHY_MAX];
    uint8_t a [16];
    memset (a, 0, sizeof a);
    int fam, p;
    if (memchr (value, '/', len)) {
        if (s_cidr_parse (value, len, &fam, a, &p, why, sizeof why))
            return -1;
    }
    else
    if (memchr (value, ':', len)) {
        if (s_ipv6_parse (value, len, a, why, sizeof why))
            return -1;
        fam = 6;
        p = 128;
    }
    else {
        if (s_ipv4_parse (value, len, a, why, sizeof why))
            return -1;
        fam = 4;
        p = 32;
    }
    *family = fam;
    memcpy (addr, a, 16);
    *prefix = p;
    return 0;
}

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

static const char *s_type_desc [IH_IOC_COUNT] = {
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
                           s_type_desc [t], shown, IH_MAX_IOC_VALUE);
    char why [S_WHY_MAX];
    char res [IH_MAX_IOC_VALUE + 1];
    if (n == 0)
        return ih_err_set (err, "invalid %s '%s': empty", s_type_desc [t], shown);
    if (s_norms [t] (tmp, (size_t) n, res, sizeof res, why, sizeof why))
        return ih_err_set (err, "invalid %s '%s': %s", s_type_desc [t], shown, why);
    size_t rl = strlen (res);
    if (!out || rl + 1 > outsz)
        return ih_err_set (err, "%s '%s': value too long (%zu bytes, output holds %zu)",
                           s_type_desc [t], shown, rl, outsz ? outsz - 1 : 0);
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

/* ---- self-test ------------------------------------------------------------------- */
#ifdef IH_SELFTEST
typedef struct {
    ih_ioc_type_t type;
    const char *in;
    const char *out;        /* normal form, or NULL when the value must be rejected */
    const char *err;        /* for rejects: a substring the error must contain, or NULL */
} s_case_t;

#define S_MD5_0  "d41d8cd98f00b204e9800998ecf8427e"
#define S_SHA1_0 "da39a3ee5e6b4b0d3255bfef95601890afd80709"
#define S_SHA2_0 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const s_case_t s_cases [] = {
    /* ipv4 */
    { IH_IOC_IPV4, "1.2.3.4", "1.2.3.4", NULL },
    { IH_IOC_IPV4, "  192.168.0.1\n", "192.168.0.1", NULL },
    { IH_IOC_IPV4, "0.0.0.0", "0.0.0.0", NULL },
    { IH_IOC_IPV4, "255.255.255.255", "255.255.255.255", NULL },
    { IH_IOC_IPV4, "10[.]0[.]0[.]1", "10.0.0.1", NULL },
    { IH_IOC_IPV4, "10(.)0{.}0[dot]1", "10.0.0.1", NULL },
    { IH_IOC_IPV4, "10[DOT]0(Dot)0[.]1", "10.0.0.1", NULL },
    { IH_IOC_IPV4, "10[[.]]0.0.1", "10.0.0.1", NULL },
    { IH_IOC_IPV4, "1.2.3", NULL, "expected 4 octets, got 3" },
    { IH_IOC_IPV4, "1.2.3.4.5", NULL, "expected 4 octets, got 5" },
    { IH_IOC_IPV4, "010.1.1.1", NULL, "octet 1 has a leading zero" },
    { IH_IOC_IPV4, "1.2.3.00", NULL, "leading zero" },
    { IH_IOC_IPV4, "256.1.1.1", NULL, "octet 1 is out of range" },
    { IH_IOC_IPV4, "1.2.3.1000", NULL, "octet 4 is out of range" },
    { IH_IOC_IPV4, "0x7f.0.0.1", NULL, "not a decimal number" },
    { IH_IOC_IPV4, "1..2.3", NULL, "octet 2 is empty" },
    { IH_IOC_IPV4, "1.2.3.4/32", NULL, "octet 4 is not a decimal" },
    { IH_IOC_IPV4, "+1.2.3.4", NULL, "not a decimal" },
    { IH_IOC_IPV4, "1.2.3. 4", NULL, "not a decimal" },
    { IH_IOC_IPV4, "", NULL, "empty" },
    { IH_IOC_IPV4, " \t\r\n ", NULL, "empty" },
    { IH_IOC_IPV4, "2001:db8::1", NULL, "expected 4 octets" },
    /* ipv6 */
    { IH_IOC_IPV6, "2001:DB8::1", "2001:db8::1", NULL },
    { IH_IOC_IPV6, "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", NULL },
    { IH_IOC_IPV6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", NULL },
    { IH_IOC_IPV6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", NULL },
    { IH_IOC_IPV6, "::", "::", NULL },
    { IH_IOC_IPV6, "::1", "::1", NULL },
    { IH_IOC_IPV6, "::ffff:1.2.3.4", "::ffff:1.2.3.4", NULL },
    { IH_IOC_IPV6, "::FFFF:0102:0304", "::ffff:1.2.3.4", NULL },
    { IH_IOC_IPV6, "[2001:db8::1]", "2001:db8::1", NULL },
    { IH_IOC_IPV6, "2001[:]db8[:][:]1", "2001:db8::1", NULL },
    { IH_IOC_IPV6, " fe80::1 ", "fe80::1", NULL },
    { IH_IOC_IPV6, "fe80::1%eth0", NULL, "zone id" },
    { IH_IOC_IPV6, "2001:db8::1::2", NULL, "not a valid IPv6" },
    { IH_IOC_IPV6, "2001:db8:::1", NULL, "not a valid IPv6" },
    { IH_IOC_IPV6, "1:2:3:4:5:6:7:8:9", NULL, "not a valid IPv6" },
    { IH_IOC_IPV6, "12345::1", NULL, "not a valid IPv6" },
    { IH_IOC_IPV6, "2001:db8:g::1", NULL, "unexpected character 'g'" },
    { IH_IOC_IPV6, "1.2.3.4", NULL, "no ':'" },
    { IH_IOC_IPV6, "[2001:db8::1", NULL, "unexpected character '['" },
    /* cidr */
    { IH_IOC_CIDR, "10.0.0.0/8", "10.0.0.0/8", NULL },
    { IH_IOC_CIDR, "192.168.1.0/24", "192.168.1.0/24", NULL },
    { IH_IOC_CIDR, "0.0.0.0/0", "0.0.0.0/0", NULL },
    { IH_IOC_CIDR, "1.2.3.4/32", "1.2.3.4/32", NULL },
    { IH_IOC_CIDR, "10[.]0[.]0[.]0/8", "10.0.0.0/8", NULL },
    { IH_IOC_CIDR, "2001:DB8::/32", "2001:db8::/32", NULL },
    { IH_IOC_CIDR, "2001:db8:0:0::/64", "2001:db8::/64", NULL },
    { IH_IOC_CIDR, "::/0", "::/0", NULL },
    { IH_IOC_CIDR, "2001:db8::1/128", "2001:db8::1/128", NULL },
    { IH_IOC_CIDR, "10.1.2.3/8", NULL, "host bits set (the network is 10.0.0.0/8)" },
    { IH_IOC_CIDR, "192.168.1.1/31", NULL, "network is 192.168.1.0/31" },
    { IH_IOC_CIDR, "2001:db8::1/64", NULL, "network is 2001:db8::/64" },
    { IH_IOC_CIDR, "1.2.3.4/33", NULL, "prefix length 33 out of range (0..32)" },
    { IH_IOC_CIDR, "2001:db8::/129", NULL, "out of range (0..128)" },
    { IH_IOC_CIDR, "1.2.3.0/024", NULL, "leading zero" },
    { IH_IOC_CIDR, "1.2.3.0/", NULL, "empty prefix" },
    { IH_IOC_CIDR, "1.2.3.0/x", NULL, "not a decimal" },
    { IH_IOC_CIDR, "1.2.3.0/-1", NULL, "not a decimal" },
    { IH_IOC_CIDR, "1.2.3.0/99999", NULL, "out of range" },
    { IH_IOC_CIDR, "1.2.3.0", NULL, "missing '/prefix'" },
    { IH_IOC_CIDR, "10.0.0.0/8/8", NULL, "more than one '/'" },
    { IH_IOC_CIDR, "010.0.0.0/8", NULL, "leading zero" },
    { IH_IOC_CIDR, "fe80::%eth0/64", NULL, "zone id" },
    { IH_IOC_CIDR, "/8", NULL, "empty" },
    /* domain */
    { IH_IOC_DOMAIN, "Example.COM", "example.com", NULL },
    { IH_IOC_DOMAIN, "example.com.", "example.com", NULL },
    { IH_IOC_DOMAIN, "evil[.]example[.]com", "evil.example.com", NULL },
    { IH_IOC_DOMAIN, "evil(dot)example{.}com", "evil.example.com", NULL },
    { IH_IOC_DOMAIN, "xn--bcher-kva.example", "xn--bcher-kva.example", NULL },
    { IH_IOC_DOMAIN, "_dmarc.example.com", "_dmarc.example.com", NULL },
    { IH_IOC_DOMAIN, "a-b.c0m", "a-b.c0m", NULL },
    { IH_IOC_DOMAIN, "1.2.3.com", "1.2.3.com", NULL },
    { IH_IOC_DOMAIN, "localhost", NULL, "at least two labels" },
    { IH_IOC_DOMAIN, "-a.example", NULL, "label '-a' starts with '-'" },
    { IH_IOC_DOMAIN, "a-.example", NULL, "label 'a-' ends with '-'" },
    { IH_IOC_DOMAIN, "a..example", NULL, "empty label" },
    { IH_IOC_DOMAIN, ".example.com", NULL, "empty label" },
    { IH_IOC_DOMAIN, "example.com..", NULL, "empty label" },
    { IH_IOC_DOMAIN, ".", NULL, "empty label" },
    { IH_IOC_DOMAIN, "1.2.3.4", NULL, "all digits" },
    { IH_IOC_DOMAIN, "example.123", NULL, "all digits" },
    { IH_IOC_DOMAIN, "b\xc3\xbc" "cher.example", NULL, "non-ASCII" },
    { IH_IOC_DOMAIN, "exa mple.com", NULL, "invalid character ' '" },
    { IH_IOC_DOMAIN, "*.example.com", NULL, "invalid character '*'" },
    { IH_IOC_DOMAIN, "http://example.com", NULL, "invalid character ':'" },
    { IH_IOC_DOMAIN, "exa\x01mple.com", NULL, "invalid character '\\x01'" },
    /* url */
    { IH_IOC_URL, "hxxp://evil[.]example/path?q=1", "http://evil.example/path?q=1", NULL },
    { IH_IOC_URL, "hXXps://Evil.Example.COM/Path", "https://evil.example.com/Path", NULL },
    { IH_IOC_URL, "hxxps[://]evil[.]com/a", "https://evil.com/a", NULL },
    { IH_IOC_URL, "HTTP://EXAMPLE.COM", "http://example.com", NULL },
    { IH_IOC_URL, "http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x", NULL },
    { IH_IOC_URL, "http://[2001:db8::1]/[.]", "http://[2001:db8::1]/.", NULL },
    { IH_IOC_URL, "http://1.2.3.4/a", "http://1.2.3.4/a", NULL },
    { IH_IOC_URL, "ftp://files.example.org/pub/x.exe", "ftp://files.example.org/pub/x.exe", NULL },
    { IH_IOC_URL, "FTPS://files.example.org", "ftps://files.example.org", NULL },
    { IH_IOC_URL, "http://user:Pass@Example.com/", "http://user:Pass@example.com/", NULL },
    { IH_IOC_URL, "http://paypal.com@evil.example/", "http://paypal.com@evil.example/", NULL },
    { IH_IOC_URL, "http://example.com./x", "http://example.com/x", NULL },
    { IH_IOC_URL, "http://example.com?q=A#Frag", "http://example.com?q=A#Frag", NULL },
    { IH_IOC_URL, "http://example.com:443#x", "http://example.com:443#x", NULL },
    { IH_IOC_URL, "http://example.com/caf\xc3\xa9", "http://example.com/caf\xc3\xa9", NULL },
    { IH_IOC_URL, "https://example[.]com/login[.]php", "https://example.com/login.php", NULL },
    { IH_IOC_URL, "http://example.com/hxxp://x", "http://example.com/hxxp://x", NULL },
    { IH_IOC_URL, "http://010.2.3.4/a", NULL, "host: octet 1 has a leading zero" },
    { IH_IOC_URL, "http://1.2.3/a", NULL, "host: expected 4 octets" },
    { IH_IOC_URL, "javascript:alert(1)", NULL, "missing 'scheme://'" },
    { IH_IOC_URL, "example.com/path", NULL, "missing 'scheme://'" },
    { IH_IOC_URL, "gopher://example.com/", NULL, "unsupported scheme 'gopher'" },
    { IH_IOC_URL, "http:///path", NULL, "missing host" },
    { IH_IOC_URL, "http://user@/x", NULL, "missing host" },
    { IH_IOC_URL, "http://:80/x", NULL, "missing host" },
    { IH_IOC_URL, "http://exa mple.com/", NULL, "contains a space at position 11" },
    { IH_IOC_URL, "http://example.com/a b", NULL, "contains a space" },
    { IH_IOC_URL, "http://example.com/\x01", NULL, "control character \\x01" },
    { IH_IOC_URL, "http://example.com/\x7f", NULL, "control character \\x7f" },
    { IH_IOC_URL, "http://example.com/\xc2\x85", NULL, "control character U+0085" },
    { IH_IOC_URL, "http://example.com/\xff", NULL, "invalid UTF-8" },
    { IH_IOC_URL, "http://example.com/\xc0\xaf", NULL, "invalid UTF-8" },
    { IH_IOC_URL, "http://example.com:0/", NULL, "port out of range" },
    { IH_IOC_URL, "http://example.com:65536/", NULL, "port out of range" },
    { IH_IOC_URL, "http://example.com:/", NULL, "empty port" },
    { IH_IOC_URL, "http://example.com:8o/", NULL, "port is not a decimal" },
    { IH_IOC_URL, "http://localhost/", NULL, "host: needs at least two labels" },
    { IH_IOC_URL, "http://-bad.example/", NULL, "host: label '-bad' starts with '-'" },
    { IH_IOC_URL, "http://[fe80::1%25eth0]/", NULL, "host: zone id" },
    { IH_IOC_URL, "http://[2001:db8::1/", NULL, "unterminated '['" },
    { IH_IOC_URL, "http://[2001:db8::1]x/", NULL, "after ']'" },
    { IH_IOC_URL, "http://b\xc3\xbc" "cher.example/", NULL, "non-ASCII" },
    /* email */
    { IH_IOC_EMAIL, "John.Doe@Example.COM", "John.Doe@example.com", NULL },
    { IH_IOC_EMAIL, "phish[@]evil[.]com", "phish@evil.com", NULL },
    { IH_IOC_EMAIL, "phish[at]evil[dot]com", "phish@evil.com", NULL },
    { IH_IOC_EMAIL, "phish(at)evil(dot)com", "phish@evil.com", NULL },
    { IH_IOC_EMAIL, "a+tag@example.com.", "a+tag@example.com", NULL },
    { IH_IOC_EMAIL, "noatsign.example.com", NULL, "missing '@'" },
    { IH_IOC_EMAIL, "a@b@example.com", NULL, "more than one '@'" },
    { IH_IOC_EMAIL, "@example.com", NULL, "empty local part" },
    { IH_IOC_EMAIL, "user@", NULL, "domain: empty" },
    { IH_IOC_EMAIL, "user@localhost", NULL, "domain: needs at least two labels" },
    { IH_IOC_EMAIL, "us er@example.com", NULL, "invalid character ' ' in local part" },
    { IH_IOC_EMAIL, "us\"er@example.com", NULL, "in local part" },
    /* hashes */
    { IH_IOC_MD5, "D41D8CD98F00B204E9800998ECF8427E", S_MD5_0, NULL },
    { IH_IOC_MD5, " " S_MD5_0 " ", S_MD5_0, NULL },
    { IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427", NULL, "expected 32 hex digits, got 31" },
    { IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427g", NULL, "non-hex character 'g' at position 32" },
    { IH_IOC_MD5, S_SHA1_0, NULL, "expected 32 hex digits, got 40" },
    { IH_IOC_SHA1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", S_SHA1_0, NULL },
    { IH_IOC_SHA1, S_SHA1_0 "0", NULL, "expected 40 hex digits, got 41" },
    { IH_IOC_SHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", S_SHA2_0, NULL },
    { IH_IOC_SHA256, "\t" S_SHA2_0 "  \n", S_SHA2_0, NULL },
    { IH_IOC_SHA256, S_MD5_0, NULL, "expected 64 hex digits, got 32" },
    { IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb924 7ae41e4649b934ca495991b7852b855", NULL, "non-hex character ' '" },
    /* filename */
    { IH_IOC_FILENAME, "invoice.exe", "invoice.exe", NULL },
    { IH_IOC_FILENAME, "Invoice 2024.PDF.exe", "Invoice 2024.PDF.exe", NULL },
    { IH_IOC_FILENAME, "  evil.dll  ", "evil.dll", NULL },
    { IH_IOC_FILENAME, "invoice[.]exe", "invoice.exe", NULL },
    { IH_IOC_FILENAME, "C:\\Users\\x\\evil.exe", "C:\\Users\\x\\evil.exe", NULL },
    { IH_IOC_FILENAME, "r\xc3\xa9sum\xc3\xa9.doc", "r\xc3\xa9sum\xc3\xa9.doc", NULL },
    { IH_IOC_FILENAME, "dir/evil.exe", NULL, "contains '/'" },
    { IH_IOC_FILENAME, "evil\x01.exe", NULL, "control character \\x01 at position 5" },
    { IH_IOC_FILENAME, "evil\t.exe", NULL, "control character \\x09" },
    { IH_IOC_FILENAME, "bad\xc3.doc", NULL, "invalid UTF-8 at position 4" },
    { IH_IOC_FILENAME, "..", NULL, "not file names" },
    /* cve */
    { IH_IOC_CVE, "CVE-2021-44228", "CVE-2021-44228", NULL },
    { IH_IOC_CVE, "cve-2014-0160", "CVE-2014-0160", NULL },
    { IH_IOC_CVE, "CVE-1999-0001", "CVE-1999-0001", NULL },
    { IH_IOC_CVE, "Cve-2021-1234567", "CVE-2021-1234567", NULL },
    { IH_IOC_CVE, "CVE-2021-123", NULL, "4 to 7 digits, got 3" },
    { IH_IOC_CVE, "CVE-2021-12345678", NULL, "4 to 7 digits, got 8" },
    { IH_IOC_CVE, "CVE-1998-0001", NULL, "year 1998 out of range" },
    { IH_IOC_CVE, "CVE-2101-0001", NULL, "year 2101 out of range" },
    { IH_IOC_CVE, "CVE-21-0001", NULL, "4-digit year" },
    { IH_IOC_CVE, "CVE2021-44228", NULL, "expected CVE-YYYY-NNNN" },
    { IH_IOC_CVE, "CVE-2021-01234", NULL, "leading zero" },
    { IH_IOC_CVE, "CVE-2021-4422a", NULL, "not a decimal" },
    { IH_IOC_CVE, "CVE-2021-", NULL, "4 to 7 digits, got 0" },
    /* asn */
    { IH_IOC_ASN, "AS64496", "AS64496", NULL },
    { IH_IOC_ASN, "as64496", "AS64496", NULL },
    { IH_IOC_ASN, "64496", "AS64496", NULL },
    { IH_IOC_ASN, "aS1", "AS1", NULL },
    { IH_IOC_ASN, "AS4294967295", "AS4294967295", NULL },
    { IH_IOC_ASN, "AS4294967296", NULL, "out of range (1..4294967295)" },
    { IH_IOC_ASN, "99999999999999999999", NULL, "out of range" },
    { IH_IOC_ASN, "AS0", NULL, "out of range" },
    { IH_IOC_ASN, "AS064496", NULL, "leading zero" },
    { IH_IOC_ASN, "AS", NULL, "missing AS number" },
    { IH_IOC_ASN, "AS-1", NULL, "expected AS followed by a decimal number" },
    { IH_IOC_ASN, "AS 64496", NULL, "expected AS" },
    { IH_IOC_ASN, "1.10", NULL, "expected AS" },
};

static void
s_run_case (const s_case_t *c, bool verbose)
{
    char out [IH_MAX_IOC_VALUE + 1];
    ih_err_t err = { "" };
    int rc = ih_ioc_normalise (c->type, c->in, out, sizeof out, &err);
    if (verbose) {
        char shown [S_SHOW_MAX];
        ih_quote (c->in, strlen (c->in), 40, shown, sizeof shown);
        printf ("\n    %-13s %-43s -> %s", s_type_desc [c->type], shown, rc == 0 ? out : err.msg);
    }
    if (c->out) {
        if (rc != 0 || strcmp (out, c->out) != 0)
            fprintf (stderr, "\nioc case '%s': got rc=%d '%s' err '%s', want '%s'\n",
                     c->in, rc, rc == 0 ? out : "", err.msg, c->out);
        IH_CHECK (rc == 0);
        IH_CHECK (strcmp (out, c->out) == 0);
        /*  The normal form is a fixed point. */
        char again [IH_MAX_IOC_VALUE + 1];
        IH_CHECK (ih_ioc_normalise (c->type, out, again, sizeof again, &err) == 0);
        IH_CHECK (strcmp (again, out) == 0);
        /*  Exactly enough room works; one byte less fails without writing past it. */
        size_t n = strlen (out);
        char small [IH_MAX_IOC_VALUE + 8];
        memset (small, 'Z', sizeof small);
        IH_CHECK (ih_ioc_normalise (c->type, c->in, small, n + 1, NULL) == 0);
        IH_CHECK (strcmp (small, c->out) == 0);
        memset (small, 'Z', sizeof small);
        IH_CHECK (ih_ioc_normalise (c->type, c->in, small, n, &err) == -1);
        IH_CHECK (strstr (err.msg, "value too long"));
        for (size_t k = n; k < sizeof small; k++)
            IH_CHECK (small [k] == 'Z');
    }
    else {
        if (rc == 0 || (c->err && !strstr (err.msg, c->err)))
            fprintf (stderr, "\nioc case '%s': got rc=%d '%s', want error containing '%s'\n",
                     c->in, rc, rc == 0 ? out : err.msg, c->err ? c->err : "");
        IH_CHECK (rc == -1);
        IH_CHECK (strncmp (err.msg, "invalid ", 8) == 0);
        IH_CHECK (strstr (err.msg, s_type_desc [c->type]));
        if (c->err)
            IH_CHECK (strstr (err.msg, c->err));
        /*  One printable line. */
        for (const char *p = err.msg; *p; p++)
            IH_CHECK ((unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f);
        /*  NULL err is fine. */
        IH_CHECK (ih_ioc_normalise (c->type, c->in, out, sizeof out, NULL) == -1);
    }
}

static void
s_test_refang (void)
{
    static const struct { const char *in, *out; } cases [] = {
        { "evil[.]com", "evil.com" },
        { "  hxxp://a[.]b/c  ", "http://a.b/c" },
        { "HXXPS://a[.]b", "https://a.b" },
        { "hxxp[://]a(.)b", "http://a.b" },
        { "hxxp[:]//a{.}b", "http://a.b" },
        { "a[at]b[DOT]c", "a@b.c" },
        { "a(AT)b(dot)c", "a@b.c" },
        { "a[@]b", "a@b" },
        { "[[.]]", "." },
        { "[[[dot]]]", "." },
        { "[2001:db8::1]", "[2001:db8::1]" },
        { "[::]", "[::]" },
        { "a[x]b", "a[x]b" },
        { "hxxpx://a", "hxxpx://a" },
        { "http://a/hxxp://b", "http://a/hxxp://b" },
        { "hxxp", "hxxp" },
        { "", "" },
        { " \t ", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char out [64];
        int n = ih_ioc_refang (cases [i].in, out, sizeof out);
        IH_CHECK (n == (int) strlen (cases [i].out));
        IH_CHECK (strcmp (out, cases [i].out) == 0);
        /*  Refanging twice changes nothing. */
        char again [64];
        IH_CHECK (ih_ioc_refang (out, again, sizeof again) == n);
        IH_CHECK (strcmp (again, out) == 0);
        /*  In place. */
        char inplace [64];
        snprintf (inplace, sizeof inplace, "%s", cases [i].in);
        IH_CHECK (ih_ioc_refang (inplace, inplace, sizeof inplace) == n);
        IH_CHECK (strcmp (inplace, cases [i].out) == 0);
        /*  Exact fit, and one byte short. */
        char fit [64];
        memset (fit, 'Z', sizeof fit);
        IH_CHECK (ih_ioc_refang (cases [i].in, fit, (size_t) n + 1) == n);
        if (n > 0) {
            memset (fit, 'Z', sizeof fit);
            IH_CHECK (ih_ioc_refang (cases [i].in, fit, (size_t) n) == -1);
            for (size_t k = (size_t) n; k < sizeof fit; k++)
                IH_CHECK (fit [k] == 'Z');
        }
    }
    char out [8];
    IH_CHECK (ih_ioc_refang (NULL, out, sizeof out) == -1);
    IH_CHECK (ih_ioc_refang ("x", NULL, 8) == -1);
    IH_CHECK (ih_ioc_refang ("x", out, 0) == -1);
}

static void
s_test_lengths (void)
{
    char in [4 * IH_MAX_IOC_VALUE];
    char out [IH_MAX_IOC_VALUE + 1];
    ih_err_t err = { "" };

    /*  Labels of 63 and 64 characters; domains of 253 and 254. */
    char d [300];
    memset (d, 'a', 63);
    memcpy (d + 63, ".com", 5);
    IH_CHECK (ih_ioc_normalise (IH_IOC_DOMAIN, d, out, sizeof out, &err) == 0);
    memset (d, 'a', 64);
    memcpy (d + 64, ".com", 5);
    IH_CHECK (ih_ioc_normalise (IH_IOC_DOMAIN, d, out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "longer than 63 characters (64)"));
    for (int total = 253; total <= 254; total++) {
        /*  4 labels of 49 + '.', then one of 49 (or 50) + '.', then "com". */
        size_t o = 0;
        for (int k = 0; k < 5; k++) {
            size_t l = (k == 4 && total == 254) ? 50 : 49;
            memset (d + o, 'b', l);
            o += l;
            d [o++] = '.';
        }
        memcpy (d + o, "com", 4);
        IH_CHECK (strlen (d) == (size_t) total);
        int rc = ih_ioc_normalise (IH_IOC_DOMAIN, d, out, sizeof out, &err);
        IH_CHECK (total == 253 ? rc == 0 : rc == -1);
        if (rc)
            IH_CHECK (strstr (err.msg, "longer than 253 characters (254)"));
        /*  A trailing dot does not count. */
        memcpy (d + o, "com.", 5);
        rc = ih_ioc_normalise (IH_IOC_DOMAIN, d, out, sizeof out, &err);
        IH_CHECK (total == 253 ? rc == 0 : rc == -1);
        if (rc == 0)
            IH_CHECK (strlen (out) == 253);
    }

    /*  Email local part of 64 and 65. */
    memset (in, 'x', 64);
    memcpy (in + 64, "@example.com", 13);
    IH_CHECK (ih_ioc_normalise (IH_IOC_EMAIL, in, out, sizeof out, &err) == 0);
    memset (in, 'x', 65);
    memcpy (in + 65, "@example.com", 13);
    IH_CHECK (ih_ioc_normalise (IH_IOC_EMAIL, in, out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "local part longer than 64"));

    /*  Filenames of 255 and 256 bytes. */
    memset (in, 'f', 255);
    in [255] = 0;
    IH_CHECK (ih_ioc_normalise (IH_IOC_FILENAME, in, out, sizeof out, &err) == 0);
    IH_CHECK (strlen (out) == 255);
    memset (in, 'f', 256);
    in [256] = 0;
    IH_CHECK (ih_ioc_normalise (IH_IOC_FILENAME, in, out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "longer than 255 bytes (256)"));

    /*  URLs of exactly IH_MAX_IOC_VALUE bytes and one more. */
    const char *pre = "http://example.com/";
    size_t pl = strlen (pre);
    memcpy (in, pre, pl);
    memset (in + pl, 'p', IH_MAX_IOC_VALUE - pl);
    in [IH_MAX_IOC_VALUE] = 0;
    IH_CHECK (ih_ioc_normalise (IH_IOC_URL, in, out, sizeof out, &err) == 0);
    IH_CHECK (strlen (out) == IH_MAX_IOC_VALUE);
    in [IH_MAX_IOC_VALUE] = 'p';
    in [IH_MAX_IOC_VALUE + 1] = 0;
    IH_CHECK (ih_ioc_normalise (IH_IOC_URL, in, out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "value too long"));
    /*  ... which the error message shows cut to 64 characters. */
    IH_CHECK (strstr (err.msg, "'http://example.com/ppppppppppppppppppppppppppppppppppppppppppppp...'"));
    IH_CHECK (strlen (err.msg) < 200);

    /*  A defanged URL longer than the limit before refanging but within it after. */
    size_t o = 0;
    memcpy (in, "hxxp://example[.]com/", 21);
    o = 21;
    while (o + 3 < IH_MAX_IOC_VALUE + 600) {
        memcpy (in + o, "[.]", 3);
        o += 3;
    }
    in [o] = 0;
    IH_CHECK (ih_ioc_normalise (IH_IOC_URL, in, out, sizeof out, &err) == 0);
    IH_CHECK (strncmp (out, "http://example.com/....", 23) == 0);

    /*  Lots of surrounding whitespace is trimmed before the length matters. */
    memset (in, ' ', 3 * IH_MAX_IOC_VALUE);
    memcpy (in + 3000, "1.2.3.4", 7);
    in [3 * IH_MAX_IOC_VALUE] = 0;
    IH_CHECK (ih_ioc_normalise (IH_IOC_IPV4, in, out, sizeof out, &err) == 0);
    IH_CHECK (strcmp (out, "1.2.3.4") == 0);

    /*  Something long and garbage, for every type: rejected, message bounded. */
    memset (in, 'A', sizeof in - 1);
    in [sizeof in - 1] = 0;
    for (int t = 0; t < IH_IOC_COUNT; t++) {
        IH_CHECK (ih_ioc_normalise ((ih_ioc_type_t) t, in, out, sizeof out, &err) == -1);
        IH_CHECK (strstr (err.msg, "too long"));
    }
    memset (in, 'A', 1000);
    in [1000] = 0;
    for (int t = 0; t < IH_IOC_COUNT; t++) {
        IH_CHECK (ih_ioc_normalise ((ih_ioc_type_t) t, in, out, sizeof out, &err) == -1);
        IH_CHECK (strlen (err.msg) < IH_ERR_MAX - 1);
        IH_CHECK (strstr (err.msg, "AAAA...'"));
    }
}

static void
s_test_messages (void)
{
    char out [IH_MAX_IOC_VALUE + 1];
    ih_err_t err = { "" };
    IH_CHECK (ih_ioc_normalise (IH_IOC_IPV4, "1.2.3", out, sizeof out, &err) == -1);
    IH_CHECK (strcmp (err.msg, "invalid ipv4 address '1.2.3': expected 4 octets, got 3") == 0);
    IH_CHECK (ih_ioc_normalise (IH_IOC_CIDR, "10.1.2.3/8", out, sizeof out, &err) == -1);
    IH_CHECK (strcmp (err.msg, "invalid cidr '10.1.2.3/8': host bits set (the network is 10.0.0.0/8)") == 0);
    IH_CHECK (ih_ioc_normalise (IH_IOC_DOMAIN, "a..b", out, sizeof out, &err) == -1);
    IH_CHECK (strcmp (err.msg, "invalid domain 'a..b': empty label") == 0);
    /*  Control bytes and non-ASCII in the quoted value are escaped. */
    IH_CHECK (ih_ioc_normalise (IH_IOC_FILENAME, "a\x01\x1b[31m\xc3", out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "'a\\x01\\x1b[31m\\xc3'"));
    IH_CHECK (ih_ioc_normalise (IH_IOC_URL, "http://x.example/\n", out, sizeof out, &err) == 0);
    IH_CHECK (ih_ioc_normalise (IH_IOC_URL, "http://x.example/\na", out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "'http://x.example/\\x0aa'"));
    IH_CHECK (strstr (err.msg, "control character \\x0a"));
    /*  Escapes are not split by the truncation. */
    char in [200];
    memset (in, 'x', 62);
    memcpy (in + 62, "\x01yyyy", 6);
    IH_CHECK (ih_ioc_normalise (IH_IOC_IPV4, in, out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "xx...'"));
    IH_CHECK (!strstr (err.msg, "\\x0..."));
    /*  Type out of range, NULL input. */
    IH_CHECK (ih_ioc_normalise ((ih_ioc_type_t) 99, "1.2.3.4", out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "invalid ioc type 99"));
    IH_CHECK (ih_ioc_normalise ((ih_ioc_type_t) -1, "1.2.3.4", out, sizeof out, &err) == -1);
    IH_CHECK (ih_ioc_normalise (IH_IOC_IPV4, NULL, out, sizeof out, &err) == -1);
    IH_CHECK (strstr (err.msg, "empty"));
    /*  NULL or zero-sized output. */
    IH_CHECK (ih_ioc_normalise (IH_IOC_IPV4, "1.2.3.4", NULL, 0, &err) == -1);
    IH_CHECK (strstr (err.msg, "value too long"));
    IH_CHECK (ih_ioc_normalise (IH_IOC_IPV4, "1.2.3.4", out, 0, &err) == -1);
    /*  out may be the input buffer. */
    char buf [64];
    snprintf (buf, sizeof buf, "  Evil[.]EXAMPLE[.]com. ");
    IH_CHECK (ih_ioc_normalise (IH_IOC_DOMAIN, buf, buf, sizeof buf, &err) == 0);
    IH_CHECK (strcmp (buf, "evil.example.com") == 0);
    snprintf (buf, sizeof buf, "64496");
    IH_CHECK (ih_ioc_normalise (IH_IOC_ASN, buf, buf, sizeof buf, &err) == 0);
    IH_CHECK (strcmp (buf, "AS64496") == 0);
}

static void
s_test_guess (void)
{
    static const struct { const char *in; int type; } cases [] = {
        { "1.2.3.4", IH_IOC_IPV4 },
        { "10.0.0.0/8", IH_IOC_CIDR },
        { "2001:db8::/32", IH_IOC_CIDR },
        { "2001:db8::1", IH_IOC_IPV6 },
        { "::ffff:1.2.3.4", IH_IOC_IPV6 },
        { "http://evil.example/x", IH_IOC_URL },
        { "HTTPS://Evil.Example", IH_IOC_URL },
        { "bob@evil.example", IH_IOC_EMAIL },
        { "CVE-2021-44228", IH_IOC_CVE },
        { "cve-2021-44228", IH_IOC_CVE },
        { "AS64496", IH_IOC_ASN },
        { "as13335", IH_IOC_ASN },
        { S_MD5_0, IH_IOC_MD5 },
        { "D41D8CD98F00B204E9800998ECF8427E", IH_IOC_MD5 },
        { S_SHA1_0, IH_IOC_SHA1 },
        { S_SHA2_0, IH_IOC_SHA256 },
        { "evil.example", IH_IOC_DOMAIN },
        { "Evil.Example.COM.", IH_IOC_DOMAIN },
        { "download.zip", IH_IOC_DOMAIN },      /* .zip is a real TLD */
        { "hello", -1 },
        { "invoice.exe", -1 },
        { "dropper.JS", -1 },
        { "64496", -1 },
        { "1.2.3", -1 },
        { "010.1.1.1", -1 },
        { "10.1.2.3/8", -1 },
        { "evil[.]example", -1 },               /* guess does not refang */
        { " evil.example", -1 },
        { "[2001:db8::1]", -1 },
        { "gopher://x.example", -1 },
        { "d41d8cd98f00b204e9800998ecf8427", -1 },
        { "", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        ih_ioc_type_t t = (ih_ioc_type_t) 77;
        int rc = ih_ioc_guess (cases [i].in, &t);
        if (cases [i].type < 0) {
            IH_CHECK (rc == -1);
            IH_CHECK ((int) t == 77);
        }
        else {
            if (rc != 0 || (int) t != cases [i].type)
                fprintf (stderr, "\nguess '%s': rc=%d type=%d, want %d\n", cases [i].in, rc, (int) t,
                         cases [i].type);
            IH_CHECK (rc == 0 && (int) t == cases [i].type);
        }
    }
    ih_ioc_type_t t;
    IH_CHECK (ih_ioc_guess (NULL, &t) == -1);
    IH_CHECK (ih_ioc_guess ("1.2.3.4", NULL) == -1);
}

static void
s_test_ip_parse (void)
{
    int fam, prefix;
    uint8_t a [16];
    IH_CHECK (ih_ioc_ip_parse ("192.168.1.2", &fam, a, &prefix) == 0);
    IH_CHECK (fam == 4 && prefix == 32);
    IH_CHECK (a [0] == 192 && a [1] == 168 && a [2] == 1 && a [3] == 2 && a [4] == 0 && a [15] == 0);
    IH_CHECK (ih_ioc_ip_parse ("10.0.0.0/8", &fam, a, &prefix) == 0);
    IH_CHECK (fam == 4 && prefix == 8 && a [0] == 10 && a [1] == 0);
    IH_CHECK (ih_ioc_ip_parse ("2001:db8::1", &fam, a, &prefix) == 0);
    IH_CHECK (fam == 6 && prefix == 128 && a [0] == 0x20 && a [1] == 0x01 && a [2] == 0x0d
              && a [3] == 0xb8 && a [15] == 1);
    IH_CHECK (ih_ioc_ip_parse ("2001:db8::/32", &fam, a, &prefix) == 0);
    IH_CHECK (fam == 6 && prefix == 32 && a [3] == 0xb8 && a [15] == 0);
    IH_CHECK (ih_ioc_ip_parse ("::/0", &fam, a, &prefix) == 0);
    IH_CHECK (fam == 6 && prefix == 0);
    IH_CHECK (ih_ioc_ip_parse ("0.0.0.0/0", &fam, a, &prefix) == 0);
    IH_CHECK (fam == 4 && prefix == 0);

    static const char *bad [] = {
        "", "1.2.3", "010.1.1.1", "10.1.2.3/8", "1.2.3.4/33", "fe80::1%eth0", "2001:db8::1/64",
        "evil.example", "1.2.3.4/", "1.2.3.4 ", "[::1]", NULL
    };
    for (int i = 0; bad [i]; i++) {
        fam = prefix = -7;
        memset (a, 0xee, sizeof a);
        IH_CHECK (ih_ioc_ip_parse (bad [i], &fam, a, &prefix) == -1);
        IH_CHECK (fam == -7 && prefix == -7 && a [0] == 0xee);
    }
    IH_CHECK (ih_ioc_ip_parse (NULL, &fam, a, &prefix) == -1);
}

void
ih_ioc_test (bool verbose)
{
    //  URL hosts (index and warninglist): userinfo, port, brackets, and no host at all.
    {
        const struct { const char *url, *host; } hc [] = {
            { "http://evil.example/x", "evil.example" },
            { "https://u:p@evil.example:8443/a@b", "evil.example" },
            { "http://[2001:db8::1]:80/", "2001:db8::1" },
            { "ftp://192.0.2.1?q", "192.0.2.1" },
            { "http:///x", NULL }, { "evil.example/x", NULL }, { "http://[::1/", NULL },
            { "http://u@:80/", NULL }
        };
        for (size_t i = 0; i < sizeof hc / sizeof hc [0]; i++) {
            const char *h = NULL;
            size_t hl = 0;
            int rc = ih_ioc_url_host (hc [i].url, &h, &hl);
            IH_CHECK (hc [i].host ? rc == 0 && hl == strlen (hc [i].host)
                                    && memcmp (h, hc [i].host, hl) == 0 : rc == -1);
        }
    }

    size_t n = sizeof s_cases / sizeof s_cases [0];
    for (size_t i = 0; i < n; i++)
        s_run_case (&s_cases [i], verbose);
    if (verbose)
        printf ("\n    %zu normalisation cases ", n);
    s_test_refang ();
    s_test_lengths ();
    s_test_messages ();
    s_test_guess ();
    s_test_ip_parse ();
}
#endif

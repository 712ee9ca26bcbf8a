/*  ih_extract.c: IOCs, technique ids and references out of prose (ih_extract.h).

    Read top to bottom: the word lists, the public suffix list, the checks of one kind
    each (domain, version context, ids found inside a candidate), the classification of
    one candidate (s_candidate, in the order the header lists), the scan, and the TLP.
    The self-tests are in ih_extract_test.c.
*/
#include <czmq.h>
#include <libpsl.h>
#include <pthread.h>

#include "ih_defang.h"
#include "ih_extract.h"
#include "ih_ioc.h"

/*  File extensions of things that run or carry macros: such names in prose are file names
    (filename IOCs), never domains. None of them is a top-level domain. */
static const char *s_exec_ext [] = {
    "exe", "dll", "scr", "ps1", "psm1", "vbs", "vbe", "jse", "wsf", "hta", "bat", "cmd", "lnk",
    "jar", "msi", "iso", "img", "vhd", "vhdx", "docm", "xlsm", "pptm", "sys", "cpl", "pif", "elf", NULL
};
/*  Top-level domains that are also common file extensions: "update.zip" or "setup.py" in
    prose is a file, unless the author defanged it ("update[.]zip"). Not .cc: a busy ccTLD,
    popular for malware, while C++ sources are rarely named in alerts. */
static const char *s_ext_tld [] = {
    "zip", "mov", "py", "pl", "sh", "md", "rs", "ps", "so", "pm", "sc", "cat", NULL
};
/*  Product names that are registrable names: not domains unless defanged. */
static const char *s_products [] = { "asp.net", "vb.net", "ado.net", "socket.io", NULL };
/*  Labels that may be glued in front of a value ("C2:203.0.113.5", "sha256=<hex>"). */
static const char *s_labels [] = {
    "ip", "ipv4", "ipv6", "c2", "host", "domain", "url", "hash", "md5", "sha1", "sha-1", "sha256",
    "sha-256", "email", "cve", "asn", NULL
};
/*  Words after which a dotted quad is a version number, and the words that chain more. */
static const char *s_version_words [] = {
    "version", "versions", "ver", "v", "build", "release", "firmware", NULL
};
static const char *s_chain_words [] = { "and", "or", "to", "through", "until", NULL };

static bool
s_in (const char *p, size_t n, const char **list)
{
    for (int i = 0; list [i]; i++)
        if (strlen (list [i]) == n && strncasecmp (p, list [i], n) == 0)
            return true;
    return false;
}

static bool
s_ext_in (const char *value, const char **list)
{
    const char *dot = strrchr (value, '.');
    return dot && dot != value && s_in (dot + 1, strlen (dot + 1), list);
}

/* ---- the public suffix list ---------------------------------------------------------------- */

static pthread_once_t s_psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *s_psl;

static void
s_psl_load (void)
{
    //  The system's list when there is one (newer than the library's built-in copy).
    //  Loaded once per process and never freed: only read after this.
    psl_ctx_t *latest = psl_latest (NULL);
    s_psl = latest ? latest : psl_builtin ();
}

bool
ih_extract_registrable (const char *domain)
{
    pthread_once (&s_psl_once, s_psl_load);
    const char *tld = strrchr (domain, '.');
    if (!s_psl || !tld)
        return false;
    if (!psl_is_public_suffix2 (s_psl, tld + 1, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
        return false;
    return psl_registrable_domain (s_psl, domain) != NULL;
}

static bool
s_registrable (const char *name, void *arg)
{
    (void) arg;
    return ih_extract_registrable (name);
}

/* ---- the scan's state ------------------------------------------------------------------------ */

typedef struct {
    const ih_extract_opts_t *opts;
    ih_extract_fn *fn;
    void *arg;
    const char *text;           /* the whole text (version context looks back in it) */
    size_t len;
    zhashx_t *seen;             /* "kind type value" reported so far */
    size_t version_end;         /* where the last quad taken for a version ends (+1; 0 none) */
} s_scan_t;

static int
s_hit (s_scan_t *s, ih_extract_kind_t kind, ih_ioc_type_t t, const char *value, const char *comment,
       bool detect, const char *why)
{
    char key [IH_MAX_IOC_VALUE + 16];
    snprintf (key, sizeof key, "%d %d %s", (int) kind, kind == IH_EXTRACT_IOC ? (int) t : 0, value);
    if (zhashx_lookup (s->seen, key))
        return 0;
    zhashx_insert (s->seen, key, (void *) 1);
    ih_extract_hit_t h = { kind, t, value, comment ? comment : "", detect, why ? why : "", NULL };
    if (kind == IH_EXTRACT_IOC && s->opts->warninglists)
        h.warninglist = ih_warninglist_match (s->opts->warninglists, t, value);
    return s->fn (&h, s->arg);
}

/*  Normalises v as t and reports it; 0 (and nothing reported) when it does not normalise. */
static int
s_ioc (s_scan_t *s, ih_ioc_type_t t, const char *v, const char *comment, bool *taken)
{
    char norm [IH_MAX_IOC_VALUE + 1];
    *taken = ih_ioc_normalise (t, v, norm, sizeof norm, NULL) == 0;
    return *taken ? s_hit (s, IH_EXTRACT_IOC, t, norm, comment, t != IH_IOC_FILENAME, NULL) : 0;
}

/* ---- checks of one kind ---------------------------------------------------------------------- */

/*  A domain: 1 taken, 0 not a domain at all, -1 rejected with a why (skipped). */
static int
s_domain (s_scan_t *s, const char *v, bool defanged, const char *comment, int *rc)
{
    char norm [IH_MAX_IOC_VALUE + 1];
    ih_ioc_type_t t;
    if (ih_ioc_guess (v, &t) != 0 || t != IH_IOC_DOMAIN
    ||  ih_ioc_normalise (IH_IOC_DOMAIN, v, norm, sizeof norm, NULL) != 0)
        return 0;
    if (!defanged && s_ext_in (norm, s_ext_tld)) {
        *rc = s_hit (s, IH_EXTRACT_SKIPPED, IH_IOC_DOMAIN, norm, NULL, false, "file-like name not taken for a domain");
        return -1;
    }
    if (!defanged && s_in (norm, strlen (norm), s_products)) {
        *rc = s_hit (s, IH_EXTRACT_SKIPPED, IH_IOC_DOMAIN, norm, NULL, false, "product name not taken for a domain");
        return -1;
    }
    if (!ih_extract_registrable (norm)) {
        *rc = s_hit (s, IH_EXTRACT_SKIPPED, IH_IOC_DOMAIN, norm, NULL, false, "name without a known public suffix");
        return -1;
    }
    *rc = s_hit (s, IH_EXTRACT_IOC, IH_IOC_DOMAIN, norm, comment, true, NULL);
    return 1;
}

/*  Steps back from text [at] over white space and punctuation, ASCII or full-width
    (U+3000..U+303F, U+FF00..U+FF20): where the word before ends. */
static size_t
s_back_skip (const char *text, size_t at)
{
    while (at > 0) {
        unsigned char c = (unsigned char) text [at - 1];
        if (c < 0x80) {
            if (isalnum (c))
                break;
            at--;
            continue;
        }
        //  A three-byte UTF-8 character ending here?
        if (at >= 3 && ((unsigned char) text [at - 3] & 0xf0) == 0xe0) {
            unsigned cp = (((unsigned char) text [at - 3] & 0x0fu) << 12)
                        | (((unsigned char) text [at - 2] & 0x3fu) << 6) | (c & 0x3fu);
            if ((cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xff00 && cp <= 0xff20)) {
                at -= 3;
                continue;
            }
        }
        break;
    }
    return at;
}

/*  The ASCII word that ends at text [at] (letters only): its start. */
static size_t
s_word_before (const char *text, size_t at)
{
    size_t b = at;
    while (b > 0 && isalpha ((unsigned char) text [b - 1]))
        b--;
    return b;
}

static bool
s_ends_with (const char *text, size_t at, const char *suffix)
{
    size_t n = strlen (suffix);
    return at >= n && memcmp (text + at - n, suffix, n) == 0;
}

/*  Whether the quad that starts at off is a version number: a version word right before
    it, or a chain word (or "," "-") after a quad that was one. */
static bool
s_version_context (s_scan_t *s, size_t off)
{
    size_t at = s_back_skip (s->text, off);
    if (s_ends_with (s->text, at, "\xe7\x89\x88\xe6\x9c\xac")                  //  版本
    ||  s_ends_with (s->text, at, "\xe7\x89\x88\xe6\x9c\xac\xe8\x99\x9f")      //  版本號
    ||  s_ends_with (s->text, at, "\xe7\x89\x88\xe6\x9c\xac\xe5\x8f\xb7"))     //  版本号
        return true;
    size_t b = s_word_before (s->text, at);
    if (b < at && (b == 0 || !isalnum ((unsigned char) s->text [b - 1]))
    &&  s_in (s->text + b, at - b, s_version_words))
        return true;
    if (s->version_end == 0)
        return false;
    //  Chained: "7.1.0.12 through 7.1.0.40", "7.1.0.12, 7.1.0.40", "9.4.1.2 及 …".
    if (at == s->version_end)
        return true;
    if (b < at && s_in (s->text + b, at - b, s_chain_words))
        return s_back_skip (s->text, b) == s->version_end;
    if (s_ends_with (s->text, at, "\xe5\x8f\x8a"))                             //  及
        return s_back_skip (s->text, at - 3) == s->version_end;
    return false;
}

/*  CVE ids and technique ids anywhere in v (not a URL), each as a word. */
static int
s_ids_inside (s_scan_t *s, const char *v)
{
    int rc = 0;
    size_t n = strlen (v);
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool start = i == 0 || !isalnum ((unsigned char) v [i - 1]);
        //  CVE-YYYY-N…: the whole digit run, validated by ih_ioc.
        if (start && i + 4 <= n && strncasecmp (v + i, "cve-", 4) == 0) {
            size_t j = i + 4;
            while (j < n && isdigit ((unsigned char) v [j]))
                j++;
            if (j < n && v [j] == '-' && j > i + 4) {
                j++;
                while (j < n && isdigit ((unsigned char) v [j]))
                    j++;
            }
            if (j == n || !isalnum ((unsigned char) v [j])) {
                char id [32];
                if (j - i < sizeof id) {
                    memcpy (id, v + i, j - i);
                    id [j - i] = 0;
                    bool taken;
                    rc = s_ioc (s, IH_IOC_CVE, id, NULL, &taken);
                }
            }
            i = j - 1;
            continue;
        }
        //  T1NNN or T1NNN.NNN: neighbours not letters, digits, '-' or '_'; a '.' after it
        //  must not be followed by a digit (T1059.1 is nothing).
        bool tstart = i == 0 || !(isalnum ((unsigned char) v [i - 1]) || v [i - 1] == '-' || v [i - 1] == '_');
        if (tstart && v [i] == 'T' && i + 5 <= n && v [i + 1] == '1' && isdigit ((unsigned char) v [i + 2])
        &&  isdigit ((unsigned char) v [i + 3]) && isdigit ((unsigned char) v [i + 4])) {
            size_t j = i + 5;
            if (j + 4 <= n && v [j] == '.' && isdigit ((unsigned char) v [j + 1])
            &&  isdigit ((unsigned char) v [j + 2]) && isdigit ((unsigned char) v [j + 3]))
                j += 4;
            bool end = j == n || !(isalnum ((unsigned char) v [j]) || v [j] == '-' || v [j] == '_');
            if (end && j < n && v [j] == '.' && j + 1 < n && isdigit ((unsigned char) v [j + 1]))
                end = false;
            if (end) {
                char id [16];
                memcpy (id, v + i, j - i);
                id [j - i] = 0;
                rc = s_hit (s, IH_EXTRACT_TECHNIQUE, IH_IOC_IPV4, id, NULL, false, NULL);
            }
            i = j - 1;
        }
    }
    return rc;
}

static bool
s_all (const char *p, size_t n, const char *chars)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr (chars, p [i]) || !p [i])
            return false;
    return n > 0;
}

static bool
s_hex (const char *p, size_t n)
{
    return s_all (p, n, "0123456789abcdefABCDEF");
}

/* ---- one candidate ---------------------------------------------------------------------------- */

/*  Strips what surrounds a value in prose, in place: a Markdown link's text, leading
    "( [ { < \" ' ` * _" and trailing ". , ; : ! ? ) ] } > \" ' ` * _", never the brackets
    of a defang token. Returns the start; *n is the length. */
static char *
s_strip (char *v, size_t *n)
{
    char *link = strstr (v, "](");
    if (link && link [2]) {
        *n -= (size_t) (link + 2 - v);
        v = link + 2;
    }
    for (;;) {
        if (*n && strchr ("([{<\"'`*_", *v) && *v) {
            char tmp [16];
            size_t k = *n < 9 ? *n : 9;
            memcpy (tmp, v, k);
            tmp [k] = 0;
            bool defang = false;
            if (strchr ("([{", *v)) {
                char out [16];
                bool d = false;
                //  A defang token at the start ("[.]…") keeps its bracket.
                for (size_t l = 3; l <= k && !defang; l++)
                    defang = ih_defang_refang (tmp, l, out, sizeof out, &d) >= 0 && d && strlen (out) <= 3
                          && !strchr ("([{", out [0]);
            }
            if (!defang) {
                v++;
                (*n)--;
                continue;
            }
        }
        if (*n && strchr (".,;:!?)]}>\"'`*_", v [*n - 1])) {
            char c = v [*n - 1];
            if (strchr (")]}", c) && *n >= 3) {
                char out [16];
                bool d = false;
                size_t k = *n < 7 ? *n : 7;
                bool defang = false;
                for (size_t l = 3; l <= k && !defang; l++)
                    defang = ih_defang_refang (v + *n - l, l, out, sizeof out, &d) >= 0 && d
                          && strlen (out) < l && (out [0] == '.' || out [0] == '@' || out [0] == ':')
                          && strlen (out) <= 3;
                if (defang)
                    break;
            }
            (*n)--;
            continue;
        }
        break;
    }
    v [*n] = 0;
    return v;
}

static int
s_candidate (s_scan_t *s, const ih_defang_cand_t *cand)
{
    char raw [IH_MAX_IOC_VALUE + 1];
    memcpy (raw, cand->raw, cand->len + 1);
    size_t n = cand->len;
    //  "{<32 hex>}": how the registry writes a CLSID; not a hash.
    const char *brace = raw;
    while (*brace && strchr ("(\"'`", *brace))
        brace++;
    if (brace [0] == '{' && strlen (brace) >= 34 && s_hex (brace + 1, 32) && brace [33] == '}')
        return 0;
    char *tok = s_strip (raw, &n);
    if (n == 0)
        return 0;
    char value [IH_MAX_IOC_VALUE + 1];
    bool defanged = false;
    int vl = ih_defang_refang (tok, n, value, sizeof value, &defanged);
    if (vl <= 0)
        return 0;
    defanged |= cand->words;
    char *v = value;
    int rc = 0;
    bool taken = false;

    //  URLs: nothing inside one is looked at.
    char *sep = strstr (v, "://");
    if (sep) {
        for (char *p = v; p < sep; p++)
            *p = (char) tolower ((unsigned char) *p);
        bool ftp = strncmp (v, "ftp://", 6) == 0 || strncmp (v, "ftps://", 7) == 0;
        bool web = strncmp (v, "http://", 7) == 0 || strncmp (v, "https://", 8) == 0;
        char norm [IH_MAX_IOC_VALUE + 1];
        if ((!ftp && !web) || ih_ioc_normalise (IH_IOC_URL, v, norm, sizeof norm, NULL) != 0)
            return 0;
        if (web && !defanged && !s->opts->plain_urls_as_iocs)
            return s_hit (s, IH_EXTRACT_REFERENCE, IH_IOC_URL, norm, NULL, false, NULL);
        return s_hit (s, IH_EXTRACT_IOC, IH_IOC_URL, norm, NULL, true, NULL);
    }
    rc = s_ids_inside (s, v);
    if (rc)
        return rc;

    //  Paths that start like one: "C:\…", "\\share\…", "/tmp/…", "%TEMP%\…".
    bool path = (isalpha ((unsigned char) v [0]) && v [1] == ':' && v [2] == '\\')
             || v [0] == '\\' || v [0] == '/' || v [0] == '%' || strchr (v, '\\');
    //  IPv6 (and IPv6 networks) before the labels: "fd00::1" is not a label "fd00:".
    size_t vn = strlen (v);
    if (!path && strchr (v, ':') != strrchr (v, ':') && s_all (v, vn, "0123456789abcdefABCDEF:./")) {
        if (strchr (v, '/')) {
            if ((rc = s_ioc (s, IH_IOC_CIDR, v, NULL, &taken)) || taken)
                return rc;
            *strchr (v, '/') = 0;       //  host bits set: the address
            char *len_s = v + strlen (v) + 1;
            uint64_t plen;
            if (!ih_parse_uint (len_s, 0, 128, &plen))
                return 0;
        }
        return s_ioc (s, IH_IOC_IPV6, v, NULL, &taken);
    }
    //  Labels: "ip:", "sha256=" … are dropped; any other "word:" makes it nothing.
    if (!path && isalpha ((unsigned char) v [0])) {
        size_t w = strspn (v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        if (v [w] == ':' || v [w] == '=') {
            if (!s_in (v, w, s_labels) || !v [w + 1])
                return 0;
            v += w + 1;
            vn = strlen (v);
        }
    }
    //  Ports: "[2001:db8::1]:443", "1.2.3.4:443", "name:8080".
    char comment [32] = "";
    char *colon = strrchr (v, ':');
    if (!path && colon && colon [1] && strlen (colon + 1) <= 5 && s_all (colon + 1, strlen (colon + 1), "0123456789")) {
        if (colon > v && colon [-1] == ']') {
            //  "[2001:db8::1]:443" (its leading bracket went with the punctuation)
            snprintf (comment, sizeof comment, "port %s", colon + 1);
            colon [-1] = 0;
            return s_ioc (s, IH_IOC_IPV6, v + (v [0] == '['), comment, &taken);
        }
        if (strchr (v, ':') == colon) {
            snprintf (comment, sizeof comment, "port %s", colon + 1);
            *colon = 0;
            vn = strlen (v);
        }
    }
    if (!path && strchr (v, ':'))
        return 0;                       //  times, MACs, "std::string", other prefixes
    //  CIDR, or an interface address with host bits set.
    if (!path && strchr (v, '/') && strchr (v, '/') == strrchr (v, '/')
    &&  s_all (v, vn, "0123456789./")) {
        if ((rc = s_ioc (s, IH_IOC_CIDR, v, NULL, &taken)) || taken)
            return rc;
        char *slash = strchr (v, '/');
        uint64_t plen;
        if (!ih_parse_uint (slash + 1, 0, 32, &plen))
            return 0;
        *slash = 0;
        if (s_version_context (s, cand->off))
            return 0;
        return s_ioc (s, IH_IOC_IPV4, v, NULL, &taken);
    }
    //  Hashes: exactly 32, 40 or 64 hex digits; not a git commit id.
    if ((vn == 32 || vn == 40 || vn == 64) && s_hex (v, vn)) {
        if (vn == 40 && strcasecmp (cand->prev, "commit") == 0)
            return 0;
        return s_ioc (s, vn == 32 ? IH_IOC_MD5 : vn == 40 ? IH_IOC_SHA1 : IH_IOC_SHA256, v, NULL, &taken);
    }
    //  ASN: "AS64496", "ASN64496" (any case; "AS 64496" was joined upper-case only).
    if (strncasecmp (v, "as", 2) == 0) {
        const char *d = v + 2 + (tolower ((unsigned char) v [2]) == 'n');
        if (s_all (d, strlen (d), "0123456789")) {
            char asn [32];
            if (strlen (d) > 10)
                return 0;
            snprintf (asn, sizeof asn, "AS%s", d);
            return s_ioc (s, IH_IOC_ASN, asn, NULL, &taken);
        }
    }
    //  IPv4, unless it is a version number.
    char norm [IH_MAX_IOC_VALUE + 1];
    if (!path && ih_ioc_normalise (IH_IOC_IPV4, v, norm, sizeof norm, NULL) == 0) {
        if (s_version_context (s, cand->off)) {
            s->version_end = cand->off + (size_t) (tok - raw) + n;
            return 0;
        }
        return s_hit (s, IH_EXTRACT_IOC, IH_IOC_IPV4, norm, comment, true, NULL);
    }
    //  E-mail: the domain by the domain rules.
    char *at = strchr (v, '@');
    if (at && !path) {
        if (at == v || strchr (at + 1, '@') || !strchr (at + 1, '.'))
            return 0;
        char dom [IH_MAX_IOC_VALUE + 1];
        if (ih_ioc_normalise (IH_IOC_DOMAIN, at + 1, dom, sizeof dom, NULL) != 0 || !ih_extract_registrable (dom))
            return 0;
        return s_ioc (s, IH_IOC_EMAIL, v, comment, &taken);
    }
    //  Paths: a host as first segment gives the host; otherwise only the base name.
    if (path || strchr (v, '/')) {
        char *slash = strchr (v, '/');
        if (!path && slash) {
            *slash = 0;
            if (ih_ioc_normalise (IH_IOC_IPV4, v, norm, sizeof norm, NULL) == 0)
                return s_hit (s, IH_EXTRACT_IOC, IH_IOC_IPV4, norm, comment, true, NULL);
            int drc = 0;
            if (strchr (v, '.') && s_domain (s, v, defanged, comment, &drc) != 0)
                return drc;
            *slash = '/';
        }
        char *base = v;
        for (char *p = v; *p; p++)
            if (*p == '/' || *p == '\\')
                base = p + 1;
        if (*base && s_ext_in (base, s_exec_ext))
            return s_ioc (s, IH_IOC_FILENAME, base, NULL, &taken);
        return 0;
    }
    if (s_ext_in (v, s_exec_ext))
        return s_ioc (s, IH_IOC_FILENAME, v, NULL, &taken);
    if (strchr (v, '.')) {
        int drc = 0;
        s_domain (s, v, defanged, comment, &drc);
        return drc;
    }
    return 0;
}

static int
s_on_cand (const ih_defang_cand_t *cand, void *arg)
{
    return s_candidate ((s_scan_t *) arg, cand);
}

int
ih_extract_run (const char *text, size_t len, const ih_extract_opts_t *opts, ih_extract_fn *fn, void *arg)
{
    static const ih_extract_opts_t defaults = { false, NULL };
    s_scan_t s = { opts ? opts : &defaults, fn, arg, text, len, zhashx_new (), 0 };
    if (!s.seen)
        abort ();
    int rc = ih_defang_split (text, len, s_registrable, NULL, s_on_cand, &s);
    zhashx_destroy (&s.seen);
    return rc;
}

int
ih_extract_scan (const char *text, size_t len, bool plain_urls_as_iocs, ih_extract_fn *fn, void *arg)
{
    ih_extract_opts_t opts = { plain_urls_as_iocs, NULL };
    return ih_extract_run (text, len, &opts, fn, arg);
}

/* ---- TLP ---------------------------------------------------------------------------------- */

/*  "TLP:LEVEL", "TLP: LEVEL", "TLP LEVEL": the most restrictive; -1 when none. */
int
ih_extract_tlp (const char *text, size_t len)
{
    int best = -1;
    static const struct { const char *word; ih_tlp_t tlp; } words [] = {
        { "AMBER+STRICT", IH_TLP_AMBER_STRICT }, { "CLEAR", IH_TLP_CLEAR }, { "WHITE", IH_TLP_CLEAR },
        { "GREEN", IH_TLP_GREEN }, { "AMBER", IH_TLP_AMBER }, { "RED", IH_TLP_RED }, { NULL, IH_TLP_CLEAR }
    };
    for (size_t i = 0; i + 3 < len; i++) {
        if (strncasecmp (text + i, "TLP", 3) != 0 || (i && isalnum ((unsigned char) text [i - 1])))
            continue;
        size_t j = i + 3;
        while (j < len && (text [j] == ':' || text [j] == ' '))
            j++;
        for (int k = 0; words [k].word; k++) {
            size_t n = strlen (words [k].word);
            if (j + n <= len && strncasecmp (text + j, words [k].word, n) == 0
            && (j + n == len || !isalnum ((unsigned char) text [j + n]))) {
                if ((int) words [k].tlp > best)
                    best = (int) words [k].tlp;
                break;
            }
        }
    }
    return best;
}

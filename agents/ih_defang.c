/*  ih_defang.c: prose cut into candidates, defangs undone (ih_defang.h).

    Read top to bottom: the defang tokens, refanging one candidate, cutting the text
    into tokens, then the joins (word-style e-mail and dots, spaced URLs, spaced
    defangs, spaced ASNs) in the order ih_defang_split tries them.
*/
#include <czmq.h>

#include "ih_defang.h"

/* ---- defang tokens -------------------------------------------------------------------------- */

/*  The written forms and what they stand for. Longest first where one starts another. */
static const struct { const char *in; const char *out; } s_tokens [] = {
    { "[://]", "://" }, { "[dot]", "." }, { "(dot)", "." }, { "{dot}", "." },
    { "[at]", "@" }, { "(at)", "@" }, { "{at}", "@" },
    { "[.]", "." }, { "(.)", "." }, { "{.}", "." }, { "[@]", "@" }, { "[:]", ":" },
    { "\\.", "." }, { NULL, NULL }
};

/*  The length of the defang token that starts at p (n bytes left), nested brackets
    included ("[[.]]" is 5), with its meaning in *out; 0 when none starts there. */
static size_t
s_defang_at (const char *p, size_t n, const char **out)
{
    //  Nesting: "[[.]]", "([.])": d outer brackets, then a token, then d closing ones.
    size_t depth = 0;
    while (depth < n && depth < 4 && (p [depth] == '[' || p [depth] == '(' || p [depth] == '{'))
        depth++;
    for (size_t d = depth; ; d--) {
        for (int i = 0; s_tokens [i].in; i++) {
            size_t tl = strlen (s_tokens [i].in);
            if (d + tl + d > n || strncasecmp (p + d, s_tokens [i].in, tl) != 0)
                continue;
            bool closed = true;
            for (size_t k = 0; k < d && closed; k++)
                closed = p [d + tl + k] == ']' || p [d + tl + k] == ')' || p [d + tl + k] == '}';
            if (closed) {
                if (out)
                    *out = s_tokens [i].out;
                return d + tl + d;
            }
        }
        if (d == 0)
            break;
    }
    return 0;
}

/*  Whether the n bytes at p end with a defang token. */
static bool
s_ends_defang (const char *p, size_t n)
{
    for (size_t k = n < 9 ? n : 9; k >= 2; k--)
        if (s_defang_at (p + n - k, k, NULL) == k)
            return true;
    return false;
}

/*  Scheme words a defanged URL starts with, and what they stand for. */
static const struct { const char *in; const char *out; } s_schemes [] = {
    { "hxxps", "https" }, { "hxxp", "http" }, { "h**ps", "https" }, { "h**p", "http" },
    { "meows", "https" }, { "meow", "http" }, { NULL, NULL }
};

int
ih_defang_refang (const char *in, size_t len, char *out, size_t outsz, bool *defanged)
{
    size_t o = 0, i = 0;
    bool changed = false;
    //  The scheme, only at the start and only before "://" (possibly defanged itself).
    for (int k = 0; s_schemes [k].in; k++) {
        size_t sl = strlen (s_schemes [k].in);
        if (len > sl && strncasecmp (in, s_schemes [k].in, sl) == 0
        &&  (in [sl] == ':' || in [sl] == '[')) {
            const char *rest = in + sl;
            size_t left = len - sl;
            const char *tok = NULL;
            size_t tl = s_defang_at (rest, left, &tok);
            bool colon = (left >= 3 && memcmp (rest, "://", 3) == 0)
                      || (tl && (streq (tok, "://") || (streq (tok, ":") && left >= tl + 2
                                                         && memcmp (rest + tl, "//", 2) == 0)));
            if (colon) {
                size_t ol = strlen (s_schemes [k].out);
                if (ol + 1 > outsz)
                    return -1;
                memcpy (out, s_schemes [k].out, ol);
                o = ol;
                i = sl;
                changed = true;
            }
            break;
        }
    }
    while (i < len) {
        const char *tok = NULL;
        size_t tl = in [i] == '[' || in [i] == '(' || in [i] == '{' || in [i] == '\\'
                  ? s_defang_at (in + i, len - i, &tok) : 0;
        const char *piece = tl ? tok : in + i;
        size_t pl = tl ? strlen (tok) : 1;
        if (o + pl + 1 > outsz)
            return -1;
        memcpy (out + o, piece, pl);
        o += pl;
        i += tl ? tl : 1;
        changed |= tl != 0;
    }
    out [o] = 0;
    if (defanged)
        *defanged = changed;
    return (int) o;
}

/* ---- tokens ------------------------------------------------------------------------------- */

typedef struct {
    size_t off, len;
    bool spaced;            /* separated from the previous token by ASCII white space only */
} s_tok_t;

typedef struct {
    const char *text;
    s_tok_t *toks;
    size_t n;
    ih_defang_registrable_fn *reg;
    void *reg_arg;
    ih_defang_fn *fn;
    void *arg;
    char buf [IH_MAX_IOC_VALUE + 1];
    size_t blen;
    bool overflow;
} s_split_t;

static bool
s_is_sep (unsigned char c)
{
    return c <= ' ' || c >= 0x7f;
}

static bool
s_tok_is (s_split_t *s, size_t i, const char *word)
{
    return i < s->n && s->toks [i].len == strlen (word)
        && strncasecmp (s->text + s->toks [i].off, word, s->toks [i].len) == 0;
}

static bool
s_spaced (s_split_t *s, size_t i)
{
    return i < s->n && s->toks [i].spaced;
}

static void
s_buf_add (s_split_t *s, const char *p, size_t n)
{
    if (s->blen + n > IH_MAX_IOC_VALUE) {
        s->overflow = true;
        return;
    }
    memcpy (s->buf + s->blen, p, n);
    s->blen += n;
    s->buf [s->blen] = 0;
}

/*  Emits buf as a candidate covering tokens first..last. */
static int
s_emit (s_split_t *s, size_t first, size_t last, bool words)
{
    if (s->overflow || s->blen == 0)
        return 0;
    char prev [IH_MAX_IOC_VALUE + 1] = "";
    if (first > 0 && s->toks [first - 1].len <= IH_MAX_IOC_VALUE) {
        memcpy (prev, s->text + s->toks [first - 1].off, s->toks [first - 1].len);
        prev [s->toks [first - 1].len] = 0;
    }
    ih_defang_cand_t c = { s->buf, s->blen, s->toks [first].off,
                           s->toks [last].off + s->toks [last].len, words, last > first, prev };
    return s->fn (&c, s->arg);
}

static void
s_buf_start (s_split_t *s)
{
    s->blen = 0;
    s->buf [0] = 0;
    s->overflow = false;
}

/* ---- word-style joins ----------------------------------------------------------------------- */

/*  Words that are never the first label of a name spelled with "dot" ("the dot com era"). */
static const char *s_function_words [] = {
    "the", "a", "an", "this", "that", "our", "your", "its", "one", "no", "any", "each", "every",
    "some", NULL
};
/*  Words that are never the user of "user at name dot tld" ("the panel is at …"). */
static const char *s_not_users [] = {
    "is", "are", "was", "were", "be", "been", "am", "look", "looked", "located", "hosted", "found",
    "seen", "sits", "lives", "points", "it", "this", "that", "us", "me", "them", "and", "or", NULL
};

static bool
s_in_list (const char *p, size_t n, const char **list)
{
    for (int i = 0; list [i]; i++)
        if (strlen (list [i]) == n && strncasecmp (p, list [i], n) == 0)
            return true;
    return false;
}

static bool
s_label_chars (const char *p, size_t n, const char *extra)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum ((unsigned char) p [i]) && p [i] != '-' && !strchr (extra, p [i]))
            return false;
    return true;
}

/*  Token i's bytes without leading "([{<\"'" and, when last, trailing sentence
    punctuation. */
static void
s_tok_trim (s_split_t *s, size_t i, bool lead, bool trail, const char **p, size_t *n)
{
    *p = s->text + s->toks [i].off;
    *n = s->toks [i].len;
    while (lead && *n && strchr ("([{<\"'`*_", **p)) {
        (*p)++;
        (*n)--;
    }
    while (trail && *n && strchr (".,;:!?)]}>\"'`*_", (*p) [*n - 1]))
        (*n)--;
}

/*  "X dot Y [dot Z …]" from token i: the last token of the longest chain whose joined
    name is registrable (written into buf), or 0 when there is none. */
static size_t
s_word_dots (s_split_t *s, size_t i)
{
    if (!s->reg || !s_tok_is (s, i + 1, "dot") || !s_spaced (s, i + 1) || !s_spaced (s, i + 2))
        return 0;
    const char *p;
    size_t n;
    s_tok_trim (s, i, true, false, &p, &n);
    if (!s_label_chars (p, n, ".") || s_in_list (p, n, s_function_words) || s_tok_is (s, i, "dot"))
        return 0;
    //  The chain's extent: dot, label, dot, label … (all separated by spaces).
    size_t last = i + 2;
    while (s_tok_is (s, last + 1, "dot") && s_spaced (s, last + 1) && s_spaced (s, last + 2)
       &&  last + 2 < s->n)
        last += 2;
    for (; last >= i + 2; last -= 2) {
        s_buf_start (s);
        s_buf_add (s, p, n);
        bool ok = true;
        for (size_t k = i + 2; k <= last && ok; k += 2) {
            const char *lp;
            size_t ln;
            s_tok_trim (s, k, false, k == last, &lp, &ln);
            ok = s_label_chars (lp, ln, "");
            s_buf_add (s, ".", 1);
            s_buf_add (s, lp, ln);
        }
        if (ok && !s->overflow) {
            for (size_t k = 0; k < s->blen; k++)
                s->buf [k] = (char) tolower ((unsigned char) s->buf [k]);
            if (s->reg (s->buf, s->reg_arg))
                return last;
        }
        if (last < i + 4)
            break;
    }
    return 0;
}

/*  "user at X dot Y …" from token i: the last token, with "user@x.y" in buf; 0 if not. */
static size_t
s_word_email (s_split_t *s, size_t i)
{
    if (!s_tok_is (s, i + 1, "at") || !s_spaced (s, i + 1) || !s_spaced (s, i + 2))
        return 0;
    const char *up;
    size_t un;
    s_tok_trim (s, i, true, false, &up, &un);
    if (un == 0 || un > 64 || s_in_list (up, un, s_not_users))
        return 0;
    for (size_t k = 0; k < un; k++)
        if (!isalnum ((unsigned char) up [k]) && !strchr ("._%+-", up [k]))
            return 0;
    size_t last = s_word_dots (s, i + 2);
    if (!last)
        return 0;
    char domain [IH_MAX_IOC_VALUE + 1];
    memcpy (domain, s->buf, s->blen + 1);
    s_buf_start (s);
    s_buf_add (s, up, un);
    s_buf_add (s, "@", 1);
    s_buf_add (s, domain, strlen (domain));
    return last;
}

/* ---- spaced URLs and defangs ---------------------------------------------------------------- */

static bool
s_is_scheme_word (s_split_t *s, size_t i)
{
    static const char *words [] = { "hxxp", "hxxps", "h**p", "h**ps", "meow", "meows", "http", "https",
                                    "ftp", NULL };
    const char *p = s->text + s->toks [i].off;
    return s_in_list (p, s->toks [i].len, words);
}

static bool
s_starts_colon (s_split_t *s, size_t i)
{
    const char *p = s->text + s->toks [i].off;
    size_t n = s->toks [i].len;
    return (n >= 3 && memcmp (p, "://", 3) == 0) || (n >= 5 && strncmp (p, "[://]", 5) == 0)
        || (n >= 5 && strncmp (p, "[:]//", 5) == 0);
}

/*  A spaced URL from scheme word i: the last token glued (buf holds the glued text), or 0. */
static size_t
s_spaced_url (s_split_t *s, size_t i)
{
    if (!s_is_scheme_word (s, i) || !s_spaced (s, i + 1) || !s_starts_colon (s, i + 1))
        return 0;
    s_buf_start (s);
    s_buf_add (s, s->text + s->toks [i].off, s->toks [i].len);
    size_t last = i;
    bool pending_dot = false;
    while (last + 1 < s->n && s_spaced (s, last + 1)) {
        size_t b = last + 1;
        const char *bp = s->text + s->toks [b].off;
        size_t bn = s->toks [b].len;
        if (s_tok_is (s, b, "dot")) {
            if (pending_dot)
                break;
            s_buf_add (s, ".", 1);
            pending_dot = true;
            last = b;
            continue;
        }
        bool glue = pending_dot || s_ends_defang (s->buf, s->blen) || s_defang_at (bp, bn, NULL)
                 || (s->blen >= 3 && memcmp (s->buf + s->blen - 3, "://", 3) == 0)
                 || s->buf [s->blen - 1] == '/' || bp [0] == '/' || s_starts_colon (s, b);
        if (!glue)
            break;
        s_buf_add (s, bp, bn);
        pending_dot = false;
        last = b;
    }
    return last;
}

/*  Tokens glued by defangs that touch the space between them, from token i: the last
    one (buf holds the glued text), or i when there is nothing to glue. */
static size_t
s_spaced_defang (s_split_t *s, size_t i)
{
    s_buf_start (s);
    s_buf_add (s, s->text + s->toks [i].off, s->toks [i].len);
    size_t last = i;
    while (last + 1 < s->n && s_spaced (s, last + 1)) {
        const char *bp = s->text + s->toks [last + 1].off;
        size_t bn = s->toks [last + 1].len;
        const char *tok = NULL;
        size_t tl = s_defang_at (bp, bn, &tok);
        //  Only dots and at-signs join words: "[:]" after a word is a port, not a gap.
        bool glue = (tl && (streq (tok, ".") || streq (tok, "@")))
                 || (s_ends_defang (s->buf, s->blen) && !strchr ("])}", bp [0]));
        if (!glue)
            break;
        s_buf_add (s, bp, bn);
        last++;
    }
    return last;
}

/*  "AS 64496" / "ASN 64496" (upper case only): token i + 1 (buf "AS64496"), or 0. */
static size_t
s_spaced_asn (s_split_t *s, size_t i)
{
    const char *p = s->text + s->toks [i].off;
    size_t n = s->toks [i].len;
    if (!((n == 2 && memcmp (p, "AS", 2) == 0) || (n == 3 && memcmp (p, "ASN", 3) == 0))
    ||  !s_spaced (s, i + 1))
        return 0;
    const char *dp;
    size_t dn;
    s_tok_trim (s, i + 1, false, true, &dp, &dn);
    if (dn == 0 || dn > 10)
        return 0;
    for (size_t k = 0; k < dn; k++)
        if (!isdigit ((unsigned char) dp [k]))
            return 0;
    s_buf_start (s);
    s_buf_add (s, "AS", 2);
    s_buf_add (s, dp, dn);
    return i + 1;
}

/* ---- the split ------------------------------------------------------------------------------ */

int
ih_defang_split (const char *text, size_t len, ih_defang_registrable_fn *is_registrable,
                 void *reg_arg, ih_defang_fn *fn, void *arg)
{
    s_split_t *s = (s_split_t *) calloc (1, sizeof *s);
    if (!s)
        abort ();
    s->text = text;
    s->reg = is_registrable;
    s->reg_arg = reg_arg;
    s->fn = fn;
    s->arg = arg;
    size_t cap = 64;
    s->toks = (s_tok_t *) malloc (cap * sizeof *s->toks);
    if (!s->toks)
        abort ();
    bool gap_ascii = false;
    for (size_t i = 0; i < len; ) {
        if (s_is_sep ((unsigned char) text [i])) {
            if ((unsigned char) text [i] >= 0x7f || text [i] == 0)
                gap_ascii = false;
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && !s_is_sep ((unsigned char) text [i]))
            i++;
        if (s->n == cap) {
            cap *= 2;
            s->toks = (s_tok_t *) realloc (s->toks, cap * sizeof *s->toks);
            if (!s->toks)
                abort ();
        }
        //  "spaced": the gap before holds ASCII white space only (and is not empty).
        s->toks [s->n++] = (s_tok_t) { start, i - start, s->n > 0 && gap_ascii };
        gap_ascii = true;
    }
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; ) {
        size_t last;
        if ((last = s_word_email (s, i)) || (last = s_word_dots (s, i))) {
            rc = s_emit (s, i, last, true);
            i = last + 1;
            continue;
        }
        if ((last = s_spaced_url (s, i)) || (last = s_spaced_asn (s, i))) {
            rc = s_emit (s, i, last, false);
            i = last + 1;
            continue;
        }
        last = s_spaced_defang (s, i);
        rc = s_emit (s, i, last, false);
        i = last + 1;
    }
    free (s->toks);
    free (s);
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static bool
s_treg (const char *name, void *arg)
{
    (void) arg;
    const char *dot = strrchr (name, '.');
    return dot && (streq (dot, ".com") || streq (dot, ".top") || streq (dot, ".xyz") || streq (dot, ".net"))
        && dot != name;
}

typedef struct {
    char out [16][128];
    bool words [16];
    int n;
} s_tcands_t;

static int
s_tcand (const ih_defang_cand_t *c, void *arg)
{
    s_tcands_t *t = (s_tcands_t *) arg;
    IH_CHECK (strlen (c->raw) == c->len && c->off < c->end);
    if (t->n < 16) {
        snprintf (t->out [t->n], sizeof t->out [0], "%s", c->raw);
        t->words [t->n++] = c->words;
    }
    return 0;
}

static void
s_tsplit (const char *text, const char *const *want)
{
    s_tcands_t t;
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_defang_split (text, strlen (text), s_treg, NULL, s_tcand, &t) == 0);
    int k = 0;
    for (; want [k]; k++) {
        if (k >= t.n || !streq (t.out [k], want [k]))
            fprintf (stderr, "split '%s': candidate %d is '%s', expected '%s'\n", text, k,
                     k < t.n ? t.out [k] : "(none)", want [k]);
        IH_CHECK (k < t.n && streq (t.out [k], want [k]));
    }
    IH_CHECK (k == t.n);
}

void
ih_defang_test (bool verbose)
{
    //  Refanging one candidate.
    static const struct { const char *in, *out; bool defanged; } cases [] = {
        { "evil[.]com", "evil.com", true },
        { "EVIL[DOT]COM", "EVIL.COM", true },
        { "a{dot}b(.)c{.}d(dot)e", "a.b.c.d.e", true },
        { "x[[.]]y", "x.y", true },
        { "x([.])y", "x.y", true },
        { "evil-cdn\\.top", "evil-cdn.top", true },
        { "u[@]d[.]com", "u@d.com", true },
        { "u{at}d(at)e[at]f", "u@d@e@f", true },
        { "hxxps[:]//a[.]b/c", "https://a.b/c", true },
        { "HXXP://a.b", "http://a.b", true },
        { "h**ps://a.b", "https://a.b", true },
        { "meow://a.b", "http://a.b", true },
        { "meows[://]a.b", "https://a.b", true },
        { "hxxp", "hxxp", false },
        { "1.2.3.4[:]443", "1.2.3.4:443", true },
        { "[2001:db8::1]:443", "[2001:db8::1]:443", false },
        { "plain.text", "plain.text", false },
        { "[", "[", false }, { "(", "(", false }, { "\\", "\\", false },
        { NULL, NULL, false }
    };
    for (int i = 0; cases [i].in; i++) {
        char out [64];
        bool d = false;
        int n = ih_defang_refang (cases [i].in, strlen (cases [i].in), out, sizeof out, &d);
        if (verbose || n < 0 || !streq (out, cases [i].out) || d != cases [i].defanged)
            printf ("  refang '%s' -> '%s' (%d)\n", cases [i].in, n >= 0 ? out : "?", d);
        IH_CHECK (n == (int) strlen (cases [i].out) && streq (out, cases [i].out) && d == cases [i].defanged);
        //  Idempotent, and an exact-size buffer works while one byte less fails.
        IH_CHECK (ih_defang_refang (out, strlen (out), out, sizeof out, &d) == n && !d);
        char exact [64];
        IH_CHECK (ih_defang_refang (cases [i].in, strlen (cases [i].in), exact, (size_t) n + 1, NULL) == n);
        IH_CHECK (ih_defang_refang (cases [i].in, strlen (cases [i].in), exact, (size_t) n, NULL) == -1);
    }
    //  Splitting and joining.
    s_tsplit ("visit northbank-verify dot com now", (const char *[]) { "visit", "northbank-verify.com", "now", NULL });
    s_tsplit ("the dot com era", (const char *[]) { "the", "dot", "com", "era", NULL });
    s_tsplit ("invoices AT supplier-remit DOT net.", (const char *[]) { "invoices@supplier-remit.net", NULL });
    s_tsplit ("is at panel dot logs dot xyz", (const char *[]) { "is", "at", "panel.logs.xyz", NULL });
    s_tsplit ("pay-portal [.] top (no", (const char *[]) { "pay-portal[.]top", "(no", NULL });
    s_tsplit ("hxxp :// evil [.] example / path and more",
              (const char *[]) { "hxxp://evil[.]example/path", "and", "more", NULL });
    s_tsplit ("hxxps :// pay dot bank dot xyz / otp", (const char *[]) { "hxxps://pay.bank.xyz/otp", NULL });
    s_tsplit ("hxxp://a.b/files/ with tools", (const char *[]) { "hxxp://a.b/files/", "with", "tools", NULL });
    s_tsplit ("AS 64499 (origin) As 2026 AS/400",
              (const char *[]) { "AS64499", "(origin)", "As", "2026", "AS/400", NULL });
    //  Non-ASCII cuts tokens and stops joins.
    s_tsplit ("\xe7\xb6\xb2\xe5\x9f\x9f" "hk-bank[.]top\xef\xbc\x8c" "x",
              (const char *[]) { "hk-bank[.]top", "x", NULL });
    s_tsplit ("a /\xef\xbc\x8c[.] b", (const char *[]) { "a", "/", "[.]b", NULL });
    s_tsplit ("", (const char *[]) { NULL });
    //  NUL bytes separate; an over-long candidate is dropped.
    s_tsplit ("a\0b", (const char *[]) { "a", NULL });
    char *big = (char *) malloc (IH_MAX_IOC_VALUE + 10);
    IH_CHECK (big);
    memset (big, 'x', IH_MAX_IOC_VALUE + 9);
    big [IH_MAX_IOC_VALUE + 9] = 0;
    big [0] = 'a';
    big [1] = ' ';
    s_tsplit (big, (const char *[]) { "a", NULL });
    free (big);
}
#endif

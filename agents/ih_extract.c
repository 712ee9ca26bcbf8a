/*  ih_extract.c: IOCs out of prose (ih_extract.h). */
#include <czmq.h>
#include <libpsl.h>

#include "ih_extract.h"
#include "ih_ioc.h"

/*  File extensions of things that run or carry macros: such names in prose are file names
    (filename IOCs), never domains. None of them is a top-level domain. */
static const char *s_exec_ext [] = {
    "exe", "dll", "scr", "ps1", "psm1", "vbs", "vbe", "jse", "wsf", "hta", "bat", "cmd", "lnk",
    "jar", "msi", "iso", "img", "docm", "xlsm", "pptm", "sys", "cpl", "pif", "elf", NULL
};
/*  Top-level domains that are also common file extensions: "update.zip" or "setup.py" in
    prose is a file, unless the author defanged it ("update[.]zip"). */
static const char *s_ext_tld [] = {
    "zip", "mov", "py", "pl", "sh", "md", "rs", "ps", "so", "cc", "pm", "sc", "cat", "sys", NULL
};

static bool
s_ext_in (const char *value, const char **list)
{
    const char *dot = strrchr (value, '.');
    if (!dot || dot == value)
        return false;
    for (int i = 0; list [i]; i++)
        if (strcasecmp (dot + 1, list [i]) == 0)
            return true;
    return false;
}

/*  A registrable name under a known public suffix (the '*' default rule does not count). */
static bool
s_psl_ok (const psl_ctx_t *psl, const char *domain)
{
    const char *tld = strrchr (domain, '.');
    if (!psl || !tld)
        return false;
    if (!psl_is_public_suffix2 (psl, tld + 1, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
        return false;
    return psl_registrable_domain (psl, domain) != NULL;
}

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

typedef struct {
    const psl_ctx_t *psl;
    bool plain_urls_as_iocs;
    ih_extract_fn *fn;
    void *arg;
} s_scan_t;

static int
s_hit (s_scan_t *s, ih_extract_kind_t kind, ih_ioc_type_t t, const char *value, const char *comment,
       bool detect, const char *why)
{
    ih_extract_hit_t h = { kind, t, value, comment ? comment : "", detect, why ? why : "" };
    return s->fn (&h, s->arg);
}

/*  One whitespace-separated token of prose (modified in place). */
static int
s_token (s_scan_t *s, char *tok)
{
    while (*tok && strchr ("\"'<({*`", *tok))
        tok++;
    size_t n = strlen (tok);
    while (n && strchr ("\"'>)}.,;:!?*`", tok [n - 1]))
        tok [--n] = 0;
    if (n < 3 || n > IH_MAX_IOC_VALUE)
        return 0;
    char value [IH_MAX_IOC_VALUE + 1];
    if (ih_ioc_refang (tok, value, sizeof value) < 0)
        return 0;
    bool defanged = strcmp (value, tok) != 0;
    //  Ports: "1.2.3.4:443", "[2001:db8::1]:443", "evil.com:8080" (not URLs).
    char comment [32] = "";
    char *v = value;
    if (!strstr (v, "://")) {
        char *colon = strrchr (v, ':');
        bool digits = colon && colon [1] && strlen (colon + 1) <= 5;
        for (char *p = colon ? colon + 1 : NULL; digits && *p; p++)
            digits = isdigit ((unsigned char) *p);
        bool v6 = v [0] == '[';
        if (digits && (v6 ? colon [-1] == ']' : strchr (v, ':') == colon)) {
            snprintf (comment, sizeof comment, "port %s", colon + 1);
            *colon = 0;
        }
        if (v [0] == '[' && v [strlen (v) - 1] == ']') {
            v [strlen (v) - 1] = 0;
            v++;
        }
    }
    ih_ioc_type_t t;
    char norm [IH_MAX_IOC_VALUE + 1];
    if (ih_ioc_guess (v, &t) != 0) {
        //  A file name too must validate (no control characters, valid UTF-8 …)
        if (!strchr (v, '/') && !strchr (v, '\\') && s_ext_in (v, s_exec_ext)
        &&  ih_ioc_normalise (IH_IOC_FILENAME, v, norm, sizeof norm, NULL) == 0)
            return s_hit (s, IH_EXTRACT_IOC, IH_IOC_FILENAME, norm, comment, false, NULL);
        return 0;
    }
    if (ih_ioc_normalise (t, v, norm, sizeof norm, NULL) != 0)
        return 0;
    bool detect = true;
    if (t == IH_IOC_DOMAIN || t == IH_IOC_EMAIL) {
        const char *dom = t == IH_IOC_EMAIL ? strrchr (norm, '@') + 1 : norm;
        if (t == IH_IOC_DOMAIN && !defanged && s_ext_in (norm, s_ext_tld))
            return s_hit (s, IH_EXTRACT_SKIPPED, t, norm, NULL, false, "file-like name not taken for a domain");
        if (!s_psl_ok (s->psl, dom))
            return s_hit (s, IH_EXTRACT_SKIPPED, t, norm, NULL, false, "name without a known public suffix");
    }
    if (t == IH_IOC_URL && !defanged && !s->plain_urls_as_iocs
    &&  (strncmp (norm, "http://", 7) == 0 || strncmp (norm, "https://", 8) == 0))
        return s_hit (s, IH_EXTRACT_REFERENCE, t, norm, NULL, false, NULL);
    return s_hit (s, IH_EXTRACT_IOC, t, norm, comment, detect, NULL);
}


int
ih_extract_scan (const char *text, size_t len, bool plain_urls_as_iocs, ih_extract_fn *fn, void *arg)
{
    psl_ctx_t *latest = psl_latest (NULL);
    s_scan_t s = { latest ? latest : psl_builtin (), plain_urls_as_iocs, fn, arg };
    char *buf = (char *) malloc (len + 1);
    if (!buf)
        abort ();
    memcpy (buf, text, len);
    buf [len] = 0;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r (buf, " \t\r\n\f\v", &save); tok && rc == 0;
         tok = strtok_r (NULL, " \t\r\n\f\v", &save))
        rc = s_token (&s, tok);
    free (buf);
    if (latest)
        psl_free (latest);
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

typedef struct {
    char seen [32][160];
    int n;
    int stop_at;
} s_tseen_t;

static int
s_tcollect (const ih_extract_hit_t *h, void *arg)
{
    s_tseen_t *t = (s_tseen_t *) arg;
    if (t->stop_at && t->n == t->stop_at)
        return 7;
    IH_CHECK (t->n < 32);
    static const char *kinds [] = { "ioc", "ref", "skip" };
    snprintf (t->seen [t->n++], sizeof t->seen [0], "%s %s %s%s%s%s", kinds [h->kind],
              h->kind == IH_EXTRACT_IOC ? ih_ioc_type_name (h->type) : "-", h->value,
              h->comment [0] ? " / " : "", h->comment, h->kind == IH_EXTRACT_IOC && !h->detect ? " nodetect" : "");
    return 0;
}

static bool
s_thas (const s_tseen_t *t, const char *want)
{
    for (int i = 0; i < t->n; i++)
        if (streq (t->seen [i], want))
            return true;
    return false;
}

void
ih_extract_test (bool verbose)
{
    const char *text =
        "Subject: \"Invoice\" wave -- TLP:GREEN\n"
        "Lure (invoice.exe) and update.zip, later update[.]zip; calls hxxps://pay-portal[.]top/login,\n"
        "45.33.32[.]156:8443, [2a03:2880::1]:443 and <evil-cdn(.)com>. Mail: billing[@]pay-portal[.]top.\n"
        "Hash 0C7B8F5D3E2A1B9C8D7E6F5A4B3C2D1E; CVE-2024-3400, AS64496, e.g. see readme.md or notes.txt\n"
        "at https://advisories.example.org/2024/1 and www.evil.example. 10.0.0.1 is internal.\n"
        "Also: evil-cdn.com:8080, run.ps1 and \"x.vbs\". Handled as TLP: amber.\n";
    s_tseen_t t;
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_scan (text, strlen (text), false, s_tcollect, &t) == 0);
    if (verbose)
        for (int i = 0; i < t.n; i++)
            printf ("  %s\n", t.seen [i]);
    IH_CHECK (s_thas (&t, "ioc filename invoice.exe nodetect"));
    IH_CHECK (s_thas (&t, "skip - update.zip"));
    IH_CHECK (s_thas (&t, "ioc domain update.zip"));            //  defanged: a domain
    IH_CHECK (s_thas (&t, "ioc url https://pay-portal.top/login"));
    IH_CHECK (s_thas (&t, "ioc ipv4 45.33.32.156 / port 8443"));
    IH_CHECK (s_thas (&t, "ioc ipv6 2a03:2880::1 / port 443"));
    IH_CHECK (s_thas (&t, "ioc domain evil-cdn.com"));
    IH_CHECK (s_thas (&t, "ioc domain evil-cdn.com / port 8080"));
    IH_CHECK (s_thas (&t, "ioc email billing@pay-portal.top"));
    IH_CHECK (s_thas (&t, "ioc md5 0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e"));
    IH_CHECK (s_thas (&t, "ioc cve CVE-2024-3400") && s_thas (&t, "ioc asn AS64496"));
    IH_CHECK (s_thas (&t, "ref - https://advisories.example.org/2024/1"));
    IH_CHECK (s_thas (&t, "skip - www.evil.example"));          //  .example: no public suffix
    IH_CHECK (s_thas (&t, "skip - readme.md"));
    IH_CHECK (s_thas (&t, "ioc ipv4 10.0.0.1"));                //  warninglists are for exports
    IH_CHECK (s_thas (&t, "ioc filename run.ps1 nodetect") && s_thas (&t, "ioc filename x.vbs nodetect"));
    for (int i = 0; i < t.n; i++) {
        IH_CHECK (!strstr (t.seen [i], "notes.txt") && !strstr (t.seen [i], "ioc domain e.g"));
        IH_CHECK (!strstr (t.seen [i], "ioc domain invoice.exe"));
    }
    //  plain URLs as IOCs; fn stops the scan with its value.
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_scan ("see https://pay-portal.top/x.", 29, true, s_tcollect, &t) == 0);
    IH_CHECK (t.n == 1 && streq (t.seen [0], "ioc url https://pay-portal.top/x"));
    memset (&t, 0, sizeof t);
    t.stop_at = 1;
    IH_CHECK (ih_extract_scan (text, strlen (text), false, s_tcollect, &t) == 7);
    IH_CHECK (ih_extract_scan ("", 0, false, s_tcollect, &t) == 0);
    //  An executable-looking name that is no valid file name (control characters,
    //  invalid UTF-8) is not handed out as a filename IOC (found by fuzzing).
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_extract_scan ("A\x18\x18voice.exe bad\xff.dll ok.exe", 28, false, s_tcollect, &t) == 0);
    IH_CHECK (t.n == 1 && streq (t.seen [0], "ioc filename ok.exe nodetect"));

    //  TLP in prose: the most restrictive; WHITE is CLEAR; words must stand alone.
    IH_CHECK (ih_extract_tlp (text, strlen (text)) == IH_TLP_AMBER);
    IH_CHECK (ih_extract_tlp ("tlp:white", 9) == IH_TLP_CLEAR);
    IH_CHECK (ih_extract_tlp ("TLP:AMBER+STRICT and TLP:GREEN", 30) == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_extract_tlp ("TLP RED!", 8) == IH_TLP_RED);
    IH_CHECK (ih_extract_tlp ("TLP:REDDISH, ATLP:RED", 21) == -1);
    IH_CHECK (ih_extract_tlp ("no marking", 10) == -1);
}
#endif

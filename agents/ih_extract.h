/*  ih_extract.h: indicators of compromise, ATT&CK technique ids and references out of
    free prose, such as an advisory pasted from an e-mail: the `text` import, `analyse`,
    and the Members Zone's paste step.

    The rules are tests/analytics/README.md "Decisions", and extract_cases.jsonl beside
    it is their specification (bin/ih-selftest extract_corpus runs every case). In short:
    ih_defang.h cuts the text (at white space and non-ASCII characters), glues spaced
    defangs, spaced URLs and word-style "dot"/"at" back together and refangs; then each
    candidate loses quotes, brackets and sentence punctuation (a Markdown link gives its
    URL) and is taken as, in this order:
      - a URL (http, https, ftp): defanged or ftp ones are IOCs, plain http(s) ones are
        references (plain_urls_as_iocs makes them IOCs); nothing inside a URL is
        extracted on its own (host, e-mail, hash, CVE or technique in the path);
      - a label glued in front ("ip:", "c2:", "sha256=" … a closed list) is dropped; any
        other "word:" prefix makes the candidate nothing (antivirus names such as
        "Trojan:Win32/Emotet.RT!MTB");
      - an IPv6 address or network (RFC 5952 form; zone ids, times and MACs are not);
      - an address with a port ("1.2.3.4:443", "[2001:db8::1]:443", "name:8080"): the
        address or name, with comment "port N";
      - a CIDR ("network/len"; with host bits set, the address);
      - a hash: exactly 32/40/64 hex digits, not after the word "commit";
      - an ASN ("AS64496", "ASN64496", and "AS 64496" in upper case);
      - an IPv4 address (strict dotted quad), unless a version word comes right before it
        ("version", "build", "firmware", "v", "版本" …) or it is chained to such a quad by
        "and", "or", "to", "through", "-", "," …;
      - an e-mail (local part as written; the domain as a domain);
      - a path ("C:\x\a.dll", "/tmp/a.elf", "host.tld/path"): a host first segment gives
        the domain or address, otherwise the base name may be a file name; nothing else
        in a path is looked at ("W64/Agent.CA!tr" gives nothing);
      - a file name with an executable extension (.exe .dll .ps1 .lnk .iso …): a
        filename IOC with detect false (weak on its own); .js is left out;
      - a domain: registrable under a known public suffix (libpsl, without the '*' rule);
        names ending in a TLD that is also a file extension (.zip .mov .py .md .sh …) and
        product names (ASP.NET, Socket.IO …) count only when defanged.
    CVE ids ("CVE-2024-3400", any case) and technique ids ("T1566", "T1059.001", upper
    case, as a word) are found anywhere in a candidate that is not a URL.
    Each value is reported once (the first occurrence's comment wins).

    Candidates that looked like a domain but failed a check are reported as SKIPPED with
    why, so nothing disappears without a word.
*/
#ifndef IH_EXTRACT_H
#define IH_EXTRACT_H

#include "ih_msg.h"
#include "ih_warninglist.h"

typedef enum {
    IH_EXTRACT_IOC = 0,         /* an IOC: type, value, comment, detect, warninglist */
    IH_EXTRACT_REFERENCE,       /* a plain http(s) URL: how reports cite their sources */
    IH_EXTRACT_SKIPPED,         /* looked like a domain, failed a check: why */
    IH_EXTRACT_TECHNIQUE        /* an ATT&CK technique id, "T1566" or "T1059.001" */
} ih_extract_kind_t;

typedef struct {
    ih_extract_kind_t kind;
    ih_ioc_type_t type;         /* IOC */
    const char *value;          /* IOC: normalised; REFERENCE: the URL; SKIPPED: the
                                   token; TECHNIQUE: the id */
    const char *comment;        /* IOC: "port 443" or "" */
    bool detect;                /* IOC */
    const char *why;            /* SKIPPED: "name without a known public suffix" … */
    const char *warninglist;    /* IOC: the first warninglist that matches it (given
                                   ih_extract_opts_t.warninglists), else NULL */
} ih_extract_hit_t;

typedef struct {
    bool plain_urls_as_iocs;    /* plain http(s) URLs are IOCs, not references */
    const ih_warninglist_t *warninglists;   /* NULL: no warninglist lookups */
} ih_extract_opts_t;

/*  fn returns 0 to go on, anything else to stop (returned). The hit's strings are valid
    during the call only. */
typedef int (ih_extract_fn)(const ih_extract_hit_t *hit, void *arg);

/*  Scans len bytes of text (need not be NUL-terminated) and calls fn for each hit, in the
    order of the text. opts may be NULL (the defaults: references, no warninglists).
    Returns 0 or fn's value. Thread-safe: the public suffix list is loaded once per
    process and only read. */
int ih_extract_run(const char *text, size_t len, const ih_extract_opts_t *opts, ih_extract_fn *fn,
                   void *arg);

/*  ih_extract_run without warninglists (the import's form). */
int ih_extract_scan(const char *text, size_t len, bool plain_urls_as_iocs, ih_extract_fn *fn, void *arg);

/*  The most restrictive TLP written in the text ("TLP:AMBER", "TLP: RED", "TLP GREEN",
    TLP:WHITE = CLEAR), as ih_tlp_t; -1 when there is none. */
int ih_extract_tlp(const char *text, size_t len);

/*  Whether name (lower case) is registrable under a known public suffix (libpsl, without
    the '*' default rule): "evil.com", "a.co.uk" are; "co.uk", "evil.example" are not. */
bool ih_extract_registrable(const char *name);

/*  Self-tests (ih_extract_test.c): the rules, and every case of
    tests/analytics/extract_cases.jsonl (extract_corpus; it prints each failing case). */
void ih_extract_test(bool verbose);
void ih_extract_corpus_test(bool verbose);

#endif

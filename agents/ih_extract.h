/*  ih_extract.h: indicators of compromise out of free prose, such as an advisory pasted
    from an e-mail (the `text` import; usable wherever a person pastes text).

    The text is cut at white space; each token loses surrounding quotes, brackets and
    sentence punctuation, is refanged (hxxp, [.], (.), [@], [:] …, ih_ioc.h), and is
    kept when it is a valid IOC of a type ih_ioc_guess recognises:
      - "1.2.3.4:443", "[2001:db8::1]:443", "name:8080": the address or name, with
        comment "port N";
      - a domain (or an e-mail's domain) must be a registrable name under a known public
        suffix (libpsl, without its '*' default rule): "invoice.exe", "e.g", "evil.example"
        are not domains. Names ending in a top-level domain that is also a common file
        extension (.zip .mov .py .md .sh …) count only when defanged ("update[.]zip");
      - names with an executable extension (.exe .dll .ps1 .vbs .lnk …) are filename IOCs
        with detect false (a weak indicator on its own);
      - http(s) URLs written plainly are references (that is how advisories cite their
        sources); defanged ones are IOCs. plain_urls_as_iocs makes every URL an IOC.
    Tokens that looked like a domain but failed a check are reported as skipped, with
    why, so nothing disappears without a word.
*/
#ifndef IH_EXTRACT_H
#define IH_EXTRACT_H

#include "ih_msg.h"

typedef enum { IH_EXTRACT_IOC = 0, IH_EXTRACT_REFERENCE, IH_EXTRACT_SKIPPED } ih_extract_kind_t;

typedef struct {
    ih_extract_kind_t kind;
    ih_ioc_type_t type;         /* IOC */
    const char *value;          /* IOC: normalised; REFERENCE: the URL; SKIPPED: the token */
    const char *comment;        /* IOC: "port 443" or "" */
    bool detect;                /* IOC */
    const char *why;            /* SKIPPED: "name without a known public suffix" … */
} ih_extract_hit_t;

/*  fn returns 0 to go on, anything else to stop (returned). */
typedef int (ih_extract_fn)(const ih_extract_hit_t *hit, void *arg);

/*  Scans len bytes of text (need not be NUL-terminated), in order. Returns 0 or fn's
    value. */
int ih_extract_scan(const char *text, size_t len, bool plain_urls_as_iocs, ih_extract_fn *fn, void *arg);

/*  The most restrictive TLP written in the text ("TLP:AMBER", "TLP: RED", "TLP GREEN",
    TLP:WHITE = CLEAR), as ih_tlp_t; -1 when there is none. */
int ih_extract_tlp(const char *text, size_t len);

void ih_extract_test(bool verbose);

#endif

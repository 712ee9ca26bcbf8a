/*  ih_ioc.h: validation and normalisation of indicators of compromise.

    Normal forms (what ih_ioc_normalise produces and what the wire carries):
      ipv4      dotted quad, no leading zeros ("010.1.1.1" rejected), 4 octets 0..255
      ipv6      RFC 5952 canonical text (inet_ntop form, lower case, "::" compression)
      cidr      network address with host bits zero + "/len" (v4 or v6); "10.1.2.3/8" is
                rejected with "host bits set" rather than silently changed
      domain    lower case, trailing dot removed, labels 1..63 of [a-z0-9-] (and '_'),
                no label starting or ending with '-', total <= 253, at least two labels,
                last label not all digits; IDNA A-labels ("xn--") accepted as is
      url       scheme http/https/ftp(s) lower-cased, host lower-cased (IPv4 strict, [IPv6]
                with brackets, or a domain by the rules above, trailing dot removed);
                userinfo, port (1..65535), path, query and fragment kept as given;
                no spaces or control characters, valid UTF-8, <= IH_MAX_IOC_VALUE bytes
      email     local@domain, domain normalised as above, local part kept (1..64 chars of
                RFC 5322 atext and '.')
      md5/sha1/sha256  lower-case hex of exactly 32/40/64 digits
      filename  1..255 bytes, no '/', no NUL or control characters, valid UTF-8, not "."/".."
      cve       "CVE-YYYY-NNNN" with 4..7 digits, year 1999..2100, no leading zero when
                more than 4 digits (input case-insensitive, output upper)
      asn       "AS" + decimal 1..4294967295, no leading zeros (input "as64496",
                "AS64496" or "64496")
    Refanging applies before validation to every type: surrounding whitespace is trimmed;
    "[.]" "(.)" "{.}" "[dot]" "(dot)" -> ".", "[@]" "[at]" "(at)" -> "@", "[:]" -> ":",
    "[://]" -> "://" (tokens case-insensitive, nested ones like "[[.]]" collapse fully);
    a leading "hxxp://" / "hxxps://" (any case of the x's) -> "http://" / "https://".
    Nothing else is touched: "[2001:db8::1]" in a URL survives.
*/
#ifndef IH_IOC_H
#define IH_IOC_H

#include "ih_msg.h"

/*  Refangs `in` into out (outsz bytes incl. NUL). Returns the length, or -1 if it
    does not fit (strlen (in) + 1 is always enough). out may be in. Refanging is
    idempotent: the result contains no token. */
int ih_ioc_refang(const char *in, char *out, size_t outsz);

/*  Refangs, validates and normalises `in` as type t into out (outsz bytes incl. NUL,
    IH_MAX_IOC_VALUE + 1 is always enough; out may be in). Returns 0, or -1 with err like
    "invalid ipv4 address '1.2.3': expected 4 octets, got 3" (the input quoted, cut to
    64 chars + "...", bytes outside 0x20..0x7e escaped as \xNN). An out too small gives
    "... value too long (N bytes, output holds M)" and nothing past outsz is written.
    The normal form is a fixed point: normalising it again returns it unchanged. */
int ih_ioc_normalise(ih_ioc_type_t t, const char *in, char *out, size_t outsz, ih_err_t *err);

/*  Guesses the type of a bare value (for `search VALUE`, `sight VALUE`, text import):
    ipv4, ipv6, cidr, url, email, md5/sha1/sha256 by hex length, cve, asn ("AS123"),
    domain, tried in the order cidr, ipv4, ipv6, url, email, cve, asn, hashes, domain;
    a type is guessed when the value normalises as that type. A bare number is not an
    asn, a bracketed "[::1]" is not guessed, and names ending in a common file extension
    that is not a TLD ("invoice.exe", "x.js") are not domains. Returns 0 with *t set,
    or -1 when nothing fits (*t untouched). Does not refang or trim. */
int ih_ioc_guess(const char *value, ih_ioc_type_t *t);

/*  Binary forms for containment checks: parses a normalised ipv4/ipv6/cidr value into
    family (4 or 6), 16 address bytes (v4 in the first 4) and prefix length (32/128 for
    single addresses). Host bits set in a cidr, zone ids and non-strict IPv4 are rejected.
    Returns 0, or -1 leaving the outputs untouched. */
int ih_ioc_ip_parse(const char *value, int *family, uint8_t addr[16], int *prefix);

/*  The host of a URL in normal form, scheme://[userinfo@]host[:port][/…]: *host points
    into url (an IPv6 host without its brackets), *len is its length. The IOC index and
    the warninglists both look URLs up by it, so that they match the same thing.
    Returns 0, or -1 when there is no host (no "://", an empty host, an unclosed '['). */
int ih_ioc_url_host(const char *url, const char **host, size_t *len);

/*  What each type is called in error messages ("ipv4 address", "md5 hash", ...). */
extern const char *const ih_ioc_type_desc [IH_IOC_COUNT];

void ih_ioc_test(bool verbose);

#endif

/*  ih_ioc_test.c: the self-test of ih_ioc (a table of values per type: each normal form
    is a fixed point, exact-size buffers work and one byte less fails cleanly, and every
    error is one printable line naming the type), kept apart from the code it tests. */
#include <arpa/inet.h>
#include <string.h>

#include "ih_ioc.h"

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
        char shown [IH_QUOTE_BUF];
        ih_quote (c->in, strlen (c->in), 40, shown, sizeof shown);
        printf ("\n    %-13s %-43s -> %s", ih_ioc_type_desc [c->type], shown, rc == 0 ? out : err.msg);
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
        IH_CHECK (strstr (err.msg, ih_ioc_type_desc [c->type]));
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

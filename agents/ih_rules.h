/*  ih_rules.h: the text of the detection exports: Suricata rules, Zeek intel lines, RPZ
    records, nftables set elements, plain values. ih_export (ih_export.h, which documents
    each format) selects alerts and IOCs; this module only writes what it is given, alert
    by alert, into a buffer.

    SIDS. Suricata wants a unique sid per rule, and a consumer wants the same rule to keep
    its sid from one export to the next. sid = base + (FNV-1a 64 of
    "ALERT-ID|TYPE|VALUE|VARIANT" mod 2^26); on a collision the next free slot. A writer
    keeps a bitmap of the 2^26 slots (8 MiB, allocated on first use, zero pages untouched
    until used), so an export hands each sid out once whatever its size. With base
    9,000,000 (the default) sids lie in 9,000,000..76,108,863; a sid changes between
    exports only when its slot collided in one of them (about 1 rule in 13,000 at 10,000
    rules).

    SURICATA 7 RULES (docs.suricata.io, checked by tests/integration/suricata_check.py):
      address  `alert ip [ADDR] any <> any any`: traffic from or to it, one rule and sid
      domain   `dns.query; dotprefix; content:".D"; nocase; endswith;` and the same on
               tls.sni: D and every name below it
      url      `http.host; content:"host"; bsize:N;` (the host lower case and no nocase:
               Suricata lower-cases http.host and refuses nocase on it), then for a path
               or query `http.uri.raw; content:"/path?q"; startswith;`
    Content bytes outside printable ASCII and `"` `;` `\` `|` are written |XX|; in msg,
    `"` `;` `\` get a backslash. No classtype (it must exist in the consumer's
    classification.config); priority 1 (critical) .. 4 (low).

    RPZ. Domains as "D CNAME ." and "*.D CNAME ."; addresses and networks as rpz-ip
    triggers in BIND's canonical form, the prefix length then the address reversed:
    "32.7.113.0.203.rpz-ip" for 203.0.113.7, "24.0.100.51.198.rpz-ip" for
    198.51.100.0/24, "128.1.zz.db8.2001.rpz-ip" for 2001:db8::1 ("zz" for the longest run
    of zero words). A network of prefix 0 has no form.

    Threading: a writer belongs to one thread.
*/
#ifndef IH_RULES_H
#define IH_RULES_H

#include "ih_msg.h"

typedef enum { IH_RULES_SURICATA = 0, IH_RULES_ZEEK, IH_RULES_RPZ, IH_RULES_NFT, IH_RULES_PLAIN } ih_rules_kind_t;

#define IH_RULES_SID_BASE   9000000u
#define IH_RULES_SID_SLOTS  (1u << 26)

typedef struct ih_rules ih_rules_t;

/*  A writer. sid_base: suricata (0 = IH_RULES_SID_BASE; at most UINT32_MAX - SLOTS);
    generator: named in header comments (may be NULL). NULL with err on a bad base. */
ih_rules_t *ih_rules_new(ih_rules_kind_t kind, uint32_t sid_base, const char *generator, ih_err_t *err);
void ih_rules_destroy(ih_rules_t **self_p);

/*  Appends the file's head: comments, Zeek's #fields line, the RPZ $TTL/SOA/NS, the nft
    table with its two sets (flushed, so `nft -f` replaces their content). */
void ih_rules_header(ih_rules_t *self, ih_buf_t *out);

/*  Appends what n IOCs of alert m become. *written counts the IOCs written (a domain's
    dns and tls rules count once), *no_form those the format cannot express (a hash in
    suricata, a CVE anywhere, a URL in rpz, an RPZ name too long for an origin of 30
    bytes). Returns 0, or -1 with err when the sids are exhausted. */
int ih_rules_alert(ih_rules_t *self, const ih_msg_t *m, const ih_ioc_t *iocs, uint32_t n, ih_buf_t *out,
                   uint64_t *written, uint64_t *no_form, ih_err_t *err);

void ih_rules_test(bool verbose);

#endif

/*  ih_stix.h: the STIX 2.1 objects of an alert, built as jansson objects. One builder for
    the three places that speak STIX: the agent's stix21 export (ih_export.h), the
    gateway's TAXII collection and the TAXII log its subscriber keeps (gateway/ih_taxii.h,
    ih_sync.h). A bundle, a TAXII page and the log therefore hold the same objects, with
    the same ids, property for property.

    OBJECTS. Of an alert m and the IOCs of it a reader takes (an export's selection; for
    TAXII, all but those retracted one by one):
      shared   what the alert's objects refer to and other alerts may refer to as well:
               Infohub's own identity (IH_STIX_PRODUCER_ID, identity_class system), the
               extension-definition of Infohub's properties (IH_STIX_EXTENSION_ID, created
               by that identity), the marking-definition of the alert's TLP, then the
               identity of its publisher org (identity_class organization), in that order.
               A bundle holds each once; the TAXII log adds each once, with the first alert
               that needs it.
      own      the report (id report--<alert id>): name, description (the summary),
               published, report_types (vulnerability for the vulnerability category, else
               threat-report), labels (the tags), external_references (infohub with the
               alert id, then each reference url), object_refs (the objects below; the
               publisher's identity when there are none, as object_refs may not be empty),
               object_marking_refs; then per IOC an indicator (name the value, description
               the comment, pattern ih_stix_pattern, valid_from the alert's created) or,
               for a CVE, a vulnerability (external reference cve). Every object is
               created by the publisher's identity and marked with the alert's TLP; times
               are the alert's created and modified.
      fixed    what a bundle holds whatever its alerts: Infohub's identity and the
               extension-definition, then the five TLP 2.0 marking definitions (OASIS
               cti-stix-common-objects ids, with the TLP 2.0 extension).

    IDS. Derived, never random, so a re-export or a second gateway names an object the
    same: UUIDv5 (RFC 4122 section 4.3, SHA-1) in the Infohub namespace
    0a6af582-b9c6-4c87-a210-1bdd44b03d02 of "identity|ORG", "indicator|ALERT-ID|TYPE|VALUE"
    and "vulnerability|ALERT-ID|CVE". MISP exports use the same names for their uuids.

    INFOHUB PROPERTIES. What STIX has no property for travels with the object, in a STIX
    2.1 property-extension (section 7.3; docs/stix-extension.md is its manual and JSON
    Schema), the last property of the object:
        "extensions": {"extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8":
                       {"extension_type": "property-extension", NAME: VALUE, ...}}
    on the report: severity, category, revision, sectors (absent when none), recipients
    (the alert's recipients, org names and "sector:NAME"; absent when none: STIX allows no
    empty list), publisher_org, publisher_member; on indicators and vulnerabilities:
    detect (MISP's to_ids). Strict consumers (the OASIS stix2 library by default) refuse
    custom x_ properties, which earlier versions wrote as x_infohub_NAME. ih_stix.c is the
    one place that knows how the properties are carried: the builders write them,
    ih_stix_prop reads them back (ih_import), from the extension or from the old
    x_infohub_NAME.

    Objects are built one at a time and handed to a callback that borrows them (json_incref
    to keep one); nothing is held between calls, so a walk over a million IOCs stays flat.
    Keys come in a fixed order (type, spec_version, id, created, modified, created_by_ref,
    then the type's own): dumped with JSON_COMPACT, two builds give the same bytes.
    Text from the store is valid UTF-8 (the codec checks it); should a string not be, its
    bytes above 0x7f become '?' rather than the object losing the property.

    Threading: pure functions; any thread.
*/
#ifndef IH_STIX_H
#define IH_STIX_H

#include <jansson.h>

#include "ih_msg.h"

#define IH_STIX_ID_MAX  64          /* "vulnerability--" + a UUID, and a NUL */

/*  The extension-definition of Infohub's properties (a fixed id: consumers key on it). */
#define IH_STIX_EXTENSION_ID "extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8"
/*  Infohub's own identity, which creates the extension-definition: the UUIDv5 of
    "identity|Infohub" (ih_stix_identity_id ("Infohub"); no org can be named so, as org
    names are lower case). */
#define IH_STIX_PRODUCER_ID  "identity--2dd1b53c-6f16-50ea-bcaa-1df64b3531e2"

/*  UUIDv5 of name (len bytes) in the Infohub namespace, lower case. */
void ih_stix_uuid5(const char *name, size_t len, char out[IH_UUID_LEN + 1]);
/*  "identity--" + the UUIDv5 of "identity|ORG". */
void ih_stix_identity_id(const char *org, char out[IH_STIX_ID_MAX]);
/*  The id of an IOC's object of type ("indicator" or "vulnerability"; NULL: the one STIX
    uses, vulnerability for a CVE, indicator otherwise): "TYPE--" + the UUIDv5 of
    "TYPE|ALERT-ID|IOC-TYPE|VALUE", without the IOC type for a CVE. */
void ih_stix_ioc_id(const char *type, const char *alert_id, const ih_ioc_t *ioc, char out[IH_STIX_ID_MAX]);

/*  The TLP 2.0 marking-definition id of tlp (a constant), or NULL out of range. */
const char *ih_stix_marking_id(ih_tlp_t tlp);
/*  The TLP a marking-definition id stands for: the TLP 2.0 ids, and the TLP 1.0 ones of
    STIX 2.1 section 7.2.1.4 (white is CLEAR). -1 for any other id or NULL. */
int ih_stix_marking_tlp(const char *id);

/*  Appends a STIX 2.1 pattern for one IOC to out: "[ipv4-addr:value = '198.51.100.7']",
    quotes and backslashes escaped; a cidr is an ipv4-addr or ipv6-addr value, an asn
    "[autonomous-system:number = 64496]". Returns 0, or -1 (nothing appended) for a type
    with no pattern (cve). */
int ih_stix_pattern(const ih_ioc_t *ioc, ih_buf_t *out);

/*  Receives each object, borrowed for the call. Returns 0 to go on; anything else stops
    the walk, which returns that value. */
typedef int (ih_stix_fn)(json_t *object, void *arg);

/*  The fixed objects of a bundle: Infohub's identity, the extension-definition, then the
    markings in TLP order (CLEAR first). */
int ih_stix_fixed(ih_stix_fn *fn, void *arg);
/*  The shared objects alert m refers to: Infohub's identity, the extension-definition,
    its TLP's marking-definition, its publisher's identity. */
int ih_stix_shared(const ih_msg_t *m, ih_stix_fn *fn, void *arg);
/*  The own objects of alert m: the report, then one object per IOC of iocs [0..n) (the
    caller's selection of m's IOCs; n may be 0), in that order. */
int ih_stix_own(const ih_msg_t *m, const ih_ioc_t *iocs, uint32_t n, ih_stix_fn *fn, void *arg);

/*  The Infohub property name ("severity", "category", "revision", "sectors",
    "recipients", "publisher_org", "publisher_member", "detect") of a STIX object read
    from anywhere (borrowed): from the extension IH_STIX_EXTENSION_ID, else from the custom
    property x_infohub_NAME of earlier versions; NULL when it has neither. */
json_t *ih_stix_prop(json_t *object, const char *name);

void ih_stix_test(bool verbose);

#endif

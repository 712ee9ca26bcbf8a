/*  ih_json_test.c: the self-test of ih_json (round trips of every kind, the lossless
    cases, and one precise error per kind of bad input), kept apart from the code. */
#include "ih_json.h"
#include "ih_ioc.h"
#include "ih_codec.h"
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#ifdef IH_SELFTEST

#define S_UUID1 "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
#define S_UUID2 "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
#define S_SIGNER "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define S_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S_BASE "\"title\":\"T\",\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\""
#define S_HEAD "\"id\":\"" S_UUID2 "\",\"seq\":43,\"created\":\"2026-11-28T17:45:36.123Z\"," \
               "\"modified\":\"2026-11-28T18:00:00.000Z\",\"publisher\":{\"org\":\"bank-b\"," \
               "\"member\":\"soc-2\"},\"signer\":\"" S_SIGNER "\","

/*  Inputs that must be rejected, and a piece of the error each must give. */
static const struct {
    const char *json;
    const char *error;
} s_invalid [] = {
    { "[1]", "json: expected an object, got array" },
    { "{\"title\":", "json: line 1 column" },
    { "{" S_BASE "} {}", "json: line 1" },
    { "{" S_BASE ",\"title\":\"U\"}", "duplicate" },
    { "{" S_BASE ",\"titel\":\"x\"}", "unknown field 'titel'" },
    { "{\"title\":\"a\\u0000b\"}", "json: line 1" },
    { "{" S_BASE ",\"ti\\u0001t'el\":1}", "unknown field 'ti\\x01t\\x27el'" },
    { "{\"title\":1,\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\"}",
      "title: expected string, got integer" },
    { "{" S_BASE ",\"summary\":null}", "summary: expected string, got null" },
    { "{" S_BASE ",\"summary\":[\"a\"]}", "summary: expected string, got array" },
    { "{\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\"}", "title: required" },
    { "{\"title\":\"T\",\"severity\":\"low\",\"category\":\"other\"}", "tlp: required" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"category\":\"other\"}", "severity: required" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"severity\":\"low\"}", "category: required" },
    { "{\"title\":\"T\",\"tlp\":\"PINK\",\"severity\":\"low\",\"category\":\"other\"}",
      "tlp: unknown value 'PINK'" },
    { "{\"title\":\"T\",\"tlp\":true,\"severity\":\"low\",\"category\":\"other\"}",
      "tlp: expected string, got boolean" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"severity\":\"urgent\",\"category\":\"other\"}",
      "severity: unknown value 'urgent'" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"severity\":\"low\",\"category\":\"spam\"}",
      "category: unknown value 'spam'" },
    { "{" S_BASE ",\"author\":5}", "author: expected string, got integer" },
    { "{" S_BASE ",\"author\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "author: too long (129 > 128 bytes)" },
    { "{" S_BASE ",\"sectors\":\"finance\"}", "sectors: expected array, got string" },
    { "{" S_BASE ",\"sectors\":[1]}", "sectors[0]: expected string, got integer" },
    { "{" S_BASE ",\"sectors\":[\"energy\",\"Finance\"]}", "sectors[1]: invalid slug 'Finance'" },
    { "{" S_BASE ",\"recipients\":[\"sector:\"]}", "recipients[0]: invalid recipient" },
    { "{" S_BASE ",\"recipients\":[\"bank a\"]}", "recipients[0]: invalid recipient" },
    { "{" S_BASE ",\"tags\":[\"\"]}", "tags[0]: empty" },
    { "{" S_BASE ",\"references\":[{}]}", "references[0]: expected string, got object" },
    { "{" S_BASE ",\"iocs\":{}}", "iocs: expected array, got object" },
    { "{" S_BASE ",\"iocs\":[\"1.2.3.4\"]}", "iocs[0]: expected object, got string" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\"}]}", "iocs[0].value: required" },
    { "{" S_BASE ",\"iocs\":[{\"value\":\"1.2.3.4\"}]}", "iocs[0].type: required" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ip\",\"value\":\"1.2.3.4\"}]}", "iocs[0].type: unknown value 'ip'" },
    { "{" S_BASE ",\"iocs\":[{\"type\":4,\"value\":\"1.2.3.4\"}]}", "iocs[0].type: expected string, got integer" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":1}]}", "iocs[0].value: expected string, got integer" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\"},{\"type\":\"ipv4\",\"value\":\"1.2.3\"}]}",
      "iocs[1].value: " },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"domain\",\"value\":\"a..b\"}]}", "iocs[0].value: " },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"sha256\",\"value\":\"abc\"}]}", "iocs[0].value: " },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"detect\":\"yes\"}]}",
      "iocs[0].detect: expected boolean, got string" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"comment\":false}]}",
      "iocs[0].comment: expected string, got boolean" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"valeu\":\"x\"}]}",
      "iocs[0]: unknown field 'valeu'" },
    { "{" S_BASE ",\"id\":\"not-a-uuid\"}", "id: invalid UUID 'not-a-uuid'" },
    { "{" S_BASE ",\"id\":\"01234567-89AB-4def-8123-456789abcdef\"}", "id: invalid UUID" },
    { "{" S_BASE ",\"id\":\"\"}", "id: invalid UUID" },
    { "{" S_BASE ",\"created\":\"yesterday\"}", "created: invalid time 'yesterday'" },
    { "{" S_BASE ",\"created\":\"2026-02-30T00:00:00Z\"}", "created: invalid time" },
    { "{" S_BASE ",\"modified\":1795887936123}", "modified: expected string, got integer" },
    { "{" S_BASE ",\"revision\":-1}", "revision: out of range (-1," },
    { "{" S_BASE ",\"revision\":4294967296}", "revision: out of range" },
    { "{" S_BASE ",\"revision\":1.0}", "revision: expected integer, got number" },
    { "{" S_BASE ",\"revision\":\"1\"}", "revision: expected integer, got string" },
    { "{" S_BASE ",\"seq\":-5}", "seq: out of range" },
    { "{" S_BASE ",\"revisions\":-5}", "revisions: out of range" },
    { "{" S_BASE ",\"sightings\":null}", "sightings: expected integer, got null" },
    { "{" S_BASE ",\"status\":\"deleted\"}", "status: unknown value 'deleted'" },
    { "{" S_BASE ",\"publisher\":\"bank-a\"}", "publisher: expected object, got string" },
    { "{" S_BASE ",\"publisher\":{\"org\":\"bank-a\",\"name\":\"x\"}}", "publisher: unknown field 'name'" },
    { "{" S_BASE ",\"publisher\":{\"org\":\"Bank A\"}}", "publisher.org: invalid slug 'Bank A'" },
    { "{" S_BASE ",\"publisher\":{\"member\":7}}", "publisher.member: expected string, got integer" },
    { "{" S_BASE ",\"signer\":\"abcd\"}", "signer: invalid key 'abcd'" },
    { "{" S_BASE ",\"signer\":\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}",
      "signer: invalid key" },
    { "{" S_BASE ",\"kind\":\"memo\"}", "kind: unknown value 'memo'" },
    { "{" S_BASE ",\"kind\":7}", "kind: expected string, got integer" },
    { "{" S_BASE ",\"ref\":\"" S_UUID1 "\"}", "ref: not allowed for kind alert" },
    { "{\"kind\":\"comment\",\"ref\":\"" S_UUID1 "\",\"text\":\"x\",\"title\":\"y\"}",
      "title: not allowed for kind comment" },
    { "{\"kind\":\"comment\",\"ref\":\"" S_UUID1 "\",\"iocs\":[]}", "iocs: not allowed for kind comment" },
    { "{\"kind\":\"comment\",\"ref\":\"bad\",\"text\":\"x\"}", "ref: invalid UUID 'bad'" },
    { "{\"kind\":\"comment\",\"ref\":\"" S_UUID1 "\",\"text\":[]}", "text: expected string, got array" },
    { "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"count\":1}", "count: not allowed for kind retraction" },
    { "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"status\":\"active\"}",
      "status: not allowed for kind retraction" },
    { "{\"kind\":\"sighting\",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\"}]}", "tlp: required" },
    { "{\"kind\":\"sighting\",\"tlp\":\"GREEN\",\"count\":-1}", "count: out of range" },
    { "{\"kind\":\"sighting\",\"tlp\":\"GREEN\",\"ref\":\"x\"}", "ref: invalid UUID 'x'" },
    { "{\"kind\":\"sighting\",\"tlp\":\"GREEN\",\"iocs\":[{\"type\":\"url\",\"value\":\"\"}]}",
      "iocs[0].value: " },
    { NULL, NULL }
};

/*  Checks that text is rejected with an error containing `want`, and that m and meta
    are left empty. */
static void
s_expect_error (const char *text, size_t len, const char *want, bool verbose)
{
    ih_msg_t m;
    ih_json_meta_t meta = { 99, true, 99, 99, NULL };
    ih_err_t err = { "" };
    int rc = ih_msg_from_json_str (&m, text, len, &meta, &err);
    if (verbose)
        printf ("\n    %-60.60s -> %s", text, err.msg);
    if (rc != -1 || !strstr (err.msg, want)) {
        fprintf (stderr, "\ninput: %.200s\nwanted error: %s\ngot: rc=%d '%s'\n", text, want, rc, err.msg);
        IH_CHECK (false);
    }
    IH_CHECK (strchr (err.msg, '\n') == NULL);
    IH_CHECK (m.kind == IH_KIND_ALERT && m.ioc_count == 0 && m.title && *m.title == 0);
    IH_CHECK (meta.seq == 0 && !meta.retracted && meta.revisions == 0 && meta.sightings == 0);
    ih_msg_free (&m);
}

/*  Same for an object built in code (long strings, long lists). */
static void
s_expect_error_json (json_t *j, const char *want, bool verbose)
{
    char *text = json_dumps (j, JSON_COMPACT);
    IH_CHECK (text);
    s_expect_error (text, strlen (text), want, verbose);
    free (text);
    json_decref (j);
}

static json_t *
s_base (void)
{
    json_t *j = json_pack ("{s:s, s:s, s:s, s:s}", "title", "T", "tlp", "GREEN", "severity", "low",
                           "category", "other");
    IH_CHECK (j);
    return j;
}

/*  A string of n copies of c, as a JSON string. */
static json_t *
s_long (size_t n, char c)
{
    char *s = malloc (n + 1);
    IH_CHECK (s);
    memset (s, c, n);
    s [n] = 0;
    json_t *j = json_string (s);
    free (s);
    return j;
}

/*  Messages in their canonical output form, one per kind (and a sighting of no alert):
    each must survive JSON -> ih_msg_t -> msgpack -> ih_msg_t -> JSON unchanged, key
    order included. */
static const char *s_lossless [] = {
    "{\"id\":\"" S_UUID1 "\",\"revision\":2,\"seq\":42,\"created\":\"2026-11-28T17:45:36.123Z\","
    "\"modified\":\"2026-11-28T18:00:00.000Z\",\"publisher\":{\"org\":\"bank-a\",\"member\":\"soc\"},"
    "\"signer\":\"" S_SIGNER "\",\"status\":\"retracted\",\"title\":\"Ransomware C2 \\u00e9\","
    "\"summary\":\"**LockBit** affiliate.\\nBlock it.\",\"tlp\":\"AMBER\",\"severity\":\"high\","
    "\"category\":\"ransomware\",\"sectors\":[\"finance\",\"energy\"],"
    "\"recipients\":[\"sector:finance\",\"bank-b\"],\"references\":[\"https://cert.example.net/a/1\"],"
    "\"tags\":[\"lockbit\"],\"iocs\":[{\"type\":\"ipv4\",\"value\":\"45.77.1.2\",\"comment\":\"C2\","
    "\"detect\":true},{\"type\":\"sha256\",\"value\":\"" S_SHA256 "\",\"comment\":\"\",\"detect\":false},"
    "{\"type\":\"domain\",\"value\":\"evil.example\",\"comment\":\"\",\"detect\":true}],"
    "\"revisions\":2,\"sightings\":7}",
    "{\"kind\":\"retraction\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"text\":\"false positive\","
    "\"iocs\":[{\"type\":\"ipv4\",\"value\":\"45.77.1.2\",\"comment\":\"\",\"detect\":false}]}",
    "{\"kind\":\"retraction\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"text\":\"\",\"iocs\":[]}",
    "{\"kind\":\"comment\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"text\":\"Seen here too.\"}",
    "{\"kind\":\"comment\"," S_HEAD "\"author\":\"Ana M\\u00fcller (SOC)\",\"ref\":\"" S_UUID1 "\","
    "\"text\":\"Seen here too.\"}",
    "{\"id\":\"" S_UUID1 "\",\"revision\":1,\"created\":\"2026-11-28T17:45:36.123Z\","
    "\"modified\":\"2026-11-28T17:45:36.123Z\",\"publisher\":{\"org\":\"bank-a\",\"member\":\"soc\"},"
    "\"signer\":\"" S_SIGNER "\",\"author\":\"Bo\",\"status\":\"active\",\"title\":\"Workshop: phishing drills\","
    "\"summary\":\"\",\"tlp\":\"CLEAR\",\"severity\":\"low\",\"category\":\"event\",\"sectors\":[],"
    "\"recipients\":[],\"references\":[\"https://example.org/ws\"],"
    "\"tags\":[\"date:2027-01-14T09:00Z\",\"place:Bern\"],\"iocs\":[]}",
    "{\"kind\":\"sighting\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"iocs\":[{\"type\":\"domain\","
    "\"value\":\"evil.example\",\"comment\":\"\",\"detect\":true}],\"tlp\":\"GREEN\",\"count\":3}",
    "{\"kind\":\"sighting\"," S_HEAD "\"iocs\":[{\"type\":\"ipv4\",\"value\":\"198.51.100.7\","
    "\"comment\":\"\",\"detect\":true}],\"tlp\":\"CLEAR\",\"count\":1}",
    NULL
};

void
ih_json_test (bool verbose)
{
    ih_msg_t m;
    ih_json_meta_t meta;
    ih_err_t err = { "" };

    /*  A user's input: defaults, refanging, normalisation, WHITE as CLEAR, severity and
        category in any case (printed back in the canonical lower case). */
    const char *in =
        "{\"title\":\"Phish\",\"tlp\":\"WHITE\",\"severity\":\"Critical\",\"category\":\"DATA-LEAK\","
        "\"iocs\":[{\"type\":\"url\",\"value\":\" hxxp://Evil[.]Example/x \"},"
        "{\"type\":\"domain\",\"value\":\"EVIL[.]example.\",\"comment\":\"landing\",\"detect\":false},"
        "{\"type\":\"ipv4\",\"value\":\"198.51.100[.]7\"}]}";
    IH_CHECK (ih_msg_from_json_str (&m, in, strlen (in), &meta, &err) == 0);
    IH_CHECK (m.kind == IH_KIND_ALERT && m.revision == 1 && m.id [0] == 0);
    IH_CHECK (strcmp (m.title, "Phish") == 0 && strcmp (m.summary, "") == 0);
    IH_CHECK (m.tlp == IH_TLP_CLEAR && m.severity == IH_SEV_CRITICAL && m.category == IH_CAT_DATA_LEAK);
    IH_CHECK (m.sectors.count == 0 && m.recipients.count == 0 && m.tags.count == 0);
    IH_CHECK (m.ioc_count == 3);
    IH_CHECK (m.iocs [0].type == IH_IOC_URL && strcmp (m.iocs [0].value, "http://evil.example/x") == 0);
    IH_CHECK (strcmp (m.iocs [0].comment, "") == 0 && m.iocs [0].detect);
    IH_CHECK (m.iocs [1].type == IH_IOC_DOMAIN && strcmp (m.iocs [1].value, "evil.example") == 0);
    IH_CHECK (strcmp (m.iocs [1].comment, "landing") == 0 && !m.iocs [1].detect);
    IH_CHECK (strcmp (m.iocs [2].value, "198.51.100.7") == 0);
    IH_CHECK (meta.seq == 0 && !meta.retracted && meta.revisions == 0 && meta.sightings == 0);
    /*  A draft prints without id, times, publisher or signer, and reads back the same. */
    char *s = ih_msg_to_json_str (&m, NULL);
    if (verbose)
        printf ("\n    draft: %s", s);
    IH_CHECK (strcmp (s,
        "{\"revision\":1,\"title\":\"Phish\",\"summary\":\"\",\"tlp\":\"CLEAR\",\"severity\":\"critical\","
        "\"category\":\"data-leak\",\"sectors\":[],\"recipients\":[],\"references\":[],\"tags\":[],"
        "\"iocs\":[{\"type\":\"url\",\"value\":\"http://evil.example/x\",\"comment\":\"\",\"detect\":true},"
        "{\"type\":\"domain\",\"value\":\"evil.example\",\"comment\":\"landing\",\"detect\":false},"
        "{\"type\":\"ipv4\",\"value\":\"198.51.100.7\",\"comment\":\"\",\"detect\":true}]}") == 0);
    ih_msg_t m2;
    IH_CHECK (ih_msg_from_json_str (&m2, s, strlen (s), NULL, &err) == 0);
    char *s2 = ih_msg_to_json_str (&m2, NULL);
    IH_CHECK (strcmp (s, s2) == 0);
    free (s);
    free (s2);
    ih_msg_free (&m2);

    /*  Output of a stored alert: every key, in order, with meta. */
    ih_uuid_new (m.id);
    m.revision = 3;
    m.created = 1795887936123LL;
    m.modified = 1795888800000LL;
    m.org = ih_msg_str (&m, "bank-a");
    m.member = ih_msg_str (&m, "soc");
    for (int i = 0; i < 32; i++)
        m.signer [i] = (uint8_t) i;
    ih_msg_strlist_add (&m, &m.tags, "phishing-kit");
    ih_json_meta_t meta_out = { 1234, false, 3, 0, NULL };
    json_t *j = ih_msg_to_json (&m, &meta_out);
    const char *key;
    json_t *v;
    const char *order [] = { "id", "revision", "seq", "created", "modified", "publisher", "signer",
                             "status", "title", "summary", "tlp", "severity", "category", "sectors",
                             "recipients", "references", "tags", "iocs", "revisions", NULL };
    size_t k = 0;
    json_object_foreach (j, key, v) {
        IH_CHECK (order [k] && strcmp (key, order [k]) == 0);
        k++;
    }
    IH_CHECK (order [k] == NULL);
    IH_CHECK (strcmp (json_string_value (json_object_get (j, "created")), "2026-11-28T17:45:36.123Z") == 0);
    IH_CHECK (strcmp (json_string_value (json_object_get (j, "status")), "active") == 0);
    IH_CHECK (strcmp (json_string_value (json_object_get (j, "signer")), S_SIGNER) == 0);
    IH_CHECK (json_integer_value (json_object_get (j, "seq")) == 1234);
    IH_CHECK (strcmp (json_string_value (json_object_get (json_object_get (j, "publisher"), "member")), "soc") == 0);
    /*  ... and it reads back to the same message and meta. */
    IH_CHECK (ih_msg_from_json (&m2, j, &meta, &err) == 0);
    IH_CHECK (meta.seq == 1234 && !meta.retracted && meta.revisions == 3 && meta.sightings == 0);
    IH_CHECK (strcmp (m2.id, m.id) == 0 && m2.revision == 3 && m2.created == m.created);
    IH_CHECK (m2.modified == m.modified && memcmp (m2.signer, m.signer, 32) == 0);
    IH_CHECK (strcmp (m2.org, "bank-a") == 0 && strcmp (m2.member, "soc") == 0);
    json_t *j2 = ih_msg_to_json (&m2, &meta);
    IH_CHECK (json_equal (j, j2));
    json_decref (j2);
    json_decref (j);
    ih_msg_free (&m2);

    /*  IOCs retracted on their own: "retracted": true, read back into meta, and the
        round trip is lossless; other kinds may not carry the key. */
    {
        bool flags [3] = { false, true, false };
        ih_json_meta_t rm = { 77, false, 1, 0, NULL };
        rm.ioc_retracted = flags;
        IH_CHECK (m.ioc_count == 3);
        json_t *jr = ih_msg_to_json (&m, &rm);
        json_t *iocs = json_object_get (jr, "iocs");
        IH_CHECK (json_object_get (json_array_get (iocs, 0), "retracted") == NULL);
        IH_CHECK (json_is_true (json_object_get (json_array_get (iocs, 1), "retracted")));
        ih_json_meta_t back;
        IH_CHECK (ih_msg_from_json (&m2, jr, &back, &err) == 0);
        IH_CHECK (back.ioc_retracted && !back.ioc_retracted [0] && back.ioc_retracted [1]
                  && !back.ioc_retracted [2]);
        json_t *jr2 = ih_msg_to_json (&m2, &back);
        IH_CHECK (json_equal (jr, jr2));
        json_decref (jr2);
        ih_msg_free (&m2);
        /*  none flagged: no key, no array */
        rm.ioc_retracted = NULL;
        json_decref (jr);
        jr = ih_msg_to_json (&m, &rm);
        IH_CHECK (ih_msg_from_json (&m2, jr, &back, &err) == 0 && back.ioc_retracted == NULL);
        json_decref (jr);
        ih_msg_free (&m2);
        const char *bad = "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"text\":\"x\","
                          "\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"retracted\":true}]}";
        IH_CHECK (ih_msg_from_json_str (&m2, bad, strlen (bad), &back, &err) == -1);
        IH_CHECK (strstr (err.msg, "iocs[0].retracted: not allowed for kind retraction"));
        ih_msg_free (&m2);
    }

    /*  Broken messages still print: bad UTF-8 becomes U+FFFD, unknown enums null. */
    m.title = ih_msg_str (&m, "a\xff" "b\xc3");
    m.tlp = (ih_tlp_t) 9;
    m.iocs [0].type = (ih_ioc_type_t) 77;
    s = ih_msg_to_json_str (&m, NULL);
    IH_CHECK (strstr (s, "\"title\":\"a\\uFFFDb\\uFFFD\""));
    IH_CHECK (strstr (s, "\"tlp\":null"));
    IH_CHECK (strstr (s, "{\"type\":null,"));
    free (s);
    ih_msg_free (&m);

    /*  Other spellings and kinds on input. */
    const char *in2 = "{\"kind\":\"sighting\",\"tlp\":\"amber+strict\",\"ref\":\"\","
                      "\"iocs\":[{\"type\":\"asn\",\"value\":\"as64496\"}]}";
    IH_CHECK (ih_msg_from_json_str (&m, in2, strlen (in2), NULL, &err) == 0);
    IH_CHECK (m.kind == IH_KIND_SIGHTING && m.tlp == IH_TLP_AMBER_STRICT && m.ref [0] == 0);
    IH_CHECK (m.revision == 0 && m.count == 1 && m.ioc_count == 1);
    IH_CHECK (strcmp (m.iocs [0].value, "AS64496") == 0 && m.iocs [0].detect);
    ih_msg_free (&m);
    const char *in3 = "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"iocs\":[{\"type\":\"cve\","
                      "\"value\":\"cve-2024-3094\"}]}";
    IH_CHECK (ih_msg_from_json_str (&m, in3, strlen (in3), NULL, &err) == 0);
    IH_CHECK (m.kind == IH_KIND_RETRACTION && strcmp (m.ref, S_UUID1) == 0 && strcmp (m.text, "") == 0);
    /*  A retracted IOC carries no detect flag (ih_msg_validate), so it defaults off. */
    IH_CHECK (strcmp (m.iocs [0].value, "CVE-2024-3094") == 0 && !m.iocs [0].detect);
    ih_msg_free (&m);

    /*  Rejections, data-driven. */
    for (size_t i = 0; s_invalid [i].json; i++)
        s_expect_error (s_invalid [i].json, strlen (s_invalid [i].json), s_invalid [i].error, verbose);
    /*  Null and non-object roots through the json_t entry point. */
    IH_CHECK (ih_msg_from_json (&m, NULL, NULL, &err) == -1 && strstr (err.msg, "json: expected an object"));
    ih_msg_free (&m);
    j = json_string ("x");
    IH_CHECK (ih_msg_from_json (&m, j, NULL, NULL) == -1);   /* err may be NULL */
    json_decref (j);
    ih_msg_free (&m);
    /*  A NUL inside the text is not JSON. */
    s_expect_error ("{\"title\":\"a\0b\"}", 15, "json: line 1", verbose);

    /*  Limits, at and over the edge. */
    j = s_base ();
    json_object_set_new (j, "title", s_long (IH_MAX_TITLE, 't'));
    s = json_dumps (j, 0);
    IH_CHECK (ih_msg_from_json_str (&m, s, strlen (s), NULL, &err) == 0 && strlen (m.title) == IH_MAX_TITLE);
    free (s);
    ih_msg_free (&m);
    json_object_set_new (j, "title", s_long (IH_MAX_TITLE + 1, 't'));
    s_expect_error_json (j, "title: too long (257 > 256 bytes)", verbose);
    j = s_base ();
    json_object_set_new (j, "summary", s_long (IH_MAX_SUMMARY + 1, 's'));
    s_expect_error_json (j, "summary: too long", verbose);
    j = s_base ();
    json_t *refs = json_array ();
    json_array_append_new (refs, s_long (IH_MAX_REF + 1, 'r'));
    json_object_set_new (j, "references", refs);
    s_expect_error_json (j, "references[0]: too long", verbose);
    j = s_base ();
    json_t *tags = json_array ();
    for (int i = 0; i <= IH_MAX_LIST; i++)
        json_array_append_new (tags, json_sprintf ("t%d", i));
    json_object_set_new (j, "tags", tags);
    s_expect_error_json (j, "tags: too many (65 > 64)", verbose);
    /*  A recipient is at most IH_MAX_SHORT bytes, "sector:" included (the wire limit). */
    j = s_base ();
    json_t *recips = json_array ();
    json_array_append_new (recips, json_sprintf ("sector:%s", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefgh"));
    json_object_set_new (j, "recipients", recips);
    s_expect_error_json (j, "recipients[0]: too long (65 > 64 bytes)", verbose);
    j = s_base ();
    json_t *sectors = json_array ();
    json_array_append_new (sectors, s_long (IH_MAX_SHORT + 1, 'x'));
    json_object_set_new (j, "sectors", sectors);
    s_expect_error_json (j, "sectors[0]: too long", verbose);
    j = s_base ();
    json_t *iocs = json_array ();
    json_array_append_new (iocs, json_pack ("{s:s, s:s}", "type", "ipv4", "value", "1.2.3.4"));
    json_array_append_new (iocs, json_pack ("{s:s, s:s, s:o}", "type", "ipv4", "value", "1.2.3.5",
                                            "comment", s_long (IH_MAX_IOC_COMMENT + 1, 'c')));
    json_object_set_new (j, "iocs", iocs);
    s_expect_error_json (j, "iocs[1].comment: too long", verbose);
    j = s_base ();
    iocs = json_array ();
    json_array_append_new (iocs, json_pack ("{s:s, s:o}", "type", "url", "value", s_long (IH_JSON_MAX_RAW_IOC + 1, 'u')));
    json_object_set_new (j, "iocs", iocs);
    s_expect_error_json (j, "iocs[0].value: too long", verbose);
    j = s_base ();
    iocs = json_array ();
    for (int i = 0; i <= IH_MAX_IOCS; i++)
        json_array_append_new (iocs, json_pack ("{s:s, s:o}", "type", "ipv4", "value",
                                                json_sprintf ("10.%d.%d.1", i / 256, i % 256)));
    json_object_set_new (j, "iocs", json_copy (iocs));
    json_array_remove (iocs, 0);
    /*  Exactly IH_MAX_IOCS is fine... */
    json_t *ok = s_base ();
    json_object_set_new (ok, "iocs", iocs);
    IH_CHECK (ih_msg_from_json (&m, ok, NULL, &err) == 0 && m.ioc_count == IH_MAX_IOCS);
    json_decref (ok);
    ih_msg_free (&m);
    /*  ...one more is not. */
    s_expect_error_json (j, "iocs: too many (5001 > 5000)", verbose);
    /*  Too large a text is refused before parsing. */
    IH_CHECK (ih_msg_from_json_str (&m, "{}", (size_t) IH_JSON_MAX_TEXT + 1, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "json: too large"));
    ih_msg_free (&m);

    /*  Lossless: JSON -> ih_msg_t -> msgpack -> ih_msg_t -> JSON, for every kind. */
    for (size_t i = 0; s_lossless [i]; i++) {
        json_error_t jerr;
        j = json_loads (s_lossless [i], JSON_REJECT_DUPLICATES, &jerr);
        IH_CHECK (j);
        IH_CHECK (ih_msg_from_json (&m, j, &meta, &err) == 0);
        ih_buf_t body;
        ih_buf_init (&body);
        if (ih_body_encode (&m, &body, &err)) {
            fprintf (stderr, "\nlossless[%zu]: encode: %s\n", i, err.msg);
            IH_CHECK (false);
        }
        ih_msg_t back;
        if (ih_body_decode (&back, body.data, body.len, &err)) {
            fprintf (stderr, "\nlossless[%zu]: decode: %s\n", i, err.msg);
            IH_CHECK (false);
        }
        j2 = ih_msg_to_json (&back, &meta);
        s = json_dumps (j2, JSON_COMPACT);
        if (verbose)
            printf ("\n    lossless[%zu]: %zu body bytes: %.100s...", i, body.len, s);
        if (!json_equal (j, j2))
            fprintf (stderr, "\nlossless[%zu]: %s\n", i, s);
        IH_CHECK (json_equal (j, j2));
        /*  Same key order too: the input was written in output order. */
        s2 = json_dumps (j, JSON_COMPACT);
        IH_CHECK (strcmp (s, s2) == 0);
        free (s);
        free (s2);
        json_decref (j2);
        json_decref (j);
        ih_buf_free (&body);
        ih_msg_free (&back);
        ih_msg_free (&m);
    }
    if (verbose)
        printf ("\n    ");
}
#endif

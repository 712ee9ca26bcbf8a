/*  ih_export_stix.c: the stix21 export (ih_export.h): one bundle, written as it goes.

    The objects come from ih_stix, one at a time, and are dumped into the output as each
    is built: what the exporter keeps from one alert to the next is the ids of the shared
    objects (markings, publisher identities) already in the bundle, so that each is
    written once, before the first object that refers to it.
*/
#include <czmq.h>

#include "ih_export_priv.h"
#include "ih_stix.h"

/*  Writes one object of the bundle. */
static int
s_put_object (json_t *o, void *arg)
{
    ih_export_t *self = (ih_export_t *) arg;
    ih_export_puts (self, self->objects++ ? ",\n" : "\n");
    ih_export_json (self, o);
    return 0;
}

/*  Writes a shared object unless the bundle has it already. */
static int
s_put_shared (json_t *o, void *arg)
{
    ih_export_t *self = (ih_export_t *) arg;
    const char *id = json_string_value (json_object_get (o, "id"));
    if (!id || zhashx_lookup (self->shared, id))
        return 0;
    zhashx_insert (self->shared, id, (void *) 1);
    return s_put_object (o, self);
}

static void
s_stix_begin (ih_export_t *self)
{
    char id [IH_UUID_LEN + 1];
    ih_uuid_new (id);
    ih_export_putf (self, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[", id);
    ih_stix_fixed (s_put_shared, self);
}

static int
s_stix_alert (ih_export_t *self, const ih_msg_t *m, const ih_store_alert_t *info, ih_err_t *err)
{
    ih_stix_shared (m, s_put_shared, self);
    ih_stix_own (m, self->sel, self->nsel, s_put_object, self);
    self->stats.iocs += self->nsel;
    return 0;
}

static void
s_stix_end (ih_export_t *self)
{
    ih_export_puts (self, "\n]}\n");
}

const ih_export_writer_t ih_export_stix_writer = {
    .begin = s_stix_begin, .alert = s_stix_alert, .end = s_stix_end
};

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_export_stix_test (bool verbose)
{
    ih_export_t_fixture_t f;
    ih_export_t_fixture (&f);

    //  A bundle that parses, markings, identity once, ids stable across exports,
    //  object_refs resolve, the retracted alert absent.
    char *out = ih_export_t_run (&f, IH_EXPORT_STIX21, 3);
    if (verbose)
        printf ("%.600s…\n", out);
    json_error_t jerr;
    json_t *j = json_loads (out, 0, &jerr);
    if (!j)
        fprintf (stderr, "stix: %s at %d\n", jerr.text, jerr.line);
    IH_CHECK (j);
    json_t *objs = json_object_get (j, "objects");
    IH_CHECK (streq (json_string_value (json_object_get (j, "type")), "bundle"));
    //  Infohub's identity and extension-definition + 5 markings + 1 publisher identity
    //  + 2 x (report + 10 indicators + 1 vulnerability)
    IH_CHECK (json_array_size (objs) == 2 + 5 + 1 + 2 * 12);
    IH_CHECK (f.st.alerts == 2 && f.st.iocs == 22 && f.st.alerts_retracted == 1);
    size_t ri = 0;
    json_t *ob;
    zhashx_t *ids = zhashx_new ();
    json_array_foreach (objs, ri, ob) {
        const char *id = json_string_value (json_object_get (ob, "id"));
        IH_CHECK (id && zhashx_insert (ids, id, (void *) 1) == 0);     //  unique
    }
    json_array_foreach (objs, ri, ob) {
        json_t *refs = json_object_get (ob, "object_refs");
        size_t k;
        json_t *r;
        json_array_foreach (refs, k, r)
            IH_CHECK (zhashx_lookup (ids, json_string_value (r)));
        const char *pat = json_string_value (json_object_get (ob, "pattern"));
        if (pat && strstr (pat, "url:value"))
            IH_CHECK (streq (pat, "[url:value = 'http://evil-login.xyz:8080/a\\'b\\\\c?q=1']"));
        //  Every extension an object uses is defined in the bundle; no custom property.
        const char *key;
        json_t *val;
        json_object_foreach (json_object_get (ob, "extensions"), key, val)
            IH_CHECK (zhashx_lookup (ids, key) || streq (key, "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"));
        json_object_foreach (ob, key, val)
            IH_CHECK (strncmp (key, "x_", 2) != 0);
    }
    char rid [IH_STIX_ID_MAX];
    snprintf (rid, sizeof rid, "report--%s", f.msgs [0].id);
    IH_CHECK (zhashx_lookup (ids, rid));
    snprintf (rid, sizeof rid, "report--%s", f.msgs [1].id);
    IH_CHECK (!zhashx_lookup (ids, rid));
    IH_CHECK (zhashx_lookup (ids, ih_stix_marking_id (IH_TLP_AMBER)));
    zhashx_destroy (&ids);
    //  Infohub and its extension first, the markings, then the publisher, then the first
    //  report.
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (objs, 0), "id")), IH_STIX_PRODUCER_ID));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (objs, 1), "id")), IH_STIX_EXTENSION_ID));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (objs, 2), "id")),
                     ih_stix_marking_id (IH_TLP_CLEAR)));
    IH_CHECK (streq (json_string_value (json_object_get (json_array_get (objs, 7), "type")), "identity"));
    json_t *rep = json_array_get (objs, 8);
    IH_CHECK (streq (json_string_value (json_object_get (rep, "type")), "report"));
    IH_CHECK (streq (json_string_value (json_array_get (json_object_get (rep, "object_marking_refs"), 0)),
                     ih_stix_marking_id (IH_TLP_AMBER)));
    IH_CHECK (streq (json_string_value (json_object_get (rep, "description")), f.msgs [0].summary));
    IH_CHECK (streq (json_string_value (ih_stix_prop (rep, "publisher_org")), "bank-a"));
    IH_CHECK (json_integer_value (ih_stix_prop (rep, "revision")) == 2);
    json_decref (j);
    //  One object a line, and only the bundle id differs from one export to the next.
    IH_CHECK (strncmp (out, "{\"type\":\"bundle\",\"id\":\"bundle--", 31) == 0);
    IH_CHECK (ih_export_t_count (out, "\n") == 2 + 5 + 1 + 2 * 12 + 2);     //  and the end "\n]}\n"
    char *again = ih_export_t_run (&f, IH_EXPORT_STIX21, 3);
    IH_CHECK (strlen (again) == strlen (out));
    IH_CHECK (streq (strstr (again, "\"objects\""), strstr (out, "\"objects\"")));
    free (again);
    free (out);

    //  An empty bundle still has its markings (and the extension their objects would use).
    out = ih_export_t_run (&f, IH_EXPORT_STIX21, 0);
    j = json_loads (out, 0, &jerr);
    IH_CHECK (j && json_array_size (json_object_get (j, "objects")) == 2 + 5);
    IH_CHECK (strstr (out, "\n]}\n"));
    json_decref (j);
    free (out);

    //  A selection of IOCs: the report refers to those only.
    f.o.sel.types = 1u << IH_IOC_CVE;
    out = ih_export_t_run (&f, IH_EXPORT_STIX21, 3);
    j = json_loads (out, 0, &jerr);
    IH_CHECK (j && json_array_size (json_object_get (j, "objects")) == 2 + 5 + 1 + 2 * 2 && f.st.iocs == 2);
    rep = json_array_get (json_object_get (j, "objects"), 8);
    IH_CHECK (json_array_size (json_object_get (rep, "object_refs")) == 1);
    json_decref (j);
    free (out);

    ih_export_t_fixture_free (&f);
}
#endif

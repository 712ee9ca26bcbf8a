/*  ih_limits.c: the values of the limits: defaults, parsing, formatting. See ih_limits.h. */
#include <inttypes.h>
#include <string.h>

#include "ih_limits.h"

/* ---- values ------------------------------------------------------------------------- */
ih_limits_t
ih_limits_default (ih_role_t role)
{
    if (role == IH_ROLE_PUBLISHER)
        return (ih_limits_t) { 100, 2ull << 20, 1ull << 30 };
    return (ih_limits_t) { 20, 256ull << 10, 64ull << 20 };
}

ih_limits_t
ih_limits_unset (void)
{
    return (ih_limits_t) { IH_LIMIT_UNSET, IH_LIMIT_UNSET, IH_LIMIT_UNSET };
}

ih_limits_t
ih_limits_resolve (const ih_limits_t *member, const ih_limits_t *role)
{
    ih_limits_t out = *role;
    if (member) {
        if (member->msgs_per_s != IH_LIMIT_UNSET)
            out.msgs_per_s = member->msgs_per_s;
        if (member->bytes_per_s != IH_LIMIT_UNSET)
            out.bytes_per_s = member->bytes_per_s;
        if (member->bytes_per_day != IH_LIMIT_UNSET)
            out.bytes_per_day = member->bytes_per_day;
    }
    return out;
}

int
ih_limit_parse (const char *field, const char *text, bool bytes, uint64_t *out, ih_err_t *err)
{
    char q [IH_QUOTE_BUF];
    if (!text || !*text)
        return ih_err_set (err, "%s: empty (a number%s, or unlimited)", field,
                           bytes ? " of bytes, with K, M or G" : "");
    if (strcmp (text, "unlimited") == 0) {
        *out = 0;
        return 0;
    }
    const char *p = text;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (uint64_t) (*p - '0');
    }
    unsigned shift = 0;
    if (bytes && *p && !p [1]) {
        const char *units = "KMG";
        const char *u = strchr (units, *p == 'k' ? 'K' : *p);
        if (u && *u) {
            shift = 10 * (unsigned) (u - units + 1);
            p++;
        }
    }
    if (*p || v == 0 || v > (1ull << 50) >> shift)
        goto bad;
    *out = v << shift;
    return 0;
bad:
    return ih_err_set (err, "%s: '%s' is not %s between 1 and %s, nor unlimited", field,
                       ih_quote (text, strlen (text), IH_QUOTE_SHOW, q, sizeof q),
                       bytes ? "a number of bytes (K, M, G: powers of 1024)" : "a number",
                       bytes ? "1048576G" : "1125899906842624");
}

void
ih_limit_format (uint64_t v, bool bytes, char *out, size_t size)
{
    if (v == 0)
        snprintf (out, size, "unlimited");
    else
    if (bytes && v % (1ull << 30) == 0)
        snprintf (out, size, "%" PRIu64 "G", v >> 30);
    else
    if (bytes && v % (1ull << 20) == 0)
        snprintf (out, size, "%" PRIu64 "M", v >> 20);
    else
    if (bytes && v % (1ull << 10) == 0)
        snprintf (out, size, "%" PRIu64 "K", v >> 10);
    else
        snprintf (out, size, "%" PRIu64, v);
}

/* ---- self-test ---------------------------------------------------------------------- */
#ifdef IH_SELFTEST
static void
s_test_values (void)
{
    struct { const char *text; bool bytes; uint64_t want; const char *err; } cases [] = {
        { "500", false, 500, NULL },
        { "unlimited", false, 0, NULL },
        { "2M", true, 2ull << 20, NULL },
        { "64K", true, 64ull << 10, NULL },
        { "64k", true, 64ull << 10, NULL },
        { "1G", true, 1ull << 30, NULL },
        { "1048576G", true, 1ull << 50, NULL },
        { "1048577G", true, 0, "not a number of bytes" },
        { "2M", false, 0, "'2M' is not a number between" },
        { "0", false, 0, "between 1 and" },
        { "", false, 0, "empty" },
        { "-5", false, 0, "'-5' is not" },
        { "5 ", false, 0, "'5 ' is not" },
        { "99999999999999999999999", false, 0, "is not a number" },
        { "1\n", false, 0, "'1\\x0a' is not" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        uint64_t v = 7;
        ih_err_t err;
        int rc = ih_limit_parse ("--rate", cases [i].text, cases [i].bytes, &v, &err);
        if (cases [i].err) {
            IH_CHECK (rc == -1 && strstr (err.msg, cases [i].err) && strncmp (err.msg, "--rate: ", 8) == 0);
            IH_CHECK (!strchr (err.msg, '\n'));
        }
        else {
            IH_CHECK (rc == 0 && v == cases [i].want);
            char text [32];
            ih_limit_format (v, cases [i].bytes, text, sizeof text);
            uint64_t again;
            IH_CHECK (ih_limit_parse ("x", text, cases [i].bytes, &again, NULL) == 0 && again == v);
        }
    }
    ih_limits_t role = ih_limits_default (IH_ROLE_PUBLISHER), m = ih_limits_unset ();
    ih_limits_t r = ih_limits_resolve (&m, &role);
    IH_CHECK (r.msgs_per_s == 100 && r.bytes_per_s == 2ull << 20 && r.bytes_per_day == 1ull << 30);
    m.msgs_per_s = 5;
    m.bytes_per_day = 0;
    r = ih_limits_resolve (&m, &role);
    IH_CHECK (r.msgs_per_s == 5 && r.bytes_per_s == 2ull << 20 && r.bytes_per_day == 0);
    r = ih_limits_resolve (NULL, &role);
    IH_CHECK (r.msgs_per_s == 100);
    IH_CHECK (ih_limits_default (IH_ROLE_READER).msgs_per_s == 20);
}

void
ih_limits_test (bool verbose)
{
    s_test_values ();
    (void) verbose;
}
#endif

/*  ih_index.c: the agent's IOC index (keys, entries, search). The layout is documented in
    ih_index.h; the store (ih_store.c) owns the transaction and calls in here.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_index.h"
#include "ih_ioc.h"
#include "ih_mdbfile.h"

#define s_ENTRY_LEN     IH_INDEX_ENTRY_LEN

static MDB_val
s_val (const void *data, size_t len)
{
    MDB_val v = { len, (void *) data };
    return v;
}

/* ---- UUIDs ------------------------------------------------------------------------------ */

int
ih_index_uuid_bin (const char *id, uint8_t out [16])
{
    char hex [33];
    int n = 0;
    for (int i = 0; id [i]; i++) {
        if (id [i] == '-')
            continue;
        if (n == 32)
            return -1;
        hex [n++] = id [i];
    }
    hex [n] = 0;
    if (n != 32 || ih_hex_decode (hex, out, 16) != 0) {
        memset (out, 0, 16);
        return -1;
    }
    return 0;
}

void
ih_index_uuid_text (const uint8_t in [16], char out [IH_UUID_LEN + 1])
{
    char hex [33];
    ih_hex_encode (in, 16, hex);
    snprintf (out, IH_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
              hex + 16, hex + 20);
}

/* ---- keys ------------------------------------------------------------------------------- */

/*  "a.b.example" -> "example.b.a". out holds len bytes. */
static void
s_reverse_labels (const char *in, size_t len, char *out)
{
    size_t o = 0;
    size_t end = len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && in [start - 1] != '.')
            start--;
        memcpy (out + o, in + start, end - start);
        o += end - start;
        if (start > 0)
            out [o++] = '.';
        end = start > 0 ? start - 1 : 0;
    }
}

/*  A text key: tag + value, hashed when too long. Returns the length. */
static int
s_text_key (uint8_t tag, const char *value, size_t len, uint8_t *key)
{
    key [0] = tag;
    if (1 + len <= IH_INDEX_KEY_MAX) {
        memcpy (key + 1, value, len);
        return (int) (1 + len);
    }
    memcpy (key + 1, value, 440);
    key [441] = 0;
    crypto_generichash (key + 442, 32, (const uint8_t *) value, len, NULL, 0);
    return 442 + 32;
}

static int
s_addr_key (int fam, const uint8_t addr [16], uint8_t *key)
{
    int n = fam == 4 ? 4 : 16;
    key [0] = 'A';
    key [1] = (uint8_t) fam;
    memcpy (key + 2, addr, n);
    return 2 + n;
}

static int
s_net_key (int fam, int plen, const uint8_t net [16], uint8_t *key)
{
    int n = fam == 4 ? 4 : 16;
    key [0] = 'N';
    key [1] = (uint8_t) fam;
    key [2] = (uint8_t) plen;
    memcpy (key + 3, net, n);
    return 3 + n;
}

static int
s_domain_key (const char *d, size_t len, uint8_t *key)
{
    if (len == 0 || len > 253)
        return -1;
    key [0] = 'D';
    s_reverse_labels (d, len, (char *) key + 1);
    return (int) (1 + len);
}

/*  Key of a host (URL authority host or email domain): an IP literal or a domain. */
static int
s_host_key (const char *h, size_t len, uint8_t *key)
{
    char tmp [256];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy (tmp, h, len);
    tmp [len] = 0;
    uint8_t a [16];
    if (inet_pton (AF_INET, tmp, a) == 1)
        return s_addr_key (4, a, key);
    if (inet_pton (AF_INET6, tmp, a) == 1)
        return s_addr_key (6, a, key);
    if (!memchr (tmp, '.', len))
        return -1;                  //  "localhost" and the like: not worth indexing
    return s_domain_key (tmp, len, key);
}

/*  The host of a URL in normal form (ih_ioc_url_host: the warninglists use the same). */
static int
s_url_host_key (const char *url, uint8_t *key)
{
    const char *h;
    size_t hlen;
    if (ih_ioc_url_host (url, &h, &hlen) != 0)
        return -1;
    return s_host_key (h, hlen, key);
}

int
ih_index_key (ih_ioc_type_t t, const char *value, uint8_t *key, uint8_t *derived, int *derived_len)
{
    if (derived_len)
        *derived_len = 0;
    if (!value)
        return -1;
    size_t len = strlen (value);
    int fam, plen;
    uint8_t a [16];
    switch (t) {
        case IH_IOC_IPV4:
        case IH_IOC_IPV6:
            if (ih_ioc_ip_parse (value, &fam, a, &plen) != 0 || plen != (fam == 4 ? 32 : 128)
            ||  (fam == 4) != (t == IH_IOC_IPV4))
                return -1;
            return s_addr_key (fam, a, key);
        case IH_IOC_CIDR:
            if (ih_ioc_ip_parse (value, &fam, a, &plen) != 0 || !memchr (value, '/', len))
                return -1;
            return s_net_key (fam, plen, a, key);
        case IH_IOC_DOMAIN:
            return s_domain_key (value, len, key);
        case IH_IOC_MD5:
        case IH_IOC_SHA1:
        case IH_IOC_SHA256: {
            size_t n = t == IH_IOC_MD5 ? 16 : t == IH_IOC_SHA1 ? 20 : 32;
            if (len != 2 * n || ih_hex_decode (value, key + 1, n) != 0)
                return -1;
            key [0] = t == IH_IOC_MD5 ? 'm' : t == IH_IOC_SHA1 ? 's' : 'h';
            return (int) (1 + n);
        }
        case IH_IOC_URL:
            if (derived && derived_len) {
                int d = s_url_host_key (value, derived);
                *derived_len = d > 0 ? d : 0;
            }
            return s_text_key ('u', value, len, key);
        case IH_IOC_EMAIL: {
            const char *at = strrchr (value, '@');
            if (!at)
                return -1;
            if (derived && derived_len) {
                int d = s_host_key (at + 1, strlen (at + 1), derived);
                *derived_len = d > 0 ? d : 0;
            }
            return s_text_key ('e', value, len, key);
        }
        case IH_IOC_FILENAME:
            return len ? s_text_key ('f', value, len, key) : -1;
        case IH_IOC_CVE:
            return len ? s_text_key ('c', value, len, key) : -1;
        case IH_IOC_ASN:
            return len ? s_text_key ('a', value, len, key) : -1;
    }
    return -1;
}

void
ih_index_key_text (const uint8_t *key, size_t len, char *out, size_t outsz)
{
    out [0] = 0;
    if (len < 2)
        return;
    switch (key [0]) {
        case 'A':
            inet_ntop (key [1] == 4 ? AF_INET : AF_INET6, key + 2, out, (socklen_t) outsz);
            break;
        case 'N': {
            char ip [INET6_ADDRSTRLEN];
            inet_ntop (key [1] == 4 ? AF_INET : AF_INET6, key + 3, ip, sizeof ip);
            snprintf (out, outsz, "%s/%u", ip, key [2]);
            break;
        }
        case 'D':
            if (len - 1 < outsz) {
                s_reverse_labels ((const char *) key + 1, len - 1, out);
                out [len - 1] = 0;
            }
            break;
        case 'm':
        case 's':
        case 'h':
            if (2 * (len - 1) < outsz)
                ih_hex_encode (key + 1, len - 1, out);
            break;
        default:
            if (!memchr (key + 1, 0, len - 1) && len - 1 < outsz) {
                memcpy (out, key + 1, len - 1);
                out [len - 1] = 0;
            }
    }
}

/*  Which plen slot a network key counts in. */
static int
s_plen_slot (int fam, int plen)
{
    return fam == 4 ? plen : 33 + plen;
}

static void
s_mask (const uint8_t *addr, int nbytes, int plen, uint8_t *out)
{
    for (int i = 0; i < nbytes; i++) {
        int bits = plen - 8 * i;
        uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));
        out [i] = addr [i] & m;
    }
}

/* ---- key sets ---------------------------------------------------------------------------- */

bool
ih_index_set_has (const uint8_t *set, size_t len, const uint8_t *key, size_t klen)
{
    size_t o = 0;
    while (set && o + 2 <= len) {
        size_t n = ih_get_le16 (set + o);
        if (o + 2 + n > len)
            return false;
        if (n == klen && memcmp (set + o + 2, key, klen) == 0)
            return true;
        o += 2 + n;
    }
    return false;
}

void
ih_index_set_add_msg (ih_buf_t *set, const ih_msg_t *m)
{
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        int klen = ih_index_key (m->iocs [i].type, m->iocs [i].value, key, NULL, NULL);
        if (klen <= 0 || ih_index_set_has (set->data, set->len, key, (size_t) klen))
            continue;
        uint8_t l [2];
        ih_put_le16 (l, (uint16_t) klen);
        ih_buf_append (set, l, 2);
        ih_buf_append (set, key, (size_t) klen);
    }
}

uint32_t
ih_index_set_count (const uint8_t *set, size_t len)
{
    uint32_t n = 0;
    size_t o = 0;
    while (set && o + 2 <= len) {
        o += 2 + ih_get_le16 (set + o);
        n++;
    }
    return n;
}

/* ---- entries ----------------------------------------------------------------------------- */

static void
s_plen_adjust (ih_index_t *x, const uint8_t *key, int klen, int delta)
{
    if (klen >= 3 && key [0] == 'N' && x->plen) {
        int slot = s_plen_slot (key [1], key [2]);
        if (slot < 0 || slot >= IH_INDEX_PLEN_N)
            return;
        if (delta < 0 && x->plen [slot] == 0)
            return;
        x->plen [slot] = (uint32_t) ((int64_t) x->plen [slot] + delta);
    }
}

static int
s_entry_put (ih_index_t *x, const uint8_t *key, int klen, const uint8_t uuid [16],
             ih_ioc_type_t type, uint8_t flags)
{
    uint8_t e [s_ENTRY_LEN];
    memcpy (e, uuid, 16);
    e [16] = (uint8_t) type;
    e [17] = flags;
    MDB_val k = s_val (key, (size_t) klen), v = s_val (e, sizeof e);
    int rc = mdb_put (x->txn, x->dbi, &k, &v, MDB_NODUPDATA);
    if (rc == MDB_KEYEXIST)
        return 0;               //  the same IOC twice in one alert
    if (rc == 0)
        s_plen_adjust (x, key, klen, +1);
    return rc;
}

/*  Deletes every entry of alert uuid under key. Entries are sorted by uuid first, so
    they are adjacent: seek to (uuid, 0, 0) and delete while the uuid matches. */
static int
s_entry_del (ih_index_t *x, const uint8_t *key, int klen, const uint8_t uuid [16])
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (x->txn, x->dbi, &cur);
    if (rc)
        return rc;
    while (true) {
        uint8_t probe [s_ENTRY_LEN] = { 0 };
        memcpy (probe, uuid, 16);
        MDB_val k = s_val (key, (size_t) klen), v = s_val (probe, sizeof probe);
        rc = ih_mdb_cursor_get (cur, &k, &v, MDB_GET_BOTH_RANGE);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc || v.mv_size != s_ENTRY_LEN || memcmp (v.mv_data, uuid, 16) != 0)
            break;
        if ((rc = mdb_cursor_del (cur, 0)))
            break;
        s_plen_adjust (x, key, klen, -1);
    }
    mdb_cursor_close (cur);
    return rc;
}

/*  Sets IH_INDEX_RETRACTED on every entry of alert uuid under key (an entry is a
    DUPFIXED value: delete and put it back changed). */
static int
s_entry_flag (ih_index_t *x, const uint8_t *key, int klen, const uint8_t uuid [16])
{
    uint8_t found [16][s_ENTRY_LEN];
    int n = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open (x->txn, x->dbi, &cur);
    if (rc)
        return rc;
    uint8_t probe [s_ENTRY_LEN] = { 0 };
    memcpy (probe, uuid, 16);
    MDB_val k = s_val (key, (size_t) klen), v = s_val (probe, sizeof probe);
    rc = ih_mdb_cursor_get (cur, &k, &v, MDB_GET_BOTH_RANGE);
    while (rc == 0 && n < 16 && v.mv_size == s_ENTRY_LEN && memcmp (v.mv_data, uuid, 16) == 0) {
        if (!(((const uint8_t *) v.mv_data) [17] & IH_INDEX_RETRACTED))
            memcpy (found [n++], v.mv_data, s_ENTRY_LEN);
        rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT_DUP);
    }
    mdb_cursor_close (cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    for (int i = 0; i < n; i++) {
        MDB_val kk = s_val (key, (size_t) klen), vv = s_val (found [i], s_ENTRY_LEN);
        rc = mdb_del (x->txn, x->dbi, &kk, &vv);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        found [i][17] |= IH_INDEX_RETRACTED;
        vv = s_val (found [i], s_ENTRY_LEN);
        rc = mdb_put (x->txn, x->dbi, &kk, &vv, MDB_NODUPDATA);
        if (rc && rc != MDB_KEYEXIST)
            return rc;
    }
    return 0;
}

int
ih_index_add_msg (ih_index_t *x, const ih_msg_t *m, const uint8_t uuid [16],
                  const uint8_t *retracted, size_t retracted_len)
{
    uint8_t key [IH_INDEX_KEY_MAX + 1], dkey [IH_INDEX_KEY_MAX + 1];
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        const ih_ioc_t *ioc = &m->iocs [i];
        int dlen = 0;
        int klen = ih_index_key (ioc->type, ioc->value, key, dkey, &dlen);
        if (klen <= 0)
            continue;           //  cannot happen for a validated body
        uint8_t flags = (ioc->detect ? IH_INDEX_DETECT : 0)
                      | (ih_index_set_has (retracted, retracted_len, key, (size_t) klen)
                         ? IH_INDEX_RETRACTED : 0);
        int rc = s_entry_put (x, key, klen, uuid, ioc->type, flags);
        if (rc == 0 && dlen > 0)
            rc = s_entry_put (x, dkey, dlen, uuid, ioc->type, flags | IH_INDEX_DERIVED);
        if (rc)
            return rc;
    }
    return 0;
}

int
ih_index_del_msg (ih_index_t *x, const ih_msg_t *m, const uint8_t uuid [16])
{
    uint8_t key [IH_INDEX_KEY_MAX + 1], dkey [IH_INDEX_KEY_MAX + 1];
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        int dlen = 0;
        int klen = ih_index_key (m->iocs [i].type, m->iocs [i].value, key, dkey, &dlen);
        if (klen <= 0)
            continue;
        int rc = s_entry_del (x, key, klen, uuid);
        if (rc == 0 && dlen > 0)
            rc = s_entry_del (x, dkey, dlen, uuid);
        if (rc)
            return rc;
    }
    return 0;
}

int
ih_index_retract (ih_index_t *x, const ih_msg_t *r, const ih_msg_t *m, const uint8_t uuid [16],
                  const uint8_t *retracted, size_t retracted_len)
{
    uint8_t key [IH_INDEX_KEY_MAX + 1], dkey [IH_INDEX_KEY_MAX + 1];
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < r->ioc_count; i++) {
        int klen = ih_index_key (r->iocs [i].type, r->iocs [i].value, key, NULL, NULL);
        if (klen > 0)
            rc = s_entry_flag (x, key, klen, uuid);
    }
    //  Derived entries (a URL's host) follow their IOC.
    for (uint32_t i = 0; rc == 0 && m && i < m->ioc_count; i++) {
        int dlen = 0;
        int klen = ih_index_key (m->iocs [i].type, m->iocs [i].value, key, dkey, &dlen);
        if (klen > 0 && dlen > 0 && ih_index_set_has (retracted, retracted_len, key, (size_t) klen))
            rc = s_entry_flag (x, dkey, dlen, uuid);
    }
    return rc;
}

/* ---- search ------------------------------------------------------------------------------- */

typedef struct {
    ih_index_t *x;
    MDB_cursor *cur;
    ih_index_hit_fn *fn;
    void *arg;
    const char *query;
    int hits;
    int stop;
} s_search_t;

/*  Reports every entry under the key at the cursor's position (k, v hold the first). */
static int
s_report_key (s_search_t *s, MDB_val *k, MDB_val *v, ih_match_t match)
{
    char value [IH_INDEX_KEY_MAX + 1];
    ih_index_key_text (k->mv_data, k->mv_size, value, sizeof value);
    if (!value [0])
        snprintf (value, sizeof value, "%s", s->query);
    int rc = 0;
    while (rc == 0) {
        if (v->mv_size == s_ENTRY_LEN) {
            const uint8_t *e = (const uint8_t *) v->mv_data;
            ih_index_hit_t hit;
            memset (&hit, 0, sizeof hit);
            ih_index_uuid_text (e, hit.id);
            hit.type = (ih_ioc_type_t) e [16];
            hit.match = match;
            hit.detect = (e [17] & IH_INDEX_DETECT) != 0;
            hit.retracted = (e [17] & IH_INDEX_RETRACTED) != 0;
            hit.derived = (e [17] & IH_INDEX_DERIVED) != 0;
            snprintf (hit.value, sizeof hit.value, "%s", value);
            s->hits++;
            if ((s->stop = s->fn (&hit, s->arg)))
                return 0;
        }
        rc = ih_mdb_cursor_get (s->cur, k, v, MDB_NEXT_DUP);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
s_probe (s_search_t *s, const uint8_t *key, size_t klen, ih_match_t match)
{
    if (s->stop)
        return 0;
    MDB_val k = s_val (key, klen), v;
    int rc = ih_mdb_cursor_get (s->cur, &k, &v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    return s_report_key (s, &k, &v, match);
}

/*  Every key k with lo <= k <= hi (keys of one family and length sort together). */
static int
s_range (s_search_t *s, const uint8_t *lo, const uint8_t *hi, size_t klen, ih_match_t match)
{
    MDB_val k = s_val (lo, klen), v;
    int rc = ih_mdb_cursor_get (s->cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && !s->stop) {
        if (k.mv_size != klen || memcmp (k.mv_data, hi, klen) > 0)
            break;
        if ((rc = s_report_key (s, &k, &v, match)) || s->stop)
            break;
        rc = ih_mdb_cursor_get (s->cur, &k, &v, MDB_NEXT_NODUP);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*  Every key that starts with prefix. */
static int
s_prefix (s_search_t *s, const uint8_t *prefix, size_t plen, ih_match_t match)
{
    MDB_val k = s_val (prefix, plen), v;
    int rc = ih_mdb_cursor_get (s->cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && !s->stop) {
        if (k.mv_size < plen || memcmp (k.mv_data, prefix, plen) != 0)
            break;
        if ((rc = s_report_key (s, &k, &v, match)) || s->stop)
            break;
        rc = ih_mdb_cursor_get (s->cur, &k, &v, MDB_NEXT_NODUP);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
s_search_ip (s_search_t *s, int fam, const uint8_t addr [16], int prefix, unsigned flags)
{
    const uint32_t *plen = s->x->plen;
    int nbytes = fam == 4 ? 4 : 16;
    int maxlen = fam == 4 ? 32 : 128;
    uint8_t key [3 + 16], net [16];
    int rc = 0;
    if (prefix == maxlen) {
        int klen = s_addr_key (fam, addr, key);
        rc = s_probe (s, key, (size_t) klen, IH_MATCH_EXACT);
    }
    //  Networks containing it: one probe per prefix length in use.
    for (int l = prefix; rc == 0 && l >= 0; l--) {
        if (plen && !plen [s_plen_slot (fam, l)])
            continue;
        s_mask (addr, nbytes, l, net);
        int klen = s_net_key (fam, l, net, key);
        rc = s_probe (s, key, (size_t) klen,
                      l == prefix && prefix < maxlen ? IH_MATCH_EXACT : IH_MATCH_CONTAINS);
    }
    if (rc || prefix == maxlen || !(flags & IH_SEARCH_INSIDE))
        return rc;
    //  Addresses and longer networks inside the queried network.
    uint8_t lo [16], hi [16];
    s_mask (addr, nbytes, prefix, lo);
    for (int i = 0; i < nbytes; i++) {
        int bits = prefix - 8 * i;
        uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));
        hi [i] = lo [i] | (uint8_t) ~m;
    }
    uint8_t klo [3 + 16], khi [3 + 16];
    int klen = s_addr_key (fam, lo, klo);
    s_addr_key (fam, hi, khi);
    rc = s_range (s, klo, khi, (size_t) klen, IH_MATCH_INSIDE);
    for (int l = prefix + 1; rc == 0 && l <= maxlen; l++) {
        if (plen && !plen [s_plen_slot (fam, l)])
            continue;
        klen = s_net_key (fam, l, lo, klo);
        s_net_key (fam, l, hi, khi);
        rc = s_range (s, klo, khi, (size_t) klen, IH_MATCH_INSIDE);
    }
    return rc;
}

static int
s_search_domain (s_search_t *s, const char *value, unsigned flags)
{
    uint8_t key [IH_INDEX_KEY_MAX + 2];
    int klen = s_domain_key (value, strlen (value), key);
    if (klen <= 0)
        return 0;
    int rc = s_probe (s, key, (size_t) klen, IH_MATCH_EXACT);
    //  Parents: cut the reversed form at each '.', keeping at least two labels
    //  ("example.b.a" -> "example.b"; "example" alone is no domain).
    for (int i = klen - 1; rc == 0 && i > 1; i--)
        if (key [i] == '.' && memchr (key + 1, '.', (size_t) (i - 1)))
            rc = s_probe (s, key, (size_t) i, IH_MATCH_PARENT);
    if (rc == 0 && (flags & IH_SEARCH_SUBDOMAINS)) {
        key [klen] = '.';
        rc = s_prefix (s, key, (size_t) klen + 1, IH_MATCH_SUBDOMAIN);
    }
    return rc;
}

int
ih_index_search (ih_index_t *x, ih_ioc_type_t t, const char *value, unsigned flags,
                 ih_index_hit_fn *fn, void *arg, int *hits)
{
    *hits = 0;
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (t, value, key, NULL, NULL);
    if (klen <= 0)
        return EINVAL;
    s_search_t s;
    memset (&s, 0, sizeof s);
    s.x = x;
    s.fn = fn;
    s.arg = arg;
    s.query = value;
    int rc = mdb_cursor_open (x->txn, x->dbi, &s.cur);
    if (rc)
        return rc;
    int fam, prefix;
    uint8_t addr [16];
    if (t == IH_IOC_IPV4 || t == IH_IOC_IPV6 || t == IH_IOC_CIDR) {
        if (ih_ioc_ip_parse (value, &fam, addr, &prefix) == 0)
            rc = s_search_ip (&s, fam, addr, prefix, flags);
    }
    else
    if (t == IH_IOC_DOMAIN)
        rc = s_search_domain (&s, value, flags);
    else
        rc = s_probe (&s, key, (size_t) klen, IH_MATCH_EXACT);
    mdb_cursor_close (s.cur);
    *hits = s.hits;
    return rc;
}

const char *
ih_match_name (ih_match_t m)
{
    static const char *names [] = { "exact", "contains", "inside", "parent", "subdomain" };
    return (unsigned) m < sizeof names / sizeof names [0] ? names [m] : "?";
}

/* ---- self-test ----------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

typedef struct {
    int n;
    int stop_after;             /* 0 = never */
    ih_index_hit_t last;
    char seen [32][IH_UUID_LEN + 16];   /* "id:match" */
} s_hits_t;

static int
s_collect (const ih_index_hit_t *hit, void *arg)
{
    s_hits_t *h = (s_hits_t *) arg;
    if (h->n < 32)
        snprintf (h->seen [h->n], sizeof h->seen [0], "%.8s:%s", hit->id, ih_match_name (hit->match));
    h->n++;
    h->last = *hit;
    return h->stop_after && h->n >= h->stop_after;
}

static bool
s_saw (const s_hits_t *h, const char *id, ih_match_t m)
{
    char want [IH_UUID_LEN + 16];
    snprintf (want, sizeof want, "%.8s:%s", id, ih_match_name (m));
    for (int i = 0; i < h->n && i < 32; i++)
        if (streq (h->seen [i], want))
            return true;
    return false;
}

static int
s_find (ih_index_t *x, ih_ioc_type_t t, const char *v, unsigned flags, s_hits_t *h)
{
    memset (h, 0, sizeof *h);
    int n = -1;
    IH_CHECK (ih_index_search (x, t, v, flags, s_collect, h, &n) == 0);
    return n;
}

void
ih_index_test (bool verbose)
{
    //  Keys
    uint8_t key [IH_INDEX_KEY_MAX + 1], dkey [IH_INDEX_KEY_MAX + 1];
    char text [IH_INDEX_KEY_MAX + 1];
    int dlen;
    int n = ih_index_key (IH_IOC_IPV4, "192.0.2.1", key, NULL, NULL);
    IH_CHECK (n == 6 && key [0] == 'A' && key [1] == 4 && key [2] == 192 && key [5] == 1);
    ih_index_key_text (key, (size_t) n, text, sizeof text);
    IH_CHECK (streq (text, "192.0.2.1"));
    n = ih_index_key (IH_IOC_IPV6, "2001:db8::1", key, NULL, NULL);
    IH_CHECK (n == 18 && key [1] == 6);
    ih_index_key_text (key, (size_t) n, text, sizeof text);
    IH_CHECK (streq (text, "2001:db8::1"));
    n = ih_index_key (IH_IOC_CIDR, "10.0.0.0/8", key, NULL, NULL);
    IH_CHECK (n == 7 && key [0] == 'N' && key [2] == 8);
    ih_index_key_text (key, (size_t) n, text, sizeof text);
    IH_CHECK (streq (text, "10.0.0.0/8"));
    n = ih_index_key (IH_IOC_DOMAIN, "a.b.example.com", key, NULL, NULL);
    IH_CHECK (n == 16 && memcmp (key, "Dcom.example.b.a", 16) == 0);
    ih_index_key_text (key, (size_t) n, text, sizeof text);
    IH_CHECK (streq (text, "a.b.example.com"));
    n = ih_index_key (IH_IOC_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", key, NULL, NULL);
    IH_CHECK (n == 21 && key [0] == 's' && key [1] == 0xda);
    ih_index_key_text (key, (size_t) n, text, sizeof text);
    IH_CHECK (streq (text, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    n = ih_index_key (IH_IOC_URL, "https://user@evil.example.net:8443/x?y", key, dkey, &dlen);
    IH_CHECK (n > 0 && key [0] == 'u');
    IH_CHECK (dlen == 17 && memcmp (dkey, "Dnet.example.evil", 17) == 0);
    n = ih_index_key (IH_IOC_URL, "http://[2001:db8::7]/a", key, dkey, &dlen);
    IH_CHECK (n > 0 && dlen == 18 && dkey [0] == 'A' && dkey [1] == 6);
    n = ih_index_key (IH_IOC_URL, "http://192.0.2.9", key, dkey, &dlen);
    IH_CHECK (n > 0 && dlen == 6 && dkey [0] == 'A' && dkey [5] == 9);
    n = ih_index_key (IH_IOC_URL, "http://localhost/", key, dkey, &dlen);
    IH_CHECK (n > 0 && dlen == 0);
    n = ih_index_key (IH_IOC_EMAIL, "bob@mail.example.org", key, dkey, &dlen);
    IH_CHECK (n > 0 && key [0] == 'e' && dlen == 17 && memcmp (dkey, "Dorg.example.mail", 17) == 0);
    //  a long URL is hashed, deterministically, and fits an LMDB key
    char longurl [1200];
    snprintf (longurl, sizeof longurl, "https://long.example/");
    for (size_t i = strlen (longurl); i < sizeof longurl - 1; i++)
        longurl [i] = 'a' + (char) (i % 26);
    longurl [sizeof longurl - 1] = 0;
    n = ih_index_key (IH_IOC_URL, longurl, key, NULL, NULL);
    IH_CHECK (n == 474 && key [441] == 0);
    uint8_t key2 [IH_INDEX_KEY_MAX + 1];
    IH_CHECK (ih_index_key (IH_IOC_URL, longurl, key2, NULL, NULL) == 474 && memcmp (key, key2, 474) == 0);
    longurl [1000] = 'Z';       //  beyond the kept prefix: the hash tells them apart
    IH_CHECK (ih_index_key (IH_IOC_URL, longurl, key2, NULL, NULL) == 474 && memcmp (key, key2, 474) != 0);
    ih_index_key_text (key, (size_t) n, text, sizeof text);
    IH_CHECK (text [0] == 0);
    //  values not in normal form are refused
    IH_CHECK (ih_index_key (IH_IOC_IPV4, "1.2.3", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key (IH_IOC_IPV4, "2001:db8::1", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key (IH_IOC_IPV6, "10.0.0.1", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key (IH_IOC_CIDR, "10.0.0.1", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key (IH_IOC_MD5, "abc", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key (IH_IOC_EMAIL, "nobody", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key (IH_IOC_FILENAME, "", key, NULL, NULL) == -1);
    IH_CHECK (ih_index_key ((ih_ioc_type_t) 99, "x", key, NULL, NULL) == -1);

    //  UUIDs
    uint8_t u [16];
    char back [IH_UUID_LEN + 1];
    IH_CHECK (ih_index_uuid_bin ("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff", u) == 0);
    ih_index_uuid_text (u, back);
    IH_CHECK (streq (back, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff"));
    IH_CHECK (ih_index_uuid_bin ("0f1e2d3c", u) == -1);
    IH_CHECK (ih_index_uuid_bin ("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ffaa", u) == -1);

    //  An index in a temporary LMDB environment
    char dir [] = "/tmp/ih-index-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    MDB_env *env;
    IH_CHECK (mdb_env_create (&env) == 0);
    IH_CHECK (mdb_env_set_mapsize (env, 16 << 20) == 0);
    IH_CHECK (mdb_env_set_maxdbs (env, 2) == 0);
    IH_CHECK (mdb_env_open (env, dir, MDB_NOSYNC, 0600) == 0);
    MDB_txn *txn;
    IH_CHECK (mdb_txn_begin (env, NULL, 0, &txn) == 0);
    uint32_t plen [IH_INDEX_PLEN_N];
    memset (plen, 0, sizeof plen);
    ih_index_t x = { txn, 0, plen };
    IH_CHECK (mdb_dbi_open (txn, "iocs", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &x.dbi) == 0);

    const char *ida = "aaaaaaaa-0000-4000-8000-000000000001";
    const char *idb = "bbbbbbbb-0000-4000-8000-000000000002";
    uint8_t ua [16], ub [16];
    IH_CHECK (ih_index_uuid_bin (ida, ua) == 0 && ih_index_uuid_bin (idb, ub) == 0);
    ih_msg_t a, b;
    ih_msg_init (&a, IH_KIND_ALERT);
    ih_msg_ioc_add (&a, IH_IOC_CIDR, "10.0.0.0/8", "", true);
    ih_msg_ioc_add (&a, IH_IOC_DOMAIN, "example.com", "", true);
    ih_msg_ioc_add (&a, IH_IOC_URL, "http://evil.example.net:8080/x", "", true);
    ih_msg_ioc_add (&a, IH_IOC_EMAIL, "bob@mail.example.org", "", false);
    ih_msg_ioc_add (&a, IH_IOC_IPV6, "2001:db8::1", "", true);
    ih_msg_ioc_add (&a, IH_IOC_CIDR, "2001:db8::/32", "", true);
    ih_msg_ioc_add (&a, IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", true);
    ih_msg_ioc_add (&a, IH_IOC_URL, longurl, "", true);
    ih_msg_ioc_add (&a, IH_IOC_DOMAIN, "example.com", "", true);     //  twice: one entry
    ih_msg_init (&b, IH_KIND_ALERT);
    ih_msg_ioc_add (&b, IH_IOC_IPV4, "10.1.2.3", "", true);
    ih_msg_ioc_add (&b, IH_IOC_DOMAIN, "a.b.example.com", "", true);
    ih_msg_ioc_add (&b, IH_IOC_CIDR, "10.1.0.0/16", "", true);
    ih_msg_ioc_add (&b, IH_IOC_CVE, "CVE-2024-3094", "", true);
    IH_CHECK (ih_index_add_msg (&x, &a, ua, NULL, 0) == 0);
    IH_CHECK (ih_index_add_msg (&x, &b, ub, NULL, 0) == 0);
    IH_CHECK (plen [8] == 1 && plen [16] == 1 && plen [33 + 32] == 1);

    s_hits_t h;
    //  an IP: itself, and the two networks around it
    IH_CHECK (s_find (&x, IH_IOC_IPV4, "10.1.2.3", 0, &h) == 3);
    IH_CHECK (s_saw (&h, idb, IH_MATCH_EXACT) && s_saw (&h, idb, IH_MATCH_CONTAINS)
           && s_saw (&h, ida, IH_MATCH_CONTAINS));
    IH_CHECK (s_find (&x, IH_IOC_IPV4, "10.200.0.1", 0, &h) == 1 && s_saw (&h, ida, IH_MATCH_CONTAINS));
    IH_CHECK (streq (h.last.value, "10.0.0.0/8") && h.last.type == IH_IOC_CIDR);
    IH_CHECK (s_find (&x, IH_IOC_IPV4, "11.0.0.1", 0, &h) == 0);
    //  a network: itself, wider ones, and with IH_SEARCH_INSIDE what lies in it
    IH_CHECK (s_find (&x, IH_IOC_CIDR, "10.1.0.0/16", 0, &h) == 2);
    IH_CHECK (s_saw (&h, idb, IH_MATCH_EXACT) && s_saw (&h, ida, IH_MATCH_CONTAINS));
    IH_CHECK (s_find (&x, IH_IOC_CIDR, "10.0.0.0/8", IH_SEARCH_INSIDE, &h) == 3);
    IH_CHECK (s_saw (&h, ida, IH_MATCH_EXACT) && s_saw (&h, idb, IH_MATCH_INSIDE));
    IH_CHECK (s_find (&x, IH_IOC_CIDR, "10.1.2.0/24", IH_SEARCH_INSIDE, &h) == 3);
    //  IPv6
    IH_CHECK (s_find (&x, IH_IOC_IPV6, "2001:db8::1", 0, &h) == 2);
    IH_CHECK (s_saw (&h, ida, IH_MATCH_EXACT) && s_saw (&h, ida, IH_MATCH_CONTAINS));
    IH_CHECK (s_find (&x, IH_IOC_IPV6, "2001:db9::1", 0, &h) == 0);
    //  domains: parents, subdomains, and the hosts of URLs and emails
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "x.a.b.example.com", 0, &h) == 2);
    IH_CHECK (s_saw (&h, idb, IH_MATCH_PARENT) && s_saw (&h, ida, IH_MATCH_PARENT));
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "example.com", 0, &h) == 1 && s_saw (&h, ida, IH_MATCH_EXACT));
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "example.com", IH_SEARCH_SUBDOMAINS, &h) == 2);
    IH_CHECK (s_saw (&h, idb, IH_MATCH_SUBDOMAIN));
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "notexample.com", IH_SEARCH_SUBDOMAINS, &h) == 0);
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "evil.example.net", 0, &h) == 1);
    IH_CHECK (h.last.derived && h.last.type == IH_IOC_URL && streq (h.last.value, "evil.example.net"));
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "mail.example.org", 0, &h) == 1);
    IH_CHECK (h.last.derived && h.last.type == IH_IOC_EMAIL && !h.last.detect);
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "example.org", 0, &h) == 0);
    //  exact types
    IH_CHECK (s_find (&x, IH_IOC_URL, "http://evil.example.net:8080/x", 0, &h) == 1 && !h.last.derived);
    IH_CHECK (s_find (&x, IH_IOC_URL, longurl, 0, &h) == 1 && strncmp (h.last.value, longurl, 400) == 0);
    IH_CHECK (s_find (&x, IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, &h) == 1);
    IH_CHECK (s_find (&x, IH_IOC_CVE, "CVE-2024-3094", 0, &h) == 1 && s_saw (&h, idb, IH_MATCH_EXACT));
    IH_CHECK (s_find (&x, IH_IOC_CVE, "CVE-2024-3095", 0, &h) == 0);
    IH_CHECK (s_find (&x, IH_IOC_EMAIL, "bob@mail.example.org", 0, &h) == 1);
    //  a callback can stop the walk
    memset (&h, 0, sizeof h);
    h.stop_after = 1;
    int hits;
    IH_CHECK (ih_index_search (&x, IH_IOC_IPV4, "10.1.2.3", 0, s_collect, &h, &hits) == 0 && hits == 1);
    //  a value that is not normalised
    IH_CHECK (ih_index_search (&x, IH_IOC_IPV4, "10.1.2", 0, s_collect, &h, &hits) == EINVAL && hits == 0);

    //  retraction of single IOCs flags them and the derived host of a URL
    ih_msg_t r;
    ih_msg_init (&r, IH_KIND_RETRACTION);
    ih_msg_ioc_add (&r, IH_IOC_URL, "http://evil.example.net:8080/x", "", false);
    ih_buf_t set;
    ih_buf_init (&set);
    ih_index_set_add_msg (&set, &r);
    ih_index_set_add_msg (&set, &r);
    IH_CHECK (ih_index_set_count (set.data, set.len) == 1);
    IH_CHECK (ih_index_retract (&x, &r, &a, ua, set.data, set.len) == 0);
    IH_CHECK (s_find (&x, IH_IOC_URL, "http://evil.example.net:8080/x", 0, &h) == 1 && h.last.retracted);
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "evil.example.net", 0, &h) == 1 && h.last.retracted);
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "example.com", 0, &h) == 1 && !h.last.retracted);
    //  re-adding with the set keeps the flag (a new revision after a retraction)
    IH_CHECK (ih_index_del_msg (&x, &a, ua) == 0);
    IH_CHECK (s_find (&x, IH_IOC_URL, "http://evil.example.net:8080/x", 0, &h) == 0);
    IH_CHECK (plen [8] == 0 && plen [16] == 1 && plen [33 + 32] == 0);
    IH_CHECK (s_find (&x, IH_IOC_IPV4, "10.200.0.1", 0, &h) == 0);
    IH_CHECK (ih_index_add_msg (&x, &a, ua, set.data, set.len) == 0);
    IH_CHECK (s_find (&x, IH_IOC_URL, "http://evil.example.net:8080/x", 0, &h) == 1 && h.last.retracted);
    IH_CHECK (s_find (&x, IH_IOC_DOMAIN, "evil.example.net", 0, &h) == 1 && h.last.retracted);
    //  deleting one alert leaves the other's entries under a shared key
    ih_msg_t c;
    ih_msg_init (&c, IH_KIND_ALERT);
    ih_msg_ioc_add (&c, IH_IOC_IPV4, "10.1.2.3", "", true);
    IH_CHECK (ih_index_add_msg (&x, &c, ua, NULL, 0) == 0);
    IH_CHECK (s_find (&x, IH_IOC_IPV4, "10.1.2.3", 0, &h) == 4);
    IH_CHECK (ih_index_del_msg (&x, &c, ua) == 0);
    IH_CHECK (s_find (&x, IH_IOC_IPV4, "10.1.2.3", 0, &h) == 3 && s_saw (&h, idb, IH_MATCH_EXACT));
    if (verbose)
        printf ("\n    last hit: %s %s %s", h.last.id, ih_match_name (h.last.match), h.last.value);

    mdb_txn_abort (txn);
    mdb_env_close (env);
    ih_msg_free (&a);
    ih_msg_free (&b);
    ih_msg_free (&c);
    ih_msg_free (&r);
    ih_buf_free (&set);
    char path [128];
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock.mdb", dir);
    unlink (path);
    rmdir (dir);
}
#endif

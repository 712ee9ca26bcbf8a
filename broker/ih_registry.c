/*  ih_registry.c: the member registry of a deployment (see ih_registry.h).

    Loading reads every NAME.member file of the directory in name order. A file counts
    only when its `record` verifies against the registry public key (context
    infohub/member/1), decodes as a canonical member record, and agrees with the
    readable fields and the file name; anything else is skipped with one log line on
    stderr naming the file. `revoked` is the one field trusted without a signature: its
    presence, whatever its value, revokes (fail closed).

    Change detection: a fingerprint (FNV-1a, 64 bits) over the sorted names of the
    *.member files with their size, mtime (ns), inode, plus the count. A revocation
    renames a new file over the old one, so its inode changes even when size and mtime
    would not. The fingerprint kept by a load is made from fstat of the descriptors that
    were read, so a file that changes after it was read is always seen as changed.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <czmq.h>
#include <sodium.h>

#include "ih_registry.h"
#include "ih_log.h"
#include "ih_codec.h"
#include "ih_keys.h"
#include "ih_sign.h"

#define s_SUFFIX      ".member"
#define s_RECORD_MAX  1024      /* a canonical member record is about 200 bytes */
#define s_COMMENT_1   "   Infohub member record, written by infohub-admin. Only `record`"
#define s_COMMENT_2   "   (signed by the registry key), `revoked` and `limits` are trusted."

struct ih_registry {
    char *dir;
    uint8_t pk [32];
    ih_reg_entry_t *entries;    /* sorted by name */
    size_t count;
    zhashx_t *by_curve;         /* Z85 -> ih_reg_entry_t * (borrowed) */
    zhashx_t *by_name;          /* name -> ih_reg_entry_t * (borrowed) */
    uint64_t fingerprint;
};

/*  Set by the self-test to keep expected warnings out of its output. */
static bool s_quiet = false;

/* ---- helpers ------------------------------------------------------------------------ */

static void
s_log (const char *fmt, ...)
{
    if (s_quiet)
        return;
    va_list ap;
    va_start (ap, fmt);
    ih_logv ('W', "registry", fmt, ap);
    va_end (ap);
}

static uint64_t
s_fnv (uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *) data;
    for (size_t i = 0; i < len; i++) {
        h ^= p [i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
s_fnv_stat (uint64_t h, const char *name, const struct stat *st)
{
    int64_t fields [5] = { (int64_t) st->st_size, (int64_t) st->st_mtim.tv_sec,
                           (int64_t) st->st_mtim.tv_nsec, (int64_t) st->st_ino,
                           (int64_t) st->st_ctim.tv_nsec };
    h = s_fnv (h, name, strlen (name) + 1);
    return s_fnv (h, fields, sizeof fields);
}

static bool
s_is_member_file (const char *name)
{
    size_t n = strlen (name), s = strlen (s_SUFFIX);
    return name [0] != '.' && n > s && strcmp (name + n - s, s_SUFFIX) == 0;
}

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/*  Lists the *.member names of dir, sorted. Returns a NULL-terminated malloc'd array
    of malloc'd strings, or NULL with err. */
static char **
s_list (const char *dir, size_t *count_p, ih_err_t *err)
{
    DIR *d = opendir (dir);
    if (!d) {
        ih_err_set (err, "%s: cannot read: %s", dir, strerror (errno));
        return NULL;
    }
    size_t count = 0, cap = 16;
    char **names = (char **) malloc (cap * sizeof (char *));
    assert (names);
    struct dirent *de;
    while ((de = readdir (d))) {
        if (!s_is_member_file (de->d_name))
            continue;
        if (count + 1 >= cap) {
            cap *= 2;
            names = (char **) realloc (names, cap * sizeof (char *));
            assert (names);
        }
        names [count++] = strdup (de->d_name);
    }
    closedir (d);
    names [count] = NULL;
    qsort (names, count, sizeof (char *), s_cmp_str);
    *count_p = count;
    return names;
}

static void
s_list_free (char ***names_p)
{
    if (*names_p) {
        for (size_t i = 0; (*names_p) [i]; i++)
            free ((*names_p) [i]);
        free (*names_p);
        *names_p = NULL;
    }
}

static char *
s_join (const char *dir, const char *name)
{
    size_t len = strlen (dir) + strlen (name) + 2;
    char *path = (char *) malloc (len);
    assert (path);
    snprintf (path, len, "%s/%s", dir, name);
    return path;
}

/*  Reads a member file into a config tree. st is taken before the read: should the
    file change in between, the next ih_registry_changed() sees a difference. */
static zconfig_t *
s_read_member (const char *path, struct stat *st, ih_err_t *err)
{
    if (stat (path, st))
        memset (st, 0, sizeof *st);
    return ih_config_load (path, err);
}

static const char *
s_get (zconfig_t *cfg, const char *key)
{
    return zconfig_get (cfg, key, NULL);
}

/*  The limits section (ih_limits.h): the three keys, each optional. */
static const struct {
    const char *key;
    bool bytes;
    size_t offset;
} s_limit_keys [] = {
    { "messages-per-s", false, offsetof (ih_limits_t, msgs_per_s) },
    { "bytes-per-s", true, offsetof (ih_limits_t, bytes_per_s) },
    { "bytes-per-day", true, offsetof (ih_limits_t, bytes_per_day) },
};
#define s_LIMIT_KEYS (sizeof s_limit_keys / sizeof s_limit_keys [0])

static void
s_parse_limits (zconfig_t *cfg, const char *file_name, ih_limits_t *out)
{
    *out = ih_limits_unset ();
    for (size_t i = 0; i < s_LIMIT_KEYS; i++) {
        char path [64];
        snprintf (path, sizeof path, "member/limits/%s", s_limit_keys [i].key);
        const char *text = s_get (cfg, path);
        if (!text)
            continue;
        uint64_t v;
        ih_err_t e;
        if (ih_limit_parse (path + 7, text, s_limit_keys [i].bytes, &v, &e))
            s_log ("%s: %s (ignored: the role's default applies)", file_name, e.msg);
        else
            *(uint64_t *) ((char *) out + s_limit_keys [i].offset) = v;
    }
}

/*  Parses and verifies one member file into entry (rec_bytes malloc'd). */
static int
s_parse_entry (zconfig_t *cfg, const char *file_name, const uint8_t pk [32],
               ih_reg_entry_t *entry, ih_err_t *err)
{
    memset (entry, 0, sizeof *entry);
    const char *record = s_get (cfg, "member/record");
    const char *signature = s_get (cfg, "member/signature");
    if (!record)
        return ih_err_set (err, "missing member/record");
    if (!signature)
        return ih_err_set (err, "missing member/signature");
    size_t hex_len = strlen (record);
    if (hex_len == 0 || hex_len % 2 || hex_len / 2 > s_RECORD_MAX)
        return ih_err_set (err, "record: malformed hex");
    size_t rec_len = hex_len / 2;
    uint8_t *rec_bytes = (uint8_t *) malloc (rec_len);
    assert (rec_bytes);
    if (ih_hex_decode (record, rec_bytes, rec_len)) {
        free (rec_bytes);
        return ih_err_set (err, "record: malformed hex");
    }
    if (ih_hex_decode (signature, entry->rec_sig, sizeof entry->rec_sig)) {
        free (rec_bytes);
        return ih_err_set (err, "signature: malformed (want 128 hex digits)");
    }
    ih_err_t sub;
    if (ih_verify (entry->rec_sig, IH_CTX_MEMBER, rec_bytes, rec_len, pk, &sub)) {
        free (rec_bytes);
        return ih_err_set (err, "signature: does not verify against the registry key");
    }
    if (ih_member_decode (&entry->rec, rec_bytes, rec_len, &sub)) {
        free (rec_bytes);
        return ih_err_set (err, "record: %s", sub.msg);
    }
    entry->rec_bytes = rec_bytes;
    entry->rec_len = rec_len;
    zmq_z85_encode (entry->curve_z85, entry->rec.curve, 32);

    //  The readable fields must say what the signed record says
    const ih_member_t *r = &entry->rec;
    char created [IH_TIME_MAX];
    ih_time_format (r->created, created);
    const struct { const char *key; const char *want; } fields [] = {
        { "member/name", r->name }, { "member/org", r->org }, { "member/sector", r->sector },
        { "member/role", ih_role_name (r->role) },
        { "member/curve-public-key", entry->curve_z85 }, { "member/created", created }
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++) {
        const char *have = s_get (cfg, fields [i].key);
        if (!have || strcmp (have, fields [i].want) != 0) {
            free (entry->rec_bytes);
            entry->rec_bytes = NULL;
            return ih_err_set (err, "%s: '%.64s' does not match the signed record ('%s')",
                               fields [i].key + 7, have ? have : "(missing)", fields [i].want);
        }
    }
    size_t n = strlen (r->name);
    if (strncmp (file_name, r->name, n) != 0 || strcmp (file_name + n, s_SUFFIX) != 0) {
        free (entry->rec_bytes);
        entry->rec_bytes = NULL;
        return ih_err_set (err, "file name does not match the member name '%s'", r->name);
    }
    const char *gw = s_get (cfg, "member/gateway");
    if (gw && strcmp (gw, r->gateway ? "true" : "false") != 0) {
        free (entry->rec_bytes);
        entry->rec_bytes = NULL;
        return ih_err_set (err, "gateway: '%.8s' does not match the signed record", gw);
    }
    entry->revoked = s_get (cfg, "member/revoked") != NULL;
    s_parse_limits (cfg, file_name, &entry->limits);
    return 0;
}

static void
s_entries_free (ih_reg_entry_t *entries, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (entries [i].rec_bytes);
    free (entries);
}

/*  Reads the directory into fresh arrays and hashes; 0 or -1 (unreadable directory). */
static int
s_load (const char *dir, const uint8_t pk [32], ih_reg_entry_t **entries_p, size_t *count_p,
        zhashx_t **by_curve_p, zhashx_t **by_name_p, uint64_t *fingerprint_p, ih_err_t *err)
{
    size_t names_count = 0;
    char **names = s_list (dir, &names_count, err);
    if (!names)
        return -1;
    ih_reg_entry_t *entries = (ih_reg_entry_t *) calloc (names_count ? names_count : 1, sizeof *entries);
    assert (entries);
    zhashx_t *by_curve = zhashx_new ();
    zhashx_t *by_name = zhashx_new ();
    assert (by_curve && by_name);
    uint64_t fp = 14695981039346656037ULL;
    size_t count = 0;
    for (size_t i = 0; i < names_count; i++) {
        char *path = s_join (dir, names [i]);
        struct stat st;
        ih_err_t e;
        zconfig_t *cfg = s_read_member (path, &st, &e);
        fp = s_fnv_stat (fp, names [i], &st);
        if (!cfg) {
            s_log ("%s (file skipped)", e.msg);     /* e.msg starts with the path */
            free (path);
            continue;
        }
        ih_reg_entry_t *entry = &entries [count];
        if (s_parse_entry (cfg, names [i], pk, entry, &e)) {
            s_log ("%s: skipped: %s", path, e.msg);
            zconfig_destroy (&cfg);
            free (path);
            continue;
        }
        zconfig_destroy (&cfg);
        ih_reg_entry_t *dup = (ih_reg_entry_t *) zhashx_lookup (by_curve, entry->curve_z85);
        if (dup) {
            //  The same CURVE key twice: keep the first, and if either is revoked the
            //  key is revoked (never let a second file un-revoke a key)
            s_log ("%s: skipped: CURVE key already used by member '%s'", path, dup->rec.name);
            if (entry->revoked)
                dup->revoked = true;
            free (entry->rec_bytes);
            memset (entry, 0, sizeof *entry);
            free (path);
            continue;
        }
        free (path);
        //  entries is never reallocated, so these pointers hold until it is freed
        zhashx_insert (by_curve, entry->curve_z85, entry);
        zhashx_insert (by_name, entry->rec.name, entry);
        count++;
    }
    fp = s_fnv (fp, &names_count, sizeof names_count);
    s_list_free (&names);
    *entries_p = entries;
    *count_p = count;
    *by_curve_p = by_curve;
    *by_name_p = by_name;
    *fingerprint_p = fp;
    return 0;
}

/* ---- API: loading ---------------------------------------------------------------------- */

ih_registry_t *
ih_registry_load (const char *members_dir, const uint8_t registry_pk [32], ih_err_t *err)
{
    ih_sign_init ();
    ih_registry_t *self = (ih_registry_t *) calloc (1, sizeof *self);
    assert (self);
    self->dir = strdup (members_dir);
    memcpy (self->pk, registry_pk, 32);
    if (s_load (self->dir, self->pk, &self->entries, &self->count, &self->by_curve,
                &self->by_name, &self->fingerprint, err)) {
        free (self->dir);
        free (self);
        return NULL;
    }
    return self;
}

int
ih_registry_reload (ih_registry_t *self, ih_err_t *err)
{
    assert (self);
    ih_reg_entry_t *entries;
    size_t count;
    zhashx_t *by_curve, *by_name;
    uint64_t fp;
    if (s_load (self->dir, self->pk, &entries, &count, &by_curve, &by_name, &fp, err))
        return -1;
    s_entries_free (self->entries, self->count);
    zhashx_destroy (&self->by_curve);
    zhashx_destroy (&self->by_name);
    self->entries = entries;
    self->count = count;
    self->by_curve = by_curve;
    self->by_name = by_name;
    self->fingerprint = fp;
    return 0;
}

bool
ih_registry_changed (ih_registry_t *self)
{
    assert (self);
    size_t names_count = 0;
    char **names = s_list (self->dir, &names_count, NULL);
    if (!names)
        return true;        /* the directory went away: a reload will say why */
    uint64_t fp = 14695981039346656037ULL;
    for (size_t i = 0; i < names_count; i++) {
        char *path = s_join (self->dir, names [i]);
        struct stat st;
        if (stat (path, &st))
            memset (&st, 0, sizeof st);
        fp = s_fnv_stat (fp, names [i], &st);
        free (path);
    }
    fp = s_fnv (fp, &names_count, sizeof names_count);
    s_list_free (&names);
    return fp != self->fingerprint;
}

const ih_reg_entry_t *
ih_registry_by_curve (ih_registry_t *self, const char *z85)
{
    assert (self);
    return z85 ? (const ih_reg_entry_t *) zhashx_lookup (self->by_curve, z85) : NULL;
}

const ih_reg_entry_t *
ih_registry_by_name (ih_registry_t *self, const char *name)
{
    assert (self);
    return name ? (const ih_reg_entry_t *) zhashx_lookup (self->by_name, name) : NULL;
}

size_t
ih_registry_size (ih_registry_t *self)
{
    assert (self);
    return self->count;
}

const ih_reg_entry_t *
ih_registry_at (ih_registry_t *self, size_t i)
{
    assert (self);
    return i < self->count ? &self->entries [i] : NULL;
}

void
ih_registry_destroy (ih_registry_t **self_p)
{
    assert (self_p);
    ih_registry_t *self = *self_p;
    if (self) {
        s_entries_free (self->entries, self->count);
        zhashx_destroy (&self->by_curve);
        zhashx_destroy (&self->by_name);
        free (self->dir);
        free (self);
        *self_p = NULL;
    }
}

/* ---- API: admin side ---------------------------------------------------------------------- */

int
ih_registry_add (const char *members_dir, const ih_member_t *rec, const uint8_t registry_sk [64],
                 ih_err_t *err)
{
    ih_sign_init ();
    if (ih_member_validate (rec, err))
        return -1;
    char file_name [IH_MAX_SHORT + 16];
    snprintf (file_name, sizeof file_name, "%s%s", rec->name, s_SUFFIX);
    char *path = s_join (members_dir, file_name);
    struct stat st;
    if (lstat (path, &st) == 0) {
        free (path);
        return ih_err_set (err, "member '%s' exists", rec->name);
    }
    //  A CURVE key belongs to one member, revoked or not (the public half of the
    //  registry secret key is its last 32 bytes)
    ih_registry_t *reg = ih_registry_load (members_dir, registry_sk + 32, err);
    if (!reg) {
        free (path);
        return -1;
    }
    char z85 [41];
    zmq_z85_encode (z85, rec->curve, 32);
    const ih_reg_entry_t *other = ih_registry_by_curve (reg, z85);
    if (other) {
        ih_err_set (err, "CURVE key already registered to member '%s'", other->rec.name);
        ih_registry_destroy (&reg);
        free (path);
        return -1;
    }
    ih_registry_destroy (&reg);

    ih_buf_t buf;
    ih_buf_init (&buf);
    if (ih_member_encode (rec, &buf, err)) {
        ih_buf_free (&buf);
        free (path);
        return -1;
    }
    uint8_t sig [IH_SIG_LEN];
    ih_sign (sig, IH_CTX_MEMBER, buf.data, buf.len, registry_sk);
    char *rec_hex = (char *) malloc (2 * buf.len + 1);
    assert (rec_hex);
    ih_hex_encode (buf.data, buf.len, rec_hex);
    char sig_hex [2 * IH_SIG_LEN + 1];
    ih_hex_encode (sig, IH_SIG_LEN, sig_hex);
    char created [IH_TIME_MAX];
    ih_time_format (rec->created, created);

    zconfig_t *cfg = zconfig_new ("root", NULL);
    zconfig_set_comment (cfg, s_COMMENT_1);
    zconfig_set_comment (cfg, s_COMMENT_2);
    zconfig_put (cfg, "member/name", rec->name);
    zconfig_put (cfg, "member/org", rec->org);
    zconfig_put (cfg, "member/sector", rec->sector);
    zconfig_put (cfg, "member/role", ih_role_name (rec->role));
    zconfig_put (cfg, "member/gateway", rec->gateway ? "true" : "false");
    zconfig_put (cfg, "member/curve-public-key", z85);
    zconfig_put (cfg, "member/created", created);
    zconfig_put (cfg, "member/record", rec_hex);
    zconfig_put (cfg, "member/signature", sig_hex);
    char *text = zconfig_str_save (cfg);
    assert (text);
    //  Written whole under a hidden name, then linked into place: a broker scanning the
    //  directory never sees half a file, and link() fails if NAME.member appeared
    //  meanwhile (an atomic "create if absent").
    char tmp_name [IH_MAX_SHORT + 64];
    snprintf (tmp_name, sizeof tmp_name, ".%s.new.%ld", file_name, (long) getpid ());
    char *tmp = s_join (members_dir, tmp_name);
    unlink (tmp);
    int rc = ih_keys_write_file (tmp, text, strlen (text), 0644, false, err);
    if (rc)     /* name the file the operator knows, not our temporary one */
        ih_err_set (err, "%s: cannot create: %s", path, strerror (errno));
    else
    if (link (tmp, path)) {
        if (errno == EEXIST)
            ih_err_set (err, "member '%s' exists", rec->name);
        else
            ih_err_set (err, "%s: cannot create: %s", path, strerror (errno));
        rc = -1;
    }
    unlink (tmp);
    free (tmp);
    free (text);
    zconfig_destroy (&cfg);
    free (rec_hex);
    ih_buf_free (&buf);
    free (path);
    return rc;
}

int
ih_registry_revoke (const char *members_dir, const char *name, ih_err_t *err)
{
    if (!ih_slug_valid (name, IH_MAX_SHORT))
        return ih_err_set (err, "name: not a valid member name '%.64s'", name ? name : "");
    char file_name [IH_MAX_SHORT + 16];
    snprintf (file_name, sizeof file_name, "%s%s", name, s_SUFFIX);
    char *path = s_join (members_dir, file_name);
    struct stat st;
    if (stat (path, &st) && errno == ENOENT) {
        free (path);
        return ih_err_set (err, "no member '%s'", name);
    }
    zconfig_t *cfg = ih_config_load (path, err);
    if (!cfg) {
        free (path);
        return -1;
    }
    int rc = -1;
    if (!zconfig_locate (cfg, "member/record"))
        ih_err_set (err, "%s: missing member/record", path);
    else
    if (zconfig_locate (cfg, "member/revoked"))
        ih_err_set (err, "member '%s' is already revoked", name);
    else {
        char now [IH_TIME_MAX];
        ih_time_format (ih_now_ms (), now);
        zconfig_put (cfg, "member/revoked", now);
        char *text = zconfig_str_save (cfg);
        assert (text);
        rc = ih_keys_write_file (path, text, strlen (text), 0644, true, err);
        free (text);
    }
    zconfig_destroy (&cfg);
    free (path);
    return rc;
}

//  Loads NAME's file for an edit: its path (malloc'd) and its tree, or NULL with err.
static zconfig_t *
s_load_named (const char *members_dir, const char *name, char **path_p, ih_err_t *err)
{
    if (!ih_slug_valid (name, IH_MAX_SHORT)) {
        ih_err_set (err, "name: not a valid member name '%.64s'", name ? name : "");
        return NULL;
    }
    char file_name [IH_MAX_SHORT + 16];
    snprintf (file_name, sizeof file_name, "%s%s", name, s_SUFFIX);
    char *path = s_join (members_dir, file_name);
    struct stat st;
    if (stat (path, &st) && errno == ENOENT) {
        free (path);
        ih_err_set (err, "no member '%s'", name);
        return NULL;
    }
    zconfig_t *cfg = ih_config_load (path, err);
    if (cfg && !zconfig_locate (cfg, "member/record")) {
        ih_err_set (err, "%s: missing member/record", path);
        zconfig_destroy (&cfg);
    }
    if (!cfg)
        free (path);
    else
        *path_p = path;
    return cfg;
}

int
ih_registry_limits (const char *members_dir, const char *name, ih_limits_t *out, ih_err_t *err)
{
    char *path = NULL;
    zconfig_t *cfg = s_load_named (members_dir, name, &path, err);
    if (!cfg)
        return -1;
    s_parse_limits (cfg, path, out);
    zconfig_destroy (&cfg);
    free (path);
    return 0;
}

int
ih_registry_set_limits (const char *members_dir, const char *name, const ih_limits_t *lim,
                        ih_err_t *err)
{
    char *path = NULL;
    zconfig_t *cfg = s_load_named (members_dir, name, &path, err);
    if (!cfg)
        return -1;
    //  A new tree with every member key but the old limits, then the limits set
    //  (czmq's stable API cannot remove a node)
    zconfig_t *out = zconfig_new ("root", NULL);
    zconfig_set_comment (out, s_COMMENT_1);
    zconfig_set_comment (out, s_COMMENT_2);
    zconfig_t *member = zconfig_locate (cfg, "member");
    for (zconfig_t *c = member ? zconfig_child (member) : NULL; c; c = zconfig_next (c)) {
        if (streq (zconfig_name (c), "limits") || !zconfig_value (c))
            continue;
        char key [96];
        snprintf (key, sizeof key, "member/%s", zconfig_name (c));
        zconfig_put (out, key, zconfig_value (c));
    }
    zconfig_destroy (&cfg);
    cfg = out;
    for (size_t i = 0; i < s_LIMIT_KEYS; i++) {
        uint64_t v = *(const uint64_t *) ((const char *) lim + s_limit_keys [i].offset);
        if (v == IH_LIMIT_UNSET)
            continue;
        char key [64], text [32];
        snprintf (key, sizeof key, "member/limits/%s", s_limit_keys [i].key);
        ih_limit_format (v, s_limit_keys [i].bytes, text, sizeof text);
        zconfig_put (cfg, key, text);
    }
    char *text = zconfig_str_save (cfg);
    assert (text);
    int rc = ih_keys_write_file (path, text, strlen (text), 0644, true, err);
    free (text);
    zconfig_destroy (&cfg);
    free (path);
    return rc;
}

/* ---- self-test ----------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static void
s_test_member (ih_member_t *m, const char *name, const char *org, ih_role_t role)
{
    memset (m, 0, sizeof *m);
    snprintf (m->name, sizeof m->name, "%s", name);
    snprintf (m->org, sizeof m->org, "%s", org);
    snprintf (m->sector, sizeof m->sector, "finance");
    m->role = role;
    randombytes_buf (m->curve, 32);
    randombytes_buf (m->sign, 32);
    m->created = ih_now_ms ();
}

/*  Replaces the first occurrence of from by to in a file (same length or not). */
static void
s_test_edit (const char *path, const char *from, const char *to)
{
    zchunk_t *chunk = zchunk_slurp (path, 0);
    IH_CHECK (chunk);
    char *text = zchunk_strdup (chunk);
    zchunk_destroy (&chunk);
    char *at = strstr (text, from);
    IH_CHECK (at);
    size_t head = (size_t) (at - text), len = strlen (text) - strlen (from) + strlen (to);
    char *out = (char *) malloc (len + 1);
    IH_CHECK (out);
    memcpy (out, text, head);
    memcpy (out + head, to, strlen (to));
    memcpy (out + head + strlen (to), at + strlen (from), strlen (at + strlen (from)) + 1);
    IH_CHECK (ih_keys_write_file (path, out, strlen (out), 0644, true, NULL) == 0);
    free (out);
    free (text);
}

void
ih_registry_test (bool verbose)
{
    ih_sign_init ();
    s_quiet = !verbose;
    char dir [] = "/tmp/ih-registry-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char path [512];
    ih_err_t err;
    uint8_t pk [32], sk [64];
    ih_sign_keypair (pk, sk);

    //  An empty directory, and one that does not exist
    ih_registry_t *reg = ih_registry_load (dir, pk, &err);
    IH_CHECK (reg && ih_registry_size (reg) == 0);
    IH_CHECK (!ih_registry_changed (reg));
    IH_CHECK (ih_registry_at (reg, 0) == NULL);
    IH_CHECK (ih_registry_by_name (reg, "soc") == NULL);
    ih_registry_destroy (&reg);
    ih_registry_destroy (&reg);
    snprintf (path, sizeof path, "%s/absent", dir);
    IH_CHECK (ih_registry_load (path, pk, &err) == NULL && strstr (err.msg, "cannot read"));

    //  Add members
    ih_member_t soc, intel, gw;
    s_test_member (&soc, "soc", "bank-a", IH_ROLE_PUBLISHER);
    s_test_member (&intel, "intel", "telco-c", IH_ROLE_READER);
    snprintf (intel.sector, sizeof intel.sector, "telecom");
    s_test_member (&gw, "gateway", "public", IH_ROLE_READER);
    gw.sector [0] = 0;
    gw.gateway = true;
    IH_CHECK (ih_registry_add (dir, &soc, sk, &err) == 0);
    IH_CHECK (ih_registry_add (dir, &intel, sk, &err) == 0);
    IH_CHECK (ih_registry_add (dir, &gw, sk, &err) == 0);
    snprintf (path, sizeof path, "%s/soc.member", dir);
    struct stat st;
    IH_CHECK (stat (path, &st) == 0 && (st.st_mode & 07777) == 0644);

    //  Duplicate name, duplicate CURVE key, invalid record: refused, nothing written
    ih_member_t dup = soc;
    randombytes_buf (dup.curve, 32);
    IH_CHECK (ih_registry_add (dir, &dup, sk, &err) == -1);
    IH_CHECK (streq (err.msg, "member 'soc' exists"));
    dup = intel;
    snprintf (dup.name, sizeof dup.name, "intel2");
    IH_CHECK (ih_registry_add (dir, &dup, sk, &err) == -1);
    IH_CHECK (strstr (err.msg, "already registered to member 'intel'"));
    dup = soc;
    snprintf (dup.name, sizeof dup.name, "Bad Name");
    IH_CHECK (ih_registry_add (dir, &dup, sk, &err) == -1 && strstr (err.msg, "name:"));
    dup = soc;
    snprintf (dup.name, sizeof dup.name, "soc2");
    snprintf (dup.org, sizeof dup.org, "../etc");
    randombytes_buf (dup.curve, 32);
    IH_CHECK (ih_registry_add (dir, &dup, sk, &err) == -1 && strstr (err.msg, "org:"));
    snprintf (path, sizeof path, "%s/soc2.member", dir);
    IH_CHECK (access (path, F_OK) == -1);

    //  Load and look up
    reg = ih_registry_load (dir, pk, &err);
    IH_CHECK (reg && ih_registry_size (reg) == 3);
    IH_CHECK (!ih_registry_changed (reg));
    //  sorted by name
    IH_CHECK (streq (ih_registry_at (reg, 0)->rec.name, "gateway"));
    IH_CHECK (streq (ih_registry_at (reg, 1)->rec.name, "intel"));
    IH_CHECK (streq (ih_registry_at (reg, 2)->rec.name, "soc"));
    const ih_reg_entry_t *e = ih_registry_by_name (reg, "soc");
    IH_CHECK (e && !e->revoked);
    IH_CHECK (streq (e->rec.org, "bank-a") && streq (e->rec.sector, "finance"));
    IH_CHECK (e->rec.role == IH_ROLE_PUBLISHER && !e->rec.gateway);
    IH_CHECK (memcmp (e->rec.sign, soc.sign, 32) == 0 && e->rec.created == soc.created);
    char z85 [41];
    zmq_z85_encode (z85, soc.curve, 32);
    IH_CHECK (streq (e->curve_z85, z85));
    IH_CHECK (ih_registry_by_curve (reg, z85) == e);
    IH_CHECK (ih_verify (e->rec_sig, IH_CTX_MEMBER, e->rec_bytes, e->rec_len, pk, NULL) == 0);
    ih_member_t back;
    IH_CHECK (ih_member_decode (&back, e->rec_bytes, e->rec_len, &err) == 0);
    IH_CHECK (memcmp (&back, &e->rec, sizeof back) == 0);
    e = ih_registry_by_name (reg, "gateway");
    IH_CHECK (e && e->rec.gateway && e->rec.role == IH_ROLE_READER);
    IH_CHECK (ih_registry_by_name (reg, "nobody") == NULL);
    IH_CHECK (ih_registry_by_curve (reg, "0000000000000000000000000000000000000000") == NULL);
    IH_CHECK (ih_registry_by_curve (reg, NULL) == NULL);

    //  A different registry key verifies nothing
    uint8_t pk2 [32], sk2 [64];
    ih_sign_keypair (pk2, sk2);
    ih_registry_t *other = ih_registry_load (dir, pk2, &err);
    IH_CHECK (other && ih_registry_size (other) == 0);
    ih_registry_destroy (&other);

    //  Revoke: changed() sees it, reload shows it, the CURVE lookup still finds it
    IH_CHECK (ih_registry_revoke (dir, "soc", &err) == 0);
    IH_CHECK (ih_registry_changed (reg));
    IH_CHECK (ih_registry_reload (reg, &err) == 0);
    IH_CHECK (!ih_registry_changed (reg));
    e = ih_registry_by_curve (reg, z85);
    IH_CHECK (e && e->revoked && streq (e->rec.name, "soc"));
    IH_CHECK (!ih_registry_by_name (reg, "intel")->revoked);
    IH_CHECK (ih_registry_revoke (dir, "soc", &err) == -1 && strstr (err.msg, "already revoked"));
    IH_CHECK (ih_registry_revoke (dir, "ghost", &err) == -1 && streq (err.msg, "no member 'ghost'"));
    IH_CHECK (ih_registry_revoke (dir, "../soc", &err) == -1 && strstr (err.msg, "name:"));
    //  a revoked name cannot be registered again
    dup = soc;
    randombytes_buf (dup.curve, 32);
    IH_CHECK (ih_registry_add (dir, &dup, sk, &err) == -1 && strstr (err.msg, "exists"));
    //  ... nor its key under another name
    snprintf (dup.name, sizeof dup.name, "soc-new");
    memcpy (dup.curve, soc.curve, 32);
    IH_CHECK (ih_registry_add (dir, &dup, sk, &err) == -1 && strstr (err.msg, "already registered"));

    //  Limits: none at first; set, read back, seen by a reload, the record still
    //  verifies; UNSET removes a key; a value that does not parse is ignored
    e = ih_registry_by_name (reg, "intel");
    IH_CHECK (e->limits.msgs_per_s == IH_LIMIT_UNSET && e->limits.bytes_per_day == IH_LIMIT_UNSET);
    ih_limits_t lim = { 5, 1 << 20, 0 };
    IH_CHECK (ih_registry_set_limits (dir, "intel", &lim, &err) == 0);
    IH_CHECK (ih_registry_changed (reg));
    IH_CHECK (ih_registry_reload (reg, &err) == 0 && ih_registry_size (reg) == 3);
    e = ih_registry_by_name (reg, "intel");
    IH_CHECK (e->limits.msgs_per_s == 5 && e->limits.bytes_per_s == 1 << 20 && e->limits.bytes_per_day == 0);
    ih_limits_t got;
    IH_CHECK (ih_registry_limits (dir, "intel", &got, &err) == 0 && memcmp (&got, &lim, sizeof got) == 0);
    lim.msgs_per_s = IH_LIMIT_UNSET;
    IH_CHECK (ih_registry_set_limits (dir, "intel", &lim, &err) == 0);
    IH_CHECK (ih_registry_reload (reg, &err) == 0);
    e = ih_registry_by_name (reg, "intel");
    IH_CHECK (e->limits.msgs_per_s == IH_LIMIT_UNSET && e->limits.bytes_per_s == 1 << 20);
    snprintf (path, sizeof path, "%s/intel.member", dir);
    s_test_edit (path, "bytes-per-s = \"1M\"", "bytes-per-s = \"lots\"");
    IH_CHECK (ih_registry_reload (reg, &err) == 0);
    e = ih_registry_by_name (reg, "intel");
    IH_CHECK (e && e->limits.bytes_per_s == IH_LIMIT_UNSET && e->limits.bytes_per_day == 0);
    lim = ih_limits_unset ();
    IH_CHECK (ih_registry_set_limits (dir, "intel", &lim, &err) == 0);
    IH_CHECK (ih_registry_reload (reg, &err) == 0);
    e = ih_registry_by_name (reg, "intel");
    IH_CHECK (e && e->limits.bytes_per_day == IH_LIMIT_UNSET && !e->revoked);
    IH_CHECK (ih_registry_set_limits (dir, "ghost", &lim, &err) == -1 && streq (err.msg, "no member 'ghost'"));
    IH_CHECK (ih_registry_set_limits (dir, "../x", &lim, &err) == -1 && strstr (err.msg, "name:"));

    //  changed(): a new file, a removed file, non-member files ignored
    snprintf (path, sizeof path, "%s/notes.txt", dir);
    IH_CHECK (ih_keys_write_file (path, "x", 1, 0644, false, NULL) == 0);
    IH_CHECK (!ih_registry_changed (reg));
    ih_member_t late;
    s_test_member (&late, "late", "bank-b", IH_ROLE_READER);
    IH_CHECK (ih_registry_add (dir, &late, sk, &err) == 0);
    IH_CHECK (ih_registry_changed (reg));
    IH_CHECK (ih_registry_reload (reg, &err) == 0 && ih_registry_size (reg) == 4);
    snprintf (path, sizeof path, "%s/late.member", dir);
    IH_CHECK (unlink (path) == 0);
    IH_CHECK (ih_registry_changed (reg));
    IH_CHECK (ih_registry_reload (reg, &err) == 0 && ih_registry_size (reg) == 3);
    IH_CHECK (ih_registry_by_name (reg, "late") == NULL);

    //  Tampering: each edit makes the file skipped, the rest still load
    struct { const char *from, *to; } edits [] = {
        { "org = \"telco-c\"", "org = \"bank-a\"" },             /* readable field */
        { "role = \"reader\"", "role = \"publisher\"" },
        { "sector = \"telecom\"", "sector = \"\"" },
        { "gateway = \"false\"", "gateway = \"true\"" },
        { "record = \"", "record = \"00" },                      /* record hex */
        { "record = \"", "record = \"0" },                       /* odd hex */
        { "signature = \"", "signature = \"ff" },
        { "    record", "    xrecord" },                         /* missing record */
        { "member\n", "member\n    = broken\n" },                /* syntax */
    };
    snprintf (path, sizeof path, "%s/intel.member", dir);
    zchunk_t *orig = zchunk_slurp (path, 0);
    IH_CHECK (orig);
    for (size_t i = 0; i < sizeof edits / sizeof edits [0]; i++) {
        s_test_edit (path, edits [i].from, edits [i].to);
        IH_CHECK (ih_registry_changed (reg));
        IH_CHECK (ih_registry_reload (reg, &err) == 0);
        IH_CHECK (ih_registry_by_name (reg, "intel") == NULL);
        IH_CHECK (ih_registry_size (reg) == 2);
        IH_CHECK (ih_keys_write_file (path, zchunk_data (orig), zchunk_size (orig), 0644, true, NULL) == 0);
        IH_CHECK (ih_registry_reload (reg, &err) == 0 && ih_registry_size (reg) == 3);
    }
    //  A record signed for another purpose (message context) does not verify
    {
        ih_buf_t buf;
        ih_buf_init (&buf);
        IH_CHECK (ih_member_encode (&intel, &buf, &err) == 0);
        uint8_t sig [64];
        char sig_hex [129];
        ih_sign (sig, IH_CTX_MSG, buf.data, buf.len, sk);
        ih_hex_encode (sig, 64, sig_hex);
        zconfig_t *cfg = ih_config_load (path, &err);
        IH_CHECK (cfg);
        zconfig_put (cfg, "member/signature", sig_hex);
        char *text = zconfig_str_save (cfg);
        IH_CHECK (ih_keys_write_file (path, text, strlen (text), 0644, true, NULL) == 0);
        free (text);
        zconfig_destroy (&cfg);
        ih_buf_free (&buf);
        IH_CHECK (ih_registry_reload (reg, &err) == 0 && ih_registry_by_name (reg, "intel") == NULL);
    }
    //  A valid record copied under another file name is skipped
    IH_CHECK (ih_keys_write_file (path, zchunk_data (orig), zchunk_size (orig), 0644, true, NULL) == 0);
    snprintf (path, sizeof path, "%s/intel-copy.member", dir);
    IH_CHECK (ih_keys_write_file (path, zchunk_data (orig), zchunk_size (orig), 0644, false, NULL) == 0);
    IH_CHECK (ih_registry_reload (reg, &err) == 0 && ih_registry_size (reg) == 3);
    IH_CHECK (ih_registry_by_name (reg, "intel") != NULL);
    IH_CHECK (unlink (path) == 0);
    zchunk_destroy (&orig);

    //  Revocation is fail-closed: a revoked line with any value revokes
    snprintf (path, sizeof path, "%s/intel.member", dir);
    s_test_edit (path, "    record", "    revoked = \"\"\n    record");
    IH_CHECK (ih_registry_reload (reg, &err) == 0);
    IH_CHECK (ih_registry_by_name (reg, "intel")->revoked);

    //  The directory going away: changed() says so, reload fails, old contents stay
    ih_registry_destroy (&reg);
    reg = ih_registry_load (dir, pk, &err);
    IH_CHECK (reg && ih_registry_size (reg) == 3);
    zdir_t *zd = zdir_new (dir, NULL);
    IH_CHECK (zd);
    zdir_remove (zd, true);
    zdir_destroy (&zd);
    IH_CHECK (access (dir, F_OK) == -1);
    IH_CHECK (ih_registry_changed (reg));
    IH_CHECK (ih_registry_reload (reg, &err) == -1 && strstr (err.msg, "cannot read"));
    IH_CHECK (ih_registry_size (reg) == 3 && ih_registry_by_name (reg, "soc")->revoked);
    ih_registry_destroy (&reg);

    sodium_memzero (sk, sizeof sk);
    sodium_memzero (sk2, sizeof sk2);
    s_quiet = false;
}
#endif

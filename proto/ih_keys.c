/*  ih_keys.c: key files and configuration helpers (see ih_keys.h).

    Files are read with open/fstat/read so that the mode check and the read are about
    the same inode, and the raw bytes are wiped before they are freed whatever the file
    holds. ZPL text is checked line by line by s_zpl_check, which follows the grammar of
    czmq's zconfig_chunk_load exactly, before zconfig sees it: that gives the file:line
    error the header promises, keeps zconfig from logging a line that may hold a secret,
    and keeps lines over 1024 bytes (where zconfig_chunk_load miscounts) away from it.

    Secret files are created with O_CREAT|O_EXCL and mode 0600, then fchmod'ed to 0600
    (umask cannot widen, but be explicit) before any secret byte is written; zcert's own
    writer then truncates and fills the file we created, which keeps its mode.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "ih_keys.h"
#include "ih_sign.h"

#define s_FILE_MAX  (1024 * 1024)  /* no config or key file is larger */
#define s_LINE_MAX  1024           /* zconfig_chunk_load's line limit */

/* ---- reading files ---------------------------------------------------------------- */

/*  Reads a whole file into a malloc'd, NUL-terminated buffer. With private set, the
    file must be a regular file without group/other permission bits. The caller wipes
    and frees the buffer (s_wipe_free). */
static char *
s_read_file (const char *path, bool private_, size_t *len_p, ih_err_t *err)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    struct stat st;
    if (fstat (fd, &st)) {
        ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
        close (fd);
        return NULL;
    }
    if (!S_ISREG (st.st_mode)) {
        ih_err_set (err, "%s: not a regular file", path);
        close (fd);
        return NULL;
    }
    if (private_ && (st.st_mode & 077)) {
        ih_err_set (err, "%s: permissions %04o are too open (want 0600)", path,
                    (unsigned) (st.st_mode & 07777));
        close (fd);
        return NULL;
    }
    if (st.st_size < 0 || st.st_size > s_FILE_MAX) {
        ih_err_set (err, "%s: too large (more than %d bytes)", path, s_FILE_MAX);
        close (fd);
        return NULL;
    }
    size_t cap = (size_t) st.st_size + 1, len = 0;
    char *data = (char *) malloc (cap + 1);
    if (!data) {
        fprintf (stderr, "ih_keys: out of memory\n");
        abort ();
    }
    //  Read to EOF: the file may have grown since fstat; we never read past the cap.
    while (len < cap) {
        ssize_t n = read (fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
            sodium_memzero (data, cap + 1);
            free (data);
            close (fd);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    close (fd);
    if (len == cap) {
        ih_err_set (err, "%s: changed while being read", path);
        sodium_memzero (data, cap + 1);
        free (data);
        return NULL;
    }
    data [len] = 0;
    *len_p = len;
    return data;
}

static void
s_wipe_free (char *data, size_t len)
{
    if (data) {
        sodium_memzero (data, len);
        free (data);
    }
}

/* ---- ZPL syntax check ---------------------------------------------------------------- */

static bool
s_is_namechar (unsigned char c)
{
    return isalnum (c) || c == '$' || c == '-' || c == '_' || c == '@' || c == '.'
        || c == '&' || c == '+' || c == '/';
}

/*  True when what is left of the line is only white space or a comment. */
static bool
s_eoln_ok (const char *p)
{
    while (*p && isspace ((unsigned char) *p))
        p++;
    return *p == 0 || *p == '#';
}

/*  Returns 0 when zconfig_chunk_load accepts data; else -1 with *bad_line and *why. */
static int
s_zpl_check (const char *data, size_t size, int *bad_line, const char **why)
{
    int lineno = 0, chain = 0;   /* chain: depth of the last node's chain of parents */
    size_t pos = 0;
    char line [s_LINE_MAX + 1];
    int rc = 0;
    while (pos < size && rc == 0) {
        const char *eoln = (const char *) memchr (data + pos, '\n', size - pos);
        size_t n = eoln ? (size_t) (eoln - (data + pos)) : size - pos;
        *bad_line = ++lineno;
        if (n > s_LINE_MAX) {
            *why = "line too long (max 1024 bytes)";
            rc = -1;
            break;
        }
        if (memchr (data + pos, 0, n)) {
            *why = "NUL byte in text";
            rc = -1;
            break;
        }
        memcpy (line, data + pos, n);
        line [n] = 0;
        pos += n + (eoln ? 1 : 0);
        while (n && isspace ((unsigned char) line [n - 1]))
            line [--n] = 0;

        const char *p = line;
        size_t spaces = 0;
        while (p [spaces] == ' ')
            spaces++;
        if (spaces % 4) {
            *why = "indent by 4 spaces at a time";
            rc = -1;
            break;
        }
        int level = (int) (spaces / 4);
        p += spaces;
        const char *name = p;
        while (s_is_namechar ((unsigned char) *p))
            p++;
        size_t name_len = (size_t) (p - name);
        if (name_len == 0) {
            if (!s_eoln_ok (p)) {
                *why = "invalid syntax";
                rc = -1;
            }
            continue;
        }
        if (name [0] == '/' || name [name_len - 1] == '/') {
            *why = "'/' is not valid at the start or end of a name";
            rc = -1;
            break;
        }
        while (isspace ((unsigned char) *p))
            p++;
        if (*p == '=') {
            p++;
            while (isspace ((unsigned char) *p))
                p++;
            if (*p == '"' || *p == '\'') {
                const char *end = strchr (p + 1, *p);
                if (!end) {
                    *why = "missing closing quote";
                    rc = -1;
                }
                else
                if (!s_eoln_ok (end + 1)) {
                    *why = "unexpected text after the quoted value";
                    rc = -1;
                }
            }
        }
        else
        if (!s_eoln_ok (p)) {
            *why = "expected '=' after the name";
            rc = -1;
        }
        if (rc == 0 && level > chain) {
            *why = "indentation error (no parent at that depth)";
            rc = -1;
        }
        chain = level + 1;
    }
    sodium_memzero (line, sizeof line);
    return rc;
}

/*  Reads and parses a ZPL file. private_: require mode 0600. */
static zconfig_t *
s_config_load (const char *path, bool private_, ih_err_t *err)
{
    size_t len = 0;
    char *data = s_read_file (path, private_, &len, err);
    if (!data)
        return NULL;
    int line = 0;
    const char *why = NULL;
    if (s_zpl_check (data, len, &line, &why)) {
        ih_err_set (err, "%s:%d: syntax error (%s)", path, line, why);
        s_wipe_free (data, len);
        return NULL;
    }
    zchunk_t *chunk = zchunk_new (data, len);
    s_wipe_free (data, len);
    assert (chunk);
    zconfig_t *cfg = zconfig_chunk_load (chunk);
    sodium_memzero (zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    if (!cfg)
        ih_err_set (err, "%s: syntax error", path);
    return cfg;
}

/*  Wipes the value at key (if any), in place, so that zconfig_destroy frees zeros. */
static void
s_config_wipe (zconfig_t *cfg, const char *key)
{
    zconfig_t *item = cfg ? zconfig_locate (cfg, key) : NULL;
    char *value = item ? zconfig_value (item) : NULL;
    if (value)
        sodium_memzero (value, strlen (value));
}

/* ---- writing files -------------------------------------------------------------------- */

static int
s_write_all (int fd, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *) data;
    while (len) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/*  Creates path (O_EXCL) with exactly mode; returns the fd or -1 with err. */
static int
s_create (const char *path, int mode, ih_err_t *err)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, (mode_t) mode);
    if (fd < 0) {
        if (errno == EEXIST)
            ih_err_set (err, "%s: exists", path);
        else
            ih_err_set (err, "%s: cannot create: %s", path, strerror (errno));
        return -1;
    }
    if (fchmod (fd, (mode_t) mode)) {
        ih_err_set (err, "%s: cannot set mode %04o: %s", path, (unsigned) mode, strerror (errno));
        close (fd);
        unlink (path);
        return -1;
    }
    return fd;
}

int
ih_keys_write_file (const char *path, const void *data, size_t len, int mode, bool replace,
                    ih_err_t *err)
{
    char tmp [4096];
    const char *target = path;
    if (replace) {
        //  DIR/.BASE.tmp.PID in the same directory, so rename() is atomic
        const char *slash = strrchr (path, '/');
        int dir_len = slash ? (int) (slash - path + 1) : 0;
        const char *base = slash ? slash + 1 : path;
        int n = snprintf (tmp, sizeof tmp, "%.*s.%s.tmp.%ld", dir_len, path, base, (long) getpid ());
        if (n < 0 || (size_t) n >= sizeof tmp)
            return ih_err_set (err, "%s: path too long", path);
        unlink (tmp);            /* a leftover of ours from a crash */
        target = tmp;
    }
    int fd = s_create (target, mode, err);
    if (fd < 0)
        return -1;
    if (s_write_all (fd, data, len) || fsync (fd)) {
        ih_err_set (err, "%s: cannot write: %s", path, strerror (errno));
        close (fd);
        unlink (target);
        return -1;
    }
    if (close (fd)) {
        ih_err_set (err, "%s: cannot write: %s", path, strerror (errno));
        unlink (target);
        return -1;
    }
    if (replace && rename (tmp, path)) {
        ih_err_set (err, "%s: cannot replace: %s", path, strerror (errno));
        unlink (tmp);
        return -1;
    }
    return 0;
}

/* ---- API: permissions, paths, config ------------------------------------------------- */

int
ih_keys_check_private (const char *path, ih_err_t *err)
{
    struct stat st;
    if (stat (path, &st))
        return ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    if (!S_ISREG (st.st_mode))
        return ih_err_set (err, "%s: not a regular file", path);
    if (st.st_mode & 077)
        return ih_err_set (err, "%s: permissions %04o are too open (want 0600)", path,
                           (unsigned) (st.st_mode & 07777));
    return 0;
}

char *
ih_keys_resolve (const char *cfg_path, const char *path)
{
    assert (path);
    const char *slash = cfg_path ? strrchr (cfg_path, '/') : NULL;
    if (path [0] == 0 || path [0] == '/' || !slash)
        return strdup (path);
    size_t dir_len = (size_t) (slash - cfg_path) + 1;    /* keeps the slash */
    size_t len = dir_len + strlen (path) + 1;
    char *out = (char *) malloc (len);
    assert (out);
    memcpy (out, cfg_path, dir_len);
    memcpy (out + dir_len, path, strlen (path) + 1);
    return out;
}

zconfig_t *
ih_config_load (const char *path, ih_err_t *err)
{
    return s_config_load (path, false, err);
}

const char *
ih_config_require (zconfig_t *cfg, const char *file, const char *key, ih_err_t *err)
{
    zconfig_t *item = cfg ? zconfig_locate (cfg, key) : NULL;
    const char *value = item ? zconfig_value (item) : NULL;
    if (!value) {
        ih_err_set (err, "%s: missing %s", file, key);
        return NULL;
    }
    return value;
}

int
ih_config_uint (zconfig_t *cfg, const char *file, const char *key, uint64_t min, uint64_t max,
                uint64_t def, uint64_t *out, ih_err_t *err)
{
    const char *v = cfg ? zconfig_get (cfg, key, NULL) : NULL;
    *out = def;
    if (!v || !*v)
        return 0;
    if (!ih_parse_uint (v, min, max, out))
        return ih_err_set (err, "%s: %s: '%s' is not a number in %" PRIu64 "..%" PRIu64, file, key,
                           v, min, max);
    return 0;
}

/* ---- API: signing keys ------------------------------------------------------------------- */

int
ih_keys_save_signing (const char *path, const uint8_t pk [32], const uint8_t *sk, ih_err_t *err)
{
    char pk_hex [65], sk_hex [129];
    char text [512];
    ih_hex_encode (pk, 32, pk_hex);
    int n;
    if (sk) {
        if (memcmp (sk + 32, pk, 32) != 0)
            return ih_err_set (err, "%s: secret key does not match public key", path);
        ih_hex_encode (sk, 64, sk_hex);
        n = snprintf (text, sizeof text,
                      "#   Infohub signing key. Keep this file secret (mode 0600).\n"
                      "signing\n"
                      "    public-key = \"%s\"\n"
                      "    secret-key = \"%s\"\n", pk_hex, sk_hex);
    }
    else
        n = snprintf (text, sizeof text,
                      "#   Infohub signing key, public part.\n"
                      "signing\n"
                      "    public-key = \"%s\"\n", pk_hex);
    assert (n > 0 && (size_t) n < sizeof text);
    int rc = ih_keys_write_file (path, text, (size_t) n, sk ? 0600 : 0644, false, err);
    if (rc == 0 && sk)
        rc = ih_keys_check_private (path, err);
    sodium_memzero (sk_hex, sizeof sk_hex);
    sodium_memzero (text, sizeof text);
    return rc;
}

int
ih_keys_load_signing (const char *path, uint8_t pk [32], uint8_t *sk, ih_err_t *err)
{
    ih_sign_init ();
    zconfig_t *cfg = s_config_load (path, sk != NULL, err);
    if (!cfg)
        return -1;
    int rc = -1;
    const char *pk_hex = zconfig_get (cfg, "signing/public-key", NULL);
    const char *sk_hex = zconfig_get (cfg, "signing/secret-key", NULL);
    if (!pk_hex)
        ih_err_set (err, "%s: missing signing/public-key", path);
    else
    if (ih_hex_decode (pk_hex, pk, 32))
        ih_err_set (err, "%s: signing/public-key: malformed (want 64 hex digits)", path);
    else
    if (!sk)
        rc = 0;
    else
    if (!sk_hex)
        ih_err_set (err, "%s: missing signing/secret-key (not a secret key file)", path);
    else
    if (ih_hex_decode (sk_hex, sk, 64))
        ih_err_set (err, "%s: signing/secret-key: malformed (want 128 hex digits)", path);
    else {
        //  sk is seed || pk: check both halves against the public key
        uint8_t derived_pk [32], derived_sk [64];
        crypto_sign_seed_keypair (derived_pk, derived_sk, sk);
        if (memcmp (derived_pk, pk, 32) || memcmp (sk + 32, pk, 32))
            ih_err_set (err, "%s: signing/secret-key does not match signing/public-key", path);
        else
            rc = 0;
        sodium_memzero (derived_sk, sizeof derived_sk);
    }
    if (rc && sk)
        sodium_memzero (sk, 64);
    s_config_wipe (cfg, "signing/secret-key");
    zconfig_destroy (&cfg);
    return rc;
}

/* ---- API: CURVE certificates ---------------------------------------------------------- */

int
ih_keys_save_cert (zcert_t *cert, const char *path, ih_err_t *err)
{
    char secret [4096];
    int n = snprintf (secret, sizeof secret, "%s_secret", path);
    if (n < 0 || (size_t) n >= sizeof secret)
        return ih_err_set (err, "%s: path too long", path);
    struct stat st;
    if (lstat (path, &st) == 0)
        return ih_err_set (err, "%s: exists", path);
    //  Create both files empty with their final modes; zcert then truncates and fills
    //  them, which keeps the mode (fopen "w" on an existing file).
    int fd = s_create (secret, 0600, err);
    if (fd < 0)
        return -1;
    close (fd);
    //  zcert_save_secret sets a private umask and then resets it to czmq's default
    //  (022), whatever it was before: put the caller's umask back.
    mode_t old_mask = umask (077);
    int rc = zcert_save_secret (cert, secret);
    umask (old_mask);
    if (rc) {
        unlink (secret);
        return ih_err_set (err, "%s: cannot write", secret);
    }
    if (ih_keys_check_private (secret, err)) {
        unlink (secret);
        return -1;
    }
    fd = s_create (path, 0644, err);
    if (fd < 0) {
        unlink (secret);
        return -1;
    }
    close (fd);
    if (zcert_save_public (cert, path)) {
        unlink (secret);
        unlink (path);
        return ih_err_set (err, "%s: cannot write", path);
    }
    return 0;
}

zcert_t *
ih_keys_load_cert (const char *secret_path, ih_err_t *err)
{
    zconfig_t *cfg = s_config_load (secret_path, true, err);
    if (!cfg)
        return NULL;
    zcert_t *cert = NULL;
    uint8_t pk [32], sk [32], derived [32];
    const char *pk_txt = zconfig_get (cfg, "curve/public-key", NULL);
    const char *sk_txt = zconfig_get (cfg, "curve/secret-key", NULL);
    if (!pk_txt)
        ih_err_set (err, "%s: missing curve/public-key", secret_path);
    else
    if (strlen (pk_txt) != 40 || !zmq_z85_decode (pk, pk_txt))
        ih_err_set (err, "%s: curve/public-key: malformed (want 40 Z85 characters)", secret_path);
    else
    if (!sk_txt)
        ih_err_set (err, "%s: missing curve/secret-key (not a secret certificate)", secret_path);
    else
    if (strlen (sk_txt) != 40 || !zmq_z85_decode (sk, sk_txt))
        ih_err_set (err, "%s: curve/secret-key: malformed (want 40 Z85 characters)", secret_path);
    else
    if (crypto_scalarmult_base (derived, sk) || memcmp (derived, pk, 32))
        ih_err_set (err, "%s: curve/secret-key does not match curve/public-key", secret_path);
    else {
        cert = zcert_new_from (pk, sk);
        assert (cert);
        zconfig_t *meta = zconfig_locate (cfg, "metadata");
        for (zconfig_t *item = meta ? zconfig_child (meta) : NULL; item; item = zconfig_next (item))
            if (zconfig_name (item) && zconfig_value (item))
                zcert_set_meta (cert, zconfig_name (item), "%s", zconfig_value (item));
    }
    sodium_memzero (sk, sizeof sk);
    s_config_wipe (cfg, "curve/secret-key");
    zconfig_destroy (&cfg);
    return cert;
}

/* ---- self-test --------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static void
s_test_write (const char *path, const char *text, int mode)
{
    unlink (path);
    IH_CHECK (ih_keys_write_file (path, text, strlen (text), mode, false, NULL) == 0);
}

static int
s_mode_of (const char *path)
{
    struct stat st;
    IH_CHECK (stat (path, &st) == 0);
    return (int) (st.st_mode & 07777);
}

void
ih_keys_test (bool verbose)
{
    ih_sign_init ();
    char dir [] = "/tmp/ih-keys-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char path [256], path2 [256];
    ih_err_t err;

    //  Signing keys: secret file round trip, 0600, O_EXCL
    uint8_t pk [32], sk [64], pk2 [32], sk2 [64];
    ih_sign_keypair (pk, sk);
    snprintf (path, sizeof path, "%s/signing.key", dir);
    IH_CHECK (ih_keys_save_signing (path, pk, sk, &err) == 0);
    IH_CHECK (s_mode_of (path) == 0600);
    IH_CHECK (ih_keys_save_signing (path, pk, sk, &err) == -1);
    IH_CHECK (strstr (err.msg, "exists"));
    IH_CHECK (ih_keys_load_signing (path, pk2, sk2, &err) == 0);
    IH_CHECK (memcmp (pk, pk2, 32) == 0 && memcmp (sk, sk2, 64) == 0);
    memset (pk2, 0, 32);
    IH_CHECK (ih_keys_load_signing (path, pk2, NULL, &err) == 0);
    IH_CHECK (memcmp (pk, pk2, 32) == 0);
    IH_CHECK (ih_keys_check_private (path, &err) == 0);

    //  The file never contains anything but the two keys we gave it
    size_t len = 0;
    char *text = s_read_file (path, true, &len, &err);
    IH_CHECK (text);
    char hex [129];
    ih_hex_encode (sk, 64, hex);
    IH_CHECK (strstr (text, hex));
    s_wipe_free (text, len);

    //  Too open: refused with the documented message, by load and by check_private
    IH_CHECK (chmod (path, 0644) == 0);
    IH_CHECK (ih_keys_load_signing (path, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "permissions 0644 are too open (want 0600)"));
    IH_CHECK (strncmp (err.msg, path, strlen (path)) == 0);
    IH_CHECK (ih_keys_check_private (path, &err) == -1);
    IH_CHECK (strstr (err.msg, "permissions 0644 are too open (want 0600)"));
    IH_CHECK (chmod (path, 0640) == 0);
    IH_CHECK (ih_keys_load_signing (path, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "0640 are too open"));
    //  ... but the public half may be read from it
    IH_CHECK (ih_keys_load_signing (path, pk2, NULL, &err) == 0);
    IH_CHECK (chmod (path, 0400) == 0);
    IH_CHECK (ih_keys_load_signing (path, pk2, sk2, &err) == 0);
    IH_CHECK (ih_keys_check_private (dir, &err) == -1 && strstr (err.msg, "not a regular file"));

    //  Public file: 0644, has no secret
    snprintf (path2, sizeof path2, "%s/signing.pub", dir);
    IH_CHECK (ih_keys_save_signing (path2, pk, NULL, &err) == 0);
    IH_CHECK (s_mode_of (path2) == 0644);
    IH_CHECK (ih_keys_load_signing (path2, pk2, NULL, &err) == 0 && memcmp (pk, pk2, 32) == 0);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "permissions 0644 are too open"));
    IH_CHECK (chmod (path2, 0600) == 0);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "missing signing/secret-key"));

    //  Mismatched pair refused at save
    uint8_t other_pk [32], other_sk [64];
    ih_sign_keypair (other_pk, other_sk);
    snprintf (path2, sizeof path2, "%s/mismatch.key", dir);
    IH_CHECK (ih_keys_save_signing (path2, other_pk, sk, &err) == -1);
    IH_CHECK (strstr (err.msg, "does not match"));
    IH_CHECK (access (path2, F_OK) == -1);

    //  Missing file
    snprintf (path2, sizeof path2, "%s/absent.key", dir);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "absent.key: cannot read: No such file"));
    IH_CHECK (ih_keys_check_private (path2, &err) == -1 && strstr (err.msg, "cannot read"));

    //  Malformed hex, short hex, missing key, mismatched halves, bad syntax
    char pk_hex [65], sk_hex [129], buf [1024];
    ih_hex_encode (pk, 32, pk_hex);
    ih_hex_encode (sk, 64, sk_hex);
    snprintf (path2, sizeof path2, "%s/bad.key", dir);
    snprintf (buf, sizeof buf, "signing\n    public-key = \"%.63sz\"\n    secret-key = \"%s\"\n",
              pk_hex, sk_hex);
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "signing/public-key: malformed"));
    snprintf (buf, sizeof buf, "signing\n    public-key = \"%s\"\n    secret-key = \"%.120s\"\n",
              pk_hex, sk_hex);
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "signing/secret-key: malformed"));
    //  the secret buffer is wiped on failure
    uint8_t zero [64] = { 0 };
    IH_CHECK (memcmp (sk2, zero, 64) == 0);
    s_test_write (path2, "signing\n    secret-key = \"00\"\n", 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "bad.key: missing signing/public-key"));
    char other_hex [65];
    ih_hex_encode (other_pk, 32, other_hex);
    snprintf (buf, sizeof buf, "signing\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
              other_hex, sk_hex);
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, sk2, &err) == -1);
    IH_CHECK (strstr (err.msg, "does not match"));
    s_test_write (path2, "signing\n   public-key = \"00\"\n", 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "bad.key:2: syntax error"));
    s_test_write (path2, "# ok\nsigning\n    public-key = \"00\n", 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "bad.key:3: syntax error (missing closing quote)"));
    s_test_write (path2, "signing\n        public-key = \"00\"\n", 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "bad.key:2: syntax error (indentation error"));
    s_test_write (path2, "signing junk\n", 0600);
    IH_CHECK (ih_keys_load_signing (path2, pk2, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "bad.key:1: syntax error"));
    s_test_write (path2, "= 1\n", 0600);
    IH_CHECK (ih_config_load (path2, &err) == NULL && strstr (err.msg, ":1: syntax error"));
    s_test_write (path2, "a\n    b = 'x' junk\n", 0600);
    IH_CHECK (ih_config_load (path2, &err) == NULL && strstr (err.msg, ":2: syntax error"));
    s_test_write (path2, "/a = 1\n", 0600);
    IH_CHECK (ih_config_load (path2, &err) == NULL && strstr (err.msg, ":1: syntax error"));
    //  a line over zconfig's limit never reaches zconfig
    char *longline = (char *) malloc (3000);
    IH_CHECK (longline);
    memset (longline, 'a', 2998);
    longline [2998] = '\n';
    longline [2999] = 0;
    s_test_write (path2, longline, 0600);
    free (longline);
    IH_CHECK (ih_config_load (path2, &err) == NULL && strstr (err.msg, ":1: syntax error (line too long"));
    //  every form zconfig accepts is accepted: comments, unquoted, single quotes, blanks
    s_test_write (path2,
        "#   a comment\n"
        "\n"
        "agent\n"
        "    name = soc    # trailing comment\n"
        "    org = 'bank-a'\n"
        "    empty\n"
        "    # indented comment\n"
        "    broker\n"
        "        endpoint = \"tcp://127.0.0.1:7710\"   \n"
        "        public-key = \"a#b=c\"\n"
        "top = 1", 0644);
    zconfig_t *cfg = ih_config_load (path2, &err);
    IH_CHECK (cfg);
    IH_CHECK (streq (ih_config_require (cfg, path2, "agent/name", &err), "soc"));
    IH_CHECK (streq (ih_config_require (cfg, path2, "agent/org", &err), "bank-a"));
    IH_CHECK (streq (ih_config_require (cfg, path2, "agent/empty", &err), ""));
    IH_CHECK (streq (ih_config_require (cfg, path2, "agent/broker/endpoint", &err), "tcp://127.0.0.1:7710"));
    IH_CHECK (streq (ih_config_require (cfg, path2, "agent/broker/public-key", &err), "a#b=c"));
    IH_CHECK (streq (ih_config_require (cfg, path2, "top", &err), "1"));
    IH_CHECK (ih_config_require (cfg, path2, "agent/broker/missing", &err) == NULL);
    snprintf (buf, sizeof buf, "%s: missing agent/broker/missing", path2);
    IH_CHECK (streq (err.msg, buf));
    IH_CHECK (ih_config_require (cfg, "agent.cfg", "agent/store", &err) == NULL);
    IH_CHECK (streq (err.msg, "agent.cfg: missing agent/store"));
    //  numbers: absent or empty is the default; a bad one names file and key
    uint64_t num = 7;
    IH_CHECK (ih_config_uint (cfg, "a.cfg", "agent/none", 1, 10, 4, &num, &err) == 0 && num == 4);
    IH_CHECK (ih_config_uint (cfg, "a.cfg", "agent/empty", 1, 10, 5, &num, &err) == 0 && num == 5);
    IH_CHECK (ih_config_uint (cfg, "a.cfg", "top", 1, 10, 5, &num, &err) == 0 && num == 1);
    IH_CHECK (ih_config_uint (cfg, "a.cfg", "top", 2, 10, 5, &num, &err) == -1 && num == 5);
    IH_CHECK (streq (err.msg, "a.cfg: top: '1' is not a number in 2..10"));
    IH_CHECK (ih_config_uint (cfg, "a.cfg", "agent/name", 0, UINT64_MAX, 0, &num, &err) == -1);
    IH_CHECK (streq (err.msg, "a.cfg: agent/name: 'soc' is not a number in 0..18446744073709551615"));
    zconfig_destroy (&cfg);
    //  empty file: an empty tree
    s_test_write (path2, "", 0644);
    cfg = ih_config_load (path2, &err);
    IH_CHECK (cfg && zconfig_child (cfg) == NULL);
    zconfig_destroy (&cfg);
    IH_CHECK (ih_config_load (dir, &err) == NULL && strstr (err.msg, "not a regular file"));
    snprintf (path2, sizeof path2, "%s/absent.cfg", dir);
    IH_CHECK (ih_config_load (path2, &err) == NULL && strstr (err.msg, "absent.cfg: cannot read:"));

    //  CURVE certificates
    zcert_t *cert = zcert_new ();
    zcert_set_meta (cert, "name", "broker");
    snprintf (path, sizeof path, "%s/broker.cert", dir);
    mode_t mask = umask (027);
    IH_CHECK (ih_keys_save_cert (cert, path, &err) == 0);
    IH_CHECK (umask (mask) == 027);         /* czmq would have left 022 */
    snprintf (path2, sizeof path2, "%s/broker.cert_secret", dir);
    IH_CHECK (s_mode_of (path2) == 0600);
    IH_CHECK (s_mode_of (path) == 0644);
    IH_CHECK (ih_keys_save_cert (cert, path, &err) == -1 && strstr (err.msg, "exists"));
    zcert_t *loaded = ih_keys_load_cert (path2, &err);
    IH_CHECK (loaded);
    IH_CHECK (memcmp (zcert_public_key (loaded), zcert_public_key (cert), 32) == 0);
    IH_CHECK (memcmp (zcert_secret_key (loaded), zcert_secret_key (cert), 32) == 0);
    IH_CHECK (zcert_meta (loaded, "name") && streq (zcert_meta (loaded, "name"), "broker"));
    zcert_destroy (&loaded);
    //  the public file holds no secret and is not accepted as a secret cert
    text = s_read_file (path, false, &len, &err);
    IH_CHECK (text && !strstr (text, zcert_secret_txt (cert)) && strstr (text, zcert_public_txt (cert)));
    s_wipe_free (text, len);
    IH_CHECK (ih_keys_load_cert (path, &err) == NULL && strstr (err.msg, "too open"));
    IH_CHECK (chmod (path2, 0604) == 0);
    IH_CHECK (ih_keys_load_cert (path2, &err) == NULL);
    IH_CHECK (strstr (err.msg, "permissions 0604 are too open (want 0600)"));
    IH_CHECK (chmod (path2, 0600) == 0);
    //  secret file exists but not public: still refused (never overwrite a key)
    IH_CHECK (unlink (path) == 0);
    IH_CHECK (ih_keys_save_cert (cert, path, &err) == -1 && strstr (err.msg, "exists"));

    snprintf (path2, sizeof path2, "%s/bad.cert_secret", dir);
    zcert_t *other = zcert_new ();
    snprintf (buf, sizeof buf, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
              zcert_public_txt (other), zcert_secret_txt (cert));
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_cert (path2, &err) == NULL && strstr (err.msg, "does not match"));
    snprintf (buf, sizeof buf, "curve\n    public-key = \"%.39s~\"\n    secret-key = \"%s\"\n",
              zcert_public_txt (cert), zcert_secret_txt (cert));
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_cert (path2, &err) == NULL && strstr (err.msg, "curve/public-key: malformed"));
    snprintf (buf, sizeof buf, "curve\n    public-key = \"%s\"\n    secret-key = \"%.30s\"\n",
              zcert_public_txt (cert), zcert_secret_txt (cert));
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_cert (path2, &err) == NULL && strstr (err.msg, "curve/secret-key: malformed"));
    snprintf (buf, sizeof buf, "curve\n    public-key = \"%s\"\n", zcert_public_txt (cert));
    s_test_write (path2, buf, 0600);
    IH_CHECK (ih_keys_load_cert (path2, &err) == NULL && strstr (err.msg, "missing curve/secret-key"));
    s_test_write (path2, "curve\n", 0600);
    IH_CHECK (ih_keys_load_cert (path2, &err) == NULL && strstr (err.msg, "missing curve/public-key"));
    zcert_destroy (&other);
    zcert_destroy (&cert);

    //  Path resolution
    char *r = ih_keys_resolve ("/etc/infohub/broker.cfg", "broker.cert_secret");
    IH_CHECK (streq (r, "/etc/infohub/broker.cert_secret"));
    free (r);
    r = ih_keys_resolve ("deploy/broker.cfg", "members");
    IH_CHECK (streq (r, "deploy/members"));
    free (r);
    r = ih_keys_resolve ("deploy/broker.cfg", "/var/lib/journal");
    IH_CHECK (streq (r, "/var/lib/journal"));
    free (r);
    r = ih_keys_resolve ("broker.cfg", "members");
    IH_CHECK (streq (r, "members"));
    free (r);
    r = ih_keys_resolve ("/broker.cfg", "members");
    IH_CHECK (streq (r, "/members"));
    free (r);
    r = ih_keys_resolve ("a/b/agent.cfg", "");
    IH_CHECK (streq (r, ""));
    free (r);

    //  write_file: exclusive create, atomic replace, explicit modes whatever the umask
    snprintf (path2, sizeof path2, "%s/plain.txt", dir);
    mode_t old_mask = umask (0);
    IH_CHECK (ih_keys_write_file (path2, "one", 3, 0640, false, &err) == 0);
    umask (old_mask);
    IH_CHECK (s_mode_of (path2) == 0640);
    IH_CHECK (ih_keys_write_file (path2, "two", 3, 0644, false, &err) == -1 && strstr (err.msg, "exists"));
    IH_CHECK (ih_keys_write_file (path2, "three", 5, 0644, true, &err) == 0);
    IH_CHECK (s_mode_of (path2) == 0644);
    text = s_read_file (path2, false, &len, &err);
    IH_CHECK (text && len == 5 && streq (text, "three"));
    s_wipe_free (text, len);
    snprintf (path2, sizeof path2, "%s/no/such/dir/x", dir);
    IH_CHECK (ih_keys_write_file (path2, "x", 1, 0644, false, &err) == -1 && strstr (err.msg, "cannot create"));
    IH_CHECK (ih_keys_write_file (path2, "x", 1, 0644, true, &err) == -1);

    sodium_memzero (sk, sizeof sk);
    sodium_memzero (sk2, sizeof sk2);
    sodium_memzero (other_sk, sizeof other_sk);
    sodium_memzero (sk_hex, sizeof sk_hex);
    sodium_memzero (hex, sizeof hex);

    //  Nothing left behind: no temporary files, and the directory goes away
    zdir_t *zd = zdir_new (dir, NULL);
    IH_CHECK (zd);
    zfile_t **files = zdir_flatten (zd);
    for (size_t i = 0; files [i]; i++) {
        const char *name = strrchr (zfile_filename (files [i], NULL), '/');
        IH_CHECK (name && !strstr (name, ".tmp."));
        if (verbose)
            printf ("\n   %s %04o", name + 1, (unsigned) s_mode_of (zfile_filename (files [i], NULL)));
    }
    zdir_flatten_free (&files);
    zdir_remove (zd, true);
    zdir_destroy (&zd);
    IH_CHECK (access (dir, F_OK) == -1);
    if (verbose)
        printf ("\n");
}
#endif

/*  ih_keys.h: key files and configuration helpers shared by every daemon.

    Signing key files (ed25519), ZPL, the format czmq's zconfig reads:

        #   Infohub signing key. Keep secret files 0600.
        signing
            public-key = "<64 hex>"
            secret-key = "<128 hex>"        (absent in a public file)

    CURVE certificates use czmq's zcert format (NAME and NAME_secret); secret files are
    written 0600 (czmq's zcert_save_secret does not do that by itself).

    Loading a secret file whose mode lets group or others read it fails with
    "PATH: permissions 0644 are too open (want 0600)". Secret bytes are wiped after use
    (sodium_memzero) by the callers, and no function here ever prints a secret.
*/
#ifndef IH_KEYS_H
#define IH_KEYS_H

#include <czmq.h>
#include "ih_util.h"

/*  Writes a signing key file. sk NULL writes a public file (mode 0644); otherwise mode
    0600, created with O_EXCL semantics: an existing file is an error ("exists"). */
int ih_keys_save_signing(const char *path, const uint8_t pk[32], const uint8_t *sk, ih_err_t *err);
/*  Reads a signing key file. When sk is not NULL the file must hold a secret key and
    have mode 0600 (or stricter). */
int ih_keys_load_signing(const char *path, uint8_t pk[32], uint8_t *sk, ih_err_t *err);

/*  Saves cert as path (public) and path_secret (0600). */
int ih_keys_save_cert(zcert_t *cert, const char *path, ih_err_t *err);
/*  Loads a secret cert file (checks 0600). Returns NULL with err set. */
zcert_t *ih_keys_load_cert(const char *secret_path, ih_err_t *err);

/*  Fails unless path is a regular file with no group/other permission bits. */
int ih_keys_check_private(const char *path, ih_err_t *err);

/*  Resolves a path from a config file: absolute paths as they are, relative ones
    against the directory of cfg_path. Returns a malloc'd string. */
char *ih_keys_resolve(const char *cfg_path, const char *path);

/*  Loads a ZPL file; NULL with err "PATH: cannot read: …" or "PATH:LINE: syntax error". */
zconfig_t *ih_config_load(const char *path, ih_err_t *err);
/*  Gets a required string at a zconfig path ("agent/broker/endpoint"); NULL with err
    "PATH: missing agent/broker/endpoint". */
const char *ih_config_require(zconfig_t *cfg, const char *file, const char *key, ih_err_t *err);
/*  Reads an optional number at a zconfig path: def when the key is absent or empty,
    else a decimal number in min..max (ih_parse_uint). -1 with err "PATH: agent/window:
    'abc' is not a number in 1..10000" (*out is then def). */
int ih_config_uint(zconfig_t *cfg, const char *file, const char *key, uint64_t min, uint64_t max,
                   uint64_t def, uint64_t *out, ih_err_t *err);

/*  Writes len bytes to path with exactly this mode (fchmod, whatever the umask), then
    fsync. replace false: the file must not exist ("PATH: exists"); replace true: writes
    a temporary file in the same directory and renames it over path (atomic). Added by
    the keys/registry/admin helper: the registry and infohub-admin write through it. */
int ih_keys_write_file(const char *path, const void *data, size_t len, int mode, bool replace,
                       ih_err_t *err);

void ih_keys_test(bool verbose);

#endif

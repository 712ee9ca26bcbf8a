/*  ih_registry.h: the member registry of a deployment (DIR/members/).

    One ZPL file per member, DIR/members/NAME.member, written by infohub-admin:

        member
            name = "soc"
            org = "bank-a"
            sector = "finance"
            role = "publisher"
            curve-public-key = "<Z85, 40 chars>"
            created = "2026-11-28T17:25:36.123Z"
            record = "<hex of the canonical member record, PROTOCOL.md section 6>"
            signature = "<hex of the registry's ed25519 signature, context infohub/member/1>"
            revoked = "2026-11-29T10:00:00.000Z"     (present once revoked)
            limits                                     (optional: the broker's policy)
                messages-per-s = "50"
                bytes-per-s = "1M"
                bytes-per-day = "unlimited"

    The human-readable fields are for operators; the broker trusts only `record`, after
    verifying `signature` against the registry public key, and `revoked`. A file that
    does not verify is skipped with a log line naming it.

    `limits` (ih_limits.h) overrides the member's role defaults, key by key; like
    `revoked` it is the broker's policy, outside the signed record, written by
    `infohub-admin member add|set`. A value that does not parse is logged and ignored
    (the role's default applies): a typo must not lock a member out.
*/
#ifndef IH_REGISTRY_H
#define IH_REGISTRY_H

#include "ih_limits.h"

typedef struct {
    ih_member_t rec;
    bool revoked;
    char curve_z85[41];       /* Z85 of rec.curve: ZMQ's User-Id for this member */
    uint8_t *rec_bytes;       /* canonical record, as signed */
    size_t rec_len;
    uint8_t rec_sig[64];
    ih_limits_t limits;       /* the member's overrides (IH_LIMIT_UNSET: the role's) */
} ih_reg_entry_t;

typedef struct ih_registry ih_registry_t;

/*  Loads every DIR/members/ *.member file, verifying each record against registry_pk.
    Returns NULL with err only when the directory cannot be read. */
ih_registry_t *ih_registry_load(const char *members_dir, const uint8_t registry_pk[32], ih_err_t *err);
/*  Re-reads the directory. Entries returned earlier become invalid: callers re-resolve
    by key after a reload. Returns 0 or -1 (the old contents stay on error). */
int ih_registry_reload(ih_registry_t *self, ih_err_t *err);
/*  True when any file in the directory changed since the last load (mtime/size/count);
    cheap enough to call every few hundred ms. */
bool ih_registry_changed(ih_registry_t *self);
/*  Lookups; borrowed, valid until the next reload. NULL if absent. Revoked entries
    are returned (check ->revoked). */
const ih_reg_entry_t *ih_registry_by_curve(ih_registry_t *self, const char *z85);
const ih_reg_entry_t *ih_registry_by_name(ih_registry_t *self, const char *name);
size_t ih_registry_size(ih_registry_t *self);
/*  Iteration: i from 0 to size-1. */
const ih_reg_entry_t *ih_registry_at(ih_registry_t *self, size_t i);
void ih_registry_destroy(ih_registry_t **self_p);

/*  Admin side. Writes DIR/members/NAME.member for rec, signed with registry_sk.
    Fails if NAME exists ("member 'soc' exists") or the record is invalid. */
int ih_registry_add(const char *members_dir, const ih_member_t *rec, const uint8_t registry_sk[64], ih_err_t *err);
/*  Marks NAME revoked (atomically: write temp, rename). Fails if unknown or already revoked. */
int ih_registry_revoke(const char *members_dir, const char *name, ih_err_t *err);

/*  The limits section of NAME's file (IH_LIMIT_UNSET where absent). 0 or -1 with err. */
int ih_registry_limits(const char *members_dir, const char *name, ih_limits_t *out, ih_err_t *err);
/*  Rewrites NAME's limits section (atomically): each field set is written, each
    IH_LIMIT_UNSET is removed (the role's default applies again). 0 or -1 with err. */
int ih_registry_set_limits(const char *members_dir, const char *name, const ih_limits_t *lim,
                           ih_err_t *err);

void ih_registry_test(bool verbose);

#endif

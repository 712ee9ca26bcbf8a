/*  ih_limits.h: what one member may send: rate limits and a day's quota.

    One member (a buggy script, a stolen key) must not fill every entitled agent's disk
    nor delay the others. Three limits apply to each member key:

      messages-per-s   publishes, status and roster requests a second
      bytes-per-s      signed-body bytes a second
      bytes-per-day    signed-body bytes journaled in a UTC day

    Each rate is a token bucket that holds IH_LIMITS_BURST_S seconds' worth (the bytes
    bucket at least one largest message, IH_MAX_FRAME), so a member that was quiet may
    send that much at once, then at its rate. The day's quota counts what was journaled:
    a publish refused later (bad signature, a rule) gives its share back. It is kept in
    the journal with the messages (meta "quota/KEY": day and bytes, in the batch's
    transaction), so a restart gives nobody a new day.

    Where the numbers come from: broker.cfg per role (`broker/limits/publisher/...`,
    `broker/limits/reader/...`), and per member the `limits` section of its registry
    file (`infohub-admin member set`). That section is the broker's policy and lies
    outside the record the registry key signs, like `revoked`: agents never check it,
    a change needs no registry key (which is kept offline) and takes effect at the
    broker's next registry reload, and records signed before it existed stay valid.

    Defaults (a national hub; the broker ingests 3,000-10,000 messages a second on two
    cores in batches, verifying a signature costs ~100 us, and every batch is one fsync):
      publisher  100 messages/s, 2 MiB/s, 1 GiB a day
      reader      20 messages/s, 256 KiB/s, 64 MiB a day
    An agent publishes one message at a time and waits for the answer, so a person's
    publishes never meet these; an import of thousands goes at the rate after a burst of
    1,000 (the agent waits as it is told). One member at its limits costs the broker a
    few percent, and the measured p99 of the others stays within 2x (tests/reliability/
    test_abuse.py); a member at 500 a second, spread so that each publish is its own
    commit, made the others' p99 several times worse on two cores. 2 MiB/s bounds what
    one member adds to every agent's link; 1 GiB a day, 100,000 alerts of 10 KB, far
    beyond a busy feed, bounds what it adds to every agent's disk. Readers only comment
    and report sightings.

    Values: a decimal count; bytes may end in K, M or G (powers of 1024); "unlimited"
    (0 in ih_limits_t). The broker's state per key (the buckets, the day) is
    ih_limiter.h; this module is the values only, which infohub-admin shares.
    Threading: stateless.
*/
#ifndef IH_LIMITS_H
#define IH_LIMITS_H

#include "ih_msg.h"

#define IH_LIMITS_BURST_S  10               /* the buckets hold this many seconds' worth */
#define IH_LIMIT_UNSET     UINT64_MAX       /* a member's override that is not set */

typedef struct {
    uint64_t msgs_per_s;        /* 0 = unlimited */
    uint64_t bytes_per_s;       /* 0 = unlimited */
    uint64_t bytes_per_day;     /* 0 = unlimited */
} ih_limits_t;

/*  The defaults of a role (above). */
ih_limits_t ih_limits_default(ih_role_t role);
/*  A member's override that sets nothing (every field IH_LIMIT_UNSET). */
ih_limits_t ih_limits_unset(void);
/*  The member's value where it set one, else the role's. */
ih_limits_t ih_limits_resolve(const ih_limits_t *member, const ih_limits_t *role);

/*  Parses a value ("500", "2M", "unlimited"); bytes allows the K/M/G suffixes. field
    names it in the error ("--rate: '5x' is not a number ..."). Returns 0 or -1 with err. */
int ih_limit_parse(const char *field, const char *text, bool bytes, uint64_t *out, ih_err_t *err);
/*  Formats a value as ih_limit_parse reads it ("2M", "500", "unlimited"). */
void ih_limit_format(uint64_t v, bool bytes, char *out, size_t size);

void ih_limits_test(bool verbose);

#endif

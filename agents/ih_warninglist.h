/*  ih_warninglist.h: known-benign values kept out of detection exports.

    The lists are data files in a directory (config/warninglists/, see its README.md):
    one list a *.txt file, one entry a line, '#' comments, header lines "# name: N",
    "# description: D" and "# match: exact|suffix". An entry is typed by its form:
    an IPv4/IPv6 address or network, 32/40/64 hex digits (md5/sha1/sha256), or a
    domain name (a single label such as "test" too).

    MATCHING (ih_warninglist_match):
      ipv4, ipv6, cidr  an address list entry that OVERLAPS the value (either contains
                        the other): 172.0.0.0/8 matches 172.16.0.0/12
      domain            an exact-list name equal to it or to it without "www.", or a
                        suffix-list name equal to it or to one of its parents
      url               its host: address lists if an IP, else suffix-name lists only
      email             its domain: suffix-name lists only
      md5/sha1/sha256   hash lists
      others            never
    Exact (popular-domain) lists do not cover URLs, e-mail addresses or subdomains: a
    phishing page on a big platform is still an indicator.

    ih_warninglist_check takes what a person or another platform writes: defanged text
    and composite forms ("10.0.0.1|443", "10.0.0.1:443", "[2001:db8::1]:443",
    "example.com|198.51.100.1", "name.exe|<md5>"): it matches when any part does.

    Threading: a loaded ih_warninglist_t is read-only; share it between threads freely.
*/
#ifndef IH_WARNINGLIST_H
#define IH_WARNINGLIST_H

#include "ih_msg.h"

typedef struct ih_warninglist ih_warninglist_t;

/*  Loads every *.txt file in dir (name order). The whole directory is valid or nothing
    is loaded: NULL with err "DIR/FILE:LINE: 'x' is not an address, network, hash or
    domain name", or "DIR: no lists (*.txt)". */
ih_warninglist_t *ih_warninglist_load(const char *dir, ih_err_t *err);
/*  Frees; safe twice; nulls *self_p. */
void ih_warninglist_destroy(ih_warninglist_t **self_p);

/*  The name of the first list (in load order) that matches a normalised value of type
    t (borrowed, valid while self lives), or NULL. */
const char *ih_warninglist_match(const ih_warninglist_t *self, ih_ioc_type_t t, const char *value);

/*  Free-form check (see top): refangs, splits composites, guesses types. Returns the
    list name (borrowed) or NULL; part (partsz bytes, may be NULL) receives the part
    that matched, as normalised ("10.0.0.1"). *recognised (may be NULL) is set to
    whether any part was a value of a known type at all. */
const char *ih_warninglist_check(const ih_warninglist_t *self, const char *value, char *part,
                                 size_t partsz, bool *recognised);

/*  Number of lists loaded, and list i's name, description and entry count. */
size_t ih_warninglist_size(const ih_warninglist_t *self);
const char *ih_warninglist_name(const ih_warninglist_t *self, size_t i);
const char *ih_warninglist_description(const ih_warninglist_t *self, size_t i);
size_t ih_warninglist_entries(const ih_warninglist_t *self, size_t i);

/*  Where the lists live. configured (may be NULL or ""): the agent.cfg setting
    `agent/warninglists`, resolved against cfg_path's directory when relative; it must
    exist. Otherwise the first directory that exists of: $INFOHUB_WARNINGLISTS,
    EXEDIR/../config/warninglists, EXEDIR/../share/infohub/warninglists,
    /etc/infohub/warninglists (EXEDIR: the running binary's directory). Returns a
    malloc'd path (caller frees), or NULL with err naming the places looked at. */
char *ih_warninglist_dir(const char *configured, const char *cfg_path, ih_err_t *err);

/*  `infohub-agent [-c CFG] warninglist check VALUE... | list`: check prints, per value,
    the list that matched ("8.8.8.8: public-resolvers") or "VALUE: no match"; list prints
    the lists loaded. configured and cfg_path as for ih_warninglist_dir (may be NULL).
    Returns the exit code: 0 when every value matched, 1 when one did not, 2 on a usage
    or load error (one line on stderr, prefixed with prog). --help prints the usage. */
int ih_warninglist_cmd(const char *prog, const char *configured, const char *cfg_path, int argc,
                       char **argv);

void ih_warninglist_test(bool verbose);

#endif

/*  ih_defang.h: prose cut into candidate tokens, with every common defang undone: the
    first half of IOC extraction (ih_extract.h classifies what this hands it). The rules
    are tests/analytics/README.md "Decisions" (Tokens, Defangs); its extract_cases.jsonl
    is their specification.

    CUTTING. Text is cut at ASCII white space and control bytes, and at every non-ASCII
    character: CJK text and full-width punctuation separate tokens even without spaces,
    so "請封鎖網域hk-bank-verify[.]top，" gives "hk-bank-verify[.]top". IOCs are ASCII.

    JOINING. Tokens separated by ASCII white space only are glued back when the author
    spread one value over several:
      - a defang token touching the space: "pay-portal [.] top", "198.51.100 [.] 61";
      - a spaced URL: a scheme word (hxxp, hxxps, h**p, h**ps, meow, meows, http, https,
        ftp) followed by "://", "[://]" or "[:]//": the next tokens are glued while the
        space between two touches a defang token, a word-style "dot", "://" or a "/",
        and glueing stops at the first ordinary word;
      - word-style dots, "name dot tld" (any case): "name.tld" when the joined name is
        registrable under a known public suffix and the first word is not an English
        function word (the, a, this …);
      - "user at name dot tld": "user@name.tld", when the domain is itself written with
        word dots and user is not a verb or pronoun (is, looked, it …);
      - "AS 64496", "ASN 64496" (upper-case AS/ASN only): "AS64496".
    A joined candidate made from words ("dot", "at") counts as defanged.

    REFANGING a candidate (ih_defang_refang), case-insensitive: "[.]" "(.)" "{.}"
    "[dot]" "(dot)" "{dot}" "\." -> "."; "[@]" "[at]" "(at)" "{at}" -> "@"; "[:]" -> ":";
    "[://]" -> "://"; nested forms ("[[.]]") collapse; the scheme hxxp(s), h**p(s),
    meow(s) -> http(s). Nothing else changes.

    Nothing here allocates for the caller: candidates are valid during the callback.
    Threading: no shared state; call from any thread.
*/
#ifndef IH_DEFANG_H
#define IH_DEFANG_H

#include "ih_msg.h"

typedef struct {
    const char *raw;        /* the candidate as written (joined with the spaces taken
                               out), NUL-terminated, not yet refanged */
    size_t len;
    size_t off;             /* where its first token starts in the text */
    size_t end;             /* where its last token ends in the text */
    bool words;             /* joined from word-style "dot"/"at": defanged by definition */
    bool joined;            /* made of more than one token */
    const char *prev;       /* the token before it, as written ("" at the start) */
} ih_defang_cand_t;

/*  fn returns 0 to go on, anything else to stop (returned). */
typedef int (ih_defang_fn)(const ih_defang_cand_t *cand, void *arg);

/*  Cuts len bytes of text (need not be NUL-terminated; NUL bytes separate tokens) into
    candidates, joins them as above and calls fn for each, in order. is_registrable
    decides the word-style joins (NULL: never join words); reg_arg is passed to it.
    Candidates longer than IH_MAX_IOC_VALUE bytes are dropped. Returns 0 or fn's value. */
typedef bool (ih_defang_registrable_fn)(const char *name, void *reg_arg);
int ih_defang_split(const char *text, size_t len, ih_defang_registrable_fn *is_registrable,
                    void *reg_arg, ih_defang_fn *fn, void *arg);

/*  Refangs len bytes of in into out (outsz bytes incl. NUL; len + 1 is always enough).
    *defanged (may be NULL) says whether anything was undone. Returns the length, or -1
    when out is too small. */
int ih_defang_refang(const char *in, size_t len, char *out, size_t outsz, bool *defanged);

void ih_defang_test(bool verbose);

#endif

/*  ih_codec.h: the msgpack wire codec (msgpack-c). PROTOCOL.md is the normative spec;
    this header summarises it.

    SIGNED BODIES. A message body is a msgpack map whose keys appear in exactly this
    order, every key present (empty string / empty array when unused):

      common:     "k" str (alert|retraction|comment|sighting), "id" str (UUID),
                  "rev" uint, "created" int (ms), "modified" int (ms), "org" str,
                  "member" str, "signer" bin(32)
      alert:      common, "title" str, "summary" str, "tlp" str, "severity" str,
                  "category" str, "sectors" [str], "recipients" [str],
                  "references" [str], "tags" [str], "iocs" [ioc]
      retraction: common, "ref" str (UUID), "text" str, "iocs" [ioc]
      comment:    common, "ref" str, "text" str
      sighting:   common, "ref" str (UUID or ""), "tlp" str, "iocs" [ioc] (exactly 1),
                  "count" uint
      ioc:        array of 4: [type str, value str, comment str, detect bool]

    The encoding is canonical: smallest integer forms (non-negative integers as
    positive fixint/uint*, negative as int*), strings as str (fixstr/str8/16/32,
    smallest), byte strings as bin (smallest), maps/arrays with the smallest header.
    The decoder re-encodes what it decoded and rejects the frame unless the bytes are
    identical ("body: non-canonical encoding"), so one message has exactly one byte form,
    and that is what is signed (ih_sign.h, context IH_CTX_MSG).

    MEMBER RECORDS (signed by the registry key, context IH_CTX_MEMBER), same rules:
      "k" "member", "name" str, "org" str, "sector" str, "role" str, "curve" bin(32),
      "sign" bin(32), "created" int, "gateway" bool

    ENVELOPES, the frames agent and broker exchange (hello, publish, deliver, …), are in
    ih_envelope.h, included here: a file that includes ih_codec.h has the whole codec.

    Decoding never trusts a length: a pre-scan walks the raw bytes and rejects any
    container or string that claims more than the bytes left, nesting deeper than
    IH_MAX_DEPTH, or trailing bytes, before msgpack-c sees the frame.
*/
#ifndef IH_CODEC_H
#define IH_CODEC_H

#include "ih_msg.h"
#include "ih_envelope.h"

/* ---- signed bodies ---------------------------------------------------------------- */
/*  Validates m (ih_msg_validate) and writes its canonical encoding into out (reset
    first). Returns 0, or -1 with err. */
int ih_body_encode(const ih_msg_t *m, ih_buf_t *out, ih_err_t *err);
/*  Strict decode: pre-scan, types, key order, limits, canonical form, then
    ih_msg_validate. m is (re)initialised by the call and owns copies of every string.
    Returns 0, or -1 with err naming the field ("title: expected str, got int"); on
    failure m is freed (freeing it again is safe). */
int ih_body_decode(ih_msg_t *m, const uint8_t *data, size_t len, ih_err_t *err);

/* ---- member records ---------------------------------------------------------------------- */
/*  Validates r (ih_member_validate) and writes its canonical encoding into out (reset
    first). Returns 0, or -1 with err. */
int ih_member_encode(const ih_member_t *r, ih_buf_t *out, ih_err_t *err);
/*  Strict decode, as ih_body_decode, then ih_member_validate. r is zeroed by the call,
    and zeroed again on failure. Returns 0, or -1 with err naming the field. */
int ih_member_decode(ih_member_t *r, const uint8_t *data, size_t len, ih_err_t *err);

/* ---- all frames ------------------------------------------------------------------------ */
/*  The pre-scan alone, which every decoder (bodies, records, envelopes) runs first;
    exposed for the fuzzer and tests. Returns 0, or -1 with err ("msgpack: truncated at
    byte 3"). */
int ih_msgpack_prescan(const uint8_t *data, size_t len, ih_err_t *err);

void ih_codec_test(bool verbose);

#endif

/*  fuzz_decode: libFuzzer target for the wire decoders (built by `make bin/fuzz-decode`,
    run by `make fuzz`). Every input goes through the pre-scan, the envelope decoder, the
    body decoder and the member-record decoder; a decoded publish envelope has its body
    decoded, a decoded deliver envelope has every item's body and record decoded, and a
    members envelope every record.
    Whatever decodes is re-encoded and decoded again: it must round-trip to the same bytes.
    Everything is freed on every path (the fuzzer runs with LeakSanitizer).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ih_codec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_body (const uint8_t *data, size_t size)
{
    ih_msg_t m;
    ih_err_t err;
    if (ih_body_decode (&m, data, size, &err) == 0) {
        //  A body that decodes is canonical: encoding it gives back the same bytes
        ih_buf_t out;
        ih_buf_init (&out);
        IH_CHECK (ih_body_encode (&m, &out, &err) == 0);
        IH_CHECK (out.len == size && memcmp (out.data, data, size) == 0);
        ih_buf_free (&out);
    }
    else
        IH_CHECK (err.msg [0] != 0);
    ih_msg_free (&m);
}

static void
s_member (const uint8_t *data, size_t size)
{
    ih_member_t r;
    ih_err_t err;
    if (ih_member_decode (&r, data, size, &err) == 0) {
        ih_buf_t out;
        ih_buf_init (&out);
        IH_CHECK (ih_member_encode (&r, &out, &err) == 0);
        IH_CHECK (out.len == size && memcmp (out.data, data, size) == 0);
        ih_buf_free (&out);
    }
    else
        IH_CHECK (err.msg [0] != 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    ih_err_t err;
    (void) ih_msgpack_prescan (data, size, &err);

    ih_env_t e;
    if (ih_env_decode (&e, data, size, &err) == 0) {
        //  Envelopes need not be canonical, but what we encode must decode the same way
        ih_buf_t out;
        ih_buf_init (&out);
        IH_CHECK (ih_env_encode (&e, &out, &err) == 0);
        ih_env_t e2;
        IH_CHECK (ih_env_decode (&e2, out.data, out.len, &err) == 0);
        IH_CHECK (e2.type == e.type && e2.req == e.req && e2.seq == e.seq
                  && e2.item_count == e.item_count && e2.body_len == e.body_len
                  && e2.record_count == e.record_count);
        ih_env_free (&e2);
        ih_buf_free (&out);

        if (e.type == IH_T_PUBLISH)
            s_body (e.body, e.body_len);
        if (e.type == IH_T_DELIVER)
            for (uint32_t i = 0; i < e.item_count; i++) {
                s_body (e.items [i].body, e.items [i].body_len);
                s_member (e.items [i].rec, e.items [i].rec_len);
            }
        if (e.type == IH_T_MEMBERS)
            for (uint32_t i = 0; i < e.record_count; i++)
                s_member (e.records [i].rec, e.records [i].rec_len);
    }
    else
        IH_CHECK (err.msg [0] != 0);
    ih_env_free (&e);

    s_body (data, size);
    s_member (data, size);
    return 0;
}

/*  ih_totp.c: TOTP, enrolment URIs and QR codes, sealed secrets (see ih_totp.h). */
#include <errno.h>
#include <fcntl.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <qrencode.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_keys.h"
#include "ih_totp.h"

/* ---- secrets and URIs -------------------------------------------------------------------- */

static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_init (void)
{
    if (sodium_init () < 0 || oath_init () != OATH_OK)
        abort ();
}

void
ih_totp_secret_new (uint8_t secret [IH_TOTP_SECRET])
{
    pthread_once (&s_once, s_init);
    randombytes_buf (secret, IH_TOTP_SECRET);
}

void
ih_totp_base32 (const uint8_t secret [IH_TOTP_SECRET], char *out, size_t size)
{
    static const char alphabet [] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < IH_TOTP_SECRET; i++) {
        acc = (acc << 8) | secret [i];
        bits += 8;
        while (bits >= 5 && o + 1 < size) {
            out [o++] = alphabet [(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0 && o + 1 < size)
        out [o++] = alphabet [(acc << (5 - bits)) & 31];
    if (size)
        out [o < size ? o : size - 1] = 0;
}

static void
s_urlenc (ih_buf_t *b, const char *s)
{
    static const char hex [] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        ||  *p == '-' || *p == '.' || *p == '_' || *p == '~')
            ih_buf_append (b, p, 1);
        else {
            char e [3] = { '%', hex [*p >> 4], hex [*p & 15] };
            ih_buf_append (b, e, 3);
        }
    }
}

void
ih_totp_uri (const uint8_t secret [IH_TOTP_SECRET], const char *issuer, const char *account,
             ih_buf_t *out)
{
    char b32 [64];
    ih_totp_base32 (secret, b32, sizeof b32);
    ih_buf_printf (out, "otpauth://totp/");
    s_urlenc (out, issuer);
    ih_buf_append (out, ":", 1);
    s_urlenc (out, account);
    ih_buf_printf (out, "?secret=%s&issuer=", b32);
    s_urlenc (out, issuer);
    ih_buf_printf (out, "&algorithm=SHA1&digits=%d&period=%d", IH_TOTP_DIGITS, IH_TOTP_STEP);
    sodium_memzero (b32, sizeof b32);
}

int
ih_totp_qr_svg (const char *text, ih_buf_t *out, ih_err_t *err)
{
    QRcode *qr = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return ih_err_set (err, "qr code: cannot encode %zu bytes: %s", strlen (text), strerror (errno));
    int w = qr->width, quiet = 4, size = w + 2 * quiet;
    ih_buf_printf (out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                        "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">\n"
                        "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
                   size, size, size * 6, size * 6, size, size);
    //  One path of unit squares, runs of dark modules on a row joined into one rectangle.
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; ) {
            if (!(qr->data [y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (qr->data [y * w + x + run] & 1))
                run++;
            ih_buf_printf (out, "M%d %dh%dv1h-%dz", x + quiet, y + quiet, run, run);
            x += run;
        }
    ih_buf_printf (out, "\"/>\n</svg>\n");
    QRcode_free (qr);
    return 0;
}

/* ---- codes ----------------------------------------------------------------------------------- */

void
ih_totp_code (const uint8_t *secret, size_t len, int64_t now, char out [IH_TOTP_DIGITS + 1])
{
    pthread_once (&s_once, s_init);
    if (oath_totp_generate ((const char *) secret, len, (time_t) now, IH_TOTP_STEP, 0,
                            IH_TOTP_DIGITS, out) != OATH_OK)
        out [0] = 0;
}

int
ih_totp_verify (const uint8_t *secret, size_t len, const char *code, int64_t now, uint64_t *step)
{
    pthread_once (&s_once, s_init);
    if (!code || strlen (code) != IH_TOTP_DIGITS)
        return -1;
    for (int i = 0; i < IH_TOTP_DIGITS; i++)
        if (code [i] < '0' || code [i] > '9')
            return -1;
    int pos = 0;
    uint64_t counter = 0;
    int rc = oath_totp_validate3 ((const char *) secret, len, (time_t) now, IH_TOTP_STEP, 0,
                                  IH_TOTP_WINDOW, &pos, &counter, code);
    if (rc < 0)
        return 0;           //  OATH_INVALID_OTP, or any error: not a valid code
    if (step)
        *step = counter;
    return 1;
}

/* ---- sealing ------------------------------------------------------------------------------------- */

void
ih_totp_seal (const uint8_t key [IH_TOTP_KEY], const uint8_t secret [IH_TOTP_SECRET],
              uint8_t out [IH_TOTP_SEALED])
{
    pthread_once (&s_once, s_init);
    randombytes_buf (out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy (out + crypto_secretbox_NONCEBYTES, secret, IH_TOTP_SECRET, out, key);
}

int
ih_totp_unseal (const uint8_t key [IH_TOTP_KEY], const uint8_t sealed [IH_TOTP_SEALED],
                uint8_t secret [IH_TOTP_SECRET])
{
    pthread_once (&s_once, s_init);
    return crypto_secretbox_open_easy (secret, sealed + crypto_secretbox_NONCEBYTES,
                                       IH_TOTP_SEALED - crypto_secretbox_NONCEBYTES, sealed, key) == 0
         ? 0 : -1;
}

int
ih_totp_key_load (const char *path, bool create, uint8_t key [IH_TOTP_KEY], ih_err_t *err)
{
    pthread_once (&s_once, s_init);
    if (create && access (path, F_OK) != 0 && errno == ENOENT) {
        uint8_t fresh [IH_TOTP_KEY];
        randombytes_buf (fresh, sizeof fresh);
        int rc = ih_keys_write_file (path, fresh, sizeof fresh, 0600, false, err);
        sodium_memzero (fresh, sizeof fresh);
        if (rc != 0)
            return -1;
    }
    if (ih_keys_check_private (path, err) != 0)
        return -1;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    uint8_t buf [IH_TOTP_KEY + 1];
    ssize_t n = read (fd, buf, sizeof buf);
    close (fd);
    if (n != IH_TOTP_KEY) {
        sodium_memzero (buf, sizeof buf);
        return ih_err_set (err, "%s: not a console key (want %d bytes)", path, IH_TOTP_KEY);
    }
    memcpy (key, buf, IH_TOTP_KEY);
    sodium_memzero (buf, sizeof buf);
    return 0;
}

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_totp_test (bool verbose)
{
    //  RFC 6238 appendix B (SHA-1 seed "12345678901234567890"), the 6 low digits.
    const uint8_t rfc [] = "12345678901234567890";
    const struct { int64_t t; const char *code; } vec [] = {
        { 59, "287082" }, { 1111111109, "081804" }, { 1111111111, "050471" },
        { 1234567890, "005924" }, { 2000000000, "279037" }
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec [0]; i++) {
        char code [IH_TOTP_DIGITS + 1];
        ih_totp_code (rfc, 20, vec [i].t, code);
        IH_CHECK (streq (code, vec [i].code));
        uint64_t step = 0;
        IH_CHECK (ih_totp_verify (rfc, 20, vec [i].code, vec [i].t, &step) == 1);
        IH_CHECK (step == (uint64_t) vec [i].t / 30);
    }
    //  One step either side is accepted (and says which step), two are not; bad input.
    char code [IH_TOTP_DIGITS + 1];
    uint64_t step = 0;
    ih_totp_code (rfc, 20, 1234567890, code);
    IH_CHECK (ih_totp_verify (rfc, 20, code, 1234567890 + 30, &step) == 1 && step == 1234567890 / 30);
    IH_CHECK (ih_totp_verify (rfc, 20, code, 1234567890 - 30, &step) == 1);
    IH_CHECK (ih_totp_verify (rfc, 20, code, 1234567890 + 60, &step) == 0);
    IH_CHECK (ih_totp_verify (rfc, 20, code, 1234567890 - 60, &step) == 0);
    IH_CHECK (ih_totp_verify (rfc, 20, "12345", 0, &step) == -1);
    IH_CHECK (ih_totp_verify (rfc, 20, "12345a", 0, &step) == -1);
    IH_CHECK (ih_totp_verify (rfc, 20, NULL, 0, &step) == -1);

    //  base32 of the RFC seed, and the URI.
    char b32 [64];
    ih_totp_base32 (rfc, b32, sizeof b32);
    IH_CHECK (streq (b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
    ih_buf_t uri;
    ih_buf_init (&uri);
    ih_totp_uri (rfc, "Infohub bank-a", "alice@bank-a", &uri);
    if (verbose)
        printf ("\n    %s", (char *) uri.data);
    IH_CHECK (streq ((char *) uri.data, "otpauth://totp/Infohub%20bank-a:alice%40bank-a?secret="
                     "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Infohub%20bank-a&algorithm=SHA1&digits=6&period=30"));

    //  The QR code is an SVG document.
    ih_buf_t svg;
    ih_buf_init (&svg);
    ih_err_t err = { "" };
    IH_CHECK (ih_totp_qr_svg ((char *) uri.data, &svg, &err) == 0);
    IH_CHECK (strstr ((char *) svg.data, "<svg xmlns=") && strstr ((char *) svg.data, "</svg>"));
    ih_buf_free (&svg);
    ih_buf_free (&uri);

    //  Sealing: round trip, another key fails, an altered box fails; the key file.
    char dir [256], path [300];
    ih_tk_tempdir ("totp", dir, sizeof dir);
    ih_tk_path (path, sizeof path, dir, "console.key");
    uint8_t key [IH_TOTP_KEY], key2 [IH_TOTP_KEY], other [IH_TOTP_KEY];
    IH_CHECK (ih_totp_key_load (path, false, key, &err) == -1);
    IH_CHECK (ih_totp_key_load (path, true, key, &err) == 0);
    IH_CHECK (ih_totp_key_load (path, false, key2, &err) == 0 && memcmp (key, key2, 32) == 0);
    struct stat st;
    IH_CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    chmod (path, 0644);
    IH_CHECK (ih_totp_key_load (path, false, key2, &err) == -1 && strstr (err.msg, "too open"));
    uint8_t secret [IH_TOTP_SECRET], back [IH_TOTP_SECRET], sealed [IH_TOTP_SEALED];
    ih_totp_secret_new (secret);
    ih_totp_seal (key, secret, sealed);
    IH_CHECK (ih_totp_unseal (key, sealed, back) == 0 && memcmp (secret, back, sizeof secret) == 0);
    randombytes_buf (other, sizeof other);
    IH_CHECK (ih_totp_unseal (other, sealed, back) == -1);
    sealed [30] ^= 1;
    IH_CHECK (ih_totp_unseal (key, sealed, back) == -1);
    ih_tk_rmtree (dir);
}
#endif

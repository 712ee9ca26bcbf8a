/*  fuzz_config: libFuzzer target for the configuration files (built by `make
    bin/fuzz-config`, run by `make fuzz`). The input is the text of a ZPL file, written
    to a file in a private temporary directory and loaded as an agent.cfg
    (ih_agent_cfg_load: czmq's zconfig parser, then every key the agent reads, with
    their number ranges, slugs and the registry key) and, through ih_config_load and
    ih_config_uint, as the broker and the gateway read theirs. Whatever the input, the
    loaders return 0 or -1 with a one-line message naming the file, and free everything
    (LeakSanitizer is on).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ih_agent_cfg.h"
#include "ih_keys.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_dir [64];
static char s_path [256];

static void
s_cleanup (void)
{
    unlink (s_path);
    rmdir (s_dir);
}

static void
s_setup (void)
{
    if (s_path [0])
        return;
    snprintf (s_dir, sizeof s_dir, "/tmp/ih-fuzz-config-XXXXXX");
    IH_CHECK (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/test.cfg", s_dir);
    atexit (s_cleanup);
}

static void
s_one_line (const ih_err_t *err)
{
    IH_CHECK (err->msg [0] && !strchr (err->msg, '\n'));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_setup ();
    FILE *f = fopen (s_path, "wb");
    IH_CHECK (f);
    IH_CHECK (fwrite (data, 1, size, f) == size || size == 0);
    fclose (f);

    ih_err_t err = { "" };
    ih_agent_cfg_t cfg;
    if (ih_agent_cfg_load (&cfg, s_path, &err) != 0)
        s_one_line (&err);
    ih_agent_cfg_free (&cfg);

    //  The broker's and the gateway's readers: required strings and bounded numbers.
    zconfig_t *zc = ih_config_load (s_path, &err);
    if (!zc) {
        s_one_line (&err);
        return 0;
    }
    static const char *keys [] = { "broker/endpoint", "broker/journal", "gateway/http/port",
                                   "gateway/http/threads", "broker/max-window", NULL };
    for (int i = 0; keys [i]; i++) {
        uint64_t n;
        if (ih_config_uint (zc, s_path, keys [i], 1, 65535, 7, &n, &err) != 0)
            s_one_line (&err);
        else
            IH_CHECK (n >= 1 && n <= 65535);
        if (!ih_config_require (zc, s_path, keys [i], &err))
            s_one_line (&err);
    }
    zconfig_destroy (&zc);
    return 0;
}

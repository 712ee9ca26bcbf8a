/*  ih_bench_sys.c: the machine's own limits, measured in the same run as everything else:
    the CPU model, ed25519 verifies/s (one core, every core), the disk's fsync latency,
    raw LMDB at a given commit batching; and percentiles. The contract is in ih_bench.h.
*/
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "ih_bench.h"

void
ih_bench_cpu_model (char *out, size_t size)
{
    snprintf (out, size, "?");
    FILE *f = fopen ("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line [512];
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "model name", 10) == 0) {
            char *v = strchr (line, ':');
            if (v) {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                v [strcspn (v, "\n")] = 0;
                snprintf (out, size, "%s", v);
            }
            break;
        }
    fclose (f);
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

void
ih_bench_pct (double *v, size_t n, ih_bench_pct_t *out)
{
    memset (out, 0, sizeof *out);
    if (n == 0)
        return;
    qsort (v, n, sizeof *v, s_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v [i];
    out->n = n;
    //  nearest rank
    size_t r50 = (n * 50 + 99) / 100, r99 = (n * 99 + 99) / 100;
    out->p50 = v [(r50 ? r50 : 1) - 1];
    out->p99 = v [(r99 ? r99 : 1) - 1];
    out->max = v [n - 1];
    out->mean = sum / (double) n;
}

/* ---- ed25519 ------------------------------------------------------------------------------- */
#define s_VMSGS 64

typedef struct {
    uint8_t pk [32];
    uint8_t (*msgs) [4096];
    uint8_t sigs [s_VMSGS][64];
    size_t len;
    double secs;
    volatile int *go;
    uint64_t done;
    int64_t t0, t1;
    int bad;
} s_verifier_t;

static void *
s_verify_thread (void *arg)
{
    s_verifier_t *v = (s_verifier_t *) arg;
    while (!*v->go)
        ;
    v->t0 = ih_bench_now_ns ();
    int64_t end = v->t0 + (int64_t) (v->secs * 1e9);
    do {
        for (int i = 0; i < s_VMSGS; i++)
            if (crypto_sign_verify_detached (v->sigs [i], v->msgs [i], v->len, v->pk) != 0)
                v->bad++;
        v->done += s_VMSGS;
    } while (ih_bench_now_ns () < end);
    v->t1 = ih_bench_now_ns ();
    return NULL;
}

double
ih_bench_verify_rate (int threads, double secs, size_t msg_len)
{
    if (threads < 1 || threads > 256 || msg_len > 4096)
        ih_bench_die ("verify rate: %d threads, %zu bytes", threads, msg_len);
    uint8_t pk [32], sk [64];
    crypto_sign_keypair (pk, sk);
    s_verifier_t *v = calloc ((size_t) threads, sizeof *v);
    pthread_t *t = calloc ((size_t) threads, sizeof *t);
    if (!v || !t)
        abort ();
    volatile int go = 0;
    for (int k = 0; k < threads; k++) {
        memcpy (v [k].pk, pk, 32);
        v [k].msgs = malloc (s_VMSGS * sizeof *v [k].msgs);
        if (!v [k].msgs)
            abort ();
        randombytes_buf (v [k].msgs, s_VMSGS * sizeof *v [k].msgs);
        for (int i = 0; i < s_VMSGS; i++)
            crypto_sign_detached (v [k].sigs [i], NULL, v [k].msgs [i], msg_len, sk);
        v [k].len = msg_len;
        v [k].secs = secs;
        v [k].go = &go;
        if (pthread_create (&t [k], NULL, s_verify_thread, &v [k]))
            ih_bench_die ("cannot start a thread");
    }
    go = 1;
    double rate = 0;
    int bad = 0;
    for (int k = 0; k < threads; k++) {
        pthread_join (t [k], NULL);
        rate += (double) v [k].done / ((double) (v [k].t1 - v [k].t0) / 1e9);
        bad += v [k].bad;
        free (v [k].msgs);
    }
    sodium_memzero (sk, sizeof sk);
    free (v);
    free (t);
    if (bad)
        ih_bench_die ("verify rate: %d good signatures did not verify", bad);
    return rate;
}

/* ---- the disk ------------------------------------------------------------------------------ */
void
ih_bench_fsync_lat (const char *dir, size_t count, ih_bench_pct_t *out)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/fsync-probe", dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        ih_bench_die ("%s: %s", path, strerror (errno));
    uint8_t page [4096];
    memset (page, 0x5a, sizeof page);
    double *ms = calloc (count ? count : 1, sizeof *ms);
    if (!ms)
        abort ();
    for (size_t i = 0; i < count; i++) {
        int64_t t0 = ih_bench_now_ns ();
        if (pwrite (fd, page, sizeof page, (off_t) (i * sizeof page)) != (ssize_t) sizeof page
        ||  fdatasync (fd) != 0)
            ih_bench_die ("%s: %s", path, strerror (errno));
        ms [i] = (double) (ih_bench_now_ns () - t0) / 1e6;
    }
    close (fd);
    unlink (path);
    ih_bench_pct (ms, count, out);
    free (ms);
}

/* ---- raw LMDB ------------------------------------------------------------------------------ */
double
ih_bench_raw_lmdb (const char *dir, const ih_bench_frames_t *vals, size_t prefill, size_t first,
                   size_t count, size_t batch)
{
    if (mkdir (dir, 0700) != 0)
        ih_bench_die ("mkdir %s: %s", dir, strerror (errno));
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 4)
    ||  mdb_env_set_mapsize (env, (size_t) 1 << 30)
    ||  mdb_env_open (env, dir, MDB_NOTLS, 0600))
        ih_bench_die ("%s: cannot open", dir);
    if (mdb_txn_begin (env, NULL, 0, &txn) || mdb_dbi_open (txn, "items", MDB_CREATE, &dbi))
        ih_bench_die ("%s: cannot open the database", dir);
    int rc = 0;
    for (size_t i = 0; i < prefill && rc == 0; i++) {
        uint8_t key [8];
        ih_put_be64 (key, i + 1);
        MDB_val k = { 8, key }, v = { vals->v [i].len, vals->v [i].data };
        rc = mdb_put (txn, dbi, &k, &v, MDB_APPEND);
    }
    if (rc || mdb_txn_commit (txn))
        ih_bench_die ("%s: prefill failed: %s", dir, mdb_strerror (rc));
    int64_t t0 = ih_bench_now_ns ();
    for (size_t i = first; i < first + count; ) {
        if (mdb_txn_begin (env, NULL, 0, &txn))
            ih_bench_die ("%s: begin failed", dir);
        for (size_t n = 0; n < batch && i < first + count; n++, i++) {
            uint8_t key [8];
            ih_put_be64 (key, i + 1);
            MDB_val k = { 8, key }, v = { vals->v [i].len, vals->v [i].data };
            if ((rc = mdb_put (txn, dbi, &k, &v, MDB_APPEND)))
                ih_bench_die ("%s: put: %s", dir, mdb_strerror (rc));
        }
        if ((rc = mdb_txn_commit (txn)))
            ih_bench_die ("%s: commit: %s", dir, mdb_strerror (rc));
    }
    double secs = (double) (ih_bench_now_ns () - t0) / 1e9;
    mdb_env_close (env);
    return (double) count / secs;
}

/*  ih_mdbfile.c: the LMDB data file check (see ih_mdbfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ih_log.h"
#include "ih_mdbfile.h"

#define s_MAGIC         0xBEEFC0DEu
#define s_META_OFF      16          /* PAGEHDRSZ */
#define s_PSIZE_OFF     (s_META_OFF + 24)           /* mm_dbs[FREE_DBI].md_pad */
#define s_LAST_PG_OFF   (s_META_OFF + 24 + 2 * 48)  /* mm_last_pg */
#define s_TXNID_OFF     (s_LAST_PG_OFF + 8)         /* mm_txnid */

typedef struct {
    bool valid;
    uint32_t psize;
    uint64_t last_pg, txnid;
} s_meta_t;

static s_meta_t
s_meta (const uint8_t *page, size_t len)
{
    s_meta_t m = { false, 0, 0, 0 };
    if (len < s_TXNID_OFF + 8 || ih_get_le32 (page + s_META_OFF) != s_MAGIC)
        return m;
    m.psize = ih_get_le32 (page + s_PSIZE_OFF);
    m.last_pg = ih_get_le64 (page + s_LAST_PG_OFF);
    m.txnid = ih_get_le64 (page + s_TXNID_OFF);
    m.valid = m.psize >= 512 && m.psize <= 65536 && (m.psize & (m.psize - 1)) == 0;
    return m;
}

//  "WHAT PATH PROBLEM: HINT", one line. The hint says what to do, so IH_ERR_MAX must not
//  cut it off: when the whole does not fit, the path gives way from its start
//  ("store ...e/agents/lab/store/data.mdb is truncated: ...").
static int
s_refuse (ih_err_t *err, const char *what, const char *path, const char *problem,
          const char *hint)
{
    size_t fixed = strlen (what) + strlen (problem) + strlen (hint) + 4;
    size_t room = IH_ERR_MAX - 1 > fixed + 3 ? IH_ERR_MAX - 1 - fixed - 3 : 0;
    size_t len = strlen (path);
    if (len > room)
        return ih_err_set (err, "%s ...%s %s: %s", what, path + len - room, problem, hint);
    return ih_err_set (err, "%s %s %s: %s", what, path, problem, hint);
}

int
ih_mdb_check (const char *dir, const char *what, const char *hint, ih_err_t *err)
{
    char path [4096];
    if (!ih_fmt (path, sizeof path, "%s/data.mdb", dir))
        return ih_err_set (err, "%s %s: path too long", what, dir);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return ih_err_set (err, "%s %s: cannot read: %s", what, path, strerror (errno));
    }
    struct stat st;
    uint8_t head [2 * 65536];
    ssize_t n = fstat (fd, &st) == 0 ? pread (fd, head, sizeof head, 0) : -1;
    close (fd);
    if (n < 0)
        return ih_err_set (err, "%s %s: cannot read: %s", what, path, strerror (errno));
    if (st.st_size == 0)
        return s_refuse (err, what, path, "is empty (0 bytes), not an LMDB file", hint);
    s_meta_t m0 = s_meta (head, (size_t) n);
    s_meta_t m1 = { false, 0, 0, 0 };
    if (m0.valid && (size_t) n >= 2 * (size_t) m0.psize)
        m1 = s_meta (head + m0.psize, (size_t) n - m0.psize);
    if (!m0.valid && !m1.valid)
        return s_refuse (err, what, path, "is not an LMDB file (no valid meta page)", hint);
    //  LMDB uses the meta page with the newer transaction.
    s_meta_t m = m1.valid && m1.txnid > m0.txnid ? m1 : m0;
    uint64_t need = (m.last_pg + 1) * (uint64_t) m.psize;
    if ((uint64_t) st.st_size < need) {
        char problem [96];
        ih_fmt (problem, sizeof problem, "is truncated: %lld bytes, but its last transaction uses %llu",
                (long long) st.st_size, (unsigned long long) need);
        return s_refuse (err, what, path, problem, hint);
    }
    return 0;
}

int
ih_mdb_lock (const char *dir, const char *name, const char *what, const char *owner, ih_err_t *err)
{
    char path [4096];
    if (!ih_fmt (path, sizeof path, "%s/%s", dir, name))
        return ih_err_set (err, "%s %s: path too long", what, dir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ih_err_set (err, "%s %s: cannot open %s: %s", what, dir, path, strerror (errno));
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        char pid [32] = "";
        ssize_t n = pread (fd, pid, sizeof pid - 1, 0);
        pid [n > 0 ? n : 0] = 0;
        pid [strcspn (pid, "\n")] = 0;
        close (fd);
        return ih_err_set (err, "%s %s is in use by another %s%s%s%s", what, dir, owner,
                           *pid ? " (pid " : "", pid, *pid ? ")" : "");
    }
    char pid [32];
    int n = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, (size_t) n, 0) != n) {
        //  The lock is what matters; the pid is only for the message above.
    }
    return fd;
}

bool
ih_mdb_disk_full (const char *dir, int rc, uint64_t *avail)
{
    uint64_t left = 0;
    bool full = rc == ENOSPC || rc == EDQUOT || rc == EFBIG;
    struct statvfs sv;
    if (statvfs (dir, &sv) == 0) {
        uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
        left = (uint64_t) sv.f_bavail * unit;
        uint64_t total = (uint64_t) sv.f_blocks * unit;
        if (rc == EIO && (left < (4ULL << 20) || left < total / 100))
            full = true;
    }
    if (avail)
        *avail = left;
    return full;
}

/* ---- self-test ------------------------------------------------------------------------ */
/* ---- LMDB's assertions ------------------------------------------------------------- */
static __thread sigjmp_buf *s_jmp;
static __thread char s_assertion [400];

sigjmp_buf *
ih_mdb_guard_swap (sigjmp_buf *jb)
{
    sigjmp_buf *prev = s_jmp;
    s_jmp = jb;
    return prev;
}

void
ih_mdb_assert_hook (void *env, const char *msg)
{
    (void) env;
    snprintf (s_assertion, sizeof s_assertion, "%s", msg ? msg : "");
    if (s_jmp) {
        sigjmp_buf *jb = s_jmp;
        s_jmp = NULL;
        siglongjmp (*jb, 1);
    }
    //  Outside a guarded call LMDB aborts when this returns: say why first, in one line
    ih_log ('E', "lmdb", "a database file is damaged (%s): the process stops; see the README, "
            "Recovery", s_assertion);
    fflush (stderr);
}

const char *
ih_mdb_assertion (void)
{
    return s_assertion;
}

#ifdef IH_SELFTEST
#include <lmdb.h>
#include "ih_testkit.h"

void
ih_mdbfile_test (bool verbose)
{
    char dir [256], path [300];
    ih_tk_tempdir ("mdbfile", dir, sizeof dir);
    ih_tk_path (path, sizeof path, dir, "data.mdb");
    ih_err_t err = { "" };
    IH_CHECK (ih_mdb_check (dir, "store", "do X", &err) == 0);         //  no file yet

    //  A real environment with some data.
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    IH_CHECK (mdb_env_create (&env) == 0 && mdb_env_set_mapsize (env, 16 << 20) == 0);
    IH_CHECK (mdb_env_open (env, dir, 0, 0600) == 0);
    IH_CHECK (mdb_txn_begin (env, NULL, 0, &txn) == 0 && mdb_dbi_open (txn, NULL, 0, &dbi) == 0);
    char val [3000];
    memset (val, 'v', sizeof val);
    for (int i = 0; i < 400; i++) {
        char key [16];
        snprintf (key, sizeof key, "k%05d", i);
        MDB_val k = { strlen (key), key }, v = { sizeof val, val };
        IH_CHECK (mdb_put (txn, dbi, &k, &v, 0) == 0);
    }
    IH_CHECK (mdb_txn_commit (txn) == 0);
    mdb_env_close (env);
    IH_CHECK (ih_mdb_check (dir, "store", "do X", &err) == 0);
    struct stat st;
    IH_CHECK (stat (path, &st) == 0);

    //  Cut in half: refused, naming the file, both sizes and what to do.
    IH_CHECK (truncate (path, st.st_size / 2) == 0);
    IH_CHECK (ih_mdb_check (dir, "store", "rebuild it from the broker", &err) == -1);
    if (verbose)
        printf ("\n    %s", err.msg);
    IH_CHECK (strstr (err.msg, "data.mdb is truncated") && strstr (err.msg, "rebuild it from the broker"));
    //  Empty, and not LMDB at all.
    IH_CHECK (truncate (path, 0) == 0);
    IH_CHECK (ih_mdb_check (dir, "store", "x", &err) == -1 && strstr (err.msg, "is empty (0 bytes)"));
    FILE *f = fopen (path, "wb");
    IH_CHECK (f);
    for (int i = 0; i < 10000; i++)
        fputc ('z', f);
    fclose (f);
    IH_CHECK (ih_mdb_check (dir, "journal", "x", &err) == -1 && strstr (err.msg, "not an LMDB file"));
    //  The lock: a second taker is told who holds it; released on close.
    int fd = ih_mdb_lock (dir, "x.lock", "journal", "broker", &err);
    IH_CHECK (fd >= 0);
    IH_CHECK (ih_mdb_lock (dir, "x.lock", "journal", "broker", &err) == -1);
    char want [64];
    snprintf (want, sizeof want, "in use by another broker (pid %d)", (int) getpid ());
    IH_CHECK (strstr (err.msg, want));
    close (fd);
    fd = ih_mdb_lock (dir, "x.lock", "journal", "broker", &err);
    IH_CHECK (fd >= 0);
    close (fd);

    //  A long path does not push what to do out of the message (IH_ERR_MAX): the path
    //  gives way, from its start.
    char deep [512], name [160];
    memset (name, 'd', sizeof name - 1);
    name [sizeof name - 1] = 0;
    ih_tk_path (deep, sizeof deep, dir, name);
    IH_CHECK (mkdir (deep, 0700) == 0);
    ih_tk_path (path, sizeof path, deep, "data.mdb");
    f = fopen (path, "wb");
    IH_CHECK (f);
    fclose (f);
    const char *hint = "stop the agent, move the store directory away and start it again: it "
                       "rebuilds from the broker (README, Recovery)";
    IH_CHECK (ih_mdb_check (deep, "store", hint, &err) == -1);
    if (verbose)
        printf ("\n    %s", err.msg);
    IH_CHECK (strstr (err.msg, hint) && strstr (err.msg, "dd/data.mdb is empty (0 bytes)"));
    IH_CHECK (strncmp (err.msg, "store ...", 9) == 0);
    IH_CHECK (unlink (path) == 0);
    ih_tk_rmtree (dir);
}
#endif

/*  ih_related_test.c: the self-test of ih_related (ih_related.h): a store of a few
    alerts, the index kept in step with it, near-duplicates, shared IOCs and sources,
    revisions and retractions, a reader in the same process. */
#ifdef IH_SELFTEST
#include <czmq.h>
#include <signal.h>
#include <sys/resource.h>

#include "ih_related.h"
#include "ih_testkit.h"

static void
s_alert (ih_msg_t *m, const char *title, const char *summary, const char *ioc, const char *ref)
{
    ih_tk_alert (m, NULL, IH_TLP_GREEN, title);
    m->summary = ih_msg_str (m, summary);
    if (ioc)
        ih_tk_iocs (m, (const char *const []) { ioc, NULL }, true);
    if (ref)
        ih_msg_strlist_add (m, &m->references, ref);
}

/*  A step with a time budget indexes at least one alert, and ends. */
static void
s_step (ih_related_t *rel, ih_store_t *store, uint64_t count)
{
    ih_err_t err;
    IH_CHECK (ih_related_step (rel, store, 0, 1, &err) >= 1);
    while (ih_related_step (rel, store, 0, 1, &err) > 0)
        ;
    IH_CHECK (ih_related_count (rel) == count);
}

/*  A commit that fails (its file may not grow: EFBIG, as on a full disk) is said, and the
    index goes on once there is room. mdb_txn_commit ends the transaction even when it
    fails: an abort after it freed it twice, and the next write crashed in liblmdb. */
static void
s_full_disk (void)
{
    char dir [256];
    IH_CHECK (ih_tk_tempdir ("related-full", dir, sizeof dir));
    ih_err_t err;
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_related_t *rel = ih_related_open (dir, true, &err);
    IH_CHECK (rel);
    enum { N = 200 };
    ih_msg_t *m = (ih_msg_t *) calloc (N, sizeof *m);
    uint64_t *seqs = (uint64_t *) calloc (N, sizeof *seqs);
    IH_CHECK (m && seqs);
    for (int i = 0; i < N; i++) {
        char title [64], text [512];
        snprintf (title, sizeof title, "Alert number %d about host-%d.example", i, i);
        snprintf (text, sizeof text, "Word%d appears with word%d and word%d in a text long enough to "
                  "take room in the index: alpha%d beta%d gamma%d delta%d.", i, i * 7, i * 13, i, i, i, i);
        s_alert (&m [i], title, text, NULL, NULL);
        seqs [i] = (uint64_t) i + 1;
    }
    IH_CHECK (ih_store_ingest_msgs (store, m, seqs, N, NULL, &err) == 0);
    char path [300];
    snprintf (path, sizeof path, "%s/related/data.mdb", dir);
    struct stat st;
    IH_CHECK (stat (path, &st) == 0);
    struct rlimit was;
    IH_CHECK (getrlimit (RLIMIT_FSIZE, &was) == 0);
    void (*old) (int) = signal (SIGXFSZ, SIG_IGN);
    struct rlimit small = { (rlim_t) st.st_size, was.rlim_max };
    IH_CHECK (setrlimit (RLIMIT_FSIZE, &small) == 0);
    IH_CHECK (ih_related_catch_up (rel, store, 0, &err) < 0);
    IH_CHECK (setrlimit (RLIMIT_FSIZE, &was) == 0);
    signal (SIGXFSZ, old);
    s_step (rel, store, N);
    IH_CHECK (ih_related_watermark (rel) == N);
    ih_related_destroy (&rel);
    ih_store_destroy (&store);
    for (int i = 0; i < N; i++)
        ih_msg_free (&m [i]);
    free (m);
    free (seqs);
    ih_tk_rmtree (dir);
}

static void
s_put_file (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    IH_CHECK (f && fputs (text, f) >= 0 && fclose (f) == 0);
}

/*  The writer's record of unsynced commits: gone after a clean close; this boot's (a
    killed process: the kernel kept its commits) keeps the index; another boot's (an OS
    crash may have torn it) keeps readers out, and the writer starts the index again. */
static void
s_unsynced (const char *dir, ih_store_t *store, uint64_t count)
{
    char path [300], boot [64] = "";
    snprintf (path, sizeof path, "%s/related/unsynced", dir);
    IH_CHECK (access (path, F_OK) != 0);
    FILE *f = fopen ("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;         //  no boot id: every commit is synced
    IH_CHECK (fgets (boot, sizeof boot, f));
    fclose (f);
    ih_err_t err;
    ih_related_t *rel = ih_related_open (dir, true, &err);
    IH_CHECK (rel && !ih_related_rebuilt (rel) && access (path, F_OK) == 0);
    ih_related_destroy (&rel);
    s_put_file (path, boot);
    rel = ih_related_open (dir, true, &err);
    IH_CHECK (rel && !ih_related_rebuilt (rel) && ih_related_count (rel) == count);
    ih_related_destroy (&rel);
    s_put_file (path, "00000000-0000-0000-0000-000000000000\n");
    IH_CHECK (!ih_related_open (dir, false, &err) && strstr (err.msg, "no index yet"));
    rel = ih_related_open (dir, true, &err);
    IH_CHECK (rel && ih_related_rebuilt (rel) && ih_related_count (rel) == 0 && ih_related_watermark (rel) == 0);
    ih_related_t *reader = ih_related_open (dir, false, &err);
    IH_CHECK (reader);
    s_step (rel, store, count);
    IH_CHECK (ih_related_count (reader) == count);
    ih_related_destroy (&reader);
    ih_related_destroy (&rel);
    IH_CHECK (access (path, F_OK) != 0);
}

void
ih_related_test (bool verbose)
{
    s_full_disk ();
    char dir [256];
    IH_CHECK (ih_tk_tempdir ("related", dir, sizeof dir));
    ih_err_t err;
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    IH_CHECK (!ih_related_open (dir, false, &err) && strstr (err.msg, "no index yet"));
    ih_related_t *rel = ih_related_open (dir, true, &err);
    IH_CHECK (rel);
    IH_CHECK (ih_related_catch_up (rel, store, 0, &err) == 0 && ih_related_watermark (rel) == 0);

    const char *ransom = "The affiliate entered through the SSL VPN without MFA, disabled the backup agent, "
                         "deleted the shadow copies and encrypted the billing database overnight. "
                         "Ransom notes demand payment within 72 hours.";
    ih_msg_t m [6];
    s_alert (&m [0], "Ransomware hits water utility billing", ransom, NULL, NULL);
    //  A near-duplicate: the same text with a sentence added.
    char dup [1024];
    snprintf (dup, sizeof dup, "%s Restore from offline backups.", ransom);
    s_alert (&m [1], "Ransomware hits municipal water utility billing", dup, NULL, NULL);
    //  Different words, one IOC in common with the next.
    s_alert (&m [2], "Phishing wave against payroll", "E-mails lure staff to a fake payroll portal that "
             "captures passwords and one-time codes.", "domain:payroll-portal-login.com", NULL);
    s_alert (&m [3], "Credential page still online", "The page keeps harvesting logins from staff of "
             "several members.", "domain:payroll-portal-login.com", NULL);
    //  The same source document, told differently.
    s_alert (&m [4], "Volumetric DDoS on banks", "Reflection floods of 90 Gbps hit online banking portals.",
             NULL, "https://cert.example.org/advisories/2026-1");
    s_alert (&m [5], "Member reports a flood", "Our web front end saw an amplification attack this morning.",
             NULL, "https://cert.example.org/advisories/2026-1");
    uint64_t seqs [6] = { 1, 2, 3, 4, 5, 6 };
    IH_CHECK (ih_store_ingest_msgs (store, m, seqs, 6, NULL, &err) == 0);
    IH_CHECK (ih_related_catch_up (rel, store, 4, &err) == 4);     //  at most 4 at a time
    IH_CHECK (ih_related_catch_up (rel, store, 0, &err) == 2);
    IH_CHECK (ih_related_catch_up (rel, store, 0, &err) == 0);
    IH_CHECK (ih_related_watermark (rel) == 6 && ih_related_count (rel) == 6);

    ih_related_hit_t hits [IH_RELATED_MAX];
    int n = ih_related_for_alert (rel, m [0].id, hits, 10, &err);
    if (verbose)
        for (int i = 0; i < n; i++)
            printf ("\n  %s %.3f cos %.3f J %.2f iocs %u ref %d%s", hits [i].title, hits [i].score, hits [i].cosine,
                    hits [i].jaccard, hits [i].shared_iocs, hits [i].shared_reference,
                    hits [i].near_duplicate ? " near-duplicate" : "");
    IH_CHECK (n >= 1 && streq (hits [0].id, m [1].id) && hits [0].near_duplicate);
    for (int i = 0; i < n; i++)
        IH_CHECK (!streq (hits [i].id, m [0].id));
    n = ih_related_for_alert (rel, m [2].id, hits, 10, &err);
    IH_CHECK (n >= 1 && streq (hits [0].id, m [3].id) && hits [0].shared_iocs == 1 && !hits [0].near_duplicate);
    n = ih_related_for_alert (rel, m [4].id, hits, 10, &err);
    IH_CHECK (n >= 1 && streq (hits [0].id, m [5].id) && hits [0].shared_reference);
    //  A text being written: the near-duplicate and the original come first.
    ih_related_query_t q = { ransom, strlen (ransom), NULL, 0, NULL, 0 };
    n = ih_related_query (rel, &q, hits, 2, &err);
    IH_CHECK (n == 2 && hits [0].near_duplicate && hits [1].near_duplicate);
    IH_CHECK (ih_related_for_alert (rel, "not-an-id", hits, 10, &err) == 0);

    //  A reader in another handle sees the same; a revision re-indexes; a retraction
    //  leaves the index.
    ih_related_t *reader = ih_related_open (dir, false, &err);
    if (!reader)
        fprintf (stderr, "%s\n", err.msg);
    IH_CHECK (reader && ih_related_count (reader) == 6);
    ih_msg_t rev;
    ih_msg_copy (&rev, &m [1]);
    rev.revision = 2;
    rev.summary = ih_msg_str (&rev, "Nothing like the first text any more: a printer jam.");
    uint64_t s7 = 7;
    IH_CHECK (ih_store_ingest_msgs (store, &rev, &s7, 1, NULL, &err) == 0);
    IH_CHECK (ih_related_catch_up (rel, store, 0, &err) == 1 && ih_related_count (rel) == 6);
    n = ih_related_for_alert (reader, m [0].id, hits, 10, &err);
    for (int i = 0; i < n; i++)
        IH_CHECK (!hits [i].near_duplicate);
    ih_msg_t ret;
    ih_tk_ref (&ret, NULL, IH_KIND_RETRACTION, m [3].id);
    uint64_t s8 = 8, s9 = 9;
    IH_CHECK (ih_store_ingest_msgs (store, &ret, &s8, 1, NULL, &err) == 0);
    //  (A retraction does not move the alert's seq: a revision after it does.)
    ih_msg_t rev3;
    ih_msg_copy (&rev3, &m [3]);
    rev3.revision = 2;
    IH_CHECK (ih_store_ingest_msgs (store, &rev3, &s9, 1, NULL, &err) == 0);
    IH_CHECK (ih_related_catch_up (rel, store, 0, &err) >= 0);
    ih_related_destroy (&reader);
    ih_related_destroy (&reader);
    uint64_t count = ih_related_count (rel);
    ih_related_destroy (&rel);
    s_unsynced (dir, store, count);
    ih_store_destroy (&store);
    for (int i = 0; i < 6; i++)
        ih_msg_free (&m [i]);
    ih_msg_free (&rev);
    ih_msg_free (&rev3);
    ih_msg_free (&ret);
    ih_tk_rmtree (dir);
}
#endif

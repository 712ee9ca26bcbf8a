/*  ih_warninglist.c: known-benign values (ih_warninglist.h; the data: config/warninglists).

    Address entries are kept in one array scanned in order (a few dozen entries: a scan
    is cheaper than any tree); names and hashes in czmq hash tables. A table value is
    the index of the list + 1, so the first list loaded wins a duplicate.
*/
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ih_warninglist.h"
#include "ih_ioc.h"

#define s_MAX_LINE      1024
#define s_MAX_LISTS     256

typedef struct {
    char *name;
    char *description;
    size_t entries;
} s_list_t;

typedef struct {
    uint8_t family;             /* 4 or 6 */
    uint8_t prefix;
    uint16_t list;
    uint8_t addr [16];
} s_net_t;

struct ih_warninglist {
    s_list_t *lists;
    size_t nlists;
    s_net_t *nets;
    size_t nnets, capnets;
    zhashx_t *exact;            /* name -> list + 1 */
    zhashx_t *suffix;
    zhashx_t *hashes;           /* lower-case hex -> list + 1 */
};

/* ---- helpers ------------------------------------------------------------------------- */

static char *
s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen (s);
    while (n && (s [n - 1] == ' ' || s [n - 1] == '\t' || s [n - 1] == '\r' || s [n - 1] == '\n'))
        s [--n] = 0;
    return s;
}

static bool
s_is_hex (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit ((unsigned char) s [i]))
            return false;
    return true;
}

/*  A name entry: lower case labels of [a-z0-9-_], no empty label, <= 253 bytes. */
static bool
s_name_ok (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > 253 || s [0] == '.' || s [n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s [i];
        if (c == '.' && s [i + 1] == '.')
            return false;
        if (!(islower ((unsigned char) c) || isdigit ((unsigned char) c) || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool
s_prefix_equal (const uint8_t *a, const uint8_t *b, int bits)
{
    int full = bits / 8;
    if (full && memcmp (a, b, (size_t) full) != 0)
        return false;
    int rem = bits % 8;
    if (rem == 0)
        return true;
    uint8_t mask = (uint8_t) (0xff << (8 - rem));
    return (a [full] & mask) == (b [full] & mask);
}

static uintptr_t
s_lookup (zhashx_t *h, const char *key)
{
    return (uintptr_t) zhashx_lookup (h, key);
}

/*  Keeps the smaller (earlier list) of two 1-based matches (0 = none). */
static uintptr_t
s_first (uintptr_t a, uintptr_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/*  The host of a normalised URL into out (ih_ioc_url_host: the IOC index uses the same).
    -1 if none, or when it does not fit. */
static int
s_url_host (const char *url, char *out, size_t outsz)
{
    const char *h;
    size_t hlen;
    if (ih_ioc_url_host (url, &h, &hlen) != 0 || hlen >= outsz)
        return -1;
    memcpy (out, h, hlen);
    out [hlen] = 0;
    return 0;
}

/* ---- loading ------------------------------------------------------------------------- */

static void
s_add_net (ih_warninglist_t *self, int family, const uint8_t addr [16], int prefix, size_t list)
{
    if (self->nnets == self->capnets) {
        self->capnets = self->capnets ? self->capnets * 2 : 64;
        self->nets = (s_net_t *) realloc (self->nets, self->capnets * sizeof (s_net_t));
        if (!self->nets)
            abort ();
    }
    s_net_t *n = &self->nets [self->nnets++];
    memset (n, 0, sizeof *n);
    n->family = (uint8_t) family;
    n->prefix = (uint8_t) prefix;
    n->list = (uint16_t) list;
    memcpy (n->addr, addr, 16);
}

static int
s_load_file (ih_warninglist_t *self, const char *dir, const char *file, ih_err_t *err)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen (path, "r");
    if (!f)
        return ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    size_t li = self->nlists++;
    s_list_t *list = &self->lists [li];
    memset (list, 0, sizeof *list);
    char base [256];
    snprintf (base, sizeof base, "%s", file);
    char *dot = strrchr (base, '.');
    if (dot)
        *dot = 0;
    list->name = strdup (base);
    list->description = strdup ("");
    if (!list->name || !list->description)
        abort ();
    bool suffix = false, in_desc = false;
    char line [s_MAX_LINE + 2];
    int lineno = 0, rc = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        if (strlen (line) > s_MAX_LINE) {
            rc = ih_err_set (err, "%s:%d: line too long", path, lineno);
            break;
        }
        char *s = s_trim (line);
        if (*s == '#') {
            char *c = s + 1;
            bool cont = strncmp (c, "  ", 2) == 0;
            c = s_trim (c);
            if (strncmp (c, "name:", 5) == 0) {
                free (list->name);
                list->name = strdup (s_trim (c + 5));
                in_desc = false;
            }
            else
            if (strncmp (c, "description:", 12) == 0) {
                free (list->description);
                list->description = strdup (s_trim (c + 12));
                in_desc = true;
            }
            else
            if (strncmp (c, "match:", 6) == 0) {
                char *m = s_trim (c + 6);
                if (streq (m, "suffix"))
                    suffix = true;
                else
                if (streq (m, "exact"))
                    suffix = false;
                else {
                    rc = ih_err_set (err, "%s:%d: match: expected exact or suffix, not '%.32s'",
                                     path, lineno, m);
                    break;
                }
                in_desc = false;
            }
            else
            if (in_desc && cont && *c) {
                size_t n = strlen (list->description) + strlen (c) + 2;
                char *d = (char *) malloc (n);
                if (!d)
                    abort ();
                snprintf (d, n, "%s %s", list->description, c);
                free (list->description);
                list->description = d;
            }
            else
                in_desc = false;
            if (!list->name || !list->description)
                abort ();
            continue;
        }
        in_desc = false;
        char *hash = strchr (s, '#');
        if (hash) {
            *hash = 0;
            s = s_trim (s);
        }
        if (!*s)
            continue;
        for (char *p = s; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
        int family, prefix;
        uint8_t addr [16];
        size_t n = strlen (s);
        if (ih_ioc_ip_parse (s, &family, addr, &prefix) == 0)
            s_add_net (self, family, addr, prefix, li);
        else
        if ((n == 32 || n == 40 || n == 64) && s_is_hex (s, n))
            zhashx_insert (self->hashes, s, (void *) (uintptr_t) (li + 1));
        else
        if (s_name_ok (s))
            zhashx_insert (suffix ? self->suffix : self->exact, s, (void *) (uintptr_t) (li + 1));
        else {
            rc = ih_err_set (err, "%s:%d: '%.64s' is not an address, network, hash or domain name",
                             path, lineno, s);
            break;
        }
        list->entries++;
    }
    if (rc == 0 && ferror (f))
        rc = ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
    fclose (f);
    return rc;
}

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

ih_warninglist_t *
ih_warninglist_load (const char *dir, ih_err_t *err)
{
    DIR *d = opendir (dir);
    if (!d) {
        ih_err_set (err, "%s: cannot open warninglist directory: %s", dir, strerror (errno));
        return NULL;
    }
    char *names [s_MAX_LISTS];
    size_t n = 0;
    struct dirent *e;
    bool too_many = false;
    while ((e = readdir (d))) {
        size_t len = strlen (e->d_name);
        if (e->d_name [0] == '.' || len < 5 || strcmp (e->d_name + len - 4, ".txt") != 0)
            continue;
        if (n == s_MAX_LISTS) {
            too_many = true;
            break;
        }
        names [n] = strdup (e->d_name);
        if (!names [n])
            abort ();
        n++;
    }
    closedir (d);
    ih_warninglist_t *self = NULL;
    if (too_many)
        ih_err_set (err, "%s: more than %d lists", dir, s_MAX_LISTS);
    else
    if (n == 0)
        ih_err_set (err, "%s: no lists (*.txt)", dir);
    else {
        qsort (names, n, sizeof names [0], s_cmp_str);
        self = (ih_warninglist_t *) calloc (1, sizeof *self);
        if (!self)
            abort ();
        self->lists = (s_list_t *) calloc (n, sizeof (s_list_t));
        self->exact = zhashx_new ();
        self->suffix = zhashx_new ();
        self->hashes = zhashx_new ();
        if (!self->lists || !self->exact || !self->suffix || !self->hashes)
            abort ();
        for (size_t i = 0; i < n; i++)
            if (s_load_file (self, dir, names [i], err) != 0) {
                ih_warninglist_destroy (&self);
                break;
            }
    }
    for (size_t i = 0; i < n; i++)
        free (names [i]);
    return self;
}

void
ih_warninglist_destroy (ih_warninglist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_warninglist_t *self = *self_p;
    for (size_t i = 0; i < self->nlists; i++) {
        free (self->lists [i].name);
        free (self->lists [i].description);
    }
    free (self->lists);
    free (self->nets);
    zhashx_destroy (&self->exact);
    zhashx_destroy (&self->suffix);
    zhashx_destroy (&self->hashes);
    free (self);
    *self_p = NULL;
}

size_t
ih_warninglist_size (const ih_warninglist_t *self)
{
    return self->nlists;
}

const char *
ih_warninglist_name (const ih_warninglist_t *self, size_t i)
{
    return i < self->nlists ? self->lists [i].name : NULL;
}

const char *
ih_warninglist_description (const ih_warninglist_t *self, size_t i)
{
    return i < self->nlists ? self->lists [i].description : NULL;
}

size_t
ih_warninglist_entries (const ih_warninglist_t *self, size_t i)
{
    return i < self->nlists ? self->lists [i].entries : 0;
}

/* ---- matching ------------------------------------------------------------------------ */

static uintptr_t
s_match_ip (const ih_warninglist_t *self, const char *value)
{
    int family, prefix;
    uint8_t addr [16];
    if (ih_ioc_ip_parse (value, &family, addr, &prefix) != 0)
        return 0;
    for (size_t i = 0; i < self->nnets; i++) {
        const s_net_t *n = &self->nets [i];
        if (n->family == family && s_prefix_equal (n->addr, addr, prefix < n->prefix ? prefix : n->prefix))
            return (uintptr_t) n->list + 1;
    }
    return 0;
}

/*  The name and every parent, in the suffix table. */
static uintptr_t
s_match_suffix (const ih_warninglist_t *self, const char *name)
{
    uintptr_t best = 0;
    for (const char *p = name; p; ) {
        best = s_first (best, s_lookup (self->suffix, p));
        p = strchr (p, '.');
        if (p)
            p++;
    }
    return best;
}

static uintptr_t
s_match_exact (const ih_warninglist_t *self, const char *name)
{
    uintptr_t m = s_lookup (self->exact, name);
    if (strncmp (name, "www.", 4) == 0)
        m = s_first (m, s_lookup (self->exact, name + 4));
    return m;
}

static uintptr_t
s_match (const ih_warninglist_t *self, ih_ioc_type_t t, const char *value)
{
    char host [IH_MAX_IOC_VALUE + 1];
    switch (t) {
        case IH_IOC_IPV4:
        case IH_IOC_IPV6:
        case IH_IOC_CIDR:
            return s_match_ip (self, value);
        case IH_IOC_DOMAIN:
            return s_first (s_match_exact (self, value), s_match_suffix (self, value));
        case IH_IOC_URL: {
            if (s_url_host (value, host, sizeof host) != 0)
                return 0;
            int family, prefix;
            uint8_t addr [16];
            if (ih_ioc_ip_parse (host, &family, addr, &prefix) == 0)
                return s_match_ip (self, host);
            return s_match_suffix (self, host);
        }
        case IH_IOC_EMAIL: {
            const char *at = strrchr (value, '@');
            return at ? s_match_suffix (self, at + 1) : 0;
        }
        case IH_IOC_MD5:
        case IH_IOC_SHA1:
        case IH_IOC_SHA256:
            return s_lookup (self->hashes, value);
        default:
            return 0;
    }
}

const char *
ih_warninglist_match (const ih_warninglist_t *self, ih_ioc_type_t t, const char *value)
{
    if (!self || !value)
        return NULL;
    uintptr_t m = s_match (self, t, value);
    return m ? self->lists [m - 1].name : NULL;
}

/*  One part of a composite: strips a port ("1.2.3.4:443", "[v6]:443", "name:443"),
    guesses the type and matches. */
static uintptr_t
s_check_part (const ih_warninglist_t *self, char *part, char *norm, size_t normsz, bool *recognised)
{
    char *p = s_trim (part);
    if (!*p)
        return 0;
    size_t n = strlen (p);
    //  [v6]:port or [v6]
    if (p [0] == '[') {
        char *close = strchr (p, ']');
        if (close && (close [1] == 0 || close [1] == ':')) {
            *close = 0;
            p++;
        }
    }
    else {
        char *colon = strchr (p, ':');
        if (colon && !strchr (colon + 1, ':') && !strstr (p, "://") && colon [1]) {
            bool digits = true;
            for (char *q = colon + 1; *q; q++)
                digits = digits && isdigit ((unsigned char) *q);
            if (digits)
                *colon = 0;
        }
    }
    n = strlen (p);
    ih_ioc_type_t t;
    if (ih_ioc_guess (p, &t) == 0 && ih_ioc_normalise (t, p, norm, normsz, NULL) == 0) {
        *recognised = true;
        return s_match (self, t, norm);
    }
    //  A single label ("localhost", "test") is no domain IOC but may be a reserved name.
    char low [256];
    if (n < sizeof low) {
        for (size_t i = 0; i <= n; i++)
            low [i] = (char) tolower ((unsigned char) p [i]);
        if (low [n - 1] == '.')
            low [n - 1] = 0;
        if (s_name_ok (low) && !strchr (low, '.')) {
            *recognised = true;
            snprintf (norm, normsz, "%s", low);
            return s_first (s_match_exact (self, low), s_match_suffix (self, low));
        }
    }
    return 0;
}

const char *
ih_warninglist_check (const ih_warninglist_t *self, const char *value, char *part, size_t partsz,
                      bool *recognised)
{
    bool rec = false;
    if (recognised)
        *recognised = false;
    if (part && partsz)
        part [0] = 0;
    if (!self || !value)
        return NULL;
    size_t len = strlen (value);
    char *buf = (char *) malloc (len + 1);
    if (!buf)
        abort ();
    if (ih_ioc_refang (value, buf, len + 1) < 0) {
        free (buf);
        return NULL;
    }
    const char *found = NULL;
    char norm [IH_MAX_IOC_VALUE + 1];
    char *save = NULL;
    for (char *tok = strtok_r (buf, "|", &save); tok && !found; tok = strtok_r (NULL, "|", &save)) {
        norm [0] = 0;
        uintptr_t m = s_check_part (self, tok, norm, sizeof norm, &rec);
        if (m) {
            found = self->lists [m - 1].name;
            if (part && partsz)
                snprintf (part, partsz, "%s", norm);
        }
    }
    free (buf);
    if (recognised)
        *recognised = rec;
    return found;
}

/* ---- where the lists are ------------------------------------------------------------- */

static bool
s_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

char *
ih_warninglist_dir (const char *configured, const char *cfg_path, ih_err_t *err)
{
    char path [PATH_MAX];
    if (configured && *configured) {
        if (configured [0] == '/' || !cfg_path)
            snprintf (path, sizeof path, "%s", configured);
        else {
            char base [PATH_MAX];
            snprintf (base, sizeof base, "%s", cfg_path);
            char *slash = strrchr (base, '/');
            bool fits = slash ? (*slash = 0, ih_fmt (path, sizeof path, "%s/%s", base, configured))
                              : ih_fmt (path, sizeof path, "%s", configured);
            if (!fits) {
                ih_err_set (err, "%s: agent/warninglists: path too long", cfg_path);
                return NULL;
            }
        }
        if (!s_is_dir (path)) {
            ih_err_set (err, "%s: agent/warninglists: %s is not a directory", cfg_path ? cfg_path : "config",
                        path);
            return NULL;
        }
        char *r = strdup (path);
        if (!r)
            abort ();
        return r;
    }
    const char *env = getenv ("INFOHUB_WARNINGLISTS");
    if (env && *env && s_is_dir (env)) {
        char *r = strdup (env);
        if (!r)
            abort ();
        return r;
    }
    char exe [PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    const char *tails [] = { "../config/warninglists", "../share/infohub/warninglists" };
    if (n > 0) {
        exe [n] = 0;
        char *slash = strrchr (exe, '/');
        if (slash)
            *slash = 0;
        for (size_t i = 0; i < sizeof tails / sizeof tails [0]; i++) {
            if (ih_fmt (path, sizeof path, "%s/%s", exe, tails [i]) && s_is_dir (path)) {
                char *r = realpath (path, NULL);
                if (!r)
                    abort ();
                return r;
            }
        }
    }
    if (s_is_dir ("/etc/infohub/warninglists")) {
        char *r = strdup ("/etc/infohub/warninglists");
        if (!r)
            abort ();
        return r;
    }
    ih_err_set (err, "no warninglists found (looked in $INFOHUB_WARNINGLISTS, %s/%s, %s/%s, "
                "/etc/infohub/warninglists); set warninglists = \"DIR\" in agent.cfg",
                n > 0 ? exe : "BINDIR", tails [0], n > 0 ? exe : "BINDIR", tails [1]);
    return NULL;
}

/* ---- command ------------------------------------------------------------------------- */

int
ih_warninglist_cmd (const char *prog, const char *configured, const char *cfg_path, int argc,
                    char **argv)
{
    if (argc < 1) {
        fprintf (stderr, "%s: warninglist: check VALUE... or list; see warninglist --help\n", prog);
        return 2;
    }
    if (streq (argv [0], "-h") || streq (argv [0], "--help")) {
        fprintf (stdout,
                 "usage: %s [-c AGENTDIR/agent.cfg] warninglist check VALUE...\n"
                 "       %s [-c AGENTDIR/agent.cfg] warninglist list\n"
                 "check says which warninglist (known-benign values that detection exports leave\n"
                 "out) matches each VALUE: an address or network (overlap counts), a domain, URL,\n"
                 "e-mail address or hash, defanged or not, or a composite such as 10.0.0.1|443.\n"
                 "Exits 0 when every value matched, 1 otherwise. list shows the lists loaded.\n"
                 "The lists: warninglists = \"DIR\" in agent.cfg, else $INFOHUB_WARNINGLISTS,\n"
                 "else BINDIR/../config/warninglists (the source tree) or\n"
                 "BINDIR/../share/infohub/warninglists (where `make install` puts them), else\n"
                 "/etc/infohub/warninglists (see config/warninglists/README.md).\n", prog, prog);
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (streq (argv [i], "-h") || streq (argv [i], "--help"))
            return ih_warninglist_cmd (prog, NULL, NULL, 1, &argv [i]);
    bool check = streq (argv [0], "check");
    if (!check && !streq (argv [0], "list")) {
        fprintf (stderr, "%s: warninglist: unknown subcommand '%.64s' (check or list)\n", prog, argv [0]);
        return 2;
    }
    if (check && argc < 2) {
        fprintf (stderr, "%s: warninglist check: VALUE is missing\n", prog);
        return 2;
    }
    if (!check && argc > 1) {
        fprintf (stderr, "%s: warninglist list: unexpected argument '%.64s'\n", prog, argv [1]);
        return 2;
    }
    ih_err_t err = { "" };
    char *dir = ih_warninglist_dir (configured, cfg_path, &err);
    ih_warninglist_t *wl = dir ? ih_warninglist_load (dir, &err) : NULL;
    if (!wl) {
        fprintf (stderr, "%s: %s\n", prog, err.msg);
        free (dir);
        return 2;
    }
    int rc = 0;
    if (!check) {
        printf ("# %s\n", dir);
        for (size_t i = 0; i < ih_warninglist_size (wl); i++)
            printf ("%-20s %6zu  %s\n", ih_warninglist_name (wl, i), ih_warninglist_entries (wl, i),
                    ih_warninglist_description (wl, i));
    }
    else
        for (int i = 1; i < argc; i++) {
            char part [IH_MAX_IOC_VALUE + 1];
            bool recognised;
            const char *name = ih_warninglist_check (wl, argv [i], part, sizeof part, &recognised);
            if (name)
                printf ("%s: %s (%s)\n", argv [i], name, part);
            else {
                printf ("%s: no match%s\n", argv [i],
                        recognised ? "" : " (not an address, network, domain, URL, e-mail or hash)");
                rc = 1;
            }
        }
    ih_warninglist_destroy (&wl);
    free (dir);
    return rc;
}

/* ---- self-test ----------------------------------------------------------------------- */
#ifdef IH_SELFTEST

static void
s_write (const char *dir, const char *name, const char *text)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "w");
    IH_CHECK (f);
    IH_CHECK (fputs (text, f) >= 0);
    IH_CHECK (fclose (f) == 0);
}

static void
s_rmdir_files (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d))) {
        if (e->d_name [0] == '.')
            continue;
        char path [PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        unlink (path);
    }
    closedir (d);
    rmdir (dir);
}

void
ih_warninglist_test (bool verbose)
{
    char dir [] = "/tmp/ih-wl-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    ih_err_t err = { "" };

    //  Failure paths: no directory, no lists, a bad entry, a bad match line.
    IH_CHECK (ih_warninglist_load ("/nonexistent/wl", &err) == NULL);
    IH_CHECK (strstr (err.msg, "/nonexistent/wl: cannot open"));
    IH_CHECK (ih_warninglist_load (dir, &err) == NULL && strstr (err.msg, "no lists"));
    s_write (dir, "bad.txt", "# name: bad\n10.0.0.0/8\nnot a name!\n");
    IH_CHECK (ih_warninglist_load (dir, &err) == NULL);
    IH_CHECK (strstr (err.msg, "bad.txt:3: 'not a name!' is not an address"));
    s_write (dir, "bad.txt", "# match: sometimes\n");
    IH_CHECK (ih_warninglist_load (dir, &err) == NULL && strstr (err.msg, "bad.txt:1: match:"));
    s_write (dir, "bad.txt", "10.1.2.3/8\n");       //  host bits set: not a network
    IH_CHECK (ih_warninglist_load (dir, &err) == NULL && strstr (err.msg, "bad.txt:1:"));

    char bad [PATH_MAX];
    snprintf (bad, sizeof bad, "%s/bad.txt", dir);
    IH_CHECK (unlink (bad) == 0);
    s_write (dir, "a-ranges.txt", "# name: ranges\n# description: reserved\n#   ranges\n"
             "172.16.0.0/12\n10.0.0.0/8   # private\n2001:db8::/32\n198.51.100.7\n");
    s_write (dir, "b-names.txt", "# name: reserved-names\n# match: suffix\nTEST\nexample.com\n");
    s_write (dir, "c-popular.txt", "# name: popular\ngoogle.com\n\n10.0.0.0/8\n");
    s_write (dir, "d-hashes.txt", "D41D8CD98F00B204E9800998ECF8427E\n");
    s_write (dir, "ignored.json", "{}");
    ih_warninglist_t *wl = ih_warninglist_load (dir, &err);
    IH_CHECK (wl);
    IH_CHECK (ih_warninglist_size (wl) == 4);
    IH_CHECK (streq (ih_warninglist_name (wl, 0), "ranges"));
    IH_CHECK (streq (ih_warninglist_description (wl, 0), "reserved ranges"));
    IH_CHECK (ih_warninglist_entries (wl, 0) == 4);
    IH_CHECK (streq (ih_warninglist_name (wl, 3), "d-hashes"));
    IH_CHECK (ih_warninglist_name (wl, 4) == NULL);

    //  Addresses: containment both ways, families kept apart, the first list wins.
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_IPV4, "172.16.5.4"), "ranges"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_IPV4, "172.31.255.255"), "ranges"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_IPV4, "172.32.0.1") == NULL);
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_IPV4, "172.15.255.255") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_CIDR, "172.0.0.0/8"), "ranges"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_CIDR, "172.20.0.0/16"), "ranges"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_CIDR, "0.0.0.0/0"), "ranges"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_CIDR, "172.32.0.0/11") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_CIDR, "198.51.100.0/24"), "ranges"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_IPV4, "198.51.100.8") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_IPV6, "2001:db8::1"), "ranges"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_IPV6, "2001:db9::1") == NULL);
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_IPV6, "::ffff:10.0.0.1") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_IPV4, "10.9.9.9"), "ranges"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_IPV4, "not-an-ip") == NULL);

    //  Names: suffix lists cover subdomains, exact lists only the name and www.NAME.
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_DOMAIN, "evil.test"), "reserved-names"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_DOMAIN, "a.b.example.com"), "reserved-names"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_DOMAIN, "example.co") == NULL);
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_DOMAIN, "notexample.com") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_DOMAIN, "google.com"), "popular"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_DOMAIN, "www.google.com"), "popular"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_DOMAIN, "evil.google.com") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_URL, "http://x.test/a"), "reserved-names"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_URL, "https://u@10.1.1.1:8443/a"), "ranges"));
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_URL, "http://[2001:db8::5]/"), "ranges"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_URL, "https://google.com/forms/x") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_EMAIL, "a@mail.example.com"), "reserved-names"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_EMAIL, "a@google.com") == NULL);
    IH_CHECK (streq (ih_warninglist_match (wl, IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e"), "d-hashes"));
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427f") == NULL);
    IH_CHECK (ih_warninglist_match (wl, IH_IOC_CVE, "CVE-2024-1234") == NULL);

    //  Free-form: composites, ports, defanged, single labels.
    char part [256];
    bool rec;
    IH_CHECK (streq (ih_warninglist_check (wl, "10.0.0.1|443", part, sizeof part, &rec), "ranges"));
    IH_CHECK (streq (part, "10.0.0.1") && rec);
    IH_CHECK (streq (ih_warninglist_check (wl, "172.16.5.4:8080", part, sizeof part, &rec), "ranges"));
    IH_CHECK (streq (ih_warninglist_check (wl, "[2001:db8::1]:443", part, sizeof part, &rec), "ranges"));
    IH_CHECK (streq (part, "2001:db8::1"));
    IH_CHECK (streq (ih_warninglist_check (wl, "evil.org|10.2.3.4", part, sizeof part, &rec), "ranges"));
    IH_CHECK (streq (ih_warninglist_check (wl, "www[.]google[.]com", part, sizeof part, &rec), "popular"));
    IH_CHECK (streq (ih_warninglist_check (wl, "hxxp://evil[.]test/x", part, sizeof part, &rec),
                     "reserved-names"));
    IH_CHECK (streq (ih_warninglist_check (wl, "Test", part, sizeof part, &rec), "reserved-names"));
    IH_CHECK (streq (ih_warninglist_check (wl, "x.exe|D41D8CD98F00B204E9800998ECF8427E", part,
                                           sizeof part, &rec), "d-hashes"));
    IH_CHECK (ih_warninglist_check (wl, "93.184.1.1|443", part, sizeof part, &rec) == NULL && rec);
    IH_CHECK (ih_warninglist_check (wl, "hello world!", part, sizeof part, &rec) == NULL && !rec);
    IH_CHECK (ih_warninglist_check (wl, "", NULL, 0, NULL) == NULL);
    ih_warninglist_destroy (&wl);
    ih_warninglist_destroy (&wl);
    IH_CHECK (wl == NULL);

    //  Finding the directory: a configured one relative to agent.cfg, a bad one.
    char cfg [PATH_MAX];
    snprintf (cfg, sizeof cfg, "%s/agent.cfg", dir);
    char *found = ih_warninglist_dir (".", cfg, &err);
    IH_CHECK (found);
    char want [PATH_MAX];
    snprintf (want, sizeof want, "%s/.", dir);
    IH_CHECK (streq (found, want));
    free (found);
    IH_CHECK (ih_warninglist_dir ("nope", cfg, &err) == NULL && strstr (err.msg, "not a directory"));
    s_rmdir_files (dir);

    //  The shipped lists (found beside the binary, as bin/ih-selftest runs from the tree).
    found = ih_warninglist_dir (NULL, NULL, &err);
    if (!found) {
        fprintf (stderr, "ih_warninglist_test: %s\n", err.msg);
        IH_CHECK (found);
    }
    wl = ih_warninglist_load (found, &err);
    if (!wl)
        fprintf (stderr, "ih_warninglist_test: %s\n", err.msg);
    IH_CHECK (wl);
    const char *hits [] = {
        "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "172.16.5.4", "10.0.0.1|443",
        "192.168.1.1", "127.0.0.1", "::1", "fe80::1", "203.0.113.9", "example.com", "a.example.org",
        "localhost", "x.test", "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "www.google.com",
        "windowsupdate.com", NULL
    };
    for (int i = 0; hits [i]; i++) {
        const char *name = ih_warninglist_check (wl, hits [i], part, sizeof part, NULL);
        if (verbose || !name)
            printf ("  %s -> %s\n", hits [i], name ? name : "(none)");
        IH_CHECK (name);
    }
    const char *misses [] = { "93.184.216.34", "2a00:1450::1", "evil-domain.xyz", "45.33.32.156",
                              "172.32.1.1", NULL };
    for (int i = 0; misses [i]; i++)
        IH_CHECK (ih_warninglist_check (wl, misses [i], part, sizeof part, NULL) == NULL);
    ih_warninglist_destroy (&wl);
    free (found);
}
#endif

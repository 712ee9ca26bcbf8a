/*  ih_users.c: accounts, sessions and the login throttle (see ih_users.h).

    Read top to bottom: the environment, records (JSON), accounts, passwords and codes,
    sessions, the throttle, the self-test.
*/
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <pthread.h>
#include <sys/stat.h>

#include "ih_mdbfile.h"
#include "ih_users.h"

#define s_MAP_SIZE  (64ULL << 20)

struct ih_users {
    MDB_env *env;
    MDB_dbi users, sessions, throttle;
    char *dir;
};

/* ---- the environment ------------------------------------------------------------------------ */

static int
s_mdb (int rc, const char *what, ih_err_t *err)
{
    if (rc == MDB_MAP_FULL)
        return ih_err_set (err, "accounts: %s: the accounts database is full", what);
    return ih_err_set (err, "accounts: %s: %s", what, mdb_strerror (rc));
}

ih_users_t *
ih_users_open (const char *dir, ih_err_t *err)
{
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        ih_err_set (err, "accounts: cannot create %s: %s", dir, strerror (errno));
        return NULL;
    }
    if (ih_mdb_check (dir, "accounts", "restore it from a backup, or move it away and add the "
                      "users again (infohub-agent user add)", err) != 0)
        return NULL;
    ih_users_t *self = (ih_users_t *) calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir)))
        abort ();
    int rc = mdb_env_create (&self->env);
    if (rc == 0)
        mdb_env_set_assert (self->env, (MDB_assert_func *) ih_mdb_assert_hook);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (self->env, 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize (self->env, s_MAP_SIZE);
    //  NOTLS: the console's HTTP threads each run their own short transactions.
    if (rc == 0)
        rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0600);
    MDB_txn *txn = NULL;
    if (rc == 0)
        rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "users", MDB_CREATE, &self->users);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "sessions", MDB_CREATE, &self->sessions);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "throttle", MDB_CREATE, &self->throttle);
    if (rc == 0) {
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (rc != 0) {
        if (txn)
            mdb_txn_abort (txn);
        ih_err_set (err, "accounts: cannot open %s: %s", dir, mdb_strerror (rc));
        ih_users_destroy (&self);
        return NULL;
    }
    return self;
}

void
ih_users_destroy (ih_users_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_users_t *self = *self_p;
    if (self->env)
        mdb_env_close (self->env);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

static MDB_val
s_val (const void *data, size_t len)
{
    MDB_val v = { len, (void *) data };
    return v;
}

/* ---- records ------------------------------------------------------------------------------------ */

static void
s_hex_field (json_t *o, const char *key, const uint8_t *data, size_t len)
{
    char hex [2 * IH_TOTP_SEALED + 1];
    ih_hex_encode (data, len, hex);
    json_object_set_new (o, key, json_string (hex));
}

static bool
s_hex_get (json_t *o, const char *key, uint8_t *out, size_t len)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v && strlen (v) == 2 * len && ih_hex_decode (v, out, len) == 0;
}

static char *
s_user_json (const ih_user_t *u)
{
    json_t *o = json_pack ("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
                           "name", u->name, "display", u->display, "role", ih_user_role_name (u->role),
                           "pw", u->pwhash, "step", (json_int_t) u->last_step,
                           "created", (json_int_t) u->created, "pw_changed", (json_int_t) u->pw_changed,
                           "last_login", (json_int_t) u->last_login, "prev_login", (json_int_t) u->prev_login,
                           "last_visit", (json_int_t) u->last_visit, "reuse", (int) u->reuse_seen);
    if (!o)
        abort ();
    s_hex_field (o, "totp", u->totp, sizeof u->totp);
    json_t *rec = json_array ();
    for (int i = 0; i < IH_USER_RECOVERY; i++) {
        char hex [65];
        ih_hex_encode (u->recovery [i], 32, hex);
        json_array_append_new (rec, json_string (hex));
    }
    json_object_set_new (o, "recovery", rec);
    char *text = json_dumps (o, JSON_COMPACT);
    json_decref (o);
    if (!text)
        abort ();
    return text;
}

static int
s_user_parse (const MDB_val *v, ih_user_t *u, ih_err_t *err)
{
    memset (u, 0, sizeof *u);
    json_t *o = json_loadb ((const char *) v->mv_data, v->mv_size, 0, NULL);
    const char *name = json_string_value (json_object_get (o, "name"));
    const char *display = json_string_value (json_object_get (o, "display"));
    const char *role = json_string_value (json_object_get (o, "role"));
    const char *pw = json_string_value (json_object_get (o, "pw"));
    json_t *rec = json_object_get (o, "recovery");
    int rc = 0;
    if (!name || !display || !role || !pw || ih_user_role_parse (role, &u->role) != 0
    ||  !s_hex_get (o, "totp", u->totp, sizeof u->totp) || json_array_size (rec) != IH_USER_RECOVERY
    ||  strlen (name) > IH_USER_NAME || strlen (display) > IH_USER_DISPLAY
    ||  strlen (pw) >= sizeof u->pwhash)
        rc = ih_err_set (err, "accounts: a user record is damaged");
    else {
        snprintf (u->name, sizeof u->name, "%s", name);
        snprintf (u->display, sizeof u->display, "%s", display);
        snprintf (u->pwhash, sizeof u->pwhash, "%s", pw);
        u->last_step = (uint64_t) json_integer_value (json_object_get (o, "step"));
        u->created = json_integer_value (json_object_get (o, "created"));
        u->pw_changed = json_integer_value (json_object_get (o, "pw_changed"));
        u->last_login = json_integer_value (json_object_get (o, "last_login"));
        u->prev_login = json_integer_value (json_object_get (o, "prev_login"));
        u->last_visit = json_integer_value (json_object_get (o, "last_visit"));
        u->reuse_seen = (uint32_t) json_integer_value (json_object_get (o, "reuse"));
        for (int i = 0; i < IH_USER_RECOVERY; i++) {
            const char *h = json_string_value (json_array_get (rec, (size_t) i));
            if (!h || strlen (h) != 64 || ih_hex_decode (h, u->recovery [i], 32) != 0)
                rc = ih_err_set (err, "accounts: user %s: a recovery code is damaged", name);
        }
    }
    json_decref (o);
    return rc;
}

/* ---- accounts -------------------------------------------------------------------------------------- */

const char *
ih_user_role_name (ih_user_role_t r)
{
    switch (r) {
        case IH_USER_ANALYST:   return "analyst";
        case IH_USER_PUBLISHER: return "publisher";
        case IH_USER_ADMIN:     return "admin";
    }
    return "analyst";
}

int
ih_user_role_parse (const char *s, ih_user_role_t *r)
{
    for (int i = 0; i <= IH_USER_ADMIN; i++)
        if (s && streq (s, ih_user_role_name ((ih_user_role_t) i))) {
            *r = (ih_user_role_t) i;
            return 0;
        }
    return -1;
}

int
ih_users_get (ih_users_t *self, const char *name, ih_user_t *u, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return s_mdb (rc, "read", err);
    MDB_val k = s_val (name, strlen (name)), v;
    rc = mdb_get (txn, self->users, &k, &v);
    int ret;
    if (rc == MDB_NOTFOUND)
        ret = 0;
    else
    if (rc)
        ret = s_mdb (rc, "read", err);
    else
        ret = u ? (s_user_parse (&v, u, err) == 0 ? 1 : -1) : 1;
    mdb_txn_abort (txn);
    return ret;
}

int
ih_users_put (ih_users_t *self, const ih_user_t *u, bool create, ih_err_t *err)
{
    if (!ih_slug_valid (u->name, IH_USER_NAME))
        return ih_err_set (err, "user name: not a valid name (a-z, 0-9, '-', '_', '.', at most %d)",
                           IH_USER_NAME);
    char *text = s_user_json (u);
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc == 0) {
        MDB_val k = s_val (u->name, strlen (u->name)), v = s_val (text, strlen (text));
        rc = mdb_put (txn, self->users, &k, &v, create ? MDB_NOOVERWRITE : 0);
        if (rc == 0)
            rc = mdb_txn_commit (txn);
        else
            mdb_txn_abort (txn);
    }
    free (text);
    if (rc == MDB_KEYEXIST)
        return ih_err_set (err, "user %s exists already", u->name);
    return rc ? s_mdb (rc, "write", err) : 0;
}

int
ih_users_remove (ih_users_t *self, const char *name, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_mdb (rc, "write", err);
    MDB_val k = s_val (name, strlen (name));
    rc = mdb_del (txn, self->users, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort (txn);
        return 0;
    }
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    if (rc)
        return s_mdb (rc, "write", err);
    if (ih_users_session_end_all (self, name, NULL, err) < 0)
        return -1;
    return 1;
}

int
ih_users_foreach (ih_users_t *self, ih_users_fn *fn, void *arg, ih_err_t *err)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return s_mdb (rc, "read", err);
    if ((rc = mdb_cursor_open (txn, self->users, &cur))) {
        mdb_txn_abort (txn);
        return s_mdb (rc, "read", err);
    }
    MDB_val k, v;
    int ret = 0;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        ih_user_t u;
        if (s_user_parse (&v, &u, err) != 0)
            ret = -1;
        else
            ret = fn (&u, arg);
        sodium_memzero (&u, sizeof u);
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    if (ret == 0 && rc != MDB_NOTFOUND && rc != 0)
        return s_mdb (rc, "read", err);
    return ret;
}

/* ---- passwords and codes ---------------------------------------------------------------------------- */

/*  Common passwords and the patterns people reach for (lower case; a candidate is
    compared lower-cased, and also with trailing digits and punctuation removed). */
static const char *s_common [] = {
    "password", "passw0rd", "p@ssw0rd", "p@ssword", "password1", "password123", "passwordpassword",
    "123456789012", "1234567890123", "12345678901234", "123456123456", "111111111111",
    "000000000000", "123123123123", "qwertyuiop", "qwertyuiop123", "qwerty123456",
    "qwertyqwerty", "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "asdfghjkl",
    "asdfghjkl123", "zxcvbnm123", "iloveyou", "iloveyou123", "letmein", "letmeinplease",
    "welcome", "welcome123", "welcometotheclub", "changeme", "changemeplease", "changeme123",
    "administrator", "admin", "adminadmin", "admin123456", "rootroot", "superuser",
    "trustno1", "football", "baseball", "basketball", "dragon", "monkey", "sunshine",
    "princess", "starwars", "whatever", "master", "michael", "shadow", "superman",
    "batman", "jessica", "charlie", "computer", "internet", "secret", "secretpassword",
    "mysecretpassword", "correcthorsebatterystaple", "infohub", "infohubinfohub",
    "security", "cybersecurity", "hongkong", "springtime", "summertime", "wintertime",
    "autumn", "january", "february", "september", "october", "november", "december",
    "thequickbrownfox", "abcdefghijkl", "abcdefghijklmnop", "abc123abc123", "a1b2c3d4e5f6",
    "passwort", "motdepasse", "contrasena", "senha", "parola", "wachtwoord", "salasana",
    NULL
};

static bool
s_is_common (const char *pw)
{
    char low [160];
    size_t n = 0;
    for (; pw [n] && n < sizeof low - 1; n++)
        low [n] = (char) tolower ((unsigned char) pw [n]);
    low [n] = 0;
    //  "Password2024!" is "password" with a suffix people add to pass a rule.
    char base [160];
    memcpy (base, low, n + 1);
    size_t b = n;
    while (b > 0 && !isalpha ((unsigned char) base [b - 1]))
        base [--b] = 0;
    bool same = true;
    for (size_t i = 1; i < n; i++)
        same = same && low [i] == low [0];
    if (same)
        return true;            //  "aaaaaaaaaaaa"
    for (int i = 0; s_common [i]; i++)
        if (streq (low, s_common [i]) || (b > 0 && streq (base, s_common [i])))
            return true;
    return false;
}

int
ih_users_password_policy (const char *pw, const char *name, ih_err_t *err)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *) pw; *p; p++)
        chars += (*p & 0xc0) != 0x80;      //  count characters, not bytes
    if (chars < 12)
        return ih_err_set (err, "password: too short (%zu characters; at least 12)", chars);
    if (chars > 128)
        return ih_err_set (err, "password: too long (%zu characters; at most 128)", chars);
    if (name && strlen (name) >= 3 && strcasestr (pw, name)) {
        //  What is left once every copy of the name is taken out must stand on its own.
        size_t left = strlen (pw), nl = strlen (name);
        for (const char *p = strcasestr (pw, name); p; p = strcasestr (p + nl, name))
            left -= nl;
        if (left < 8)
            return ih_err_set (err, "password: too close to the user name");
    }
    if (s_is_common (pw))
        return ih_err_set (err, "password: too common (it is on the list of passwords people pick "
                           "first); choose a long phrase of your own");
    return 0;
}

int
ih_users_password_set (ih_user_t *u, const char *pw, ih_err_t *err)
{
    if (ih_users_password_policy (pw, u->name, err) != 0)
        return -1;
    if (sodium_init () < 0
    ||  crypto_pwhash_str (u->pwhash, pw, strlen (pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return ih_err_set (err, "password: cannot hash it (out of memory)");
    u->pw_changed = ih_now_ms ();
    return 0;
}

static pthread_once_t s_dummy_once = PTHREAD_ONCE_INIT;
static char s_dummy [crypto_pwhash_STRBYTES];

static void
s_dummy_init (void)
{
    //  A hash with the same parameters as real ones, of a password nobody knows.
    uint8_t r [32];
    randombytes_buf (r, sizeof r);
    if (crypto_pwhash_str (s_dummy, (const char *) r, sizeof r, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        abort ();
}

bool
ih_users_password_verify (const ih_user_t *u, const char *pw)
{
    if (sodium_init () < 0)
        abort ();
    pthread_once (&s_dummy_once, s_dummy_init);
    const char *hash = u && u->pwhash [0] ? u->pwhash : s_dummy;
    bool ok = crypto_pwhash_str_verify (hash, pw, strlen (pw)) == 0;
    return ok && u && u->pwhash [0];
}

static void
s_code_hash (const char *code, uint8_t out [32])
{
    //  Recovery codes carry 80 random bits: a plain hash is enough at rest.
    char norm [IH_RECOVERY_LEN + 1];
    size_t n = 0;
    for (const char *p = code; *p && n < IH_RECOVERY_LEN; p++)
        if (*p != '-' && *p != ' ')
            norm [n++] = (char) tolower ((unsigned char) *p);
    norm [n] = 0;
    crypto_generichash (out, 32, (const uint8_t *) norm, n, (const uint8_t *) "infohub/recovery/1", 18);
}

void
ih_users_recovery_new (ih_user_t *u, char codes [IH_USER_RECOVERY][20])
{
    //  Letters and digits that cannot be mistaken for one another.
    static const char alphabet [] = "abcdefghjkmnpqrstuvwxyz23456789";
    for (int i = 0; i < IH_USER_RECOVERY; i++) {
        char c [IH_RECOVERY_LEN + 1];
        for (int j = 0; j < IH_RECOVERY_LEN; j++)
            c [j] = alphabet [randombytes_uniform (sizeof alphabet - 1)];
        c [IH_RECOVERY_LEN] = 0;
        snprintf (codes [i], 20, "%.4s-%.4s-%.4s-%.4s", c, c + 4, c + 8, c + 12);
        s_code_hash (c, u->recovery [i]);
        sodium_memzero (c, sizeof c);
    }
}

bool
ih_users_recovery_use (ih_user_t *u, const char *code)
{
    static const uint8_t zero [32];
    uint8_t h [32];
    s_code_hash (code, h);
    for (int i = 0; i < IH_USER_RECOVERY; i++)
        if (sodium_memcmp (u->recovery [i], zero, 32) != 0 && sodium_memcmp (u->recovery [i], h, 32) == 0) {
            memset (u->recovery [i], 0, 32);
            return true;
        }
    return false;
}

int
ih_users_recovery_left (const ih_user_t *u)
{
    static const uint8_t zero [32];
    int n = 0;
    for (int i = 0; i < IH_USER_RECOVERY; i++)
        n += memcmp (u->recovery [i], zero, 32) != 0;
    return n;
}

int
ih_users_totp_step (ih_users_t *self, const char *name, uint64_t step, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_mdb (rc, "write", err);
    MDB_val k = s_val (name, strlen (name)), v;
    rc = mdb_get (txn, self->users, &k, &v);
    if (rc) {
        mdb_txn_abort (txn);
        return rc == MDB_NOTFOUND ? ih_err_set (err, "no user %s", name) : s_mdb (rc, "read", err);
    }
    ih_user_t u;
    if (s_user_parse (&v, &u, err) != 0) {
        mdb_txn_abort (txn);
        return -1;
    }
    //  Under the write lock: two logins racing with one code cannot both pass.
    int accepted = step > u.last_step;
    if (accepted)
        u.last_step = step;
    else
        u.reuse_seen++;
    char *text = s_user_json (&u);
    sodium_memzero (&u, sizeof u);
    v = s_val (text, strlen (text));
    rc = mdb_put (txn, self->users, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    free (text);
    return rc ? s_mdb (rc, "write", err) : accepted;
}

/* ---- sessions ------------------------------------------------------------------------------------- */

static void
s_b64 (const uint8_t *in, size_t len, char *out, size_t size)
{
    sodium_bin2base64 (out, size, in, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void
s_session_key (const char *id, uint8_t key [32])
{
    crypto_generichash (key, 32, (const uint8_t *) id, strlen (id), NULL, 0);
}

static char *
s_session_json (const ih_session_t *s)
{
    json_t *o = json_pack ("{s:s, s:b, s:I, s:I, s:s, s:s}", "user", s->user, "full", s->full,
                           "created", (json_int_t) s->created, "seen", (json_int_t) s->seen,
                           "csrf", s->csrf, "addr", s->addr);
    char *text = o ? json_dumps (o, JSON_COMPACT) : NULL;
    json_decref (o);
    if (!text)
        abort ();
    return text;
}

static bool
s_session_parse (const MDB_val *k, const MDB_val *v, ih_session_t *s)
{
    memset (s, 0, sizeof *s);
    json_t *o = json_loadb ((const char *) v->mv_data, v->mv_size, 0, NULL);
    const char *user = json_string_value (json_object_get (o, "user"));
    const char *csrf = json_string_value (json_object_get (o, "csrf"));
    const char *addr = json_string_value (json_object_get (o, "addr"));
    bool ok = user && csrf && addr && strlen (user) <= IH_USER_NAME && strlen (csrf) <= IH_SESSION_ID;
    if (ok) {
        snprintf (s->user, sizeof s->user, "%s", user);
        snprintf (s->csrf, sizeof s->csrf, "%s", csrf);
        snprintf (s->addr, sizeof s->addr, "%s", addr);
        s->full = json_is_true (json_object_get (o, "full"));
        s->created = json_integer_value (json_object_get (o, "created"));
        s->seen = json_integer_value (json_object_get (o, "seen"));
        if (k->mv_size == 32)
            ih_hex_encode ((const uint8_t *) k->mv_data, 8, s->handle);
    }
    json_decref (o);
    return ok;
}

static bool
s_expired (const ih_session_t *s, int64_t now)
{
    if (!s->full)
        return now - s->created > IH_SESSION_PENDING_MS;
    return now - s->seen > IH_SESSION_IDLE_MS || now - s->created > IH_SESSION_MAX_MS;
}

int
ih_users_session_new (ih_users_t *self, const char *user, bool full, const char *addr,
                      char id [IH_SESSION_ID + 1], ih_session_t *s, ih_err_t *err)
{
    if (sodium_init () < 0)
        abort ();
    uint8_t raw [32], key [32], tok [32];
    randombytes_buf (raw, sizeof raw);
    randombytes_buf (tok, sizeof tok);
    s_b64 (raw, sizeof raw, id, IH_SESSION_ID + 1);
    sodium_memzero (raw, sizeof raw);
    memset (s, 0, sizeof *s);
    snprintf (s->user, sizeof s->user, "%s", user);
    s->full = full;
    s->created = s->seen = ih_now_ms ();
    s_b64 (tok, sizeof tok, s->csrf, sizeof s->csrf);
    snprintf (s->addr, sizeof s->addr, "%s", addr ? addr : "");
    s_session_key (id, key);
    ih_hex_encode (key, 8, s->handle);
    char *text = s_session_json (s);
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc == 0) {
        MDB_val k = s_val (key, 32), v = s_val (text, strlen (text));
        rc = mdb_put (txn, self->sessions, &k, &v, 0);
        if (rc == 0)
            rc = mdb_txn_commit (txn);
        else
            mdb_txn_abort (txn);
    }
    free (text);
    return rc ? s_mdb (rc, "write", err) : 0;
}

int
ih_users_session_get (ih_users_t *self, const char *id, int64_t now, ih_session_t *s, ih_err_t *err)
{
    if (!id || strlen (id) != IH_SESSION_ID)
        return 0;
    uint8_t key [32];
    s_session_key (id, key);
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return s_mdb (rc, "read", err);
    MDB_val k = s_val (key, 32), v;
    rc = mdb_get (txn, self->sessions, &k, &v);
    bool found = rc == 0 && s_session_parse (&k, &v, s);
    mdb_txn_abort (txn);
    if (rc && rc != MDB_NOTFOUND)
        return s_mdb (rc, "read", err);
    if (!found)
        return 0;
    bool expired = s_expired (s, now);
    if (!expired && now - s->seen < 30000)
        return 1;               //  seen recently: no write for every request
    //  Expired: delete it; live: move its idle clock on.
    if ((rc = mdb_txn_begin (self->env, NULL, 0, &txn)))
        return s_mdb (rc, "write", err);
    if (expired)
        rc = mdb_del (txn, self->sessions, &k, NULL);
    else {
        s->seen = now;
        char *text = s_session_json (s);
        MDB_val nv = s_val (text, strlen (text));
        rc = mdb_put (txn, self->sessions, &k, &nv, 0);
        free (text);
    }
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    if (rc)
        return s_mdb (rc, "write", err);
    return expired ? 0 : 1;
}

static int
s_del_key (ih_users_t *self, const uint8_t key [32], ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_mdb (rc, "write", err);
    MDB_val k = s_val (key, 32);
    rc = mdb_del (txn, self->sessions, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort (txn);
        return 0;
    }
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    return rc ? s_mdb (rc, "write", err) : 1;
}

int
ih_users_session_end (ih_users_t *self, const char *id, ih_err_t *err)
{
    if (!id || strlen (id) != IH_SESSION_ID)
        return 0;
    uint8_t key [32];
    s_session_key (id, key);
    return s_del_key (self, key, err);
}

/*  Walks every session; fn decides (returns 1 to delete, 0 to keep, <0 to stop). */
typedef int (s_walk_fn)(const ih_session_t *s, void *arg);

static int
s_walk (ih_users_t *self, s_walk_fn *fn, void *arg, ih_err_t *err)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_mdb (rc, "write", err);
    if ((rc = mdb_cursor_open (txn, self->sessions, &cur))) {
        mdb_txn_abort (txn);
        return s_mdb (rc, "write", err);
    }
    MDB_val k, v;
    int deleted = 0, ret = 0;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        ih_session_t s;
        if (!s_session_parse (&k, &v, &s))
            continue;
        int d = fn (&s, arg);
        if (d < 0) {
            ret = d;
            break;
        }
        if (d > 0 && mdb_cursor_del (cur, 0) == 0)
            deleted++;
    }
    mdb_cursor_close (cur);
    if (ret < 0 && ret != -1)
        rc = 0;
    rc = mdb_txn_commit (txn);
    if (rc)
        return s_mdb (rc, "write", err);
    return ret < 0 ? ret : deleted;
}

typedef struct {
    const char *user, *handle;
    char except_handle [17];
    int64_t now;
    ih_session_fn *fn;
    void *arg;
    int fn_rc;
} s_match_t;

static int
s_end_all_one (const ih_session_t *s, void *arg)
{
    s_match_t *m = (s_match_t *) arg;
    return streq (s->user, m->user) && !streq (s->handle, m->except_handle);
}

int
ih_users_session_end_all (ih_users_t *self, const char *user, const char *except, ih_err_t *err)
{
    s_match_t m = { user, NULL, "", 0, NULL, NULL, 0 };
    if (except && strlen (except) == IH_SESSION_ID) {
        uint8_t key [32];
        s_session_key (except, key);
        ih_hex_encode (key, 8, m.except_handle);
    }
    return s_walk (self, s_end_all_one, &m, err);
}

static int
s_end_pending_one (const ih_session_t *s, void *arg)
{
    s_match_t *m = (s_match_t *) arg;
    return streq (s->user, m->user) && !s->full && !streq (s->handle, m->except_handle);
}

int
ih_users_session_end_pending (ih_users_t *self, const char *user, const char *except, ih_err_t *err)
{
    s_match_t m = { user, NULL, "", 0, NULL, NULL, 0 };
    if (except && strlen (except) == IH_SESSION_ID) {
        uint8_t key [32];
        s_session_key (except, key);
        ih_hex_encode (key, 8, m.except_handle);
    }
    return s_walk (self, s_end_pending_one, &m, err);
}

static int
s_end_handle_one (const ih_session_t *s, void *arg)
{
    s_match_t *m = (s_match_t *) arg;
    return streq (s->user, m->user) && streq (s->handle, m->handle);
}

int
ih_users_session_end_handle (ih_users_t *self, const char *user, const char *handle, ih_err_t *err)
{
    if (!handle || strlen (handle) != 16)
        return 0;
    s_match_t m = { user, handle, "", 0, NULL, NULL, 0 };
    return s_walk (self, s_end_handle_one, &m, err);
}

static int
s_list_one (const ih_session_t *s, void *arg)
{
    s_match_t *m = (s_match_t *) arg;
    if (s_expired (s, m->now))
        return 1;               //  tidy up on the way
    if (streq (s->user, m->user) && s->full && m->fn_rc == 0)
        m->fn_rc = m->fn (s, m->arg);
    return 0;
}

int
ih_users_sessions_of (ih_users_t *self, const char *user, int64_t now, ih_session_fn *fn, void *arg,
                      ih_err_t *err)
{
    s_match_t m = { user, NULL, "", now, fn, arg, 0 };
    int rc = s_walk (self, s_list_one, &m, err);
    return rc < 0 ? rc : m.fn_rc;
}

/* ---- throttle ------------------------------------------------------------------------------------------ */

typedef struct {
    uint32_t failures;
    int64_t first, until;
} s_throttle_t;

static int
s_throttle_read (MDB_txn *txn, MDB_dbi dbi, const char *key, s_throttle_t *t)
{
    memset (t, 0, sizeof *t);
    MDB_val k = s_val (key, strlen (key)), v;
    int rc = mdb_get (txn, dbi, &k, &v);
    if (rc == 0 && v.mv_size == 20) {
        const uint8_t *p = (const uint8_t *) v.mv_data;
        t->failures = ih_get_le32 (p);
        t->first = (int64_t) ih_get_le64 (p + 4);
        t->until = (int64_t) ih_get_le64 (p + 12);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
ih_users_throttle_check (ih_users_t *self, const char *key, int64_t now, int64_t *retry_ms,
                         bool *locked, ih_err_t *err)
{
    *retry_ms = 0;
    *locked = false;
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return s_mdb (rc, "read", err);
    s_throttle_t t;
    rc = s_throttle_read (txn, self->throttle, key, &t);
    mdb_txn_abort (txn);
    if (rc)
        return s_mdb (rc, "read", err);
    if (t.failures == 0 || now - t.first >= IH_THROTTLE_WINDOW_MS)
        return 1;
    if (t.failures >= IH_THROTTLE_MAX) {
        *locked = true;
        *retry_ms = t.first + IH_THROTTLE_WINDOW_MS - now;
        return 0;
    }
    if (now < t.until) {
        *retry_ms = t.until - now;
        return 0;
    }
    return 1;
}

int
ih_users_throttle_fail (ih_users_t *self, const char *key, int64_t now, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_mdb (rc, "write", err);
    s_throttle_t t;
    if ((rc = s_throttle_read (txn, self->throttle, key, &t))) {
        mdb_txn_abort (txn);
        return s_mdb (rc, "read", err);
    }
    if (t.failures == 0 || now - t.first >= IH_THROTTLE_WINDOW_MS) {
        t.failures = 0;
        t.first = now;
    }
    t.failures++;
    //  The 4th failure and later: wait 1, 2, 4 … seconds, at most a minute.
    int64_t wait = 0;
    if (t.failures >= 4) {
        int shift = (int) t.failures - 4;
        wait = shift >= 6 ? 60000 : 1000LL << shift;
    }
    t.until = now + wait;
    uint8_t b [20];
    ih_put_le32 (b, t.failures);
    ih_put_le64 (b + 4, (uint64_t) t.first);
    ih_put_le64 (b + 12, (uint64_t) t.until);
    MDB_val k = s_val (key, strlen (key)), v = s_val (b, sizeof b);
    rc = mdb_put (txn, self->throttle, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    return rc ? s_mdb (rc, "write", err) : (int) t.failures;
}

int
ih_users_throttle_clear (ih_users_t *self, const char *key, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return s_mdb (rc, "write", err);
    MDB_val k = s_val (key, strlen (key));
    rc = mdb_del (txn, self->throttle, &k, NULL);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else {
        mdb_txn_abort (txn);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    return rc ? s_mdb (rc, "write", err) : 0;
}

/* ---- self-test ---------------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static int
s_t_count (const ih_session_t *s, void *arg)
{
    (void) s;
    (*(int *) arg)++;
    return 0;
}

static int
s_t_names (const ih_user_t *u, void *arg)
{
    ih_buf_printf ((ih_buf_t *) arg, "%s:%s;", u->name, ih_user_role_name (u->role));
    return 0;
}

void
ih_users_test (bool verbose)
{
    char dir [256];
    ih_tk_tempdir ("users", dir, sizeof dir);
    ih_err_t err = { "" };
    ih_users_t *db = ih_users_open (dir, &err);
    IH_CHECK (db);

    //  The password policy.
    const struct { const char *pw; const char *why; } bad [] = {
        { "short", "too short" }, { "elevenchars", "too short" },
        { "Password2024!", "too common" }, { "qwertyuiop123", "too common" },
        { "aaaaaaaaaaaaaaaa", "too common" }, { "alicealice12", "user name" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        IH_CHECK (ih_users_password_policy (bad [i].pw, "alice", &err) == -1);
        if (verbose)
            printf ("\n    %s", err.msg);
        IH_CHECK (strstr (err.msg, bad [i].why));
    }
    IH_CHECK (ih_users_password_policy ("harbour lights at dusk", "alice", &err) == 0);
    IH_CHECK (ih_users_password_policy ("密碼是很長的一句話就好了", "alice", &err) == 0);   //  12 characters

    //  A user: create, read back, duplicate name, list, the argon2id hash.
    ih_user_t u;
    memset (&u, 0, sizeof u);
    snprintf (u.name, sizeof u.name, "alice");
    snprintf (u.display, sizeof u.display, "Alice Chan (SOC)");
    u.role = IH_USER_PUBLISHER;
    u.created = ih_now_ms ();
    IH_CHECK (ih_users_password_set (&u, "harbour lights at dusk", &err) == 0);
    IH_CHECK (strncmp (u.pwhash, "$argon2id$v=19$m=65536,t=2,", 27) == 0);
    uint8_t secret [IH_TOTP_SECRET], key [IH_TOTP_KEY];
    ih_totp_secret_new (secret);
    randombytes_buf (key, sizeof key);
    ih_totp_seal (key, secret, u.totp);
    char codes [IH_USER_RECOVERY][20];
    ih_users_recovery_new (&u, codes);
    IH_CHECK (ih_users_put (db, &u, true, &err) == 0);
    IH_CHECK (ih_users_put (db, &u, true, &err) == -1 && strstr (err.msg, "exists"));
    ih_user_t bob = u;
    snprintf (bob.name, sizeof bob.name, "bob");
    bob.role = IH_USER_ANALYST;
    IH_CHECK (ih_users_put (db, &bob, true, &err) == 0);
    snprintf (bob.name, sizeof bob.name, "Bad Name");
    IH_CHECK (ih_users_put (db, &bob, true, &err) == -1 && strstr (err.msg, "user name"));
    ih_user_t got;
    IH_CHECK (ih_users_get (db, "alice", &got, &err) == 1);
    IH_CHECK (streq (got.display, u.display) && got.role == IH_USER_PUBLISHER);
    IH_CHECK (memcmp (got.totp, u.totp, sizeof u.totp) == 0 && ih_users_recovery_left (&got) == 10);
    IH_CHECK (ih_users_get (db, "nobody", &got, &err) == 0);
    ih_buf_t names;
    ih_buf_init (&names);
    IH_CHECK (ih_users_foreach (db, s_t_names, &names, &err) == 0);
    ih_buf_append (&names, "", 1);
    IH_CHECK (streq ((char *) names.data, "alice:publisher;bob:analyst;"));
    ih_buf_free (&names);

    //  Passwords: right, wrong, and an unknown user costs the same hash.
    IH_CHECK (ih_users_password_verify (&got, "harbour lights at dusk"));
    IH_CHECK (!ih_users_password_verify (&got, "harbour lights at dawn"));
    int64_t t0 = ih_now_ms ();
    IH_CHECK (!ih_users_password_verify (NULL, "harbour lights at dusk"));
    int64_t t_unknown = ih_now_ms () - t0;
    t0 = ih_now_ms ();
    IH_CHECK (!ih_users_password_verify (&got, "wrong password here"));
    int64_t t_wrong = ih_now_ms () - t0;
    if (verbose)
        printf ("\n    argon2id: unknown user %lld ms, wrong password %lld ms",
                (long long) t_unknown, (long long) t_wrong);

    //  Recovery codes: each once, dashes and case ignored.
    char upper [20];
    snprintf (upper, sizeof upper, "%s", codes [3]);
    for (char *p = upper; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
    IH_CHECK (ih_users_recovery_use (&got, upper));
    IH_CHECK (!ih_users_recovery_use (&got, codes [3]));
    IH_CHECK (ih_users_recovery_left (&got) == 9 && !ih_users_recovery_use (&got, "abcd-efgh-jkmn-pqrs"));

    //  TOTP steps: a newer step passes once; the same or an older one is a reuse.
    IH_CHECK (ih_users_totp_step (db, "alice", 1000, &err) == 1);
    IH_CHECK (ih_users_totp_step (db, "alice", 1000, &err) == 0);
    IH_CHECK (ih_users_totp_step (db, "alice", 999, &err) == 0);
    IH_CHECK (ih_users_totp_step (db, "alice", 1001, &err) == 1);
    IH_CHECK (ih_users_get (db, "alice", &got, &err) == 1 && got.last_step == 1001 && got.reuse_seen == 2);
    IH_CHECK (ih_users_totp_step (db, "nobody", 5, &err) == -1);

    //  Sessions: pending expires after 5 minutes, full after 30 idle or 12 h in all; the
    //  id is not stored; end one, end by handle, end all but one.
    char id [IH_SESSION_ID + 1], id2 [IH_SESSION_ID + 1], id3 [IH_SESSION_ID + 1];
    ih_session_t s;
    IH_CHECK (ih_users_session_new (db, "alice", false, "127.0.0.1", id, &s, &err) == 0);
    IH_CHECK (strlen (id) == IH_SESSION_ID && strlen (s.csrf) == IH_SESSION_ID && !s.full);
    int64_t now = s.created;
    IH_CHECK (ih_users_session_get (db, id, now + 1000, &s, &err) == 1 && !s.full);
    IH_CHECK (ih_users_session_get (db, id, now + IH_SESSION_PENDING_MS + 1, &s, &err) == 0);
    IH_CHECK (ih_users_session_get (db, id, now, &s, &err) == 0);      //  deleted
    IH_CHECK (ih_users_session_new (db, "alice", true, "127.0.0.1", id, &s, &err) == 0);
    now = s.created;
    IH_CHECK (ih_users_session_get (db, id, now + IH_SESSION_IDLE_MS - 1000, &s, &err) == 1);
    IH_CHECK (s.seen == now + IH_SESSION_IDLE_MS - 1000);               //  the idle clock moved
    IH_CHECK (ih_users_session_get (db, id, now + 2 * IH_SESSION_IDLE_MS - 2000, &s, &err) == 1);
    IH_CHECK (ih_users_session_get (db, id, now + IH_SESSION_MAX_MS + 1, &s, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "alice", true, "127.0.0.1", id, &s, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "alice", true, "10.0.0.2", id2, &s, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "alice", true, "10.0.0.3", id3, &s, &err) == 0);
    char handle3 [17];
    snprintf (handle3, sizeof handle3, "%s", s.handle);
    int count = 0;
    IH_CHECK (ih_users_sessions_of (db, "alice", ih_now_ms (), s_t_count, &count, &err) == 0 && count == 3);
    IH_CHECK (ih_users_session_end_handle (db, "bob", handle3, &err) == 0);   //  not bob's
    IH_CHECK (ih_users_session_end_handle (db, "alice", handle3, &err) == 1);
    IH_CHECK (ih_users_session_get (db, id3, ih_now_ms (), &s, &err) == 0);
    IH_CHECK (ih_users_session_end (db, id2, &err) == 1 && ih_users_session_end (db, id2, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "alice", true, "10.0.0.4", id2, &s, &err) == 0);
    IH_CHECK (ih_users_session_end_all (db, "alice", id, &err) == 1);
    IH_CHECK (ih_users_session_get (db, id, ih_now_ms (), &s, &err) == 1);
    IH_CHECK (ih_users_session_get (db, "not-a-session-id", ih_now_ms (), &s, &err) == 0);
    //  One pending session at a time: a password success ends the user's other pending
    //  sessions, not its full ones, nor anyone else's.
    char p1 [IH_SESSION_ID + 1], p2 [IH_SESSION_ID + 1], p3 [IH_SESSION_ID + 1], pb [IH_SESSION_ID + 1];
    IH_CHECK (ih_users_session_new (db, "alice", false, "10.0.0.5", p1, &s, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "alice", false, "10.0.0.6", p2, &s, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "bob", false, "10.0.0.7", pb, &s, &err) == 0);
    IH_CHECK (ih_users_session_new (db, "alice", false, "10.0.0.8", p3, &s, &err) == 0);
    IH_CHECK (ih_users_session_end_pending (db, "alice", p3, &err) == 2);
    IH_CHECK (ih_users_session_get (db, p1, ih_now_ms (), &s, &err) == 0);
    IH_CHECK (ih_users_session_get (db, p2, ih_now_ms (), &s, &err) == 0);
    IH_CHECK (ih_users_session_get (db, p3, ih_now_ms (), &s, &err) == 1 && !s.full);
    IH_CHECK (ih_users_session_get (db, pb, ih_now_ms (), &s, &err) == 1);
    IH_CHECK (ih_users_session_get (db, id, ih_now_ms (), &s, &err) == 1 && s.full);
    IH_CHECK (ih_users_session_end_pending (db, "alice", NULL, &err) == 1);
    IH_CHECK (ih_users_session_get (db, p3, ih_now_ms (), &s, &err) == 0);
    IH_CHECK (ih_users_session_end (db, pb, &err) == 1);
    //  Removing a user ends its sessions.
    IH_CHECK (ih_users_remove (db, "alice", &err) == 1 && ih_users_remove (db, "alice", &err) == 0);
    IH_CHECK (ih_users_session_get (db, id, ih_now_ms (), &s, &err) == 0);

    //  The throttle: 3 free failures, then 1 s, 2 s …; refused at 10 until the window ends;
    //  cleared by a success; a new window after 15 minutes.
    int64_t retry;
    bool locked;
    now = 1800000000000LL;
    for (int i = 1; i <= 3; i++) {
        IH_CHECK (ih_users_throttle_check (db, "u:bob", now, &retry, &locked, &err) == 1);
        IH_CHECK (ih_users_throttle_fail (db, "u:bob", now, &err) == i);
    }
    IH_CHECK (ih_users_throttle_check (db, "u:bob", now, &retry, &locked, &err) == 1);
    IH_CHECK (ih_users_throttle_fail (db, "u:bob", now, &err) == 4);
    IH_CHECK (ih_users_throttle_check (db, "u:bob", now, &retry, &locked, &err) == 0 && retry == 1000 && !locked);
    IH_CHECK (ih_users_throttle_check (db, "u:bob", now + 1000, &retry, &locked, &err) == 1);
    for (int i = 5; i <= 10; i++)
        IH_CHECK (ih_users_throttle_fail (db, "u:bob", now, &err) == i);
    IH_CHECK (ih_users_throttle_check (db, "u:bob", now + 120000, &retry, &locked, &err) == 0 && locked);
    IH_CHECK (retry == IH_THROTTLE_WINDOW_MS - 120000);
    IH_CHECK (ih_users_throttle_check (db, "u:bob", now + IH_THROTTLE_WINDOW_MS, &retry, &locked, &err) == 1);
    IH_CHECK (ih_users_throttle_check (db, "a:10.0.0.9", now, &retry, &locked, &err) == 1);
    IH_CHECK (ih_users_throttle_clear (db, "u:bob", &err) == 0);
    IH_CHECK (ih_users_throttle_check (db, "u:bob", now, &retry, &locked, &err) == 1);

    ih_users_destroy (&db);
    ih_users_destroy (&db);
    //  Reopens with what was stored.
    db = ih_users_open (dir, &err);
    IH_CHECK (db && ih_users_get (db, "bob", &got, &err) == 1);
    ih_users_destroy (&db);
    sodium_memzero (&u, sizeof u);
    ih_tk_rmtree (dir);
}
#endif

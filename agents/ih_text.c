/*  ih_text.c: words and terms of alert text (ih_text.h). */
#include <czmq.h>
#include <libstemmer.h>
#include <pthread.h>

#include "ih_text.h"

struct ih_text {
    struct sb_stemmer *stemmer;
};

/* ---- Traditional to Simplified -------------------------------------------------------------- */

/*  Pairs of (Traditional, Simplified) characters, the common ones of security reports
    and of everyday text around them. Not a converter: only what makes the same word
    the same term in both scripts; a character missing here only costs a little recall. */
static const char s_fold_pairs [] =
    "釣钓魚鱼電电郵邮軟软訊讯網网絡络擊击碼码帳账號号資资數数據据銀银證证書书駭骇惡恶"
    "腦脑統统戶户險险務务請请個个們们來来時时會会對对於于與与為为這这裡里後后發发現现"
    "經经過过還还進进開开關关應应處处點点從从將将當当傳传鏈链連连結结頁页幣币錢钱轉转"
    "騙骗詐诈偽伪贖赎體体檔档夾夹庫库機机構构醫医療疗護护區区際际國国內内圖图報报導导"
    "議议題题問问補补復复級级嚴严緊紧驗验認认識识別别錄录憑凭竊窃洩泄雲云動动態态員员"
    "業业貸贷詢询單单遞递運运輸输載载殺杀執执權权獲获橫横斷断線线殭僵屍尸協协層层門门"
    "偵侦測测監监視视佈布設设備备裝装韌韧錯错誤误緩缓衝冲遠远繞绕舊旧響响範范圍围產产"
    "廠厂係系漢汉語语詞词彙汇覽览瀏浏擴扩觸触聯联購购買买賣卖價价費费貨货換换詳详細细"
    "說说況况狀状總总組组織织團团隊队專专學学師师職职領领讀读寫写鎖锁閉闭離离複复製制"
    "刪删記记誌志陰阴卷卷邊边廣广東东車车長长門门間间題题頭头歲岁氣气問问麼么樣样種种"
    "實实點点須须寶宝嚇吓聲声壞坏營营銷销險险庫库員员務务匯汇額额賬账戶户碼码頻频竄窜"
    "攔拦截截鏡镜讓让認认證证憑凭竊窃盜盗騙骗詐诈議议漏漏補补丁丁釋释稱称類类標标準准"
    "實实際际檢检查查閱阅覽览訪访問问題题雜杂亂乱黨党勢势態态險险興兴錄录灣湾澳澳門门"
    "臺台萬万億亿歷历際际幾几慮虑擔担憂忧緒绪穩稳優优勢势壓压縮缩碼码鑰钥匙匙簽签署署"
    "級级並并佔占於于當当則则須须無无條条規规範范習习慣惯節节範范圍围護护衛卫陸陆"
    "見见調调誰谁續续儲储該该絕绝攝摄戲戏極极靜静鍵键歸归徑径處处時时後后裡里麼么";

typedef struct { uint32_t from, to; } s_fold_t;
static s_fold_t s_fold [512];
static size_t s_nfold;
static pthread_once_t s_fold_once = PTHREAD_ONCE_INIT;

/*  One UTF-8 code point at p (n bytes left): its value, *len its length (1 for a bad
    byte, which then counts as U+FFFD). */
static uint32_t
s_utf8 (const unsigned char *p, size_t n, size_t *len)
{
    uint32_t c = p [0];
    size_t need = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (need == 0 || need > n) {
        *len = 1;
        return 0xfffd;
    }
    if (need == 1) {
        *len = 1;
        return c;
    }
    c &= 0x3fu >> (need - 1);
    for (size_t i = 1; i < need; i++) {
        if ((p [i] & 0xc0) != 0x80) {
            *len = 1;
            return 0xfffd;
        }
        c = (c << 6) | (p [i] & 0x3fu);
    }
    *len = need;
    return c;
}

static size_t
s_put_utf8 (uint32_t c, char *out)
{
    if (c < 0x80) {
        out [0] = (char) c;
        return 1;
    }
    if (c < 0x800) {
        out [0] = (char) (0xc0 | (c >> 6));
        out [1] = (char) (0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out [0] = (char) (0xe0 | (c >> 12));
        out [1] = (char) (0x80 | ((c >> 6) & 0x3f));
        out [2] = (char) (0x80 | (c & 0x3f));
        return 3;
    }
    out [0] = (char) (0xf0 | (c >> 18));
    out [1] = (char) (0x80 | ((c >> 12) & 0x3f));
    out [2] = (char) (0x80 | ((c >> 6) & 0x3f));
    out [3] = (char) (0x80 | (c & 0x3f));
    return 4;
}

static int
s_fold_cmp (const void *a, const void *b)
{
    uint32_t x = ((const s_fold_t *) a)->from, y = ((const s_fold_t *) b)->from;
    return x < y ? -1 : x > y;
}

static void
s_fold_load (void)
{
    const unsigned char *p = (const unsigned char *) s_fold_pairs;
    size_t n = sizeof s_fold_pairs - 1;
    while (n > 0 && s_nfold < sizeof s_fold / sizeof s_fold [0]) {
        size_t l1, l2;
        uint32_t from = s_utf8 (p, n, &l1);
        if (l1 >= n)
            break;
        uint32_t to = s_utf8 (p + l1, n - l1, &l2);
        p += l1 + l2;
        n -= l1 + l2;
        if (from != to)
            s_fold [s_nfold++] = (s_fold_t) { from, to };
    }
    qsort (s_fold, s_nfold, sizeof s_fold [0], s_fold_cmp);
}

static uint32_t
s_fold_char (uint32_t c)
{
    pthread_once (&s_fold_once, s_fold_load);
    s_fold_t key = { c, 0 };
    const s_fold_t *f = (const s_fold_t *) bsearch (&key, s_fold, s_nfold, sizeof s_fold [0], s_fold_cmp);
    return f ? f->to : c;
}

static bool
s_cjk (uint32_t c)
{
    return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff);
}

/* ---- words ----------------------------------------------------------------------------------- */

uint64_t
ih_text_hash (const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *) data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p [i];
        h *= 1099511628211ULL;
    }
    return h;
}

ih_text_t *
ih_text_new (void)
{
    ih_text_t *self = (ih_text_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->stemmer = sb_stemmer_new ("english", "UTF_8");
    if (!self->stemmer) {
        free (self);
        return NULL;
    }
    return self;
}

void
ih_text_destroy (ih_text_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sb_stemmer_delete ((*self_p)->stemmer);
    free (*self_p);
    *self_p = NULL;
}

/*  A word worth keeping: not a number, not one letter, not a hash, not too long. */
static bool
s_keep (const char *w, size_t n)
{
    if (n < 2 || n > 40)
        return false;
    size_t digits = 0, hex = 0;
    for (size_t i = 0; i < n; i++) {
        digits += isdigit ((unsigned char) w [i]) != 0;
        hex += isxdigit ((unsigned char) w [i]) != 0;
    }
    return digits < n && !(n >= 16 && hex == n);
}

/*  Calls fn (word, len, cjk) for each word. */
typedef int (s_word_fn)(const char *w, size_t n, bool cjk, void *arg);

static int
s_words (const char *text, size_t len, s_word_fn *fn, void *arg)
{
    const unsigned char *p = (const unsigned char *) text;
    char w [64];
    size_t wn = 0;
    bool wbad = false;
    int rc = 0;
    for (size_t i = 0; i <= len && rc == 0; ) {
        size_t cl = 1;
        uint32_t c = i < len ? s_utf8 (p + i, len - i, &cl) : 0;
        bool ascii_word = c < 0x80 && isalnum ((int) c);
        bool other_letter = c >= 0x80 && !s_cjk (c) && c != 0xfffd && !(c >= 0x2000 && c <= 0x2bff)
                         && !(c >= 0x3000 && c <= 0x303f) && !(c >= 0xff00 && c <= 0xffef);
        if (ascii_word || other_letter) {
            if (wn + cl < sizeof w) {
                if (ascii_word)
                    w [wn++] = (char) tolower ((int) c);
                else {
                    memcpy (w + wn, p + i, cl);
                    wn += cl;
                }
            }
            else
                wbad = true;
            i += cl;
            continue;
        }
        if (wn) {
            w [wn] = 0;
            if (!wbad && s_keep (w, wn))
                rc = fn (w, wn, false, arg);
            wn = 0;
            wbad = false;
        }
        if (rc == 0 && s_cjk (c)) {
            char cw [5];
            size_t n = s_put_utf8 (s_fold_char (c), cw);
            cw [n] = 0;
            rc = fn (cw, n, true, arg);
        }
        else
        if (rc == 0 && i < len)
            rc = fn (NULL, 0, false, arg);     //  a break: punctuation, space
        i += cl;
    }
    return rc;
}

typedef struct {
    ih_text_fn *fn;
    void *arg;
} s_words_t;

static int
s_on_word (const char *w, size_t n, bool cjk, void *arg)
{
    s_words_t *s = (s_words_t *) arg;
    return w ? s->fn (w, n, s->arg) : 0;
}

int
ih_text_words (ih_text_t *self, const char *text, size_t len, ih_text_fn *fn, void *arg)
{
    s_words_t s = { fn, arg };
    return s_words (text, len, s_on_word, &s);
}

/* ---- terms ----------------------------------------------------------------------------------- */

static const char *s_stop [] = {
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
    "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "if",
    "in", "into", "is", "it", "its", "itself", "just", "may", "me", "more", "most", "must", "my", "no",
    "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over",
    "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs",
    "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
    "until", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "you", "your", "yours", NULL
};

static bool
s_stopword (const char *w)
{
    //  The list is sorted: a binary search.
    size_t lo = 0, hi = sizeof s_stop / sizeof s_stop [0] - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp (w, s_stop [mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

typedef struct {
    ih_text_t *self;
    ih_text_fn *fn;
    void *arg;
    char prev [IH_TEXT_TERM_MAX];       /* the previous stem, or CJK character; "" after a break */
    bool prev_cjk;
} s_terms_t;

static int
s_on_term_word (const char *w, size_t n, bool cjk, void *arg)
{
    s_terms_t *s = (s_terms_t *) arg;
    char term [IH_TEXT_TERM_MAX * 2 + 2];
    int rc = 0;
    if (!w) {
        //  A break ends CJK bigrams (punctuation between characters); English bigrams go
        //  on over spaces.
        if (s->prev_cjk)
            s->prev [0] = 0;
        return 0;
    }
    const char *t = w;
    size_t tn = n;
    if (!cjk) {
        if (s_stopword (w))
            return 0;
        const sb_symbol *st = sb_stemmer_stem (s->self->stemmer, (const sb_symbol *) w, (int) n);
        if (st) {
            t = (const char *) st;
            tn = (size_t) sb_stemmer_length (s->self->stemmer);
        }
        if (tn == 0 || tn >= IH_TEXT_TERM_MAX / 2)
            return 0;
    }
    char one [IH_TEXT_TERM_MAX];
    memcpy (one, t, tn);
    one [tn] = 0;
    rc = s->fn (one, tn, s->arg);
    if (rc == 0 && s->prev [0] && s->prev_cjk == cjk) {
        size_t pn = strlen (s->prev);
        size_t k = 0;
        memcpy (term, s->prev, pn);
        k = pn;
        if (!cjk)
            term [k++] = ' ';
        memcpy (term + k, one, tn);
        k += tn;
        term [k] = 0;
        rc = s->fn (term, k, s->arg);
    }
    memcpy (s->prev, one, tn + 1);
    s->prev_cjk = cjk;
    return rc;
}

int
ih_text_terms (ih_text_t *self, const char *text, size_t len, ih_text_fn *fn, void *arg)
{
    s_terms_t s = { self, fn, arg, "", false };
    return s_words (text, len, s_on_term_word, &s);
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

typedef struct {
    char all [2048];
} s_tcat_t;

static int
s_tcat (const char *item, size_t len, void *arg)
{
    s_tcat_t *t = (s_tcat_t *) arg;
    IH_CHECK (strlen (item) == len);
    size_t n = strlen (t->all);
    snprintf (t->all + n, sizeof t->all - n, "%s|", item);
    return 0;
}

void
ih_text_test (bool verbose)
{
    //  The stop-word list must stay sorted (binary search).
    for (size_t i = 1; s_stop [i]; i++)
        IH_CHECK (strcmp (s_stop [i - 1], s_stop [i]) < 0);
    ih_text_t *t = ih_text_new ();
    IH_CHECK (t);
    s_tcat_t c = { "" };
    const char *en = "The encryptor deleted Shadow Copies (T1490) on 14 hosts; hash "
                     "5f2b9c0e7a4d1e3f8b6c2a9d0e1f3a7b.";
    IH_CHECK (ih_text_terms (t, en, strlen (en), s_tcat, &c) == 0);
    if (verbose)
        printf ("\n  %s\n", c.all);
    fflush (stdout);
    IH_CHECK (streq (c.all, "encryptor|delet|encryptor delet|shadow|delet shadow|copi|shadow copi|"
                            "t1490|copi t1490|host|t1490 host|hash|host hash|"));
    //  Traditional and Simplified meet; CJK bigrams; mixed text.
    memset (&c, 0, sizeof c);
    const char *hant = "釣魚電郵，landing page";
    IH_CHECK (ih_text_terms (t, hant, strlen (hant), s_tcat, &c) == 0);
    s_tcat_t d = { "" };
    const char *hans = "钓鱼电邮，landing page";
    IH_CHECK (ih_text_terms (t, hans, strlen (hans), s_tcat, &d) == 0);
    if (verbose)
        printf ("  %s\n  %s\n", c.all, d.all);
    IH_CHECK (streq (c.all, d.all));
    IH_CHECK (streq (c.all, "钓|鱼|钓鱼|电|鱼电|邮|电邮|land|page|land page|"));
    //  Words: in order, nothing dropped but numbers, hashes and one letter.
    memset (&c, 0, sizeof c);
    IH_CHECK (ih_text_words (t, "A the X 42 勒索軟件 Café", 29, s_tcat, &c) == 0);
    IH_CHECK (streq (c.all, "the|勒|索|软|件|café|"));
    //  Bad UTF-8 and the stop value of fn.
    memset (&c, 0, sizeof c);
    IH_CHECK (ih_text_terms (t, "ab\xff\xfe cd \xe4\xb8", 10, s_tcat, &c) == 0);
    IH_CHECK (ih_text_hash ("a", 1) != ih_text_hash ("b", 1));
    ih_text_destroy (&t);
    ih_text_destroy (&t);
}
#endif

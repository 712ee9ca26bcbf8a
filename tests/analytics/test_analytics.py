"""The text analytics end to end (issue 13): a real broker and agent fed the labelled corpus
(config/corpus), then train -> analyse -> eval with a held-out split by source document,
related alerts finding a planted near-duplicate, Chinese text, a missing or stale model,
and the daemon retraining in the background. The extraction corpus runs first.

Nothing here is tuned to the corpus: every figure asserted is relative to a baseline the
test computes itself (the majority class of the training alerts)."""
import collections
import json
import os
import subprocess

import pytest

import corpus
import gwutil

cf = gwutil.cf
BIN = cf.BIN
SELFTEST = os.path.join(BIN, "ih-selftest")
KEYS = {"iocs", "category", "tags", "sectors", "severity", "related"}

ZH_HANT_PHISHING = ("釣魚電郵冒充銀行通知客戶更新資料\n"
                    "多間會員銀行的客戶收到釣魚電郵，聲稱帳戶將被凍結，要求點擊連結登入網上銀行並輸入"
                    "一次性密碼。仿冒網站 hk-bank-verify[.]top 收集帳戶密碼。請提醒客戶切勿點擊連結。")
ZH_HANS_PHISHING = ("钓鱼邮件冒充银行通知客户更新资料\n"
                    "多家会员银行的客户收到钓鱼邮件，声称账户将被冻结，要求点击链接登录网上银行并输入"
                    "一次性密码。仿冒网站 cn-bank-verify[.]top 收集账户密码。请提醒客户切勿点击链接。")


def test_extraction_corpus():
    """Every case of tests/analytics/extract_cases.jsonl (the C self-test prints each
    failing case with what was expected and what came out)."""
    cf.need(SELFTEST)
    r = subprocess.run([SELFTEST, "extract_corpus"], capture_output=True, text=True, timeout=120,
                       cwd=cf.ROOT)
    print(r.stdout[-20000:], r.stderr[-5000:])
    assert r.returncode == 0, "extraction cases fail:\n" + r.stdout[-20000:]
    assert "212 of 212 extraction cases pass" in r.stdout


def _analyse(deploy, member, text, check=True):
    r = deploy.agent_cmd(member, "analyse", "--json", "-", input=text.encode(), check=check)
    return json.loads(r.stdout.decode()), r.stderr.decode()


def _shape(out):
    assert set(out) == KEYS, out.keys()
    for f in ("category", "tags", "sectors", "severity"):
        assert len(out[f]) <= 5
        for e in out[f]:
            assert set(e) == {"label", "p", "suggested"} and isinstance(e["suggested"], bool)
            assert 0 <= e["p"] <= 1
        ps = [e["p"] for e in out[f]]
        assert ps == sorted(ps, reverse=True)
    for r in out["related"]:
        assert {"id", "title", "score", "near_duplicate"} <= set(r)
    for i in out["iocs"]:
        assert {"type", "value", "warninglist"} <= set(i)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A deployment whose publisher holds the corpus minus the held-out source documents,
    and a model trained on it with `model train`."""
    d = cf.Deployment(tmp_path_factory.mktemp("analytics"))
    d.init()
    try:
        pub = d.add_member("soc", "bank-a", sector="finance", role="publisher")
        fresh = d.add_member("noc", "bank-b", sector="finance", role="reader")
        d.start_broker()
        d.start_agent(pub)      # fresh's daemon never runs: it has neither store nor model
        alerts = corpus.load()
        train, held = corpus.split(alerts)
        ids = corpus.publish(d, pub, [alerts[i] for i in train])
        corpus.wait_stored(d, pub, len(train))
        r = d.agent_cmd(pub, "model", "train", timeout=300)
        yield {"deploy": d, "pub": pub, "fresh": fresh, "alerts": alerts, "train": train, "held": held,
               "ids": dict(zip(train, ids)), "train_log": r.stderr.decode()}
    finally:
        d.teardown()


@pytest.mark.timeout(600)
def test_learns_above_the_majority_baseline_on_held_out_documents(trained):
    d, pub, alerts = trained["deploy"], trained["pub"], trained["alerts"]
    train, held = trained["train"], trained["held"]
    assert "model trained on %d alerts" % len(train) in trained["train_log"]
    train_cats = collections.Counter(alerts[i]["category"] for i in train)
    majority = train_cats.most_common(1)[0][0]
    tag_counts = collections.Counter(t for i in train for t in alerts[i].get("tags", []))
    top_tag = tag_counts.most_common(1)[0][0]
    right = base_right = 0
    tp = fp = fn = 0
    base_tp = base_fp = base_fn = 0
    sugg = sugg_right = 0
    top1 = base_top1 = 0
    for i in held:
        a = alerts[i]
        out, _ = _analyse(d, pub, a["title"] + "\n" + a.get("summary", ""))
        _shape(out)
        right += out["category"][0]["label"] == a["category"]
        base_right += majority == a["category"]
        truth = set(a.get("tags", []))
        guess = set(e["label"] for e in out["tags"] if e["suggested"])
        tp += len(truth & guess)
        fp += len(guess - truth)
        fn += len(truth - guess)
        base_tp += top_tag in truth
        base_fp += top_tag not in truth
        base_fn += len(truth - {top_tag})
        top1 += bool(out["tags"]) and out["tags"][0]["label"] in truth
        base_top1 += top_tag in truth
        for e in out["category"] + out["tags"]:
            if e["suggested"]:
                sugg += 1
                sugg_right += e["label"] == a["category"] or e["label"] in truth
    n = len(held)
    acc, base = right / n, base_right / n
    f1 = 2 * tp / (2 * tp + fp + fn)
    base_f1 = 2 * base_tp / (2 * base_tp + base_fp + base_fn)
    print("held out: %d alerts from %d source documents; category accuracy %.3f (majority %r: %.3f); "
          "top tag candidate right %.3f (most frequent tag %r: %.3f); tags micro-F1 of the suggested %.3f "
          "(baseline %.3f); suggested %d, right %d"
          % (n, len(set(corpus.groups(alerts)[i] for i in held)), acc, majority, base, top1 / len(held), top_tag,
             base_top1 / len(held), f1, base_f1, sugg, sugg_right))
    assert n >= 40
    assert acc >= base + 0.3, "category accuracy %.3f is not well above the majority class's %.3f" % (acc, base)
    # Tags: the ranking learnt (the top candidate against always the most frequent tag),
    # and what the model stands behind is mostly right and beats the baseline's F1.
    assert top1 >= base_top1 + 0.3 * len(held), \
        "top tag candidate right %d of %d, the most frequent tag %d" % (top1, len(held), base_top1)
    assert f1 > base_f1, "tags F1 of the suggested %.3f is not above the baseline's %.3f" % (f1, base_f1)
    assert sugg and sugg_right / sugg >= 0.7, "suggestions right %d of %d" % (sugg_right, sugg)


@pytest.mark.timeout(600)
def test_eval_splits_by_source_document(trained):
    d, pub = trained["deploy"], trained["pub"]
    r = d.agent_cmd(pub, "model", "eval", "--folds", "4", "--json", timeout=500)
    rep = json.loads(r.stdout.decode())
    assert rep["split"] == "source document" and "random split flatters" in rep["note"]
    assert rep["folds"] == 4 and rep["alerts"] == len(trained["train"])
    assert rep["source_documents"] < rep["alerts"]     # groups and pairs were kept together
    cat = rep["fields"]["category"]
    assert cat["accuracy"] > cat["baseline_accuracy"] + 0.3
    for f in ("category", "sectors", "tags", "severity"):
        o = rep["fields"][f]
        assert {"macro", "micro", "labels", "suggested"} <= set(o)
        for row in o["labels"]:
            assert {"label", "precision", "recall", "f1", "examples", "too_few"} <= set(row)
    # Calibration: every candidate's probability against how often it was right. Tags
    # the model gives 0.8 or more are mostly right; those under 0.1 almost never.
    cal = {(b["from"], b["to"]): b for b in rep["fields"]["tags"]["calibration"]}
    assert sum(b["candidates"] for b in cal.values()) > 1000
    high = [b for b in cal.values() if b["from"] >= 0.8]
    hn = sum(b["candidates"] for b in high)
    assert hn >= 10 and sum(b["right"] * b["candidates"] for b in high) / hn >= 0.6, high
    assert cal[(0.0, 0.1)]["right"] <= 0.1 and cal[(0.0, 0.1)]["mean_p"] < 0.1, cal[(0.0, 0.1)]
    # Rare tags are said to be too few for an estimate.
    assert any(row["too_few"] for row in rep["fields"]["tags"]["labels"])
    assert any("no estimate" in w for w in rep["warnings"])
    assert "curve" not in rep
    r = d.agent_cmd(pub, "model", "eval", "--folds", "3", "--curve", timeout=500)
    text = r.stdout.decode()
    assert "split by source document" in text and "random split flatters a model" in text
    assert "too few for an estimate" in text and "macro average" in text
    assert "calibration (every candidate" in text
    # The learning curve: the same folds on a quarter, a half and all of the training
    # documents; the model learns more from more (category accuracy grows).
    assert "learning curve" in text
    rep = json.loads(d.agent_cmd(pub, "model", "eval", "--folds", "3", "--curve", "--json", timeout=500).stdout)
    curve = rep["curve"]
    print("learning curve:", curve)
    assert [p["fraction"] for p in curve] == [0.25, 0.5, 1.0]
    sizes = [p["training_alerts"] for p in curve]
    assert sizes == sorted(sizes) and sizes[0] * 3 < sizes[2]
    assert curve[2]["category_accuracy"] == rep["fields"]["category"]["accuracy"]
    assert curve[2]["category_accuracy"] > curve[0]["category_accuracy"] + 0.1, curve
    bad = d.agent_cmd(pub, "model", "eval", "--folds", "1", check=False)
    assert bad.returncode == 1 and b"--folds needs a number in 2..20" in bad.stderr


def test_status_and_analyse_text(trained):
    d, pub = trained["deploy"], trained["pub"]
    st = json.loads(d.agent_cmd(pub, "model", "status", "--json").stdout.decode())
    assert st["alerts"] == len(trained["train"]) and st["file"].endswith("/store/model")
    assert {"category", "sectors", "tags", "severity"} == set(st["fields"])
    assert any(x["label"] == "T1566" for x in st["fields"]["tags"])
    text = d.agent_cmd(pub, "model", "status").stdout.decode()
    assert "threshold" in text and "cv precision" in text
    sample = ("Ransomware on file servers\nThe affiliate logged in over the VPN (T1133), deleted shadow copies "
              "and encrypted every share; the ransom note README_RESTORE.txt asks for bitcoin. Beacon to "
              "203.0.113[.]41 and 8.8.8.8.")
    out = d.agent_cmd(pub, "analyse", "-", input=sample.encode()).stdout.decode()
    assert "ipv4       203.0.113.41" in out and "technique  T1133" in out
    assert "8.8.8.8  [warninglist:" in out
    assert "\ncategory\n  ransomware" in out and "related alerts" in out
    js, _ = _analyse(d, pub, sample)
    _shape(js)
    assert js["category"][0]["label"] == "ransomware" and js["category"][0]["suggested"]
    assert [i["warninglist"] for i in js["iocs"] if i["value"] == "8.8.8.8"][0]
    assert any(i == {"type": "technique", "value": "T1133", "warninglist": None} for i in js["iocs"])


@pytest.mark.timeout(300)
def test_related_finds_the_planted_near_duplicate(trained):
    d, pub, alerts, ids = trained["deploy"], trained["pub"], trained["alerts"], trained["ids"]
    pairs = [(a - 1, b - 1) for a, b in corpus.pairs() if a - 1 in ids and b - 1 in ids]
    assert pairs, "no near-duplicate pair in the training part"
    # The daemon indexes after each commit: wait until it holds them all.
    a, b = pairs[0]

    def indexed():
        r = d.agent_cmd(pub, "related", ids[a], "--json", check=False)
        return r.returncode == 0 and any(x["id"] == ids[b] for x in json.loads(r.stdout.decode())["related"])
    cf.wait_until(indexed, 30, what="the related index")
    for a, b in pairs:
        rel = json.loads(d.agent_cmd(pub, "related", ids[a][:8], "--json").stdout.decode())
        assert rel["id"] == ids[a]
        top = rel["related"][0]
        assert top["id"] == ids[b] and top["near_duplicate"], (alerts[a]["title"], rel)
        assert all(not x["near_duplicate"] for x in rel["related"][1:])
    # A source document's other retellings are related (not near-duplicates).
    g = corpus.groups(alerts)
    members = [i for i in ids if g[i] == g[trained["train"][0]] and alerts[i].get("references")]
    text = d.agent_cmd(pub, "related", ids[a]).stdout.decode()
    assert "[near-duplicate]" in text
    # analyse of a text that re-posts an alert finds it as a near-duplicate.
    x = alerts[a]
    out, _ = _analyse(d, pub, x["title"] + "\n" + x["summary"] + " Updated at 10:00.")
    assert out["related"][0]["id"] == ids[a] and out["related"][0]["near_duplicate"]
    assert members is not None


def test_chinese_phishing_reports(trained):
    d, pub, alerts, train = trained["deploy"], trained["pub"], trained["alerts"], trained["train"]
    majority = collections.Counter(alerts[i]["category"] for i in train).most_common(1)[0][0]
    for text in (ZH_HANT_PHISHING, ZH_HANS_PHISHING):
        out, _ = _analyse(d, pub, text)
        _shape(out)
        labels = [e["label"] for e in out["category"]]
        print(out["category"])
        assert "phishing" in labels
        assert labels.index("phishing") == 0 or labels.index("phishing") < labels.index(majority)
        assert any(i["type"] == "domain" and i["value"].endswith("-bank-verify.top") for i in out["iocs"])
    # Mixed text: English terms in a Chinese report.
    out, _ = _analyse(d, pub, "釣魚電郵 phishing e-mail with a fake login page 收集帳戶密碼")
    assert out["category"][0]["label"] == "phishing"


def test_missing_and_stale_model(trained):
    d, fresh = trained["deploy"], trained["fresh"]
    text = "Phishing e-mails lure staff to hxxps://payroll-login[.]top/sso (T1566.002)."
    out, err = _analyse(d, fresh, text)
    _shape(out)
    assert "no model yet" in err
    assert out["category"] == [] and out["tags"] == [] and out["sectors"] == [] and out["severity"] == []
    assert {"type": "url", "value": "https://payroll-login.top/sso", "warninglist": None} in out["iocs"]
    human = d.agent_cmd(fresh, "analyse", "-", input=text.encode()).stdout.decode()
    assert "no model yet" in human and "https://payroll-login.top/sso" in human
    st = d.agent_cmd(fresh, "model", "status").stdout.decode()
    assert "no model yet" in st
    # A stale (or foreign) file is not used, and blocks nothing.
    store = os.path.join(fresh.agentdir, "store")
    os.makedirs(store, exist_ok=True)
    with open(os.path.join(store, "model"), "wb") as f:
        f.write(b"IHMODEL\0\x63\0\0\0" + b"\0" * 64)
    out, err = _analyse(d, fresh, text)
    assert "is stale" in err and out["category"] == [] and out["iocs"]
    os.unlink(os.path.join(store, "model"))


@pytest.mark.timeout(300)
def test_daemon_retrains_in_the_background(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    deploy.start_broker()
    agent = deploy.start_agent(pub)
    alerts = corpus.load()
    model = os.path.join(pub.agentdir, "store", "model")
    corpus.publish(deploy, pub, alerts[:10])
    corpus.wait_stored(deploy, pub, 10)
    assert not os.path.exists(model)            # too few to learn from
    corpus.publish(deploy, pub, alerts[10:30])
    cf.wait_until(lambda: os.path.exists(model), 60, what="the first model")

    def trained_on():
        r = deploy.agent_cmd(pub, "model", "status", "--json", check=False)
        try:
            return json.loads(r.stdout.decode()).get("alerts", 0)
        except ValueError:
            return 0
    cf.wait_until(lambda: trained_on() >= 20, 30, what="a model of at least 20 alerts")
    first = trained_on()
    corpus.publish(deploy, pub, alerts[30:30 + first + 60])
    cf.wait_until(lambda: trained_on() >= first + 50, 90, what="a retrained model")
    assert agent.alive()
    log = agent.text()
    assert "training the suggestion model on" in log and "model trained on" in log
    # the related index follows the store: `status` says how far it has come
    def related():
        r = deploy.agent_cmd(pub, "status", "--json", check=False)
        st = json.loads(r.stdout.decode())
        return st["related"]["indexed_upto"], st["cursor"], st["related"]["alerts"]
    cf.wait_until(lambda: related()[0] == related()[1], 30, what="the related index in step")
    assert related()[2] == first + 60 + 30


def test_gateway_shows_related_clear_advisories(deploy):
    """The Public Zone keeps its own index over its store (TLP:CLEAR only) and lists
    related advisories on each alert page: link, title (escaped), near-duplicate badge."""
    env = gwutil.GatewayEnv(deploy)
    env.start_gateway()
    text = ("Attackers exploit the file transfer appliance's authentication bypass to upload a web shell, "
            "then export the partner database. Patch to the fixed release and hunt for new JSP files in the "
            "web root; rotate the service account passwords.")
    a = env.publish(title="File transfer appliance exploited", summary=text, tlp="CLEAR", category="vulnerability")
    b = env.publish(title="<script>alert(1)</script> appliance exploited again", summary=text + " Seen again today.",
                    tlp="CLEAR", category="vulnerability")
    hidden = env.publish(title="Members-only copy", summary=text, tlp="GREEN", category="vulnerability")
    other = env.publish(title="Unrelated flood", summary="A volumetric flood hit the portal at 90 Gbps.",
                        tlp="CLEAR", category="ddos")
    env.wait_all([a, b, other])

    def listed():
        s, _, page = env.get("/alerts/" + a)
        return s == 200 and b.encode() in page
    cf.wait_until(listed, 15, what="the related advisory on the page")
    s, _, page = env.get("/alerts/" + a)
    page = page.decode()
    section = page[page.index("Related advisories"):page.index("Machine-readable")]
    assert '<a href="/alerts/%s">&lt;script&gt;alert(1)&lt;/script&gt; appliance exploited again</a>' % b in section
    assert "near-duplicate" in section
    assert hidden not in page and "<script>alert(1)" not in page and other not in section
    env.assert_alive()

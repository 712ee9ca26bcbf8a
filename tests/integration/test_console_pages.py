"""The Members Zone console's pages and actions, against the real bin/infohub-console, a
real broker and real agents (the agent daemon answers the console on its control socket;
accounts come from `infohub-agent user add`):

  - an admin adds a user in the console (password, QR code, secret and recovery codes
    shown once), who logs in with them, changes the password (other sessions end), sets up
    a new authenticator (confirmed by a code from it), takes new recovery codes and ends a
    session from the list; role changes and removal; the audit log page verifies the chain;
  - sharing: extraction with warninglist hits left unticked (each showing its list),
    preview, a refusal of the daemon that keeps the form, a revision whose changes the
    history shows, retraction of one IOC, the author signed into what was sent;
  - the alert list's filters and search (IOC inside a CIDR, parent domain, words);
  - a sighting's count on the IOC table; exports streamed (csv, stix21, one alert);
  - the members page and the recipients from the roster the daemon keeps in its store;
  - events: shared with a date, a time, a place and a link; listed upcoming and past;
  - the model's suggestions on the share form (none without a model), the related
    alerts of an alert with a near-duplicate badge, and of a draft;
  - the agent's map growing several times while the console serves (its threads adopt
    the new map one at a time: agents/ih_store.c "the map gate").
"""
import html
import json
import os
import re
import sys
import threading
import time
import urllib.parse

import pytest

from consoleutil import ConsoleEnv, Session, cf, fresh_step, get_user, oathtool

sys.path.insert(0, os.path.join(cf.ROOT, "tests", "analytics"))
import corpus  # noqa: E402  (the labelled corpus and its publisher)


def flash(body):
    return " ".join(re.sub(r"<[^>]+>", "", f) for f in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', body, re.S))


def alert_id(h):
    return re.search(r"/alerts/([0-9a-f-]{36})", h["location"]).group(1)


@pytest.fixture
def zone(deploy):
    env = ConsoleEnv(deploy)
    try:
        m = env.member("soc", "bank-a", sector="finance", role="publisher")
        pw, secret, codes = env.add_user(m, "root", "admin", display="Rita Admin")
        env.m, env.port = m, env.start_console(m)
        env.admin = Session(env.port).login("root", pw, oathtool(secret))
        yield env
    finally:
        env.close()


def test_accounts_in_the_console(zone):
    m, port, adm = zone.m, zone.port, zone.admin
    st, h, b = adm.get("/admin")
    assert st == 200 and "hash chain is intact" in b
    st, h, b = adm.post("/admin/add", {"name": "dave", "display": "Dave <Ops>", "role": "analyst"})
    assert st == 200, flash(b)
    password = html.unescape(re.search(r'<h2>Password</h2><p class="secret">([^<]+)</p>', b).group(1))
    secret = re.search(r'<p class="secret">([A-Z2-7]{32})</p>', b).group(1)
    codes = re.findall(r"([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})<br>", b)
    assert len(codes) == 10 and "<svg" in b and "otpauth://totp/" in b
    assert "Dave &lt;Ops&gt;" not in b or True
    # The same name again: refused, the form kept.
    st, h, b = adm.post("/admin/add", {"name": "dave", "display": "Again", "role": "admin"})
    assert st == 409 and "exists already" in flash(b)

    # Dave logs in with what was shown, once.
    d = Session(port).login("dave", password, oathtool(secret))
    st, h, b = d.get("/account")
    assert st == 200 and "Dave &lt;Ops&gt;" in b and "analyst" in b and "this one" in b
    # A second session of his, to end from the list.
    fresh_step(8)
    time.sleep(30 - time.time() % 30 + 0.3)
    d2 = Session(port).login("dave", password, oathtool(secret))
    st, h, b = d.get("/account")
    handles = re.findall(r'name="handle" value="([0-9a-f]{16})"', b)
    mine = re.search(r'<code>([0-9a-f]{16})</code> <span class="tag">this one', b).group(1)
    other = [x for x in handles if x != mine][0]
    st, h, b = d.post("/account/sessions", {"handle": other})
    assert st == 200 and "Session ended." in b
    assert d2.get("/")[0] == 303, "an ended session still answers"

    # A new password: the policy, then the other sessions end.
    st, h, b = d.post("/account/password", {"password": password, "new_password": "password123",
                                            "new_password2": "password123"})
    assert st == 400 and "too" in flash(b)
    st, h, b = d.post("/account/password", {"password": "not it", "new_password": "x" * 20,
                                            "new_password2": "x" * 20})
    assert st == 403 and "Wrong password." in flash(b)
    newpw = "four quiet lanterns over the harbour"
    st, h, b = d.post("/account/password", {"password": password, "new_password": newpw,
                                            "new_password2": newpw})
    assert st == 200 and "Password changed." in flash(b), flash(b)
    assert "password" not in re.findall(r'<input type="hidden" name="([^"]+)"', b)

    # A new authenticator: re-authenticate, scan, confirm with a code from the new secret.
    st, h, b = d.post("/account/totp", {"password": newpw})
    assert st == 200 and "<svg" in b, flash(b)
    new_secret = re.search(r'<p class="secret">([A-Z2-7]{32})</p>', b).group(1)
    sealed = re.search(r'name="sealed" value="([0-9a-f]+)"', b).group(1)
    bind = re.search(r'name="bind" value="([0-9a-f]+)"', b).group(1)
    until = re.search(r'name="until" value="(\d+)"', b).group(1)
    # A tampered binding is refused.
    st, h, b = d.post("/account/totp", {"sealed": sealed, "bind": "0" * 64, "until": until,
                                        "code": oathtool(new_secret)})
    assert st == 400 and "expired" in flash(b)
    st, h, b = d.post("/account/totp", {"sealed": sealed, "bind": bind, "until": until,
                                        "code": oathtool(new_secret)})
    assert st == 200 and "new authenticator is in use" in flash(b), flash(b)
    assert get_user(m.agentdir, "dave")["totp"] == sealed

    # Recovery codes: new ones, the old ones dead.
    st, h, b = d.post("/account/recovery", {"password": newpw})
    new_codes = re.findall(r"([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})<br>", b)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    d.post("/logout", {})
    s = Session(port)
    s.login_password("dave", newpw)
    s.get("/login/code")
    assert s.post("/login/code", {"code": codes[0]})[0] == 403
    st, h, b = s.post("/login/code", {"code": new_codes[3]})
    assert st == 303, flash(b)

    # Roles and removal; an admin cannot lock themself out.
    st, h, b = adm.post("/admin/user", {"name": "dave", "action": "role", "role": "publisher"})
    assert "dave is now publisher." in flash(b)
    assert s.get("/share")[0] == 200
    st, h, b = adm.post("/admin/user", {"name": "root", "action": "role", "role": "analyst"})
    assert st == 403
    st, h, b = adm.post("/admin/user", {"name": "dave", "action": "reset-password"})
    assert st == 200 and "<h2>Password</h2>" in b
    assert s.get("/")[0] == 303, "a reset did not end the user's sessions"
    st, h, b = adm.post("/admin/user", {"name": "dave", "action": "remove"})
    assert st == 400
    st, h, b = adm.post("/admin/user", {"name": "dave", "action": "remove", "confirm": "1"})
    assert "dave removed." in flash(b) and get_user(m.agentdir, "dave") is None
    st, h, b = adm.get("/admin")
    assert "hash chain is intact" in b
    for ev in ("user-added", "user-changed", "user-removed", "password-changed", "totp-reset",
               "recovery-new", "session-ended"):
        assert '<code>%s</code>' % ev in b, ev


def published(zone, m):
    """How many alerts the console had the daemon send (its audit log's publish entries)."""
    return len(zone.audit_events(m, "publish"))


def test_sharing_revising_retracting_and_searching(zone):
    m, port, s = zone.m, zone.port, zone.admin
    paste = ("Phishing from login-secure-verify[.]com and mail.evil-bank-support[.]net, "
             "kit at hxxp://91.215.86.50/kit.zip ; resolver 8.8.8.8. CIDR 91.215.85.0/24. "
             "Initial access T1566.002, then T1204. See https://blog.example.org/report")
    base = [("title", "Phishing wave <against> banks"), ("summary", "Watch **this**."), ("tlp", "GREEN"),
            ("severity", "high"), ("category", "phishing"), ("tags", "phishing, wave")]
    st, h, b = s.post("/share", base + [("paste", paste), ("action", "extract")])
    assert st == 200 and "Extracted" in flash(b) and "1 on a warninglist" in flash(b), flash(b)
    rows = re.findall(r'name="cand" value="([^"]+)"><input type="checkbox" name="ioc"[^>]*?(checked)?>', b)
    values = {html.unescape(v).split("\t")[1]: bool(c) for v, c in rows}
    assert values.get("login-secure-verify.com") and values.get("mail.evil-bank-support.net")
    assert values.get("91.215.85.0/24") and values.get("http://91.215.86.50/kit.zip")
    assert values.get("8.8.8.8") is False, "a warninglisted value came ticked"
    row = re.search(r"<tr>(?:(?!</tr>).)*<code>8\.8\.8\.8</code>(?:(?!</tr>).)*</tr>", b, re.S).group(0)
    assert 'class="tag"' in row and "resolvers" in row, "the warninglist hit does not name its list"
    assert "https://blog.example.org/report" in b          # a reference, not an IOC
    assert 'value="Phishing wave &lt;against&gt; banks"' in b
    # The techniques the text names are tag candidates, ticked; no model: no suggestions yet.
    assert re.search(r'name="tagpick" value="T1566.002" checked', b) and 'value="T1204" checked' in b
    assert "No suggestions yet" in b

    # Preview: the summary rendered, nothing sent.
    fields = base + [("refs", "https://blog.example.org/report")]
    for v, c in rows:
        fields.append(("cand", html.unescape(v)))
        if c:
            fields.append(("ioc", html.unescape(v)))
    for t in ("T1566.002", "T1204"):
        fields += [("tagc", "%s\ttext\t1.0000\t0" % t), ("tagpick", t)]
    n = published(zone, m)
    st, h, b = s.post("/share", fields + [("action", "preview")])
    assert st == 200 and "<strong>this</strong>" in b and "every member" in b and "by Rita Admin" in b
    assert published(zone, m) == n
    # A mistake is named before anything leaves: a sector recipient on RED.
    st, h, b = s.post("/share", [(k, v if k != "tlp" else "RED") for k, v in fields]
                      + [("rcpt_other", "sector:finance"), ("action", "send")])
    assert st == 400 and "recipients" in flash(b) and published(zone, m) == n
    # The daemon's refusal comes back as one line, the form kept: a revision of an alert
    # this member does not hold.
    ghost = "0badc0de-0000-4000-8000-000000000001"
    st, h, b = s.post("/share", fields + [("id", ghost), ("action", "send")])
    assert st == 502 and "unknown-alert" in flash(b) and 'value="Phishing wave' in b, flash(b)
    assert published(zone, m) == n and any(ghost in e["detail"] for e in zone.audit_events(m, "refused"))
    st, h, b = s.post("/share", fields + [("action", "send"), ("manual", "sha256 " + "ab" * 32 + " # dropper")])
    assert st == 303, flash(b)
    aid = alert_id(h)
    cf.wait_until(lambda: s.get("/alerts/" + aid)[0] == 200, 15, what="the alert")
    # What the daemon signed: the author, the ticked indicators, the tags with the techniques.
    sent = json.loads(zone.d.agent_cmd(m, "show", aid, "--json").stdout.decode())
    assert sent["author"] == "Rita Admin"
    assert {i["value"] for i in sent["iocs"]} == {
        "login-secure-verify.com", "mail.evil-bank-support.net", "91.215.85.0/24",
        "http://91.215.86.50/kit.zip", "ab" * 32}
    assert set(sent["tags"]) == {"phishing", "wave", "T1566.002", "T1204"}
    page = s.get("/alerts/" + aid)[2]
    assert re.search(r"<strong>bank-a</strong> \xb7 <span class=\"author\">Rita Admin</span>", page)

    # Search: an IP inside the CIDR, a subdomain of an indicator, words; filters narrow.
    for q in ("91.215.85.77", "www.login-secure-verify[.]com", "phishing wave", "kit.zip"):
        st, h, b = s.get("/alerts?q=" + urllib.parse.quote(q))
        assert st == 200 and aid in b, q
    assert aid not in s.get("/alerts?q=91.215.85.77&tlp=RED")[2]
    assert aid in s.get("/alerts?category=phishing&severity=medium&since=7d")[2]
    assert aid not in s.get("/alerts?severity=critical")[2]
    assert s.get("/alerts?tlp=PURPLE")[0] == 400

    # A sighting from the IOC table.
    st, h, b = s.post("/sighting", {"ref": aid, "type": "domain", "value": "login-secure-verify.com"})
    assert st == 303
    cf.wait_until(lambda: "in 1 report" in s.get("/alerts/" + aid)[2], 15, what="the sighting")

    # A revision: the form filled from the alert; the history says what changed.
    st, h, b = s.get("/share?revise=" + aid)
    assert st == 200 and 'name="id" value="%s"' % aid in b and "login-secure-verify.com" in b
    rev = [(k, v) for k, v in fields if k not in ("title", "ioc")] + [("id", aid), ("title", "Phishing wave, revised")]
    for v, c in rows:
        val = html.unescape(v)
        if c and "8.8.8.8" not in val and "mail.evil" not in val:
            rev.append(("ioc", val))
    rev.append(("manual", "cve CVE-2024-1234"))
    st, h, b = s.post("/share", rev + [("action", "send")])
    assert st == 303 and alert_id(h) == aid, flash(b)
    cf.wait_until(lambda: "Phishing wave, revised" in s.get("/alerts/" + aid)[2], 15, what="revision 2")
    b = s.get("/alerts/" + aid)[2]
    hist = re.search(r'id="history".*?</table>', b, re.S).group(0)
    assert "<ins>+1 indicator</ins>" in hist and "CVE-2024-1234" in hist
    # Gone: the unticked domain, and the hash typed in the first revision only.
    assert "<del>-2 indicators</del>" in hist and "mail.evil-bank-support.net" in hist, hist
    assert "title: <del>Phishing wave &lt;against&gt; banks</del>" in hist

    # Retract one IOC: it shows as retracted, and leaves the exports.
    st, h, b = s.post("/retract", [("ref", aid), ("ioc", "cidr 91.215.85.0/24"), ("reason", "shared hosting")])
    assert st == 303, flash(b)
    cf.wait_until(lambda: "<del><code>91.215.85.0/24</code></del> retracted" in s.get("/alerts/" + aid)[2], 15,
                  what="the retraction")
    st, h, csv = s.get("/export?format=csv")
    assert st == 200 and h["content-type"].startswith("text/csv") and "attachment" in h["content-disposition"]
    assert "login-secure-verify.com" in csv and "91.215.85.0/24" not in csv
    st, h, bundle = s.get("/export?format=stix21&id=" + aid)
    assert st == 200 and json.loads(bundle)["type"] == "bundle"
    assert s.get("/export?format=misp-feed")[0] == 400
    audit = zone.audit(m)
    for ev in ('"publish"', '"revise"', '"retract"', '"sighting"', '"export"'):
        assert ev in audit, ev


def test_members_from_the_roster(deploy):
    """The roster the daemon asked the broker for, each record verified: the members page
    and the share form's recipients."""
    env = ConsoleEnv(deploy)
    a, _, _ = env.members(("soc", "bank-a", "finance", "publisher"), ("csirt", "bank-b", "finance", "reader"),
                          ("desk", "insurer-c", "insurance", "reader"))
    pw, secret, _ = env.add_user(a, "rita", "publisher")
    s = Session(env.start_console(a)).login("rita", pw, oathtool(secret))
    cf.wait_until(lambda: "insurer-c" in s.get("/members")[2], 20, what="the roster at bank-a")
    st, h, b = s.get("/members")
    assert st == 200 and "not received" not in b and "As the hub's registry signed each member" in b
    for want in ("bank-a", "bank-b", "insurer-c", "insurance", "finance", "csirt", "desk"):
        assert want in b, want
    assert ">public<" not in b                              # the gateway is no organisation
    st, h, b = s.get("/share")
    assert 'name="rcpt" value="bank-b"' in b and 'name="rcpt" value="sector:insurance"' in b
    assert 'name="rcpt" value="bank-a"' not in b            # the own org always receives


def test_events_upcoming_and_past(zone):
    m, s = zone.m, zone.admin
    event = [("title", "Workshop: phishing drills"), ("summary", "Hands-on."), ("tlp", "GREEN"),
             ("severity", "low"), ("category", "event"), ("event_place", "Bern, Hall 2"),
             ("event_link", "https://events.example.org/drills")]
    # The date is what makes an event: named on the form before anything is sent.
    st, h, b = s.post("/share", event + [("action", "send")])
    assert st == 400 and "an event needs its date" in flash(b)
    st, h, b = s.post("/share", [(k, v) for k, v in event if k != "category"] + [("category", "advisory"),
                                 ("event_date", "2031-03-04"), ("action", "send")])
    assert st == 400 and "choose the category Event" in flash(b)
    st, h, b = s.post("/share", event + [("event_date", "2031-03-04"), ("event_time", "09:30"), ("action", "send")])
    assert st == 303, flash(b)
    future = alert_id(h)
    st, h, b = s.post("/share", [(k, v if k != "title" else "Tabletop exercise 2020") for k, v in event]
                      + [("event_date", "2020-06-01"), ("action", "send")])
    assert st == 303, flash(b)
    past = alert_id(h)
    cf.wait_until(lambda: past in s.get("/events")[2] and future in s.get("/events")[2], 15, what="the events")
    b = s.get("/events")[2]
    upcoming = re.search(r'id="upcoming".*?</table>', b, re.S).group(0)
    gone = re.search(r'id="past".*?</table>', b, re.S).group(0)
    assert future in upcoming and "2031-03-04 09:30" in upcoming and "Bern, Hall 2" in upcoming
    assert 'href="https://events.example.org/drills"' in upcoming and "Rita Admin" in upcoming
    assert past in gone and "2020-06-01" in gone and future not in gone
    tags = json.loads(zone.d.agent_cmd(m, "show", future, "--json").stdout.decode())["tags"]
    assert "date:2031-03-04T09:30Z" in tags and "place:Bern, Hall 2" in tags
    # Revising it brings the date, time and place back into their fields.
    b = s.get("/share?revise=" + future)[2]
    assert 'name="event_date" aria-label="event date" value="2031-03-04"' in b
    assert 'value="09:30"' in b and 'value="Bern, Hall 2"' in b


@pytest.mark.timeout(600)
def test_suggestions_and_related_alerts(deploy):
    """The share form with the agent's model: suggestions pre-filled and marked, offers not
    chosen, what the user chose kept; the related alerts of an alert (a near-duplicate
    marked) and of a draft."""
    env = ConsoleEnv(deploy)
    m = env.member("soc", "bank-a", sector="finance", role="publisher")
    pw, secret, _ = env.add_user(m, "rita", "publisher", display="Rita Admin")
    s = Session(env.start_console(m)).login("rita", pw, oathtool(secret))
    assert "No suggestions yet" in s.get("/share")[2]

    alerts = corpus.load()
    train, _ = corpus.split(alerts)
    ids = corpus.publish(deploy, m, [alerts[i] for i in train[:160]])
    corpus.wait_stored(deploy, m, 160)
    deploy.agent_cmd(m, "model", "train", timeout=300)
    # A report like those the model learnt from; `analyse` says what the model makes of its
    # text, and the form must agree: what the model stands behind pre-filled and marked
    # "suggested", the other candidates offered, not chosen.
    like = next(alerts[i] for i in train[:160] if alerts[i]["category"] == "vulnerability")
    text = like["title"] + "\n" + like["summary"] + "\n"
    an = json.loads(deploy.agent_cmd(m, "analyse", "--json", "-", input=text.encode()).stdout.decode())
    assert any(c["suggested"] for f in ("category", "sectors", "tags") for c in an[f]), an
    form = [("title", like["title"]), ("summary", like["summary"]), ("tlp", "GREEN"), ("severity", "medium"),
            ("category", "advisory"), ("auto_category", "advisory"), ("auto_severity", "medium")]
    # (the console takes the model the daemon wrote without a restart)
    b = cf.wait_until(lambda: (lambda p: p if "From this agent's model" in p else None)(
        s.post("/share", form + [("action", "preview")])[2]), 20, what="suggestions from the new model")
    assert "trained on 160 alerts" in b
    cat = re.search(r'<select id="f-category" name="category">.*?</select>(.*?)</div>', b, re.S)
    top = an["category"][0]
    if top["suggested"]:
        assert 'value="%s" selected' % top["label"] in cat.group(0)
        assert 'name="auto_category" value="%s"' % top["label"] in b
        assert re.search(r'<span class="sugg" title="[^"]*">suggested', cat.group(1))
    else:
        assert 'value="advisory" selected' in cat.group(0) and "suggested" not in cat.group(1)
    for c in an["category"]:
        if c["p"] >= 0.05 and c is not top:
            assert 'class="sugg offer"' in cat.group(1)
    for c in an["sectors"]:
        box = re.search(r'<input type="checkbox" name="sector" value="%s"( checked)?> %s <span class="sugg( offer)?"'
                        % (re.escape(c["label"]), re.escape(c["label"])), b)
        if c["suggested"]:
            assert box and box.group(1) and not box.group(2), ("sector", c)
        elif c["p"] >= 0.05:
            assert box and not box.group(1) and box.group(2), ("sector", c)
    for c in an["tags"]:
        box = re.search(r'name="tagpick" value="%s"( checked)?> %s <span class="sugg( offer)?"'
                        % (re.escape(c["label"]), re.escape(c["label"])), b)
        if c["suggested"]:
            assert box and box.group(1) and not box.group(2), ("tag", c)
        elif c["p"] >= 0.05:
            assert box and not box.group(1) and box.group(2), ("tag", c)
    # What the user chose stays chosen, whatever the model says; what was offered and
    # unticked stays unticked.
    offered = [c["label"] for c in an["tags"] if c["suggested"]]
    again = [(k, v) for k, v in form if k != "category"] + [("category", "fraud")]
    for t in re.findall(r'name="tagc" value="([^"]+)"', b):
        again.append(("tagc", html.unescape(t)))
    b = s.post("/share", again + [("action", "preview")])[2]
    assert 'value="fraud" selected' in b and 'name="auto_category"' not in b
    for t in offered:
        assert re.search(r'name="tagpick" value="%s"> ' % re.escape(t), b), "an unticked tag came back ticked"

    # Related alerts: a report shared twice is a near-duplicate of the first.
    src = alerts[train[0]]
    again = dict(src, title=src["title"] + " (re-shared)")
    first_id = ids[0]
    dup_id = corpus.publish(deploy, m, [again])[0]

    def related():
        page = s.get("/alerts/" + dup_id)[2]
        return page if first_id in page and "near-duplicate" in page else None
    page = cf.wait_until(related, 30, what="the related alerts of the re-shared report")
    rel = re.search(r'<h2 id="related">Related alerts</h2><ul class="related">(.*?)</ul>', page, re.S).group(1)
    assert re.search(r'href="/alerts/%s">[^<]*</a> <span class="tag dup"' % first_id, rel)
    # A draft that repeats it is told so before it is sent.
    b = s.post("/share", [("title", src["title"]), ("summary", src["summary"]), ("tlp", "GREEN"),
                          ("severity", "low"), ("category", "advisory"), ("action", "preview")])[2]
    assert "Alerts this member holds that look like it" in b and first_id in b


@pytest.mark.timeout(300)
def test_console_serves_while_the_map_grows(deploy):
    """The daemon grows the store's map (from 1 MiB, several times) while the console's
    threads read: every page is served, the console lives, and it shows the newest."""
    env = ConsoleEnv(deploy)
    m = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    with open(m.cfg) as f:
        text = f.read()
    with open(m.cfg, "w") as f:
        f.write(text.replace("agent\n", 'agent\n    map-size = "1048576"\n', 1))
    env.start(m)
    pw, secret, _ = env.add_user(m, "rita", "publisher")
    port = env.start_console(m)
    s = Session(port).login("rita", pw, oathtool(secret))
    first = corpus.publish(deploy, m, corpus.load()[:5])
    corpus.wait_stored(deploy, m, 5)
    status = lambda: json.loads(deploy.agent_cmd(m, "status", "--json").stdout.decode())
    map0 = status()["map_bytes"]
    stop = threading.Event()
    results, errors = [], []

    def reader(paths):
        r = Session(port)
        r.cookie = s.cookie
        while not stop.is_set():
            for p in paths:
                try:
                    st, h, b = r.get(p)
                    results.append(st)
                    if st != 200:
                        errors.append((p, st, b[-300:]))
                except OSError as e:
                    errors.append((p, repr(e)))
    threads = [threading.Thread(target=reader, args=(ps,), daemon=True) for ps in (
        ["/alerts", "/alerts/" + first[0]], ["/", "/alerts?q=phishing"], ["/export?format=csv&tlp_max=RED"],
        ["/alerts?category=phishing", "/events"])]
    for t in threads:
        t.start()
    big = []
    for i, a in enumerate(corpus.load() * 3):
        big.append(dict(a, title="%s #%d" % (a["title"], i), summary=(a["summary"] + " ") * 12))
        if len(big) == 600:
            break
    corpus.publish(deploy, m, big)
    corpus.wait_stored(deploy, m, 605, timeout=120)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(30)
    map1 = status()["map_bytes"]
    assert map1 >= 4 * map0, (map0, map1)
    assert env.console_proc(m).alive(), env.console_proc(m).text()[-3000:]
    assert not errors, errors[:5]
    assert len(results) > 50, len(results)
    assert big[-1]["title"].replace("<", "&lt;") in s.get("/alerts")[2]

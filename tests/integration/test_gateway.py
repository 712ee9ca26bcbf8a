"""infohub-gateway (issue 6): the Public Zone over a real broker, real publishers and the real
gateway process on 127.0.0.1. What is proven here:

- only TLP:CLEAR ever appears, on every route (GREEN/AMBER/AMBER+STRICT/RED carry markers);
- pages, Atom (python3-feedparser), JSON API with filters and pagination;
- every TAXII object and /export/stix21 pass ../shared/tools/stix-validate and a strict
  consumer (tests/integration/stix_strict.py: Infohub's properties in an extension whose
  definition the bundle or collection holds, no custom x_ property); TAXII
  pagination visits every object exactly once; added_after, match[...], manifest,
  object by id, 406 on a bad Accept, X-TAXII-Date-Added-* headers;
- new alerts appear without a restart; catch-up after a restart; retractions;
- hardening: security headers, ETag/304, 414/400/405/431, garbage HTTP survived.
Browser rendering and screenshots: tests/browser/.
"""
import json
import os
import random
import re
import socket
import subprocess
import time

import feedparser
import pytest

import stix_strict
from gwutil import (COLLECTION, MANIFEST, OBJECTS, PY, TAXII, GatewayEnv, cf, ihclient,
                    publish_realistic, raw_http, stix_validate, taxii_walk)

XDEF = "extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8"

deploy = cf.deploy            # the fixture, from the integration conftest


@pytest.fixture
def env(deploy):
    e = GatewayEnv(deploy)
    e.start_gateway()
    return e


# ---- TLP: nothing above CLEAR, anywhere --------------------------------------------------------

def _all_routes(env, extra_ids):
    """Every route's output, concatenated (with the TAXII listing walked fully)."""
    out = []
    paths = ["/", "/?before=999999", "/trends", "/trends?weeks=104", "/feed.atom",
             "/api/v1/alerts?limit=500", "/export/csv", "/export/stix21", "/taxii2/",
             "/taxii2/api/", "/taxii2/api/collections/", MANIFEST, "/metrics", "/healthz",
             "/search?q=marker", "/search?q=MARKER"]
    for aid in extra_ids:
        paths += ["/alerts/" + aid, "/api/v1/alerts/" + aid, OBJECTS + "report--" + aid + "/"]
    for p in paths:
        s, h, b = env.get(p, {"Accept": "*/*"})
        assert s in (200, 404), (p, s, b[:200])
        if p == "/export/stix21":
            # The bundle defines the five TLP 2.0 markings (the exporter's standard header);
            # definitions are not alerts: check what refers to them instead.
            bundle = json.loads(b)
            defs = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
            assert len(defs) <= 5
            bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "marking-definition"]
            b = json.dumps(bundle).encode()
        out.append(b.decode("utf-8", "replace"))
    objs, _ = taxii_walk(env, limit=3)
    out.append(json.dumps(objs))
    return "\n".join(out)


def test_nothing_above_clear_on_any_route(env):
    pub = env.pub
    hidden = {}
    for tlp, extra in (("GREEN", {}), ("AMBER", {}), ("AMBER+STRICT", {"recipients": ["bank-b"]}),
                       ("RED", {"recipients": ["bank-b"]})):
        mark = "secretmarker%s" % re.sub(r"\W", "", tlp).lower()
        hidden[tlp] = env.publish(pub, title="title " + mark, summary="summary " + mark, tlp=tlp,
                                  category="intrusion", tags=[mark],
                                  iocs=[ihclient.ioc("domain", mark + ".example.net", mark)], **extra)
    # A sighting and a comment on a GREEN alert must not leak either.
    env.publish_body(pub, ihclient.sighting_body(pub.ident, hidden["GREEN"],
                                                 ihclient.ioc("domain", "secretmarkergreen.example.net"),
                                                 tlp="GREEN", count=7))
    env.publish_body(pub, ihclient.comment_body(pub.ident, hidden["GREEN"], "secretmarkercomment"))
    # A CLEAR alert published last: once it is visible, everything before it was delivered
    # (or withheld) already.
    clear = env.publish(pub, title="public marker alert", summary="visible marker", tlp="CLEAR",
                        category="phishing", iocs=[ihclient.ioc("domain", "public-marker.example.org")])
    env.wait_visible(clear)
    everything = _all_routes(env, list(hidden.values()) + [clear])
    assert "public marker alert" in everything
    assert "secretmarker" not in everything.lower()
    for tlp, aid in hidden.items():
        assert aid not in everything, "alert %s (TLP:%s) appears on some route" % (aid, tlp)
        assert env.get("/alerts/" + aid)[0] == 404
        assert env.get("/api/v1/alerts/" + aid)[0] == 404
    for word in ("TLP:GREEN", "TLP:AMBER", "TLP:RED", "tlp:green", "tlp:amber", "tlp:red"):
        assert word not in everything, word
    # The gateway's own TAXII objects carry only the CLEAR marking.
    objs, _ = taxii_walk(env)
    for o in objs:
        for ref in o.get("object_marking_refs", []):
            assert ref == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", o


# ---- pages, feed, API ----------------------------------------------------------------------------

def test_pages_render_and_escape(env):
    ids = publish_realistic(env)
    xss = env.publish(env.pub, title="<script>alert('title')</script> \"><img src=x onerror=alert(1)>",
                      summary="<script>alert('summary')</script>\n\n[click](javascript:alert(2)) "
                              "<iframe src=//evil.example></iframe> **bold**",
                      tlp="CLEAR", category="malware", tags=["<b>tag</b>"],
                      references=["https://ok.example/a?b=<x>"],
                      iocs=[ihclient.ioc("url", "http://xss.example/<script>alert(4)</script>",
                                         "<img src=x onerror=alert(5)>"),
                            ihclient.ioc("filename", "\"><svg onload=alert(6)>.exe", "x")])
    env.wait_visible(xss)
    for aid in ids:
        env.wait_visible(aid)
    s, h, b = env.get("/")
    page = b.decode()
    assert s == 200 and h["content-type"].startswith("text/html")
    assert "LockBit 3.0 affiliates" in page and "TLP:CLEAR" in page
    s, h, b = env.get("/alerts/" + xss)
    page = b.decode()
    assert s == 200
    for bad in ("<script", "<img src=x", "<iframe", "<svg", 'href="javascript', "<b>tag</b>"):
        assert bad not in page, bad
    assert len(re.findall(r"<img ", page)) == 1       # the site's logo, nothing else
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "<strong>bold</strong>" in page            # Markdown still renders
    assert "https://ok.example/a?b=&lt;x&gt;" in page and 'href="https://ok.example' not in page
    assert "http://xss.example/&lt;script&gt;alert(4)&lt;/script&gt;" in page
    # search by IOC (defanged) and by words; trends
    s, _, b = env.get("/search?q=tax-refund-portal%5B.%5Dcom")
    assert s == 200 and b"Invoice-themed phishing" in b and b"1 result" in b
    s, _, b = env.get("/search?q=quishing")
    assert s == 200 and b"QR-code phishing" in b
    s, _, b = env.get("/search?q=91.132.147.9")          # inside an indexed CIDR
    assert s == 200 and b"NoName057(16)" in b
    s, _, b = env.get("/search?q=%3Cscript%3E")
    assert s == 200 and b"<script>" not in b
    s, _, b = env.get("/trends")
    assert s == 200 and b"<svg" in b and b"Ransomware" in b
    s, _, b = env.get("/?category=ransomware")
    assert s == 200 and b"Akira" in b and b"Invoice-themed" not in b
    assert env.get("/?category=nonsense")[0] == 400
    assert env.get("/?before=abc")[0] == 400
    assert env.get("/trends?weeks=2")[0] == 400
    assert env.get("/alerts/not-an-id")[0] == 404
    assert env.get("/alerts/00000000-0000-4000-8000-000000000000")[0] == 404


def test_index_pagination(env):
    ids = [env.publish(title="page test %02d" % i, tlp="CLEAR", category="other") for i in range(45)]
    env.wait_all(ids)
    seen, url, pages = [], "/", 0
    while url:
        s, _, b = env.get(url)
        assert s == 200
        page = b.decode()
        seen += re.findall(r"page test (\d\d)", page)
        m = re.search(r'href="(/\?before=\d+)">Older', page)
        url = m.group(1) if m else None
        pages += 1
    assert pages == 3
    assert seen == ["%02d" % i for i in reversed(range(45))]


def test_atom_feed_parses(env):
    ids = publish_realistic(env)
    env.wait_all(ids)
    s, h, b = env.get("/feed.atom")
    assert s == 200 and h["content-type"].startswith("application/atom+xml")
    f = feedparser.parse(b)
    assert not f.bozo, f.bozo_exception
    assert f.version == "atom10"
    assert len(f.entries) == len(ids)
    titles = {e.title for e in f.entries}
    assert "Hardening guidance for internet-facing VPN appliances" in titles
    e = f.entries[0]
    assert e.id.startswith("urn:uuid:") and e.link.startswith("http://127.0.0.1:%d/alerts/" % env.port)
    assert e.published and e.updated and e.author


def test_json_api(env):
    ids = publish_realistic(env)
    env.wait_all(ids)
    j = env.get_json("/api/v1/alerts")
    assert j["count"] == len(ids) and j["next"] is None
    assert {a["id"] for a in j["alerts"]} == set(ids)
    for a in j["alerts"]:
        assert a["tlp"] == "CLEAR" and "recipients" not in a
    # filters
    j = env.get_json("/api/v1/alerts?category=phishing")
    assert j["count"] == 2 and all(a["category"] == "phishing" for a in j["alerts"])
    j = env.get_json("/api/v1/alerts?sector=health")
    assert j["count"] == 3
    j = env.get_json("/api/v1/alerts?severity=high")
    assert all(a["severity"] in ("high", "critical") for a in j["alerts"]) and j["count"] == 6
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 15 * 86400))
    j = env.get_json("/api/v1/alerts?since=" + since)
    assert j["count"] == 5
    # pagination
    got, nxt = [], None
    while True:
        j = env.get_json("/api/v1/alerts?limit=5" + ("&next=" + nxt if nxt else ""))
        got += [a["id"] for a in j["alerts"]]
        nxt = j["next"]
        if not nxt:
            break
    assert sorted(got) == sorted(ids) and len(got) == len(set(got))
    one = env.get_json("/api/v1/alerts/" + ids[0])
    assert one["id"] == ids[0] and one["iocs"]
    for bad in ("?limit=0", "?limit=501", "?since=yesterday", "?category=x", "?next=abc",
                "?severity=extreme", "?sector=Not%20A%20Slug"):
        s, h, b = env.get("/api/v1/alerts" + bad)
        assert s == 400 and h["content-type"] == "application/json", (bad, s)
        assert json.loads(b)["error"]
    assert env.get_json("/api/v1/alerts/00000000-0000-4000-8000-000000000000", expect=404)
    assert env.get("/api/v2/x")[0] == 404


def test_exports_stream_and_validate(env, tmp_path):
    ids = publish_realistic(env)
    env.wait_all(ids)
    s, h, b = env.get("/export/csv")
    assert s == 200 and h["content-type"].startswith("text/csv")
    assert h.get("transfer-encoding") == "chunked"
    lines = b.decode().splitlines()
    assert lines[0].startswith("alert_id,")
    assert sum(len(x[5]) for x in __import__("gwutil").REALISTIC) == len(lines) - 1
    s, h, b = env.get("/export/stix21")
    assert s == 200 and h.get("transfer-encoding") == "chunked"
    bundle = json.loads(b)
    assert bundle["type"] == "bundle"
    reports = [o for o in bundle["objects"] if o["type"] == "report"]
    assert {r["id"] for r in reports} == {"report--" + i for i in ids}
    rc, out = stix_validate(b, tmp_path)
    assert rc == 0, out
    stix_strict.assert_strict(bundle)
    assert [o["type"] for o in bundle["objects"][:2]] == ["identity", "extension-definition"]


# ---- TAXII 2.1 -------------------------------------------------------------------------------------

def test_taxii_resources_and_validation(env, tmp_path):
    ids = publish_realistic(env)
    env.wait_all(ids)
    disc, h = env.taxii("/taxii2/")
    assert disc["default"].endswith("/taxii2/api/") and disc["api_roots"] == [disc["default"]]
    root, _ = env.taxii("/taxii2/api/")
    assert root["versions"] == [TAXII]
    cols, _ = env.taxii("/taxii2/api/collections/")
    assert [c["id"] for c in cols["collections"]] == [COLLECTION]
    col, _ = env.taxii("/taxii2/api/collections/%s/" % COLLECTION)
    assert col["can_read"] is True and col["can_write"] is False
    assert col["media_types"] == ["application/stix+json;version=2.1"]

    objs, _ = taxii_walk(env)
    types = {o["type"] for o in objs}
    assert {"report", "indicator", "identity", "marking-definition", "vulnerability"} <= types
    # two publisher orgs and Infohub, which defines the extension that carries its properties
    assert sorted(o["name"] for o in objs if o["type"] == "identity") == ["Infohub", "bank-a", "gov-cert"]
    assert [o["id"] for o in objs if o["type"] == "extension-definition"] == [XDEF]
    assert len([o for o in objs if o["type"] == "marking-definition"]) == 1
    # every object passes the STIX 2.1 schemas and a strict consumer, one envelope per page
    # (with the rest of the collection for the definitions) and all together
    env_, _ = env.taxii(OBJECTS)
    rc, out = stix_validate(json.dumps(env_), tmp_path)
    assert rc == 0, out
    rc, out = stix_validate(json.dumps({"objects": objs, "more": False}), tmp_path)
    assert rc == 0, out
    stix_strict.assert_strict(objs)
    nxt, pages = None, 0
    while True:
        page, _ = env.taxii(OBJECTS + "?limit=4" + ("&next=" + nxt if nxt else ""))
        pages += 1
        rc, out = stix_validate(json.dumps(page), tmp_path)
        assert rc == 0, out
        stix_strict.assert_strict(page["objects"], context=objs)
        if not page.get("more"):
            break
        nxt = page["next"]
    assert pages == -(-len(objs) // 4)
    reps = [o for o in objs if o["type"] == "report"]
    assert reps and all(r["extensions"][XDEF]["publisher_org"] in ("bank-a", "gov-cert") for r in reps)
    assert not any(k.startswith("x_") for o in objs for k in o)
    # references resolve inside the collection
    have = {o["id"] for o in objs}
    for o in objs:
        for ref in o.get("object_refs", []) + [o.get("created_by_ref")] + o.get("object_marking_refs", []):
            assert ref is None or ref in have, (o["id"], ref)
    # order: date added, and shared objects come before what refers to them
    pos = {o["id"]: i for i, o in enumerate(objs)}
    for o in objs:
        if o.get("created_by_ref"):
            assert pos[o["created_by_ref"]] < pos[o["id"]]

    # manifest: one record per object, same order
    man, _ = taxii_walk(env, MANIFEST)
    assert [m["id"] for m in man] == [o["id"] for o in objs]
    for m in man:
        assert m["media_type"] == "application/stix+json;version=2.1" and m["date_added"] and m["version"]

    # object by id (a report, an indicator, an identity), and an unknown one
    rep = "report--" + ids[3]
    one, _ = env.taxii(OBJECTS + rep + "/")
    assert [o["id"] for o in one["objects"]] == [rep]
    ind = next(o for o in objs if o["type"] == "indicator")
    one, _ = env.taxii(OBJECTS + ind["id"] + "/")
    assert one["objects"] == [ind]
    ident = next(o for o in objs if o["type"] == "identity")
    one, _ = env.taxii(OBJECTS + ident["id"] + "/")
    assert one["objects"] == [ident]
    env.taxii(OBJECTS + "indicator--00000000-0000-4000-8000-000000000000/", expect=404)

    # match[...]
    sub, _ = env.taxii(OBJECTS + "?match[type]=indicator,vulnerability")
    assert sub["objects"] and {o["type"] for o in sub["objects"]} == {"indicator", "vulnerability"}
    assert len(sub["objects"]) == len([o for o in objs if o["type"] in ("indicator", "vulnerability")])
    sub, _ = env.taxii(OBJECTS + "?match[id]=%s,%s" % (rep, ident["id"]))
    assert sorted(o["id"] for o in sub["objects"]) == sorted([rep, ident["id"]])
    sub, _ = env.taxii(OBJECTS + "?match[spec_version]=2.0")
    assert "objects" not in sub and sub["more"] is False
    sub, _ = env.taxii(OBJECTS + "?match[version]=%s&match[id]=%s" % (ind["modified"], ind["id"]))
    assert [o["id"] for o in sub["objects"]] == [ind["id"]]
    sub, _ = env.taxii(OBJECTS + "?match[version]=2001-01-01T00:00:00Z")
    assert "objects" not in sub
    for bad in ("?limit=0", "?limit=x", "?added_after=yesterday", "?next=zzz",
                "?match[version]=sometimes"):
        e, _ = env.taxii(OBJECTS + bad, expect=400)
        assert e["http_status"] == "400" and e["title"]
    env.taxii("/taxii2/api/collections/00000000-0000-4000-8000-000000000000/objects/", expect=404)


def test_taxii_pagination_added_after_and_new_objects(env):
    ids = publish_realistic(env)
    env.wait_all(ids)
    full, pages1 = taxii_walk(env)
    assert pages1 == 1
    key = [(o["id"], o.get("modified", o.get("created"))) for o in full]
    assert len(key) == len(set(key)), "an object appears twice"
    for limit in (1, 2, 3, 7, 50):
        paged, pages = taxii_walk(env, limit=limit)
        assert [(o["id"], o.get("modified", o.get("created"))) for o in paged] == key, limit
        assert pages == -(-len(full) // limit), (limit, pages)
    # added_after: the date-added headers let a client poll for what is new
    s, h, b = env.get(OBJECTS, {"Accept": TAXII})
    last = h["x-taxii-date-added-last"]
    first = h["x-taxii-date-added-first"]
    assert first <= last
    env_, h2 = env.taxii(OBJECTS + "?added_after=" + last)
    assert "objects" not in env_ and env_["more"] is False
    new = env.publish(env.pub, title="new after poll", tlp="CLEAR", category="malware",
                      iocs=[ihclient.ioc("domain", "new-after-poll.example")])
    env.wait_visible(new)
    env_, h3 = env.taxii(OBJECTS + "?added_after=" + last)
    got = {o["id"] for o in env_["objects"]}
    assert "report--" + new in got and len([o for o in env_["objects"] if o["type"] == "indicator"]) == 1
    assert h3["x-taxii-date-added-first"] > last
    # a revision: the alert's objects move to the end, as a new version, once
    body = ihclient.alert_body(env.pub.ident, title="new after poll, revised", tlp="CLEAR",
                               category="malware", id=new, rev=2,
                               iocs=[ihclient.ioc("domain", "new-after-poll.example")])
    env.publish_body(env.pub, body)
    cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + new)["revision"] == 2, 15, what="revision 2")
    full2, _ = taxii_walk(env, limit=4)
    reports = [o for o in full2 if o["id"] == "report--" + new]
    assert len(reports) == 1 and reports[0]["name"] == "new after poll, revised"
    assert full2[-1]["type"] in ("report", "indicator")


def test_taxii_accept_and_headers(env):
    aid = env.publish(title="accept test", tlp="CLEAR", category="other",
                      iocs=[ihclient.ioc("ipv4", "8.8.4.4")])
    env.wait_visible(aid)
    for accept in ("application/json", "text/html", "application/taxii+json;version=2.0",
                   "application/xml", "application/taxii+json;version=2.1;q=0"):
        s, h, b = env.get(OBJECTS, {"Accept": accept})
        assert s == 406, accept
        assert h["content-type"] == TAXII
        assert json.loads(b)["http_status"] == "406"
    for accept in (TAXII, "application/taxii+json", "*/*", "application/*",
                   "text/html, application/taxii+json;version=2.1;q=0.9"):
        s, h, _ = env.get(OBJECTS, {"Accept": accept})
        assert s == 200, accept
    s, h, _ = env.get("/taxii2/", {"Accept": "application/json"})
    assert s == 406
    # a cached 200 is never served to an Accept that must get 406
    assert env.get(OBJECTS, {"Accept": TAXII})[0] == 200
    assert env.get(OBJECTS, {"Accept": "application/json"})[0] == 406
    assert env.get(OBJECTS, {"Accept": TAXII})[0] == 200
    s, h, b = env.get(OBJECTS, {"Accept": TAXII})
    assert h["content-type"] == TAXII and h.get("vary") == "Accept"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", h["x-taxii-date-added-first"])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", h["x-taxii-date-added-last"])


# ---- live updates, restarts, retractions ------------------------------------------------------------

def test_new_alerts_appear_without_restart_and_catch_up(deploy):
    env = GatewayEnv(deploy)
    before = [env.publish(title="before the gateway %d" % i, tlp="CLEAR", category="fraud")
              for i in range(3)]
    env.publish(title="green before", tlp="GREEN")
    env.start_gateway()
    for aid in before:
        env.wait_visible(aid)              # caught up from the journal
    s, h, b = env.get("/")
    etag = h["etag"]
    t0 = time.monotonic()
    live = env.publish_file({"title": "live alert via the agent", "summary": "arrives while up",
                             "tlp": "CLEAR", "severity": "high", "category": "ransomware",
                             "iocs": [{"type": "domain", "value": "live-alert[.]example"}]})
    env.wait_visible(live, timeout=10)
    assert time.monotonic() - t0 < 5
    s, h, b = env.get("/", {"If-None-Match": etag})
    assert s == 200 and b"live alert via the agent" in b and h["etag"] != etag
    # restart: same content, no duplicates, nothing lost
    env.stop_gateway()
    env.start_gateway()
    j = env.get_json("/api/v1/alerts")
    assert sorted(a["id"] for a in j["alerts"]) == sorted(before + [live])
    objs, _ = taxii_walk(env)
    assert len([o for o in objs if o["type"] == "report"]) == 4
    assert len({o["id"] for o in objs}) == len(objs)
    # the broker restarts: the gateway reconnects and carries on
    deploy.restart_broker()
    env.clients.clear()
    after = env.publish(title="after broker restart", tlp="CLEAR", category="other")
    env.wait_visible(after, timeout=20)


def test_retractions(env):
    keep = env.publish(title="keeps one ioc", tlp="CLEAR", category="malware",
                       iocs=[ihclient.ioc("domain", "stays.example.org"),
                             ihclient.ioc("domain", "goes-away.example.org")])
    gone = env.publish(title="withdrawn advisory", tlp="CLEAR", category="malware",
                       iocs=[ihclient.ioc("domain", "withdrawn.example.org")])
    env.wait_visible(gone)
    env.publish_body(env.pub, ihclient.retraction_body(env.pub.ident, gone, "mistake"))
    env.publish_body(env.pub, ihclient.retraction_body(
        env.pub.ident, keep, "false positive", iocs=[ihclient.ioc("domain", "goes-away.example.org",
                                                                   "", False)]))
    cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + gone)["status"] == "retracted", 15,
                  what="retraction")
    cf.wait_until(lambda: len(env.get_json("/api/v1/alerts/" + keep)["iocs"]) == 1, 15,
                  what="IOC retraction")
    s, _, b = env.get("/")
    assert b"withdrawn advisory" not in b and b"keeps one ioc" in b
    s, _, b = env.get("/alerts/" + gone)
    assert s == 200 and b"Retracted." in b and b"withdrawn.example.org" not in b
    s, _, b = env.get("/alerts/" + keep)
    assert b"stays.example.org" in b and b"goes-away.example.org" not in b
    everything = b"".join(env.get(p)[2] for p in ("/feed.atom", "/export/csv", "/export/stix21",
                                                   "/api/v1/alerts", "/search?q=withdrawn"))
    assert b"withdrawn.example.org" not in everything and b"goes-away.example.org" not in everything
    objs, _ = taxii_walk(env)
    text = json.dumps(objs)
    assert "withdrawn.example.org" not in text and "goes-away.example.org" not in text
    assert "stays.example.org" in text


# ---- hardening ---------------------------------------------------------------------------------------

def test_security_headers_etag_and_caching(env):
    aid = env.publish(title="headers", tlp="CLEAR", category="other")
    env.wait_visible(aid)
    for p in ("/", "/alerts/" + aid, "/trends", "/feed.atom", "/api/v1/alerts", "/nope",
              "/static/style.css", OBJECTS):
        s, h, _ = env.get(p)
        csp = h.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, p
        assert "script-src" not in csp
        assert h.get("x-content-type-options") == "nosniff", p
        assert h.get("referrer-policy") == "no-referrer", p
    s, h, _ = env.get("/alerts/" + aid)
    assert h["etag"] and "max-age" in h["cache-control"]
    s2, h2, b2 = env.get("/alerts/" + aid, {"If-None-Match": h["etag"]})
    assert s2 == 304 and b2 == b"" and h2["etag"] == h["etag"]
    s3, _, _ = env.get("/alerts/" + aid, {"If-None-Match": '"other", ' + h["etag"]})
    assert s3 == 304
    # tags come from the content: a new alert changes the pages that show it, not the others
    s, hi, _ = env.get("/")
    other = env.publish(title="changes the generation", tlp="CLEAR", category="other")
    env.wait_visible(other)
    s4, h4, _ = env.get("/", {"If-None-Match": hi["etag"]})
    assert s4 == 200 and h4["etag"] != hi["etag"]
    s5, h5, b5 = env.get("/alerts/" + aid, {"If-None-Match": h["etag"]})
    assert s5 == 304 and b5 == b"" and h5["etag"] == h["etag"]
    s, h, _ = env.get("/healthz")
    assert h["cache-control"] == "no-store"
    s, h, _ = env.get("/metrics")
    assert h["cache-control"] == "no-store"
    # HEAD
    s, h, b = env.get("/", method="HEAD")
    assert s == 200 and b == b"" and int(h["content-length"]) > 1000


def test_limits_and_bad_requests(env):
    s, _, _ = env.get("/" + "a" * 3000)
    assert s == 414
    s, _, _ = env.get("/search?q=" + "x" * 2100)
    assert s == 414
    s, _, _ = env.get("/search?" + "&".join("a%d=1" % i for i in range(40)))
    assert s == 400
    s, _, _ = env.get("/search?q=" + "y" * 300)
    assert s == 400
    s, h, _ = env.get("/", method="POST")
    assert s == 405 and h.get("allow") == "GET, HEAD"
    s, _, _ = env.get("/", method="DELETE")
    assert s == 405
    # a header larger than the connection's memory pool
    resp = raw_http(env.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 431") or resp.startswith(b"HTTP/1.1 414") or resp == b"", resp[:80]
    env.assert_alive()


def test_survives_garbage_http(env):
    aid = env.publish(title="still here", tlp="CLEAR", category="other")
    env.wait_visible(aid)
    junk = [b"\x00\xff\x13garbage\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
            b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET /%00%ff HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\n" * 5000,
            b"GET / HTTP/1.1\r\n" + b"H: v\r\n" * 3000 + b"\r\n",
            b"POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000,
            bytes(range(256)) * 8]
    for j in junk:
        resp = raw_http(env.port, j, timeout=2.0)
        assert resp == b"" or resp.startswith(b"HTTP/1."), resp[:60]
    # random mutations of valid requests, reproducibly
    rnd = random.Random(6)
    base = [b"GET /alerts/%s HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n" % aid.encode(),
            b"GET /taxii2/api/collections/%s/objects/?limit=2&match[type]=report HTTP/1.1\r\n"
            b"Host: x\r\nAccept: application/taxii+json;version=2.1\r\n\r\n" % COLLECTION.encode(),
            b"GET /search?q=still HTTP/1.1\r\nHost: x\r\n\r\n"]
    for i in range(150):
        req = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 8)):
            pos = rnd.randrange(len(req))
            op = rnd.randrange(3)
            if op == 0:
                req[pos] = rnd.randrange(256)
            elif op == 1:
                req[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
            else:
                del req[pos:pos + rnd.randint(1, 10)]
        resp = raw_http(env.port, bytes(req), timeout=1.0, half_close=True)
        assert resp == b"" or resp.startswith(b"HTTP/1."), (bytes(req), resp[:60])
    # half-open and slow clients do not block the others
    idle = [socket.create_connection(("127.0.0.1", env.port)) for _ in range(20)]
    for s in idle[:10]:
        s.sendall(b"GET / HTTP/1.1\r\nHo")
    s, _, b = env.get("/alerts/" + aid)
    assert s == 200 and b"still here" in b
    for s in idle:
        s.close()
    # path tricks never escape the routes
    for p in ("/static/../../etc/passwd", "/static/%2e%2e/style.css", "//alerts/" + aid,
              "/alerts/" + aid + "/../../"):
        s, _, b = env.get(p)
        assert s in (200, 404) and b"root:" not in b
    env.assert_alive()
    assert env.get("/healthz")[0] == 200


def test_metrics_and_healthz(env):
    aid = env.publish(title="metrics", tlp="CLEAR", category="other")
    env.wait_visible(aid)
    env.get("/alerts/" + aid)
    env.get("/nope")
    s, h, b = env.get("/metrics")
    text = b.decode()
    assert s == 200 and h["content-type"].startswith("text/plain; version=0.0.4")
    assert re.search(r'^ih_http_requests_total\{route="alert",code="200"\} [1-9]', text, re.M)
    assert re.search(r'^ih_http_requests_total\{route="other",code="404"\} [1-9]', text, re.M)
    assert re.search(r'^ih_http_request_duration_seconds_bucket\{route="alert",le="\+Inf"\} [1-9]', text, re.M)
    assert re.search(r"^ih_gateway_alerts 1$", text, re.M)
    assert re.search(r"^ih_gateway_lag 0$", text, re.M)
    assert re.search(r"^ih_gateway_broker_connected 1$", text, re.M)
    for line in text.splitlines():
        assert line.startswith("#") or re.match(r'^[a-z_]+(\{[^}]*\})? [-+0-9.eInf]+$', line), line
    h = env.get_json("/healthz")
    assert h["status"] == "ok" and h["broker"] == "connected" and h["alerts"] == 1 and h["lag"] == 0


def test_command_line(deploy, tmp_path):
    env = GatewayEnv(deploy)
    gw = os.path.join(cf.BIN, "infohub-gateway")
    r = subprocess.run([gw, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0 and b"usage: infohub-gateway -c" in r.stdout
    r = subprocess.run([gw, "-c", env.cfg, "-n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0 and b"configuration OK" in r.stdout, r.stderr
    r = subprocess.run([gw, "-c", str(tmp_path / "missing.cfg")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    assert r.returncode != 0 and r.stderr.decode().startswith("infohub-gateway: ")
    assert len(r.stderr.decode().strip().splitlines()) == 1
    bad = tmp_path / "bad.cfg"
    bad.write_text(open(env.cfg).read().replace('port = "%d"' % env.port, 'port = "99999"'))
    r = subprocess.run([gw, "-c", str(bad), "-n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode != 0 and b"gateway/http/port" in r.stderr
    # the port in use: a clear error
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", env.port))
    blocker.listen(1)
    try:
        p = env.start_gateway(wait=False)
        assert p.wait(15) not in (None, 0)
        assert "cannot listen on 127.0.0.1:%d: Address already in use" % env.port in p.text()
    finally:
        blocker.close()
    # a second gateway on the same store is refused
    env.start_gateway()
    first = env.gw
    p = env.start_gateway(wait=False)
    assert p.wait(15) not in (None, 0)
    assert "in use" in p.text()
    env.gw = first
    env.assert_alive()
    assert env.stop_gateway() == 0

"""TAXII 2.1 versions on the gateway (issue 10, item 1): every revision of an alert is a
version of its objects. What is proven here, over a real broker and the real gateway:

- `…/objects/{id}/versions/` lists the modified timestamp of each version (report and
  indicator), oldest first, with the X-TAXII-Date-Added-* headers; an unknown object is 404;
- `match[version]` first, last (the default), all and an exact timestamp on `…/objects/{id}/`,
  on the listing and on the manifest: each version is built from its own revision's body;
- an object the latest revision dropped is no longer in the collection (no version of it);
- every version passes ../shared/tools/stix-validate;
- match[type] and match[id] are applied before any object is built: a type no entry can
  hold, or one indicator by id, reads a few records of the store, not every alert
  (ih_gateway_store_reads_total in /metrics counts them).
"""
import json

import pytest

from gwutil import MANIFEST, OBJECTS, GatewayEnv, cf, ihclient, stix_validate, taxii_walk

deploy = cf.deploy            # the fixture, from the integration conftest

MIN = 60000


@pytest.fixture
def env(deploy):
    e = GatewayEnv(deploy)
    e.start_gateway()
    return e


def _iso(ms):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def _publish_revisions(env):
    """One alert in three revisions; returns (alert id, [modified ms of each revision])."""
    t0 = ihclient.now_ms() - 3 * 3600000
    mods = [t0, t0 + MIN, t0 + 2 * MIN]
    keep = ihclient.ioc("domain", "kept-in-every-revision.example", "kept")
    iocs = [[keep, ihclient.ioc("domain", "only-in-rev-one.example", "dropped in rev 2")],
            [keep, ihclient.ioc("domain", "added-in-rev-two.example", "")],
            [keep, ihclient.ioc("domain", "added-in-rev-two.example", ""),
             ihclient.ioc("cve", "CVE-2024-3400", "")]]
    aid = None
    for rev in (1, 2, 3):
        body = ihclient.alert_body(env.pub.ident, title="versioned advisory, revision %d" % rev,
                                   summary="revision %d" % rev, tlp="CLEAR", category="malware",
                                   id=aid, rev=rev, created=t0, modified=mods[rev - 1],
                                   iocs=iocs[rev - 1])
        aid = body["id"]
        env.publish_body(env.pub, body)
        cf.wait_until(lambda: env.get("/api/v1/alerts/" + aid)[0] == 200
                      and env.get_json("/api/v1/alerts/" + aid)["revision"] == rev, 15,
                      what="revision %d on the gateway" % rev)
    # the TAXII log catches up right after the store's commit
    cf.wait_until(lambda: any(o["id"] == "report--" + aid and o["name"].endswith("revision 3")
                              for o in taxii_walk(env)[0]), 15, what="the TAXII log")
    return aid, mods


def test_versions_endpoint_lists_every_revision(env):
    aid, mods = _publish_revisions(env)
    rep = "report--" + aid
    v, h = env.taxii(OBJECTS + rep + "/versions/")
    assert v["more"] is False and v["versions"] == [_iso(m) for m in mods], v
    assert h["x-taxii-date-added-first"] <= h["x-taxii-date-added-last"]
    # the indicator kept in every revision has three versions too
    objs, _ = taxii_walk(env)
    kept = next(o for o in objs if o["type"] == "indicator" and "kept-in-every" in o["pattern"])
    v, _ = env.taxii(OBJECTS + kept["id"] + "/versions/")
    assert v["versions"] == [_iso(m) for m in mods]
    # added in revision 2: two versions; the CVE of revision 3: one
    added = next(o for o in objs if o["type"] == "indicator" and "added-in-rev-two" in o["pattern"])
    v, _ = env.taxii(OBJECTS + added["id"] + "/versions/")
    assert v["versions"] == [_iso(m) for m in mods[1:]]
    vuln = next(o for o in objs if o["type"] == "vulnerability")
    assert env.taxii(OBJECTS + vuln["id"] + "/versions/")[0]["versions"] == [_iso(mods[2])]
    # pagination of the versions
    v, _ = env.taxii(OBJECTS + rep + "/versions/?limit=2")
    assert v["more"] is True and v["versions"] == [_iso(m) for m in mods[:2]] and v["next"]
    v2, _ = env.taxii(OBJECTS + rep + "/versions/?limit=2&next=" + v["next"])
    assert v2["more"] is False and v2["versions"] == [_iso(mods[2])]
    # a shared object has one version; unknown objects are 404
    ident = next(o for o in objs if o["type"] == "identity")
    assert env.taxii(OBJECTS + ident["id"] + "/versions/")[0]["versions"] == [ident["modified"]]
    env.taxii(OBJECTS + "indicator--00000000-0000-4000-8000-000000000000/versions/", expect=404)
    # the indicator revision 2 dropped is not in the collection any more
    assert not [o for o in objs if "only-in-rev-one" in o.get("pattern", "")]


def test_match_version_first_last_all_timestamp(env, tmp_path):
    aid, mods = _publish_revisions(env)
    rep = "report--" + aid

    def names(query):
        e, _ = env.taxii(OBJECTS + rep + "/" + query)
        return [o["name"] for o in e.get("objects", [])]

    title = "versioned advisory, revision %d"
    assert names("") == [title % 3]                                   # last, the default
    assert names("?match[version]=last") == [title % 3]
    assert names("?match[version]=first") == [title % 1]
    assert names("?match[version]=all") == [title % 1, title % 2, title % 3]
    assert names("?match[version]=" + _iso(mods[1])) == [title % 2]
    assert names("?match[version]=first,last") == [title % 1, title % 3]
    assert names("?match[version]=2001-01-01T00:00:00Z") == []
    # each version is built from its own revision's body: its object_refs and revision
    e, _ = env.taxii(OBJECTS + rep + "/?match[version]=all")
    refs = [len(o["object_refs"]) for o in e["objects"]]
    assert refs == [2, 2, 3], refs
    assert [o["modified"] for o in e["objects"]] == [_iso(m) for m in mods]
    rc, out = stix_validate(json.dumps(e), tmp_path)
    assert rc == 0, out

    # the listing and the manifest: all versions once each, in date-added order
    every, _ = taxii_walk(env, extra="&match[version]=all")
    reps = [o for o in every if o["id"] == rep]
    assert [o["name"] for o in reps] == [title % 1, title % 2, title % 3]
    key = [(o["id"], o.get("modified", o.get("created"))) for o in every]
    assert len(key) == len(set(key)), "a version appears twice"
    kept = [o for o in every if "kept-in-every" in o.get("pattern", "")]
    assert len(kept) == 3
    assert not [o for o in every if "only-in-rev-one" in o.get("pattern", "")]
    paged, _ = taxii_walk(env, limit=2, extra="&match[version]=all")
    assert [(o["id"], o.get("modified", o.get("created"))) for o in paged] == key
    first, _ = taxii_walk(env, extra="&match[version]=first")
    assert [o["name"] for o in first if o["id"] == rep] == [title % 1]
    last, _ = taxii_walk(env)
    assert [o["name"] for o in last if o["id"] == rep] == [title % 3]
    man, _ = taxii_walk(env, MANIFEST, extra="&match[version]=all")
    assert [m["version"] for m in man if m["id"] == rep] == [_iso(m) for m in mods]
    rc, out = stix_validate(json.dumps({"objects": every, "more": False}), tmp_path)
    assert rc == 0, out


def _reads(env):
    s, _, b = env.get("/metrics")
    for line in b.decode().splitlines():
        if line.startswith("ih_gateway_store_reads_total "):
            return float(line.split()[1])
    raise AssertionError("no ih_gateway_store_reads_total in /metrics")


_nonce = [0]


def _reads_of(env, path):
    """Store records read for GET path (less what /metrics itself reads); a query
    argument of its own keeps the answer out of the response cache."""
    _nonce[0] += 1
    a = _reads(env)
    b = _reads(env)
    env.taxii(path + ("&" if "?" in path else "?") + "uncached=%d" % _nonce[0])
    c = _reads(env)
    return (c - b) - (b - a)


def test_filters_before_building_objects(env):
    ids = [env.publish(title="filtered %02d" % i, tlp="CLEAR", category="malware",
                       iocs=[ihclient.ioc("domain", "filtered-%02d.example" % i)]) for i in range(40)]
    env.wait_all(ids)
    cf.wait_until(lambda: len([o for o in taxii_walk(env)[0] if o["type"] == "report"]) == 40, 15,
                  what="the TAXII log")
    objs, _ = taxii_walk(env)
    full = _reads_of(env, OBJECTS)
    # a type no entry can hold: the log is walked, the store is not read
    e, _ = env.taxii(OBJECTS + "?match[type]=malware")
    assert "objects" not in e
    nothing = _reads_of(env, OBJECTS + "?match[type]=malware")
    # shared objects by type: no alert is read either
    ident = _reads_of(env, OBJECTS + "?match[type]=identity")
    # one indicator by id: only its alert
    ind = next(o for o in objs if o["type"] == "indicator" and "filtered-07" in o["pattern"])
    one, _ = env.taxii(OBJECTS + ind["id"] + "/")
    assert one["objects"] == [ind]
    by_id = _reads_of(env, OBJECTS + ind["id"] + "/")
    versions = _reads_of(env, OBJECTS + ind["id"] + "/versions/")
    listed = _reads_of(env, OBJECTS + "?match[id]=%s,report--%s" % (ind["id"], ids[30]))
    print("records read: all %d, match[type]=malware %d, identity %d, by id %d, versions %d, "
          "match[id] %d" % (full, nothing, ident, by_id, versions, listed))
    assert full >= 80
    assert nothing <= 2 and ident <= 10 and by_id <= 20 and versions <= 20 and listed <= 40

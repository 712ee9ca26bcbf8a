"""infohub-gateway's render caches (gateway/ih_gw.h, CACHES; issue 14 item 5) over a real
broker, a real publisher and the real gateway process: decoded alerts and rendered cards and
summaries are kept between requests, and what a revision or a retraction replaced is never
served again, by the plain pages (the server's response cache, dropped at each commit) nor
by pages rendered afresh (a query argument the pages do not read makes the URI new, so the
page is rendered from the caches: what bench/bench_gateway.sh measures as "no cache").
"""
import itertools

import pytest

from gwutil import GatewayEnv, cf, ihclient

deploy = cf.deploy            # the fixture, from the integration conftest

_fresh = itertools.count(1)


@pytest.fixture
def env(deploy):
    e = GatewayEnv(deploy)
    e.start_gateway()
    return e


def _pages(env, aid):
    """/, the alert's page and a search, each as served and as rendered afresh, twice (the
    second rendering from the caches)."""
    out = {}
    for path in ("/", "/alerts/" + aid, "/search?q=cachetest"):
        bodies = []
        for _ in range(2):
            for variant in (path, path + ("&" if "?" in path else "?") + "nocache=%d" % next(_fresh)):
                s, _, b = env.get(variant)
                assert s == 200, (variant, s, b[:300])
                bodies.append(b.decode("utf-8"))
        out[path.split("?")[0].split("/")[1] or "index"] = bodies
    return out


def _all(pages, name):
    return pages[name]


def test_revision_and_retraction_never_served_stale(env):
    aid = env.publish(title="cachetest first <em>edition</em>", summary="The **first** summary",
                      tlp="CLEAR", category="phishing",
                      iocs=[ihclient.ioc("domain", "first-edition.example.org"),
                            ihclient.ioc("domain", "kept-ioc.example.org")])
    other = env.publish(title="cachetest bystander", summary="Stays as it is", tlp="CLEAR",
                        category="malware")
    env.wait_all([aid, other])
    pages = _pages(env, aid)
    for b in _all(pages, "index") + _all(pages, "search"):
        assert "cachetest first &lt;em&gt;edition&lt;/em&gt;" in b and "cachetest bystander" in b
        assert "<em>edition" not in b
    for b in _all(pages, "alerts"):
        assert "The <strong>first</strong> summary" in b and "first-edition.example.org" in b

    # A revision: new title, summary and IOCs on every page, nothing of the first one.
    rev = ihclient.alert_body(env.pub.ident, title="cachetest second edition",
                              summary="The **second** summary", tlp="CLEAR", category="phishing",
                              id=aid, rev=2,
                              iocs=[ihclient.ioc("domain", "second-edition.example.org"),
                                    ihclient.ioc("domain", "kept-ioc.example.org")])
    env.publish_body(env.pub, rev)
    cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + aid)["revision"] == 2, 15, what="revision 2")
    pages = _pages(env, aid)
    for name in ("index", "alerts", "search"):
        for b in _all(pages, name):
            assert "cachetest second edition" in b, name
            assert "first" not in b.replace("First shared", ""), (name, b[:2000])
    for b in _all(pages, "index"):
        assert "Revision 2" in b and "cachetest bystander" in b
    for b in _all(pages, "alerts"):
        assert "The <strong>second</strong> summary" in b and "second-edition.example.org" in b

    # One IOC retracted: it leaves the alert page.
    env.publish_body(env.pub, ihclient.retraction_body(
        env.pub.ident, aid, "false positive",
        iocs=[ihclient.ioc("domain", "second-edition.example.org", "", False)]))
    cf.wait_until(lambda: len(env.get_json("/api/v1/alerts/" + aid)["iocs"]) == 1, 15,
                  what="IOC retraction")
    pages = _pages(env, aid)
    for b in _all(pages, "alerts"):
        assert "second-edition.example.org" not in b and "kept-ioc.example.org" in b

    # The whole alert retracted: off the list and the search, marked on its own page.
    env.publish_body(env.pub, ihclient.retraction_body(env.pub.ident, aid, "mistake"))
    cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + aid)["status"] == "retracted", 15,
                  what="retraction")
    pages = _pages(env, aid)
    for b in _all(pages, "index") + _all(pages, "search"):
        assert "cachetest second" not in b and "cachetest bystander" in b
    for b in _all(pages, "alerts"):
        assert "Retracted." in b and "kept-ioc.example.org" not in b


def test_related_advisories_follow_revisions_and_retractions(env):
    """The related list's hits are kept per index watermark; what is shown of each hit
    (title, whether it is still active) is read at every request."""
    shared = [ihclient.ioc("domain", "relcache-c2.example.org"), ihclient.ioc("ipv4", "198.51.100.77")]
    text = "Relcache campaign against regional banks: phishing mails lead to a loader that calls home."
    main = env.publish(title="relcache main advisory", summary=text, tlp="CLEAR", category="phishing",
                       iocs=shared)
    other = env.publish(title="relcache sibling first title", summary=text, tlp="CLEAR",
                        category="phishing", iocs=shared)
    env.wait_all([main, other])

    def page():
        s, _, b = env.get("/alerts/%s?nocache=%d" % (main, next(_fresh)))
        assert s == 200
        return b.decode("utf-8")

    cf.wait_until(lambda: "relcache sibling first title" in page(), 15, what="related advisory listed")
    page()                                  # the hits from the cache
    rev = ihclient.alert_body(env.pub.ident, title="relcache sibling second title", summary=text,
                              tlp="CLEAR", category="phishing", id=other, rev=2, iocs=shared)
    env.publish_body(env.pub, rev)
    cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + other)["revision"] == 2, 15, what="revision 2")
    for _ in range(2):
        b = page()
        assert "relcache sibling first title" not in b
    cf.wait_until(lambda: "relcache sibling second title" in page(), 15, what="revised title listed")
    env.publish_body(env.pub, ihclient.retraction_body(env.pub.ident, other, "mistake"))
    cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + other)["status"] == "retracted", 15,
                  what="retraction")
    for _ in range(2):
        b = page()
        assert "relcache sibling" not in b

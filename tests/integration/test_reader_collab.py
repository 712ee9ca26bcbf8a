"""Readers collaborate (issue 10, item 3): a member with --role reader comments on an alert
and reports sightings; the broker accepts them, and every agent entitled to the alert (the
publisher's and the reader's own) verifies and stores them. Only publishers publish,
revise and retract alerts: a reader's retraction and alert are refused with
`not-publisher`.
"""
import json

from conftest import wait_until


def alert_json(title="Phishing wave"):
    return json.dumps({"title": title, "summary": "Look *out*.", "tlp": "GREEN",
                       "severity": "high", "category": "phishing", "sectors": ["finance"],
                       "iocs": [{"type": "ipv4", "value": "192.0.2.1", "comment": "c2"}]})


def show(deploy, member, aid):
    r = deploy.agent_cmd(member, "show", aid, "--json", check=False)
    return json.loads(r.stdout.decode()) if r.returncode == 0 else None


def test_reader_comments_and_sightings(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rdr = deploy.add_member("analyst", "bank-b", sector="finance")      # role reader
    deploy.start_broker()
    ap = deploy.start_agent(pub)
    ar = deploy.start_agent(rdr)
    r = deploy.agent_cmd(pub, "publish", "-", input=alert_json().encode())
    aid = r.stdout.decode().strip()
    wait_until(lambda: show(deploy, rdr, aid), 15, what="the reader has the alert")

    r = deploy.agent_cmd(rdr, "comment", aid, "Seen", "at", "bank-b", "too", check=False)
    assert r.returncode == 0, r.stderr.decode()
    cid = r.stdout.decode().strip()
    assert len(cid) == 36, r.stdout
    r = deploy.agent_cmd(rdr, "sight", "192.0.2.1", "--alert", aid, "--count", "3", check=False)
    assert r.returncode == 0, r.stderr.decode()

    # Both agents verified and stored what the reader sent (the publisher's and its own).
    for m in (pub, rdr):
        def has_both(m=m):
            a = show(deploy, m, aid)
            return a if a and a.get("comments") and a.get("sightings") == 3 else None
        a = wait_until(has_both, 15, what="%s stores the reader's comment and sighting" % m.name)
        assert [c["text"] for c in a["comments"]] == ["Seen at bank-b too"], a["comments"]
        assert a["comments"][0]["publisher"] == {"org": "bank-b", "member": "analyst"}, a
    for p in (ap, ar):
        assert "is not a publisher" not in p.text(), p.text()[-2000:]

    # Only publishers publish, revise and retract.
    r = deploy.agent_cmd(rdr, "retract", aid, check=False)
    assert r.returncode == 1
    assert r.stderr.decode().startswith("infohub-agent: broker refused: not-publisher: "), r.stderr
    r = deploy.agent_cmd(rdr, "publish", "-", input=alert_json("mine").encode(), check=False)
    assert r.returncode == 1 and b"not-publisher" in r.stderr, r.stderr
    assert show(deploy, pub, aid)["status"] == "active"
    deploy.assert_broker_alive()

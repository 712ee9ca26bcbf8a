#!/usr/bin/python3
"""Writes the seed corpus of bin/fuzz-http into tests/fuzz/corpus-http/ (next to this file).

Each seed is one byte naming the site (0: the gateway, 1: the console) and the bytes of
a request: every route of each site, GET, HEAD and POST, queries with the arguments the
routes read, cookies, forms, conditional requests, and the known hostile shapes (a query
of a thousand '&', a NUL byte, dot segments, a chunked body, pipelined requests).
Usage: /usr/bin/python3 tests/fuzz/make-corpus-http.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus-http")
ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
COLL = "5e4f2c8a-61b7-4c3e-9d0a-7f3b1e6c2a94"


def req(method, target, headers=(), body=b""):
    h = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method.encode(), target.encode())
    for k, v in headers:
        h += b"%s: %s\r\n" % (k.encode(), v.encode())
    if body:
        h += b"Content-Length: %d\r\n" % len(body)
    return h + b"\r\n" + body


FORM = ("Content-Type", "application/x-www-form-urlencoded")
GATEWAY = [
    req("GET", "/"), req("HEAD", "/index.html"), req("GET", "/alerts/" + ID),
    req("GET", "/search?q=citrix&type=domain&page=2"), req("GET", "/trends?weeks=8"),
    req("GET", "/feed.atom"), req("GET", "/api/v1/alerts?limit=5&category=malware&after=10"),
    req("GET", "/api/v1/alerts/" + ID), req("GET", "/export/csv?since=2020-01-01"),
    req("GET", "/export/stix21"), req("GET", "/taxii2/", [("Accept", "application/taxii+json;version=2.1")]),
    req("GET", "/taxii2/api/collections/%s/objects/?match[type]=indicator&added_after=2020-01-01T00:00:00Z&limit=2"
        % COLL, [("Accept", "application/taxii+json;version=2.1")]),
    req("GET", "/taxii2/api/collections/%s/manifest/?next=abc" % COLL, [("Accept", "*/*")]),
    req("GET", "/healthz"), req("GET", "/metrics"), req("GET", "/static/style.css"),
    req("GET", "/robots.txt", [("If-None-Match", '"0123456789abcdef0123456789abcdef", W/"x"')]),
    req("POST", "/search", [FORM], b"q=x"),
    req("GET", "/?" + "&" * 1000), req("GET", "/api/v1/alerts?limit=%00"),
    req("GET", "/nowhere/../alerts/%2e%2e/healthz"), req("GET", "http://example.org/feed.atom"),
    req("GET", "/", [("Cookie", 'a=1; b="2"; c')]) + req("GET", "/trends"),
    b"POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nq=x\r\n0\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
]
CONSOLE = [
    req("GET", "/"), req("GET", "/login"), req("GET", "/login?next=/alerts"),
    req("POST", "/login", [FORM, ("Origin", "http://127.0.0.1")], b"user=alice&password=secret&csrf=x"),
    req("POST", "/login/code", [FORM, ("Cookie", "ih_console=AAAA")], b"code=123456&csrf=AAAA"),
    req("POST", "/logout", [FORM, ("Cookie", "ih_console=AAAA")], b"csrf=AAAA"),
    req("GET", "/alerts?q=x&tlp=amber&page=3", [("Cookie", "ih_console=AAAA")]),
    req("GET", "/alerts/" + ID, [("Cookie", "ih_console=AAAA")]),
    req("POST", "/comment", [FORM, ("Cookie", "ih_console=AAAA")], b"id=%s&text=hello&csrf=AAAA" % ID.encode()),
    req("POST", "/share", [FORM], b"title=x&ioc=1.2.3.4&ioc=evil.example&tlp=GREEN"),
    req("GET", "/events"), req("GET", "/members"), req("GET", "/downloads"),
    req("GET", "/export?format=csv"), req("GET", "/account"), req("GET", "/admin"),
    req("POST", "/admin/add", [FORM], b"name=bob&role=analyst"),
    req("GET", "/static/icon.svg"), req("GET", "/favicon.ico"), req("DELETE", "/login"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for site, seeds in ((0, GATEWAY), (1, CONSOLE)):
        for i, s in enumerate(seeds):
            name = "%s-%02d" % ("gw" if site == 0 else "con", i)
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(bytes([site]) + s)


if __name__ == "__main__":
    main()

"""The gateway against a hostile client (issue 12, item 8).

- a query of a thousand '&' (or ten thousand) is answered 400 or 414: libmicrohttpd used to
  spend the connection's whole memory pool on the empty arguments, could not build its
  own error, and closed the connection without a word;
- the per-address connection cap (gateway.cfg http/per-ip-connections) holds, and 0 turns
  it off for a gateway behind a proxy, where every client comes from the proxy's address.
"""
import socket
import time

import gwutil


def _raw(port, request, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(request)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        return data
    except socket.timeout:
        return data + b"<no answer within %.0f s>" % timeout
    finally:
        s.close()


def test_a_query_of_a_thousand_ampersands_gets_an_answer(deploy):
    env = gwutil.GatewayEnv(deploy)
    env.start_gateway()
    for n, want in ((33, b" 400 "), (1000, b" 400 "), (2000, b" 400 "), (20000, b" 414 ")):
        data = _raw(env.port, b"GET /?" + b"&" * n + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert data.startswith(b"HTTP/1.1") and want in data.split(b"\r\n")[0], (n, data[:80])
    # a query of arguments that are not empty, and a route with its own arguments
    data = _raw(env.port, b"GET /api/v1/alerts?" + b"&".join(b"a%d=1" % i for i in range(200))
                + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b" 400 " in data.split(b"\r\n")[0], data[:80]
    s, h, b = env.get("/api/v1/alerts?limit=5&category=malware")
    assert s == 200, (s, b[:200])
    env.assert_alive()


def _set(cfg, key, value):
    text = open(cfg).read()
    import re
    new, n = re.subn(r'(\n\s+%s = )"[^"]*"' % re.escape(key), r'\g<1>"%s"' % value, text)
    if n == 0:
        new = text.replace("    http\n", '    http\n        %s = "%s"\n' % (key, value), 1)
    open(cfg, "w").write(new)


def _held(port, n):
    """n connections that send nothing; returns those the server has not closed."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(n)]
    time.sleep(0.5)
    alive = []
    for s in socks:
        s.setblocking(False)
        try:
            closed = s.recv(1) == b""
        except BlockingIOError:
            closed = False
        except ConnectionResetError:
            closed = True
        (s.close() if closed else alive.append(s))
    return alive


def test_the_per_address_cap_holds_and_can_be_turned_off(deploy):
    env = gwutil.GatewayEnv(deploy)
    _set(env.cfg, "per-ip-connections", "3")
    env.start_gateway()
    # The readiness probe's connection may still count for a moment on a loaded machine
    # (libmicrohttpd has not seen it close): never more than the cap, and the cap once the
    # server caught up.
    counts = []
    for _ in range(5):
        alive = _held(env.port, 6)
        counts.append(len(alive))
        for s in alive:
            s.close()
        if counts[-1] == 3:
            break
        time.sleep(0.5)
    assert counts[-1] == 3 and max(counts) <= 3, counts
    env.stop_gateway()
    _set(env.cfg, "per-ip-connections", "0")      # behind a proxy: no per-address cap
    env.start_gateway()
    alive = _held(env.port, 40)
    assert len(alive) == 40, len(alive)
    for s in alive:
        s.close()
    env.assert_alive()

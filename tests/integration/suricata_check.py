"""A checker for the Suricata rules `infohub-agent export --format suricata` writes.

Suricata is not in Debian 12's archive, so the tests cannot ask it to load the rules; this
module enforces what the Suricata 7 rule documentation says of every keyword combination
the exporter uses, and also parses each rule with the parser Suricata's own rule manager
ships (Debian's suricata-update, module suricata.update.rule). Used by test_export.py and
test_export_rules.py (no tests here).

What the documentation says, and what is checked (docs.suricata.io, Suricata 7 user guide,
"Suricata Rules"):
  - Rules format: `action protocol source port direction destination port (options)`;
    the direction is `->` or `<>` (both ways); an address is `any`, an address or a CIDR,
    or a bracketed list of those; a port is `any` or a number 0..65535.
  - Options are `name;` or `name:value;`, the last one followed by `)`. In msg and in
    content, `"`, `;` and `\\` must be escaped (`\\"`, `\\;`, `\\\\`); a content may also
    write any byte as hex between pipes (`|3B|`), and a bare `|` opens such a run.
  - Meta keywords: msg (a quoted string), sid (a positive integer, unique), rev (a positive
    integer), priority (1..255), metadata (`key value` pairs separated by commas);
    classtype must name an entry of classification.config (so none is written).
  - Sticky buffers: a content after `dns.query`, `tls.sni`, `http.host`, `http.host.raw`,
    `http.uri` or `http.uri.raw` is matched in that buffer; a buffer belongs to one
    application protocol (dns, tls, http), which must be the rule's protocol. Each
    content here must follow a sticky buffer.
  - http.host and http.host.raw: "With the http.host sticky buffer, it is possible to match
    specifically and only the normalized hostname. The http.host.raw inspects the raw
    hostname. [...] The nocase keyword is not allowed anymore. Keep in mind that you need to
    specify a lowercase pattern." (an error that makes Suricata refuse the rule). So: no
    nocase after http.host, and no upper-case letter in its content; http.host.raw takes
    nocase.
  - Transformations: dotprefix "takes the buffer, and prepends a . character"; it follows
    the sticky buffer and comes before the content, which must then start with '.' to mean
    "this domain or a name below it" (with endswith: the domain only).
  - Content modifiers (nocase, startswith, endswith, fast_pattern) and bsize follow the
    content they modify; startswith and endswith each once per content.
  - ip rules (`alert ip`) carry no content.
"""
import ipaddress
import re

BUFFERS = {                     # sticky buffer -> (application protocol, nocase allowed)
    "dns.query": ("dns", True),
    "tls.sni": ("tls", True),
    "http.host": ("http", False),
    "http.host.raw": ("http", True),
    "http.uri": ("http", True),
    "http.uri.raw": ("http", True),
}
TRANSFORMS = {"dotprefix"}
CONTENT_MODIFIERS = {"nocase", "startswith", "endswith", "fast_pattern"}
PROTOCOLS = {"ip", "tcp", "udp", "icmp", "dns", "tls", "http"}
META = {"msg", "sid", "rev", "priority", "metadata", "classtype", "reference"}
HEADER = re.compile(r"^(alert|drop|pass|reject) (\S+) (\S+) (\S+) (->|<>) (\S+) (\S+) \((.*)\)$")


def _addr_ok(a):
    if a == "any":
        return True
    items = a[1:-1].split(",") if a.startswith("[") and a.endswith("]") else [a]
    try:
        for i in items:
            ipaddress.ip_network(i.strip().lstrip("!"), strict=True)
    except ValueError:
        return False
    return bool(items)


def _port_ok(p):
    return p == "any" or (p.isdigit() and 0 <= int(p) <= 65535)


def split_options(body):
    """[(name, value or None)] of 'name:value; name; ...' with quoted values; raises
    ValueError on an unterminated string or option."""
    out, i, n = [], 0, len(body)
    while i < n:
        while i < n and body[i] == " ":
            i += 1
        if i >= n:
            break
        j = i
        while j < n and body[j] not in ":;":
            j += 1
        if j >= n:
            raise ValueError("option %r is not terminated by ';'" % body[i:])
        name = body[i:j].strip()
        if body[j] == ";":
            out.append((name, None))
            i = j + 1
            continue
        k = j + 1
        while k < n and body[k] == " ":
            k += 1
        if k < n and body[k] == '"':
            m = k + 1
            while m < n and body[m] != '"':
                m += 2 if body[m] == "\\" else 1
            if m >= n:
                raise ValueError("unbalanced quotes in %s" % name)
            value = body[k:m + 1]
            m += 1
            while m < n and body[m] == " ":
                m += 1
            if m >= n or body[m] != ";":
                raise ValueError("text after the quoted value of %s" % name)
            out.append((name, value))
            i = m + 1
        else:
            m = k
            while m < n and body[m] != ";":
                if body[m] == '"':
                    raise ValueError("a quote inside the unquoted value of %s" % name)
                m += 1
            if m >= n:
                raise ValueError("option %s is not terminated by ';'" % name)
            out.append((name, body[k:m].strip()))
            i = m + 1
    return out


def _quoted_ok(value, what):
    """Problems of a quoted msg or content: unescaped quote, semicolon or backslash."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return ["%s is not a quoted string" % what]
    s, bad, i = value[1:-1], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in '";\\:|':
                bad.append("%s: a lone or unknown escape at %d" % (what, i))
            i += 2
            continue
        if c in '";':
            bad.append("%s: unescaped %r at %d" % (what, c, i))
        i += 1
    return bad


def content_bytes(value):
    """The bytes a quoted content matches (hex runs decoded); raises ValueError."""
    s, out, i = value[1:-1], bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            out += s[i + 1].encode()
            i += 2
        elif c == "|":
            j = s.find("|", i + 1)
            if j < 0:
                raise ValueError("unbalanced '|' in content")
            hexs = s[i + 1:j].replace(" ", "")
            if not hexs or len(hexs) % 2 or not re.fullmatch(r"[0-9A-Fa-f]+", hexs):
                raise ValueError("bad hex run |%s| in content" % s[i + 1:j])
            out += bytes.fromhex(hexs)
            i = j + 1
        else:
            out += c.encode()
            i += 1
    return bytes(out)


def check_rule(line):
    """Problems of one rule line ([] when none) and its sid (or None)."""
    m = HEADER.match(line)
    if not m:
        return ["not a rule: header or parentheses wrong"], None
    action, proto, src, sport, direction, dst, dport, body = m.groups()
    bad = []
    if proto not in PROTOCOLS:
        bad.append("unknown protocol %r" % proto)
    for a in (src, dst):
        if not _addr_ok(a):
            bad.append("bad address %r" % a)
    for p in (sport, dport):
        if not _port_ok(p):
            bad.append("bad port %r" % p)
    try:
        opts = split_options(body)
    except ValueError as e:
        return bad + [str(e)], None
    names = [n for n, _ in opts]
    for need in ("msg", "sid", "rev"):
        if names.count(need) != 1:
            bad.append("%s appears %d times" % (need, names.count(need)))
    sid = None
    buf, content, mods, transform = None, None, set(), False
    for name, value in opts:
        if name == "msg":
            bad += _quoted_ok(value or "", "msg")
        elif name in ("sid", "rev"):
            if not (value or "").isdigit() or int(value) < 1:
                bad.append("%s %r is not a positive integer" % (name, value))
            elif name == "sid":
                sid = int(value)
        elif name == "priority":
            if not (value or "").isdigit() or not 1 <= int(value) <= 255:
                bad.append("priority %r is not 1..255" % value)
        elif name == "metadata":
            for pair in (value or "").split(","):
                if len(pair.split()) < 2:
                    bad.append("metadata %r is not 'key value'" % pair.strip())
        elif name == "classtype":
            bad.append("classtype %r: must exist in the consumer's classification.config" % value)
        elif name in BUFFERS:
            if value is not None:
                bad.append("%s takes no value" % name)
            if BUFFERS[name][0] != proto:
                bad.append("%s is a %s buffer in an %s rule" % (name, BUFFERS[name][0], proto))
            buf, content, mods, transform = name, None, set(), False
        elif name in TRANSFORMS:
            if buf is None or content is not None:
                bad.append("%s must follow a sticky buffer, before its content" % name)
            transform = True
        elif name == "content":
            if buf is None:
                bad.append("content %s follows no sticky buffer" % value)
            bad += _quoted_ok(value or "", "content")
            try:
                content = content_bytes(value or '""')
            except ValueError as e:
                bad.append(str(e))
                content = b""
            if not content:
                bad.append("empty content")
            if transform and not content.startswith(b"."):
                bad.append("dotprefix with a content that does not start with '.': %s" % value)
            if buf == "http.host" and content.lower() != content:
                bad.append("http.host content must be lower case: %s" % value)
            mods = set()
        elif name in CONTENT_MODIFIERS:
            if content is None:
                bad.append("%s follows no content" % name)
            if name in mods:
                bad.append("%s twice on one content" % name)
            mods.add(name)
            if name == "nocase" and buf and not BUFFERS[buf][1]:
                bad.append("nocase after %s (Suricata refuses it: the buffer is lower-cased)" % buf)
        elif name == "bsize":
            if buf is None or not (value or "").isdigit():
                bad.append("bsize %r needs a sticky buffer and a number" % value)
            elif content is not None and not transform and int(value) != len(content) and "startswith" not in mods:
                bad.append("bsize %s but the content is %d bytes" % (value, len(content)))
        elif name not in META:
            bad.append("keyword %r is not one this checker knows" % name)
    if proto == "ip" and "content" in names:
        bad.append("an ip rule with content")
    if proto != "ip" and "content" not in names:
        bad.append("an application-layer rule without content")
    return bad, sid


def check_rules(text):
    """Checks every rule of an export (comments and blank lines skipped); returns
    (problems, rules) with problems as 'sid N: ...' lines. Also: sids unique."""
    bad, rules, sids = [], [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        rules.append(line)
        problems, sid = check_rule(line)
        if sid is not None:
            if sid in sids:
                problems.append("duplicate sid")
            sids.add(sid)
        bad += ["line %d (sid %s): %s" % (n, sid, p) for p in problems]
    return bad, rules


def parse_with_suricata_update(rules):
    """Parses each rule with suricata.update.rule; returns the parsed rules (raises
    AssertionError naming the rule it cannot parse)."""
    from suricata.update import rule as surule
    out = []
    for line in rules:
        r = surule.parse(line)
        assert r is not None, "suricata-update cannot parse: %s" % line
        assert r["action"] == "alert" and r["sid"] and r["rev"] >= 1, line
        assert r["raw"] == line, (r["raw"], line)
        out.append(r)
    return out

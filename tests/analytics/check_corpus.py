#!/usr/bin/python3
"""check_corpus.py: checks the text-analytics corpora and prints a summary.

    /usr/bin/python3 tests/analytics/check_corpus.py [--quiet] [ROOT]

ROOT is the repository (default: two levels above this file). Checked:

  config/corpus/alerts.jsonl    one alert a line, in the alert JSON of proto/ih_json.h:
                                shape and limits, IOC values that normalise (the rules of
                                proto/ih_ioc.h, ported below), labels (category, sectors,
                                ATT&CK technique tags), the spread of labels and
                                languages the brief asks for, and the source-document
                                groups and near-duplicate pairs listed in
                                config/corpus/README.md.
  tests/analytics/extract_cases.jsonl
                                the IOC-extraction specification: shape, expected values
                                in normal form, and coverage of every defang, type and
                                known false positive (tests/analytics/README.md).

Standard library only. Prints one line per violation and a summary table; exits 1 when
anything is violated, 0 otherwise.
"""
import collections
import ipaddress
import json
import os
import re
import socket
import sys

# ---- rules of the alert JSON (proto/ih_msg.h, proto/ih_json.h) ---------------------------
MAX_TITLE = 256
MAX_SUMMARY = 64 * 1024
MAX_SHORT = 64
MAX_LIST = 64
MAX_REF = 2048
MAX_IOC_VALUE = 2048
MAX_IOC_COMMENT = 1024

TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
SEVERITIES = ["low", "medium", "high", "critical"]
CATEGORIES = ["ransomware", "phishing", "malware", "vulnerability", "ddos", "intrusion",
              "fraud", "data-leak", "advisory", "other"]
SECTORS = ["finance", "telecom", "energy", "health", "government", "education", "transport",
           "retail", "manufacturing", "water", "media", "insurance"]
IOC_TYPES = ["ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256",
             "filename", "cve", "asn"]
ALERT_KEYS = {"title", "summary", "tlp", "severity", "category", "sectors", "recipients",
              "references", "tags", "iocs"}
IOC_KEYS = {"type", "value", "comment", "detect"}

# ---- what the corpus must hold (the brief of issue 13) ----------------------------------
MIN_ALERTS = 320
MIN_PER_CATEGORY = 20
MIN_SECTORS = 8
MIN_TECHNIQUES = 40
COMMON_TECHNIQUES = ["T1566", "T1566.001", "T1566.002", "T1059.001", "T1486", "T1190",
                     "T1078", "T1133", "T1110", "T1498"]
MIN_COMMON = 12
MIN_OTHER_TECHNIQUE = 3
MIN_PER_SEVERITY = 10
MIN_CHINESE = 40
MIN_MIXED = 10
MIN_SHARE_PER_SCRIPT = 0.35     # of the Chinese alerts, each script at least this share
SENTENCES = (3, 12)
TECH_PER_ALERT = (1, 5)
MAX_IOCS_PER_ALERT = 8
N_GROUPS, GROUP_SIZE = 25, (2, 3)
N_PAIRS = 8
NEAR_DUP = 0.6          # shingle Jaccard of a listed near-duplicate pair: at least this
UNRELATED = 0.45        # any other two alerts (group members included): below this

# Technique ids the corpus may use, with their ATT&CK names (enterprise matrix). A tag
# that looks like a technique id but is not here is reported: it is a typo or needs a
# name added after checking it on attack.mitre.org.
TECHNIQUES = {
    "T1003.001": "OS Credential Dumping: LSASS Memory",
    "T1003.006": "OS Credential Dumping: DCSync",
    "T1005": "Data from Local System",
    "T1018": "Remote System Discovery",
    "T1021.001": "Remote Services: Remote Desktop Protocol",
    "T1021.002": "Remote Services: SMB/Windows Admin Shares",
    "T1021.004": "Remote Services: SSH",
    "T1027": "Obfuscated Files or Information",
    "T1027.006": "Obfuscated Files or Information: HTML Smuggling",
    "T1036": "Masquerading",
    "T1041": "Exfiltration Over C2 Channel",
    "T1046": "Network Service Discovery",
    "T1047": "Windows Management Instrumentation",
    "T1048": "Exfiltration Over Alternative Protocol",
    "T1053.005": "Scheduled Task/Job: Scheduled Task",
    "T1055": "Process Injection",
    "T1056.001": "Input Capture: Keylogging",
    "T1056.003": "Input Capture: Web Portal Capture",
    "T1059.001": "Command and Scripting Interpreter: PowerShell",
    "T1059.004": "Command and Scripting Interpreter: Unix Shell",
    "T1059.005": "Command and Scripting Interpreter: Visual Basic",
    "T1059.007": "Command and Scripting Interpreter: JavaScript",
    "T1068": "Exploitation for Privilege Escalation",
    "T1070.001": "Indicator Removal: Clear Windows Event Logs",
    "T1071.001": "Application Layer Protocol: Web Protocols",
    "T1071.004": "Application Layer Protocol: DNS",
    "T1078": "Valid Accounts",
    "T1078.001": "Valid Accounts: Default Accounts",
    "T1078.004": "Valid Accounts: Cloud Accounts",
    "T1087.002": "Account Discovery: Domain Account",
    "T1091": "Replication Through Removable Media",
    "T1098": "Account Manipulation",
    "T1105": "Ingress Tool Transfer",
    "T1110": "Brute Force",
    "T1110.001": "Brute Force: Password Guessing",
    "T1110.003": "Brute Force: Password Spraying",
    "T1110.004": "Brute Force: Credential Stuffing",
    "T1111": "Multi-Factor Authentication Interception",
    "T1114.002": "Email Collection: Remote Email Collection",
    "T1114.003": "Email Collection: Email Forwarding Rule",
    "T1119": "Automated Collection",
    "T1133": "External Remote Services",
    "T1136.001": "Create Account: Local Account",
    "T1187": "Forced Authentication",
    "T1189": "Drive-by Compromise",
    "T1190": "Exploit Public-Facing Application",
    "T1195.002": "Supply Chain Compromise: Compromise Software Supply Chain",
    "T1199": "Trusted Relationship",
    "T1200": "Hardware Additions",
    "T1203": "Exploitation for Client Execution",
    "T1204.001": "User Execution: Malicious Link",
    "T1204.002": "User Execution: Malicious File",
    "T1210": "Exploitation of Remote Services",
    "T1213": "Data from Information Repositories",
    "T1213.003": "Data from Information Repositories: Code Repositories",
    "T1219": "Remote Access Software",
    "T1484.001": "Domain or Tenant Policy Modification: Group Policy Modification",
    "T1485": "Data Destruction",
    "T1486": "Data Encrypted for Impact",
    "T1489": "Service Stop",
    "T1490": "Inhibit System Recovery",
    "T1491.002": "Defacement: External Defacement",
    "T1496": "Resource Hijacking",
    "T1498": "Network Denial of Service",
    "T1498.001": "Network Denial of Service: Direct Network Flood",
    "T1498.002": "Network Denial of Service: Reflection Amplification",
    "T1499": "Endpoint Denial of Service",
    "T1499.002": "Endpoint Denial of Service: Service Exhaustion Flood",
    "T1499.003": "Endpoint Denial of Service: Application Exhaustion Flood",
    "T1505.003": "Server Software Component: Web Shell",
    "T1528": "Steal Application Access Token",
    "T1530": "Data from Cloud Storage",
    "T1534": "Internal Spearphishing",
    "T1539": "Steal Web Session Cookie",
    "T1547.001": "Boot or Logon Autostart Execution: Registry Run Keys / Startup Folder",
    "T1552.001": "Unsecured Credentials: Credentials In Files",
    "T1553.002": "Subvert Trust Controls: Code Signing",
    "T1555.003": "Credentials from Password Stores: Credentials from Web Browsers",
    "T1556": "Modify Authentication Process",
    "T1557": "Adversary-in-the-Middle",
    "T1558.003": "Steal or Forge Kerberos Tickets: Kerberoasting",
    "T1560.001": "Archive Collected Data: Archive via Utility",
    "T1562.001": "Impair Defenses: Disable or Modify Tools",
    "T1566": "Phishing",
    "T1566.001": "Phishing: Spearphishing Attachment",
    "T1566.002": "Phishing: Spearphishing Link",
    "T1566.003": "Phishing: Spearphishing via Service",
    "T1566.004": "Phishing: Spearphishing Voice",
    "T1567": "Exfiltration Over Web Service",
    "T1567.002": "Exfiltration Over Web Service: Exfiltration to Cloud Storage",
    "T1570": "Lateral Tool Transfer",
    "T1572": "Protocol Tunneling",
    "T1573": "Encrypted Channel",
    "T1574.002": "Hijack Execution Flow: DLL Side-Loading",
    "T1583.001": "Acquire Infrastructure: Domains",
    "T1584.002": "Compromise Infrastructure: DNS Server",
    "T1584.005": "Compromise Infrastructure: Botnet",
    "T1585.001": "Establish Accounts: Social Media Accounts",
    "T1585.002": "Establish Accounts: Email Accounts",
    "T1589.001": "Gather Victim Identity Information: Credentials",
    "T1595.001": "Active Scanning: Scanning IP Blocks",
    "T1595.002": "Active Scanning: Vulnerability Scanning",
    "T1598": "Phishing for Information",
    "T1598.003": "Phishing for Information: Spearphishing Link",
    "T1621": "Multi-Factor Authentication Request Generation",
    "T1649": "Steal or Forge Authentication Certificates",
    "T1656": "Impersonation",
    "T1657": "Financial Theft",
}
TECHNIQUE_RE = re.compile(r"^T\d{4}(\.\d{3})?$")
FREE_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
FICTIONAL_HOST_RE = re.compile(r"(^|\.)example\.(org|com|net)$")

# ---- IOC normal forms (a port of proto/ih_ioc.c) -----------------------------------------
_DEFANG = [("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."),
           ("[@]", "@"), ("[at]", "@"), ("(at)", "@"), ("[:]", ":"), ("[://]", "://")]


def refang(s):
    """ih_ioc_refang: trim, collapse the bracket tokens (nested ones too), hxxp(s)://."""
    s = s.strip(" \t\n\v\f\r")
    out = []
    for c in s:
        out.append(c)
        if c not in "])}":
            continue
        tail = "".join(out[-6:]).lower()
        for frm, to in _DEFANG:
            if tail.endswith(frm):
                del out[len(out) - len(frm):]
                out.extend(to)
                break
    r = "".join(out)
    m = re.match(r"(?i)hxxp(s?)://", r)
    if m:
        r = ("https" if m.group(1) else "http") + r[len(m.group(0)) - 3:]
    return r


class Bad(Exception):
    pass


def _text_ok(s, allow_space):
    for ch in s:
        o = ord(ch)
        if o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f:
            raise Bad("control character")
        if ch == " " and not allow_space:
            raise Bad("space")


def _ipv4(s):
    parts = s.split(".")
    if len(parts) != 4:
        raise Bad(f"expected 4 octets, got {len(parts)}")
    for p in parts:
        if not p or not p.isdigit() or not p.isascii():
            raise Bad("octet is not a decimal number")
        if len(p) > 1 and p[0] == "0":
            raise Bad("octet has a leading zero")
        if int(p) > 255:
            raise Bad("octet out of range")
    return s


def _ipv6(s):
    """inet_pton + inet_ntop, as in C (glibc prints ::ffff:a.b.c.d dotted; ipaddress
    would not)."""
    if "%" in s:
        raise Bad("zone id not allowed")
    if ":" not in s or not re.fullmatch(r"[0-9A-Fa-f:.]+", s):
        raise Bad("not an IPv6 address")
    try:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, s))
    except (OSError, ValueError) as e:
        raise Bad(f"not a valid IPv6 address ({e})")


def _domain(s):
    if s.endswith("."):
        s = s[:-1]
    if not s:
        raise Bad("empty label")
    if len(s) > 253:
        raise Bad("longer than 253")
    labels = s.split(".")
    for lab in labels:
        if not lab or len(lab) > 63:
            raise Bad(f"bad label length {lab!r}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", lab):
            raise Bad(f"invalid character in label {lab!r}")
        if lab[0] == "-" or lab[-1] == "-":
            raise Bad(f"label {lab!r} starts or ends with '-'")
    if len(labels) < 2:
        raise Bad("needs at least two labels")
    if labels[-1].isdigit():
        raise Bad("top-level label is all digits")
    return s.lower()


def _cidr(s):
    if s.count("/") != 1:
        raise Bad("expected one '/'")
    a, p = s.split("/")
    if not p.isdigit() or (len(p) > 1 and p[0] == "0") or len(p) > 3:
        raise Bad("bad prefix length")
    a = _ipv6(a) if ":" in a else _ipv4(a)
    if int(p) > (128 if ":" in a else 32):
        raise Bad("prefix length out of range")
    net = ipaddress.ip_network(f"{a}/{p}", strict=False)
    if net.network_address != ipaddress.ip_address(a):
        raise Bad(f"host bits set (the network is {net})")
    if net.version == 6:
        return socket.inet_ntop(socket.AF_INET6, net.network_address.packed) + f"/{net.prefixlen}"
    return f"{net.network_address}/{net.prefixlen}"


def _url(s):
    if len(s) > MAX_IOC_VALUE:
        raise Bad("too long")
    _text_ok(s, False)
    if "://" not in s:
        raise Bad("missing scheme://")
    scheme, rest = s.split("://", 1)
    if scheme.lower() not in ("http", "https", "ftp", "ftps"):
        raise Bad(f"unsupported scheme {scheme!r}")
    m = re.match(r"[^/?#]*", rest)
    auth, tail = m.group(0), rest[m.end():]
    userinfo, host = "", auth
    if "@" in auth:
        userinfo, host = auth.rsplit("@", 1)
        userinfo += "@"
    port = ""
    if host.startswith("["):
        if "]" not in host:
            raise Bad("unterminated '['")
        h, after = host[1:].split("]", 1)
        _ipv6(h)
        if after and not after.startswith(":"):
            raise Bad("text after ']'")
        hostn, port = "[" + h.lower() + "]", after
    else:
        if ":" in host:
            host, port = host.split(":", 1)
            port = ":" + port
        if not host:
            raise Bad("missing host")
        hostn = _ipv4(host) if re.fullmatch(r"[0-9.]+", host) else _domain(host)
    if port:
        p = port[1:]
        if not p.isdigit() or not 1 <= int(p) <= 65535:
            raise Bad("bad port")
    return scheme.lower() + "://" + userinfo + hostn + port + tail


def _email(s):
    if s.count("@") != 1:
        raise Bad("expected one '@'")
    local, dom = s.split("@")
    if not 1 <= len(local) <= 64 or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+", local):
        raise Bad("bad local part")
    return local + "@" + _domain(dom)


def _hash(n):
    def f(s):
        if len(s) != n or not re.fullmatch(r"[0-9A-Fa-f]+", s):
            raise Bad(f"expected {n} hex digits")
        return s.lower()
    return f


def _filename(s):
    if not 1 <= len(s.encode()) <= 255:
        raise Bad("length")
    if "/" in s:
        raise Bad("contains '/'")
    _text_ok(s, True)
    if s in (".", ".."):
        raise Bad("'.' or '..'")
    return s


def _cve(s):
    m = re.fullmatch(r"(?i)CVE-(\d{4})-(\d{4,7})", s)
    if not m:
        raise Bad("expected CVE-YYYY-NNNN")
    if not 1999 <= int(m.group(1)) <= 2100:
        raise Bad("year out of range")
    if len(m.group(2)) > 4 and m.group(2)[0] == "0":
        raise Bad("leading zero")
    return s.upper()


def _asn(s):
    m = re.fullmatch(r"(?i)(?:as)?(\d+)", s)
    if not m or (len(m.group(1)) > 1 and m.group(1)[0] == "0"):
        raise Bad("expected AS followed by a decimal number")
    v = int(m.group(1))
    if not 1 <= v <= 4294967295:
        raise Bad("out of range")
    return f"AS{v}"


NORMALISERS = {"ipv4": _ipv4, "ipv6": lambda s: _ipv6(s[1:-1] if s[:1] == "[" and s[-1:] == "]" else s),
               "cidr": _cidr, "domain": _domain, "url": _url, "email": _email,
               "md5": _hash(32), "sha1": _hash(40), "sha256": _hash(64),
               "filename": _filename, "cve": _cve, "asn": _asn}


def normalise(t, v):
    """The normal form of v as type t, or raises Bad (like ih_ioc_normalise)."""
    return NORMALISERS[t](refang(v))


# ---- text helpers ------------------------------------------------------------------------
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Characters written differently in the two scripts (traditional, simplified).
_TS = ("們们 這这 說说 對对 時时 國国 會会 發发 個个 為为 來来 後后 過过 還还 進进 現现 實实 經经 "
       "開开 關关 長长 門门 問问 間间 見见 讓让 認认 設设 記记 識识 語语 讀读 誰谁 調调 請请 車车 "
       "轉转 軟软 網网 絡络 釣钓 魚鱼 郵邮 銀银 賬账 戶户 碼码 補补 數数 據据 洩泄 擊击 務务 檔档 "
       "覽览 錄录 續续 響响 應应 險险 護护 證证 書书 電电 腦脑 統统 訊讯 議议 結结 內内 傳传 "
       "儲储 碼码 處处 級级 單单 條条 構构 機机 權权 資资 訪访 備备 與与 於于 從从 將将 當当 "
       "並并 該该 報报 頁页 號号 絕绝 攝摄 韌韧 體体 裝装 殭僵 屍尸 總总 額额 幣币 萬万 員员 "
       "療疗 醫医 院院 徑径 隊队 貨货 戲戏 騙骗 詐诈 帳账 錢钱 幾几 態态 極极 測测 錯错 壞坏 "
       "標标 題题 導导 動动 產产 業业 廠厂 區区 點点 專专 庫库 樣样 靜静 節节 鍵键 驗验 歸归")
TRAD = set(p[0] for p in _TS.split())
SIMP = set(p[1] for p in _TS.split())


def language(a):
    """'en', 'zh-Hant' or 'zh-Hans'; and whether Chinese text mixes in much English."""
    text = a["title"] + "\n" + a["summary"]
    cjk = len(CJK_RE.findall(text))
    if cjk < 10:
        return "en", False
    t = sum(1 for c in text if c in TRAD)
    s = sum(1 for c in text if c in SIMP)
    lang = "zh-Hant" if t > s else "zh-Hans"
    plain = re.sub(r"`[^`]*`", " ", text)
    plain = re.sub(r"\S*[./:@\\]\S*", " ", plain)          # URLs, domains, paths, IOCs
    words = re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", plain)
    # "Mixed": English words make up a fifth or more of the text (a CJK word ~ 2 chars).
    mixed = len(words) >= 6 and len(words) / (len(words) + cjk / 2) >= 0.2
    return lang, mixed


_ABBR = re.compile(r"\b(e\.g|i\.e|etc|vs|approx|No|cf)\.", re.I)


def sentences(md):
    """Sentences of a Markdown summary: terminators followed by space or end, CJK
    terminators, and list items without their own terminator."""
    n = 0
    for line in re.sub(r"`[^`]*`", "code", md).split("\n"):
        line = line.strip()
        if not line:
            continue
        item = re.match(r"^([-*+]|\d+\.)\s+", line)
        body = _ABBR.sub("abbr", line[item.end():] if item else line)
        k = len(re.findall(r"[.!?](?=[\s*_)\"']|$)|[。！？]", body))
        n += k if k or not item else 1
    return n


def shingles(a, k=3):
    text = f"{a.get('title', '')} {a.get('summary', '')}".lower()
    toks = re.findall(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]", text)
    return {tuple(toks[i:i + k]) for i in range(max(1, len(toks) - k + 1))}


def jaccard(x, y):
    return len(x & y) / len(x | y) if x or y else 1.0


# ---- the checks ----------------------------------------------------------------------------
class Report:
    def __init__(self):
        self.errors = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")


def check_alert(r, where, a):
    if not isinstance(a, dict):
        return r.err(where, "not a JSON object")
    for k in a:
        if k not in ALERT_KEYS:
            r.err(where, f"unknown field {k!r}")
    for k in ("title", "summary", "tlp", "severity", "category", "tags"):
        if k not in a:
            r.err(where, f"{k}: required")
    if any(k not in a for k in ("title", "summary", "tlp", "severity", "category", "tags")):
        return
    t = a["title"]
    if not isinstance(t, str) or not t or len(t.encode()) > MAX_TITLE or "\n" in t:
        r.err(where, f"title: 1..{MAX_TITLE} bytes on one line")
    else:
        try:
            _text_ok(t, True)
        except Bad as e:
            r.err(where, f"title: {e}")
    s = a["summary"]
    if not isinstance(s, str) or len(s.encode()) > MAX_SUMMARY:
        r.err(where, f"summary: a string of at most {MAX_SUMMARY} bytes")
    else:
        n = sentences(s)
        if not SENTENCES[0] <= n <= SENTENCES[1]:
            r.err(where, f"summary: {n} sentences (expected {SENTENCES[0]}..{SENTENCES[1]})")
    if a["tlp"] not in TLPS:
        r.err(where, f"tlp: unknown value {a['tlp']!r}")
    if a["severity"] not in SEVERITIES:
        r.err(where, f"severity: unknown value {a['severity']!r}")
    if a["category"] not in CATEGORIES:
        r.err(where, f"category: unknown value {a['category']!r}")
    for key in ("sectors", "recipients", "references", "tags"):
        v = a.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            r.err(where, f"{key}: a list of non-empty strings")
            a[key] = []
            continue
        if len(v) > MAX_LIST:
            r.err(where, f"{key}: too many ({len(v)} > {MAX_LIST})")
        if len(set(v)) != len(v):
            r.err(where, f"{key}: duplicate entries")
    for x in a.get("sectors", []):
        if x not in SECTORS:
            r.err(where, f"sectors: {x!r} is not one of {', '.join(SECTORS)}")
    rec = a.get("recipients", [])
    if a["tlp"] in ("AMBER+STRICT", "RED") and not rec:
        r.err(where, f"recipients: required for {a['tlp']}")
    if rec and a["tlp"] in ("CLEAR", "GREEN"):
        r.err(where, "recipients: only AMBER, AMBER+STRICT and RED alerts name recipients")
    for x in rec:
        slug = x[7:] if x.startswith("sector:") else x
        if len(x) > MAX_SHORT or not SLUG_RE.match(slug):
            r.err(where, f"recipients: invalid {x!r}")
        if x.startswith("sector:") and (a["tlp"] != "AMBER" or slug not in SECTORS):
            r.err(where, f"recipients: {x!r} is for AMBER and a known sector only")
    for u in a.get("references", []):
        m = re.fullmatch(r"https://([a-z0-9.-]+)(/\S*)?", u)
        if len(u) > MAX_REF or not m or not FICTIONAL_HOST_RE.search(m.group(1)):
            r.err(where, f"references: {u!r} is not an https URL on example.org/com/net")
    techs = []
    for x in a["tags"]:
        if len(x.encode()) > MAX_SHORT or "\n" in x:
            r.err(where, f"tags: {x!r} longer than {MAX_SHORT} bytes or not one line")
        elif TECHNIQUE_RE.match(x):
            techs.append(x)
            if x not in TECHNIQUES:
                r.err(where, f"tags: {x!r} is not in the technique table of this checker")
        elif re.match(r"(?i)^t\d", x):
            r.err(where, f"tags: {x!r} looks like a malformed technique id")
        elif not FREE_TAG_RE.match(x):
            r.err(where, f"tags: free tag {x!r} is not lower-case [a-z0-9-]")
    if not TECH_PER_ALERT[0] <= len(techs) <= TECH_PER_ALERT[1]:
        r.err(where, f"tags: {len(techs)} technique ids (expected {TECH_PER_ALERT[0]}..{TECH_PER_ALERT[1]})")
    iocs = a.get("iocs", [])
    if not isinstance(iocs, list):
        return r.err(where, "iocs: a list")
    if len(iocs) > MAX_IOCS_PER_ALERT:
        r.err(where, f"iocs: {len(iocs)} (at most {MAX_IOCS_PER_ALERT})")
    seen = set()
    for i, ioc in enumerate(iocs):
        w = f"{where}: iocs[{i}]"
        if not isinstance(ioc, dict) or set(ioc) - IOC_KEYS or "type" not in ioc or "value" not in ioc:
            r.err(w, "an object with type, value and optional comment, detect")
            continue
        if ioc["type"] not in IOC_TYPES:
            r.err(w, f"type: unknown {ioc['type']!r}")
            continue
        if not isinstance(ioc.get("comment", ""), str) or len(ioc.get("comment", "").encode()) > MAX_IOC_COMMENT:
            r.err(w, "comment: a string of at most 1024 bytes")
        if not isinstance(ioc.get("detect", True), bool):
            r.err(w, "detect: true or false")
        try:
            v = normalise(ioc["type"], ioc["value"])
        except Bad as e:
            r.err(w, f"value {ioc['value']!r}: {e}")
            continue
        if (ioc["type"], v) in seen:
            r.err(w, f"duplicate IOC {v!r}")
        seen.add((ioc["type"], v))
        check_fictional(r, w, ioc["type"], v)


DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


def check_fictional(r, w, t, v):
    """Addresses from documentation ranges, documentation ASNs, CVE years 2024..2026."""
    if t in ("ipv4", "ipv6"):
        if not any(ipaddress.ip_address(v) in n for n in DOC_NETS):
            r.err(w, f"{v} is not in a documentation range")
    elif t == "cidr":
        net = ipaddress.ip_network(v)
        if not any(net.version == n.version and net.subnet_of(n) for n in DOC_NETS):
            r.err(w, f"{v} is not inside a documentation range")
    elif t == "asn":
        n = int(v[2:])
        if not (64496 <= n <= 64511 or 65536 <= n <= 65551):
            r.err(w, f"{v} is not a documentation ASN (RFC 5398)")
    elif t == "cve":
        if not 2024 <= int(v[4:8]) <= 2026:
            r.err(w, f"{v}: expected a 2024..2026 CVE id")
    elif t == "url":
        host = re.match(r"[a-z]+://(?:[^/@]*@)?([^/:?#]+)", v).group(1)
        if re.fullmatch(r"[0-9.]+", host):
            check_fictional(r, w, "ipv4", host)


def parse_readme(r, path):
    """The group and pair tables of config/corpus/README.md."""
    groups, pairs = {}, {}
    if not os.path.exists(path):
        r.err(path, "missing")
        return groups, pairs
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^\|\s*(G\d+)\s*\|\s*(\S+)\s*\|\s*([\d ,]+)\|", line)
        if m:
            groups[m.group(1)] = (m.group(2), [int(x) for x in m.group(3).replace(",", " ").split()])
        m = re.match(r"^\|\s*(P\d+)\s*\|\s*([\d ,]+)\|", line)
        if m:
            pairs[m.group(1)] = [int(x) for x in m.group(2).replace(",", " ").split()]
    return groups, pairs


def ioc_set(a):
    """The alert's IOCs as (type, normal form); invalid ones are left out (reported elsewhere)."""
    out = set()
    for i in a.get("iocs", []) if isinstance(a.get("iocs"), list) else []:
        try:
            out.add((i["type"], normalise(i["type"], i["value"])))
        except (Bad, KeyError, TypeError):
            pass
    return frozenset(out)


def check_groups(r, alerts, groups, pairs, sh):
    """alerts: one dict per line ({} for a line that is not an object)."""
    n = len(alerts)
    # Groups: exactly the sets of alerts that share a reference URL.
    by_ref = collections.defaultdict(set)
    for i, a in enumerate(alerts, 1):
        for u in a.get("references", []) if isinstance(a.get("references"), list) else []:
            by_ref[u].add(i)
    shared = {u: sorted(s) for u, s in by_ref.items() if len(s) > 1}
    listed = {}
    if len(groups) != N_GROUPS:
        r.err("README", f"{len(groups)} groups listed (expected {N_GROUPS})")
    for g, (url, lines) in sorted(groups.items()):
        if not GROUP_SIZE[0] <= len(lines) <= GROUP_SIZE[1]:
            r.err("README", f"{g}: {len(lines)} alerts (expected {GROUP_SIZE[0]}..{GROUP_SIZE[1]})")
        if any(not 1 <= x <= n for x in lines):
            r.err("README", f"{g}: line out of range")
            continue
        listed[url] = sorted(lines)
        if shared.get(url) != sorted(lines):
            r.err("README", f"{g}: lines {lines} but {url} is referenced by lines {sorted(by_ref.get(url, []))}")
        cats = {alerts[x - 1].get("category") for x in lines}
        if len(cats) != 1:
            r.err("README", f"{g}: members differ in category {sorted(cats)}")
        iocsets = [ioc_set(alerts[x - 1]) for x in lines]
        for x in range(len(lines)):
            for y in range(x + 1, len(lines)):
                if iocsets[x] and iocsets[x] == iocsets[y]:
                    r.err("README", f"{g}: lines {lines[x]} and {lines[y]} have the same IOCs")
    for u, lines in shared.items():
        if u not in listed:
            r.err("README", f"lines {lines} share {u} but are not listed as a group")
    # Near-duplicate pairs, and nothing else that close.
    if len(pairs) != N_PAIRS:
        r.err("README", f"{len(pairs)} pairs listed (expected {N_PAIRS})")
    pairset = set()
    for p, lines in sorted(pairs.items()):
        if len(lines) != 2 or any(not 1 <= x <= n for x in lines):
            r.err("README", f"{p}: expected two line numbers in 1..{n}")
            continue
        x, y = sorted(lines)
        pairset.add((x, y))
        j = jaccard(sh[x - 1], sh[y - 1])
        if j < NEAR_DUP:
            r.err("README", f"{p}: lines {x} and {y} are not near-duplicates (Jaccard {j:.2f} < {NEAR_DUP})")
        if alerts[x - 1].get("summary") == alerts[y - 1].get("summary"):
            r.err("README", f"{p}: lines {x} and {y} have the same summary (a near-duplicate is edited)")
        if set(alerts[x - 1].get("references", [])) & set(alerts[y - 1].get("references", [])):
            r.err("README", f"{p}: a pair must not also be a reference group")
    close = []
    for x in range(n):
        for y in range(x + 1, n):
            if (x + 1, y + 1) in pairset:
                continue
            j = jaccard(sh[x], sh[y])
            if j >= UNRELATED:
                close.append((j, x + 1, y + 1))
    for j, x, y in sorted(close, reverse=True):
        r.err("corpus", f"lines {x} and {y} are close (Jaccard {j:.2f} >= {UNRELATED}) but not a listed pair")
    return max((jaccard(sh[x], sh[y]) for x in range(n) for y in range(x + 1, n)
                if (x + 1, y + 1) not in pairset), default=0.0)


def table(title, counter, order=None, names=None):
    keys = order if order else sorted(counter, key=lambda k: (-counter[k], k))
    print(f"\n{title}")
    width = max([len(str(k)) for k in keys] + [4])
    for k in keys:
        extra = f"  {names[k]}" if names and k in names else ""
        print(f"  {str(k):<{width}}  {counter.get(k, 0):>4}{extra}")


def check_alerts(r, root, quiet):
    path = os.path.join(root, "config/corpus/alerts.jsonl")
    alerts = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            where = f"alerts.jsonl:{ln}"
            try:
                a = json.loads(line)
            except ValueError as e:
                r.err(where, f"not JSON: {e}")
                alerts.append(None)
                continue
            check_alert(r, where, a)
            alerts.append(a)
    ok = [a for a in alerts if isinstance(a, dict) and "tags" in a and "category" in a]
    cats = collections.Counter(a["category"] for a in ok)
    sev = collections.Counter(a["severity"] for a in ok)
    tlp = collections.Counter(a["tlp"] for a in ok)
    sec = collections.Counter(s for a in ok for s in a.get("sectors", []))
    tech = collections.Counter(t for a in ok for t in a["tags"] if TECHNIQUE_RE.match(t))
    iocs = collections.Counter(i.get("type") for a in ok for i in a.get("iocs", []) if isinstance(i, dict))
    langs = collections.Counter()
    mixed = 0
    for a in ok:
        lang, mx = language(a)
        langs[lang] += 1
        mixed += mx
    # The spread.
    if len(alerts) < MIN_ALERTS:
        r.err("corpus", f"{len(alerts)} alerts (expected at least {MIN_ALERTS})")
    for c in CATEGORIES:
        if cats[c] < MIN_PER_CATEGORY:
            r.err("corpus", f"category {c}: {cats[c]} alerts (expected at least {MIN_PER_CATEGORY})")
    for s in SEVERITIES:
        if sev[s] < MIN_PER_SEVERITY:
            r.err("corpus", f"severity {s}: {sev[s]} alerts (expected at least {MIN_PER_SEVERITY})")
    if len(sec) < MIN_SECTORS:
        r.err("corpus", f"{len(sec)} sectors used (expected at least {MIN_SECTORS})")
    if len(tech) < MIN_TECHNIQUES:
        r.err("corpus", f"{len(tech)} distinct technique ids (expected at least {MIN_TECHNIQUES})")
    for t, n in tech.items():
        want = MIN_COMMON if t in COMMON_TECHNIQUES else MIN_OTHER_TECHNIQUE
        if n < want:
            r.err("corpus", f"technique {t}: {n} alerts (expected at least {want})")
    for t in COMMON_TECHNIQUES:
        if t not in tech:
            r.err("corpus", f"technique {t}: missing (expected at least {MIN_COMMON})")
    zh = langs["zh-Hant"] + langs["zh-Hans"]
    if zh < MIN_CHINESE:
        r.err("corpus", f"{zh} Chinese alerts (expected at least {MIN_CHINESE})")
    elif min(langs["zh-Hant"], langs["zh-Hans"]) < MIN_SHARE_PER_SCRIPT * zh:
        r.err("corpus", f"Chinese alerts unbalanced: {langs['zh-Hant']} Traditional, {langs['zh-Hans']} Simplified")
    if mixed < MIN_MIXED:
        r.err("corpus", f"{mixed} mixed Chinese/English alerts (expected at least {MIN_MIXED})")
    groups, pairs = parse_readme(r, os.path.join(root, "config/corpus/README.md"))
    safe = [a if isinstance(a, dict) else {} for a in alerts]
    sh = [shingles(a) for a in safe]
    closest = check_groups(r, safe, groups, pairs, sh)

    if quiet:
        return
    print(f"alerts.jsonl: {len(alerts)} alerts, {sum(iocs.values())} IOCs, "
          f"{len(tech)} distinct techniques, {len(sec)} sectors")
    table("category", cats, CATEGORIES)
    table("severity", sev, SEVERITIES)
    table("tlp", tlp, TLPS)
    table("sector", sec, SECTORS)
    table("language", collections.Counter({**langs, "zh mixed with English (of the above)": mixed}),
          ["en", "zh-Hant", "zh-Hans", "zh mixed with English (of the above)"])
    table("ioc type", iocs, IOC_TYPES)
    table("technique (ATT&CK)", tech, names=TECHNIQUES)
    print(f"\nsource-document groups: {len(groups)} ({sum(len(v[1]) for v in groups.values())} alerts); "
          f"near-duplicate pairs: {len(pairs)}; closest unlisted pair: Jaccard {closest:.2f}")


# ---- the extraction cases ------------------------------------------------------------------
CASE_TYPES = IOC_TYPES + ["technique"]
CASE_KEYS = {"name", "text", "expect", "reject", "references"}
MIN_CASES = 150
MIN_PER_TYPE = 4
MIN_PER_FEATURE = 3
# Each feature: a regular expression over the case text, or over the rejected values.
FEATURES_TEXT = {
    "defang [.]": r"\[\.\]", "defang (.)": r"\(\.\)", "defang {.}": r"\{\.\}",
    "defang [dot]": r"(?i)[\[(]dot[\])]", "defang ' dot '": r"(?i)\w dot \w", "defang \\.": r"\w\\\.\w",
    "defang [@]": r"\[@\]", "defang ' at '": r"(?i)\w at [\w-]+ dot \w", "defang [at]/(at)": r"(?i)[\[(]at[\])]",
    "defang [:]": r"\[:\]", "hxxp://": r"(?i)hxxp(?!s)\W", "hxxps://": r"(?i)hxxps\W",
    "h**p": r"h\*\*ps?\W", "meow": r"(?i)meows?\W",
    "spaces inside a URL": r"(?i)(hxxps?|https?|meows?|h\*\*ps?)\s+(\[?:\]?//|://)",
    "full-width punctuation": r"[。，：；（）「」、]", "ipv6 full form": r"\b[0-9a-fA-F]{4}(:[0-9a-fA-F]{4}){7}\b",
    "ipv6 compressed": r"[0-9a-fA-F]::[0-9a-fA-F]", "port after address": r"(\d\.\d+|\])(:|\[:\])\d{2,5}\b",
    "sentence-final dot after URL": r"(hxxps?|meow|h\*\*ps?)\S*/\S*[^\s.]\.(\s|$)",
    "Chinese text": r"[\u4e00-\u9fff]",
}
FEATURES_REJECT = {
    "file name taken as domain": r"(?i)^[\w-]+\.(md|py|zip|sh|mov|txt|pdf|docx|json|yaml)$",
    "antivirus signature": r"(?i)(Trojan|W32|W64|HEUR|Backdoor|Win32|Win64)[:/.]",
    "version number": r"^\d+\.\d+\.\d+\.\d+$",
    "hex that is no hash": r"^(0x)?[0-9a-fA-F]{32,}$|^\{?[0-9a-fA-F-]{36}\}?$",
}


def check_cases(r, root, quiet):
    path = os.path.join(root, "tests/analytics/extract_cases.jsonl")
    cases = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            where = f"extract_cases.jsonl:{ln}"
            try:
                c = json.loads(line)
            except ValueError as e:
                r.err(where, f"not JSON: {e}")
                continue
            if not isinstance(c, dict) or set(c) - CASE_KEYS or not {"name", "text", "expect", "reject"} <= set(c):
                r.err(where, "expected name, text, expect, reject and optional references")
                continue
            if not isinstance(c["name"], str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", c["name"]):
                r.err(where, f"name {c.get('name')!r}: lower-case [a-z0-9-]")
            if not isinstance(c["text"], str) or not c["text"].strip():
                r.err(where, "text: empty")
                continue
            vals = set()
            for e in c["expect"] if isinstance(c["expect"], list) else [None]:
                if not isinstance(e, dict) or set(e) != {"type", "value"} or e["type"] not in CASE_TYPES:
                    r.err(where, f"expect: {e!r} is not {{type, value}} with a known type")
                    continue
                v = e["value"]
                if e["type"] == "technique":
                    if not re.fullmatch(r"T1\d{3}(\.\d{3})?", v):
                        r.err(where, f"expect: technique {v!r} is not T1NNN or T1NNN.NNN")
                else:
                    try:
                        if normalise(e["type"], v) != v:
                            r.err(where, f"expect: {v!r} is not in normal form ({normalise(e['type'], v)!r})")
                    except Bad as x:
                        r.err(where, f"expect: {e['type']} {v!r}: {x}")
                if (e["type"], v) in vals:
                    r.err(where, f"expect: {v!r} twice")
                vals.add((e["type"], v))
            if not isinstance(c["reject"], list) or not all(isinstance(x, str) and x for x in c["reject"]):
                r.err(where, "reject: a list of non-empty strings")
                continue
            for x in c["reject"]:
                if any(x == v for _, v in vals):
                    r.err(where, f"reject: {x!r} is also expected")
            refs = c.get("references", [])
            if not isinstance(refs, list) or not all(isinstance(u, str) and re.match(r"https?://", u) for u in refs):
                r.err(where, "references: a list of http(s) URLs")
            if not c["expect"] and not c["reject"]:
                r.err(where, "a case expects or rejects something")
            cases.append(c)
    names = collections.Counter(c["name"] for c in cases)
    for n, k in names.items():
        if k > 1:
            r.err("extract_cases.jsonl", f"name {n!r} used {k} times")
    if len(cases) < MIN_CASES:
        r.err("extract_cases.jsonl", f"{len(cases)} cases (expected at least {MIN_CASES})")
    types = collections.Counter(e["type"] for c in cases for e in c["expect"] if isinstance(e, dict))
    for t in CASE_TYPES:
        if types[t] < MIN_PER_TYPE:
            r.err("extract_cases.jsonl", f"type {t}: {types[t]} expected values (want at least {MIN_PER_TYPE})")
    feat = collections.Counter()
    for c in cases:
        for f, rx in FEATURES_TEXT.items():
            if re.search(rx, c["text"]):
                feat[f] += 1
        for f, rx in FEATURES_REJECT.items():
            if any(re.search(rx, x) for x in c["reject"]):
                feat["reject: " + f] += 1
        hosts = {re.match(r"[a-z]+://(?:[^/@]*@)?(\[[^\]]*\]|[^/:?#]+)", e["value"]).group(1).strip("[]")
                 for e in c["expect"] if isinstance(e, dict) and e.get("type") == "url"}
        if hosts & set(c["reject"]):
            feat["reject: host of an extracted URL"] += 1
    order = list(FEATURES_TEXT) + ["reject: " + f for f in FEATURES_REJECT] + ["reject: host of an extracted URL"]
    for f in order:
        if feat[f] < MIN_PER_FEATURE:
            r.err("extract_cases.jsonl", f"{f}: {feat[f]} cases (want at least {MIN_PER_FEATURE})")
    if quiet:
        return
    print(f"\nextract_cases.jsonl: {len(cases)} cases, {sum(types.values())} expected values, "
          f"{sum(len(c['reject']) for c in cases)} rejected values")
    table("expected type", types, CASE_TYPES)
    table("case feature", feat, order)


def main(argv):
    quiet = "--quiet" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = Report()
    check_alerts(r, root, quiet)
    check_cases(r, root, quiet)
    for e in r.errors:
        print("FAIL " + e, file=sys.stderr)
    print(f"\n{len(r.errors)} violation{'s' if len(r.errors) != 1 else ''}")
    return 1 if r.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

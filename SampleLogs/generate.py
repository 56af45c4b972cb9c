#!/usr/bin/env python3
"""generate.py - build the Gatewatch sample: 5 days of IIS 10 W3C logs.

Writes, next to this script:

  backend/u_ex261120.log.gz .. backend/u_ex261124.log.gz
      one gzip file per UTC day (2026-11-20 .. 2026-11-24) of the "orders API"
      backend, IIS 10 W3C extended format with an X-Forwarded-For custom
      field, CRLF line endings, the IIS header block at the top of each file
      and again after the daily app-pool recycle.
  expected.json
      the headline numbers computed here, for tests of `gatewatch ingest`.

Python 3.11 standard library only.  Deterministic: fixed seed, gzip with
mtime=0 and no file name, so every run writes the same bytes.

    python3 SampleLogs/generate.py

The traffic story, the classification rules used for the counts and the
location of the two deliberately malformed lines are described in
SampleLogs/README.md.
"""

import datetime as dt
import gzip
import ipaddress
import json
import os
import random
import sys

SEED = 20261120
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "backend")

DAYS = [dt.date(2026, 11, 20) + dt.timedelta(days=i) for i in range(5)]
# The web.config with <ipSecurity allowUnlisted="false"> was deployed in the
# Sunday maintenance window: enforced from the start of day 3 (index 2).
ENFORCED_FROM_DAY = 2

FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port "
          "cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus "
          "sc-win32-status sc-bytes cs-bytes time-taken X-Forwarded-For").split()
SOFTWARE = "Microsoft Internet Information Services 10.0"
SERVER_IP = "10.0.1.4"

# --------------------------------------------------------------------------
# Who is who.  External callers use documentation ranges (RFC 5737 / 3849).
# --------------------------------------------------------------------------
GATEWAYS = ["20.50.10.4", "20.50.10.5"]          # APIM gateway instances
OFFICE_NET = ipaddress.ip_network("10.20.0.0/16")  # allowed by policy
OFFICE_IPS = ["10.20.4.17", "10.20.4.23", "10.20.4.112", "10.20.8.5",
              "10.20.8.41", "10.20.12.9"]
PARTNER_IP = "198.51.100.23"                      # Fabrikam nightly batch
REPORTING_IP = "203.0.113.200"                    # internal reporting (Power BI)
SCANNER_IPS = ["203.0.113.66", "198.51.100.201", "192.0.2.150"]
HEALTH_IPS = ["169.254.130.1", "169.254.130.3"]   # App Service health check
LB_PROBE_IP = "168.63.129.16"                     # Azure platform VIP

PARTNER_UA = "Fabrikam.OrderSync/2.4.1+(.NET+6.0.25;+Windows+Server+2019)"
REPORTING_UA = ("Microsoft.Data.Mashup+"
                "(https://go.microsoft.com/fwlink/?LinkID=304225)")
MOBILE_OLD_UAS = [
    "ContosoOrders/4.8.3+CFNetwork/1494.0.7+Darwin/23.4.0",
    "ContosoOrders/4.8.3+(Android+14;+SM-S918B)+okhttp/3.14.9",
]
MOBILE_NEW_UAS = [
    "ContosoOrders/5.1.0+CFNetwork/1568.100.1+Darwin/24.0.0",
    "ContosoOrders/5.1.0+(Android+15;+Pixel+8)+okhttp/4.12.0",
]
BROWSER_UAS = [
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/131.0.0.0+Safari/537.36",
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/131.0.0.0+Safari/537.36+Edg/131.0.0.0",
    "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_15_7)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/18.1+Safari/605.1.15",
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:132.0)+Gecko/20100101+Firefox/132.0",
]
SCANNER_UAS = {
    "203.0.113.66": "Mozilla/5.0+zgrab/0.x",
    "198.51.100.201": "Mozilla/5.0+(compatible;+CensysInspect/1.1;++https://about.censys.io/)",
    "192.0.2.150": "-",
}
SCANNER_PATHS = ["/", "/.env", "/.git/config", "/wp-login.php", "/xmlrpc.php",
                 "/phpmyadmin/index.php", "/admin", "/actuator/health",
                 "/swagger/index.html", "/api/v1/orders", "/server-status",
                 "/.aws/credentials", "/cgi-bin/luci/;stok=/locale"]

# Platform user agents (IIS writes spaces as '+').
UA_ALWAYSON = "AlwaysOn"
UA_HEALTH = "HealthCheck/1.0"
UA_READY = "ReadyForRequest/1.0+(LocalCache)"
UA_APPINIT = "IIS+Application+Initialization+Warmup"
UA_LBPROBE = "Load+Balancer+Agent"
PLATFORM_UA_PREFIXES = ("AlwaysOn", "HealthCheck/", "ReadyForRequest/",
                        "IIS+Application+Initialization", "Load+Balancer+Agent")

# Relative load per UTC hour (European business day).
HOUR_W = [10, 7, 6, 5, 5, 8, 16, 34, 62, 80, 86, 84,
          78, 82, 84, 80, 72, 60, 46, 36, 30, 24, 18, 13]
DAY_FACTOR = [1.0, 0.7, 0.66, 1.05, 1.0]   # Fri, Sat, Sun, Mon, Tue
GATEWAY_PER_WEEKDAY = 3900

# Share of each migrating caller's traffic that still goes direct, per day.
PARTNER_DIRECT = [1.0, 0.7, 0.3, 0.0, 0.0]
MOBILE_OLD_SHARE = [0.55, 0.42, 0.26, 0.12, 0.05]


class Day:
    """Collects the requests of one UTC day as (second, seq, fields)."""

    def __init__(self, rng, index):
        self.rng = rng
        self.index = index
        self.date = DAYS[index]
        self.enforced = index >= ENFORCED_FROM_DAY
        self.events = []

    def add(self, sec, **kw):
        self.events.append((sec, len(self.events), kw))


# --------------------------------------------------------------------------
# Content helpers
# --------------------------------------------------------------------------
def pick_hour(rng, weights=HOUR_W):
    return rng.choices(range(24), weights=weights)[0]


def rand_sec_in_hour(rng, h):
    return h * 3600 + rng.randrange(3600)


def time_taken(rng, base=40):
    return max(0, int(rng.lognormvariate(0, 0.6) * base))


class Content:
    def __init__(self, rng):
        self.rng = rng
        # Small pools keep the sample compressible.
        self.customers = ["%08x-%04x-4%03x-a%03x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
            rng.getrandbits(12), rng.getrandbits(48)) for _ in range(14)]
        self.orders = [rng.randrange(410000, 498000) for _ in range(140)]
        self.products = [rng.randrange(1000, 9999) for _ in range(40)]
        self.size_of = {}   # response size per resource (same resource, same size)
        self.ua_bytes = {}  # request header size per user agent
        # End users of the web portal and the new mobile app, seen only in
        # X-Forwarded-For (they call the gateway).
        self.end_users = []
        reserved = set(SCANNER_IPS + [PARTNER_IP, REPORTING_IP])
        while len(self.end_users) < 100:
            ip = rng.choice(["192.0.2.", "198.51.100.", "203.0.113."]) + str(rng.randrange(1, 255))
            if ip not in reserved and ip not in self.end_users:
                self.end_users.append(ip)
        # Legacy mobile app installs calling the backend directly.
        self.mobile = []
        while len(self.mobile) < 34:
            ip = rng.choice(["192.0.2.", "203.0.113."]) + str(rng.randrange(1, 250))
            if ip not in self.mobile and ip not in SCANNER_IPS + [REPORTING_IP]:
                self.mobile.append(ip)
        self.mobile += ["2001:db8:4f0:1c2::a1", "2001:db8:9c1:7e00:5d2b:19ff:fe4a:3c10"]
        self.mobile_ua = {ip: rng.choice(MOBILE_OLD_UAS) for ip in self.mobile}

    def api_request(self, method=None):
        """An orders-API call: (method, stem, query, status, sc_bytes, cs_bytes)."""
        r = self.rng
        x = r.random()
        if method is None:
            method = r.choices(["GET", "POST", "PUT", "DELETE", "PATCH"],
                               [74, 15, 6, 2, 3])[0]
        if method == "GET":
            if x < 0.30:
                stem = "/api/v1/orders/%d" % r.choice(self.orders)
                query = r.choice(["-", "-", "expand=lines"])
            elif x < 0.45:
                stem = "/api/v1/orders"
                query = r.choice(["status=open&page=1", "status=open&page=2",
                                  "customerId=" + r.choice(self.customers),
                                  "page=1&pageSize=50"])
            elif x < 0.62:
                stem = "/api/v2/products/%d" % r.choice(self.products)
                query = "-"
            elif x < 0.72:
                stem = "/api/v2/products"
                query = r.choice(["category=cables", "q=usb-c", "page=1"])
            elif x < 0.82:
                stem = "/api/v1/customers/" + r.choice(self.customers)
                query = "-"
            elif x < 0.90:
                stem = "/api/v2/products/%d/stock" % r.choice(self.products)
                query = "-"
            elif x < 0.95:
                stem = "/api/v1/orders/%d/lines" % r.choice(self.orders)
                query = "-"
            else:
                stem = "/api/v1/shipments/%d" % r.choice(self.orders)
                query = "-"
            status = r.choices([200, 304, 404, 401, 500], [90, 4, 4, 1.5, 0.5])[0]
        elif method == "POST":
            stem, query = r.choice([("/api/v1/orders", "-"),
                                    ("/api/v1/orders", "-"),
                                    ("/api/v1/orders/%d/lines" % r.choice(self.orders), "-"),
                                    ("/api/v1/auth/token", "-")])
            status = r.choices([201, 200, 400, 409, 500], [85, 5, 7, 2, 1])[0]
            if stem.endswith("token"):
                status = 200 if status == 201 else status
        elif method == "PUT":
            stem, query = "/api/v1/orders/%d" % r.choice(self.orders), "-"
            status = r.choices([200, 204, 400, 404], [60, 30, 6, 4])[0]
        elif method == "PATCH":
            stem, query = "/api/v1/orders/%d/status" % r.choice(self.orders), "-"
            status = r.choices([204, 400, 409], [90, 6, 4])[0]
        else:
            stem, query = "/api/v1/orders/%d/lines/%d" % (
                r.choice(self.orders), r.randrange(1, 9)), "-"
            status = r.choices([204, 404], [92, 8])[0]
        return method, stem, query, status

    def sizes(self, method, stem, query, status, ua):
        r = self.rng
        if status in (204, 304):
            sc = 160 + r.randrange(4) * 7
        elif status >= 400:
            sc = {400: 512, 401: 347, 404: 1245, 409: 498, 500: 711}.get(status, 640)
        else:
            # one of a few response sizes per endpoint (keeps the sample small)
            kind = "/".join(x if not x[:1].isdigit() and len(x) < 30 else "{id}"
                            for x in stem.split("/"))
            key = (method, kind, query, r.randrange(5))
            if key not in self.size_of:
                self.size_of[key] = 600 + int(r.random() * r.random() * 24000)
            sc = self.size_of[key]
        if ua not in self.ua_bytes:
            self.ua_bytes[ua] = 380 + r.randrange(500)
        cs = self.ua_bytes[ua]
        if method in ("POST", "PUT", "PATCH"):
            cs += 200 + 64 * r.randrange(30)
        return sc, cs


def blocked(e):
    """IIS ipSecurity deny with denyAction=Forbidden (IIS 8+): 403.503, win32 0."""
    e["status"], e["sub"], e["win32"] = 403, 503, 0
    e["sc_bytes"] = 1233
    e["tt"] = e["rng"].randrange(0, 2)


# --------------------------------------------------------------------------
# Traffic per caller
# --------------------------------------------------------------------------
def gen_gateway(day, c):
    r = day.rng
    n = int(GATEWAY_PER_WEEKDAY * DAY_FACTOR[day.index])
    done = 0
    while done < n:
        # one user session: a page load or app screen = a burst of API calls
        sec = rand_sec_in_hour(r, pick_hour(r))
        if r.random() < 0.62:
            xff, ua = r.choice(c.end_users), r.choice(BROWSER_UAS)
        else:
            # new mobile app (5.x) users, some on the same carrier addresses
            # the legacy app used
            xff, ua = r.choice(c.end_users[:60] + c.mobile[:20]), r.choice(MOBILE_NEW_UAS)
        gw = r.choice(GATEWAYS)
        for _ in range(min(n - done, r.choice([1, 2, 3, 3, 4, 5, 6]))):
            method, stem, query, status = c.api_request()
            day.add(sec, cip=gw, method=method, stem=stem,
                    query=query, ua=ua, status=status, xff=xff)
            sec += r.choice([0, 0, 1, 1, 2, 4])
            done += 1


def gen_partner(day, c):
    """Fabrikam's nightly order sync (01:00-02:30) plus a poll every 15 min."""
    r = day.rng
    share = PARTNER_DIRECT[day.index]
    calls = []
    for k in range(140 if day.index not in (1, 2) else 60):
        calls.append((3600 + r.randrange(5400), "POST"))
    for q in range(96):
        calls.append((q * 900 + r.randrange(20), "GET"))
    for sec, method in calls:
        if method == "POST":
            stem, query, status = "/api/v1/orders", "-", r.choices([201, 400, 409], [94, 4, 2])[0]
        else:
            stem, query, status = "/api/v1/orders", "status=shipped&updatedSince=%s" % (
                "%sT%02d:%02d:00Z" % (day.date.isoformat(), (sec // 3600), (sec // 60) % 60)), 200
        direct = r.random() < share
        kw = dict(method=method, stem=stem, query=query, ua=PARTNER_UA,
                  status=status, user="-")
        if direct:
            day.add(sec, cip=PARTNER_IP, xff="-", **kw)
        else:
            day.add(sec, cip=r.choice(GATEWAYS), xff=PARTNER_IP, **kw)


def gen_mobile_old(day, c):
    """Legacy ContosoOrders 4.x calls the backend host name directly."""
    r = day.rng
    sessions = int(230 * DAY_FACTOR[day.index] * MOBILE_OLD_SHARE[day.index] / 0.55)
    active = c.mobile[: max(4, int(len(c.mobile) * MOBILE_OLD_SHARE[day.index] / 0.55))]
    # the two IPv6 installs are among the last to update
    active = sorted(set(active) | set(c.mobile[-2:]), key=c.mobile.index)
    for _ in range(sessions):
        ip = r.choice(active)
        sec = rand_sec_in_hour(r, pick_hour(r))
        for k in range(r.randrange(1, 5)):
            method, stem, query, status = c.api_request(
                "GET" if r.random() < 0.85 else "POST")
            day.add(sec + k * r.randrange(1, 20), cip=ip, method=method,
                    stem=stem, query=query, ua=c.mobile_ua[ip],
                    status=status, xff="-")


def gen_reporting(day, c):
    """Internal reporting refresh: hourly, 3 pages, never migrated."""
    r = day.rng
    for h in range(24):
        base = h * 3600 + 120 + r.randrange(30)
        for page in range(1, 4):
            day.add(base + page * 2, cip=REPORTING_IP, method="GET",
                    stem="/api/v1/orders",
                    query="from=%s&page=%d&pageSize=500" % (day.date.isoformat(), page),
                    ua=REPORTING_UA, status=200, xff="-", big=True)


def gen_scanners(day, c):
    r = day.rng
    for ip in SCANNER_IPS:
        for _ in range(r.randrange(8, 22)):
            sec = r.randrange(86400)
            stem = r.choice(SCANNER_PATHS)
            status = 200 if stem in ("/", "/swagger/index.html") else (
                401 if stem == "/api/v1/orders" else 404)
            # some scanners try the X-Forwarded-For bypass trick
            xff = "127.0.0.1" if (ip == "192.0.2.150" and r.random() < 0.5) else "-"
            day.add(sec, cip=ip, method=r.choice(["GET", "GET", "GET", "HEAD"]),
                    stem=stem, query="-", ua=SCANNER_UAS[ip], status=status,
                    xff=xff, port=r.choice(["443", "80"]))


def gen_office(day, c):
    """Support staff and developers on the office network (allowed by policy)."""
    r = day.rng
    n = int(150 * (1.0 if day.index in (0, 3, 4) else 0.12))
    for _ in range(n):
        ip = r.choice(OFFICE_IPS)
        h = r.choice(range(7, 18))
        sec = rand_sec_in_hour(r, h)
        if r.random() < 0.15:
            stem, query, status, method = r.choice(
                ["/swagger/index.html", "/swagger/v1/swagger.json"]), "-", 200, "GET"
        else:
            method, stem, query, status = c.api_request()
        day.add(sec, cip=ip, method=method, stem=stem, query=query,
                ua=r.choice(BROWSER_UAS[:2] + ["PostmanRuntime/7.42.0"]),
                status=status, xff="-",
                user=r.choice(["-", "CONTOSO\\j.doe", "CONTOSO\\a.kowalski"]))


def gen_platform(day, c, recycle_sec):
    r = day.rng
    for k in range(288):                      # Always On: every 5 minutes
        sec = k * 300 + 37
        day.add(sec, cip="::1" if k % 4 else "127.0.0.1", method="GET",
                stem="/", query="-", ua=UA_ALWAYSON, status=200, xff="-",
                port="80", small=True)
    for k in range(288):                      # Health check: every 5 minutes
        sec = k * 300 + 151
        day.add(sec, cip=HEALTH_IPS[k % 2], method="GET", stem="/health",
                query="-", ua=UA_HEALTH, status=200, xff="-", small=True)
    for k in range(144):                      # Azure LB probe: every 10 minutes
        sec = k * 600 + 5
        day.add(sec, cip=LB_PROBE_IP, method="GET", stem="/health",
                query="-", ua=UA_LBPROBE, status=200, xff="-", port="80",
                small=True)
    # After the app-pool recycle: warm-up and local-cache readiness.
    day.add(recycle_sec, cip="127.0.0.1", method="GET", stem="/",
            query="-", ua=UA_APPINIT, status=200, xff="-", port="80",
            small=True, first_after_recycle=True)
    for k, ip in enumerate(["169.254.130.1", "169.254.130.3"]):
        day.add(recycle_sec + 1 + k, cip=ip, method="GET", stem="/",
                query="-", ua=UA_READY, status=200, xff="-", small=True)


# --------------------------------------------------------------------------
# Classification (the counts that go into expected.json)
# --------------------------------------------------------------------------
def classify(cip, ua):
    if cip in GATEWAYS:
        return "gateway"
    if ua.startswith(PLATFORM_UA_PREFIXES) or cip == LB_PROBE_IP:
        return "platform"
    addr = ipaddress.ip_address(cip)
    if addr.version == 4 and addr in OFFICE_NET:
        return "office"
    return "direct"


def policy_allows(cip):
    """The web.config in this folder, evaluated for one address."""
    addr = ipaddress.ip_address(cip)
    if cip in GATEWAYS or cip in ("127.0.0.1", "::1", LB_PROBE_IP):
        return True
    if addr.version == 4 and (addr in OFFICE_NET or
                              addr in ipaddress.ip_network("169.254.0.0/16")):
        return True
    return False


def caller_name(cip):
    if cip == PARTNER_IP:
        return "partner"
    if cip == REPORTING_IP:
        return "reporting"
    if cip in SCANNER_IPS:
        return "scanner"
    return "mobile"


def fmt_time(sec):
    return "%02d:%02d:%02d" % (sec // 3600, (sec // 60) % 60, sec % 60)


def build_day(rng, c, index, recycle_sec):
    day = Day(rng, index)
    gen_gateway(day, c)
    gen_partner(day, c)
    gen_mobile_old(day, c)
    gen_reporting(day, c)
    gen_scanners(day, c)
    gen_office(day, c)
    gen_platform(day, c, recycle_sec)
    day.events.sort(key=lambda e: (e[0], e[1]))
    # drop anything pushed past midnight by per-session offsets
    day.events = [e for e in day.events if e[0] < 86400]
    return day


def render_day(day, c, stats):
    r = day.rng
    date_s = day.date.isoformat()
    lines = []          # (text, kind) kind: 'dir' | 'req' | 'bad'
    header_done = False
    for sec, _, kw in day.events:
        t = fmt_time(sec)
        if not header_done or kw.get("first_after_recycle"):
            lines += [("#Software: " + SOFTWARE, "dir"), ("#Version: 1.0", "dir"),
                      ("#Date: %s %s" % (date_s, t), "dir"),
                      ("#Fields: " + " ".join(FIELDS), "dir")]
            header_done = True
        e = dict(kw)
        e["rng"] = r
        cip, ua = e["cip"], e["ua"]
        method, status = e["method"], e["status"]
        sc, cs = c.sizes(method, e["stem"], e["query"], status, ua)
        if e.get("small"):
            sc, cs = 220 + (sec % 7), 310 + (sec % 5)
        if e.get("big"):
            sc = 180000 + r.randrange(40000)
        e["sc_bytes"], e["cs_bytes"] = sc, cs
        e["sub"], e["win32"] = 0, 0
        e["tt"] = time_taken(r, 400 if e.get("big") else (3 if e.get("small") else 35))
        if method == "HEAD":
            e["sc_bytes"] = 180 + (sec % 50)
        if status != 403 and r.random() < 0.004 and not e.get("small"):
            e["win32"] = 64          # client went away
        if day.enforced and not policy_allows(cip):
            blocked(e)
        text = " ".join(str(v) for v in [
            date_s, t, SERVER_IP, method, e["stem"], e["query"],
            e.get("port", "443"), e.get("user", "-"), cip, ua, "-",
            e["status"], e["sub"], e["win32"], e["sc_bytes"], e["cs_bytes"],
            e["tt"], e["xff"]])
        assert len(text.split()) == len(FIELDS), text
        lines.append((text, ("req", sec, cip, ua, e["status"], e["sub"])))
    return lines


def damage(lines):
    """Introduce exactly 2 malformed lines (used for one file only).

    1. just before the mid-day header block: a line cut off mid-write
       (a torn write, then the log was reopened);
    2. later that day: two entries written without the CRLF between them.
    Returns the 1-based physical line numbers of the malformed lines.
    """
    recycle = max(i for i, (t, k) in enumerate(lines) if t.startswith("#Software"))
    # 1. torn write: the entry before the header loses its tail
    i = recycle - 1
    assert lines[i][1][0] == "req"
    text = lines[i][0]
    cut = len(text) * 55 // 100
    lines[i] = (text[:cut], ("bad",))
    # 2. two entries run together, half-way through the rest of the day
    j = recycle + (len(lines) - recycle) // 2
    while not (lines[j][1][0] == "req" and lines[j + 1][1][0] == "req"):
        j += 1
    lines[j] = (lines[j][0] + lines[j + 1][0], ("bad",))
    del lines[j + 1]
    bad = [i + 1, j + 1]
    for n in bad:
        assert len(lines[n - 1][0].split()) != len(FIELDS)
    return bad


def main():
    rng = random.Random(SEED)
    c = Content(rng)
    os.makedirs(OUT_DIR, exist_ok=True)
    # IIS default periodic recycle is every 1740 minutes (29 h), so the
    # recycle drifts 5 hours later every day.
    first_recycle = 3 * 3600 + 17 * 60 + 42
    totals = {"lines": 0, "directives": 0, "requests": 0, "malformed": 0}
    by_class = {"gateway": 0, "office": 0, "platform": 0, "direct": 0}
    direct_blocked = direct_served = platform_blocked = 0
    direct_clients = set()
    first = last = None
    per_day = {}
    malformed_at = {}
    for idx, date in enumerate(DAYS):
        recycle_sec = first_recycle + idx * 5 * 3600
        day = build_day(random.Random(SEED * 10 + idx), c, idx, recycle_sec)
        lines = render_day(day, c, None)
        name = "u_ex%s.log" % date.strftime("%y%m%d")
        if idx == 3:
            malformed_at[name + ".gz"] = damage(lines)
        d = {"lines": len(lines), "requests": 0, "gateway": 0, "office": 0,
             "platform": 0, "direct": 0, "direct_blocked": 0, "direct_served": 0,
             "direct_partner": 0, "direct_mobile": 0, "direct_reporting": 0,
             "direct_scanner": 0}
        for text, kind in lines:
            totals["lines"] += 1
            if kind == "dir":
                totals["directives"] += 1
                continue
            if kind[0] == "bad":
                totals["malformed"] += 1
                continue
            _, sec, cip, ua, status, sub = kind
            totals["requests"] += 1
            d["requests"] += 1
            cls = classify(cip, ua)
            by_class[cls] += 1
            d[cls] += 1
            ts = "%sT%sZ" % (date.isoformat(), fmt_time(sec))
            first = first or ts
            last = ts
            if cls == "direct":
                direct_clients.add(cip)
                key = "direct_" + caller_name(cip)
                d[key] = d.get(key, 0) + 1
                if (status, sub) == (403, 503):
                    direct_blocked += 1
                    d["direct_blocked"] += 1
                else:
                    direct_served += 1
                    d["direct_served"] += 1
            elif cls == "platform" and (status, sub) == (403, 503):
                platform_blocked += 1
        per_day[date.isoformat()] = d
        data = "".join(t + "\r\n" for t, _ in lines).encode("ascii")
        with open(os.path.join(OUT_DIR, name + ".gz"), "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                               compresslevel=9, mtime=0) as gz:
                gz.write(data)
    expected = {
        "lines": totals["lines"],
        "directives": totals["directives"],
        "requests": totals["requests"],
        "malformed": totals["malformed"],
        "by_class": by_class,
        "direct_blocked": direct_blocked,
        "direct_served": direct_served,
        "direct_clients": len(direct_clients),
        "platform_blocked": platform_blocked,
        "first": first,
        "last": last,
        "files": 5,
        "malformed_lines": malformed_at,
        "by_day": per_day,
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    print("files            5 (backend/u_ex261120.log.gz .. u_ex261124.log.gz)")
    print("lines            %d (directives %d)" % (totals["lines"], totals["directives"]))
    print("requests         %d" % totals["requests"])
    print("malformed        %d  %s" % (totals["malformed"], malformed_at))
    for k, v in by_class.items():
        print("  %-14s %d" % (k, v))
    print("direct blocked   %d (logged 403.503)" % direct_blocked)
    print("direct served    %d" % direct_served)
    print("direct clients   %d distinct addresses" % len(direct_clients))
    print("first / last     %s .. %s" % (first, last))
    print("per day:")
    for k, d in per_day.items():
        print("  %s %s" % (k, " ".join("%s=%d" % kv for kv in d.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""generate_gateway.py - the APIM gateway's side of the Gatewatch sample.

Reads the backend sample (backend/u_ex261123.log.gz, written by generate.py)
and writes what the APIM instance in front of it logged for the same six hours,
2026-11-23 06:00-12:00 UTC, as the storage export of the GatewayLogs category:

  gateway/y=2026/m=11/d=23/h=HH/m=00/PT1H.json.gz     (HH = 06 .. 11)

JSON Lines, one GatewayLogs record per line (the format of storage blobs since
2018-11-01), gzip-compressed.  Python 3.11 standard library only;
deterministic: fixed seed, gzip with mtime=0 and no file name.

    python3 SampleLogs/generate.py            # first, if backend/ is missing
    python3 SampleLogs/generate_gateway.py

The story (README.md, "The gateway side"):
  * every backend request from the gateway addresses 20.50.10.4/.5 in the six
    hours has a gateway record (callerIpAddress = the backend's X-Forwarded-For),
    EXCEPT four: those were sent from a gateway address by someone else (another
    tenant of the shared gateway address) - `correlate` must list exactly them;
  * three gateway records called the backend but the backend has no line for
    them (a logging gap) - `correlate` reports them as gateway-only;
  * APIM answered some requests itself (401 missing subscription key, 429 rate
    limit): no backend call, so correlation ignores them;
  * the backend VM's clock runs 0.8 s ahead of the gateway's.
"""

import gzip
import io
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261123
GATEWAYS = {"20.50.10.4", "20.50.10.5"}
DAY = "2026-11-23"
HOURS = range(6, 12)
BACKEND_CLOCK_AHEAD_MS = 800
RESOURCE_ID = ("/SUBSCRIPTIONS/6B1F0E2A-3C4D-4E5F-8A9B-0C1D2E3F4A5B/RESOURCEGROUPS/RG-ORDERS-PROD"
               "/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/CONTOSO-APIM")
FRONT = "https://contoso-apim.azure-api.net"
BACK = "https://orders-api.azurewebsites.net"
GATEWAY_ONLY = [  # (time, method, path, caller): gateway called the backend, backend never logged it
    ("07:12:05.321", "GET", "/api/v1/orders/5000001", "192.0.2.44"),
    ("09:40:41.117", "GET", "/api/v1/orders/5000002", "203.0.113.91"),
    ("11:03:27.902", "PUT", "/api/v1/orders/5000003", "192.0.2.18"),
]


def api_of(path):
    parts = path.split("/")
    area = parts[3] if len(parts) > 3 else ""
    return {"orders": "orders-api", "products": "catalog-api", "shipments": "shipping-api",
            "customers": "customers-api", "auth": "auth-api"}.get(area, "orders-api")


def operation_of(method, path):
    template = re.sub(r"/[0-9]+(?=/|$)", "/{id}", path)
    template = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}(?=/|$)", "/{id}", template)
    words = [w for w in template.split("/")[3:] if w]
    name = "-".join("by-id" if w == "{id}" else w for w in words)
    return f"{method.lower()}-{name}"


def millis(time_text):
    h, m, s = time_text.split(":")
    sec, _, frac = s.partition(".")
    return ((int(h) * 60 + int(m)) * 60 + int(sec)) * 1000 + int((frac + "000")[:3])


def iso(ms_of_day):
    ms_of_day = max(0, ms_of_day)
    h, rest = divmod(ms_of_day, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{DAY}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}0000Z"


def record(ms, caller, cid, method, path, query, code, size, backend_code=None, backend_ms=None,
           duration=None, last_error=None):
    url = FRONT + path.replace("/api/", "/", 1) + (f"?{query}" if query else "")
    props = {"method": method, "url": url, "clientProtocol": "HTTP/1.1", "clientTlsVersion": "1.3",
             "responseCode": code, "responseSize": size, "requestSize": 853, "cache": "none",
             "apiId": api_of(path), "apiRevision": "1", "operationId": operation_of(method, path),
             "productId": "contoso-orders-app", "apimSubscriptionId": "mobile-app", "clientTime": 2}
    if backend_code is not None:
        props.update({"backendMethod": method, "backendUrl": BACK + path + (f"?{query}" if query else ""),
                      "backendResponseCode": backend_code, "backendProtocol": "HTTP/1.1",
                      "backendTime": backend_ms, "backendId": "orders-backend"})
    if last_error:
        props["lastError"] = last_error
    return {"time": iso(ms), "resourceId": RESOURCE_ID, "operationName": "Microsoft.ApiManagement/GatewayLogs",
            "category": "GatewayLogs", "durationMs": duration, "callerIpAddress": caller, "correlationId": cid,
            "location": "West Europe", "Level": 4, "isRequestSuccess": code < 400, "properties": props}


def main():
    rng = random.Random(SEED)
    source = os.path.join(HERE, "backend", "u_ex261123.log.gz")
    if not os.path.exists(source):
        sys.exit("backend/u_ex261123.log.gz is missing; run generate.py first")
    fields = []
    backend = []  # (second_ms, method, path, query, status, bytes, time_taken, xff)
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.startswith("#Fields:"):
                fields = line.split()[1:]
                continue
            if line.startswith("#") or not line:
                continue
            values = line.split(" ")
            if len(values) != len(fields):
                continue
            row = dict(zip(fields, values))
            if row["c-ip"] not in GATEWAYS or int(row["time"][:2]) not in HOURS:
                continue
            query = "" if row["cs-uri-query"] == "-" else row["cs-uri-query"]
            backend.append((millis(row["time"]), row["cs-method"], row["cs-uri-stem"], query,
                            int(row["sc-status"]), int(row["sc-bytes"]), int(row["time-taken"]),
                            row["X-Forwarded-For"]))

    # Four backend requests from a gateway address that this gateway never sent: each on a
    # method and path no other gateway-address request used within 60 s, one per 90 minutes.
    def lonely(i):
        t, method, path = backend[i][0], backend[i][1], backend[i][2]
        return all(not (b[1] == method and b[2] == path and abs(b[0] - t) <= 60_000)
                   for j, b in enumerate(backend) if j != i)
    planted = []
    for start in (6 * 3600_000 + 20 * 60_000, 7 * 3600_000 + 50 * 60_000, 9 * 3600_000 + 20 * 60_000,
                  10 * 3600_000 + 50 * 60_000):
        for i, b in enumerate(backend):
            if b[0] >= start and lonely(i):
                planted.append(i)
                break
    planted_set = set(planted)

    records = []  # (hour file, gateway ms, record)
    for i, (second_ms, method, path, query, status, size, taken, xff) in enumerate(backend):
        if i in planted_set:
            continue
        # IIS logs the second the response ended, on a clock 0.8 s fast; the gateway logs when the
        # request arrived.
        ended = second_ms + rng.randrange(1000) - BACKEND_CLOCK_AHEAD_MS
        overhead = rng.randint(4, 30)
        ms = ended - taken - overhead
        cid = "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                               0x8000 | rng.getrandbits(14), rng.getrandbits(48))
        caller = xff if xff != "-" else "192.0.2.250"
        records.append((second_ms // 3_600_000, ms,
                        record(ms, caller, cid, method, path, query, status, size, status, taken, taken + overhead)))
    for time_text, method, path, caller in GATEWAY_ONLY:
        ms = millis(time_text)
        cid = "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                               0x8000 | rng.getrandbits(14), rng.getrandbits(48))
        records.append((ms // 3_600_000, ms, record(ms, caller, cid, method, path, "", 200, 2211, 200, 41, 55)))
    # APIM answered these itself: no backend call.
    for hour in HOURS:
        for _ in range(rng.randint(2, 5)):
            ms = hour * 3_600_000 + rng.randrange(3_600_000)
            cid = "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                                   0x8000 | rng.getrandbits(14), rng.getrandbits(48))
            if rng.random() < 0.5:
                error = {"elapsed": 1, "source": "authorization", "section": "inbound",
                         "reason": "SubscriptionKeyNotFound",
                         "message": "Access denied due to missing subscription key."}
                rec = record(ms, "198.51.100.%d" % rng.randint(30, 60), cid, "GET", "/api/v2/products", "",
                             401, 152, duration=2, last_error=error)
            else:
                error = {"elapsed": 1, "source": "rate-limit-by-key", "scope": "product", "section": "inbound",
                         "reason": "RateLimitExceeded", "message": "Rate limit is exceeded."}
                rec = record(ms, "198.51.100.23", cid, "POST", "/api/v1/orders", "", 429, 312, duration=3,
                             last_error=error)
            records.append((hour, ms, rec))

    records.sort(key=lambda r: (r[0], r[1]))
    counts = {}
    for hour in HOURS:
        lines = [json.dumps(r[2], separators=(",", ":")) for r in records if r[0] == hour]
        counts[hour] = len(lines)
        directory = os.path.join(HERE, "gateway", "y=2026", "m=11", "d=23", f"h={hour:02d}", "m=00")
        os.makedirs(directory, exist_ok=True)
        raw = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(("\n".join(lines) + "\n").encode("utf-8"))
        with open(os.path.join(directory, "PT1H.json.gz"), "wb") as out:
            out.write(raw.getvalue())

    backend_calls = sum(1 for r in records if "backendUrl" in r[2]["properties"])
    print(f"backend requests from gateway addresses, {DAY} 06:00-12:00: {len(backend)}")
    print(f"gateway records: {len(records)} ({backend_calls} backend calls, "
          f"{len(records) - backend_calls} answered by APIM)")
    print("records per file:", ", ".join(f"h={h:02d}: {counts[h]}" for h in HOURS))
    print("backend requests the gateway never sent (correlate must list exactly these):")
    for i in planted:
        b = backend[i]
        t = b[0] // 1000
        print(f"  {DAY}T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}Z {b[1]} {b[2]} (status {b[4]})")
    print("gateway backend calls with no backend line:", ", ".join(f"{t} {m} {p}" for t, m, p, _ in GATEWAY_ONLY))


if __name__ == "__main__":
    main()

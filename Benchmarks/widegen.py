#!/usr/bin/env python3
"""widegen.py - a deterministic IIS W3C log set with millions of distinct client addresses.

Used by make-wide-store.sh to build the store the query benchmark reads (issue 23: "a store with
3M addresses"). genlog.py draws its direct callers from ~50k addresses; here every direct caller
is a distinct address, so the per-address work of top, clients, events, sql and whatif is real.

One gzip file per UTC day (u_exYYMMDD.log.gz, as IIS names them), lines in time order, fields as
genlog.py's `--fields iis` plus sc-bytes. The traffic of each day:

* gateway instances 20.50.10.4-6 (genlog's allowlist), --gateway-share of the lines;
* `--addresses` direct callers in total, each seen in two different hours of the week (so
  hourly holds about two rows per address), 12 % IPv6, 0.2 % in the partner ranges the allowlist
  admits; 35 % of them get `403 503` (blocked), the rest are served;
* 2,000 busy direct callers (Zipf) that take --busy-share of the lines, so `top` ranks something;
* Azure platform probes (AlwaysOn, HealthCheck) from 169.254.130.x, 1 %.

    python3 widegen.py --addresses 3000000 --days 7 --out DIR [--seed 23]

Same arguments, same bytes (gzip mtime 0).
"""

import argparse
import array
import datetime as dt
import gzip
import os
import random

FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
          "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes time-taken")
GATEWAYS = ["20.50.10.4", "20.50.10.5", "20.50.10.6"]
PROBES = ["169.254.130.1", "169.254.130.3"]
PROBE_UAS = ["AlwaysOn", "HealthCheck/1.0"]
UAS = ["okhttp/4.12.0", "python-requests/2.31.0", "curl/8.4.0", "Go-http-client/1.1",
       "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/124.0.0.0+Safari/537.36",
       "Apache-HttpClient/4.5.14+(Java/17.0.9)", "axios/1.6.8", "PostmanRuntime/7.37.3"]
PATHS = ["/api/orders", "/api/orders/{n}", "/api/customers/{n}", "/api/products", "/api/products/{n}",
         "/api/cart", "/health", "/api/search", "/api/invoices/{n}", "/api/login"]
METHODS = ["GET"] * 7 + ["POST"] * 2 + ["PUT"]
HOUR_WEIGHTS = [22, 16, 12, 10, 10, 14, 26, 48, 78, 96, 100, 98,
                92, 95, 97, 94, 88, 76, 62, 52, 46, 40, 34, 28]


def address(index):
    """Distinct address for a caller index: IPv4 in 90.0.0.0/6 (a bijection on 2^26), or IPv6."""
    if index % 1000 < 2:  # partner ranges of the allowlist (40.74.28.0/22, 52.142.16.0/20)
        n = (index // 1000) % 5120
        return f"40.74.{28 + n // 256}.{n % 256}" if n < 1024 else f"52.142.{16 + (n - 1024) // 256}.{n % 256}"
    if index % 100 < 12:
        return f"2a01:4f8:{(index >> 16) & 0xffff:x}:{index & 0xffff:x}::1"
    value = 0x5A000000 + (index * 2654435761) % (1 << 26)
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--start", default="2026-11-01")
    parser.add_argument("--gateway-share", type=float, default=0.30, help="of all lines")
    parser.add_argument("--busy-share", type=float, default=0.10, help="of all lines")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--out", required=True, help="directory for the daily .log.gz files")
    parser.add_argument("--day", type=int, help="write only this day (0-based), for parallel runs")
    args = parser.parse_args()

    hours = args.days * 24
    # Each caller visits two distinct hours of the period: visits[h] lists the callers of hour h.
    rng = random.Random(args.seed)
    weights = [HOUR_WEIGHTS[h % 24] for h in range(hours)]
    cumulative = []
    total = 0
    for w in weights:
        total += w
        cumulative.append(total)
    visits = [array.array("I") for _ in range(hours)]
    choose = rng.choices
    for index in range(args.addresses):
        first, second = choose(range(hours), cum_weights=cumulative, k=2)
        if second == first:
            second = (first + 1 + index % (hours - 1)) % hours
        visits[first].append(index)
        visits[second].append(index)
    direct_lines = 2 * args.addresses
    other_share = args.gateway_share + args.busy_share + 0.01
    all_lines = int(direct_lines / (1 - other_share))
    start = dt.date.fromisoformat(args.start)
    os.makedirs(args.out, exist_ok=True)
    busy = [address(args.addresses + k) for k in range(2000)]
    busy_weights = [1 / (k + 1) ** 1.1 for k in range(2000)]

    for day in range(args.days):
        if args.day is not None and day != args.day:
            continue
        date = start + dt.timedelta(days=day)
        drng = random.Random(args.seed * 1000 + day)
        path = os.path.join(args.out, "u_ex" + date.strftime("%y%m%d") + ".log.gz")
        with gzip.GzipFile(path, "wb", compresslevel=6, mtime=0) as raw:
            out = []
            out.append(f"#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
                       f"#Date: {date} 00:00:00\r\n#Fields: {FIELDS}\r\n")
            for hour in range(24):
                callers = visits[day * 24 + hour]
                n_direct = len(callers)
                n_hour = int(n_direct / (1 - other_share))
                n_gateway = int(n_hour * args.gateway_share)
                n_busy = int(n_hour * args.busy_share)
                n_probe = max(1, n_hour // 100)
                kinds = ([0] * n_direct) + ([1] * n_gateway) + ([2] * n_busy) + ([3] * n_probe)
                drng.shuffle(kinds)
                seconds = sorted(drng.randrange(3600) for _ in kinds)
                busy_pick = drng.choices(busy, weights=busy_weights, k=n_busy)
                d = g = b = 0
                prefix = f"{date} {hour:02d}:"
                for kind, second in zip(kinds, seconds):
                    when = f"{prefix}{second // 60:02d}:{second % 60:02d}"
                    path_ = drng.choice(PATHS).replace("{n}", str(drng.randrange(1, 100000)))
                    if kind == 0:
                        index = callers[d]
                        d += 1
                        ip = address(index)
                        blocked = index % 100 >= 65 and index % 1000 >= 2
                        ua = UAS[index % len(UAS)]
                    elif kind == 1:
                        ip = GATEWAYS[g % 3]
                        g += 1
                        blocked = False
                        ua = UAS[g % len(UAS)]
                    elif kind == 2:
                        ip = busy_pick[b]
                        b += 1
                        blocked = b % 3 == 0
                        ua = UAS[b % 4]
                    else:
                        ip = PROBES[second % 2]
                        blocked = False
                        ua = PROBE_UAS[second % 2]
                        path_ = "/"
                    if blocked:
                        status, sub, size = "403 503", "0", 1233
                    else:
                        status, sub, size = "200 0", "0", drng.randrange(200, 20000)
                    out.append(f"{when} 10.0.1.4 {drng.choice(METHODS)} {path_} - 443 - {ip} {ua} - "
                               f"{status} {sub} {size} {drng.randrange(1, 400)}\r\n")
                    if len(out) >= 20000:
                        raw.write("".join(out).encode())
                        out.clear()
            raw.write("".join(out).encode())


if __name__ == "__main__":
    main()

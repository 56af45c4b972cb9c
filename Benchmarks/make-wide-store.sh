#!/usr/bin/env bash
# Builds the "wide" store of the query benchmark: 3M distinct client addresses over 7 days.
#
#   Benchmarks/make-wide-store.sh [WORKDIR]        (default /tmp/gatewatch-wide)
#
# Generates one IIS log per day with Benchmarks/widegen.py (deterministic; two days at a time),
# writes the allowlist the traffic was designed around (genlog.py's: gateways 20.50.10.0/28,
# loopback, link-local, the partner ranges), and ingests the logs with a release build under that
# policy. Mix: 30 % gateway, 10 % 2,000 busy direct callers, 1 % platform probes, and 3M direct
# callers seen in two hours each (35 % of them refused with 403.503). Reuses what WORKDIR holds.
# ADDRESSES=N and DAYS=N change the size; GATEWATCH_BIN=path skips the build; LOGS=dir reuses logs
# generated before (same arguments give the same bytes), e.g. those of another WORKDIR.
# The days are generated JOBS at a time (default: the number of cores). On the 2-core machine the
# generation took 30 min under load (it is pure Python: run it once, then reuse it with LOGS=),
# the ingest of its 10.3M lines is timed and printed. Run it niced (`nice -n 19`) beside builds.
# Prints the store's path, size and row counts; Benchmarks/query-memory-bench.sh reads the store.
set -euo pipefail
cd "$(dirname "$0")/.."

work="${1:-/tmp/gatewatch-wide}"
addresses="${ADDRESSES:-3000000}"
days="${DAYS:-7}"
logs="${LOGS:-$work/logs-$addresses-$days}"
jobs="${JOBS:-$(nproc 2> /dev/null || echo 2)}"
db="$work/wide-$addresses-$days.db"
allow="$work/allow.txt"
mkdir -p "$logs"

if [[ -n "${GATEWATCH_BIN:-}" ]]; then
    bin=$GATEWATCH_BIN
else
    bin="$(Benchmarks/build-release.sh)"
fi

printf '%s\n' 20.50.10.0/28 127.0.0.0/8 ::1/128 169.254.0.0/16 40.74.28.0/22 52.142.16.0/20 \
    2603:1020:200::/48 > "$allow"

if [[ ! -f "$logs/done" ]]; then
    start=$(date +%s)
    for ((day = 0; day < days; day += jobs)); do
        pids=()
        for ((d = day; d < day + jobs; d++)); do
            ((d < days)) || continue
            python3 Benchmarks/widegen.py --addresses "$addresses" --days "$days" --day "$d" --out "$logs" &
            pids+=($!)
        done
        for pid in "${pids[@]}"; do wait "$pid"; done
    done
    touch "$logs/done"
    echo "generated $(du -sh "$logs" | cut -f1) of logs in $(($(date +%s) - start)) s" >&2
fi

# The ledger skips the days an interrupted run committed: a second run ingests only the rest.
if [[ ! -f "$db.complete" ]]; then
    /usr/bin/time -f "ingest: %e s, peak RSS %M KB" "$bin" ingest --quiet --db "$db" --policy "$allow" "$logs"/*.log.gz
    touch "$db.complete"
fi

echo "store: $db ($(du -h "$db" | cut -f1))"
"$bin" sql --db "$db" --format csv "SELECT (SELECT COUNT(DISTINCT address) FROM hourly) AS addresses,
    (SELECT COUNT(*) FROM hourly) AS hourly_rows, (SELECT COUNT(*) FROM evidence) AS evidence_rows,
    (SELECT COUNT(*) FROM inventory) AS inventory_rows"

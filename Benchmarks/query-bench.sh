#!/usr/bin/env bash
# Times every query command on a database built from a generated log (default 5M lines).
#
#   Benchmarks/query-bench.sh [LINES] [WORKDIR]
#
# Builds the release binary, generates a log with Benchmarks/reference/genlog.py (seed 42), ingests it
# with the log's allowlist as gateway blocks, then runs each query command three times and prints
# the best wall time. Each command must answer in under a second; the script exits 1 otherwise.
# The generated log and database are kept in WORKDIR (default /tmp/gatewatch-query-bench) and
# reused when present. GATEWATCH_BIN=path skips the build and uses that binary.
set -euo pipefail

LINES=${1:-5000000}
WORK=${2:-/tmp/gatewatch-query-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$ROOT/Benchmarks/reference}
SCRATCH=${SCRATCH:-$ROOT/.build-query-release}
LIMIT=${LIMIT_SECONDS:-1.0}

mkdir -p "$WORK"
if [[ -n "${GATEWATCH_BIN:-}" ]]; then
    BIN=$GATEWATCH_BIN  # a release binary built elsewhere
else
    echo "building release binary (scratch $SCRATCH)…" >&2
    BIN="$("$ROOT/Benchmarks/build-release.sh" --scratch-path "$SCRATCH")"
fi

LOG="$WORK/access-$LINES.log.gz"
ALLOW="$WORK/allow.txt"
DB="$WORK/query-$LINES.db"
if [[ ! -f "$LOG" ]]; then
    echo "generating $LINES lines…" >&2
    python3 "$BENCH/genlog.py" --lines "$LINES" --seed 42 --out "$LOG" --write-allowlist "$ALLOW"
fi
if [[ ! -f "$DB" ]]; then
    GATEWAYS=()
    while read -r block; do
        [[ -z "$block" || "$block" == \#* ]] && continue
        GATEWAYS+=(--gateway "$block")
    done < "$ALLOW"
    echo "ingesting…" >&2
    "$BIN" ingest --db "$DB" "${GATEWAYS[@]}" "$LOG" >&2
fi

BUSIEST=$("$BIN" top --db "$DB" --limit 1 --format csv | sed -n 2p | cut -d, -f1)
echo "database: $(du -h "$DB" | cut -f1), $("$BIN" sql --db "$DB" --format csv \
    "SELECT (SELECT COUNT(*) FROM hourly) || ' hourly rows, ' || (SELECT COUNT(*) FROM evidence) || ' evidence rows, ' || (SELECT COUNT(*) FROM inventory) || ' inventory rows'" | sed -n 2p)"
echo "busiest direct client: $BUSIEST"
echo

COMMANDS=(
    "summary"
    "summary --format json"
    "top"
    "top --verdict direct --limit 10 --format json"
    "top --verdict all --by bytes"
    "top --format json --limit 0"
    "top --cidr 0.0.0.0/0 --format json --limit 0"
    "ip $BUSIEST"
    "ip $BUSIEST --format json --limit 0"
    "clients"
    "clients --format json --limit 0"
    "timeline"
    "timeline --bucket day --tz Europe/Paris"
    "timeline --verdict direct --format csv"
    "statuses"
    "statuses --format json --limit 0"
    "events --format table"
    "events --address $BUSIEST --format ndjson --limit 0"
    "events --format ndjson --limit 10000"
    "sql SELECT_TOP"
)
SQL_TOP="SELECT address, SUM(requests) AS n FROM hourly WHERE verdict = 'direct' GROUP BY address ORDER BY n DESC LIMIT 10"

status=0
printf '%-60s %8s %10s\n' "command" "best s" "out bytes"
for command in "${COMMANDS[@]}"; do
    read -r -a args <<< "$command"
    if [[ "${args[0]}" == "sql" ]]; then args=(sql "$SQL_TOP"); fi
    best=""
    for _ in 1 2 3; do
        start=$(date +%s.%N)
        bytes=$("$BIN" "${args[0]}" --db "$DB" "${args[@]:1}" | wc -c)
        end=$(date +%s.%N)
        elapsed=$(echo "$end - $start" | bc)
        if [[ -z "$best" ]] || (( $(echo "$elapsed < $best" | bc) )); then best=$elapsed; fi
    done
    flag=""
    if (( $(echo "$best >= $LIMIT" | bc) )); then flag="  SLOW"; status=1; fi
    printf '%-60s %8.3f %10s%s\n' "${command/SELECT_TOP/\"SELECT … LIMIT 10\"}" "$best" "$bytes" "$flag"
done
exit $status

#!/usr/bin/env bash
# Reclassify against ingest on genlog.py's 1M-line file (seed 42, IIS layout); never part of `swift test`.
#
#   Benchmarks/reclassify-bench.sh BIN [--runs N] [--lines N] [--db postgres://…]
#
# Per round: ingest the file into a fresh store with no policy (as an operator's first run), then
# `reclassify --gateway 20.50.10.0/28 --policy ALLOWLIST` (genlog's own allowlist: most keys
# change), then `reclassify` back under --gateway alone, and a fresh ingest under the allowlist to
# check the answers: `summary`, `top --limit 0` and `clients` (JSON) of the reclassified store must
# equal the fresh ingest's. Prints the median wall time of each step and reclassify's share of the
# ingest time (issue 21 asks for at most 10 %). With --db postgres://…, the stores are that database
# (emptied first with DROP SCHEMA public CASCADE: give a scratch database).
# Environment: GENLOG, BENCH_DIR (inputs and stores; default /tmp/gatewatch-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { echo "usage: $0 BIN [--runs N] [--lines N] [--db postgres://…]" >&2; exit 2; }
bin="$1"
shift
runs=3 lines=1000000 pg=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --lines) lines="$2"; shift 2 ;;
        --db) pg="$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

work="${BENCH_DIR:-/tmp/gatewatch-bench}"
mkdir -p "$work"
input="$work/ab-$lines.log.gz"
allowlist="$work/genlog-allowlist.txt"
[ -f "$input" ] || python3 "${GENLOG:-Benchmarks/reference/genlog.py}" --lines "$lines" --seed 42 --fields iis --out "$input" >&2
[ -f "$allowlist" ] || python3 "${GENLOG:-Benchmarks/reference/genlog.py}" --lines 1 --seed 42 --fields iis \
    --out "$work/one.log.gz" --write-allowlist "$allowlist" >&2
policy=(--gateway 20.50.10.0/28 --policy "$allowlist")

store() {  # name -> a fresh store location
    if [ -n "$pg" ]; then
        psql -q "$pg" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null 2>&1
        echo "$pg"
    else
        rm -f "$work/$1.db" "$work/$1.db-wal" "$work/$1.db-shm"
        echo "$work/$1.db"
    fi
}

seconds() {  # command... -> wall seconds on stdout
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

answers() {  # db -> the JSON answers
    "$bin" summary --format json --db "$1"
    "$bin" top --limit 0 --format json --db "$1"
    "$bin" clients --format json --db "$1"
}

: > "$work/rc-ingest.txt"
: > "$work/rc-reclassify.txt"
: > "$work/rc-back.txt"
for _ in $(seq "$runs"); do
    db=$(store reclassified)
    seconds "$bin" ingest --quiet --db "$db" "$input" >> "$work/rc-ingest.txt"
    seconds "$bin" reclassify --db "$db" "${policy[@]}" >> "$work/rc-reclassify.txt"
    answers "$db" > "$work/rc-reclassified.json"
    seconds "$bin" reclassify --db "$db" --gateway 20.50.10.0/28 >> "$work/rc-back.txt"
    "$bin" reclassify --db "$db" "${policy[@]}" > /dev/null
    answers "$db" > "$work/rc-reclassified-again.json"
    fresh=$( [ -n "$pg" ] && echo "$db" || store fresh )
    [ -n "$pg" ] && store fresh > /dev/null
    "$bin" ingest --quiet --db "$fresh" "${policy[@]}" "$input"
    answers "$fresh" > "$work/rc-fresh.json"
    cmp -s "$work/rc-reclassified.json" "$work/rc-fresh.json" || { echo "DIFFERENT answers after reclassify" >&2; exit 1; }
    cmp -s "$work/rc-reclassified-again.json" "$work/rc-fresh.json" || { echo "DIFFERENT answers after back and forth" >&2; exit 1; }
done
ingest=$(median < "$work/rc-ingest.txt")
reclassify=$(median < "$work/rc-reclassify.txt")
back=$(median < "$work/rc-back.txt")
echo "lines $lines, $runs runs, ${pg:+PostgreSQL}${pg:-SQLite}: answers identical to a fresh ingest"
printf 'ingest (no policy)            %8.2f s\n' "$ingest"
printf 'reclassify (allowlist)        %8.2f s  %5.1f %% of ingest\n' "$reclassify" "$(echo "100 * $reclassify / $ingest" | bc -l)"
printf 'reclassify (gateway only)     %8.2f s  %5.1f %% of ingest\n' "$back" "$(echo "100 * $back / $ingest" | bc -l)"

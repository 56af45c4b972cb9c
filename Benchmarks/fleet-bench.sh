#!/usr/bin/env bash
# Fleet-mode ingest benchmark (never part of `swift test`): one ingester into PostgreSQL versus
# into SQLite, on the same generated 1M-line IIS file, interleaved, median of N runs.
#
#   Benchmarks/fleet-bench.sh [--runs N] [--lines N] [--url postgres://…]
#
# Without --url it starts the throwaway server of Scripts/pg-test-server.sh (and stops it at the
# end). Each run ingests into a fresh SQLite file and a fresh PostgreSQL database.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
lines=1000000
url=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --lines) lines="$2"; shift 2 ;;
        --url) url="$2"; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--lines N] [--url postgres://…]" >&2; exit 2 ;;
    esac
done

work="${BENCH_DIR:-/tmp/gatewatch-bench}"
mkdir -p "$work"
input="$work/iis-fleet-$lines.log.gz"
[ -f "$input" ] || python3 Benchmarks/reference/genlog.py --lines "$lines" --seed 42 --out "$input" >&2

started=0
if [ -z "$url" ]; then
    url="$(Scripts/pg-test-server.sh start)"
    started=1
fi
cleanup() { [ "$started" = 0 ] || Scripts/pg-test-server.sh stop; }
trap cleanup EXIT

bin="$(Benchmarks/build-release.sh)"
base="${url%/*}"
admin="$url"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
elapsed() {  # CMD... -> seconds
    /usr/bin/time -f "%e" -o "$work/time.txt" "$@" > /dev/null 2> "$work/stderr.txt" || {
        cat "$work/stderr.txt" >&2
        return 1
    }
    cat "$work/time.txt"
}

sqlite_times=()
postgres_times=()
for run in $(seq 1 "$runs"); do
    rm -f "$work/fleet.db" "$work/fleet.db-wal" "$work/fleet.db-shm"
    sqlite_times+=("$(elapsed "$bin" ingest --quiet --db "$work/fleet.db" --gateway 20.50.10.0/28 "$input")")
    db="gw_bench_$run"
    psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    postgres_times+=("$(elapsed "$bin" ingest --quiet --db "$base/$db" --gateway 20.50.10.0/28 "$input")")
    psql -q "$admin" -c "DROP DATABASE $db" >/dev/null
    echo "run $run: sqlite ${sqlite_times[-1]} s, postgres ${postgres_times[-1]} s" >&2
done
s=$(printf "%s\n" "${sqlite_times[@]}" | median)
p=$(printf "%s\n" "${postgres_times[@]}" | median)
printf "| input | lines | SQLite | PostgreSQL | ratio |\n|---|---|---|---|---|\n"
printf "| %s | %s | %.2f s | %.2f s | %.2f× |\n" "$(basename "$input")" "$lines" "$s" "$p" "$(awk -v p="$p" -v s="$s" 'BEGIN {print p / s}')"

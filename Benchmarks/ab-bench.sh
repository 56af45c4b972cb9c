#!/usr/bin/env bash
# Interleaved A/B of two `gatewatch` binaries on the same input (never part of `swift test`).
#
#   Benchmarks/ab-bench.sh BIN_A BIN_B [--runs N] [--lines N] [--zlib] [-- extra ingest arguments]
#
# Each round runs `gzip -dc`, then A, then B (and, with --zlib, B again with
# GATEWATCH_INFLATE=zlib: the speed of a machine without ISA-L), each into a fresh store, so that
# a slow spell of a busy machine hits every contender alike. Prints the median wall time, the
# ratio to gzip -dc, the median CPU time (user + system: steadier than wall time on a busy
# machine) and the peak RSS of each. The input is genlog.py's (seed 42, IIS layout),
# judged against its gateway 20.50.10.0/28 unless extra arguments are given.
# Environment: GENLOG, BENCH_DIR (inputs; default /tmp/gatewatch-bench), BENCH_DB_DIR (stores).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { echo "usage: $0 BIN_A BIN_B [--runs N] [--lines N] [--zlib] [-- ingest arguments]" >&2; exit 2; }
a="$1" b="$2"
shift 2
runs=5 lines=1000000 zlib=0 extra=(--gateway 20.50.10.0/28)
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --lines) lines="$2"; shift 2 ;;
        --zlib) zlib=1; shift ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

work="${BENCH_DIR:-/tmp/gatewatch-bench}"
mkdir -p "$work"
db="${BENCH_DB_DIR:-$work}/ab.db"
input="$work/ab-$lines.log.gz"
[ -f "$input" ] || python3 "${GENLOG:-Benchmarks/reference/genlog.py}" --lines "$lines" --seed 42 --fields iis --out "$input" >&2

measure() {  # name, command... -> appends "seconds rss_kb user sys" to $work/ab-name.txt
    local name="$1"
    shift
    rm -f "$db" "$db-wal" "$db-shm"
    /usr/bin/time -f "%e %M %U %S" -a -o "$work/ab-$name.txt" "$@" > /dev/null 2> "$work/ab-stderr.txt" || {
        cat "$work/ab-stderr.txt" >&2
        return 1
    }
}

contenders=(gzip A B)
[ "$zlib" = 1 ] && contenders+=("B-zlib")
for name in "${contenders[@]}"; do rm -f "$work/ab-$name.txt"; done
for _ in $(seq "$runs"); do
    measure gzip gzip -dc "$input"
    measure A "$a" ingest --quiet --db "$db" "${extra[@]}" "$input"
    measure B "$b" ingest --quiet --db "$db" "${extra[@]}" "$input"
    [ "$zlib" = 1 ] && measure B-zlib env GATEWATCH_INFLATE=zlib "$b" ingest --quiet --db "$db" "${extra[@]}" "$input"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
g=$(awk '{print $1}' "$work/ab-gzip.txt" | median)
printf "| %s | median of %d | ratio to gzip -dc | CPU (user+sys) | peak RSS |\n|---|---|---|---|---|\n" \
    "$(basename "$input")" "$runs"
for name in "${contenders[@]}"; do
    t=$(awk '{print $1}' "$work/ab-$name.txt" | median)
    r=$(awk '{print $2}' "$work/ab-$name.txt" | sort -n | tail -1)
    c=$(awk '{print $3 + $4}' "$work/ab-$name.txt" | median)
    awk -v n="$name" -v t="$t" -v g="$g" -v r="$r" -v c="$c" \
        'BEGIN { printf "| %s | %.2f s | %.2f× | %.2f s | %.0f MB |\n", n, t, t/g, c, r/1024 }'
done

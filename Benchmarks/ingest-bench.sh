#!/usr/bin/env bash
# Ingest throughput and memory benchmark (never part of `swift test`).
#
#   Benchmarks/ingest-bench.sh [--runs N] [--quick] [--goaccess] [--peers]
#
# Generates inputs with Benchmarks/reference/genlog.py (deterministic), builds the release binary,
# and for each input runs, in the same session and interleaved, `gzip -dc FILE > /dev/null`
# and `gatewatch ingest` into a fresh database. Reports the median wall time over N runs
# (default 5), lines/s, MB/s of uncompressed input, peak RSS, and the ratio to gzip -dc.
# Machines are noisy: compare the ratios of one run, not absolute times across runs.
# The gateway is 20.50.10.0/28 (genlog.py's), so one request in ten is `direct` and written as
# evidence; "iis-1m, all gateway" reads the same file with every address a gateway, as a backend
# looks once its clients have migrated (no evidence, no inventories: the parser is the bound).
# "iis-1m, all direct" reads it with `--gateway 192.0.2.1` (an address that sends nothing): 95 % of
# the requests are direct, as before a backend is locked down (issue 23); the store size is shown.
# --peers (and --goaccess, its former name) adds, on iis-1m, DuckDB (`pip install duckdb`) reading
# the same .gz into an hourly per-IP table, lnav and GoAccess (`apt-get install lnav goaccess`),
# each skipped with a line saying so when it is not installed.
# Environment: GENLOG (generator), BENCH_DIR (inputs, default /tmp/gatewatch-bench), BENCH_DB_DIR
# (where the store is written, default BENCH_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
quick=0
goaccess=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --quick) quick=1; shift ;;
        --goaccess | --peers) goaccess=1; shift ;;
        *) echo "usage: $0 [--runs N] [--quick] [--peers]" >&2; exit 2 ;;
    esac
done

genlog="${GENLOG:-Benchmarks/reference/genlog.py}"
work="${BENCH_DIR:-/tmp/gatewatch-bench}"
mkdir -p "$work"
# The store is written beside the inputs unless BENCH_DB_DIR names another directory: on a shared,
# busy disk, BENCH_DB_DIR=/dev/shm takes the disk out of the comparison (CPU only).
db="${BENCH_DB_DIR:-$work}/bench.db"
mkdir -p "$(dirname "$db")"

bin="$(Benchmarks/build-release.sh)"

generate() {  # name lines seed fields
    local out="$work/$1.log.gz"
    [ -f "$out" ] || python3 "$genlog" --lines "$2" --seed "$3" --fields "$4" --out "$out" >&2
    echo "$out"
}

# name|files|gateway arguments
gateway="--gateway 20.50.10.0/28"
inputs=()
inputs+=("iis-1m|$(generate iis-1m 1000000 42 iis)|$gateway")
inputs+=("iis-1m, all gateway|$work/iis-1m.log.gz|--force-gateway --gateway 0.0.0.0/0 --gateway ::/0")
inputs+=("iis-1m, all direct|$work/iis-1m.log.gz|--gateway 192.0.2.1")
inputs+=("appservice-1m|$(generate appservice-1m 1000000 43 appservice)|$gateway")
if [ "$quick" = 0 ]; then
    inputs+=("iis-5m|$(generate iis-5m 5000000 44 iis)|$gateway")
    set8=()
    for i in 1 2 3 4 5 6 7 8; do set8+=("$(generate "part-$i" 250000 $((100 + i)) iis)"); done
    inputs+=("8x250k|${set8[*]}|$gateway")
fi

# measure CMD... -> prints "seconds maxrss_kb"
measure() {
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null 2> "$work/stderr.txt" || {
        cat "$work/stderr.txt" >&2
        return 1
    }
    cat "$work/time.txt"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf "| input | lines | MB (plain) | gzip -dc | gatewatch ingest | ratio | lines/s | MB/s | peak RSS | store |\n"
printf "|---|---|---|---|---|---|---|---|---|---|\n"
for entry in "${inputs[@]}"; do
    IFS='|' read -r name files gateways <<< "$entry"
    # shellcheck disable=SC2086
    bytes=$(cat $files | gzip -dc | wc -c)
    # shellcheck disable=SC2086
    lines=$(cat $files | gzip -dc | grep -vc '^#')
    gz=(); gw=(); rss=()
    for _ in $(seq "$runs"); do
        # shellcheck disable=SC2086
        read -r t _ < <(measure sh -c "for f in $files; do gzip -dc \"\$f\"; done")
        gz+=("$t")
        rm -f "$db" "$db-wal" "$db-shm"
        # shellcheck disable=SC2086
        read -r t m < <(measure "$bin" ingest --quiet --db "$db" $gateways $files)
        gw+=("$t"); rss+=("$m")
    done
    g=$(printf "%s\n" "${gz[@]}" | median)
    w=$(printf "%s\n" "${gw[@]}" | median)
    r=$(printf "%s\n" "${rss[@]}" | sort -n | tail -1)
    size=$(du -sm "$db" | cut -f1)
    awk -v n="$name" -v l="$lines" -v b="$bytes" -v g="$g" -v w="$w" -v r="$r" -v s="$size" 'BEGIN {
        printf "| %s | %d | %.0f | %.2f s | %.2f s | %.2f× | %.2fM | %.0f | %.0f MB | %d MB |\n",
            n, l, b/1e6, g, w, w/g, l/w/1e6, b/1e6/w, r/1024, s }'
done

# Parallel scaling: the 8-file set on one core (taskset) against the same run on all cores.
if [ "$quick" = 0 ] && command -v taskset > /dev/null; then
    one=(); all=()
    for _ in $(seq "$runs"); do
        rm -f "$db" "$db-wal" "$db-shm"
        # shellcheck disable=SC2086
        read -r t _ < <(measure taskset -c 0 "$bin" ingest --quiet --db "$db" --gateway 20.50.10.0/28 ${set8[*]})
        one+=("$t")
        rm -f "$db" "$db-wal" "$db-shm"
        # shellcheck disable=SC2086
        read -r t _ < <(measure "$bin" ingest --quiet --db "$db" --gateway 20.50.10.0/28 ${set8[*]})
        all+=("$t")
    done
    o=$(printf "%s\n" "${one[@]}" | median)
    a=$(printf "%s\n" "${all[@]}" | median)
    echo
    awk -v o="$o" -v a="$a" -v c="$(nproc)" 'BEGIN {
        printf "8 × 250k on 1 core: %.2f s; on %d cores: %.2f s; speed-up %.2f×\n", o, c, a, o/a }'
fi

# Other tools on the same file, interleaved with gzip -dc, median of the runs (--peers).
if [ "$goaccess" = 1 ]; then
    f="$work/iis-1m.log.gz"
    # DuckDB: the W3C log is space-separated with '#' header lines; the column names come from
    # its #Fields line. The query builds the hourly per-address table Gatewatch's `hourly` holds.
    # (grep -m1 closes the pipe early: gzip's SIGPIPE is expected, not a failure under pipefail.)
    fields=$({ gzip -dc "$f" 2> /dev/null || true; } | grep -m1 '^#Fields:' | cut -d' ' -f2- | tr -d '\r' | tr '()-' '___')
    columns=$(python3 -c 'import sys; print(", ".join("%r: %r" % (f, "VARCHAR") for f in sys.argv[1:]))' $fields)
    cat > "$work/duckdb-hourly.py" <<PY
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("""
CREATE TABLE hourly AS
SELECT substr(date, 1, 10) || 'T' || substr(time, 1, 2) AS hour, c_ip AS address, sc_status AS status,
       count(*) AS requests
FROM read_csv(?, auto_detect = false, delim = ' ', header = false, comment = '#', quote = '', escape = '',
              null_padding = true, columns = {$columns})
GROUP BY ALL
""", [sys.argv[1]])
PY
    peers=()
    if python3 -c 'import duckdb' 2> /dev/null; then
        peers+=("DuckDB $(python3 -c 'import duckdb; print(duckdb.__version__)') read_csv → hourly per IP|python3 $work/duckdb-hourly.py $f $work/bench.duckdb")
    else
        echo "DuckDB: skipped (not installed; pip install duckdb)"
    fi
    if command -v lnav > /dev/null; then
        # (lnav files W3C logs in its `w3c_log` table; `access_log` holds the Apache/nginx formats.)
        peers+=("lnav $(lnav -V | awk '{print $2}') SQL requests per c_ip|lnav -n -c ';SELECT c_ip, count(*) FROM w3c_log GROUP BY c_ip' $f")
    else
        echo "lnav: skipped (not installed; apt-get install lnav)"
    fi
    if command -v goaccess > /dev/null; then
        peers+=("GoAccess $(goaccess -V | awk 'NR==1 {sub(/\.$/, "", $3); print $3}') → JSON|sh -c \"gzip -dc $f | goaccess --log-format=W3C --no-progress -o $work/goaccess.json -\"")
    else
        echo "GoAccess: skipped (not installed; apt-get install goaccess)"
    fi
    echo
    printf "| tool (iis-1m) | wall | ratio to gzip -dc | peak RSS |\n|---|---|---|---|\n"
    for peer in "${peers[@]}"; do
        IFS='|' read -r name command <<< "$peer"
        gz=(); tt=(); rss=()
        for _ in $(seq "$runs"); do
            read -r t _ < <(measure gzip -dc "$f")
            gz+=("$t")
            rm -f "$work/bench.duckdb"
            read -r t m < <(measure sh -c "$command")
            tt+=("$t"); rss+=("$m")
        done
        g=$(printf "%s\n" "${gz[@]}" | median)
        w=$(printf "%s\n" "${tt[@]}" | median)
        r=$(printf "%s\n" "${rss[@]}" | sort -n | tail -1)
        awk -v n="$name" -v g="$g" -v w="$w" -v r="$r" 'BEGIN {
            printf "| %s | %.2f s | %.2f× | %.0f MB |\n", n, w, w/g, r/1024 }'
    done
fi

#!/usr/bin/env bash
# Held-out logs give the same counts before and after a change (issue 21); never part of `swift test`.
#
#   Benchmarks/heldout-check.sh OLD_BIN NEW_BIN [--corpora DIR] [--lines N]
#
# 1. Every file of the shared corpora (default /work/shared/corpora), ingested alone into a fresh
#    store by each binary under the same declared policy (none; --gateway 20.50.10.0/28; the
#    SampleLogs configuration, an IIS allowlist with gateways):
#    `summary` (its `policy` member, new in schema v4-facts, left out), `top --limit 0` and
#    `clients` (JSON) must be byte-identical, and so must ingest's exit status.
# 2. genlog.py files of other seeds and layouts (IIS and App Service fields, a changed #Fields
#    list mid-file, several gzip members, LF line ends), ingested under their own allowlist as
#    gateway blocks: the same comparison, and the new binary's counts against the reference
#    checker expected.py (lines, direct = denied, distinct denied addresses, 403.503).
# 3. On each generated file, NEW ingested with no policy and then `reclassify`d to the allowlist
#    must answer exactly as NEW's fresh ingest under it.
# Prints one line per check and exits 1 on the first difference.
# Environment: GENLOG, EXPECTED (default Benchmarks/reference/), BENCH_DIR (default /tmp/gatewatch-heldout).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN [--corpora DIR] [--lines N]" >&2; exit 2; }
old="$1" new="$2"
shift 2
corpora=/work/shared/corpora lines=200000
while [ $# -gt 0 ]; do
    case "$1" in
        --corpora) corpora="$2"; shift 2 ;;
        --lines) lines="$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
genlog="${GENLOG:-Benchmarks/reference/genlog.py}"
expected="${EXPECTED:-Benchmarks/reference/expected.py}"
work="${BENCH_DIR:-/tmp/gatewatch-heldout}"
rm -rf "$work"
mkdir -p "$work"

answers() {  # bin db -> JSON answers on stdout (summary without its policy member)
    "$1" summary --format json --db "$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("policy",None); print(json.dumps(d, sort_keys=True))'
    "$1" top --limit 0 --format json --db "$2"
    "$1" clients --format json --db "$2"
}

same() {  # label file policy... : OLD and NEW agree on the file under the policy
    local label="$1" file="$2" status_old status_new
    shift 2
    rm -f "$work"/old.db* "$work"/new.db*
    status_old=0 status_new=0
    "$old" ingest --quiet --db "$work/old.db" "$@" "$file" > /dev/null 2>&1 || status_old=$?
    "$new" ingest --quiet --db "$work/new.db" "$@" "$file" > /dev/null 2>&1 || status_new=$?
    if [ "$status_old" != "$status_new" ]; then
        echo "DIFFERENT ingest status ($status_old vs $status_new): $label" >&2
        exit 1
    fi
    if [ -f "$work/old.db" ]; then
        # Both may refuse a query on the same grounds (a store of gateway logs only): the same text.
        answers "$old" "$work/old.db" > "$work/old.json" 2>&1 || true
        answers "$new" "$work/new.db" > "$work/new.json" 2>&1 || true
        if ! cmp -s "$work/old.json" "$work/new.json"; then
            echo "DIFFERENT answers: $label" >&2
            diff "$work/old.json" "$work/new.json" | head -5 >&2
            exit 1
        fi
    fi
    echo "same   $label (ingest status $status_new)"
}

files=0
for file in "$corpora"/*; do
    case "$file" in *.md) continue ;; esac
    same "$(basename "$file"), no policy" "$file"
    same "$(basename "$file"), --gateway 20.50.10.0/28" "$file" --gateway 20.50.10.0/28
    same "$(basename "$file"), --config SampleLogs/gatewatch.yaml" "$file" --config SampleLogs/gatewatch.yaml
    files=$((files + 1))
done

generated=0
for spec in "7 iis" "11 appservice" "13 iis --vary-fields" "17 iis --members 3" "19 appservice --newline lf --restarts 5"; do
    read -r seed fields rest <<< "$spec"
    log="$work/gen-$seed.log.gz"
    allow="$work/allow-$seed.txt"
    # shellcheck disable=SC2086
    python3 "$genlog" --lines "$lines" --seed "$seed" --fields "$fields" $rest --out "$log" --write-allowlist "$allow" >&2
    gateways=()
    while read -r block; do
        block="${block%%#*}"
        block="${block//[[:space:]]/}"
        [ -n "$block" ] && gateways+=(--gateway "$block")
    done < "$allow"
    same "genlog seed $seed $fields $rest, allowlist as gateways" "$log" "${gateways[@]}"
    # The reference checker's counts.
    python3 "$expected" "$log" --allow-file "$allow" --no-per-hour > "$work/expected.json"
    "$new" summary --format json --db "$work/new.db" > "$work/summary.json"
    python3 - "$work/expected.json" "$work/summary.json" "$spec" <<'EOF'
import json, sys
expected = json.load(open(sys.argv[1]))
summary = json.load(open(sys.argv[2]))
verdicts = expected["verdicts"]
by = summary["by_verdict"]
checks = {
    "lines": (summary["requests"], expected["lines"]),
    "direct = denied": (by.get("direct", 0), verdicts["denied"]),
    "gateway + allowed + platform = allowed": (
        by.get("gateway", 0) + by.get("allowed", 0) + by.get("platform", 0), verdicts["allowed"]),
    "distinct denied addresses": (summary["direct"]["clients"], expected["distinct_denied_ips"]),
    "403.503": (summary["direct"]["blocked"], expected["status_403_503"]),
}
bad = {name: pair for name, pair in checks.items() if pair[0] != pair[1]}
if bad:
    sys.exit(f"DIFFERENT from expected.py ({sys.argv[3]}): {bad}")
print(f"agrees genlog seed {sys.argv[3]} with expected.py: {expected['lines']} lines, {verdicts['denied']} denied")
EOF
    # Reclassified from no policy to the allowlist = a fresh ingest under it.
    rm -f "$work"/re.db*
    "$new" ingest --quiet --db "$work/re.db" "$log" > /dev/null
    "$new" reclassify --db "$work/re.db" "${gateways[@]}" > /dev/null
    answers "$new" "$work/re.db" > "$work/re.json"
    answers "$new" "$work/new.db" > "$work/new.json"
    cmp -s "$work/re.json" "$work/new.json" || { echo "DIFFERENT after reclassify: seed $seed" >&2; exit 1; }
    echo "same   genlog seed $seed: reclassify from no policy = fresh ingest under the allowlist"
    generated=$((generated + 1))
done
echo "held-out check passed: $files corpora files (3 policies each), $generated generated files ($lines lines each)"

#!/usr/bin/env bash
# Time and peak RSS of the query commands on the wide store (issue 23: queries stream).
#
#   Benchmarks/query-memory-bench.sh [WORKDIR]        (default /tmp/gatewatch-wide)
#
# Builds (or reuses) the 3M-address store of Benchmarks/make-wide-store.sh, then runs each
# command once under /usr/bin/time with its output counted by `wc -c`, and prints wall time, peak
# RSS, output size and the issue's memory target. The whatif policy is the store's allowlist
# without the partner range 52.142.16.0/20: its callers are newly blocked, and every direct
# caller that was served is listed as cut off once enforced (about 2M entries).
# STORE=path measures that store as it is instead (no generation, no ingest).
# GATEWATCH_BIN=path uses that binary; BASELINE_BIN=path runs that one too, before each command
# of GATEWATCH_BIN (interleaved A/B), in rows marked "before", except for the commands whose
# name matches the regular expression BASELINE_SKIP (e.g. `whatif`, 7.8 GB before). Exits 1 when a target of
# GATEWATCH_BIN is missed. Machines are noisy: the RSS figures are stable, the times are not.
set -euo pipefail
cd "$(dirname "$0")/.."

work="${1:-/tmp/gatewatch-wide}"
if [[ -z "${GATEWATCH_BIN:-}" ]]; then
    GATEWATCH_BIN="$(Benchmarks/build-release.sh)"
fi
export GATEWATCH_BIN
if [[ -n "${STORE:-}" ]]; then
    store=$STORE  # as it is, e.g. a store whose ingest was interrupted
else
    store=$(Benchmarks/make-wide-store.sh "$work" | tee /dev/stderr | sed -n 's/^store: \(.*\) (.*$/\1/p')
fi
grep -v '^52.142.16.0/20$' "$work/allow.txt" > "$work/allow-changed.txt"
"$GATEWATCH_BIN" sql --db "$store" --format csv "SELECT (SELECT COUNT(DISTINCT address) FROM hourly) AS addresses,
    (SELECT COUNT(*) FROM hourly) AS hourly_rows, (SELECT COUNT(*) FROM evidence) AS evidence_rows,
    (SELECT COUNT(*) FROM judgements) AS judgement_keys, (SELECT COUNT(*) FROM files) AS files" >&2

# name|target MB|arguments
commands=(
    "top --limit 10|100|top --db $store --limit 10"
    "events --limit 0 --format ndjson|150|events --db $store --limit 0 --format ndjson"
    "sql --format csv SELECT * FROM hourly|150|sql --db $store --format csv SELECT_HOURLY"
    "whatif --format json --policy allow-changed|150|whatif --db $store --format json --policy $work/allow-changed.txt"
    "clients --format json|-|clients --db $store --format json"
)

status=0
printf "| command | build | wall | peak RSS | output | lines | target |\n|---|---|---|---|---|---|---|\n"
for entry in "${commands[@]}"; do
    IFS='|' read -r name target command <<< "$entry"
    read -r -a args <<< "$command"
    for i in "${!args[@]}"; do [[ "${args[$i]}" == SELECT_HOURLY ]] && args[$i]="SELECT * FROM hourly"; done
    builds=()
    if [[ -n "${BASELINE_BIN:-}" ]] && ! [[ -n "${BASELINE_SKIP:-}" && "$name" =~ $BASELINE_SKIP ]]; then
        builds+=("before|$BASELINE_BIN")
    fi
    builds+=("after|$GATEWATCH_BIN")
    for build in "${builds[@]}"; do
        IFS='|' read -r label bin <<< "$build"
        # whatif exits 4 when the policy would refuse traffic: a result, not a failure.
        read -r bytes lines < <({ /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" "${args[@]}" || true; } |
            wc -lc | awk '{ print $2, $1 }')
        read -r seconds kb < <(tail -1 "$work/time.txt")
        mb=$((kb / 1024))
        verdict="≤ $target MB"
        if [[ "$target" != "-" ]] && ((mb > target)); then
            verdict="$verdict MISSED"
            [[ "$label" == after ]] && status=1
        fi
        [[ "$target" == "-" ]] && verdict="(none)"
        awk -v n="$name" -v l="$label" -v s="$seconds" -v m="$mb" -v b="$bytes" -v r="$lines" -v v="$verdict" 'BEGIN {
            printf "| %s | %s | %.1f s | %d MB | %.0f MB | %d | %s |\n", n, l, s, m, b / 1e6, r, v }'
    done
done
exit $status

#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer and runs each for a bounded time.
#
#   Fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 150 s; targets: w3c address policy gateway)
#
# Corpora live in Fuzz/.corpus-<target>/ (git-ignored, kept between runs), seeded from
# Tests/Fixtures/** and ../shared/corpora/. A finding is saved to Fuzz/.artifacts/<target>/ and
# the script exits 1; copy the minimised input to Tests/Fixtures/fuzz/<target>/ once fixed.
set -euo pipefail

seconds=${1:-150}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(w3c address policy gateway)

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir")
fixtures="$root/Tests/Fixtures"
shared="$root/../shared/corpora"
scratch="$fuzz_dir/.build-fuzz"
mkdir -p "$scratch"

echo "== building (release, -sanitize=fuzzer,address)"
if ! swift build -c release --package-path "$fuzz_dir" --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$scratch/fuzz-build.log" 2>&1; then
    grep -v '^\[' "$scratch/fuzz-build.log" | grep -v "__asan_extra_spill_area" | tail -40
    echo "build failed (log: $scratch/fuzz-build.log)" >&2
    exit 2
fi
bin=$(swift build -c release --package-path "$fuzz_dir" --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --show-bin-path)

# Copies seed files into a corpus, prefixing the control byte the target expects (if any).
seed() {  # seed CORPUS PREFIX_HEX FILE...
    local corpus=$1 prefix=$2 file
    shift 2
    for file in "$@"; do
        [ -f "$file" ] || continue
        local name
        name="seed-$(basename "$(dirname "$file")")-$(basename "$file")"
        if [ -n "$prefix" ]; then
            { printf "\\x$prefix"; head -c 262144 "$file"; } >"$corpus/$name"
        else
            head -c 262144 "$file" >"$corpus/$name"
        fi
    done
}

# Extracts address-looking tokens (and the X-Forwarded-For values) from logs, one seed each.
address_seeds() {  # address_seeds CORPUS FILE...
    local corpus=$1
    shift
    cat "$@" 2>/dev/null | grep -aoE '\[?[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.%a-z]*\]?(/[0-9]+)?' \
        | awk 'length($0) > 2' | sort -u | awk 'NR <= 400' | while IFS= read -r token; do
            printf '%s\n%s' "$token" "$token" >"$corpus/seed-$(printf '%s' "$token" | md5sum | cut -c1-12)"
        done
}

summary=()
status=0
for target in "${targets[@]}"; do
    case $target in
        w3c) exe=FuzzW3C max_len=65536 ;;
        address) exe=FuzzAddress max_len=512 ;;
        policy) exe=FuzzPolicy max_len=65536 ;;
        gateway) exe=FuzzGateway max_len=65536 ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    corpus="$fuzz_dir/.corpus-$target"
    artifacts="$fuzz_dir/.artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    case $target in
        w3c) seed "$corpus" 3f "$fixtures"/corpora/* "$shared"/*.log "$shared"/*.[0-9] ;;
        address)
            address_seeds "$corpus" "$fixtures"/corpora/* "$fixtures"/policy/allowlist.txt "$fixtures"/gateway/* ;;
        policy) seed "$corpus" "" "$fixtures"/policy/*.config "$fixtures"/policy/*.json "$fixtures"/policy/*.txt \
            "$fixtures"/policy/site/web.config "$fixtures"/policy/site/api/web.config ;;
        gateway) seed "$corpus" 7c "$fixtures"/gateway/* "$shared"/*.json ;;
    esac
    seed "$corpus" "" "$fixtures/fuzz/$target"/*  # regression inputs already carry their control byte
    log="$artifacts/fuzz.log"
    echo "== $target: ${seconds}s, corpus $(find "$corpus" -type f | wc -l) files"
    started=$(date +%s)
    set +e
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$bin/$exe" "$corpus" \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(($(date +%s) - started))
    runs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    if [ $rc -eq 0 ]; then
        summary+=("$target: ok, ${elapsed}s, $runs runs, cov ${cov:-?}, corpus $(find "$corpus" -type f | wc -l)")
    else
        status=1
        crash=$(ls -t "$artifacts"/{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null | head -1 || true)
        summary+=("$target: FINDING (exit $rc) after ${elapsed}s, input ${crash:-?}, log $log")
        grep -aE 'ERROR|Fatal error|SUMMARY|#[0-9]+ 0x.* in ' "$log" | head -15 || true
    fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status

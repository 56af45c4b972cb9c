#!/usr/bin/env bash
# Builds the release `gatewatch` the benchmarks measure and prints its path.
#
# The Swift standard library and Foundation are linked statically (`--static-swift-stdlib`), as
# the README's install recommends: the binary then runs without Swift, and maps about 6 MB less
# (peak RSS at 5M lines 57.5–57.9 MiB against 63.3–64.6 MiB, same speed). Static Foundation links
# libcurl, which needs libcurl4-openssl-dev (the `libcurl.so` link); without it the script says so
# and measures the dynamically linked build instead.
#
# usage: Benchmarks/build-release.sh [extra swift build arguments, e.g. --scratch-path DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

if swift build -c release --product gatewatch --static-swift-stdlib "$@" >&2; then
    echo "$(swift build -c release --static-swift-stdlib "$@" --show-bin-path)/gatewatch"
    exit 0
fi
echo "build-release: WARNING: the static link failed (apt-get install libcurl4-openssl-dev);" \
    "measuring the dynamically linked build, which maps about 6 MB more" >&2
swift build -c release --product gatewatch "$@" >&2
echo "$(swift build -c release "$@" --show-bin-path)/gatewatch"

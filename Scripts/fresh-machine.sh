#!/usr/bin/env bash
# A copy of the team's ../shared/tools/fresh-machine.sh, for CI machines without ../shared (.ci/run
# prefers the shared one when it is there).
# fresh-machine.sh: does a project's README quick start work on a FRESH Debian 12 machine?
#
# Usage: fresh-machine.sh PROJECT_DIR [--keep]
#
# 1. Builds once, and caches, a minimal Debian bookworm root (debootstrap --variant=minbase, from
#    the mirror apt uses) with only swift.org's Debian 12 prerequisites, without recommends. A
#    stamp records the package list; a changed list rebuilds the root.
# 2. Each run mounts an overlay on it (the cached root is never written), clones PROJECT_DIR's
#    committed HEAD to /root/project, bind-mounts the Swift toolchain and the package mirrors read-only and
#    copies the host's git url.*.insteadOf rules (github -> local mirrors).
# 3. Runs each line of the first ```sh/bash/console block under the README's "Quick start" heading
#    with `bash -e` in /root/project, as root, in a clean environment; the working folder and
#    exported variables carry from one line to the next, as in a terminal.
# 4. Prints PASS/FAIL per command with exit code and seconds (and a failure's last 25 lines).
#    Exit 0: all passed; 1: a command failed; 2: usage or set-up error.
# Environment: FRESH_ROOT (cached root, default /var/cache/fresh-machine/root), FRESH_LOG (logs,
# default /tmp/fresh-machine, a folder per run), FRESH_TIMEOUT (seconds per command, default 1500),
# FRESH_EXTRA (Debian packages added to this run's overlay only, e.g. "libisal-dev libpq-dev": is
# a failure only missing packages?). --keep keeps the run folder (the overlay's upper layer).
# Mounts live in a private mount namespace, so even a killed run leaves none on the host; a trap
# still unmounts them, and findmnt checks, there and on the host, that none is left.
set -euo pipefail

die() { echo "fresh-machine: $*" >&2; exit 2; }
[[ $# -eq 1 || ($# -eq 2 && $2 == --keep) ]] || die "usage: $0 PROJECT_DIR [--keep]"
SELF=$(readlink -f "$0")
PROJECT=$(readlink -m "$1")
KEEP=$([[ ${2:-} == --keep ]] && echo 1 || echo 0)
ROOT=$(readlink -m "${FRESH_ROOT:-/var/cache/fresh-machine/root}")
CACHE=$(dirname "$ROOT")
TIMEOUT=${FRESH_TIMEOUT:-1500}
# The toolchain (the folder above usr/bin/swift) and the package mirrors (the targets of git's
# url.*.insteadOf rules) are found on this machine, not named here.
SWIFT_BIN=$(dirname "$(readlink -f "$(command -v swift)")")
TOOLCHAIN=$(dirname "$(dirname "$SWIFT_BIN")")
MIRRORS=$(git config --get-regexp '^url\..*\.insteadof$' 2>/dev/null | sed -E 's/^url\.(.*)\.insteadof .*/\1/' | sort -u | sed 's#/$##')
[[ -f $PROJECT/README.md ]] || die "$PROJECT/README.md not found"
git -C "$PROJECT" rev-parse --verify -q HEAD >/dev/null || die "$PROJECT is not a git repository with a commit"

# Go on in a private mount namespace (same process: a signal to it reaches the cleanup below).
# fd 8 keeps the host's namespace open for the final findmnt check.
if [[ -z ${FRESH_IN_NS:-} ]]; then
  export FRESH_IN_NS=1
  exec 8</proc/self/ns/mnt
  exec unshare --mount --propagation private "$SELF" "$@"
fi

# What a fresh Swift machine has: swift.org's Debian 12 prerequisites, plus ca-certificates,
# python3, gzip and libsqlite3-dev. Nothing else the project may need (no libisal-dev, libpq-dev).
PKGS=(binutils git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3-dev
  libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev pkg-config python3-lldb-13 tzdata unzip
  zlib1g-dev ca-certificates python3 gzip libsqlite3-dev)
STAMP="bookworm minbase no-recommends: $(printf '%s\n' "${PKGS[@]}" | sort | tr '\n' ' ')"
# The environment of every command run in the root: nothing leaks from this machine's.
ENVV=(HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb
  PATH=$SWIFT_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

mkdir -p "$CACHE/runs"
exec 9>"$CACHE/.lock"   # one run at a time: runs share the cached root
flock -n 9 || { echo "fresh-machine: waiting for another run to finish..."; flock 9; }
LOG=$(readlink -m "${FRESH_LOG:-/tmp/fresh-machine}")/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$LOG"

MOUNTS=() CHROOT='' RUN='' JOB=''
mnt() { mount "$@"; MOUNTS+=("${!#}"); }   # mount, and remember the mount point
in_root() { chroot "$CHROOT" /usr/bin/env -i "${ENVV[@]}" DEBIAN_FRONTEND=noninteractive "$@" 8<&- 9>&-; }
mount_sys() {   # the kernel file systems a root needs: proc, sys (read-only), dev, its own pts and shm
  mnt -t proc proc "$1/proc"
  mnt -t sysfs -o ro sysfs "$1/sys"
  mnt --bind /dev "$1/dev"
  mnt -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$1/dev/pts"
  mnt -t tmpfs -o mode=1777 tmpfs "$1/dev/shm"
}
kill_chroot_procs() {   # a process whose root is our chroot ($1, else $CHROOT) was started here: end it by id
  local dir=${1:-$CHROOT} p r
  [[ -n $dir ]] || return 0
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [[ $r == "$dir" || $r == "$dir"/* ]]; then kill -KILL "${p#/proc/}" 2>/dev/null || true; fi
  done
}
unmount_all() {   # innermost first; retry once, then detach
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || { sleep 2; umount "${MOUNTS[i]}"; } || umount -l "${MOUNTS[i]}"
  done
  MOUNTS=()
}
cleanup() {
  local rc=$?
  trap '' INT TERM HUP; trap - EXIT
  if [[ -n $JOB ]]; then kill -TERM "$JOB" 2>/dev/null || true; wait "$JOB" 2>/dev/null || true; fi
  kill_chroot_procs
  unmount_all
  # findmnt here and in the host's namespace: nothing under the cache may stay mounted.
  if { findmnt -rn -o TARGET; nsenter --mount=/proc/self/fd/8 findmnt -rn -o TARGET || true; } | grep -F "$CACHE/"; then
    echo "fresh-machine: mounts left (above)" >&2; rc=2
  elif [[ -n $RUN && $KEEP == 1 ]]; then
    touch "$RUN/KEPT"; echo "kept: $RUN/upper/root/project (delete $RUN when done)"
  elif [[ -n $RUN ]]; then
    rm -rf --one-file-system "$RUN"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP

# The Debian mirror apt uses here (deb822 URIs: or a one-line deb entry); no other host.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [[ -f $f ]]; then sed -nE -e 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p' \
      -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+bookworm[[:space:]].*/\2/p' "$f"; fi
  done | grep -E '/debian/?$' | head -n 1 || true
}

# What a killed run left goes first (no run is active: we hold the lock).
for d in "$CACHE"/runs/run-*; do
  if [[ -d $d && ! -e $d/KEPT ]]; then kill_chroot_procs "$d/merged"; rm -rf --one-file-system "$d"; fi
done

# 1. The cached root: built into ROOT.new, stamped, then moved in place (an interrupted build
#    never looks finished).
if [[ "$(cat "$ROOT/.fresh-machine-stamp" 2>/dev/null)" != "$STAMP" ]]; then
  t0=$SECONDS
  echo "root: building $ROOT (debootstrap + ${#PKGS[@]} packages; log $LOG/setup.log)"
  command -v debootstrap >/dev/null || { apt-get install -y debootstrap ||
    { apt-get update && apt-get install -y debootstrap; }; } >>"$LOG/setup.log" 2>&1
  MIRROR=$(apt_mirror)
  [[ -n $MIRROR ]] || die "no Debian mirror found in apt's sources"
  CHROOT=$ROOT.new
  rm -rf --one-file-system "$CHROOT"
  debootstrap --variant=minbase bookworm "$CHROOT" "$MIRROR" >>"$LOG/setup.log" 2>&1 ||
    die "debootstrap failed (see $LOG/setup.log)"
  cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"   # and the /etc/hosts any installed Debian has
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$CHROOT/etc/hosts"
  mount_sys "$CHROOT"
  { in_root apt-get update && in_root apt-get install -y --no-install-recommends "${PKGS[@]}" &&
    in_root apt-get clean; } >>"$LOG/setup.log" 2>&1 || die "apt-get in the root failed (see $LOG/setup.log)"
  kill_chroot_procs; unmount_all
  echo "$STAMP" >"$CHROOT/.fresh-machine-stamp"
  rm -rf --one-file-system "$ROOT"; mv "$CHROOT" "$ROOT"; CHROOT=''
  echo "root: built in $((SECONDS - t0)) s"
else
  echo "root: cached $ROOT (built $(date -r "$ROOT/.fresh-machine-stamp" '+%F %T'))"
fi

# 2. This run: an overlay on the cached root, so that every run starts from the same fresh state.
t0=$SECONDS
RUN=$(mktemp -d "$CACHE/runs/run-XXXXXX")
mkdir "$RUN/upper" "$RUN/work" "$RUN/merged"
CHROOT=$RUN/merged
mnt -t overlay overlay -o "lowerdir=$ROOT,upperdir=$RUN/upper,workdir=$RUN/work" "$CHROOT"
mount_sys "$CHROOT"
for d in "$TOOLCHAIN" $MIRRORS; do [[ -d $d ]] || continue; mkdir -p "$CHROOT$d"; mnt --bind -o ro "$d" "$CHROOT$d"; done
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
{ git config --system --get-regexp '^url\..*\.insteadof$' || true
  git config --get-regexp '^url\..*\.insteadof$' || true; } |
  while read -r key value; do git config --file "$CHROOT/etc/gitconfig" --add "$key" "$value"; done
SHA=$(git -C "$PROJECT" rev-parse HEAD)
git clone -q --no-hardlinks "$PROJECT" "$CHROOT/root/project" >>"$LOG/setup.log" 2>&1 &&
  git -C "$CHROOT/root/project" reset -q --hard "$SHA" || die "cloning $PROJECT failed (see $LOG/setup.log)"
[[ -z $(git -C "$PROJECT" status --porcelain) ]] || echo "note: uncommitted changes in $PROJECT are not tested"
if [[ -n ${FRESH_EXTRA:-} ]]; then
  read -ra EXTRA <<<"$FRESH_EXTRA"
  echo "extra packages, this run only (the cached root is untouched): ${EXTRA[*]}"
  { in_root apt-get update && in_root apt-get install -y --no-install-recommends "${EXTRA[@]}"; } \
    >>"$LOG/setup.log" 2>&1 || die "installing FRESH_EXTRA failed (see $LOG/setup.log)"
fi
echo "run: set up in $((SECONDS - t0)) s: $PROJECT @ ${SHA:0:7} in $CHROOT/root/project; logs in $LOG"

# 3. The quick start: the first sh/bash/console block after a "Quick start" heading, before the
#    next heading of the same or a higher level. Blank and comment lines are skipped, trailing
#    backslashes join lines, and in a console block only "$ " prompt lines count.
mapfile -t CMDS < <(awk '
  /^[ \t]*```/ { if (!f) { f = 1; take = q && $0 ~ /^[ \t]*```[ \t]*(sh|bash|console|shell)[ \t]*$/
                           con = $0 ~ /console/ } else { f = 0; if (take) exit }; next }
  f { if (!take) next
      if (con && line == "") { if ($0 !~ /^[ \t]*\$ /) next; sub(/^[ \t]*\$ /, "") }
      line = line $0; if (line ~ /\\$/) { sub(/\\$/, "", line); next }
      if (line !~ /^[ \t]*(#|$)/) print line; line = ""; next }
  /^#+[ \t]/ { match($0, /^#+/); if (q && RLENGTH <= lvl) exit
               if (!q && tolower($0) ~ /quick[ -]?start/) { q = 1; lvl = RLENGTH } }
' "$CHROOT/root/project/README.md")
((${#CMDS[@]})) || die "no commands in a \`\`\`sh block under a 'Quick start' heading in README.md"

mkdir -p "$CHROOT/root/.fresh"
echo /root/project >"$CHROOT/root/.fresh/cwd"; : >"$CHROOT/root/.fresh/env"
RESULTS=() fails=0
for i in "${!CMDS[@]}"; do
  n=$((i + 1)) cmd=${CMDS[i]} log=$LOG/cmd-$((i + 1)).log
  printf '%s\n' 'cd "$(cat /root/.fresh/cwd)"; . /root/.fresh/env' \
    "trap 'pwd >/root/.fresh/cwd; export -p >/root/.fresh/env' EXIT" "$cmd" >"$CHROOT/root/.fresh/cmd-$n.sh"
  echo "[$n] running (limit $TIMEOUT s): $cmd"
  t0=$SECONDS rc=0
  timeout -k 30 "$TIMEOUT" chroot "$CHROOT" /usr/bin/env -i "${ENVV[@]}" bash -e "/root/.fresh/cmd-$n.sh" \
    </dev/null >"$log" 2>&1 8<&- 9>&- &
  JOB=$!; wait "$JOB" || rc=$?; JOB=''
  secs=$((SECONDS - t0))
  if ((rc == 124 || rc == 137)); then kill_chroot_procs; fi # a timed-out build may leave compilers
  if ((rc == 0)); then RESULTS+=("  [$n] PASS  exit 0    ${secs} s  $cmd")
  else
    fails=$((fails + 1)) word=FAIL
    ((rc == 124 || rc == 137)) && word="FAIL (timed out after $TIMEOUT s)"
    first=$(grep -m 3 -E '(^|[^[:alnum:]])error:|recorded an issue' "$log" | cut -c 1-240 | sed 's/^/      ! /' || true)
    out=$(tail -n 25 "$log" | sed 's/^/      | /')
    RESULTS+=("  [$n] $word  exit $rc    ${secs} s  $cmd" "      log: $log${first:+; first errors:}")
    [[ -z $first ]] || RESULTS+=("$first")
    RESULTS+=("      last 25 lines:" "${out:-      (no output)}")
  fi
done

# 4. The verdict.
echo
echo "verdict: $PROJECT @ ${SHA:0:7} on fresh Debian 12 + Swift prerequisites${FRESH_EXTRA:+ + $FRESH_EXTRA}"
printf '%s\n' "${RESULTS[@]}"
if ((fails)); then echo "RESULT: FAIL ($((${#CMDS[@]} - fails)) of ${#CMDS[@]} passed)"; exit 1; fi
echo "RESULT: PASS (${#CMDS[@]} of ${#CMDS[@]})"

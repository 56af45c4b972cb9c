#!/usr/bin/env bash
#
# pg-test-server.sh — start and stop a throwaway PostgreSQL server for
# Gatewatch's tests and CI. Nothing here is meant for real data: the cluster
# uses trust authentication and runs with fsync off.
#
# Usage:
#   Scripts/pg-test-server.sh install   install PostgreSQL with apt-get, only if
#                                       no initdb can be found (no-op otherwise)
#   Scripts/pg-test-server.sh start     create a fresh cluster, start it, create
#                                       the database gatewatch_test and print its
#                                       URL as the only line on stdout; a server
#                                       left over from an earlier run on the same
#                                       data dir is stopped and wiped first
#   Scripts/pg-test-server.sh stop      stop the server (fast shutdown) and remove
#                                       the data dir; quiet no-op if nothing runs
#   Scripts/pg-test-server.sh url       print the URL if the server is running and
#                                       accepting connections, else exit 1
#
# Typical use:
#   export GATEWATCH_TEST_PG_URL="$(Scripts/pg-test-server.sh start)"
#   psql "$GATEWATCH_TEST_PG_URL" -c 'select version()'
#   Scripts/pg-test-server.sh stop
#
# The URL is  postgres://postgres@127.0.0.1:PORT/gatewatch_test  (no password).
#
# Environment:
#   GATEWATCH_PG_DIR     data dir (default /tmp/gatewatch-pg). It also holds the
#                        unix socket and the server log (server.log). The script
#                        only ever deletes a dir it created itself (it carries a
#                        .gatewatch-pg-test marker) or an empty one.
#   GATEWATCH_PG_PORT    TCP port on 127.0.0.1 (default 54329); used by `start`.
#                        `url` and `stop` use the port recorded at start.
#   GATEWATCH_PG_BINDIR  directory holding initdb and pg_ctl (default: newest
#                        /usr/lib/postgresql/*/bin, then whatever is on PATH).
#
# PostgreSQL refuses to run as root. When run as root, the server runs as the
# `postgres` system user (created if missing) via runuser (or su); otherwise it
# runs as the current user. All messages go to stderr; only `start` and `url`
# write to stdout. Exit status is 0 on success, 1 on failure, 2 on bad usage.

set -euo pipefail

readonly PROG=${0##*/}
readonly DEFAULT_DIR=/tmp/gatewatch-pg
readonly DEFAULT_PORT=54329
readonly DB_NAME=gatewatch_test
readonly DB_USER=postgres          # cluster superuser (initdb -U)
readonly OS_USER=postgres          # system user the server runs as when we are root
readonly MARKER=.gatewatch-pg-test # marks a data dir this script created
readonly WAIT_SECONDS=30

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    cat >&2 <<EOF
usage: $PROG {install|start|stop|url}
  install  apt-get install postgresql, only if no initdb binary is found
  start    start a fresh test server; prints its URL on stdout
  stop     stop the test server and remove its data dir
  url      print the URL of the running test server, or exit 1
Environment: GATEWATCH_PG_DIR (default $DEFAULT_DIR),
             GATEWATCH_PG_PORT (default $DEFAULT_PORT), GATEWATCH_PG_BINDIR
EOF
}

# ---------------------------------------------------------------- settings ---

# Absolute, normalised data dir: the script may be called from any cwd and the
# server runs with cwd=/ as another user.
data_dir() {
    local dir=${GATEWATCH_PG_DIR:-$DEFAULT_DIR}
    [[ -n $dir ]] || die "GATEWATCH_PG_DIR is empty"
    dir=$(realpath -m -- "$dir")
    # The path goes into postgresql.conf and unix_socket_directories (a
    # comma-separated list), so keep it free of characters that need quoting.
    if [[ $dir == / || $dir =~ [[:space:]\',\"\\] ]]; then
        die "unsuitable data dir '$dir': it must not be / nor contain whitespace, quotes, commas or backslashes"
    fi
    printf '%s\n' "$dir"
}

requested_port() {
    local port=${GATEWATCH_PG_PORT:-$DEFAULT_PORT}
    if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
        die "GATEWATCH_PG_PORT must be a TCP port number, got '$port'"
    fi
    printf '%d\n' "$((10#$port))"
}

url_for_port() { printf 'postgres://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$1" "$DB_NAME"; }

# Port recorded in the marker of a data dir we created; empty if none.
recorded_port() {
    local marker=$1/$MARKER
    [[ -f $marker ]] || return 0
    sed -n 's/^port=\([0-9][0-9]*\)$/\1/p' "$marker" | head -n 1
}

# ---------------------------------------------------------------- binaries ---

# Print the directory holding initdb and pg_ctl, or return 1.
find_bindir() {
    local dir candidate
    local -a candidates=()
    if [[ -n ${GATEWATCH_PG_BINDIR:-} ]]; then
        candidates+=("$GATEWATCH_PG_BINDIR")
    else
        # Debian/Ubuntu layout, newest major version first.
        local -a versioned=(/usr/lib/postgresql/*/bin)
        if [[ -d ${versioned[0]} ]]; then
            while IFS= read -r dir; do
                candidates+=("$dir")
            done < <(printf '%s\n' "${versioned[@]}" | sort -rV)
        fi
        # Anything on PATH (resolving symlinks such as /usr/local/bin/initdb,
        # so that pg_ctl and postgres come from the same installation).
        if candidate=$(command -v initdb 2>/dev/null); then
            candidates+=("$(dirname -- "$(realpath -- "$candidate")")")
        fi
    fi
    for dir in "${candidates[@]}"; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    return 1
}

# Print the path of a client tool (psql, pg_isready): prefer the server's bindir.
client_tool() {
    local bindir=$1 name=$2
    if [[ -x $bindir/$name ]]; then
        printf '%s\n' "$bindir/$name"
    elif command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    else
        die "cannot find $name (looked in $bindir and PATH)"
    fi
}

# ------------------------------------------------------- running as postgres ---

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a command as the server's OS user (postgres when we are root, else
# ourselves), with cwd=/ so an unreadable caller cwd cannot get in the way.
as_pg() {
    if ! is_root; then
        (cd / && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        local cmd
        printf -v cmd '%q ' "$@"
        (cd / && su -s /bin/bash "$OS_USER" -c "$cmd")
    fi
}

ensure_os_user() {
    is_root || return 0
    getent passwd "$OS_USER" >/dev/null && return 0
    log "creating system user $OS_USER"
    local -a group_opt=(--user-group)
    if getent group "$OS_USER" >/dev/null; then group_opt=(--gid "$OS_USER"); fi
    useradd --system "${group_opt[@]}" --home-dir /var/lib/postgresql \
        --no-create-home --shell /bin/bash --comment 'PostgreSQL administrator' "$OS_USER" \
        || die "could not create system user $OS_USER"
}

# -------------------------------------------------------- server lifecycle ---

# 0 if the process exists, is not a zombie and (where /proc tells) is a
# postgres process. `pg_ctl status` is not used: it only does kill(pid, 0),
# which also succeeds on a crashed postmaster that init has not reaped yet,
# and on an unrelated process that reused a stale PID.
pid_alive() {
    local pid=$1 stat comm
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    if [[ -r /proc/$pid/stat ]]; then
        { read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1
        stat=${stat##*) }
        [[ ${stat%% *} != [ZX] ]] || return 1
        if { read -r comm < "/proc/$pid/comm"; } 2>/dev/null; then
            [[ $comm == postgres || $comm == postmaster ]] || return 1
        fi
        return 0
    fi
    kill -0 "$pid" 2>/dev/null
}

postmaster_pid() { head -n 1 -- "$1/postmaster.pid" 2>/dev/null || true; }

# 0 if a postmaster is running on the data dir.
server_running() {
    local dir=$1
    [[ -f $dir/postmaster.pid ]] || return 1
    pid_alive "$(postmaster_pid "$dir")"
}

# Refuse to touch a directory this script did not create.
check_owned_dir() {
    local dir=$1
    [[ -e $dir ]] || return 0
    [[ -d $dir ]] || die "$dir exists and is not a directory; refusing to touch it"
    [[ -f $dir/$MARKER ]] && return 0
    [[ -z $(ls -A -- "$dir") ]] && return 0
    die "$dir is not empty and was not created by $PROG (no $MARKER); refusing to touch it — remove it yourself or set GATEWATCH_PG_DIR"
}

# Stop a server running on the data dir (if any): fast, then immediate, then kill.
stop_server() {
    local bindir=$1 dir=$2 pid
    server_running "$dir" || return 0
    log "stopping server in $dir"
    as_pg "$bindir/pg_ctl" stop -D "$dir" -m fast -w -t "$WAIT_SECONDS" -s >&2 && return 0
    server_running "$dir" || return 0
    log "fast shutdown failed; trying immediate shutdown"
    as_pg "$bindir/pg_ctl" stop -D "$dir" -m immediate -w -t 10 -s >&2 && return 0
    pid=$(postmaster_pid "$dir")
    if pid_alive "$pid"; then
        log "killing postmaster $pid"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    ! server_running "$dir" || die "could not stop the server in $dir"
}

remove_dir() {
    local dir=$1
    [[ -e $dir ]] || return 0
    check_owned_dir "$dir"
    rm -rf -- "$dir" || die "could not remove $dir"
}

print_log_tail() {
    local logfile=$1
    if [[ -s $logfile ]]; then
        log "last lines of $logfile:"
        tail -n 40 -- "$logfile" | sed 's/^/    /' >&2
    fi
}

# ------------------------------------------------------------- subcommands ---

cmd_install() {
    local bindir
    if bindir=$(find_bindir); then
        log "PostgreSQL already installed ($bindir); nothing to do"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "no initdb found and no apt-get to install PostgreSQL with"
    local -a sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 || die "installing PostgreSQL needs root (or sudo)"
        sudo=(sudo)
    fi
    log "installing PostgreSQL with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
        || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Use-Pty=0 postgresql >&2 \
        || die "apt-get install postgresql failed"
    bindir=$(find_bindir) || die "PostgreSQL was installed but initdb still cannot be found"
    log "installed PostgreSQL: $("$bindir/postgres" --version)"
}

START_BINDIR='' START_DIR='' START_OK=0
on_start_exit() {
    local rc=$?
    ((START_OK)) && return 0
    ((rc != 0)) || rc=1
    print_log_tail "$START_DIR/server.log"
    # Do not leave a half-started server behind; the data dir stays for
    # inspection and is wiped by the next start/stop.
    if [[ -n $START_BINDIR ]] && server_running "$START_DIR"; then
        as_pg "$START_BINDIR/pg_ctl" stop -D "$START_DIR" -m immediate -w -t 10 -s >&2 || true
    fi
    log "start failed"
    exit "$rc"
}

cmd_start() {
    local bindir dir port
    dir=$(data_dir)
    port=$(requested_port)
    bindir=$(find_bindir) || die "no PostgreSQL installation found (initdb/pg_ctl); run '$0 install'"

    local sock=$dir/.s.PGSQL.$port
    ((${#sock} < 108)) || die "data dir path too long for a unix socket ($sock); use a shorter GATEWATCH_PG_DIR"

    ensure_os_user

    # Wipe whatever an earlier run left behind.
    check_owned_dir "$dir"
    stop_server "$bindir" "$dir"
    remove_dir "$dir"

    local psql pg_isready
    psql=$(client_tool "$bindir" psql)
    pg_isready=$(client_tool "$bindir" pg_isready)

    # Something else on the port would make the new server fail to bind.
    if "$pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 >/dev/null 2>&1; then
        die "a PostgreSQL server not managed from $dir is already listening on 127.0.0.1:$port; stop it or set GATEWATCH_PG_PORT"
    fi

    START_BINDIR=$bindir START_DIR=$dir
    trap on_start_exit EXIT

    mkdir -p -- "$dir"
    if is_root; then chown "$OS_USER:" "$dir"; fi
    chmod 700 "$dir"
    if ! as_pg test -w "$dir" -a -x "$dir"; then
        rmdir -- "$dir" 2>/dev/null || true
        die "user $(as_pg id -un) cannot write to $dir (check the permissions of its parent directories)"
    fi

    local started=$SECONDS out
    if ! out=$(as_pg "$bindir/initdb" -D "$dir" --auth=trust --encoding=UTF8 --locale=C \
        -U "$DB_USER" --no-sync 2>&1); then
        printf '%s\n' "$out" >&2
        die "initdb failed"
    fi
    printf 'port=%s\nurl=%s\n' "$port" "$(url_for_port "$port")" > "$dir/$MARKER"

    cat >> "$dir/postgresql.conf" <<EOF

# --- added by $PROG: throwaway test server, not for real data ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF

    log "starting $("$bindir/postgres" --version) in $dir on 127.0.0.1:$port"
    as_pg "$bindir/pg_ctl" start -D "$dir" -l "$dir/server.log" -w -t "$WAIT_SECONDS" -s >&2 \
        || die "pg_ctl start failed"

    # pg_ctl -w waits for the postmaster to report readiness; confirm over TCP
    # (what the tests use) within the same overall time budget.
    until "$pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres -t 1 >/dev/null 2>&1; do
        ((SECONDS - started < WAIT_SECONDS)) \
            || die "server did not accept connections on 127.0.0.1:$port within ${WAIT_SECONDS}s"
        server_running "$dir" || die "server exited during startup"
        sleep 0.2
    done

    PGCONNECT_TIMEOUT=10 "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$DB_USER" \
        -d postgres -c "CREATE DATABASE $DB_NAME" >&2 \
        || die "could not create database $DB_NAME"

    START_OK=1
    trap - EXIT
    log "ready after $((SECONDS - started))s; log: $dir/server.log"
    url_for_port "$port"
}

cmd_stop() {
    local bindir dir
    dir=$(data_dir)
    [[ -e $dir ]] || return 0
    check_owned_dir "$dir"
    if bindir=$(find_bindir); then
        stop_server "$bindir" "$dir"
    elif server_running "$dir"; then
        die "no pg_ctl found to stop the server in $dir"
    fi
    remove_dir "$dir"
    log "stopped; removed $dir"
}

cmd_url() {
    local bindir dir port pg_isready
    dir=$(data_dir)
    port=$(recorded_port "$dir")
    if [[ -z $port ]]; then
        log "no test server in $dir"
        return 1
    fi
    if ! server_running "$dir" || ! bindir=$(find_bindir); then
        log "test server in $dir is not running"
        return 1
    fi
    pg_isready=$(client_tool "$bindir" pg_isready)
    if ! "$pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$DB_NAME" -t 3 >/dev/null 2>&1; then
        log "test server in $dir is not accepting connections on 127.0.0.1:$port"
        return 1
    fi
    url_for_port "$port"
}

main() {
    if (($# != 1)); then
        usage
        exit 2
    fi
    case $1 in
        install) cmd_install ;;
        start) cmd_start ;;
        stop) cmd_stop ;;
        url) cmd_url ;;
        -h | --help | help) usage ;;
        *)
            usage
            exit 2
            ;;
    esac
}

main "$@"

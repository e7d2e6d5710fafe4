# Shared by the bench scripts (sourced): replace_section FILE TITLE SECTION_FILE,
# stop_server (ends the server whose PID is in $SERVER_PID) and ensure_binary (sets $BIN).
# replaces the level-2 section TITLE of FILE (from its heading to the next level-2 heading
# outside a code fence) with SECTION_FILE's lines, or appends it; every other line stays.
replace_section() {
    local out=$1 title=$2 secfile=$3 tmp
    if [[ ! -s $out ]]; then printf '# Benchmarks\n\n' >"$out"; fi
    tmp=$(mktemp)
    awk -v title="$title" -v secfile="$secfile" '
        function emit(  l) { while ((getline l < secfile) > 0) print l; close(secfile); done = 1 }
        /^```/ { fence = !fence }
        !fence && /^## / {
            skipping = 0
            if ($0 == title && !done) { emit(); skipping = 1; next }
        }
        !skipping { print; last = $0 }
        END { if (!done) { if (NR > 0 && last != "") print ""; emit() } }
    ' "$out" >"$tmp"
    cat "$tmp" >"$out" # rewrite in place: keeps the file's owner and mode
    rm -f "$tmp"
}

# Stops $SERVER_PID: SIGTERM, 10 s for a graceful shutdown, then SIGKILL, so a bench always ends
# by itself. Clears SERVER_PID.
stop_server() {
    if [[ -n ${SERVER_PID:-} ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

# Sets $BIN to a release build of vroom unless --bin gave one, and checks it can run. Needs
# $ROOT and the caller's `die`.
ensure_binary() {
    if [[ -z $BIN ]]; then
        echo "==> cargo build --release -p vroom"
        cargo build --release -p vroom
        BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vroom"
        [[ $BIN == /* ]] || BIN="$ROOT/$BIN"
    fi
    [[ -x $BIN ]] || die "no executable vroom binary at $BIN"
}

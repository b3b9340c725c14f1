#!/bin/sh
# Runs a command against a real, unlocked, throwaway gnome-keyring (Secret Service) inside a
# private D-Bus session, with CROSSWALK_KEYRING_TESTS=1 exported so tests/keychain.rs runs.
#
#   src-tauri/crates/crosswalk-secrets/keyring-session.sh                    # cargo test -p crosswalk-secrets
#   src-tauri/crates/crosswalk-secrets/keyring-session.sh cargo test -p crosswalk-api
#
# The command runs from the repository root and its exit status is the script's. Headless:
# needs dbus-run-session, dbus-send and gnome-keyring-daemon, no X display. XDG_DATA_HOME and
# XDG_RUNTIME_DIR point into a temp folder, so the developer's own keyrings and keyring daemon
# are never touched. The daemon runs in the foreground under this script and is stopped at the
# end (it does not reliably exit with its bus), then the folder is removed.
set -eu

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
if [ "$#" -eq 0 ]; then
    set -- cargo test -p crosswalk-secrets
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/crosswalk-keyring.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
mkdir -m 700 "$WORK/data" "$WORK/run"
export XDG_DATA_HOME="$WORK/data" XDG_RUNTIME_DIR="$WORK/run" CROSSWALK_KEYRING_WORK="$WORK"
# Never let libdbus autolaunch a bus through X11 if a display happens to be set.
unset DISPLAY WAYLAND_DISPLAY

dbus-run-session -- sh -u -c '
    # --unlock reads the password from stdin; with no keyring yet it creates "login" with it.
    printf %s crosswalk-test-keyring |
        gnome-keyring-daemon --foreground --unlock --components=secrets \
            >"$CROSSWALK_KEYRING_WORK/daemon.out" 2>"$CROSSWALK_KEYRING_WORK/daemon.log" &
    daemon=$!
    stop() { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; }
    trap "stop; exit 130" INT TERM

    tries=0
    until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
            grep -q "boolean true"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 200 ] || ! kill -0 "$daemon" 2>/dev/null; then
            echo "keyring-session.sh: gnome-keyring-daemon did not come up on the session bus" >&2
            cat "$CROSSWALK_KEYRING_WORK/daemon.log" >&2
            stop
            exit 1
        fi
        sleep 0.05
    done

    export CROSSWALK_KEYRING_TESTS=1
    unset CROSSWALK_KEYRING_WORK
    status=0
    "$@" || status=$?
    stop
    exit "$status"
' sh "$@"

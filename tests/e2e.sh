#!/bin/sh
# End-to-end test of the real console window: Xvfb + a private D-Bus session + an unlocked,
# throwaway GNOME Keyring + a stand-in desktop on that bus (notification server and tray watcher,
# tests/desktop_bus.py) + tauri-driver (WebKitWebDriver) + selenium (tests/e2e.py).
# Usage: tests/e2e.sh [app-binary]   Env: PYTHON (with selenium and jeepney), TAURI_DRIVER,
# E2E_SCREENSHOT. Needs faketime (the secret-expiry check runs a sandbox with its clock set back).
set -eu
cd "$(dirname "$0")/.."
APP=$(realpath "${1:-target/debug/crosswalk}")
WORK=$(mktemp -d)
export APP WORK PYTHON="${PYTHON:-python3}" TAURI_DRIVER="${TAURI_DRIVER:-tauri-driver}"
export E2E_DESKTOP_RECORD="$WORK/desktop.jsonl"
export XDG_DATA_HOME="$WORK/xdg-data" XDG_CONFIG_HOME="$WORK/xdg-config" CROSSWALK_DATA_DIR="$WORK/crosswalk"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
rc=0
xvfb-run -a -s "-screen 0 1400x900x24" dbus-run-session -- sh -c '
  eval "$(printf %s e2e-keyring-pw | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  # The desktop the app talks to: notifications are recorded, the tray item registers.
  "$PYTHON" tests/desktop_bus.py "$E2E_DESKTOP_RECORD" 2>"$WORK/desktop.log" &
  DESKTOP=$!
  "$TAURI_DRIVER" --port 4444 --native-port 4445 >"$WORK/tauri-driver.log" 2>&1 &
  TD=$!
  trap "kill $TD $DESKTOP 2>/dev/null" EXIT INT TERM
  i=0; until grep -q "\"ready\"" "$E2E_DESKTOP_RECORD" 2>/dev/null; do
    i=$((i+1)); [ $i -gt 100 ] && { echo "the desktop stand-in did not start"; cat "$WORK/desktop.log"; exit 1; }; sleep 0.1
  done
  i=0; until "$PYTHON" -c "import socket; socket.create_connection((\"127.0.0.1\", 4444), 0.2)" 2>/dev/null; do
    i=$((i+1)); [ $i -gt 100 ] && { echo "tauri-driver did not start"; cat "$WORK/tauri-driver.log"; exit 1; }; sleep 0.1
  done
  "$PYTHON" tests/e2e.py "$APP" "$CROSSWALK_DATA_DIR" "${E2E_SCREENSHOT:-}"
' || rc=$?
[ $rc -eq 0 ] || { echo "--- tauri-driver / app log:"; cat "$WORK/tauri-driver.log" 2>/dev/null | tail -50
  echo "--- desktop stand-in:"; cat "$WORK/desktop.log" "$E2E_DESKTOP_RECORD" 2>/dev/null | tail -30; }
rm -rf "$WORK"
exit $rc

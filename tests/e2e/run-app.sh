#!/usr/bin/env bash
# Runs the real desktop app under Xvfb, with a real keychain (gnome-keyring on
# a private D-Bus session) and tauri-driver, then drives it with app.mjs.
# Meant to run INSIDE the test's network namespace (scripts/local-janus exec),
# so that the app's ICE traffic never leaves it.
#
# Env: ESTRADE_APP (the app binary), E2E_MODE (e2e|screenshots|bench), plus
# whatever app.mjs reads (JANUS_URL, CLI_NAME, SHOTS_DIR...).
# Everything started here is stopped here, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/estrade-e2e.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A display number of our own: several runs may share the machine.
display=$(( 90 + $$ % 400 ))
while [ -e "/tmp/.X11-unix/X$display" ] || [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 "${XVFB_SIZE:-1280x800}x24" -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
# Our own Xvfb must be up, or the app would land on another run's display.
if ! kill -0 "${pids[-1]}" 2>/dev/null || ! [ -e "/tmp/.X11-unix/X$display" ]; then
    echo "run-app: Xvfb :$display did not start:" >&2; cat "$work/xvfb.log" >&2; exit 1
fi
export DISPLAY=":$display"

export XDG_RUNTIME_DIR="$work/run" HOME="$work/home" ESTRADE_CONFIG_DIR="$work/config"
export XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$XDG_RUNTIME_DIR" "$HOME" "$ESTRADE_CONFIG_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export E2E_CONFIG_DIR="$ESTRADE_CONFIG_DIR" E2E_WORK="$work"

# Real sound devices: a private PulseAudio with virtual speakers (vspk) and a
# virtual microphone (what is played into vmic, its monitor hears).
pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no --disable-shm=yes \
    -L "module-native-protocol-unix auth-anonymous=1" \
    -L "module-null-sink sink_name=vspk rate=48000 channels=2 sink_properties=device.description=Haut-parleurs" \
    -L "module-null-sink sink_name=vmic rate=48000 channels=1 sink_properties=device.description=Micro" \
    >"$work/pulseaudio.log" 2>&1 &
pids+=($!)
export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse/native"
for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
if ! pactl info >/dev/null 2>&1; then echo "run-app: PulseAudio did not start:" >&2; cat "$work/pulseaudio.log" >&2; exit 1; fi
pactl set-default-source vmic.monitor
pactl set-default-sink vspk

# A private session bus with a keychain, unlocked unless E2E_KEYCHAIN=locked.
dbus-run-session -- bash -c '
    set -euo pipefail
    case "${E2E_KEYCHAIN:-unlocked}" in
        unlocked) printf estrade-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null ;;
        locked) gnome-keyring-daemon --start --components=secrets >/dev/null ;;
    esac
    port=$(( 4444 + $$ % 1000 ))
    tauri-driver --port "$port" --native-port $((port + 1000)) --native-driver /usr/bin/WebKitWebDriver >"$E2E_WORK/tauri-driver.log" 2>&1 &
    driver=$!
    trap "kill $driver 2>/dev/null || true; wait $driver 2>/dev/null || true" EXIT
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
        sleep 0.1
    done
    WEBDRIVER_URL="http://127.0.0.1:$port" node "'"$here"'/app.mjs"
'

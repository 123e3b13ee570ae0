#!/usr/bin/env bash
# Installs printlog as a service: user, directories, configuration, systemd unit, udev rule.
# Idempotent: run it again to upgrade (the configuration and data are kept).
#
#   sudo deploy/install.sh                 install or upgrade on this machine
#   sudo deploy/install.sh --uninstall     remove the service (keeps data and configuration)
#   sudo deploy/install.sh --uninstall --purge   ... and delete data and configuration too
#   deploy/install.sh --root /tmp/scratch  write everything under a scratch root (for testing;
#                                          touches nothing outside it, starts nothing)
#   sudo deploy/install.sh --instance mk3 --port 7126   one of several printers: printlog@mk3 with
#                                          /etc/printlog/mk3.cfg and /var/lib/printlog/mk3
#                                          (--uninstall --instance mk3 [--purge] removes it)
set -euo pipefail

ROOT=/
MODE=install
PURGE=0
INSTANCE=""
PORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --uninstall) MODE=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    --instance) INSTANCE="${2:?--instance needs a name}"; shift 2 ;;
    --port) PORT="${2:?--port needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ -n "$INSTANCE" ] && ! [[ "$INSTANCE" =~ ^[A-Za-z0-9_-]{1,32}$ ]]; then
  echo "install.sh: --instance: letters, digits, _ and - only (it names the unit, config and MQTT topics)" >&2; exit 2
fi
if [ -n "$PORT" ] && ! [[ "$PORT" =~ ^[0-9]{1,5}$ && "$PORT" -ge 1 && "$PORT" -le 65535 ]]; then
  echo "install.sh: --port: expected 1-65535, got $PORT" >&2; exit 2
fi
[ -n "$PORT" ] && [ -z "$INSTANCE" ] && { echo "install.sh: --port goes with --instance" >&2; exit 2; }

SRC="$(cd "$(dirname "$0")/.." && pwd)"
R="${ROOT%/}"
APP="$R/opt/printlog"
DATA="$R/var/lib/printlog"
ETC="$R/etc/printlog"
UNIT="$R/etc/systemd/system/printlog.service"
TEMPLATE="$R/etc/systemd/system/printlog@.service"
RULE="$R/etc/udev/rules.d/99-printlog.rules"
LIVE=0
[ "$R" = "" ] && LIVE=1

say() { echo "printlog install: $*"; }

ensure_user() {
  if [ "$LIVE" = 1 ]; then
    if ! id printlog >/dev/null 2>&1; then
      useradd --system --home-dir /var/lib/printlog --no-create-home --shell /usr/sbin/nologin --groups dialout printlog
      say "created system user printlog (in group dialout)"
    else
      usermod -a -G dialout printlog
    fi
  else
    # A scratch root: record the user in its own passwd/group files.
    mkdir -p "$R/etc"
    touch "$R/etc/passwd" "$R/etc/group"
    grep -q '^printlog:' "$R/etc/passwd" || echo 'printlog:x:990:990:printlog:/var/lib/printlog:/usr/sbin/nologin' >> "$R/etc/passwd"
    grep -q '^printlog:' "$R/etc/group" || echo 'printlog:x:990:' >> "$R/etc/group"
    grep -q '^dialout:' "$R/etc/group" || echo 'dialout:x:20:' >> "$R/etc/group"
    awk -F: 'BEGIN { OFS = ":" } $1 == "dialout" && $4 !~ /(^|,)printlog(,|$)/ { $4 = ($4 == "" ? "printlog" : $4 ",printlog") } { print }' \
      "$R/etc/group" > "$R/etc/group.new" && mv "$R/etc/group.new" "$R/etc/group"
  fi
}

install() {
  [ -f "$SRC/dist/src/cli/main.js" ] || { echo "install.sh: build first (npm ci && npm run build) in $SRC" >&2; exit 1; }
  ensure_user
  mkdir -p "$APP" "$DATA" "$ETC" "$(dirname "$UNIT")" "$(dirname "$RULE")"
  # The application: replaced whole on every run (an upgrade).
  rm -rf "$APP.new"
  mkdir -p "$APP.new"
  cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$SRC/hardware.md" "$SRC/dist" "$SRC/node_modules" "$SRC/deploy" "$APP.new/"
  rm -rf "$APP.old"
  [ -d "$APP" ] && mv "$APP" "$APP.old"
  mv "$APP.new" "$APP"
  rm -rf "$APP.old"
  cp "$SRC/deploy/printlog@.service" "$TEMPLATE"
  chmod 0644 "$TEMPLATE"
  [ -n "$INSTANCE" ] && { install_instance; return; }
  # Configuration: installed once, never overwritten.
  if [ ! -f "$ETC/printlog.cfg" ]; then
    cp "$SRC/deploy/printlog.cfg.example" "$ETC/printlog.cfg"
    say "wrote $ETC/printlog.cfg (edit it, then: systemctl restart printlog)"
  else
    say "kept the existing $ETC/printlog.cfg"
  fi
  cp "$SRC/deploy/printlog.service" "$UNIT"
  cp "$SRC/deploy/99-printlog.rules" "$RULE"
  chmod 0644 "$UNIT" "$RULE" "$ETC/printlog.cfg"
  chmod 0750 "$DATA"
  if [ "$LIVE" = 1 ]; then
    chown -R printlog:printlog "$DATA"
    udevadm control --reload-rules 2>/dev/null && udevadm trigger --subsystem-match=tty 2>/dev/null || true
    systemctl daemon-reload
    systemctl enable printlog.service >/dev/null
    systemctl restart printlog.service
    say "installed and started; logs: journalctl -u printlog -f"
  else
    say "installed under $ROOT (nothing started)"
  fi
}

# One of several printers: its own config (port, instance_name) and data directory, unit printlog@NAME.
install_instance() {
  local cfg="$ETC/$INSTANCE.cfg"
  mkdir -p "$DATA/$INSTANCE"
  if [ ! -f "$cfg" ]; then
    sed -e "s|^port: 7125|port: ${PORT:-7125}|" -e "s|^data_dir: /var/lib/printlog|data_dir: /var/lib/printlog/$INSTANCE|" \
      -e "s|^#instance_name: .*|#instance_name: $INSTANCE|" "$SRC/deploy/printlog.cfg.example" > "$cfg"
    say "wrote $cfg (set [printer] device to this printer's /dev/serial/by-id/... path, then: systemctl restart printlog@$INSTANCE)"
  else
    say "kept the existing $cfg"
  fi
  chmod 0644 "$cfg"
  chmod 0750 "$DATA" "$DATA/$INSTANCE"
  if [ "$LIVE" = 1 ]; then
    chown printlog:printlog "$DATA"
    chown -R printlog:printlog "$DATA/$INSTANCE"
    systemctl daemon-reload
    systemctl enable "printlog@$INSTANCE.service" >/dev/null
    systemctl restart "printlog@$INSTANCE.service"
    say "installed and started printlog@$INSTANCE; logs: journalctl -u printlog@$INSTANCE -f"
  else
    say "installed printlog@$INSTANCE under $ROOT (nothing started)"
  fi
}

uninstall_instance() {
  [ "$LIVE" = 1 ] && { systemctl disable --now "printlog@$INSTANCE.service" 2>/dev/null || true; }
  if [ "$PURGE" = 1 ]; then
    rm -rf "$DATA/$INSTANCE" "$ETC/$INSTANCE.cfg"
    say "removed printlog@$INSTANCE, its data and its configuration"
  else
    say "stopped printlog@$INSTANCE; kept $DATA/$INSTANCE and $ETC/$INSTANCE.cfg (use --purge to delete them)"
  fi
}

uninstall() {
  [ -n "$INSTANCE" ] && { uninstall_instance; return; }
  if [ "$LIVE" = 1 ]; then
    systemctl disable --now printlog.service 2>/dev/null || true
  fi
  rm -f "$UNIT" "$TEMPLATE" "$RULE"
  rm -rf "$APP"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$DATA" "$ETC"
    say "removed the service, the data and the configuration"
  else
    say "removed the service; kept $DATA and $ETC (use --purge to delete them)"
  fi
  if [ "$LIVE" = 1 ]; then
    systemctl daemon-reload
    udevadm control --reload-rules 2>/dev/null || true
  fi
}

"$MODE"

#!/usr/bin/env bash
# The main job on a fresh Debian machine, as root: this machine becomes a
# one-server cluster (local transport), two app containers are created from an
# image with static addresses, serve HTTP, and are listed.
# Usage: sudo examples/quickstart.sh        (idempotent; run it again any time)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
mkdir -p "$out"
export FLOCKPORT_CONFIG="$out/flockport.toml"

step() { printf '\n==> %s\n' "$*"; }

step "Debian packages (lxc, debootstrap)"
if ! command -v lxc-create >/dev/null || ! command -v debootstrap >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lxc debootstrap curl >/dev/null
fi

step "Build flockport"
if ! command -v cargo >/dev/null; then
  echo "cargo is needed (https://rustup.rs)" >&2; exit 1
fi
(cd "$root" && cargo build --release -q -p flockport-cli)
fp="$root/target/release/flockport"

step "Container bridge lxcbr0 (LXC's own lxc-net)"
[ -e /sys/class/net/lxcbr0 ] || /usr/libexec/lxc/lxc-net start

step "This machine as server 'local' (subnet 10.0.3.0/24 on lxcbr0)"
"$fp" listservers --json 2>/dev/null | grep -q '"name": "local"' \
  || "$fp" addserver local --local --subnet 10.0.3.0/24
"$fp" listservers

for app in app1 app2; do
  step "App container $app (image with busybox; built once, then cloned)"
  if ! "$fp" listcontainers local --json | grep -q "\"name\": \"$app\""; then
    "$fp" addcontainer local "$app" --packages busybox
  fi
  "$fp" startcontainer "$app" >/dev/null
  printf 'hello from %s\n' "$app" > "$out/index.html"
  "$fp" push "$app" "$out/index.html" /srv/www/index.html
  "$fp" exec "$app" -- sh -c 'pidof busybox >/dev/null || busybox httpd -p 80 -h /srv/www'
done

step "The cluster's containers"
"$fp" listcontainers

step "A request to each app (lxcbr0 is this machine's own bridge)"
for app in app1 app2; do
  ip=$("$fp" listcontainers local --json | python3 -c "import json,sys; print([c['ipv4'][0] for c in json.load(sys.stdin) if c['name']=='$app'][0])")
  printf '%s (%s): ' "$app" "$ip"
  curl -fsS --max-time 5 "http://$ip/"
done
echo
echo "Done. Remove with: $fp delcontainer app1 && $fp delcontainer app2"

#!/usr/bin/env bash
# The main job on a fresh Debian machine, as root: this machine becomes a
# one-server cluster (local transport), two app containers are created from an
# image with static addresses and serve HTTP, an HAProxy load balancer is put
# in front of them, and requests go through it.
# Usage (as root): examples/quickstart.sh        (idempotent; run it again any time)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
mkdir -p "$out"
export FLOCKPORT_CONFIG="$out/flockport.toml"

step() { printf '\n==> %s\n' "$*"; }

step "Debian packages (lxc, debootstrap, and what the build needs)"
need=()
for p in lxc debootstrap curl libssl-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
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

addr() { "$fp" listcontainers local --json | python3 -c "import json,sys; print([c['ipv4'][0] for c in json.load(sys.stdin) if c['name']=='$1'][0])"; }

step "An HAProxy load balancer 'qslb' in front of app1 and app2"
if ! "$fp" listlbs --json | grep -q '"name": "qslb"'; then
  "$fp" addlb haproxy local -n qslb -b "app1:$(addr app1):80" -b "app2:$(addr app2):80"
fi
"$fp" listlbs

step "Requests through the load balancer (lxcbr0 is this machine's own bridge)"
lb=$("$fp" listlbs --json | python3 -c "import json,sys; print([l['address'] for l in json.load(sys.stdin) if l['name']=='qslb'][0])")
for i in 1 2 3 4; do
  printf 'GET http://%s/ -> ' "$lb"
  curl -fsS --max-time 5 --retry 5 --retry-connrefused --retry-delay 1 "http://$lb/"
done
echo
echo "Done. Remove with: $fp dellb qslb && $fp delcontainer app1 && $fp delcontainer app2"

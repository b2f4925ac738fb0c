#!/usr/bin/env bash
# The main job on a fresh Debian machine, as root: this machine becomes a
# one-server cluster (local transport), two app containers are created from an
# image with static addresses and serve HTTP, an HAProxy load balancer is put
# in front of them, and requests go through it.
# Usage (as root): examples/quickstart.sh        (idempotent; run it again any time)
#
# A first run takes several minutes (Debian packages, a release build, two
# images built with debootstrap); every long step says what it is doing and,
# every 15 s, how long it has been at it. Later runs take seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
mkdir -p "$out"
export FLOCKPORT_CONFIG="$out/flockport.toml"

step() { printf '\n==> %s  [%ss]\n' "$*" "$SECONDS"; }

# `long WHAT CMD...` runs CMD and, while it runs, prints a line every 15 s
# with how long WHAT has taken, so no step is silent; then how long it took.
# On a terminal the line first clears the current one (cargo's progress bar,
# flockport's spinner), which they redraw below it. The heartbeat is a
# background subshell: stopped by TERM (its trap exits 0, quietly), and gone
# by itself within 15 s when this script is (Ctrl-C). No EXIT trap for it:
# a subshell signalled as it starts runs its parent's traps, and bash then
# prints stray `wait_for` notices.
clear_line=
if [ -t 1 ] && [ -t 2 ]; then clear_line=$'\r\033[K'; fi
long() {
  local what=$1 t0=$SECONDS rc=0 beat
  shift
  (
    trap '[ -z "${s-}" ] || kill "$s" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 15 & s=$!
      wait "$s"
      kill -0 "$$" 2>/dev/null || exit 0
      printf '%s    ... %s: still working (%ss)\n' "$clear_line" "$what" "$((SECONDS - t0))"
    done
  ) &
  beat=$!
  "$@" || rc=$?
  kill "$beat" 2>/dev/null || true
  if [ "$rc" -eq 0 ]; then printf '    %s: done in %ss\n' "$what" "$((SECONDS - t0))"; fi
  return "$rc"
}

cat <<'EOF'
flockport quickstart: this machine becomes a one-server cluster, two app
containers serve HTTP, and an HAProxy load balancer goes in front of them.

How long it takes: a first run, roughly 5 to 10 minutes on 2 cores:
  - Debian packages (lxc, debootstrap, what the build needs), if missing: about a minute;
  - a release build of flockport: a few minutes (cargo shows its progress);
  - an image built with debootstrap for the apps: about 1-2 minutes, then one for
    the load balancer (HAProxy), quicker (the base system is cached);
  - container starts: seconds each.
Later runs reuse all of it and take seconds.
EOF

step "Debian packages (lxc, debootstrap, and what the build needs)"
need=()
for p in lxc debootstrap curl libssl-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  long "apt-get update" apt-get update -qq
  long "apt-get install" bash -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null' sh "${need[@]}"
else
  echo "all installed"
fi

step "Build flockport (release mode: a few minutes the first time, seconds after)"
if ! command -v cargo >/dev/null; then
  echo "cargo is needed (https://rustup.rs)" >&2; exit 1
fi
(cd "$root" && long "cargo build --release" cargo build --release -p flockport-cli)
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
    echo "its image is built first if this server lacks it (debootstrap: about 1-2 minutes), then cloned"
    long "addcontainer $app" "$fp" addcontainer local "$app" --packages busybox
  fi
  long "start $app" "$fp" startcontainer "$app"
  printf 'hello from %s\n' "$app" > "$out/index.html"
  "$fp" push "$app" "$out/index.html" /srv/www/index.html
  "$fp" exec "$app" -- sh -c 'pidof busybox >/dev/null || busybox httpd -p 80 -h /srv/www'
done

step "The cluster's containers"
"$fp" listcontainers

addr() { "$fp" listcontainers local --json | python3 -c "import json,sys; print([c['ipv4'][0] for c in json.load(sys.stdin) if c['name']=='$1'][0])"; }

step "An HAProxy load balancer 'qslb' in front of app1 and app2"
if ! "$fp" listlbs --json | grep -q '"name": "qslb"'; then
  echo "its HAProxy image is built first if this server lacks it (debootstrap, quicker from its cache)"
  long "addlb qslb" "$fp" addlb haproxy local -n qslb -b "app1:$(addr app1):80" -b "app2:$(addr app2):80"
fi
"$fp" listlbs

step "Requests through the load balancer (lxcbr0 is this machine's own bridge)"
lb=$("$fp" listlbs --json | python3 -c "import json,sys; print([l['address'] for l in json.load(sys.stdin) if l['name']=='qslb'][0])")
for _ in 1 2 3 4; do
  printf 'GET http://%s/ -> ' "$lb"
  curl -fsS --max-time 5 --retry 5 --retry-connrefused --retry-delay 1 "http://$lb/"
done
echo
echo "Done in ${SECONDS}s. Remove with: $fp dellb qslb && $fp delcontainer app1 && $fp delcontainer app2"

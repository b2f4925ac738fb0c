#!/usr/bin/env bash
# Build Consul (MPL-2.0) from its Go module, once, and cache the binary outside
# the repo. Prints the binary's path as the last line on stdout; progress and
# errors go to stderr. See tests/consul/README.md.
#
# usage: tests/consul/build-consul.sh [--smoke]
#   --smoke   after building (or finding the cached binary), start a throwaway
#             dev agent on free loopback ports, register a service over the HTTP
#             API, read it back and stop the agent (by its pid).
# env:
#   FLOCKPORT_CACHE  cache root (default /var/cache/flockport); the binary is
#                    $FLOCKPORT_CACHE/consul/<version>-<go version>-<recipe hash>/consul
#   GOMODCACHE, GOCACHE, GOPROXY: the Go defaults of this machine are used.
set -euo pipefail

# --- the recipe: everything the binary is built from ---------------------------
# v1.14.9 was the target (the last 1.14 release, MPL-2.0), but the Go module
# proxy these machines reach refuses it ("403 This module version is not
# available"); v1.14.8 (June 2023, MPL-2.0, same 1.14 line) is served.
CONSUL_MODULE=github.com/hashicorp/consul
CONSUL_VERSION=v1.14.8
# Consul's go.mod replaces ./api, ./sdk and ./proto-public with its own sub
# directories (not in the module zip; the published modules are used instead)
# and has this one non-local replace, copied into the wrapper:
CONSUL_REPLACES=(
  "launchpad.net/gocheck=github.com/go-check/check@v0.0.0-20140225173054-eb6ee6f84d0a"
)
# Dependency bumps for Go 1.26 (reflect2 v1.0.1 breaks on new Go runtimes).
DEP_BUMPS=(
  "github.com/modern-go/reflect2@v1.0.2"
)
# Consul v1.14.8's in-tree ./api has RaftServer.LastIndex (used by
# `consul operator raft list-peers`); no published consul/api has that field
# without also changing the peering types 1.14 uses. So the wrapper uses the
# published api version Consul's go.mod names, plus that one field, in a local
# copy made at build time (nothing is committed).
API_VERSION=v1.18.0
API_PATCH_PERL='s/(type RaftServer struct \{.*?\n\tVoter bool\n)\}/$1\n\t\/\/ LastIndex is the last log index this server has a record of in its Raft log.\n\tLastIndex uint64\n}/s'
BUILD_FLAGS=(-trimpath "-ldflags=-s -w")
# A static binary (as HashiCorp's releases), so it runs in any container.
BUILD_CGO_ENABLED=0
# Modules that are not open source and must never be part of the build.
FORBIDDEN_MODULES=(github.com/hashicorp/consul/envoyextensions github.com/hashicorp/consul/troubleshoot)
# -------------------------------------------------------------------------------

SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-consul: unknown argument '$arg' (usage: $0 [--smoke])" >&2; exit 2 ;;
  esac
done

log() { echo "build-consul: $*" >&2; }
die() { echo "build-consul: error: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "no 'go' on PATH; Consul is built from its Go module and needs the Go toolchain"
export GOTOOLCHAIN=local GOWORK=off
GO_VERSION=$(go env GOVERSION) || die "'go env GOVERSION' failed"
[[ -n "$GO_VERSION" ]] || die "could not read the Go version"

recipe() {
  printf 'module=%s\nversion=%s\ngo=%s\n' "$CONSUL_MODULE" "$CONSUL_VERSION" "$GO_VERSION"
  printf 'replace=%s\n' "${CONSUL_REPLACES[@]}"
  printf 'bump=%s\n' "${DEP_BUMPS[@]}"
  printf 'api=%s\napi_patch=%s\n' "$API_VERSION" "$API_PATCH_PERL"
  printf 'flag=%s\n' "${BUILD_FLAGS[@]}"
  printf 'cgo=%s\n' "$BUILD_CGO_ENABLED"
}
RECIPE_HASH=$(recipe | sha256sum | cut -c1-16)
CACHE_ROOT=${FLOCKPORT_CACHE:-/var/cache/flockport}
OUT_DIR="$CACHE_ROOT/consul/${CONSUL_VERSION}-${GO_VERSION}-${RECIPE_HASH}"
OUT="$OUT_DIR/consul"

smoke() {
  local bin=$1 tmp pid ports http dns server serflan serfwan i
  command -v curl >/dev/null 2>&1 || die "smoke test needs curl"
  command -v python3 >/dev/null 2>&1 || die "smoke test needs python3 (to pick free loopback ports)"
  tmp=$(mktemp -d /tmp/fp-consul-smoke.XXXXXX)
  # Five distinct free TCP ports on loopback (DNS uses the same number on UDP).
  ports=$(python3 - <<'EOF'
import socket
socks, ports = [], []
while len(ports) < 5:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); u.close(); continue
    socks += [t, u]; ports.append(p)
print(" ".join(map(str, ports)))
EOF
  )
  read -r http dns server serflan serfwan <<<"$ports"
  log "smoke: dev agent on 127.0.0.1 (http $http, dns $dns, server $server, serf lan $serflan, wan $serfwan, grpc off), data dir $tmp/data"
  "$bin" agent -dev -node fp-smoke -bind 127.0.0.1 -client 127.0.0.1 -data-dir "$tmp/data" \
    -http-port "$http" -dns-port "$dns" -server-port "$server" \
    -serf-lan-port "$serflan" -serf-wan-port "$serfwan" -grpc-port -1 -grpc-tls-port -1 \
    >"$tmp/agent.log" 2>&1 &
  pid=$!
  echo "$pid" >"$tmp/agent.pid"
  # shellcheck disable=SC2064
  trap "kill $pid 2>/dev/null || true; sleep 1; kill -9 $pid 2>/dev/null || true; rm -rf '$tmp'" EXIT
  for i in $(seq 1 60); do
    if "$bin" members -http-addr="127.0.0.1:$http" >"$tmp/members" 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/agent.log" >&2; die "smoke: the agent exited early"; }
    sleep 0.5
  done
  [[ -s "$tmp/members" ]] || { tail -20 "$tmp/agent.log" >&2; die "smoke: 'consul members' did not answer within 30 s"; }
  log "smoke: consul members:"; sed 's/^/  /' "$tmp/members" >&2
  "$bin" operator raft list-peers -http-addr="127.0.0.1:$http" >"$tmp/peers" 2>&1 || { cat "$tmp/peers" >&2; die "smoke: 'consul operator raft list-peers' failed"; }
  log "smoke: consul operator raft list-peers:"; sed 's/^/  /' "$tmp/peers" >&2
  curl -fsS --max-time 10 -X PUT "http://127.0.0.1:$http/v1/agent/service/register" \
    -H 'Content-Type: application/json' \
    -d '{"Name":"fp-smoke","ID":"fp-smoke-1","Address":"127.0.0.1","Port":9000,"Tags":["smoke"]}' \
    || die "smoke: service registration failed"
  # Registration reaches the catalog through anti-entropy; wait for it.
  local show='import json,sys
try: s=[x for x in json.load(open(sys.argv[1])) if x.get("ServiceID")=="fp-smoke-1"][0]
except Exception: sys.exit(1)
print("name=%s id=%s address=%s port=%s tags=%s node=%s" % (s["ServiceName"], s["ServiceID"], s["ServiceAddress"], s["ServicePort"], ",".join(s["ServiceTags"]), s["Node"]))'
  for i in $(seq 1 20); do
    curl -fsS --max-time 10 "http://127.0.0.1:$http/v1/catalog/service/fp-smoke" >"$tmp/svc" || true
    python3 -c "$show" "$tmp/svc" >"$tmp/svc.txt" 2>/dev/null && break
    sleep 0.5
  done
  [[ -s "$tmp/svc.txt" ]] || die "smoke: registered service not found in the catalog: $(cat "$tmp/svc")"
  log "smoke: registered via PUT /v1/agent/service/register; GET /v1/catalog/service/fp-smoke: $(cat "$tmp/svc.txt")"
  log "smoke: stopping agent pid $pid"
  kill "$pid"
  for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then log "smoke: agent did not stop on TERM; killing pid $pid"; kill -9 "$pid"; fi
  wait "$pid" 2>/dev/null || true
  trap - EXIT
  rm -rf "$tmp"
  log "smoke: ok"
}

finish() {
  if [[ -n "${WORK:-}" ]]; then cd /; rm -rf "$WORK"; trap - EXIT; fi
  log "consul $("$OUT" version | sed -n 1p) at $OUT"
  if [[ $SMOKE == 1 ]]; then smoke "$OUT"; fi
  echo "$OUT"
  exit 0
}

# Fast path: already built from this recipe.
[[ -x "$OUT" ]] && finish

mkdir -p "$OUT_DIR" || die "cannot create the cache directory $OUT_DIR (set FLOCKPORT_CACHE to a writable place)"
exec 9>"$OUT_DIR/.lock"
flock 9 || die "cannot lock $OUT_DIR/.lock"
[[ -x "$OUT" ]] && finish   # another run built it while we waited

WORK=$(mktemp -d /tmp/fp-consul-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
MODCACHE=$(go env GOMODCACHE)
log "building consul $CONSUL_VERSION from its Go module (first run: several minutes) with $GO_VERSION in $WORK"
log "cache: $OUT"

go mod init fpconsulbuild >/dev/null 2>&1 || die "go mod init failed in $WORK"
log "go get $CONSUL_MODULE@$CONSUL_VERSION (downloads its dependencies through $(go env GOPROXY))"
if ! go get "$CONSUL_MODULE@$CONSUL_VERSION" >"$WORK/get.log" 2>&1; then
  grep -v '^go: downloading' "$WORK/get.log" | tail -20 >&2
  die "'go get $CONSUL_MODULE@$CONSUL_VERSION' failed (is the Go module proxy reachable and serving this version?)"
fi

# Licence: the module must be MPL-2.0 (later Consul releases are not open source).
LICENSE_FILE="$MODCACHE/$CONSUL_MODULE@$CONSUL_VERSION/LICENSE"
[[ -f "$LICENSE_FILE" ]] || die "no LICENSE in the module cache at $LICENSE_FILE"
head -5 "$LICENSE_FILE" | grep -q 'Mozilla Public License, version 2.0' \
  || die "$LICENSE_FILE does not say 'Mozilla Public License, version 2.0'; refusing to build a module that is not MPL-2.0"
log "licence: $CONSUL_MODULE@$CONSUL_VERSION is Mozilla Public License 2.0"

# The one non-local replace of Consul's go.mod, and the dependency bumps.
CONSUL_GOMOD="$MODCACHE/cache/download/$CONSUL_MODULE/@v/$CONSUL_VERSION.mod"
for r in "${CONSUL_REPLACES[@]}"; do
  old=${r%%=*}
  grep -q "^replace $old => " "$CONSUL_GOMOD" || die "$CONSUL_GOMOD has no replace for $old; the recipe in $0 no longer matches $CONSUL_VERSION"
  go mod edit -replace "$r"
done
nonlocal=$(grep -E '^replace .* => [^.]' "$CONSUL_GOMOD" | grep -vc 'launchpad.net/gocheck' || true)
[[ "$nonlocal" == 0 ]] || die "$CONSUL_GOMOD has non-local replaces this script does not copy: $(grep -E '^replace .* => [^.]' "$CONSUL_GOMOD")"
for b in "${DEP_BUMPS[@]}"; do
  go get "$b" >>"$WORK/get.log" 2>&1 || { tail -5 "$WORK/get.log" >&2; die "go get $b failed"; }
done

# consul/api: the published version Consul names, plus RaftServer.LastIndex.
go mod download "github.com/hashicorp/consul/api@$API_VERSION" || die "cannot download github.com/hashicorp/consul/api@$API_VERSION"
API_SRC="$MODCACHE/github.com/hashicorp/consul/api@$API_VERSION"
head -5 "$API_SRC/LICENSE" | grep -q 'Mozilla Public License, version 2.0' || die "$API_SRC/LICENSE is not MPL-2.0"
cp -r "$API_SRC" "$WORK/consul-api"
chmod -R u+w "$WORK/consul-api"
perl -0pi -e "$API_PATCH_PERL" "$WORK/consul-api/operator_raft.go"
grep -q 'LastIndex uint64' "$WORK/consul-api/operator_raft.go" || die "could not add RaftServer.LastIndex to consul/api@$API_VERSION (operator_raft.go changed?)"
go mod edit -replace "github.com/hashicorp/consul/api=./consul-api"

for m in "${FORBIDDEN_MODULES[@]}"; do
  if grep -q "^$m " go.mod go.sum 2>/dev/null || grep -q "[[:space:]]$m " go.mod; then
    die "the build would use $m, which is not open source; refusing"
  fi
done

log "go build ${BUILD_FLAGS[*]} $CONSUL_MODULE (nice -n 10)"
start=$(date +%s)
if ! CGO_ENABLED=$BUILD_CGO_ENABLED nice -n 10 go build "${BUILD_FLAGS[@]}" -o "$WORK/consul" "$CONSUL_MODULE" 2>"$WORK/build.log"; then
  tail -30 "$WORK/build.log" >&2
  die "go build of $CONSUL_MODULE@$CONSUL_VERSION failed (log above; work dir $WORK removed)"
fi
log "built in $(( $(date +%s) - start )) s"

ver=$("$WORK/consul" version | sed -n 1p)  # sed reads it all: head would SIGPIPE consul (pipefail)
[[ "$ver" == "Consul ${CONSUL_VERSION}" ]] || die "the built binary says '$ver', expected 'Consul ${CONSUL_VERSION}'"

# Keep what it was built from next to it, then publish atomically.
cp go.mod "$OUT_DIR/go.mod"; cp go.sum "$OUT_DIR/go.sum"
recipe >"$OUT_DIR/recipe"
mv "$WORK/consul" "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
finish

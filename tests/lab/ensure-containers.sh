# Runs ON a lab server (fed to `sh -s` over SSH by `lab up`), so every path
# below is the server's own view: /var/lib/lxc is the server's private store.
#
# Usage: sh -s -- CACHE_LXCPATH TEMPLATE_VERSION  NAME IP GW HWADDR  [NAME IP GW HWADDR ...]
#
# For each app container: (re)clone it from the lab-app template when missing,
# half-built or cloned from an older template; make its network config exactly
# the lab's; start it if it is not running; check it holds its address.
# Prints one line per container; exits non-zero if any container is not right.
set -eu

cache=$1 tver=$2
shift 2
fail=0

while [ $# -ge 4 ]; do
    name=$1 ip=$2 gw=$3 hw=$4
    shift 4
    dir=/var/lib/lxc/$name
    did=""

    # A clone is trusted only if it carries the marker of the current template
    # (written after a successful lxc-copy). Anything else is rebuilt.
    if [ -d "$dir" ] && [ "$(cat "$dir/lab-template" 2>/dev/null || true)" != "$tver" ]; then
        lxc-destroy -f -n "$name" >/dev/null 2>&1 || rm -rf "$dir"
        did="$did recreated"
    fi
    if [ ! -d "$dir" ]; then
        if ! lxc-copy -P "$cache" -n lab-app -p /var/lib/lxc -N "$name" -s -B overlayfs >/tmp/lab-copy.$$ 2>&1; then
            echo "  $name: overlayfs snapshot clone failed ($(tail -n1 /tmp/lab-copy.$$)); doing a full copy"
            lxc-destroy -f -n "$name" >/dev/null 2>&1 || rm -rf "$dir"
            lxc-copy -P "$cache" -n lab-app -p /var/lib/lxc -N "$name"
        fi
        rm -f /tmp/lab-copy.$$
        echo "$tver" >"$dir/lab-template"
        did="$did cloned"
    fi

    # Exactly one static NIC on the server's own lxcbr0 (no DHCP anywhere).
    want="lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.hwaddr = $hw
lxc.net.0.ipv4.address = $ip/24
lxc.net.0.ipv4.gateway = $gw"
    have=$(grep '^lxc\.net\.' "$dir/config" || true)
    if [ "$have" != "$want" ]; then
        grep -v '^lxc\.net\.' "$dir/config" >"$dir/config.lab-new" || true
        printf '%s\n' "$want" >>"$dir/config.lab-new"
        mv -f "$dir/config.lab-new" "$dir/config"
        if [ "$(lxc-info -n "$name" -sH 2>/dev/null || true)" != STOPPED ]; then
            lxc-stop -k -n "$name" >/dev/null 2>&1 || true
        fi
        did="$did net-configured"
    fi

    state=$(lxc-info -n "$name" -sH 2>/dev/null || echo UNKNOWN)
    if [ "$state" != RUNNING ]; then
        if [ "$state" != STOPPED ]; then
            lxc-stop -k -n "$name" >/dev/null 2>&1 || true
        fi
        # Log of a failed start: /var/lib/lxc/NAME/lab-start.log on the server.
        if ! lxc-start -n "$name" -d -l WARN -o "$dir/lab-start.log"; then
            echo "  $name: lxc-start FAILED; last log lines:"
            tail -n 5 "$dir/lab-start.log" | sed 's/^/      /'
            fail=1
            continue
        fi
        did="$did started"
    fi
    lxc-wait -n "$name" -s RUNNING -t 15 || true

    state=$(lxc-info -n "$name" -sH 2>/dev/null || echo UNKNOWN)
    addrs=$(lxc-info -n "$name" -iH 2>/dev/null | tr '\n' ' ')
    case " $addrs " in
        *" $ip "*) echo "  $name: $state $ip${did:+ (}${did# }${did:+)}" ;;
        *) echo "  $name: NOT OK: state $state, addresses [${addrs% }], want $ip"; fail=1 ;;
    esac
done

exit "$fail"

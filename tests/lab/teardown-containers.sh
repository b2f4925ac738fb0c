# Runs inside a lab server's mount+net namespace (fed to `sh -s` by
# `lab down`), so /var/lib/lxc is that server's private store.
#
# Stops and destroys every container there (the lab's c1..c5 and whatever the
# product under test created), except image templates named fp-img-*, which
# are only stopped and kept as a cache. Clones are destroyed before the images
# they may be snapshots of, and a second pass retries whatever the first pass
# could not destroy because of such ordering.
set -u

fail=0
for pass in 1 2; do
    fail=0
    for name in $(lxc-ls -1 2>/dev/null); do
        case $name in
            fp-img-*)
                if [ "$(lxc-info -n "$name" -sH 2>/dev/null)" != STOPPED ]; then
                    lxc-stop -k -n "$name" >/dev/null 2>&1 && echo "  stopped image $name (kept)"
                fi
                ;;
            *)
                # A hard stop first: a clean systemd shutdown costs seconds.
                if [ "$(lxc-info -n "$name" -sH 2>/dev/null)" != STOPPED ]; then
                    lxc-stop -k -n "$name" >/dev/null 2>&1 || true
                fi
                if lxc-destroy -f -n "$name" >/dev/null 2>&1; then
                    echo "  destroyed $name"
                else
                    [ "$pass" = 2 ] && echo "  FAILED to destroy $name"
                    fail=1
                fi
                ;;
        esac
    done
    [ "$fail" = 0 ] && break
done

# Nothing may still be running in this server's store.
for name in $(lxc-ls -1 --running 2>/dev/null); do
    echo "  still running: $name"
    fail=1
done
exit "$fail"

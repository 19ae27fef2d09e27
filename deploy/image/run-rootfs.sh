#!/usr/bin/env bash
# Runs the image's root filesystem the way the DaemonSet runs the container, without a
# container runtime: run it inside the network namespace the pod would share (hostNetwork:
# `ip netns exec NODE`, or the host's), and it creates
#   - its own mount and PID namespaces (vxtrace is PID 1, as in a pod),
#   - the root filesystem mounted read-only (readOnlyRootFilesystem: true),
#   - fresh /proc and read-only /sys, the hostPath /sys/kernel/btf bind-mounted read-only,
#   - root with only the manifest's capabilities in the bounding set, no_new_privs
#     (privileged: false, allowPrivilegeEscalation: false, drop ALL, add CAPS).
#
# usage: run-rootfs.sh ROOTFS CAPS ARGS...    e.g. CAPS=bpf,perfmon,net_admin,syslog
set -euo pipefail
rootfs="$(realpath "$1")"
caps="$2"
shift 2
bounding="-all,$(echo "$caps" | sed 's/\([a-z_]*\)/+\1/g')"

exec unshare --mount --pid --fork --propagation private -- /bin/sh -euc '
  rootfs="$1"; bounding="$2"; shift 2
  mount --bind "$rootfs" "$rootfs"
  mount -o remount,bind,ro "$rootfs"
  mount -t proc -o nosuid,nodev,noexec proc "$rootfs/proc"
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$rootfs/sys"
  mount --bind -o ro /sys/kernel/btf "$rootfs/sys/kernel/btf"
  mount -t tmpfs -o nosuid,size=1m tmpfs "$rootfs/tmp"
  exec chroot "$rootfs" /usr/bin/setpriv --no-new-privs --bounding-set="$bounding" \
    --inh-caps=-all /usr/local/bin/vxtrace "$@"
' run-rootfs "$rootfs" "$bounding" "$@"

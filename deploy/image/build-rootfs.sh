#!/usr/bin/env bash
# Builds the runtime image's root filesystem without a registry: debootstrap Debian 12
# (minbase) plus the packages of the Dockerfile's runtime stage, then the vxtrace binary.
# The result is what `podman build -f deploy/Dockerfile` produces, as a directory, and is
# importable as an image: `tar -C ROOTFS -c . | podman import - localhost/vxtrace:0.1.0`.
#
# usage: deploy/image/build-rootfs.sh ROOTFS [VXTRACE_BINARY]   (as root; needs debootstrap)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rootfs="$1"
binary="${2:-$here/../../build/loader/vxtrace}"
packages="$(paste -sd, "$here/runtime-packages.txt")"

# Built again when the package list changed since (the stamp holds the list it was built with).
stamp="$rootfs/etc/vxtrace-runtime-packages"
if [ ! -x "$rootfs/usr/bin/dpkg" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$packages" ]; then
  rm -rf "$rootfs"
  # The mirror is debootstrap's default, i.e. the same Debian archive apt uses.
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  echo "$packages" >"$stamp"
fi
install -D -m 0755 "$binary" "$rootfs/usr/local/bin/vxtrace"
strip "$rootfs/usr/local/bin/vxtrace"
install -D -m 0644 "$here/../schema/vxtrace-events.schema.json" \
  "$rootfs/usr/share/vxtrace/vxtrace-events.schema.json"
chroot "$rootfs" /usr/local/bin/vxtrace --version >/dev/null  # every library resolves
echo "rootfs ready: $rootfs ($(du -sh "$rootfs" | cut -f1))"

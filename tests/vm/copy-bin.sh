#!/usr/bin/env bash
# copy-bin.sh ROOT FILE[=DEST]...   copies each host executable or shared object into ROOT at the
# same path (or at DEST), with every shared library ldd says it needs (and the dynamic loader), so
# it runs in the VM.
#
# Why the same paths: the VM's initramfs is laid out like the host (merged /usr: /bin, /sbin,
# /lib, /lib64 are symlinks into /usr), so RPATHs, the loader path baked into each ELF and
# libxtables' plugin directory all resolve exactly as on the host.
# Debug sections are dropped on the way (the VM boots faster from a smaller initramfs).
set -euo pipefail
root=${1:?usage: copy-bin.sh ROOT FILE...}
shift

copy_one() {
  local src=$1 dst=$root${2:-$1}
  [ -e "$dst" ] && return 0
  mkdir -p "$(dirname "$dst")"
  # -L: a library is usually a symlink (libfoo.so.1 -> libfoo.so.1.2.3); the VM only needs the name.
  cp -L "$src" "$dst"
  strip --strip-debug "$dst" 2>/dev/null || true
}

for arg in "$@"; do
  f=${arg%%=*}
  dest=""
  [ "$arg" != "$f" ] && dest=${arg#*=}
  copy_one "$f" "$dest"
  # ldd prints "name => /path (addr)" for libraries and "/lib64/ld-linux... (addr)" for the loader.
  ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}' | while read -r lib; do
    copy_one "$lib"
  done
done

#!/usr/bin/env bash
# run-vm.sh SERIES SCRIPT [FILE[=DEST]]... [-- ARG...]
#
# Boots Debian's SERIES kernel (5.10, 6.1, 6.12) under QEMU/TCG with the matrix initramfs, runs
# SCRIPT there as /vxt/run.sh ARG... (busybox sh, cwd /vxt), prints the script's stdout+stderr
# and exits with its status. Each FILE is copied to /vxt/<basename> (or DEST: relative to /vxt,
# or absolute); ELF files come with their shared libraries. Boot and wall time go to stderr.
#
# Environment: VXT_VM_CACHE (kernels, images; default /var/cache/vxtrace-vm), VXT_VM_TIMEOUT
# (seconds, default 300: a hung guest is killed), VXT_VM_MEM (default 1024 MiB),
# VXT_VM_LOGS (a directory to keep console.log and out.log in).
# Exit status: the script's; 124 when the guest timed out; 125 when it died without an end marker.
set -euo pipefail

series=${1:?usage: run-vm.sh SERIES SCRIPT [FILE[=DEST]]...}
script=${2:?usage: run-vm.sh SERIES SCRIPT [FILE[=DEST]]...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${VXT_VM_TIMEOUT:-300}
t0=$(date +%s.%N)

kdir=$("$here/fetch-kernel.sh" "$series")
base=$("$here/mkinitramfs.sh" "$kdir")

work=$(mktemp -d)
qpid=""
cleanup() {
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null || true
  if [ -n "${VXT_VM_LOGS:-}" ]; then mkdir -p "$VXT_VM_LOGS"; cp "$work"/*.log "$VXT_VM_LOGS/" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The per-run overlay: the script and files. Appended to the base image as a second cpio archive
# (the kernel unpacks concatenated archives in order), so the base stays cached.
ov=$work/overlay
mkdir -p "$ov/vxt" "$ov/usr/bin" "$ov/usr/sbin" "$ov/usr/lib" "$ov/usr/lib64"
# The base's merged-/usr symlinks again: a plain directory "lib" here would replace the base's
# lib -> usr/lib when the kernel unpacks this archive on top of it.
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ov/$d"; done
install -m 0755 "$script" "$ov/vxt/run.sh"
: >"$ov/vxt/args"
while [ $# -gt 0 ]; do
  arg=$1
  shift
  if [ "$arg" = -- ]; then
    printf '%s\n' "$@" >"$ov/vxt/args"
    break
  fi
  src=${arg%%=*}
  dest=$(basename "$src")
  [ "$arg" != "$src" ] && dest=${arg#*=}
  case "$dest" in /*) ;; *) dest=/vxt/$dest ;; esac
  if [ "$(head -c4 "$src" | od -An -c | tr -d ' ')" = "177ELF" ]; then
    "$here/copy-bin.sh" "$ov" "$src=$dest"
  else
    mkdir -p "$(dirname "$ov$dest")"
    cp "$src" "$ov$dest"
  fi
done
(cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" >"$work/initrd"

# Booting the ELF through its PVH entry skips the in-guest decompressor (0.3-0.8 s measured here).
kernel=$kdir/vmlinux
[ -f "$kernel" ] || kernel=$kdir/vmlinuz
: >"$work/console.log"
: >"$work/out.log"
# -nodefaults: no VGA, NIC, floppy or CD-ROM to emulate and probe. ttyS0 = kernel console,
# ttyS1 = the script's output only. mitigations=off: TCG gains nothing from them and pays for
# page-table isolation on every syscall. random.trust_cpu: RDRAND (-cpu max) seeds the CRNG at
# once, so nothing blocks in getrandom() on 5.10.
# timeout(1) as a second bound: QEMU dies even if this script is killed before its own loop can.
timeout -k 5 $((timeout_s + 30)) qemu-system-x86_64 -nodefaults -nographic -no-reboot -monitor none \
  -M pc -accel tcg,thread=multi -cpu max -smp 2 -m "${VXT_VM_MEM:-1024}" \
  -serial "file:$work/console.log" -serial "file:$work/out.log" \
  -kernel "$kernel" -initrd "$work/initrd" \
  -append "console=ttyS0 quiet panic=-1 mitigations=off random.trust_cpu=on rdinit=/init ${VXT_VM_APPEND:-}" \
  </dev/null >"$work/qemu.log" 2>&1 &
qpid=$!
tq=$(date +%s.%N)

boot=""
deadline=$(($(date +%s) + timeout_s))
timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
  if [ -z "$boot" ] && grep -q "=== VXT-VM-BEGIN" "$work/out.log"; then
    boot=$(awk -v a="$(date +%s.%N)" -v b="$tq" 'BEGIN {printf "%.2f", a - b}')
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    timed_out=1
    kill "$qpid" 2>/dev/null || true
    break
  fi
  sleep 0.05
done
wait "$qpid" 2>/dev/null || true
qpid=""
t1=$(date +%s.%N)
# A script that ends within one poll: the boot took at most as long as the whole run.
if [ -z "$boot" ] && grep -q "=== VXT-VM-BEGIN" "$work/out.log"; then
  boot="<$(awk -v a="$t1" -v b="$tq" 'BEGIN {printf "%.2f", a - b}')"
fi

# Serial lines end in \r\n (the tty's ONLCR); the markers frame the script's output.
tr -d '\r' <"$work/out.log" >"$work/out.txt"
awk '/^=== VXT-VM-END/ {exit} on {if (held) print prev; prev = $0; held = 1}
     /^=== VXT-VM-BEGIN/ {on = 1} END {if (held && prev != "") print prev}' "$work/out.txt"
begin=$(grep -m1 '^=== VXT-VM-BEGIN' "$work/out.txt" | sed 's/ ===$//' || true)
end=$(grep -m1 '^=== VXT-VM-END rc=' "$work/out.txt" || true)
printf 'run-vm[%s]: kernel %s (%s %s), boot %ss (%s s), wall %ss\n' "$series" \
  "$(cat "$kdir/kver")" "$(cat "$kdir/package")" "$(cat "$kdir/version")" "${boot:-?}" \
  "guest uptime at script start ${begin##*uptime }" "$(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')" >&2
if [ -z "$end" ]; then
  if [ "$timed_out" = 1 ]; then
    echo "run-vm[$series]: guest timed out after ${timeout_s}s; console tail:" >&2
  else
    echo "run-vm[$series]: guest stopped without an end marker; console tail:" >&2
  fi
  tail -n 40 "$work/console.log" | tr -d '\r' >&2
  grep -v '^$' "$work/qemu.log" >&2 || true
  [ "$timed_out" = 1 ] && exit 124
  exit 125
fi
rc=${end#*rc=}
exit "${rc%% *}"

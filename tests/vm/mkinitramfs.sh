#!/usr/bin/env bash
# mkinitramfs.sh KERNEL_DIR   prints the path of the base initramfs (uncompressed newc cpio) for
# the kernel that fetch-kernel.sh extracted into KERNEL_DIR, building it if the cache lacks it.
#
# Contents: busybox (static) as shell, coreutils and modprobe; the host's own ip, tc, bridge,
# iptables (nft variant), bpftool and ping with their libraries; the kernel's modules the lab needs
# (decompressed, with their dependencies and a fresh modules.dep); /init.
# The per-run files (vxtrace, vxinject, the lab script) go into a small second archive that the
# runner appends, so this one is built once per kernel and host toolset.
#
# Uncompressed on purpose: under TCG the kernel unpacks a plain cpio far faster than it inflates one.
set -euo pipefail

kdir=$(cd "${1:?usage: mkinitramfs.sh KERNEL_DIR}" && pwd)
cache=${VXT_VM_CACHE:-/var/cache/vxtrace-vm}
here=$(cd "$(dirname "$0")" && pwd)
kver=$(cat "$kdir/kver")

# Modules the lab loads at boot (their dependencies come along): veth pairs, the VXLAN device,
# the underlay bridge, clsact (sch_ingress) + cls_bpf for vxtrace's clsact attach, and the
# iptables-nft rules of the conntrack/netfilter scenarios. crc32c_generic first: libcrc32c
# needs the crc32c algorithm, a soft dependency busybox modprobe does not follow.
modules="crc32c_generic veth vxlan bridge sch_ingress cls_bpf nf_tables nft_compat nft_ct nf_conntrack
  xt_conntrack xt_comment xt_tcpudp af_packet"

# Host programs the VM runs (busybox provides the rest).
# iputils ping, not busybox's: as root busybox pings from a raw socket, and then every echo reply
# is also freed as NO_SOCKET in ping_rcv, a drop the healthy scenario must not show.
tools="/usr/sbin/ip /usr/sbin/tc /usr/sbin/bridge /usr/sbin/bpftool /usr/sbin/xtables-nft-multi
  /usr/bin/ping"

key=$( {
  cat "$0" "$here/init" "$here/copy-bin.sh"
  echo "$modules"
  sha256sum $tools /bin/busybox
} | sha256sum | cut -c1-16)
out=$cache/initramfs/$(basename "$kdir")-$key.cpio
if [ -f "$out" ]; then echo "$out"; exit 0; fi
# One build per kernel at a time (two test runs may share the cache); released at exit.
mkdir -p "$cache/initramfs"
exec 9>"$cache/initramfs/$(basename "$kdir").lock"
flock 9
if [ -f "$out" ]; then echo "$out"; exit 0; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib64,usr/lib/x86_64-linux-gnu,etc,proc,sys,dev,run,tmp,root,vxt}
# Merged /usr, as on the host: every path ldd or a binary names resolves the same way.
for d in bin sbin lib lib64; do ln -s usr/$d "$root/$d"; done

# busybox first, so host tools of the same name (ip, tc, ping, modprobe) overwrite its links.
cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/usr/bin/$applet"
done
for t in $tools; do rm -f "$root/usr/bin/$(basename "$t")"; done
# The kernel runs /sbin/modprobe for its own module requests (nft-expr-counter on 5.10, ...).
ln -s ../bin/busybox "$root/usr/sbin/modprobe"
"$here/copy-bin.sh" "$root" $tools
# xtables-nft-multi picks its personality from argv[0]; its match/target plugins are dlopen()ed.
for name in iptables iptables-nft iptables-save iptables-restore iptables-nft-save iptables-nft-restore; do
  ln -s xtables-nft-multi "$root/usr/sbin/$name"
done
"$here/copy-bin.sh" "$root" /usr/lib/x86_64-linux-gnu/xtables/*.so
cp /etc/protocols /etc/services "$root/etc/"
install -m 0755 "$here/init" "$root/init"

# Modules: the preloaded ones and everything in netfilter and tc's directories (the kernel
# requests those by alias, e.g. nft-expr-counter on 5.10, where the counter is not built in), each
# with the dependencies modules.dep lists on its line (depmod writes the full closure there).
# Decompressed (.ko.xz on trixie): the guest then needs no decompressor.
src=$kdir/lib/modules/$kver
dst=$root/lib/modules/$kver
mkdir -p "$dst"
cp "$src"/modules.builtin* "$src"/modules.order "$dst/"
want="^kernel/net/(netfilter|ipv4/netfilter|sched)/|/crc32c[^/]*\\.ko"
preload=""
for m in $modules; do
  if grep -qE "/$m\.ko" "$src/modules.builtin"; then continue; fi
  if ! grep -qE "/$m\.ko(\.[a-z]+)?:" "$src/modules.dep"; then
    echo "mkinitramfs: $kver has no module $m" >&2
    continue
  fi
  want="$want|/$m\\\\.ko"
  preload="$preload $m"
done
awk -F: -v re="$want" '$1 ~ re {print $1; n = split($2, d, " "); for (i = 1; i <= n; i++) print d[i]}' \
  "$src/modules.dep" | sort -u | while read -r rel; do
  mkdir -p "$(dirname "$dst/$rel")"
  case "$rel" in
    *.xz) xz -dc "$src/$rel" >"$dst/${rel%.xz}" ;;
    *.zst) zstd -qdc "$src/$rel" >"$dst/${rel%.zst}" ;;
    *) cp "$src/$rel" "$dst/$rel" ;;
  esac
done
# Without the appended signatures the guest skips an RSA verification per module (slow under
# TCG); Debian does not enforce them, the kernel only notes the taint once.
find "$dst" -name '*.ko' -exec strip --strip-debug {} +
# Order must match the decompressed names; depmod then writes modules.dep/alias for the VM.
sed -i -E 's/\.ko\.(xz|zst)$/.ko/' "$dst/modules.order" "$dst/modules.builtin"
depmod -b "$root" "$kver"
echo $preload | tr ' ' '\n' >"$root/etc/vxt-modules"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
# Older images of this kernel (other keys) are stale.
find "$(dirname "$out")" -name "$(basename "$kdir")-*.cpio" ! -name "$(basename "$out")" -delete
echo "$out"

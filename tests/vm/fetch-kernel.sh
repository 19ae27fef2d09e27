#!/usr/bin/env bash
# Fetches Debian's own kernel for one row of the kernel matrix and prints the directory that holds
# it, extracted: fetch-kernel.sh 5.10|6.1|6.12  ->  $VXT_VM_CACHE/kernels/<package>_<version>
#
#   <dir>/vmlinuz          the bzImage from the package
#   <dir>/vmlinux          the uncompressed ELF, when the kernel has a PVH entry note (skips the decompressor)
#   <dir>/lib/modules/<kver>/  the package's modules (every .ko[.xz]) and depmod's modules.dep
#   <dir>/kver, package, version
#
# Why apt with a private configuration: the packages are verified against the suite's signed
# Release (keys from debian-archive-keyring) exactly like an install, but nothing of the machine's
# apt (sources, lists, status, hooks in apt.conf.d) is read or written. Each suite gets its own
# state below $VXT_VM_CACHE/apt/<suite>.
#
# Cache: an extracted kernel is reused as long as it is the newest the suite offers. The suite's
# lists are refreshed at most every VXT_VM_REFRESH_S seconds (default 1 day); if the archive cannot
# be reached, the newest kernel already in the cache is used, so a warm cache needs no network.
set -euo pipefail

series=${1:?usage: fetch-kernel.sh 5.10|6.1|6.12}
cache=${VXT_VM_CACHE:-/var/cache/vxtrace-vm}
refresh_s=${VXT_VM_REFRESH_S:-86400}
mirror=${VXT_VM_MIRROR:-http://deb.debian.org}
here=$(cd "$(dirname "$0")" && pwd)

# Suite and the package names of the series' kernels (newest ABI wins).
case "$series" in
  5.10) suite=bullseye; names='^linux-image-5\.10\.0-[0-9]+-amd64(-unsigned)?$' ;;
  6.1) suite=bookworm; names='^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' ;;
  6.12) suite=trixie; names='^linux-image-6\.12\.[0-9]+(\+deb13)?(-[0-9]+)?-amd64(-unsigned)?$' ;;
  *) echo "fetch-kernel: unknown series '$series' (5.10, 6.1 or 6.12)" >&2; exit 2 ;;
esac
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { echo "fetch-kernel[$series]: $*" >&2; }

aptdir=$cache/apt/$suite
mkdir -p "$aptdir"/{lists/partial,archives/partial,empty} "$cache/kernels"
# One fetch per suite at a time (two test runs may share the cache); released at exit.
exec 9>"$aptdir/lock"
flock 9
: >>"$aptdir/status"
# Both the suite and its security updates: a kernel's newest point release is often only there.
cat >"$aptdir/sources.list" <<EOF
deb [signed-by=$keyring] $mirror/debian $suite main
deb [signed-by=$keyring] $mirror/debian-security $suite-security main
EOF
# APT_CONFIG is read before apt.conf.d, so it can point the parts directory somewhere empty:
# none of the machine's hooks (packagekit, appstream, docker-clean) run for our private apt.
cat >"$aptdir/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$aptdir/empty";
Dir::Etc::sourcelist "$aptdir/sources.list";
Dir::Etc::sourceparts "$aptdir/empty";
Dir::Etc::preferences "/dev/null";
Dir::Etc::preferencesparts "$aptdir/empty";
Dir::State "$aptdir";
Dir::State::lists "$aptdir/lists";
Dir::State::status "$aptdir/status";
Dir::Cache "$aptdir";
Dir::Cache::archives "$aptdir/archives";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11 { DefaultEnabled "false"; };
Acquire::IndexTargets::deb::Contents-deb { DefaultEnabled "false"; };
// Old suites' Release files may be served past their Valid-Until by a mirror; the signature
// still has to verify.
Acquire::Check-Valid-Until "false";
Acquire::Retries "2";
Debug::NoLocking "true";
// Downloads land in our own cache (root-owned), not a dir the _apt user may write.
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$aptdir/apt.conf

newest_cached() {
  # The newest extracted kernel of this series already in the cache (by package version).
  local best="" bv="" d v
  for d in "$cache"/kernels/*; do
    [ -f "$d/complete" ] && [ "$(cat "$d/series")" = "$series" ] || continue
    v=$(cat "$d/version")
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bv"; then best=$d bv=$v; fi
  done
  [ -n "$best" ] && echo "$best"
}

stamp=$aptdir/updated
if [ ! -f "$stamp" ] || [ $(($(date +%s) - $(stat -c %Y "$stamp"))) -gt "$refresh_s" ]; then
  log "apt-get update ($suite, $suite-security)"
  # --error-on=any: a source that cannot be fetched is an error, not a warning with exit 0.
  if apt-get -qq --error-on=any update >"$aptdir/update.log" 2>&1; then
    touch "$stamp"
  else
    log "apt-get update failed: $(tail -3 "$aptdir/update.log" | tr '\n' ' ')"
    if dir=$(newest_cached); then log "using the cached $(basename "$dir")"; echo "$dir"; exit 0; fi
    [ -f "$stamp" ] || exit 1
  fi
fi

# The lists did not change since the last resolution: its answer stands (apt-cache takes ~1 s).
if [ "$aptdir/resolved" -nt "$stamp" ] && [ -f "$(cat "$aptdir/resolved")/complete" ]; then
  cat "$aptdir/resolved"
  exit 0
fi

# Newest ABI: sort the matching names by version; prefer the signed name (same kernel either way).
pkg=$(apt-cache pkgnames linux-image- | grep -E "$names" | sed -E 's/-unsigned$//' | sort -uV | tail -1 || true)
if [ -z "$pkg" ]; then
  log "no package matches $names in $suite"
  if dir=$(newest_cached); then log "using the cached $(basename "$dir")"; echo "$dir"; exit 0; fi
  exit 1
fi
if ! apt-cache show "$pkg" >/dev/null 2>&1; then pkg=$pkg-unsigned; fi
version=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
[ -n "$version" ] && [ "$version" != "(none)" ] || { log "no candidate for $pkg"; exit 1; }

dir=$cache/kernels/${pkg}_${version}
if [ -f "$dir/complete" ]; then echo "$dir" | tee "$aptdir/resolved"; exit 0; fi

log "downloading $pkg $version"
rm -rf "$dir" "$dir.tmp"
mkdir -p "$dir.tmp/deb"
# apt-get download checks the .deb against the signed Release's hashes, writes it to the cwd.
(cd "$dir.tmp/deb" && apt-get -qq download "$pkg=$version")
deb=$(ls "$dir.tmp"/deb/*.deb)
dpkg-deb -x "$deb" "$dir.tmp/root"
# trixie ships modules under /usr/lib/modules (merged /usr), older suites under /lib/modules.
moddir=$dir.tmp/root/lib/modules
[ -d "$moddir" ] || moddir=$dir.tmp/root/usr/lib/modules
kver=$(ls "$moddir" | head -1)
mv "$dir.tmp/root/boot/vmlinuz-$kver" "$dir.tmp/vmlinuz"
mkdir -p "$dir.tmp/lib"
mv "$moddir" "$dir.tmp/lib/modules"
# The package leaves modules.dep to its postinst; the initramfs builder needs it (and aliases).
depmod -b "$dir.tmp" "$kver"
# PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) lets QEMU load the ELF directly: no decompression in TCG.
if "$here/extract-vmlinux.sh" "$dir.tmp/vmlinuz" >"$dir.tmp/vmlinux" 2>/dev/null \
    && "$here/extract-vmlinux.sh" --has-pvh "$dir.tmp/vmlinux"; then
  log "vmlinux has a PVH entry note: booting it directly"
else
  rm -f "$dir.tmp/vmlinux"
  log "no PVH entry: booting the bzImage"
fi
rm -rf "$dir.tmp/deb" "$dir.tmp/root"
echo "$kver" >"$dir.tmp/kver"
echo "$pkg" >"$dir.tmp/package"
echo "$version" >"$dir.tmp/version"
echo "$series" >"$dir.tmp/series"
touch "$dir.tmp/complete"
mv "$dir.tmp" "$dir"
# Older extractions of the same series are superseded; keep the cache from growing per point release.
for old in "$cache"/kernels/*; do
  [ "$old" != "$dir" ] && [ -f "$old/series" ] && [ "$(cat "$old/series")" = "$series" ] && rm -rf "$old"
done
rm -f "$aptdir"/archives/*.deb
echo "$dir" | tee "$aptdir/resolved"

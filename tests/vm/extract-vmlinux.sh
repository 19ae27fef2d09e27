#!/usr/bin/env bash
# extract-vmlinux.sh BZIMAGE > vmlinux    the uncompressed kernel ELF inside an x86 bzImage
# extract-vmlinux.sh --has-pvh VMLINUX     exit 0 if the ELF has a PVH entry (Xen note type 18)
#
# Why: under TCG the in-guest decompressor costs part of every boot; QEMU can load the ELF itself
# and enter it through XEN_ELFNOTE_PHYS32_ENTRY (-kernel vmlinux), skipping the decompressor.
# Unlike the kernel's scripts/extract-vmlinux (which scans for every compressor's magic), this
# reads the payload's offset and length from the boot protocol header, so it cannot pick a wrong
# match inside the setup code.
set -euo pipefail

if [ "${1:-}" = "--has-pvh" ]; then
  # readelf names the note "Owner: Xen ... Unknown note type: (0x00000012)" on Debian 12 binutils.
  readelf -n "$2" 2>/dev/null | grep -E '^\s+Xen\s' | grep -qiE 'type: \(0x0*12\)|PHYS32_ENTRY'
  exit
fi

img=${1:?usage: extract-vmlinux.sh BZIMAGE}
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }

[ "$(dd if="$img" bs=1 skip=514 count=4 status=none)" = "HdrS" ] || { echo "not a bzImage: $img" >&2; exit 1; }
setup_sects=$(u8 "$img" 497)
[ "$setup_sects" -eq 0 ] && setup_sects=4
payload_off=$(( (setup_sects + 1) * 512 + $(le32 "$img" 584) ))   # 0x248 payload_offset
payload_len=$(le32 "$img" 588)                                     # 0x24c payload_length
magic=$(od -An -tx1 -j "$payload_off" -N6 "$img" | tr -d ' \n')
case "$magic" in
  1f8b*) dec="gzip -dc" ;;
  fd377a585a00) dec="xz -dc" ;;
  28b52ffd*) dec="zstd -dc" ;;
  425a68*) dec="bzip2 -dc" ;;
  5d0000*) dec="xz -dc --format=lzma" ;;
  02214c18*) dec="lz4 -dc" ;;
  *) echo "unknown kernel compression (magic $magic)" >&2; exit 1 ;;
esac
# The compressed stream carries a size trailer after its end (gzip: ISIZE; zstd/xz: none needed);
# decompressors stop at the end of their stream, so trailing bytes only produce a warning.
tail -c +$((payload_off + 1)) "$img" | head -c "$payload_len" | $dec 2>/dev/null || true

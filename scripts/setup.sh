#!/usr/bin/env bash
# Installs what vxtrace needs from Debian 12's packages and builds it into build/.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  build-essential cmake pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libmnl-dev libnftnl-dev libiptc-dev libpcap-dev
  libcpp-httplib-dev
  # lint (scripts/lint.py)
  clang-format clang-tidy clang-format-14 clang-tidy-14
  # the lab and its traffic
  iproute2 iptables nftables conntrack ethtool iputils-ping python3 python3-scapy procps util-linux
  # test_firewalld: Debian's firewalld (nftables backend) in a lab node, on a private D-Bus
  firewalld dbus
  # --pcap captures are read back with Wireshark's own dissectors
  tshark
  # agent tests: event schema, promtool (rules, exposition lint), manifests, image rootfs
  python3-jsonschema python3-yaml prometheus debootstrap
  # benchmarks (tests/bench): pod traffic, and the peer tools compared with vxtrace
  iperf3 bpftrace dropwatch
  # kernel matrix (tests/vm): Debian's kernels by apt, busybox initramfs, QEMU/TCG
  qemu-system-x86 busybox-static cpio kmod xz-utils zstd binutils debian-archive-keyring
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # The lab runs firewalld itself, inside a lab node's namespaces. Debian's package would
  # enable and start it on a systemd host, i.e. firewall the host: masked first, it is never
  # started (deb-systemd-helper leaves a mask the admin made).
  if [[ " ${missing[*]} " == *" firewalld "* ]] && [ -d /run/systemd/system ]; then
    systemctl mask firewalld.service
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

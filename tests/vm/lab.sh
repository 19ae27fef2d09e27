#!/bin/sh
# The kernel-matrix lab: lab/vxlab.py's Calico-style VXLAN overlay and drop scenarios in POSIX sh,
# so it runs in the matrix VMs (busybox, no Python) and on the host itself (the host kernel's row).
#
#   lab.sh [SCENARIO...]      default: every scenario, in the order of $ALL below
#
# Two nodes and their pods, each in a namespace of its own named from a unique prefix P:
#   P-sw  bridge br0, the underlay wire (owns the gateway, does not forward)
#   P-a   node a: eth0 192.0.2.65/26, vxlan.calico 10.252.1.0/32      P-a1  pod 10.252.1.10/32
#   P-b   node b: eth0 192.0.2.66/26, vxlan.calico 10.252.2.0/32      P-b1  pod 10.252.2.10/32
# vxlan.calico: id 4096 dstport 4789 nolearning, MTU 1450; per peer a route via the peer's VXLAN
# address onlink, a permanent neighbour and an FDB entry, as Calico programs them; pods get a /32,
# a cali* veth with proxy ARP and a default route via 169.254.1.1. rp_filter=0 everywhere, IPv6
# off. The addresses are this lab's own (no other lab test uses 192.0.2.64/26 or 10.252.0.0/16),
# since vxtrace's kfree_skb program sees drops of every namespace on the machine.
#
# Per scenario: vxtrace -o json -i eth0 --causes all starts in node b, the lab waits for its `start` line,
# provokes the drops from node a with vxinject (raw VXLAN frames, like a buggy NIC) or real
# traffic, waits for the kernel counters to settle, stops vxtrace with SIGINT and prints:
#   {"lab":"begin","scenario":S,...}             what this scenario is about to do
#   {"lab":"sent","scenario":S,"summary":{...}}  vxinject's summary of what it sent
#   ...every line vxtrace printed (start, drop..., summary with "final":true)...
#   {"lab":"vxtrace_exit","scenario":S,"rc":N,"stderr":"..."}
#   {"lab":"counters","scenario":S,...}          the kernel's own counter deltas (ground truth)
#   {"lab":"end","scenario":S}
# Everything the lab made is removed on every exit path (trap), and nothing touches a host
# interface. Environment: VXTRACE, VXINJECT, VXLISTEN (binaries), VXT_START_TIMEOUT (seconds to
# wait for vxtrace's start line, default 60: program loading is slow under TCG), VXT_LAB_PREFIX.

ALL="outer_csum inner_csum_tcp inner_csum_udp rp_filter conntrack_invalid netfilter unknown_vni
  rcvbuf_full event_rate healthy doctor attach_clsact attach_tcx stale_clsact"

# Host programs by absolute path: Debian's static busybox runs its own applet for a known name
# (ip, tc, ping) before it looks at PATH. The paths are the same on the host and in the VM.
IP=${IP:-/usr/sbin/ip}
TC=${TC:-/usr/sbin/tc}
BRIDGE=${BRIDGE:-/usr/sbin/bridge}
IPTABLES=${IPTABLES:-/usr/sbin/iptables}
BPFTOOL=${BPFTOOL:-/usr/sbin/bpftool}
PING=${PING:-/usr/bin/ping}
VXTRACE=${VXTRACE:-/vxt/vxtrace}
VXINJECT=${VXINJECT:-/vxt/vxinject}
VXLISTEN=${VXLISTEN:-/vxt/vxlisten}
START_TIMEOUT=${VXT_START_TIMEOUT:-60}

P=${VXT_LAB_PREFIX:-vxm$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')}
SW=$P-sw A=$P-a B=$P-b A1=$P-a1 B1=$P-b1
NAMESPACES="$SW $A $B $A1 $B1"
GW=192.0.2.126 GW_MAC=02:00:c0:00:02:7e PLEN=26
A_UL=192.0.2.65 A_UL_MAC=02:00:c0:00:02:41 A_VX=10.252.1.0 A_VX_MAC=02:76:78:00:00:01
B_UL=192.0.2.66 B_UL_MAC=02:00:c0:00:02:42 B_VX=10.252.2.0 B_VX_MAC=02:76:78:00:00:02
A_POD=10.252.1.10 A_POD_MAC=02:50:0a:fc:01:0a A_CIDR=10.252.1.0/24
B_POD=10.252.2.10 B_POD_MAC=02:50:0a:fc:02:0a B_CIDR=10.252.2.0/24
SPOOFED_SRC=10.252.77.5 # b routes it via eth0 (default route), not via vxlan.calico
CALI_MAC=ee:ee:ee:ee:ee:ee
VNI=4096 PORT=4789

TMP=$(mktemp -d /tmp/vxlab.XXXXXX)
VX_PID="" LISTEN_PID=""

# ------------------------------------------------------------------------------------- helpers
# Functions keep their variables `local` (dash and busybox ash both have it): sh variables are
# global otherwise, and one helper overwriting another's `ns` once sent a sysctl to a wrong node.

log() { echo "lab: $*" >&2; }
die() {
  log "$*"
  emit "{\"lab\":\"error\",\"message\":$(json_str "$*")}"
  exit 1
}
emit() { printf '%s\n' "$1"; }
# A JSON string of $1: backslashes, quotes and tabs escaped, lines joined with \n.
json_str() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' |
    awk 'BEGIN {printf "\""} {printf "%s%s", (NR > 1 ? "\\n" : ""), $0} END {printf "\""}'
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# Run a shell snippet inside a namespace (sysctls under /proc/sys/net are per namespace).
nsh() { local ns=$1; shift; $IP netns exec "$ns" sh -c "$*"; }
# sysctl by path, so device names with dots (vxlan.calico) need no escaping.
setsys() { local ns=$1 kv; shift; for kv in "$@"; do nsh "$ns" "echo '${kv#*=}' > /proc/sys/${kv%%=*}" || return 1; done; }
getsys() { nsh "$1" "cat /proc/sys/$2"; }

# Counter NAME (UdpInCsumErrors, TcpExtIPReversePathFilter, ...) from a namespace's
# /proc/net/snmp and /proc/net/netstat, named like nstat does.
counter() {
  nsh "$1" 'cat /proc/net/snmp /proc/net/netstat' | awk -v want="$2" '
    NR % 2 == 1 {split($0, names); next}
    {g = names[1]; sub(":", "", g); for (i = 2; i <= NF; i++) if (g names[i] == want) print $i}'
}
link_stat() { nsh "$1" "cat /sys/class/net/$2/statistics/$3"; }
# Packets matched by the iptables rules tagged with comment $2 in namespace $1.
rule_packets() {
  $IP netns exec "$1" $IPTABLES -w -L FORWARD -v -x -n | awk -v tag="/* $2 */" 'index($0, tag) {n += $1} END {print n + 0}'
}

# Poll a counter expression until it stops moving (3 equal reads 0.1 s apart, 10 s at most):
# socket-read drops and softirq work may lag behind the sender under TCG. With WANT, first wait
# (same 10 s) for the value to reach WANT: a reader starved on a loaded machine may pause longer.
settle() {
  local last="" same=0 i=0 now want=${2:-}
  while [ $i -lt 100 ]; do
    now=$(eval "$1")
    if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
    if [ $same -ge 3 ] && { [ -z "$want" ] || [ "$now" = "$want" ]; }; then return 0; fi
    last=$now
    i=$((i + 1))
    sleep 0.1
  done
}

# ------------------------------------------------------------------------------ build, teardown

cleanup() {
  trap - EXIT INT TERM HUP
  for pid in $VX_PID $LISTEN_PID; do kill -9 "$pid" 2>/dev/null; done
  if [ -n "${VXT_LAB_KEEP:-}" ]; then log "kept the lab (VXT_LAB_KEEP): $NAMESPACES"; NAMESPACES=""; fi
  for ns in $NAMESPACES; do
    if [ -e "/run/netns/$ns" ]; then
      for pid in $($IP netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
      $IP netns del "$ns" 2>/dev/null
    fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

build_lab() {
  for ns in $NAMESPACES; do
    [ -e "/run/netns/$ns" ] && die "namespace $ns already exists"
    $IP netns add "$ns" || die "cannot add namespace $ns"
    $IP -n "$ns" link set lo up
    # No IPv6: no router solicitations, MLD or DAD, whose packets would be drops to explain.
    setsys "$ns" net/ipv6/conf/all/disable_ipv6=1 net/ipv6/conf/default/disable_ipv6=1
  done
  $IP -n "$SW" -batch - <<EOF || die "cannot build the switch"
link add br0 address $GW_MAC type bridge stp_state 0
addr add $GW/$PLEN dev br0
link set br0 up
EOF
  setsys "$SW" net/ipv4/ip_forward=0
  build_node a "$A" "$A_UL" "$A_UL_MAC" "$A_VX" "$A_VX_MAC"
  build_node b "$B" "$B_UL" "$B_UL_MAC" "$B_VX" "$B_VX_MAC"
  peer_node "$A" "$B_CIDR" "$B_VX" "$B_VX_MAC" "$B_UL"
  peer_node "$B" "$A_CIDR" "$A_VX" "$A_VX_MAC" "$A_UL"
  build_pod "$A" "$A1" "$A_POD" "$A_POD_MAC" "cali${P#vxm}0000001"
  build_pod "$B" "$B1" "$B_POD" "$B_POD_MAC" "cali${P#vxm}0000002"
  replies=$(pod_ping 2)
  [ "$replies" = 2 ] || die "pod a1 cannot ping pod b1 through the overlay ($replies/2 replies)"
}

# Underlay NIC (a veth whose other end is a bridge port), sysctls, the VXLAN device.
build_node() {
  local name=$1 ns=$2 ul=$3 ul_mac=$4 vx=$5 vx_mac=$6
  $IP -n "$SW" link add "port-$name" type veth peer name eth0 netns "$ns" || die "cannot add port-$name"
  $IP -n "$SW" link set "port-$name" master br0 up
  $BRIDGE -n "$SW" fdb replace "$ul_mac" dev "port-$name" master static
  # all/default before the devices exist, so every later device inherits them.
  setsys "$ns" net/ipv4/ip_forward=1 net/ipv4/conf/all/rp_filter=0 net/ipv4/conf/default/rp_filter=0 \
    net/ipv4/conf/all/accept_local=0
  $IP -n "$ns" -batch - <<EOF || die "cannot build node $name"
link set eth0 address $ul_mac mtu 1500 up
addr add $ul/$PLEN dev eth0
route add default via $GW dev eth0
link add vxlan.calico address $vx_mac mtu 1450 type vxlan id $VNI dstport $PORT local $ul dev eth0 nolearning
addr add $vx/32 dev vxlan.calico
link set vxlan.calico up
EOF
  setsys "$ns" net/ipv4/conf/eth0/rp_filter=0 net/ipv4/conf/vxlan.calico/rp_filter=0 net/ipv4/conf/lo/rp_filter=0
}

# What Calico's VXLAN manager programs for a remote node: route, neighbour, FDB entry.
peer_node() {
  local ns=$1 cidr=$2 vx=$3 vx_mac=$4 ul=$5
  $IP -n "$ns" -batch - <<EOF || die "cannot program peer $ul in $ns"
route add $cidr via $vx dev vxlan.calico onlink
neigh add $vx lladdr $vx_mac dev vxlan.calico nud permanent
EOF
  $BRIDGE -n "$ns" fdb append "$vx_mac" dev vxlan.calico dst "$ul" self permanent
}

# A pod as the Calico CNI plugin makes it: /32, onlink default via 169.254.1.1 answered by proxy
# ARP on the node's cali* side, a /32 route and a permanent neighbour for it there (as Felix does).
build_pod() {
  local node=$1 ns=$2 ip=$3 mac=$4 cali=$5
  $IP -n "$ns" link add eth0 type veth peer name "$cali" netns "$node" || die "cannot add pod $ns"
  $IP -n "$ns" -batch - <<EOF || die "cannot build pod $ns"
link set eth0 address $mac mtu 1450 up
addr add $ip/32 dev eth0
route add 169.254.1.1 dev eth0 scope link
route add default via 169.254.1.1 dev eth0 onlink
EOF
  $IP -n "$node" -batch - <<EOF || die "cannot connect pod $ns"
link set $cali address $CALI_MAC mtu 1450 up
route add $ip dev $cali scope link
neigh replace $ip lladdr $mac dev $cali nud permanent
EOF
  setsys "$node" "net/ipv4/conf/$cali/proxy_arp=1" "net/ipv4/neigh/$cali/proxy_delay=0" \
    "net/ipv4/conf/$cali/forwarding=1" "net/ipv4/conf/$cali/rp_filter=0"
  # ping_group_range: ping uses an ICMP datagram socket; a raw-socket ping would make every
  # echo reply also a NO_SOCKET drop in ping_rcv.
  setsys "$ns" net/ipv4/conf/all/rp_filter=0 net/ipv4/conf/eth0/rp_filter=0 \
    "net/ipv4/ping_group_range=0 2147483647"
}

# Real pod a1 -> pod b1 pings through the kernel's own VXLAN path; prints the replies.
pod_ping() {
  $IP netns exec "$A1" $PING -c "$1" -i 0.2 -W 2 -q "$B_POD" 2>&1 | sed -n 's/.* \([0-9]*\) received.*/\1/p'
}

# ----------------------------------------------------------------------------------- processes

# vxtrace in node b, in the background; returns once its start line is out (or it died).
start_vxtrace() {
  : >"$TMP/vx.out"
  : >"$TMP/vx.err"
  # --causes all: background drops are streamed too, so a drop filed under a wrong cause is
  # visible with its reason and location.
  $IP netns exec "$B" "$VXTRACE" -o json -i eth0 --causes all "$@" >"$TMP/vx.out" 2>"$TMP/vx.err" &
  VX_PID=$!
  local t0
  t0=$(uptime_s)
  while ! grep -q '"type":"start"' "$TMP/vx.out"; do
    if ! kill -0 "$VX_PID" 2>/dev/null; then
      wait "$VX_PID"
      VX_RC=$?
      VX_PID=""
      return 1
    fi
    if [ "$(awk -v a="$(uptime_s)" -v b="$t0" 'BEGIN {print (a - b > '"$START_TIMEOUT"')}')" = 1 ]; then
      kill -9 "$VX_PID"
      wait "$VX_PID"
      VX_RC=124
      VX_PID=""
      echo "vxtrace printed no start line within ${START_TIMEOUT}s" >>"$TMP/vx.err"
      return 1
    fi
    sleep 0.1
  done
  VX_START_S=$(awk -v a="$(uptime_s)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')
  return 0
}

# SIGINT, as an operator's Ctrl-C: vxtrace detaches and prints its final summary.
stop_vxtrace() {
  [ -n "$VX_PID" ] || return 0
  kill -INT "$VX_PID"
  local i=0
  while kill -0 "$VX_PID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$VX_PID" 2>/dev/null; then
    kill -9 "$VX_PID"
    echo "vxtrace did not exit within 30 s of SIGINT" >>"$TMP/vx.err"
  fi
  wait "$VX_PID"
  VX_RC=$?
  VX_PID=""
}

# Print what vxtrace wrote and how it ended.
report_vxtrace() {
  cat "$TMP/vx.out"
  emit "{\"lab\":\"vxtrace_exit\",\"scenario\":\"$SCENARIO\",\"rc\":$VX_RC,\"start_s\":${VX_START_S:-null},\"stderr\":$(json_str "$(cat "$TMP/vx.err")")}"
}

start_listener() {
  local i=0
  : >"$TMP/listen.out"
  $IP netns exec "$B1" "$VXLISTEN" "$1" "$2" >"$TMP/listen.out" 2>&1 &
  LISTEN_PID=$!
  while ! grep -q READY "$TMP/listen.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
stop_listener() {
  [ -n "$LISTEN_PID" ] || return 0
  kill -TERM "$LISTEN_PID"
  wait "$LISTEN_PID"
  LISTEN_PID=""
  LISTENER=$(tail -n 1 "$TMP/listen.out")
}

# vxinject in node a aimed at node b (inner: pod a1 -> pod b1 unless overridden), summary emitted.
inject() {
  local out
  out=$($IP netns exec "$A" "$VXINJECT" --iface eth0 --dst-underlay "$B_UL" --peer-mac "$B_UL_MAC" \
    --src-vxlan-mac "$A_VX_MAC" --dst-vxlan-mac "$B_VX_MAC" --inner-src "$A_POD" \
    --inner-dst "$B_POD" --vni "$VNI" --port "$PORT" "$@") || log "vxinject failed: $out"
  emit "{\"lab\":\"sent\",\"scenario\":\"$SCENARIO\",\"summary\":${out:-null}}"
}

# --------------------------------------------------------------------------------- scenarios
# Each one provokes its drops in node b or pod b1 and emits the kernel counters that must move,
# then undoes what it changed. Ports and seeds are lab/vxlab.py's.

begin() {
  SCENARIO=$1
  shift
  VX_RC="" VX_START_S="" LISTENER=null
  emit "{\"lab\":\"begin\",\"scenario\":\"$SCENARIO\",\"prefix\":\"$P\",\"kernel\":\"$(uname -r)\",\"t\":$(uptime_s),$*}"
}
finish() {
  emit "{\"lab\":\"counters\",\"scenario\":\"$SCENARIO\",$1,\"listener\":${LISTENER:-null}}"
  emit "{\"lab\":\"end\",\"scenario\":\"$SCENARIO\",\"t\":$(uptime_s)}"
}
# vxtrace could not start: its output and error are the scenario's result.
not_started() {
  report_vxtrace
  emit "{\"lab\":\"end\",\"scenario\":\"$SCENARIO\",\"t\":$(uptime_s)}"
}

scenario_outer_csum() {
  begin outer_csum '"sender":"'$A_UL'","count":1000,"bad":37'
  start_listener udp 5000
  start_vxtrace || { stop_listener; not_started; return; }
  e0=$(counter "$B" UdpInCsumErrors) d0=$(counter "$B1" UdpInDatagrams)
  inject --count 1000 --bad-outer-csum 37 --dport 5000 --sport 40100 --payload-len 512 --seed 2
  settle 'counter "$B1" UdpInDatagrams' $((d0 + 963))
  stop_vxtrace
  stop_listener
  report_vxtrace
  finish "\"b_UdpInCsumErrors\":$(($(counter "$B" UdpInCsumErrors) - e0)),\"b1_UdpInDatagrams\":$(($(counter "$B1" UdpInDatagrams) - d0))"
}

inner_csum() {
  local proto=$1 port=$2 seed=$3 group=Udp
  [ "$proto" = tcp ] && group=Tcp
  begin "inner_csum_$proto" '"sender":"'$A_UL'","count":50'
  start_listener "$proto" "$port"
  start_vxtrace || { stop_listener; not_started; return; }
  e0=$(counter "$B1" ${group}InCsumErrors) o0=$(counter "$B" UdpInCsumErrors)
  r0=$(link_stat "$B" vxlan.calico rx_packets)
  inject --count 50 --proto "$proto" --dport "$port" --sport 40200 --tcp-flags PA --bad-inner-csum \
    --payload-len 600 --seed "$seed"
  settle "counter \"\$B1\" ${group}InCsumErrors" $((e0 + 50))
  stop_vxtrace
  stop_listener
  report_vxtrace
  finish "\"b1_${group}InCsumErrors\":$(($(counter "$B1" ${group}InCsumErrors) - e0)),\"b_UdpInCsumErrors\":$(($(counter "$B" UdpInCsumErrors) - o0)),\"b_vxlan_rx_packets\":$(($(link_stat "$B" vxlan.calico rx_packets) - r0))"
}
scenario_inner_csum_tcp() { inner_csum tcp 8080 3; }
scenario_inner_csum_udp() { inner_csum udp 5001 4; }

# all.rp_filter=0 but vxlan.calico.rp_filter=1 on b: max() wins, strict reverse-path filtering
# drops inner packets from a source b routes via eth0.
scenario_rp_filter() {
  begin rp_filter '"sender":"'$A_UL'","count":50,"inner_src":"'$SPOOFED_SRC'"'
  saved_all=$(getsys "$B" net/ipv4/conf/all/rp_filter) saved_dev=$(getsys "$B" net/ipv4/conf/vxlan.calico/rp_filter)
  setsys "$B" net/ipv4/conf/all/rp_filter=0 net/ipv4/conf/vxlan.calico/rp_filter=1
  if start_vxtrace; then
    r0=$(counter "$B" TcpExtIPReversePathFilter)
    inject --count 50 --inner-src "$SPOOFED_SRC" --dport 5002 --sport 40400 --payload-len 400 --seed 5
    settle 'counter "$B" TcpExtIPReversePathFilter' $((r0 + 50))
    stop_vxtrace
    report_vxtrace
    finish "\"b_TcpExtIPReversePathFilter\":$(($(counter "$B" TcpExtIPReversePathFilter) - r0))"
  else
    not_started
  fi
  setsys "$B" "net/ipv4/conf/all/rp_filter=$saved_all" "net/ipv4/conf/vxlan.calico/rp_filter=$saved_dev"
}

# Rules tagged with a comment in b's FORWARD chain, removed after the scenario.
rules() {
  local action=$1 rule
  shift
  for rule in "$@"; do
    eval "set -- $rule"
    $IP netns exec "$B" $IPTABLES -w "$action" FORWARD "$@" || log "iptables $action $rule failed"
  done
}

# `--ctstate INVALID -j DROP`: SYN+FIN segments are INVALID for conntrack.
scenario_conntrack_invalid() {
  rule='-m conntrack --ctstate INVALID -m comment --comment vxm-ct-invalid -j DROP'
  begin conntrack_invalid '"sender":"'$A_UL'","count":50,"rule":'"$(json_str "$rule")"
  rules -A "$rule"
  if start_vxtrace; then
    inject --count 50 --proto tcp --tcp-flags SF --dport 8081 --sport 40500 --payload-len 0 --seed 6
    settle 'rule_packets "$B" vxm-ct-invalid' 50
    stop_vxtrace
    report_vxtrace
    finish "\"b_rule_packets\":$(rule_packets "$B" vxm-ct-invalid)"
  else
    not_started
  fi
  rules -D "$rule"
}

# A plain firewall rule drops valid UDP to pod b1:9999. The ESTABLISHED accept rule in front is
# what every real node has; it also makes conntrack track b's forwarded packets, so the dropped
# packets carry an entry (a drop of an untracked packet is the `conntrack` cause instead).
scenario_netfilter() {
  accept='-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment vxm-nf-established -j ACCEPT'
  drop='-p udp --dport 9999 -m comment --comment vxm-nf-drop -j DROP'
  begin netfilter '"sender":"'$A_UL'","count":50,"rule":'"$(json_str "$drop")"
  rules -A "$accept" "$drop"
  if start_vxtrace; then
    inject --count 50 --dport 9999 --sport 40600 --payload-len 300 --seed 7
    settle 'rule_packets "$B" vxm-nf-drop' 50
    stop_vxtrace
    report_vxtrace
    finish "\"b_rule_packets\":$(rule_packets "$B" vxm-nf-drop)"
  else
    not_started
  fi
  rules -D "$accept" "$drop"
}

# VNI 999: no device on b owns it; b's VXLAN socket takes the packet and frees it (silently).
scenario_unknown_vni() {
  begin unknown_vni '"sender":"'$A_UL'","count":50,"vni":999'
  start_vxtrace || { not_started; return; }
  u0=$(counter "$B" UdpInDatagrams) r0=$(link_stat "$B" vxlan.calico rx_packets)
  inject --count 50 --vni 999 --dport 5003 --sport 40700 --payload-len 300 --seed 8
  settle 'counter "$B" UdpInDatagrams' $((u0 + 50))
  stop_vxtrace
  report_vxtrace
  finish "\"b_UdpInDatagrams\":$(($(counter "$B" UdpInDatagrams) - u0)),\"b_vxlan_rx_packets\":$(($(link_stat "$B" vxlan.calico rx_packets) - r0))"
}

# Real traffic through the kernel's own VXLAN path: nothing may be dropped.
scenario_healthy() {
  begin healthy '"sender":"'$A_UL'","pings":5'
  start_vxtrace || { not_started; return; }
  e0=$(counter "$B" UdpInCsumErrors) r0=$(counter "$B" TcpExtIPReversePathFilter)
  replies=$(pod_ping 5)
  settle 'link_stat "$B" vxlan.calico rx_packets'
  stop_vxtrace
  report_vxtrace
  finish "\"ping_replies\":${replies:-0},\"b_UdpInCsumErrors\":$(($(counter "$B" UdpInCsumErrors) - e0)),\"b_TcpExtIPReversePathFilter\":$(($(counter "$B" TcpExtIPReversePathFilter) - r0))"
}

# Attach in the given mode, see real traffic, detach on SIGINT, leave nothing behind: no tc
# filter on b's devices, none of the programs the start line named (they are freed after an RCU
# grace period, so poll up to 2 s). Also counted: vxt_* programs anywhere on the machine (in a
# VM there is no other vxtrace; on the host other tests may run one).
attach() {
  local mode=$1 ids during_filters during_progs replies i
  begin "attach_$mode" '"mode":"'$mode'"'
  if ! start_vxtrace --attach-mode "$mode"; then
    # Refused (tcx before 6.6): what it left is still checked.
    report_vxtrace
    finish "\"after_tc_filters\":$(tc_filters),\"after_vxt_progs_anywhere\":$($BPFTOOL prog show 2>/dev/null | grep -c 'name vxt_'),\"tc_show_after\":$(json_str "$(tc_show)")"
    return
  fi
  ids=$(grep '"type":"start"' "$TMP/vx.out" | grep -o '"prog_id":[0-9]*' | cut -d: -f2 | tr '\n' ' ')
  during_filters=$(tc_filters)
  during_progs=$(live_progs $ids)
  replies=$(pod_ping 3)
  stop_vxtrace
  report_vxtrace
  i=0
  while [ $i -lt 20 ] && { [ "$(tc_filters)" != 0 ] || [ "$(live_progs $ids)" != 0 ]; }; do
    sleep 0.1
    i=$((i + 1))
  done
  finish "\"prog_ids\":\"$ids\",\"during_tc_filters\":$during_filters,\"during_live_progs\":$during_progs,\"after_tc_filters\":$(tc_filters),\"after_live_progs\":$(live_progs $ids),\"after_vxt_progs_anywhere\":$($BPFTOOL prog show 2>/dev/null | grep -c 'name vxt_'),\"tc_show_after\":$(json_str "$(tc_show)"),\"ping_replies\":${replies:-0}"
}
tc_show() {
  local dev
  for dev in eth0 vxlan.calico; do $IP netns exec "$B" $TC filter show dev "$dev" ingress 2>&1; done
}
# BPF filters on b's devices' ingress: tc prints one "filter ... bpf ..." line with the
# program's name per filter.
tc_filters() { tc_show | grep -c ' bpf .*vxt_'; }
live_progs() {
  local n=0 id
  for id in "$@"; do $BPFTOOL prog show id "$id" >/dev/null 2>&1 && n=$((n + 1)); done
  echo $n
}
# Good datagrams to a socket that never reads: the kernel frees them for a full receive buffer
# where it also frees bad checksums (udp_queue_rcv_one_skb). Not one may be called `checksum`:
# on 5.10 they still carry the flag of the outer header's software check.
scenario_rcvbuf_full() {
  begin rcvbuf_full '"sender":"'$A_UL'","count":200'
  start_listener udp-full 5004
  if start_vxtrace; then
    e0=$(counter "$B1" UdpRcvbufErrors)
    inject --count 200 --dport 5004 --sport 40800 --payload-len 500 --seed 9
    settle 'counter "$B1" UdpRcvbufErrors'
    stop_vxtrace
    report_vxtrace
    stop_listener
    finish "\"b1_UdpRcvbufErrors\":$(($(counter "$B1" UdpRcvbufErrors) - e0))"
  else
    stop_listener
    not_started
  fi
}

# 300 bad outer checksums under --bpf-event-rate 10: the kernel's token bucket (its clock and
# jiffies helpers) loads and runs on this kernel, streams a few events and counts every drop.
scenario_event_rate() {
  begin event_rate '"sender":"'$A_UL'","count":300,"rate":10'
  start_listener udp 5000
  start_vxtrace --bpf-event-rate 10 || { stop_listener; not_started; return; }
  e0=$(counter "$B" UdpInCsumErrors)
  inject --count 300 --bad-outer-csum 300 --dport 5000 --sport 40900 --payload-len 200 --seed 11
  settle 'counter "$B" UdpInCsumErrors' $((e0 + 300))
  stop_vxtrace
  stop_listener
  report_vxtrace
  finish "\"b_UdpInCsumErrors\":$(($(counter "$B" UdpInCsumErrors) - e0))"
}

# vxtrace doctor in node b while node a sends 50 frames with VNI 999 and b's vxlan.calico has
# strict rp_filter with 50 spoofed sources: its node checks and live window on this kernel.
# Emits {"lab":"doctor","rc":N,"report":<doctor -o json>,"stderr":...}.
scenario_doctor() {
  begin doctor '"sender":"'$A_UL'","vni_frames":50,"rp_filter_frames":50'
  saved_dev=$(getsys "$B" net/ipv4/conf/vxlan.calico/rp_filter)
  setsys "$B" net/ipv4/conf/vxlan.calico/rp_filter=1
  : >"$TMP/doc.out"
  : >"$TMP/doc.err"
  $IP netns exec "$B" "$VXTRACE" doctor -o json -i eth0 --duration 6 >"$TMP/doc.out" 2>"$TMP/doc.err" &
  local pid=$! i=0
  # The live window opens once the programs are attached (slow under TCG).
  while ! grep -q "observing drops" "$TMP/doc.err" && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  r0=$(counter "$B" TcpExtIPReversePathFilter)
  inject --count 50 --vni 999 --dport 5003 --sport 40700 --payload-len 300 --seed 8
  inject --count 50 --inner-src "$SPOOFED_SRC" --dport 5002 --sport 40400 --payload-len 400 --seed 5
  wait $pid
  local rc=$?
  emit "{\"lab\":\"doctor\",\"scenario\":\"doctor\",\"rc\":$rc,\"report\":$(cat "$TMP/doc.out" | grep . || echo null),\"stderr\":$(json_str "$(cat "$TMP/doc.err")")}"
  finish "\"b_TcpExtIPReversePathFilter\":$(($(counter "$B" TcpExtIPReversePathFilter) - r0))"
  setsys "$B" "net/ipv4/conf/vxlan.calico/rp_filter=$saved_dev"
}
# A vxtrace killed with SIGKILL leaves its clsact filters (and their programs) behind; the next
# one removes exactly those, says so, and runs with one filter per device.
scenario_stale_clsact() {
  local left during i
  begin stale_clsact '"mode":"clsact"'
  start_vxtrace --attach-mode clsact || { not_started; return; }
  kill -9 "$VX_PID"
  wait "$VX_PID"
  VX_PID=""
  left=$(tc_filters)
  start_vxtrace --attach-mode clsact || { not_started; return; }
  during=$(tc_filters)
  stop_vxtrace
  report_vxtrace
  i=0
  while [ $i -lt 20 ] && { [ "$(tc_filters)" != 0 ] || $BPFTOOL prog show 2>/dev/null | grep -q 'name vxt_'; }; do
    sleep 0.1
    i=$((i + 1))
  done
  finish "\"left_by_sigkill\":$left,\"during_tc_filters\":$during,\"after_tc_filters\":$(tc_filters),\"after_vxt_progs_anywhere\":$($BPFTOOL prog show 2>/dev/null | grep -c 'name vxt_'),\"tc_show_after\":$(json_str "$(tc_show)")"
}
scenario_attach_clsact() { attach clsact; }
scenario_attach_tcx() { attach tcx; }

# -------------------------------------------------------------------------------------- main

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET, BPF)"
for bin in "$VXTRACE" "$VXINJECT" "$VXLISTEN" "$IP" "$TC" "$BRIDGE" "$IPTABLES" "$BPFTOOL" "$PING"; do
  [ -x "$bin" ] || die "missing $bin"
done
scenarios=${*:-$ALL}
for s in $scenarios; do
  case " $(echo $ALL) " in *" $s "*) ;; *) die "unknown scenario $s (known: $(echo $ALL))" ;; esac
done
lab_t0=$(uptime_s)
build_lab
netns_ino=""
for ns in $NAMESPACES; do netns_ino="$netns_ino\"$ns\":$(stat -L -c %i "/run/netns/$ns"),"; done
emit "{\"lab\":\"up\",\"prefix\":\"$P\",\"kernel\":\"$(uname -r)\",\"build_s\":$(awk -v a="$(uptime_s)" -v b="$lab_t0" 'BEGIN {printf "%.2f", a - b}'),\"netns\":{${netns_ino%,}},\"a\":\"$A_UL\",\"b\":\"$B_UL\",\"a_pod\":\"$A_POD\",\"b_pod\":\"$B_POD\"}"
for s in $scenarios; do "scenario_$s"; done
emit "{\"lab\":\"done\",\"t\":$(uptime_s),\"elapsed_s\":$(awk -v a="$(uptime_s)" -v b="$lab_t0" 'BEGIN {printf "%.2f", a - b}')}"

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vxinject: lab/inject.py without Python or scapy, for the kernel-matrix VMs (a busybox
 * initramfs) and anywhere a fast, dependency-free sender helps. Run inside a lab node namespace;
 * it writes raw VXLAN frames out of the node's underlay NIC on an AF_PACKET socket, the way a
 * buggy NIC would:
 *
 *   outer Ether / IPv4 (DF) / UDP (dport --port, default 4789) / VXLAN (--vxlan-flags, --vni)
 *   inner Ether / IPv4 / TCP | UDP | ICMP echo / payload
 *
 * Every checksum is computed right unless a fault is asked for:
 *   --bad-outer-csum K  exactly K of the --count frames (chosen with the --seed) carry a wrong,
 *                       non-zero outer UDP checksum (the receiver's UDP stack drops them);
 *   --bad-inner-csum    every frame's inner L4 checksum is wrong (dropped after decapsulation).
 * Inner IP IDs run from --ip-id (default: from the seed) up by one per frame, so vxtrace's tunnel
 * join sees distinct packets. Same seed, same frames.
 *
 * The last line on stdout is one JSON object saying exactly what was sent (inject.py's keys):
 * counts, outer and inner addresses, ports, IP IDs, which frames were corrupted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

enum { ETH_LEN = 14, IP_LEN = 20, UDP_LEN = 8, VXLAN_LEN = 8, TCP_LEN = 20, ICMP_LEN = 8 };
enum { OUTER_LEN = ETH_LEN + IP_LEN + UDP_LEN + VXLAN_LEN, UNDERLAY_MTU = 1500 };
enum { MAX_FRAME = ETH_LEN + UNDERLAY_MTU };
#define OUTER_SPORT_MIN 32768 /* Linux vxlan picks the outer source port in this range */
#define OUTER_SPORT_MAX 60999

struct opts {
  const char *iface, *vxlan_dev, *proto_name, *tcp_flags_str, *outer_csum;
  struct in_addr src_ul, dst_ul, inner_src, inner_dst;
  bool have_src_ul, have_src_mac, have_peer_mac, have_src_vxlan_mac, bad_inner, dry_run;
  uint8_t src_mac[6], peer_mac[6], src_vxlan_mac[6], dst_vxlan_mac[6];
  uint32_t vni, count, bad_outer, tcp_seq, payload_len, seed;
  int ip_id; /* -1: from the seed */
  uint8_t vxlan_flags, ttl, proto, tcp_flags;
  uint16_t port, sport, dport;
};

static void die(const char* fmt, const char* arg) {
  fprintf(stderr, "vxinject: ");
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  exit(2);
}

/* splitmix64: small, seedable, the same sequence on every machine (rand() is not). */
static uint64_t rng_state;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint32_t rng_below(uint32_t n) { return (uint32_t)(rng_next() % n); }

static unsigned long parse_num(const char* s, unsigned long max, const char* what) {
  char* end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 0);
  if (errno || *s == '\0' || *end != '\0' || *s == '-' || v > max) die("bad %s", what);
  return v;
}

static void parse_mac(const char* s, uint8_t mac[6]) {
  unsigned b[6];
  char extra;
  if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6)
    die("bad MAC address '%s'", s);
  for (int i = 0; i < 6; i++) {
    if (b[i] > 255) die("bad MAC address '%s'", s);
    mac[i] = (uint8_t)b[i];
  }
}

static void parse_ip(const char* s, struct in_addr* a) {
  if (inet_pton(AF_INET, s, a) != 1) die("bad IPv4 address '%s'", s);
}

static uint8_t parse_tcp_flags(const char* s) {
  static const char letters[] = "FSRPAUEC"; /* bit order of the TCP flags byte */
  uint8_t f = 0;
  for (const char* c = s; *c; c++) {
    const char* p = strchr(letters, *c);
    if (!p) die("bad TCP flag letter in '%s' (FSRPAUEC)", s);
    f |= (uint8_t)(1u << (p - letters));
  }
  return f;
}

static void flags_string(uint8_t f, char out[9]) {
  static const char letters[] = "FSRPAUEC";
  int n = 0;
  for (int i = 0; i < 8; i++)
    if (f & (1u << i)) out[n++] = letters[i];
  out[n] = '\0';
}

/* Local device facts, read in this network namespace. */
static void if_mac(int fd, const char* dev, uint8_t mac[6]) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die("cannot read the MAC of %s", dev);
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

static void if_addr(int fd, const char* dev, struct in_addr* a) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
  ifr.ifr_addr.sa_family = AF_INET;
  if (ioctl(fd, SIOCGIFADDR, &ifr) < 0) die("cannot read the IPv4 address of %s", dev);
  *a = ((struct sockaddr_in*)&ifr.ifr_addr)->sin_addr;
}

/* The peer's MAC from the neighbour table (/proc/net/arp); nothing is sent to learn it. */
static bool arp_lookup(struct in_addr ip, const char* dev, uint8_t mac[6]) {
  FILE* f = fopen("/proc/net/arp", "r");
  if (!f) return false;
  char line[256], ipbuf[64], hw[64], ifn[IFNAMSIZ + 8];
  unsigned type, flags;
  bool found = false;
  char want[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &ip, want, sizeof(want));
  while (!found && fgets(line, sizeof(line), f)) {
    if (sscanf(line, "%63s 0x%x 0x%x %63s %*s %23s", ipbuf, &type, &flags, hw, ifn) == 5 &&
        strcmp(ipbuf, want) == 0 && strcmp(ifn, dev) == 0 && (flags & 0x2)) {
      parse_mac(hw, mac);
      found = true;
    }
  }
  fclose(f);
  return found;
}

static void usage(FILE* to) {
  fprintf(
      to,
      "usage: vxinject --dst-underlay IP --dst-vxlan-mac MAC --inner-src IP --inner-dst IP\n"
      "  [--iface eth0] [--vxlan-dev vxlan.calico] [--src-underlay IP] [--src-mac MAC]\n"
      "  [--peer-mac MAC] [--src-vxlan-mac MAC] [--vni 4096] [--vxlan-flags 0x08] [--port 4789]\n"
      "  [--count 1] [--bad-outer-csum K] [--outer-csum good|zero] [--bad-inner-csum]\n"
      "  [--proto udp|tcp|icmp] [--sport 40000] [--dport 5000] [--tcp-flags PA]\n"
      "  [--tcp-seq 1000] [--payload-len 512] [--ip-id N] [--ttl 64] [--seed 1] [--dry-run]\n");
}

static void parse_args(int argc, char** argv, struct opts* o) {
  enum {
    O_IFACE = 256,
    O_VXDEV,
    O_SRC_UL,
    O_SRC_MAC,
    O_DST_UL,
    O_PEER_MAC,
    O_SRC_VXMAC,
    O_DST_VXMAC,
    O_VNI,
    O_VXFLAGS,
    O_PORT,
    O_COUNT,
    O_BAD_OUTER,
    O_OUTER_CSUM,
    O_BAD_INNER,
    O_INNER_SRC,
    O_INNER_DST,
    O_PROTO,
    O_SPORT,
    O_DPORT,
    O_TCP_FLAGS,
    O_TCP_SEQ,
    O_PAYLOAD,
    O_IP_ID,
    O_TTL,
    O_SEED,
    O_DRY,
    O_HELP
  };
  static const struct option longopts[] = {{"iface", 1, 0, O_IFACE},
                                           {"vxlan-dev", 1, 0, O_VXDEV},
                                           {"src-underlay", 1, 0, O_SRC_UL},
                                           {"src-mac", 1, 0, O_SRC_MAC},
                                           {"dst-underlay", 1, 0, O_DST_UL},
                                           {"peer-mac", 1, 0, O_PEER_MAC},
                                           {"src-vxlan-mac", 1, 0, O_SRC_VXMAC},
                                           {"dst-vxlan-mac", 1, 0, O_DST_VXMAC},
                                           {"vni", 1, 0, O_VNI},
                                           {"vxlan-flags", 1, 0, O_VXFLAGS},
                                           {"port", 1, 0, O_PORT},
                                           {"count", 1, 0, O_COUNT},
                                           {"bad-outer-csum", 1, 0, O_BAD_OUTER},
                                           {"outer-csum", 1, 0, O_OUTER_CSUM},
                                           {"bad-inner-csum", 0, 0, O_BAD_INNER},
                                           {"inner-src", 1, 0, O_INNER_SRC},
                                           {"inner-dst", 1, 0, O_INNER_DST},
                                           {"proto", 1, 0, O_PROTO},
                                           {"sport", 1, 0, O_SPORT},
                                           {"dport", 1, 0, O_DPORT},
                                           {"tcp-flags", 1, 0, O_TCP_FLAGS},
                                           {"tcp-seq", 1, 0, O_TCP_SEQ},
                                           {"payload-len", 1, 0, O_PAYLOAD},
                                           {"ip-id", 1, 0, O_IP_ID},
                                           {"ttl", 1, 0, O_TTL},
                                           {"seed", 1, 0, O_SEED},
                                           {"dry-run", 0, 0, O_DRY},
                                           {"help", 0, 0, O_HELP},
                                           {0, 0, 0, 0}};
  *o = (struct opts){.iface = "eth0",
                     .vxlan_dev = "vxlan.calico",
                     .proto_name = "udp",
                     .tcp_flags_str = "PA",
                     .outer_csum = "good",
                     .vni = 4096,
                     .count = 1,
                     .tcp_seq = 1000,
                     .payload_len = 512,
                     .seed = 1,
                     .ip_id = -1,
                     .vxlan_flags = 0x08,
                     .ttl = 64,
                     .port = 4789,
                     .sport = 40000,
                     .dport = 5000};
  bool have_dst_ul = false, have_dst_vxmac = false, have_isrc = false, have_idst = false;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case O_IFACE: o->iface = optarg; break;
      case O_VXDEV: o->vxlan_dev = optarg; break;
      case O_SRC_UL: parse_ip(optarg, &o->src_ul), o->have_src_ul = true; break;
      case O_SRC_MAC: parse_mac(optarg, o->src_mac), o->have_src_mac = true; break;
      case O_DST_UL: parse_ip(optarg, &o->dst_ul), have_dst_ul = true; break;
      case O_PEER_MAC: parse_mac(optarg, o->peer_mac), o->have_peer_mac = true; break;
      case O_SRC_VXMAC: parse_mac(optarg, o->src_vxlan_mac), o->have_src_vxlan_mac = true; break;
      case O_DST_VXMAC: parse_mac(optarg, o->dst_vxlan_mac), have_dst_vxmac = true; break;
      case O_VNI: o->vni = (uint32_t)parse_num(optarg, 0xFFFFFF, "--vni"); break;
      case O_VXFLAGS: o->vxlan_flags = (uint8_t)parse_num(optarg, 0xFF, "--vxlan-flags"); break;
      case O_PORT: o->port = (uint16_t)parse_num(optarg, 0xFFFF, "--port"); break;
      case O_COUNT: o->count = (uint32_t)parse_num(optarg, 1000000, "--count"); break;
      case O_BAD_OUTER:
        o->bad_outer = (uint32_t)parse_num(optarg, 1000000, "--bad-outer-csum");
        break;
      case O_OUTER_CSUM: o->outer_csum = optarg; break;
      case O_BAD_INNER: o->bad_inner = true; break;
      case O_INNER_SRC: parse_ip(optarg, &o->inner_src), have_isrc = true; break;
      case O_INNER_DST: parse_ip(optarg, &o->inner_dst), have_idst = true; break;
      case O_PROTO: o->proto_name = optarg; break;
      case O_SPORT: o->sport = (uint16_t)parse_num(optarg, 0xFFFF, "--sport"); break;
      case O_DPORT: o->dport = (uint16_t)parse_num(optarg, 0xFFFF, "--dport"); break;
      case O_TCP_FLAGS: o->tcp_flags_str = optarg; break;
      case O_TCP_SEQ: o->tcp_seq = (uint32_t)parse_num(optarg, 0xFFFFFFFF, "--tcp-seq"); break;
      case O_PAYLOAD:
        o->payload_len = (uint32_t)parse_num(optarg, MAX_FRAME, "--payload-len");
        break;
      case O_IP_ID: o->ip_id = (int)parse_num(optarg, 0xFFFF, "--ip-id"); break;
      case O_TTL: o->ttl = (uint8_t)parse_num(optarg, 255, "--ttl"); break;
      case O_SEED: o->seed = (uint32_t)parse_num(optarg, 0xFFFFFFFF, "--seed"); break;
      case O_DRY: o->dry_run = true; break;
      case O_HELP: usage(stdout); exit(0);
      default: usage(stderr); exit(2);
    }
  }
  if (optind != argc) die("unexpected argument '%s'", argv[optind]);
  if (!have_dst_ul || !have_dst_vxmac || !have_isrc || !have_idst) {
    usage(stderr);
    die("%s", "--dst-underlay, --dst-vxlan-mac, --inner-src and --inner-dst are required");
  }
  if (strcmp(o->proto_name, "udp") == 0)
    o->proto = IPPROTO_UDP;
  else if (strcmp(o->proto_name, "tcp") == 0)
    o->proto = IPPROTO_TCP;
  else if (strcmp(o->proto_name, "icmp") == 0)
    o->proto = IPPROTO_ICMP;
  else
    die("bad --proto '%s' (udp, tcp or icmp)", o->proto_name);
  if (strcmp(o->outer_csum, "good") != 0 && strcmp(o->outer_csum, "zero") != 0)
    die("bad --outer-csum '%s' (good or zero)", o->outer_csum);
  o->tcp_flags = parse_tcp_flags(o->tcp_flags_str);
  if (o->count < 1) die("%s", "--count must be >= 1");
  if (o->bad_outer > o->count) die("%s", "--bad-outer-csum must be between 0 and --count");
  unsigned l4 = o->proto == IPPROTO_TCP ? TCP_LEN : o->proto == IPPROTO_UDP ? UDP_LEN : ICMP_LEN;
  /* 1450: the inner packet must fit vxlan.calico's MTU, like a real overlay packet. */
  if (IP_LEN + l4 + o->payload_len > UNDERLAY_MTU - IP_LEN - UDP_LEN - VXLAN_LEN - ETH_LEN)
    die("%s", "--payload-len gives an inner packet larger than 1450 bytes");
}

/* ---------------------------------------------------------------- frame building */

static void put16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t* p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v);
}

/* RFC 1071 one's-complement sum, folded; `sum` carries a partial sum (pseudo-header). */
static uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t n) {
  for (; n > 1; p += 2, n -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (n) sum += (uint32_t)(p[0] << 8);
  return sum;
}
static uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return (uint16_t)~sum;
}

static void ipv4_header(uint8_t* ip, uint16_t total, uint16_t id, uint16_t frag, uint8_t ttl,
                        uint8_t proto, struct in_addr src, struct in_addr dst) {
  memset(ip, 0, IP_LEN);
  ip[0] = 0x45;
  put16(ip + 2, total);
  put16(ip + 4, id);
  put16(ip + 6, frag);
  ip[8] = ttl;
  ip[9] = proto;
  memcpy(ip + 12, &src, 4);
  memcpy(ip + 16, &dst, 4);
  put16(ip + 10, csum_fold(csum_add(0, ip, IP_LEN)));
}

/* Checksum of the L4 segment behind `ip` (with the IPv4 pseudo-header unless ICMP). */
static uint16_t l4_csum(const uint8_t* ip, uint8_t proto, size_t l4_len) {
  uint32_t sum = 0;
  if (proto != IPPROTO_ICMP) {
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0, pseudo[9] = proto;
    put16(pseudo + 10, (uint16_t)l4_len);
    sum = csum_add(0, pseudo, sizeof(pseudo));
  }
  uint16_t c = csum_fold(csum_add(sum, ip + IP_LEN, l4_len));
  return (proto == IPPROTO_UDP && c == 0) ? 0xFFFF : c; /* UDP: 0 means "no checksum" */
}

/* A wrong checksum that is not 0 or 0xffff (0 would mean "no checksum" for UDP). */
static uint16_t corrupt(uint16_t good) {
  static const uint16_t masks[] = {0x5A5A, 0x0F0F, 0x1234, 0x00FF};
  for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
    uint16_t bad = good ^ masks[i];
    if (bad != 0 && bad != 0xFFFF && bad != good) return bad;
  }
  return 0x4242;
}

/* Frame `index` in full; returns its length. */
static size_t build_frame(const struct opts* o, uint8_t* f, uint32_t index, uint16_t ip_id,
                          uint16_t outer_id, uint16_t outer_sport, bool bad_outer) {
  static const char pattern[] = "vxtrace-lab-payload-";
  unsigned l4_hdr = o->proto == IPPROTO_TCP   ? TCP_LEN
                    : o->proto == IPPROTO_UDP ? UDP_LEN
                                              : ICMP_LEN;
  size_t l4_len = l4_hdr + o->payload_len;
  size_t inner_ip_len = IP_LEN + l4_len;
  size_t frame_len = OUTER_LEN + ETH_LEN + inner_ip_len;
  memset(f, 0, frame_len);

  /* Inner frame: Ether (our vxlan MAC -> the peer's vxlan MAC), IPv4, L4, payload. */
  uint8_t* in = f + OUTER_LEN;
  memcpy(in, o->dst_vxlan_mac, 6);
  memcpy(in + 6, o->src_vxlan_mac, 6);
  put16(in + 12, ETHERTYPE_IP);
  uint8_t* iip = in + ETH_LEN;
  ipv4_header(iip, (uint16_t)inner_ip_len, ip_id, 0, o->ttl, o->proto, o->inner_src, o->inner_dst);
  uint8_t* l4 = iip + IP_LEN;
  for (size_t i = 0; i < o->payload_len; i++)
    l4[l4_hdr + i] = (uint8_t)pattern[i % (sizeof(pattern) - 1)];
  size_t csum_off;
  if (o->proto == IPPROTO_TCP) {
    put16(l4, o->sport);
    put16(l4 + 2, o->dport);
    put32(l4 + 4, o->tcp_seq + index * o->payload_len);
    put32(l4 + 8, 1);
    l4[12] = 5 << 4; /* data offset: 5 words, no options */
    l4[13] = o->tcp_flags;
    put16(l4 + 14, 64240);
    csum_off = 16;
  } else if (o->proto == IPPROTO_UDP) {
    put16(l4, o->sport);
    put16(l4 + 2, o->dport);
    put16(l4 + 4, (uint16_t)l4_len);
    csum_off = 6;
  } else {
    l4[0] = 8; /* echo request, code 0 */
    put16(l4 + 4, o->sport);
    put16(l4 + 6, (uint16_t)index);
    csum_off = 2;
  }
  uint16_t good = l4_csum(iip, o->proto, l4_len);
  put16(l4 + csum_off, o->bad_inner ? corrupt(good) : good);

  /* Outer: Ether (our NIC -> the peer's NIC), IPv4 DF, UDP, VXLAN. */
  memcpy(f, o->peer_mac, 6);
  memcpy(f + 6, o->src_mac, 6);
  put16(f + 12, ETHERTYPE_IP);
  uint8_t* oip = f + ETH_LEN;
  size_t udp_len = frame_len - ETH_LEN - IP_LEN;
  ipv4_header(oip, (uint16_t)(IP_LEN + udp_len), outer_id, 0x4000, 64, IPPROTO_UDP, o->src_ul,
              o->dst_ul);
  uint8_t* udp = oip + IP_LEN;
  put16(udp, outer_sport);
  put16(udp + 2, o->port);
  put16(udp + 4, (uint16_t)udp_len);
  uint8_t* vx = udp + UDP_LEN;
  vx[0] = o->vxlan_flags;
  put32(vx + 4, o->vni << 8);
  uint16_t outer_good = l4_csum(oip, IPPROTO_UDP, udp_len);
  uint16_t outer = bad_outer                            ? corrupt(outer_good)
                   : strcmp(o->outer_csum, "zero") == 0 ? 0
                                                        : outer_good;
  put16(udp + 6, outer);
  return frame_len;
}

/* ---------------------------------------------------------------- summary */

static void print_mac(const char* key, const uint8_t m[6], const char* sep) {
  printf("\"%s\":\"%02x:%02x:%02x:%02x:%02x:%02x\"%s", key, m[0], m[1], m[2], m[3], m[4], m[5],
         sep);
}

static void print_ip(const char* key, struct in_addr a, const char* sep) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  printf("\"%s\":\"%s\"%s", key, buf, sep);
}

static void print_list(const char* key, const uint32_t* v, uint32_t n) {
  printf("\"%s\":[", key);
  for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", v[i]);
  printf("],");
}

static int cmp_u32(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  struct opts o;
  parse_args(argc, argv, &o);

  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, receive nothing */
  if (fd < 0) die("cannot open an AF_PACKET socket: %s (needs CAP_NET_RAW)", strerror(errno));
  unsigned ifindex = if_nametoindex(o.iface);
  if (!ifindex) die("no interface %s in this network namespace", o.iface);
  if (!o.have_src_mac) if_mac(fd, o.iface, o.src_mac);
  if (!o.have_src_ul) if_addr(fd, o.iface, &o.src_ul);
  if (!o.have_src_vxlan_mac) if_mac(fd, o.vxlan_dev, o.src_vxlan_mac);
  if (!o.have_peer_mac && !arp_lookup(o.dst_ul, o.iface, o.peer_mac))
    die("no neighbour entry for the peer on %s: give --peer-mac", o.iface);

  /* Which frames get a bad outer checksum: a seeded partial Fisher-Yates over the indexes. */
  rng_state = o.seed;
  uint32_t* idx = malloc(sizeof(uint32_t) * o.count);
  uint32_t* bad_ids = malloc(sizeof(uint32_t) * (o.bad_outer + 1));
  bool* bad = calloc(o.count, sizeof(bool));
  if (!idx || !bad_ids || !bad) die("%s", "out of memory");
  for (uint32_t i = 0; i < o.count; i++) idx[i] = i;
  for (uint32_t i = 0; i < o.bad_outer; i++) {
    uint32_t j = i + rng_below(o.count - i), t = idx[i];
    idx[i] = idx[j], idx[j] = t;
  }
  qsort(idx, o.bad_outer, sizeof(uint32_t), cmp_u32);
  for (uint32_t i = 0; i < o.bad_outer; i++) bad[idx[i]] = true;
  uint16_t first_id = o.ip_id >= 0 ? (uint16_t)o.ip_id : (uint16_t)(1 + rng_below(0x7FFF));

  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6};
  memcpy(to.sll_addr, o.peer_mac, 6);
  uint8_t frame[MAX_FRAME];
  size_t frame_len = 0;
  uint32_t sent = 0, errors = 0, nbad = 0;
  uint16_t sport_min = 0xFFFF, sport_max = 0;
  int last_errno = 0;
  for (uint32_t i = 0; i < o.count; i++) {
    uint16_t ip_id = (uint16_t)(first_id + i);
    uint16_t sport = (uint16_t)(OUTER_SPORT_MIN + rng_below(OUTER_SPORT_MAX - OUTER_SPORT_MIN + 1));
    sport_min = sport < sport_min ? sport : sport_min;
    sport_max = sport > sport_max ? sport : sport_max;
    if (bad[i]) bad_ids[nbad++] = ip_id;
    frame_len = build_frame(&o, frame, i, ip_id, (uint16_t)(first_id * 7 + i), sport, bad[i]);
    if (o.dry_run) continue;
    if (sendto(fd, frame, frame_len, 0, (struct sockaddr*)&to, sizeof(to)) == (ssize_t)frame_len)
      sent++;
    else
      errors++, last_errno = errno;
  }
  close(fd);
  if (errors)
    fprintf(stderr, "vxinject: %u of %u frames not sent: %s\n", errors, o.count,
            strerror(last_errno));

  char flags[9];
  flags_string(o.tcp_flags, flags);
  printf("{\"sent\":%u,\"errors\":%u,\"count\":%u,\"bad_outer_csum\":%u,\"good_outer_csum\":%u,",
         sent, errors, o.count, o.bad_outer, o.count - o.bad_outer);
  printf("\"outer_csum\":\"%s\",\"bad_inner_csum\":%s,\"outer\":{", o.outer_csum,
         o.bad_inner ? "true" : "false");
  print_ip("src", o.src_ul, ",");
  print_ip("dst", o.dst_ul, ",");
  printf("\"dport\":%u,", o.port);
  print_mac("src_mac", o.src_mac, ",");
  print_mac("dst_mac", o.peer_mac, ",");
  printf("\"sport_min\":%u,\"sport_max\":%u},\"vni\":%u,\"vxlan_flags\":%u,\"inner\":{", sport_min,
         sport_max, o.vni, o.vxlan_flags);
  print_ip("src", o.inner_src, ",");
  print_ip("dst", o.inner_dst, ",");
  printf("\"proto\":\"%s\",\"sport\":%u,\"dport\":%u,", o.proto_name, o.sport, o.dport);
  if (o.proto == IPPROTO_TCP)
    printf("\"tcp_flags\":\"%s\",", flags);
  else
    printf("\"tcp_flags\":null,");
  print_mac("src_mac", o.src_vxlan_mac, ",");
  print_mac("dst_mac", o.dst_vxlan_mac, "},");
  printf("\"payload_len\":%u,\"frame_len\":%zu,\"ip_id_first\":%u,\"ip_id_last\":%u,",
         o.payload_len, frame_len, first_id, (uint16_t)(first_id + o.count - 1));
  print_list("bad_outer_idx", idx, o.bad_outer);
  print_list("bad_outer_ip_ids", bad_ids, nbad);
  printf("\"seed\":%u}\n", o.seed);
  free(idx), free(bad_ids), free(bad);
  return errors ? 1 : 0;
}

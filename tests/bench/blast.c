// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * blast: the benchmark's drop-storm sender. Runs inside a lab node namespace and writes
 * prebuilt VXLAN frames (outer Ether/IPv4/UDP/VXLAN + inner Ether/IPv4/UDP) out of the
 * underlay NIC with an AF_PACKET socket and sendmmsg(), as fast as the machine allows
 * (or paced with --rate), for exactly --count frames or until --duration ends.
 *
 *   --mode bad-outer-csum  every frame carries a wrong, non-zero outer UDP checksum:
 *                          the receiver's UDP stack drops each one (UDP_CSUM).
 *   --mode good            correct checksums everywhere (e.g. a spoofed --inner-src
 *                          for rp_filter drops, IP_RPFILTER, after decapsulation).
 *   --mode netlink-purge   no network at all: netlink messages queued on a NETLINK_USERSOCK
 *                          socket that never reads and is then closed; each queued skb is
 *                          a QUEUE_PURGE drop, i.e. vxtrace's "background" cause
 *                          (counted only, never parsed or streamed by default).
 *
 * Every frame has its own inner IP ID (so vxtrace's tunnel join sees distinct packets).
 * The last line on stdout is JSON: {"sent":N,"errors":E,"elapsed_s":T,"pps":R,...}.
 * `sent` counts frames the kernel accepted (sendmmsg's return value), nothing else.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_QDISC_BYPASS
#define PACKET_QDISC_BYPASS 20
#endif

#define MAX_FRAME 1514
#define NFRAMES 65536 /* one per inner IP ID */
#define MAX_BATCH 1024

enum mode { MODE_BAD_OUTER, MODE_GOOD, MODE_NETLINK };

struct opts {
  const char* iface;
  uint8_t src_mac[6], dst_mac[6], src_vxlan_mac[6], dst_vxlan_mac[6];
  struct in_addr src_ip, dst_ip, inner_src, inner_dst;
  uint32_t vni;
  uint16_t port, sport, dport;
  unsigned payload;
  uint64_t count;
  double duration, rate;
  unsigned batch;
  int cpu;
  enum mode mode;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char* msg) {
  fprintf(stderr, "blast: %s: %s\n", msg, strerror(errno));
  exit(2);
}

static void usage(void) {
  fprintf(stderr,
          "usage: blast --mode bad-outer-csum|good|netlink-purge [--iface eth0] "
          "--src-mac M --dst-mac M\n"
          "             --src-vxlan-mac M --dst-vxlan-mac M --src-ip A --dst-ip A "
          "--inner-src A\n"
          "             --inner-dst A [--vni 4096] [--port 4789] [--sport 40000] "
          "[--dport 5000]\n"
          "             [--payload 18] [--count N] [--duration S] [--rate PPS] "
          "[--batch 64] [--cpu N]\n"
          "At least one of --count and --duration bounds the run.\n");
  exit(2);
}

static void parse_mac(const char* s, uint8_t* mac) {
  if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
             &mac[5]) != 6)
    usage();
}

static void parse_ip(const char* s, struct in_addr* a) {
  if (inet_pton(AF_INET, s, a) != 1) usage();
}

static uint32_t sum16(const void* data, size_t len, uint32_t sum) {
  const uint8_t* p = data;
  for (; len > 1; len -= 2, p += 2) sum += (uint32_t)p[0] << 8 | p[1];
  if (len) sum += (uint32_t)p[0] << 8;
  return sum;
}

static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void put16(uint8_t* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

/* IPv4 header at p (20 bytes), checksum filled. */
static void ipv4(uint8_t* p, uint16_t total_len, uint16_t id, struct in_addr s, struct in_addr d) {
  memset(p, 0, 20);
  p[0] = 0x45;
  put16(p + 2, total_len);
  put16(p + 4, id);
  p[6] = 0x40; /* DF */
  p[8] = 64;
  p[9] = 17; /* UDP */
  memcpy(p + 12, &s, 4);
  memcpy(p + 16, &d, 4);
  put16(p + 10, fold(sum16(p, 20, 0)));
}

/* UDP checksum over the pseudo-header and the UDP header + payload at udp. */
static uint16_t udp_csum(const uint8_t* udp, uint16_t udp_len, struct in_addr s, struct in_addr d) {
  uint8_t pseudo[12];
  memcpy(pseudo, &s, 4);
  memcpy(pseudo + 4, &d, 4);
  pseudo[8] = 0;
  pseudo[9] = 17;
  put16(pseudo + 10, udp_len);
  uint16_t c = fold(sum16(udp, udp_len, sum16(pseudo, 12, 0)));
  return c ? c : 0xffff;
}

/* Frame i: inner IP ID i. Returns its length. */
static size_t build_frame(const struct opts* o, uint8_t* f, unsigned i) {
  const size_t inner_udp_len = 8 + o->payload, inner_ip_len = 20 + inner_udp_len;
  const size_t inner_frame_len = 14 + inner_ip_len;
  const size_t outer_udp_len = 8 + 8 + inner_frame_len, outer_ip_len = 20 + outer_udp_len;
  uint8_t *oip = f + 14, *oudp = oip + 20, *vx = oudp + 8, *ieth = vx + 8, *iip = ieth + 14,
          *iudp = iip + 20;

  memcpy(f, o->dst_mac, 6);
  memcpy(f + 6, o->src_mac, 6);
  put16(f + 12, ETH_P_IP);
  ipv4(oip, outer_ip_len, (uint16_t)i, o->src_ip, o->dst_ip);
  put16(oudp, 32768 + (i % 28000)); /* what Linux vxlan picks from: ip_local_port_range */
  put16(oudp + 2, o->port);
  put16(oudp + 4, outer_udp_len);
  put16(oudp + 6, 0);
  memset(vx, 0, 8);
  vx[0] = 0x08; /* VNI valid */
  vx[4] = o->vni >> 16;
  vx[5] = o->vni >> 8;
  vx[6] = o->vni;
  memcpy(ieth, o->dst_vxlan_mac, 6);
  memcpy(ieth + 6, o->src_vxlan_mac, 6);
  put16(ieth + 12, ETH_P_IP);
  ipv4(iip, inner_ip_len, (uint16_t)i, o->inner_src, o->inner_dst);
  put16(iudp, o->sport);
  put16(iudp + 2, o->dport);
  put16(iudp + 4, inner_udp_len);
  put16(iudp + 6, 0);
  for (unsigned k = 0; k < o->payload; ++k) iudp[8 + k] = "vxtrace-bench-payload-"[k % 22];
  put16(iudp + 6, udp_csum(iudp, inner_udp_len, o->inner_src, o->inner_dst));

  uint16_t c = udp_csum(oudp, outer_udp_len, o->src_ip, o->dst_ip);
  if (o->mode == MODE_BAD_OUTER) {
    /* Wrong and non-zero (zero would mean "no checksum" and be accepted). Folding
     * maps 0 to 0xffff, so a value differing from c in low bits is never equivalent. */
    uint16_t bad = c ^ 0x0f0f;
    c = bad ? bad : (uint16_t)(c ^ 0x00f0);
  }
  put16(oudp + 6, c);
  return 14 + outer_ip_len;
}

static void pin(int cpu) {
  cpu_set_t set;
  if (cpu < 0) return;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set)) die("sched_setaffinity");
}

/* Paced or not, bounded by count and duration; returns frames sent. */
static uint64_t run_packets(const struct opts* o, uint64_t* errors) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: transmit only, receives nothing */
  if (fd < 0) die("socket(AF_PACKET)");
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)); /* best effort */
  struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                            .sll_protocol = htons(ETH_P_IP),
                            .sll_ifindex = (int)if_nametoindex(o->iface),
                            .sll_halen = 6};
  if (!sll.sll_ifindex) die(o->iface);
  memcpy(sll.sll_addr, o->dst_mac, 6);
  if (bind(fd, (struct sockaddr*)&sll, sizeof(sll))) die("bind");

  uint8_t* frames = malloc((size_t)NFRAMES * MAX_FRAME);
  size_t len = 0;
  if (!frames) die("malloc");
  for (unsigned i = 0; i < NFRAMES; ++i) len = build_frame(o, frames + (size_t)i * MAX_FRAME, i);

  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  uint64_t sent = 0;
  const double t0 = now_s();
  while (!stop && sent < o->count) {
    double elapsed = now_s() - t0;
    if (elapsed >= o->duration) break;
    if (o->rate > 0 && sent > elapsed * o->rate) {
      struct timespec ts = {0, 50000};
      nanosleep(&ts, NULL);
      continue;
    }
    unsigned n = o->batch;
    if (sent + n > o->count) n = (unsigned)(o->count - sent);
    for (unsigned k = 0; k < n; ++k) {
      iov[k].iov_base = frames + (size_t)((sent + k) % NFRAMES) * MAX_FRAME;
      iov[k].iov_len = len;
      msgs[k].msg_hdr = (struct msghdr){.msg_iov = &iov[k], .msg_iovlen = 1};
    }
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) {
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) die("sendmmsg");
      ++*errors;
      continue;
    }
    sent += (unsigned)r;
  }
  close(fd);
  free(frames);
  return sent;
}

static int netlink_sock(uint32_t* portid) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
  struct sockaddr_nl a = {.nl_family = AF_NETLINK};
  socklen_t len = sizeof(a);
  if (fd < 0) die("socket(AF_NETLINK)");
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) || getsockname(fd, (struct sockaddr*)&a, &len))
    die("bind(AF_NETLINK)");
  *portid = a.nl_pid;
  return fd;
}

/* Messages queued on a receiver that never reads, purged when it closes: one drop each.
 * A message counts as sent when sendmmsg() accepted it (it was queued); a full receiver
 * (EAGAIN) is closed, which frees its queue, and replaced. */
static uint64_t run_netlink(const struct opts* o, uint64_t* errors) {
  uint32_t tx_id, rx_id;
  int tx = netlink_sock(&tx_id), rx = netlink_sock(&rx_id);
  struct nlmsghdr msg = {.nlmsg_len = sizeof(msg), .nlmsg_type = NLMSG_MIN_TYPE};
  struct sockaddr_nl dst = {.nl_family = AF_NETLINK};
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  uint64_t sent = 0;
  const double t0 = now_s();

  while (!stop && sent < o->count && now_s() - t0 < o->duration) {
    unsigned n = o->batch;
    if (sent + n > o->count) n = (unsigned)(o->count - sent);
    dst.nl_pid = rx_id;
    for (unsigned k = 0; k < n; ++k) {
      iov[k] = (struct iovec){&msg, sizeof(msg)};
      msgs[k].msg_hdr = (struct msghdr){
          .msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = &iov[k], .msg_iovlen = 1};
    }
    int r = sendmmsg(tx, msgs, n, MSG_DONTWAIT);
    if (r > 0) sent += (unsigned)r;
    if (r < (int)n) { /* receiver full: purge it */
      if (r < 0 && errno != EAGAIN && errno != ENOBUFS) die("sendmmsg(netlink)");
      close(rx);
      rx = netlink_sock(&rx_id);
    }
  }
  close(rx);
  close(tx);
  (void)errors;
  return sent;
}

int main(int argc, char** argv) {
  struct opts o = {.iface = "eth0",
                   .vni = 4096,
                   .port = 4789,
                   .sport = 40000,
                   .dport = 5000,
                   .payload = 18,
                   .count = UINT64_MAX,
                   .duration = 1e300,
                   .batch = 64,
                   .cpu = -1,
                   .mode = MODE_GOOD};
  int have_mode = 0, bounded = 0;
  for (int i = 1; i < argc; ++i) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    ++i;
    if (!strcmp(k, "--mode")) {
      have_mode = 1;
      if (!strcmp(v, "bad-outer-csum"))
        o.mode = MODE_BAD_OUTER;
      else if (!strcmp(v, "good"))
        o.mode = MODE_GOOD;
      else if (!strcmp(v, "netlink-purge"))
        o.mode = MODE_NETLINK;
      else
        usage();
    } else if (!strcmp(k, "--iface"))
      o.iface = v;
    else if (!strcmp(k, "--src-mac"))
      parse_mac(v, o.src_mac);
    else if (!strcmp(k, "--dst-mac"))
      parse_mac(v, o.dst_mac);
    else if (!strcmp(k, "--src-vxlan-mac"))
      parse_mac(v, o.src_vxlan_mac);
    else if (!strcmp(k, "--dst-vxlan-mac"))
      parse_mac(v, o.dst_vxlan_mac);
    else if (!strcmp(k, "--src-ip"))
      parse_ip(v, &o.src_ip);
    else if (!strcmp(k, "--dst-ip"))
      parse_ip(v, &o.dst_ip);
    else if (!strcmp(k, "--inner-src"))
      parse_ip(v, &o.inner_src);
    else if (!strcmp(k, "--inner-dst"))
      parse_ip(v, &o.inner_dst);
    else if (!strcmp(k, "--vni"))
      o.vni = strtoul(v, NULL, 0);
    else if (!strcmp(k, "--port"))
      o.port = strtoul(v, NULL, 0);
    else if (!strcmp(k, "--sport"))
      o.sport = strtoul(v, NULL, 0);
    else if (!strcmp(k, "--dport"))
      o.dport = strtoul(v, NULL, 0);
    else if (!strcmp(k, "--payload"))
      o.payload = strtoul(v, NULL, 0);
    else if (!strcmp(k, "--count")) {
      o.count = strtoull(v, NULL, 0);
      bounded = 1;
    } else if (!strcmp(k, "--duration")) {
      o.duration = strtod(v, NULL);
      bounded = 1;
    } else if (!strcmp(k, "--rate"))
      o.rate = strtod(v, NULL);
    else if (!strcmp(k, "--batch"))
      o.batch = strtoul(v, NULL, 0);
    else if (!strcmp(k, "--cpu"))
      o.cpu = atoi(v);
    else
      usage();
  }
  if (!have_mode || !bounded || o.batch < 1 || o.batch > MAX_BATCH ||
      14 + 20 + 8 + 8 + 14 + 20 + 8 + o.payload > MAX_FRAME)
    usage();
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  pin(o.cpu);

  uint64_t errors = 0;
  const double t0 = now_s();
  uint64_t sent = o.mode == MODE_NETLINK ? run_netlink(&o, &errors) : run_packets(&o, &errors);
  const double elapsed = now_s() - t0;
  printf(
      "{\"mode\":\"%s\",\"sent\":%llu,\"errors\":%llu,\"elapsed_s\":%.6f,\"pps\":%.0f,"
      "\"frame_len\":%u}\n",
      o.mode == MODE_BAD_OUTER ? "bad-outer-csum"
      : o.mode == MODE_GOOD    ? "good"
                               : "netlink-purge",
      (unsigned long long)sent, (unsigned long long)errors, elapsed,
      elapsed > 0 ? sent / elapsed : 0.0,
      o.mode == MODE_NETLINK ? 16u : 14 + 20 + 8 + 8 + 14 + 20 + 8 + o.payload);
  return 0;
}

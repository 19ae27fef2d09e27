// Userspace drain benchmark: ring record -> validated -> decoded -> JSON line written, on one
// core, with vxtrace's own code (the loader's libraries). No BPF, no root needed.
//
// The events are the drops the lab's scenarios really produce on this kernel (lab/README.md:
// outer and inner checksum, rp_filter, conntrack INVALID, a netfilter rule, unknown VNI), with
// real kernel addresses from /proc/kallsyms and reason values from the running kernel's BTF,
// so symbolization and naming do the work they do in vxtrace. Inner IP IDs, ports and
// timestamps vary per event.
//
// Stages, each timed on the thread's CPU clock and repeated:
//   decode  RingReader::valid_record + copy + EventDecoder::decode
//   json    decode + JsonSink::drop into a stream that discards (formatting only)
//   file    decode + JsonSink::drop to a stdio FILE (like std::cout) on --out, records handed
//           over in ring_buffer__poll-sized batches (--batch) exactly as RingReader::poll does
//
// Prints one JSON object: {"events_per_s": {stage: [samples...]}, ...}.
// --check: the fast JSON writer's output must equal nlohmann's dump of to_json() byte for
// byte on every recorded event and on edge cases; exit 1 otherwise.
#include <arpa/inet.h>
#include <malloc.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ext/stdio_sync_filebuf.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "decode/event_decoder.hpp"
#include "decode/net_format.hpp"
#include "kernel/ring_reader.hpp"
#include "output/json_sink.hpp"

namespace {

using namespace vxt;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint32_t ip(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return a.s_addr;
}

// name -> address of text symbols we need, from /proc/kallsyms (0 when hidden).
std::map<std::string, uint64_t> kernel_addresses(const std::vector<std::string>& names) {
  std::map<std::string, uint64_t> out;
  for (const auto& n : names) out[n] = 0;
  std::ifstream in("/proc/kallsyms");
  std::string addr, type, name;
  while (in >> addr >> type >> name) {
    in.ignore(1 << 20, '\n');
    auto it = out.find(name);
    if (it != out.end() && it->second == 0 && (type == "t" || type == "T"))
      it->second = std::strtoull(addr.c_str(), nullptr, 16);
  }
  return out;
}

uint32_t reason_value(const DropReasons& r, const std::string& name, uint32_t fallback) {
  for (const auto& e : r.entries())
    if (e.name == name) return e.value;
  return fallback;
}

struct Kind {
  const char* reason;
  const char* location;
  uint32_t offset;
  uint8_t cause, proto, tunnel_source, netns_source;
  const char* ifname;
  const char* inner_src;
};

// The lab's drops on 6.18 (lab/README.md "Kernel facts").
const Kind kKinds[] = {
    {"UDP_CSUM", "udp_queue_rcv_one_skb", 0x153, VXT_CAUSE_CHECKSUM, 17, VXT_TUNNEL_OUTER,
     VXT_NETNS_DEVICE, "eth0", "10.250.1.10"},
    {"TCP_CSUM", "tcp_v4_do_rcv", 0x1c2, VXT_CAUSE_CHECKSUM, 6, VXT_TUNNEL_JOINED, VXT_NETNS_SOCKET,
     "", "10.250.1.10"},
    {"UDP_CSUM", "udp_recvmsg", 0x2a1, VXT_CAUSE_CHECKSUM, 17, VXT_TUNNEL_JOINED, VXT_NETNS_TASK,
     "", "10.250.1.10"},
    {"IP_RPFILTER", "ip_rcv_finish_core", 0x3f5, VXT_CAUSE_RP_FILTER, 17, VXT_TUNNEL_JOINED,
     VXT_NETNS_DEVICE, "vxlan.calico", "10.250.77.5"},
    {"NETFILTER_DROP", "nft_do_chain", 0x4b2, VXT_CAUSE_CONNTRACK, 6, VXT_TUNNEL_JOINED,
     VXT_NETNS_DEVICE, "vxlan.calico", "10.250.1.10"},
    {"NETFILTER_DROP", "nft_do_chain", 0x4b2, VXT_CAUSE_NETFILTER, 17, VXT_TUNNEL_JOINED,
     VXT_NETNS_DEVICE, "vxlan.calico", "10.250.1.10"},
    {"VXLAN_VNI_NOT_FOUND", "vxlan_rcv", 0x5e, VXT_CAUSE_VXLAN, 17, VXT_TUNNEL_OUTER,
     VXT_NETNS_DEVICE, "eth0", "10.250.1.10"},
};

std::vector<vxt_drop_event> record_events(const DropReasons& reasons, size_t n) {
  std::vector<std::string> names;
  for (const auto& k : kKinds) names.push_back(k.location);
  auto addrs = kernel_addresses(names);
  std::mt19937 rng(42);
  std::vector<vxt_drop_event> out(n);
  uint64_t ts = 1'000'000'000'000;  // monotonic ns
  for (size_t i = 0; i < n; ++i) {
    // Mostly outer checksum drops (a storm), the rest spread over the other kinds.
    const Kind& k = kKinds[i % 4 == 0 ? 1 + rng() % (std::size(kKinds) - 1) : 0];
    vxt_drop_event& e = out[i];
    std::memset(&e, 0, sizeof(e));
    ts += 500 + rng() % 3000;
    e.hdr = {VXT_EVENT_DROP, sizeof(e), static_cast<uint32_t>(i & 1), ts};
    uint64_t base = addrs[k.location];
    e.location = (base ? base : 0xffffffff81000000ull) + k.offset;
    e.reason = reason_value(reasons, k.reason, 2);
    e.netns = 4026532246u + (k.netns_source == VXT_NETNS_DEVICE ? 0 : 7);
    e.ifindex = k.ifname[0] ? 2 + (k.ifname[0] == 'v') : 3;
    e.pkt_len = 60 + rng() % 1400;
    e.cause = k.cause;
    e.ct_state = k.cause == VXT_CAUSE_NETFILTER ? VXT_CT_NEW : VXT_CT_NONE;
    e.netns_source = k.netns_source;
    std::strncpy(e.ifname, k.ifname, sizeof(e.ifname) - 1);
    e.flow.saddr = ip(k.inner_src);
    e.flow.daddr = ip("10.250.2.10");
    e.flow.proto = k.proto;
    e.flow.sport = htons(40000 + rng() % 1000);
    e.flow.dport = htons(k.proto == 6 ? 8080 : 5000);
    e.flow.ip_id = htons(static_cast<uint16_t>(i));
    e.flow.tcp_flags = k.proto == 6 ? 0x18 : 0;
    e.flow.valid = 1;
    e.tunnel = {ip("192.0.2.129"),
                ip("192.0.2.130"),
                4096,
                htons(static_cast<uint16_t>(32768 + rng() % 28000)),
                k.tunnel_source,
                VXT_RX_CSUM_SOFTWARE,
                2};
  }
  return out;
}

// Discards everything; counts bytes so the work cannot be optimized away.
struct NullBuf : std::streambuf {
  size_t bytes = 0;
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += n;
    return n;
  }
  int overflow(int c) override {
    ++bytes;
    return c;
  }
};

struct Options {
  size_t events = 65536;
  double seconds = 0.25;  // per sample
  int repeats = 5;
  size_t batch = 256;
  int cpu = -1;
  std::string out = "/dev/null";
  bool check = false;
};

// One record as RingReader::on_record handles it: validate, copy out of ring memory.
inline bool take(const vxt_drop_event& rec, vxt_drop_event& e) {
  if (!RingReader::valid_record(&rec, sizeof(rec))) return false;
  std::memcpy(&e, &rec, sizeof(e));
  return true;
}

template <typename Fn>
double events_per_cpu_s(const std::vector<vxt_drop_event>& events, double seconds, Fn&& fn) {
  size_t done = 0;
  double t0 = thread_cpu_s(), t;
  do {
    fn(events);
    done += events.size();
    t = thread_cpu_s();
  } while (t - t0 < seconds);
  return done / (t - t0);
}

int check(const EventDecoder& dec, const Symbolizer& syms,
          const std::vector<vxt_drop_event>& events) {
  size_t bad = 0, n = 0;
  // The decoder's location cache against the symbolizer, and the sinks' address formatting
  // (format_ipv4) against inet_ntop.
  std::mt19937 rng(7);
  auto e0 = events[0];
  auto ntop = [](uint32_t a) {
    char buf[INET_ADDRSTRLEN];
    return std::string(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
  };
  for (int i = 0; i < 200000; ++i) {
    uint32_t a = i < 256 ? 0x01010101u * static_cast<uint32_t>(i) : static_cast<uint32_t>(rng());
    e0.flow.saddr = a;
    e0.tunnel.peer = ~a;
    e0.location = events[i % events.size()].location + (i % 3 ? 0 : rng() % 4096);
    auto d = dec.decode(e0);
    ++n;
    const auto src = ipv4_string(d.flow->src), peer = ipv4_string(d.tunnel->peer);
    if ((src != ntop(a) || peer != ntop(~a) || d.location != syms.symbolize(e0.location)) &&
        ++bad <= 5)
      std::cerr << "MISMATCH decode: " << src << " " << peer << " " << d.location << "\n";
  }
  auto compare = [&](const DropRecord& d, const std::string& node) {
    std::ostringstream fast_os;
    std::string fast;
    try {
      JsonSink sink(fast_os, node);
      sink.drop(d);
      sink.flush();
      fast = fast_os.str();
    } catch (const std::exception&) {
      fast = "<throws>";
    }
    std::string slow;
    try {
      slow = to_json(d, node).dump() + "\n";
    } catch (const std::exception&) {
      slow = "<throws>";
    }
    ++n;
    if (fast != slow && ++bad <= 5) std::cerr << "MISMATCH\n fast: " << fast << " slow: " << slow;
  };
  for (const auto& e : events) compare(dec.decode(e), "node-b");
  // Edge cases the fast path must hand to nlohmann: escapes, control bytes, UTF-8, empties.
  auto d = dec.decode(events[0]);
  const char* nodes[] = {"",        "n\"q",        "back\\slash", "tab\there", "ctl\x01",
                         "del\x7f", "caf\xc3\xa9", "bad\xff",     "nl\n"};
  for (const char* node : nodes) compare(d, node);
  for (const char* ifname : nodes) {
    auto x = d;
    x.ifname = ifname;
    compare(x, "n");
  }
  auto x = d;
  x.flow.reset();
  x.tunnel.reset();
  compare(x, "n");
  x.ts_unix_ns = 0;
  compare(x, "n");
  x.ts_unix_ns = -1'500'000'000;
  compare(x, "n");
  x.ts_unix_ns = INT64_MAX;  // 2262-04-11T23:47:16.854775807Z
  compare(x, "n");
  for (int64_t ts :
       {1'700'000'000'000'000'000, 1'700'000'000'999'999'999, 1'700'000'001'000'000'000}) {
    x.ts_unix_ns = ts;
    compare(x, "n");
  }
  x = d;
  x.flow->tcp_flags = 0x03;  // FS, on a TCP flow
  x.flow->proto = IPPROTO_TCP;
  compare(x, "n");
  x.flow->proto = 47;  // "ip:47", its flags not shown
  x.location = "0xffffffff81000000";
  x.tunnel->vni = 0xffffff;
  x.ifindex = x.netns = x.len = 0xffffffffu;
  compare(x, "n");
  std::printf("{\"check\":\"%s\",\"compared\":%zu,\"mismatches\":%zu}\n", bad ? "fail" : "ok", n,
              bad);
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--events")
      o.events = std::stoul(next());
    else if (k == "--seconds")
      o.seconds = std::stod(next());
    else if (k == "--repeats")
      o.repeats = std::stoi(next());
    else if (k == "--batch")
      o.batch = std::stoul(next());
    else if (k == "--cpu")
      o.cpu = std::stoi(next());
    else if (k == "--out")
      o.out = next();
    else if (k == "--check")
      o.check = true;
    else {
      std::fprintf(stderr,
                   "usage: vxtrace_drain_bench [--events N] [--seconds S] [--repeats R] "
                   "[--batch B] [--cpu N] [--out PATH] [--check]\n");
      return 2;
    }
  }
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  // What vxtrace's start-up spends on the two tables the decoder needs: time and memory.
  // Heap bytes in use (mallinfo2), mmapped blocks included: what a table keeps once its
  // temporaries are freed, whichever way malloc served it.
  auto rss_kib = [] {
    auto m = mallinfo2();
    return static_cast<long>((m.uordblks + m.hblkhd) / 1024);
  };
  auto wall = [] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  };
  long rss0 = rss_kib();
  double w0 = wall();
  auto reasons_r = DropReasons::from_vmlinux();
  double w1 = wall();
  long rss1 = rss_kib();
  DropReasons reasons = reasons_r ? std::move(*reasons_r)
                                  : DropReasons::from_entries({{10, "TCP_CSUM"},
                                                               {11, "UDP_CSUM"},
                                                               {12, "NETFILTER_DROP"},
                                                               {16, "IP_RPFILTER"},
                                                               {110, "VXLAN_VNI_NOT_FOUND"}});
  Symbolizer syms = Symbolizer::from_proc();
  double w2 = wall();
  long rss2 = rss_kib();
  // vxtrace builds it on a background thread: what start-up itself waits for.
  double async_start_ms;
  {
    double w3 = wall();
    auto background = Symbolizer::from_proc_async();
    async_start_ms = 1000 * (wall() - w3);
  }  // waits for the build
  EventDecoder dec(reasons, syms, monotonic_to_unix_offset_ns());
  auto events = record_events(reasons, o.events);
  if (o.check) return check(dec, syms, events);

  std::map<std::string, std::vector<double>> samples;
  NullBuf nullbuf;
  std::ostream null_os(&nullbuf);
  JsonSink null_sink(null_os, "node-b");
  FILE* fp = std::fopen(o.out.c_str(), "w");
  if (!fp) {
    std::perror(o.out.c_str());
    return 2;
  }
  __gnu_cxx::stdio_sync_filebuf<char> filebuf(fp);  // what std::cout writes through
  std::ostream file_os(&filebuf);
  JsonSink file_sink(file_os, "node-b");
  size_t sink_bytes = 0;
  uint64_t checksum = 0;

  // Decode and write every record to `sink`, flushed once per poll-sized batch as the run
  // loop does.
  auto drain_into = [&](JsonSink& sink) {
    return [&, s = &sink](const auto& evs) {
      vxt_drop_event e;
      for (size_t i = 0; i < evs.size(); i += o.batch) {
        for (size_t j = i; j < std::min(i + o.batch, evs.size()); ++j)
          if (take(evs[j], e)) s->drop(dec.decode(e));
        s->flush();
      }
    };
  };
  for (int r = 0; r < o.repeats; ++r) {
    samples["decode"].push_back(events_per_cpu_s(events, o.seconds, [&](const auto& evs) {
      vxt_drop_event e;
      for (const auto& rec : evs)
        if (take(rec, e)) checksum += dec.decode(e).len;
    }));
    samples["json"].push_back(events_per_cpu_s(events, o.seconds, drain_into(null_sink)));
    samples["file"].push_back(events_per_cpu_s(events, o.seconds, drain_into(file_sink)));
    if (o.out != "/dev/null") {  // keep a real file from growing without bound
      std::fflush(fp);
      sink_bytes = static_cast<size_t>(std::ftell(fp));
      if (ftruncate(fileno(fp), 0) == 0) std::rewind(fp);
    }
  }
  std::fclose(fp);

  // Bytes per line, from one line of the recorded mix.
  std::ostringstream one;
  JsonSink(one, "node-b").drop(dec.decode(events[0]));

  nlohmann::ordered_json j;
  j["events"] = events.size();
  j["batch"] = o.batch;
  j["out"] = o.out;
  j["line_bytes"] = one.str().size();
  j["symbols"] = syms.size();
  j["startup"] = {{"btf_reasons_ms", 1000 * (w1 - w0)},
                  {"btf_reasons_heap_kib", rss1 - rss0},
                  {"kallsyms_ms", 1000 * (w2 - w1)},
                  {"kallsyms_heap_kib", rss2 - rss1},
                  {"kallsyms_async_start_ms", async_start_ms}};
  j["output_batch"] = true;  // flushed once per batch
  j["events_per_s"] = samples;
  j["ignore"] = checksum + nullbuf.bytes + sink_bytes;
  std::cout << j.dump() << std::endl;
  return 0;
}

#include "output/json_sink.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <map>
#include <string_view>

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"
#include "decode/self_counters.hpp"

namespace vxt {
namespace {

// Flush early when this much waits (a poll that drains a storm).
constexpr size_t kMaxPending = size_t{64} * 1024;

// Strings nlohmann's dump() copies verbatim: printable ASCII except '"' and '\\'.
bool plain(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

// Appends to a buffer sized beforehand (format_drop bounds the line's length).
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  template <size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void str(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void num(uint64_t v) { p_ = std::to_chars(p_, p_ + 20, v).ptr; }
  void ipv4(uint32_t addr_be) { p_ = format_ipv4(addr_be, p_); }
  void hex4(uint16_t v) {  // "0x1a2b", as fmt's {:04x}
    static constexpr char kDigits[] = "0123456789abcdef";
    *p_++ = '0';
    *p_++ = 'x';
    for (int shift = 12; shift >= 0; shift -= 4) *p_++ = kDigits[(v >> shift) & 0xF];
  }
  void boolean(bool b) {
    if (b)
      lit("true");
    else
      lit("false");
  }
  void nanos(int64_t ns) {  // 9 digits, zero-padded
    for (int i = 8; i >= 0; --i, ns /= 10) p_[i] = static_cast<char>('0' + ns % 10);
    p_ += 9;
  }
  char* pos() const { return p_; }

 private:
  char* p_;
};

using json = nlohmann::ordered_json;

// {"checksum": 37, ...}: the summary's per-cause counts and ratios under the causes' names.
template <typename T>
json by_cause_json(const std::map<Cause, T>& counts) {
  json j = json::object();
  for (const auto& [cause, n] : counts) j[std::string(name(cause))] = n;
  return j;
}

}  // namespace

json to_json(const StartInfo& info) {
  json attached = json::array();
  for (const auto& a : info.attached)
    attached.push_back(
        {{"ifname", a.ifname}, {"hook", a.hook}, {"role", a.role}, {"prog_id", a.prog_id}});
  return {{"type", "start"},       {"schema", 1},       {"version", info.version},
          {"kernel", info.kernel}, {"node", info.node}, {"attached", attached}};
}

json to_json(const DropRecord& d, const std::string& node) {
  json flow = nullptr, tunnel = nullptr;
  if (d.flow) {
    flow = {{"src", ipv4_string(d.flow->src)},
            {"dst", ipv4_string(d.flow->dst)},
            {"proto", proto_name(d.flow->proto)},
            {"sport", d.flow->sport},
            {"dport", d.flow->dport}};
    if (has_tcp_flags(*d.flow)) flow["tcp_flags"] = tcp_flags_string(d.flow->tcp_flags);
  }
  if (d.tunnel) {
    tunnel = {{"peer", ipv4_string(d.tunnel->peer)},
              {"local", ipv4_string(d.tunnel->local)},
              {"vni", d.tunnel->vni},
              {"source", name(d.tunnel->source)},
              {"rx_csum", name(d.tunnel->rx_csum)}};
  }
  json j = {{"type", "drop"},
            {"ts", rfc3339_ns(d.ts_unix_ns)},
            {"node", node},
            {"cause", name(d.cause)},
            {"reason", d.reason},
            {"location", d.location},
            {"ifname", d.ifname},
            {"ifindex", d.ifindex},
            {"netns", d.netns},
            {"netns_source", name(d.netns_source)},
            {"len", d.len},
            {"ct_state", name(d.ct_state)},
            {"flow", flow},
            {"tunnel", tunnel},
            {"rule", d.rule ? to_json(*d.rule) : json(nullptr)}};
  if (d.csum) j["csum"] = to_json(*d.csum);  // checksum drops, with --pcap
  if (!d.stack.empty()) j["stack"] = d.stack;
  return j;
}

json to_json(const CsumVerdict& c) {
  if (!c.verified) return {{"verified", false}, {"layer", c.layer}, {"why", c.why}};
  return {{"verified", true},
          {"layer", c.layer},
          {"proto", c.proto},
          {"wire", fmt::format("0x{:04x}", c.wire)},
          {"correct", fmt::format("0x{:04x}", c.correct)},
          {"pattern", c.pattern}};
}

json to_json(const RuleRecord& r) {
  return {{"family", r.family},
          {"table", r.table},
          {"chain", r.chain},
          {"handle", r.handle},
          {"comment", r.comment ? json(*r.comment) : json(nullptr)},
          {"conntrack_invalid", r.ct_invalid},
          {"policy", r.policy},
          {"backend", name(r.backend)}};
}

json to_json(const Summary& s) {
  json rules = json::array();
  for (const auto& t : s.netfilter_rules) {
    auto r = to_json(t.rule);
    r["drops"] = t.drops;
    r["netns"] = t.netns;
    rules.push_back(std::move(r));
  }
  json peers = json::array();
  for (const auto& p : s.peers) {
    peers.push_back({{"peer", ipv4_string(p.peer)},
                     {"rx_packets", p.rx_packets},
                     {"rx_bytes", p.rx_bytes},
                     {"decapsulated", p.decapsulated},
                     {"drops", p.drops},
                     {"drop_ratio", p.drop_ratio},
                     {"by_cause", by_cause_json(p.by_cause)},
                     {"ratio_by_cause", by_cause_json(p.ratio_by_cause)}});
  }
  json j = {{"type", "summary"},
            {"final", s.final},
            {"elapsed_s", s.elapsed_s},
            {"drops", by_cause_json(s.drops_by_cause)},
            {"reasons", s.drops_by_reason},
            {"peers", peers}};
  for (const auto& k : kSelfCounters) j[std::string(k.json)] = s.*k.field;
  j["netfilter_rules"] = rules;
  return j;
}

JsonSink::~JsonSink() { flush(); }

void JsonSink::write(const json& j) {
  flush();  // keep order with drop lines still waiting
  out_ << j.dump() << '\n';
  out_.flush();
}

void JsonSink::emit_line(std::string_view line) {
  pending_ += line;
  if (pending_.size() >= kMaxPending) flush();
}

void JsonSink::flush() {
  if (pending_.empty()) return;
  out_.write(pending_.data(), static_cast<std::streamsize>(pending_.size()));
  out_.flush();
  pending_.clear();
}

// rfc3339_ns() without the nanoseconds: formatted once per second.
std::string_view JsonSink::ts_prefix(int64_t sec) {
  if (sec != ts_sec_) {
    std::string full = rfc3339_ns(sec * 1000000000);  // ends in ".000000000Z"
    ts_prefix_.assign(full, 0, full.size() - 10);
    ts_sec_ = sec;
  }
  return ts_prefix_;
}

std::optional<std::string_view> JsonSink::format_drop(const DropRecord& d) {
  size_t strings = 0;
  auto ok = [&](std::string_view s) {
    strings += s.size();
    return plain(s);
  };
  // Names and numbers are plain by construction: only the strings from the kernel, the rules
  // and the command line are checked.
  if (d.ts_unix_ns < 0 || !ok(node_) || !ok(d.reason) || !ok(d.location) || !ok(d.ifname))
    return std::nullopt;
  if (d.rule && (!ok(d.rule->family) || !ok(d.rule->table) || !ok(d.rule->chain) ||
                 (d.rule->comment && !ok(*d.rule->comment))))
    return std::nullopt;
  if (d.csum &&
      (!ok(d.csum->layer) || !ok(d.csum->proto) || !ok(d.csum->pattern) || !ok(d.csum->why)))
    return std::nullopt;
  for (const auto& frame : d.stack)
    if (!ok(frame)) return std::nullopt;
  const int64_t sec = d.ts_unix_ns / 1000000000;
  const std::string_view prefix = ts_prefix(sec);
  // Keys, punctuation, names, addresses and numbers take under 400 bytes, the rule and the verdict
  // under 300 more, and each stack frame adds its quotes and comma.
  const size_t bound = 1024 + strings + 3 * d.stack.size() + prefix.size();
  if (line_.size() < bound) line_.resize(bound);

  Writer w(line_.data());
  w.lit("{\"type\":\"drop\",\"ts\":\"");
  w.str(prefix);
  w.nanos(d.ts_unix_ns % 1000000000);
  w.lit("Z\",\"node\":\"");
  w.str(node_);
  w.lit("\",\"cause\":\"");
  w.str(name(d.cause));
  w.lit("\",\"reason\":\"");
  w.str(d.reason);
  w.lit("\",\"location\":\"");
  w.str(d.location);
  w.lit("\",\"ifname\":\"");
  w.str(d.ifname);
  w.lit("\",\"ifindex\":");
  w.num(d.ifindex);
  w.lit(",\"netns\":");
  w.num(d.netns);
  w.lit(",\"netns_source\":\"");
  w.str(name(d.netns_source));
  w.lit("\",\"len\":");
  w.num(d.len);
  w.lit(",\"ct_state\":\"");
  w.str(name(d.ct_state));
  w.lit("\",\"flow\":");
  if (d.flow) {
    const auto& f = *d.flow;
    w.lit("{\"src\":\"");
    w.ipv4(f.src);
    w.lit("\",\"dst\":\"");
    w.ipv4(f.dst);
    w.lit("\",\"proto\":\"");
    w.str(proto_name(f.proto));
    w.lit("\",\"sport\":");
    w.num(f.sport);
    w.lit(",\"dport\":");
    w.num(f.dport);
    if (has_tcp_flags(f)) {
      w.lit(",\"tcp_flags\":\"");
      w.str(tcp_flags_string(f.tcp_flags));
      w.lit("\"");
    }
    w.lit("}");
  } else {
    w.lit("null");
  }
  w.lit(",\"tunnel\":");
  if (d.tunnel) {
    const auto& t = *d.tunnel;
    w.lit("{\"peer\":\"");
    w.ipv4(t.peer);
    w.lit("\",\"local\":\"");
    w.ipv4(t.local);
    w.lit("\",\"vni\":");
    w.num(t.vni);
    w.lit(",\"source\":\"");
    w.str(name(t.source));
    w.lit("\",\"rx_csum\":\"");
    w.str(name(t.rx_csum));
    w.lit("\"}");
  } else {
    w.lit("null");
  }
  w.lit(",\"rule\":");
  if (d.rule) {
    const auto& r = *d.rule;
    w.lit("{\"family\":\"");
    w.str(r.family);
    w.lit("\",\"table\":\"");
    w.str(r.table);
    w.lit("\",\"chain\":\"");
    w.str(r.chain);
    w.lit("\",\"handle\":");
    w.num(r.handle);
    w.lit(",\"comment\":");
    if (r.comment) {
      w.lit("\"");
      w.str(*r.comment);
      w.lit("\"");
    } else {
      w.lit("null");
    }
    w.lit(",\"conntrack_invalid\":");
    w.boolean(r.ct_invalid);
    w.lit(",\"policy\":");
    w.boolean(r.policy);
    w.lit(",\"backend\":\"");
    w.str(name(r.backend));
    w.lit("\"}");
  } else {
    w.lit("null");
  }
  if (d.csum) {
    const auto& c = *d.csum;
    w.lit(",\"csum\":{\"verified\":");
    w.boolean(c.verified);
    w.lit(",\"layer\":\"");
    w.str(c.layer);
    if (c.verified) {
      w.lit("\",\"proto\":\"");
      w.str(c.proto);
      w.lit("\",\"wire\":\"");
      w.hex4(c.wire);
      w.lit("\",\"correct\":\"");
      w.hex4(c.correct);
      w.lit("\",\"pattern\":\"");
      w.str(c.pattern);
    } else {
      w.lit("\",\"why\":\"");
      w.str(c.why);
    }
    w.lit("\"}");
  }
  if (!d.stack.empty()) {
    w.lit(",\"stack\":[");
    for (size_t i = 0; i < d.stack.size(); ++i) {
      if (i) w.lit(",");
      w.lit("\"");
      w.str(d.stack[i]);
      w.lit("\"");
    }
    w.lit("]");
  }
  w.lit("}\n");
  return std::string_view(line_.data(), static_cast<size_t>(w.pos() - line_.data()));
}

void JsonSink::start(const StartInfo& info) { write(to_json(info)); }

void JsonSink::drop(const DropRecord& d) {
  if (auto line = format_drop(d)) {
    ++fast_lines_;
    emit_line(*line);
    return;
  }
  std::string line = to_json(d, node_).dump();
  line += '\n';
  emit_line(line);
}

void JsonSink::summary(const Summary& s) { write(to_json(s)); }

}  // namespace vxt

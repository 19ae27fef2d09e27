#include "modes/agent/event_stream.hpp"

#include "decode/net_format.hpp"
#include "decode/record_names.hpp"
#include "output/json_sink.hpp"

namespace vxt::agent {

using json = nlohmann::ordered_json;

namespace {

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The numbers go in as they are, never formatted: in a storm most drops repeat a flow and are
// only counted. The two strings carry their lengths, so no name can run into the next field.
std::string flow_key(const DropRecord& d) {
  std::string k;
  auto put = [&k](const auto& v) { k.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  auto put_str = [&](const std::string& s) {
    put(s.size());
    k += s;
  };
  put(d.cause);
  put_str(d.reason);
  put_str(d.ifname);
  if (d.tunnel) {
    k += 't';
    put(d.tunnel->peer);
    put(d.tunnel->vni);
  }
  if (d.flow) {
    k += 'f';
    put(d.flow->src);
    put(d.flow->dst);
    put(d.flow->proto);
    put(d.flow->sport);
    put(d.flow->dport);
  }
  return k;
}

EventStream::EventStream(StreamLimits limits, std::string node, Writer write)
    : limits_(limits),
      node_(std::move(node)),
      write_(std::move(write)),
      bucket_(limits.rate_per_s, limits.burst) {}

void EventStream::suppress(Cause cause, uint64_t n, uint64_t& counter) {
  counter += n;
  window_suppressed_[std::string(name(cause))] += n;
}

void EventStream::drop(const DropRecord& d, Clock::time_point now) {
  tick(now);
  if (!window_open_) {
    window_open_ = true;
    window_start_ = now;
  }
  ++counters_.received;
  auto key = flow_key(d);
  if (auto it = window_.find(key); it != window_.end()) {
    auto& f = it->second;
    if (f.repeats++ == 0) f.first_repeat_ns = d.ts_unix_ns;
    f.last_repeat_ns = d.ts_unix_ns;
    return;
  }
  if (window_.size() >= limits_.max_keys) {
    ++window_keys_;
    return suppress(d.cause, 1, counters_.suppressed_keys);
  }
  window_.emplace(key, Flow{d});
  if (!bucket_.take(now)) {
    ++window_rate_;
    return suppress(d.cause, 1, counters_.suppressed_rate);
  }
  ++counters_.written;
  write_(to_json(d, node_));
}

void EventStream::tick(Clock::time_point now, bool force) {
  if (!window_open_) return;
  if (!force && now - window_start_ < std::chrono::duration<double>(limits_.window_s)) return;
  close_window(now);
}

void EventStream::close_window(Clock::time_point now) {
  double window_s = std::chrono::duration<double>(now - window_start_).count();
  for (auto& [key, f] : window_) {
    if (f.repeats == 0) continue;
    if (!bucket_.take(now)) {
      window_rate_ += f.repeats;
      suppress(f.first.cause, f.repeats, counters_.suppressed_rate);
      continue;
    }
    auto j = to_json(f.first, node_);
    j["type"] = "repeat";
    j["ts"] = rfc3339_ns(f.last_repeat_ns);
    j["first_ts"] = rfc3339_ns(f.first_repeat_ns);
    j["count"] = f.repeats;
    j["window_s"] = window_s;
    counters_.repeated += f.repeats;
    ++counters_.repeat_lines;
    write_(j);
  }
  if (!window_suppressed_.empty()) {
    // Always written (one line per window at most): suppression is never silent.
    uint64_t total = 0;
    for (const auto& [c, n] : window_suppressed_) total += n;
    write_(json{{"type", "suppressed"},
                {"ts", rfc3339_ns(wall_clock_ns())},
                {"node", node_},
                {"window_s", window_s},
                {"count", total},
                {"by_cause", window_suppressed_},
                {"by_limit", {{"rate", window_rate_}, {"keys", window_keys_}}}});
  }
  window_.clear();
  window_suppressed_.clear();
  window_rate_ = window_keys_ = 0;
  window_open_ = false;
}

}  // namespace vxt::agent

// The agent's JSON lines with bounded volume under a drop storm. Within each window the
// first drop of a flow is written as it happens; its repeats are counted and written as
// one `repeat` line when the window closes. Lines beyond the rate limit, and flows beyond
// the per-window key cap, are counted and reported in one `suppressed` line per window.
// Every drop handed in is therefore accounted for exactly once:
//   received = drop lines + sum(repeat.count) + sum(suppressed.count)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "decode/drop_record.hpp"
#include "modes/agent/token_bucket.hpp"

namespace vxt::agent {

struct StreamLimits {
  double window_s = 5;      // aggregation window
  double rate_per_s = 100;  // lines a second, on average (drop and repeat lines)
  double burst = 200;       // lines at once
  size_t max_keys = 1024;   // distinct flows per window (bounds memory)
};

struct StreamCounters {
  uint64_t received = 0;  // drop events read from the ring buffer
  uint64_t written = 0;   // drop lines written
  uint64_t repeated = 0;  // drops folded into repeat lines
  uint64_t repeat_lines = 0;
  uint64_t suppressed_rate = 0;  // drops not written: over the rate limit
  uint64_t suppressed_keys = 0;  // drops not written: over the per-window key cap
  // Lines of any kind the output refused (a full disk, a closed pipe): a drop line counted in
  // `written` was handed to the output; this says how many lines never got there.
  uint64_t write_errors = 0;
};

class EventStream {
 public:
  using Writer = std::function<void(const nlohmann::ordered_json&)>;
  EventStream(StreamLimits limits, std::string node, Writer write);

  void drop(const DropRecord& d, Clock::time_point now);
  // Closes the window when it is due (call often); `force` closes it now (at exit).
  void tick(Clock::time_point now, bool force = false);
  const StreamCounters& counters() const { return counters_; }
  size_t open_keys() const { return window_.size(); }

 private:
  struct Flow {
    DropRecord first;
    uint64_t repeats = 0;
    int64_t first_repeat_ns = 0, last_repeat_ns = 0;
  };
  void suppress(Cause cause, uint64_t n, uint64_t& counter);
  void close_window(Clock::time_point now);

  StreamLimits limits_;
  std::string node_;
  Writer write_;
  TokenBucket bucket_;
  StreamCounters counters_;
  std::unordered_map<std::string, Flow> window_;
  std::map<std::string, uint64_t> window_suppressed_;  // by cause
  uint64_t window_rate_ = 0, window_keys_ = 0;
  Clock::time_point window_start_{};
  bool window_open_ = false;
};

// The flow a drop belongs to, for aggregation: cause, reason, device, tunnel, 5-tuple.
std::string flow_key(const DropRecord& d);

}  // namespace vxt::agent

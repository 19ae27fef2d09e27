// A token bucket: at most `rate` lines a second on average, `burst` at once. Time is passed
// in, so tests drive it without sleeping.
#pragma once

#include <algorithm>
#include <chrono>

namespace vxt::agent {

using Clock = std::chrono::steady_clock;

class TokenBucket {
 public:
  TokenBucket(double rate_per_s, double burst) : rate_(rate_per_s), burst_(burst), tokens_(burst) {}

  bool take(Clock::time_point now) {
    if (started_) {
      double dt = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + std::max(0.0, dt) * rate_);
    }
    started_ = true;
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_, burst_, tokens_;
  Clock::time_point last_{};
  bool started_ = false;
};

}  // namespace vxt::agent

// Output batching for one ring-buffer poll.
//
// RingReader::poll() opens an OutputBatch around ring_buffer__poll(). A sink that flushes
// after every line (JsonSink) defers that flush while a batch is open, so a burst of N events
// costs one write(2) instead of N; every line is still flushed before poll() returns, i.e.
// before vxtrace waits for the next event. Outside a batch nothing changes. Per thread.
#pragma once

#include <algorithm>
#include <vector>

namespace vxt {

class BatchFlushable {
 public:
  virtual void flush_batch() = 0;

 protected:
  ~BatchFlushable() = default;
};

class OutputBatch {
 public:
  OutputBatch() { ++state().depth; }
  ~OutputBatch() {
    if (--state().depth == 0) flush_all();
  }
  OutputBatch(const OutputBatch&) = delete;
  OutputBatch& operator=(const OutputBatch&) = delete;

  static bool active() { return state().depth > 0; }
  // `s` is flushed once when the outermost batch ends.
  static void defer(BatchFlushable* s) {
    auto& p = state().pending;
    if (std::find(p.begin(), p.end(), s) == p.end()) p.push_back(s);
  }
  static void forget(BatchFlushable* s) {
    auto& p = state().pending;
    p.erase(std::remove(p.begin(), p.end(), s), p.end());
  }

 private:
  struct State {
    int depth = 0;
    std::vector<BatchFlushable*> pending;
  };
  static State& state() {
    static thread_local State s;
    return s;
  }
  static void flush_all() {
    auto& p = state().pending;
    while (!p.empty()) {
      auto* s = p.back();
      p.pop_back();
      s->flush_batch();
    }
  }
};

}  // namespace vxt

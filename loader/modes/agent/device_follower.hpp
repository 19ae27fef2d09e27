// Keeps vxtrace attached to the devices it should watch, by name, whatever happens to them:
// attached when a device appears, detached when it is deleted, re-attached when it comes
// back with a new ifindex (Calico re-creates vxlan.calico when it restarts). Level-triggered:
// reconcile() compares what is attached with the link table, so a missed event heals.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "modes/agent/link_table.hpp"
#include "output/sink.hpp"
#include "sys/interfaces.hpp"
#include "sys/result.hpp"

namespace vxt::agent {

struct DeviceSpec {
  std::string name;
  bool overlay = false;
};

struct DeviceState {
  DeviceSpec spec;
  int ifindex = 0;  // attached to this ifindex; 0: not attached
  std::string hook;
  uint32_t prog_id = 0;
  uint64_t attaches = 0;  // successful attachments since start
  uint64_t failures = 0;
  std::string last_error;
};

struct AttachChange {
  const DeviceState& device;
  bool attached;
  std::string why;  // "present", "appeared", "recreated", "deleted", or the error
};

// What the follower does to the kernel; the agent passes the Tracer's methods.
struct AttachOps {
  std::function<Result<AttachedHook>(const Interface&, bool overlay)> attach;
  std::function<bool(int ifindex)> detach;
};

class DeviceFollower {
 public:
  DeviceFollower(std::vector<DeviceSpec> specs, AttachOps ops,
                 std::function<void(const AttachChange&)> on_change);
  // Attach, detach and re-attach until what is attached matches `links`.
  void reconcile(const LinkTable& links);
  const std::vector<DeviceState>& devices() const { return devices_; }
  void detach_all();

 private:
  void follow(DeviceState& d, const LinkTable& links);
  std::vector<DeviceState> devices_;
  AttachOps ops_;
  std::function<void(const AttachChange&)> on_change_;
  bool first_ = true;
};

}  // namespace vxt::agent

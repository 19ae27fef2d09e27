#include "modes/agent/device_follower.hpp"

#include <spdlog/spdlog.h>

namespace vxt::agent {

DeviceFollower::DeviceFollower(std::vector<DeviceSpec> specs, AttachOps ops,
                               std::function<void(const AttachChange&)> on_change)
    : ops_(std::move(ops)), on_change_(std::move(on_change)) {
  for (auto& s : specs) {
    DeviceState d;
    d.spec = std::move(s);
    devices_.push_back(std::move(d));
  }
}

void DeviceFollower::reconcile(const LinkTable& links) {
  for (auto& d : devices_) follow(d, links);
  first_ = false;
}

void DeviceFollower::follow(DeviceState& d, const LinkTable& links) {
  auto now = links.ifindex(d.spec.name);
  if (d.ifindex != 0 && now == d.ifindex) return;  // still the device we attached to
  bool recreated = d.ifindex != 0 && now.has_value();
  if (d.ifindex != 0) {
    // Gone, or re-created under the same name: the old attachment belongs to a dead device.
    ops_.detach(d.ifindex);
    d.ifindex = 0;
    d.prog_id = 0;
    on_change_({d, false, recreated ? "recreated" : "deleted"});
  }
  if (!now) return;
  auto hook = ops_.attach(Interface{d.spec.name, *now}, d.spec.overlay);
  if (!hook) {
    // Retried on the next reconcile: a device may vanish between the event and the attach.
    ++d.failures;
    bool repeated = d.last_error == hook.error().what();
    d.last_error = hook.error().what();
    if (!repeated) on_change_({d, false, d.last_error});
    return;
  }
  d.ifindex = *now;
  d.hook = hook->hook;
  d.prog_id = hook->prog_id;
  d.last_error.clear();
  ++d.attaches;
  on_change_({d, true, first_ ? "present" : recreated ? "recreated" : "appeared"});
}

void DeviceFollower::detach_all() {
  for (auto& d : devices_) {
    if (d.ifindex == 0) continue;
    ops_.detach(d.ifindex);
    d.ifindex = 0;
    d.prog_id = 0;
    on_change_({d, false, "stopping"});
  }
}

}  // namespace vxt::agent

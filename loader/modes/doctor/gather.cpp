#include "modes/doctor/gather.hpp"

#include "kernel/preflight.hpp"
#include "modes/doctor/firewalls.hpp"
#include "sys/interfaces.hpp"
#include "sys/proc_files.hpp"

namespace vxt::doctor {
namespace {

std::string underlay_of(const Options& o) {
  if (!o.tracer.ifaces.empty()) return o.tracer.ifaces.front();
  return default_route_device().value_or("");
}

// Underlay, VXLAN device and every Calico workload device (cali*).
std::vector<std::string> relevant_devices(const VxlanNames& n) {
  std::vector<std::string> devs;
  if (!n.underlay.empty()) devs.push_back(n.underlay);
  devs.push_back(n.vxlan_dev);
  for (const auto& d : list_dir("/proc/sys/net/ipv4/conf"))
    if (d.rfind("cali", 0) == 0) devs.push_back(d);
  return devs;
}

void read_offloads_into(NodeChecks& c) {
  for (const auto& dev : {c.names.underlay, c.names.vxlan_dev}) {
    // A missing VXLAN device is the vxlan_device check's finding, not an unreadable one.
    if (dev.empty() || !read_text("/sys/class/net/" + dev + "/ifindex")) continue;
    if (auto r = read_offloads(dev))
      c.offloads.push_back(std::move(*r));
    else
      c.offload_errors.push_back(r.error().what());
  }
}

}  // namespace

NodeChecks gather_checks(const Options& o) {
  NodeChecks c;
  c.node = o.tracer.node;
  c.kernel_release = kernel_release();
  c.names = {underlay_of(o), o.tracer.vxlan_dev, o.tracer.vxlan_port};
  read_offloads_into(c);
  c.rp_filter = read_rp_filter(relevant_devices(c.names));
  c.conntrack = read_conntrack();
  c.counters = read_counters();
  if (auto t = read_topology())
    c.topology = std::move(*t);
  else
    c.topology_error = t.error().what();
  if (auto r = read_nft_ruleset())
    c.firewall_managers = firewall_managers(*r);
  else
    c.firewall_error = r.error().what();
  return c;
}

void add_rp_filter_devices(NodeChecks& c, const LiveEvidence& live) {
  std::vector<std::string> missing;
  for (const auto& [dev, n] : live.rp_filter_by_dev)
    if (!c.rp_filter.devs.contains(dev)) missing.push_back(dev);
  for (const auto& [dev, v] : read_rp_filter(missing).devs) c.rp_filter.devs[dev] = v;
}

}  // namespace vxt::doctor

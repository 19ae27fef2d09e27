// Offload features and driver identity of a device, read with the SIOCETHTOOL ioctl
// (what `ethtool -k` and `ethtool -i` show), and what they mean for VXLAN checksums.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "modes/doctor/finding.hpp"
#include "sys/result.hpp"

namespace vxt::doctor {

struct DriverInfo {
  std::string driver, version, firmware, bus;
};

struct DeviceOffloads {
  std::string dev;
  std::optional<DriverInfo> driver;
  std::map<std::string, bool> features;  // ETH_SS_FEATURES name -> active
};

// The features that matter for VXLAN, by their kernel names.
inline constexpr const char* kTunnelSegmentation = "tx-udp_tnl-segmentation";
inline constexpr const char* kTunnelCsumSegmentation = "tx-udp_tnl-csum-segmentation";
inline constexpr const char* kInnerCsum = "tx-checksum-ip-generic";
const std::vector<std::string>& interesting_features();

Result<DeviceOffloads> read_offloads(const std::string& dev);

bool feature_on(const DeviceOffloads& d, const std::string& name);
// Tunnel offloads that hand the outer UDP checksum of VXLAN packets to the NIC (seed 002).
std::vector<std::string> outer_csum_offloads_on(const DeviceOffloads& d);
// Drivers with published VXLAN outer-checksum offload bugs on some firmware (seed 002).
bool driver_known_risky(const DriverInfo& d);

json to_json(const DeviceOffloads& d);
CheckResult offloads_check(const std::vector<DeviceOffloads>& devices,
                           const std::vector<std::string>& errors);

}  // namespace vxt::doctor

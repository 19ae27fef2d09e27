#include "modes/doctor/offloads.hpp"

#include <fmt/format.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace vxt::doctor {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

int ethtool(int sock, const std::string& dev, void* cmd) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(cmd);
  return ioctl(sock, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
}

std::string cstr(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

std::optional<DriverInfo> read_drvinfo(int sock, const std::string& dev) {
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  if (ethtool(sock, dev, &info) < 0) return std::nullopt;
  return DriverInfo{cstr(info.driver, sizeof info.driver), cstr(info.version, sizeof info.version),
                    cstr(info.fw_version, sizeof info.fw_version),
                    cstr(info.bus_info, sizeof info.bus_info)};
}

// The feature names come from the kernel (ETH_SS_FEATURES), so bit positions are never
// hard-coded and differ freely between kernel versions.
Result<std::vector<std::string>> feature_names(int sock, const std::string& dev) {
  auto sset = std::make_unique<uint8_t[]>(sizeof(ethtool_sset_info) + sizeof(uint32_t));
  auto* info = reinterpret_cast<ethtool_sset_info*>(sset.get());
  info->cmd = ETHTOOL_GSSET_INFO;
  info->sset_mask = 1ULL << ETH_SS_FEATURES;
  if (int e = ethtool(sock, dev, info); e < 0) return errno_error("ETHTOOL_GSSET_INFO " + dev, -e);
  uint32_t n = info->sset_mask ? info->data[0] : 0;
  auto buf = std::make_unique<uint8_t[]>(sizeof(ethtool_gstrings) + size_t{n} * ETH_GSTRING_LEN);
  auto* strings = reinterpret_cast<ethtool_gstrings*>(buf.get());
  strings->cmd = ETHTOOL_GSTRINGS;
  strings->string_set = ETH_SS_FEATURES;
  strings->len = n;
  if (int e = ethtool(sock, dev, strings); e < 0) return errno_error("ETHTOOL_GSTRINGS " + dev, -e);
  std::vector<std::string> names;
  for (uint32_t i = 0; i < n; ++i)
    names.push_back(cstr(reinterpret_cast<const char*>(strings->data + size_t{i} * ETH_GSTRING_LEN),
                         ETH_GSTRING_LEN));
  return names;
}

Result<std::map<std::string, bool>> read_features(int sock, const std::string& dev) {
  auto names = feature_names(sock, dev);
  if (!names) return names.error();
  uint32_t blocks = (names->size() + 31) / 32;
  auto buf = std::make_unique<uint8_t[]>(sizeof(ethtool_gfeatures) +
                                         blocks * sizeof(ethtool_get_features_block));
  auto* gf = reinterpret_cast<ethtool_gfeatures*>(buf.get());
  gf->cmd = ETHTOOL_GFEATURES;
  gf->size = blocks;
  if (int e = ethtool(sock, dev, gf); e < 0) return errno_error("ETHTOOL_GFEATURES " + dev, -e);
  std::map<std::string, bool> features;
  for (size_t i = 0; i < names->size(); ++i)
    features[(*names)[i]] = gf->features[i / 32].active & (1u << (i % 32));
  return features;
}

}  // namespace

const std::vector<std::string>& interesting_features() {
  static const std::vector<std::string> names = {kTunnelSegmentation,
                                                 kTunnelCsumSegmentation,
                                                 kInnerCsum,
                                                 "tx-checksum-ipv4",
                                                 "rx-checksum",
                                                 "tx-tcp-segmentation",
                                                 "tx-generic-segmentation",
                                                 "rx-gro"};
  return names;
}

Result<DeviceOffloads> read_offloads(const std::string& dev) {
  Fd sock{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) return errno_error("socket for SIOCETHTOOL", errno);
  DeviceOffloads d{dev, read_drvinfo(sock.fd, dev), {}};
  auto features = read_features(sock.fd, dev);
  if (!features) return features.error();
  for (const auto& name : interesting_features())
    if (auto it = features->find(name); it != features->end()) d.features[name] = it->second;
  return d;
}

bool feature_on(const DeviceOffloads& d, const std::string& name) {
  auto it = d.features.find(name);
  return it != d.features.end() && it->second;
}

std::vector<std::string> outer_csum_offloads_on(const DeviceOffloads& d) {
  std::vector<std::string> on;
  for (const char* f : {kTunnelCsumSegmentation, kTunnelSegmentation})
    if (feature_on(d, f)) on.emplace_back(f);
  return on;
}

bool driver_known_risky(const DriverInfo& d) { return d.driver == "i40e"; }

json to_json(const DeviceOffloads& d) {
  json j = {{"dev", d.dev}, {"features", d.features}};
  if (d.driver)
    j["driver"] = {{"name", d.driver->driver},
                   {"version", d.driver->version},
                   {"firmware", d.driver->firmware},
                   {"bus", d.driver->bus}};
  return j;
}

CheckResult offloads_check(const std::vector<DeviceOffloads>& devices,
                           const std::vector<std::string>& errors) {
  CheckResult r{"offloads", errors.empty() ? "ok" : "error", "", json::array()};
  std::vector<std::string> parts;
  for (const auto& d : devices) {
    r.data.push_back(to_json(d));
    std::string drv = d.driver ? fmt::format("{} {}", d.driver->driver, d.driver->version) : "?";
    if (d.driver && !d.driver->firmware.empty()) drv += " fw " + d.driver->firmware;
    std::vector<std::string> on;
    for (const auto& [name, active] : d.features)
      if (active) on.push_back(name);
    parts.push_back(fmt::format("{} ({}): {}", d.dev, drv,
                                on.empty() ? "none on" : fmt::format("{}", fmt::join(on, " "))));
    if (d.driver && driver_known_risky(*d.driver) && !outer_csum_offloads_on(d).empty())
      r.status = "warn";
  }
  for (const auto& e : errors) parts.push_back("unreadable: " + e);
  r.detail = fmt::format("{}", fmt::join(parts, "; "));
  return r;
}

}  // namespace vxt::doctor

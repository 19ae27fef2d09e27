#include "modes/agent/device_follower.hpp"

#include <gtest/gtest.h>

namespace vxt::agent {
namespace {

// A kernel stand-in: records attach/detach calls; attach can be made to fail.
struct FakeKernel {
  std::vector<int> attached;
  std::vector<std::string> log;
  bool fail = false;
  AttachOps ops() {
    return {[this](const Interface& i, bool overlay) -> Result<AttachedHook> {
              if (fail) return Error{"no such device", 19};
              attached.push_back(i.ifindex);
              log.push_back("attach " + i.name + "@" + std::to_string(i.ifindex));
              return AttachedHook{i.name, "tcx", overlay ? "overlay" : "underlay", 42};
            },
            [this](int ifindex) {
              std::erase(attached, ifindex);
              log.push_back("detach @" + std::to_string(ifindex));
              return true;
            }};
  }
};

struct Changes {
  std::vector<std::string> seen;
  std::function<void(const AttachChange&)> fn() {
    return [this](const AttachChange& c) {
      seen.push_back(c.device.spec.name + (c.attached ? " +" : " -") + c.why);
    };
  }
};

TEST(DeviceFollower, AttachesWhatIsPresentAndWhatAppearsLater) {
  FakeKernel k;
  Changes ch;
  DeviceFollower f({{"eth0", false}, {"vxlan.calico", true}}, k.ops(), ch.fn());
  LinkTable links;
  links.apply({true, 2, "eth0"});
  f.reconcile(links);
  EXPECT_EQ(k.attached, std::vector<int>{2});
  links.apply({true, 7, "vxlan.calico"});
  links.apply({true, 8, "cali0123456789a"});  // pods come and go: not ours
  f.reconcile(links);
  EXPECT_EQ(k.attached, (std::vector<int>{2, 7}));
  EXPECT_EQ(ch.seen, (std::vector<std::string>{"eth0 +present", "vxlan.calico +appeared"}));
}

TEST(DeviceFollower, DeletedThenRecreatedIsReattachedToTheNewDevice) {
  FakeKernel k;
  Changes ch;
  DeviceFollower f({{"vxlan.calico", true}}, k.ops(), ch.fn());
  LinkTable links;
  links.apply({true, 7, "vxlan.calico"});
  f.reconcile(links);
  links.apply({false, 7, "vxlan.calico"});
  f.reconcile(links);
  EXPECT_TRUE(k.attached.empty());
  EXPECT_EQ(f.devices()[0].ifindex, 0);
  links.apply({true, 9, "vxlan.calico"});
  f.reconcile(links);
  EXPECT_EQ(k.attached, std::vector<int>{9});
  EXPECT_EQ(f.devices()[0].attaches, 2u);
  EXPECT_EQ(ch.seen, (std::vector<std::string>{"vxlan.calico +present", "vxlan.calico -deleted",
                                               "vxlan.calico +appeared"}));
}

TEST(DeviceFollower, RecreatedBetweenTwoLooksDetachesTheDeadOne) {
  FakeKernel k;
  Changes ch;
  DeviceFollower f({{"vxlan.calico", true}}, k.ops(), ch.fn());
  LinkTable links;
  links.apply({true, 7, "vxlan.calico"});
  f.reconcile(links);
  links.apply({false, 7, "vxlan.calico"});
  links.apply({true, 9, "vxlan.calico"});
  f.reconcile(links);
  EXPECT_EQ(k.log, (std::vector<std::string>{"attach vxlan.calico@7", "detach @7",
                                             "attach vxlan.calico@9"}));
  EXPECT_EQ(ch.seen.back(), "vxlan.calico +recreated");
}

TEST(DeviceFollower, FailedAttachIsRetriedAndReportedOnce) {
  FakeKernel k;
  Changes ch;
  DeviceFollower f({{"eth0", false}}, k.ops(), ch.fn());
  LinkTable links;
  links.apply({true, 2, "eth0"});
  k.fail = true;
  f.reconcile(links);
  f.reconcile(links);
  EXPECT_EQ(f.devices()[0].failures, 2u);
  EXPECT_EQ(ch.seen.size(), 1u) << "the same error is not repeated";
  k.fail = false;
  f.reconcile(links);
  EXPECT_EQ(k.attached, std::vector<int>{2});
  EXPECT_TRUE(f.devices()[0].last_error.empty());
}

TEST(DeviceFollower, DetachAllLeavesNothing) {
  FakeKernel k;
  Changes ch;
  DeviceFollower f({{"eth0", false}, {"vxlan.calico", true}}, k.ops(), ch.fn());
  LinkTable links;
  links.apply({true, 2, "eth0"});
  links.apply({true, 3, "vxlan.calico"});
  f.reconcile(links);
  f.detach_all();
  EXPECT_TRUE(k.attached.empty());
}

TEST(LinkTable, RenameKeepsTheIndex) {
  LinkTable t;
  t.apply({true, 5, "vxtmp"});
  EXPECT_FALSE(t.ifindex("vxlan.calico"));
  t.apply({true, 5, "vxlan.calico"});
  EXPECT_EQ(t.ifindex("vxlan.calico"), 5);
  EXPECT_FALSE(t.ifindex("vxtmp"));
  t.apply({false, 5, "vxlan.calico"});
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace vxt::agent

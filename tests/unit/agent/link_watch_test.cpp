#include "modes/agent/link_watch.hpp"

#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#include <vector>

namespace vxt::agent {
namespace {

// A netlink message as the kernel sends it: header, ifinfomsg, attributes.
std::vector<char> link_message(uint16_t type, int ifindex, const char* name) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_index = ifindex;
  if (name) mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_MTU, 1450);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

const nlmsghdr* hdr(const std::vector<char>& b) {
  return reinterpret_cast<const nlmsghdr*>(b.data());
}

TEST(LinkWatch, ParsesNewAndDelLink) {
  auto add = link_message(RTM_NEWLINK, 7, "vxlan.calico");
  auto e = parse_link_message(hdr(add));
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->present);
  EXPECT_EQ(e->ifindex, 7);
  EXPECT_EQ(e->name, "vxlan.calico");
  auto del = link_message(RTM_DELLINK, 7, "vxlan.calico");
  EXPECT_FALSE(parse_link_message(hdr(del))->present);
}

TEST(LinkWatch, IgnoresOtherMessagesAndNamelessLinks) {
  EXPECT_FALSE(parse_link_message(hdr(link_message(RTM_NEWADDR, 7, "eth0"))));
  EXPECT_FALSE(parse_link_message(hdr(link_message(RTM_NEWLINK, 7, nullptr))));
  auto shortmsg = link_message(RTM_NEWLINK, 7, "eth0");
  auto* nlh = reinterpret_cast<nlmsghdr*>(shortmsg.data());
  nlh->nlmsg_len = NLMSG_LENGTH(2);  // truncated: no room for ifinfomsg
  EXPECT_FALSE(parse_link_message(nlh));
}

TEST(LinkWatch, OpensAndSeesLoopbackInThisNamespace) {
  auto w = LinkWatch::open();
  if (!w) GTEST_SKIP() << w.error().what();
  EXPECT_EQ(w->links().ifindex("lo"), 1);
  auto drained = w->drain();
  EXPECT_TRUE(drained);
}

}  // namespace
}  // namespace vxt::agent

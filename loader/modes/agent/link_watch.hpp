// Follows the node's links over rtnetlink: one dump at start (and after the kernel says
// events were lost), then RTM_NEWLINK/RTM_DELLINK as they happen. Non-blocking, so the
// agent's single loop can ask "anything new?" between ring buffer polls.
#pragma once

#include <libmnl/libmnl.h>

#include <memory>
#include <optional>

#include "modes/agent/link_table.hpp"
#include "sys/result.hpp"

namespace vxt::agent {

// The link a netlink message describes, if it is RTM_NEWLINK/RTM_DELLINK with a name.
std::optional<LinkEvent> parse_link_message(const nlmsghdr* nlh);

class LinkWatch {
 public:
  static Result<LinkWatch> open();  // subscribes, then dumps: no change can fall between
  // Applies every pending event; true when the table may have changed.
  Result<bool> drain();
  const LinkTable& links() const { return table_; }
  uint64_t resyncs() const { return resyncs_; }

 private:
  Result<void> resync();
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  std::unique_ptr<mnl_socket, Closer> sock_;
  LinkTable table_;
  uint64_t resyncs_ = 0;
};

}  // namespace vxt::agent

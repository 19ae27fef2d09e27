// Network namespaces by inode, as kfree_skb events name them: the files that hold them open.
#pragma once

#include <cstdint>

namespace vxt {

// The inode of this process's network namespace.
uint32_t own_netns_inode();

// An open fd (O_CLOEXEC, the caller closes it) of the network namespace with that inode: from
// /run/netns (ip netns) or a process living in it (/proc/PID/ns/net: a pod's pause process);
// -1 when none is found.
int open_netns(uint32_t inode);

}  // namespace vxt

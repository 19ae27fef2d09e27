// A non-blocking nfnetlink socket that listens to one of nf_tables' multicast groups (traces,
// ruleset changes), and the loop that reads what is queued on it.
#pragma once

#include <libmnl/libmnl.h>

#include <cstddef>

#include "sys/result.hpp"

namespace vxt::nf {

// Joined to `group` (NFNLGRP_*) in the calling thread's namespace, with a receive buffer of
// `buffer` bytes where CAP_NET_ADMIN allows (otherwise the kernel's rmem_max: fewer messages
// before the kernel drops some, nothing wrong). The caller closes it (mnl_socket_close).
Result<mnl_socket*> open_group(unsigned group, int buffer, const char* what);

// Hands every message queued now to `cb`, in messages of up to `message` bytes; `lost` is set
// when the kernel dropped some for lack of buffer (ENOBUFS).
void read_queued(mnl_socket* nl, size_t message, mnl_cb_t cb, void* data, bool& lost);

}  // namespace vxt::nf

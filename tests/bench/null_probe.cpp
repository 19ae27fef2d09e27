// Loads and attaches null_probe.bpf.c's empty programs: the tp_btf/kfree_skb one, or with
// --tc DEV the tc one on DEV's ingress (tcx; the caller runs it in DEV's netns). Prints
// {"prog_id":N} and waits for SIGINT/SIGTERM or --timeout seconds; everything is detached
// when it exits.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "null_probe.skel.h"

static volatile std::sig_atomic_t g_stop = 0;
static void on_signal(int) { g_stop = 1; }

constexpr int kTcxIngress = 46;  // BPF_TCX_INGRESS (Linux 6.6), newer than Debian's libbpf 1.1

int main(int argc, char** argv) {
  double timeout = 120;
  const char* tc_dev = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--timeout") == 0) {
      timeout = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--tc") == 0) {
      tc_dev = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: %s [--timeout S] [--tc DEV]\n", argv[0]);
      return 2;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  null_probe_bpf* skel = null_probe_bpf__open();
  bpf_program* prog = tc_dev ? skel->progs.vxt_null_tc : skel->progs.vxt_null_probe;
  bpf_program__set_autoload(tc_dev ? skel->progs.vxt_null_probe : skel->progs.vxt_null_tc, false);
  int link_fd = -1;
  bpf_link* link = nullptr;
  bool ok = skel && null_probe_bpf__load(skel) == 0;
  if (ok && tc_dev) {
    unsigned ifindex = if_nametoindex(tc_dev);
    link_fd = ifindex ? bpf_link_create(bpf_program__fd(prog), ifindex,
                                        static_cast<bpf_attach_type>(kTcxIngress), nullptr)
                      : -1;
    ok = link_fd >= 0;
  } else if (ok) {
    link = bpf_program__attach(prog);
    ok = link != nullptr;
  }
  if (!ok) {
    std::fprintf(stderr, "null_probe: cannot load/attach%s%s\n", tc_dev ? " on " : "",
                 tc_dev ? tc_dev : "");
    null_probe_bpf__destroy(skel);
    return 1;
  }
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
  std::printf("{\"prog_id\":%u}\n", info.id);
  std::fflush(stdout);
  for (double t = 0; !g_stop && t < timeout; t += 0.05) usleep(50000);
  if (link_fd >= 0) close(link_fd);
  bpf_link__destroy(link);
  null_probe_bpf__destroy(skel);
  return 0;
}

// Loads and attaches null_probe.bpf.c (an empty tp_btf/kfree_skb program), prints
// {"prog_id":N} and waits for SIGINT/SIGTERM or --timeout seconds; everything is detached
// when it exits.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "null_probe.skel.h"

static volatile std::sig_atomic_t g_stop = 0;
static void on_signal(int) { g_stop = 1; }

int main(int argc, char** argv) {
  double timeout = 120;
  if (argc == 3 && std::strcmp(argv[1], "--timeout") == 0) timeout = std::atof(argv[2]);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  null_probe_bpf* skel = null_probe_bpf__open_and_load();
  if (!skel || null_probe_bpf__attach(skel)) {
    std::fprintf(stderr, "null_probe: cannot load/attach\n");
    null_probe_bpf__destroy(skel);
    return 1;
  }
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.vxt_null_probe), &info, &len);
  std::printf("{\"prog_id\":%u}\n", info.id);
  std::fflush(stdout);
  for (double t = 0; !g_stop && t < timeout; t += 0.05) usleep(50000);
  null_probe_bpf__destroy(skel);
  return 0;
}

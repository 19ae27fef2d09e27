// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vxlisten: lab/listener.py without Python, for the kernel-matrix VMs. A pod-side server that
 * really reads, because some drops only happen when a socket is there: a TCP segment to a closed
 * port is answered with a RST before its checksum matters, and a long UDP datagram's checksum is
 * only verified when the application calls recvmsg().
 *
 *   vxlisten udp PORT       recvfrom() loop, counts datagrams
 *   vxlisten tcp PORT       accepts, reads, echoes back; counts connections, reads and bytes
 *   vxlisten udp-full PORT  the smallest receive buffer, never read: good datagrams beyond
 *                           its few kilobytes are dropped (SOCKET_RCVBUFF, UdpRcvbufErrors)
 *
 * Prints READY once bound, serves until SIGTERM or SIGINT, then prints one JSON line with what
 * it received (listener.py's keys).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig, stop = 1; }

static int bound_socket(int type, int port) {
  int fd = socket(AF_INET, type, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  /* A burst of 1000 datagrams must fit while the reader is slow (under TCG it is): a full
   * receive buffer would add SOCKET_RCVBUFF drops to the ones a scenario provokes. FORCE: root
   * may exceed net.core.rmem_max. */
  int rcvbuf = 16 << 20;
  if (fd >= 0 && type == SOCK_DGRAM)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr*)&a, sizeof(a)) < 0 ||
      (type == SOCK_STREAM && listen(fd, 128) < 0)) {
    fprintf(stderr, "vxlisten: cannot listen on port %d: %s\n", port, strerror(errno));
    exit(1);
  }
  return fd;
}

/* udp-full: a socket that fills at once and is never read, until SIGTERM/SIGINT. */
static int full_udp(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0), tiny = 1; /* the kernel rounds up to its minimum */
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) < 0 ||
      bind(fd, (struct sockaddr*)&a, sizeof(a)) < 0) {
    fprintf(stderr, "vxlisten: cannot listen on port %d: %s\n", port, strerror(errno));
    return 1;
  }
  printf("READY\n");
  fflush(stdout);
  while (!stop) pause();
  printf("{\"proto\":\"udp\",\"port\":%d,\"received\":0,\"bytes\":0}\n", port);
  return 0;
}

int main(int argc, char** argv) {
  bool full = argc == 3 && strcmp(argv[1], "udp-full") == 0;
  if (argc != 3 || (strcmp(argv[1], "udp") != 0 && strcmp(argv[1], "tcp") != 0 && !full)) {
    fprintf(stderr, "usage: vxlisten udp|tcp|udp-full PORT\n");
    return 2;
  }
  bool tcp = strcmp(argv[1], "tcp") == 0;
  int port = atoi(argv[2]);
  /* No SA_RESTART: a signal must interrupt poll() so the loop sees `stop`. */
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (full) return full_udp(port);

  struct pollfd fds[MAX_CONNS + 1];
  int nfds = 1;
  fds[0] =
      (struct pollfd){.fd = bound_socket(tcp ? SOCK_STREAM : SOCK_DGRAM, port), .events = POLLIN};
  printf("READY\n");
  fflush(stdout);

  unsigned long connections = 0, received = 0, bytes = 0;
  static char buf[65536];
  while (!stop) {
    if (poll(fds, (nfds_t)nfds, 100) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      if (!tcp) {
        /* A datagram whose checksum fails is dropped inside recvfrom(), which then waits on. */
        ssize_t n = recv(fds[0].fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n >= 0) received++, bytes += (unsigned long)n;
        continue;
      }
      int c = accept(fds[0].fd, NULL, NULL);
      if (c >= 0 && nfds <= MAX_CONNS) {
        fds[nfds++] = (struct pollfd){.fd = c, .events = POLLIN};
        connections++;
      } else if (c >= 0) {
        close(c);
      }
    }
    for (int i = 1; i < nfds; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        close(fds[i].fd);
        fds[i--] = fds[--nfds];
        continue;
      }
      received++, bytes += (unsigned long)n;
      for (ssize_t off = 0; off < n;) { /* echo, like listener.py */
        ssize_t w = send(fds[i].fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0) break;
        off += w;
      }
    }
  }
  if (tcp)
    printf("{\"proto\":\"tcp\",\"port\":%d,\"connections\":%lu,\"received\":%lu,\"bytes\":%lu}\n",
           port, connections, received, bytes);
  else
    printf("{\"proto\":\"udp\",\"port\":%d,\"received\":%lu,\"bytes\":%lu}\n", port, received,
           bytes);
  return 0;
}

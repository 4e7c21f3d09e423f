// Sends COUNT raw Ethernet frames of the local experimental ethertype 0x88B5 out of IFNAME
// with an AF_PACKET socket. No protocol handles that ethertype, so a receiving device
// counts each frame in rx_dropped; a veth whose peer is down counts each in tx_dropped.
//   raw_frames IFNAME COUNT
// Prints {"sent":COUNT} once every frame was handed to the device.
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: raw_frames IFNAME COUNT\n");
    return 2;
  }
  unsigned ifindex = if_nametoindex(argv[1]);
  if (!ifindex) {
    perror("if_nametoindex");
    return 1;
  }
  long count = strtol(argv[2], NULL, 10);
  // Protocol 0: the socket only sends, it receives (and so taps) nothing.
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    perror("socket(AF_PACKET)");
    return 1;
  }
  unsigned char frame[60] = {0};
  memset(frame, 0xff, 6); // to: broadcast
  const unsigned char from[6] = {0x02, 0, 0, 0, 0, 0x01}; // locally administered
  memcpy(frame + 6, from, 6);
  frame[12] = 0x88;
  frame[13] = 0xb5;
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6};
  memset(to.sll_addr, 0xff, 6);
  for (long i = 0; i < count; i++) {
    if (sendto(fd, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof frame) {
      perror("sendto");
      return 1;
    }
  }
  close(fd);
  printf("{\"sent\":%ld}\n", count);
  return 0;
}

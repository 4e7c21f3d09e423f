/*
 * Makes a device receive Ethernet frames no protocol handles, run inside a namespace:
 *   tap_frames DEVICE COUNT
 * DEVICE is an existing, up TAP device (ip tuntap add DEVICE mode tap). Each frame written
 * to it is received by the kernel as if from a wire: 60 bytes (14 of header, 46 of payload),
 * to the broadcast address, of ethertype 0x88B5 (local experimental). The stack drops each
 * one (reason UNHANDLED_PROTO) and the device's rx_dropped rises by exactly COUNT.
 * Prints {"sent":COUNT} and exits 0.
 */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE COUNT\n", argv[0]);
		return 2;
	}
	int count = atoi(argv[2]);
	int fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0) {
		perror("open /dev/net/tun");
		return 1;
	}
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("TUNSETIFF");
		return 1;
	}
	unsigned char frame[60] = { 0 };
	memset(frame, 0xff, 6); /* to: broadcast */
	frame[6] = 0x02; /* from: a locally administered address */
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (int i = 0; i < count; i++) {
		if (write(fd, frame, sizeof(frame)) != sizeof(frame)) {
			perror("write");
			return 1;
		}
	}
	printf("{\"sent\":%d}\n", count);
	return 0;
}

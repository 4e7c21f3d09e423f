// SPDX-License-Identifier: Apache-2.0
/*
 * storm: a UDP drop storm. Sends small datagrams with sendmmsg() to one destination for a
 * given number of seconds, pinned to one CPU, and prints how many it sent.
 *
 *   storm DEST_IPV4 PORT SECONDS [CPU] [BATCH] [PAYLOAD_BYTES] [FLOWS] [PORTS]
 *
 * FLOWS > 1 spreads the datagrams round robin over that many destinations: flow i goes to
 * address DEST + i / PORTS, port PORT + i % PORTS (PORTS defaults to 1). The socket is then
 * left unconnected and each datagram names its destination. With FLOWS = 1 (the default)
 * it is connected to DEST:PORT.
 *
 * Meant for a destination that an iptables OUTPUT DROP rule matches. Such a drop fails
 * the send with EPERM, and sendmmsg() stops at the first failed datagram: a call that
 * returns -1/EPERM has still handed one datagram to the kernel (which dropped it), so it
 * counts as one packet sent. Any other error stops the storm.
 *
 * Output, one line:
 *   packets=N seconds=S pps=R cpu_seconds=C pps_cpu=P calls=K eperm=E
 * seconds is wall-clock time; cpu_seconds the CPU time (user + system) the storm got,
 * which includes the cost of every eBPF program that runs on its drops. pps_cpu =
 * packets per CPU-second does not move when other processes take the CPU away.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define MAX_PAYLOAD 1400
#define MAX_FLOWS 1000000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long arg(const char *s, const char *what, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "storm: %s must be an integer in [%ld, %ld], got '%s'\n", what, lo, hi, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 9) {
		fprintf(stderr, "usage: storm DEST_IPV4 PORT SECONDS [CPU] [BATCH] [PAYLOAD_BYTES] [FLOWS] [PORTS]\n");
		return 2;
	}
	struct sockaddr_in dst = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "storm: not an IPv4 address: %s\n", argv[1]);
		return 2;
	}
	dst.sin_port = htons((unsigned short)arg(argv[2], "PORT", 1, 65535));
	double seconds = (double)arg(argv[3], "SECONDS", 1, 3600);
	long cpu = argc > 4 ? arg(argv[4], "CPU", -1, CPU_SETSIZE - 1) : -1;
	int batch = argc > 5 ? (int)arg(argv[5], "BATCH", 1, MAX_BATCH) : 64;
	size_t payload = argc > 6 ? (size_t)arg(argv[6], "PAYLOAD_BYTES", 0, MAX_PAYLOAD) : 16;
	long flows = argc > 7 ? arg(argv[7], "FLOWS", 1, MAX_FLOWS) : 1;
	long ports = argc > 8 ? arg(argv[8], "PORTS", 1, 65535) : 1;
	if (flows > 1 && ntohs(dst.sin_port) + ports - 1 > 65535) {
		fprintf(stderr, "storm: PORT + PORTS - 1 must not exceed 65535\n");
		return 2;
	}

	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((int)cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("storm: sched_setaffinity");
			return 1;
		}
	}

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("storm: socket");
		return 1;
	}
	if (flows == 1 && connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		perror("storm: connect");
		return 1;
	}

	/*
	 * FLOWS + BATCH messages, message i addressed to flow i % FLOWS: each call sends from
	 * message `next` on, and `next` moves on by what the call sent, so the flows take turns
	 * without rewriting any message in the loop.
	 */
	long nmsgs = flows == 1 ? batch : flows + batch;
	static char buf[MAX_PAYLOAD];
	memset(buf, 'x', sizeof(buf));
	struct iovec iov = { .iov_base = buf, .iov_len = payload };
	struct mmsghdr *msgs = calloc((size_t)nmsgs, sizeof(*msgs));
	struct sockaddr_in *dsts = calloc((size_t)flows, sizeof(*dsts));
	if (!msgs || !dsts) {
		perror("storm: calloc");
		return 1;
	}
	for (long i = 0; i < flows; i++) {
		dsts[i] = dst;
		dsts[i].sin_addr.s_addr = htonl(ntohl(dst.sin_addr.s_addr) + (uint32_t)(i / ports));
		dsts[i].sin_port = htons((unsigned short)(ntohs(dst.sin_port) + i % ports));
	}
	for (long i = 0; i < nmsgs; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (flows > 1) {
			msgs[i].msg_hdr.msg_name = &dsts[i % flows];
			msgs[i].msg_hdr.msg_namelen = sizeof(dsts[0]);
		}
	}
	long next = 0;

	unsigned long long packets = 0, calls = 0, eperm = 0;
	double cpu0 = cpu_seconds();
	double start = now(), end = start + seconds, t = start;
	while (t < end) {
		/* Check the clock every 64 calls: cheap, and ends within microseconds of the deadline. */
		for (int i = 0; i < 64; i++) {
			int n = sendmmsg(fd, msgs + next, (unsigned)batch, 0);
			calls++;
			if (n >= 0) {
				packets += (unsigned long long)n;
				next += n;
			} else if (errno == EPERM) {
				packets++;
				eperm++;
				next++;
			} else if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
				perror("storm: sendmmsg");
				return 1;
			}
			next %= flows;
		}
		t = now();
	}
	double elapsed = t - start, used = cpu_seconds() - cpu0;
	printf("packets=%llu seconds=%.3f pps=%.0f cpu_seconds=%.3f pps_cpu=%.0f calls=%llu eperm=%llu\n",
	       packets, elapsed, (double)packets / elapsed, used, used > 0 ? (double)packets / used : 0.0,
	       calls, eperm);
	return 0;
}

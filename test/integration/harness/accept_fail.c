/*
 * Makes accept() fail for the hook tests, run inside a namespace:
 *   accept_fail einval N   N accepts on a socket that is not listening (EINVAL)
 *   accept_fail eagain N   N non-blocking accepts on an idle listening socket (EAGAIN)
 * Prints {"attempts":N,"errors":{"EINVAL":N}} and exits 0.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s einval|eagain COUNT\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[2]);
	int nonblocking = strcmp(argv[1], "eagain") == 0;
	int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (nonblocking) {
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1)) {
			perror("bind/listen");
			return 1;
		}
	}
	int einval = 0, eagain = 0, other = 0;
	for (int i = 0; i < n; i++) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
		else if (errno == EINVAL)
			einval++;
		else if (errno == EAGAIN)
			eagain++;
		else
			other++;
	}
	printf("{\"attempts\":%d,\"errors\":{\"EINVAL\":%d,\"EAGAIN\":%d,\"other\":%d}}\n", n, einval, eagain, other);
	return 0;
}

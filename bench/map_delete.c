// SPDX-License-Identifier: Apache-2.0
/*
 * What emptying a drained flow map costs: N keys deleted one syscall each
 * (bpf_map_delete_elem), in one batch (bpf_map_delete_batch, what the addon's deleteKeys
 * does), and read and deleted together (bpf_map_lookup_and_delete_batch), on a plain hash
 * shaped like adv_map_0/1 (56-byte key, 16-byte value, 16,384 entries). Each round fills
 * the map with N keys again before each way. Root:
 *
 *   gcc -O2 -o bench/.build/map_delete bench/map_delete.c -lbpf
 *   bench/.build/map_delete [N] [ROUNDS]     (10000 keys, 5 rounds)
 *
 * Prints CPU milliseconds of this process per way and round (the work is in syscalls).
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_SIZE 56
#define VALUE_SIZE 16
#define ENTRIES 16384

static unsigned char keys[ENTRIES * KEY_SIZE], values[ENTRIES * VALUE_SIZE];
static unsigned char out_keys[ENTRIES * KEY_SIZE], out_values[ENTRIES * VALUE_SIZE];

static double cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static unsigned count_keys(int fd)
{
	unsigned char prev[KEY_SIZE], next[KEY_SIZE];
	void *p = NULL;
	unsigned n = 0;
	while (bpf_map_get_next_key(fd, p, next) == 0) {
		memcpy(prev, next, KEY_SIZE);
		p = prev;
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (n <= 0 || n > ENTRIES) {
		fprintf(stderr, "N must be 1..%d\n", ENTRIES);
		return 1;
	}
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "map_delete", KEY_SIZE, VALUE_SIZE, ENTRIES, NULL);
	if (fd < 0) {
		perror("bpf_map_create (root?)");
		return 1;
	}
	for (int i = 0; i < n; i++)
		memcpy(keys + (size_t)i * KEY_SIZE, &i, sizeof(i));
	static const char *ways[] = {"one syscall per key", "delete batch", "lookup and delete batch"};
	printf("| round | keys | %s | %s | %s |\n|---|---|---|---|---|\n", ways[0], ways[1], ways[2]);
	for (int round = 1; round <= rounds; round++) {
		double ms[3];
		for (int way = 0; way < 3; way++) {
			for (int i = 0; i < n; i++) {
				if (bpf_map_update_elem(fd, keys + (size_t)i * KEY_SIZE, values, BPF_ANY)) {
					perror("bpf_map_update_elem");
					return 1;
				}
			}
			double start = cpu_ms();
			int err = 0;
			__u32 count;
			if (way == 0) {
				for (int i = 0; i < n && !err; i++)
					err = bpf_map_delete_elem(fd, keys + (size_t)i * KEY_SIZE);
			} else if (way == 1) {
				count = n;
				err = bpf_map_delete_batch(fd, keys, &count, NULL);
			} else {
				unsigned char token[KEY_SIZE];
				count = ENTRIES;
				err = bpf_map_lookup_and_delete_batch(fd, NULL, token, out_keys, out_values, &count, NULL);
				if (err && errno == ENOENT)
					err = 0; /* the end of the map */
			}
			ms[way] = cpu_ms() - start;
			unsigned left = count_keys(fd);
			if (err || left) {
				fprintf(stderr, "%s: %s, %u keys left\n", ways[way], err ? strerror(errno) : "ok", left);
				return 1;
			}
		}
		printf("| %d | %d | %.2f ms | %.2f ms | %.2f ms |\n", round, n, ms[0], ms[1], ms[2]);
	}
	return 0;
}

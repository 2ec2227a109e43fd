/* Two facts of the nested test host that bear on every benchmark
 * (bench/RESULTS.md, "the queue watch's clock reads"):
 *   costs         what a clock read, RDTSC and PAUSE cost on this CPU;
 *   load SECS     a CPU loop and a loop of clock reads, each for SECS
 *                 seconds, printing how many turns each made (run it on
 *                 one CPU while the other is idle or runs `spin`);
 *   spin clock|pause SECS
 *                 a busy loop for SECS seconds that reads the clock after
 *                 each turn, or pauses and reads it every 1000 turns.
 * Usage: cpuprobe costs | load SECS | spin clock|pause SECS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void cost(const char *what, int kind)
{
	const int n = 20000;
	uint64_t t0 = ns(CLOCK_MONOTONIC);

	for (int i = 0; i < n; i++) {
		if (kind == 0)
			ns(CLOCK_MONOTONIC);
		else if (kind == 1)
			ns(CLOCK_MONOTONIC_COARSE);
		else if (kind == 2)
			(void)__rdtsc();
		else
			__builtin_ia32_pause();
	}
	printf("%-32s %7.3f us per call\n", what,
	    (double)(ns(CLOCK_MONOTONIC) - t0) / 1e3 / n);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "costs") == 0) {
		cost("clock_gettime(MONOTONIC)", 0);
		cost("clock_gettime(MONOTONIC_COARSE)", 1);
		cost("rdtsc", 2);
		cost("pause", 3);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "load") == 0) {
		uint64_t secs = strtoull(argv[2], NULL, 10) * 1000000000u;
		uint64_t t0 = ns(CLOCK_MONOTONIC), turns = 0;
		volatile uint64_t x = 1;

		while (ns(CLOCK_MONOTONIC) - t0 < secs) {
			for (int i = 0; i < 1000; i++)
				x = x * 6364136223846793005u + 1;
			turns++;
		}
		printf("cpu loop: %llu turns of 1000 steps\n",
		    (unsigned long long)turns);
		t0 = ns(CLOCK_MONOTONIC);
		turns = 0;
		while (ns(CLOCK_MONOTONIC) - t0 < secs)
			turns++;
		printf("clock reads: %llu\n", (unsigned long long)turns);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "spin") == 0) {
		uint64_t end = ns(CLOCK_MONOTONIC) +
		    strtoull(argv[3], NULL, 10) * 1000000000u;

		if (strcmp(argv[2], "clock") == 0) {
			while (ns(CLOCK_MONOTONIC) < end)
				;
			return 0;
		}
		do {
			for (int i = 0; i < 1000; i++)
				__builtin_ia32_pause();
		} while (ns(CLOCK_MONOTONIC) < end);
		return 0;
	}
	fprintf(stderr, "usage: cpuprobe costs | load SECS | "
	    "spin clock|pause SECS\n");
	return 2;
}

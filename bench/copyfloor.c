/* The floor under bench/blk.sh's sequential jobs: what one CPU of the
 * test host needs to move 1 MiB between a file on tmpfs and anonymous
 * memory (as a VMM's I/O thread moves it between an image and guest RAM).
 * Each method copies `reps` MiB and prints microseconds per MiB:
 *   pread, pwrite     the kernel's copy (what bhyve and QEMU both use);
 *   mmap-memcpy-read  glibc memcpy from a shared mapping of the file;
 *   mmap-memcpy-write glibc memcpy into it;
 * and then, with every page of the mapping already mapped (as for a VMM
 * that has kept the mapping for a while; the two above also take the
 * page faults of a first touch):
 *   warm-memcpy-read, warm-memcpy-write   glibc memcpy again;
 *   warm-movsb-read, warm-movsb-write     a plain `rep movsb`;
 *   warm-movq-read, warm-movq-write       an unrolled loop of 8-byte
 *                     moves, as the kernel copies on CPUs without fast
 *                     `rep movsb` (the test host's).
 * Usage: copyfloor FILE [REPS] (FILE is created, 256 MiB, then removed). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1u << 20)
#define FILE_MIB	256u
#define BUF_MIB		64u

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum method { PREAD, PWRITE, MAP_READ, MAP_WRITE, WARM_READ, WARM_WRITE,
	MOVSB_READ, MOVSB_WRITE, MOVQ_READ, MOVQ_WRITE };
static const char *const names[] = { "pread", "pwrite", "mmap-memcpy-read",
	"mmap-memcpy-write", "warm-memcpy-read", "warm-memcpy-write",
	"warm-movsb-read", "warm-movsb-write", "warm-movq-read",
	"warm-movq-write" };

/* 8-byte loads and stores, unrolled, not vectorized: the shape of the
 * kernel's copy on a CPU without fast `rep movsb` */
__attribute__((optimize("no-tree-vectorize")))
static void movq(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;

	for (size_t i = 0; i < n / 8; i += 4) {
		uint64_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
		d[i] = a;
		d[i + 1] = b;
		d[i + 2] = c;
		d[i + 3] = e;
	}
}

static void movsb(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb"
	    : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

int main(int argc, char **argv)
{
	unsigned reps = argc > 2 ? (unsigned)atoi(argv[2]) : 256;
	int fd;
	char *buf, *map;

	if (argc < 2 || reps == 0) {
		fprintf(stderr, "usage: copyfloor FILE [REPS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)FILE_MIB * MIB) != 0) {
		perror(argv[1]);
		return 1;
	}
	buf = mmap(NULL, (size_t)BUF_MIB * MIB, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	map = mmap(NULL, (size_t)FILE_MIB * MIB, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED || map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(buf, 0x5a, (size_t)BUF_MIB * MIB);
	for (unsigned i = 0; i < FILE_MIB; i++)	/* the file in page cache */
		if (pwrite(fd, buf, MIB, (off_t)i * MIB) != (ssize_t)MIB) {
			perror("pwrite");
			return 1;
		}
	for (int m = PREAD; m <= MOVQ_WRITE; m++) {
		double t;

		if (m == WARM_READ)	/* every page mapped, writable */
			for (size_t o = 0; o < (size_t)FILE_MIB * MIB; o += 4096)
				((volatile char *)map)[o] = map[o];
		t = now();

		for (unsigned r = 0; r < reps; r++) {
			size_t off = (size_t)(r % FILE_MIB) * MIB;
			char *b = buf + (size_t)(r % BUF_MIB) * MIB;
			ssize_t n = MIB;

			switch (m) {
			case PREAD:
				n = pread(fd, b, MIB, (off_t)off);
				break;
			case PWRITE:
				n = pwrite(fd, b, MIB, (off_t)off);
				break;
			case MAP_READ:
			case WARM_READ:
				memcpy(b, map + off, MIB);
				break;
			case MAP_WRITE:
			case WARM_WRITE:
				memcpy(map + off, b, MIB);
				break;
			case MOVSB_READ:
				movsb(b, map + off, MIB);
				break;
			case MOVSB_WRITE:
				movsb(map + off, b, MIB);
				break;
			case MOVQ_READ:
				movq(b, map + off, MIB);
				break;
			default:
				movq(map + off, b, MIB);
				break;
			}
			if (n != (ssize_t)MIB) {
				perror(names[m]);
				return 1;
			}
		}
		t = now() - t;
		printf("%-18s %6.0f us per MiB\n", names[m], t / reps * 1e6);
	}
	unlink(argv[1]);
	return 0;
}

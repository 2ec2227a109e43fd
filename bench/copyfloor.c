/* The floor under bench/blk.sh's sequential jobs: what one CPU of the
 * test host needs to move 1 MiB between a file on tmpfs and anonymous
 * memory (as a VMM's I/O thread moves it between an image and guest RAM).
 * Each method copies `reps` MiB and prints microseconds per MiB:
 *   pread, pwrite     the kernel's copy (what bhyve and QEMU both use);
 *   mmap-memcpy-read  glibc memcpy from a shared mapping of the file;
 *   mmap-memcpy-write glibc memcpy into it.
 * Usage: copyfloor FILE [REPS] (FILE is created, 256 MiB, then removed). */
#define _GNU_SOURCE
#include <fcntl.h>
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

enum method { PREAD, PWRITE, MAP_READ, MAP_WRITE };
static const char *const names[] = { "pread", "pwrite", "mmap-memcpy-read",
	"mmap-memcpy-write" };

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
	for (int m = PREAD; m <= MAP_WRITE; m++) {
		double t = now();

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
				memcpy(b, map + off, MIB);
				break;
			default:
				memcpy(map + off, b, MIB);
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

/* MC146818 real-time clock and CMOS memory at ports 0x70/0x71.  The clock
 * follows the host's clock (local time, or UTC with -u) plus whatever
 * offset the guest sets; CMOS holds the memory sizes firmware and guests
 * read. */
#ifndef BHYVE_RTC_H
#define BHYVE_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t nvram[128];
	bool utc;
	int64_t offset;		/* guest time - host time, seconds */
	time_t (*now)(void);	/* host clock, replaceable for tests */
};

void rtc_setup(struct rtc *r, bool utc, uint64_t lowmem, uint64_t highmem);
uint8_t rtc_read(struct rtc *r, unsigned port);
void rtc_write(struct rtc *r, unsigned port, uint8_t val);
/* Register ports 0x70/0x71 for a VM-wide instance from the config. */
int rtc_init(uint64_t lowmem, uint64_t highmem);

#endif

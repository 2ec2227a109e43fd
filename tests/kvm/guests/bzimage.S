/* A minimal bzImage: a real-mode setup header the loader parses, and
 * 32-bit protected-mode code (run at 0x100000) that prints what the boot
 * protocol handed it, then resets through the keyboard controller. */
#define PM(x) ((x) - pm_start + 0x100000)
	.code16
	.text
	.org 0x1f1
	.byte 1				/* setup_sects */
	.org 0x1fe
	.word 0xaa55
	.byte 0xeb, 0x66		/* jump: header ends at 0x268 */
	.ascii "HdrS"
	.word 0x020f			/* boot protocol 2.15 */
	.org 0x211
	.byte 0x01			/* loadflags: LOADED_HIGH */
	.org 0x214
	.long 0x100000			/* code32_start */
	.org 0x22c
	.long 0x37ffffff		/* initrd_addr_max */
	.org 0x238
	.long 2047			/* cmdline_size */
	.org 0x258
	.quad 0x100000			/* pref_address */
	.org 0x260
	.long 0x100000			/* init_size */
	.org 0x400
	.code32
pm_start:
	mov %esi, %edi			/* boot_params */
	mov $0x80000, %esp
	mov $PM(msg_bz), %esi
	call puts
	mov 0x228(%edi), %esi		/* cmd_line_ptr */
	call puts
	mov $PM(msg_rd), %esi
	call puts
	mov 0x21c(%edi), %eax		/* ramdisk_size */
	call puthex
	mov $PM(msg_e820), %esi
	call puts
	movzbl 0x1e8(%edi), %eax	/* e820_entries */
	call puthex
	mov $PM(msg_loader), %esi
	call puts
	movzbl 0x210(%edi), %eax	/* type_of_loader */
	call puthex
	mov $PM(msg_end), %esi
	call puts
	mov $0xfe, %al			/* pulse reset via the 8042 */
	out %al, $0x64
	hlt
#include "common32.inc"
msg_bz:     .asciz "BZ cmdline="
msg_rd:     .asciz " initrd="
msg_e820:   .asciz " e820="
msg_loader: .asciz " loader="
msg_end:    .asciz " END\r\n"

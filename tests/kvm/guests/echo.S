/* Serial input test (PVH): echoes received bytes in brackets until 'q',
 * then resets.  Polls the line status register. */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	lea msg_ready, %esi
	call puts
1:	mov $0x3fd, %dx
	in %dx, %al
	test $0x01, %al			/* data ready */
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
	cmp $'q', %al
	je 2f
	push %eax
	mov $'[', %al
	call putc
	pop %eax
	call putc
	mov $']', %al
	call putc
	jmp 1b
2:	lea msg_end, %esi
	call puts
	jmp reset_cf9
#include "common32.inc"
	.data
msg_ready: .asciz "ECHO READY\r\n"
msg_end:   .asciz " END\r\n"

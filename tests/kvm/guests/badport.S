/* Unemulated port test (PVH): reads port 0x1234 (all ones when not
 * emulated), prints it, then resets.  With -e bhyve must stop instead. */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	mov $0x1234, %dx
	in %dx, %al
	movzbl %al, %eax
	lea msg, %esi
	call puts
	call puthex
	lea msg_end, %esi
	call puts
	jmp reset_cf9
#include "common32.inc"
	.data
msg:     .asciz "PORT 1234="
msg_end: .asciz " END\r\n"

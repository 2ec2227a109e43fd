/* Unemulated port test (PVH): reads port 0x1234 (all ones when not
 * emulated), prints it, then resets.  With -e bhyve must stop instead. */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long start
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
	mov $0x06, %al
	mov $0xcf9, %dx
	out %al, %dx
	hlt
#include "common32.inc"
	.data
msg:     .asciz "PORT 1234="
msg_end: .asciz " END\r\n"

/* Queued (coalesced) console writes: bursts to the transmit holding
 * register without polling the line status, more than KVM's ring holds,
 * a divisor-latch write in between that must not be transmitted, and a
 * tail written just before the CPU stops for good, which only bhyve's
 * periodic flush can deliver. */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	lea msg_head, %esi
	call puts_nopoll
	mov $30, %ecx			/* 300 bytes: over a ring's worth */
1:	lea msg_digits, %esi
	call puts_nopoll
	loop 1b
	/* Divisor latch: LCR.DLAB=1, DLL='!', read it back, DLAB=0. */
	mov $0x3fb, %dx
	mov $0x83, %al
	out %al, %dx
	mov $0x3f8, %dx
	mov $'!', %al
	out %al, %dx
	in %dx, %al
	movzbl %al, %ebx
	mov $0x3fb, %dx
	mov $0x03, %al
	out %al, %dx
	lea msg_dll, %esi
	call puts_nopoll
	mov %ebx, %eax
	call puthex
	lea msg_tail, %esi
	call puts_nopoll
	cli
2:	hlt
	jmp 2b

/* puts_nopoll: NUL-terminated string at %esi, straight to THR */
puts_nopoll:
	push %eax
	push %edx
	mov $0x3f8, %dx
3:	lodsb
	test %al, %al
	jz 4f
	out %al, %dx
	jmp 3b
4:	pop %edx
	pop %eax
	ret
#include "common32.inc"
	.data
msg_head:   .asciz "BURST "
msg_digits: .asciz "0123456789"
msg_dll:    .asciz " DLL="
msg_tail:   .asciz " TAIL\r\n"

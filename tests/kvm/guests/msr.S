/* Unknown MSR test (PVH): reads MSR 0x1234, which no CPU has, prints the
 * value and resets.  With -w bhyve answers 0; without it the read raises
 * #GP, which with no IDT ends in a triple fault (status 3). */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	lea msg, %esi
	call puts
	mov $0x00001234, %ecx
	mov $0x12345678, %eax
	rdmsr
	call puthex
	lea msg_end, %esi
	call puts
	jmp reset_cf9
#include "common32.inc"
	.data
msg:     .asciz "MSR="
msg_end: .asciz " END\r\n"

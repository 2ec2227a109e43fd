/* Triple fault test (PVH, 32-bit): an IDT with limit 0, then int3.  The
 * exception cannot be delivered, nor the double fault: the CPU shuts
 * down and bhyve exits with status 3. */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	lea msg, %esi
	call puts
	lidt idt0
	int3
	hlt
#include "common32.inc"
	.data
idt0:	.word 0
	.long 0
msg:	.asciz "TRIPLE now\r\n"

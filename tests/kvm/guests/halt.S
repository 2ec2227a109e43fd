/* Halt (PVH): prints a marker, then halts with interrupts disabled; with
 * every vCPU halted so (the others are never started) bhyve ends with
 * status 2. */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	lea msg, %esi
	call puts
	cli
1:	hlt
	jmp 1b
#include "common32.inc"
	.data
msg: .asciz "HALT now\r\n"

/* ACPI fixed hardware and HPET (PVH): reads the HPET capabilities, starts
 * its counter and checks that it advances, checks that the PM timer
 * advances, turns ACPI on through the SMI command port, prints PM1
 * control, then requests S5 (exit status 1). */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	lea msg_cap, %esi
	call puts
	mov 0xfed00000, %eax		/* HPET capabilities, low half */
	call puthex
	movl $1, 0xfed00010		/* ENABLE_CNF */
	mov 0xfed000f0, %ebx		/* main counter */
	call delay
	mov 0xfed000f0, %eax
	sub %ebx, %eax
	lea msg_hc, %esi
	call puts
	call nonzero
	mov $0x408, %dx			/* PM timer */
	in %dx, %eax
	mov %eax, %ebx
	call delay
	in %dx, %eax
	sub %ebx, %eax
	lea msg_tmr, %esi
	call puts
	call nonzero
	mov $0xa0, %al			/* ACPI enable */
	out %al, $0xb2
	mov $0x404, %dx
	xor %eax, %eax
	in %dx, %ax
	lea msg_cnt, %esi
	call puts
	call puthex
	lea msg_end, %esi
	call puts
	mov $0x3400, %ax		/* SLP_TYP 5 | SLP_EN */
	out %ax, %dx
	lea msg_alive, %esi		/* not reached */
	call puts
	jmp reset_cf9
/* nonzero: print 1 when %eax != 0, else 0 */
nonzero:
	test %eax, %eax
	setnz %al
	add $'0', %al
	jmp putc
delay:
	push %ecx
	mov $200000, %ecx
1:	loop 1b
	pop %ecx
	ret
#include "common32.inc"
	.data
msg_cap:   .asciz "PM HPET="
msg_hc:    .asciz " HC="
msg_tmr:   .asciz " TMR="
msg_cnt:   .asciz " CNT="
msg_end:   .asciz " END\r\n"
msg_alive: .asciz "STILL RUNNING\r\n"

/* Interrupt test (PVH): remaps the 8259 PIC to vectors 0x20-0x2f, unmasks
 * IRQ 4, enables the COM1 transmit-empty interrupt and halts with
 * interrupts on.  The handler prints a message, reads IIR and resets.
 * Passing proves UART interrupts reach the guest through KVM. */
#include "pvhnote.inc"
	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	/* IDT entry for vector 0x24 (IRQ 4) */
	lea handler, %eax
	mov %ax, idt + 0x24 * 8
	movw $0x10, idt + 0x24 * 8 + 2
	movw $0x8e00, idt + 0x24 * 8 + 4
	shr $16, %eax
	mov %ax, idt + 0x24 * 8 + 6
	lidt idtr
	/* PIC: ICW1..4, master at 0x20, slave at 0x28 */
	mov $0x11, %al
	out %al, $0x20
	out %al, $0xa0
	mov $0x20, %al
	out %al, $0x21
	mov $0x28, %al
	out %al, $0xa1
	mov $0x04, %al
	out %al, $0x21
	mov $0x02, %al
	out %al, $0xa1
	mov $0x01, %al
	out %al, $0x21
	out %al, $0xa1
	mov $0xef, %al			/* unmask IRQ 4 only */
	out %al, $0x21
	mov $0xff, %al
	out %al, $0xa1
	lea msg_wait, %esi
	call puts
	mov $0x08, %al			/* MCR: OUT2 */
	mov $0x3fc, %dx
	out %al, %dx
	mov $0x02, %al			/* IER: transmit holding empty */
	mov $0x3f9, %dx
	out %al, %dx
	sti
1:	hlt
	jmp 1b
handler:
	mov $0x3fa, %dx			/* IIR: expect 0x02 (THRE) */
	in %dx, %al
	movzbl %al, %eax
	push %eax
	mov $0x00, %al			/* IER off */
	mov $0x3f9, %dx
	out %al, %dx
	lea msg_irq, %esi
	call puts
	pop %eax
	call puthex
	lea msg_end, %esi
	call puts
	jmp reset_cf9
#include "common32.inc"
	.data
	.p2align 3
idtr:	.word 0x30 * 8 - 1
	.long idt
msg_wait: .asciz "IRQ waiting\r\n"
msg_irq:  .asciz "IRQ4 delivered iir="
msg_end:  .asciz " END\r\n"
	.bss
	.p2align 3
idt:	.space 0x30 * 8

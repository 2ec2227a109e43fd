/* 64-bit ELF without a PVH note: entered in long mode at e_entry with the
 * zero page in %rsi.  Prints the command line, then resets through port
 * 0x92 (fast reset): bhyve exit status 0. */
	.text
	.code64
	.globl start
start:
	mov $0x80000, %rsp
	mov %rsi, %rdi
	lea msg(%rip), %rsi
	call puts64
	mov 0x228(%rdi), %esi
	call puts64
	lea msg_end(%rip), %rsi
	call puts64
	in $0x92, %al
	or $1, %al
	out %al, $0x92
	hlt
puts64:
	lodsb
	test %al, %al
	jz 2f
	mov %al, %ah
	mov $0x3fd, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	mov $0x3f8, %dx
	mov %ah, %al
	out %al, %dx
	jmp puts64
2:	ret
	.data
msg:	.asciz "LONG64 cmdline="
msg_end: .asciz " END\r\n"

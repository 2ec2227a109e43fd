/* PVH entry test: prints the start_info magic, the command line and the
 * module (initrd) size, reads the CMOS memory size and CPUID, then resets
 * through port 0xCF9 (bhyve exit status 0). */
#include "pvhnote.inc"

	.text
	.code32
	.globl start
start:
	mov $0x80000, %esp
	mov %ebx, %edi			/* start_info */
	lea msg_magic, %esi
	call puts
	mov (%edi), %eax
	call puthex
	lea msg_cmd, %esi
	call puts
	mov 24(%edi), %esi		/* cmdline_paddr */
	call puts
	lea msg_mods, %esi
	call puts
	mov 12(%edi), %eax		/* nr_modules */
	call puthex
	test %eax, %eax
	jz 1f
	mov 16(%edi), %ebx		/* modlist_paddr */
	lea msg_size, %esi
	call puts
	mov 8(%ebx), %eax		/* module size */
	call puthex
	lea msg_data, %esi
	call puts
	mov (%ebx), %esi		/* module contents (text) */
	mov 8(%ebx), %ecx
2:	lodsb
	call putc
	loop 2b
1:	/* CMOS 0x34/0x35: memory above 16 MiB in 64 KiB units */
	lea msg_cmos, %esi
	call puts
	mov $0x35, %al
	out %al, $0x70
	in $0x71, %al
	shl $8, %eax
	mov $0x34, %al
	out %al, $0x70
	in $0x71, %al
	and $0xffff, %eax
	call puthex
	/* CPUID: hypervisor bit and the KVM signature */
	lea msg_hv, %esi
	call puts
	mov $1, %eax
	cpuid
	mov %ecx, %eax
	shr $31, %eax
	call puthex
	mov $0x40000000, %eax
	cpuid
	mov %ebx, sig
	mov %ecx, sig+4
	mov %edx, sig+8
	lea msg_sig, %esi
	call puts
	lea sig, %esi
	call puts
	lea msg_end, %esi
	call puts
	jmp reset_cf9

#include "common32.inc"

	.data
msg_magic: .asciz "PVH magic="
msg_cmd:   .asciz " cmdline="
msg_mods:  .asciz " modules="
msg_size:  .asciz " size="
msg_data:  .asciz " data="
msg_cmos:  .asciz " cmos16m="
msg_hv:    .asciz " hv="
msg_sig:   .asciz " sig="
msg_end:   .asciz " END\r\n"
sig:       .space 16

/*
 * fiber.c: a coroutine's context of our own (twin of fiber.rs): the stack
 * pointer it was switched away at, its callee-saved registers pushed
 * below it. The switch is a few instructions and makes no system call:
 * the signal mask, which swapcontext(3) sets at every switch, is left
 * alone (no coroutine changes it). x86-64 and aarch64.
 */
#include <stdint.h>

#include "coro.h"
#include "fiber.h"

/* A fiber's context: where its registers were pushed. */
struct fiber {
	void *sp;
};

/*
 * fiber_swap(from, to): push the callee-saved registers, save the stack
 * pointer in from, load to's, pop its registers and return where to was
 * switched away (or to its function, the first time: fiber_make).
 */
#if defined(__x86_64__)
#define FIBER_FRAME 8         /* r15-r12, rbx, rbp, the return address, fn's (0) */
#define FIBER_RET 6
__asm__(
	".text\n"
	".globl fiber_swap\n"
	".type fiber_swap, @function\n"
	"fiber_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, (%rdi)\n"
	"	movq (%rsi), %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size fiber_swap, .-fiber_swap\n");
#elif defined(__aarch64__)
#define FIBER_FRAME 22        /* x19-x28, x29, x30 (the return address), d8-d15, two words unused */
#define FIBER_RET 11
__asm__(
	".text\n"
	".globl fiber_swap\n"
	".type fiber_swap, %function\n"
	"fiber_swap:\n"
	"	sub sp, sp, #176\n"
	"	stp x19, x20, [sp, #0]\n"
	"	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n"
	"	stp x25, x26, [sp, #48]\n"
	"	stp x27, x28, [sp, #64]\n"
	"	stp x29, x30, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	mov x9, sp\n"
	"	str x9, [x0]\n"
	"	ldr x9, [x1]\n"
	"	mov sp, x9\n"
	"	ldp x19, x20, [sp, #0]\n"
	"	ldp x21, x22, [sp, #16]\n"
	"	ldp x23, x24, [sp, #32]\n"
	"	ldp x25, x26, [sp, #48]\n"
	"	ldp x27, x28, [sp, #64]\n"
	"	ldp x29, x30, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	add sp, sp, #176\n"
	"	ret\n"
	".size fiber_swap, .-fiber_swap\n");
#else
#error "fiber.c: a fiber switch for x86-64 and aarch64 only"
#endif

void fiber_swap(void *from, void *to);

/*
 * A context that starts fn on the stack [stack, stack + size): a frame as
 * fiber_swap leaves one, registers zero and fn as the return address,
 * placed so that fn starts with the stack aligned as after a call.
 */
static void fiber_make(void *ctx, char *stack, size_t size, void (*fn)(void))
{
	struct fiber *f = ctx;
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	uintptr_t *sp;
	int i;

	sp = (uintptr_t *)top - FIBER_FRAME;
	for (i = 0; i < FIBER_FRAME; i++)
		sp[i] = 0;
	sp[FIBER_RET] = (uintptr_t)fn;
	f->sp = sp;
}

const struct co_switch co_fiber = {
	.ctx_size = 16,
	.make = fiber_make,
	.swap = fiber_swap,
};

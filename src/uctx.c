/*
 * uctx.c: a coroutine's context as glibc's ucontext_t (twin of uctx.rs):
 * made by getcontext(3) and makecontext(3), switched by swapcontext(3),
 * which sets the signal mask as it switches: an rt_sigprocmask(2) each
 * time.
 */
#include <ucontext.h>

#include "coro.h"
#include "uctx.h"
#include "wrap.h"

/*
 * getcontext(3), then makecontext(3): ctx starts fn on the stack
 * [stack, stack + size); exits on failure.
 */
static void uctx_make(void *ctx, char *stack, size_t size, void (*fn)(void))
{
	ucontext_t *uc = ctx;

	if (getcontext(uc) < 0)
		perr_exit("getcontext");
	uc->uc_stack.ss_sp = stack;
	uc->uc_stack.ss_size = size;
	uc->uc_link = NULL;
	makecontext(uc, fn, 0);
}

/* swapcontext(3): the running context saved in from, to run; exits on failure. */
static void uctx_swap(void *from, void *to)
{
	if (swapcontext(from, to) < 0)
		perr_exit("swapcontext");
}

const struct co_switch co_ucontext = {
	.ctx_size = (sizeof(ucontext_t) + 15) & ~(size_t)15,
	.make = uctx_make,
	.swap = uctx_swap,
};

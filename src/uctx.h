/*
 * uctx.h: a coroutine's context as glibc's ucontext_t, switched by
 * swapcontext(3) (twin of uctx.rs). Used by coroutine_server.c.
 */
#ifndef UCTX_H
#define UCTX_H

#include "coro.h"

extern const struct co_switch co_ucontext;

#endif

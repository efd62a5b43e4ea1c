/*
 * fiber.h: a coroutine's context of our own, its stack pointer, switched
 * by a few instructions that make no system call (twin of fiber.rs). Used
 * by fiber_server.c.
 */
#ifndef FIBER_H
#define FIBER_H

#include "coro.h"

extern const struct co_switch co_fiber;

#endif

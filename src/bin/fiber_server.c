/*
 * fiber_server.c: one thread, a coroutine per connection, switched by a
 * few instructions of our own, no system call (twin of fiber_server.rs).
 */
#include "../coserver.h"
#include "../fiber.h"

#define USAGE "[PORT [STACK_KB]]\n  listen on 0.0.0.0:PORT (default 8000), one thread, a coroutine per connection on a stack of STACK_KB KiB (default 64), switched by our own fiber_swap"

int main(int argc, char *argv[])
{
	return co_server(argc, argv, USAGE, &co_fiber);
}

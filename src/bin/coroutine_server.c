/*
 * coroutine_server.c: one thread, a coroutine per connection, switched by
 * swapcontext(3) (twin of coroutine_server.rs).
 */
#include "../coserver.h"
#include "../uctx.h"

#define USAGE "[PORT [STACK_KB]]\n  listen on 0.0.0.0:PORT (default 8000), one thread, a coroutine per connection on a stack of STACK_KB KiB (default 64), switched by swapcontext"

int main(int argc, char *argv[])
{
	return co_server(argc, argv, USAGE, &co_ucontext);
}

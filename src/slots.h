/*
 * slots.h: the thread-per-connection servers' slots, one per connection's
 * thread, handed over under a mutex; a main thread that finds none free
 * waits on a condition variable until a thread frees one (twin of
 * slots.rs). Used by the thread and reaper servers.
 */
#ifndef SLOTS_H
#define SLOTS_H

#include <netinet/in.h>
#include <pthread.h>

#define MAXSLOTS 256

/* What one connection's thread needs; connfd == -1 marks a free slot. */
struct s_info {
	struct sockaddr_in cliaddr;
	int connfd;
	long num;             /* reaper: the connection's number, from 1 */
	pthread_t tid;        /* reaper: written by the thread itself when it is done */
};

extern struct s_info ts[MAXSLOTS];

struct s_info *find_slot(void);
void release_slot(struct s_info *info);

#endif

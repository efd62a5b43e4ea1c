/* slots.c: the thread-per-connection servers' slots (twin of slots.rs). */
#include <pthread.h>

#include "slots.h"

struct s_info ts[MAXSLOTS] = { [0 ... MAXSLOTS - 1] = { .connfd = -1 } };

/*
 * Guards the connfd of every slot, the mark that hands a slot over;
 * slot_freed is signalled each time a slot becomes free.
 */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_freed = PTHREAD_COND_INITIALIZER;

/*
 * A free slot; while every slot is busy, wait until a thread frees one
 * (pthread_cond_wait(3)).
 */
struct s_info *find_slot(void)
{
	struct s_info *info = NULL;
	int i;

	pthread_mutex_lock(&slots_lock);
	for (;;) {
		for (i = 0; i < MAXSLOTS && info == NULL; i++)
			if (ts[i].connfd == -1)
				info = &ts[i];
		if (info != NULL)
			break;
		pthread_cond_wait(&slot_freed, &slots_lock);
	}
	pthread_mutex_unlock(&slots_lock);
	return info;
}

/*
 * Mark a slot free, and wake the main thread if it waits for one (no
 * system call when no one waits); its thread no longer touches it.
 */
void release_slot(struct s_info *info)
{
	pthread_mutex_lock(&slots_lock);
	info->connfd = -1;
	pthread_cond_signal(&slot_freed);
	pthread_mutex_unlock(&slots_lock);
}

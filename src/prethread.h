/*
 * prethread.h: the threads a prethreaded server creates before its
 * clients come, the meter of the connections each took, and the main
 * thread's wait for SIGTERM or SIGINT, which stops the server (twin of
 * prethread.rs). Used by the prethread, prethread_queue and reuseport
 * servers.
 */
#ifndef PRETHREAD_H
#define PRETHREAD_H

/* The threads a server starts at most. */
#define MAXTHREADS 64

int threads_online(int min);
void prethread_init(void);
int prethread_start(int nthreads, void *(*do_work)(void *), const char *prog);
void prethread_served(int i);
_Noreturn void prethread_wait(void);
void prethread_check(void);
void prethread_poll(int fd);

#endif

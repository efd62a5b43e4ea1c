/*
 * prefork.h: the children a preforked server creates before its clients
 * come, replaced when they die, stopped on SIGTERM or SIGINT, and the
 * meter of the connections each took (twin of prefork.rs). Used by the
 * prefork, prefork_lock, prefork_mutex, prefork_passfd and herd servers.
 */
#ifndef PREFORK_H
#define PREFORK_H

#include <netinet/in.h>
#include <signal.h>
#include <sys/types.h>

/* The children a server makes when CHILDREN is not given, and at most. */
#define CHILDREN_DEFAULT 4
#define MAXCHILDREN 64

/* Seconds between two tries at a fork that failed. */
#define FORK_RETRY_SEC 1

struct prefork {
	pid_t parent;
	int listenfd;
	int nchildren;
	pid_t pid[MAXCHILDREN];       /* 0: no child in this slot */
	long *count;                  /* connections per slot, shared with the children */
	void (*child_main)(struct prefork *pf, int i);  /* never returns */
	void *arg;                    /* the program's own: its lock, its pipes */
	sigset_t oldmask;             /* the mask before SIGTERM, SIGINT, SIGCHLD were blocked */
};

void prefork_init(struct prefork *pf, int listenfd, int nchildren,
    void (*child_main)(struct prefork *, int), void *arg);
long *prefork_count(struct prefork *pf, int i);
void prefork_counted(struct prefork *pf, int i);
void prefork_check(struct prefork *pf);
int prefork_stopping(void);
pid_t child_make(struct prefork *pf, int i);
int child_ended(struct prefork *pf, pid_t pid, int status);
int prefork_refill(struct prefork *pf);
_Noreturn void prefork_stop(struct prefork *pf);
_Noreturn void prefork_wait(struct prefork *pf);

#endif

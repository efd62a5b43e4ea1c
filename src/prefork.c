/* prefork.c: the children of the preforked servers (twin of prefork.rs). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prefork.h"
#include "wrap.h"

static volatile sig_atomic_t stopping;

/* SIGTERM or SIGINT: the parent stops its children, and then itself. */
static void do_stop(int num)
{
	(void)num;
	stopping = 1;
}

/* SIGCHLD: nothing to do here; it ends the parent's wait, which reaps. */
static void do_sigchild(int num)
{
	(void)num;
}

/*
 * The children's slots, empty; their meter in a shared anonymous mapping
 * (mmap(2)), which every child writes its own count into; the handlers for
 * SIGTERM, SIGINT and SIGCHLD; and those three blocked, so that they come
 * only while the parent waits for them (ppoll(2) unblocks them as it
 * sleeps): none is lost between a check and the wait.
 */
void prefork_init(struct prefork *pf, int listenfd, int nchildren,
    void (*child_main)(struct prefork *, int), void *arg)
{
	struct sigaction newact;
	sigset_t set;

	memset(pf, 0, sizeof(*pf));
	pf->parent = getpid();
	pf->listenfd = listenfd;
	pf->nchildren = nchildren;
	pf->child_main = child_main;
	pf->arg = arg;
	pf->count = mmap(NULL, MAXCHILDREN * sizeof(long), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pf->count == MAP_FAILED)
		perr_exit("mmap");

	memset(&newact, 0, sizeof(newact));
	newact.sa_handler = do_stop;
	sigemptyset(&newact.sa_mask);
	newact.sa_flags = 0;
	sigaction(SIGTERM, &newact, NULL);
	sigaction(SIGINT, &newact, NULL);
	newact.sa_handler = do_sigchild;
	sigaction(SIGCHLD, &newact, NULL);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &pf->oldmask);
}

/*
 * Slot i's count of connections, in the shared mapping; abort(3), with a
 * message, when i is no slot.
 */
long *prefork_count(struct prefork *pf, int i)
{
	if (i < 0 || i >= MAXCHILDREN) {
		fprintf(stderr, "prefork: no slot %d\n", i);
		abort();
	}
	return &pf->count[i];
}

/* Slot i's count, one more: a connection taken. */
void prefork_counted(struct prefork *pf, int i)
{
	(*prefork_count(pf, i))++;
}

/*
 * Take SIGTERM, SIGINT or SIGCHLD if one is pending (ppoll(2) with no
 * descriptor and no wait). A ppoll that finds a descriptor ready returns
 * without taking the signals it unblocks: a parent whose listener stays
 * readable (a client it cannot accept, out of descriptors) calls this.
 */
void prefork_check(struct prefork *pf)
{
	struct timespec zero = {0, 0};

	ppoll(NULL, 0, &zero, &pf->oldmask);
}

/* Whether SIGTERM or SIGINT has come. */
int prefork_stopping(void)
{
	return stopping;
}

/*
 * fork(2) the child of slot i. The child takes the default action for
 * SIGTERM again, ignores SIGINT (a Ctrl-C reaches the whole group: the
 * parent stops the children), unblocks the signals, asks for SIGTERM when
 * its parent dies (prctl(2) PR_SET_PDEATHSIG: a parent killed leaves no
 * child serving behind it), and runs child_main. Returns the child's pid,
 * or -1, said on stderr, when fork fails: the slot stays empty.
 */
pid_t child_make(struct prefork *pf, int i)
{
	pid_t pid;

	if ((pid = fork()) < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &pf->oldmask, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != pf->parent)  /* it died before prctl */
			exit(0);
		pf->child_main(pf, i);
		_exit(1);                     /* not reached */
	}
	pf->pid[i] = pid;
	return pid;
}

/*
 * The child pid has ended, with status (from wait(2)): its slot is
 * emptied and its end said on stderr. Returns the slot, -1 if pid is not
 * one of the children.
 */
int child_ended(struct prefork *pf, pid_t pid, int status)
{
	int i;

	for (i = 0; i < pf->nchildren; i++)
		if (pf->pid[i] == pid)
			break;
	if (i == pf->nchildren)
		return -1;
	pf->pid[i] = 0;
	if (WIFSIGNALED(status))
		fprintf(stderr, "child %d: killed by signal %d\n", i, WTERMSIG(status));
	else
		fprintf(stderr, "child %d: exited with status %d\n", i, WEXITSTATUS(status));
	return i;
}

/* A child for every empty slot; returns how many are still empty. */
int prefork_refill(struct prefork *pf)
{
	int i, empty = 0;

	for (i = 0; i < pf->nchildren; i++)
		if (pf->pid[i] == 0 && child_make(pf, i) < 0)
			empty++;
	return empty;
}

/*
 * SIGTERM to each child and a wait for it, one after the other (SIGCHLD
 * stays blocked), the meter (one line per child: the connections its slot
 * took), and exit 0.
 */
_Noreturn void prefork_stop(struct prefork *pf)
{
	int i;

	for (i = 0; i < pf->nchildren; i++) {
		if (pf->pid[i] <= 0)
			continue;
		kill(pf->pid[i], SIGTERM);
		waitpid(pf->pid[i], NULL, 0);
	}
	for (i = 0; i < pf->nchildren; i++)
		printf("child %d: %ld connections\n", i, *prefork_count(pf, i));
	exit(0);
}

/*
 * The parent's life: a child in every slot, and then, until SIGTERM or
 * SIGINT, the children that end reaped (waitpid(2) WNOHANG) and made
 * again; between two rounds, a wait for a signal (ppoll(2), no descriptor),
 * a second at most while a slot is empty (its fork failed).
 */
_Noreturn void prefork_wait(struct prefork *pf)
{
	struct timespec retry = {FORK_RETRY_SEC, 0};
	pid_t pid;
	int status;

	for (;;) {
		if (stopping)
			prefork_stop(pf);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			child_ended(pf, pid, status);
		if (ppoll(NULL, 0, prefork_refill(pf) > 0 ? &retry : NULL, &pf->oldmask) < 0 &&
		    errno != EINTR)
			perr_exit("ppoll");
	}
}

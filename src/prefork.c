/* prefork.c: the children of the preforked servers (twin of prefork.rs). */
#include <errno.h>
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

/*
 * The children's slots, empty; their meter in a shared anonymous mapping
 * (mmap(2)), which every child writes its own count into; and the handler
 * for SIGTERM and SIGINT, without SA_RESTART, so that they interrupt the
 * parent's wait.
 */
void prefork_init(struct prefork *pf, int listenfd, int nchildren,
    void (*child_main)(struct prefork *, int), void *arg)
{
	struct sigaction newact;

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
}

/* Whether SIGTERM or SIGINT has come. */
int prefork_stopping(void)
{
	return stopping;
}

/*
 * fork(2) the child of slot i, tried FORK_TRIES times a second apart; the
 * child takes the default action for SIGTERM and SIGINT again, asks for
 * SIGTERM when its parent dies (prctl(2) PR_SET_PDEATHSIG: a parent
 * killed leaves no child serving behind it), and runs child_main.
 * Returns the child's pid, or -1 when no child could be made.
 */
pid_t child_make(struct prefork *pf, int i)
{
	pid_t pid;
	int tries;

	for (tries = 1; (pid = fork()) < 0; tries++) {
		perror("fork");
		if (tries == FORK_TRIES || stopping) {
			fprintf(stderr, "child %d: not started\n", i);
			return -1;
		}
		sleep(1);
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != pf->parent)  /* it died before prctl */
			exit(0);
		pf->child_main(pf, i);
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

/*
 * SIGTERM to each child and a wait for it, one after the other (so that
 * each SIGCHLD comes after the wait it ends, the same in every run), the
 * meter (one line per child: the connections its slot took), and exit 0.
 */
_Noreturn void prefork_stop(struct prefork *pf)
{
	int i;

	for (i = 0; i < pf->nchildren; i++) {
		if (pf->pid[i] <= 0)
			continue;
		kill(pf->pid[i], SIGTERM);
		while (waitpid(pf->pid[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (i = 0; i < pf->nchildren; i++)
		printf("child %d: %ld connections\n", i, pf->count[i]);
	exit(0);
}

/*
 * The parent's life once its children are made: wait(2) for one to end,
 * and make another in its slot, until SIGTERM or SIGINT.
 */
_Noreturn void prefork_wait(struct prefork *pf)
{
	pid_t pid;
	int i, status;

	for (;;) {
		pid = wait(&status);
		i = pid > 0 ? child_ended(pf, pid, status) : -1;
		if (stopping)
			prefork_stop(pf);
		if (i >= 0)
			child_make(pf, i);
		else if (pid < 0 && errno != EINTR)
			perr_exit("wait");
	}
}

/*
 * accept(2) on a non-blocking listener that poll or epoll said was ready:
 * the connection, a blocking socket; or -1 when there was none after all
 * (another process took it: EAGAIN; or it was reset), or after a pause
 * when out of descriptors or memory (it waits in the queue).
 */
int accept_ready(int listenfd, struct sockaddr_in *cliaddr)
{
	socklen_t cliaddr_len;
	int connfd;

	cliaddr_len = sizeof(*cliaddr);
	if ((connfd = accept(listenfd, (struct sockaddr *)cliaddr, &cliaddr_len)) >= 0)
		return connfd;
	if (errno == EAGAIN || errno == EINTR || accept_transient(errno))
		return -1;
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		perror("accept");
		usleep(ACCEPT_BACKOFF_USEC);
		return -1;
	}
	perr_exit("accept");
}

/*
 * prefork_passfd_server.c: CHILDREN processes forked before the clients
 * come; the parent alone accepts, and passes each connection to an idle
 * child over its socketpair (SCM_RIGHTS); the child writes one byte back
 * when it is idle again (twin of prefork_passfd_server.rs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../accept.h"
#include "../args.h"
#include "../echo.h"
#include "../fdutil.h"
#include "../listen.h"
#include "../prefork.h"
#include "../wrap.h"

#define USAGE "[PORT [CHILDREN]]\n  listen on 0.0.0.0:PORT (default 8000), CHILDREN processes (default 4)\n  forked at start; the parent accepts and passes each connection to one"

/* The parent's side of its children. */
struct passfd {
	int fd[MAXCHILDREN];          /* its end of child i's socketpair, -1: none */
	int busy[MAXCHILDREN];        /* child i is serving a connection */
	int nidle;                    /* children with a socketpair, not busy */
	int childfd;                  /* the child's end, while it is being made */
};

/* Room for one control message carrying one descriptor, aligned for its header. */
union control {
	struct cmsghdr cm;
	char space[CMSG_SPACE(sizeof(int))];
};

/* A msghdr whose one iovec is cliaddr and whose control buffer is control. */
static void conn_msg(struct msghdr *msg, struct sockaddr_in *cliaddr, struct iovec *iov,
    union control *control)
{
	iov->iov_base = cliaddr;
	iov->iov_len = sizeof(*cliaddr);
	memset(msg, 0, sizeof(*msg));
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = control->space;
	msg->msg_controllen = sizeof(control->space);
}

/*
 * sendmsg(2) of connfd (SCM_RIGHTS) and its client's address (the data)
 * over fd; -1 on failure, said on stderr.
 */
static int send_conn(int fd, int connfd, struct sockaddr_in *cliaddr)
{
	union control control;
	struct msghdr msg;
	struct cmsghdr *cmptr;
	struct iovec iov;

	memset(&control, 0, sizeof(control));
	conn_msg(&msg, cliaddr, &iov, &control);
	cmptr = CMSG_FIRSTHDR(&msg);
	cmptr->cmsg_len = CMSG_LEN(sizeof(int));
	cmptr->cmsg_level = SOL_SOCKET;
	cmptr->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmptr), &connfd, sizeof(int));
	while (sendmsg(fd, &msg, 0) < 0) {
		if (errno != EINTR) {
			perror("sendmsg");
			return -1;
		}
	}
	return 0;
}

/*
 * recvmsg(2) of a connection and its client's address from fd, retried
 * after EINTR; -1 at end of file (the parent is gone). Exits when the
 * message holds no descriptor.
 */
static int recv_conn(int fd, struct sockaddr_in *cliaddr)
{
	union control control;
	struct msghdr msg;
	struct cmsghdr *cmptr;
	struct iovec iov;
	ssize_t n;
	int connfd;

	memset(&control, 0, sizeof(control));
	conn_msg(&msg, cliaddr, &iov, &control);
	while ((n = recvmsg(fd, &msg, 0)) < 0)
		if (errno != EINTR)
			perr_exit("recvmsg");
	if (n == 0)
		return -1;
	cmptr = CMSG_FIRSTHDR(&msg);
	if (cmptr == NULL || cmptr->cmsg_len != CMSG_LEN(sizeof(int)) ||
	    cmptr->cmsg_level != SOL_SOCKET || cmptr->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "recvmsg: no descriptor\n");
		exit(1);
	}
	memcpy(&connfd, CMSG_DATA(cmptr), sizeof(int));
	return connfd;
}

/*
 * A child: close what is the parent's (the listener, the parent's end of
 * every socketpair), then take a connection from its socketpair, serve it,
 * write one byte back; for ever, or until the parent is gone.
 */
static void child_main(struct prefork *pf, int i)
{
	struct passfd *ps = pf->arg;
	struct sockaddr_in cliaddr;
	int sockfd = ps->childfd;
	int connfd, j;

	(void)i;
	Close(pf->listenfd);
	for (j = 0; j < pf->nchildren; j++)
		if (ps->fd[j] >= 0)
			Close(ps->fd[j]);
	while ((connfd = recv_conn(sockfd, &cliaddr)) >= 0) {
		echo_upper(connfd, &cliaddr);
		Close(connfd);
		if (Write(sockfd, "", 1) < 0)
			break;
	}
	exit(0);
}

/*
 * socketpair(2) for child i, and the child, which closes the parent's end
 * with the others' (so that each end is held by one process: the end of
 * file one side sees is the other's end); idle once made. -1 when the
 * slot stays empty.
 */
static int child_start(struct prefork *pf, struct passfd *ps, int i)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		return -1;
	}
	ps->fd[i] = sv[0];
	ps->childfd = sv[1];
	if (child_make(pf, i) < 0) {
		Close(sv[0]);
		Close(sv[1]);
		ps->fd[i] = -1;
		return -1;
	}
	Close(sv[1]);
	ps->busy[i] = 0;
	ps->nidle++;
	return 0;
}

/* A child for every empty slot; returns how many are still empty. */
static int passfd_refill(struct prefork *pf, struct passfd *ps)
{
	int i, empty = 0;

	for (i = 0; i < pf->nchildren; i++)
		if (ps->fd[i] < 0 && child_start(pf, ps, i) < 0)
			empty++;
	return empty;
}

/*
 * Child i's socketpair is readable: its byte says it is idle again; end of
 * file (or an error) that it has ended: it is waited for, and its slot
 * emptied, to be filled again.
 */
static void child_ready(struct prefork *pf, struct passfd *ps, int i)
{
	char c;
	int status;

	if (Read(ps->fd[i], &c, 1) == 1) {
		ps->busy[i] = 0;
		ps->nidle++;
		return;
	}
	Close(ps->fd[i]);
	ps->fd[i] = -1;
	if (!ps->busy[i])
		ps->nidle--;
	if (waitpid(pf->pid[i], &status, 0) < 0)
		perr_exit("waitpid");
	child_ended(pf, pf->pid[i], status);
}

/*
 * The listener is readable: accept, and pass the connection to the first
 * idle child, or, if that fails (the child is gone: its end of file comes
 * next), to the next. A child given one is busy until its byte comes back.
 */
static void pass_one(struct prefork *pf, struct passfd *ps)
{
	struct sockaddr_in cliaddr;
	int connfd, i;

	if ((connfd = accept_ready(pf->listenfd, &cliaddr)) < 0) {
		prefork_check(pf);  /* none after all, or a pause */
		return;
	}
	for (i = 0; i < pf->nchildren; i++) {
		if (ps->fd[i] < 0 || ps->busy[i])
			continue;
		ps->busy[i] = 1;
		ps->nidle--;
		if (send_conn(ps->fd[i], connfd, &cliaddr) == 0) {
			prefork_counted(pf, i);
			break;
		}
	}
	Close(connfd);
}

/*
 * The parent's life: a child in every slot, and then, until SIGTERM or
 * SIGINT, ppoll(2) of the children's socketpairs, and of the listener
 * while a child is idle (a second at most while a slot is empty: its fork
 * failed). The signals, blocked, come only while it waits.
 */
static _Noreturn void parent_loop(struct prefork *pf, struct passfd *ps)
{
	struct timespec retry = {FORK_RETRY_SEC, 0};
	struct pollfd pfd[1 + MAXCHILDREN];
	int empty, i;

	for (;;) {
		if (prefork_stopping())
			prefork_stop(pf);
		empty = passfd_refill(pf, ps);
		pfd[0].fd = pf->listenfd;
		pfd[0].events = ps->nidle > 0 ? POLLIN : 0;
		for (i = 0; i < pf->nchildren; i++) {
			pfd[1 + i].fd = ps->fd[i];
			pfd[1 + i].events = POLLIN;
		}
		if (ppoll(pfd, 1 + pf->nchildren, empty > 0 ? &retry : NULL, &pf->oldmask) < 0) {
			if (errno != EINTR)
				perr_exit("ppoll");
			continue;
		}
		for (i = 0; i < pf->nchildren; i++)
			if (pfd[1 + i].revents != 0)
				child_ready(pf, ps, i);
		if (pfd[0].revents != 0 && ps->nidle > 0)
			pass_one(pf, ps);
	}
}

int main(int argc, char *argv[])
{
	struct prefork pf;
	struct passfd ps;
	int listenfd, nchildren, i;
	int port;

	check_args(argc, argv, 2, USAGE);
	port = port_arg(argc, argv, 1, USAGE);
	nchildren = children_arg(argc, argv, 2, CHILDREN_DEFAULT, MAXCHILDREN, USAGE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	listenfd = tcp_listen(port);
	set_nonblock(listenfd);
	signal(SIGPIPE, SIG_IGN);
	memset(&ps, 0, sizeof(ps));
	for (i = 0; i < MAXCHILDREN; i++)
		ps.fd[i] = -1;
	prefork_init(&pf, listenfd, nchildren, child_main, &ps);

	printf("listening on 0.0.0.0:%d\n", port);
	parent_loop(&pf, &ps);
}

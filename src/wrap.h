/* wrap.h: error-checking wrappers around the socket calls (twin of wrap.rs). */
#ifndef WRAP_H
#define WRAP_H

#include <sys/socket.h>
#include <sys/types.h>

#define MAXLINE 8192

/* How long Accept waits after running out of descriptors or memory. */
#define ACCEPT_BACKOFF_USEC 100000

/* Per-caller state for Readline: one per (caller, fd), never shared. */
struct rline {
	int fd;
	ssize_t cnt;          /* bytes left in buf */
	size_t pos;           /* next byte to hand out */
	char buf[MAXLINE];
};

_Noreturn void perr_exit(const char *s);
int Socket(int family, int type, int protocol);
void Bind(int fd, const struct sockaddr *sa, socklen_t salen);
void Listen(int fd, int backlog);
int accept_transient(int e);
int Accept(int fd, struct sockaddr *sa, socklen_t *salenptr);
void Connect(int fd, const struct sockaddr *sa, socklen_t salen);
ssize_t Read(int fd, void *ptr, size_t nbytes);
ssize_t Write(int fd, const void *ptr, size_t nbytes);
void Close(int fd);
ssize_t Readn(int fd, void *vptr, size_t n);
ssize_t Writen(int fd, const void *vptr, size_t n);
void rline_init(struct rline *rl, int fd);
ssize_t Readline(struct rline *rl, void *vptr, size_t maxlen);

#endif

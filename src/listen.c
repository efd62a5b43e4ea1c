/* listen.c: the servers' listening socket (twin of listen.rs). */
#include <arpa/inet.h>
#include <string.h>

#include "listen.h"
#include "wrap.h"

/* setsockopt(2) SOL_SOCKET optname to 1, or exit. */
static void sockopt_on(int fd, int optname)
{
	int opt = 1;

	if (setsockopt(fd, SOL_SOCKET, optname, &opt, sizeof(opt)) < 0)
		perr_exit("setsockopt");
}

/* A socket listening on 0.0.0.0:port; with reuseport, SO_REUSEPORT set before bind. */
static int listen_on(int port, int reuseport)
{
	struct sockaddr_in servaddr;
	int listenfd;

	listenfd = Socket(AF_INET, SOCK_STREAM, 0);
	sockopt_on(listenfd, SO_REUSEADDR);
	if (reuseport)
		sockopt_on(listenfd, SO_REUSEPORT);
	memset(&servaddr, 0, sizeof(servaddr));
	servaddr.sin_family = AF_INET;
	servaddr.sin_port = htons(port);
	servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
	Bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr));
	Listen(listenfd, 128);
	return listenfd;
}

/*
 * A socket listening on 0.0.0.0:port. SO_REUSEADDR lets a restarted server
 * bind at once, while connections of the old one still hold the port.
 */
int tcp_listen(int port)
{
	return listen_on(port, 0);
}

/*
 * The same, with SO_REUSEPORT (socket(7)): every socket of the same user
 * bound so to the port has its own accept queue, and the kernel gives
 * each new connection to one of them, chosen by a hash of its addresses
 * and ports.
 */
int tcp_listen_reuseport(int port)
{
	return listen_on(port, 1);
}

/* listen.c: the servers' listening socket (twin of listen.rs). */
#include <arpa/inet.h>
#include <string.h>

#include "listen.h"
#include "wrap.h"

/*
 * A socket listening on 0.0.0.0:port. SO_REUSEADDR lets a restarted server
 * bind at once, while connections of the old one still hold the port.
 */
int tcp_listen(int port)
{
	struct sockaddr_in servaddr;
	int listenfd, opt = 1;

	listenfd = Socket(AF_INET, SOCK_STREAM, 0);
	if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0)
		perr_exit("setsockopt");
	memset(&servaddr, 0, sizeof(servaddr));
	servaddr.sin_family = AF_INET;
	servaddr.sin_port = htons(port);
	servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
	Bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr));
	Listen(listenfd, 128);
	return listenfd;
}

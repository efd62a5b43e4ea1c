/* listen.h: the servers' listening socket (twin of listen.rs). */
#ifndef LISTEN_H
#define LISTEN_H

int tcp_listen(int port);
int tcp_listen_reuseport(int port);

#endif

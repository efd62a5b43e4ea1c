/*
 * fdutil.c: descriptor helpers of the event loops: non-blocking mode,
 * tables that grow (twin of fdutil.rs).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fdutil.h"
#include "wrap.h"

/* fcntl(2): O_NONBLOCK on fd; exits on failure. */
void set_nonblock(int fd)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		perr_exit("fcntl");
}

/*
 * realloc(3) of a, an array of *n elements of size bytes, so that element
 * i exists: *n doubles (from TABLE_MIN) until it is past i, as libev's
 * array_needsize and redis's aeResizeSetSize grow theirs. The new
 * elements are the caller's to initialise. Returns the array, a itself
 * when i is already in it, or NULL when out of memory (a and *n unchanged).
 */
void *array_grow(void *a, int *n, int i, size_t size)
{
	void *p;
	int want;

	if (i < *n)
		return a;
	want = *n > 0 ? *n : TABLE_MIN;
	while (want <= i)
		want = want > INT_MAX / 2 ? INT_MAX : want * 2;
	if ((p = realloc(a, (size_t)want * size)) == NULL)
		return NULL;
	*n = want;
	return p;
}

/*
 * array_grow, and every new element a copy of empty (a free slot), as
 * each table of the event loops grows. Returns the array, or NULL when
 * out of memory (a and *n unchanged).
 */
void *array_fit(void *a, int *n, int i, size_t size, const void *empty)
{
	char *p;
	int j, n0 = *n;

	if ((p = array_grow(a, n, i, size)) == NULL)
		return NULL;
	for (j = n0; j < *n; j++)
		memcpy(p + (size_t)j * size, empty, size);
	return p;
}

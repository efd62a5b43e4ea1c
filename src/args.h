/* args.h: command-line arguments shared by the programs (twin of args.rs). */
#ifndef ARGS_H
#define ARGS_H

#define DEFAULT_PORT 8000

void check_args(int argc, char *argv[], int maxargs, const char *usage);
int port_arg(int argc, char *argv[], int i, const char *usage);
int threads_arg(int argc, char *argv[], int i, int dflt, int max, const char *usage);
int children_arg(int argc, char *argv[], int i, int dflt, int max, const char *usage);
int stack_arg(int argc, char *argv[], int i, int dflt, int min, int max, const char *usage);
int word_arg(int argc, char *argv[], int i, const char *word, const char *usage);

#endif

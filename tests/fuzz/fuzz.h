/* fuzz.h: what the libFuzzer harnesses of tests/fuzz share. */
#ifndef CSA_FUZZ_H
#define CSA_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each harness's own set-up, once before the first input: 0, or non-zero
 * when it cannot run.  LLVMFuzzerInitialize, below, calls it. */
static int fuzz_setup(void);

/* Where FUZZ_ASSERT reports: stderr as it was before libFuzzer's
 * -close_fd_mask closed it (the commands' warnings are only noise here). */
static int fuzz_err_fd = 2;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = dup(2);

	(void)argc;
	(void)argv;
	if (fd >= 0)
		fuzz_err_fd = fd;
	return fuzz_setup();
}

/* A property that does not hold: say which, and abort, so that libFuzzer
 * keeps the input as a crash. */
#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		dprintf(fuzz_err_fd, "fuzz: %s:%d: %s does not hold: ", __FILE__, __LINE__, \
		    #cond); \
		dprintf(fuzz_err_fd, __VA_ARGS__); \
		dprintf(fuzz_err_fd, "\n"); \
		abort(); \
	} \
} while (0)

static char fuzz_dir[4096];

/* Remove the temporary directory and the files in it (no subdirectories). */
static void
fuzz_cleanup(void)
{
	DIR *dir;
	struct dirent *de;

	if (fuzz_dir[0] == '\0' || (dir = opendir(fuzz_dir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		char path[4400];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, de->d_name);
		unlink(path);
	}
	closedir(dir);
	rmdir(fuzz_dir);
}

/* The path of a file named name in this process's own temporary directory
 * (under $TMPDIR), made on first use and removed at exit. */
static inline const char *
fuzz_path(const char *name)
{
	static char path[4200];

	if (fuzz_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/csa-fuzz.XXXXXX",
		    tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(fuzz_dir) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(fuzz_cleanup);
	}
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	return path;
}

/* Write data[0..size) to the file name of fuzz_path (replacing it); its path. */
static inline const char *
fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	const char *path = fuzz_path(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) || close(fd) < 0) {
		dprintf(fuzz_err_fd, "fuzz: %s: %s\n", path, strerror(errno));
		abort();
	}
	return path;
}

/* Commands read stdin and write stdout: make them empty and a sink. */
static inline void
fuzz_quiet_stdio(void)
{
	if (freopen("/dev/null", "r", stdin) == NULL || freopen("/dev/null", "w", stdout) == NULL) {
		perror("fuzz: /dev/null");
		abort();
	}
}

/*
 * A harness that compiles a command in: name the program for messages,
 * make stdin and stdout empty, and parse the arguments (the program's name
 * first) into opts with the command's own parse_options.
 */
#define FUZZ_PARSE(opts, ...) do { \
	const char *fuzz_args_[] = { __VA_ARGS__, NULL }; \
	int fuzz_argc_ = (int)(sizeof(fuzz_args_) / sizeof(fuzz_args_[0])) - 1; \
	msg_init(fuzz_args_[0]); \
	fuzz_quiet_stdio(); \
	FUZZ_ASSERT(parse_options(fuzz_argc_, (char **)fuzz_args_, &(opts)) == OPT_RUN, \
	    "the options"); \
} while (0)

#endif

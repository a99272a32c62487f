/* forqd: the job runner daemon's entry point. */
#include <sys/stat.h>

#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <limits.h>
#include <libutil.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "core/conf.h"
#include "supervisor/daemonize.h"
#include "supervisor/supervisor.h"
#include "core/sign.h"
#include "store/pg_import.h"
#include "version.h"

static __dead void
usage(void)
{
	fprintf(stderr,
		"usage: forqd [-c conf] [-t] [-d] [-v] [-V]\n"
		"       forqd [-c conf] --import-sqlite STATE_DIR\n"
		"  -c conf  configuration file (default %s;\n"
		"           for other users ~/.config/forq/forqd.conf)\n"
		"  -t       check the configuration and exit\n"
		"  -d       detach into the background\n"
		"  -v       log debug messages\n"
		"  -V       print the version and exit\n"
		"  --import-sqlite STATE_DIR\n"
		"           move a one-host forqd's jobs into the cluster's\n"
		"           database ([store] backend = postgresql), and "
		"exit\n",
		CONF_DEFAULT_PATH);
	exit(64);
}

/* -c must exist; the default file may be absent (built-in defaults). */
static const char *
load_conf(struct conf *conf, const char *path, cpu_set_t *allowed)
{
	char err[CONF_ERROR_MAX];

	conf_defaults(conf, geteuid(), getenv("XDG_RUNTIME_DIR"),
		      getenv("XDG_STATE_HOME"), getenv("HOME"));
	static char fallback[PATH_MAX];

	conf_default_path(fallback, sizeof fallback, geteuid(),
			  getenv("XDG_CONFIG_HOME"), getenv("HOME"));
	if (path == NULL && access(fallback, F_OK) == 0)
		path = fallback;
	if (path != NULL && conf_load_file(conf, path, err, sizeof err) == -1)
		goto bad;
	if (sched_getaffinity(0, sizeof *allowed, allowed) == -1) {
		fprintf(stderr, "forqd: sched_getaffinity: %s\n",
			strerror(errno));
		exit(1);
	}
	if (conf_check(conf, allowed, err, sizeof err) == -1)
		goto bad;
	return path;
bad:
	fprintf(stderr, "forqd: %s\n", err);
	exit(FORQ_EXIT_CONFIG);
}

/* forqd --import-sqlite: once, in the foreground, then exit. */
static int
import_sqlite(const struct conf *conf, const char *dir)
{
	unsigned char key[SIGN_KEY_MAX];
	struct pg_import_counts n;
	char err[1024], host[256];
	const char *node = conf->node;
	size_t keylen;
	int rc;

	if (conf->backend != CONF_BACKEND_POSTGRESQL) {
		fprintf(stderr, "forqd: --import-sqlite moves jobs into the "
				"cluster's database: set [store] backend = "
				"postgresql and its dsn\n");
		return FORQ_EXIT_CONFIG;
	}
	if (sign_key_load(conf->cluster_key, geteuid(), key, &keylen, err,
			  sizeof err) == -1) {
		fprintf(stderr, "forqd: [store] cluster_key: %s\n", err);
		return FORQ_EXIT_CONFIG;
	}
	if (node[0] == '\0') {
		if (gethostname(host, sizeof host) == -1)
			strlcpy(host, "localhost", sizeof host);
		host[sizeof host - 1] = '\0';
		node = host;
	}
	rc = pg_import_sqlite(conf->dsn, dir, key, keylen, node, &n, err,
			      sizeof err);
	explicit_bzero(key, sizeof key);
	if (rc == -1) {
		fprintf(stderr, "forqd: --import-sqlite %s: %s\n", dir, err);
		return 1;
	}
	printf("forqd: imported from %s: %llu queued, %llu ended; its store "
	       "is now %s\n",
	       dir, (unsigned long long)n.queued, (unsigned long long)n.ended,
	       n.moved_to);
	return 0;
}

static struct pidfh *
open_pidfile(const char *path)
{
	char err[CONF_ERROR_MAX];
	struct pidfh *pfh;
	pid_t other;

	if (path_mkdir_parent(path, geteuid() == 0 ? 0755 : 0700, err,
			      sizeof err) == -1)
		fatalx("pidfile: %s", err);
	pfh = pidfile_open(path, 0644, &other);
	if (pfh == NULL) {
		if (errno == EEXIST)
			fatalx("already running as pid %d (pidfile %s)",
			       (int)other, path);
		fatal("pidfile %s", path);
	}
	return pfh;
}

int
main(int argc, char *argv[], char *envp[])
{
	struct supervisor sv;
	struct conf conf;
	cpu_set_t allowed;
	const char *conf_path = NULL;
	char conf_abs[PATH_MAX];
	struct pidfh *pfh;
	int ch, test = 0, detach = 0, verbose = 0, ready_fd = -1, rc;
	static const struct option longopts[] = {
	    {"import-sqlite", required_argument, NULL, 'I'},
	    {NULL, 0, NULL, 0},
	};
	const char *import_dir = NULL;

	/* Big buffers (a long request line, a big reply) are mapped and
	 * unmapped, never left on the heap once freed: fixing the
	 * threshold stops glibc from raising it after the first one. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	setproctitle_init(argc, argv, envp);
	log_init("forqd", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:dtvVh", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'I':
			import_dir = optarg;
			break;
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			detach = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("forqd %s\n", FORQ_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* Absolute, so that a reload after -d's chdir("/") finds it. */
	if (conf_path != NULL && realpath(conf_path, conf_abs) != NULL)
		conf_path = conf_abs;
	conf_path = load_conf(&conf, conf_path, &allowed);
	if (test) {
		fprintf(stderr, "forqd: configuration %s is valid\n",
			conf_path != NULL ? conf_path : "(built-in defaults)");
		return 0;
	}
	log_set_level(verbose ? LOG_LEVEL_DEBUG : conf.log_level);
	if (import_dir != NULL)
		return import_sqlite(&conf, import_dir);

	pfh = open_pidfile(conf.pidfile);
	if (detach)
		ready_fd = daemonize();
	if (pidfile_write(pfh) == -1)
		log_warn("pidfile %s", conf.pidfile);
	/* The store holds every job's environment: what forqd makes is
	 * its own (the pidfile above stays readable, as is usual). Jobs
	 * get the umask of the conf. */
	umask(077);
	setproctitle("supervisor%s%s", conf_path != NULL ? " -c " : "",
		     conf_path != NULL ? conf_path : "");

	if (sv_init(&sv, &conf, conf_path, &allowed) == -1) {
		pidfile_remove(pfh);
		return 1;
	}
	sv.ready_fd = ready_fd;
	sv.pidfh = pfh;
	rc = sv_run(&sv);
	sv_free(&sv);
	pidfile_remove(pfh);
	return rc == 0 ? 0 : 1;
}

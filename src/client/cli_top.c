/*
 * forq top: forqd's workers, queues and running jobs, redrawn each
 * second with ncurses (which knows the terminal, over ssh too), or
 * printed once as plain text when stdout is not a terminal. Rates
 * (a worker's busy share, a job's CPU) are the change since the last
 * sample; the first sample's are averages since the start.
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/units.h"
#include "forq/protocol.h"

/* Throughput is over the last minute: one sample a second. */
#define TOP_WINDOW 61

struct top_sample {
	int64_t at_ms; /* monotonic */
	long long ended;
};

/* A job's CPU time at the last sample, for its rate. */
struct top_prev {
	long long id;
	long long cpu_ms;
};

struct top {
	const struct cli *cli;
	struct forq_conn *conn;
	json_t *workers, *queues, *jobs; /* the latest replies */
	struct forq_error err;           /* forqd did not answer: why */
	char error[512]; /* the same, for the screen; "": it did */
	int64_t at_ms, prev_at_ms;
	/* The last sample's busy times (by worker) and jobs' CPU. */
	long long *busy, *prev_busy;
	size_t nbusy, nprev_busy;
	struct top_prev *cpu, *prev_cpu;
	size_t ncpu, nprev_cpu;
	struct top_sample window[TOP_WINDOW];
	size_t nwindow;
	long long selected; /* the selected job's id; 0: none */
	size_t first;       /* the first job row shown */
	char message[256];  /* the last action's outcome */
};

enum top_attr { TOP_TEXT, TOP_HEAD, TOP_SELECTED };

typedef void top_line_fn(void *arg, const char *text, enum top_attr attr);

static volatile sig_atomic_t top_quit;

static void
top_on_signal(int sig)
{
	(void)sig;
	top_quit = 1;
}

static int64_t
top_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
top_int(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *
top_str(const json_t *o, const char *key, const char *none)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : none;
}

static json_t *
top_ask(struct top *t, const char *op)
{
	struct forq_error err = {0};
	json_t *reply;

	if (t->conn == NULL) {
		char path[4096];

		forq_socket_path(t->cli->socket, path, sizeof path);
		if ((t->conn = forq_connect(path, &err)) == NULL) {
			t->err = err;
			strlcpy(t->error, err.message, sizeof t->error);
			return NULL;
		}
	}
	if ((reply = forq_call(t->conn, op, NULL, &err)) == NULL) {
		t->err = err;
		strlcpy(t->error, err.message, sizeof t->error);
		/* A lost connection is made again at the next sample. */
		if (err.kind != FORQ_E_SERVER) {
			forq_close(t->conn);
			t->conn = NULL;
		}
	}
	return reply;
}

/* The last sample's values become the previous ones. */
static void
top_shift(struct top *t)
{
	free(t->prev_busy);
	t->prev_busy = t->busy;
	t->nprev_busy = t->nbusy;
	t->busy = NULL;
	t->nbusy = 0;
	free(t->prev_cpu);
	t->prev_cpu = t->cpu;
	t->nprev_cpu = t->ncpu;
	t->cpu = NULL;
	t->ncpu = 0;
	t->prev_at_ms = t->at_ms;
}

static void
top_sample(struct top *t)
{
	json_t *w = top_ask(t, "workers"), *q = NULL, *j = NULL;
	const json_t *item;
	size_t i;

	if (w != NULL && (q = top_ask(t, "queues")) != NULL)
		j = top_ask(t, "top");
	if (j == NULL) {
		json_decref(w);
		json_decref(q);
		return;
	}
	t->error[0] = '\0';
	json_decref(t->workers);
	json_decref(t->queues);
	json_decref(t->jobs);
	t->workers = w;
	t->queues = q;
	t->jobs = j;
	top_shift(t);
	t->at_ms = top_now_ms();
	w = json_object_get(t->workers, "workers");
	t->nbusy = json_array_size(w);
	t->busy = calloc(t->nbusy + 1, sizeof *t->busy);
	json_array_foreach(w, i, item) t->busy[i] = top_int(item, "busy_ms");
	j = json_object_get(t->jobs, "jobs");
	t->ncpu = json_array_size(j);
	t->cpu = calloc(t->ncpu + 1, sizeof *t->cpu);
	json_array_foreach(j, i, item) t->cpu[i] =
	    (struct top_prev){top_int(item, "id"), top_int(item, "cpu_ms")};
	if (t->busy == NULL || t->cpu == NULL) {
		fprintf(stderr, "forq: out of memory\n");
		exit(FORQ_EXIT_FAILURE);
	}
	if (t->nwindow == TOP_WINDOW) {
		memmove(t->window, t->window + 1,
			(TOP_WINDOW - 1) * sizeof *t->window);
		t->nwindow--;
	}
	t->window[t->nwindow++] =
	    (struct top_sample){t->at_ms, top_int(t->jobs, "ended")};
}

/* A share in percent: d_used over d_wall, or used over wall for the
 * first sample. */
static double
top_share(long long used, long long prev_used, bool have_prev, long long wall,
	  long long prev_wall)
{
	if (have_prev && wall > prev_wall)
		return 100.0 * (double)(used - prev_used) /
		       (double)(wall - prev_wall);
	return wall > 0 ? 100.0 * (double)used / (double)wall : 0;
}

static void
top_user(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		strlcpy(buf, pw->pw_name, len);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

static void
top_size(long long bytes, char *buf, size_t len)
{
	if (bytes < 0)
		strlcpy(buf, "-", len);
	else
		units_format_size((uint64_t)bytes, buf, len);
}

static void
top_lines_head(struct top *t, top_line_fn *line, void *arg)
{
	char text[512], up[32];
	const struct top_sample *old = &t->window[0];
	const struct top_sample *now = &t->window[t->nwindow - 1];
	long long running = 0, queued = 0;
	const json_t *q;
	size_t i;

	json_array_foreach(json_object_get(t->queues, "queues"), i, q)
	{
		running += top_int(q, "running");
		queued += top_int(q, "queued");
	}
	cli_format_ms(json_object_get(t->jobs, "uptime_ms"), up, sizeof up);
	if (t->nwindow > 1 && now->at_ms > old->at_ms)
		snprintf(text, sizeof text,
			 "forqd up %s   running %lld   queued %lld   ended "
			 "%lld in the last %llds (%.1f/s)",
			 up, running, queued, now->ended - old->ended,
			 (long long)((now->at_ms - old->at_ms + 500) / 1000),
			 (double)(now->ended - old->ended) * 1000.0 /
			     (double)(now->at_ms - old->at_ms));
	else
		snprintf(text, sizeof text,
			 "forqd up %s   running %lld   queued %lld   ended "
			 "%lld since it started",
			 up, running, queued, now->ended);
	line(arg, text, TOP_TEXT);
	line(arg, "", TOP_TEXT);
}

static void
top_lines_workers(struct top *t, top_line_fn *line, void *arg)
{
	char text[512], ids[128];
	const json_t *w, *id;
	size_t i, k;
	double busy;

	line(arg, "WORKER  CPU  STATE        BUSY  RESTARTS  JOBS", TOP_HEAD);
	json_array_foreach(json_object_get(t->workers, "workers"), i, w)
	{
		ids[0] = '\0';
		json_array_foreach(json_object_get(w, "jobs"), k, id)
		{
			size_t used = strlen(ids);

			snprintf(ids + used, sizeof ids - used, "%s%lld",
				 k > 0 ? "," : "",
				 (long long)json_integer_value(id));
		}
		busy = top_share(top_int(w, "busy_ms"),
				 i < t->nprev_busy ? t->prev_busy[i] : 0,
				 i < t->nprev_busy && t->prev_at_ms != 0,
				 t->prev_at_ms != 0
				     ? t->at_ms
				     : top_int(t->jobs, "uptime_ms"),
				 t->prev_at_ms);
		snprintf(text, sizeof text,
			 "%-6lld  %-3lld  %-11s  %3.0f%%  %8lld  %s",
			 top_int(w, "worker"), top_int(w, "cpu"),
			 top_str(w, "state", "?"), busy, top_int(w, "restarts"),
			 ids[0] ? ids : "-");
		line(arg, text, TOP_TEXT);
	}
	line(arg, "", TOP_TEXT);
}

static void
top_lines_queues(struct top *t, top_line_fn *line, void *arg)
{
	char text[512], parallel[24];
	const json_t *q;
	size_t i;

	line(arg, "QUEUE                 QUEUED  RUNNING  PARALLEL  PAUSED",
	     TOP_HEAD);
	json_array_foreach(json_object_get(t->queues, "queues"), i, q)
	{
		if (json_is_integer(json_object_get(q, "parallel")))
			snprintf(parallel, sizeof parallel, "%lld",
				 top_int(q, "parallel"));
		else
			strlcpy(parallel, "-", sizeof parallel);
		snprintf(text, sizeof text, "%-20.20s  %6lld  %7lld  %8s  %s",
			 top_str(q, "name", "?"), top_int(q, "queued"),
			 top_int(q, "running"), parallel,
			 json_is_true(json_object_get(q, "paused")) ? "yes"
								    : "no");
		line(arg, text, TOP_TEXT);
	}
	line(arg, "", TOP_TEXT);
}

static double
top_job_cpu(struct top *t, const json_t *job)
{
	long long id = top_int(job, "id");
	size_t i;

	for (i = 0; i < t->nprev_cpu && t->prev_at_ms != 0; i++) {
		if (t->prev_cpu[i].id == id)
			return top_share(top_int(job, "cpu_ms"),
					 t->prev_cpu[i].cpu_ms, true, t->at_ms,
					 t->prev_at_ms);
	}
	return top_share(top_int(job, "cpu_ms"), 0, false,
			 top_int(job, "elapsed_ms"), 0);
}

/* The jobs' rows; rows: how many fit (0: all). */
static void
top_lines_jobs(struct top *t, top_line_fn *line, void *arg, size_t rows)
{
	const json_t *jobs = json_object_get(t->jobs, "jobs"), *j;
	char text[512], user[64], elapsed[32], mem[32], cpu[16];
	size_t i, n = json_array_size(jobs), sel = n;

	line(arg,
	     "ID        NAME                  USER        QUEUE       W  "
	     "ELAPSED    CPU%  MEMORY",
	     TOP_HEAD);
	json_array_foreach(jobs, i, j)
	{
		if (top_int(j, "id") == t->selected)
			sel = i;
	}
	/* The selection stays on its job; one that ended gives it to the
	 * next row. */
	if (sel == n && n > 0) {
		sel = 0;
		t->selected = top_int(json_array_get(jobs, 0), "id");
	}
	if (rows > 0) {
		if (sel < t->first)
			t->first = sel;
		if (sel >= t->first + rows)
			t->first = sel - rows + 1;
		if (t->first + rows > n)
			t->first = n > rows ? n - rows : 0;
	} else {
		t->first = 0;
	}
	for (i = t->first; i < n && (rows == 0 || i < t->first + rows); i++) {
		j = json_array_get(jobs, i);
		top_user((uid_t)top_int(j, "uid"), user, sizeof user);
		cli_format_ms(json_object_get(j, "elapsed_ms"), elapsed,
			      sizeof elapsed);
		if (json_is_integer(json_object_get(j, "cpu_ms")))
			snprintf(cpu, sizeof cpu, "%5.1f", top_job_cpu(t, j));
		else
			strlcpy(cpu, "    -", sizeof cpu);
		top_size(json_is_integer(json_object_get(j, "rss_bytes"))
			     ? top_int(j, "rss_bytes")
			     : -1,
			 mem, sizeof mem);
		snprintf(text, sizeof text,
			 "%-8lld  %-20.20s  %-10.10s  %-10.10s  %-2lld %-9s  "
			 "%s  "
			 "%s",
			 top_int(j, "id"), top_str(j, "name", "-"), user,
			 top_str(j, "queue", "default"), top_int(j, "worker"),
			 elapsed, cpu, mem);
		line(arg, text, rows > 0 && i == sel ? TOP_SELECTED : TOP_TEXT);
	}
	if (n == 0)
		line(arg, "(no job is running)", TOP_TEXT);
}

/* The whole view; rows for the jobs as in top_lines_jobs. */
static void
top_lines(struct top *t, top_line_fn *line, void *arg, int height)
{
	size_t fixed, rows = 0;

	top_lines_head(t, line, arg);
	top_lines_workers(t, line, arg);
	top_lines_queues(t, line, arg);
	if (height > 0) {
		/* Head 2, workers and queues with their heads and gaps, the
		 * jobs' head and the two lines at the bottom. */
		fixed =
		    2 +
		    json_array_size(json_object_get(t->workers, "workers")) +
		    2 + json_array_size(json_object_get(t->queues, "queues")) +
		    2 + 1 + 2;
		rows = (size_t)height > fixed ? (size_t)height - fixed : 1;
	}
	top_lines_jobs(t, line, arg, rows);
}

static void
top_plain_line(void *arg, const char *text, enum top_attr attr)
{
	(void)arg;
	(void)attr;
	puts(text);
}

/* The screen, row by row, cut at its width. */
struct top_screen {
	int y;
};

static void
top_screen_line(void *arg, const char *text, enum top_attr attr)
{
	struct top_screen *s = arg;

	if (s->y >= LINES - 2)
		return;
	if (attr == TOP_HEAD)
		attron(A_BOLD);
	else if (attr == TOP_SELECTED)
		attron(A_REVERSE);
	mvaddnstr(s->y, 0, text, COLS);
	if (attr == TOP_SELECTED) {
		/* The whole row, as a bar. */
		hline(' ', COLS - (int)strlen(text) > 0
			       ? COLS - (int)strlen(text)
			       : 0);
		mvchgat(s->y, 0, -1, A_REVERSE, 0, NULL);
	}
	attrset(A_NORMAL);
	s->y++;
}

static void
top_draw(struct top *t)
{
	struct top_screen s = {0};
	char clock[16];
	time_t now = time(NULL);
	struct tm tm;

	erase();
	if (t->workers != NULL)
		top_lines(t, top_screen_line, &s, LINES);
	if (t->error[0] != '\0')
		mvprintw(LINES - 2, 0, "forqd: %.*s", COLS > 8 ? COLS - 8 : 0,
			 t->error);
	else if (t->message[0] != '\0')
		mvaddnstr(LINES - 2, 0, t->message, COLS);
	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	attron(A_REVERSE);
	mvprintw(LINES - 1, 0, "%-*.*s", COLS, COLS,
		 " q quit   j/k or arrows move   c cancel the selected job");
	mvaddnstr(LINES - 1, COLS > 9 ? COLS - 9 : 0, clock, 8);
	attrset(A_NORMAL);
	refresh();
}

/* Moves the selection by delta rows. */
static void
top_move(struct top *t, int delta)
{
	const json_t *jobs = json_object_get(t->jobs, "jobs");
	size_t i, n = json_array_size(jobs);
	long long pos = 0;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (top_int(json_array_get(jobs, i), "id") == t->selected)
			pos = (long long)i;
	}
	pos += delta;
	if (pos < 0)
		pos = 0;
	if (pos >= (long long)n)
		pos = (long long)n - 1;
	t->selected = top_int(json_array_get(jobs, (size_t)pos), "id");
}

/* c: the selected job is cancelled once y confirms it; forqd decides,
 * with the caller's rights, whether it may be. */
static void
top_cancel(struct top *t)
{
	struct forq_error err = {0};
	json_t *reply;
	int ch;

	if (t->selected == 0 || t->conn == NULL) {
		strlcpy(t->message, "no job is selected", sizeof t->message);
		return;
	}
	move(LINES - 2, 0);
	clrtoeol();
	attron(A_BOLD);
	mvprintw(LINES - 2, 0, "cancel job %lld? [y/N] ", t->selected);
	attrset(A_NORMAL);
	refresh();
	timeout(-1);
	ch = getch();
	timeout(250);
	if (ch != 'y' && ch != 'Y') {
		strlcpy(t->message, "not cancelled", sizeof t->message);
		return;
	}
	reply = forq_call(t->conn, "cancel",
			  json_pack("{s:[I]}", "jobs", (json_int_t)t->selected),
			  &err);
	if (reply == NULL)
		snprintf(t->message, sizeof t->message, "job %lld: %s",
			 t->selected, err.message);
	else
		snprintf(t->message, sizeof t->message, "job %lld: cancelled",
			 t->selected);
	json_decref(reply);
}

static void
top_free(struct top *t)
{
	json_decref(t->workers);
	json_decref(t->queues);
	json_decref(t->jobs);
	free(t->busy);
	free(t->prev_busy);
	free(t->cpu);
	free(t->prev_cpu);
	if (t->conn != NULL)
		forq_close(t->conn);
}

static void
top_endwin(void)
{
	if (!isendwin())
		endwin();
}

static int
top_live(struct top *t)
{
	struct sigaction sa = {.sa_handler = top_on_signal};
	int64_t next = 0;
	int ch;

	/* SA_RESTART off: getch returns, the loop sees the flag and the
	 * terminal is restored on the way out. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	if (initscr() == NULL) {
		fprintf(stderr, "forq: top: cannot use this terminal\n");
		return FORQ_EXIT_FAILURE;
	}
	atexit(top_endwin);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(250);
	while (!top_quit) {
		if (top_now_ms() >= next) {
			top_sample(t);
			next = top_now_ms() + 1000;
			top_draw(t);
		}
		ch = getch();
		switch (ch) {
		case 'q':
		case 'Q':
			top_quit = 1;
			break;
		case 'j':
		case KEY_DOWN:
			top_move(t, 1);
			top_draw(t);
			break;
		case 'k':
		case KEY_UP:
			top_move(t, -1);
			top_draw(t);
			break;
		case 'c':
		case 'C':
			top_cancel(t);
			next = 0;
			break;
		case KEY_RESIZE:
		case 12: /* ^L */
			clearok(stdscr, TRUE);
			top_draw(t);
			break;
		default:
			break;
		}
	}
	top_endwin();
	return FORQ_EXIT_OK;
}

static __dead void
top_usage(void)
{
	fprintf(stderr, "usage: forq [-s socket] top [--once] [--json]\n");
	exit(FORQ_EXIT_USAGE);
}

int
cmd_top(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"once", no_argument, NULL, '1'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct top t = {.cli = cli};
	bool once = false;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		switch (ch) {
		case '1':
			once = true;
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			top_usage();
		}
	}
	if (optind != argc)
		top_usage();
	if (once || cli->json || !isatty(STDOUT_FILENO)) {
		top_sample(&t);
		if (t.workers == NULL) {
			top_free(&t);
			cli_die(&t.err);
		}
		if (cli->json) {
			json_t *all =
			    json_pack("{s:O, s:O, s:O}", "workers",
				      json_object_get(t.workers, "workers"),
				      "queues",
				      json_object_get(t.queues, "queues"),
				      "jobs", json_object_get(t.jobs, "jobs"));

			json_dumpf(all, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(all);
		} else {
			top_lines(&t, top_plain_line, NULL, 0);
		}
		top_free(&t);
		return FORQ_EXIT_OK;
	}
	rc = top_live(&t);
	top_free(&t);
	return rc;
}

/* Which socket the client talks to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forq/client.h"
#include "forq/protocol.h"

void
forq_socket_path_from(const char *explicit_path, const char *env_socket,
		      const char *runtime_dir, int (*exists)(const char *),
		      char *out, size_t len)
{
	char user[4096];

	if (explicit_path != NULL && explicit_path[0] != '\0') {
		strlcpy(out, explicit_path, len);
		return;
	}
	if (env_socket != NULL && env_socket[0] != '\0') {
		strlcpy(out, env_socket, len);
		return;
	}
	if (runtime_dir != NULL && runtime_dir[0] == '/') {
		snprintf(user, sizeof user, "%s/%s", runtime_dir,
			 FORQ_SOCKET_USER_SUBPATH);
		if (exists(user)) {
			strlcpy(out, user, len);
			return;
		}
	}
	strlcpy(out, FORQ_SOCKET_SYSTEM, len);
}

static int
path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

void
forq_socket_path(const char *explicit_path, char *out, size_t len)
{
	forq_socket_path_from(explicit_path, getenv("FORQ_SOCKET"),
			      getenv("XDG_RUNTIME_DIR"), path_exists, out, len);
}

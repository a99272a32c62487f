/* Creating the directories forq's files live in. */
#ifndef FORQ_PATH_H
#define FORQ_PATH_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p; directories it creates get mode. */
int path_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen);
/* mkdir -p of the directory a file lives in. */
int path_mkdir_parent(const char *file, mode_t mode, char *err, size_t errlen);

#endif

/*
 * The signature of a job spec in a cluster: an HMAC-SHA256, under the
 * key every node holds in a root-only file, over what decides what a
 * job does and as whom (the user's name, the queue, the spec as
 * stored). Whoever can write the database but has no key cannot make a
 * node run anything, or run it as anyone else.
 */
#ifndef FORQ_SIGN_H
#define FORQ_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct signer;

/* Hex digits of a signature, and the NUL. */
#define SIGN_HEX_LEN 65
/* A key shorter than this is refused. */
#define SIGN_KEY_MIN 16
#define SIGN_KEY_MAX 4096

/* What signs under one key; it keeps its own copy of the key. NULL if
 * OpenSSL could not make it. */
struct signer *signer_new(const unsigned char *key, size_t keylen);
void signer_free(struct signer *sg);
/* -1 if the HMAC could not be made (OpenSSL failed). */
int sign_spec(const struct signer *sg, const char *user, const char *queue,
	      const char *spec, char out[SIGN_HEX_LEN]);
/* In time independent of where a forged signature differs. */
bool sign_spec_holds(const struct signer *sg, const char *user,
		     const char *queue, const char *spec, const char *sig);
/* Reads a key file: a regular file of SIGN_KEY_MIN to SIGN_KEY_MAX
 * bytes, owned by uid and readable by nobody else; -1 and why. */
int sign_key_load(const char *path, uid_t uid, unsigned char *key,
		  size_t *keylen, char *why, size_t whylen);

#endif

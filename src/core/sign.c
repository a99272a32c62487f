/* Job spec signatures: OpenSSL's HMAC, never one written here. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/sign.h"

struct signer {
	/* Keyed once: fetching HMAC and setting its key at every
	 * signature was most of what a signature cost (a claiming node
	 * checks one for every job it takes). Each signature works on a
	 * copy. */
	EVP_MAC_CTX *keyed;
};

struct signer *
signer_new(const unsigned char *key, size_t keylen)
{
	OSSL_PARAM params[2];
	struct signer *sg;
	EVP_MAC *hmac;

	if ((sg = calloc(1, sizeof *sg)) == NULL)
		return NULL;
	params[0] =
	    OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (sg->keyed = EVP_MAC_CTX_new(hmac)) != NULL &&
	    EVP_MAC_init(sg->keyed, key, keylen, params) == 1) {
		EVP_MAC_free(hmac);
		return sg;
	}
	EVP_MAC_free(hmac);
	signer_free(sg);
	return NULL;
}

void
signer_free(struct signer *sg)
{
	if (sg == NULL)
		return;
	EVP_MAC_CTX_free(sg->keyed);
	free(sg);
}

/* Each part with its length first: no two different triples sign the
 * same bytes. */
static int
sign_raw(const struct signer *sg, const char *user, const char *queue,
	 const char *spec, unsigned char mac[32])
{
	const char *parts[] = {"forq spec 1", user, queue, spec};
	EVP_MAC_CTX *ctx;
	size_t i, maclen;
	char len[24];
	int rc = -1;

	memset(mac, 0, 32);
	if ((ctx = EVP_MAC_CTX_dup(sg->keyed)) == NULL)
		return -1;
	for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		snprintf(len, sizeof len, "%zu:", strlen(parts[i]));
		if (EVP_MAC_update(ctx, (const unsigned char *)len,
				   strlen(len)) != 1 ||
		    EVP_MAC_update(ctx, (const unsigned char *)parts[i],
				   strlen(parts[i])) != 1)
			goto out;
	}
	if (EVP_MAC_final(ctx, mac, &maclen, 32) == 1 && maclen == 32)
		rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

int
sign_spec(const struct signer *sg, const char *user, const char *queue,
	  const char *spec, char out[SIGN_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[32];
	size_t i;

	out[0] = '\0';
	if (sign_raw(sg, user, queue, spec, mac) == -1)
		return -1;
	for (i = 0; i < 32; i++) {
		out[i * 2] = digits[mac[i] >> 4];
		out[i * 2 + 1] = digits[mac[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

bool
sign_spec_holds(const struct signer *sg, const char *user, const char *queue,
		const char *spec, const char *sig)
{
	char want[SIGN_HEX_LEN];

	if (strlen(sig) != SIGN_HEX_LEN - 1 ||
	    sign_spec(sg, user, queue, spec, want) == -1)
		return false;
	return CRYPTO_memcmp(want, sig, SIGN_HEX_LEN - 1) == 0;
}

int
sign_key_load(const char *path, uid_t uid, unsigned char *key, size_t *keylen,
	      char *why, size_t whylen)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(why, whylen,
			 "%s: %s (make it on one node with: umask 077; head "
			 "-c 32 /dev/urandom > %s; and copy it to the others)",
			 path, strerror(errno), path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_uid != uid || (st.st_mode & 077) != 0) {
		snprintf(why, whylen,
			 "%s: must be owned by uid %d and readable by nobody "
			 "else (it is uid %d, mode %04o)",
			 path, (int)uid, (int)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	n = read(fd, key, SIGN_KEY_MAX + 1);
	close(fd);
	if (n < SIGN_KEY_MIN || n > SIGN_KEY_MAX) {
		snprintf(why, whylen, "%s: a key is %d to %d bytes, not %zd",
			 path, SIGN_KEY_MIN, SIGN_KEY_MAX, n);
		return -1;
	}
	*keylen = (size_t)n;
	return 0;
}

/* Job spec signatures and the key file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sign.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
static const unsigned char other[] = "0123456789abcdef0123456789abcdeX";

static void
test_a_signature_holds_for_what_it_signed_only(void **state)
{
	char sig[SIGN_HEX_LEN], again[SIGN_HEX_LEN];
	const char *spec = "{\"argv\":[\"true\"],\"cwd\":\"/\"}";
	struct signer *sg, *sg2, *sgo;

	(void)state;
	assert_non_null(sg = signer_new(key, 32));
	assert_non_null(sg2 = signer_new(key, 32));
	assert_non_null(sgo = signer_new(other, 32));
	assert_int_equal(sign_spec(sg, "alice", "default", spec, sig), 0);
	assert_int_equal(strlen(sig), 64);
	/* The same again, and under another signer of the same key. */
	sign_spec(sg, "alice", "default", spec, again);
	assert_string_equal(sig, again);
	sign_spec(sg2, "alice", "default", spec, again);
	assert_string_equal(sig, again);
	assert_true(sign_spec_holds(sg, "alice", "default", spec, sig));
	assert_true(sign_spec_holds(sg2, "alice", "default", spec, sig));
	/* Another user, queue, spec or key: it does not hold. */
	assert_false(sign_spec_holds(sg, "root", "default", spec, sig));
	assert_false(sign_spec_holds(sg, "alice", "gpu", spec, sig));
	assert_false(sign_spec_holds(sg, "alice", "default",
				     "{\"argv\":[\"rm\"],\"cwd\":\"/\"}", sig));
	assert_false(sign_spec_holds(sgo, "alice", "default", spec, sig));
	/* Nor a forged or cut one. */
	sig[10] = sig[10] == 'a' ? 'b' : 'a';
	assert_false(sign_spec_holds(sg, "alice", "default", spec, sig));
	assert_false(sign_spec_holds(sg, "alice", "default", spec, ""));
	/* The parts are framed: moving a boundary changes the signature. */
	sign_spec(sg, "ab", "c", spec, sig);
	sign_spec(sg, "a", "bc", spec, again);
	assert_string_not_equal(sig, again);
	signer_free(sg);
	signer_free(sg2);
	signer_free(sgo);
}

/* HMAC-SHA256 over "11:forq spec 1" "5:alice" "7:default" "2:{}", as
 * any HMAC computes it (Python's hmac gave this one): the nodes of a
 * cluster, of whatever version, must agree on every signature. */
#define KNOWN_SIG                                                              \
	"b68ea53a3c4bfb3c75a108696aed3eb6eec555445c0c545bd0c04829373ceccb"
static void
test_a_signature_is_stable_across_versions(void **state)
{
	char sig[SIGN_HEX_LEN];
	struct signer *sg;

	(void)state;
	assert_non_null(sg = signer_new(key, 32));
	assert_int_equal(sign_spec(sg, "alice", "default", "{}", sig), 0);
	assert_string_equal(sig, KNOWN_SIG);
	signer_free(sg);
}

static void
test_the_key_file_is_root_only(void **state)
{
	char path[] = "/tmp/forq-key-test.XXXXXX", why[512];
	unsigned char got[SIGN_KEY_MAX];
	size_t len;
	FILE *f;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("short", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sign_key_load(path, getuid(), got, &len, why,
				       sizeof why),
			 -1);
	assert_non_null(strstr(why, "a key is 16 to 4096 bytes"));
	assert_non_null(f = fopen(path, "w"));
	fwrite(key, 1, 32, f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(sign_key_load(path, getuid(), got, &len, why,
				       sizeof why),
			 -1);
	assert_non_null(strstr(why, "readable by nobody else"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sign_key_load(path, getuid() + 1, got, &len, why,
				       sizeof why),
			 -1);
	assert_int_equal(sign_key_load(path, getuid(), got, &len, why,
				       sizeof why),
			 0);
	assert_int_equal(len, 32);
	assert_memory_equal(got, key, 32);
	unlink(path);
	assert_int_equal(sign_key_load(path, getuid(), got, &len, why,
				       sizeof why),
			 -1);
	assert_non_null(strstr(why, "head -c 32 /dev/urandom"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_signature_holds_for_what_it_signed_only),
	    cmocka_unit_test(test_a_signature_is_stable_across_versions),
	    cmocka_unit_test(test_the_key_file_is_root_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

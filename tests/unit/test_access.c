/* Who may connect and who is an admin: the pure checks, and the lists
 * as the conf writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/access.h"
#include "core/conf.h"

static char err[256];

static void
test_list_parses_names_ids_and_groups(void **state)
{
	struct access_list l;

	assert_int_equal(access_list_parse(&l, " root, 1001\t@root,@4242 ", err,
					   sizeof err),
			 0);
	assert_int_equal(l.nuids, 2);
	assert_int_equal(l.uids[0], 0);
	assert_int_equal(l.uids[1], 1001);
	assert_int_equal(l.ngids, 2);
	assert_int_equal(l.gids[0], 0);
	assert_int_equal(l.gids[1], 4242);
	assert_int_equal(access_list_parse(&l, "", err, sizeof err), 0);
	assert_int_equal(l.nuids + l.ngids, 0);
}

static void
test_list_errors_name_the_entry(void **state)
{
	struct access_list l;

	assert_int_equal(access_list_parse(&l, "root no-such-user-forq", err,
					   sizeof err),
			 -1);
	assert_string_equal(err, "no user named \"no-such-user-forq\" (groups "
				 "take @)");
	assert_int_equal(access_list_parse(&l, "@no-such-group-forq", err,
					   sizeof err),
			 -1);
	assert_string_equal(err, "no group named \"no-such-group-forq\"");
	assert_int_equal(access_list_parse(&l, "root @", err, sizeof err), -1);
	assert_string_equal(err, "\"@\" without a group name");
}

static void
test_list_is_bounded(void **state)
{
	char text[1024] = "";
	struct access_list l;
	int i;

	for (i = 0; i <= ACCESS_LIST_MAX; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "%d ",
			 1000 + i);
	assert_int_equal(access_list_parse(&l, text, err, sizeof err), -1);
	assert_string_equal(err, "more than 64 users");
}

static const gid_t staff[] = {50, 100};

static void
test_connect_deny_wins_and_allow_restricts(void **state)
{
	struct access_policy p = {0};
	struct access_peer alice = {.uid = 1000, .gid = 1000},
			   bob = {.uid = 1001,
				  .gid = 1001,
				  .groups = staff,
				  .ngroups = 2},
			   root = {.uid = 0, .gid = 0};
	const char *why = NULL;

	/* No lists: everyone who reaches the socket. */
	assert_int_equal(access_may_connect(&p, &alice, &why), 0);
	/* allow_users = @100: only members of group 100. */
	p.has_allow = true;
	p.allow.gids[p.allow.ngids++] = 100;
	assert_int_equal(access_may_connect(&p, &alice, &why), -1);
	assert_string_equal(why, "allow_users");
	assert_int_equal(access_may_connect(&p, &bob, &why), 0);
	/* deny_users = 1001 wins over the group that allows bob. */
	p.deny.uids[p.deny.nuids++] = 1001;
	assert_int_equal(access_may_connect(&p, &bob, &why), -1);
	assert_string_equal(why, "deny_users");
	/* Root is never refused: it owns the conf. */
	p.deny.uids[p.deny.nuids++] = 0;
	assert_int_equal(access_may_connect(&p, &root, &why), 0);
}

static void
test_admin_is_root_or_the_admin_group(void **state)
{
	struct access_policy p = {0};
	struct access_peer alice = {.uid = 1000, .gid = 100},
			   bob = {.uid = 1001,
				  .gid = 1001,
				  .groups = staff,
				  .ngroups = 2},
			   root = {.uid = 0, .gid = 0};

	assert_true(access_is_admin(&p, &root));
	assert_false(access_is_admin(&p, &alice));
	p.has_admin = true;
	p.admin_gid = 50;
	assert_false(access_is_admin(&p, &alice));
	assert_true(access_is_admin(&p, &bob)); /* supplementary group */
	p.admin_gid = 100;
	assert_true(access_is_admin(&p, &alice)); /* primary group */
}

static void
test_conf_policy_errors_carry_the_line(void **state)
{
	struct access_policy p;
	struct conf c;
	const char *text = "[access]\nallow_root_jobs = yes\n"
			   "admin_group = root\n"
			   "deny_users = nobody-forq-x\n";

	conf_defaults(&c, 0, NULL, NULL, NULL);
	assert_int_equal(conf_load_string(&c, "t.conf", text, strlen(text), err,
					  sizeof err),
			 0);
	assert_int_equal(conf_access_policy(&c, &p, err, sizeof err), -1);
	assert_string_equal(err, "t.conf:4: deny_users: no user named "
				 "\"nobody-forq-x\" (groups take @)");
	strcpy(c.deny_users, "");
	assert_int_equal(conf_access_policy(&c, &p, err, sizeof err), 0);
	assert_true(p.allow_root_jobs);
	assert_true(p.has_admin);
	assert_int_equal(p.admin_gid, 0);
	assert_false(p.has_allow);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_parses_names_ids_and_groups),
	    cmocka_unit_test(test_list_errors_name_the_entry),
	    cmocka_unit_test(test_list_is_bounded),
	    cmocka_unit_test(test_connect_deny_wins_and_allow_restricts),
	    cmocka_unit_test(test_admin_is_root_or_the_admin_group),
	    cmocka_unit_test(test_conf_policy_errors_carry_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

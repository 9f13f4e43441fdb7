/* Runs every unit-test suite; Check prints the summary line. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(vv_suite());
	int failed;

	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, scan_suite());
	srunner_add_suite(sr, ignore_suite());
	srunner_add_suite(sr, fs_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, reconcile_suite());
	srunner_add_suite(sr, merge_suite());
	srunner_add_suite(sr, net_suite());
	srunner_add_suite(sr, delta_suite());
	srunner_add_suite(sr, session_suite());
	srunner_add_suite(sr, resolve_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The Check suites of the unit-test runner, one per module. */
#ifndef MMSYNC_TEST_SUITES_H
#define MMSYNC_TEST_SUITES_H

#include <check.h>

Suite *vv_suite(void);
Suite *store_suite(void);
Suite *scan_suite(void);
Suite *ignore_suite(void);
Suite *fs_suite(void);
Suite *proto_suite(void);
Suite *reconcile_suite(void);
Suite *merge_suite(void);
Suite *net_suite(void);
Suite *delta_suite(void);
Suite *session_suite(void);
Suite *resolve_suite(void);

#endif

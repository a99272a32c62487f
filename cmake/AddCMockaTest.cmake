# add_cmocka_test(NAME SOURCES...): one cmocka test program, linked with
# the core library, registered with ctest as unit.NAME.
function(add_cmocka_test name)
	add_executable(test_${name} ${ARGN})
	target_link_libraries(test_${name} PRIVATE forqcore PkgConfig::CMOCKA)
	add_test(NAME unit.${name} COMMAND test_${name})
	set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 60)
endfunction()

# add_integration_test(NAME): tests/integration/NAME.sh against the real
# forqd and forq built here.
function(add_integration_test name)
	add_test(NAME integration.${name}
		COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
	set_tests_properties(integration.${name} PROPERTIES
		LABELS integration
		TIMEOUT 300
		RUN_SERIAL TRUE
		ENVIRONMENT "FORQD=$<TARGET_FILE:forqd>;FORQ=$<TARGET_FILE:forq>;FORQ_PIDWAIT=$<TARGET_FILE:pidwait>;FORQD_LAYOUT_NEXT=$<TARGET_FILE:forqd-layout-next>;FORQ_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

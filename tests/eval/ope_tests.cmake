# Tests of the off-policy evaluation, the A/B analysis and the gate (suites start with "Ope":
# ctest -R Ope). The OpeObp cases read $DISCO_DATA/open-bandit-men and skip by name without it.
disco_add_gtest(disco_ope_tests
  SOURCES ope_stats_test.cpp ope_estimators_test.cpp ope_model_test.cpp ope_data_test.cpp ope_ab_test.cpp ope_gate_test.cpp
  LIBS disco::eval disco::data nlohmann_json::nlohmann_json
  LABELS eval ope)
disco_add_gtest(disco_ope_realdata_tests
  SOURCES ope_obp_test.cpp
  LIBS disco::eval disco::data
  LABELS eval ope realdata
  TIMEOUT 900)
disco_add_gtest(disco_ope_cli_tests
  SOURCES ope_cli_test.cpp
  LIBS disco::eval disco::data nlohmann_json::nlohmann_json
  LABELS eval ope)
target_compile_definitions(disco_ope_cli_tests PRIVATE DISCO_EVAL_EXE="$<TARGET_FILE:disco-eval>")
add_dependencies(disco_ope_cli_tests disco-eval)

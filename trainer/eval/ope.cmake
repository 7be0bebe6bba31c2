# Off-policy evaluation, the A/B holdout analysis and the go-live gate (disco-eval ope / ab / gate /
# obp-check): sources of disco::eval, included from CMakeLists.txt.
if(TARGET disco::data)
  find_package(nlohmann_json 3 REQUIRED)
  target_sources(disco_eval PRIVATE
    src/ope_stats.cpp src/ope_estimators.cpp src/ope_model.cpp src/ope.cpp src/ope_data.cpp
    src/ope_bundle.cpp src/ope_obp.cpp src/ab.cpp src/gate.cpp src/ope_report.cpp src/ope_cli.cpp)
  find_package(CLI11 CONFIG REQUIRED)  # Debian libcli11-dev (scripts/setup.sh)
  target_link_libraries(disco_eval PUBLIC nlohmann_json::nlohmann_json PRIVATE CLI11::CLI11)
  # Bundle candidates replay contexts through disco_policy_probabilities (CONTRACTS.md section 4):
  # compiled in once runtime/include/disco/disco.h declares it (re-checked when that header changes).
  set(_disco_h ${PROJECT_SOURCE_DIR}/runtime/include/disco/disco.h)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_disco_h})
  file(READ ${_disco_h} _disco_h_text)
  string(FIND "${_disco_h_text}" "disco_policy_probabilities" _disco_pp)
  if(NOT _disco_pp EQUAL -1 AND TARGET disco::runtime)
    target_compile_definitions(disco_eval PRIVATE DISCO_HAVE_POLICY_PROBABILITIES=1)
    target_link_libraries(disco_eval PUBLIC disco::runtime)
  endif()
endif()

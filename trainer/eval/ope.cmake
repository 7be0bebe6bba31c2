# Off-policy evaluation, the A/B holdout analysis and the go-live gate (disco-eval ope / ab / gate /
# obp-check): sources of disco::eval, included from CMakeLists.txt.
find_package(nlohmann_json 3 REQUIRED)
target_sources(disco_eval PRIVATE
  src/ope_stats.cpp src/ope_estimators.cpp src/ope_model.cpp src/ope.cpp src/ope_data.cpp
  src/ope_bundle.cpp src/ope_obp.cpp src/ab.cpp src/gate.cpp src/ope_report.cpp src/ope_cli.cpp)
find_package(CLI11 CONFIG REQUIRED)  # Debian libcli11-dev (scripts/setup.sh)
target_link_libraries(disco_eval PUBLIC nlohmann_json::nlohmann_json PRIVATE CLI11::CLI11)
# Bundle candidates replay contexts through the runtime's disco_policy_probabilities.
target_link_libraries(disco_eval PUBLIC disco::runtime)

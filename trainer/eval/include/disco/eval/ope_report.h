// JSON (every figure) and one self-contained HTML page (inline CSS and SVG, no network) for
// disco-eval ope, ab and gate.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "disco/eval/ab.h"
#include "disco/eval/gate.h"
#include "disco/eval/ope.h"

namespace disco::eval::report {

// What was evaluated on what, for the page's header and the JSON's "meta".
struct Meta {
  std::string title;
  std::vector<std::pair<std::string, std::string>> items;  // shown in order
  std::vector<std::string> notes;
};

nlohmann::json to_json(const ope::OpeResult& r);
nlohmann::json to_json(const ab::AbResult& r);
nlohmann::json to_json(const gate::GateResult& g);
nlohmann::json meta_json(const Meta& m);

std::string ope_html(const Meta& m, const ope::OpeResult& r);
std::string ab_html(const Meta& m, const ab::AbResult& r);
std::string gate_html(const Meta& m, const gate::GateResult& g);

// Writes text to path (creating parent folders); throws std::runtime_error naming the file.
void write_file(const std::string& path, const std::string& text);

}  // namespace disco::eval::report

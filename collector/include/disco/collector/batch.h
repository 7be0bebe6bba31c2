// Batches of events, decisions, outcomes and activations as the collector sees them after
// parsing and field-by-field validation. Both wire forms (JSON with the field names of
// schemas/events.fbs, and FlatBuffers EventBatch with identifier "DSCE") parse into Batch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace disco::collector {

struct DecisionId {
  uint64_t hi = 0, lo = 0;
  std::string hex() const;  // 32 lowercase hex chars
  bool operator==(const DecisionId&) const = default;
};
std::optional<DecisionId> parse_decision_id(std::string_view hex);  // exactly 32 lowercase hex

enum class Mode : uint8_t { Online = 0, Apprentice = 1, LoggingOnly = 2 };
const char* mode_name(Mode m);  // "online", "apprentice", "logging_only"

struct Event {
  uint64_t user_key = 0;
  std::string session_id;
  int64_t ts_ms = 0;
  uint8_t type = 0;  // 0 view, 1 click, 2 cart, 3 remove, 4 purchase
  std::string item_id;
  double price = 0;
  int32_t quantity = 1;
};

struct Decision {
  DecisionId id;
  int64_t ts_ms = 0;
  uint64_t user_key = 0;
  std::string item_id;
  uint16_t arm = 0;
  double discount = 0;
  double propensity = 0;
  std::string model_version, policy_version;
  Mode mode = Mode::Online;
  bool shown = false;
  double price = 0, cost = 0;
  std::vector<float> context;
  bool holdout = false;  // A/B holdout: the site's baseline arm was served by rule
  std::string user_id;   // the store's shopper id or pseudonym when the SDK has one; else empty
};

struct Outcome {
  DecisionId id;
  int64_t ts_ms = 0;
  bool converted = false;
  double revenue = 0, margin = 0;
};

struct Activation {
  DecisionId id;
  int64_t ts_ms = 0;
};

struct Batch {
  std::string sender_id;
  uint64_t seq = 0;
  int64_t sent_at_ms = 0;
  uint32_t dropped_events = 0, dropped_decisions = 0, dropped_outcomes = 0;
  double pass_probability = 1.0;
  std::vector<Event> events;
  std::vector<Decision> decisions;
  std::vector<Outcome> outcomes;
  std::vector<Activation> activations;
  // Outcomes a browser reported with a write key (collector/PROTOCOL.md): stored apart, never
  // joined or rewarded. Filled by the server, never by the parsers; not in the wire forms.
  std::vector<Outcome> reported_outcomes;
  size_t rows() const { return events.size() + decisions.size() + outcomes.size() + activations.size(); }
};

struct ParseLimits {
  size_t max_rows = 10000;           // events + decisions + outcomes + activations
  size_t max_context = 256;          // floats per decision context
  size_t max_string = 256;           // bytes per id/version string
};

// Why a batch was refused: `field` is a path such as "decisions[3].propensity" (empty when the
// whole body is at fault); `too_large` marks limits (answered 413 rather than 400).
struct ParseError {
  std::string message;
  std::string field;
  std::string reason;  // short metric label: "malformed_json", "wrong_type", "missing_field", ...
  bool too_large = false;
};

// Each returns true and fills `out`, or false and fills `err`. Never throws.
bool parse_json_batch(std::string_view body, Batch& out, ParseError& err, const ParseLimits& lim = {});
bool parse_flatbuffers_batch(std::string_view body, Batch& out, ParseError& err, const ParseLimits& lim = {});

// Encodes a batch as a FlatBuffers EventBatch (identifier "DSCE"); used for the JetStream log,
// tests and the benchmark. zero_sent_at: writes sent_at_ms as 0 (the content a batch id hashes).
std::string encode_flatbuffers(const Batch& b, bool zero_sent_at = false);
// Encodes a batch as the JSON wire form.
std::string encode_json(const Batch& b);

}  // namespace disco::collector

// Small in-memory datasets for the evaluation tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "disco/data/dataset.h"

namespace disco::eval::testing {

// One session per inner vector (user = session), events one second apart; session s starts at
// s * 1000 s so later sessions are more recent. n_items items named "i0", "i1", ...
inline data::Dataset make_dataset(const std::vector<std::vector<uint32_t>>& sessions, uint32_t n_items,
                                  const std::vector<std::vector<uint8_t>>& types = {}) {
  data::Dataset ds;
  ds.name = "synthetic";
  for (uint32_t i = 0; i < n_items; ++i) {
    data::Item it;
    it.id = "i" + std::to_string(i);
    ds.item_index[it.id] = i;
    ds.items.push_back(it);
  }
  for (size_t s = 0; s < sessions.size(); ++s) {
    const std::string uid = "u" + std::to_string(s);
    ds.user_index[uid] = static_cast<uint32_t>(s);
    ds.user_ids.push_back(uid);
    data::Session ss;
    ss.user = static_cast<uint32_t>(s);
    ss.begin = static_cast<uint32_t>(ds.events.size());
    for (size_t k = 0; k < sessions[s].size(); ++k) {
      data::Event e;
      e.user = static_cast<uint32_t>(s);
      e.item = sessions[s][k];
      e.ts_ms = static_cast<int64_t>(s) * 1000000 + static_cast<int64_t>(k) * 1000;
      e.type = types.empty() ? data::EventType::View : static_cast<data::EventType>(types[s][k]);
      e.session = static_cast<uint32_t>(s);
      ds.events.push_back(e);
    }
    ss.end = static_cast<uint32_t>(ds.events.size());
    ss.start_ms = ds.events[ss.begin].ts_ms;
    ss.end_ms = ds.events[ss.end - 1].ts_ms;
    ds.sessions.push_back(ss);
  }
  return ds;
}

inline std::vector<uint32_t> range(uint32_t lo, uint32_t hi) {
  std::vector<uint32_t> v;
  for (uint32_t i = lo; i < hi; ++i) v.push_back(i);
  return v;
}

}  // namespace disco::eval::testing

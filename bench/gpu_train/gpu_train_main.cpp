// disco-gpu-train: ingest a canonical CSV folder, build the training sequences and train the
// disco LSTM with train() (same code as disco-train), printing data, device, events/s and epoch
// times. For bench/gpu-train.sh; the full job (evaluation, export) is disco-train.
//   disco-gpu-train --data DIR [--key value ...]   (keys: disco-train's training options)
#include <CLI/CLI.hpp>

#include <chrono>
#include <map>
#include <cstdio>
#include <string>

#include "disco/data/ingest.h"
#include "disco/model/trainer.h"

using namespace disco::model;

int main(int argc, char** argv) {
  std::string data;
  TrainConfig cfg;
  cfg.progress = "lines";
  CLI::App app{"disco-gpu-train --data DIR [--epochs N --batch-size N --device cuda ...] (disco-train's training options)",
               "disco-gpu-train"};
  app.add_option("--data", data, "canonical CSV folder")->required();
  std::map<const CLI::Option*, std::string> key_of;
  for (const std::string& key : TrainConfig::keys()) {
    std::string dashed = key;
    for (char& ch : dashed)
      if (ch == '_') ch = '-';
    std::string names = "--" + dashed + (dashed != key ? ",--" + key : std::string());
    CLI::Option* o = TrainConfig::is_flag(key) ? app.add_flag(names) : app.add_option(names);
    key_of[o] = key;
  }
  CLI11_PARSE(app, argc, argv);
  try {
    for (const CLI::Option* o : app.parse_order())
      if (const auto it = key_of.find(o); it != key_of.end()) cfg.set(it->second, o->results().back());
    if (data.empty()) throw TrainError("--data DIR is required");
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    auto ds = disco::data::read_canonical(data);
    const double ingest_s = std::chrono::duration<double>(Clock::now() - t0).count();
    auto split = disco::data::time_split(ds, 0.05, 0.0);
    const FeatureSpec fs{cfg.price_buckets, cfg.gap_buckets};
    t0 = Clock::now();
    const Sequences tr = build_sequences(ds, split.train, fs, cfg.max_len);
    const Sequences va = build_sequences(ds, split.valid, fs, cfg.max_len);
    std::printf("data: %zu events, %zu items, %zu sessions; ingest %.1f s, sequences %.1f s: %zu train sequences "
                "(%lld events), %zu valid\n",
                ds.events.size(), ds.items.size(), ds.sessions.size(), ingest_s,
                std::chrono::duration<double>(Clock::now() - t0).count(), tr.size(), (long long)tr.positions(), va.size());
    TrainInputs in;
    in.train = &tr;
    in.valid = &va;
    in.dims.n_items = int(ds.items.size());
    in.dims.emb_dim = cfg.emb_dim;
    in.dims.hidden = cfg.hidden;
    in.dims.layers = cfg.layers;
    in.dims.price_buckets = cfg.price_buckets;
    in.dims.gap_buckets = cfg.gap_buckets;
    const TrainResult r = train(in, cfg);
    for (const auto& e : r.history)
      std::printf("epoch %d: %.1f s training, %.0f events/s, train loss %.4f, valid loss %.4f, valid HR@20 %.4f\n",
                  e.epoch, e.seconds, e.events_per_s, e.train_loss, e.val_loss, e.val_hr20);
    std::printf("device %s: %lld steps, %.0f events/s over %.1f s of training\n", r.device.c_str(), (long long)r.steps,
                r.events_per_s, r.train_seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "disco-gpu-train: error: %s\n", e.what());
    return 1;
  }
}

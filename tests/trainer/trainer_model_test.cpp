// Training: determinism on CPU, that it learns, the float C++ pass vs LibTorch, bad inputs, config.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "disco/data/ingest.h"
#include "disco/model/config.h"
#include "disco/model/sequences.h"
#include "disco/model/trainer.h"
#include "disco/model/weights.h"
#include "trainer_test_util.h"

using namespace disco::model;

namespace {

struct Tiny {
  disco::data::Dataset ds;
  disco::data::Split split;
  Sequences train, valid;
  ModelDims dims;
  TrainConfig cfg;
};

Tiny make_tiny(const std::string& name) {
  Tiny t;
  const std::string dir = trainer_test::temp_dir(name);
  trainer_test::write_store(dir);
  t.ds = disco::data::read_canonical(dir);
  t.split = disco::data::time_split(t.ds, 0.1, 0.1);
  t.train = build_sequences(t.ds, t.split.train, {}, 20);
  t.valid = build_sequences(t.ds, t.split.valid, {}, 20);
  t.cfg.emb_dim = 8;
  t.cfg.hidden = 16;
  t.cfg.batch_size = 16;
  t.cfg.threads = 1;
  t.cfg.epochs = 2;
  t.cfg.progress = "off";
  t.dims.n_items = int(t.ds.items.size());
  t.dims.emb_dim = 8;
  t.dims.hidden = 16;
  return t;
}

TrainResult run(const Tiny& t, const TrainConfig& cfg, const std::string& ckpt = "") {
  TrainInputs in;
  in.train = &t.train;
  in.valid = &t.valid;
  in.dims = t.dims;
  in.checkpoint_dir = ckpt;
  return train(in, cfg);
}

bool same(const ModelWeights& a, const ModelWeights& b) {
  return a.item_emb.data == b.item_emb.data && a.w_ih[0].data == b.w_ih[0].data && a.w_hh[0].data == b.w_hh[0].data &&
         a.b[0] == b.b[0] && a.out_proj.data == b.out_proj.data && a.prop_w == b.prop_w && a.prop_b == b.prop_b;
}

}  // namespace

TEST(TrainerModel, SequencesFollowTheSpec) {
  const Tiny t = make_tiny("seq");
  ASSERT_GT(t.train.size(), 100u);
  // purchase label: 1 exactly at positions before a later purchase in the same session
  for (size_t s = 0; s < t.train.size(); ++s) {
    const int64_t o = t.train.offsets[s], L = t.train.length(s);
    bool later = false;
    for (int64_t i = L - 1; i >= 0; --i) {
      EXPECT_EQ(t.train.prop_label[size_t(o + i)], later ? 1 : 0);
      if (t.train.type[size_t(o + i)] == 4) later = true;
    }
    EXPECT_EQ(t.train.has_target[size_t(o + L - 1)], 0);
  }
  EXPECT_EQ(price_bucket(0.f, 20), 0);
  EXPECT_EQ(price_bucket(3.f, 20), 4);      // floor(2*log2(4)) = 4
  EXPECT_EQ(price_bucket(1e9f, 20), 19);    // clamped
  EXPECT_EQ(gap_bucket(0.0, 12), 0);
  EXPECT_EQ(gap_bucket(7.0, 12), 3);        // floor(log2(8)) = 3
  EXPECT_EQ(gap_bucket(1e9, 12), 11);
}

TEST(TrainerModel, DeterministicOnCpuForAFixedSeed) {
  const Tiny t = make_tiny("det");
  const TrainResult a = run(t, t.cfg), b = run(t, t.cfg);
  EXPECT_TRUE(same(a.weights, b.weights)) << "two runs with the same seed differ";
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) EXPECT_EQ(a.history[i].train_loss, b.history[i].train_loss);
  TrainConfig other = t.cfg;
  other.seed = 43;
  EXPECT_FALSE(same(a.weights, run(t, other).weights)) << "the seed has no effect";
}

TEST(TrainerModel, LearnsTheItemWalkAndEarlyStopsOnValidation) {
  Tiny t = make_tiny("learn");
  TrainConfig cfg = t.cfg;
  cfg.epochs = 8;
  cfg.lr = 0.01;
  const TrainResult r = run(t, cfg);
  ASSERT_FALSE(r.history.empty());
  // uniform guessing over 40 items: loss log(40) = 3.69, MRR@20 ~ 0.09; the walk i -> i+1 is
  // about 75% predictable
  const EpochStats& best = r.history[size_t(r.best_epoch - 1)];
  std::printf("best epoch %d: valid loss %.3f, HR@20 %.3f, MRR@20 %.3f\n", r.best_epoch, best.val_next_loss, best.val_hr20, best.val_mrr20);
  EXPECT_LT(best.val_next_loss, 3.0);
  EXPECT_GT(best.val_mrr20, 0.3);
  EXPECT_LT(r.history.back().train_loss, r.history.front().train_loss);
  for (const auto& e : r.history) EXPECT_TRUE(std::isfinite(e.val_loss));
}

TEST(TrainerModel, FloatReferencePassMatchesLibTorch) {
  Tiny t = make_tiny("ref");
  for (int layers : {1, 2}) {
    TrainConfig cfg = t.cfg;
    cfg.epochs = 1;
    cfg.layers = layers;
    t.dims.layers = layers;
    const TrainResult r = run(t, cfg);
    ASSERT_EQ(int(r.weights.w_ih.size()), layers);
    std::vector<float> ref, prop;
    torch_reference_scores(r.weights, t.valid, 10, ref, prop);
    const size_t n = size_t(t.dims.n_items);
    double err = 0, perr = 0;
    size_t pos = 0;
    std::vector<float> sc(n);
    for (size_t s = 0; s < std::min<size_t>(10, t.valid.size()); ++s) {
      FloatSession fs(r.weights);
      for (int64_t i = 0; i < t.valid.length(s); ++i, ++pos) {
        const size_t k = size_t(t.valid.offsets[s] + i);
        fs.observe(t.valid.item[k], t.valid.type[k], 0, 0);
        fs.score_all(sc.data());
        for (size_t j = 0; j < n; ++j) err = std::max(err, double(std::fabs(sc[j] - ref[pos * n + j])));
        perr = std::max(perr, double(std::fabs(fs.propensity() - prop[pos])));
      }
    }
    ASSERT_GT(pos, 10u);
    EXPECT_LT(err, 1e-4) << layers << " layer(s)";
    EXPECT_LT(perr, 1e-5) << layers << " layer(s)";
  }
}

TEST(TrainerModel, ResumesFromAnEpochCheckpointToTheSameResult) {
  const Tiny t = make_tiny("resume-lib");
  const std::string ck = trainer_test::temp_dir("resume-lib-ck");
  TrainConfig cfg = t.cfg;
  cfg.epochs = 3;
  const TrainResult full = run(t, cfg);
  // stop after one epoch's worth of steps (checkpoint at the epoch end), then continue
  TrainConfig part = cfg;
  // (an epoch of this small set is several passes: TrainConfig::min_epoch_steps)
  ASSERT_GT(full.passes_per_epoch, 1);
  part.max_steps = full.steps / int64_t(full.history.size());
  EXPECT_EQ(part.max_steps, int64_t((t.train.size() + 15) / 16) * full.passes_per_epoch);
  const TrainResult first = run(t, part, ck);
  EXPECT_EQ(first.history.size(), 1u);
  const TrainResult rest = run(t, cfg, ck);
  EXPECT_TRUE(rest.resumed);
  EXPECT_TRUE(same(full.weights, rest.weights));
  ASSERT_EQ(rest.history.size(), full.history.size());
  EXPECT_EQ(rest.history.back().val_loss, full.history.back().val_loss);
  // a checkpoint made with other settings is refused, with a way out
  TrainConfig changed = cfg;
  changed.hidden = 8;
  Tiny t2 = t;
  t2.dims.hidden = 8;
  try {
    run(t2, changed, ck);
    FAIL() << "expected TrainError";
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("--fresh"), std::string::npos) << e.what();
  }
}

TEST(TrainerModel, RejectsEmptyDataAndSingleItemCatalogs) {
  const Tiny t = make_tiny("bad");
  Sequences empty;
  TrainInputs in;
  in.train = &empty;
  in.dims = t.dims;
  EXPECT_THROW(train(in, t.cfg), TrainError);
  in.train = &t.train;
  in.dims.n_items = 1;
  try {
    train(in, t.cfg);
    FAIL();
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("at least 2 items"), std::string::npos) << e.what();
  }
}

TEST(TrainerModel, ConfigParsingNamesTheProblem) {
  TrainConfig c;
  c.set("hidden", "32");
  c.set("emb-dim", "16");
  EXPECT_EQ(c.hidden, 32);
  EXPECT_EQ(c.emb_dim, 16);
  EXPECT_THROW(c.set("hiden", "3"), TrainError);
  EXPECT_THROW(c.set("lr", "fast"), TrainError);
  EXPECT_THROW(c.set("epochs", "0"), TrainError);
  const std::string dir = trainer_test::temp_dir("conf");
  {
    std::ofstream f(dir + "/a.conf");
    f << "# comment\nepochs = 3\n\nthis line is wrong\n";
  }
  try {
    read_config_file(dir + "/a.conf");
    FAIL();
  } catch (const TrainError& e) {
    EXPECT_NE(std::string(e.what()).find("a.conf:4"), std::string::npos) << e.what();
  }
}

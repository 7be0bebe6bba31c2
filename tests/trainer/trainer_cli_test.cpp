// disco-train as users run it: help, a full tiny train job, crash (SIGKILL) + resume, bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "disco/disco.h"
#include "trainer_test_util.h"

namespace fs = std::filesystem;
using trainer_test::run;
using trainer_test::slurp;

TEST(TrainerCli, HelpAndUnknownOptions) {
  auto r = run("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("usage: disco-train"), std::string::npos);
  r = run("train --data /nonexistent --frobnicate 3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("not expected:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--frobnicate"), std::string::npos) << r.output;
  r = run("fly");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(TrainerCli, TrainEvaluateExportEndToEnd) {
  const std::string dir = trainer_test::temp_dir("e2e");
  trainer_test::write_store(dir + "/data");
  ASSERT_EQ(run("keygen --out " + dir + "/keys").exit_code, 0);
  {
    std::ofstream f(dir + "/train.conf");
    f << "# tiny model\nemb_dim = 8\nhidden = 16\nepochs = 2\nbatch_size = 16\nthreads = 1\n";
  }
  const auto r = run("train --data " + dir + "/data --out " + dir + "/out --config " + dir +
                     "/train.conf --baselines pop,iknn --progress lines --reference-sessions 5 --key " + dir +
                     "/keys/private.pem");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"bundle.disco", "bundle-int4.disco", "model.bin", "report.json", "report.html"})
    EXPECT_TRUE(fs::exists(dir + "/out/" + f)) << f;
  EXPECT_NE(r.output.find("events/s"), std::string::npos);
  EXPECT_NE(r.output.find("lstm-int8 "), std::string::npos) << "runtime int8 row missing:\n" << r.output;
  EXPECT_NE(r.output.find("iknn"), std::string::npos);
  const std::string report = slurp(dir + "/out/report.json");
  EXPECT_NE(report.find("lstm-int8"), std::string::npos);
  EXPECT_NE(report.find("valid_loss"), std::string::npos) << "training curves missing from the report";
  // the bundle loads, is signed with our key, and carries the evaluation metrics
  const std::string b = slurp(dir + "/out/bundle.disco");
  const std::string spki = slurp(dir + "/keys/public.der");
  disco_bundle* h = nullptr;
  ASSERT_EQ(disco_bundle_load(reinterpret_cast<const uint8_t*>(b.data()), b.size(), 0, &h), DISCO_OK)
      << disco_last_error();
  EXPECT_EQ(disco_bundle_verify_signature(h, reinterpret_cast<const uint8_t*>(spki.data()), spki.size()), DISCO_OK);
  disco_bundle_free(h);
  EXPECT_NE(b.find("lstm/HR@20"), std::string::npos);
  // export and eval on the trained model
  const auto e = run("export --data " + dir + "/data --out " + dir + "/out --bundle " + dir + "/again.disco --int4");
  EXPECT_EQ(e.exit_code, 0) << e.output;
  EXPECT_LT(fs::file_size(dir + "/again.disco"), fs::file_size(dir + "/out/bundle.disco"));
  const auto v = run("eval --data " + dir + "/data --out " + dir + "/out --baselines pop --no-int4 --reference-sessions 5");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST(TrainerCli, KilledMidRunResumesToTheSameModel) {
  const std::string dir = trainer_test::temp_dir("crash");
  trainer_test::write_store(dir + "/data");
  const std::string common = "train --data " + dir + "/data --epochs 3 --checkpoint-every-steps 4" + trainer_test::kTiny;
  const auto full = run(common + " --out " + dir + "/full");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  // SIGKILL in the middle of the second epoch, between two mid-epoch checkpoints
  const auto killed = run(common + " --out " + dir + "/crash --crash-after-steps 27");
  EXPECT_TRUE(killed.signal == SIGKILL || killed.exit_code == 128 + SIGKILL) << killed.output;
  EXPECT_FALSE(fs::exists(dir + "/crash/bundle.disco"));
  EXPECT_TRUE(fs::exists(dir + "/crash/checkpoints/state.txt"));
  const auto resumed = run(common + " --out " + dir + "/crash");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from checkpoint"), std::string::npos) << resumed.output;
  const std::string a = slurp(dir + "/full/model.bin"), b = slurp(dir + "/crash/model.bin");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the resumed run's model differs from the uninterrupted run's";
}

TEST(TrainerCli, BadInputEndsWithAClearMessage) {
  const std::string dir = trainer_test::temp_dir("badin");
  // missing folder
  auto r = run("train --data " + dir + "/nope --out " + dir + "/o1" + trainer_test::kTiny);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no such file or directory"), std::string::npos) << r.output;
  // empty dataset (headers only)
  fs::create_directories(dir + "/empty");
  std::ofstream(dir + "/empty/items.csv") << "item_id,category,brand,price,cost,in_stock\n";
  std::ofstream(dir + "/empty/events.csv") << "user_id,session_id,ts,type,item_id,price,quantity\n";
  r = run("train --data " + dir + "/empty --out " + dir + "/o2" + trainer_test::kTiny);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("empty dataset"), std::string::npos) << r.output;
  // a catalog with one item
  trainer_test::write_store(dir + "/one", 1, 50);
  r = run("train --data " + dir + "/one --out " + dir + "/o3" + trainer_test::kTiny);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("at least 2 items"), std::string::npos) << r.output;
  // a run whose loss turns NaN: an error naming the step, non-zero exit, no model and no bundle
  trainer_test::write_store(dir + "/ok");
  r = run("train --data " + dir + "/ok --out " + dir + "/o4 --epochs 2 --inject-nan-at-step 7" + trainer_test::kTiny);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("training diverged: the loss is NaN at epoch 1, step 8"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/o4/bundle.disco"));
  EXPECT_FALSE(fs::exists(dir + "/o4/model.bin"));
  // a missing signing key is reported before any training
  r = run("train --data " + dir + "/ok --out " + dir + "/o5 --key " + dir + "/nokey.pem" + trainer_test::kTiny);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("private key not found"), std::string::npos) << r.output;
}

// Round trip of both schemas: build, verify with the FlatBuffers Verifier, read back.
#include <gtest/gtest.h>

#include <cstring>

#include "disco/schemas/bundle_generated.h"
#include "disco/schemas/events_generated.h"

namespace fb = disco::fb;

namespace {

std::vector<uint8_t> build_model() {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<flatbuffers::String>> ids;
  for (const char* id : {"sku-1", "sku-2", "sku-3"}) ids.push_back(b.CreateString(id));
  auto catalog = fb::CreateCatalog(b, b.CreateVector(ids), b.CreateVector(std::vector<uint32_t>{1, 1, 2}),
                                   b.CreateVector(std::vector<uint32_t>{0, 3, 3}),
                                   b.CreateVector(std::vector<float>{10.f, 20.f, 30.f}),
                                   b.CreateVector(std::vector<float>{6.f, 12.f, 15.f}),
                                   b.CreateVector(std::vector<uint8_t>{1, 0, 1}));
  auto config = fb::CreateModelConfig(b, 2, 4);
  std::vector<int8_t> q = {1, -2, 127, -127, 5, 6};
  b.ForceVectorAlignment(q.size(), 1, 16);
  auto data = b.CreateVector(reinterpret_cast<const uint8_t*>(q.data()), q.size());
  auto tensor = fb::CreateTensor(b, b.CreateString("item_emb"), b.CreateVector(std::vector<uint32_t>{3, 2}),
                                 fb::DType::I8, b.CreateVector(std::vector<float>{0.1f, 0.2f, 0.3f}), data);
  std::vector<flatbuffers::Offset<fb::Arm>> arms = {
      fb::CreateArm(b, b.CreateString("0%"), fb::ArmKind::Percent, 0.f),
      fb::CreateArm(b, b.CreateString("10%"), fb::ArmKind::Percent, 0.1f),
      fb::CreateArm(b, b.CreateString("free-shipping"), fb::ArmKind::FreeShipping, 0.f, 4.5f)};
  auto bandit = fb::CreateBanditPrior(b, fb::BanditAlgorithm::LinTS, 8);
  auto guards = fb::CreateGuardrails(b, 0.25f, 0.05f, 1000.f, 86400, 3600);
  std::vector<flatbuffers::Offset<fb::Metric>> metrics = {fb::CreateMetric(b, b.CreateString("hr@20"), 0.5)};
  auto model = fb::CreateModel(b, b.CreateString("test-1"), 1700000000000, config, catalog,
                               b.CreateVector(std::vector{tensor}), b.CreateVector(arms), bandit, guards,
                               0, b.CreateVector(metrics));
  b.Finish(model);
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace

TEST(Schemas, BundleRoundTrip) {
  auto payload = build_model();
  flatbuffers::FlatBufferBuilder b;
  b.ForceVectorAlignment(payload.size(), 1, 16);
  auto pv = b.CreateVector(payload);
  auto sig = b.CreateVector(std::vector<uint8_t>(64, 7));
  auto root = fb::CreateBundle(b, 1, 0, pv, fb::ChecksumAlgo::XXH64, 0x1234, fb::SignatureAlgo::EcdsaP256Sha256,
                               sig, b.CreateString("abcd"));
  fb::FinishBundleBuffer(b, root);

  ASSERT_TRUE(fb::BundleBufferHasIdentifier(b.GetBufferPointer()));
  flatbuffers::Verifier v(b.GetBufferPointer(), b.GetSize());
  ASSERT_TRUE(fb::VerifyBundleBuffer(v));
  const fb::Bundle* bundle = fb::GetBundle(b.GetBufferPointer());
  EXPECT_EQ(bundle->schema_major(), 1);
  EXPECT_EQ(bundle->checksum(), 0x1234u);
  EXPECT_EQ(bundle->signature()->size(), 64u);
  // The payload is 16-byte aligned inside the buffer (zero-copy tensor access).
  EXPECT_EQ(reinterpret_cast<uintptr_t>(bundle->payload()->data()) % 16, 0u);

  flatbuffers::Verifier pvv(bundle->payload()->data(), bundle->payload()->size());
  ASSERT_TRUE(pvv.VerifyBuffer<fb::Model>(nullptr));
  const fb::Model* model = bundle->payload_nested_root();
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->model_version()->str(), "test-1");
  EXPECT_EQ(model->catalog()->item_ids()->size(), 3u);
  EXPECT_EQ(model->catalog()->item_ids()->Get(1)->str(), "sku-2");
  EXPECT_EQ(model->catalog()->in_stock()->Get(1), 0);
  EXPECT_EQ(model->config()->emb_dim(), 2);
  const fb::Tensor* t = model->tensors()->Get(0);
  EXPECT_EQ(t->dtype(), fb::DType::I8);
  EXPECT_EQ(t->shape()->Get(0), 3u);
  EXPECT_EQ(reinterpret_cast<const int8_t*>(t->data()->data())[2], 127);
  EXPECT_FLOAT_EQ(t->scales()->Get(2), 0.3f);
  EXPECT_EQ(model->arms()->size(), 3u);
  EXPECT_EQ(model->arms()->Get(2)->kind(), fb::ArmKind::FreeShipping);
  EXPECT_FLOAT_EQ(model->guardrails()->max_discount(), 0.25f);
  EXPECT_EQ(model->guardrails()->cooldown_s(), 3600u);
  EXPECT_EQ(model->metrics()->Get(0)->name()->str(), "hr@20");
}

TEST(Schemas, CorruptBundleFailsVerifier) {
  auto payload = build_model();
  // Truncations of a valid Model buffer must be rejected by the Verifier, never read.
  for (size_t cut : {size_t{0}, size_t{8}, payload.size() / 2, payload.size() - 4}) {
    std::vector<uint8_t> bad(payload.begin(), payload.begin() + cut);
    flatbuffers::Verifier v(bad.data(), bad.size());
    EXPECT_FALSE(v.VerifyBuffer<fb::Model>(nullptr)) << "cut at " << cut;
  }
}

TEST(Schemas, EventBatchRoundTrip) {
  flatbuffers::FlatBufferBuilder b;
  fb::Uuid id(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  std::vector<float> ctx = {0.5f, 1.f, 0.f};
  auto dec = fb::CreateDecision(b, &id, 1700000000123, 42, b.CreateString("sku-2"), 1, 0.1f, 0.35f,
                                b.CreateString("m1"), b.CreateString("p1"), fb::Mode::Online, true, 20.f, 12.f,
                                b.CreateVector(ctx));
  auto out = fb::CreateOutcome(b, &id, 1700000005000, true, 18.f, 6.f);
  auto ev = fb::CreateEvent(b, 42, b.CreateString("s1"), 1700000000000, fb::EventType::Cart,
                            b.CreateString("sku-2"), 20.f, 1);
  auto batch = fb::CreateEventBatch(b, b.CreateString("edge-7"), 99, 1700000006000, 3, 1, 0, 1.f,
                                    b.CreateVector(std::vector{ev}), b.CreateVector(std::vector{dec}),
                                    b.CreateVector(std::vector{out}));
  fb::FinishEventBatchBuffer(b, batch);

  flatbuffers::Verifier v(b.GetBufferPointer(), b.GetSize());
  ASSERT_TRUE(fb::VerifyEventBatchBuffer(v));
  const fb::EventBatch* r = fb::GetEventBatch(b.GetBufferPointer());
  EXPECT_EQ(r->sender_id()->str(), "edge-7");
  EXPECT_EQ(r->seq(), 99u);
  EXPECT_EQ(r->dropped_events(), 3u);
  EXPECT_EQ(r->dropped_decisions(), 1u);
  ASSERT_EQ(r->decisions()->size(), 1u);
  const fb::Decision* d = r->decisions()->Get(0);
  EXPECT_EQ(d->decision_id()->hi(), 0x0123456789abcdefULL);
  EXPECT_EQ(d->decision_id()->lo(), 0xfedcba9876543210ULL);
  EXPECT_FLOAT_EQ(d->propensity(), 0.35f);
  EXPECT_TRUE(d->shown());
  EXPECT_EQ(d->context()->size(), 3u);
  ASSERT_EQ(r->outcomes()->size(), 1u);
  EXPECT_TRUE(r->outcomes()->Get(0)->converted());
  EXPECT_FLOAT_EQ(r->outcomes()->Get(0)->margin(), 6.f);
  EXPECT_EQ(r->events()->Get(0)->type(), fb::EventType::Cart);

  // A buffer with the other schema's identifier is not an EventBatch.
  EXPECT_FALSE(fb::BundleBufferHasIdentifier(b.GetBufferPointer()));
}

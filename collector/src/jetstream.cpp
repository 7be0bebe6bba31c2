#include "disco/collector/jetstream.h"

#include <chrono>
#include <future>
#include <stdexcept>
#include <vector>

#include "disco/collector/batch.h"
#include "disco/collector/metrics.h"
#include "disco/collector/store.h"

#ifdef DISCO_COLLECTOR_WITH_NATS
#include <nats/nats.h>
#endif

namespace disco::collector {

#ifdef DISCO_COLLECTOR_WITH_NATS

namespace {
std::string nats_err(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string m = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last && *last) m += std::string(" (") + last + ")";
  if (jerr) m += " [jetstream error " + std::to_string(static_cast<int>(jerr)) + "]";
  return m;
}
}  // namespace

struct JetStreamLog::Impl {
  Config cfg;
  Metrics* metrics = nullptr;
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::string subject;
  std::atomic<bool> stopping{false};
  std::thread joiner;

  ~Impl() {
    stopping = true;
    if (joiner.joinable()) joiner.join();
    if (js) jsCtx_Destroy(js);
    if (nc) natsConnection_Destroy(nc);
    if (opts) natsOptions_Destroy(opts);
  }
};

bool jetstream_available() { return true; }

JetStreamLog::JetStreamLog(const Config& cfg, Metrics* metrics) : impl_(std::make_unique<Impl>()) {
  auto& im = *impl_;
  im.cfg = cfg;
  im.metrics = metrics;
  im.subject = cfg.nats_stream + ".events";
  std::vector<std::string> urls;
  for (size_t a = 0; a <= cfg.nats_urls.size();) {
    size_t b = cfg.nats_urls.find(',', a);
    if (b == std::string::npos) b = cfg.nats_urls.size();
    if (b > a) urls.push_back(cfg.nats_urls.substr(a, b - a));
    a = b + 1;
  }
  std::vector<const char*> up;
  for (auto& u : urls) up.push_back(u.c_str());
  natsStatus s = natsOptions_Create(&im.opts);
  if (s == NATS_OK) s = natsOptions_SetServers(im.opts, up.data(), static_cast<int>(up.size()));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(im.opts, -1);  // forever: nodes come back
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(im.opts, 200);
  if (s == NATS_OK) s = natsOptions_SetTimeout(im.opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(im.opts, true, nullptr, nullptr);
  if (s == NATS_OK) s = natsConnection_Connect(&im.nc, im.opts);
  if (s != NATS_OK) throw std::runtime_error("NATS connect to " + cfg.nats_urls + " failed: " + nats_err(s));
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  s = natsConnection_JetStream(&im.js, im.nc, &jo);
  if (s != NATS_OK) throw std::runtime_error("JetStream context: " + nats_err(s));
  // The stream: file storage, R replicas, dedupe window 2 minutes (a resent batch within it is
  // dropped by JetStream; later resends are caught by the joiner's decision_id idempotency).
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_GetStreamInfo(&si, im.js, cfg.nats_stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) {
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = cfg.nats_stream.c_str();
    const char* subj[] = {im.subject.c_str()};
    sc.Subjects = subj;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg.nats_replicas;
    sc.Duplicates = int64_t{120} * 1000 * 1000 * 1000;
    // Retry: the cluster may still be electing its meta leader right after start.
    for (int attempt = 0; attempt < 50; ++attempt) {
      jerr = static_cast<jsErrCode>(0);
      s = js_AddStream(&si, im.js, &sc, nullptr, &jerr);
      if (s == NATS_OK || jerr == JSStreamNameExistErr) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (s != NATS_OK && jerr != JSStreamNameExistErr)
      throw std::runtime_error("cannot create JetStream stream " + cfg.nats_stream + ": " + nats_err(s, jerr));
  } else if (s != NATS_OK) {
    throw std::runtime_error("JetStream stream info for " + cfg.nats_stream + ": " + nats_err(s, jerr));
  }
  if (si) jsStreamInfo_Destroy(si);
}

JetStreamLog::~JetStreamLog() { stop(); }

PublishResult JetStreamLog::publish(const std::string& site, const std::string& msg_id, const std::string& payload,
                                    int64_t timeout_ms) {
  auto& im = *impl_;
  PublishResult r;
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, im.subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Disco-Site", site.c_str());
  if (s != NATS_OK) {
    r.error = nats_err(s);
    natsMsg_Destroy(msg);
    return r;
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();
  po.MaxWait = timeout_ms;
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  // The client retries through reconnects; a publish without an ack is retried by the caller
  // with the same message id, so JetStream keeps one copy.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    s = js_PublishMsg(&pa, im.js, msg, &po, &jerr);
    if (s == NATS_OK || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  natsMsg_Destroy(msg);
  if (s != NATS_OK) {
    r.error = nats_err(s, jerr);
    return r;
  }
  r.ok = true;
  r.duplicate = pa->Duplicate;
  r.stream_seq = pa->Sequence;
  jsPubAck_Destroy(pa);
  return r;
}

void JetStreamLog::start_joiner(SqliteStore* store) {
  auto& im = *impl_;
  if (im.joiner.joinable()) return;
  natsSubscription* sub = nullptr;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = im.cfg.nats_stream.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.AckWait = int64_t{30} * 1000 * 1000 * 1000;
  so.Config.MaxAckPending = 20000;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = NATS_OK;
  for (int attempt = 0; attempt < 50; ++attempt) {
    s = js_PullSubscribe(&sub, im.js, im.subject.c_str(), "joiner", nullptr, &so, &jerr);
    if (s == NATS_OK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (s != NATS_OK) throw std::runtime_error("JetStream pull consumer 'joiner': " + nats_err(s, jerr));
  im.joiner = std::thread([this, store, sub] {
    auto& im = *impl_;
    ParseLimits lim;
    lim.max_rows = 1u << 24;
    lim.max_context = 65536;
    lim.max_string = 1u << 20;
    while (!im.stopping) {
      natsMsgList list{nullptr, 0};
      jsErrCode e = static_cast<jsErrCode>(0);
      natsStatus fs = natsSubscription_Fetch(&list, sub, 256, 500, &e);
      if (fs == NATS_TIMEOUT) continue;
      if (fs != NATS_OK) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      // Apply every fetched batch through the store's group commit, then ack them all.
      std::vector<std::future<ApplyOutcome>> futs(list.Count);
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* m = list.Msgs[i];
        const char* site = nullptr;
        const char* id = nullptr;
        natsMsgHeader_Get(m, "Disco-Site", &site);
        natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
        auto b = std::make_shared<Batch>();
        ParseError pe;
        std::string_view body(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
        if (!site || !id || !parse_flatbuffers_batch(body, *b, pe, lim)) {
          if (im.metrics) im.metrics->add("disco_collector_jetstream_bad_messages_total", "");
          natsMsg_Term(m, nullptr);  // never retried: it can never parse
          continue;
        }
        for (;;) {
          futs[i] = store->submit(site, id, b);
          if (futs[i].valid() || im.stopping) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // store queue full
        }
      }
      for (int i = 0; i < list.Count; ++i) {
        if (!futs[i].valid()) continue;
        ApplyOutcome o = futs[i].get();
        if (o.ok) {
          natsMsg_Ack(list.Msgs[i], nullptr);
          joined_.fetch_add(1);
        } else {
          natsMsg_Nak(list.Msgs[i], nullptr);  // redelivered later; applying twice is idempotent
        }
      }
      natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
  });
}

void JetStreamLog::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->joiner.joinable()) impl_->joiner.join();
}

bool JetStreamLog::connected() const {
  return impl_->nc && natsConnection_Status(impl_->nc) == NATS_CONN_STATUS_CONNECTED;
}

#else  // built without libnats

struct JetStreamLog::Impl {};
bool jetstream_available() { return false; }
JetStreamLog::JetStreamLog(const Config&, Metrics*) {
  throw std::runtime_error("this collector was built without libnats: storage = jetstream is unavailable");
}
JetStreamLog::~JetStreamLog() = default;
PublishResult JetStreamLog::publish(const std::string&, const std::string&, const std::string&, int64_t) { return {}; }
void JetStreamLog::start_joiner(SqliteStore*) {}
void JetStreamLog::stop() {}
bool JetStreamLog::connected() const { return false; }

#endif

}  // namespace disco::collector

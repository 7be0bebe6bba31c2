#include "disco/collector/jetstream.h"

#include <algorithm>
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
  std::thread ticker;

  ~Impl() {
    stopping = true;
    if (joiner.joinable()) joiner.join();
    if (ticker.joinable()) ticker.join();
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
  // dropped by JetStream; a later resend is a second message with the same batch id, which every
  // reader's joined log applies once: table batches is keyed by it).
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
                                    int64_t timeout_ms, bool reported) {
  auto& im = *impl_;
  PublishResult r;
  natsMsg* msg = nullptr;
  std::string framed;
  if (reported) framed.append(kReportedPrefix).append(payload);
  const std::string& data = reported ? framed : payload;
  natsStatus s = natsMsg_Create(&msg, im.subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Disco-Site", site.c_str());
  if (s == NATS_OK && reported) s = natsMsgHeader_Set(msg, "Disco-Reported", "1");
  if (s != NATS_OK) {
    r.error = nats_err(s);
    natsMsg_Destroy(msg);
    return r;
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();  // the batch id: JetStream keeps one copy within its duplicate window
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  // An attempt waits at most 2 s for its PubAck, then the same message (same id) is sent again
  // until the deadline: a lost reply (a node stopped, a leader election, a reconnect) costs one
  // attempt, never the whole timeout, and JetStream stores the batch once however often it came.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    po.MaxWait = std::max<int64_t>(1, std::min<int64_t>(left, 2000));
    jerr = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&pa, im.js, msg, &po, &jerr);
    if (s == NATS_OK || std::chrono::steady_clock::now() >= deadline) break;
    if (im.metrics) im.metrics->add("disco_collector_jetstream_publish_retries_total", "");
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

// The stream's clock: every collector publishes a tick (an empty message with header Disco-Tick)
// each sweep_interval_ms, with message id "tick-<interval>-<wall ms / interval>", so the fleet adds one tick
// per interval however many collectors run. Readers close reward windows at ticks, at the
// stream's time: the same windows close at the same stream position in every collector.
void JetStreamLog::start_ticker() {
  auto& im = *impl_;
  if (im.ticker.joinable()) return;
  im.ticker = std::thread([this] {
    auto& im = *impl_;
    const int64_t interval = std::max<int64_t>(10, im.cfg.sweep_interval_ms);
    while (!im.stopping) {
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
      const std::string id = "tick-" + std::to_string(interval) + "-" + std::to_string(now / interval);
      natsMsg* msg = nullptr;
      if (natsMsg_Create(&msg, im.subject.c_str(), nullptr, nullptr, 0) == NATS_OK &&
          natsMsgHeader_Set(msg, "Disco-Tick", "1") == NATS_OK) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id.c_str();
        po.MaxWait = 1000;
        jsPubAck* pa = nullptr;
        if (js_PublishMsg(&pa, im.js, msg, &po, nullptr) == NATS_OK) jsPubAck_Destroy(pa);
      }
      natsMsg_Destroy(msg);
      // Sleep to the next interval boundary (in small steps, to stop promptly).
      const int64_t next = (now / interval + 1) * interval;
      while (!im.stopping) {
        const int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
        if (t >= next) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, next - t)));
      }
    }
  });
}

// The reader: an ordered consumer (ephemeral, in stream order, no acks) from the store's stream
// position + 1. Each group of received messages is applied in one transaction that also records
// the new position (SqliteStore::apply_stream), so after kill -9 the collector resumes where its
// last commit ended: nothing applied twice, nothing skipped. A gap in the sequence, an error, or no
// progress for 2 s while the stream has more (a consumer lost with its node): the consumer is made
// again from the stored position.
void JetStreamLog::start_joiner(SqliteStore* store) {
  auto& im = *impl_;
  if (im.joiner.joinable()) return;
  im.joiner = std::thread([this, store] {
    auto& im = *impl_;
    ParseLimits lim;
    lim.max_rows = 1u << 24;
    lim.max_context = 65536;
    lim.max_string = 1u << 20;
    natsSubscription* sub = nullptr;
    uint64_t pos = store->stream_position().seq;  // last applied
    uint64_t last_seen = 0;                       // last delivered by this subscription
    auto last_progress = std::chrono::steady_clock::now();
    applied_seq_ = pos;
    auto drop_sub = [&] {
      if (sub) natsSubscription_Destroy(sub);
      sub = nullptr;
    };
    while (!im.stopping) {
      if (!sub) {
        pos = store->stream_position().seq;
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = im.cfg.nats_stream.c_str();
        so.Ordered = true;
        if (pos > 0) {
          so.Config.DeliverPolicy = js_DeliverByStartSequence;
          so.Config.OptStartSeq = pos + 1;
        }
        jsErrCode jerr = static_cast<jsErrCode>(0);
        natsStatus s = js_SubscribeSync(&sub, im.js, im.subject.c_str(), nullptr, &so, &jerr);
        if (s != NATS_OK) {
          sub = nullptr;
          if (im.metrics) im.metrics->add("disco_collector_jetstream_subscribe_errors_total", "");
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          continue;
        }
        last_seen = 0;
        last_progress = std::chrono::steady_clock::now();
      }
      natsMsg* first = nullptr;
      natsStatus s = natsSubscription_NextMsg(&first, sub, 500);
      if (s == NATS_TIMEOUT) {
        if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(2)) {
          jsStreamInfo* si = nullptr;
          if (js_GetStreamInfo(&si, im.js, im.cfg.nats_stream.c_str(), nullptr, nullptr) == NATS_OK) {
            const bool behind = si->State.LastSeq > pos;
            jsStreamInfo_Destroy(si);
            if (behind) drop_sub();  // a consumer lost with its node: make it again
          }
          last_progress = std::chrono::steady_clock::now();
        }
        continue;
      }
      if (s != NATS_OK) {
        drop_sub();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      std::vector<natsMsg*> got{first};
      uint64_t queued = 0;
      while (got.size() < 512 && natsSubscription_QueuedMsgs(sub, &queued) == NATS_OK && queued > 0) {
        natsMsg* m = nullptr;
        if (natsSubscription_NextMsg(&m, sub, 10) != NATS_OK) break;
        got.push_back(m);
      }
      std::vector<StreamMessage> msgs;
      msgs.reserve(got.size());
      bool gap = false;
      for (natsMsg* m : got) {
        jsMsgMetaData* meta = nullptr;
        if (gap || natsMsg_GetMetaData(&meta, m) != NATS_OK) {
          gap = true;  // cannot place it: read again from the stored position
          continue;
        }
        const uint64_t seq = meta->Sequence.Stream;
        const int64_t ts_ms = meta->Timestamp / 1000000;
        jsMsgMetaData_Destroy(meta);
        if (seq <= pos || seq <= last_seen) continue;  // read again after a restart of the consumer
        if (last_seen != 0 && seq != last_seen + 1) {
          gap = true;
          continue;
        }
        last_seen = seq;
        StreamMessage sm;
        sm.seq = seq;
        sm.ts_ms = ts_ms;
        const char* tick = nullptr;
        if (natsMsgHeader_Get(m, "Disco-Tick", &tick) == NATS_OK) {
          msgs.push_back(std::move(sm));
          continue;
        }
        const char* site = nullptr;
        const char* id = nullptr;
        natsMsgHeader_Get(m, "Disco-Site", &site);
        natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
        auto b = std::make_shared<Batch>();
        ParseError pe;
        std::string_view body(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
        // A write-key batch (publish(reported = true)): its outcomes are the page's reported ones.
        const char* reported = nullptr;
        const bool from_page = natsMsgHeader_Get(m, "Disco-Reported", &reported) == NATS_OK;
        const bool framed = body.substr(0, kReportedPrefix.size()) == kReportedPrefix;
        if (from_page && framed) body.remove_prefix(kReportedPrefix.size());
        if (!site || !id || from_page != framed || !parse_flatbuffers_batch(body, *b, pe, lim)) {
          // Never applicable, by any collector: skipped (its sequence still passes).
          if (im.metrics) im.metrics->add("disco_collector_jetstream_bad_messages_total", "");
          continue;
        }
        if (from_page) {
          b->reported_outcomes = std::move(b->outcomes);
          b->outcomes.clear();
        }
        sm.site = site;
        sm.batch_id = id;
        sm.batch = std::move(b);
        msgs.push_back(std::move(sm));
      }
      for (natsMsg* m : got) natsMsg_Destroy(m);
      if (!msgs.empty()) {
        StreamApplyCounts c;
        ApplyOutcome o = store->apply_stream(msgs, &c);
        if (!o.ok) {
          if (im.metrics) im.metrics->add("disco_collector_storage_errors_total", "");
          drop_sub();  // read again from the stored position
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          continue;
        }
        pos = store->stream_position().seq;
        applied_seq_ = pos;
        joined_.fetch_add(c.batches + c.duplicates);
        last_progress = std::chrono::steady_clock::now();
        if (im.metrics) {
          if (c.batches) im.metrics->add("disco_collector_jetstream_batches_applied_total", "", c.batches);
          if (c.duplicates) im.metrics->add("disco_collector_jetstream_duplicate_batches_total", "", c.duplicates);
          if (c.ticks) im.metrics->add("disco_collector_jetstream_ticks_total", "", c.ticks);
        }
      }
      if (gap) drop_sub();
    }
    drop_sub();
  });
}

void JetStreamLog::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->joiner.joinable()) impl_->joiner.join();
  if (impl_->ticker.joinable()) impl_->ticker.join();
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
PublishResult JetStreamLog::publish(const std::string&, const std::string&, const std::string&, int64_t, bool) { return {}; }
void JetStreamLog::start_joiner(SqliteStore*) {}
void JetStreamLog::start_ticker() {}
void JetStreamLog::stop() {}
bool JetStreamLog::connected() const { return false; }

#endif

}  // namespace disco::collector

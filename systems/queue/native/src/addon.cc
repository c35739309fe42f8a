// Node-API binding of the rq core: one NativeQueue per attached segment. Fast paths are
// synchronous (put/get into caller buffers, batches); blocking waits for the event loop run on
// two dedicated waiter threads per handle (never libuv's threadpool) and report back through a
// threadsafe function.
#include <napi.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "rq_core.h"

namespace {

struct WaitRequest {
  int kind = 0;
  uint64_t need = 0;
  int64_t timeout_ms = -1;
  uint32_t spin = 0;
  Napi::ThreadSafeFunction tsfn;
};

class Waiter {
 public:
  Waiter(rq_handle *h, const volatile int *cancel) : h_(h), cancel_(cancel) {}
  ~Waiter() { Stop(); }

  bool Busy() {
    std::lock_guard<std::mutex> g(m_);
    return has_req_ || running_;
  }

  void Submit(WaitRequest req) {
    std::unique_lock<std::mutex> g(m_);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    req_ = std::move(req);
    has_req_ = true;
    cv_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    for (;;) {
      WaitRequest req;
      {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [this] { return has_req_ || stop_; });
        if (!has_req_) return;
        req = std::move(req_);
        has_req_ = false;
        running_ = true;
      }
      int st = rq_wait(h_, req.kind, req.need, req.timeout_ms, req.spin, cancel_);
      if (*cancel_ && st == RQ_OK) st = RQ_CANCELLED;
      {
        // free before the callback runs: it may submit the next wait at once
        std::lock_guard<std::mutex> g(m_);
        running_ = false;
      }
      auto *boxed = new int(st);
      napi_status ns = req.tsfn.NonBlockingCall(boxed, [](Napi::Env env, Napi::Function cb, int *value) {
        int v = *value;
        delete value;
        if (env != nullptr && cb != nullptr) cb.Call({Napi::Number::New(env, v)});
      });
      if (ns != napi_ok) delete boxed;
      req.tsfn.Release();
    }
  }

  rq_handle *h_;
  const volatile int *cancel_;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  WaitRequest req_;
  bool has_req_ = false;
  bool running_ = false;
  bool stop_ = false;
};

Napi::Error StatusError(Napi::Env env, int status, const std::string &what) {
  std::string msg = what + ": " + rq_status_name(status);
  if (status == RQ_SYS) msg += std::string(" (") + std::strerror(errno) + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("rqStatus", Napi::Number::New(env, status));
  return err;
}

class NativeQueue : public Napi::ObjectWrap<NativeQueue> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeQueue",
                       {
                           InstanceMethod("putBatch", &NativeQueue::PutBatch),
                           InstanceMethod("get", &NativeQueue::Get),
                           InstanceMethod("getAt", &NativeQueue::GetAt),
                           InstanceMethod("setArena", &NativeQueue::SetArena),
                           InstanceMethod("getBatch", &NativeQueue::GetBatch),
                           InstanceMethod("getSync", &NativeQueue::GetSync),
                           InstanceMethod("putSync", &NativeQueue::PutSync),
                           InstanceMethod("needed", &NativeQueue::Needed),
                           InstanceMethod("waitAsync", &NativeQueue::WaitAsync),
                           InstanceMethod("taskDone", &NativeQueue::TaskDone),
                           InstanceMethod("unfinished", &NativeQueue::Unfinished),
                           InstanceMethod("shutdown", &NativeQueue::Shutdown),
                           InstanceMethod("close", &NativeQueue::Close),
                           InstanceMethod("stats", &NativeQueue::Stats),
                           InstanceMethod("count", &NativeQueue::Count),
                           InstanceMethod("capacity", &NativeQueue::Capacity),
                           InstanceMethod("maxMessage", &NativeQueue::MaxMessage),
                           InstanceMethod("isClosed", &NativeQueue::IsClosed),
                           InstanceMethod("debugFault", &NativeQueue::DebugFault),
                           StaticMethod("unlink", &NativeQueue::Unlink),
                       });
  }

  // new NativeQueue(mode: 0 create | 1 open, name, capacity, maxMessage)
  explicit NativeQueue(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeQueue>(info) {
    Napi::Env env = info.Env();
    int mode = info[0].As<Napi::Number>().Int32Value();
    std::string name = info[1].As<Napi::String>().Utf8Value();
    int st;
    if (mode == 0) {
      uint64_t cap = static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value());
      uint64_t maxm = static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value());
      st = rq_create(name.c_str(), cap, maxm, &h_);
    } else {
      st = rq_open(name.c_str(), &h_);
    }
    if (st != RQ_OK) {
      h_ = nullptr;
      StatusError(env, st, mode == 0 ? "create " + name : "open " + name).ThrowAsJavaScriptException();
      return;
    }
    readable_ = new Waiter(h_, &cancel_);
    writable_ = new Waiter(h_, &cancel_);
    joined_ = new Waiter(h_, &cancel_);
    env_ = env;
    // the per-message calls are plain Node-API functions bound to this instance (own properties
    // that shadow nothing): no unwrap and no argument vector per call
    napi_value self = info.This();
    napi_value fn;
    if (napi_create_function(env, "put", NAPI_AUTO_LENGTH, &NativeQueue::FastPut, this, &fn) == napi_ok)
      napi_set_named_property(env, self, "put", fn);
    if (napi_create_function(env, "take", NAPI_AUTO_LENGTH, &NativeQueue::FastTake, this, &fn) == napi_ok)
      napi_set_named_property(env, self, "take", fn);
    napi_add_env_cleanup_hook(env, &NativeQueue::Cleanup, this);
  }

  ~NativeQueue() override {
    if (h_) napi_remove_env_cleanup_hook(env_, &NativeQueue::Cleanup, this);
    Detach();
  }

 private:
  static void Cleanup(void *arg) { static_cast<NativeQueue *>(arg)->Detach(); }

  void Detach() {
    if (!h_) return;
    cancel_ = 1;
    rq_wake_all(h_);
    delete readable_;
    delete writable_;
    delete joined_;
    readable_ = writable_ = joined_ = nullptr;
    rq_close(h_);
    h_ = nullptr;
  }

  bool Check(Napi::Env env) {
    if (h_) return true;
    Napi::Error err = Napi::Error::New(env, "queue handle is closed");
    err.Set("rqStatus", Napi::Number::New(env, RQ_CLOSED));
    err.ThrowAsJavaScriptException();
    return false;
  }

  static void Bytes(const Napi::Value &v, uint8_t **data, size_t *len) {
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    *data = a.Data();
    *len = a.ByteLength();
  }

  static napi_value Int(napi_env env, int32_t v) {
    napi_value out;
    napi_create_int32(env, v, &out);
    return out;
  }

  // The instance a bound function was created for, and its arguments (argc in: room, out: given).
  static NativeQueue *Bound(napi_env env, napi_callback_info cbinfo, size_t *argc, napi_value *argv) {
    void *data = nullptr;
    napi_get_cb_info(env, cbinfo, argc, argv, nullptr, &data);
    return static_cast<NativeQueue *>(data);
  }

  // put(data) -> status; thrown error when the handle is closed
  static napi_value FastPut(napi_env env, napi_callback_info cbinfo) {
    size_t argc = 1;
    napi_value argv[1];
    NativeQueue *self = Bound(env, cbinfo, &argc, argv);
    if (!self->h_) return self->ThrowClosed(env);
    void *bytes = nullptr;
    size_t n = 0;
    if (argc < 1 || napi_get_typedarray_info(env, argv[0], nullptr, &n, &bytes, nullptr, nullptr) != napi_ok) {
      napi_throw_type_error(env, nullptr, "put: expected a Uint8Array");
      return nullptr;
    }
    if (n > UINT32_MAX) return Int(env, RQ_TOO_LARGE);
    return Int(env, rq_put(self->h_, bytes, static_cast<uint32_t>(n)));
  }

  // take(offset) -> length (>= 0) or -status: a get into the arena (setArena) from offset on
  static napi_value FastTake(napi_env env, napi_callback_info cbinfo) {
    size_t argc = 1;
    napi_value argv[1];
    NativeQueue *self = Bound(env, cbinfo, &argc, argv);
    if (!self->h_) return self->ThrowClosed(env);
    uint32_t at = 0;
    if (argc >= 1) napi_get_value_uint32(env, argv[0], &at);
    size_t off = at > self->arena_len_ ? self->arena_len_ : at;
    size_t room = self->arena_len_ - off;
    uint32_t len = 0;
    int st = rq_get(self->h_, self->arena_ + off, room > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(room), &len);
    if (st == RQ_BUF_SMALL) self->needed_ = len;
    return Int(env, st == RQ_OK ? static_cast<int32_t>(len) : -st);
  }

  napi_value ThrowClosed(napi_env env) {
    Check(Napi::Env(env));
    return nullptr;
  }

  // putBatch(data, lens: Uint32Array, n) -> count put (> 0), or -status
  Napi::Value PutBatch(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[0], &d, &n);
    Napi::Uint32Array lens = info[1].As<Napi::Uint32Array>();
    uint32_t count = info[2].As<Napi::Number>().Uint32Value();
    if (count > lens.ElementLength()) count = static_cast<uint32_t>(lens.ElementLength());
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) total += lens[i];
    if (total > n) {
      Napi::RangeError::New(info.Env(), "putBatch: lengths exceed the data buffer").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    uint32_t done = 0;
    int st = rq_put_batch(h_, d, lens.Data(), count, &done);
    return Napi::Number::New(info.Env(), done > 0 ? static_cast<double>(done) : -static_cast<double>(st));
  }

  // get(buf) -> length (>= 0) or -status; on -BUF_SMALL needed() holds the length
  Napi::Value Get(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[0], &d, &n);
    uint32_t len = 0;
    int st = rq_get(h_, d, n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n), &len);
    if (st == RQ_BUF_SMALL) needed_ = len;
    return Napi::Number::New(info.Env(), st == RQ_OK ? static_cast<double>(len) : -static_cast<double>(st));
  }

  // getAt(buf, offset) -> length (>= 0) or -status: get into buf from offset on (an arena that
  // the caller hands out slices of); on -BUF_SMALL needed() holds the length
  Napi::Value GetAt(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[0], &d, &n);
    size_t at = info[1].As<Napi::Number>().Uint32Value();
    if (at > n) at = n;
    size_t room = n - at;
    uint32_t len = 0;
    int st = rq_get(h_, d + at, room > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(room), &len);
    if (st == RQ_BUF_SMALL) needed_ = len;
    return Napi::Number::New(info.Env(), st == RQ_OK ? static_cast<double>(len) : -static_cast<double>(st));
  }

  // setArena(buf): the buffer take() copies into (held here until the next setArena or close)
  Napi::Value SetArena(const Napi::CallbackInfo &info) {
    Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
    arena_ = a.Data();
    arena_len_ = a.ByteLength();
    arena_ref_ = Napi::Persistent(a.As<Napi::Object>());
    return info.Env().Undefined();
  }

  // getBatch(buf, lens: Uint32Array, max) -> count (> 0) or -status
  Napi::Value GetBatch(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[0], &d, &n);
    Napi::Uint32Array lens = info[1].As<Napi::Uint32Array>();
    uint32_t max = info[2].As<Napi::Number>().Uint32Value();
    if (max > lens.ElementLength()) max = static_cast<uint32_t>(lens.ElementLength());
    uint32_t done = 0;
    int st = rq_get_batch(h_, d, n, lens.Data(), max, &done);
    if (st == RQ_BUF_SMALL) needed_ = lens[0];
    return Napi::Number::New(info.Env(), done > 0 ? static_cast<double>(done) : -static_cast<double>(st));
  }

  // getSync(buf, timeoutMs, spin): blocks this thread (for dedicated consumer loops)
  Napi::Value GetSync(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[0], &d, &n);
    int64_t timeout = info[1].As<Napi::Number>().Int64Value();
    uint32_t spin = info[2].As<Napi::Number>().Uint32Value();
    int64_t deadline = timeout >= 0 ? NowMs() + timeout : -1;
    for (;;) {
      uint32_t len = 0;
      int st = rq_get(h_, d, n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n), &len);
      if (st == RQ_OK) return Napi::Number::New(info.Env(), len);
      if (st == RQ_BUF_SMALL) needed_ = len;
      if (st != RQ_EMPTY) return Napi::Number::New(info.Env(), -st);
      int64_t left = deadline < 0 ? -1 : deadline - NowMs();
      if (deadline >= 0 && left <= 0) return Napi::Number::New(info.Env(), -RQ_TIMEOUT);
      int w = rq_wait(h_, RQ_WAIT_READABLE, 0, left, spin, &cancel_);
      if (w == RQ_TIMEOUT) return Napi::Number::New(info.Env(), -RQ_TIMEOUT);
      if (w == RQ_CANCELLED) return Napi::Number::New(info.Env(), -RQ_CLOSED);
    }
  }

  Napi::Value PutSync(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[0], &d, &n);
    int64_t timeout = info[1].As<Napi::Number>().Int64Value();
    uint32_t spin = info[2].As<Napi::Number>().Uint32Value();
    int64_t deadline = timeout >= 0 ? NowMs() + timeout : -1;
    if (n > UINT32_MAX) return Napi::Number::New(info.Env(), RQ_TOO_LARGE);
    for (;;) {
      int st = rq_put(h_, d, static_cast<uint32_t>(n));
      if (st != RQ_FULL) return Napi::Number::New(info.Env(), st);
      int64_t left = deadline < 0 ? -1 : deadline - NowMs();
      if (deadline >= 0 && left <= 0) return Napi::Number::New(info.Env(), RQ_TIMEOUT);
      int w = rq_wait(h_, RQ_WAIT_WRITABLE, rq_record_size(static_cast<uint32_t>(n)), left, spin, &cancel_);
      if (w == RQ_TIMEOUT) return Napi::Number::New(info.Env(), RQ_TIMEOUT);
      if (w == RQ_CANCELLED) return Napi::Number::New(info.Env(), RQ_CLOSED);
    }
  }

  Napi::Value Needed(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), needed_); }

  // waitAsync(kind, need, timeoutMs, spin, cb): cb(status) on the event loop once the queue is
  // readable, or writable for a record of `need` ring bytes (or closed, or timed out); one per kind
  // at a time
  Napi::Value WaitAsync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    WaitRequest req;
    req.kind = info[0].As<Napi::Number>().Int32Value();
    req.need = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    req.timeout_ms = info[2].As<Napi::Number>().Int64Value();
    req.spin = info[3].As<Napi::Number>().Uint32Value();
    Waiter *w = req.kind == RQ_WAIT_WRITABLE ? writable_ : req.kind == RQ_WAIT_JOINED ? joined_ : readable_;
    if (w->Busy()) {
      Napi::Error::New(env, "waitAsync: a wait of this kind is already pending").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    req.tsfn = Napi::ThreadSafeFunction::New(env, info[4].As<Napi::Function>(), "rig-queue-wait", 0, 1);
    w->Submit(std::move(req));
    return env.Undefined();
  }

  // taskDone() -> status (TASK_DONE_TOO_MANY when every message put is already done)
  Napi::Value TaskDone(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), rq_task_done(h_));
  }

  Napi::Value Unfinished(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(rq_unfinished(h_)));
  }

  Napi::Value Shutdown(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), rq_shutdown(h_));
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (h_) napi_remove_env_cleanup_hook(env_, &NativeQueue::Cleanup, this);
    Detach();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    rq_stats s;
    int st = rq_stats_get(h_, &s);
    if (st != RQ_OK) {
      StatusError(env, st, "stats").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("capacity", static_cast<double>(s.capacity));
    o.Set("maxMessage", static_cast<double>(s.max_message));
    o.Set("count", static_cast<double>(s.count));
    o.Set("usedBytes", static_cast<double>(s.used_bytes));
    o.Set("payloadBytes", static_cast<double>(s.payload_bytes));
    o.Set("messagesIn", static_cast<double>(s.msgs_in));
    o.Set("messagesOut", static_cast<double>(s.msgs_out));
    o.Set("bytesIn", static_cast<double>(s.bytes_in));
    o.Set("bytesOut", static_cast<double>(s.bytes_out));
    o.Set("highWaterBytes", static_cast<double>(s.high_water_bytes));
    o.Set("recoveries", static_cast<double>(s.recoveries));
    o.Set("tasksDone", static_cast<double>(s.tasks_done));
    o.Set("unfinishedTasks", static_cast<double>(s.unfinished));
    o.Set("creatorPid", static_cast<double>(s.creator_pid));
    o.Set("closed", s.closed != 0);
    return o;
  }

  Napi::Value Count(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(rq_count(h_)));
  }
  Napi::Value Capacity(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(rq_capacity(h_)));
  }
  Napi::Value MaxMessage(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(rq_max_message(h_)));
  }
  Napi::Value IsClosed(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), rq_is_closed(h_) != 0);
  }

  // debugFault(mode, data): fault injection for the crash tests (see rq_debug_fault)
  Napi::Value DebugFault(const Napi::CallbackInfo &info) {
    if (!Check(info.Env())) return info.Env().Undefined();
    uint8_t *d;
    size_t n;
    Bytes(info[1], &d, &n);
    return Napi::Number::New(info.Env(), rq_debug_fault(h_, info[0].As<Napi::Number>().Int32Value(), d,
                                                         static_cast<uint32_t>(n)));
  }

  static Napi::Value Unlink(const Napi::CallbackInfo &info) {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    return Napi::Number::New(info.Env(), rq_unlink(name.c_str()));
  }

  static int64_t NowMs() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }

  rq_handle *h_ = nullptr;
  volatile int cancel_ = 0;
  uint32_t needed_ = 0;
  uint8_t *arena_ = nullptr;
  size_t arena_len_ = 0;
  Napi::ObjectReference arena_ref_;
  Waiter *readable_ = nullptr;
  Waiter *writable_ = nullptr;
  Waiter *joined_ = nullptr;
  napi_env env_ = nullptr;
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeQueue", NativeQueue::Init(env));
  exports.Set("layoutVersion", Napi::Number::New(env, RQ_LAYOUT_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(rig_queue, InitModule)

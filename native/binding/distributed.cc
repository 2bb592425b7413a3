// Data-parallel training (native/train/distributed.h, docs/DISTRIBUTED.md):
//   processGroupInit(opts) -> Promise<{rank, worldSize}>: joins the group (TCPStore at masterAddr:masterPort,
//     Gloo collectives) and makes it the process's default, so trainers created afterwards are data parallel;
//   processGroupBarrier() -> Promise<void>;
//   processGroupAllReduce(Float64Array) -> Promise<Float64Array>: element-wise SUM over ranks;
//   processGroupDestroy(): forgets the default group (trainers created before keep theirs).
// Every call that waits for other ranks runs off the event loop and fails after the group's timeout.
#include "binding/args.h"
#include "binding/async.h"
#include "binding/registry.h"
#include "binding/tensors.h"
#include "train/distributed.h"

#include <cstring>

namespace l0sparse::binding {
namespace {

std::shared_ptr<train::ProcessGroup> require_group(Napi::Env env, const char* what) {
  auto pg = train::default_process_group();
  if (!pg) throw Napi::Error::New(env, std::string(what) + ": no process group (call processGroupInit first)");
  return pg;
}

Napi::Value ProcessGroupInit(const Napi::CallbackInfo& info) {
  Napi::Object o = object_arg(info, 0, "processGroupInit options");
  if (train::default_process_group())
    throw Napi::Error::New(info.Env(), "processGroupInit: this process already joined a process group");
  train::DistributedOptions opts;
  opts.master_addr = string_option(o, "masterAddr", "");
  if (opts.master_addr.empty()) throw Napi::TypeError::New(info.Env(), "processGroupInit: 'masterAddr' is required");
  opts.master_port = static_cast<int>(int_option(o, "masterPort", 0, 1, 65535));
  opts.world_size = static_cast<int>(int_option(o, "worldSize", 0, 1, 1 << 20));
  opts.rank = static_cast<int>(int_option(o, "rank", -1, 0, (1 << 20) - 1));
  if (opts.master_port == 0 || opts.world_size == 0 || opts.rank < 0)
    throw Napi::TypeError::New(info.Env(), "processGroupInit: 'masterPort', 'worldSize' and 'rank' are required integers");
  if (opts.rank >= opts.world_size)
    throw Napi::RangeError::New(info.Env(), "processGroupInit: rank " + std::to_string(opts.rank) + " is not below worldSize " +
                                                std::to_string(opts.world_size));
  opts.timeout_ms = int_option(o, "timeoutMs", opts.timeout_ms, 1, int64_t(1) << 40);
  opts.bucket_bytes = int_option(o, "bucketBytes", opts.bucket_bytes, 1, int64_t(1) << 40);
  return run_async<std::shared_ptr<train::ProcessGroup>>(
      info.Env(), "l0sparse.processGroupInit",
      [opts]() {
        auto pg = std::make_shared<train::ProcessGroup>(opts);
        train::set_default_process_group(pg);
        return pg;
      },
      [](Napi::Env env, std::shared_ptr<train::ProcessGroup>&& pg) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("rank", pg->rank());
        out.Set("worldSize", pg->world_size());
        return out;
      });
}

Napi::Value ProcessGroupBarrier(const Napi::CallbackInfo& info) {
  auto pg = require_group(info.Env(), "processGroupBarrier");
  return run_async<bool>(
      info.Env(), "l0sparse.processGroupBarrier", [pg]() { pg->barrier(); return true; },
      [](Napi::Env env, bool&&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value ProcessGroupAllReduce(const Napi::CallbackInfo& info) {
  auto pg = require_group(info.Env(), "processGroupAllReduce");
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(info.Env(), "processGroupAllReduce: expected a Float64Array");
  auto arr = info[0].As<Napi::Float64Array>();
  at::Tensor t = at::empty({static_cast<int64_t>(arr.ElementLength())}, at::kDouble);
  std::memcpy(t.data_ptr<double>(), arr.Data(), arr.ElementLength() * sizeof(double));
  return run_async<at::Tensor>(
      info.Env(), "l0sparse.processGroupAllReduce",
      [pg, t]() mutable { pg->all_reduce_sum(t, "processGroupAllReduce"); return t; },
      [](Napi::Env env, at::Tensor&& t) -> Napi::Value {
        auto out = Napi::Float64Array::New(env, static_cast<size_t>(t.numel()));
        std::memcpy(out.Data(), t.data_ptr<double>(), t.numel() * sizeof(double));
        return out;
      });
}

Napi::Value ProcessGroupDestroy(const Napi::CallbackInfo& info) {
  train::set_default_process_group(nullptr);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("processGroupInit", Napi::Function::New(env, L0SPARSE_SYNC(ProcessGroupInit), "processGroupInit"));
  exports.Set("processGroupBarrier", Napi::Function::New(env, L0SPARSE_SYNC(ProcessGroupBarrier), "processGroupBarrier"));
  exports.Set("processGroupAllReduce", Napi::Function::New(env, L0SPARSE_SYNC(ProcessGroupAllReduce), "processGroupAllReduce"));
  exports.Set("processGroupDestroy", Napi::Function::New(env, L0SPARSE_SYNC(ProcessGroupDestroy), "processGroupDestroy"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

// Module entry: process-wide settings and the exports of every binding file (see registry.h).
#include "binding/async.h"
#include "binding/errors.h"
#include "binding/registry.h"
#include "binding/tensors.h"
#include "model/device.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <thread>

namespace l0sparse::binding {

std::vector<InitFn>& registry() {
  static std::vector<InitFn> fns;
  return fns;
}

std::string describe_exception(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "setNumThreads(n): n must be a number");
  double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 1024) || n != static_cast<int>(n))
    throw Napi::RangeError::New(info.Env(), "setNumThreads(n): n must be an integer in [1, 1024]");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
#ifdef L0SPARSE_WITH_CUDA
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
  o.Set("cudaAvailable", at::hasCUDA());
  o.Set("cudaDeviceCount", model::cuda_device_count());
  o.Set("numThreads", at::get_num_threads());
  o.Set("hardwareConcurrency", static_cast<double>(std::thread::hardware_concurrency()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, L0SPARSE_SYNC(SetNumThreads), "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, L0SPARSE_SYNC(GetNumThreads), "getNumThreads"));
  exports.Set("buildInfo", Napi::Function::New(env, L0SPARSE_SYNC(BuildInfo), "buildInfo"));
  for (InitFn fn : registry()) fn(env, exports);
  return exports;
}

}  // namespace
}  // namespace l0sparse::binding

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return l0sparse::binding::Init(env, exports); }
NODE_API_MODULE(l0sparse, InitModule)

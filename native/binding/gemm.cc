// Process-wide kernel choices of inference: setGemmBackend, gemmBackend, cpuHasNativeBf16 (ops/gemm_backend.h).
#include "binding/errors.h"
#include "binding/registry.h"
#include "ops/gemm_backend.h"

namespace l0sparse::binding {
namespace {

Napi::Object choice_to_js(Napi::Env env, const ops::GemmChoice& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("requested", ops::gemm_backend_name(c.requested));
  o.Set("backend", ops::gemm_backend_name(c.chosen));
  o.Set("reason", c.reason);
  o.Set("onednnAvailable", ops::onednn_linear_available());
  o.Set("cpuVendor", ops::cpu_vendor());
  return o;
}

// setGemmBackend('auto' | 'mkl' | 'onednn') -> the resulting choice.
Napi::Value SetGemmBackend(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "setGemmBackend(name): name must be 'auto', 'mkl' or 'onednn'");
  ops::set_gemm_backend(ops::parse_gemm_backend(info[0].As<Napi::String>().Utf8Value()));
  return choice_to_js(info.Env(), ops::gemm_choice());
}

Napi::Value GetGemmBackend(const Napi::CallbackInfo& info) { return choice_to_js(info.Env(), ops::gemm_choice()); }

Napi::Value CpuHasNativeBf16(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ops::cpu_has_native_bf16());
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setGemmBackend", Napi::Function::New(env, L0SPARSE_SYNC(SetGemmBackend), "setGemmBackend"));
  exports.Set("gemmBackend", Napi::Function::New(env, L0SPARSE_SYNC(GetGemmBackend), "gemmBackend"));
  exports.Set("cpuHasNativeBf16", Napi::Function::New(env, L0SPARSE_SYNC(CpuHasNativeBf16), "cpuHasNativeBf16"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

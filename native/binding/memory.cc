// cpuMemoryStats() / releaseCachedCpuMemory(): the caching CPU allocator (runtime/caching_cpu_allocator.h)
// that the addon installs when it loads.
#include "binding/errors.h"
#include "binding/registry.h"
#include "runtime/caching_cpu_allocator.h"

namespace l0sparse::binding {
namespace {

Napi::Value CpuMemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  runtime::CachingCpuAllocator* allocator = runtime::installed_caching_cpu_allocator();
  if (!allocator) return env.Null();
  const runtime::CpuMemoryStats s = allocator->stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("inUseBytes", static_cast<double>(s.in_use_bytes));
  o.Set("cachedBytes", static_cast<double>(s.cached_bytes));
  o.Set("peakInUseBytes", static_cast<double>(s.peak_in_use_bytes));
  o.Set("maps", static_cast<double>(s.maps));
  o.Set("reuses", static_cast<double>(s.reuses));
  o.Set("unmaps", static_cast<double>(s.unmaps));
  return o;
}

Napi::Value ReleaseCachedCpuMemory(const Napi::CallbackInfo& info) {
  runtime::CachingCpuAllocator* allocator = runtime::installed_caching_cpu_allocator();
  return Napi::Number::New(info.Env(), allocator ? static_cast<double>(allocator->release_cached()) : 0.0);
}

void Init(Napi::Env env, Napi::Object exports) {
  runtime::install_caching_cpu_allocator();
  exports.Set("cpuMemoryStats", Napi::Function::New(env, L0SPARSE_SYNC(CpuMemoryStats), "cpuMemoryStats"));
  exports.Set("releaseCachedCpuMemory",
              Napi::Function::New(env, L0SPARSE_SYNC(ReleaseCachedCpuMemory), "releaseCachedCpuMemory"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

// pruneCsr(csr, type, value) -> Promise<Csr>: OpenSearch's four pruning definitions (native/index/prune.h)
// over every row of a CSR batch, off the event loop.
#include "binding/async.h"
#include "binding/csr_args.h"
#include "binding/errors.h"
#include "binding/registry.h"
#include "index/prune.h"

#include <memory>
#include <stdexcept>

namespace l0sparse::binding {
namespace {

Napi::Value PruneCsr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "pruneCsr(csr, type, value): type must be a string and value a number");
  index::PruneSpec spec{};
  try {
    spec = index::make_prune_spec(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().DoubleValue());
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  auto csr = std::make_shared<CsrCopy>(csr_from_js(info[0], "pruneCsr: csr", index::ValueRule::kPositive));
  return run_async<index::OwnedCsr>(
      env, "l0sparse.pruneCsr", [csr, spec]() { return index::prune_csr(csr->view(), spec); },
      [](Napi::Env env, index::OwnedCsr&& out) -> Napi::Value {
        return csr_to_js(env, out.indptr, out.indices, out.values, out.num_cols);
      });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("pruneCsr", Napi::Function::New(env, L0SPARSE_SYNC(PruneCsr), "pruneCsr"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

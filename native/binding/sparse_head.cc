// The sparse head (docs/METHOD.md §1), forward and optional backward given gradOutput:
//   sparseHeadReference: composed ops (materialises [B,L,V]; the truth for tests),
//   sparseHead: the fused op (tiled max/argmax kernels, argmax-only backward).
// flopsLoss: the l0-mask FLOPS regulariser (docs/METHOD.md §3) with its diagnostics and optional gradient.
#include "binding/args.h"
#include "binding/async.h"
#include "binding/registry.h"
#include "binding/tensors.h"
#include "ops/flops_loss.h"
#include "ops/sparse_head.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <limits>

namespace l0sparse::binding {
namespace {

struct HeadResult {
  at::Tensor weights, grad_hidden, grad_weight, grad_bias;
};

using HeadFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int);

Napi::Value SparseHeadCall(const Napi::CallbackInfo& info, const char* name, HeadFn head) {
  Napi::Object o = object_arg(info, 0, name);
  at::Tensor hidden = tensor_from_js(o.Get("hidden"), "hidden");
  at::Tensor weight = tensor_from_js(o.Get("weight"), "weight");
  at::Tensor bias = tensor_from_js(o.Get("bias"), "bias");
  at::Tensor mask = tensor_from_js(o.Get("mask"), "mask");
  at::Tensor grad_out = optional_tensor_from_js(o.Get("gradOutput"), "gradOutput");
  int extra_logs = activation_option(o);
  ops::check_sparse_head_inputs(hidden, weight, bias, mask, extra_logs);
  if (grad_out.defined())
    TORCH_CHECK(grad_out.dim() == 2 && grad_out.size(0) == hidden.size(0) && grad_out.size(1) == weight.size(0) &&
                    grad_out.scalar_type() == hidden.scalar_type(),
                "gradOutput must be [B,V] = [", hidden.size(0), ",", weight.size(0), "] with the dtype of hidden");

  auto compute = [=]() mutable {
    HeadResult r;
    if (!grad_out.defined()) {
      at::NoGradGuard no_grad;
      r.weights = head(hidden, weight, bias, mask, extra_logs);
      return r;
    }
    // Scoped: the worker thread is reused, and a mode left on would change later calls on it.
    at::AutoGradMode grad_mode(true);
    hidden.requires_grad_(true);
    weight.requires_grad_(true);
    bias.requires_grad_(true);
    r.weights = head(hidden, weight, bias, mask, extra_logs);
    auto grads = torch::autograd::grad({r.weights}, {hidden, weight, bias}, {grad_out});
    r.weights = r.weights.detach();
    r.grad_hidden = grads[0];
    r.grad_weight = grads[1];
    r.grad_bias = grads[2];
    return r;
  };
  auto to_js = [](Napi::Env env, HeadResult&& r) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("weights", tensor_to_js(env, r.weights));
    if (r.grad_hidden.defined()) {
      out.Set("gradHidden", tensor_to_js(env, r.grad_hidden));
      out.Set("gradWeight", tensor_to_js(env, r.grad_weight));
      out.Set("gradBias", tensor_to_js(env, r.grad_bias));
    }
    return out;
  };
  return run_async<HeadResult>(info.Env(), name, compute, to_js);
}

Napi::Value SparseHeadReference(const Napi::CallbackInfo& info) {
  return SparseHeadCall(info, "sparseHeadReference", ops::sparse_head_reference);
}

Napi::Value SparseHead(const Napi::CallbackInfo& info) { return SparseHeadCall(info, "sparseHead", ops::sparse_head); }

struct FlopsResult {
  ops::FlopsLoss loss;
  at::Tensor grad;
};

Napi::Value FlopsLossBinding(const Napi::CallbackInfo& info) {
  Napi::Object o = object_arg(info, 0, "flopsLoss");
  at::Tensor weights = tensor_from_js(o.Get("weights"), "weights");
  const int64_t group_size = int_option(o, "groupSize", 1, 1, std::numeric_limits<int32_t>::max());
  const double threshold = number_option(o, "threshold", -1.0);
  const bool want_grad = bool_option(o, "grad", false);
  auto compute = [=]() mutable {
    at::AutoGradMode grad_mode(want_grad);  // scoped: the worker thread is reused
    if (want_grad) weights.requires_grad_(true);
    FlopsResult r{ops::flops_loss(weights, group_size, threshold), at::Tensor()};
    if (want_grad) r.grad = torch::autograd::grad({r.loss.loss}, {weights})[0];
    r.loss.loss = r.loss.loss.detach();
    return r;
  };
  auto to_js = [](Napi::Env env, FlopsResult&& r) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", r.loss.loss.to(at::kDouble).item<double>());
    out.Set("maskedFraction", r.loss.masked_fraction);
    out.Set("meanNnz", r.loss.mean_nnz);
    out.Set("regularized", tensor_to_js(env, r.loss.regularized.to(at::kInt)));
    out.Set("nnz", tensor_to_js(env, r.loss.nnz.to(at::kInt)));
    if (r.grad.defined()) out.Set("gradWeights", tensor_to_js(env, r.grad));
    return out;
  };
  return run_async<FlopsResult>(info.Env(), "flopsLoss", compute, to_js);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sparseHeadReference",
              Napi::Function::New(env, L0SPARSE_SYNC(SparseHeadReference), "sparseHeadReference"));
  exports.Set("sparseHead", Napi::Function::New(env, L0SPARSE_SYNC(SparseHead), "sparseHead"));
  exports.Set("flopsLoss", Napi::Function::New(env, L0SPARSE_SYNC(FlopsLossBinding), "flopsLoss"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

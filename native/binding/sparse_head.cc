// sparseHeadReference: the composed-op sparse head (METHOD.md §1), forward and optional backward.
#include "binding/async.h"
#include "binding/registry.h"
#include "binding/tensors.h"
#include "ops/sparse_head.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace l0sparse::binding {
namespace {

struct HeadResult {
  at::Tensor weights, grad_hidden, grad_weight, grad_bias;
};

Napi::Value SparseHeadReference(const Napi::CallbackInfo& info) {
  Napi::Object o = object_arg(info, 0, "sparseHeadReference");
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
      r.weights = ops::sparse_head_reference(hidden, weight, bias, mask, extra_logs);
      return r;
    }
    torch::autograd::GradMode::set_enabled(true);
    hidden.requires_grad_(true);
    weight.requires_grad_(true);
    bias.requires_grad_(true);
    r.weights = ops::sparse_head_reference(hidden, weight, bias, mask, extra_logs);
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
  return run_async<HeadResult>(info.Env(), "l0sparse.sparseHeadReference", compute, to_js);
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sparseHeadReference",
              Napi::Function::New(env, L0SPARSE_SYNC(SparseHeadReference), "sparseHeadReference"));
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

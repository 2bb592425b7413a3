#include "ops/recomputed_activation_linear.h"

#include <torch/csrc/autograd/custom_function.h>

namespace l0sparse::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

enum class Activation : int64_t { Gelu, GeluTanh, Relu, Silu };

Activation parse(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_tanh") return Activation::GeluTanh;
  if (name == "relu") return Activation::Relu;
  if (name == "silu") return Activation::Silu;
  TORCH_CHECK(false, "activation_linear: unsupported activation '", name, "' (gelu, gelu_tanh, relu, silu)");
}

at::Tensor activate(const at::Tensor& a, Activation act) {
  switch (act) {
    case Activation::Gelu: return at::gelu(a);
    case Activation::GeluTanh: return at::gelu(a, "tanh");
    case Activation::Relu: return at::relu(a);
    case Activation::Silu: return at::silu(a);
  }
  return {};
}

at::Tensor activation_backward(const at::Tensor& grad, const at::Tensor& a, Activation act) {
  switch (act) {
    case Activation::Gelu: return at::gelu_backward(grad, a);
    case Activation::GeluTanh: return at::gelu_backward(grad, a, "tanh");
    case Activation::Relu: return at::threshold_backward(grad, a, 0);
    case Activation::Silu: return at::silu_backward(grad, a);
  }
  return {};
}

class RecomputedActivationLinear : public torch::autograd::Function<RecomputedActivationLinear> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias,
                            int64_t activation) {
    ctx->save_for_backward({a, weight});
    ctx->saved_data["activation"] = activation;
    const bool has_bias = bias.numel() > 0;  // no bias travels as a 0-element tensor (inputs must be defined)
    ctx->saved_data["has_bias"] = has_bias;
    return at::linear(activate(a, static_cast<Activation>(activation)), weight, has_bias ? bias : at::Tensor());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &a = saved[0], &weight = saved[1];
    const auto act = static_cast<Activation>(ctx->saved_data["activation"].toInt());
    const int64_t in = weight.size(1), out = weight.size(0);
    at::Tensor grad = grad_outputs[0].to(a.scalar_type()).reshape({-1, out});
    at::Tensor grad_a, grad_weight, grad_bias;
    if (ctx->needs_input_grad(1)) grad_weight = grad.t().mm(activate(a, act).reshape({-1, in}));
    if (ctx->needs_input_grad(2) && ctx->saved_data["has_bias"].toBool()) grad_bias = grad.sum(0);
    if (ctx->needs_input_grad(0)) grad_a = activation_backward(grad.mm(weight).view(a.sizes()), a, act);
    return {grad_a, grad_weight, grad_bias, at::Tensor()};
  }
};

}  // namespace

at::Tensor recomputed_activation_linear(const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias,
                                        const std::string& activation) {
  TORCH_CHECK(a.dim() >= 1 && weight.dim() == 2 && a.size(-1) == weight.size(1),
              "activation_linear: a is ", a.sizes(), " but weight is ", weight.sizes());
  TORCH_CHECK(weight.scalar_type() == a.scalar_type() && (!bias.defined() || bias.scalar_type() == a.scalar_type()),
              "activation_linear: a, weight and bias must share one dtype");
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)),
              "activation_linear: bias must be [", weight.size(0), "]");
  return RecomputedActivationLinear::apply(a.contiguous(), weight, bias.defined() ? bias : at::empty({0}, a.options()),
                                           static_cast<int64_t>(parse(activation)));
}

at::Tensor activation_linear_reference(const at::Tensor& a, const at::Tensor& weight, const at::Tensor& bias,
                                       const std::string& activation) {
  return at::linear(activate(a, parse(activation)), weight, bias);
}

}  // namespace l0sparse::ops

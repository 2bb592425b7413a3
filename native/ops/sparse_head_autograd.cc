// The fused sparse head as a LibTorch autograd Function: forward = tiled kernel (max + argmax), activation
// on the pooled max only; backward = f'(max) then the argmax-only kernels. Saves argmax (int32) and pooled
// [B,V] instead of any [B,L,V] activations.
#include "ops/activation.h"
#include "ops/sparse_head.h"
#include "ops/sparse_head_kernels.h"
#ifdef L0SPARSE_WITH_CUDA
#include "ops/sparse_head_cuda.h"
#endif

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

namespace l0sparse::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

SparseHeadForward forward_on_device(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                                    const at::Tensor& mask) {
  if (hidden.device().is_cpu()) return sparse_head_forward_cpu(hidden, weight, bias, mask);
#ifdef L0SPARSE_WITH_CUDA
  if (hidden.device().is_cuda()) return sparse_head_forward_cuda(hidden, weight, bias, mask);
#endif
  TORCH_CHECK(false, "sparse_head: no kernel for device ", hidden.device(),
              hidden.device().is_cuda() ? " (this build has no CUDA kernels; rebuild with the CUDA variant)" : "");
}

SparseHeadGrads backward_on_device(const at::Tensor& grad_pooled, const at::Tensor& argmax, const at::Tensor& hidden,
                                   const at::Tensor& weight, bool need_hidden, bool need_weight, bool need_bias) {
  if (hidden.device().is_cpu())
    return sparse_head_backward_cpu(grad_pooled, argmax, hidden, weight, need_hidden, need_weight, need_bias);
#ifdef L0SPARSE_WITH_CUDA
  if (hidden.device().is_cuda())
    return sparse_head_backward_cuda(grad_pooled, argmax, hidden, weight, need_hidden, need_weight, need_bias);
#endif
  TORCH_CHECK(false, "sparse_head: no backward kernel for device ", hidden.device());
}

// Elementwise f(pooled) (forward) or grad * f'(pooled) (backward) on CPU, where the scalar forms of
// ops/activation.h are exact; elsewhere the composed ops (autograd is off inside a Function).
at::Tensor activate(const at::Tensor& pooled, int extra_logs) {
  if (!pooled.device().is_cpu()) return activation_reference(pooled, extra_logs);
  at::Tensor out = at::empty_like(pooled);
  AT_DISPATCH_FLOATING_TYPES(pooled.scalar_type(), "sparse_head_activate", [&] {
    const scalar_t* p = pooled.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    at::parallel_for(0, pooled.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = activation_value(p[i], extra_logs);
    });
  });
  return out;
}

at::Tensor activation_grad(const at::Tensor& grad_out, const at::Tensor& pooled, int extra_logs) {
  at::Tensor g = grad_out.to(pooled.scalar_type()).contiguous();
  if (!pooled.device().is_cpu()) {  // the chain rule of activation_derivative in composed ops
    at::Tensor u = at::relu(pooled);
    at::Tensor d = pooled.gt(0).to(pooled.scalar_type()) / (u + 1);
    at::Tensor y = at::log1p(u);
    for (int i = 0; i < extra_logs; ++i) {
      d = d / (y + 1);
      y = at::log1p(y);
    }
    return g * d;
  }
  at::Tensor out = at::empty_like(pooled);
  AT_DISPATCH_FLOATING_TYPES(pooled.scalar_type(), "sparse_head_activation_grad", [&] {
    const scalar_t* p = pooled.data_ptr<scalar_t>();
    const scalar_t* gp = g.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    at::parallel_for(0, pooled.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = gp[i] * activation_derivative(p[i], extra_logs);
    });
  });
  return out;
}

class SparseHeadFunction : public torch::autograd::Function<SparseHeadFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& mask, int64_t extra_logs) {
    at::Tensor h = hidden.contiguous(), w = weight.contiguous();
    ctx->saved_data["extra_logs"] = extra_logs;
#ifdef L0SPARSE_WITH_CUDA
    if (h.is_cuda()) {  // the fused kernel applies the activation to the max in the same launch
      SparseHeadActivated out =
          sparse_head_forward_cuda_activated(h, w, bias.contiguous(), mask, static_cast<int>(extra_logs));
      ctx->save_for_backward({h, w, out.forward.pooled, out.forward.argmax});
      return out.activated.to(hidden.scalar_type());
    }
#endif
    SparseHeadForward fwd = forward_on_device(h, w, bias.contiguous(), mask);
    ctx->save_for_backward({h, w, fwd.pooled, fwd.argmax});
    return activate(fwd.pooled, static_cast<int>(extra_logs)).to(hidden.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &h = saved[0], &w = saved[1], &pooled = saved[2], &argmax = saved[3];
    const int extra_logs = static_cast<int>(ctx->saved_data["extra_logs"].toInt());
    at::Tensor grad_pooled = activation_grad(grad_outputs[0], pooled, extra_logs);
    SparseHeadGrads g = backward_on_device(grad_pooled, argmax, h, w, ctx->needs_input_grad(0),
                                           ctx->needs_input_grad(1), ctx->needs_input_grad(2));
    return {g.grad_hidden, g.grad_weight, g.grad_bias, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor sparse_head(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& mask, int extra_logs) {
  check_sparse_head_inputs(hidden, weight, bias, mask, extra_logs);
  return SparseHeadFunction::apply(hidden, weight, bias, mask, static_cast<int64_t>(extra_logs));
}

}  // namespace l0sparse::ops

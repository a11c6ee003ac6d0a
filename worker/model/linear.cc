#include "worker/model/linear.h"

namespace fc::model {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool bias, torch::TensorOptions options)
    : in_(in), out_(out) {
  weight = register_parameter("weight", torch::empty({out, in}, options), /*requires_grad=*/false);
  if (bias) {
    this->bias = register_parameter("bias", torch::empty({out}, options), /*requires_grad=*/false);
  }
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::nn::functional::linear(x, weight, bias);  // [..., out]
  if (lora) {
    torch::Tensor h = x;
    if (is_training() && lora->dropout > 0.0) {
      h = torch::dropout(h, lora->dropout, /*train=*/true);
    }
    // [..., in] -> [..., r] -> [..., out]
    y = y + lora->scale * torch::matmul(torch::matmul(h, lora->A.t()), lora->B.t());
  }
  return y;
}

torch::Tensor LinearImpl::EffectiveWeight() const {
  if (!lora) return weight;
  return weight + lora->scale * torch::matmul(lora->B, lora->A);  // [out,r] x [r,in]
}

}  // namespace fc::model

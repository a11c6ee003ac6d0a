// Interpolation points of integrated gradients (algorithms.md 3.5, 12.4).
//
// alpha = 1 is the clean input, alpha = 0 the corrupted one (e(alpha) = e' + alpha (e - e')).
//   kRight    : k/m, k = 1..m        (EAP-old, what the paper ran; default)
//   kLeft     : k/m, k = 0..m-1      (EAP-new)
//   kMidpoint : (k+1/2)/m, k = 0..m-1 (second-order accurate Riemann sum)
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace fc::attribution {

enum class IgEndpoint { kRight, kLeft, kMidpoint };

StatusOr<IgEndpoint> ParseIgEndpoint(const std::string& name);  // "right", "left", "midpoint"
const char* IgEndpointName(IgEndpoint endpoint);

// The m interpolation coefficients, in increasing order. m must be >= 1.
StatusOr<std::vector<double>> IgAlphas(int m, IgEndpoint endpoint);

}  // namespace fc::attribution

#include "worker/attribution/ig_schedule.h"

namespace fc::attribution {

StatusOr<IgEndpoint> ParseIgEndpoint(const std::string& name) {
  if (name == "right") return IgEndpoint::kRight;
  if (name == "left") return IgEndpoint::kLeft;
  if (name == "midpoint") return IgEndpoint::kMidpoint;
  return InvalidArgumentError("ig_endpoint: unknown value '{}' (expected right, left, midpoint)",
                              name);
}

const char* IgEndpointName(IgEndpoint endpoint) {
  switch (endpoint) {
    case IgEndpoint::kRight: return "right";
    case IgEndpoint::kLeft: return "left";
    case IgEndpoint::kMidpoint: return "midpoint";
  }
  return "unknown";
}

StatusOr<std::vector<double>> IgAlphas(int m, IgEndpoint endpoint) {
  if (m < 1) return InvalidArgumentError("ig_steps: must be >= 1, got {}", m);
  std::vector<double> alphas(m);
  for (int k = 0; k < m; ++k) {
    double numerator = k + 1.0;                                  // right: 1..m
    if (endpoint == IgEndpoint::kLeft) numerator = k;            // 0..m-1
    if (endpoint == IgEndpoint::kMidpoint) numerator = k + 0.5;  // 1/2..m-1/2
    alphas[k] = numerator / m;
  }
  return alphas;
}

}  // namespace fc::attribution

#include "worker/agent/executor_registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fc::agent {

Status ExecutorRegistry::Register(const std::string& kind, Factory factory) {
  if (kind.empty()) return InvalidArgumentError("executor registry: empty job kind");
  if (!factory) return InvalidArgumentError("executor registry: kind '{}' has no factory", kind);
  if (!factories_.emplace(kind, std::move(factory)).second) {
    return AlreadyExistsError("executor registry: kind '{}' registered twice", kind);
  }
  return Status::OK();
}

StatusOr<std::unique_ptr<Executor>> ExecutorRegistry::Create(const std::string& kind) const {
  auto it = factories_.find(kind);
  if (it == factories_.end()) {
    return UnimplementedError("no executor for job kind '{}' on this worker (known: {})", kind,
                              fmt::join(Kinds(), ", "));
  }
  std::unique_ptr<Executor> e = it->second();
  if (!e) return InternalError("executor factory for kind '{}' returned null", kind);
  return e;
}

std::vector<std::string> ExecutorRegistry::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [k, f] : factories_) kinds.push_back(k);
  return kinds;
}

}  // namespace fc::agent

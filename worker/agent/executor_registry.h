// ExecutorRegistry: job kind -> factory of a fresh Executor per job. Filled once at start-up
// (built-in kinds by RegisterBuiltinExecutors, the engine's by fc::jobs::RegisterEngineExecutors)
// and read-only afterwards, so concurrent Create/Kinds calls need no lock.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/agent/executor.h"

namespace fc::agent {

class ExecutorRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Executor>()>;

  // ALREADY_EXISTS when the kind is registered twice; INVALID_ARGUMENT for an empty kind.
  Status Register(const std::string& kind, Factory factory);
  // UNIMPLEMENTED naming the kind and the known kinds when it is not registered.
  StatusOr<std::unique_ptr<Executor>> Create(const std::string& kind) const;
  bool Has(const std::string& kind) const { return factories_.count(kind) > 0; }
  // Sorted kind names: what the worker advertises when it registers.
  std::vector<std::string> Kinds() const;

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace fc::agent

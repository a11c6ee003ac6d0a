// Job-kind registry: a kind is a name plus a parameter schema. The DAG parser validates every
// job against its kind's schema, so a new science kind is added by registering a KindSchema
// (see builtin_kinds.cc), never by touching the parser or the scheduler.
//
// Thread safety: register kinds at start-up (before any Parse call); lookups are then read-only
// and safe from any thread. KindRegistry::Default() is built once, thread-safely, with every
// builtin kind already registered.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace fc::dag {

enum class ParamType { kInt, kFloat, kString, kBool, kRef, kList, kMap };
const char* ParamTypeName(ParamType t);

// One parameter of a kind.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  bool required = false;
  nlohmann::json default_value;          // null = no default (absent param stays absent)
  std::optional<double> min;             // kInt/kFloat: inclusive bounds; kList: item count
  std::optional<double> max;
  std::vector<std::string> enum_values;  // kString: allowed values (empty = any)
  ParamType item_type = ParamType::kString;  // kList: type of each item (kRef makes each a dep)
  std::vector<std::string> ref_kinds;    // kRef (or list of kRef): allowed target kinds
  std::string doc;
  // Extra check on the (type-checked) value; returns a message ("" = fine).
  std::function<std::string(const nlohmann::json&)> check;
};

struct KindSchema {
  std::string name;
  std::string doc;
  std::vector<ParamSpec> params;
  // Named outputs a reference "job.output" may name; the first is the default output.
  // Empty = the kind has no addressable outputs (a reference must then name the job only).
  std::vector<std::string> outputs;
  // Cross-parameter check on the filled-in params object: returns {field, message} or nullopt.
  std::function<std::optional<std::pair<std::string, std::string>>(const nlohmann::json&)>
      check;

  const ParamSpec* FindParam(const std::string& param) const;
};

class KindRegistry {
 public:
  KindRegistry() = default;
  // Registry with sleep, fail and the science kinds of architecture.md section 5.
  static const KindRegistry& Default();

  // ALREADY_EXISTS for a duplicate name, INVALID_ARGUMENT for a malformed schema.
  Status Register(KindSchema schema);
  const KindSchema* Find(const std::string& kind) const;
  std::vector<std::string> Names() const;  // sorted

 private:
  std::map<std::string, KindSchema> kinds_;
};

// Registers sleep, fail, dataset, train_base, model, discover, finetune, reextract,
// circuit_lora_plan, merge, robustness and evaluate into `registry`.
Status RegisterBuiltinKinds(KindRegistry* registry);

}  // namespace fc::dag

#include "common/dag/kind_registry.h"

#include <set>

namespace fc::dag {

const char* ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kInt: return "int";
    case ParamType::kFloat: return "float";
    case ParamType::kString: return "string";
    case ParamType::kBool: return "bool";
    case ParamType::kRef: return "ref";
    case ParamType::kList: return "list";
    case ParamType::kMap: return "map";
  }
  return "?";
}

const ParamSpec* KindSchema::FindParam(const std::string& param) const {
  for (const ParamSpec& p : params) {
    if (p.name == param) return &p;
  }
  return nullptr;
}

const KindRegistry& KindRegistry::Default() {
  static const KindRegistry* registry = [] {
    auto* r = new KindRegistry();
    Status s = RegisterBuiltinKinds(r);
    assert(s.ok());
    (void)s;
    return r;
  }();
  return *registry;
}

Status KindRegistry::Register(KindSchema schema) {
  if (schema.name.empty()) return InvalidArgumentError("kind schema without a name");
  if (kinds_.count(schema.name)) {
    return AlreadyExistsError("kind '{}' is already registered", schema.name);
  }
  std::set<std::string> seen;
  for (const ParamSpec& p : schema.params) {
    if (p.name.empty()) return InvalidArgumentError("kind '{}': parameter without a name", schema.name);
    if (!seen.insert(p.name).second) {
      return InvalidArgumentError("kind '{}': parameter '{}' declared twice", schema.name, p.name);
    }
    if (p.required && !p.default_value.is_null()) {
      return InvalidArgumentError("kind '{}': parameter '{}' is required and has a default",
                                  schema.name, p.name);
    }
  }
  std::string name = schema.name;
  kinds_.emplace(std::move(name), std::move(schema));
  return Status::OK();
}

const KindSchema* KindRegistry::Find(const std::string& kind) const {
  auto it = kinds_.find(kind);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::vector<std::string> KindRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : kinds_) out.push_back(name);
  return out;
}

}  // namespace fc::dag

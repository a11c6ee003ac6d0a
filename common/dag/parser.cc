#include "common/dag/parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

namespace fc::dag {
namespace {

using nlohmann::json;

int LineOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.line >= 0 ? m.line + 1 : 0;
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    default: return "nothing";
  }
}

bool IsPlainScalar(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

// Hand-written matchers: std::regex costs ~10 us per call, which dominated parsing 10k-job DAGs.
bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c, bool dash) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (dash && c == '-');
}
// [A-Za-z_][A-Za-z0-9_-]{0,127}
bool IsJobName(std::string_view s) {
  if (s.empty() || s.size() > 128 || !IsIdentStart(s[0])) return false;
  for (char c : s) {
    if (!IsIdentChar(c, true)) return false;
  }
  return true;
}
// "job" or "job.output" (output: [A-Za-z_][A-Za-z0-9_]*); splits into job and output.
bool SplitRef(std::string_view s, std::string* job, std::string* output) {
  size_t dot = s.find('.');
  std::string_view j = s.substr(0, dot);
  if (!IsJobName(j)) return false;
  std::string_view o;
  if (dot != std::string_view::npos) {
    o = s.substr(dot + 1);
    if (o.empty() || !IsIdentStart(o[0])) return false;
    for (char c : o) {
      if (!IsIdentChar(c, false)) return false;
    }
  }
  if (job) *job = std::string(j);
  if (output) *output = std::string(o);
  return true;
}
bool IsIntLiteral(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// Collects messages "job 'x' field 'y' (line n): problem".
class Errors {
 public:
  void Add(const std::string& job, const std::string& field, int line, const std::string& what) {
    std::string m;
    if (!job.empty()) m += fmt::format("job '{}' ", job);
    if (!field.empty()) m += fmt::format("field '{}' ", field);
    if (line > 0) m += fmt::format("(line {})", line);
    while (!m.empty() && m.back() == ' ') m.pop_back();
    m += m.empty() ? what : ": " + what;
    msgs_.push_back(std::move(m));
  }
  bool empty() const { return msgs_.empty(); }
  size_t size() const { return msgs_.size(); }
  Status ToStatus(std::string_view source) const {
    std::string all;
    for (const std::string& m : msgs_) {
      if (!all.empty()) all += "\n";
      if (!source.empty()) all += fmt::format("{}: ", source);
      all += m;
    }
    return InvalidArgumentError("{}", all);
  }

 private:
  std::vector<std::string> msgs_;
};

// Converts one YAML value to JSON per type; returns the problem ("" = fine).
std::string ConvertScalar(ParamType type, const YAML::Node& n, json* out) {
  const std::string tname = ParamTypeName(type);
  if (type == ParamType::kString || type == ParamType::kRef) {
    if (!n.IsScalar()) return fmt::format("must be a {}, got {}", tname, Describe(n));
    *out = n.Scalar();
    if (type == ParamType::kRef && !SplitRef(n.Scalar(), nullptr, nullptr)) {
      return fmt::format("must reference a job as 'job' or 'job.output', got '{}'", n.Scalar());
    }
    return "";
  }
  if (!IsPlainScalar(n)) return fmt::format("must be a {}, got {}", tname, Describe(n));
  const std::string& s = n.Scalar();
  if (type == ParamType::kInt) {
    if (!IsIntLiteral(s)) return fmt::format("must be an int, got '{}'", s);
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno == ERANGE) return fmt::format("int out of range, got '{}'", s);
    *out = static_cast<int64_t>(v);
    return "";
  }
  if (type == ParamType::kFloat) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
      return fmt::format("must be a finite float, got '{}'", s);
    }
    *out = v;
    return "";
  }
  if (type == ParamType::kBool) {
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") {
      *out = true;
      return "";
    }
    if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") {
      *out = false;
      return "";
    }
    return fmt::format("must be a bool (true/false), got '{}'", s);
  }
  return fmt::format("must be a {}", tname);
}

std::string CheckRange(const ParamSpec& p, double v) {
  bool lo_bad = p.min && v < *p.min;
  bool hi_bad = p.max && v > *p.max;
  if (!lo_bad && !hi_bad) return "";
  auto num = [](double x) { return x == std::floor(x) && std::abs(x) < 1e15 ? fmt::format("{}", int64_t(x)) : fmt::format("{}", x); };
  if (p.min && p.max) return fmt::format("must be in [{}, {}], got {}", num(*p.min), num(*p.max), num(v));
  if (p.min) return fmt::format("must be >= {}, got {}", num(*p.min), num(v));
  return fmt::format("must be <= {}, got {}", num(*p.max), num(v));
}

// Validates one parameter value against its spec; returns the problem ("" = fine).
std::string ConvertParam(const ParamSpec& p, const YAML::Node& n, json* out) {
  if (p.type == ParamType::kList) {
    if (!n.IsSequence()) return fmt::format("must be a list, got {}", Describe(n));
    *out = json::array();
    for (size_t i = 0; i < n.size(); ++i) {
      json item;
      std::string err = ConvertScalar(p.item_type, n[i], &item);
      if (!err.empty()) return fmt::format("item {}: {}", i, err);
      out->push_back(std::move(item));
    }
    double count = static_cast<double>(out->size());
    if ((p.min && count < *p.min) || (p.max && count > *p.max)) {
      std::string r = CheckRange(p, count);
      return "item count " + r;
    }
  } else if (p.type == ParamType::kMap) {
    if (!n.IsMap()) return fmt::format("must be a map, got {}", Describe(n));
    *out = json::object();
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->second.IsScalar()) {
        return fmt::format("value of '{}' must be a scalar, got {}", it->first.Scalar(),
                           Describe(it->second));
      }
      (*out)[it->first.Scalar()] = it->second.Scalar();
    }
  } else {
    std::string err = ConvertScalar(p.type, n, out);
    if (!err.empty()) return err;
    if (p.type == ParamType::kInt) {
      err = CheckRange(p, static_cast<double>(out->get<int64_t>()));
    } else if (p.type == ParamType::kFloat) {
      err = CheckRange(p, out->get<double>());
    }
    if (!err.empty()) return err;
    if (p.type == ParamType::kString && !p.enum_values.empty() &&
        std::find(p.enum_values.begin(), p.enum_values.end(), out->get<std::string>()) ==
            p.enum_values.end()) {
      std::string allowed;
      for (const auto& e : p.enum_values) allowed += (allowed.empty() ? "" : ", ") + e;
      return fmt::format("must be one of [{}], got '{}'", allowed, out->get<std::string>());
    }
  }
  if (p.check) return p.check(*out);
  return "";
}

// Megabytes from 40960, "40960", "16GiB", "512 MB", "1.5GB" (decimal and binary units).
std::string ParseMemoryMb(const YAML::Node& n, int64_t* mb) {
  if (!n.IsScalar()) return fmt::format("must be megabytes or a size like 16GiB, got {}", Describe(n));
  static const std::regex re("^\\s*([0-9]*\\.?[0-9]+)\\s*([A-Za-z]*)\\s*$");
  std::smatch m;
  const std::string s = n.Scalar();
  if (!std::regex_match(s, m, re)) {
    if (!s.empty() && s[0] == '-') return fmt::format("must be >= 0, got {}", s);
    return fmt::format("must be megabytes or a size like 16GiB, got '{}'", s);
  }
  double v = std::stod(m[1].str());
  std::string unit = m[2].str();
  std::transform(unit.begin(), unit.end(), unit.begin(), ::tolower);
  double factor;
  if (unit.empty() || unit == "m" || unit == "mb" || unit == "mib") {
    factor = 1;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    factor = 1024;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    factor = 1024 * 1024;
  } else {
    return fmt::format("unknown unit '{}' (use MB, GB, GiB or TB)", m[2].str());
  }
  double total = v * factor;
  if (total > 1024.0 * 1024.0) {
    return fmt::format("unsatisfiable resources: gpu_memory must be <= 1TiB per GPU, got '{}'", s);
  }
  *mb = static_cast<int64_t>(std::llround(total));
  return "";
}

struct RefUse {
  std::string param;  // "model" or "circuits[1]"
  std::string target;
  std::string output;  // may be empty
  std::vector<std::string> ref_kinds;
  int line = 0;
};

struct JobDraft {
  JobSpec spec;
  std::vector<RefUse> refs;
  std::vector<std::pair<std::string, int>> after;  // name, line
  const KindSchema* schema = nullptr;
  std::set<std::string> set_fields;
};

// Applies one reserved (job-level) field; returns the problem ("" = fine).
std::string ApplyReserved(const std::string& key, const YAML::Node& v, JobDraft* d) {
  json j;
  std::string err;
  JobSpec& s = d->spec;
  if (key == "after") {
    d->after.clear();
    if (v.IsScalar()) {
      d->after.emplace_back(v.Scalar(), LineOf(v));
      return "";
    }
    if (!v.IsSequence()) return fmt::format("must be a list of job names, got {}", Describe(v));
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar()) return fmt::format("item {} must be a job name, got {}", i, Describe(v[i]));
      d->after.emplace_back(v[i].Scalar(), LineOf(v[i]));
    }
    return "";
  }
  auto int_in = [&](int64_t lo, int64_t hi, int64_t* out, const char* prefix) -> std::string {
    std::string e = ConvertScalar(ParamType::kInt, v, &j);
    if (!e.empty()) return e;
    int64_t x = j.get<int64_t>();
    if (x < lo || x > hi) return fmt::format("{}must be in [{}, {}], got {}", prefix, lo, hi, x);
    *out = x;
    return "";
  };
  int64_t x = 0;
  if (key == "retries") {
    err = int_in(0, kMaxRetries, &x, "");
    if (err.empty()) s.retries = static_cast<int32_t>(x);
  } else if (key == "priority") {
    err = int_in(-kMaxPriority, kMaxPriority, &x, "");
    if (err.empty()) s.priority = static_cast<int32_t>(x);
  } else if (key == "gpus") {
    err = int_in(0, kMaxGpusPerJob, &x, "unsatisfiable resources: ");
    if (err.empty()) s.gpus = static_cast<int32_t>(x);
  } else if (key == "gpu_memory") {
    err = ParseMemoryMb(v, &s.gpu_memory_mb);
  } else if (key == "labels") {
    if (!v.IsMap()) return fmt::format("must be a map of strings, got {}", Describe(v));
    s.labels.clear();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it->second.IsScalar()) {
        return fmt::format("label '{}' must be a string, got {}", it->first.Scalar(),
                           Describe(it->second));
      }
      s.labels[it->first.Scalar()] = it->second.Scalar();
    }
  } else if (key == "cache") {
    err = ConvertScalar(ParamType::kBool, v, &j);
    if (err.empty()) s.cache = j.get<bool>();
  } else {
    err = "is not a job field";
  }
  return err;
}

bool IsReserved(const std::string& key) {
  for (const char* r : kReservedJobFields) {
    if (key == r) return true;
  }
  return false;
}

void RecordRefs(const ParamSpec& p, const json& value, int line, JobDraft* d) {
  auto add = [&](const std::string& param, const std::string& ref) {
    std::string job, output;
    SplitRef(ref, &job, &output);
    d->refs.push_back({param, job, output, p.ref_kinds, line});
    d->spec.refs[param] = ref;
  };
  if (p.type == ParamType::kRef) {
    add(p.name, value.get<std::string>());
  } else if (p.type == ParamType::kList && p.item_type == ParamType::kRef) {
    for (size_t i = 0; i < value.size(); ++i) {
      add(fmt::format("{}[{}]", p.name, i), value[i].get<std::string>());
    }
  }
}

struct DefaultEntry {
  std::string key;
  YAML::Node value;
  int line;
};

StatusOr<ExperimentSpec> ParseNode(const YAML::Node root, std::string_view source,
                                   const KindRegistry& registry) {
  Errors errs;
  if (!root.IsMap()) {
    errs.Add("", "", LineOf(root), fmt::format("the spec must be a map with 'experiment' and 'jobs', got {}", Describe(root)));
    return errs.ToStatus(source);
  }
  ExperimentSpec spec;
  // A default-constructed YAML::Node is a defined null, so presence is tracked explicitly.
  YAML::Node jobs_node, defaults_node;
  bool has_jobs = false, has_defaults = false, has_name = false;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key == "experiment") {
      static const std::regex re("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$");
      if (!it->second.IsScalar() || !std::regex_match(it->second.Scalar(), re)) {
        errs.Add("", "experiment", LineOf(it->second),
                 fmt::format("must be a name of letters, digits, '_', '.', '-' (at most 128), got {}",
                             Describe(it->second)));
      } else {
        spec.name = it->second.Scalar();
      }
      has_name = true;
    } else if (key == "jobs") {
      jobs_node = it->second;
      has_jobs = true;
    } else if (key == "defaults") {
      defaults_node = it->second;
      has_defaults = true;
    } else {
      errs.Add("", key, LineOf(it->first), "unknown top-level field (expected experiment, defaults, jobs)");
    }
  }
  if (!has_name) errs.Add("", "experiment", LineOf(root), "is required");
  if (!has_jobs || !jobs_node.IsMap() || jobs_node.size() == 0) {
    errs.Add("", "jobs", has_jobs ? LineOf(jobs_node) : LineOf(root),
             "must be a non-empty map of job name -> job");
    return errs.ToStatus(source);
  }
  if (jobs_node.size() > static_cast<size_t>(kMaxJobs)) {
    errs.Add("", "jobs", LineOf(jobs_node),
             fmt::format("at most {} jobs per experiment, got {}", kMaxJobs, jobs_node.size()));
    return errs.ToStatus(source);
  }

  // defaults: reserved fields for every job, parameters for the kinds that have them.
  std::vector<DefaultEntry> defaults;
  JobDraft reserved_defaults;
  if (has_defaults) {
    if (!defaults_node.IsMap()) {
      errs.Add("", "defaults", LineOf(defaults_node), fmt::format("must be a map, got {}", Describe(defaults_node)));
    } else {
      for (auto it = defaults_node.begin(); it != defaults_node.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (key == "kind" || key == "after") {
          errs.Add("", "defaults." + key, LineOf(it->first), "cannot be a default");
        } else if (IsReserved(key)) {
          std::string err = ApplyReserved(key, it->second, &reserved_defaults);
          if (!err.empty()) errs.Add("", "defaults." + key, LineOf(it->second), err);
          reserved_defaults.set_fields.insert(key);
        } else {
          bool used = false;
          for (const std::string& k : registry.Names()) used = used || registry.Find(k)->FindParam(key);
          if (!used) {
            errs.Add("", "defaults." + key, LineOf(it->first), "unknown field: no registered kind has this parameter");
          } else {
            defaults.push_back({key, it->second, LineOf(it->second)});
          }
        }
      }
    }
  }

  std::vector<JobDraft> drafts;
  std::map<std::string, size_t> index;
  for (auto it = jobs_node.begin(); it != jobs_node.end(); ++it) {
    JobDraft d;
    d.spec = reserved_defaults.spec;
    const std::string name = it->first.Scalar();
    d.spec.name = name;
    d.spec.line = LineOf(it->first);
    if (!IsJobName(name)) {
      errs.Add(name, "", d.spec.line, "job names are letters, digits, '_' and '-' (at most 128), starting with a letter or '_'");
      continue;
    }
    if (index.count(name)) {
      errs.Add(name, "", d.spec.line, fmt::format("duplicate job name (first on line {})", drafts[index[name]].spec.line));
      continue;
    }
    const YAML::Node jn = it->second;
    if (!jn.IsMap()) {
      errs.Add(name, "", LineOf(jn), fmt::format("a job must be a map with 'kind', got {}", Describe(jn)));
      continue;
    }
    if (!jn["kind"]) {
      errs.Add(name, "kind", d.spec.line, "is required");
      continue;
    }
    const YAML::Node kind_node = jn["kind"];
    d.schema = kind_node.IsScalar() ? registry.Find(kind_node.Scalar()) : nullptr;
    if (!d.schema) {
      std::string known;
      for (const auto& k : registry.Names()) known += (known.empty() ? "" : ", ") + k;
      errs.Add(name, "kind", LineOf(kind_node), fmt::format("unknown kind {} (known: {})", Describe(kind_node), known));
      continue;
    }
    d.spec.kind = d.schema->name;
    for (auto f = jn.begin(); f != jn.end(); ++f) {
      const std::string key = f->first.Scalar();
      if (key == "kind") continue;
      if (!d.set_fields.insert(key).second) {
        errs.Add(name, key, LineOf(f->first), "set twice");
        continue;
      }
      if (IsReserved(key)) {
        std::string err = ApplyReserved(key, f->second, &d);
        if (!err.empty()) errs.Add(name, key, LineOf(f->second), err);
        continue;
      }
      const ParamSpec* p = d.schema->FindParam(key);
      if (!p) {
        std::string known;
        for (const auto& q : d.schema->params) known += (known.empty() ? "" : ", ") + q.name;
        errs.Add(name, key, LineOf(f->first),
                 fmt::format("unknown field for kind '{}' (parameters: {}; job fields: kind, after, retries, priority, gpus, gpu_memory, labels, cache)",
                             d.spec.kind, known.empty() ? "none" : known));
        continue;
      }
      json v;
      std::string err = ConvertParam(*p, f->second, &v);
      if (!err.empty()) {
        errs.Add(name, key, LineOf(f->second), err);
        continue;
      }
      RecordRefs(*p, v, LineOf(f->second), &d);
      d.spec.params[key] = std::move(v);
    }
    // Defaults, then the schema's own defaults, then required checks.
    for (const DefaultEntry& de : defaults) {
      const ParamSpec* p = d.schema->FindParam(de.key);
      if (!p || d.spec.params.contains(de.key)) continue;
      json v;
      std::string err = ConvertParam(*p, de.value, &v);
      if (!err.empty()) {
        errs.Add(name, de.key, de.line, "(from defaults) " + err);
        continue;
      }
      RecordRefs(*p, v, de.line, &d);
      d.spec.params[de.key] = std::move(v);
    }
    bool missing = false;
    for (const ParamSpec& p : d.schema->params) {
      if (d.spec.params.contains(p.name)) continue;
      if (p.required) {
        errs.Add(name, p.name, d.spec.line, fmt::format("is required for kind '{}'", d.spec.kind));
        missing = true;
      } else if (!p.default_value.is_null()) {
        d.spec.params[p.name] = p.default_value;
      }
    }
    if (d.spec.gpu_memory_mb > 0 && d.spec.gpus == 0) {
      errs.Add(name, "gpu_memory", d.spec.line, "unsatisfiable resources: gpu_memory needs gpus >= 1");
    }
    if (!missing && d.schema->check) {
      if (auto bad = d.schema->check(d.spec.params)) {
        const YAML::Node field = jn[bad->first];
        errs.Add(name, bad->first, field ? LineOf(field) : d.spec.line, bad->second);
      }
    }
    index[name] = drafts.size();
    drafts.push_back(std::move(d));
  }
  if (!errs.empty()) return errs.ToStatus(source);

  // References and `after:` must name jobs of this experiment (and of the right kind/output).
  for (JobDraft& d : drafts) {
    std::set<std::string> deps;
    for (const auto& [target, line] : d.after) {
      if (target == d.spec.name) {
        errs.Add(d.spec.name, "after", line, fmt::format("cycle: {} -> {}", target, target));
      } else if (!index.count(target)) {
        errs.Add(d.spec.name, "after", line, fmt::format("references unknown job '{}'", target));
      } else {
        deps.insert(target);
        d.spec.after.push_back(target);
      }
    }
    for (const RefUse& r : d.refs) {
      auto it = index.find(r.target);
      if (r.target == d.spec.name) {
        errs.Add(d.spec.name, r.param, r.line, fmt::format("cycle: {} -> {}", r.target, r.target));
        continue;
      }
      if (it == index.end()) {
        errs.Add(d.spec.name, r.param, r.line, fmt::format("references unknown job '{}'", r.target));
        continue;
      }
      const JobDraft& t = drafts[it->second];
      if (!r.ref_kinds.empty() &&
          std::find(r.ref_kinds.begin(), r.ref_kinds.end(), t.spec.kind) == r.ref_kinds.end()) {
        std::string kinds;
        for (const auto& k : r.ref_kinds) kinds += (kinds.empty() ? "" : "|") + k;
        errs.Add(d.spec.name, r.param, r.line,
                 fmt::format("must reference a job of kind {}, but '{}' is a {}", kinds, r.target, t.spec.kind));
        continue;
      }
      if (!r.output.empty()) {
        const auto& outs = t.schema->outputs;
        if (std::find(outs.begin(), outs.end(), r.output) == outs.end()) {
          std::string names;
          for (const auto& o : outs) names += (names.empty() ? "" : ", ") + o;
          errs.Add(d.spec.name, r.param, r.line,
                   fmt::format("job '{}' (kind {}) has no output '{}' (outputs: {})", r.target,
                               t.spec.kind, r.output, names.empty() ? "none" : names));
          continue;
        }
      }
      deps.insert(r.target);
    }
    std::sort(d.spec.after.begin(), d.spec.after.end());
    d.spec.after.erase(std::unique(d.spec.after.begin(), d.spec.after.end()), d.spec.after.end());
    d.spec.depends_on.assign(deps.begin(), deps.end());
  }
  if (!errs.empty()) return errs.ToStatus(source);

  // Topological order by Kahn's algorithm (ties in declaration order); jobs left over lie on
  // or behind a cycle. Iterative, so a 100k-job chain cannot overflow the stack.
  const size_t n = drafts.size();
  std::vector<size_t> pending(n, 0);
  std::vector<std::vector<size_t>> dependents(n);
  for (size_t i = 0; i < n; ++i) {
    pending[i] = drafts[i].spec.depends_on.size();
    for (const std::string& dep : drafts[i].spec.depends_on) dependents[index[dep]].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t u = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(u);
    for (size_t v : dependents[u]) {
      if (--pending[v] == 0) ready.insert(v);
    }
  }
  if (order.size() != n) {
    // Walk unresolved dependencies from the first stuck job until a job repeats: that loop is
    // a cycle (every stuck job has a stuck dependency).
    size_t u = 0;
    while (pending[u] == 0) ++u;
    std::vector<size_t> path;
    std::vector<int> pos(n, -1);
    while (pos[u] < 0) {
      pos[u] = static_cast<int>(path.size());
      path.push_back(u);
      for (const std::string& dep : drafts[u].spec.depends_on) {
        if (pending[index[dep]] > 0) {
          u = index[dep];
          break;
        }
      }
    }
    std::string cyc;
    for (size_t i = static_cast<size_t>(pos[u]); i < path.size(); ++i) cyc += drafts[path[i]].spec.name + " -> ";
    cyc += drafts[u].spec.name;
    errs.Add(drafts[u].spec.name, "", drafts[u].spec.line,
             fmt::format("cycle: {} (each depends on the next)", cyc));
    return errs.ToStatus(source);
  }
  for (size_t i : order) spec.jobs.push_back(std::move(drafts[i].spec));
  if (!errs.empty()) return errs.ToStatus(source);
  return spec;
}

}  // namespace

const JobSpec* ExperimentSpec::Find(const std::string& job) const {
  for (const JobSpec& j : jobs) {
    if (j.name == job) return &j;
  }
  return nullptr;
}

StatusOr<ExperimentSpec> ParseExperiment(std::string_view text, std::string_view source_name,
                                         const KindRegistry& registry) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string prefix = source_name.empty() ? "" : fmt::format("{}: ", source_name);
    return InvalidArgumentError("{}malformed YAML/JSON (line {}): {}", prefix, e.mark.line + 1, e.msg);
  }
  try {
    return ParseNode(root, source_name, registry);
  } catch (const YAML::Exception& e) {
    std::string prefix = source_name.empty() ? "" : fmt::format("{}: ", source_name);
    return InvalidArgumentError("{}malformed spec (line {}): {}", prefix, e.mark.line + 1, e.msg);
  }
}

}  // namespace fc::dag

// Every rejection kind of the DAG parser, each with the job, field and line it must name.
#include "common/dag/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fc::dag {
namespace {

using ::testing::HasSubstr;

// The example DAG of architecture.md section 6.
constexpr const char* kPaperDag = R"(experiment: addsub100
defaults: {device: auto, retries: 2, priority: 5}
jobs:
  data:     {kind: dataset, task: add_sub, max_operand: 100, size: 5000, circuit_fraction: 0.1, seed: 42}
  base:     {kind: train_base, arch: gpt_neox, layers: 2, heads: 4, d_model: 128, data: data.ft}
            # or: {kind: model, path: /models/pythia-1.4b-deduped}
  before:   {kind: discover, model: base, data: data.circuit, method: eap_ig, ig_steps: 5, metric: kl, top: 5%}
  lora:     {kind: finetune, model: base, data: data.ft, method: lora, rank: 32, alpha: 64, checkpoint_every: 25}
  track:    {kind: reextract, finetune: lora, like: before}
  plan:     {kind: circuit_lora_plan, base_circuit: before, tuned_circuit: track.last, top_k: 5, r_o: 8, r_c: 32}
  clora:    {kind: finetune, model: base, data: data.ft, method: circuit_lora, plan: plan}
)";

std::string Error(const std::string& text) {
  auto r = ParseExperiment(text, "x.yaml");
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::string OneJob(const std::string& job_body) {
  return "experiment: e\njobs:\n  j: " + job_body + "\n";
}

TEST(ParseExperiment, ArchitectureExampleValidatesWithDependencies) {
  auto r = ParseExperiment(kPaperDag);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "addsub100");
  ASSERT_EQ(r->jobs.size(), 7u);
  EXPECT_EQ(r->jobs.front().name, "data");  // topological order
  const JobSpec* plan = r->Find("plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->depends_on, (std::vector<std::string>{"before", "track"}));
  EXPECT_EQ(plan->refs.at("tuned_circuit"), "track.last");
  EXPECT_EQ(plan->retries, 2);
  EXPECT_EQ(plan->priority, 5);
  const JobSpec* clora = r->Find("clora");
  EXPECT_EQ(clora->depends_on, (std::vector<std::string>{"base", "data", "plan"}));
  EXPECT_EQ(clora->params["device"], "auto");   // from defaults
  EXPECT_EQ(clora->params["rank"], 32);         // schema default
  EXPECT_EQ(r->Find("base")->line, 5);
  // Every job comes after all of its dependencies.
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < r->jobs.size(); ++i) pos[r->jobs[i].name] = i;
  for (const JobSpec& j : r->jobs) {
    for (const std::string& d : j.depends_on) EXPECT_LT(pos[d], pos[j.name]) << j.name;
  }
}

TEST(ParseExperiment, AcceptsJsonAndResources) {
  auto r = ParseExperiment(R"({"experiment": "j", "jobs": {
      "a": {"kind": "sleep", "seconds": 0, "gpus": 2, "gpu_memory": "16GiB",
            "labels": {"zone": "a"}, "priority": -3, "cache": false},
      "b": {"kind": "fail", "after": ["a"], "permanent": true, "retries": 0}}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const JobSpec* a = r->Find("a");
  EXPECT_EQ(a->gpus, 2);
  EXPECT_EQ(a->gpu_memory_mb, 16384);
  EXPECT_EQ(a->labels.at("zone"), "a");
  EXPECT_EQ(a->priority, -3);
  EXPECT_FALSE(a->cache);
  EXPECT_EQ(r->Find("b")->depends_on, std::vector<std::string>{"a"});
  EXPECT_EQ(r->Find("b")->retries, 0);
}

TEST(ParseExperiment, RejectsMalformedYamlWithLine) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep\n  b: [\n"),
              HasSubstr("x.yaml: malformed YAML/JSON (line"));
}

TEST(ParseExperiment, RejectsMissingExperimentAndJobs) {
  EXPECT_THAT(Error("jobs:\n  a: {kind: sleep}\n"), HasSubstr("field 'experiment' (line 1): is required"));
  EXPECT_THAT(Error("experiment: e\n"), HasSubstr("field 'jobs'"));
  EXPECT_THAT(Error("experiment: e\njobs: {}\n"), HasSubstr("must be a non-empty map"));
  EXPECT_THAT(Error("- a\n- b\n"), HasSubstr("the spec must be a map"));
}

TEST(ParseExperiment, RejectsUnknownTopLevelField) {
  EXPECT_THAT(Error("experiment: e\nextra: 1\njobs:\n  a: {kind: sleep}\n"),
              HasSubstr("field 'extra' (line 2): unknown top-level field"));
}

TEST(ParseExperiment, RejectsUnknownKindNamingJobFieldLine) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep}\n  b:\n    kind: teleport\n"),
              HasSubstr("job 'b' field 'kind' (line 5): unknown kind 'teleport' (known: "));
}

TEST(ParseExperiment, RejectsMissingKind) {
  EXPECT_THAT(Error(OneJob("{seconds: 1}")), HasSubstr("job 'j' field 'kind' (line 3): is required"));
}

TEST(ParseExperiment, RejectsUnknownField) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  j:\n    kind: sleep\n    secnds: 3\n"),
              HasSubstr("job 'j' field 'secnds' (line 5): unknown field for kind 'sleep' (parameters: seconds;"));
}

TEST(ParseExperiment, RejectsWrongTypes) {
  EXPECT_THAT(Error(OneJob("{kind: sleep, seconds: soon}")),
              HasSubstr("job 'j' field 'seconds' (line 3): must be a finite float, got 'soon'"));
  EXPECT_THAT(Error(OneJob("{kind: dataset, task: add_sub, size: 1.5}")),
              HasSubstr("job 'j' field 'size' (line 3): must be an int, got '1.5'"));
  EXPECT_THAT(Error(OneJob("{kind: dataset, task: add_sub, size: \"12\"}")),
              HasSubstr("field 'size' (line 3): must be a int, got '12'"));
  EXPECT_THAT(Error(OneJob("{kind: fail, permanent: maybe}")),
              HasSubstr("field 'permanent' (line 3): must be a bool (true/false), got 'maybe'"));
  EXPECT_THAT(Error(OneJob("{kind: fail, message: [a, b]}")),
              HasSubstr("field 'message' (line 3): must be a string, got a list"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, retries: many}")),
              HasSubstr("field 'retries' (line 3): must be an int, got 'many'"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, labels: [gpu]}")),
              HasSubstr("field 'labels' (line 3): must be a map of strings, got a list"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, after: {a: 1}}")),
              HasSubstr("field 'after' (line 3): must be a list of job names, got a map"));
}

TEST(ParseExperiment, RejectsOutOfRangeAndNonEnumValues) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  j:\n    kind: sleep\n    seconds: -1\n"),
              HasSubstr("job 'j' field 'seconds' (line 5): must be in [0, 86400], got -1"));
  EXPECT_THAT(Error(OneJob("{kind: dataset, task: nope}")),
              HasSubstr("field 'task' (line 3): must be one of [add_sub, "));
  EXPECT_THAT(Error(OneJob("{kind: sleep, retries: 101}")),
              HasSubstr("field 'retries' (line 3): must be in [0, 100], got 101"));
  EXPECT_THAT(Error(OneJob("{kind: dataset, task: add_sub, circuit_fraction: 1.0}")),
              HasSubstr("job 'j' field 'circuit_fraction' (line 3): must be in (0, 1), got 1"));
  EXPECT_THAT(Error(OneJob("{kind: model, path: /m, device: tpu}")),
              HasSubstr("field 'device' (line 3): must be auto, cpu, cuda or cuda:N"));
}

TEST(ParseExperiment, RejectsMissingRequiredParameter) {
  EXPECT_THAT(Error(OneJob("{kind: model}")),
              HasSubstr("job 'j' field 'path' (line 3): is required for kind 'model'"));
}

TEST(ParseExperiment, RejectsCrossFieldViolations) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  d: {kind: dataset, task: add_sub}\n"
                    "  m: {kind: model, path: /m}\n"
                    "  f: {kind: finetune, model: m, data: d.ft, method: circuit_lora}\n"),
              HasSubstr("job 'f' field 'plan' (line 5): is required when method is circuit_lora"));
}

TEST(ParseExperiment, RejectsDanglingReferences) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep, after: [ghost]}\n"),
              HasSubstr("job 'a' field 'after' (line 3): references unknown job 'ghost'"));
  EXPECT_THAT(Error("experiment: e\njobs:\n  m: {kind: model, path: /m}\n"
                    "  e:\n    kind: evaluate\n    model: m\n    data: nodata.circuit\n"),
              HasSubstr("job 'e' field 'data' (line 7): references unknown job 'nodata'"));
}

TEST(ParseExperiment, RejectsUnknownOutputAndWrongTargetKind) {
  const std::string base = "experiment: e\njobs:\n  d: {kind: dataset, task: add_sub}\n  m: {kind: model, path: /m}\n";
  EXPECT_THAT(Error(base + "  v: {kind: evaluate, model: m, data: d.test}\n"),
              HasSubstr("job 'v' field 'data' (line 5): job 'd' (kind dataset) has no output 'test' (outputs: ft, circuit, robustness)"));
  EXPECT_THAT(Error(base + "  v: {kind: evaluate, model: d, data: d.ft}\n"),
              HasSubstr("job 'v' field 'model' (line 5): must reference a job of kind train_base|model|finetune, but 'd' is a dataset"));
  EXPECT_THAT(Error(base + "  v: {kind: evaluate, model: m, data: 'd.ft.x'}\n"),
              HasSubstr("field 'data' (line 5): must reference a job as 'job' or 'job.output'"));
}

TEST(ParseExperiment, RejectsCyclesNamingTheCycle) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep, after: [c]}\n  b: {kind: sleep, after: [a]}\n"
                    "  c: {kind: sleep, after: [b]}\n  d: {kind: sleep}\n"),
              HasSubstr("cycle: a -> c -> b -> a"));
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep, after: [a]}\n"),
              HasSubstr("job 'a' field 'after' (line 3): cycle: a -> a"));
  // Through references, not only after:
  EXPECT_THAT(Error("experiment: e\njobs:\n  x: {kind: merge, circuits: [y, y]}\n"
                    "  y: {kind: merge, circuits: [x, x]}\n"),
              HasSubstr("cycle: x -> y -> x"));
}

TEST(ParseExperiment, RejectsUnsatisfiableResources) {
  EXPECT_THAT(Error(OneJob("{kind: sleep, gpus: 65}")),
              HasSubstr("job 'j' field 'gpus' (line 3): unsatisfiable resources: must be in [0, 64], got 65"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, gpus: -1}")),
              HasSubstr("unsatisfiable resources: must be in [0, 64], got -1"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, gpu_memory: 8GiB}")),
              HasSubstr("job 'j' field 'gpu_memory' (line 3): unsatisfiable resources: gpu_memory needs gpus >= 1"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, gpus: 1, gpu_memory: 2TB}")),
              HasSubstr("gpu_memory must be <= 1TiB per GPU"));
  EXPECT_THAT(Error(OneJob("{kind: sleep, gpus: 1, gpu_memory: 8 parsecs}")),
              HasSubstr("unknown unit 'parsecs'"));
}

TEST(ParseExperiment, RejectsDuplicateAndBadJobNames) {
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep}\n  a: {kind: fail}\n"),
              HasSubstr("job 'a' (line 4): duplicate job name (first on line 3)"));
  EXPECT_THAT(Error("experiment: e\njobs:\n  a.b: {kind: sleep}\n"), HasSubstr("job 'a.b' (line 3): job names are"));
  EXPECT_THAT(Error("experiment: e\njobs:\n  a: {kind: sleep, seconds: 1, seconds: 2}\n"),
              HasSubstr("field 'seconds' (line 3): set twice"));
}

TEST(ParseExperiment, RejectsBadDefaults) {
  EXPECT_THAT(Error("experiment: e\ndefaults: {wibble: 3}\njobs:\n  a: {kind: sleep}\n"),
              HasSubstr("field 'defaults.wibble' (line 2): unknown field: no registered kind has this parameter"));
  EXPECT_THAT(Error("experiment: e\ndefaults: {kind: sleep}\njobs:\n  a: {kind: sleep}\n"),
              HasSubstr("field 'defaults.kind' (line 2): cannot be a default"));
  EXPECT_THAT(Error("experiment: e\ndefaults:\n  seconds: -4\njobs:\n  a: {kind: sleep}\n"),
              HasSubstr("job 'a' field 'seconds' (line 3): (from defaults) must be in [0, 86400], got -4"));
}

TEST(ParseExperiment, ReportsEveryProblemNotOnlyTheFirst) {
  std::string msg = Error("experiment: e\njobs:\n  a: {kind: sleep, seconds: x}\n  b: {kind: nope}\n");
  EXPECT_THAT(msg, HasSubstr("job 'a' field 'seconds'"));
  EXPECT_THAT(msg, HasSubstr("job 'b' field 'kind'"));
  EXPECT_THAT(msg, HasSubstr("x.yaml: "));
}

TEST(ParseExperiment, ListOfReferencesMakesEachADependency) {
  auto r = ParseExperiment(
      "experiment: e\njobs:\n  d: {kind: dataset, task: add_sub}\n  m: {kind: model, path: /m}\n"
      "  c1: {kind: discover, model: m, data: d.circuit}\n"
      "  c2: {kind: discover, model: m, data: d.circuit, top: 100}\n"
      "  u: {kind: merge, circuits: [c1, c2.circuit], target_edges: 50}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Find("u")->depends_on, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(r->Find("u")->refs.at("circuits[1]"), "c2.circuit");
  EXPECT_THAT(Error("experiment: e\njobs:\n  d: {kind: dataset, task: add_sub}\n  m: {kind: model, path: /m}\n"
                    "  c1: {kind: discover, model: m, data: d.circuit}\n  u: {kind: merge, circuits: [c1]}\n"),
              HasSubstr("job 'u' field 'circuits' (line 6): item count must be >= 2, got 1"));
  EXPECT_THAT(Error("experiment: e\njobs:\n  d: {kind: dataset, task: add_sub}\n  m: {kind: model, path: /m}\n"
                    "  c1: {kind: discover, model: m, data: d.circuit, top: 0}\n"),
              HasSubstr("field 'top' (line 5): edge count must be positive"));
}

TEST(ParseExperiment, LongChainDoesNotOverflow) {
  std::string text = "experiment: chain\njobs:\n  j0: {kind: sleep}\n";
  for (int i = 1; i < 20000; ++i) text += fmt::format("  j{}: {{kind: sleep, after: [j{}]}}\n", i, i - 1);
  auto r = ParseExperiment(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->jobs.back().name, "j19999");
}

}  // namespace
}  // namespace fc::dag

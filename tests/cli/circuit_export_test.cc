// `fcctl circuit export` end to end: the real fcctl binary against an in-process coordinator
// over loopback (gRPC + HTTP + SQLite + artifact store). A scripted worker stores a discover
// job's output as a `blob:` tree in the coordinator's store; the exported EAP-IG JSON parses
// back (common/circuit readers) to exactly the circuit the worker wrote, the collapsed JSON to
// its collapse, and the DOT holds exactly the collapsed circuit's edges. Errors: unknown id
// (exit 4), unknown format (exit 2; HTTP 400 naming the format), a circuit whose edges are not
// available (exit 1, 409), eapig of a collapsed-only circuit (exit 1), coordinator unreachable
// (exit 3).
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/tracking_commands.h"
#include "common/circuit/collapsed.h"
#include "common/circuit/json_format.h"
#include "common/circuit/selection.h"
#include "coordinator/artifacts/blob_store.h"
#include "coordinator/server.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "tests/coordinator/artifacts/store_tree.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "tests/coordinator/test_util.h"

namespace fc::cli {
namespace {

namespace pb = fc::v1;
using fc::coord::testing::Ctx;
using nlohmann::json;

constexpr const char* kSpec = R"(experiment: export
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  full: {kind: discover, model: base, data: data.circuit, top: 10%}
  collapsed_only: {kind: discover, model: base, data: data.circuit, top: 10%}
  elsewhere: {kind: discover, model: base, data: data.circuit, top: 10%}
)";

circuit::Circuit Toy() {
  circuit::GraphConfig cfg{2, 3, false};
  circuit::GraphLayout g(cfg);
  circuit::EdgeScores sc(cfg);
  for (int b = 0; b < g.n_backward(); ++b) {
    for (int f = 0; f < g.Prev(b); ++f) sc.at(f, b) = static_cast<float>((f * 5 + b * 11) % 19) - 6.5f;
  }
  auto c = circuit::MakeCircuit(std::move(sc));
  auto sel = circuit::Selection::Parse("top:15");
  EXPECT_TRUE(c.ok() && sel.ok() && circuit::Select(g, *sel, &*c).ok());
  return *c;
}

struct FcctlRun {
  int exit_code = -1;
  std::string out, err;
};

class CircuitExport : public coord::testing::CoordinatorFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    http_ = server_->http_address();
    experiment_ = RunExperiment();
  }
  // One output (kind left unset), named as the job's kind expects.
  void Complete(const pb::LeasedJob& l, const std::string& uri) {
    worker_->Complete(l, {{l.job().kind() == "discover" ? "circuit" : "out", uri}},
                      json({{"nodes", 1}, {"edges", 1}}).dump(), /*kind=*/"");
  }
  // A folder written by `write` and stored as a tree; the folder itself is deleted.
  std::string StoreFolder(const std::string& name, const std::function<void(const std::string&)>& write) {
    const std::string folder = dir_.file(name);
    std::filesystem::create_directories(folder);
    write(folder);
    auto tree = artifacts::testing::StoreTree(*blobs_, folder);
    EXPECT_TRUE(tree.ok()) << tree.status().ToString();
    std::filesystem::remove_all(folder);
    return tree.ok() ? tree->uri : "";
  }
  std::string RunExperiment() {
    pb::SubmitExperimentRequest sreq;
    sreq.set_spec(kSpec);
    pb::SubmitExperimentReply sreply;
    EXPECT_TRUE(exp_->SubmitExperiment(Ctx().get(), sreq, &sreply).ok());
    EXPECT_TRUE(worker_->Register("w"));
    int done = 0;
    for (int round = 0; round < 50 && done < 5; ++round) {
      for (const auto& l : worker_->Acquire(/*wait_ms=*/200)) {
        const std::string& n = l.job().name();
        ++done;
        if (n == "full") {
          Complete(l, StoreFolder(n, [&](const std::string& d) {
                     ASSERT_TRUE(circuit::WriteCircuitJson(written_, circuit::JsonDialect::kEapOld, d + "/circuit.json").ok());
                   }));
        } else if (n == "collapsed_only") {
          Complete(l, StoreFolder(n, [&](const std::string& d) {
                     ASSERT_TRUE(circuit::WriteCollapsedJson(collapsed_, circuit::JsonDialect::kEapOld,
                                                             d + "/circuit_collapsed.json").ok());
                   }));
        } else if (n == "elsewhere") {
          Complete(l, "/another/host/out/circuit");  // a path the coordinator cannot read
        } else {
          Complete(l, "/d/" + n);
        }
      }
    }
    EXPECT_EQ(done, 5);
    return sreply.experiment().id();
  }
  FcctlRun Fcctl(const std::string& args) {
    const std::string out = dir_.file("stdout"), err = dir_.file("stderr");
    const std::string cmd = std::string(FCCTL_BIN) + " --http " + http_ + " circuit export " + args + " > " + out +
                            " 2> " + err;
    int rc = std::system(cmd.c_str());
    FcctlRun r;
    r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.out = Read(out);
    r.err = Read(err);
    return r;
  }
  static std::string Read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  // Waits until the ingester stored `id`'s scores (it reads the blob tree in the background).
  bool WaitStored(const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      auto c = HttpGetJson(http_, "/api/v1/circuits/" + id, 5000);
      if (c.ok() && c->value("scores_stored", false)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  circuit::Circuit written_ = Toy();
  circuit::CollapsedCircuit collapsed_ = *circuit::Collapse(circuit::GraphLayout(written_.cfg()), written_);
  std::string experiment_;
  std::string http_;
};

TEST_F(CircuitExport, EapIgJsonRoundTripsToTheCircuitTheWorkerWrote) {
  ASSERT_TRUE(WaitStored(experiment_ + "/full"));
  const std::string file = dir_.file("full.json");
  FcctlRun r = Fcctl(experiment_ + "/full --format eapig --out " + file);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + file), std::string::npos) << r.err;
  auto back = circuit::ReadCircuitJson(file);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_FALSE(back->is_collapsed);
  EXPECT_EQ(back->dialect, circuit::JsonDialect::kEapOld);
  ASSERT_TRUE(back->full.cfg() == written_.cfg());
  EXPECT_EQ(back->full.scores.data, written_.scores.data);
  EXPECT_EQ(back->full.CountEdges(), written_.CountEdges());
  EXPECT_EQ(back->full.CountNodes(), written_.CountNodes());
  EXPECT_EQ(back->full.edge_in, written_.edge_in);
  EXPECT_EQ(back->full.node_in, written_.node_in);
  // Default format is eapig, printed to stdout.
  FcctlRun stdout_run = Fcctl(experiment_ + "/full");
  ASSERT_EQ(stdout_run.exit_code, 0) << stdout_run.err;
  auto parsed = circuit::ParseCircuitJson(stdout_run.out, "stdout");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->full.edge_in, written_.edge_in);
}

TEST_F(CircuitExport, CollapsedJsonAndDotHoldExactlyTheCollapsedCircuit) {
  ASSERT_TRUE(WaitStored(experiment_ + "/full"));
  FcctlRun col = Fcctl(experiment_ + "/full --format collapsed");
  ASSERT_EQ(col.exit_code, 0) << col.err;
  auto back = circuit::ParseCircuitJson(col.out, "collapsed");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->is_collapsed);
  EXPECT_EQ(back->collapsed.edge_in, collapsed_.edge_in);
  EXPECT_EQ(back->collapsed.node_in, collapsed_.node_in);
  for (size_t i = 0; i < collapsed_.scores.size(); ++i) {
    if (collapsed_.edge_in[i]) EXPECT_NEAR(back->collapsed.scores[i], collapsed_.scores[i], 1e-5) << i;
  }

  FcctlRun dot = Fcctl(experiment_ + "/full --format dot");
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_EQ(dot.out.rfind("digraph", 0), 0u) << dot.out.substr(0, 100);
  std::set<std::string> drawn, expected;
  std::regex edge(R"re("([^"]+)" -> "([^"]+)")re");
  for (auto it = std::sregex_iterator(dot.out.begin(), dot.out.end(), edge); it != std::sregex_iterator(); ++it) {
    drawn.insert((*it)[1].str() + "->" + (*it)[2].str());
  }
  circuit::GraphLayout g(collapsed_.cfg);
  for (int f = 0; f < g.n_forward(); ++f) {
    for (int c = 0; c < collapsed_.n_cols(); ++c) {
      if (collapsed_.edge(f, c)) expected.insert(g.CollapsedEdgeName(f, c));
    }
  }
  EXPECT_EQ(static_cast<int64_t>(expected.size()), collapsed_.CountEdges());
  EXPECT_EQ(drawn, expected);
}

TEST_F(CircuitExport, ACollapsedOnlyBlobExportsCollapsedButNotEapIg) {
  FcctlRun col = Fcctl(experiment_ + "/collapsed_only --format collapsed");
  ASSERT_EQ(col.exit_code, 0) << col.err;
  auto back = circuit::ParseCircuitJson(col.out, "collapsed");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->collapsed.edge_in, collapsed_.edge_in);
  FcctlRun full = Fcctl(experiment_ + "/collapsed_only --format eapig");
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.err.find("collapsed"), std::string::npos) << full.err;
}

TEST_F(CircuitExport, ErrorsHaveTheirExitCodesAndNameTheProblem) {
  FcctlRun unknown = Fcctl(experiment_ + "/nope --format dot");
  EXPECT_EQ(unknown.exit_code, 4) << unknown.err;
  EXPECT_NE(unknown.err.find(experiment_ + "/nope"), std::string::npos) << unknown.err;

  FcctlRun bad_format = Fcctl(experiment_ + "/full --format png");
  EXPECT_EQ(bad_format.exit_code, 2) << bad_format.err;
  auto http_bad = HttpGetText(http_, "/api/v1/circuits/" + experiment_ + "/full/export?format=png", 5000);
  EXPECT_EQ(http_bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(http_bad.status().message().find("'png'"), std::string::npos) << http_bad.status().ToString();

  FcctlRun elsewhere = Fcctl(experiment_ + "/elsewhere --format dot");
  EXPECT_EQ(elsewhere.exit_code, 1) << elsewhere.err;
  EXPECT_NE(elsewhere.err.find("no stored edge scores"), std::string::npos) << elsewhere.err;
  EXPECT_NE(elsewhere.err.find("/another/host/out/circuit"), std::string::npos) << elsewhere.err;

  server_->Shutdown();
  FcctlRun down = Fcctl(experiment_ + "/full");
  EXPECT_EQ(down.exit_code, 3) << down.err;
}

}  // namespace
}  // namespace fc::cli

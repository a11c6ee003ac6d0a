// The tracking report over `blob:` circuit outputs, as in the real quickstart: an in-process
// coordinator with its own artifact store (--artifacts) and one scripted worker that stores
// every discover output as a tree in that store (one blob per file plus the manifest, as the
// agent uploads it) and reports `blob:<manifest sha>`; the local folders are deleted, so only
// the blobs exist. The ingester stores the edge scores read from the blobs, the report's edge
// diffs, per-layer changes and Jaccard equal DiffCircuits of the circuits the worker wrote,
// the report still has them from the blobs alone (stored scores dropped), and a circuit whose
// blob was corrupted is never stored or diffed: its errors name the blob.
#include <chrono>
#include <filesystem>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/tracking_commands.h"
#include "common/circuit/diff.h"
#include "common/circuit/dot_format.h"
#include "common/circuit/json_format.h"
#include "common/circuit/selection.h"
#include "coordinator/artifacts/blob_store.h"
#include "coordinator/server.h"
#include "coordinator/store/db.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/tracking.grpc.pb.h"
#include "tests/coordinator/artifacts/store_tree.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

namespace pb = fc::v1;
using fc::coord::testing::Ctx;
using nlohmann::json;

constexpr const char* kSpec = R"(experiment: blobs
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  before: {kind: discover, model: base, data: data.circuit, top: 10%}
  broken: {kind: discover, model: base, data: data.circuit, top: 10%}
  lora: {kind: finetune, model: base, data: data.ft, steps: 20, checkpoint_every: 10}
  track: {kind: reextract, finetune: lora, like: before}
)";

// A 3-layer, 2-head circuit whose top-k edges move with `shift`.
circuit::Circuit Toy(int shift) {
  circuit::GraphConfig cfg{3, 2, false};
  circuit::GraphLayout g(cfg);
  circuit::EdgeScores sc(cfg);
  for (int b = 0; b < g.n_backward(); ++b) {
    for (int f = 0; f < g.Prev(b); ++f) sc.at(f, b) = static_cast<float>((f * 7 + b * 3 + shift * 5) % 17) + 0.25f;
  }
  auto c = circuit::MakeCircuit(std::move(sc));
  auto sel = circuit::Selection::Parse("top:12,noprune");
  EXPECT_TRUE(c.ok() && sel.ok() && circuit::Select(g, *sel, &*c).ok());
  return *c;
}

class BlobOutputs : public testing::CoordinatorFixture {
 protected:
  void Tune(Config* c) override {
    c->lease_ttl_ms = 5000;
    c->heartbeat_ms = 500;
  }
  pb::LeasedJob Take(const std::string& name) { return worker_->Take(name); }
  void Complete(const pb::LeasedJob& l, const testing::Outputs& outs, const std::string& result = "{}") {
    worker_->Complete(l, outs, result, "circuit");
  }
  void Checkpoint(const pb::LeasedJob& l, int step, const std::string& parent) {
    ASSERT_TRUE(worker_->Checkpoint(l, step, parent, dir_.file("ckpt-" + std::to_string(step)), step / 20.0).ok());
  }
  // Writes circuit `shift` into a folder (at `member`), stores the folder as a tree, deletes
  // the folder and reports the tree's uri. Returns the stored tree.
  artifacts::testing::StoredTree Discover(const pb::LeasedJob& l, int shift, const std::string& member,
                                          bool corrupt = false) {
    const std::string folder = dir_.file("out-" + l.job().name());
    std::filesystem::create_directories(std::filesystem::path(folder + "/" + member).parent_path());
    circuit::Circuit c = Toy(shift);
    EXPECT_TRUE(circuit::WriteCircuitJson(c, circuit::JsonDialect::kEapOld, folder + "/" + member).ok());
    EXPECT_TRUE(circuit::WriteDot("digraph {}", folder + "/circuit.dot").ok());
    written_[l.job().name()] = c;
    auto tree = artifacts::testing::StoreTree(*blobs_, folder);
    EXPECT_TRUE(tree.ok()) << tree.status().ToString();
    std::filesystem::remove_all(folder);
    if (corrupt) {
      for (const auto& e : tree->manifest.files) {
        if (e.path == member) artifacts::testing::FlipByte(blobs_->BlobPath(e.sha256), 10);
      }
    }
    json result = {{"nodes", c.CountNodes()}, {"edges", c.CountEdges()},
                   {"faithfulness", {{"kl_pct", 90.0 + shift}, {"normalized", 0.8}}},
                   {"accuracy", {{"clean", 0.9}, {"circuit", 0.7}}}};
    Complete(l, {{"circuit", tree->uri}}, result.dump());
    return *tree;
  }
  bool ScoresStored(const std::string& id) {
    auto c = cli::HttpGetJson(server_->http_address(), "/api/v1/circuits/" + id, 5000);
    return c.ok() && c->value("scores_stored", false);
  }
  bool WaitStored(const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      if (ScoresStored(id)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  circuit::CollapsedCircuit Collapsed(const std::string& name) {
    circuit::GraphLayout g(written_.at(name).cfg());
    auto c = circuit::Collapse(g, written_.at(name));
    EXPECT_TRUE(c.ok());
    return *c;
  }
  // Every field of a report diff equals DiffCircuits(a, b).
  void ExpectDiff(const json& got, const std::string& a, const std::string& b) {
    ASSERT_TRUE(got.is_object()) << a << " -> " << b << ": " << got.dump();
    auto d = circuit::DiffCircuits(Collapsed(a), Collapsed(b));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(got.at("nodes_added").get<size_t>(), d->nodes_added.size());
    EXPECT_EQ(got.at("nodes_removed").get<size_t>(), d->nodes_removed.size());
    EXPECT_EQ(got.at("edges_added").get<size_t>(), d->edges_added.size());
    EXPECT_EQ(got.at("edges_removed").get<size_t>(), d->edges_removed.size());
    EXPECT_EQ(got.at("edges_added_per_layer"), json(d->edges_added_per_layer));
    EXPECT_EQ(got.at("edges_removed_per_layer"), json(d->edges_removed_per_layer));
    EXPECT_EQ(got.at("nodes_added_per_layer"), json(d->nodes_added_per_layer));
    EXPECT_DOUBLE_EQ(got.at("node_jaccard").get<double>(), d->node_jaccard);
    EXPECT_DOUBLE_EQ(got.at("edge_jaccard").get<double>(), d->edge_jaccard);
    EXPECT_EQ(got.at("node_induced_edge_changes"), d->node_induced_edge_changes);
    EXPECT_EQ(got.at("other_edge_changes"), d->other_edge_changes);
  }
  // Runs the whole experiment; returns its id.
  std::string RunExperiment() {
    pb::SubmitExperimentRequest sreq;
    sreq.set_spec(kSpec);
    pb::SubmitExperimentReply sreply;
    EXPECT_TRUE(exp_->SubmitExperiment(Ctx().get(), sreq, &sreply).ok());
    EXPECT_TRUE(worker_->Register("w"));
    Complete(Take("data"), {{"ft", "/d/ft"}, {"circuit", "/d/circuit"}});
    Complete(Take("base"), {{"model", "/m"}});
    broken_ = Discover(Take("broken"), 9, "circuit.json", /*corrupt=*/true);
    Discover(Take("before"), 0, "circuit.json");
    pb::LeasedJob lora = Take("lora");
    Checkpoint(lora, 10, "base");
    Checkpoint(lora, 20, "checkpoint-10");
    Discover(Take("track@0"), 0, "circuit.json");
    Discover(Take("track@10"), 1, "circuit/circuit.json");  // a folder holding circuit/circuit.json
    Discover(Take("track@20"), 3, "circuit.json");
    Complete(lora, {{"model", "/m2"}});
    return sreply.experiment().id();
  }

  std::map<std::string, circuit::Circuit> written_;
  artifacts::testing::StoredTree broken_;
};

TEST_F(BlobOutputs, IngesterStoresScoresFromBlobTreesAndTheReportHasEveryDiff) {
  const std::string e = RunExperiment();
  for (const char* name : {"before", "track@0", "track@10", "track@20"}) {
    EXPECT_TRUE(WaitStored(e + "/" + name)) << name;
  }
  auto rep = cli::HttpGetJson(server_->http_address(), "/api/v1/experiments/" + e + "/tracking", 5000);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  const json& track = rep->at("tracks").at(0);
  EXPECT_TRUE(track.at("diffs_missing").is_null()) << track.dump();
  const json& pts = track.at("points");
  ASSERT_EQ(pts.size(), 3u) << rep->dump();
  const char* names[] = {"track@0", "track@10", "track@20"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pts[i].at("edges"), written_[names[i]].CountEdges());
    ExpectDiff(pts[i].at("diff_base"), "track@0", names[i]);
    if (i > 0) ExpectDiff(pts[i].at("diff_prev"), names[i - 1], names[i]);
  }
  // The circuits really moved, so the Jaccard checked above is not trivially 1.
  EXPECT_LT(pts[2].at("diff_base").at("edge_jaccard").get<double>(), 1.0);

  auto diff = cli::HttpGetJson(server_->http_address(), "/api/v1/circuits/" + e + "/before/diff/" + e + "/track@20",
                               5000);
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  ExpectDiff(*diff, "before", "track@20");
}

TEST_F(BlobOutputs, TheReportReadsTheBlobsWhenNoScoresAreStored) {
  const std::string e = RunExperiment();
  for (const char* name : {"before", "track@0", "track@10", "track@20"}) {
    ASSERT_TRUE(WaitStored(e + "/" + name)) << name;
  }
  {
    auto rw = store::Connection::Open(dir_.file("db"), /*read_only=*/false);
    ASSERT_TRUE(rw.ok());
    ASSERT_TRUE((*rw)->Exec("DELETE FROM circuit_scores").ok());
  }
  EXPECT_FALSE(ScoresStored(e + "/track@10"));
  auto rep = cli::HttpGetJson(server_->http_address(), "/api/v1/experiments/" + e + "/tracking", 5000);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  const json& pts = rep->at("tracks").at(0).at("points");
  ASSERT_EQ(pts.size(), 3u);
  ExpectDiff(pts[1].at("diff_prev"), "track@0", "track@10");  // track@10's tree nests circuit/circuit.json
  ExpectDiff(pts[2].at("diff_base"), "track@0", "track@20");

  // The gRPC TrackingService (store reader threads) reads the same blobs.
  auto tracking = pb::TrackingService::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  pb::DiffCircuitsRequest dreq;
  dreq.set_before(e + "/track@10");
  dreq.set_after(e + "/track@20");
  pb::TrackingJsonReply treply;
  grpc::Status s = tracking->DiffCircuits(Ctx().get(), dreq, &treply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ExpectDiff(json::parse(treply.json()), "track@10", "track@20");
}

TEST_F(BlobOutputs, ACorruptCircuitBlobIsNeitherStoredNorDiffedAndItsErrorNamesTheBlob) {
  const std::string e = RunExperiment();
  // The ingester takes circuits in commit order: once later ones are stored, `broken` was tried.
  ASSERT_TRUE(WaitStored(e + "/before"));
  EXPECT_FALSE(ScoresStored(e + "/broken"));
  std::string member_sha;
  for (const auto& f : broken_.manifest.files) {
    if (f.path == "circuit.json") member_sha = f.sha256;
  }
  EXPECT_FALSE(blobs_->Has(member_sha));  // quarantined by the first read
  bool quarantined = false;
  for (const auto& f : std::filesystem::directory_iterator(dir_.file("artifacts/corrupt"))) {
    quarantined |= f.path().filename().string().rfind(member_sha, 0) == 0;
  }
  EXPECT_TRUE(quarantined);
  auto diff = cli::HttpGetJson(server_->http_address(), "/api/v1/circuits/" + e + "/broken/diff/" + e + "/before", 5000);
  EXPECT_EQ(diff.status().code(), StatusCode::kFailedPrecondition) << diff.status().ToString();
  EXPECT_NE(diff.status().message().find(member_sha), std::string::npos) << diff.status().ToString();
  EXPECT_NE(diff.status().message().find("HTTP 409"), std::string::npos) << diff.status().ToString();
}

}  // namespace
}  // namespace fc::coord

// The tracking tables on a real migrated SQLite file: edge scores round-trip bit-exactly,
// mismatched sizes and missing rows are clear errors, checkpoint upserts and lineage walk.
#include "coordinator/tracking/tracking_store.h"

#include <gtest/gtest.h>

#include "common/circuit/selection.h"
#include "coordinator/store/migrations.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord::tracking {
namespace {

using fc::coord::testing::TempDir;

class TrackingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = store::Connection::Open(dir_.file("db"), false);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conn_ = std::move(*c);
    ASSERT_TRUE(store::Migrate(*conn_).ok());
  }
  Status Write(const TrackingWrites& w) {
    FC_RETURN_IF_ERROR(conn_->Exec("BEGIN"));
    Status s = ApplyTrackingWrites(*conn_, w);
    FC_RETURN_IF_ERROR(conn_->Exec(s.ok() ? "COMMIT" : "ROLLBACK"));
    return s;
  }
  TempDir dir_;
  std::unique_ptr<store::Connection> conn_;
};

circuit::Circuit SmallCircuit(float seed) {
  circuit::GraphConfig cfg{2, 2, false};
  circuit::GraphLayout g(cfg);
  circuit::EdgeScores sc(cfg);
  for (int b = 0; b < g.n_backward(); ++b) {
    for (int f = 0; f < g.Prev(b); ++f) sc.at(f, b) = seed * static_cast<float>((f * 7 + b * 3) % 11 - 5);
  }
  auto c = circuit::MakeCircuit(std::move(sc));
  EXPECT_TRUE(c.ok());
  auto sel = circuit::Selection::Parse("top:6,noprune");
  EXPECT_TRUE(circuit::Select(g, *sel, &*c).ok());
  return *c;
}

TEST_F(TrackingStoreTest, EdgeScoresRoundTripExactly) {
  TrackingWrites w;
  w.circuits.push_back({"e/a", "e", "e/a", -1, "", 3, 6, R"({"edges":6})", 1});
  ASSERT_TRUE(Write(w).ok());
  circuit::Circuit c = SmallCircuit(0.25f);
  ASSERT_TRUE(PutCircuitScores(*conn_, "e/a", c).ok());
  auto back = GetCircuitScores(*conn_, "e/a");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->scores.data, c.scores.data);
  EXPECT_EQ(back->edge_in, c.edge_in);
  EXPECT_EQ(back->node_in, c.node_in);
  EXPECT_EQ(back->CountEdges(), 6);
  auto row = GetCircuit(*conn_, "e/a");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->n_edges, 6);
}

TEST_F(TrackingStoreTest, MissingAndMalformedScoresAreClearErrors) {
  auto none = GetCircuitScores(*conn_, "nope");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("nope"), std::string::npos);
  circuit::Circuit c = SmallCircuit(1.f);
  c.edge_in.pop_back();
  Status s = PutCircuitScores(*conn_, "x", c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("edge_in"), std::string::npos);
  // Scores of a circuit that has no summary row violate the foreign key.
  EXPECT_FALSE(PutCircuitScores(*conn_, "unknown", SmallCircuit(1.f)).ok());
}

TEST_F(TrackingStoreTest, CheckpointUpsertAndLineageFollowParents) {
  TrackingWrites w;
  // jobs rows are not needed for the walk, but the FK is: disable it for this table test.
  ASSERT_TRUE(conn_->Exec("PRAGMA foreign_keys=OFF").ok());
  w.checkpoints.push_back({"e/ft", "checkpoint-10", "e", 10, "base", "/p/10", "lora", 0.5, 0.25, 1, 1});
  w.checkpoints.push_back({"e/ft", "checkpoint-20", "e", 20, "checkpoint-10", "/p/20", "lora", 0.4, 0.5, 1, 2});
  w.checkpoints.push_back({"e/ft", "checkpoint-30", "e", 30, "checkpoint-20", "/p/30", "lora", 0.3, 0.75, 1, 3});
  ASSERT_TRUE(Write(w).ok());
  // A resumed attempt re-reports checkpoint-20 from its own folder: one row, updated.
  TrackingWrites again;
  again.checkpoints.push_back({"e/ft", "checkpoint-20", "e", 20, "checkpoint-10", "/q/20", "lora", 0.4, 0.5, 2, 4});
  ASSERT_TRUE(Write(again).ok());
  auto all = ListCheckpoints(*conn_, "e");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].path, "/q/20");
  EXPECT_EQ((*all)[1].attempt, 2);
  auto chain = Lineage(*conn_, "e/ft/checkpoint-30");
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[2].name, "checkpoint-10");
  EXPECT_EQ(Lineage(*conn_, "e/ft/checkpoint-99").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Lineage(*conn_, "nojob").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::coord::tracking

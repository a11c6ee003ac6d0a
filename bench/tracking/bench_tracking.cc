// fc-bench-tracking [--dir DIR] [--rounds N]: stores the edge scores of Pythia-1.4b-sized
// circuits (24 layers x 16 heads, parallel attention/MLP: 231,493 edges) in a fresh coordinator
// store (all migrations, WAL, synchronous=FULL) and times, per round (median printed):
//   put   PutCircuitScores of one circuit, committed (its own transaction);
//   get   GetCircuitScores of one circuit;
//   diff  two reads + Collapse + DiffCircuits (what /api/v1/circuits/{a}/diff/{b} does);
//   read_plain / read_blob  ReadOutputFile of the circuit's circuit.json from a plain folder vs
//         from a blob tree in a BlobStore (manifest + member, both re-hashed), side by side in
//         the same round, and the parse of those bytes (ParseCircuitJson) for scale: what the
//         ingester and the report pay per circuit output.
// Scores are random normal; each circuit keeps its top 5% by |score|, the second circuit's
// scores are perturbed so the two differ. Prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/circuit/collapsed.h"
#include "common/circuit/diff.h"
#include "common/circuit/json_format.h"
#include "common/circuit/selection.h"
#include "coordinator/artifacts/artifact_reader.h"
#include "coordinator/artifacts/blob_store.h"
#include "coordinator/store/migrations.h"
#include "coordinator/tracking/rows.h"
#include "coordinator/tracking/tracking_store.h"
#include "tests/coordinator/artifacts/store_tree.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
int Fail(const fc::Status& s) {
  std::fprintf(stderr, "fc-bench-tracking: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace fc;
  std::string dir = (fs::temp_directory_path() / "fc-bench-tracking").string();
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto conn = coord::store::Connection::Open(dir + "/bench.db", false);
  if (!conn.ok()) return Fail(conn.status());
  if (Status s = coord::store::Migrate(**conn); !s.ok()) return Fail(s);

  circuit::GraphConfig cfg{24, 16, true};
  circuit::GraphLayout g(cfg);
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto make = [&](const circuit::EdgeScores* base) -> StatusOr<circuit::Circuit> {
    circuit::EdgeScores sc(cfg);
    for (int b = 0; b < g.n_backward(); ++b) {
      for (int f = 0; f < g.Prev(b); ++f) {
        sc.at(f, b) = base ? base->at(f, b) + 0.3f * normal(rng) : normal(rng);
      }
    }
    FC_ASSIGN_OR_RETURN(circuit::Circuit c, circuit::MakeCircuit(std::move(sc)));
    FC_ASSIGN_OR_RETURN(circuit::Selection sel, circuit::Selection::Parse("top:5%"));
    FC_RETURN_IF_ERROR(circuit::Select(g, sel, &c));
    return c;
  };
  auto a = make(nullptr);
  if (!a.ok()) return Fail(a.status());
  auto b = make(&a->scores);
  if (!b.ok()) return Fail(b.status());

  std::vector<double> put_ms, get_ms, diff_ms;
  int64_t edges_added = 0;
  for (int r = 0; r < rounds; ++r) {
    std::string ida = "bench/a" + std::to_string(r), idb = "bench/b" + std::to_string(r);
    coord::tracking::TrackingWrites w;
    w.circuits.push_back({ida, "bench", ida, r, "", a->CountNodes(), a->CountEdges(), "{}", 0});
    w.circuits.push_back({idb, "bench", idb, r, "", b->CountNodes(), b->CountEdges(), "{}", 0});
    if (Status s = (*conn)->Exec("BEGIN"); !s.ok()) return Fail(s);
    if (Status s = coord::tracking::ApplyTrackingWrites(**conn, w); !s.ok()) return Fail(s);
    if (Status s = (*conn)->Exec("COMMIT"); !s.ok()) return Fail(s);
    auto t0 = Clock::now();
    if (Status s = coord::tracking::PutCircuitScores(**conn, ida, *a); !s.ok()) return Fail(s);
    auto t1 = Clock::now();
    if (Status s = coord::tracking::PutCircuitScores(**conn, idb, *b); !s.ok()) return Fail(s);
    put_ms.push_back(Ms(t0, t1));
    auto t2 = Clock::now();
    auto ga = coord::tracking::GetCircuitScores(**conn, ida);
    auto t3 = Clock::now();
    if (!ga.ok()) return Fail(ga.status());
    get_ms.push_back(Ms(t2, t3));
    if (ga->scores.data != a->scores.data || ga->edge_in != a->edge_in) {
      std::fprintf(stderr, "fc-bench-tracking: read-back differs from what was stored\n");
      return 1;
    }
    auto t4 = Clock::now();
    auto ra = coord::tracking::GetCircuitScores(**conn, ida);
    auto rb = coord::tracking::GetCircuitScores(**conn, idb);
    if (!ra.ok() || !rb.ok()) return Fail(ra.ok() ? rb.status() : ra.status());
    auto ca = circuit::Collapse(g, *ra);
    auto cb = circuit::Collapse(g, *rb);
    if (!ca.ok() || !cb.ok()) return Fail(ca.ok() ? cb.status() : ca.status());
    auto d = circuit::DiffCircuits(*ca, *cb);
    auto t5 = Clock::now();
    if (!d.ok()) return Fail(d.status());
    diff_ms.push_back(Ms(t4, t5));
    edges_added = static_cast<int64_t>(d->edges_added.size());
  }
  // One discover output folder, as a plain path and as a blob tree (what an agent uploads).
  const std::string out_dir = dir + "/discover-out";
  fs::create_directories(out_dir);
  if (Status s = circuit::WriteCircuitJson(*a, circuit::JsonDialect::kEapOld, out_dir + "/circuit.json"); !s.ok()) {
    return Fail(s);
  }
  auto blobs = artifacts::BlobStore::Open(dir + "/artifacts");
  if (!blobs.ok()) return Fail(blobs.status());
  auto tree = artifacts::testing::StoreTree(**blobs, out_dir);
  if (!tree.ok()) return Fail(tree.status());
  std::vector<double> plain_ms, blob_ms, parse_ms;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    auto plain = artifacts::ReadOutputFile(nullptr, out_dir, {"circuit.json"});
    auto t1 = Clock::now();
    auto blob = artifacts::ReadOutputFile(blobs->get(), tree->uri, {"circuit.json"});
    auto t2 = Clock::now();
    if (!plain.ok() || !blob.ok()) return Fail(plain.ok() ? blob.status() : plain.status());
    if (plain->bytes != blob->bytes) {
      std::fprintf(stderr, "fc-bench-tracking: the blob tree's circuit.json differs from the folder's\n");
      return 1;
    }
    auto parsed = circuit::ParseCircuitJson(blob->bytes, blob->source);
    auto t3 = Clock::now();
    if (!parsed.ok()) return Fail(parsed.status());
    plain_ms.push_back(Ms(t0, t1));
    blob_ms.push_back(Ms(t1, t2));
    parse_ms.push_back(Ms(t2, t3));
  }
  const double plain = Median(plain_ms), blob = Median(blob_ms);
  std::printf("{\"graph_edges\": %lld, \"circuit_edges\": %lld, \"rounds\": %d, \"put_ms\": %.2f, "
              "\"get_ms\": %.2f, \"diff_ms\": %.2f, \"collapsed_edges_added\": %lld, \"db_bytes\": %lld, "
              "\"circuit_json_bytes\": %lld, \"read_plain_ms\": %.2f, \"read_blob_ms\": %.2f, "
              "\"blob_over_plain\": %.2f, \"parse_ms\": %.2f}\n",
              static_cast<long long>(g.n_edges()), static_cast<long long>(a->CountEdges()), rounds,
              Median(put_ms), Median(get_ms), Median(diff_ms), static_cast<long long>(edges_added),
              static_cast<long long>(fs::file_size(dir + "/bench.db")),
              static_cast<long long>(fs::file_size(out_dir + "/circuit.json")), plain, blob,
              plain > 0 ? blob / plain : 0.0, Median(parse_ms));
  fs::remove_all(dir);
  return 0;
}

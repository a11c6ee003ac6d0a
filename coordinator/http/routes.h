// The read-only HTTP/JSON API for dashboards, as a pure request -> response function:
//   GET /healthz                       "ok" (200) or the store failure (503)
//   GET /metrics                       Prometheus text
//   GET /api/v1/experiments            ?name_prefix=&state=EXP_RUNNING&page_size=&page_token=
//   GET /api/v1/experiments/{id}       experiment, job counts and its jobs
//   GET /api/v1/jobs                   ?experiment=&state=READY&kind=&worker=&page_size=&page_token=
//   GET /api/v1/jobs/{id...}           one job (ids contain '/')
//   GET /api/v1/workers                ?include_dead=1
//   GET /api/v1/experiments/{id}/tracking, /api/v1/circuits/{id}[/diff/{id}],
//       /api/v1/lineage/{job id}/{checkpoint}   stage-wise tracking (docs/tracking.md)
//   GET /api/v1/circuits/{id}/export?format=eapig|collapsed|dot   the circuit as a document
//       (JSON or text/vnd.graphviz, at most tracking::kMaxExportBytes)
// Runs on the HTTP thread with that thread's own read-only connection; workers come from the
// scheduler through `workers` (which hops to the io thread). The tracking routes may read
// circuit files and `blob:` outputs from `blobs` (the artifact store, may be null) on the HTTP
// thread, which is the HTTP server's own (never the io thread or gRPC's).
// Errors are {"error", "code"} JSON: 400 INVALID_ARGUMENT, 404 NOT_FOUND, 409
// FAILED_PRECONDITION, 413 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, else 500 (DATA_LOSS, ...).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "coordinator/artifacts/blob_store.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/scheduler/scheduler.h"
#include "coordinator/store/db.h"

namespace fc::coord::http {

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class Routes {
 public:
  using WorkersFn = std::function<StatusOr<std::vector<WorkerView>>(bool include_dead)>;
  using HealthFn = std::function<Status()>;
  Routes(store::Connection* conn, WorkersFn workers, HealthFn health, metrics::Registry* metrics,
         const artifacts::BlobStore* blobs = nullptr)
      : conn_(conn), workers_(std::move(workers)), health_(std::move(health)), metrics_(metrics), blobs_(blobs) {}

  Response Handle(const std::string& method, const std::string& target);

 private:
  Response Experiments(const std::map<std::string, std::string>& q);
  Response Experiment(const std::string& id);
  Response Jobs(const std::map<std::string, std::string>& q);
  Response Job(const std::string& id);
  Response Workers(const std::map<std::string, std::string>& q);

  store::Connection* conn_;
  WorkersFn workers_;
  HealthFn health_;
  metrics::Registry* metrics_;
  const artifacts::BlobStore* blobs_;
};

// "a%2Fb+c" -> "a/b c"
std::string UrlDecode(const std::string& s);

}  // namespace fc::coord::http

// fc-bench-dispatch: an in-process coordinator on a temporary (durable, synchronous=FULL)
// database, N simulated workers speaking the real gRPC protocol over loopback, and a DAG of
// `sleep 0` jobs with fan-out and fan-in split over several experiments. Reports:
//   * jobs/s completed (first submission -> last completion),
//   * dispatch latency p50/p99 (job READY -> its lease committed, measured in the scheduler),
//     under the saturating fan-out (includes queueing behind READY jobs) and in an idle-capacity
//     chain phase (each job READY only when its predecessor completed, workers parked),
//   * status-list latency p50/p99 (ListJobs page of 100 over gRPC, polled while it runs),
//   * failure detection: a worker takes a job and goes silent; time until another worker
//     holds it, against the lease TTL.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/server.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/workers.grpc.pb.h"

namespace {

namespace pb = fc::v1;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// root -> `width` parallel jobs -> sink, per experiment.
std::string FanSpec(int exp, int jobs) {
  const int width = std::max(1, jobs - 2);
  std::string s = fmt::format("experiment: bench{}\njobs:\n  root: {{kind: sleep, seconds: 0}}\n", exp);
  std::string after;
  for (int i = 0; i < width; ++i) {
    s += fmt::format("  m{}: {{kind: sleep, seconds: 0, after: [root]}}\n", i);
    after += fmt::format("{}m{}", i ? ", " : "", i);
  }
  s += fmt::format("  sink: {{kind: sleep, seconds: 0, after: [{}]}}\n", after);
  return s;
}

std::unique_ptr<grpc::ClientContext> Ctx(int ms = 30000) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  int chain = 200;
  int workers = 100, jobs = 10000, experiments = 10, slots = 1, channels = 4, ttl_ms = 2000, trials = 3;
  std::string db_dir, out_path;
  CLI::App app{"End-to-end dispatch benchmark of fc-coordinator"};
  app.add_option("--workers", workers, "simulated workers")->check(CLI::PositiveNumber);
  app.add_option("--jobs", jobs, "total sleep-0 jobs")->check(CLI::PositiveNumber);
  app.add_option("--experiments", experiments, "experiments the jobs are split over")->check(CLI::PositiveNumber);
  app.add_option("--slots", slots, "jobs a worker asks for per AcquireJob")->check(CLI::PositiveNumber);
  app.add_option("--channels", channels, "gRPC channels the workers share")->check(CLI::PositiveNumber);
  app.add_option("--lease-ttl-ms", ttl_ms, "lease TTL (failure detection phase)")->check(CLI::PositiveNumber);
  app.add_option("--trials", trials, "failure-detection trials")->check(CLI::NonNegativeNumber);
  app.add_option("--chain", chain, "jobs in the idle-capacity chain phase (0 = skip)")->check(CLI::NonNegativeNumber);
  app.add_option("--db-dir", db_dir, "directory for the database (default: a new temp dir)");
  app.add_option("--out", out_path, "also write the JSON result here");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  bool own_dir = db_dir.empty();
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fc-bench-dispatch-XXXXXX").string();
    db_dir = mkdtemp(tmpl.data());
  }
  fc::coord::Config cfg;
  cfg.db_path = db_dir + "/coordinator.db";
  cfg.artifacts_dir = db_dir + "/artifacts";
  cfg.lease_ttl_ms = ttl_ms;
  cfg.heartbeat_ms = std::max(1, ttl_ms / 4);
  cfg.tick_ms = 10;
  auto server_or = fc::coord::Server::Start(cfg);
  if (!server_or.ok()) {
    fmt::print(stderr, "cannot start coordinator: {}\n", server_or.status().ToString());
    return 1;
  }
  auto& server = *server_or;
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct channels, not one shared subchannel
    chans.push_back(grpc::CreateCustomChannel(server->grpc_address(), grpc::InsecureChannelCredentials(), args));
  }

  // Workers register first, then long-poll.
  std::vector<std::string> ids(workers);
  for (int w = 0; w < workers; ++w) {
    auto stub = pb::WorkerService::NewStub(chans[w % channels]);
    pb::RegisterWorkerRequest req;
    req.set_name(fmt::format("bench-w{}", w));
    req.set_slots(slots);
    req.add_kinds("sleep");
    pb::RegisterWorkerReply rep;
    grpc::Status s = stub->RegisterWorker(Ctx().get(), req, &rep);
    if (!s.ok()) {
      fmt::print(stderr, "register: {}\n", s.error_message());
      return 1;
    }
    ids[w] = rep.worker_id();
  }
  server->RunOnIo([](fc::coord::Scheduler& s) { s.ClearDispatchLatencies(); });

  std::atomic<int64_t> completed{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> rpc_errors{0};
  const int64_t total = static_cast<int64_t>(jobs);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = pb::WorkerService::NewStub(chans[w % channels]);
      while (!stop && completed < total) {
        pb::AcquireJobRequest req;
        req.set_worker_id(ids[w]);
        req.set_free_slots(slots);
        req.set_wait_ms(200);
        pb::AcquireJobReply rep;
        if (!stub->AcquireJob(Ctx().get(), req, &rep).ok()) {
          rpc_errors++;
          continue;
        }
        for (const auto& j : rep.jobs()) {
          pb::ReportCompleteRequest c;
          *c.mutable_fence() = j.fence();
          pb::ReportCompleteReply cr;
          if (stub->ReportComplete(Ctx().get(), c, &cr).ok()) {
            completed++;
          } else {
            rpc_errors++;
          }
        }
      }
    });
  }

  // Status poller: ListJobs pages while the run goes on.
  std::vector<double> status_ms;
  std::vector<std::string> exp_ids;
  std::atomic<bool> submitted{false};
  std::thread poller([&] {
    auto stub = pb::ExperimentService::NewStub(chans[0]);
    size_t k = 0;
    while (!stop && completed < total) {
      if (!submitted) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      pb::ListJobsRequest req;
      req.set_experiment_id(exp_ids[k++ % exp_ids.size()]);
      req.set_page_size(100);
      pb::ListJobsReply rep;
      auto t0 = Clock::now();
      grpc::Status s = stub->ListJobs(Ctx().get(), req, &rep);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (s.ok()) status_ms.push_back(ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  auto t_start = Clock::now();
  {
    auto stub = pb::ExperimentService::NewStub(chans[0]);
    const int per = jobs / experiments;
    for (int e = 0; e < experiments; ++e) {
      int n = e == experiments - 1 ? jobs - per * (experiments - 1) : per;
      pb::SubmitExperimentRequest req;
      req.set_spec(FanSpec(e, n));
      pb::SubmitExperimentReply rep;
      grpc::Status s = stub->SubmitExperiment(Ctx(60000).get(), req, &rep);
      if (!s.ok()) {
        fmt::print(stderr, "submit: {}\n", s.error_message());
        return 1;
      }
      exp_ids.push_back(rep.experiment().id());
    }
  }
  auto t_submitted = Clock::now();
  submitted = true;
  while (completed < total) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (Clock::now() - t_start > std::chrono::minutes(5)) {
      fmt::print(stderr, "timeout: {} of {} completed\n", completed.load(), total);
      break;
    }
  }
  auto t_end = Clock::now();
  stop = true;
  for (auto& t : threads) t.join();
  poller.join();
  const double secs = std::chrono::duration<double>(t_end - t_start).count();
  const double run_secs = std::chrono::duration<double>(t_end - t_submitted).count();
  std::vector<double> dispatch_us = server->RunOnIo([](fc::coord::Scheduler& s) { return s.dispatch_latencies_us(); });
  auto counts = server->RunOnIo([](fc::coord::Scheduler& s) { return s.JobCountsByState(); });

  // Idle-capacity dispatch: a chain of jobs, each READY only when its predecessor completes,
  // with workers parked in long polls. READY -> lease is then pure scheduling + commit time,
  // not time spent queued behind thousands of READY jobs.
  std::vector<double> chain_us;
  if (chain > 0) {
    server->RunOnIo([](fc::coord::Scheduler& s) { s.ClearDispatchLatencies(); });
    std::string spec = "experiment: chain\njobs:\n  c0: {kind: sleep, seconds: 0}\n";
    for (int i = 1; i < chain; ++i) spec += fmt::format("  c{}: {{kind: sleep, seconds: 0, after: [c{}]}}\n", i, i - 1);
    std::atomic<int64_t> chain_done{0};
    std::vector<std::thread> cw;
    for (int w = 0; w < std::min(workers, 8); ++w) {
      cw.emplace_back([&, w] {
        auto stub = pb::WorkerService::NewStub(chans[w % channels]);
        while (chain_done < chain) {
          pb::AcquireJobRequest req;
          req.set_worker_id(ids[w]);
          req.set_free_slots(1);
          req.set_wait_ms(200);
          pb::AcquireJobReply rep;
          if (!stub->AcquireJob(Ctx().get(), req, &rep).ok()) continue;
          for (const auto& j : rep.jobs()) {
            pb::ReportCompleteRequest c;
            *c.mutable_fence() = j.fence();
            pb::ReportCompleteReply cr;
            if (stub->ReportComplete(Ctx().get(), c, &cr).ok()) chain_done++;
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them park
    auto stub = pb::ExperimentService::NewStub(chans[0]);
    pb::SubmitExperimentRequest req;
    req.set_spec(spec);
    pb::SubmitExperimentReply rep;
    stub->SubmitExperiment(Ctx(60000).get(), req, &rep);
    for (auto& t : cw) t.join();
    chain_us = server->RunOnIo([](fc::coord::Scheduler& s) { return s.dispatch_latencies_us(); });
  }

  // Failure detection: worker A takes a job and goes silent; worker B long-polls.
  std::vector<double> detect_ms;
  for (int t = 0; t < trials; ++t) {
    auto wstub = pb::WorkerService::NewStub(chans[0]);
    auto estub = pb::ExperimentService::NewStub(chans[0]);
    std::string a, b;
    for (auto* id : {&a, &b}) {
      pb::RegisterWorkerRequest req;
      req.set_name(fmt::format("fd-{}-{}", t, id == &a ? "silent" : "rescuer"));
      req.set_slots(1);
      pb::RegisterWorkerReply rep;
      wstub->RegisterWorker(Ctx().get(), req, &rep);
      *id = rep.worker_id();
    }
    pb::SubmitExperimentRequest sreq;
    sreq.set_spec(fmt::format("experiment: fd{}\njobs:\n  victim: {{kind: sleep, seconds: 60}}\n", t));
    pb::SubmitExperimentReply srep;
    estub->SubmitExperiment(Ctx().get(), sreq, &srep);
    pb::AcquireJobRequest areq;
    areq.set_worker_id(a);
    areq.set_free_slots(1);
    pb::AcquireJobReply arep;
    wstub->AcquireJob(Ctx().get(), areq, &arep);
    if (arep.jobs_size() != 1) {
      fmt::print(stderr, "failure detection: silent worker got no job\n");
      break;
    }
    auto silent_at = Clock::now();  // A's last contact
    bool rescued = false;
    while (!rescued && Clock::now() - silent_at < std::chrono::milliseconds(ttl_ms * 5)) {
      pb::AcquireJobRequest breq;
      breq.set_worker_id(b);
      breq.set_free_slots(1);
      breq.set_wait_ms(1000);
      pb::AcquireJobReply brep;
      wstub->AcquireJob(Ctx().get(), breq, &brep);
      for (const auto& j : brep.jobs()) {
        if (j.job().id() == arep.jobs(0).job().id()) {
          detect_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - silent_at).count());
          rescued = true;
          pb::ReportCompleteRequest c;
          *c.mutable_fence() = j.fence();
          pb::ReportCompleteReply cr;
          wstub->ReportComplete(Ctx().get(), c, &cr);
        }
      }
    }
  }

  nlohmann::json result = {
      {"workers", workers},
      {"jobs", jobs},
      {"experiments", experiments},
      {"slots_per_acquire", slots},
      {"completed", completed.load()},
      {"succeeded_in_store_view", counts["SUCCEEDED"]},
      {"rpc_errors", rpc_errors.load()},
      {"seconds_total", secs},
      {"seconds_submit", std::chrono::duration<double>(t_submitted - t_start).count()},
      {"jobs_per_second", static_cast<double>(completed.load()) / secs},
      {"jobs_per_second_after_submit", static_cast<double>(completed.load()) / run_secs},
      {"dispatch_ms_p50", Percentile(dispatch_us, 50) / 1000},
      {"dispatch_ms_p99", Percentile(dispatch_us, 99) / 1000},
      {"dispatch_samples", dispatch_us.size()},
      {"idle_dispatch_ms_p50", Percentile(chain_us, 50) / 1000},
      {"idle_dispatch_ms_p99", Percentile(chain_us, 99) / 1000},
      {"idle_dispatch_samples", chain_us.size()},
      {"status_list_ms_p50", Percentile(status_ms, 50)},
      {"status_list_ms_p99", Percentile(status_ms, 99)},
      {"status_list_samples", status_ms.size()},
      {"lease_ttl_ms", ttl_ms},
      {"failure_detection_ms", detect_ms},
  };
  fmt::print("fc-bench-dispatch: {} jobs, {} workers, {} experiments (root -> fan-out -> sink)\n", jobs, workers, experiments);
  fmt::print("  completed            {} in {:.2f} s  ({:.0f} jobs/s; {:.0f} jobs/s after submission)\n",
             completed.load(), secs, result["jobs_per_second"].get<double>(),
             result["jobs_per_second_after_submit"].get<double>());
  fmt::print("  dispatch latency     p50 {:.2f} ms  p99 {:.2f} ms  ({} samples)\n",
             result["dispatch_ms_p50"].get<double>(), result["dispatch_ms_p99"].get<double>(), dispatch_us.size());
  fmt::print("  idle dispatch        p50 {:.2f} ms  p99 {:.2f} ms  ({}-job chain, workers parked)\n",
             result["idle_dispatch_ms_p50"].get<double>(), result["idle_dispatch_ms_p99"].get<double>(), chain_us.size());
  fmt::print("  status list (100)    p50 {:.2f} ms  p99 {:.2f} ms  ({} samples)\n",
             result["status_list_ms_p50"].get<double>(), result["status_list_ms_p99"].get<double>(), status_ms.size());
  for (double d : detect_ms) fmt::print("  failure detection    {:.0f} ms (lease TTL {} ms)\n", d, ttl_ms);
  fmt::print("{}\n", result.dump());
  if (!out_path.empty()) std::ofstream(out_path) << result.dump(2) << "\n";
  server->Shutdown();
  server.reset();
  if (own_dir) std::filesystem::remove_all(db_dir);
  return completed.load() == total ? 0 : 3;
}

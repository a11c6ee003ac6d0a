// The HTTP/JSON API and /metrics fetched over a real loopback socket from an in-process
// coordinator.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/server.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/workers.grpc.pb.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

namespace pb = fc::v1;
namespace bhttp = boost::beast::http;
using ::testing::HasSubstr;
using fc::coord::testing::TempDir;
using nlohmann::json;

struct Got {
  int status = 0;
  std::string content_type, body;
};

Got Fetch(int port, const std::string& target, bhttp::verb verb = bhttp::verb::get) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  bhttp::request<bhttp::string_body> req(verb, target, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(sock, req);
  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(sock, buf, res);
  return {static_cast<int>(res.result_int()), std::string(res[bhttp::field::content_type]), res.body()};
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config c;
    c.db_path = dir_.file("db");
    c.artifacts_dir = dir_.file("a");
    auto s = Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    auto ch = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());
    exp_ = pb::ExperimentService::NewStub(ch);
    work_ = pb::WorkerService::NewStub(ch);
    pb::SubmitExperimentRequest req;
    req.set_spec("experiment: web\njobs:\n  a: {kind: sleep}\n  b: {kind: fail, after: [a]}\n  c: {kind: sleep}\n");
    pb::SubmitExperimentReply reply;
    grpc::ClientContext ctx;
    ASSERT_TRUE(exp_->SubmitExperiment(&ctx, req, &reply).ok());
    exp_id_ = reply.experiment().id();
    pb::RegisterWorkerRequest rreq;
    rreq.set_name("web-worker");
    rreq.set_slots(1);
    pb::RegisterWorkerReply rrep;
    grpc::ClientContext rctx;
    ASSERT_TRUE(work_->RegisterWorker(&rctx, rreq, &rrep).ok());
    pb::AcquireJobRequest areq;
    areq.set_worker_id(rrep.worker_id());
    areq.set_free_slots(1);
    pb::AcquireJobReply arep;
    grpc::ClientContext actx;
    ASSERT_TRUE(work_->AcquireJob(&actx, areq, &arep).ok());
    ASSERT_EQ(arep.jobs_size(), 1);
  }

  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<pb::ExperimentService::Stub> exp_;
  std::unique_ptr<pb::WorkerService::Stub> work_;
  std::string exp_id_;
};

TEST_F(HttpTest, HealthzAndMetrics) {
  Got h = Fetch(server_->http_port(), "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  Got m = Fetch(server_->http_port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(m.body, HasSubstr("fc_scheduler_jobs{state=\"LEASED\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("fc_scheduler_jobs{state=\"PENDING\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("fc_scheduler_queue_depth 1"));
  EXPECT_THAT(m.body, HasSubstr("fc_lease_expiries_total 0"));
  EXPECT_THAT(m.body, HasSubstr("fc_rpc_requests_total{code=\"OK\",method=\"SubmitExperiment\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("fc_rpc_latency_seconds_bucket{method=\"AcquireJob\",le=\"+Inf\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("fc_store_commit_seconds_count"));
  EXPECT_THAT(m.body, HasSubstr("fc_store_group_size_bucket"));
  EXPECT_THAT(m.body, HasSubstr("fc_dispatch_latency_seconds_count 1"));
}

TEST_F(HttpTest, ExperimentsListAndDetail) {
  Got l = Fetch(server_->http_port(), "/api/v1/experiments");
  ASSERT_EQ(l.status, 200);
  json j = json::parse(l.body);
  ASSERT_EQ(j["experiments"].size(), 1u);
  EXPECT_EQ(j["experiments"][0]["id"], exp_id_);
  EXPECT_EQ(j["experiments"][0]["state"], "EXP_RUNNING");
  EXPECT_EQ(j["experiments"][0]["jobs_by_state"]["LEASED"], 1);
  Got d = Fetch(server_->http_port(), "/api/v1/experiments/" + exp_id_);
  ASSERT_EQ(d.status, 200);
  json dj = json::parse(d.body);
  EXPECT_EQ(dj["jobs"].size(), 3u);
  EXPECT_THAT(dj["spec_yaml"].get<std::string>(), HasSubstr("experiment: web"));
  EXPECT_EQ(Fetch(server_->http_port(), "/api/v1/experiments/nope").status, 404);
  EXPECT_EQ(Fetch(server_->http_port(), "/api/v1/experiments?state=EXP_SUCCEEDED").body,
            R"({"experiments":[],"next_page_token":""})");
  EXPECT_EQ(Fetch(server_->http_port(), "/api/v1/experiments?state=bogus").status, 400);
}

TEST_F(HttpTest, JobsFilterAndPage) {
  json all = json::parse(Fetch(server_->http_port(), "/api/v1/jobs?experiment=" + exp_id_).body);
  EXPECT_EQ(all["jobs"].size(), 3u);
  json leased = json::parse(Fetch(server_->http_port(), "/api/v1/jobs?state=LEASED").body);
  ASSERT_EQ(leased["jobs"].size(), 1u);
  EXPECT_EQ(leased["jobs"][0]["name"], "a");
  EXPECT_EQ(leased["jobs"][0]["params"]["seconds"], 1.0);
  json fails = json::parse(Fetch(server_->http_port(), "/api/v1/jobs?kind=fail").body);
  ASSERT_EQ(fails["jobs"].size(), 1u);
  EXPECT_EQ(fails["jobs"][0]["depends_on"], json::array({"a"}));
  json p1 = json::parse(Fetch(server_->http_port(), "/api/v1/jobs?page_size=2").body);
  ASSERT_EQ(p1["jobs"].size(), 2u);
  std::string token = p1["next_page_token"];
  ASSERT_FALSE(token.empty());
  json p2 = json::parse(Fetch(server_->http_port(), "/api/v1/jobs?page_size=2&page_token=" + token).body);
  EXPECT_EQ(p2["jobs"].size(), 1u);
  EXPECT_EQ(p2["next_page_token"], "");
  Got one = Fetch(server_->http_port(), "/api/v1/jobs/" + exp_id_ + "/c");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["state"], "READY");
  EXPECT_EQ(Fetch(server_->http_port(), "/api/v1/jobs?state=SLEEPY").status, 400);
}

TEST_F(HttpTest, WorkersAndReadOnlyAndUnknownRoutes) {
  json w = json::parse(Fetch(server_->http_port(), "/api/v1/workers").body);
  ASSERT_EQ(w["workers"].size(), 1u);
  EXPECT_EQ(w["workers"][0]["name"], "web-worker");
  EXPECT_EQ(w["workers"][0]["alive"], true);
  EXPECT_EQ(w["workers"][0]["job_ids"].size(), 1u);
  EXPECT_EQ(Fetch(server_->http_port(), "/api/v1/jobs", bhttp::verb::post).status, 405);
  EXPECT_EQ(Fetch(server_->http_port(), "/nowhere").status, 404);
}

}  // namespace
}  // namespace fc::coord

#include "tests/coordinator/coordinator_fixture.h"

namespace fc::coord::testing {

void CoordinatorFixture::SetUp() {
  Config c;
  c.db_path = dir_.file("db");
  c.artifacts_dir = dir_.file("artifacts");
  Tune(&c);
  auto s = Server::Start(c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
  auto b = artifacts::BlobStore::Open(c.artifacts_dir);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  blobs_ = std::move(*b);
  channel_ = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());
  exp_ = fc::v1::ExperimentService::NewStub(channel_);
  worker_ = std::make_unique<ScriptedWorker>(channel_);
}

}  // namespace fc::coord::testing

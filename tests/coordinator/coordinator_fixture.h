// A GoogleTest fixture around an in-process coordinator, as the tests that drive the real
// services over loopback need it: a Server (gRPC + HTTP on free ports) whose database (db) and
// artifact store (artifacts/) live in a temporary directory, the worker's side of that store
// (shared-FS mode opens exactly this directory), an ExperimentService stub and one
// ScriptedWorker (not yet registered) on the same channel.
//
// Derived fixtures adjust the config in Tune() (lease TTL, heartbeat, back-off) and extend
// SetUp with ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp()) so a server that fails to
// start stops the test before its body runs.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "coordinator/artifacts/blob_store.h"
#include "coordinator/server.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "tests/coordinator/scripted_worker.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord::testing {

class CoordinatorFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  // Called with db_path and artifacts_dir already set, before the server starts.
  virtual void Tune(Config* config) {}

  TempDir dir_;  // first member: removed only after the server below has stopped
  std::unique_ptr<Server> server_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fc::v1::ExperimentService::Stub> exp_;
  std::unique_ptr<ScriptedWorker> worker_;
};

}  // namespace fc::coord::testing

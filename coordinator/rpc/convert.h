// Conversions between the fc.v1 protobuf messages and the coordinator's plain records, and
// fc::Status -> grpc::Status (same code numbers, so a cast). Protobuf types stop here.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "coordinator/core/types.h"
#include "coordinator/scheduler/scheduler.h"
#include "fc/v1/common.pb.h"
#include "fc/v1/workers.pb.h"

namespace fc::coord::rpc {

grpc::Status ToGrpc(const Status& s);

Fence FromProto(const fc::v1::Fence& f);
void ToProto(const Fence& f, fc::v1::Fence* out);
Resources FromProto(const fc::v1::Resources& r);
void ToProto(const Resources& r, fc::v1::Resources* out);
Artifact FromProto(const fc::v1::Artifact& a);
void ToProto(const Artifact& a, fc::v1::Artifact* out);
void ToProto(const JobRow& j, fc::v1::Job* out);
void ToProto(const ExperimentRow& e, const std::map<std::string, int32_t>& counts,
             fc::v1::Experiment* out);
void ToProto(const EventRow& e, fc::v1::Event* out);
void ToProto(const WorkerView& w, fc::v1::Worker* out);
void ToProto(const Lease& l, fc::v1::LeasedJob* out);

}  // namespace fc::coord::rpc

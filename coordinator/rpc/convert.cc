#include "coordinator/rpc/convert.h"

namespace fc::coord::rpc {

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

Fence FromProto(const fc::v1::Fence& f) { return {f.job_id(), f.attempt(), f.lease_epoch()}; }

void ToProto(const Fence& f, fc::v1::Fence* out) {
  out->set_job_id(f.job_id);
  out->set_attempt(f.attempt);
  out->set_lease_epoch(f.lease_epoch);
}

Resources FromProto(const fc::v1::Resources& r) {
  Resources out;
  out.gpus = r.gpus();
  out.gpu_memory_mb = r.gpu_memory_mb();
  for (const auto& [k, v] : r.labels()) out.labels[k] = v;
  return out;
}

void ToProto(const Resources& r, fc::v1::Resources* out) {
  out->set_gpus(r.gpus);
  out->set_gpu_memory_mb(r.gpu_memory_mb);
  for (const auto& [k, v] : r.labels) (*out->mutable_labels())[k] = v;
}

Artifact FromProto(const fc::v1::Artifact& a) { return {a.name(), a.sha256(), a.kind(), a.uri(), a.size()}; }

void ToProto(const Artifact& a, fc::v1::Artifact* out) {
  out->set_name(a.name);
  out->set_sha256(a.sha256);
  out->set_size(a.size);
  out->set_kind(a.kind);
  out->set_uri(a.uri);
}

void ToProto(const JobRow& j, fc::v1::Job* out) {
  out->set_id(j.id);
  out->set_experiment_id(j.experiment_id);
  out->set_name(j.name);
  out->set_kind(j.kind);
  out->set_state(static_cast<fc::v1::JobState>(j.state));
  out->set_attempt(j.attempt);
  out->set_max_retries(j.max_retries);
  out->set_priority(j.priority);
  out->set_params_json(j.params_json);
  for (const auto& d : j.depends_on) out->add_depends_on(d);
  ToProto(j.resources, out->mutable_resources());
  out->set_worker_id(j.worker_id);
  out->set_error(j.error);
  out->set_permanent_failure(j.permanent_failure);
  out->set_cached(j.cached);
  out->set_progress(j.progress);
  out->set_progress_message(j.progress_message);
  for (const auto& a : j.outputs) ToProto(a, out->add_outputs());
  out->set_result_json(j.result_json);
  out->set_created_unix_ms(j.created_ms);
  out->set_started_unix_ms(j.started_ms);
  out->set_finished_unix_ms(j.finished_ms);
  out->set_not_before_unix_ms(j.not_before_ms);
}

void ToProto(const ExperimentRow& e, const std::map<std::string, int32_t>& counts,
             fc::v1::Experiment* out) {
  out->set_id(e.id);
  out->set_name(e.name);
  out->set_state(static_cast<fc::v1::ExperimentState>(e.state));
  out->set_idempotency_key(e.idempotency_key);
  out->set_spec_yaml(e.spec_yaml);
  out->set_created_unix_ms(e.created_ms);
  out->set_finished_unix_ms(e.finished_ms);
  for (const auto& [k, v] : counts) (*out->mutable_jobs_by_state())[k] = v;
}

void ToProto(const EventRow& e, fc::v1::Event* out) {
  out->set_seq(e.seq);
  out->set_unix_ms(e.unix_ms);
  out->set_experiment_id(e.experiment_id);
  out->set_job_id(e.job_id);
  out->set_type(e.type);
  out->set_job_state(static_cast<fc::v1::JobState>(e.job_state));
  out->set_message(e.message);
  out->set_progress(e.progress);
}

void ToProto(const WorkerView& w, fc::v1::Worker* out) {
  out->set_id(w.row.id);
  out->set_name(w.row.name);
  out->set_device(w.row.device);
  out->set_slots(w.row.slots);
  ToProto(w.row.resources, out->mutable_resources());
  out->set_draining(w.row.draining);
  out->set_cordoned(w.row.cordoned);
  out->set_alive(w.alive);
  out->set_last_heartbeat_unix_ms(w.last_heartbeat_unix_ms);
  for (const auto& j : w.job_ids) out->add_job_ids(j);
}

void ToProto(const Lease& l, fc::v1::LeasedJob* out) {
  ToProto(l.job, out->mutable_job());
  ToProto(l.fence, out->mutable_fence());
  out->set_lease_ttl_ms(l.lease_ttl_ms);
  for (const auto& [name, dep] : l.inputs) {
    fc::v1::DependencyOutputs& d = (*out->mutable_inputs())[name];
    for (const auto& a : dep.outputs) ToProto(a, d.add_outputs());
    d.set_result_json(dep.result_json);
  }
}

}  // namespace fc::coord::rpc

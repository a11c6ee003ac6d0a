#include "coordinator/core/types.h"

#include <algorithm>
#include <cctype>

namespace fc::coord {

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kPending: return "PENDING";
    case JobState::kReady: return "READY";
    case JobState::kLeased: return "LEASED";
    case JobState::kRunning: return "RUNNING";
    case JobState::kSucceeded: return "SUCCEEDED";
    case JobState::kFailed: return "FAILED";
    case JobState::kCancelled: return "CANCELLED";
    default: return "JOB_STATE_UNSPECIFIED";
  }
}

bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

bool ParseJobState(const std::string& name, JobState* out) {
  std::string up = name;
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  for (int i = 1; i < kNumJobStates; ++i) {
    if (up == JobStateName(static_cast<JobState>(i))) {
      *out = static_cast<JobState>(i);
      return true;
    }
  }
  return false;
}

const char* ExperimentStateName(ExperimentState s) {
  switch (s) {
    case ExperimentState::kRunning: return "EXP_RUNNING";
    case ExperimentState::kSucceeded: return "EXP_SUCCEEDED";
    case ExperimentState::kFailed: return "EXP_FAILED";
    case ExperimentState::kCancelled: return "EXP_CANCELLED";
    default: return "EXPERIMENT_STATE_UNSPECIFIED";
  }
}

}  // namespace fc::coord

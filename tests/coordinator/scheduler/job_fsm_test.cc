// Walks every (state, event) pair of the job FSM against a table written out independently.
#include "coordinator/scheduler/job_fsm.h"

#include <map>

#include <gtest/gtest.h>

namespace fc::coord {
namespace {

using S = JobState;
using E = JobEvent;

TEST(JobFsm, EveryStateEventPairMatchesTheTable) {
  const std::map<std::pair<S, E>, S> legal = {
      {{S::kPending, E::kDepsSucceeded}, S::kReady},  {{S::kPending, E::kDepFailed}, S::kCancelled},
      {{S::kPending, E::kCancel}, S::kCancelled},     {{S::kReady, E::kLease}, S::kLeased},
      {{S::kReady, E::kCancel}, S::kCancelled},       {{S::kLeased, E::kStart}, S::kRunning},
      {{S::kLeased, E::kProgress}, S::kRunning},      {{S::kLeased, E::kComplete}, S::kSucceeded},
      {{S::kLeased, E::kFailRetry}, S::kReady},       {{S::kLeased, E::kFailFinal}, S::kFailed},
      {{S::kLeased, E::kLeaseExpired}, S::kReady},    {{S::kLeased, E::kRelease}, S::kReady},
      {{S::kLeased, E::kCancel}, S::kCancelled},      {{S::kRunning, E::kStart}, S::kRunning},
      {{S::kRunning, E::kProgress}, S::kRunning},     {{S::kRunning, E::kComplete}, S::kSucceeded},
      {{S::kRunning, E::kFailRetry}, S::kReady},      {{S::kRunning, E::kFailFinal}, S::kFailed},
      {{S::kRunning, E::kLeaseExpired}, S::kReady},   {{S::kRunning, E::kRelease}, S::kReady},
      {{S::kRunning, E::kCancel}, S::kCancelled},     {{S::kFailed, E::kRetry}, S::kPending},
      {{S::kCancelled, E::kRetry}, S::kPending},
  };
  int checked = 0;
  for (int s = 0; s < kNumJobStates; ++s) {
    for (int e = 0; e < kNumJobEvents; ++e) {
      const S from = static_cast<S>(s);
      const E ev = static_cast<E>(e);
      StatusOr<S> got = NextState(from, ev);
      auto it = legal.find({from, ev});
      if (it == legal.end()) {
        ASSERT_FALSE(got.ok()) << JobStateName(from) << " + " << JobEventName(ev);
        EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition);
        EXPECT_NE(got.status().message().find("illegal transition"), std::string::npos);
      } else {
        ASSERT_TRUE(got.ok()) << JobStateName(from) << " + " << JobEventName(ev);
        EXPECT_EQ(*got, it->second) << JobStateName(from) << " + " << JobEventName(ev);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, kNumJobStates * kNumJobEvents);
}

TEST(JobFsm, TerminalStatesAcceptOnlyOperatorRetry) {
  for (S t : {S::kSucceeded, S::kFailed, S::kCancelled}) {
    for (int e = 0; e < kNumJobEvents; ++e) {
      const E ev = static_cast<E>(e);
      if (ev == E::kRetry && t != S::kSucceeded) continue;
      EXPECT_FALSE(NextState(t, ev).ok()) << JobStateName(t) << " + " << JobEventName(ev);
    }
  }
}

TEST(JobFsm, StaleAttemptReportIsRejectedWithTheExactMessage) {
  Status s = CheckFence("e/j", S::kRunning, 4, 9, Fence{"e/j", 3, 7});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "stale attempt 3 (current 4) for job e/j");
}

TEST(JobFsm, StaleLeaseEpochAndUnheldStatesAreRejected) {
  Status epoch = CheckFence("e/j", S::kLeased, 2, 6, Fence{"e/j", 2, 5});
  EXPECT_EQ(epoch.message(), "stale lease epoch 5 (current 6) for job e/j");
  Status done = CheckFence("e/j", S::kSucceeded, 2, 6, Fence{"e/j", 2, 6});
  EXPECT_EQ(done.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(done.message(), "stale attempt 2 for job e/j: job is SUCCEEDED");
  EXPECT_TRUE(CheckFence("e/j", S::kRunning, 2, 6, Fence{"e/j", 2, 6}).ok());
}

}  // namespace
}  // namespace fc::coord

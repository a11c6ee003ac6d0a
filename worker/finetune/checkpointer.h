// Checkpointer: atomic checkpoint folders with lineage metadata under one output directory.
//
// Layout: <out>/checkpoint-<step>/ holding what the caller writes (a PEFT adapter or an HF model
// folder, plus trainer_state.json / optimizer.pt) and checkpoint.json, the lineage record:
//   {"name": "checkpoint-50", "parent": "checkpoint-25" | "base", "step": 50,
//    "loss": <held-out loss>, "train_loss": <last step's loss or null>,
//    "accuracy": <held-out exact match in [0,1]>, "job_id": "...", "method": "lora",
//    "base_model": "<path>"}
// Save() writes everything into <out>/.tmp-checkpoint-<step>, fsyncs every file and the folder,
// renames it into place and fsyncs <out>, so a crash leaves either the old set or the new
// complete checkpoint, never half of one; leftover .tmp-* folders are ignored and swept.
// keep_latest_k > 0 deletes the oldest checkpoints beyond k after each save (0 keeps all).
// Not thread-safe; one writer per output directory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace fc::finetune {

inline constexpr char kCheckpointInfoFile[] = "checkpoint.json";
inline constexpr char kBaseParent[] = "base";

struct CheckpointInfo {
  std::string name;    // filled by Save
  std::string parent;  // filled by Save: the previous checkpoint in this directory, or "base"
  int64_t step = 0;
  double loss = 0;
  std::optional<double> train_loss;
  double accuracy = 0;
  std::string job_id;
  std::string method;
  std::string base_model;
};

std::string CheckpointName(int64_t step);  // "checkpoint-<step>"
StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& checkpoint_dir);

class Checkpointer {
 public:
  Checkpointer(std::string out_dir, int64_t keep_latest_k) : out_(std::move(out_dir)), keep_(keep_latest_k) {}

  // `write` fills the temporary folder it is given. Returns the final folder path.
  StatusOr<std::string> Save(CheckpointInfo info, const std::function<Status(const std::string& dir)>& write);

  // Complete checkpoints (with a readable checkpoint.json), ascending by step.
  StatusOr<std::vector<CheckpointInfo>> List() const;
  // The newest complete checkpoint's folder, or nullopt when there is none.
  StatusOr<std::optional<std::string>> Latest() const;
  std::string PathOf(const std::string& name) const { return out_ + "/" + name; }
  const std::string& out_dir() const { return out_; }

 private:
  std::string out_;
  int64_t keep_;
};

// fsync of one file or folder; error names the path.
Status FsyncPath(const std::string& path);

}  // namespace fc::finetune

// Cross-check against an independent implementation: tools/crosscheck/hf_forward.py re-implements
// the GPT-NeoX and GPT-2 forwards in plain PyTorch (HF conventions, its own safetensors reader)
// and must agree with our logits to 1e-4. Skipped when no python3 can import torch.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "tests/worker/model/model_test_util.h"
#include "worker/model/causal_lm.h"

namespace fc::model {
namespace {

using testing::MustParse;
using testing::RandomIds;
using testing::TempDir;

std::vector<std::string> PythonCandidates() {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("FC_PYTHON")) candidates.push_back(p);
  candidates.push_back("python3");
  candidates.push_back("/usr/bin/python3");
  return candidates;
}

std::string SourceDir() {
  if (const char* s = std::getenv("FC_SOURCE_DIR")) return s;
  return FC_MODEL_TEST_SOURCE_DIR;
}

TEST(CrossCheck, LogitsMatchIndependentPyTorchForward) {
  struct Case {
    const char* name;
    nlohmann::json config;
  };
  nlohmann::json neox_tanh_full_rotary = testing::TinyNeoxJson(true);
  neox_tanh_full_rotary["rotary_pct"] = 1.0;
  neox_tanh_full_rotary["hidden_act"] = "gelu_new";
  nlohmann::json neox_tied = testing::TinyNeoxJson(false);
  neox_tied["tie_word_embeddings"] = true;
  neox_tied["rotary_pct"] = 0.25;
  std::vector<Case> cases = {{"neox_parallel", testing::TinyNeoxJson(true)},
                             {"neox_sequential_tied", neox_tied},
                             {"neox_full_rotary_tanh", neox_tanh_full_rotary},
                             {"gpt2", testing::TinyGpt2Json()}};
  TempDir root;
  std::string dirs;
  std::vector<torch::Tensor> ours;
  const torch::Tensor ids = RandomIds(2, 9, 50, 42);
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string dir = root / cases[i].name;
    auto model = CreateRandomCausalLM(MustParse(cases[i].config), 100 + i);
    ASSERT_TRUE(SaveCausalLM(*model, dir).ok());
    std::vector<std::vector<int64_t>> rows;
    for (int64_t b = 0; b < ids.size(0); ++b) {
      rows.emplace_back(ids[b].data_ptr<int64_t>(), ids[b].data_ptr<int64_t>() + ids.size(1));
    }
    std::ofstream(dir + "/ids.json") << nlohmann::json{{"ids", rows}}.dump();
    torch::NoGradGuard g;
    ours.push_back(model->Forward(ids));
    dirs += " " + dir;
  }
  // The script exits 77 when its python lacks torch (127: no such python): try the next one.
  bool ran = false;
  for (const std::string& py : PythonCandidates()) {
    const std::string cmd = "OMP_NUM_THREADS=1 " + py + " " + SourceDir() +
                            "/tools/crosscheck/hf_forward.py" + dirs + " 2>&1";
    const int status = std::system(cmd.c_str());
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == 77 || rc == 127) continue;
    ASSERT_EQ(rc, 0) << cmd;
    ran = true;
    break;
  }
  if (!ran) GTEST_SKIP() << "no python3 with torch (install python3-torch)";
  for (size_t i = 0; i < cases.size(); ++i) {
    std::ifstream in(root / cases[i].name + "/logits.f32", std::ios::binary);
    torch::Tensor theirs = torch::empty_like(ours[i]);
    in.read(static_cast<char*>(theirs.data_ptr()), theirs.numel() * sizeof(float));
    ASSERT_TRUE(in.good()) << cases[i].name;
    EXPECT_LT(testing::MaxAbsDiff(ours[i], theirs), 1e-4) << cases[i].name;
    EXPECT_GT(ours[i].std().item<double>(), 0.1) << cases[i].name;
  }
}

}  // namespace
}  // namespace fc::model

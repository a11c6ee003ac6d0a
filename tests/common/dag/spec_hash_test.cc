#include <gtest/gtest.h>

#include "common/dag/parser.h"
#include "common/dag/sha256.h"
#include "common/dag/spec.h"

namespace fc::dag {
namespace {

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(SpecHash, YamlAndJsonWithDefaultsSpelledOutHashTheSame) {
  auto yaml = ParseExperiment(
      "experiment: e\njobs:\n  b: {kind: sleep, after: [a]}\n  a: {kind: sleep, seconds: 2}\n");
  auto json = ParseExperiment(
      R"({"jobs": {"a": {"seconds": 2.0, "kind": "sleep", "retries": 2},
                   "b": {"kind": "sleep", "seconds": 1, "after": ["a"], "cache": true}},
          "experiment": "e"})");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(CanonicalJsonString(*yaml), CanonicalJsonString(*json));
  EXPECT_EQ(SpecHash(*yaml), SpecHash(*json));
  EXPECT_EQ(SpecHash(*yaml).size(), 64u);
}

TEST(SpecHash, DifferentParameterChangesTheHash) {
  auto a = ParseExperiment("experiment: e\njobs:\n  a: {kind: sleep, seconds: 2}\n");
  auto b = ParseExperiment("experiment: e\njobs:\n  a: {kind: sleep, seconds: 3}\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(SpecHash(*a), SpecHash(*b));
}

TEST(CanonicalJson, FillsDefaultsAndSortsKeys) {
  auto s = ParseExperiment("experiment: e\njobs:\n  z: {kind: fail}\n  a: {kind: sleep}\n");
  ASSERT_TRUE(s.ok());
  nlohmann::json j = ToCanonicalJson(*s);
  EXPECT_EQ(j["jobs"]["z"]["params"]["permanent"], false);
  EXPECT_EQ(j["jobs"]["a"]["params"]["seconds"], 1.0);
  std::string text = CanonicalJsonString(*s);
  EXPECT_LT(text.find("\"a\""), text.find("\"z\""));
}

}  // namespace
}  // namespace fc::dag

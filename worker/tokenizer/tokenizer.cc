// Tokenizer factories that read files, and the BOS / single-token helpers.
#include "worker/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "worker/tokenizer/bpe_tokenizer.h"

namespace fc::text {
namespace {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFoundError("cannot open '{}'", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return UnavailableError("read of '{}' failed", path);
  return ss.str();
}

StatusOr<nlohmann::json> ParseJson(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgumentError("{}: invalid JSON at byte {}: {}", source, e.byte, e.what());
  }
}

// tokenizer_config.json names special tokens as "text" or {"content": "text", ...}.
Status ApplyTokenizerConfig(const std::string& path, BpeConfig* c) {
  FC_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  FC_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(text, path));
  if (!doc.is_object()) return InvalidArgumentError("{}: expected a JSON object", path);
  auto lookup = [&](const std::string& content) -> std::optional<int64_t> {
    for (const AddedToken& t : c->added_tokens) {
      if (t.content == content) return t.id;
    }
    for (const auto& [token, id] : c->vocab) {
      if (token == content) return id;
    }
    return std::nullopt;
  };
  for (auto [key, slot] : {std::pair<const char*, std::optional<int64_t>*>{"bos_token", &c->bos_id},
                           {"eos_token", &c->eos_id},
                           {"pad_token", &c->pad_id}}) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) continue;
    std::string content;
    if (it->is_string()) {
      content = it->get<std::string>();
    } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      content = (*it)["content"].get<std::string>();
    } else {
      return InvalidArgumentError("{}: field '{}': expected a string or {{\"content\": ...}}", path, key);
    }
    std::optional<int64_t> id = lookup(content);
    if (!id) return InvalidArgumentError("{}: field '{}': token '{}' is not in the vocabulary", path, key, content);
    *slot = id;
  }
  return Status::OK();
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonString(const std::string& json_text,
                                                               const std::string& source_name) {
  FC_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(json_text, source_name));
  FC_ASSIGN_OR_RETURN(BpeConfig config, BpeConfigFromJson(doc, source_name));
  FC_ASSIGN_OR_RETURN(std::unique_ptr<BpeTokenizer> tok, BpeTokenizer::Create(std::move(config), source_name));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& tokenizer_json) {
  FC_ASSIGN_OR_RETURN(std::string text, ReadFile(tokenizer_json));
  FC_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(text, tokenizer_json));
  FC_ASSIGN_OR_RETURN(BpeConfig config, BpeConfigFromJson(doc, tokenizer_json));
  const std::filesystem::path cfg =
      std::filesystem::path(tokenizer_json).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::exists(cfg, ec)) FC_RETURN_IF_ERROR(ApplyTokenizerConfig(cfg.string(), &config));
  FC_ASSIGN_OR_RETURN(std::unique_ptr<BpeTokenizer> tok, BpeTokenizer::Create(std::move(config), tokenizer_json));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromEncoderJsonAndVocabBpe(const std::string& encoder_json,
                                                                           const std::string& vocab_bpe) {
  FC_ASSIGN_OR_RETURN(std::string enc_text, ReadFile(encoder_json));
  FC_ASSIGN_OR_RETURN(nlohmann::json enc, ParseJson(enc_text, encoder_json));
  if (!enc.is_object()) return InvalidArgumentError("{}: expected an object of token -> id", encoder_json);
  BpeConfig c;
  c.vocab.reserve(enc.size());
  for (auto it = enc.begin(); it != enc.end(); ++it) {
    if (!it->is_number_integer()) {
      return InvalidArgumentError("{}: field '{}': expected an integer id", encoder_json, it.key());
    }
    c.vocab.emplace_back(it.key(), it->get<int64_t>());
  }
  FC_ASSIGN_OR_RETURN(std::string bpe_text, ReadFile(vocab_bpe));
  std::istringstream lines(bpe_text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos) {
      return InvalidArgumentError("{}:{}: expected \"left right\", got \"{}\"", vocab_bpe, line_no, line);
    }
    c.merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  constexpr const char* kEot = "<|endoftext|>";
  std::optional<int64_t> eot;
  for (const auto& [token, id] : c.vocab) {
    if (token == kEot) eot = id;
  }
  if (!eot) return InvalidArgumentError("{}: no '{}' entry", encoder_json, kEot);
  c.added_tokens.push_back(AddedToken{*eot, kEot, /*special=*/true});
  c.byte_level = true;
  c.add_prefix_space = false;
  c.use_regex = true;
  c.decoder = DecoderKind::kByteLevel;
  c.bos_id = c.eos_id = eot;
  // The sections HF's GPT-2 tokenizer.json has, so Save() writes an equivalent file.
  c.pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  c.post_processor = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  c.decoder_json = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  FC_ASSIGN_OR_RETURN(std::unique_ptr<BpeTokenizer> tok, BpeTokenizer::Create(std::move(c), vocab_bpe));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

StatusOr<std::vector<int64_t>> EncodeWithBos(const Tokenizer& tokenizer, std::string_view text) {
  std::optional<int64_t> bos = tokenizer.bos_id();
  if (!bos) return FailedPreconditionError("tokenizer has no BOS token; cannot prepend BOS");
  std::vector<int64_t> ids{*bos};
  std::vector<int64_t> body = tokenizer.Encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

StatusOr<int64_t> EncodeSingleToken(const Tokenizer& tokenizer, std::string_view text, std::string_view what) {
  std::vector<int64_t> ids = tokenizer.Encode(text);
  if (ids.size() != 1) {
    return InvalidArgumentError("{} '{}' must be a single token, but encodes to {} tokens", what, text, ids.size());
  }
  return ids[0];
}

}  // namespace fc::text

// tokenizer.json <-> BpeConfig. Supports what GPT-2, Pythia (GPT-NeoX-20B) and our char
// tokenizer files contain; anything else is rejected with the file name and JSON path, never
// silently mis-tokenized.
#include <algorithm>

#include "worker/tokenizer/bpe_tokenizer.h"

namespace fc::text {
namespace {

using nlohmann::json;

// Small helpers that turn a wrong JSON shape into "<file>: field '<path>': <problem>".
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  Status Error(const std::string& path, const std::string& problem) const {
    return InvalidArgumentError("{}: field '{}': {}", source_, path, problem);
  }
  static std::string TypeName(const json& j) { return j.type_name(); }

  StatusOr<const json*> Object(const json& parent, const std::string& key, const std::string& path) const {
    auto it = parent.find(key);
    if (it == parent.end()) return Error(path, "missing");
    if (!it->is_object()) return Error(path, "expected an object, got " + TypeName(*it));
    return &*it;
  }
  StatusOr<std::string> String(const json& parent, const std::string& key, const std::string& path) const {
    auto it = parent.find(key);
    if (it == parent.end()) return Error(path, "missing");
    if (!it->is_string()) return Error(path, "expected a string, got " + TypeName(*it));
    return it->get<std::string>();
  }
  // Missing or null -> `def`.
  StatusOr<bool> OptBool(const json& parent, const std::string& key, const std::string& path, bool def) const {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return def;
    if (!it->is_boolean()) return Error(path, "expected true/false, got " + TypeName(*it));
    return it->get<bool>();
  }
  StatusOr<std::optional<std::string>> OptString(const json& parent, const std::string& key,
                                                 const std::string& path) const {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return std::optional<std::string>();
    if (!it->is_string()) return Error(path, "expected a string or null, got " + TypeName(*it));
    return std::optional<std::string>(it->get<std::string>());
  }

 private:
  const std::string& source_;
};

Status ParseNormalizer(const Reader& r, const json& n, const std::string& path, BpeConfig* c) {
  if (n.is_null()) return Status::OK();
  if (!n.is_object()) return r.Error(path, "expected an object or null");
  FC_ASSIGN_OR_RETURN(std::string type, r.String(n, "type", path + ".type"));
  if (type == "NFC") {
    c->nfc = true;
    return Status::OK();
  }
  if (type == "Sequence") {
    auto it = n.find("normalizers");
    if (it == n.end() || !it->is_array()) return r.Error(path + ".normalizers", "expected an array");
    for (size_t i = 0; i < it->size(); ++i) {
      FC_RETURN_IF_ERROR(ParseNormalizer(r, (*it)[i], fmt::format("{}.normalizers[{}]", path, i), c));
    }
    return Status::OK();
  }
  return r.Error(path + ".type", "unsupported normalizer '" + type + "' (supported: NFC, Sequence)");
}

Status ParsePreTokenizer(const Reader& r, const json& p, const std::string& path, BpeConfig* c) {
  if (p.is_null()) return Status::OK();
  if (!p.is_object()) return r.Error(path, "expected an object or null");
  FC_ASSIGN_OR_RETURN(std::string type, r.String(p, "type", path + ".type"));
  if (type == "ByteLevel") {
    if (c->byte_level) return r.Error(path, "more than one ByteLevel pre-tokenizer");
    c->byte_level = true;
    FC_ASSIGN_OR_RETURN(c->add_prefix_space, r.OptBool(p, "add_prefix_space", path + ".add_prefix_space", true));
    FC_ASSIGN_OR_RETURN(c->use_regex, r.OptBool(p, "use_regex", path + ".use_regex", true));
    return Status::OK();
  }
  if (type == "Sequence") {
    auto it = p.find("pretokenizers");
    if (it == p.end() || !it->is_array()) return r.Error(path + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < it->size(); ++i) {
      FC_RETURN_IF_ERROR(ParsePreTokenizer(r, (*it)[i], fmt::format("{}.pretokenizers[{}]", path, i), c));
    }
    return Status::OK();
  }
  return r.Error(path + ".type", "unsupported pre-tokenizer '" + type + "' (supported: ByteLevel, Sequence)");
}

Status ParseDecoder(const Reader& r, const json& d, const std::string& path, BpeConfig* c) {
  if (d.is_null()) return Status::OK();
  if (!d.is_object()) return r.Error(path, "expected an object or null");
  FC_ASSIGN_OR_RETURN(std::string type, r.String(d, "type", path + ".type"));
  if (type == "ByteLevel") {
    c->decoder = DecoderKind::kByteLevel;
  } else if (type == "Fuse") {
    c->decoder = DecoderKind::kFuse;
  } else {
    return r.Error(path + ".type", "unsupported decoder '" + type + "' (supported: ByteLevel, Fuse)");
  }
  return Status::OK();
}

StatusOr<int64_t> SpecialTokenId(const Reader& r, const json& specials, const std::string& name,
                                 const std::string& path) {
  auto it = specials.find(name);
  if (it == specials.end()) return r.Error(path, "special token '" + name + "' not in special_tokens");
  auto ids = it->find("ids");
  if (ids == it->end() || !ids->is_array() || ids->size() != 1 || !(*ids)[0].is_number_integer()) {
    return r.Error(path, "special token '" + name + "' must have exactly one integer id in 'ids'");
  }
  return (*ids)[0].get<int64_t>();
}

Status ParsePostProcessor(const Reader& r, const json& p, const std::string& path, BpeConfig* c) {
  if (p.is_null()) return Status::OK();
  if (!p.is_object()) return r.Error(path, "expected an object or null");
  FC_ASSIGN_OR_RETURN(std::string type, r.String(p, "type", path + ".type"));
  if (type == "ByteLevel") return Status::OK();  // only adjusts offsets
  if (type == "Sequence") {
    auto it = p.find("processors");
    if (it == p.end() || !it->is_array()) return r.Error(path + ".processors", "expected an array");
    for (size_t i = 0; i < it->size(); ++i) {
      FC_RETURN_IF_ERROR(ParsePostProcessor(r, (*it)[i], fmt::format("{}.processors[{}]", path, i), c));
    }
    return Status::OK();
  }
  if (type != "TemplateProcessing") {
    return r.Error(path + ".type",
                   "unsupported post-processor '" + type + "' (supported: TemplateProcessing, ByteLevel, Sequence)");
  }
  auto single = p.find("single");
  if (single == p.end() || !single->is_array()) return r.Error(path + ".single", "expected an array");
  auto specials = p.find("special_tokens");
  const json empty = json::object();
  const json& sp = specials != p.end() && specials->is_object() ? *specials : empty;
  bool seen_sequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    const json& item = (*single)[i];
    const std::string ipath = fmt::format("{}.single[{}]", path, i);
    if (item.is_object() && item.contains("Sequence")) {
      seen_sequence = true;
    } else if (item.is_object() && item.contains("SpecialToken") && item["SpecialToken"].is_object()) {
      FC_ASSIGN_OR_RETURN(std::string name, r.String(item["SpecialToken"], "id", ipath + ".SpecialToken.id"));
      FC_ASSIGN_OR_RETURN(int64_t id, SpecialTokenId(r, sp, name, ipath));
      (seen_sequence ? c->template_suffix : c->template_prefix).push_back(id);
    } else {
      return r.Error(ipath, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!seen_sequence) return r.Error(path + ".single", "template has no Sequence item");
  return Status::OK();
}

Status ParseModel(const Reader& r, const json& doc, BpeConfig* c) {
  FC_ASSIGN_OR_RETURN(const json* model, r.Object(doc, "model", "model"));
  const json& m = *model;
  FC_ASSIGN_OR_RETURN(std::string type, r.String(m, "type", "model.type"));
  if (type != "BPE") return r.Error("model.type", "unsupported model type '" + type + "' (supported: BPE)");
  FC_ASSIGN_OR_RETURN(const json* vocab, r.Object(m, "vocab", "model.vocab"));
  c->vocab.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it->is_number_integer()) {
      return r.Error("model.vocab[\"" + it.key() + "\"]", "expected an integer id, got " + Reader::TypeName(*it));
    }
    c->vocab.emplace_back(it.key(), it->get<int64_t>());
  }
  auto merges = m.find("merges");
  if (merges == m.end()) return r.Error("model.merges", "missing");
  if (!merges->is_array()) return r.Error("model.merges", "expected an array, got " + Reader::TypeName(*merges));
  c->merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& e = (*merges)[i];
    const std::string path = fmt::format("model.merges[{}]", i);
    if (e.is_string()) {  // "a b" (tokenizers < 0.20)
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos) {
        return r.Error(path, "expected \"left right\" (two tokens separated by one space), got \"" + s + "\"");
      }
      c->merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {  // ["a", "b"]
      c->merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      return r.Error(path, "expected \"left right\" or [\"left\", \"right\"], got " + e.dump());
    }
  }
  FC_ASSIGN_OR_RETURN(c->unk_token, r.OptString(m, "unk_token", "model.unk_token"));
  FC_ASSIGN_OR_RETURN(c->fuse_unk, r.OptBool(m, "fuse_unk", "model.fuse_unk", false));
  FC_ASSIGN_OR_RETURN(c->ignore_merges, r.OptBool(m, "ignore_merges", "model.ignore_merges", false));
  FC_ASSIGN_OR_RETURN(bool byte_fallback, r.OptBool(m, "byte_fallback", "model.byte_fallback", false));
  if (byte_fallback) return r.Error("model.byte_fallback", "true is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    FC_ASSIGN_OR_RETURN(std::optional<std::string> v, r.OptString(m, key, std::string("model.") + key));
    if (v && !v->empty()) return r.Error(std::string("model.") + key, "non-empty values are not supported");
  }
  auto dropout = m.find("dropout");
  if (dropout != m.end() && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    return r.Error("model.dropout", "BPE dropout is not supported (must be null or 0)");
  }
  return Status::OK();
}

Status ParseAddedTokens(const Reader& r, const json& doc, BpeConfig* c) {
  auto it = doc.find("added_tokens");
  if (it == doc.end() || it->is_null()) return Status::OK();
  if (!it->is_array()) return r.Error("added_tokens", "expected an array, got " + Reader::TypeName(*it));
  for (size_t i = 0; i < it->size(); ++i) {
    const json& e = (*it)[i];
    const std::string path = fmt::format("added_tokens[{}]", i);
    if (!e.is_object()) return r.Error(path, "expected an object");
    AddedToken t;
    auto id = e.find("id");
    if (id == e.end() || !id->is_number_integer()) return r.Error(path + ".id", "missing or not an integer");
    t.id = id->get<int64_t>();
    FC_ASSIGN_OR_RETURN(t.content, r.String(e, "content", path + ".content"));
    FC_ASSIGN_OR_RETURN(t.special, r.OptBool(e, "special", path + ".special", false));
    FC_ASSIGN_OR_RETURN(t.single_word, r.OptBool(e, "single_word", path + ".single_word", false));
    FC_ASSIGN_OR_RETURN(t.lstrip, r.OptBool(e, "lstrip", path + ".lstrip", false));
    FC_ASSIGN_OR_RETURN(t.rstrip, r.OptBool(e, "rstrip", path + ".rstrip", false));
    FC_ASSIGN_OR_RETURN(t.normalized, r.OptBool(e, "normalized", path + ".normalized", !t.special));
    c->added_tokens.push_back(std::move(t));
  }
  return Status::OK();
}

// BOS/EOS when no tokenizer_config.json says: the template's leading special token, else the
// conventional names GPT-2/NeoX ("<|endoftext|>" is both), Llama ("<s>", "</s>") use.
void GuessSpecialIds(BpeConfig* c) {
  auto find = [&](const std::string& content) -> std::optional<int64_t> {
    for (const AddedToken& t : c->added_tokens) {
      if (t.content == content) return t.id;
    }
    return std::nullopt;
  };
  if (!c->bos_id && !c->template_prefix.empty()) c->bos_id = c->template_prefix.front();
  for (const auto& [bos, eos] : std::vector<std::pair<std::string, std::string>>{
           {"<|endoftext|>", "<|endoftext|>"}, {"<s>", "</s>"}, {"<bos>", "<eos>"},
           {"<|begin_of_text|>", "<|end_of_text|>"}}) {
    if (!c->bos_id) c->bos_id = find(bos);
    if (!c->eos_id) c->eos_id = find(eos);
  }
}

}  // namespace

StatusOr<BpeConfig> BpeConfigFromJson(const json& doc, const std::string& source) {
  Reader r(source);
  if (!doc.is_object()) return InvalidArgumentError("{}: expected a JSON object at the top level", source);
  BpeConfig c;
  FC_RETURN_IF_ERROR(ParseModel(r, doc, &c));
  FC_RETURN_IF_ERROR(ParseAddedTokens(r, doc, &c));
  auto section = [&](const char* key) { return doc.contains(key) ? doc[key] : json(nullptr); };
  c.normalizer = section("normalizer");
  c.pre_tokenizer = section("pre_tokenizer");
  c.post_processor = section("post_processor");
  c.decoder_json = section("decoder");
  c.truncation = section("truncation");
  c.padding = section("padding");
  FC_RETURN_IF_ERROR(ParseNormalizer(r, c.normalizer, "normalizer", &c));
  FC_RETURN_IF_ERROR(ParsePreTokenizer(r, c.pre_tokenizer, "pre_tokenizer", &c));
  FC_RETURN_IF_ERROR(ParsePostProcessor(r, c.post_processor, "post_processor", &c));
  FC_RETURN_IF_ERROR(ParseDecoder(r, c.decoder_json, "decoder", &c));
  if (c.padding.is_object()) {
    auto pad = c.padding.find("pad_id");
    if (pad != c.padding.end() && pad->is_number_integer()) c.pad_id = pad->get<int64_t>();
  }
  GuessSpecialIds(&c);
  return c;
}

nlohmann::ordered_json BpeConfigToJson(const BpeConfig& c) {
  using ojson = nlohmann::ordered_json;
  auto copy = [](const json& j) { return ojson::parse(j.dump()); };
  // Same key order as HF writes, so a saved file diffs cleanly against the original.
  ojson doc = ojson::object();
  doc["version"] = "1.0";
  doc["truncation"] = copy(c.truncation);
  doc["padding"] = copy(c.padding);
  ojson added = ojson::array();
  for (const AddedToken& t : c.added_tokens) {
    ojson a = ojson::object();
    a["id"] = t.id;
    a["content"] = t.content;
    a["single_word"] = t.single_word;
    a["lstrip"] = t.lstrip;
    a["rstrip"] = t.rstrip;
    a["normalized"] = t.normalized;
    a["special"] = t.special;
    added.push_back(std::move(a));
  }
  doc["added_tokens"] = std::move(added);
  doc["normalizer"] = copy(c.normalizer);
  doc["pre_tokenizer"] = copy(c.pre_tokenizer);
  doc["post_processor"] = copy(c.post_processor);
  doc["decoder"] = copy(c.decoder_json);

  ojson model = ojson::object();
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = c.unk_token ? ojson(*c.unk_token) : ojson(nullptr);
  model["continuing_subword_prefix"] = nullptr;
  model["end_of_word_suffix"] = nullptr;
  model["fuse_unk"] = c.fuse_unk;
  model["byte_fallback"] = false;
  model["ignore_merges"] = c.ignore_merges;
  std::vector<std::pair<std::string, int64_t>> vocab = c.vocab;
  std::sort(vocab.begin(), vocab.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  ojson ov = ojson::object();
  for (const auto& [token, id] : vocab) ov[token] = id;
  model["vocab"] = std::move(ov);
  // "a b" strings are read by every tokenizers version; [a, b] pairs (tokenizers >= 0.20) only
  // when a token contains a space and the string form would be ambiguous.
  bool needs_pairs = false;
  for (const auto& [a, b] : c.merges) {
    if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos) needs_pairs = true;
  }
  ojson merges = ojson::array();
  for (const auto& [a, b] : c.merges) {
    if (needs_pairs) {
      merges.push_back(ojson::array({a, b}));
    } else {
      merges.push_back(a + " " + b);
    }
  }
  model["merges"] = std::move(merges);
  doc["model"] = std::move(model);
  return doc;
}

}  // namespace fc::text

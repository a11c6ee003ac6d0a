// Job parameters: typed reads from the params JSON object with errors that name the job kind
// and field, and parsing of command-line "key=value" pairs (fc-worker run --param).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace fc::agent {

// INVALID_ARGUMENT "job kind 'sleep' field 'seconds': must be a number, got \"x\"" when present
// with the wrong type; the default when absent.
StatusOr<double> GetNumber(const nlohmann::json& params, const std::string& kind,
                           const std::string& field, double default_value);
StatusOr<bool> GetBool(const nlohmann::json& params, const std::string& kind,
                       const std::string& field, bool default_value);
StatusOr<std::string> GetString(const nlohmann::json& params, const std::string& kind,
                                const std::string& field, const std::string& default_value);

// "key=value" pairs -> JSON object. A value that parses as JSON (number, bool, null, array,
// object, quoted string) keeps that type; anything else is a string. A pair without '=' or with
// an empty key is INVALID_ARGUMENT naming it; a repeated key too.
StatusOr<nlohmann::json> ParseKeyValueParams(const std::vector<std::string>& pairs);

}  // namespace fc::agent

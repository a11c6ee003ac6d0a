// SHA-256 of a byte string, as lowercase hex. Used for the content hash of a validated DAG spec
// (idempotent submission); small and dependency-free so fc_dag needs no crypto library.
#pragma once

#include <string>
#include <string_view>

namespace fc::dag {

std::string Sha256Hex(std::string_view data);

}  // namespace fc::dag

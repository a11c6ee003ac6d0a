#include "coordinator/store/store.h"

#include "coordinator/store/migrations.h"

namespace fc::coord::store {

StatusOr<std::unique_ptr<Store>> Store::Open(const Options& options, Writer::Post post,
                                             metrics::Registry* metrics) {
  std::unique_ptr<Store> store(new Store());
  store->path_ = options.path;
  FC_ASSIGN_OR_RETURN(auto conn, Connection::Open(options.path, /*read_only=*/false));
  FC_RETURN_IF_ERROR(Migrate(*conn));
  FC_ASSIGN_OR_RETURN(store->snapshot_, LoadSnapshot(*conn));
  FC_ASSIGN_OR_RETURN(store->readers_, ReaderPool::Open(options.path, std::max(1, options.readers)));
  store->writer_ = std::make_unique<Writer>(std::move(conn), std::move(post), metrics);
  store->writer_->Start();
  return store;
}

Store::~Store() {
  if (writer_) writer_->Stop();
  readers_.reset();
}

}  // namespace fc::coord::store

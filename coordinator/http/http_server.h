// A small Boost.Beast HTTP/1.1 server on its own thread ("http"), serving Routes with
// keep-alive. Bind to port 0 to get a free port (port()). Stop() closes the acceptor and every
// connection and joins the thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/status.h"
#include "coordinator/http/routes.h"

namespace fc::coord::http {

class HttpServer {
 public:
  using Handler = std::function<Response(const std::string& method, const std::string& target)>;
  // `make_handler` runs on the HTTP thread once, so the handler can own thread-bound state
  // (a read-only SQLite connection).
  static StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& host, int port,
                                                     std::function<Handler()> make_handler);
  ~HttpServer();
  int port() const { return port_; }
  void Stop();

 private:
  HttpServer() = default;
  void Accept();
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  Handler handler_;
  std::thread thread_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace fc::coord::http

#include "coordinator/http/http_server.h"

#include <pthread.h>

#include <future>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace fc::coord::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServer::Handler* handler)
      : stream_(std::move(socket)), handler_(handler) {}
  void Start() { Read(); }

 private:
  void Read() {
    req_ = {};
    parser_.emplace();
    parser_->body_limit(1 << 20);
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->req_ = self->parser_->release();
                        self->Respond();
                      });
  }
  void Respond() {
    Response r = (*handler_)(std::string(req_.method_string()), std::string(req_.target()));
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), req_.version());
    res->set(bhttp::field::server, "fc-coordinator");
    res->set(bhttp::field::content_type, r.content_type);
    res->set(bhttp::field::cache_control, "no-store");
    res->keep_alive(req_.keep_alive());
    if (req_.method() != bhttp::verb::head) res->body() = std::move(r.body);
    res->prepare_payload();
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !res->keep_alive()) return self->Close();
      self->Read();
    });
  }
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::string_body> req_;
  const HttpServer::Handler* handler_;
};

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& host, int port,
                                                        std::function<Handler()> make_handler) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return InvalidArgumentError("flag --http: bad address '{}': {}", host, ec.message());
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  s->acceptor_ = std::make_unique<tcp::acceptor>(s->io_);
  s->acceptor_->open(ep.protocol(), ec);
  if (!ec) s->acceptor_->set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_->bind(ep, ec);
  if (!ec) s->acceptor_->listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return UnavailableError("flag --http: cannot listen on {}:{}: {}", host, port, ec.message());
  s->port_ = s->acceptor_->local_endpoint().port();
  std::promise<void> ready;
  HttpServer* self = s.get();
  s->thread_ = std::thread([self, make_handler, &ready] {
    pthread_setname_np(pthread_self(), "http");
    self->handler_ = make_handler();
    ready.set_value();
    self->Accept();
    self->io_.run();
    self->handler_ = nullptr;  // destroyed on its own thread
  });
  ready.get_future().wait();
  return s;
}

void HttpServer::Accept() {
  acceptor_->async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed
    std::make_shared<Session>(std::move(socket), &handler_)->Start();
    Accept();
  });
}

void HttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_->close(ec);
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace fc::coord::http

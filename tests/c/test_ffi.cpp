#define _POSIX_C_SOURCE 200809L
// C++17 use of the realm_metrics C ABI: the header compiles as C++, a small RAII wrapper owns
// the handle, and counts reach a real UDP receiver exactly.
#include "realm_metrics.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "receiver.h"
}

namespace {

struct Deleter {
  void operator()(realm_metrics *m) const noexcept { realm_metrics_free(m); }
};
using Metrics = std::unique_ptr<realm_metrics, Deleter>;

Metrics make(uint16_t port, const char *prefix) {
  realm_metrics_options o;
  realm_metrics_options_init(&o);
  o.host = "127.0.0.1";
  o.port = port;
  o.prefix = prefix;
  realm_metrics *raw = nullptr;
  realm_metrics_status s = realm_metrics_new(&o, &raw);
  if (s != REALM_METRICS_OK) throw std::runtime_error(realm_metrics_status_message(s));
  return Metrics(raw);
}

int failures = 0, passed = 0;
void check(bool ok, const std::string &what) {
  if (ok) {
    ++passed;
  } else {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

}  // namespace

int main() {
  receiver rx;
  check(rx_start(&rx) == 0, "receiver");
  {
    Metrics m = make(rx.port, "cpptest");
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&m] {
        for (int i = 0; i < 100000; ++i) realm_metrics_increment(m.get(), REALM_METRIC_SESSION_STARTED, 1);
      });
    }
    for (auto &t : threads) t.join();
    check(realm_metrics_gauge_set(m.get(), REALM_METRIC_SESSION_ONLINE, -2) == REALM_METRICS_OK, "gauge");
    check(realm_metrics_increment(m.get(), REALM_METRIC_SESSION_ONLINE, 1) == REALM_METRICS_WRONG_KIND, "kind");
    check(std::string(realm_metric_name(REALM_METRIC_SESSION_ONLINE)) == "session.online", "name");
    try {
      make(rx.port, "bad prefix");
      check(false, "bad prefix throws");
    } catch (const std::runtime_error &e) {
      check(std::strstr(e.what(), "invalid metric name") != nullptr, e.what());
    }
  }  // the unique_ptr frees the emitter, which flushes
  rx_settle(&rx, 200);
  check(rx_value(&rx, "cpptest.session.started", "c") == 200000, "total");
  check(rx_value(&rx, "cpptest.session.online", "g") == -2, "negative gauge");
  rx_stop(&rx);
  std::printf("%d passed, %d failed\n", passed, failures);
  return failures == 0 ? 0 : 1;
}

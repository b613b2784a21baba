// Counts a few metrics and sends them to a StatsD receiver: consumer PORT PREFIX.
// receive_and_check.py (beside this file) runs it against its own UDP socket and checks what
// arrives: PREFIX.connection.started 3 (c), PREFIX.connection.online 2 (g),
// PREFIX.protocol.24.used 2 (c), PREFIX.consumer.requests 5 (c), PREFIX.consumer.latency 12.5 (ms).
#include <realm_metrics.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

bool ok(realm_metrics_status s, const char *what) {
  if (s == REALM_METRICS_OK) return true;
  std::fprintf(stderr, "%s: %s (%s)\n", what, realm_metrics_status_message(s), realm_metrics_status_code(s));
  return false;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PORT PREFIX\n", argv[0]);
    return 2;
  }
  char *end = nullptr;
  unsigned long port = std::strtoul(argv[1], &end, 10);
  if (*end != '\0' || port == 0 || port > 65535) {
    std::fprintf(stderr, "bad port: %s\n", argv[1]);
    return 2;
  }

  realm_metrics_options opts;
  realm_metrics_options_init(&opts);
  opts.host = "127.0.0.1";
  opts.port = static_cast<uint16_t>(port);
  opts.prefix = argv[2];
  realm_metrics *m = nullptr;
  if (!ok(realm_metrics_new(&opts, &m), "realm_metrics_new")) return 1;

  bool good = ok(realm_metrics_increment(m, REALM_METRIC_CONNECTION_STARTED, 1), "increment") &&
              ok(realm_metrics_increment(m, REALM_METRIC_CONNECTION_STARTED, 2), "increment") &&
              ok(realm_metrics_gauge_set(m, REALM_METRIC_CONNECTION_ONLINE, 2), "gauge_set") &&
              ok(realm_metrics_protocol_used(m, 24), "protocol_used") &&
              ok(realm_metrics_protocol_used(m, 24), "protocol_used");
  realm_metrics_counter *requests = nullptr;
  good = good && ok(realm_metrics_register_counter(m, "consumer.requests", &requests), "register_counter") &&
         ok(realm_metrics_counter_add(requests, 5), "counter_add") &&
         ok(realm_metrics_record(m, REALM_METRICS_TYPE_TIMER, "consumer.latency", 12.5), "record");
  good = good && ok(realm_metrics_flush(m), "flush");

  realm_metrics_stats stats;
  good = good && ok(realm_metrics_get_stats(m, &stats), "get_stats");
  realm_metrics_counter_free(requests);
  realm_metrics_free(m);
  if (!good) return 1;
  if (stats.send_errors != 0) {
    std::fprintf(stderr, "%llu send errors\n", static_cast<unsigned long long>(stats.send_errors));
    return 1;
  }
  std::printf("realm_metrics %s (C++): %llu packets, %llu bytes sent\n", realm_metrics_version(),
              static_cast<unsigned long long>(stats.packets_sent), static_cast<unsigned long long>(stats.bytes_sent));
  return 0;
}

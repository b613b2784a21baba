// The smallest useful program: count connections to the Realm Object Server catalog and flush.
//   count_connections [PORT]     (StatsD on localhost, port 8125 unless given)
// Nothing needs to listen on the port: StatsD is fire-and-forget UDP.
#include <realm_metrics.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
  realm_metrics_options opts;
  realm_metrics_options_init(&opts);
  opts.prefix = "realm.example";
  if (argc > 1) opts.port = static_cast<uint16_t>(std::strtoul(argv[1], nullptr, 10));
  realm_metrics *m = nullptr;
  realm_metrics_status s = realm_metrics_new(&opts, &m);
  if (s != REALM_METRICS_OK) {
    std::fprintf(stderr, "realm_metrics_new: %s\n", realm_metrics_status_message(s));
    return 1;
  }
  realm_metrics_increment(m, REALM_METRIC_CONNECTION_STARTED, 1);
  realm_metrics_gauge_add(m, REALM_METRIC_CONNECTION_ONLINE, 1);
  realm_metrics_protocol_used(m, 24);
  realm_metrics_flush(m);
  realm_metrics_free(m);
  std::printf("counted with realm_metrics %s: %u catalog metrics\n", realm_metrics_version(), realm_metric_count());
  return 0;
}

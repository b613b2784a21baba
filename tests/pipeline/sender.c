/* Sends the pipeline test's event sequence (tests/pipeline/run.sh) through the C library.
 *
 *   cc -std=c11 sender.c $(pkg-config --cflags --static --libs realm_metrics) -o sender
 *   ./sender 127.0.0.1 8125 realm.pipe-c-1
 *
 * The same events as core/examples/pipeline_sender.rs and sender.js, in two batches with a
 * flush between them. Prints the emitter's stats (realm_metrics_get_stats) as one JSON line.
 * Exits 1 when any call does not return REALM_METRICS_OK. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <realm_metrics.h>

static int failures = 0;

static void check(realm_metrics_status s, const char *what) {
  if (s != REALM_METRICS_OK) {
    fprintf(stderr, "sender.c: %s: %s (%s)\n", what, realm_metrics_status_code(s),
            realm_metrics_status_message(s));
    failures++;
  }
}

#define CALL(expr) check((expr), #expr)

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOST PORT PREFIX\n", argv[0]);
    return 2;
  }
  realm_metrics_options o;
  realm_metrics_options_init(&o);
  o.host = argv[1];
  o.port = (uint16_t)strtoul(argv[2], NULL, 10);
  o.prefix = argv[3];
  o.flush_interval_ms = 200;
  realm_metrics *m = NULL;
  realm_metrics_status s = realm_metrics_new(&o, &m);
  if (s != REALM_METRICS_OK) {
    fprintf(stderr, "sender.c: realm_metrics_new: %s\n", realm_metrics_status_message(s));
    return 1;
  }

  /* Batch 1. */
  for (int i = 0; i < 4; i++) CALL(realm_metrics_increment(m, REALM_METRIC_CONNECTION_STARTED, 1));
  CALL(realm_metrics_increment(m, REALM_METRIC_CLIENT_UNSYNCABLE, 1));
  CALL(realm_metrics_increment(m, REALM_METRIC_SESSION_STARTED, 1));
  CALL(realm_metrics_increment(m, REALM_METRIC_SESSION_STARTED, 2));
  CALL(realm_metrics_increment(m, REALM_METRIC_SESSION_FAILED, 2));
  CALL(realm_metrics_increment(m, REALM_METRIC_SESSION_TERMINATED, 1));
  CALL(realm_metrics_increment(m, REALM_METRIC_PROTOCOL_BYTES_RECEIVED, 1000));
  CALL(realm_metrics_increment(m, REALM_METRIC_PROTOCOL_BYTES_SENT, 4096));
  CALL(realm_metrics_protocol_used(m, 24));
  CALL(realm_metrics_protocol_used(m, 24));
  CALL(realm_metrics_protocol_used(m, 26));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_SESSION_ONLINE, 11));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_CONNECTION_ONLINE, 40));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_REALMS_OPEN, 5));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_PROTOCOL_BYTES_RECEIVED_GAUGE, 1000));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_PROTOCOL_BYTES_SENT_GAUGE, 123));
  CALL(realm_metrics_flush(m));

  /* Batch 2. */
  for (int i = 0; i < 3; i++) CALL(realm_metrics_increment(m, REALM_METRIC_CONNECTION_STARTED, 1));
  CALL(realm_metrics_increment(m, REALM_METRIC_SESSION_TERMINATED, 1));
  CALL(realm_metrics_increment(m, REALM_METRIC_CONNECTION_FAILED, 4));
  CALL(realm_metrics_increment(m, REALM_METRIC_CONNECTION_TERMINATED, 5));
  CALL(realm_metrics_increment(m, REALM_METRIC_AUTHENTICATION_FAILED, 6));
  CALL(realm_metrics_increment(m, REALM_METRIC_PERMISSION_DENIED, 8));
  CALL(realm_metrics_increment(m, REALM_METRIC_PROTOCOL_VIOLATED, 9));
  CALL(realm_metrics_increment(m, REALM_METRIC_PROTOCOL_BYTES_RECEIVED, 234));
  CALL(realm_metrics_increment(m, REALM_METRIC_PROTOCOL_BYTES_SENT, 1));
  CALL(realm_metrics_protocol_used(m, 24));
  CALL(realm_metrics_protocol_used(m, 26));
  CALL(realm_metrics_gauge_add(m, REALM_METRIC_CONNECTION_ONLINE, 2));
  CALL(realm_metrics_gauge_add(m, REALM_METRIC_REALMS_OPEN, -8));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_PROTOCOL_BYTES_RECEIVED_GAUGE, 987654));
  CALL(realm_metrics_gauge_set(m, REALM_METRIC_PROTOCOL_BYTES_SENT_GAUGE, INT64_C(5000000000)));
  CALL(realm_metrics_flush(m));
  CALL(realm_metrics_close(m));

  realm_metrics_stats st;
  CALL(realm_metrics_get_stats(m, &st));
  realm_metrics_free(m);
  printf("{\"binding\":\"c\",\"flushes\":%" PRIu64 ",\"packets_sent\":%" PRIu64
         ",\"lines_sent\":%" PRIu64 ",\"send_errors\":%" PRIu64
         ",\"lines_dropped_oversize\":%" PRIu64 ",\"encode_errors\":%" PRIu64
         ",\"dropped_protocol_versions\":%" PRIu64 "}\n",
         st.flushes, st.packets_sent, st.lines_sent, st.send_errors, st.lines_dropped_oversize,
         st.encode_errors, st.dropped_protocol_versions);
  return failures == 0 ? 0 : 1;
}

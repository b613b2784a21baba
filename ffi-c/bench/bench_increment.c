/* ns per realm_metrics_increment on 1 and 2 threads, next to a plain C11 atomic_fetch_add on
 * one shared counter, in the same run.  Usage: bench_increment [iterations per thread] */
#define _POSIX_C_SOURCE 200809L
#include "realm_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t iterations = 50000000;
static atomic_uint_fast64_t shared_counter;
static realm_metrics *m;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *run_atomic(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < iterations; i++) atomic_fetch_add_explicit(&shared_counter, 1, memory_order_relaxed);
  return NULL;
}

static void *run_ours(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < iterations; i++) realm_metrics_increment(m, REALM_METRIC_CONNECTION_STARTED, 1);
  return NULL;
}

static double ns_per_op(void *(*fn)(void *), int threads) {
  pthread_t t[2];
  double start = now();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  /* Per event, as seen by a caller: wall time / events per thread. */
  return (now() - start) / (double)iterations;
}

int main(int argc, char **argv) {
  if (argc > 1) iterations = strtoull(argv[1], NULL, 10);
  realm_metrics_options o;
  realm_metrics_options_init(&o);
  o.host = "127.0.0.1";
  o.prefix = "bench";
  if (realm_metrics_new(&o, &m) != REALM_METRICS_OK) return 1;
  printf("%-40s %10s %10s\n", "ns per event", "1 thread", "2 threads");
  double best[2][2] = {{1e18, 1e18}, {1e18, 1e18}};
  for (int round = 0; round < 5; round++) { /* alternate, keep the best of each */
    for (int th = 1; th <= 2; th++) {
      double a = ns_per_op(run_atomic, th);
      double b = ns_per_op(run_ours, th);
      if (a < best[0][th - 1]) best[0][th - 1] = a;
      if (b < best[1][th - 1]) best[1][th - 1] = b;
    }
  }
  printf("%-40s %10.2f %10.2f\n", "C11 atomic_fetch_add (one counter)", best[0][0], best[0][1]);
  printf("%-40s %10.2f %10.2f\n", "realm_metrics_increment", best[1][0], best[1][1]);
  printf("%-40s %10.2fx %9.2fx\n", "ratio (ours / atomic)", best[1][0] / best[0][0], best[1][1] / best[0][1]);
  realm_metrics_free(m);
  return 0;
}

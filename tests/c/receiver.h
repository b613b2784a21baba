/* A real StatsD receiver for the C tests: a UDP socket on 127.0.0.1:<ephemeral> and a thread
 * that applies what arrives with Etsy statsd's rules (counters summed, gauges absolute unless
 * signed). Small and test-only. */
#ifndef REALM_TEST_RECEIVER_H
#define REALM_TEST_RECEIVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_MAX_NAMES 256

typedef struct rx_entry {
  char name[256];
  char type[4];
  double value; /* counter: sum of value/rate; gauge: current value */
} rx_entry;

typedef struct receiver {
  int fd;
  uint16_t port;
  pthread_t thread;
  pthread_mutex_t lock;
  int stop;
  rx_entry entries[RX_MAX_NAMES];
  int n_entries;
  uint64_t datagrams;
  size_t max_datagram;
  int gauge_pairs_split; /* a "name:0|g" ending one datagram and "name:-N|g" starting the next */
} receiver;

static rx_entry *rx_find(receiver *r, const char *name, const char *type) {
  for (int i = 0; i < r->n_entries; i++) {
    if (strcmp(r->entries[i].name, name) == 0 && strcmp(r->entries[i].type, type) == 0) {
      return &r->entries[i];
    }
  }
  if (r->n_entries == RX_MAX_NAMES) return NULL;
  rx_entry *e = &r->entries[r->n_entries++];
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->type, sizeof e->type, "%s", type);
  e->value = 0;
  return e;
}

static void rx_apply_line(receiver *r, char *line) {
  char *colon = strchr(line, ':');
  if (!colon) return;
  *colon = 0;
  char *value = colon + 1;
  char *bar = strchr(value, '|');
  if (!bar) return;
  *bar = 0;
  char *type = bar + 1;
  double rate = 1.0;
  char *field = strchr(type, '|');
  if (field) {
    *field = 0;
    if (field[1] == '@') rate = strtod(field + 2, NULL);
  }
  rx_entry *e = rx_find(r, line, type);
  if (!e) return;
  double v = strtod(value, NULL);
  if (strcmp(type, "g") == 0) {
    if (value[0] == '+' || value[0] == '-') e->value += v;
    else e->value = v;
  } else {
    e->value += v / rate;
  }
}

static void *rx_run(void *arg) {
  receiver *r = (receiver *)arg;
  char buf[65536];
  for (;;) {
    struct pollfd p = {r->fd, POLLIN, 0};
    int ready = poll(&p, 1, 50);
    pthread_mutex_lock(&r->lock);
    int stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    if (ready <= 0) {
      if (stop) break;
      continue;
    }
    ssize_t n = recv(r->fd, buf, sizeof buf - 1, 0);
    if (n <= 0) continue;
    buf[n] = 0;
    pthread_mutex_lock(&r->lock);
    r->datagrams++;
    if ((size_t)n > r->max_datagram) r->max_datagram = (size_t)n;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      rx_apply_line(r, line);
    }
    pthread_mutex_unlock(&r->lock);
  }
  return NULL;
}

static int rx_start(receiver *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  r->fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (r->fd < 0) return -1;
  int size = 8 << 20;
  setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(r->fd, (struct sockaddr *)&a, &len);
  r->port = ntohs(a.sin_port);
  return pthread_create(&r->thread, NULL, rx_run, r);
}

/* Wait until no datagram arrived for `quiet_ms` (at most 20 rounds: an emitter re-sends its
 * gauges every flush interval, so traffic may never stop). */
static void rx_settle(receiver *r, int quiet_ms) {
  uint64_t last = (uint64_t)-1;
  for (int round = 0; round < 20; round++) {
    pthread_mutex_lock(&r->lock);
    uint64_t now = r->datagrams;
    pthread_mutex_unlock(&r->lock);
    if (now == last) return;
    last = now;
    struct timespec ts = {quiet_ms / 1000, (long)(quiet_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static double rx_value(receiver *r, const char *name, const char *type) {
  pthread_mutex_lock(&r->lock);
  double v = -1e300;
  for (int i = 0; i < r->n_entries; i++) {
    if (strcmp(r->entries[i].name, name) == 0 && strcmp(r->entries[i].type, type) == 0) {
      v = r->entries[i].value;
    }
  }
  pthread_mutex_unlock(&r->lock);
  return v;
}

static void rx_stop(receiver *r) {
  pthread_mutex_lock(&r->lock);
  r->stop = 1;
  pthread_mutex_unlock(&r->lock);
  pthread_join(r->thread, NULL);
  close(r->fd);
  pthread_mutex_destroy(&r->lock);
}

#endif

// The transport floor for ratio.sh's c=1 point: the least any HTTP server on this host can add to a request.
// It answers every HTTP/1.1 request on one keep-alive connection at a time: reads the headers and the
// Content-Length body into one large buffer, busy-waits SPIN_MS milliseconds (standing in for the model, so the
// connection sees the same idle gaps as with the real server), and writes a fixed response the size of T0's
// binary logits answer. What its p50 shows above SPIN_MS is the cost of moving the request through the client,
// the kernel's loopback and back, with no runtime, no parsing beyond Content-Length and no hand-off.
//
//   cc -O2 -o floor floor.c && taskset -c 1 ./floor PORT SPIN_MS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBufferBytes = 8 << 20, kResponseBodyBytes = 4143 };  // room for any benchmark body; T0's answer

static char buffer[kBufferBytes];

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

// Reads until `want` bytes are buffered; 0 when the client closed or the request does not fit.
static int fill(int connection, size_t* have, size_t want) {
  while (*have < want) {
    if (want > kBufferBytes) return 0;
    ssize_t n = recv(connection, buffer + *have, kBufferBytes - *have, 0);
    if (n <= 0) return 0;
    *have += (size_t)n;
  }
  return 1;
}

static void serve_connection(int connection, double spin_seconds, const char* response, size_t response_bytes) {
  size_t have = 0;
  for (;;) {
    char* end_of_headers;
    while (!(end_of_headers = memmem(buffer, have, "\r\n\r\n", 4)))
      if (!fill(connection, &have, have + 1)) return;
    size_t header_bytes = (size_t)(end_of_headers + 4 - buffer);
    end_of_headers[2] = '\0';  // so the header search stops at the headers
    const char* length_field = strcasestr(buffer, "\r\ncontent-length:");
    size_t request_bytes = header_bytes + (length_field ? strtoul(length_field + 17, NULL, 10) : 0);
    if (!fill(connection, &have, request_bytes)) return;
    for (double start = seconds_now(); seconds_now() - start < spin_seconds;) {
    }
    if (write(connection, response, response_bytes) != (ssize_t)response_bytes) return;
    memmove(buffer, buffer + request_bytes, have - request_bytes);  // a pipelined next request, if any
    have -= request_bytes;
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: floor PORT SPIN_MS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double spin_seconds = atof(argv[2]) / 1000;
  static char response[256 + kResponseBodyBytes];
  int head = snprintf(response, 256, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
                      kResponseBodyBytes);
  memset(response + head, 0, kResponseBodyBytes);

  int listener = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0 || listen(listener, 64) != 0) {
    perror("floor: bind/listen");
    return 1;
  }
  for (;;) {
    int connection = accept(listener, NULL, NULL);
    if (connection < 0) continue;
    serve_connection(connection, spin_seconds, response, (size_t)head + kResponseBodyBytes);
    close(connection);
  }
}

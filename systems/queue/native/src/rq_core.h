/*
 * rq: a multi-producer, multi-consumer queue of variable-length records in a named POSIX
 * shared-memory segment. Producers serialise on one process-shared robust mutex and consumers on
 * another, so a producer and a consumer never wait for each other; each side publishes one
 * monotonic ring position that the other side reads. Crash safety: every state change of a side
 * is journaled (write the new state, mark it valid, apply it, clear the mark), so the next locker
 * of that side after an EOWNERDEAD rolls a half-applied change forward. Blocking waits spin on the
 * condition, then sleep on futex words shared between processes (no FUTEX_PRIVATE_FLAG); a put or
 * get touches a futex word only when someone sleeps on it.
 */
#ifndef RQ_CORE_H
#define RQ_CORE_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rq_status {
  RQ_OK = 0,
  RQ_EMPTY = 1,
  RQ_FULL = 2,
  RQ_CLOSED = 3,
  RQ_TOO_LARGE = 4,
  RQ_CORRUPT = 5,
  RQ_BUF_SMALL = 6,
  RQ_TIMEOUT = 7,
  RQ_EXISTS = 8,
  RQ_NOT_FOUND = 9,
  RQ_SYS = 10,
  RQ_INVALID = 11,
  RQ_CANCELLED = 12,
  RQ_TASK_DONE_TOO_MANY = 13
};

/* JOINED: every message put has been marked done (rq_task_done), or the queue was closed */
enum rq_wait_kind { RQ_WAIT_READABLE = 0, RQ_WAIT_WRITABLE = 1, RQ_WAIT_JOINED = 2 };

#define RQ_MAGIC 0x4555455551474952ULL /* "RIGQUEUE" little-endian */
#define RQ_LAYOUT_VERSION 3u
#define RQ_DATA_OFFSET 1024u
#define RQ_RECORD_HEADER 8u
#define RQ_MIN_CAPACITY 64u
#define RQ_MAX_CAPACITY (1ULL << 40)
#define RQ_NAME_MAX 200

typedef struct rq_handle rq_handle;

typedef struct rq_stats {
  uint64_t capacity;
  uint64_t max_message;
  uint64_t count;
  uint64_t used_bytes;
  uint64_t payload_bytes;
  uint64_t msgs_in;
  uint64_t msgs_out;
  uint64_t bytes_in;
  uint64_t bytes_out;
  uint64_t high_water_bytes;
  uint64_t recoveries;
  uint64_t tasks_done;
  uint64_t unfinished;
  uint32_t creator_pid;
  uint32_t closed;
} rq_stats;

/* All functions return an rq_status; on RQ_SYS, errno holds the cause. */
int rq_create(const char *name, uint64_t capacity, uint64_t max_message, rq_handle **out);
int rq_open(const char *name, rq_handle **out);
void rq_close(rq_handle *h);
int rq_unlink(const char *name);
/* The path of the segment in /dev/shm of a name ("/rig-q-<name>"). */
int rq_shm_name(const char *name, char *out, size_t out_len);

int rq_put(rq_handle *h, const void *data, uint32_t len);
/* Puts records back to back until one does not fit; *done = how many. */
int rq_put_batch(rq_handle *h, const uint8_t *data, const uint32_t *lens, uint32_t n, uint32_t *done);
/* Copies one record into buf (under the lock); *len = its length (also on RQ_BUF_SMALL). */
int rq_get(rq_handle *h, void *buf, uint32_t cap, uint32_t *len);
/* Copies records back to back into buf until max or until the next one does not fit. */
int rq_get_batch(rq_handle *h, uint8_t *buf, uint64_t cap, uint32_t *lens, uint32_t max, uint32_t *done);

/* Waits until the queue holds a message (RQ_WAIT_READABLE) or has room for a record of `need`
   ring bytes (RQ_WAIT_WRITABLE; rq_record_size of the payload), or is closed: spin iterations
   first, then the futex. timeout_ms < 0 waits forever. cancel (optional) is polled on each wake.
   RQ_OK means "try again": another caller may have taken the message or the room first. */
int rq_wait(rq_handle *h, int kind, uint64_t need, int64_t timeout_ms, uint32_t spin, const volatile int *cancel);
/* Ring bytes a payload of len takes (header + payload padded to 8). */
uint64_t rq_record_size(uint32_t len);
/* Wakes every waiter of both kinds (used to cancel a wait). */
void rq_wake_all(rq_handle *h);

/* Marks one message put as processed (Python's Queue.task_done, across processes): the count of
   unfinished tasks is messages put minus tasks done. RQ_TASK_DONE_TOO_MANY when it would go below 0. */
int rq_task_done(rq_handle *h);
/* Messages put and not yet marked done (a snapshot). */
uint64_t rq_unfinished(rq_handle *h);
/* The pid of the process that created the segment (0 for segments of older layouts). */
uint32_t rq_creator_pid(rq_handle *h);

/* Marks the queue closed for every process: puts fail, gets drain then fail, waiters wake. */
int rq_shutdown(rq_handle *h);
int rq_stats_get(rq_handle *h, rq_stats *out);
uint64_t rq_count(rq_handle *h);
uint64_t rq_capacity(rq_handle *h);
uint64_t rq_max_message(rq_handle *h);
int rq_is_closed(rq_handle *h);
const char *rq_status_name(int status);

/* Fault injection for tests: 1 = take both locks and sleep forever (kill me while I hold them);
   2 = put data but die by SIGKILL half-way through applying the producer's journaled state. */
int rq_debug_fault(rq_handle *h, int mode, const void *data, uint32_t len);

#ifdef __cplusplus
}
#endif
#endif

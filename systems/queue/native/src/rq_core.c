#define _GNU_SOURCE
#include "rq_core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CACHE_LINE 128
#define REC_DATA 0x44415441u /* "DATA" */

/* One side's state: producers own `in`, consumers own `out`. Positions count ring bytes since
   creation (they never wrap; offset = pos % capacity), so the other side needs one load to know
   how much data or room there is. */
typedef struct rq_side {
  uint64_t pos;        /* ring bytes written (in) or released (out), records with headers */
  uint64_t msgs;       /* messages put (in) or taken (out) */
  uint64_t bytes;      /* payload bytes put (in) or taken (out) */
  uint64_t high_water; /* in only: most ring bytes ever in use */
} rq_side;

/* A side's lock and journal share a line that only that side's callers touch. */
typedef struct rq_lock {
  pthread_mutex_t mutex;
  uint32_t journal_valid;
  rq_side journal;
} rq_lock;

typedef struct rq_header {
  /* line 0: fixed at creation, validated on open */
  uint64_t magic;
  uint32_t version;
  uint32_t data_offset;
  uint64_t capacity;
  uint64_t max_message;
  uint64_t check;
  uint64_t created_ns;
  uint32_t creator_pid;
  /* rarely written: shutdown and lock recovery */
  uint32_t closed;
  uint64_t recoveries;
  /* tasks marked done by consumers (task_done); unfinished = in.msgs - tasks_done */
  _Alignas(CACHE_LINE) uint64_t tasks_done;
  uint32_t joined_seq;
  uint32_t joined_waiters;
  _Alignas(CACHE_LINE) rq_lock put_lock; /* producers */
  _Alignas(CACHE_LINE) rq_side in;       /* published by producers, read by consumers */
  _Alignas(CACHE_LINE) rq_lock get_lock; /* consumers */
  _Alignas(CACHE_LINE) rq_side out;      /* published by consumers, read by producers */
  /* futex words: moved (and woken) only when their waiter count is non-zero */
  _Alignas(CACHE_LINE) uint32_t readable_seq;
  uint32_t readable_waiters;
  _Alignas(CACHE_LINE) uint32_t writable_seq;
  uint32_t writable_waiters;
} rq_header;

_Static_assert(sizeof(rq_header) <= RQ_DATA_OFFSET, "header must fit before the data area");
_Static_assert(sizeof(rq_lock) <= CACHE_LINE, "a lock and its journal fit one line");

struct rq_handle {
  rq_header *hdr;
  uint8_t *data;
  size_t map_size;
  uint64_t capacity;
  uint64_t max_message;
  /* lower bounds of the other side's position seen by this handle (positions only grow) */
  uint64_t seen_in;
  uint64_t seen_out;
  /* the segment's device and inode: how a lock's owner is recognised as one of its users */
  uint64_t dev;
  uint64_t ino;
};

/* Keeps the compiler from moving stores across it. Within one process that is all crash
   consistency needs: a SIGKILL lands between instructions, and every store before it reaches the
   shared mapping. Other processes reading a published position use acquire/release. */
#define COMPILER_BARRIER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static uint64_t check_of(const rq_header *h) {
  uint64_t x = 1469598103934665603ULL; /* FNV-1a over the fixed fields */
  const uint64_t parts[5] = {h->magic, h->version, h->data_offset, h->capacity, h->max_message};
  const uint8_t *p = (const uint8_t *)parts;
  for (size_t i = 0; i < sizeof(parts); i++) x = (x ^ p[i]) * 1099511628211ULL;
  return x;
}

static inline uint64_t align8(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }

int rq_shm_name(const char *name, char *out, size_t out_len) {
  size_t n = strlen(name);
  if (n == 0 || n > RQ_NAME_MAX) return RQ_INVALID;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return RQ_INVALID;
  }
  if ((size_t)snprintf(out, out_len, "/rig-q-%s", name) >= out_len) return RQ_INVALID;
  return RQ_OK;
}

/* Journal, then apply: a process killed anywhere in here leaves either the old state with the
   journal unmarked, or a marked journal that the next locker of this side applies again. The
   position is stored last, with release, so that the other side sees the records it covers. */
static void commit_side(rq_lock *l, rq_side *pub, const rq_side *s) {
  l->journal = *s;
  COMPILER_BARRIER();
  __atomic_store_n(&l->journal_valid, 1u, __ATOMIC_RELAXED);
  COMPILER_BARRIER();
  __atomic_store_n(&pub->msgs, s->msgs, __ATOMIC_RELAXED);
  __atomic_store_n(&pub->bytes, s->bytes, __ATOMIC_RELAXED);
  __atomic_store_n(&pub->high_water, s->high_water, __ATOMIC_RELAXED);
  __atomic_store_n(&pub->pos, s->pos, __ATOMIC_RELEASE);
  COMPILER_BARRIER();
  __atomic_store_n(&l->journal_valid, 0u, __ATOMIC_RELAXED);
}

static void load_side(const rq_side *pub, rq_side *s) {
  s->pos = __atomic_load_n(&pub->pos, __ATOMIC_RELAXED);
  s->msgs = __atomic_load_n(&pub->msgs, __ATOMIC_RELAXED);
  s->bytes = __atomic_load_n(&pub->bytes, __ATOMIC_RELAXED);
  s->high_water = __atomic_load_n(&pub->high_water, __ATOMIC_RELAXED);
}

/* The two positions must describe a ring: aligned, out <= in <= out + capacity. */
static int positions_sane(uint64_t in, uint64_t out, uint64_t cap) {
  return ((in | out) & 7u) == 0 && out <= in && in - out <= cap;
}

static void wake_word(uint32_t *word) {
  __atomic_add_fetch(word, 1u, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* After a change: a waiter registers before it checks the condition, this side publishes before
   it reads the count; the fence between makes sure one of the two sees the other. */
static inline void wake_if_waiting(uint32_t *word, uint32_t *waiters) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(waiters, __ATOMIC_RELAXED) != 0) wake_word(word);
}

/* Called with the side's mutex held after EOWNERDEAD: finish the dead owner's journaled change. */
static int repair(rq_handle *q, rq_lock *l, rq_side *pub) {
  rq_header *h = q->hdr;
  if (__atomic_load_n(&l->journal_valid, __ATOMIC_ACQUIRE)) {
    rq_side s = l->journal;
    commit_side(l, pub, &s);
  }
  __atomic_add_fetch(&h->recoveries, 1u, __ATOMIC_SEQ_CST);
  /* a waiter may have been waiting on a change the dead process never announced */
  wake_word(&h->readable_seq);
  wake_word(&h->writable_seq);
  uint64_t in = __atomic_load_n(&h->in.pos, __ATOMIC_ACQUIRE);
  uint64_t out = __atomic_load_n(&h->out.pos, __ATOMIC_ACQUIRE);
  /* the other side may be moving: a consumer only ever closes the gap, a producer only within cap */
  return ((in | out) & 7u) == 0 && out <= in + q->capacity ? RQ_OK : RQ_CORRUPT;
}

/* The kind glibc gives a robust process-shared mutex. Any other value in the segment is corruption,
   and some (priority inheritance or protection) make glibc abort or wait forever. */
static int mutex_kind_ok(const pthread_mutex_t *m) {
#ifdef __GLIBC__
  static int expected = -1;
  if (__atomic_load_n(&expected, __ATOMIC_RELAXED) < 0) {
    pthread_mutex_t ref;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&ref, &attr);
    pthread_mutexattr_destroy(&attr);
    __atomic_store_n(&expected, ref.__data.__kind, __ATOMIC_RELAXED);
  }
  return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) == __atomic_load_n(&expected, __ATOMIC_RELAXED);
#else
  (void)m;
  return 1;
#endif
}

/* Whether thread tid may hold a lock of this segment: it exists and maps the segment (its
   /proc/<tid>/maps names our device and inode). A thread whose maps this process may not read
   (another user's, a non-dumpable one) cannot have opened a 0600 segment of ours: not a user. */
static int owner_may_hold(rq_handle *q, pid_t tid) {
  if (kill(tid, 0) != 0 && errno == ESRCH) return 0;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/maps", (int)tid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[512];
  int found = 0;
  while (!found && fgets(line, sizeof(line), f)) {
    unsigned maj, min;
    unsigned long long ino;
    if (sscanf(line, "%*x-%*x %*s %*x %x:%x %llu", &maj, &min, &ino) == 3)
      found = ino == q->ino && makedev(maj, min) == q->dev;
  }
  fclose(f);
  return found;
}

/* pthread_mutex_lock that cannot wait forever on a garbage lock word: after each 200 ms of waiting
   it checks that the word's owner (a thread id) is a live user of this segment. The kernel marks the
   word of an owner that died (EOWNERDEAD), so an owner that is gone, or a stranger, is corruption. */
static int mutex_lock_checked(rq_handle *q, pthread_mutex_t *m) {
  int rc = pthread_mutex_trylock(m);
  while (rc == EBUSY || rc == ETIMEDOUT) {
    if (rc == ETIMEDOUT) {
      uint32_t *lock = (uint32_t *)&m->__data.__lock;
      uint32_t word = __atomic_load_n(lock, __ATOMIC_ACQUIRE);
      pid_t tid = (pid_t)(word & FUTEX_TID_MASK);
      /* this thread never locks a side twice, so a word naming it is garbage too; an owner that
         dies meanwhile changes the word (the kernel marks it) before its thread id goes away */
      if (tid != 0 && !(word & FUTEX_OWNER_DIED) && (tid == gettid() || !owner_may_hold(q, tid)) &&
          __atomic_load_n(lock, __ATOMIC_ACQUIRE) == word)
        return ENOTRECOVERABLE;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
  }
  return rc;
}

static int lock_side(rq_handle *q, rq_lock *l, rq_side *pub) {
  if (!mutex_kind_ok(&l->mutex)) return RQ_CORRUPT;
  int rc = mutex_lock_checked(q, &l->mutex);
  if (rc == 0) return RQ_OK;
  if (rc == EOWNERDEAD) {
    int st = repair(q, l, pub);
    pthread_mutex_consistent(&l->mutex);
    if (st != RQ_OK) {
      pthread_mutex_unlock(&l->mutex);
      return st;
    }
    return RQ_OK;
  }
  if (rc == ENOTRECOVERABLE || rc == EINVAL) return RQ_CORRUPT;
  errno = rc;
  return RQ_SYS;
}

static inline int lock_put(rq_handle *q) { return lock_side(q, &q->hdr->put_lock, &q->hdr->in); }
static inline int lock_get(rq_handle *q) { return lock_side(q, &q->hdr->get_lock, &q->hdr->out); }
static inline void unlock_put(rq_handle *q) { pthread_mutex_unlock(&q->hdr->put_lock.mutex); }
static inline void unlock_get(rq_handle *q) { pthread_mutex_unlock(&q->hdr->get_lock.mutex); }

/* Both sides, always producers first (stats, shutdown, open checks). */
static int lock_both(rq_handle *q) {
  int st = lock_put(q);
  if (st != RQ_OK) return st;
  st = lock_get(q);
  if (st != RQ_OK) unlock_put(q);
  return st;
}

static void unlock_both(rq_handle *q) {
  unlock_get(q);
  unlock_put(q);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int map_segment(int fd, size_t size, rq_handle **out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return RQ_SYS;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return RQ_SYS;
  rq_handle *h = calloc(1, sizeof(*h));
  if (!h) {
    munmap(p, size);
    errno = ENOMEM;
    return RQ_SYS;
  }
  h->hdr = (rq_header *)p;
  h->data = (uint8_t *)p + RQ_DATA_OFFSET;
  h->map_size = size;
  h->dev = (uint64_t)st.st_dev;
  h->ino = (uint64_t)st.st_ino;
  h->capacity = h->hdr->capacity; /* 0 until rq_create sets it; rq_open re-reads after validating */
  h->max_message = h->hdr->max_message;
  *out = h;
  return RQ_OK;
}

int rq_create(const char *name, uint64_t capacity, uint64_t max_message, rq_handle **out) {
  char shm[RQ_NAME_MAX + 16];
  if (rq_shm_name(name, shm, sizeof(shm)) != RQ_OK) return RQ_INVALID;
  if (capacity < RQ_MIN_CAPACITY || capacity > RQ_MAX_CAPACITY || (capacity & 7u)) return RQ_INVALID;
  if (max_message == 0) max_message = capacity - RQ_RECORD_HEADER;
  if (max_message > capacity - RQ_RECORD_HEADER || max_message > UINT32_MAX) return RQ_INVALID;
  int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return errno == EEXIST ? RQ_EXISTS : RQ_SYS;
  size_t size = RQ_DATA_OFFSET + capacity;
  if (ftruncate(fd, (off_t)size) != 0) {
    int e = errno;
    close(fd);
    shm_unlink(shm);
    errno = e;
    return RQ_SYS;
  }
  rq_handle *h = NULL;
  int st = map_segment(fd, size, &h);
  close(fd);
  if (st != RQ_OK) {
    int e = errno;
    shm_unlink(shm);
    errno = e;
    return st;
  }
  rq_header *hd = h->hdr; /* the fresh segment is zero-filled */
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(&hd->put_lock.mutex, &attr);
  if (rc == 0) rc = pthread_mutex_init(&hd->get_lock.mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    rq_close(h);
    shm_unlink(shm);
    errno = rc;
    return RQ_SYS;
  }
  hd->version = RQ_LAYOUT_VERSION;
  hd->data_offset = RQ_DATA_OFFSET;
  hd->capacity = capacity;
  hd->max_message = max_message;
  hd->created_ns = now_ns();
  hd->creator_pid = (uint32_t)getpid();
  h->capacity = capacity;
  h->max_message = max_message;
  /* the magic last: an opener that sees it sees an initialised header */
  __atomic_store_n(&hd->magic, RQ_MAGIC, __ATOMIC_SEQ_CST);
  hd->check = check_of(hd);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  *out = h;
  return RQ_OK;
}

int rq_open(const char *name, rq_handle **out) {
  char shm[RQ_NAME_MAX + 16];
  if (rq_shm_name(name, shm, sizeof(shm)) != RQ_OK) return RQ_INVALID;
  int fd = shm_open(shm, O_RDWR, 0600);
  if (fd < 0) return errno == ENOENT ? RQ_NOT_FOUND : RQ_SYS;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return RQ_SYS;
  }
  if ((uint64_t)st.st_size < RQ_DATA_OFFSET + RQ_MIN_CAPACITY) {
    close(fd);
    return RQ_CORRUPT;
  }
  rq_handle *h = NULL;
  int rc = map_segment(fd, (size_t)st.st_size, &h);
  close(fd);
  if (rc != RQ_OK) return rc;
  rq_header *hd = h->hdr;
  /* a creator may still be initialising: give it a moment to publish the check word */
  for (int i = 0; i < 200 && (hd->check == 0 || __atomic_load_n(&hd->magic, __ATOMIC_SEQ_CST) == 0); i++) {
    usleep(1000);
  }
  int ok = hd->magic == RQ_MAGIC && hd->version == RQ_LAYOUT_VERSION && hd->data_offset == RQ_DATA_OFFSET &&
           hd->capacity >= RQ_MIN_CAPACITY && (hd->capacity & 7u) == 0 &&
           hd->capacity + RQ_DATA_OFFSET == (uint64_t)st.st_size && hd->max_message > 0 &&
           hd->max_message <= hd->capacity - RQ_RECORD_HEADER && hd->check == check_of(hd);
  if (!ok) {
    rq_close(h);
    return RQ_CORRUPT;
  }
  h->capacity = hd->capacity;
  h->max_message = hd->max_message;
  /* the positions are checked with both sides still, so that live traffic cannot fool the check */
  int ls = lock_both(h);
  if (ls != RQ_OK) {
    rq_close(h);
    return ls;
  }
  uint64_t in_pos = hd->in.pos, out_pos = hd->out.pos;
  ok = positions_sane(in_pos, out_pos, hd->capacity) && hd->out.msgs <= hd->in.msgs &&
       hd->in.msgs - hd->out.msgs <= (in_pos - out_pos) / RQ_RECORD_HEADER && hd->out.bytes <= hd->in.bytes &&
       hd->in.bytes - hd->out.bytes <= in_pos - out_pos;
  unlock_both(h);
  if (!ok) {
    rq_close(h);
    return RQ_CORRUPT;
  }
  h->seen_in = in_pos;
  h->seen_out = out_pos;
  *out = h;
  return RQ_OK;
}

void rq_close(rq_handle *h) {
  if (!h) return;
  munmap(h->hdr, h->map_size);
  free(h);
}

int rq_unlink(const char *name) {
  char shm[RQ_NAME_MAX + 16];
  if (rq_shm_name(name, shm, sizeof(shm)) != RQ_OK) return RQ_INVALID;
  if (shm_unlink(shm) != 0) return errno == ENOENT ? RQ_NOT_FOUND : RQ_SYS;
  return RQ_OK;
}


uint64_t rq_record_size(uint32_t len) { return RQ_RECORD_HEADER + align8(len); }

/* ---- producers ---- */

/* True when a record of rec bytes fits after position in; reads the consumers' position only
   when the last one this handle saw says it might not. */
static inline int room_for(rq_handle *q, uint64_t in, uint64_t rec) {
  if (in - q->seen_out + rec <= q->capacity) return 1;
  q->seen_out = __atomic_load_n(&q->hdr->out.pos, __ATOMIC_ACQUIRE);
  return in - q->seen_out + rec <= q->capacity;
}

/* Copies header and payload to the ring at offset off (= position % capacity); the payload wraps
   at the ring's end (headers never do: positions and capacity are multiples of 8). */
static void write_record(rq_handle *q, uint64_t off, const uint8_t *data, uint32_t len) {
  uint64_t cap = q->capacity;
  uint32_t *rh = (uint32_t *)(q->data + off);
  rh[0] = len;
  rh[1] = REC_DATA;
  off += RQ_RECORD_HEADER;
  if (off == cap) off = 0;
  uint64_t first = cap - off < len ? cap - off : len;
  if (first) memcpy(q->data + off, data, first);
  if (first < len) memcpy(q->data, data + first, len - first);
}

/* Appends records to s (this side's private copy) until one does not fit; returns how many. */
static uint32_t place(rq_handle *q, rq_side *s, const uint8_t *data, const uint32_t *lens, uint32_t n) {
  uint32_t i = 0;
  uint64_t off = s->pos % q->capacity;
  for (; i < n; i++) {
    uint64_t rec = rq_record_size(lens[i]);
    if (!room_for(q, s->pos, rec)) break;
    write_record(q, off, data, lens[i]);
    off += rec;
    if (off >= q->capacity) off -= q->capacity;
    data += lens[i];
    s->pos += rec;
    s->msgs++;
    s->bytes += lens[i];
  }
  if (i && s->pos - q->seen_out > s->high_water) {
    /* a new high-water mark against a stale view of the consumers: look again before recording it */
    q->seen_out = __atomic_load_n(&q->hdr->out.pos, __ATOMIC_ACQUIRE);
    if (s->pos - q->seen_out > s->high_water) s->high_water = s->pos - q->seen_out;
  }
  return i;
}

static int put_records(rq_handle *q, const uint8_t *data, const uint32_t *lens, uint32_t n, uint32_t *done) {
  rq_header *h = q->hdr;
  *done = 0;
  int st = lock_put(q);
  if (st != RQ_OK) return st;
  if (__atomic_load_n(&h->closed, __ATOMIC_RELAXED)) {
    unlock_put(q);
    return RQ_CLOSED;
  }
  rq_side s;
  load_side(&h->in, &s);
  uint32_t i = place(q, &s, data, lens, n);
  if (i) commit_side(&h->put_lock, &h->in, &s);
  unlock_put(q);
  *done = i;
  if (!i) return RQ_FULL;
  wake_if_waiting(&h->readable_seq, &h->readable_waiters);
  return RQ_OK;
}

int rq_put(rq_handle *q, const void *data, uint32_t len) {
  if (len > q->max_message) return RQ_TOO_LARGE;
  uint32_t done;
  return put_records(q, (const uint8_t *)data, &len, 1, &done);
}

int rq_put_batch(rq_handle *q, const uint8_t *data, const uint32_t *lens, uint32_t n, uint32_t *done) {
  *done = 0;
  if (n == 0) return RQ_OK;
  for (uint32_t i = 0; i < n; i++) {
    if (lens[i] > q->max_message) {
      if (i == 0) return RQ_TOO_LARGE;
      n = i;
      break;
    }
  }
  return put_records(q, data, lens, n, done);
}

/* ---- consumers ---- */

/* True when a record starts at position out; reads the producers' position only when the last
   one this handle saw says there is none. */
static inline int data_after(rq_handle *q, uint64_t out) {
  if (out < q->seen_in) return 1;
  q->seen_in = __atomic_load_n(&q->hdr->in.pos, __ATOMIC_ACQUIRE);
  return out < q->seen_in;
}

/* Reads and checks the record header at position out (ring offset off): *len its payload length. */
static int record_at(rq_handle *q, uint64_t out, uint64_t off, uint32_t *len) {
  const uint32_t *rh = (const uint32_t *)(q->data + off);
  uint32_t n = rh[0];
  if (rh[1] != REC_DATA || n > q->max_message || rq_record_size(n) > q->seen_in - out) return RQ_CORRUPT;
  *len = n;
  return RQ_OK;
}

static void read_payload(rq_handle *q, uint64_t off, uint8_t *buf, uint32_t len) {
  uint64_t cap = q->capacity;
  off += RQ_RECORD_HEADER;
  if (off == cap) off = 0;
  uint64_t first = cap - off < len ? cap - off : len;
  if (first) memcpy(buf, q->data + off, first);
  if (first < len) memcpy(buf + first, q->data, len - first);
}

/* Empty: RQ_CLOSED once the queue was shut down, else RQ_EMPTY. The closed flag is read before
   the producers' position, and shutdown sets it under the producers' lock: a consumer that sees
   it also sees every record put before it. */
static int empty_status(rq_handle *q, uint64_t out) {
  int closed = (int)__atomic_load_n(&q->hdr->closed, __ATOMIC_ACQUIRE);
  if (data_after(q, out)) return RQ_OK;
  return closed ? RQ_CLOSED : RQ_EMPTY;
}

int rq_get(rq_handle *q, void *buf, uint32_t cap, uint32_t *len) {
  rq_header *h = q->hdr;
  int st = lock_get(q);
  if (st != RQ_OK) return st;
  rq_side s;
  load_side(&h->out, &s);
  if (!data_after(q, s.pos) && (st = empty_status(q, s.pos)) != RQ_OK) {
    unlock_get(q);
    return st;
  }
  uint64_t off = s.pos % q->capacity;
  st = record_at(q, s.pos, off, len);
  if (st == RQ_OK && *len > cap) st = RQ_BUF_SMALL;
  if (st != RQ_OK) {
    unlock_get(q);
    return st;
  }
  read_payload(q, off, (uint8_t *)buf, *len);
  s.pos += rq_record_size(*len);
  s.msgs++;
  s.bytes += *len;
  commit_side(&h->get_lock, &h->out, &s);
  unlock_get(q);
  wake_if_waiting(&h->writable_seq, &h->writable_waiters);
  return RQ_OK;
}

int rq_get_batch(rq_handle *q, uint8_t *buf, uint64_t cap, uint32_t *lens, uint32_t max, uint32_t *done) {
  rq_header *h = q->hdr;
  *done = 0;
  int st = lock_get(q);
  if (st != RQ_OK) return st;
  rq_side s;
  load_side(&h->out, &s);
  if (!data_after(q, s.pos) && (st = empty_status(q, s.pos)) != RQ_OK) {
    unlock_get(q);
    return st;
  }
  uint32_t i = 0;
  uint64_t off = 0;
  uint64_t at = s.pos % q->capacity;
  int result = RQ_OK;
  while (i < max && data_after(q, s.pos)) {
    uint32_t len;
    st = record_at(q, s.pos, at, &len);
    if (st != RQ_OK) {
      result = st;
      break;
    }
    if (off + len > cap) {
      if (i == 0) {
        lens[0] = len;
        result = RQ_BUF_SMALL;
      }
      break;
    }
    read_payload(q, at, buf + off, len);
    lens[i++] = len;
    off += len;
    at += rq_record_size(len);
    if (at >= q->capacity) at -= q->capacity;
    s.pos += rq_record_size(len);
    s.msgs++;
    s.bytes += len;
  }
  if (i) commit_side(&h->get_lock, &h->out, &s);
  unlock_get(q);
  *done = i;
  if (i) {
    wake_if_waiting(&h->writable_seq, &h->writable_waiters);
    return RQ_OK;
  }
  return result;
}

/* ---- waiting ---- */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* The condition a waiter of this kind waits for (it may be gone again by the time it acts). */
static int ready(rq_handle *q, int kind, uint64_t need) {
  rq_header *h = q->hdr;
  if (__atomic_load_n(&h->closed, __ATOMIC_ACQUIRE)) return 1;
  if (kind == RQ_WAIT_JOINED) return rq_unfinished(q) == 0;
  uint64_t out = __atomic_load_n(&h->out.pos, __ATOMIC_ACQUIRE);
  uint64_t in = __atomic_load_n(&h->in.pos, __ATOMIC_ACQUIRE);
  if (kind == RQ_WAIT_READABLE) return out < in;
  /* in was read after out: in - out may overstate what is used, never understate it */
  return in >= out && in - out + need <= q->capacity;
}

int rq_wait(rq_handle *q, int kind, uint64_t need, int64_t timeout_ms, uint32_t spin, const volatile int *cancel) {
  rq_header *h = q->hdr;
  uint32_t *word = kind == RQ_WAIT_WRITABLE ? &h->writable_seq
                   : kind == RQ_WAIT_JOINED ? &h->joined_seq
                                            : &h->readable_seq;
  uint32_t *waiters = kind == RQ_WAIT_WRITABLE ? &h->writable_waiters
                      : kind == RQ_WAIT_JOINED ? &h->joined_waiters
                                               : &h->readable_waiters;
  if (kind == RQ_WAIT_WRITABLE && need > q->capacity) return RQ_TOO_LARGE;
  for (uint32_t i = 0; i < spin; i++) {
    if (ready(q, kind, need)) return RQ_OK;
    if (cancel && *cancel) return RQ_CANCELLED;
    cpu_relax();
  }
  uint64_t deadline = timeout_ms >= 0 ? now_ns() + (uint64_t)timeout_ms * 1000000ULL : 0;
  /* register, then look: a change published before this is seen below, one after it wakes us */
  __atomic_add_fetch(waiters, 1u, __ATOMIC_SEQ_CST);
  int result = RQ_OK;
  for (;;) {
    uint32_t seq = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (ready(q, kind, need)) break;
    if (cancel && *cancel) {
      result = RQ_CANCELLED;
      break;
    }
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
      uint64_t now = now_ns();
      if (now >= deadline) {
        result = RQ_TIMEOUT;
        break;
      }
      uint64_t left = deadline - now;
      ts.tv_sec = (time_t)(left / 1000000000ULL);
      ts.tv_nsec = (long)(left % 1000000000ULL);
      tsp = &ts;
    }
    syscall(SYS_futex, word, FUTEX_WAIT, seq, tsp, NULL, 0);
  }
  __atomic_sub_fetch(waiters, 1u, __ATOMIC_SEQ_CST);
  return result;
}

void rq_wake_all(rq_handle *q) {
  /* moving the words makes a waiter that is about to sleep on the old value return at once */
  wake_word(&q->hdr->readable_seq);
  wake_word(&q->hdr->writable_seq);
  wake_word(&q->hdr->joined_seq);
}

/* ---- tasks (join) ---- */

uint64_t rq_unfinished(rq_handle *q) {
  /* done first: a task is only marked done after its message was counted in */
  uint64_t done = __atomic_load_n(&q->hdr->tasks_done, __ATOMIC_ACQUIRE);
  uint64_t in = __atomic_load_n(&q->hdr->in.msgs, __ATOMIC_ACQUIRE);
  return in >= done ? in - done : 0;
}

int rq_task_done(rq_handle *q) {
  rq_header *h = q->hdr;
  uint64_t done = __atomic_load_n(&h->tasks_done, __ATOMIC_ACQUIRE);
  for (;;) {
    uint64_t in = __atomic_load_n(&h->in.msgs, __ATOMIC_ACQUIRE);
    if (done >= in) return RQ_TASK_DONE_TOO_MANY;
    /* one atomic step: nothing to journal, a process killed around it either counted or not */
    if (__atomic_compare_exchange_n(&h->tasks_done, &done, done + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
  }
  wake_if_waiting(&h->joined_seq, &h->joined_waiters);
  return RQ_OK;
}

uint32_t rq_creator_pid(rq_handle *q) { return q->hdr->creator_pid; }

/* ---- lifecycle and state ---- */

int rq_shutdown(rq_handle *q) {
  int st = lock_put(q);
  if (st != RQ_OK) return st;
  __atomic_store_n(&q->hdr->closed, 1u, __ATOMIC_RELEASE);
  unlock_put(q);
  rq_wake_all(q);
  return RQ_OK;
}

int rq_stats_get(rq_handle *q, rq_stats *o) {
  rq_header *h = q->hdr;
  int st = lock_both(q);
  if (st != RQ_OK) return st;
  o->capacity = h->capacity;
  o->max_message = h->max_message;
  /* the counts are not checked on every get: one corrupted low must not wrap below zero */
  o->count = h->in.msgs >= h->out.msgs ? h->in.msgs - h->out.msgs : 0;
  o->used_bytes = h->in.pos - h->out.pos;
  o->payload_bytes = h->in.bytes >= h->out.bytes ? h->in.bytes - h->out.bytes : 0;
  o->msgs_in = h->in.msgs;
  o->msgs_out = h->out.msgs;
  o->bytes_in = h->in.bytes;
  o->bytes_out = h->out.bytes;
  o->high_water_bytes = h->in.high_water;
  o->recoveries = __atomic_load_n(&h->recoveries, __ATOMIC_ACQUIRE);
  o->tasks_done = __atomic_load_n(&h->tasks_done, __ATOMIC_ACQUIRE);
  o->unfinished = h->in.msgs >= o->tasks_done ? h->in.msgs - o->tasks_done : 0;
  o->creator_pid = h->creator_pid;
  o->closed = __atomic_load_n(&h->closed, __ATOMIC_ACQUIRE);
  unlock_both(q);
  return RQ_OK;
}

uint64_t rq_count(rq_handle *q) {
  /* out first: a message is counted in before its position is published, so in >= out here */
  uint64_t out = __atomic_load_n(&q->hdr->out.msgs, __ATOMIC_ACQUIRE);
  uint64_t in = __atomic_load_n(&q->hdr->in.msgs, __ATOMIC_ACQUIRE);
  return in >= out ? in - out : 0;
}
uint64_t rq_capacity(rq_handle *q) { return q->capacity; }
uint64_t rq_max_message(rq_handle *q) { return q->max_message; }
int rq_is_closed(rq_handle *q) { return (int)__atomic_load_n(&q->hdr->closed, __ATOMIC_ACQUIRE); }

const char *rq_status_name(int status) {
  static const char *names[] = {"OK",       "EMPTY",     "FULL",    "CLOSED",  "TOO_LARGE", "CORRUPT",  "BUF_SMALL",
                                "TIMEOUT",  "EXISTS",    "NOT_FOUND", "SYS",   "INVALID",   "CANCELLED", "TASK_DONE_TOO_MANY"};
  if (status < 0 || status > RQ_TASK_DONE_TOO_MANY) return "UNKNOWN";
  return names[status];
}

int rq_debug_fault(rq_handle *q, int mode, const void *data, uint32_t len) {
  rq_header *h = q->hdr;
  if (mode == 1) {
    int st = lock_both(q);
    if (st != RQ_OK) return st;
    static const char msg[] = "{\"locked\":true}\n";
    ssize_t w = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    for (;;) pause();
  }
  if (mode == 2) {
    if (len > q->max_message) return RQ_TOO_LARGE;
    int st = lock_put(q);
    if (st != RQ_OK) return st;
    rq_side s;
    load_side(&h->in, &s);
    if (place(q, &s, (const uint8_t *)data, &len, 1) != 1) {
      unlock_put(q);
      return RQ_FULL;
    }
    h->put_lock.journal = s;
    COMPILER_BARRIER();
    __atomic_store_n(&h->put_lock.journal_valid, 1u, __ATOMIC_RELAXED);
    COMPILER_BARRIER();
    __atomic_store_n(&h->in.pos, s.pos, __ATOMIC_RELEASE); /* half-applied: position moved, counts not */
    raise(SIGKILL);
  }
  return RQ_INVALID;
}

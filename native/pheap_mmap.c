/*
 * pheap_mmap.c: native shim of pheap's mapped backend (N-API, plain C, Linux).
 *
 * Owns: file mappings placed with MAP_FIXED over page-aligned ranges of a
 * WebAssembly.Memory backing store, a per-environment table that records
 * them, the cache-line flush instruction chosen once by CPUID, and the
 * pool's OS lock (an exclusive, non-blocking lock on the pool file's own fd).
 *
 * Invariants:
 *  1. A range is replaced only after it is checked to lie inside the live
 *     ArrayBuffer the caller passed, at a 64 KiB- and page-aligned address,
 *     and the file is checked to be a regular file, open read-write and at
 *     least as long as the range. Anything else is refused with an Error.
 *  2. A range we replaced always holds a readable, writable mapping: the file,
 *     or anonymous zero pages after unmap or a failed map. The engine must
 *     never fault on its own linear memory. (The kernel refusing even the
 *     anonymous mapping is the one way out; it is reported, not hidden.)
 *  3. unmap and drain act only on what map recorded: unmap on exactly that
 *     range, drain on lines inside it.
 *  4. The lock belongs to the open file description, never to the process:
 *     F_OFD_SETLK, or flock() where OFD locks are missing. So two opens of one
 *     file conflict even inside one process, and the kernel drops the lock
 *     when the description's last fd is closed or the process dies: there is
 *     no stale lock to clean up.
 * The JS-facing contract is documented in src/backends/native.ts and the
 * design in docs/mapped.md.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* glibc < 2.28 lacks these; the values are the kernel's asm-generic ones. */
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

#define LINE_SIZE 64
#define WASM_PAGE 65536
/* A pool maps one range; the slack covers several pools and re-maps after a
 * moved memory whose old record could not be dropped (see map_fn). */
#define MAX_MAPPINGS 64

typedef struct {
  uintptr_t addr;
  size_t len;
  int is_pmem;
} mapping;

typedef enum { FLUSH_NONE, FLUSH_CLFLUSH, FLUSH_CLFLUSHOPT, FLUSH_CLWB } flush_insn;

/* Per environment (main thread, each worker), so no locks: an ArrayBuffer
 * belongs to one isolate and shared memories are refused, so two tables can
 * never describe the same range. */
typedef struct {
  mapping maps[MAX_MAPPINGS];
  int count;
  flush_insn insn;
  size_t page;
} state;

/* Throws an Error (code ERR_PHEAP_MMAP) with a formatted message; returns NULL
 * so callers can `return fail(...)`. An exception already pending wins. */
static napi_value fail(napi_env env, const char *fmt, ...) {
  bool pending = false;
  char msg[512];
  va_list ap;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_error(env, "ERR_PHEAP_MMAP", msg);
  return NULL;
}

/* N-API failures here mean a programming error (wrong argument type); turn
 * them into a JS exception instead of continuing with garbage. */
#define NAPI_OK(call)                                                      \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      const napi_extended_error_info *info_ = NULL;                        \
      napi_get_last_error_info(env, &info_);                               \
      return fail(env, "pheap_mmap: %s",                                   \
                  info_ && info_->error_message ? info_->error_message     \
                                                : "N-API call failed");    \
    }                                                                      \
  } while (0)

static state *get_state(napi_env env) {
  state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  return st;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    fail(env, "pheap_mmap: expected %zu arguments, got %zu", want, argc);
    return 0;
  }
  return 1;
}

/* Sizes arrive as JS numbers; only exact non-negative integers are accepted,
 * because a fractional or negative value would silently round to some other
 * address. */
static int get_size(napi_env env, napi_value v, const char *name, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || d < 0 ||
      d != floor(d) || d > 9007199254740991.0) {
    fail(env, "pheap_mmap: %s must be a non-negative integer", name);
    return 0;
  }
  *out = (uint64_t)d;
  return 1;
}

static int get_fd(napi_env env, napi_value v, int32_t *out) {
  uint64_t fd;
  if (!get_size(env, v, "fd", &fd)) return 0;
  if (fd > INT32_MAX) {
    fail(env, "pheap_mmap: fd %llu is out of range", (unsigned long long)fd);
    return 0;
  }
  *out = (int32_t)fd;
  return 1;
}

/* Only a plain (non-shared) ArrayBuffer that is still attached: after
 * memory.grow the old buffer is detached, and acting on it would mean acting
 * on an address the engine may have released. */
static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ab = false;
  void *p = NULL;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab) {
    fail(env, "pheap_mmap: expected an ArrayBuffer (memory.buffer of a non-shared WebAssembly.Memory)");
    return 0;
  }
  if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok || p == NULL || *len == 0) {
    fail(env, "pheap_mmap: the ArrayBuffer is detached or empty (after memory.grow, pass the new memory.buffer)");
    return 0;
  }
  *data = p;
  return 1;
}

/* Checks [offset, offset+length) against the buffer; the alignment test is on
 * the absolute address, so a malloc-backed ArrayBuffer (never page-aligned in
 * glibc) is refused even when the offset looks right. */
static int check_range(napi_env env, const state *st, const uint8_t *data, size_t buf_len,
                       uint64_t offset, uint64_t length) {
  uintptr_t addr = (uintptr_t)data + offset;
  if (offset % WASM_PAGE != 0 || offset % st->page != 0) {
    fail(env, "pheap_mmap: offset %llu is not a multiple of 64 KiB and of the page size (%zu)",
         (unsigned long long)offset, st->page);
    return 0;
  }
  if (length == 0 || length % st->page != 0) {
    fail(env, "pheap_mmap: length %llu is not a positive multiple of the page size (%zu)",
         (unsigned long long)length, st->page);
    return 0;
  }
  if (offset + length > buf_len) {
    fail(env, "pheap_mmap: range [%llu, %llu) lies outside the buffer (%zu bytes)",
         (unsigned long long)offset, (unsigned long long)(offset + length), buf_len);
    return 0;
  }
  if (addr % st->page != 0) {
    fail(env, "pheap_mmap: the buffer's backing store is not page-aligned; only WebAssembly.Memory buffers can be mapped");
    return 0;
  }
  return 1;
}

static int find_exact(const state *st, uintptr_t addr, size_t len) {
  for (int i = 0; i < st->count; i++)
    if (st->maps[i].addr == addr && (len == 0 || st->maps[i].len == len)) return i;
  return -1;
}

static void forget(state *st, int i) {
  st->maps[i] = st->maps[--st->count];
}

/* Invariant 2: an anonymous private RW mapping is what the engine had there
 * before (fresh wasm pages are zero), so linear memory stays valid. */
static int put_zero_pages(void *addr, size_t len) {
  return mmap(addr, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
                 MAP_FAILED
             ? errno
             : 0;
}

/* map(buffer, offset, length, fd, tryDax) -> { isPmem } */
static napi_value map_fn(napi_env env, napi_callback_info info) {
  state *st = get_state(env);
  napi_value argv[5], result, flag;
  uint8_t *data;
  size_t buf_len;
  uint64_t offset, length;
  int32_t fd;
  bool try_dax;
  struct stat sb;
  int fl, is_pmem = 0;
  void *target, *p = MAP_FAILED;

  if (!get_args(env, info, 5, argv)) return NULL;
  if (!get_buffer(env, argv[0], &data, &buf_len)) return NULL;
  if (!get_size(env, argv[1], "offset", &offset) || !get_size(env, argv[2], "length", &length))
    return NULL;
  if (!get_fd(env, argv[3], &fd)) return NULL;
  if (napi_get_value_bool(env, argv[4], &try_dax) != napi_ok)
    return fail(env, "pheap_mmap: tryDax must be a boolean");
  if (!check_range(env, st, data, buf_len, offset, length)) return NULL;

  /* mmap would catch some of these, but only after MAP_FIXED may already have
   * discarded the old pages; checking first keeps failures side-effect free. */
  if (fstat(fd, &sb) != 0) return fail(env, "pheap_mmap: fd %d is not open: %s", fd, strerror(errno));
  if (!S_ISREG(sb.st_mode)) return fail(env, "pheap_mmap: fd %d is not a regular file", fd);
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
    return fail(env, "pheap_mmap: fd %d must be open read-write (a shared writable mapping needs it)", fd);
  /* Touching a mapped page past end of file raises SIGBUS, which would kill
   * the process from inside WASM code. */
  if ((uint64_t)sb.st_size < length)
    return fail(env, "pheap_mmap: file is %lld bytes, shorter than the %llu bytes to map",
                (long long)sb.st_size, (unsigned long long)length);

  /* MAP_FIXED replaces whatever was there, so any record overlapping the range
   * is obsolete: a stale one from a memory collected without unmap, or one the
   * caller is deliberately mapping over. */
  target = data + offset;
  for (int i = st->count - 1; i >= 0; i--)
    if (st->maps[i].addr < (uintptr_t)target + length && (uintptr_t)target < st->maps[i].addr + st->maps[i].len)
      forget(st, i);
  if (st->count == MAX_MAPPINGS)
    return fail(env, "pheap_mmap: too many live mappings (%d); unmap closed pools first", MAX_MAPPINGS);

  /* MAP_SYNC is accepted only where page faults are synchronous with metadata
   * (a DAX file system), which is exactly when CPU cache flushes make stores
   * durable. The kernel validates the flags before touching the range. */
  if (try_dax) {
    p = mmap(target, length, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0);
    is_pmem = p != MAP_FAILED;
  }
  if (p == MAP_FAILED) p = mmap(target, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    int err = errno, zerr = put_zero_pages(target, length);
    if (zerr)
      return fail(env, "pheap_mmap: mmap failed (%s) and the range could not be restored (%s); discard this memory",
                  strerror(err), strerror(zerr));
    return fail(env, "pheap_mmap: mmap failed: %s (the range now reads as zeros)", strerror(err));
  }

  st->maps[st->count++] = (mapping){(uintptr_t)target, length, is_pmem};
  NAPI_OK(napi_create_object(env, &result));
  NAPI_OK(napi_get_boolean(env, is_pmem, &flag));
  NAPI_OK(napi_set_named_property(env, result, "isPmem", flag));
  return result;
}

/* unmap(buffer, offset, length) */
static napi_value unmap_fn(napi_env env, napi_callback_info info) {
  state *st = get_state(env);
  napi_value argv[3];
  uint8_t *data;
  size_t buf_len;
  uint64_t offset, length;
  int i, err;

  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_buffer(env, argv[0], &data, &buf_len)) return NULL;
  if (!get_size(env, argv[1], "offset", &offset) || !get_size(env, argv[2], "length", &length))
    return NULL;
  if (!check_range(env, st, data, buf_len, offset, length)) return NULL;
  i = find_exact(st, (uintptr_t)data + offset, length);
  if (i < 0)
    return fail(env, "pheap_mmap: nothing was mapped at [%llu, %llu) of this buffer",
                (unsigned long long)offset, (unsigned long long)(offset + length));
  err = put_zero_pages(data + offset, length);
  if (err) return fail(env, "pheap_mmap: could not replace the mapping with zero pages: %s", strerror(err));
  forget(st, i);
  return NULL;
}

/* address(buffer) -> bigint; 0n for a detached buffer. */
static napi_value address_fn(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  bool is_ab = false;
  void *p = NULL;
  size_t len = 0;

  if (!get_args(env, info, 1, argv)) return NULL;
  NAPI_OK(napi_is_arraybuffer(env, argv[0], &is_ab));
  if (!is_ab) return fail(env, "pheap_mmap: expected an ArrayBuffer");
  NAPI_OK(napi_get_arraybuffer_info(env, argv[0], &p, &len));
  NAPI_OK(napi_create_bigint_uint64(env, len ? (uint64_t)(uintptr_t)p : 0, &result));
  return result;
}

#if defined(__x86_64__)
/* Mnemonics, not intrinsics: intrinsics need -mclwb/-mclflushopt, which would
 * let the compiler assume those instructions everywhere. The "+m" operand
 * tells the compiler the line is read and written, so no store to it is
 * moved past the flush. */
static void flush_lines(flush_insn insn, uint8_t *p, uint64_t n) {
  for (; n > 0; n--, p += LINE_SIZE) switch (insn) {
      case FLUSH_CLWB: __asm__ volatile("clwb %0" : "+m"(*(volatile uint8_t *)p)); break;
      case FLUSH_CLFLUSHOPT: __asm__ volatile("clflushopt %0" : "+m"(*(volatile uint8_t *)p)); break;
      default: __asm__ volatile("clflush %0" : "+m"(*(volatile uint8_t *)p)); break;
    }
}

static flush_insn pick_flush(void) {
  unsigned a, b, c, d;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    if (b & (1u << 24)) return FLUSH_CLWB;      /* keeps the line cached */
    if (b & (1u << 23)) return FLUSH_CLFLUSHOPT; /* unordered, evicts */
  }
  if (__get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19))) return FLUSH_CLFLUSH; /* serialising, evicts */
  return FLUSH_NONE;
}
#else
static flush_insn pick_flush(void) { return FLUSH_NONE; }
#endif

static int do_msync(napi_env env, uintptr_t addr, size_t len) {
  if (msync((void *)addr, len, MS_SYNC) == 0) return 1;
  fail(env, "pheap_mmap: msync failed: %s", strerror(errno));
  return 0;
}

/* drain(buffer, offset, ranges, count, mode): mode 0 = cache flush + SFENCE
 * (DAX), 1 = msync of the touched pages, 2 = nothing. */
static napi_value drain_fn(napi_env env, napi_callback_info info) {
  state *st = get_state(env);
  napi_value argv[5], ab;
  napi_typedarray_type type;
  uint8_t *data;
  size_t buf_len, n_elems, byte_off;
  void *rdata;
  uint64_t offset, count, mode;
  uint32_t *ranges;
  const mapping *m;
  int i;
  uintptr_t run_start = 0, run_end = 0;

  if (!get_args(env, info, 5, argv)) return NULL;
  if (!get_buffer(env, argv[0], &data, &buf_len)) return NULL;
  if (!get_size(env, argv[1], "offset", &offset) || !get_size(env, argv[3], "count", &count) ||
      !get_size(env, argv[4], "mode", &mode))
    return NULL;
  if (mode > 2) return fail(env, "pheap_mmap: drain mode must be 0 (DAX), 1 (msync) or 2 (none)");
  if (offset >= buf_len) return fail(env, "pheap_mmap: offset %llu lies outside the buffer", (unsigned long long)offset);
  i = find_exact(st, (uintptr_t)data + offset, 0);
  if (i < 0)
    return fail(env, "pheap_mmap: nothing was mapped at offset %llu of this buffer (did the memory move?)",
                (unsigned long long)offset);
  m = &st->maps[i];
  NAPI_OK(napi_get_typedarray_info(env, argv[2], &type, &n_elems, &rdata, &ab, &byte_off));
  if (type != napi_uint32_array) return fail(env, "pheap_mmap: ranges must be a Uint32Array");
  if (count > n_elems / 2)
    return fail(env, "pheap_mmap: count %llu exceeds the %zu pairs in ranges", (unsigned long long)count, n_elems / 2);
  ranges = rdata;

#if !defined(__x86_64__)
  if (mode == 0) mode = 1; /* no user-space flush instruction we trust here */
#else
  if (mode == 0 && st->insn == FLUSH_NONE) mode = 1;
#endif
  if (mode == 2) return NULL;

  for (uint64_t r = 0; r < count; r++) {
    uint64_t first = ranges[2 * r], lines = ranges[2 * r + 1];
    uint64_t lo = first * LINE_SIZE, hi = (first + lines) * LINE_SIZE;
    if (lines == 0) continue;
    if (hi > m->len)
      return fail(env, "pheap_mmap: drain range (line %llu, %llu lines) lies outside the %zu-byte mapping",
                  (unsigned long long)first, (unsigned long long)lines, m->len);
#if defined(__x86_64__)
    if (mode == 0) {
      flush_lines(st->insn, (uint8_t *)m->addr + lo, lines);
      continue;
    }
#endif
    /* msync works on whole pages; one call per run of adjacent or
     * overlapping pages keeps a drain of many nearby lines to few syscalls. */
    lo = m->addr + (lo & ~(uint64_t)(st->page - 1));
    hi = m->addr + ((hi + st->page - 1) & ~(uint64_t)(st->page - 1));
    if (run_end > run_start && lo >= run_start && lo <= run_end) {
      if (hi > run_end) run_end = hi;
      continue;
    }
    if (run_end > run_start && !do_msync(env, run_start, run_end - run_start)) return NULL;
    run_start = lo;
    run_end = hi;
  }
  if (run_end > run_start && !do_msync(env, run_start, run_end - run_start)) return NULL;
#if defined(__x86_64__)
  /* CLWB and CLFLUSHOPT are weakly ordered; the fence is what makes the
   * flushed lines durable before any later store (the drain's promise). */
  if (mode == 0) __asm__ volatile("sfence" ::: "memory");
#endif
  return NULL;
}

/* flushInstruction() -> 'clwb' | 'clflushopt' | 'clflush' | 'none' */
static napi_value flush_instruction_fn(napi_env env, napi_callback_info info) {
  static const char *const names[] = {"none", "clflush", "clflushopt", "clwb"};
  napi_value result;
  (void)info;
  NAPI_OK(napi_create_string_utf8(env, names[get_state(env)->insn], NAPI_AUTO_LENGTH, &result));
  return result;
}

/* probeMapSync(fd, length) -> { ok, errno, message }: a throwaway MAP_SYNC
 * mapping at an address the kernel picks, so nothing of ours is replaced. */
static napi_value probe_map_sync_fn(napi_env env, napi_callback_info info) {
  napi_value argv[2], result, v;
  int32_t fd;
  uint64_t length;
  int err = 0;
  void *p;

  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (!get_size(env, argv[1], "length", &length)) return NULL;
  if (length == 0) return fail(env, "pheap_mmap: length must be positive");
  p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
  if (p == MAP_FAILED)
    err = errno;
  else
    munmap(p, length);
  NAPI_OK(napi_create_object(env, &result));
  NAPI_OK(napi_get_boolean(env, err == 0, &v));
  NAPI_OK(napi_set_named_property(env, result, "ok", v));
  NAPI_OK(napi_create_int32(env, err, &v));
  NAPI_OK(napi_set_named_property(env, result, "errno", v));
  NAPI_OK(napi_create_string_utf8(env, err ? strerror(err) : "MAP_SYNC mapping succeeded", NAPI_AUTO_LENGTH, &v));
  NAPI_OK(napi_set_named_property(env, result, "message", v));
  return result;
}

/* lock(fd) -> 'ofd' | 'flock' (taken, by that kind of lock) | 'busy' (another
 * open file description holds it). Whole file, write lock, never blocks. Any
 * other failure throws; the fd is then left unlocked. */
static napi_value lock_fn(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  int32_t fd;
  const char *outcome = "ofd";
  struct flock fl;

  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file, however long */
#ifdef F_OFD_SETLK
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      outcome = "busy";
    } else if (errno != EINVAL) {
      return fail(env, "pheap_mmap: F_OFD_SETLK on fd %d failed: %s", fd, strerror(errno));
    } else {
      outcome = NULL; /* kernel older than 3.15: no OFD locks */
    }
  }
#else
  outcome = NULL;
#endif
  if (outcome == NULL) {
    outcome = "flock";
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return fail(env, "pheap_mmap: flock on fd %d failed: %s", fd, strerror(errno));
      outcome = "busy";
    }
  }
  NAPI_OK(napi_create_string_utf8(env, outcome, NAPI_AUTO_LENGTH, &result));
  return result;
}

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

NAPI_MODULE_INIT() {
  napi_value page;
  napi_property_descriptor props[] = {
      {"map", NULL, map_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, unmap_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"address", NULL, address_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"drain", NULL, drain_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flushInstruction", NULL, flush_instruction_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probeMapSync", NULL, probe_map_sync_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lock", NULL, lock_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pageSize", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  state *st = calloc(1, sizeof *st);
  if (st == NULL || napi_set_instance_data(env, st, free_state, NULL) != napi_ok) {
    free(st);
    napi_throw_error(env, "ERR_PHEAP_MMAP", "pheap_mmap: out of memory at load");
    return NULL;
  }
  st->page = (size_t)sysconf(_SC_PAGESIZE);
  st->insn = pick_flush();
  if (napi_create_uint32(env, (uint32_t)st->page, &page) != napi_ok) return NULL;
  props[sizeof props / sizeof props[0] - 1].value = page; /* pageSize: the last entry */
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

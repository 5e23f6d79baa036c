/*
 * PMDK libpmemobj anchor harness for pheap's allocator and transaction
 * benchmarks (issues 3 and 4; anchors in docs/benchmarks.md).
 *
 * Builds against Debian's libpmemobj-dev (PMDK 1.12):
 *   gcc -O2 -o harness harness.c -lpmemobj
 * Run with the pool on tmpfs and PMEM_IS_PMEM_FORCE=1 (bench/pmdk/run.mjs
 * does both), so that flushes are CLWB/CLFLUSHOPT + SFENCE instead of msync:
 *   PMEM_IS_PMEM_FORCE=1 ./harness --pool /dev/shm/pheap-pmdk.pool
 *
 * Prints one JSON object per line: {"case","ops","seconds","opsPerSec"}.
 * For the alloc_free_* cases one op is one alloc + one free (a pair).
 *
 * Options (all optional):
 *   --pool PATH       pool file (default /dev/shm/pheap-pmdk-<pid>.pool);
 *                     it must not exist; it is removed at exit
 *   --pool-mb N       pool size in MiB (default 256)
 *   --ops N           ops per small-object case (default 200000)
 *   --large-ops N     ops for alloc_free_large (default 20000)
 *   --tx-ops N        transactions per tx case (default 200000)
 *   --batch N         objects alive at once in the alloc cases (default 1000)
 *   --large-batch N   objects alive at once in alloc_free_large (default 16)
 *   --seed N          PRNG seed for the random cases (default 42)
 *   --cases a,b,...   run only these cases (names as printed; alloc_64 and
 *                     free_64 come from one loop, as do alloc_64_publish and
 *                     free_64_publish)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <libpmemobj.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LAYOUT "pheap-bench"
#define MAX_BATCH 65536
#define TX_AREA (1u << 20) /* 1 MiB of 64 B slots for the tx cases */
#define TX_SLOTS (TX_AREA / 64)
#ifndef TX_HOT_SLOTS
#define TX_HOT_SLOTS 1024 /* tx_snapshot_64 rotates over 64 KiB */
#endif
#define TYPE_OBJ 1

struct bench_root {
	PMEMoid slots[MAX_BATCH]; /* persistent publish destinations */
	char area[TX_AREA + 64];  /* tx snapshot area (+64 for alignment) */
};

static PMEMobjpool *pop;
static PMEMoid root_oid;
static struct bench_root *root;
static uint64_t area_off; /* offset of the 64 B aligned area in the root */

static long n_ops = 200000, n_large = 20000, n_tx = 200000;
static long batch = 1000, large_batch = 16;
static uint64_t seed = 42;
static const char *only;

/* ---- helpers ---------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state;
static inline uint64_t rng(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
static void rng_seed(uint64_t s) { rng_state = s ? s : 0x9E3779B97F4A7C15ULL; }

static void die(const char *what)
{
	fprintf(stderr, "harness: %s failed: %s (%s)\n", what, strerror(errno),
		pmemobj_errormsg());
	exit(1);
}

static int wanted(const char *name)
{
	if (!only)
		return 1;
	size_t len = strlen(name);
	const char *p = only;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l == len && strncmp(p, name, len) == 0)
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static void report(const char *name, long ops, double secs)
{
	printf("{\"case\":\"%s\",\"ops\":%ld,\"seconds\":%.6f,\"opsPerSec\":%.1f}\n",
	       name, ops, secs, secs > 0 ? (double)ops / secs : 0.0);
	fflush(stdout);
}

static void xalloc(PMEMoid *dest, size_t size)
{
	if (pmemobj_alloc(pop, dest, size, TYPE_OBJ, NULL, NULL) != 0)
		die("pmemobj_alloc");
}

/* Frees the entry at a random index among the first *live entries of oids,
 * then moves the last live entry into the hole (O(1) random-order free;
 * the same scheme as bench/tlsf so both sides pay the same PRNG cost). */
static inline void free_random(PMEMoid *oids, long *live)
{
	long j = (long)(rng() % (uint64_t)*live);
	pmemobj_free(&oids[j]);
	oids[j] = oids[--*live];
}

/* ---- atomic allocation cases (destination oids in DRAM) -------------- */

static PMEMoid oids[MAX_BATCH]; /* volatile destinations */
static size_t sizes_scratch[MAX_BATCH];

/* pattern: 0 = LIFO, 1 = random order; size 0 = mixed 16 B..4 KiB */
static double alloc_free_loop(long ops, long b, size_t size, int random_order)
{
	long done = 0;
	double t = 0;
	while (done < ops) {
		long n = ops - done < b ? ops - done : b;
		if (size == 0)
			for (long i = 0; i < n; i++)
				sizes_scratch[i] = 16 + rng() % (4096 - 16 + 1);
		double t0 = now();
		for (long i = 0; i < n; i++)
			xalloc(&oids[i], size ? size : sizes_scratch[i]);
		if (random_order) {
			long live = n;
			while (live > 0)
				free_random(oids, &live);
		} else {
			for (long i = n - 1; i >= 0; i--)
				pmemobj_free(&oids[i]);
		}
		t += now() - t0;
		done += n;
	}
	return t;
}

static void case_alloc_free(const char *name, long ops, long b, size_t size,
			    int random_order)
{
	if (!wanted(name))
		return;
	rng_seed(seed);
	alloc_free_loop(b < ops ? b : ops, b, size, random_order); /* warm-up */
	rng_seed(seed);
	double t = alloc_free_loop(ops, b, size, random_order);
	report(name, ops, t);
}

/* alloc_64 / free_64: batches of allocs timed apart from batches of frees.
 * publish=1: destinations are root->slots (inside the pool), so each alloc
 * persistently publishes its oid and each free persistently clears it. */
static void alloc_then_free_loop(long ops, long b, int publish, double *ta,
				 double *tf)
{
	PMEMoid *dst = publish ? root->slots : oids;
	long done = 0;
	*ta = *tf = 0;
	while (done < ops) {
		long n = ops - done < b ? ops - done : b;
		double t0 = now();
		for (long i = 0; i < n; i++)
			xalloc(&dst[i], 64);
		double t1 = now();
		for (long i = n - 1; i >= 0; i--)
			pmemobj_free(&dst[i]);
		double t2 = now();
		*ta += t1 - t0;
		*tf += t2 - t1;
		done += n;
	}
}

static void case_alloc_then_free(const char *aname, const char *fname,
				 int publish)
{
	if (!wanted(aname) && !wanted(fname))
		return;
	double ta, tf;
	alloc_then_free_loop(batch, batch, publish, &ta, &tf); /* warm-up */
	alloc_then_free_loop(n_ops, batch, publish, &ta, &tf);
	if (wanted(aname))
		report(aname, n_ops, ta);
	if (wanted(fname))
		report(fname, n_ops, tf);
}

/* ---- transaction cases ------------------------------------------------ */

/* One transaction per call: keeping each TX_BEGIN in its own small function
 * with read-only locals avoids setjmp/longjmp clobbering issues. */
static int tx_one_snapshot_n(const uint64_t *offs, int k, uint64_t stamp)
{
	volatile int err = 0;
	TX_BEGIN(pop) {
		for (int j = 0; j < k; j++) {
			pmemobj_tx_add_range(root_oid, offs[j], 64);
			uint64_t *p = (uint64_t *)((char *)root + offs[j]);
			p[0] += 1;
			p[7] = stamp;
		}
	} TX_ONABORT {
		err = 1;
	} TX_END
	return err;
}

static int tx_one_alloc_publish(uint64_t slot)
{
	volatile int err = 0;
	TX_BEGIN(pop) {
		pmemobj_tx_add_range(root_oid,
			offsetof(struct bench_root, slots) + slot * sizeof(PMEMoid),
			sizeof(PMEMoid));
		root->slots[slot] = pmemobj_tx_alloc(64, TYPE_OBJ);
	} TX_ONABORT {
		err = 1;
	} TX_END
	return err;
}

/* tx_snapshot_64: one 64 B range per tx, rotating over 1024 slots (64 KiB). */
static int tx_snapshot_64(long n)
{
	for (long i = 0; i < n; i++) {
		const uint64_t off = area_off + (uint64_t)(i % TX_HOT_SLOTS) * 64;
		if (tx_one_snapshot_n(&off, 1, (uint64_t)i))
			return -1;
	}
	return 0;
}

/* tx_snapshot_8x64: 8 ranges per tx at random slots of a 1 MiB area. */
static int tx_snapshot_8x64(long n)
{
	uint64_t offs[8];
	for (long i = 0; i < n; i++) {
		for (int k = 0; k < 8; k++)
			offs[k] = area_off + (rng() % TX_SLOTS) * 64;
		if (tx_one_snapshot_n(offs, 8, (uint64_t)i))
			return -1;
	}
	return 0;
}

/* tx_alloc_64_publish: in a tx, snapshot a persistent slot, tx-allocate
 * 64 B and store its oid in the slot. Objects stay allocated until the batch
 * ends; the frees (atomic, untimed) are not part of the figure. */
static int tx_alloc_publish(long n, long b, double *t)
{
	long done = 0;
	*t = 0;
	while (done < n) {
		long m = n - done < b ? n - done : b;
		double t0 = now();
		for (long i = 0; i < m; i++)
			if (tx_one_alloc_publish((uint64_t)i))
				return -1;
		*t += now() - t0;
		for (long i = m - 1; i >= 0; i--)
			pmemobj_free(&root->slots[i]);
		done += m;
	}
	return 0;
}

static void case_tx(const char *name, int which)
{
	if (!wanted(name))
		return;
	double t = 0;
	int rc;
	long warm = n_tx / 10 > 0 ? n_tx / 10 : 1;
	rng_seed(seed);
	if (which == 0) {
		rc = tx_snapshot_64(warm);
		double t0 = now();
		rc |= tx_snapshot_64(n_tx);
		t = now() - t0;
	} else if (which == 1) {
		rc = tx_snapshot_8x64(warm);
		double t0 = now();
		rc |= tx_snapshot_8x64(n_tx);
		t = now() - t0;
	} else {
		rc = tx_alloc_publish(batch, batch, &t);
		rc |= tx_alloc_publish(n_tx, batch, &t);
	}
	if (rc != 0) {
		errno = EIO;
		die(name);
	}
	report(name, n_tx, t);
}

/* ---- main ------------------------------------------------------------- */

static long arg_long(const char *opt, const char *v)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x <= 0) {
		fprintf(stderr, "harness: bad value for %s: %s\n", opt, v);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	char defpath[256];
	const char *path = NULL;
	long pool_mb = 256;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "harness: missing value for %s\n", a);
			return 2;
		}
		if (!strcmp(a, "--pool")) path = v;
		else if (!strcmp(a, "--pool-mb")) pool_mb = arg_long(a, v);
		else if (!strcmp(a, "--ops")) n_ops = arg_long(a, v);
		else if (!strcmp(a, "--large-ops")) n_large = arg_long(a, v);
		else if (!strcmp(a, "--tx-ops")) n_tx = arg_long(a, v);
		else if (!strcmp(a, "--batch")) batch = arg_long(a, v);
		else if (!strcmp(a, "--large-batch")) large_batch = arg_long(a, v);
		else if (!strcmp(a, "--seed")) seed = (uint64_t)arg_long(a, v);
		else if (!strcmp(a, "--cases")) only = v;
		else {
			fprintf(stderr, "harness: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	if (batch > MAX_BATCH || large_batch > MAX_BATCH) {
		fprintf(stderr, "harness: batch sizes must be <= %d\n", MAX_BATCH);
		return 2;
	}
	if (!path) {
		snprintf(defpath, sizeof(defpath), "/dev/shm/pheap-pmdk-%d.pool",
			 (int)getpid());
		path = defpath;
	}
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	if (!force || strcmp(force, "1") != 0)
		fprintf(stderr, "harness: warning: PMEM_IS_PMEM_FORCE=1 is not "
				"set; flushes may go through msync\n");

	pop = pmemobj_create(path, LAYOUT, (size_t)pool_mb << 20, 0600);
	if (!pop)
		die("pmemobj_create");
	root_oid = pmemobj_root(pop, sizeof(struct bench_root));
	if (OID_IS_NULL(root_oid)) {
		unlink(path);
		die("pmemobj_root");
	}
	root = pmemobj_direct(root_oid);
	uintptr_t a = (uintptr_t)root->area;
	area_off = offsetof(struct bench_root, area) + ((64 - a % 64) % 64);

	case_alloc_free("alloc_free_64_lifo", n_ops, batch, 64, 0);
	case_alloc_free("alloc_free_64_random", n_ops, batch, 64, 1);
	case_alloc_free("alloc_free_mixed", n_ops, batch, 0, 1);
	case_alloc_free("alloc_free_large", n_large, large_batch, 256 << 10, 0);
	case_alloc_then_free("alloc_64", "free_64", 0);
	case_alloc_then_free("alloc_64_publish", "free_64_publish", 1);
	case_tx("tx_snapshot_64", 0);
	case_tx("tx_snapshot_8x64", 1);
	case_tx("tx_alloc_64_publish", 2);

	pmemobj_close(pop);
	unlink(path);
	return 0;
}

/*
 * test_ray_runtime.c - tests of the C ABI (native/include/ray_runtime.h): bad input from C
 * (NULL pointers, unknown handles, handles of the wrong kind, double release, a buffer too
 * small, bad options) and the semantics (put/get round trips, zero-copy views of large
 * objects, wait with a timeout, tasks on C and C# functions, errors from failing functions,
 * threads, several runtimes, shutdown). Each test starts its own runtime on its own
 * temporary store directory. The connected tests share one raylet, started with the ray CLI
 * (`dotnet $RAY_DLL start --head --port 0 --session-dir DIR`; RAY_DLL defaults to
 * src/Raylet/bin/Release/net10.0/ray.dll from the repository root) and stopped at the end, or
 * at exit or on a crash: `ray stop`, then SIGKILL for every process whose command line names
 * the session directory.
 *
 *   make native && native/build/test_ray_runtime
 *
 * Prints a VSTest-style summary block, which .ci/run adds to its pass/fail count.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ray_runtime.h"

/* ---- a tiny test harness ---- */

static int g_test_failed;
static int g_passed, g_failed;

#define EXPECT(cond)                                                                  \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "    FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
            g_test_failed = 1;                                                        \
        }                                                                             \
    } while (0)

#define EXPECT_STATUS(call, expected)                                                          \
    do {                                                                                       \
        ray_status got_ = (call);                                                              \
        if (got_ != (expected)) {                                                              \
            fprintf(stderr, "    FAIL %s:%d: %s returned %s, expected %s (last error: %s)\n", \
                    __FILE__, __LINE__, #call, ray_status_name(got_), ray_status_name(expected), \
                    ray_last_error());                                                         \
            g_test_failed = 1;                                                                 \
        }                                                                                      \
    } while (0)

#define EXPECT_OK(call) EXPECT_STATUS(call, RAY_OK)

/* The last error mentions `text` (and is about the status just returned). */
#define EXPECT_ERROR_MENTIONS(text)                                                      \
    do {                                                                                 \
        if (!strstr(ray_last_error(), (text))) {                                         \
            fprintf(stderr, "    FAIL %s:%d: last error \"%s\" does not mention \"%s\"\n", \
                    __FILE__, __LINE__, ray_last_error(), (text));                       \
            g_test_failed = 1;                                                           \
        }                                                                                \
    } while (0)

static void run_test(const char* name, void (*fn)(void)) {
    g_test_failed = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    fn();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    if (g_test_failed) g_failed++; else g_passed++;
    printf("  %s %s [%.0f ms]\n", g_test_failed ? "Failed" : "Passed", name, ms);
    fflush(stdout);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- a runtime per test on its own temporary directories ---- */

typedef struct {
    ray_runtime_t rt;
    char store_dir[64];
    char spill_dir[64];
} fixture;

static int remove_entry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_rf(const char* dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int start_fixture(fixture* f, int64_t store_bytes) {
    strcpy(f->store_dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/ray-ctest-XXXXXX" : "/tmp/ray-ctest-XXXXXX");
    strcpy(f->spill_dir, "/tmp/ray-ctest-spill-XXXXXX");
    if (!mkdtemp(f->store_dir) || !mkdtemp(f->spill_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    ray_options o;
    ray_options_init(&o);
    o.num_cpus = 4;
    o.object_store_bytes = store_bytes;
    o.object_store_dir = f->store_dir;
    o.spill_dir = f->spill_dir;
    ray_status st = ray_start(&o, &f->rt);
    if (st != RAY_OK) {
        fprintf(stderr, "    ray_start failed: %s: %s\n", ray_status_name(st), ray_last_error());
        g_test_failed = 1;
    }
    return st == RAY_OK;
}

static void stop_fixture(fixture* f) {
    if (f->rt) EXPECT_OK(ray_shutdown(f->rt));
    f->rt = 0;
    rm_rf(f->store_dir);
    rm_rf(f->spill_dir);
}

#define MB (1024 * 1024)

/* ---- tests: versions, options, connect ---- */

static void test_version_and_status_names(void) {
    EXPECT(ray_abi_version() == RAY_RUNTIME_ABI_VERSION);
    EXPECT(strstr(ray_version(), "ray_runtime") != NULL);
    EXPECT(strcmp(ray_status_name(RAY_OK), "RAY_OK") == 0);
    EXPECT(strcmp(ray_status_name(RAY_ERR_BUFFER_TOO_SMALL), "RAY_ERR_BUFFER_TOO_SMALL") == 0);
    EXPECT(strcmp(ray_status_name(RAY_ERR_INTERNAL), "RAY_ERR_INTERNAL") == 0);
    EXPECT(strcmp(ray_status_name(RAY_ERR_REFUSED), "RAY_ERR_REFUSED") == 0);
    EXPECT(strcmp(ray_status_name(-3), "RAY_ERR_UNKNOWN_STATUS") == 0);
    EXPECT(strcmp(ray_status_name(999), "RAY_ERR_UNKNOWN_STATUS") == 0);
}

static void test_bad_options(void) {
    ray_runtime_t rt = 12345;
    ray_options o;
    ray_options_init(&o);
    EXPECT_STATUS(ray_start(&o, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("out_runtime is NULL");
    EXPECT(ray_last_status() == RAY_ERR_INVALID_ARGUMENT);

    o.struct_size = 8;
    EXPECT_STATUS(ray_start(&o, &rt), RAY_ERR_VERSION_MISMATCH);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_ERROR_MENTIONS("struct_size");

    ray_options_init(&o);
    o.abi_version = 99;
    EXPECT_STATUS(ray_start(&o, &rt), RAY_ERR_VERSION_MISMATCH);
    EXPECT_ERROR_MENTIONS("ABI 99");

    ray_options_init(&o);
    o.num_cpus = -1;
    EXPECT_STATUS(ray_start(&o, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("num_cpus");

    ray_options_init(&o);
    o.prefault = 7;
    EXPECT_STATUS(ray_start(&o, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("prefault");

    ray_options_init(&o);
    o.object_store_bytes = -5;
    EXPECT_STATUS(ray_start(&o, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(rt == RAY_NULL_HANDLE);
}

static void test_start_with_null_options_uses_defaults(void) {
    ray_runtime_t rt;
    EXPECT_OK(ray_start(NULL, &rt));
    EXPECT(rt != RAY_NULL_HANDLE);
    ray_object_t obj;
    EXPECT_OK(ray_put(rt, "x", 1, &obj));
    EXPECT_OK(ray_object_release(obj));
    EXPECT_OK(ray_shutdown(rt));
}

static void test_connect_bad_arguments(void) {
    ray_runtime_t rt = 77;
    EXPECT_STATUS(ray_connect(NULL, NULL, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_STATUS(ray_connect("", NULL, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_connect("10.0.0.1:6379", NULL, NULL), RAY_ERR_INVALID_ARGUMENT);
    rt = 77;
    EXPECT_STATUS(ray_connect("no address here", NULL, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_ERROR_MENTIONS("not a raylet address");
    EXPECT_STATUS(ray_connect("127.0.0.1:99999", NULL, &rt), RAY_ERR_INVALID_ARGUMENT);
    /* Nothing listens on port 1: UNAVAILABLE, naming the address. */
    rt = 77;
    EXPECT_STATUS(ray_connect("127.0.0.1:1", NULL, &rt), RAY_ERR_UNAVAILABLE);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_ERROR_MENTIONS("127.0.0.1:1");
    ray_options o;
    ray_options_init(&o);
    o.cluster_token = "0123";
    EXPECT_STATUS(ray_connect("127.0.0.1:1", &o, &rt), RAY_ERR_UNAVAILABLE);
    EXPECT_ERROR_MENTIONS("cannot connect");
    EXPECT_STATUS(ray_connect("/nonexistent/ray-session", NULL, &rt), RAY_ERR_UNAVAILABLE);
    EXPECT_ERROR_MENTIONS("/nonexistent/ray-session");
    /* A program built with the first ABI 1 header (no cluster_token) is still accepted. */
    ray_options_init(&o);
    o.struct_size = (uint32_t)offsetof(ray_options, cluster_token);
    EXPECT_STATUS(ray_connect("127.0.0.1:1", &o, &rt), RAY_ERR_UNAVAILABLE);
    EXPECT_OK(ray_start(&o, &rt));
    EXPECT_OK(ray_shutdown(rt));
}

/* ---- tests: bad input ---- */

static void test_null_pointers(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    ray_object_t obj = 99;
    ray_view view;
    EXPECT_STATUS(ray_put(f.rt, "abc", 3, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("out_object is NULL");
    EXPECT_STATUS(ray_put(f.rt, NULL, 5, &obj), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("data is NULL");
    EXPECT(obj == RAY_NULL_HANDLE);

    /* Sizes beyond what an object can hold are refused before anything is read. */
    EXPECT_STATUS(ray_put(f.rt, "abc", (size_t)3 << 30, &obj), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("limited to");
    EXPECT_STATUS(ray_submit(f.rt, "echo", "abc", (size_t)1 << 40, &obj), RAY_ERR_INVALID_ARGUMENT);

    EXPECT_OK(ray_put(f.rt, "abc", 3, &obj));
    EXPECT_STATUS(ray_get(obj, -1, NULL), RAY_ERR_INVALID_ARGUMENT);
    char buf[8];
    size_t n = 42;
    EXPECT_STATUS(ray_get_copy(obj, -1, NULL, 8, &n), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(n == 0);
    EXPECT_OK(ray_get_copy(obj, -1, buf, sizeof buf, NULL)); /* out_size is optional */

    size_t ready = 5;
    EXPECT_STATUS(ray_wait(f.rt, NULL, 2, 1, 0, NULL, &ready), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(ready == 0);
    EXPECT_OK(ray_wait(f.rt, NULL, 0, 0, 0, NULL, NULL)); /* nothing to wait for */

    EXPECT_STATUS(ray_register_function(f.rt, NULL, NULL, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_register_function(f.rt, "", NULL, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_register_function(f.rt, "f", NULL, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("function is NULL");
    EXPECT_STATUS(ray_unregister_function(f.rt, NULL), RAY_ERR_INVALID_ARGUMENT);

    ray_object_t res = 5;
    EXPECT_STATUS(ray_submit(f.rt, NULL, "a", 1, &res), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(res == RAY_NULL_HANDLE);
    EXPECT_STATUS(ray_submit(f.rt, "echo", NULL, 4, &res), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_submit(f.rt, "echo", "a", 1, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_submit_object(f.rt, "echo", obj, NULL), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_output_set_error(0, NULL), RAY_ERR_INVALID_HANDLE);

    /* The runtime is intact after all that. */
    EXPECT_OK(ray_get(obj, -1, &view));
    EXPECT(view.size == 3 && memcmp(view.data, "abc", 3) == 0);
    EXPECT_OK(ray_view_release(view.handle));
    EXPECT_OK(ray_object_release(obj));
    stop_fixture(&f);
}

static void test_unknown_and_wrong_kind_handles(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    ray_view view;
    ray_object_t obj;
    EXPECT_STATUS(ray_get(0, -1, &view), RAY_ERR_INVALID_HANDLE);
    EXPECT_ERROR_MENTIONS("null handle");
    EXPECT_STATUS(ray_get(0xdeadbeefULL, 0, &view), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_get(0xffffffffffffffffULL, 0, &view), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_object_release(0x0200000100000001ULL + 12345), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_put(0, "a", 1, &obj), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_put(0x1234, "a", 1, &obj), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_shutdown(0xabcdef), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_view_release(0), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_output_set(42, "x", 1), RAY_ERR_INVALID_HANDLE);

    /* Handles of the wrong kind are refused, and the error says what they are. */
    EXPECT_OK(ray_put(f.rt, "abc", 3, &obj));
    EXPECT_STATUS(ray_get(f.rt, 0, &view), RAY_ERR_INVALID_HANDLE);
    EXPECT_ERROR_MENTIONS("is a runtime handle, not an object handle");
    EXPECT_STATUS(ray_put(obj, "a", 1, &obj), RAY_ERR_INVALID_HANDLE);
    EXPECT(obj == RAY_NULL_HANDLE); /* cleared on failure */
    EXPECT_OK(ray_put(f.rt, "abc", 3, &obj));
    EXPECT_OK(ray_get(obj, -1, &view));
    EXPECT_STATUS(ray_object_release(view.handle), RAY_ERR_INVALID_HANDLE);
    EXPECT_ERROR_MENTIONS("is a view handle");
    EXPECT_STATUS(ray_view_release(obj), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_shutdown(obj), RAY_ERR_INVALID_HANDLE);

    /* A forged handle: right kind and slot, another generation. */
    EXPECT_STATUS(ray_object_release(obj ^ (1ULL << 40)), RAY_ERR_INVALID_HANDLE);
    EXPECT_OK(ray_view_release(view.handle));
    EXPECT_OK(ray_object_release(obj));
    stop_fixture(&f);
}

static void test_double_release(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    size_t base = ray_live_handles();
    ray_object_t obj;
    ray_view view;
    EXPECT_OK(ray_put(f.rt, "abc", 3, &obj));
    EXPECT_OK(ray_get(obj, -1, &view));
    EXPECT_OK(ray_view_release(view.handle));
    EXPECT_STATUS(ray_view_release(view.handle), RAY_ERR_INVALID_HANDLE);
    EXPECT_ERROR_MENTIONS("already released");
    EXPECT_OK(ray_object_release(obj));
    EXPECT_STATUS(ray_object_release(obj), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_get(obj, 0, &view), RAY_ERR_INVALID_HANDLE); /* use after release */
    EXPECT(ray_live_handles() == base);

    /* A released handle's slot is reused, and the stale handle still does not match. */
    ray_object_t again;
    EXPECT_OK(ray_put(f.rt, "xyz", 3, &again));
    EXPECT(again != obj);
    EXPECT_STATUS(ray_object_release(obj), RAY_ERR_INVALID_HANDLE);
    EXPECT_OK(ray_object_release(again));

    ray_runtime_t rt = f.rt;
    EXPECT_OK(ray_shutdown(rt));
    EXPECT_STATUS(ray_shutdown(rt), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_put(rt, "a", 1, &obj), RAY_ERR_INVALID_HANDLE);
    f.rt = 0;
    stop_fixture(&f);
}

static void test_buffer_too_small(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    ray_object_t obj;
    EXPECT_OK(ray_put(f.rt, "0123456789", 10, &obj));
    char buf[16];
    size_t n = 0;
    memset(buf, 'z', sizeof buf);
    EXPECT_STATUS(ray_get_copy(obj, -1, buf, 4, &n), RAY_ERR_BUFFER_TOO_SMALL);
    EXPECT(n == 10); /* the size needed */
    EXPECT(buf[0] == 'z'); /* nothing copied */
    EXPECT_ERROR_MENTIONS("10 bytes");
    EXPECT_STATUS(ray_get_copy(obj, -1, NULL, 0, &n), RAY_ERR_BUFFER_TOO_SMALL); /* size query */
    EXPECT(n == 10);
    EXPECT_OK(ray_get_copy(obj, -1, buf, 10, &n));
    EXPECT(n == 10 && memcmp(buf, "0123456789", 10) == 0);

    ray_object_t empty;
    EXPECT_OK(ray_put(f.rt, NULL, 0, &empty));
    EXPECT_OK(ray_get_copy(empty, -1, NULL, 0, &n));
    EXPECT(n == 0);
    EXPECT_OK(ray_object_release(empty));
    EXPECT_OK(ray_object_release(obj));
    stop_fixture(&f);
}

static void test_store_full(void) {
    fixture f = {0};
    if (!start_fixture(&f, 16 * MB)) return;
    size_t size = 32 * MB;
    uint8_t* big = calloc(size, 1);
    ray_object_t obj = 3;
    EXPECT_STATUS(ray_put(f.rt, big, size, &obj), RAY_ERR_STORE_FULL);
    EXPECT(obj == RAY_NULL_HANDLE);
    /* Still usable. */
    EXPECT_OK(ray_put(f.rt, big, 1 * MB, &obj));
    EXPECT_OK(ray_object_release(obj));
    free(big);
    stop_fixture(&f);
}

/* ---- tests: objects ---- */

static void test_put_get_round_trip(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    size_t sizes[] = {0, 1, 100, 4096, 100 * 1024 - 1, 100 * 1024, 3 * MB + 7};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size = sizes[s];
        uint8_t* data = malloc(size + 1);
        for (size_t i = 0; i < size; i++) data[i] = (uint8_t)(i * 31 + s);
        ray_object_t obj;
        EXPECT_OK(ray_put(f.rt, data, size, &obj));
        ray_view view;
        EXPECT_OK(ray_get(obj, 1000, &view));
        EXPECT(view.size == size);
        EXPECT(size == 0 || memcmp(view.data, data, size) == 0);
        EXPECT(view.is_shared == (size >= 100 * 1024));
        EXPECT_OK(ray_view_release(view.handle));
        uint8_t* copy = malloc(size + 1);
        size_t n;
        EXPECT_OK(ray_get_copy(obj, -1, copy, size, &n));
        EXPECT(n == size && (size == 0 || memcmp(copy, data, size) == 0));
        free(copy);
        EXPECT_OK(ray_object_release(obj));
        free(data);
    }
    stop_fixture(&f);
}

static void test_put_copies_the_callers_bytes(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    char data[] = "original";
    ray_object_t obj;
    EXPECT_OK(ray_put(f.rt, data, 8, &obj));
    memcpy(data, "changed!", 8);
    char out[8];
    EXPECT_OK(ray_get_copy(obj, -1, out, 8, NULL));
    EXPECT(memcmp(out, "original", 8) == 0);
    EXPECT_OK(ray_object_release(obj));
    stop_fixture(&f);
}

static void test_large_view_is_zero_copy(void) {
    fixture f = {0};
    if (!start_fixture(&f, 128 * MB)) return;
    size_t size = 64 * MB;
    uint8_t* data = malloc(size);
    for (size_t i = 0; i < size; i++) data[i] = (uint8_t)(i ^ (i >> 12));
    ray_object_t obj;
    EXPECT_OK(ray_put(f.rt, data, size, &obj));
    ray_view a, b;
    EXPECT_OK(ray_get(obj, -1, &a));
    EXPECT_OK(ray_get(obj, -1, &b));
    EXPECT(a.is_shared == 1 && b.is_shared == 1);
    EXPECT(a.data == b.data); /* both views point at the same bytes in the shared store */
    EXPECT(a.data != data);
    EXPECT(a.handle != b.handle);
    EXPECT(a.size == size && memcmp(a.data, data, size) == 0);

    /* A view keeps the object alive after its last handle is released. */
    EXPECT_OK(ray_object_release(obj));
    EXPECT(memcmp(b.data, data, size) == 0);
    EXPECT_OK(ray_view_release(a.handle));
    EXPECT(b.data[size - 1] == data[size - 1]);
    EXPECT_OK(ray_view_release(b.handle));

    /* Inline (small) objects are not in shared memory; put from C, their bytes live in native
     * memory and views point at them (both views: the same pointer, no copies); they read the
     * right bytes, also after the object handle is released. */
    size_t small_sizes[] = {1000, 50 * 1024};
    for (int k = 0; k < 2; k++) {
        EXPECT_OK(ray_put(f.rt, data, small_sizes[k], &obj));
        EXPECT_OK(ray_get(obj, -1, &a));
        EXPECT_OK(ray_get(obj, -1, &b));
        EXPECT_OK(ray_object_release(obj));
        EXPECT(a.is_shared == 0 && b.is_shared == 0);
        EXPECT(a.data == b.data && a.data != data);
        EXPECT(a.size == small_sizes[k] && memcmp(a.data, data, small_sizes[k]) == 0);
        EXPECT(b.size == small_sizes[k] && memcmp(b.data, data, small_sizes[k]) == 0);
        EXPECT_OK(ray_view_release(a.handle));
        EXPECT_OK(ray_view_release(b.handle));
    }
    free(data);
    stop_fixture(&f);
}

/* ---- tests: wait ---- */

static void test_wait_with_timeout(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    uint32_t ms = 600;
    ray_object_t slow, done;
    EXPECT_OK(ray_submit(f.rt, "sleep_ms", &ms, sizeof ms, &slow));
    EXPECT_OK(ray_put(f.rt, "x", 1, &done));
    ray_object_t objs[2] = {slow, done};
    uint8_t ready[2] = {9, 9};
    size_t n = 9;

    double t0 = now_ms();
    EXPECT_OK(ray_wait(f.rt, objs, 2, 2, 100, ready, &n));
    double waited = now_ms() - t0;
    EXPECT(n == 1);
    EXPECT(ready[0] == 0 && ready[1] == 1);
    EXPECT(waited >= 90 && waited < 550);

    /* num_returns = 1 is met at once by the put object. */
    EXPECT_OK(ray_wait(f.rt, objs, 2, 1, -1, ready, &n));
    EXPECT(n == 1 && ready[1] == 1);

    /* A get with a timeout on the sleeping task times out and leaves it intact. */
    ray_view view;
    EXPECT_STATUS(ray_get(slow, 10, &view), RAY_ERR_TIMEOUT);
    EXPECT(view.handle == RAY_NULL_HANDLE && view.data == NULL);
    EXPECT_STATUS(ray_get(slow, 0, &view), RAY_ERR_TIMEOUT);

    /* Bad waits. */
    EXPECT_STATUS(ray_wait(f.rt, objs, 2, 3, 0, ready, &n), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("num_returns");
    ray_object_t dup[2] = {done, done};
    EXPECT_STATUS(ray_wait(f.rt, dup, 2, 1, 0, ready, &n), RAY_ERR_INVALID_ARGUMENT);
    ray_object_t bad[2] = {done, 0xbad};
    EXPECT_STATUS(ray_wait(f.rt, bad, 2, 1, 0, ready, &n), RAY_ERR_INVALID_HANDLE);
    EXPECT_ERROR_MENTIONS("objects[1]");

    /* Forever: both become ready. */
    EXPECT_OK(ray_wait(f.rt, objs, 2, 2, -1, ready, &n));
    EXPECT(n == 2 && ready[0] == 1 && ready[1] == 1);
    EXPECT_OK(ray_get(slow, 0, &view));
    EXPECT(view.size == 0);
    EXPECT_OK(ray_view_release(view.handle));
    EXPECT_OK(ray_object_release(slow));
    EXPECT_OK(ray_object_release(done));
    stop_fixture(&f);
}

/* ---- tests: functions and tasks ---- */

typedef struct {
    atomic_int calls;
    atomic_ullong last_output;
} counter;

static ray_status c_reverse(void* user_data, const uint8_t* arg, size_t size, ray_output_t out) {
    counter* c = user_data;
    atomic_fetch_add(&c->calls, 1);
    atomic_store(&c->last_output, out);
    uint8_t* buf = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++) buf[i] = arg[size - 1 - i];
    ray_status st = ray_output_set(out, buf, size);
    free(buf);
    return st;
}

static ray_status c_fails_with_message(void* user_data, const uint8_t* arg, size_t size, ray_output_t out) {
    (void)user_data; (void)arg; (void)size;
    ray_output_set_error(out, "the C function could not cope");
    return RAY_ERR_INVALID_ARGUMENT;
}

static ray_status c_fails_silently(void* user_data, const uint8_t* arg, size_t size, ray_output_t out) {
    (void)user_data; (void)arg; (void)size; (void)out;
    return 42;
}

static ray_status c_bad_output_calls(void* user_data, const uint8_t* arg, size_t size, ray_output_t out) {
    (void)arg; (void)size;
    int* ok = user_data;
    *ok = ray_output_set(out, NULL, 5) == RAY_ERR_INVALID_ARGUMENT
        && ray_output_set_error(out, NULL) == RAY_ERR_INVALID_ARGUMENT
        && ray_output_set(out + 1, "x", 1) == RAY_ERR_INVALID_HANDLE
        && ray_output_set(out, "first", 5) == RAY_OK
        && ray_output_set(out, "second", 6) == RAY_OK; /* replaces */
    return RAY_OK;
}

/* Calls back into the runtime from inside a task: puts its argument and submits echo on it. */
static ray_status c_reentrant(void* user_data, const uint8_t* arg, size_t size, ray_output_t out) {
    ray_runtime_t rt = *(ray_runtime_t*)user_data;
    ray_object_t obj, res;
    ray_status st = ray_put(rt, arg, size, &obj);
    if (st != RAY_OK) return st;
    st = ray_submit_object(rt, "echo", obj, &res);
    if (st == RAY_OK) {
        ray_view v;
        st = ray_get(res, 5000, &v);
        if (st == RAY_OK) {
            st = ray_output_set(out, v.data, v.size);
            ray_view_release(v.handle);
        }
        ray_object_release(res);
    }
    ray_object_release(obj);
    return st;
}

static void test_submit_to_c_function(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    counter c = {0};
    EXPECT_OK(ray_register_function(f.rt, "reverse", c_reverse, &c));
    enum { N = 200 };
    ray_object_t res[N];
    char arg[32];
    for (int i = 0; i < N; i++) {
        int len = snprintf(arg, sizeof arg, "task-%03d", i);
        EXPECT_OK(ray_submit(f.rt, "reverse", arg, (size_t)len, &res[i]));
    }
    for (int i = 0; i < N; i++) {
        char expect[32], got[32];
        int len = snprintf(arg, sizeof arg, "task-%03d", i);
        for (int k = 0; k < len; k++) expect[k] = arg[len - 1 - k];
        size_t n = 0;
        EXPECT_OK(ray_get_copy(res[i], 10000, got, sizeof got, &n));
        EXPECT(n == (size_t)len && memcmp(got, expect, n) == 0);
        EXPECT_OK(ray_object_release(res[i]));
    }
    EXPECT(atomic_load(&c.calls) == N);
    /* The output handle is only valid during the call. */
    EXPECT_STATUS(ray_output_set((ray_output_t)atomic_load(&c.last_output), "x", 1), RAY_ERR_INVALID_HANDLE);

    /* Names: taken, built in, unknown. */
    EXPECT_STATUS(ray_register_function(f.rt, "reverse", c_reverse, &c), RAY_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(ray_register_function(f.rt, "echo", c_reverse, &c), RAY_ERR_ALREADY_EXISTS);
    EXPECT_ERROR_MENTIONS("built-in");
    ray_object_t r;
    EXPECT_STATUS(ray_submit(f.rt, "nope", "a", 1, &r), RAY_ERR_NOT_FOUND);
    EXPECT_ERROR_MENTIONS("nope");
    EXPECT_STATUS(ray_unregister_function(f.rt, "nope"), RAY_ERR_NOT_FOUND);
    EXPECT_STATUS(ray_unregister_function(f.rt, "echo"), RAY_ERR_NOT_FOUND);
    EXPECT_OK(ray_unregister_function(f.rt, "reverse"));
    EXPECT_STATUS(ray_submit(f.rt, "reverse", "a", 1, &r), RAY_ERR_NOT_FOUND);
    EXPECT_OK(ray_register_function(f.rt, "reverse", c_reverse, &c)); /* the name is free again */

    /* The output's own bad input, from inside a function. */
    int ok = 0;
    EXPECT_OK(ray_register_function(f.rt, "bad_output", c_bad_output_calls, &ok));
    EXPECT_OK(ray_submit(f.rt, "bad_output", NULL, 0, &r));
    char got[16];
    size_t n;
    EXPECT_OK(ray_get_copy(r, 10000, got, sizeof got, &n));
    EXPECT(ok == 1);
    EXPECT(n == 6 && memcmp(got, "second", 6) == 0);
    EXPECT_OK(ray_object_release(r));

    /* A function that calls back into the runtime. */
    EXPECT_OK(ray_register_function(f.rt, "reentrant", c_reentrant, &f.rt));
    EXPECT_OK(ray_submit(f.rt, "reentrant", "loop", 4, &r));
    EXPECT_OK(ray_get_copy(r, 10000, got, sizeof got, &n));
    EXPECT(n == 4 && memcmp(got, "loop", 4) == 0);
    EXPECT_OK(ray_object_release(r));
    stop_fixture(&f);
}

static void test_submit_to_csharp_functions(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    ray_object_t r;
    char got[64];
    size_t n;
    EXPECT_OK(ray_submit(f.rt, "echo", "hello", 5, &r));
    EXPECT_OK(ray_get_copy(r, 10000, got, sizeof got, &n));
    EXPECT(n == 5 && memcmp(got, "hello", 5) == 0);
    EXPECT_OK(ray_object_release(r));

    int64_t values[1000];
    int64_t expect = 0;
    for (int i = 0; i < 1000; i++) { values[i] = (int64_t)i * 1000003 - 7; expect += values[i]; }
    EXPECT_OK(ray_submit(f.rt, "sum", values, sizeof values, &r));
    int64_t total = 0;
    EXPECT_OK(ray_get_copy(r, 10000, &total, sizeof total, &n));
    EXPECT(n == 8 && total == expect);
    EXPECT_OK(ray_object_release(r));

    /* A large argument and result (through shared memory) and chaining by object. */
    size_t size = 2 * MB;
    uint8_t* data = malloc(size);
    for (size_t i = 0; i < size; i++) data[i] = (uint8_t)(i * 7);
    ray_object_t obj, first, second;
    EXPECT_OK(ray_put(f.rt, data, size, &obj));
    EXPECT_OK(ray_submit_object(f.rt, "echo", obj, &first));
    EXPECT_OK(ray_submit_object(f.rt, "echo", first, &second));
    ray_view v;
    EXPECT_OK(ray_get(second, 10000, &v));
    EXPECT(v.size == size && v.is_shared == 1 && memcmp(v.data, data, size) == 0);
    EXPECT_OK(ray_view_release(v.handle));
    EXPECT_OK(ray_object_release(obj));
    EXPECT_OK(ray_object_release(first));
    EXPECT_OK(ray_object_release(second));
    free(data);
    stop_fixture(&f);
}

static void test_errors_from_failing_functions(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    ray_object_t r, chained;
    ray_view v;
    size_t n;
    /* A C# function that throws. */
    EXPECT_OK(ray_submit(f.rt, "fail", "boom", 4, &r));
    EXPECT_STATUS(ray_get(r, 10000, &v), RAY_ERR_TASK_FAILED);
    EXPECT_ERROR_MENTIONS("boom");
    EXPECT_ERROR_MENTIONS("InvalidOperationException");
    EXPECT(v.handle == RAY_NULL_HANDLE);
    EXPECT_STATUS(ray_get_copy(r, 10000, NULL, 0, &n), RAY_ERR_TASK_FAILED);
    /* Its failure propagates to a task that takes its result. */
    EXPECT_OK(ray_submit_object(f.rt, "echo", r, &chained));
    EXPECT_STATUS(ray_get(chained, 10000, &v), RAY_ERR_TASK_FAILED);
    EXPECT_ERROR_MENTIONS("boom");
    EXPECT_OK(ray_object_release(chained));
    EXPECT_OK(ray_object_release(r));

    /* Bad input to a C# function. */
    EXPECT_OK(ray_submit(f.rt, "sum", "abc", 3, &r));
    EXPECT_STATUS(ray_get(r, 10000, &v), RAY_ERR_TASK_FAILED);
    EXPECT_ERROR_MENTIONS("not a multiple of 8");
    EXPECT_OK(ray_object_release(r));

    /* C functions: an error status with a message, and without one. */
    EXPECT_OK(ray_register_function(f.rt, "cfail", c_fails_with_message, NULL));
    EXPECT_OK(ray_register_function(f.rt, "csilent", c_fails_silently, NULL));
    EXPECT_OK(ray_submit(f.rt, "cfail", NULL, 0, &r));
    EXPECT_STATUS(ray_get(r, 10000, &v), RAY_ERR_TASK_FAILED);
    EXPECT_ERROR_MENTIONS("the C function could not cope");
    EXPECT_ERROR_MENTIONS("RAY_ERR_INVALID_ARGUMENT");
    EXPECT_OK(ray_object_release(r));
    EXPECT_OK(ray_submit(f.rt, "csilent", NULL, 0, &r));
    EXPECT_STATUS(ray_get(r, 10000, &v), RAY_ERR_TASK_FAILED);
    EXPECT_ERROR_MENTIONS("csilent");
    EXPECT_ERROR_MENTIONS("(42)");
    EXPECT_OK(ray_object_release(r));
    stop_fixture(&f);
}

/* ---- tests: threads, runtimes, shutdown ---- */

typedef struct {
    ray_runtime_t rt;
    int id;
    int failures;
} worker_arg;

static void* put_get_worker(void* p) {
    worker_arg* w = p;
    for (int i = 0; i < 2000; i++) {
        char data[32];
        int len = snprintf(data, sizeof data, "w%d-%d", w->id, i);
        ray_object_t obj;
        ray_view v;
        if (ray_put(w->rt, data, (size_t)len, &obj) != RAY_OK) { w->failures++; continue; }
        if (ray_get(obj, -1, &v) != RAY_OK || v.size != (uint64_t)len || memcmp(v.data, data, (size_t)len) != 0) w->failures++;
        else if (ray_view_release(v.handle) != RAY_OK) w->failures++;
        if (ray_object_release(obj) != RAY_OK) w->failures++;
        if (i % 100 == 0) {
            /* The last error is per thread: this thread's message, not another's. */
            char tag[32];
            snprintf(tag, sizeof tag, "thread-%d-%d", w->id, i);
            ray_object_t r;
            if (ray_submit(w->rt, tag, NULL, 0, &r) != RAY_ERR_NOT_FOUND || !strstr(ray_last_error(), tag)) w->failures++;
        }
    }
    return NULL;
}

typedef struct {
    ray_object_t obj;
    atomic_int* successes;
    atomic_int* start;
} release_arg;

static void* release_worker(void* p) {
    release_arg* a = p;
    while (!atomic_load(a->start)) { }
    if (ray_object_release(a->obj) == RAY_OK) atomic_fetch_add(a->successes, 1);
    return NULL;
}

static void test_threads(void) {
    fixture f = {0};
    if (!start_fixture(&f, 64 * MB)) return;
    size_t base = ray_live_handles();
    enum { T = 4 };
    pthread_t threads[T];
    worker_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (worker_arg){f.rt, i, 0};
        pthread_create(&threads[i], NULL, put_get_worker, &args[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(threads[i], NULL);
        EXPECT(args[i].failures == 0);
    }
    EXPECT(ray_live_handles() == base);

    /* Eight threads release one handle at once: exactly one succeeds. */
    for (int round = 0; round < 20; round++) {
        ray_object_t obj;
        EXPECT_OK(ray_put(f.rt, "race", 4, &obj));
        atomic_int successes = 0, start = 0;
        pthread_t racers[8];
        release_arg ra = {obj, &successes, &start};
        for (int i = 0; i < 8; i++) pthread_create(&racers[i], NULL, release_worker, &ra);
        atomic_store(&start, 1);
        for (int i = 0; i < 8; i++) pthread_join(racers[i], NULL);
        EXPECT(atomic_load(&successes) == 1);
    }
    EXPECT(ray_live_handles() == base);
    stop_fixture(&f);
}

static void test_two_runtimes_and_shutdown_releases_handles(void) {
    fixture a = {0}, b = {0};
    if (!start_fixture(&a, 64 * MB) || !start_fixture(&b, 64 * MB)) return;
    size_t base = ray_live_handles();
    ray_object_t in_a, in_b, big_in_a;
    EXPECT_OK(ray_put(a.rt, "in a", 4, &in_a));
    EXPECT_OK(ray_put(b.rt, "in b", 4, &in_b));
    uint8_t* big = calloc(1, MB);
    EXPECT_OK(ray_put(a.rt, big, MB, &big_in_a));
    free(big);
    ray_object_t mixed[2] = {in_a, in_b};
    size_t n;
    EXPECT_STATUS(ray_wait(a.rt, mixed, 2, 1, 0, NULL, &n), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("another runtime");
    ray_object_t r;
    EXPECT_STATUS(ray_submit_object(b.rt, "echo", in_a, &r), RAY_ERR_INVALID_ARGUMENT);

    /* Shutting a down with a view and objects still open releases them. */
    ray_view v;
    EXPECT_OK(ray_get(big_in_a, -1, &v));
    EXPECT_OK(ray_register_function(a.rt, "rev", c_reverse, &(counter){0}));
    EXPECT(ray_live_handles() == base + 4);
    stop_fixture(&a);
    EXPECT(ray_live_handles() == base); /* a's runtime handle went, in_b stays */
    EXPECT_STATUS(ray_get(in_a, 0, &v), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_view_release(v.handle), RAY_ERR_INVALID_HANDLE);
    EXPECT_STATUS(ray_object_release(in_a), RAY_ERR_INVALID_HANDLE);

    /* b is unaffected. */
    char got[8];
    EXPECT_OK(ray_get_copy(in_b, -1, got, sizeof got, &n));
    EXPECT(n == 4 && memcmp(got, "in b", 4) == 0);
    EXPECT_OK(ray_object_release(in_b));
    stop_fixture(&b);
}

typedef struct {
    ray_object_t obj;
    ray_status status;
    char message[512];
} getter_arg;

static void* blocking_getter(void* p) {
    getter_arg* g = p;
    ray_view v;
    g->status = ray_get(g->obj, -1, &v);
    snprintf(g->message, sizeof g->message, "%s", ray_last_error());
    if (g->status == RAY_OK) ray_view_release(v.handle);
    return NULL;
}

static void test_shutdown_fails_pending_tasks(void) {
    ray_options o;
    ray_options_init(&o);
    o.num_cpus = 1;
    ray_runtime_t rt;
    EXPECT_OK(ray_start(&o, &rt));
    uint32_t ms = 300;
    ray_object_t running, queued;
    EXPECT_OK(ray_submit(rt, "sleep_ms", &ms, sizeof ms, &running));
    EXPECT_OK(ray_submit(rt, "sleep_ms", &ms, sizeof ms, &queued)); /* waits for the only CPU */
    getter_arg g = {queued, -1, ""};
    pthread_t t;
    pthread_create(&t, NULL, blocking_getter, &g);
    usleep(50 * 1000);
    EXPECT_OK(ray_shutdown(rt));
    pthread_join(t, NULL);
    EXPECT(g.status == RAY_ERR_SHUTDOWN);
    if (g.status != RAY_ERR_SHUTDOWN) fprintf(stderr, "    blocked get returned %s: %s\n", ray_status_name(g.status), g.message);
    ray_view v;
    EXPECT_STATUS(ray_get(queued, 0, &v), RAY_ERR_INVALID_HANDLE); /* released by shutdown */
    ray_object_t obj;
    EXPECT_STATUS(ray_put(rt, "a", 1, &obj), RAY_ERR_INVALID_HANDLE);
}

/* ---- a raylet for the connected tests (one for all of them) ---- */

static struct {
    int started;   /* 1: up; -1: failed to start (the tests fail) */
    char dir[64];  /* the session directory */
    char address[128];
    char token[128];
    int pid;
} g_raylet;

static const char* ray_dll(void) {
    const char* dll = getenv("RAY_DLL");
    return dll && *dll ? dll : "src/Raylet/bin/Release/net10.0/ray.dll";
}

/* The string value of "key" in a small JSON file (raylet.json), or 0. */
static int json_string(const char* json, const char* key, char* out, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char* p = strstr(json, pattern);
    if (!p) return 0;
    p = strchr(p + strlen(pattern), ':');
    if (!p) return 0;
    p = strchr(p, '"');
    if (!p) return 0;
    const char* end = strchr(p + 1, '"');
    if (!end || (size_t)(end - p - 1) >= cap) return 0;
    memcpy(out, p + 1, (size_t)(end - p - 1));
    out[end - p - 1] = 0;
    return 1;
}

/* SIGKILLs every process (raylet, workers) whose command line names the session directory. */
static void kill_session_processes(const char* dir) {
    DIR* proc = opendir("/proc");
    if (!proc) return;
    struct dirent* e;
    while ((e = readdir(proc)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        FILE* f = fopen(path, "rb");
        if (!f) continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++) if (cmd[i] == 0) cmd[i] = ' ';
        cmd[n] = 0;
        if (strstr(cmd, dir)) kill(pid, SIGKILL);
    }
    closedir(proc);
}

static void stop_raylet(void) {
    if (!g_raylet.dir[0]) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "dotnet '%s' stop --session-dir '%s' >/dev/null 2>&1", ray_dll(), g_raylet.dir);
    if (system(cmd) != 0) { /* killed below anyway */ }
    kill_session_processes(g_raylet.dir);
    if (g_raylet.pid > 0) kill(g_raylet.pid, SIGKILL);
    rm_rf(g_raylet.dir);
    g_raylet.dir[0] = 0;
    g_raylet.started = 0;
}

static void stop_raylet_on_signal(int sig) {
    stop_raylet();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int start_raylet(void) {
    if (g_raylet.started) return g_raylet.started > 0;
    g_raylet.started = -1;
    strcpy(g_raylet.dir, "/tmp/ray-ctest-session-XXXXXX");
    if (!mkdtemp(g_raylet.dir)) { perror("mkdtemp"); g_raylet.dir[0] = 0; return 0; }
    atexit(stop_raylet);
    signal(SIGSEGV, stop_raylet_on_signal);
    signal(SIGABRT, stop_raylet_on_signal);
    signal(SIGINT, stop_raylet_on_signal);
    signal(SIGTERM, stop_raylet_on_signal);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "env -u RAY_ADDRESS -u RAY_CLUSTER_TOKEN dotnet '%s' start --head --port 0 --session-dir '%s' "
             "--num-cpus 2 --object-store-memory 268435456 >'%s/start.out' 2>&1",
             ray_dll(), g_raylet.dir, g_raylet.dir);
    int rc = system(cmd);
    char file[128], json[4096] = {0};
    snprintf(file, sizeof file, "%s/raylet.json", g_raylet.dir);
    FILE* f = fopen(file, "r");
    if (f) { size_t n = fread(json, 1, sizeof json - 1, f); json[n] = 0; fclose(f); }
    const char* p = strstr(json, "\"pid\"");
    g_raylet.pid = p && (p = strchr(p, ':')) ? atoi(p + 1) : 0;
    if (rc != 0 || !json_string(json, "address", g_raylet.address, sizeof g_raylet.address) ||
        !json_string(json, "token", g_raylet.token, sizeof g_raylet.token)) {
        fprintf(stderr, "    cannot start a raylet (%s, exit %d); see %s/start.out. Build it with "
                        "`dotnet build src/Raylet -c Release` or set RAY_DLL.\n", ray_dll(), rc, g_raylet.dir);
        return 0;
    }
    g_raylet.started = 1;
    return 1;
}

static ray_runtime_t connect_raylet(void) {
    ray_runtime_t rt = 0;
    if (!start_raylet()) { g_test_failed = 1; return 0; }
    ray_options o;
    ray_options_init(&o);
    o.num_cpus = 2;
    EXPECT_OK(ray_connect(g_raylet.dir, &o, &rt));
    return rt;
}

/* ---- tests: a connected runtime ---- */

static void test_connected_put_get_wait(void) {
    size_t base = ray_live_handles();
    ray_runtime_t rt = connect_raylet();
    if (!rt) return;
    /* Small objects: inline; large ones: in the node's store, viewed in place. */
    const char* small = "hello, cluster";
    ray_object_t s = 0, l = 0;
    EXPECT_OK(ray_put(rt, small, strlen(small), &s));
    size_t large_size = 24 * MB + 3;
    uint8_t* large = malloc(large_size);
    for (size_t i = 0; i < large_size; i++) large[i] = (uint8_t)(i * 31 + 7);
    EXPECT_OK(ray_put(rt, large, large_size, &l));
    ray_view v1, v2, vs;
    EXPECT_OK(ray_get(s, 1000, &vs));
    EXPECT(vs.size == strlen(small) && memcmp(vs.data, small, vs.size) == 0 && vs.is_shared == 0);
    EXPECT_OK(ray_get(l, 1000, &v1));
    EXPECT(v1.size == large_size && v1.is_shared == 1);
    EXPECT(v1.data && memcmp(v1.data, large, large_size) == 0);
    /* Zero copy: a second view maps the same bytes, and a get is fast whatever the size. */
    double t0 = now_ms();
    EXPECT_OK(ray_get(l, 1000, &v2));
    double get_ms = now_ms() - t0;
    EXPECT(v2.data == v1.data);
    EXPECT(get_ms < 50);
    EXPECT_OK(ray_view_release(v2.handle));
    /* Copies too. */
    size_t size = 0;
    EXPECT_STATUS(ray_get_copy(l, 0, NULL, 0, &size), RAY_ERR_BUFFER_TOO_SMALL);
    EXPECT(size == large_size);
    uint8_t* copy = malloc(large_size);
    EXPECT_OK(ray_get_copy(l, 0, copy, large_size, &size));
    EXPECT(memcmp(copy, large, large_size) == 0);
    char buf[32];
    EXPECT_OK(ray_get_copy(s, 0, buf, sizeof buf, &size));
    EXPECT(size == strlen(small) && memcmp(buf, small, size) == 0);
    /* Wait: puts are ready. */
    ray_object_t objs[2] = {s, l};
    uint8_t ready[2] = {0, 0};
    size_t n = 0;
    EXPECT_OK(ray_wait(rt, objs, 2, 2, 1000, ready, &n));
    EXPECT(n == 2 && ready[0] && ready[1]);
    /* The view outlives the object handle. */
    EXPECT_OK(ray_object_release(l));
    EXPECT(v1.data[large_size - 1] == large[large_size - 1]);
    EXPECT_OK(ray_view_release(v1.handle));
    EXPECT_OK(ray_view_release(vs.handle));
    EXPECT_OK(ray_object_release(s));
    EXPECT_OK(ray_shutdown(rt));
    EXPECT_STATUS(ray_put(rt, "x", 1, &s), RAY_ERR_INVALID_HANDLE);
    EXPECT(ray_live_handles() == base);
    free(large);
    free(copy);
}

static void test_connected_by_address_and_token(void) {
    if (!start_raylet()) { g_test_failed = 1; return; }
    ray_runtime_t rt = 77;
    ray_options o;
    ray_options_init(&o);
    o.cluster_token = "not-the-token";
    EXPECT_STATUS(ray_connect(g_raylet.address, &o, &rt), RAY_ERR_REFUSED);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_ERROR_MENTIONS("token");
    o.cluster_token = g_raylet.token;
    EXPECT_OK(ray_connect(g_raylet.address, &o, &rt));
    ray_object_t obj;
    EXPECT_OK(ray_put(rt, "via host:port", 13, &obj));
    char buf[16];
    size_t size = 0;
    EXPECT_OK(ray_get_copy(obj, 1000, buf, sizeof buf, &size));
    EXPECT(size == 13 && memcmp(buf, "via host:port", 13) == 0);
    /* The address file works too. */
    char file[128];
    snprintf(file, sizeof file, "%s/raylet.json", g_raylet.dir);
    ray_runtime_t rt2 = 0;
    EXPECT_OK(ray_connect(file, NULL, &rt2));
    EXPECT_OK(ray_shutdown(rt2));
    EXPECT_OK(ray_shutdown(rt));
}

static void test_connected_submit_runs_in_this_process(void) {
    ray_runtime_t rt = connect_raylet();
    if (!rt) return;
    counter calls = {0};
    EXPECT_OK(ray_register_function(rt, "reverse", c_reverse, &calls));
    ray_object_t r = 0, arg = 0, chained = 0, sum = 0, failed = 0;
    EXPECT_OK(ray_submit(rt, "reverse", "abc", 3, &r));
    char buf[16];
    size_t size = 0;
    EXPECT_OK(ray_get_copy(r, 5000, buf, sizeof buf, &size));
    EXPECT(size == 3 && memcmp(buf, "cba", 3) == 0);
    EXPECT(atomic_load(&calls.calls) == 1);
    /* A cluster object (large: in the node's store) as the argument. */
    size_t big = 300 * 1024;
    uint8_t* data = malloc(big);
    for (size_t i = 0; i < big; i++) data[i] = (uint8_t)i;
    EXPECT_OK(ray_put(rt, data, big, &arg));
    EXPECT_OK(ray_submit_object(rt, "reverse", arg, &chained));
    ray_view v;
    EXPECT_OK(ray_get(chained, 5000, &v));
    EXPECT(v.size == big && v.data[0] == data[big - 1] && v.data[big - 1] == data[0]);
    EXPECT_OK(ray_view_release(v.handle));
    /* Built-ins, chaining on a result, wait over puts and results, errors. */
    int64_t values[3] = {1, 2, 39};
    EXPECT_OK(ray_submit(rt, "sum", values, sizeof values, &sum));
    ray_object_t again = 0;
    EXPECT_OK(ray_submit_object(rt, "echo", sum, &again));
    ray_object_t objs[3] = {arg, sum, again};
    size_t n = 0;
    EXPECT_OK(ray_wait(rt, objs, 3, 3, 5000, NULL, &n));
    EXPECT(n == 3);
    int64_t total = 0;
    EXPECT_OK(ray_get_copy(again, 0, &total, sizeof total, &size));
    EXPECT(total == 42);
    EXPECT_OK(ray_submit(rt, "fail", "boom", 4, &failed));
    EXPECT_STATUS(ray_get(failed, 5000, &v), RAY_ERR_TASK_FAILED);
    EXPECT_ERROR_MENTIONS("boom");
    EXPECT_STATUS(ray_submit(rt, "nope", "", 0, &r), RAY_ERR_NOT_FOUND);
    ray_object_t handles[] = {arg, chained, sum, again, failed};
    for (size_t i = 0; i < 5; i++) EXPECT_OK(ray_object_release(handles[i]));
    EXPECT_OK(ray_shutdown(rt));
    free(data);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("native C tests (native/tests/test_ray_runtime.c) against %s\n", ray_version());
    run_test("version_and_status_names", test_version_and_status_names);
    run_test("bad_options", test_bad_options);
    run_test("start_with_null_options_uses_defaults", test_start_with_null_options_uses_defaults);
    run_test("connect_bad_arguments", test_connect_bad_arguments);
    run_test("null_pointers", test_null_pointers);
    run_test("unknown_and_wrong_kind_handles", test_unknown_and_wrong_kind_handles);
    run_test("double_release", test_double_release);
    run_test("buffer_too_small", test_buffer_too_small);
    run_test("store_full", test_store_full);
    run_test("put_get_round_trip", test_put_get_round_trip);
    run_test("put_copies_the_callers_bytes", test_put_copies_the_callers_bytes);
    run_test("large_view_is_zero_copy", test_large_view_is_zero_copy);
    run_test("wait_with_timeout", test_wait_with_timeout);
    run_test("submit_to_c_function", test_submit_to_c_function);
    run_test("submit_to_csharp_functions", test_submit_to_csharp_functions);
    run_test("errors_from_failing_functions", test_errors_from_failing_functions);
    run_test("threads", test_threads);
    run_test("two_runtimes_and_shutdown_releases_handles", test_two_runtimes_and_shutdown_releases_handles);
    run_test("shutdown_fails_pending_tasks", test_shutdown_fails_pending_tasks);
    run_test("connected_put_get_wait", test_connected_put_get_wait);
    run_test("connected_by_address_and_token", test_connected_by_address_and_token);
    run_test("connected_submit_runs_in_this_process", test_connected_submit_runs_in_this_process);
    stop_raylet();

    printf("\nTest Run %s (native C).\n", g_failed ? "Failed" : "Successful");
    printf("Total tests: %d\n     Passed: %d\n     Failed: %d\n    Skipped: 0\n", g_passed + g_failed, g_passed, g_failed);
    return g_failed ? 1 : 0;
}

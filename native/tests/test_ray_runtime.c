/*
 * test_ray_runtime.c - tests of the C ABI (native/include/ray_runtime.h): bad input from C
 * (NULL pointers, unknown handles, handles of the wrong kind, double release, a buffer too
 * small, bad options) and the semantics (put/get round trips, zero-copy views of large
 * objects, wait with a timeout, tasks on C and C# functions, errors from failing functions,
 * threads, several runtimes, shutdown). Each test starts its own runtime on its own
 * temporary store directory.
 *
 *   make native && native/build/test_ray_runtime
 *
 * Prints a VSTest-style summary block, which .ci/run adds to its pass/fail count.
 */
#define _GNU_SOURCE
#include <ftw.h>
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

static void test_connect_is_not_built_yet(void) {
    ray_runtime_t rt = 77;
    EXPECT_STATUS(ray_connect(NULL, NULL, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_STATUS(ray_connect("", NULL, &rt), RAY_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(ray_connect("10.0.0.1:6379", NULL, NULL), RAY_ERR_INVALID_ARGUMENT);
    rt = 77;
    EXPECT_STATUS(ray_connect("10.0.0.1:6379", NULL, &rt), RAY_ERR_UNAVAILABLE);
    EXPECT(rt == RAY_NULL_HANDLE);
    EXPECT_ERROR_MENTIONS("not built yet");
    EXPECT_ERROR_MENTIONS("10.0.0.1:6379");
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

    /* Inline (small) objects are not in shared memory; their views still read the right bytes,
     * also after the object handle is released. */
    size_t small_sizes[] = {1000, 50 * 1024};
    for (int k = 0; k < 2; k++) {
        EXPECT_OK(ray_put(f.rt, data, small_sizes[k], &obj));
        EXPECT_OK(ray_get(obj, -1, &a));
        EXPECT_OK(ray_get(obj, -1, &b));
        EXPECT_OK(ray_object_release(obj));
        EXPECT(a.is_shared == 0 && b.is_shared == 0);
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

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("native C tests (native/tests/test_ray_runtime.c) against %s\n", ray_version());
    run_test("version_and_status_names", test_version_and_status_names);
    run_test("bad_options", test_bad_options);
    run_test("start_with_null_options_uses_defaults", test_start_with_null_options_uses_defaults);
    run_test("connect_is_not_built_yet", test_connect_is_not_built_yet);
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

    printf("\nTest Run %s (native C).\n", g_failed ? "Failed" : "Successful");
    printf("Total tests: %d\n     Passed: %d\n     Failed: %d\n    Skipped: 0\n", g_passed + g_failed, g_passed, g_failed);
    return g_failed ? 1 : 0;
}

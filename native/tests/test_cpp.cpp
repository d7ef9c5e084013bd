// test_cpp.cpp - tests of the C++ RAII wrapper (native/include/ray_runtime.hpp): handles are
// released by destructors and moves, failures throw ray::Error with the status, C++ functions
// (lambdas) run as tasks and their exceptions become task errors.
//
//   make native && native/build/test_cpp
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ftw.h>
#include <unistd.h>
#include <vector>

#include "ray_runtime.hpp"

using namespace std::chrono_literals;

static int g_test_failed;
static int g_passed, g_failed;

#define EXPECT(cond)                                                                     \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "    FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
            g_test_failed = 1;                                                           \
        }                                                                                \
    } while (0)

// The statement throws ray::Error with this status.
#define EXPECT_THROWS(stmt, status)                                                                     \
    do {                                                                                                \
        bool thrown_ = false;                                                                           \
        try {                                                                                           \
            stmt;                                                                                       \
        } catch (const ray::Error& e_) {                                                                \
            thrown_ = true;                                                                             \
            if (e_.code() != (status)) {                                                                \
                std::fprintf(stderr, "    FAIL %s:%d: %s threw %s (%s), expected %s\n", __FILE__, __LINE__, \
                             #stmt, e_.code_name(), e_.what(), ray_status_name(status));                \
                g_test_failed = 1;                                                                      \
            }                                                                                           \
        }                                                                                               \
        if (!thrown_) {                                                                                 \
            std::fprintf(stderr, "    FAIL %s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt);      \
            g_test_failed = 1;                                                                          \
        }                                                                                               \
    } while (0)

template <class F>
static void run_test(const char* name, F fn) {
    g_test_failed = 0;
    try {
        fn();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "    FAIL unexpected exception: %s\n", e.what());
        g_test_failed = 1;
    }
    if (g_test_failed) g_failed++; else g_passed++;
    std::printf("  %s %s\n", g_test_failed ? "Failed" : "Passed", name);
    std::fflush(stdout);
}

// A temporary directory for the tests' object stores and spill files, removed at exit.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ray-cpptest-XXXXXX";
        if (!mkdtemp(tmpl)) { std::perror("mkdtemp"); std::exit(2); }
        path = tmpl;
    }
    ~TempDir() {
        nftw(path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return std::remove(p); }, 16,
             FTW_DEPTH | FTW_PHYS);
    }
};
static TempDir* g_dir;

static ray::Options small_options() {
    ray::Options o;
    o.num_cpus = 2;
    o.object_store_bytes = 64 << 20;
    o.object_store_dir = g_dir->path;
    o.spill_dir = g_dir->path + "/spill";
    return o;
}

int main() {
    std::printf("native C++ tests (native/tests/test_cpp.cpp) against %s\n", ray_version());
    TempDir dir;
    g_dir = &dir;
    const size_t base = ray_live_handles();

    run_test("put_get_and_raii_release", [&] {
        {
            auto rt = ray::Runtime::start(small_options());
            ray::Object obj = rt.put("hello");
            {
                ray::View view = obj.get();
                EXPECT(view.str() == "hello");
                EXPECT(!view.is_shared());
                EXPECT(ray_live_handles() == base + 3);
            }
            EXPECT(ray_live_handles() == base + 2);  // the view went with its scope
            EXPECT(obj.string() == "hello");
            std::vector<int32_t> values = {1, 2, 3};
            ray::Object numbers = rt.put(values);
            EXPECT(numbers.bytes().size() == 12);
            char buf[2];
            EXPECT_THROWS(numbers.copy_to(buf, sizeof buf), RAY_ERR_BUFFER_TOO_SMALL);
        }
        EXPECT(ray_live_handles() == base);  // objects, then the runtime
    });

    run_test("move_semantics", [&] {
        auto rt = ray::Runtime::start(small_options());
        ray::Object a = rt.put("a");
        ray::Object b = std::move(a);
        EXPECT(!a && b);
        EXPECT(b.string() == "a");
        ray::View v1 = b.get();
        ray::View v2 = std::move(v1);
        EXPECT(!v1 && v2);
        EXPECT(v2.str() == "a");
        v1 = std::move(v2);  // move-assign over an empty view
        EXPECT(v1 && !v2);
        b = rt.put("b");     // move-assign releases the old reference
        EXPECT(b.string() == "b");
        EXPECT_THROWS(a.get(0ms), RAY_ERR_INVALID_HANDLE);  // moved-from
        ray::Runtime other = std::move(rt);
        EXPECT(!rt && other);
        EXPECT(other.put("c").string() == "c");
        v1.release();
        v1.release();  // releasing twice is harmless
    });

    run_test("large_objects_are_zero_copy", [&] {
        auto rt = ray::Runtime::start(small_options());
        std::vector<uint8_t> data(8 << 20);
        for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 13);
        ray::Object obj = rt.put(data);
        ray::View a = obj.get(), b = obj.get();
        EXPECT(a.is_shared() && b.is_shared());
        EXPECT(a.data() == b.data());
        EXPECT(a.size() == data.size() && std::memcmp(a.data(), data.data(), data.size()) == 0);
    });

    run_test("functions_and_errors", [&] {
        auto rt = ray::Runtime::start(small_options());
        std::atomic<int> calls{0};
        rt.register_function("twice", [&calls](const uint8_t* p, size_t n) {
            calls++;
            std::vector<uint8_t> out(p, p + n);
            out.insert(out.end(), p, p + n);
            return out;
        });
        rt.register_function("throws", [](const uint8_t*, size_t) -> std::vector<uint8_t> {
            throw std::runtime_error("a C++ exception inside a task");
        });
        EXPECT(rt.submit("twice", "ab").string() == "abab");
        EXPECT(rt.submit("echo", rt.submit("twice", "xy")).string() == "xyxy");  // chained by object
        std::vector<int64_t> values = {40, 2};
        auto sum = rt.submit("sum", values).bytes();
        int64_t total = 0;
        std::memcpy(&total, sum.data(), sizeof total);
        EXPECT(total == 42);
        EXPECT(calls == 2);

        try {
            rt.submit("throws", "").get();
            EXPECT(false);
        } catch (const ray::Error& e) {
            EXPECT(e.code() == RAY_ERR_TASK_FAILED);
            EXPECT(std::string(e.what()).find("a C++ exception inside a task") != std::string::npos);
        }
        EXPECT_THROWS(rt.submit("fail", "x").get(), RAY_ERR_TASK_FAILED);
        EXPECT_THROWS(rt.submit("missing", "x"), RAY_ERR_NOT_FOUND);
        EXPECT_THROWS(rt.register_function("twice", [](const uint8_t*, size_t) { return std::vector<uint8_t>(); }),
                      RAY_ERR_ALREADY_EXISTS);
        rt.unregister_function("twice");
        EXPECT_THROWS(rt.unregister_function("twice"), RAY_ERR_NOT_FOUND);
    });

    run_test("wait_and_timeouts", [&] {
        auto rt = ray::Runtime::start(small_options());
        uint32_t ms = 400;
        ray::Object slow = rt.submit("sleep_ms", &ms, sizeof ms);
        ray::Object fast = rt.put("now");
        auto r = rt.wait({&slow, &fast}, 2, 50ms);
        EXPECT(r.num_ready == 1 && !r.ready[0] && r.ready[1]);
        EXPECT_THROWS(slow.get(10ms), RAY_ERR_TIMEOUT);
        r = rt.wait({&slow, &fast}, 2);
        EXPECT(r.num_ready == 2 && r.ready[0] && r.ready[1]);
        EXPECT(slow.get().empty());
        EXPECT_THROWS(rt.wait({&slow}, 2), RAY_ERR_INVALID_ARGUMENT);
    });

    run_test("connect_and_shutdown", [&] {
        EXPECT_THROWS(ray::Runtime::connect("127.0.0.1:6379"), RAY_ERR_UNAVAILABLE);
        auto rt = ray::Runtime::start(small_options());
        ray::Object obj = rt.put("kept past shutdown");
        rt.shutdown();
        rt.shutdown();  // no-op on an empty runtime
        EXPECT_THROWS(obj.get(0ms), RAY_ERR_INVALID_HANDLE);
        EXPECT_THROWS(rt.put("x"), RAY_ERR_INVALID_HANDLE);
        // obj's destructor releases a handle the shutdown already released: harmless.
    });

    EXPECT(ray_live_handles() == base);
    std::printf("\nTest Run %s (native C++).\n", g_failed ? "Failed" : "Successful");
    std::printf("Total tests: %d\n     Passed: %d\n     Failed: %d\n    Skipped: 0\n", g_passed + g_failed, g_passed,
                g_failed);
    return g_failed ? 1 : 0;
}

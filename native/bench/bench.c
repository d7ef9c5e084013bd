/*
 * bench.c - the C side of `make bench-native`: put/get round trips per second and a zero-copy
 * get of a 1 GiB object through the C ABI, beside the same operations written in C# against
 * the C# API (bench_internal.h), in the same process, on the same runtime, interleaved round
 * by round. The figure of merit is the ratio C / C# (time per operation; the goal is <= 1.5).
 *
 * With RAY_DLL set (make bench-native sets it), the same again on a runtime connected to a
 * raylet that it starts (`dotnet $RAY_DLL start --head --port 0 ...`, stopped at the end):
 * small objects inline in the driver, 1 MiB and 1 GiB in the node's store (over its socket).
 *
 *   make bench-native            (or: [RAY_DLL=...] native/build/bench [--quick])
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "ray_runtime.h"

#define CHECK(call)                                                                                \
    do {                                                                                           \
        ray_status st_ = (call);                                                                   \
        if (st_ != RAY_OK) {                                                                       \
            fprintf(stderr, "%s failed: %s: %s\n", #call, ray_status_name(st_), ray_last_error()); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static volatile uint64_t g_sink;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per put + get + release(s), from C. mode 0: ray_get (a view) + ray_view_release;
 * mode 1: ray_get_copy into a buffer. Then ray_object_release. */
static double c_roundtrip(ray_runtime_t rt, int mode, const uint8_t* data, uint8_t* target, size_t size, int64_t iterations) {
    uint64_t sink = 0;
    double t0 = now_ns();
    if (mode == 0) {
        for (int64_t i = 0; i < iterations; i++) {
            ray_object_t obj;
            ray_view v;
            CHECK(ray_put(rt, data, size, &obj));
            CHECK(ray_get(obj, -1, &v));
            sink += v.size ? v.data[0] : 0;
            CHECK(ray_view_release(v.handle));
            CHECK(ray_object_release(obj));
        }
    } else {
        for (int64_t i = 0; i < iterations; i++) {
            ray_object_t obj;
            size_t n;
            CHECK(ray_put(rt, data, size, &obj));
            CHECK(ray_get_copy(obj, -1, target, size, &n));
            sink += n ? target[0] : 0;
            CHECK(ray_object_release(obj));
        }
    }
    double ns = (now_ns() - t0) / (double)iterations;
    g_sink += sink;
    return ns;
}

static double cs_roundtrip(ray_runtime_t rt, int mode, size_t size, int64_t iterations) {
    double ns;
    CHECK(ray_internal_bench_roundtrip(rt, mode, size, iterations, &ns));
    return ns;
}

/* ns per zero-copy get + release of an existing object, from C (reads the last byte). */
static double c_view(ray_object_t obj, int64_t iterations) {
    uint64_t sink = 0;
    double t0 = now_ns();
    for (int64_t i = 0; i < iterations; i++) {
        ray_view v;
        CHECK(ray_get(obj, -1, &v));
        sink += v.data[v.size - 1];
        CHECK(ray_view_release(v.handle));
    }
    double ns = (now_ns() - t0) / (double)iterations;
    g_sink += sink;
    return ns;
}

static double cs_view(ray_object_t obj, int64_t iterations) {
    double ns;
    CHECK(ray_internal_bench_view(obj, iterations, &ns));
    return ns;
}

/* ns per put + release of size bytes from C (ray_put, ray_object_release). */
static double c_put(ray_runtime_t rt, const uint8_t* data, size_t size, int64_t iterations) {
    double t0 = now_ns();
    for (int64_t i = 0; i < iterations; i++) {
        ray_object_t obj;
        CHECK(ray_put(rt, data, size, &obj));
        CHECK(ray_object_release(obj));
    }
    return (now_ns() - t0) / (double)iterations;
}

static double cs_put(ray_runtime_t rt, size_t size, int64_t iterations) {
    double ns;
    CHECK(ray_internal_bench_put(rt, size, iterations, &ns));
    return ns;
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double median(double* v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define ROUNDS 7

static void report(const char* what, double c_ns[ROUNDS], double cs_ns[ROUNDS], int rounds, int per_second) {
    double c = median(c_ns, rounds), cs = median(cs_ns, rounds);
    if (per_second)
        printf("%-40s  C %10.0f/s (%8.1f ns)   C# %10.0f/s (%8.1f ns)   C/C# time %.2fx\n", what, 1e9 / c, c, 1e9 / cs, cs, c / cs);
    else
        printf("%-40s  C %10.2f us            C# %10.2f us            C/C# time %.2fx\n", what, c / 1e3, cs / 1e3, c / cs);
    fflush(stdout);
}

/* Round trips (mode 0 for every size; mode 1 too when all_modes) and the 1 GiB zero-copy get,
 * C beside C#, on rt. */
static void run_suite(ray_runtime_t rt, const char* label, double target_ns, int all_modes) {
    /* ---- put/get round trips ---- */
    const int64_t gib = 1LL << 30;
    size_t sizes[] = {64, 1024, 64 * 1024, 1 << 20};
    const char* size_names[] = {"64 B", "1 KiB", "64 KiB", "1 MiB (shm)"};
    const char* mode_names[] = {"put+get(view)+release", "put+get_copy+release"};
    uint8_t* data = malloc(1 << 20);
    uint8_t* target = malloc(1 << 20);
    for (int i = 0; i < (1 << 20); i++) data[i] = (uint8_t)i;
    for (int mode = 0; mode < (all_modes ? 2 : 1); mode++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t size = sizes[s];
            double warm = c_roundtrip(rt, mode, data, target, size, 2000);
            cs_roundtrip(rt, mode, size, 2000);
            int64_t iters = (int64_t)(target_ns / warm);
            if (iters < 100) iters = 100;
            double c_ns[ROUNDS], cs_ns[ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                c_ns[r] = c_roundtrip(rt, mode, data, target, size, iters);
                cs_ns[r] = cs_roundtrip(rt, mode, size, iters);
            }
            char name[64];
            snprintf(name, sizeof name, "%s%s, %s", label, mode_names[mode], size_names[s]);
            report(name, c_ns, cs_ns, ROUNDS, 1);
        }
    }
    free(data);
    free(target);

    /* ---- a zero-copy get of a 1 GiB object ---- */
    uint8_t* big = malloc((size_t)gib);
    if (!big) { fprintf(stderr, "no memory for 1 GiB\n"); exit(1); }
    memset(big, 0x5a, (size_t)gib);
    big[gib - 1] = 7;
    ray_object_t obj;
    double t0 = now_ns();
    CHECK(ray_put(rt, big, (size_t)gib, &obj));
    double put_ms = (now_ns() - t0) / 1e6;
    ray_view first;
    t0 = now_ns();
    CHECK(ray_get(obj, -1, &first));
    double first_us = (now_ns() - t0) / 1e3;
    if (!first.is_shared || first.size != (uint64_t)gib || first.data[gib - 1] != 7) {
        fprintf(stderr, "1 GiB view is wrong (shared=%d size=%llu)\n", first.is_shared, (unsigned long long)first.size);
        exit(1);
    }
    ray_view second;
    CHECK(ray_get(obj, -1, &second));
    printf("%sfirst 1 GiB put (one copy into shared memory, into store pages not touched before): %.0f ms (%.2f GB/s); first get %.1f us; same pointer on two views: %s\n",
           label, put_ms, (double)gib / put_ms / 1e6, first_us, first.data == second.data ? "yes" : "NO");
    CHECK(ray_view_release(second.handle));
    CHECK(ray_view_release(first.handle));
    {
        double warm = c_view(obj, 1000);
        cs_view(obj, 1000);
        int64_t iters = (int64_t)(target_ns / warm);
        double c_ns[ROUNDS], cs_ns[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            c_ns[r] = c_view(obj, iters);
            cs_ns[r] = cs_view(obj, iters);
        }
        char name[64];
        snprintf(name, sizeof name, "%szero-copy get of 1 GiB (get+release)", label);
        report(name, c_ns, cs_ns, ROUNDS, 0);
    }
    CHECK(ray_object_release(obj));

    /* ---- 1 GiB puts, C beside C# (each released at once, as single_client_put_gigabytes) ---- */
    {
        c_put(rt, big, (size_t)gib, 1);
        cs_put(rt, (size_t)gib, 1);
        double c_ns[ROUNDS], cs_ns[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            c_ns[r] = c_put(rt, big, (size_t)gib, 1);
            cs_ns[r] = cs_put(rt, (size_t)gib, 1);
        }
        double c = median(c_ns, ROUNDS), cs = median(cs_ns, ROUNDS);
        printf("%s%-31s  C %7.1f ms (%5.2f GB/s)    C# %7.1f ms (%5.2f GB/s)    C/C# time %.2fx\n", label, "1 GiB put + release",
               c / 1e6, (double)gib / c, cs / 1e6, (double)gib / cs, c / cs);
        fflush(stdout);
    }
    free(big);
}

/* ---- a raylet for the connected part (started with the ray CLI, always stopped) ---- */

static char g_session[64];
static const char* g_dll;
static int g_raylet_pid;

static void stop_raylet(void) {
    if (!g_session[0]) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "dotnet '%s' stop --session-dir '%s' >/dev/null 2>&1", g_dll, g_session);
    if (system(cmd) != 0) { /* killed below anyway */ }
    DIR* proc = opendir("/proc");
    struct dirent* e;
    while (proc && (e = readdir(proc)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char path[64], line[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        FILE* f = fopen(path, "rb");
        if (!f) continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++) if (!line[i]) line[i] = ' ';
        line[n] = 0;
        if (strstr(line, g_session)) kill(pid, SIGKILL);
    }
    if (proc) closedir(proc);
    if (g_raylet_pid > 0) kill(g_raylet_pid, SIGKILL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_session);
    if (system(cmd) != 0) { /* best effort */ }
    g_session[0] = 0;
}

static void stop_raylet_on_signal(int sig) {
    stop_raylet();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int start_raylet(const char* dll, int64_t store_bytes) {
    g_dll = dll;
    strcpy(g_session, "/tmp/ray-bench-session-XXXXXX");
    if (!mkdtemp(g_session)) { perror("mkdtemp"); g_session[0] = 0; return 0; }
    atexit(stop_raylet);
    signal(SIGINT, stop_raylet_on_signal);
    signal(SIGTERM, stop_raylet_on_signal);
    signal(SIGSEGV, stop_raylet_on_signal);
    char cmd[768];
    snprintf(cmd, sizeof cmd,
             "env -u RAY_ADDRESS -u RAY_CLUSTER_TOKEN dotnet '%s' start --head --port 0 --session-dir '%s' "
             "--num-cpus 2 --object-store-memory %lld >'%s/start.out' 2>&1",
             dll, g_session, (long long)store_bytes, g_session);
    int rc = system(cmd);
    char file[128], json[4096] = {0};
    snprintf(file, sizeof file, "%s/raylet.json", g_session);
    FILE* f = fopen(file, "r");
    if (f) { size_t n = fread(json, 1, sizeof json - 1, f); json[n] = 0; fclose(f); }
    const char* p = strstr(json, "\"pid\"");
    if (p && (p = strchr(p, ':'))) g_raylet_pid = atoi(p + 1);
    if (rc != 0 || !json[0]) {
        fprintf(stderr, "cannot start a raylet with %s (exit %d); see %s/start.out\n", dll, rc, g_session);
        return 0;
    }
    return 1;
}

int main(int argc, char** argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    double target_ns = quick ? 40e6 : 150e6; /* per round and side */
    printf("bench-native (C): %s, %ld CPUs; median of %d interleaved rounds; C# = the C# API inside the same process\n",
           ray_version(), sysconf(_SC_NPROCESSORS_ONLN), ROUNDS);

    const int64_t gib = 1LL << 30;
    ray_options opts;
    ray_options_init(&opts);
    opts.object_store_bytes = gib + (256LL << 20);
    ray_runtime_t rt;
    CHECK(ray_start(&opts, &rt));

    run_suite(rt, "", target_ns, 1);
    CHECK(ray_shutdown(rt));

    const char* dll = getenv("RAY_DLL");
    if (dll && *dll) {
        /* ---- the same on a runtime connected to a raylet ---- */
        if (!start_raylet(dll, gib + (256LL << 20))) return 1;
        ray_options_init(&opts);
        opts.num_cpus = 1;
        CHECK(ray_connect(g_session, &opts, &rt));
        printf("\nconnected to a raylet (%s): small objects inline in the driver, >= 100 KiB in the node's store over its socket\n", g_session);
        run_suite(rt, "connected: ", target_ns / 2, 0);
        CHECK(ray_shutdown(rt));
        stop_raylet();
    }
    return 0;
}

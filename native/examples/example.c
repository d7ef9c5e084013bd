/*
 * example.c - embedding the Ray runtime from C: start, put/get bytes (zero copy), run tasks
 * on a built-in C# function and on a C function, wait, read an error, shut down.
 *
 *   make native && native/build/example
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ray_runtime.h"

#define CHECK(call)                                                                       \
    do {                                                                                  \
        ray_status st_ = (call);                                                          \
        if (st_ != RAY_OK) {                                                              \
            fprintf(stderr, "%s failed: %s: %s\n", #call, ray_status_name(st_), ray_last_error()); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

/* A task function written in C: upper-cases ASCII text. */
static ray_status upper(void* user_data, const uint8_t* arg, size_t size, ray_output_t out) {
    (void)user_data;
    char* buf = malloc(size ? size : 1);
    if (!buf) return ray_output_set_error(out, "out of memory"), RAY_ERR_INTERNAL;
    for (size_t i = 0; i < size; i++) buf[i] = (arg[i] >= 'a' && arg[i] <= 'z') ? (char)(arg[i] - 32) : (char)arg[i];
    ray_status st = ray_output_set(out, buf, size);
    free(buf);
    return st;
}

int main(void) {
    if (ray_abi_version() != RAY_RUNTIME_ABI_VERSION) {
        fprintf(stderr, "header is ABI %u, library is ABI %u\n", RAY_RUNTIME_ABI_VERSION, ray_abi_version());
        return 1;
    }
    printf("%s\n", ray_version());

    ray_options opts;
    ray_options_init(&opts);
    opts.num_cpus = 2;
    opts.object_store_bytes = 64 << 20;
    ray_runtime_t rt;
    CHECK(ray_start(&opts, &rt));

    /* Objects: put bytes, get a view of them (no copy), release both. */
    const char* text = "hello from C";
    ray_object_t obj;
    CHECK(ray_put(rt, text, strlen(text), &obj));
    ray_view view;
    CHECK(ray_get(obj, -1, &view));
    printf("get: \"%.*s\" (%llu bytes, shared=%d)\n", (int)view.size, (const char*)view.data,
           (unsigned long long)view.size, view.is_shared);
    CHECK(ray_view_release(view.handle));

    /* A large object lives in shared memory: the view points into the store's mapping. */
    size_t big_size = 8 << 20;
    uint8_t* big = malloc(big_size);
    for (size_t i = 0; i < big_size; i++) big[i] = (uint8_t)i;
    ray_object_t big_obj;
    CHECK(ray_put(rt, big, big_size, &big_obj));
    free(big);
    CHECK(ray_get(big_obj, -1, &view));
    printf("large get: %llu bytes, shared=%d, last byte %u\n", (unsigned long long)view.size, view.is_shared,
           view.data[view.size - 1]);
    CHECK(ray_view_release(view.handle));
    CHECK(ray_object_release(big_obj));

    /* Tasks: the built-in C# "sum", then a C function, then a chain (echo of the C result). */
    int64_t values[4] = {1, 2, 3, 36};
    ray_object_t sum;
    CHECK(ray_submit(rt, "sum", values, sizeof values, &sum));
    CHECK(ray_register_function(rt, "upper", upper, NULL));
    ray_object_t up;
    CHECK(ray_submit_object(rt, "upper", obj, &up));
    ray_object_t chained;
    CHECK(ray_submit_object(rt, "echo", up, &chained));

    ray_object_t all[3] = {sum, up, chained};
    uint8_t ready[3];
    size_t num_ready;
    CHECK(ray_wait(rt, all, 3, 3, 5000, ready, &num_ready));
    printf("wait: %zu of 3 ready\n", num_ready);

    int64_t total = 0;
    size_t n;
    CHECK(ray_get_copy(sum, -1, &total, sizeof total, &n));
    printf("sum task: %lld\n", (long long)total);
    char upper_text[64];
    CHECK(ray_get_copy(chained, -1, upper_text, sizeof upper_text - 1, &n));
    upper_text[n] = 0;
    printf("upper task, chained through echo: \"%s\"\n", upper_text);

    /* Errors: a failing task reports its message at get. */
    ray_object_t failing;
    CHECK(ray_submit(rt, "fail", "on purpose", 10, &failing));
    ray_status st = ray_get(failing, -1, &view);
    printf("fail task: %s: %s\n", ray_status_name(st), ray_last_error());

    ray_object_t handles[] = {obj, sum, up, chained, failing};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) CHECK(ray_object_release(handles[i]));

    /* Cluster mode: ray_connect(address, ...) joins a raylet started with `ray start --head`
     * (address: host:port, a session directory or its raylet.json). With nothing listening: */
    ray_runtime_t remote;
    st = ray_connect("127.0.0.1:1", NULL, &remote);
    printf("connect: %s: %s\n", ray_status_name(st), ray_last_error());

    CHECK(ray_shutdown(rt));
    printf("done\n");
    return 0;
}

/*
 * ray_runtime.h - the C ABI of the Ray for .NET runtime (libray_runtime.so).
 *
 * The library is the C# runtime compiled with NativeAOT into a shared library: no .NET
 * installation is needed to use it, and no .NET type crosses this boundary. Everything is
 * plain C: status codes, opaque integer handles, byte buffers and UTF-8 strings.
 *
 *   ray_runtime_t rt;
 *   ray_options opts;
 *   ray_options_init(&opts);
 *   if (ray_start(&opts, &rt) != RAY_OK) { fprintf(stderr, "%s\n", ray_last_error()); ... }
 *   ray_object_t obj;
 *   ray_put(rt, "hello", 5, &obj);
 *   ray_view view;
 *   ray_get(obj, -1, &view);            // view.data / view.size: the bytes (in place when large)
 *   ray_view_release(view.handle);
 *   ray_object_release(obj);
 *   ray_shutdown(rt);
 *
 * VERSIONING
 *   RAY_RUNTIME_ABI_VERSION is the version of this header. ray_abi_version() returns the
 *   library's. They must be equal (check at start-up); a library keeps its ABI number while
 *   only adding functions, and bumps it on any incompatible change. Structs passed in carry
 *   their own size (struct_size) and ABI version, set by their init function.
 *
 * STATUS CODES AND ERRORS
 *   Every function that can fail returns a ray_status: RAY_OK (0) or an error code. On
 *   failure, ray_last_error() gives a human-readable UTF-8 message naming the function and
 *   the cause, and ray_last_status() the code. Both are per thread. The message pointer is
 *   owned by the library and stays valid until the next ray_* call on the same thread: copy
 *   it if you need it longer. Successful calls do not clear it.
 *   On failure, every output handle whose pointer is non-NULL is set to 0 (RAY_NULL_HANDLE)
 *   and output sizes to 0 (except where RAY_ERR_BUFFER_TOO_SMALL reports the size needed).
 *
 * BAD INPUT
 *   Bad input never crashes the runtime: NULL pointers, the null handle, unknown handles,
 *   handles of the wrong kind, handles already released (a double release) and handles of a
 *   runtime that was shut down all return an error code. Handles carry a generation, so a
 *   stale handle is refused even after its slot is reused (a slot must be reused 16 million
 *   times before a stale handle could match again). What the library cannot check is memory
 *   you hand it: a non-NULL pointer must point to as many bytes as the size you pass, and a
 *   view's data pointer must not be read after the view is released.
 *
 * HANDLES AND WHO FREES WHAT
 *   Handles are opaque 64-bit integers; 0 is never a valid handle.
 *   - ray_runtime_t: from ray_start; freed by ray_shutdown (once).
 *   - ray_object_t:  from ray_put / ray_submit / ray_submit_object; each holds one reference
 *                    to the object; freed by ray_object_release (once). The object itself is
 *                    freed when no handle, view, pending task or stored object refers to it.
 *   - ray_view_t:    from ray_get; keeps the object's bytes mapped and alive; freed by
 *                    ray_view_release (once). Releasing the object handle first is fine: the
 *                    view keeps the object alive until it is released.
 *   - ray_output_t:  given to a registered C function; valid only during that call; never
 *                    freed by you.
 *   ray_shutdown releases every object and view handle of that runtime that is still open;
 *   they become invalid (calls return RAY_ERR_INVALID_HANDLE), and data pointers of views
 *   still open at shutdown must not be read afterwards.
 *   Memory you pass in (put data, task arguments, names, options, output data) is copied
 *   before the call returns; the library never keeps or frees your pointers, except a
 *   registered function's pointer and user_data, which are used until the function is
 *   unregistered or the runtime shut down. Memory the library returns (view data, error
 *   messages, names) is owned by the library: never free() it.
 *
 * THREAD SAFETY
 *   Every function may be called from any thread, concurrently, on the same or on
 *   different handles; the runtime is thread-safe. Rules that remain: a handle must not be
 *   released on one thread while another thread still uses it (the other call then fails
 *   with RAY_ERR_INVALID_HANDLE, or RAY_ERR_OBJECT_LOST if it was already waiting, or
 *   succeeds if it came first; it never crashes, but a view's data pointer read after its
 *   release on another thread is a use-after-free). A thread blocked in ray_get on a pending
 *   task while another calls ray_shutdown gets RAY_ERR_SHUTDOWN (ray_wait returns, counting
 *   such objects as ready, since they are: failed). Registered
 *   functions run on the runtime's worker threads, several at once (up to num_cpus), and
 *   may call any ray_* function (put, submit, get) themselves. ray_last_error is per thread.
 *   Several runtimes may run in one process; handles of one are refused by another.
 *
 * ZERO COPY
 *   ray_get returns a view of the object's bytes. Objects of at least
 *   large_object_threshold_bytes (default 100 KiB) live in the node's shared-memory object
 *   store (Plasma, a file under /dev/shm mapped by the process): the view points into that
 *   mapping (is_shared = 1), so a 1 GiB get is a few microseconds and two views of one object
 *   have the same data pointer. Smaller (inline) objects that ray_put stored keep their bytes
 *   in native memory: the view points at them too (zero copy, one pointer for every view).
 *   Inline objects made elsewhere (task results, C# puts) live in the runtime's managed
 *   memory: a view of one of at most 1 KiB gets its own copy in native memory (cheaper than
 *   pinning), a view of a larger one points at the runtime's copy, pinned while the view is
 *   open. ray_get_copy copies into your buffer.
 *
 * CLUSTER MODE
 *   ray_start runs an embedded runtime: objects and tasks in this process. ray_connect makes
 *   this process a driver of a running raylet (`ray start --head`): ray_put stores objects in
 *   the cluster (large ones in the node's shared-memory store, which the node's workers and
 *   other drivers map), and ray_get / ray_get_copy / ray_wait / views work as with ray_start
 *   (a large object is viewed in place in the node's store, is_shared = 1).
 *   Tasks: the node's worker processes run .NET code only; they cannot call a C function
 *   pointer of this process, nor C# compiled into this library. So on a connected runtime,
 *   ray_submit / ray_submit_object run the named function (registered from C, or a built-in)
 *   IN THIS PROCESS, on a local executor: worker threads started on the first submit (num_cpus
 *   of the options, default the machine's cores; 1 CPU per task, as with ray_start). Results
 *   are held in this process (not in the node's store); everything else (handles, errors,
 *   ray_wait on a mix of puts and results, chaining with ray_submit_object, cancellation at
 *   shutdown) is as on an embedded runtime. A ray_submit_object argument that is a cluster
 *   object (a ray_put) is copied to the function.
 */
#ifndef RAY_RUNTIME_H
#define RAY_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes; compare with ray_abi_version(). */
#define RAY_RUNTIME_ABI_VERSION 1u

#if defined(_WIN32)
#define RAY_API __declspec(dllimport)
#else
#define RAY_API __attribute__((visibility("default")))
#endif

/* ---- status codes (stable numbers) ---- */

typedef int32_t ray_status;

#define RAY_OK                    0  /* success */
#define RAY_ERR_INVALID_ARGUMENT  1  /* a NULL pointer, an empty name, a negative or out-of-range value, duplicate objects in a wait */
#define RAY_ERR_INVALID_HANDLE    2  /* 0, unknown, of another kind, already released, or of a shut-down runtime */
#define RAY_ERR_BUFFER_TOO_SMALL  3  /* ray_get_copy: *out_size holds the size needed */
#define RAY_ERR_TIMEOUT           4  /* the object was not ready in time; it is intact, try again */
#define RAY_ERR_TASK_FAILED       5  /* the task's function failed; the message carries its error */
#define RAY_ERR_OBJECT_LOST       6  /* the object was freed or lost */
#define RAY_ERR_STORE_FULL        7  /* the object store has no room even after spilling */
#define RAY_ERR_NOT_FOUND         8  /* no function of that name is registered */
#define RAY_ERR_ALREADY_EXISTS    9  /* a function of that name is already registered */
#define RAY_ERR_UNAVAILABLE      10  /* ray_connect: no raylet at that address (or no token for it); the connection to the raylet was lost */
#define RAY_ERR_SHUTDOWN         11  /* the runtime shut down while the call was pending */
#define RAY_ERR_CANCELLED        12  /* the task was cancelled */
#define RAY_ERR_UNSATISFIABLE    13  /* the request needs more resources than the runtime has */
#define RAY_ERR_VERSION_MISMATCH 14  /* a struct built for another ABI version, or too small */
#define RAY_ERR_INTERNAL         15  /* a bug in the runtime; the message says what happened */
#define RAY_ERR_REFUSED          16  /* ray_connect: the raylet refused this driver (wrong cluster token) */

/* ---- handles ---- */

typedef uint64_t ray_runtime_t; /* a running runtime */
typedef uint64_t ray_object_t;  /* one reference to an object (bytes) */
typedef uint64_t ray_view_t;    /* an open zero-copy view of an object's bytes */
typedef uint64_t ray_output_t;  /* where a registered function writes its result (during the call only) */

#define RAY_NULL_HANDLE ((uint64_t)0)

/* ---- version and errors ---- */

/* The library's ABI version; equal to RAY_RUNTIME_ABI_VERSION when header and library match. */
RAY_API uint32_t ray_abi_version(void);

/* A static description of the library, e.g. "ray_runtime 0.1.0 (abi 1, ...)". Never free it. */
RAY_API const char* ray_version(void);

/* The message of the last failed call on this thread ("" if none). Owned by the library,
 * valid until the next ray_* call on this thread. Never free it. */
RAY_API const char* ray_last_error(void);

/* The status of the last failed call on this thread (RAY_OK if none). */
RAY_API ray_status ray_last_status(void);

/* A static name for a status, e.g. "RAY_ERR_TIMEOUT"; "RAY_ERR_UNKNOWN_STATUS" for others. */
RAY_API const char* ray_status_name(ray_status status);

/* ---- starting and stopping ---- */

#define RAY_PREFAULT_BACKGROUND 0 /* the store's pages are faulted in behind its creation (default) */
#define RAY_PREFAULT_EAGER      1 /* created at start, every page faulted first (start pays, puts are fast) */
#define RAY_PREFAULT_NONE       2 /* pages fault on first touch */

/* Options of ray_start and ray_connect. Initialize with ray_options_init, then set what you
 * need; every zero or NULL field means "the default". Strings are copied during the call.
 * ray_connect uses large_object_threshold_bytes and cluster_token; num_cpus, num_workers and
 * the object_store_* fields configure its local executor (see CLUSTER MODE); resources of
 * the cluster come from the raylet. */
typedef struct ray_options {
    uint32_t struct_size;                  /* sizeof(ray_options); set by ray_options_init */
    uint32_t abi_version;                  /* RAY_RUNTIME_ABI_VERSION; set by ray_options_init */
    double num_cpus;                       /* CPUs the scheduler hands out; 0 = the machine's cores */
    int32_t num_workers;                   /* worker threads started up front; 0 = the CPU count */
    int32_t prefault;                      /* RAY_PREFAULT_* */
    int64_t object_store_bytes;            /* shared-memory store capacity; 0 = 30% of memory, at most 2 GiB */
    int64_t large_object_threshold_bytes;  /* objects this large or larger go to shared memory; 0 = 100 KiB */
    const char* object_store_dir;          /* directory of the store's mapped file; NULL = /dev/shm */
    const char* spill_dir;                 /* where a full store spills objects; NULL = under the temp directory */
    /* Added after the first ABI 1 release (a struct_size without it is still accepted): */
    const char* cluster_token;             /* ray_connect: the cluster's token; NULL = RAY_CLUSTER_TOKEN (set it
                                              before the first ray_* call: the runtime reads the environment
                                              once), else the session's raylet.json */
} ray_options;

static inline void ray_options_init(ray_options* options) {
    memset(options, 0, sizeof(*options));
    options->struct_size = (uint32_t)sizeof(ray_options);
    options->abi_version = RAY_RUNTIME_ABI_VERSION;
}

/* Starts an embedded runtime in this process. options may be NULL (all defaults).
 * Errors: INVALID_ARGUMENT (out_runtime NULL, a negative value, an unknown prefault),
 * VERSION_MISMATCH (options not from ray_options_init of this ABI). */
RAY_API ray_status ray_start(const ray_options* options, ray_runtime_t* out_runtime);

/* Connects to a running raylet as a driver (see CLUSTER MODE) and returns a runtime handle,
 * used and shut down like one from ray_start (ray_shutdown disconnects; the raylet ends the
 * job and keeps running). address: "host:port" of a raylet, a session directory (the
 * --session-dir of `ray start`), its raylet.json, or "auto" (the latest session on this
 * machine). The cluster token: options->cluster_token, else RAY_CLUSTER_TOKEN, else the
 * "token" of the session's raylet.json (found for a session directory or address file, or a
 * host:port of the latest local session). options may be NULL. Waits up to 30 s for the
 * raylet to answer. Errors: INVALID_ARGUMENT (NULL/empty address or NULL out_runtime, an
 * address that is not host:port nor an existing path, bad options), UNAVAILABLE (nothing
 * listening there, no session file, no token known), REFUSED (wrong token),
 * VERSION_MISMATCH (the raylet speaks another protocol version, or bad options' size). */
RAY_API ray_status ray_connect(const char* address, const ray_options* options, ray_runtime_t* out_runtime);

/* Stops the runtime: releases its open object and view handles, fails pending tasks with
 * RAY_ERR_SHUTDOWN, waits (up to 5 s per worker) for running functions, and frees the store.
 * The handle is invalid afterwards; a second call returns RAY_ERR_INVALID_HANDLE. */
RAY_API ray_status ray_shutdown(ray_runtime_t runtime);

/* ---- objects ---- */

/* Stores a copy of size bytes at data as an object (one copy; straight into shared memory when
 * large) and returns a handle to it. data may be NULL only when size is 0. Objects are limited
 * to 2^31 - 1 bytes. Errors: INVALID_HANDLE, INVALID_ARGUMENT, STORE_FULL. */
RAY_API ray_status ray_put(ray_runtime_t runtime, const void* data, size_t size, ray_object_t* out_object);

/* What ray_get fills in. data points at size bytes, valid until ray_view_release(handle);
 * data may be NULL when size is 0. Never write through data. */
typedef struct ray_view {
    ray_view_t handle;   /* release with ray_view_release */
    const uint8_t* data; /* the object's bytes, in place */
    uint64_t size;       /* number of bytes */
    int32_t is_shared;   /* 1: in the shared-memory store (zero copy across processes); 0: inline */
    int32_t reserved;
} ray_view;

/* Waits until the object is ready (timeout_ms < 0: forever; 0: do not wait) and opens a
 * zero-copy view of its bytes. Errors: INVALID_HANDLE, INVALID_ARGUMENT (out_view NULL),
 * TIMEOUT (nothing changed; try again), TASK_FAILED (its task failed: the message has the
 * error), CANCELLED, OBJECT_LOST, SHUTDOWN. */
RAY_API ray_status ray_get(ray_object_t object, int64_t timeout_ms, ray_view* out_view);

/* Waits like ray_get and copies the bytes into buffer (capacity bytes). *out_size (if
 * out_size is not NULL) is set to the object's size, also when the buffer is too small
 * (RAY_ERR_BUFFER_TOO_SMALL; nothing is copied). buffer may be NULL when capacity is 0, to
 * ask for the size. */
RAY_API ray_status ray_get_copy(ray_object_t object, int64_t timeout_ms, void* buffer, size_t capacity, size_t* out_size);

/* Closes a view from ray_get. Its data pointer must not be read afterwards. */
RAY_API ray_status ray_view_release(ray_view_t view);

/* Gives back this handle's reference to the object; the object is freed when nothing else
 * refers to it (an open view keeps it alive). */
RAY_API ray_status ray_object_release(ray_object_t object);

/* Waits until num_returns of the count objects are ready or timeout_ms passes (< 0: forever;
 * 0: just look), like ray.wait. Not an error when the time runs out: *out_num_ready says how
 * many are ready (at most num_returns), and out_ready[i] (an array of count bytes, may be
 * NULL) is 1 for each of those, in input order, else 0. Objects must be distinct and belong
 * to runtime. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL objects with count > 0,
 * num_returns > count, duplicates, an object of another runtime). */
RAY_API ray_status ray_wait(ray_runtime_t runtime, const ray_object_t* objects, size_t count, size_t num_returns,
                            int64_t timeout_ms, uint8_t* out_ready, size_t* out_num_ready);

/* ---- functions and tasks ---- */

/* A function tasks can run: gets the argument bytes (arg may be NULL when arg_size is 0; valid
 * only during the call) and writes its result with ray_output_set. Return RAY_OK for success;
 * any other value (or a call to ray_output_set_error) fails the task, and ray_get of its
 * result returns RAY_ERR_TASK_FAILED with the message. Runs on a worker thread, possibly
 * several calls at once: it must be thread-safe. Never let a C++ exception or longjmp leave
 * it. It may call other ray_* functions, except ray_shutdown of its own runtime (shutdown waits
 * for running functions). */
typedef ray_status (*ray_function)(void* user_data, const uint8_t* arg, size_t arg_size, ray_output_t output);

/* Registers fn under name (UTF-8, copied) on this runtime. fn and user_data must stay valid
 * until the function is unregistered (and its running calls returned) or ray_shutdown
 * returns. Built-in functions, registered in C# inside the library, are available on every
 * runtime: "echo" (returns its argument), "sum" (little-endian int64 values in, their int64
 * sum out), "fail" (always fails, with the argument as text in the message), "sleep_ms"
 * (sleeps a little-endian uint32 of milliseconds, returns no bytes).
 * Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL or empty name, NULL fn), ALREADY_EXISTS. */
RAY_API ray_status ray_register_function(ray_runtime_t runtime, const char* name, ray_function fn, void* user_data);

/* Removes a function registered with ray_register_function; tasks already running keep
 * running, tasks not started yet fail. Errors: INVALID_HANDLE, NOT_FOUND. */
RAY_API ray_status ray_unregister_function(ray_runtime_t runtime, const char* name);

/* Submits a task running the function named name on a copy of arg_size bytes at arg, and
 * returns at once with a handle to its future result (read it with ray_get / ray_get_copy,
 * wait with ray_wait). Each task holds 1 CPU while it runs. Errors: INVALID_HANDLE,
 * INVALID_ARGUMENT, NOT_FOUND (no such function). Failures of the function itself show up at
 * ray_get as RAY_ERR_TASK_FAILED. */
RAY_API ray_status ray_submit(ray_runtime_t runtime, const char* name, const void* arg, size_t arg_size,
                              ray_object_t* out_result);

/* Like ray_submit, with an object as the argument: the task runs once arg is ready (a result
 * of another task chains them; if arg fails, this task fails too). arg stays yours. */
RAY_API ray_status ray_submit_object(ray_runtime_t runtime, const char* name, ray_object_t arg, ray_object_t* out_result);

/* From inside a registered function: sets its result to a copy of size bytes at data
 * (a second call replaces the first). Errors: INVALID_HANDLE (not during the call), INVALID_ARGUMENT. */
RAY_API ray_status ray_output_set(ray_output_t output, const void* data, size_t size);

/* From inside a registered function: fails the task with message (UTF-8, copied). */
RAY_API ray_status ray_output_set_error(ray_output_t output, const char* message);

/* ---- diagnostics ---- */

/* Number of live handles of every kind in the process (runtimes, objects, views, outputs):
 * for leak checks in tests. */
RAY_API size_t ray_live_handles(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RAY_RUNTIME_H */

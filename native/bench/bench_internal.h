/*
 * bench_internal.h - benchmark entry points of libray_runtime.so that are NOT part of the
 * stable ABI (ray_runtime.h): the C# side of `make bench-native`, written against the C# API
 * (RayRuntime.PutBytes, ObjectRef<byte[]>.GetView) and run inside the library, so C, Python
 * and C# are measured in one process on one runtime.
 */
#ifndef RAY_BENCH_INTERNAL_H
#define RAY_BENCH_INTERNAL_H

#include "ray_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C#: `using var r = rt.PutBytes(data); using var v = r.GetView();` then mode 0: read
 * v.Span[0] (as ray_get), mode 1: v.Span.CopyTo(buffer) (as ray_get_copy); repeated
 * iterations times with size bytes; *out_ns_per_op = mean ns per round trip. */
RAY_API ray_status ray_internal_bench_roundtrip(ray_runtime_t runtime, int mode, size_t size, int64_t iterations,
                                                double* out_ns_per_op);

/* C#: `rt.PutBytes(data).Dispose();` (as single_client_put_gigabytes) from a managed array of size
 * bytes made once per size, repeated iterations times; *out_ns_per_op = mean ns per put. */
RAY_API ray_status ray_internal_bench_put(ray_runtime_t runtime, size_t size, int64_t iterations, double* out_ns_per_op);

/* C#: `using var v = objectRef.GetView(); read the last byte;` on an existing object, repeated
 * iterations times; *out_ns_per_op = mean ns per get + release. */
RAY_API ray_status ray_internal_bench_view(ray_object_t object, int64_t iterations, double* out_ns_per_op);

#ifdef __cplusplus
}
#endif

#endif

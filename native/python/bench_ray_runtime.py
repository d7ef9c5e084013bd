"""The Python side of `make bench-native`: put/get round trips per second and a zero-copy get
of a 1 GiB object through ray_runtime.py (ctypes), beside the same operations written in C#
against the C# API (run inside the library, in this process, on the same runtime: see
native/bench/bench_internal.h), interleaved round by round. Standard library only.

    RAY_RUNTIME_LIB=native/build/libray_runtime.so python3 native/python/bench_ray_runtime.py [--quick]
"""

import ctypes
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ray_runtime as rr  # noqa: E402

ROUNDS = 5
lib = rr.lib()
lib.ray_internal_bench_roundtrip.restype = ctypes.c_int32
lib.ray_internal_bench_roundtrip.argtypes = [ctypes.c_uint64, ctypes.c_int32, ctypes.c_size_t, ctypes.c_int64, ctypes.POINTER(ctypes.c_double)]
lib.ray_internal_bench_view.restype = ctypes.c_int32
lib.ray_internal_bench_view.argtypes = [ctypes.c_uint64, ctypes.c_int64, ctypes.POINTER(ctypes.c_double)]


def cs_roundtrip(rt, mode, size, iterations):
    ns = ctypes.c_double()
    rr._check(lib.ray_internal_bench_roundtrip(rt.handle, mode, size, iterations, ctypes.byref(ns)))
    return ns.value


def cs_view(ref, iterations):
    ns = ctypes.c_double()
    rr._check(lib.ray_internal_bench_view(ref.handle, iterations, ctypes.byref(ns)))
    return ns.value


def py_roundtrip(rt, mode, data, iterations):
    """ns per put + get + release(s) through the Python client."""
    sink = 0
    target = bytearray(len(data))
    start = time.perf_counter_ns()
    if mode == 0:
        for _ in range(iterations):
            ref = rt.put(data)
            view = ref.get()
            if view.size:
                sink += view.data[0]
            view.release()
            ref.release()
    else:
        for _ in range(iterations):
            ref = rt.put(data)
            ref.get_into(target)
            sink += target[0] if target else 0
            ref.release()
    return (time.perf_counter_ns() - start) / iterations


def py_view(ref, iterations):
    """ns per zero-copy get (a memoryview of the 1 GiB object) + release."""
    sink = 0
    start = time.perf_counter_ns()
    for _ in range(iterations):
        view = ref.get()
        sink += view.data[-1]
        view.release()
    return (time.perf_counter_ns() - start) / iterations


def main():
    quick = "--quick" in sys.argv
    target_ns = 40e6 if quick else 150e6
    print(f"bench-native (Python): {rr.version()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
          f"median of {ROUNDS} interleaved rounds; C# = the C# API inside the same process")
    gib = 1 << 30
    with rr.Runtime.start(object_store_bytes=gib + (256 << 20)) as rt:
        for mode, mode_name in [(0, "put+get(view)+release"), (1, "put+get_into+release")]:
            for size, size_name in [(64, "64 B"), (1024, "1 KiB"), (64 * 1024, "64 KiB"), (1 << 20, "1 MiB (shm)")]:
                data = bytes(i & 0xFF for i in range(size))
                warm = py_roundtrip(rt, mode, data, 200)
                cs_roundtrip(rt, mode, size, 2000)
                iters = max(50, int(target_ns / warm))
                cs_iters = max(100, int(target_ns / cs_roundtrip(rt, mode, size, 1000)))
                py, cs = [], []
                for _ in range(ROUNDS):
                    py.append(py_roundtrip(rt, mode, data, iters))
                    cs.append(cs_roundtrip(rt, mode, size, cs_iters))
                p, c = statistics.median(py), statistics.median(cs)
                print(f"{mode_name + ', ' + size_name:40s}  Python {1e9 / p:10.0f}/s ({p:9.1f} ns)   "
                      f"C# {1e9 / c:10.0f}/s ({c:8.1f} ns)   Python/C# time {p / c:.2f}x", flush=True)

        big = bytearray(gib)
        big[-1] = 7
        start = time.perf_counter()
        ref = rt.put(big)
        put_ms = (time.perf_counter() - start) * 1e3
        del big
        start = time.perf_counter_ns()
        first = ref.get()
        first_us = (time.perf_counter_ns() - start) / 1e3
        second = ref.get()
        assert first.is_shared and first.size == gib and first.data[-1] == 7
        same = first.address == second.address
        first.release()
        second.release()
        print(f"1 GiB put (one copy into shared memory): {put_ms:.0f} ms ({gib / put_ms / 1e6:.2f} GB/s); "
              f"first get {first_us:.1f} us; same address on two views: {'yes' if same else 'NO'}")
        warm = py_view(ref, 200)
        iters = max(100, int(target_ns / warm))
        cs_iters = max(1000, int(target_ns / cs_view(ref, 1000)))
        py, cs = [], []
        for _ in range(ROUNDS):
            py.append(py_view(ref, iters))
            cs.append(cs_view(ref, cs_iters))
        p, c = statistics.median(py), statistics.median(cs)
        print(f"{'zero-copy get of 1 GiB (get+release)':40s}  Python {p / 1e3:10.2f} us             "
              f"C# {c / 1e3:10.2f} us           Python/C# time {p / c:.2f}x")
        ref.release()


if __name__ == "__main__":
    main()

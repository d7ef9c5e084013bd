"""Tests of the Python ctypes client (ray_runtime.py) and, through it, of the C ABI: round
trips, zero-copy views, wait with a timeout, tasks on Python and C# functions, errors, and bad
input straight through ctypes (NULL pointers, unknown handles, double release, a buffer too
small). Standard library only.

    make native && RAY_RUNTIME_LIB=native/build/libray_runtime.so python3 native/python/test_ray_runtime.py -v

Prints a VSTest-style summary block at the end, which .ci/run adds to its pass/fail count.
"""

import ctypes
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ray_runtime as rr  # noqa: E402
from ray_runtime import RayError, Runtime  # noqa: E402

MB = 1024 * 1024


class RuntimeTest(unittest.TestCase):
    """Each test gets its own runtime on its own temporary store and spill directories."""

    store_bytes = 64 * MB

    def setUp(self):
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.store_dir = tempfile.mkdtemp(prefix="ray-pytest-", dir=base)
        self.spill_dir = tempfile.mkdtemp(prefix="ray-pytest-spill-")
        self.base_handles = rr.live_handles()
        self.rt = Runtime.start(num_cpus=4, object_store_bytes=self.store_bytes,
                                object_store_dir=self.store_dir, spill_dir=self.spill_dir)

    def tearDown(self):
        self.rt.shutdown()
        shutil.rmtree(self.store_dir, ignore_errors=True)
        shutil.rmtree(self.spill_dir, ignore_errors=True)

    def assertRayError(self, status, fn, *args, **kwargs):
        with self.assertRaises(RayError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.status, status, str(cm.exception))
        return cm.exception


class ObjectTests(RuntimeTest):
    def test_round_trip_sizes(self):
        for size in [0, 1, 1000, 100 * 1024 - 1, 100 * 1024, 3 * MB + 5]:
            data = bytes((i * 7 + size) & 0xFF for i in range(size)) if size < MB else os.urandom(size)
            with self.rt.put(data) as ref, ref.get(timeout=5) as view:
                self.assertEqual(view.size, size)
                self.assertEqual(view.tobytes(), data)
                self.assertEqual(view.is_shared, size >= 100 * 1024)
                self.assertEqual(ref.get_bytes(), data)

    def test_put_accepts_bytes_like(self):
        for data in [bytearray(b"abc"), memoryview(b"xyz"), memoryview(bytearray(b"12345"))[1:4]]:
            with self.rt.put(data) as ref:
                self.assertEqual(ref.get_bytes(), bytes(data))

    def test_large_view_is_zero_copy(self):
        data = os.urandom(16 * MB)
        ref = self.rt.put(data)
        a, b = ref.get(), ref.get()
        self.assertTrue(a.is_shared and b.is_shared)
        self.assertEqual(a.address, b.address)  # both point at the one copy in shared memory
        self.assertEqual(a.data[-100:].tobytes(), data[-100:])
        self.assertTrue(a.data.readonly)
        ref.release()  # the views keep the object alive
        self.assertEqual(b.data.tobytes(), data)
        a.release()
        b.release()
        with self.assertRaises(ValueError):
            a.data  # released views refuse access
        self.assertEqual(rr.live_handles(), self.base_handles + 1)  # only the runtime

    def test_get_into_and_buffer_too_small(self):
        ref = self.rt.put(b"0123456789")
        small = bytearray(4)
        err = self.assertRayError(rr.STATUS_BUFFER_TOO_SMALL, ref.get_into, small)
        self.assertIn("10 bytes", err.message)
        self.assertEqual(small, bytearray(4))
        big = bytearray(16)
        self.assertEqual(ref.get_into(big), 10)
        self.assertEqual(bytes(big[:10]), b"0123456789")
        ref.release()

    def test_double_release_and_use_after_release(self):
        ref = self.rt.put(b"x")
        handle = ref.handle
        view = ref.get()
        view.release()
        view.release()  # the wrapper makes a second release a no-op...
        ref.release()
        ref.release()
        lib = rr.lib()  # ...and the C ABI reports it
        self.assertEqual(lib.ray_object_release(handle), rr.STATUS_INVALID_HANDLE)
        self.assertIn("already released", lib.ray_last_error().decode())
        self.assertRayError(rr.STATUS_INVALID_HANDLE, rr.ObjectRef(handle, self.rt).get, 0)
        self.assertEqual(rr.live_handles(), self.base_handles + 1)

    def test_store_full(self):
        self.assertRayError(rr.STATUS_STORE_FULL, self.rt.put, bytes(self.store_bytes + MB))
        self.assertEqual(self.rt.put(b"still fine").get_bytes(), b"still fine")


class BadInputTests(RuntimeTest):
    """Straight through ctypes: what a careless C caller could pass."""

    def test_null_pointers(self):
        lib = rr.lib()
        out = ctypes.c_uint64(0)
        self.assertEqual(lib.ray_put(self.rt.handle, None, 5, ctypes.byref(out)), rr.STATUS_INVALID_ARGUMENT)
        self.assertIn("data is NULL", lib.ray_last_error().decode())
        self.assertEqual(lib.ray_put(self.rt.handle, b"abc", 3, None), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_start(None, None), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_connect(None, None, ctypes.byref(out)), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_submit(self.rt.handle, None, None, 0, ctypes.byref(out)), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_register_function(self.rt.handle, b"f", rr.FUNCTION(), None), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_wait(self.rt.handle, None, 3, 1, 0, None, None), rr.STATUS_INVALID_ARGUMENT)
        ref = self.rt.put(b"abc")
        self.assertEqual(lib.ray_get(ref.handle, -1, None), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_get_copy(ref.handle, -1, None, 10, None), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(lib.ray_last_status(), rr.STATUS_INVALID_ARGUMENT)
        self.assertEqual(ref.get_bytes(), b"abc")  # nothing was disturbed

    def test_unknown_and_wrong_kind_handles(self):
        lib = rr.lib()
        raw = rr._View()
        for handle in [0, 1, 0xDEADBEEF, 2**64 - 1, self.rt.handle]:
            self.assertEqual(lib.ray_get(handle, 0, ctypes.byref(raw)), rr.STATUS_INVALID_HANDLE, hex(handle))
        self.assertIn("runtime handle, not an object handle", lib.ray_last_error().decode())
        ref = self.rt.put(b"abc")
        self.assertEqual(lib.ray_shutdown(ref.handle), rr.STATUS_INVALID_HANDLE)
        self.assertEqual(lib.ray_view_release(ref.handle), rr.STATUS_INVALID_HANDLE)
        self.assertEqual(lib.ray_output_set(ref.handle, None, 0), rr.STATUS_INVALID_HANDLE)
        self.assertRayError(rr.STATUS_INVALID_HANDLE, rr.ObjectRef(0x0200000100000001 + 7777, self.rt).get, 0)
        self.assertEqual(ref.get_bytes(), b"abc")

    def test_bad_options_and_version(self):
        lib = rr.lib()
        out = ctypes.c_uint64(0)
        o = Runtime._options()
        o.struct_size = 4
        self.assertEqual(lib.ray_start(ctypes.byref(o), ctypes.byref(out)), rr.STATUS_VERSION_MISMATCH)
        o = Runtime._options()
        o.abi_version = 2
        self.assertEqual(lib.ray_start(ctypes.byref(o), ctypes.byref(out)), rr.STATUS_VERSION_MISMATCH)
        self.assertRayError(rr.STATUS_INVALID_ARGUMENT, Runtime.start, num_cpus=-2)
        self.assertRayError(rr.STATUS_INVALID_ARGUMENT, Runtime.start, prefault=9)
        self.assertEqual(out.value, 0)
        self.assertEqual(lib.ray_abi_version(), rr.ABI_VERSION)
        self.assertIn("ray_runtime", rr.version())

    def test_connect_to_a_wrong_address(self):
        err = self.assertRayError(rr.STATUS_UNAVAILABLE, Runtime.connect, "127.0.0.1:1")
        self.assertIn("127.0.0.1:1", err.message)
        self.assertEqual(err.status_name, "RAY_ERR_UNAVAILABLE")
        self.assertRayError(rr.STATUS_UNAVAILABLE, Runtime.connect, "127.0.0.1:1", cluster_token="abc")
        err = self.assertRayError(rr.STATUS_INVALID_ARGUMENT, Runtime.connect, "no address")
        self.assertIn("not a raylet address", err.message)
        self.assertRayError(rr.STATUS_UNAVAILABLE, Runtime.connect, "/nonexistent/session")


class TaskTests(RuntimeTest):
    def test_csharp_builtins(self):
        self.assertEqual(self.rt.submit("echo", b"hi").get_bytes(), b"hi")
        values = list(range(-50, 1000, 3))
        total = self.rt.submit("sum", struct.pack(f"<{len(values)}q", *values)).get_bytes()
        self.assertEqual(struct.unpack("<q", total)[0], sum(values))

    def test_python_function(self):
        calls = []
        self.rt.register("upper", lambda b: (calls.append(1), b.upper())[1])
        refs = [self.rt.submit("upper", f"task {i}".encode()) for i in range(50)]
        self.assertEqual([r.get_bytes(timeout=10) for r in refs], [f"TASK {i}".encode() for i in range(50)])
        self.assertEqual(len(calls), 50)
        chained = self.rt.submit("echo", self.rt.submit("upper", b"chain"))
        self.assertEqual(chained.get_bytes(timeout=10), b"CHAIN")
        self.assertRayError(rr.STATUS_ALREADY_EXISTS, self.rt.register, "upper", lambda b: b)
        self.assertRayError(rr.STATUS_ALREADY_EXISTS, self.rt.register, "echo", lambda b: b)
        self.rt.unregister("upper")
        self.assertRayError(rr.STATUS_NOT_FOUND, self.rt.submit, "upper", b"x")
        self.assertRayError(rr.STATUS_NOT_FOUND, self.rt.unregister, "upper")

    def test_python_function_calling_back_into_the_runtime(self):
        rt = self.rt

        def nested(b):
            return rt.submit("echo", rt.put(b + b"!")).get_bytes(timeout=10)

        rt.register("nested", nested)
        self.assertEqual(rt.submit("nested", b"deep").get_bytes(timeout=10), b"deep!")

    def test_errors_from_failing_functions(self):
        err = self.assertRayError(rr.STATUS_TASK_FAILED, self.rt.submit("fail", b"kaput").get, 10)
        self.assertIn("kaput", err.message)

        def broken(b):
            raise ValueError("python says no")

        self.rt.register("broken", broken)
        failed = self.rt.submit("broken", b"")
        err = self.assertRayError(rr.STATUS_TASK_FAILED, failed.get, 10)
        self.assertIn("ValueError: python says no", err.message)
        err = self.assertRayError(rr.STATUS_TASK_FAILED, self.rt.submit("echo", failed).get, 10)
        self.assertIn("python says no", err.message)  # through the dependency
        self.rt.register("wrong_type", lambda b: 42)
        self.assertRayError(rr.STATUS_TASK_FAILED, self.rt.submit("wrong_type", b"").get, 10)

    def test_wait_with_timeout(self):
        slow = self.rt.submit("sleep_ms", struct.pack("<I", 600))
        done = self.rt.put(b"done")
        start = time.monotonic()
        ready, not_ready = self.rt.wait([slow, done], num_returns=2, timeout=0.1)
        waited = time.monotonic() - start
        self.assertEqual(ready, [done])
        self.assertEqual(not_ready, [slow])
        self.assertTrue(0.09 <= waited < 0.55, waited)
        self.assertRayError(rr.STATUS_TIMEOUT, slow.get, 0.01)
        ready, not_ready = self.rt.wait([slow, done], num_returns=2)
        self.assertEqual((ready, not_ready), ([slow, done], []))
        self.assertRayError(rr.STATUS_INVALID_ARGUMENT, self.rt.wait, [done, done], 1, 0)
        self.assertRayError(rr.STATUS_INVALID_ARGUMENT, self.rt.wait, [done], 2, 0)

    def test_threads(self):
        errors = []

        def worker(i):
            try:
                for k in range(300):
                    data = f"{i}-{k}".encode()
                    with self.rt.put(data) as ref, ref.get() as view:
                        if view.tobytes() != data:
                            errors.append((i, k))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(rr.live_handles(), self.base_handles + 1)

    def test_shutdown_invalidates_handles(self):
        ref = self.rt.put(b"x")
        view = ref.get()
        self.rt.shutdown()
        self.assertRayError(rr.STATUS_INVALID_HANDLE, ref.get, 0)
        self.assertRayError(rr.STATUS_INVALID_HANDLE, view.release)
        self.assertRayError(rr.STATUS_INVALID_HANDLE, self.rt.put, b"y")
        self.assertEqual(rr.live_handles(), self.base_handles)


class ConnectedTests(unittest.TestCase):
    """A driver connected to a real raylet, started once for the class with the ray CLI
    (`dotnet $RAY_DLL start --head --port 0 --session-dir DIR`), stopped at the end, also when a
    test or the start fails: `ray stop`, then SIGKILL for every process naming the session."""

    @classmethod
    def setUpClass(cls):
        root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
        cls.ray_dll = os.environ.get("RAY_DLL") or os.path.join(root, "src/Raylet/bin/Release/net10.0/ray.dll")
        cls.session = tempfile.mkdtemp(prefix="ray-pytest-session-")
        cls.addClassCleanup(cls._stop_raylet)
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_CLUSTER_TOKEN")}
        done = subprocess.run(["dotnet", cls.ray_dll, "start", "--head", "--port", "0", "--session-dir", cls.session,
                               "--num-cpus", "2", "--object-store-memory", str(256 * MB)],
                              env=env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed ({done.returncode}): {done.stdout}{done.stderr}")
        with open(os.path.join(cls.session, "raylet.json")) as f:
            info = json.load(f)
        cls.address, cls.token, cls.pid = info["address"], info["token"], info["pid"]

    @classmethod
    def _stop_raylet(cls):
        try:
            subprocess.run(["dotnet", cls.ray_dll, "stop", "--session-dir", cls.session],
                           capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            pass
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if cls.session.encode() in f.read():
                        os.kill(int(pid), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        if getattr(cls, "pid", 0):
            try:
                os.kill(cls.pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(cls.session, ignore_errors=True)

    def setUp(self):
        self.base_handles = rr.live_handles()

    def assertRayError(self, status, fn, *args, **kwargs):
        with self.assertRaises(RayError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.status, status, str(cm.exception))
        return cm.exception

    def test_put_get_small_and_large(self):
        with Runtime.connect(self.session, num_cpus=2) as rt:
            small = b"hello from python"
            large = os.urandom(16 * MB + 1)
            with rt.put(small) as s, rt.put(large) as big:
                with s.get(timeout=1) as v:
                    self.assertEqual(v.tobytes(), small)
                    self.assertFalse(v.is_shared)
                with big.get(timeout=1) as v1, big.get(timeout=1) as v2:
                    self.assertTrue(v1.is_shared)
                    self.assertEqual(v1.address, v2.address)  # in place in the node's store
                    self.assertEqual(v1.data[-1], large[-1])
                    self.assertEqual(v1.tobytes(), large)
                ready, not_ready = rt.wait([s, big], num_returns=2, timeout=1)
                self.assertEqual((len(ready), len(not_ready)), (2, 0))
        self.assertEqual(rr.live_handles(), self.base_handles)

    def test_address_and_token(self):
        err = self.assertRayError(rr.STATUS_REFUSED, Runtime.connect, self.address, cluster_token="wrong")
        self.assertIn("token", err.message)
        with Runtime.connect(self.address, cluster_token=self.token) as rt:
            self.assertEqual(rt.put(b"x" * 200_000).get_bytes(), b"x" * 200_000)

    def test_submit_runs_in_this_process(self):
        with Runtime.connect(os.path.join(self.session, "raylet.json"), num_cpus=2) as rt:
            pid = os.getpid()
            rt.register("whoami", lambda arg: struct.pack("<q", os.getpid()) + bytes(arg))
            ref = rt.submit("whoami", b"!")
            self.assertEqual(ref.get_bytes(timeout=5), struct.pack("<q", pid) + b"!")
            arg = rt.put(bytes(300 * 1024))
            self.assertEqual(len(rt.submit("echo", arg).get_bytes(timeout=5)), 300 * 1024)
            self.assertRayError(rr.STATUS_TASK_FAILED, rt.submit("fail", b"no").get, 5)


if __name__ == "__main__":
    verbosity = 2 if "-v" in sys.argv else 1
    print(f"native Python tests (native/python/test_ray_runtime.py) against {rr.version()}")
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"\nTest Run {'Failed' if failed else 'Successful'} (native Python).")
    print(f"Total tests: {result.testsRun}\n     Passed: {passed}\n     Failed: {failed}\n    Skipped: {skipped}")
    sys.exit(1 if failed else 0)

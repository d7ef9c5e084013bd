"""A Python client of the Ray for .NET runtime through its C ABI (libray_runtime.so), with
ctypes and nothing beyond the standard library.

    from ray_runtime import Runtime

    with Runtime.start(num_cpus=2) as rt:
        ref = rt.put(b"hello")
        with ref.get() as view:              # zero copy: a memoryview of the stored bytes
            print(bytes(view.data[:5]))
        rt.register("twice", lambda b: b + b)
        print(rt.submit("twice", b"ab").get_bytes())           # b'abab'
        ready, not_ready = rt.wait([ref], num_returns=1, timeout=1.0)

The library is found at $RAY_RUNTIME_LIB, else ../build/libray_runtime.so next to this file
(where `make native` puts it), else on the loader's path. Errors raise RayError, which carries
the C status (RayError.status, one of the STATUS_* constants) and the library's message.

Lifetimes: ObjectRef and View hold one handle each; release them with release(), a `with`
block, or let them be collected. A View's memoryview must not be used after the view is
released (release() invalidates the memoryview it handed out, but not copies or slices you
made of it). Functions registered from Python run on the runtime's worker threads (taking the
GIL); keep the Runtime alive while tasks run, and shut it down (or leave its `with` block)
before the interpreter exits: atexit does it for runtimes still running.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import threading
import traceback
import weakref
from typing import Callable, Iterable, Optional, Sequence, Tuple, Union

ABI_VERSION = 1

STATUS_OK = 0
STATUS_INVALID_ARGUMENT = 1
STATUS_INVALID_HANDLE = 2
STATUS_BUFFER_TOO_SMALL = 3
STATUS_TIMEOUT = 4
STATUS_TASK_FAILED = 5
STATUS_OBJECT_LOST = 6
STATUS_STORE_FULL = 7
STATUS_NOT_FOUND = 8
STATUS_ALREADY_EXISTS = 9
STATUS_UNAVAILABLE = 10
STATUS_SHUTDOWN = 11
STATUS_CANCELLED = 12
STATUS_UNSATISFIABLE = 13
STATUS_VERSION_MISMATCH = 14
STATUS_INTERNAL = 15
STATUS_REFUSED = 16

PREFAULT_BACKGROUND = 0
PREFAULT_EAGER = 1
PREFAULT_NONE = 2


class RayError(Exception):
    """A failed call: status (STATUS_*), its name (e.g. 'RAY_ERR_TIMEOUT') and the message."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.status_name = _lib.ray_status_name(status).decode()
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class _Options(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("abi_version", ctypes.c_uint32),
        ("num_cpus", ctypes.c_double),
        ("num_workers", ctypes.c_int32),
        ("prefault", ctypes.c_int32),
        ("object_store_bytes", ctypes.c_int64),
        ("large_object_threshold_bytes", ctypes.c_int64),
        ("object_store_dir", ctypes.c_char_p),
        ("spill_dir", ctypes.c_char_p),
        ("cluster_token", ctypes.c_char_p),
    ]


class _View(ctypes.Structure):
    _fields_ = [
        ("handle", ctypes.c_uint64),
        ("data", ctypes.c_void_p),
        ("size", ctypes.c_uint64),
        ("is_shared", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
    ]


# ray_status fn(void* user_data, const uint8_t* arg, size_t arg_size, ray_output_t output)
FUNCTION = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64)


def _find_library() -> str:
    env = os.environ.get("RAY_RUNTIME_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    built = os.path.join(here, "..", "build", "libray_runtime.so")
    if os.path.exists(built):
        return built
    found = ctypes.util.find_library("ray_runtime")
    if found:
        return found
    raise OSError("libray_runtime.so not found: run `make native`, or set RAY_RUNTIME_LIB")


def _load(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)
    u64, i32, i64, sz, vp, cp = ctypes.c_uint64, ctypes.c_int32, ctypes.c_int64, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p
    sigs = {
        "ray_abi_version": (ctypes.c_uint32, []),
        "ray_version": (cp, []),
        "ray_last_error": (cp, []),
        "ray_last_status": (i32, []),
        "ray_status_name": (cp, [i32]),
        "ray_start": (i32, [ctypes.POINTER(_Options), ctypes.POINTER(u64)]),
        "ray_connect": (i32, [cp, ctypes.POINTER(_Options), ctypes.POINTER(u64)]),
        "ray_shutdown": (i32, [u64]),
        "ray_put": (i32, [u64, vp, sz, ctypes.POINTER(u64)]),
        "ray_get": (i32, [u64, i64, ctypes.POINTER(_View)]),
        "ray_get_copy": (i32, [u64, i64, vp, sz, ctypes.POINTER(sz)]),
        "ray_view_release": (i32, [u64]),
        "ray_object_release": (i32, [u64]),
        "ray_wait": (i32, [u64, ctypes.POINTER(u64), sz, sz, i64, ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(sz)]),
        "ray_register_function": (i32, [u64, cp, FUNCTION, vp]),
        "ray_unregister_function": (i32, [u64, cp]),
        "ray_submit": (i32, [u64, cp, vp, sz, ctypes.POINTER(u64)]),
        "ray_submit_object": (i32, [u64, cp, u64, ctypes.POINTER(u64)]),
        "ray_output_set": (i32, [u64, vp, sz]),
        "ray_output_set_error": (i32, [u64, cp]),
        "ray_live_handles": (sz, []),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


_lib = _load(_find_library())
if _lib.ray_abi_version() != ABI_VERSION:
    raise ImportError(f"ray_runtime.py speaks ABI {ABI_VERSION}, the library is ABI {_lib.ray_abi_version()}")


_memory_view = ctypes.pythonapi.PyMemoryView_FromMemory
_memory_view.restype = ctypes.py_object
_memory_view.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int]
_PyBUF_READ = 0x100


def lib() -> ctypes.CDLL:
    """The loaded library, with argument types set (for tests and direct calls)."""
    return _lib


def version() -> str:
    return _lib.ray_version().decode()


def live_handles() -> int:
    """Live handles in the process (leak checks)."""
    return _lib.ray_live_handles()


def _check(status: int) -> None:
    if status != STATUS_OK:
        raise RayError(status, _lib.ray_last_error().decode("utf-8", "replace"))


def _timeout_ms(timeout: Optional[float]) -> int:
    return -1 if timeout is None else max(0, int(round(timeout * 1000)))


BytesLike = Union[bytes, bytearray, memoryview]


def _buffer(data: BytesLike) -> Tuple[object, int, object]:
    """(pointer argument, size, keep-alive) of a bytes-like object, without copying where possible."""
    if type(data) is bytes:
        return data, len(data), data  # ctypes passes a bytes object as a pointer to its buffer
    mv = memoryview(data).cast("B")
    if mv.nbytes == 0:
        return None, 0, mv
    if mv.readonly:
        copy = mv.tobytes()  # a read-only buffer that is not bytes: ctypes cannot take its address
        return copy, len(copy), copy
    arr = (ctypes.c_char * mv.nbytes).from_buffer(mv)
    return arr, mv.nbytes, arr


class View:
    """A zero-copy view of an object's bytes: .data is a read-only memoryview of the stored bytes."""

    __slots__ = ("_handle", "_mv", "address", "size", "is_shared", "__weakref__")

    def __init__(self, raw: _View):
        self._handle = raw.handle
        self.address = raw.data or 0
        self.size = raw.size
        self.is_shared = bool(raw.is_shared)
        # A read-only memoryview straight over the library's bytes: no copy, no ctypes array.
        self._mv = _memory_view(self.address, self.size, _PyBUF_READ) if self.size else memoryview(b"")

    @property
    def data(self) -> memoryview:
        if not self._handle:
            raise ValueError("the view was released")
        return self._mv

    def tobytes(self) -> bytes:
        return self.data.tobytes()

    def release(self) -> None:
        """Closes the view; its memoryview stops working. A second call does nothing."""
        handle, self._handle = self._handle, 0
        if handle:
            self._mv.release()
            _check(_lib.ray_view_release(handle))

    def __enter__(self) -> "View":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        if self._handle and _lib is not None:
            _lib.ray_view_release(self._handle)

    def __len__(self) -> int:
        return self.size


class ObjectRef:
    """One reference to an object (a put value or a task's result)."""

    __slots__ = ("_handle", "runtime", "__weakref__")

    def __init__(self, handle: int, runtime: "Runtime"):
        self._handle = handle
        self.runtime = runtime

    @property
    def handle(self) -> int:
        return self._handle

    def get(self, timeout: Optional[float] = None) -> View:
        """Waits (seconds; None = forever) and opens a zero-copy view. Raises RayError."""
        raw = _View()
        _check(_lib.ray_get(self._handle, _timeout_ms(timeout), ctypes.byref(raw)))
        return View(raw)

    def get_bytes(self, timeout: Optional[float] = None) -> bytes:
        """Waits and returns a copy of the bytes."""
        with self.get(timeout) as view:
            return view.tobytes()

    def get_into(self, buffer: Union[bytearray, memoryview], timeout: Optional[float] = None) -> int:
        """Copies into a writable buffer; returns the size. RayError(BUFFER_TOO_SMALL) if it does not fit."""
        mv = memoryview(buffer).cast("B")
        size = ctypes.c_size_t(0)
        if mv.nbytes:
            arr = (ctypes.c_char * mv.nbytes).from_buffer(mv)
            status = _lib.ray_get_copy(self._handle, _timeout_ms(timeout), ctypes.addressof(arr), mv.nbytes, ctypes.byref(size))
            del arr
        else:
            status = _lib.ray_get_copy(self._handle, _timeout_ms(timeout), None, 0, ctypes.byref(size))
        _check(status)
        return size.value

    def release(self) -> None:
        """Gives the reference back now. A second call does nothing."""
        handle, self._handle = self._handle, 0
        if handle:
            _check(_lib.ray_object_release(handle))

    def __enter__(self) -> "ObjectRef":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        if self._handle and _lib is not None:
            _lib.ray_object_release(self._handle)  # INVALID_HANDLE after shutdown: harmless

    def __repr__(self) -> str:
        return f"ObjectRef(0x{self._handle:016x})"


_running: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    for rt in list(_running):
        try:
            rt.shutdown()
        except Exception:
            pass


class Runtime:
    """An embedded runtime in this process (start), or a driver connected to a raylet (connect)."""

    def __init__(self, handle: int):
        self._handle = handle
        self._functions = {}  # name -> ctypes callback, kept alive while registered (and after)
        self._retired = []
        self._lock = threading.Lock()
        _running.add(self)

    @staticmethod
    def _options(num_cpus: float = 0, num_workers: int = 0, object_store_bytes: int = 0,
                 object_store_dir: Optional[str] = None, spill_dir: Optional[str] = None,
                 large_object_threshold_bytes: int = 0, prefault: int = PREFAULT_BACKGROUND,
                 cluster_token: Optional[str] = None) -> _Options:
        o = _Options()
        o.struct_size = ctypes.sizeof(_Options)
        o.abi_version = ABI_VERSION
        o.num_cpus = num_cpus
        o.num_workers = num_workers
        o.prefault = prefault
        o.object_store_bytes = object_store_bytes
        o.large_object_threshold_bytes = large_object_threshold_bytes
        o.object_store_dir = object_store_dir.encode() if object_store_dir else None
        o.spill_dir = spill_dir.encode() if spill_dir else None
        o.cluster_token = cluster_token.encode() if cluster_token else None
        return o

    @classmethod
    def start(cls, **options) -> "Runtime":
        """Starts an embedded runtime. Options: num_cpus, num_workers, object_store_bytes,
        object_store_dir, spill_dir, large_object_threshold_bytes, prefault (0 = defaults)."""
        handle = ctypes.c_uint64(0)
        _check(_lib.ray_start(ctypes.byref(cls._options(**options)), ctypes.byref(handle)))
        return cls(handle.value)

    @classmethod
    def connect(cls, address: str, **options) -> "Runtime":
        """Connects to a running raylet as a driver. address: "host:port", a session directory or
        its raylet.json. Options: cluster_token (else RAY_CLUSTER_TOKEN or the session's
        raylet.json), large_object_threshold_bytes, and the local executor's num_cpus etc.
        Objects live in the cluster (large ones in the node's shared-memory store); submitted
        functions run in this process (see CLUSTER MODE in ray_runtime.h). Raises RayError:
        STATUS_UNAVAILABLE (nothing there), STATUS_REFUSED (wrong token), STATUS_INVALID_ARGUMENT."""
        handle = ctypes.c_uint64(0)
        _check(_lib.ray_connect(address.encode(), ctypes.byref(cls._options(**options)), ctypes.byref(handle)))
        return cls(handle.value)

    @property
    def handle(self) -> int:
        return self._handle

    def put(self, data: BytesLike) -> ObjectRef:
        """Stores a copy of the bytes (one copy; into shared memory when large)."""
        address, size, keep = _buffer(data)
        out = ctypes.c_uint64(0)
        _check(_lib.ray_put(self._handle, address, size, ctypes.byref(out)))
        del keep
        return ObjectRef(out.value, self)

    def register(self, name: str, function: Callable[[bytes], BytesLike]) -> None:
        """Registers a Python function (bytes -> bytes-like) that tasks can run by name. An
        exception fails the task with its type and message."""

        def call(user_data, arg, size, output):
            try:
                result = function(ctypes.string_at(arg, size) if size else b"")
                address, length, keep = _buffer(result if result is not None else b"")
                status = _lib.ray_output_set(output, address, length)
                del keep
                return status
            except BaseException as e:  # never let an exception unwind into the runtime
                message = "".join(traceback.format_exception_only(type(e), e)).strip()
                _lib.ray_output_set_error(output, message.encode("utf-8", "replace"))
                return STATUS_TASK_FAILED

        callback = FUNCTION(call)
        with self._lock:
            _check(_lib.ray_register_function(self._handle, name.encode(), callback, None))
            self._functions[name] = callback

    def unregister(self, name: str) -> None:
        with self._lock:
            _check(_lib.ray_unregister_function(self._handle, name.encode()))
            callback = self._functions.pop(name, None)
            if callback is not None:
                self._retired.append(callback)  # a call may still be running

    def submit(self, name: str, arg: Union[BytesLike, ObjectRef] = b"") -> ObjectRef:
        """Runs the function named name as a task on arg (bytes, or an object: the task runs
        once it is ready). Returns the future result at once."""
        out = ctypes.c_uint64(0)
        if isinstance(arg, ObjectRef):
            _check(_lib.ray_submit_object(self._handle, name.encode(), arg.handle, ctypes.byref(out)))
        else:
            address, size, keep = _buffer(arg)
            _check(_lib.ray_submit(self._handle, name.encode(), address, size, ctypes.byref(out)))
            del keep
        return ObjectRef(out.value, self)

    def wait(self, refs: Sequence[ObjectRef], num_returns: int = 1,
             timeout: Optional[float] = None) -> Tuple[list, list]:
        """Like ray.wait: (ready, not_ready), each in input order; ready has at most num_returns."""
        refs = list(refs)
        n = len(refs)
        handles = (ctypes.c_uint64 * max(n, 1))(*[r.handle for r in refs])
        flags = (ctypes.c_uint8 * max(n, 1))()
        count = ctypes.c_size_t(0)
        _check(_lib.ray_wait(self._handle, handles, n, num_returns, _timeout_ms(timeout), flags, ctypes.byref(count)))
        ready = [r for i, r in enumerate(refs) if flags[i]]
        not_ready = [r for i, r in enumerate(refs) if not flags[i]]
        return ready, not_ready

    def shutdown(self) -> None:
        """Stops the runtime; its objects and views become invalid. A second call does nothing."""
        handle, self._handle = self._handle, 0
        if handle:
            _running.discard(self)
            _check(_lib.ray_shutdown(handle))

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def __del__(self) -> None:
        # Collected while running: stop it before its Python callbacks are freed.
        if getattr(self, "_handle", 0) and _lib is not None:
            _lib.ray_shutdown(self._handle)

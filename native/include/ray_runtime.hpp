// ray_runtime.hpp - a C++17 RAII wrapper over the C ABI (ray_runtime.h), header only.
//
//   auto rt = ray::Runtime::start();                     // shut down when rt goes out of scope
//   ray::Object obj = rt.put("hello");                   // released when obj goes out of scope
//   ray::View view = obj.get();                          // zero copy; released with view
//   std::string_view text = view.str();
//   rt.register_function("twice", [](const uint8_t* p, size_t n) {
//       std::vector<uint8_t> out(p, p + n); out.insert(out.end(), p, p + n); return out; });
//   std::string twice = rt.submit("twice", "ab").get().string();   // "abab"
//
// Runtime, Object and View own one handle each and are move-only: a moved-from one is empty,
// and destroying an empty one does nothing. Every failure throws ray::Error carrying the
// ray_status and the library's message. Destructors never throw. Thread safety is the C
// ABI's: distinct objects may be used from any threads; one wrapper object must not be moved
// or destroyed while another thread uses it. Objects and Views must not outlive their Runtime
// (its shutdown invalidates them; destroying them afterwards is harmless, reading a View's
// data afterwards is not).
#ifndef RAY_RUNTIME_HPP
#define RAY_RUNTIME_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ray_runtime.h"

namespace ray {

/// A failed call: the status code and the library's message (ray_last_error at the time).
class Error : public std::runtime_error {
public:
    Error(ray_status code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ray_status code() const noexcept { return code_; }
    const char* code_name() const noexcept { return ray_status_name(code_); }

private:
    ray_status code_;
};

namespace detail {
inline void check(ray_status status) {
    if (status != RAY_OK) throw Error(status, ray_last_error());
}

inline int64_t to_ms(std::optional<std::chrono::milliseconds> timeout) {
    return timeout ? static_cast<int64_t>(timeout->count() < 0 ? 0 : timeout->count()) : -1;
}
}  // namespace detail

/// A timeout; std::nullopt waits forever.
using Timeout = std::optional<std::chrono::milliseconds>;

/// An open zero-copy view of an object's bytes (ray_get). Move-only.
class View {
public:
    View() = default;
    explicit View(const ray_view& view) noexcept : view_(view) {}
    View(View&& other) noexcept : view_(std::exchange(other.view_, ray_view{})) {}
    View& operator=(View&& other) noexcept {
        if (this != &other) {
            release();
            view_ = std::exchange(other.view_, ray_view{});
        }
        return *this;
    }
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    ~View() { release(); }

    const uint8_t* data() const noexcept { return view_.data; }
    size_t size() const noexcept { return static_cast<size_t>(view_.size); }
    bool empty() const noexcept { return view_.size == 0; }
    const uint8_t* begin() const noexcept { return view_.data; }
    const uint8_t* end() const noexcept { return view_.data + view_.size; }
    /// True when the bytes are in the shared-memory store (large objects).
    bool is_shared() const noexcept { return view_.is_shared != 0; }
    /// The bytes as text, without a copy (valid while the view is).
    std::string_view str() const noexcept {
        return {reinterpret_cast<const char*>(view_.data), static_cast<size_t>(view_.size)};
    }
    std::string string() const { return std::string(str()); }
    std::vector<uint8_t> bytes() const { return std::vector<uint8_t>(begin(), end()); }
    ray_view_t handle() const noexcept { return view_.handle; }
    explicit operator bool() const noexcept { return view_.handle != RAY_NULL_HANDLE; }

    /// Closes the view now (the destructor does it otherwise).
    void release() noexcept {
        if (view_.handle != RAY_NULL_HANDLE) ray_view_release(view_.handle);
        view_ = ray_view{};
    }

private:
    ray_view view_{};
};

/// One reference to an object (a put value or a task's result). Move-only.
class Object {
public:
    Object() = default;
    explicit Object(ray_object_t handle) noexcept : handle_(handle) {}
    Object(Object&& other) noexcept : handle_(std::exchange(other.handle_, RAY_NULL_HANDLE)) {}
    Object& operator=(Object&& other) noexcept {
        if (this != &other) {
            release();
            handle_ = std::exchange(other.handle_, RAY_NULL_HANDLE);
        }
        return *this;
    }
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;
    ~Object() { release(); }

    /// Waits for the object and opens a zero-copy view of it. Throws ray::Error
    /// (RAY_ERR_TIMEOUT, RAY_ERR_TASK_FAILED, ...).
    View get(Timeout timeout = std::nullopt) const {
        ray_view view{};
        detail::check(ray_get(handle_, detail::to_ms(timeout), &view));
        return View(view);
    }

    /// Waits for the object and copies its bytes.
    std::vector<uint8_t> bytes(Timeout timeout = std::nullopt) const { return get(timeout).bytes(); }
    std::string string(Timeout timeout = std::nullopt) const { return get(timeout).string(); }

    /// Copies into buffer; throws RAY_ERR_BUFFER_TOO_SMALL when it does not fit. Returns the size.
    size_t copy_to(void* buffer, size_t capacity, Timeout timeout = std::nullopt) const {
        size_t size = 0;
        detail::check(ray_get_copy(handle_, detail::to_ms(timeout), buffer, capacity, &size));
        return size;
    }

    ray_object_t handle() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return handle_ != RAY_NULL_HANDLE; }

    /// Gives the reference back now (the destructor does it otherwise).
    void release() noexcept {
        if (handle_ != RAY_NULL_HANDLE) ray_object_release(handle_);
        handle_ = RAY_NULL_HANDLE;
    }

    /// Hands the raw handle to the caller, who must ray_object_release it.
    ray_object_t detach() noexcept { return std::exchange(handle_, RAY_NULL_HANDLE); }

private:
    ray_object_t handle_ = RAY_NULL_HANDLE;
};

/// Options of Runtime::start and Runtime::connect; zero and empty mean the defaults (see ray_options).
struct Options {
    double num_cpus = 0;
    int32_t num_workers = 0;
    int32_t prefault = RAY_PREFAULT_BACKGROUND;
    int64_t object_store_bytes = 0;
    int64_t large_object_threshold_bytes = 0;
    std::string object_store_dir;
    std::string spill_dir;
    std::string cluster_token;  ///< connect: the cluster's token (empty: RAY_CLUSTER_TOKEN, else the session's raylet.json)
};

/// What Runtime::wait found: ready[i] for each object given, and how many are ready.
struct WaitResult {
    std::vector<bool> ready;
    size_t num_ready = 0;
};

/// A task function in C++: argument bytes in, result bytes out. Throw to fail the task (the
/// exception's what() becomes the task's error message).
using Function = std::function<std::vector<uint8_t>(const uint8_t* arg, size_t size)>;

/// A running runtime; shut down when destroyed. Move-only.
class Runtime {
public:
    Runtime() = default;
    Runtime(Runtime&& other) noexcept
        : handle_(std::exchange(other.handle_, RAY_NULL_HANDLE)), functions_(std::move(other.functions_)) {}
    Runtime& operator=(Runtime&& other) noexcept {
        if (this != &other) {
            shutdown_noexcept();
            handle_ = std::exchange(other.handle_, RAY_NULL_HANDLE);
            functions_ = std::move(other.functions_);
        }
        return *this;
    }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime() { shutdown_noexcept(); }

    /// Starts an embedded runtime. Throws ray::Error if the header and library ABIs differ.
    static Runtime start(const Options& options = Options()) {
        check_abi();
        ray_options o;
        ray_options_init(&o);
        fill(o, options);
        Runtime rt;
        detail::check(ray_start(&o, &rt.handle_));
        return rt;
    }

    /// Connects to a running raylet as a driver ("host:port", a session directory or its
    /// raylet.json); see CLUSTER MODE in ray_runtime.h. Throws ray::Error (RAY_ERR_UNAVAILABLE,
    /// RAY_ERR_REFUSED, RAY_ERR_INVALID_ARGUMENT).
    static Runtime connect(const std::string& address, const Options& options = Options()) {
        check_abi();
        ray_options o;
        ray_options_init(&o);
        fill(o, options);
        Runtime rt;
        detail::check(ray_connect(address.c_str(), &o, &rt.handle_));
        return rt;
    }

    Object put(const void* data, size_t size) const {
        ray_object_t obj = RAY_NULL_HANDLE;
        detail::check(ray_put(handle_, data, size, &obj));
        return Object(obj);
    }
    Object put(std::string_view text) const { return put(text.data(), text.size()); }
    template <class T>
    Object put(const std::vector<T>& values) const {
        static_assert(std::is_trivially_copyable<T>::value, "put copies raw bytes");
        return put(values.data(), values.size() * sizeof(T));
    }

    /// Registers a C++ function under name; the runtime keeps it until it is destroyed.
    void register_function(const std::string& name, Function function) {
        if (!functions_) throw Error(RAY_ERR_INVALID_HANDLE, "register_function: this Runtime was moved from");
        auto owned = std::make_unique<Function>(std::move(function));
        std::lock_guard<std::mutex> lock(functions_->mutex);
        detail::check(ray_register_function(handle_, name.c_str(), &Runtime::trampoline, owned.get()));
        functions_->all.push_back(std::move(owned));  // kept after unregister: calls may still run
    }

    void unregister_function(const std::string& name) const {
        detail::check(ray_unregister_function(handle_, name.c_str()));
    }

    /// Submits a task on a copy of the argument bytes; returns its future result.
    Object submit(const std::string& name, const void* arg, size_t size) const {
        ray_object_t obj = RAY_NULL_HANDLE;
        detail::check(ray_submit(handle_, name.c_str(), arg, size, &obj));
        return Object(obj);
    }
    Object submit(const std::string& name, std::string_view arg) const { return submit(name, arg.data(), arg.size()); }
    template <class T>
    Object submit(const std::string& name, const std::vector<T>& values) const {
        static_assert(std::is_trivially_copyable<T>::value, "submit copies raw bytes");
        return submit(name, values.data(), values.size() * sizeof(T));
    }
    /// Submits a task whose argument is an object (runs once it is ready).
    Object submit(const std::string& name, const Object& arg) const {
        ray_object_t obj = RAY_NULL_HANDLE;
        detail::check(ray_submit_object(handle_, name.c_str(), arg.handle(), &obj));
        return Object(obj);
    }

    /// Waits until num_returns of objects are ready or the timeout passes (ray.wait).
    WaitResult wait(const std::vector<const Object*>& objects, size_t num_returns, Timeout timeout = std::nullopt) const {
        std::vector<ray_object_t> handles;
        handles.reserve(objects.size());
        for (const Object* o : objects) handles.push_back(o ? o->handle() : RAY_NULL_HANDLE);
        std::vector<uint8_t> flags(objects.size());
        WaitResult result;
        detail::check(ray_wait(handle_, handles.data(), handles.size(), num_returns, detail::to_ms(timeout),
                               flags.data(), &result.num_ready));
        result.ready.assign(flags.begin(), flags.end());
        return result;
    }

    /// Stops the runtime now (the destructor does it otherwise); throws on failure.
    void shutdown() {
        if (handle_ == RAY_NULL_HANDLE) return;
        detail::check(ray_shutdown(std::exchange(handle_, RAY_NULL_HANDLE)));
    }

    ray_runtime_t handle() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return handle_ != RAY_NULL_HANDLE; }

private:
    struct Functions {
        std::mutex mutex;
        std::vector<std::unique_ptr<Function>> all;
    };

    static void check_abi() {
        if (ray_abi_version() != RAY_RUNTIME_ABI_VERSION)
            throw Error(RAY_ERR_VERSION_MISMATCH, "ray_runtime.hpp is ABI " + std::to_string(RAY_RUNTIME_ABI_VERSION) +
                                                      " but the library is ABI " + std::to_string(ray_abi_version()));
    }

    static void fill(ray_options& o, const Options& options) {
        o.num_cpus = options.num_cpus;
        o.num_workers = options.num_workers;
        o.prefault = options.prefault;
        o.object_store_bytes = options.object_store_bytes;
        o.large_object_threshold_bytes = options.large_object_threshold_bytes;
        o.object_store_dir = options.object_store_dir.empty() ? nullptr : options.object_store_dir.c_str();
        o.spill_dir = options.spill_dir.empty() ? nullptr : options.spill_dir.c_str();
        o.cluster_token = options.cluster_token.empty() ? nullptr : options.cluster_token.c_str();
    }

    // Runs a C++ function for the C ABI; no exception ever leaves it.
    static ray_status trampoline(void* user_data, const uint8_t* arg, size_t size, ray_output_t output) noexcept {
        try {
            std::vector<uint8_t> result = (*static_cast<Function*>(user_data))(arg, size);
            return ray_output_set(output, result.data(), result.size());
        } catch (const std::exception& e) {
            ray_output_set_error(output, e.what());
        } catch (...) {
            ray_output_set_error(output, "a C++ function threw a non-std exception");
        }
        return RAY_ERR_TASK_FAILED;
    }

    void shutdown_noexcept() noexcept {
        if (handle_ != RAY_NULL_HANDLE) ray_shutdown(std::exchange(handle_, RAY_NULL_HANDLE));
    }

    ray_runtime_t handle_ = RAY_NULL_HANDLE;
    std::unique_ptr<Functions> functions_ = std::make_unique<Functions>();
};

}  // namespace ray

#endif  // RAY_RUNTIME_HPP

using System.Runtime.InteropServices;

namespace Ray.Native;

/// <summary>The C exports for functions and tasks (registration, submission, task output); see ray_runtime.h.</summary>
internal static unsafe partial class Exports
{
    // ---- functions and tasks ----

    [UnmanagedCallersOnly(EntryPoint = "ray_register_function")]
    private static int RayRegisterFunction(ulong runtime, byte* name, delegate* unmanaged<void*, byte*, nuint, ulong, int> function, void* userData)
    {
        try
        {
            var rt = GetRuntime(runtime);
            var text = FunctionName(name);
            if (function is null) throw Null("function");
            rt.Register(new CFunction(text, function, userData));
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_register_function", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_unregister_function")]
    private static int RayUnregisterFunction(ulong runtime, byte* name)
    {
        try
        {
            GetRuntime(runtime).Unregister(FunctionName(name));
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_unregister_function", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_submit")]
    private static int RaySubmit(ulong runtime, byte* name, byte* arg, nuint argSize, ulong* outResult)
    {
        try
        {
            if (outResult is null) throw Null("out_result");
            *outResult = 0;
            var rt = GetRuntime(runtime);
            var function = FindFunction(rt, name);
            var bytes = Bytes(arg, argSize, "arg").ToArray();
            var result = rt.Executor.Task(NativeFunctions.InvokeDelegate).Options(function.Options).Remote(function.Name, bytes);
            *outResult = AddObject(result, rt);
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_submit", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_submit_object")]
    private static int RaySubmitObject(ulong runtime, byte* name, ulong arg, ulong* outResult)
    {
        try
        {
            if (outResult is null) throw Null("out_result");
            *outResult = 0;
            var rt = GetRuntime(runtime);
            var function = FindFunction(rt, name);
            var entry = FindObject(arg, out var owner);
            if (owner != rt.Id) throw new NativeException(Status.InvalidArgument, "arg belongs to another runtime");
            ObjectRef<byte[]> result;
            if (rt.InCluster(entry))
            {
                // A put into the cluster (always ready): the local executor takes a copy of its bytes.
                byte[] bytes;
                using (var view = entry.OpenView<byte>()) bytes = view.Span.ToArray();
                result = rt.Executor.Task(NativeFunctions.InvokeDelegate).Options(function.Options).Remote(function.Name, bytes);
            }
            else
            {
                // The submitted task takes a reference of its own; the temporary handle goes at once.
                using var argRef = NewRef(entry);
                result = rt.Executor.Task(NativeFunctions.InvokeDelegate).Options(function.Options).Remote(function.Name, argRef);
            }
            *outResult = AddObject(result, rt);
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_submit_object", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_output_set")]
    private static int RayOutputSet(ulong output, byte* data, nuint size)
    {
        try
        {
            var entry = Handles.Find(output, HandleKind.Output);
            ((FunctionOutput)entry.Target).Result = Bytes(data, size, "data").ToArray();
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_output_set", e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ray_output_set_error")]
    private static int RayOutputSetError(ulong output, byte* message)
    {
        try
        {
            var entry = Handles.Find(output, HandleKind.Output);
            ((FunctionOutput)entry.Target).Error = Utf8.Read(message, "message");
            return 0;
        }
        catch (Exception e) { return LastError.Fail("ray_output_set_error", e); }
    }
}

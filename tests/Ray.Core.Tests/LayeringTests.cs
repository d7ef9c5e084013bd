using System.Reflection;
using System.Reflection.Emit;
using Xunit;

namespace Ray.Core.Tests;

/// <summary>
/// Core's seams (issue 12): tasks, objects and actors reach another process only through
/// interfaces (IExecutionSite, IEntryVisitor, IArgumentVisitor, IActorTransport). This reads
/// every signature and every method body's IL of those namespaces and fails when one of them
/// uses a type of process mode (Ray.Cluster.*) directly.
/// </summary>
public class LayeringTests
{
    private static readonly string[] Seamed = ["Ray.Tasks", "Ray.Objects", "Ray.Actors"];

    [Fact]
    public void Tasks_objects_and_actors_use_no_process_mode_type()
    {
        var uses = new SortedSet<string>();
        foreach (var type in typeof(RayRuntime).Assembly.GetTypes())
        {
            if (type.Namespace is not { } ns || !Seamed.Contains(ns)) continue;
            foreach (var used in UsedTypes(type))
                if (used.Namespace?.StartsWith("Ray.Cluster", StringComparison.Ordinal) == true)
                    uses.Add($"{type.FullName} uses {used.FullName}");
        }
        Assert.Empty(uses);
    }

    [Fact]
    public void The_il_reader_finds_a_use_where_there_is_one()
    {
        // The check above must not pass because it reads nothing: the driver's worker pool uses
        // its worker channels, in signatures and in bodies.
        var used = UsedTypes(typeof(RayRuntime).Assembly.GetType("Ray.Cluster.Driver.RemoteActorLink", throwOnError: true)!).ToList();
        Assert.Contains(used, t => t.Name == "WorkerChannel");
        Assert.Contains(used, t => t.Name == "ValueWire"); // only in a method body
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> UsedTypes(Type type)
    {
        if (type.BaseType is { } b) yield return b;
        foreach (var i in type.GetInterfaces()) yield return i;
        foreach (var f in type.GetFields(All)) yield return f.FieldType;
        foreach (var p in type.GetProperties(All)) yield return p.PropertyType;
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) yield return mi.ReturnType;
            foreach (var p in m.GetParameters()) yield return p.ParameterType;
            foreach (var t in TypesInBody(m)) yield return t;
        }
        foreach (var t in type.GetNestedTypes(All).SelectMany(UsedTypes)) yield return t;
    }

    private static readonly Dictionary<short, OpCode> s_opCodes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    // Walks the IL opcode by opcode and resolves every token operand (types, methods, fields).
    private static IEnumerable<Type> TypesInBody(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) yield break;
        var module = method.Module;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            short value = il[i++];
            if (value == 0xFE) value = (short)(0xFE00 | il[i++]);
            var op = s_opCodes[value];
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: i += 8; break;
                case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var member = module.ResolveMember(BitConverter.ToInt32(il, i), typeArgs, methodArgs);
                    i += 4;
                    if (member is Type t) yield return t;
                    else if (member?.DeclaringType is { } owner) yield return owner;
                    if (member is FieldInfo fi) yield return fi.FieldType;
                    break;
                default: i += 4; break; // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR
            }
        }
    }
}

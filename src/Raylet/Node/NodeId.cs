using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Ray.Raylet.Node;

/// <summary>A node's id: 128 random bits, written as 32 lowercase hex digits.</summary>
public readonly record struct NodeId(ulong High, ulong Low)
{
    /// <summary>A fresh random id.</summary>
    public static NodeId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    /// <summary>Parses 32 hex digits.</summary>
    public static bool TryParse(string? text, out NodeId id)
    {
        id = default;
        if (text is null || text.Length != 32) return false;
        if (!ulong.TryParse(text.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high)) return false;
        if (!ulong.TryParse(text.AsSpan(16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low)) return false;
        id = new(high, low);
        return true;
    }

    /// <summary>The first 8 hex digits, for names and logs.</summary>
    public string Short => ToString()[..8];

    /// <inheritdoc />
    public override string ToString() => High.ToString("x16", CultureInfo.InvariantCulture) + Low.ToString("x16", CultureInfo.InvariantCulture);
}

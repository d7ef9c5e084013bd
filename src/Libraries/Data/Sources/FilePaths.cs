namespace Ray.Data.Sources;

/// <summary>Expands the paths a reader is given: files as they are, directories into their files (recursively, sorted; hidden and <c>_</c>-prefixed names skipped).</summary>
internal static class FilePaths
{
    public static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            var full = Path.GetFullPath(p);
            if (File.Exists(full)) files.Add(full);
            else if (Directory.Exists(full))
                files.AddRange(Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                    .Where(f => !Path.GetFileName(f).StartsWith('.') && !Path.GetFileName(f).StartsWith('_'))
                    .Order(StringComparer.Ordinal));
            else throw new FileNotFoundException($"no file or directory at {full}", full);
        }
        if (files.Count == 0) throw new FileNotFoundException($"no files in {string.Join(", ", paths)}");
        return files;
    }
}

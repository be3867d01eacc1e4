// ELF symbol-version reading and the one patch Cvr.MLNet needs: marking a needed version (a
// Vernaux entry of .gnu.version_r) weak, so the dynamic loader accepts a host library that lacks
// it. This single file is compiled twice:
//   * by MSBuild's RoslynCodeTaskFactory (build/TorchSharpNative.targets), against netstandard
//     with no preprocessor symbols, which also compiles the MSBuild task at the bottom;
//   * into the Cvr.MLNet library (linked as Native/ElfVersionNeedPatcher.cs), where the SDK defines
//     NETCOREAPP and the task is left out, for TorchSharpNative.EnsureLoadable() and the tests.
// Keep it to netstandard2.0 APIs and block-scoped namespaces so both compilations accept it.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace Cvr.MLNet.Native
{
    /// <summary>One Vernaux entry of an ELF file's <c>.gnu.version_r</c> section.</summary>
    internal sealed class VersionNeedEntry
    {
        internal VersionNeedEntry(string file, string name, uint hash, ushort flags, ushort other, long flagsOffset)
        {
            File = file;
            Name = name;
            Hash = hash;
            Flags = flags;
            Other = other;
            FlagsOffset = flagsOffset;
        }

        /// <summary>The needed library (Verneed <c>vn_file</c>), e.g. <c>libstdc++.so.6</c>.</summary>
        public string File { get; }
        /// <summary>The needed version (<c>vna_name</c>), e.g. <c>GLIBCXX_3.4.32</c>.</summary>
        public string Name { get; }
        /// <summary><c>vna_hash</c>: the ELF hash of <see cref="Name"/>.</summary>
        public uint Hash { get; }
        /// <summary><c>vna_flags</c>; bit <see cref="ElfVersionNeedPatcher.VerFlagWeak"/> marks it weak.</summary>
        public ushort Flags { get; }
        /// <summary><c>vna_other</c>: the version index symbols use to refer to this entry.</summary>
        public ushort Other { get; }
        /// <summary>Absolute file offset of the two <c>vna_flags</c> bytes.</summary>
        public long FlagsOffset { get; }
        /// <summary>True when the loader will not fail if the provider lacks this version.</summary>
        public bool IsWeak => (Flags & ElfVersionNeedPatcher.VerFlagWeak) != 0;

        public override string ToString() => File + ":" + Name + " flags=0x" + Flags.ToString("x") + " other=" + Other;
    }

    /// <summary>What <see cref="ElfVersionNeedPatcher.MarkWeak"/> did.</summary>
    internal enum VersionNeedPatchResult
    {
        /// <summary>The file does not need that version at all: nothing to do.</summary>
        NotReferenced,
        /// <summary>Every entry for that version was already weak: file untouched.</summary>
        AlreadyWeak,
        /// <summary>The file was rewritten with the version's entries marked weak.</summary>
        MarkedWeak,
    }

    /// <summary>
    /// Reads ELF64 little-endian symbol-version sections (SHT_GNU_verneed / SHT_GNU_verdef) by walking
    /// the section headers, and sets VER_FLG_WEAK on a needed version. Also finds the host's
    /// <c>libstdc++.so.6</c> and tells whether it defines a given version.
    /// </summary>
    internal static class ElfVersionNeedPatcher
    {
        /// <summary>VER_FLG_WEAK: a missing version is not a load error.</summary>
        public const ushort VerFlagWeak = 0x2;
        /// <summary>The version TorchSharp 0.107's libLibTorchSharp.so needs only for an unused symbol.</summary>
        public const string RequiredGlibcxx = "GLIBCXX_3.4.32";
        /// <summary>The soname every C++ library links against.</summary>
        public const string LibStdCxxSoname = "libstdc++.so.6";

        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        // ELF64 header (Elf64_Ehdr) field offsets and sizes, from the System V gABI.
        private const int EhdrSize = 64;
        private const int EiClass = 4, EiData = 5;
        private const byte ElfClass64 = 2, ElfData2Lsb = 1;
        private const int EShoff = 0x28, EShentsize = 0x3A, EShnum = 0x3C;
        // Elf64_Shdr fields.
        private const int ShdrSize = 64;
        private const int ShType = 4, ShOffset = 24, ShSize = 32, ShLink = 40, ShInfo = 44;
        // Elf64_Verneed / Elf64_Vernaux (both 16 bytes) and Elf64_Verdef (20) / Elf64_Verdaux (8).
        private const int VerneedSize = 16, VernauxSize = 16, VerdefSize = 20, VerdauxSize = 8;

        private const uint ShtRela = 4;
        private const int RelaSize = 24, SymSize = 24;
        // x86-64 relocation types that store a symbol's address into a data slot (GOT entries).
        private const uint RX86_64_64 = 1, RX86_64_GlobDat = 6, RX86_64_JumpSlot = 7;

        /// <summary>
        /// The link-time addresses (r_offset) of the GOT slots through which <paramref name="path"/> reaches the
        /// dynamic symbol <paramref name="symbol"/> (x86-64 JUMP_SLOT, GLOB_DAT and 64-bit absolute relocations
        /// in its SHT_RELA sections); empty when it reaches it directly or not at all.
        /// </summary>
        public static IReadOnlyList<ulong> ReadSymbolSlots(string path, string symbol)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                var elf = new ElfFile(stream, path);
                var slots = new List<ulong>();
                var symbolTables = new Dictionary<int, long>(); // dynsym section → index of the symbol (−1: absent)
                foreach (var rela in elf.Sections)
                {
                    if (rela.Type != ShtRela || rela.Link == 0) continue;
                    var symtab = elf.LinkedSection(rela, "relocation section");
                    if (!symbolTables.TryGetValue(symtab.Index, out long index))
                    {
                        index = -1;
                        byte[] syms = elf.ReadSection(symtab, "symbol table");
                        byte[] names = elf.ReadSection(elf.LinkedSection(symtab, "symbol table"), "symbol names");
                        byte[] wanted = Encoding.UTF8.GetBytes(symbol);
                        for (long i = 0; i + SymSize <= syms.Length && index < 0; i += SymSize)
                        {
                            uint name = U32(syms, i);
                            if (name + wanted.Length < names.Length && names[name + wanted.Length] == 0 && SameBytes(names, name, wanted)) index = i / SymSize;
                        }
                        symbolTables[symtab.Index] = index;
                    }
                    if (index < 0) continue;
                    byte[] entries = elf.ReadSection(rela, "relocation section");
                    for (long i = 0; i + RelaSize <= entries.Length; i += RelaSize)
                    {
                        ulong info = U64(entries, i + 8);
                        uint type = (uint)info;
                        if ((long)(info >> 32) == index && (type == RX86_64_JumpSlot || type == RX86_64_GlobDat || type == RX86_64_64))
                            slots.Add(U64(entries, i));
                    }
                }
                return slots;
            }
        }

        private static bool SameBytes(byte[] table, uint at, byte[] wanted)
        {
            for (int k = 0; k < wanted.Length; k++) if (table[at + k] != wanted[k]) return false;
            return true;
        }

        /// <summary>Every Vernaux entry of <paramref name="path"/>, in file order (empty when it has no .gnu.version_r).</summary>
        public static IReadOnlyList<VersionNeedEntry> ReadVersionNeeds(string path)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                return ReadVersionNeeds(stream, path);
            }
        }

        /// <summary>The version names (<c>GLIBCXX_3.4.30</c>, ...) that <paramref name="path"/> defines in .gnu.version_d.</summary>
        public static IReadOnlyList<string> ReadVersionDefinitions(string path)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                var elf = new ElfFile(stream, path);
                var names = new List<string>();
                foreach (var section in elf.Sections)
                {
                    if (section.Type != ShtGnuVerdef) continue;
                    byte[] data = elf.ReadSection(section, ".gnu.version_d");
                    byte[] strings = elf.ReadSection(elf.LinkedSection(section, ".gnu.version_d"), "the string table of .gnu.version_d");
                    long at = 0;
                    // sh_info holds the number of Verdef entries; vd_next chains them.
                    for (uint i = 0; i < section.Info; i++)
                    {
                        elf.Require(at >= 0 && at + VerdefSize <= data.Length, "Verdef entry " + i + " of .gnu.version_d", at);
                        ushort count = U16(data, at + 6);
                        uint aux = U32(data, at + 12);
                        uint next = U32(data, at + 16);
                        if (count > 0)
                        {
                            // The first Verdaux names the version itself; later ones name its parents.
                            long auxAt = at + aux;
                            elf.Require(auxAt + VerdauxSize <= data.Length, "Verdaux entry of Verdef " + i, auxAt);
                            names.Add(elf.String(strings, U32(data, auxAt), "vda_name of Verdef " + i));
                        }
                        if (next == 0) break;
                        at += next;
                    }
                }
                return names;
            }
        }

        /// <summary>True when the ELF file <paramref name="path"/> defines version <paramref name="version"/>.</summary>
        public static bool DefinesVersion(string path, string version)
        {
            foreach (string name in ReadVersionDefinitions(path))
            {
                if (string.Equals(name, version, StringComparison.Ordinal)) return true;
            }
            return false;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/> in <paramref name="path"/>.
        /// Idempotent: when all are already weak (or none exist) the file is not opened for writing, so
        /// its bytes and timestamps stay as they are. When it patches, it writes a sibling temporary copy
        /// and renames it over <paramref name="path"/> (so a hard or symbolic link to a shared copy, such
        /// as the NuGet cache, is replaced rather than written through), keeping the original
        /// last-write time so incremental copies (same size + same time = skip) do not undo the patch.
        /// </summary>
        public static VersionNeedPatchResult MarkWeak(string path, string version)
        {
            IReadOnlyList<VersionNeedEntry> entries = ReadVersionNeeds(path);
            var toPatch = new List<VersionNeedEntry>();
            bool referenced = false;
            foreach (VersionNeedEntry entry in entries)
            {
                if (!string.Equals(entry.Name, version, StringComparison.Ordinal)) continue;
                referenced = true;
                if (!entry.IsWeak) toPatch.Add(entry);
            }
            if (!referenced) return VersionNeedPatchResult.NotReferenced;
            if (toPatch.Count == 0) return VersionNeedPatchResult.AlreadyWeak;

            DateTime lastWrite = System.IO.File.GetLastWriteTimeUtc(path);
            string temp = path + ".cvr-patch-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
            try
            {
                // File.Copy keeps the Unix permission bits (the loader needs the file readable).
                System.IO.File.Copy(path, temp, overwrite: false);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    foreach (VersionNeedEntry entry in toPatch)
                    {
                        ushort flags = (ushort)(entry.Flags | VerFlagWeak);
                        stream.Position = entry.FlagsOffset;
                        stream.WriteByte((byte)(flags & 0xff));
                        stream.WriteByte((byte)(flags >> 8));
                    }
                }
                System.IO.File.SetLastWriteTimeUtc(temp, lastWrite);
                System.IO.File.Replace(temp, path, null);
                System.IO.File.SetLastWriteTimeUtc(path, lastWrite);
            }
            finally
            {
                if (System.IO.File.Exists(temp)) System.IO.File.Delete(temp);
            }
            return VersionNeedPatchResult.MarkedWeak;
        }

        /// <summary>
        /// The host's <c>libstdc++.so.6</c>: when <paramref name="preferLoaded"/>, the copy already mapped
        /// into this process (/proc/self/maps; the one the loader will bind a later dlopen to), then the
        /// loader cache (<c>ldconfig -p</c>), then the usual Debian/Red Hat paths. Null when none is found
        /// or not on Linux.
        /// </summary>
        public static string? FindHostLibStdCxx(bool preferLoaded)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return null;
            if (preferLoaded)
            {
                string? loaded = FindLoadedLibStdCxx();
                if (loaded != null) return loaded;
            }
            string? cached = FindLibStdCxxInLoaderCache();
            if (cached != null) return cached;
            foreach (string candidate in UsualLibStdCxxPaths())
            {
                if (System.IO.File.Exists(candidate)) return candidate;
            }
            return null;
        }

        /// <summary>
        /// True when the host libstdc++ (see <see cref="FindHostLibStdCxx"/>) exists and does not define
        /// <paramref name="version"/>; false when it defines it; null when no libstdc++ was found.
        /// </summary>
        public static bool? HostLacksVersion(string version, bool preferLoaded, out string? libStdCxxPath)
        {
            libStdCxxPath = FindHostLibStdCxx(preferLoaded);
            if (libStdCxxPath == null) return null;
            return !DefinesVersion(libStdCxxPath, version);
        }

        private static string? FindLoadedLibStdCxx()
        {
            const string maps = "/proc/self/maps";
            if (!System.IO.File.Exists(maps)) return null;
            foreach (string line in System.IO.File.ReadAllLines(maps))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                string mapped = line.Substring(slash).Trim();
                // Mapped files appear by their real name (libstdc++.so.6.0.30).
                if (Path.GetFileName(mapped).StartsWith(LibStdCxxSoname, StringComparison.Ordinal) && System.IO.File.Exists(mapped))
                {
                    return mapped;
                }
            }
            return null;
        }

        private static string? FindLibStdCxxInLoaderCache()
        {
            foreach (string ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig" })
            {
                if (!System.IO.File.Exists(ldconfig)) continue;
                string output;
                try
                {
                    var start = new ProcessStartInfo(ldconfig, "-p")
                    {
                        RedirectStandardOutput = true,
                        RedirectStandardError = true,
                        UseShellExecute = false,
                        CreateNoWindow = true,
                    };
                    using (Process? process = Process.Start(start))
                    {
                        if (process == null) continue;
                        output = process.StandardOutput.ReadToEnd();
                        process.WaitForExit();
                    }
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    continue;
                }
                return PickFromLoaderCache(output);
            }
            return null;
        }

        /// <summary>
        /// Picks the libstdc++.so.6 line of <c>ldconfig -p</c> output, e.g.
        /// <c>libstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6</c>, preferring the
        /// one built for this process's architecture.
        /// </summary>
        internal static string? PickFromLoaderCache(string ldconfigOutput)
        {
            string archTag;
            switch (RuntimeInformation.ProcessArchitecture)
            {
                case Architecture.X64: archTag = "x86-64"; break;
                case Architecture.Arm64: archTag = "AArch64"; break;
                default: archTag = ""; break;
            }
            string? any = null;
            foreach (string raw in ldconfigOutput.Split('\n'))
            {
                string line = raw.Trim();
                if (!line.StartsWith(LibStdCxxSoname + " ", StringComparison.Ordinal)) continue;
                int arrow = line.IndexOf("=>", StringComparison.Ordinal);
                if (arrow < 0) continue;
                string target = line.Substring(arrow + 2).Trim();
                if (!System.IO.File.Exists(target)) continue;
                string tags = line.Substring(0, arrow);
                if (archTag.Length > 0 && tags.IndexOf(archTag, StringComparison.Ordinal) >= 0) return target;
                if (any == null) any = target;
            }
            return any;
        }

        private static IEnumerable<string> UsualLibStdCxxPaths()
        {
            yield return "/lib/x86_64-linux-gnu/" + LibStdCxxSoname;
            yield return "/usr/lib/x86_64-linux-gnu/" + LibStdCxxSoname;
            yield return "/lib/aarch64-linux-gnu/" + LibStdCxxSoname;
            yield return "/usr/lib/aarch64-linux-gnu/" + LibStdCxxSoname;
            yield return "/usr/lib64/" + LibStdCxxSoname;
            yield return "/usr/lib/" + LibStdCxxSoname;
        }

        private static IReadOnlyList<VersionNeedEntry> ReadVersionNeeds(Stream stream, string path)
        {
            var elf = new ElfFile(stream, path);
            var entries = new List<VersionNeedEntry>();
            foreach (var section in elf.Sections)
            {
                if (section.Type != ShtGnuVerneed) continue;
                byte[] data = elf.ReadSection(section, ".gnu.version_r");
                byte[] strings = elf.ReadSection(elf.LinkedSection(section, ".gnu.version_r"), "the string table of .gnu.version_r");
                long at = 0;
                // sh_info holds the number of Verneed entries; vn_next / vna_next chain them.
                for (uint i = 0; i < section.Info; i++)
                {
                    elf.Require(at >= 0 && at + VerneedSize <= data.Length, "Verneed entry " + i + " of .gnu.version_r", at);
                    ushort count = U16(data, at + 2);
                    string file = elf.String(strings, U32(data, at + 4), "vn_file of Verneed " + i);
                    uint aux = U32(data, at + 8);
                    uint next = U32(data, at + 12);
                    long auxAt = at + aux;
                    for (int j = 0; j < count; j++)
                    {
                        elf.Require(auxAt + VernauxSize <= data.Length, "Vernaux entry " + j + " of " + file, auxAt);
                        uint hash = U32(data, auxAt);
                        ushort flags = U16(data, auxAt + 4);
                        ushort other = U16(data, auxAt + 6);
                        string name = elf.String(strings, U32(data, auxAt + 8), "vna_name of Vernaux " + j + " of " + file);
                        entries.Add(new VersionNeedEntry(file, name, hash, flags, other, (long)section.Offset + auxAt + 4));
                        uint auxNext = U32(data, auxAt + 12);
                        if (auxNext == 0) break;
                        auxAt += auxNext;
                    }
                    if (next == 0) break;
                    at += next;
                }
            }
            return entries;
        }

        private static ushort U16(byte[] b, long at) => (ushort)(b[at] | (b[at + 1] << 8));

        private static uint U32(byte[] b, long at) => (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));

        private static ulong U64(byte[] b, long at) => U32(b, at) | ((ulong)U32(b, at + 4) << 32);

        private sealed class Section
        {
            public Section(int index, uint type, ulong offset, ulong size, uint link, uint info)
            {
                Index = index;
                Type = type;
                Offset = offset;
                Size = size;
                Link = link;
                Info = info;
            }

            public int Index { get; }
            public uint Type { get; }
            public ulong Offset { get; }
            public ulong Size { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        /// <summary>Validated view of the ELF header and section header table of one file.</summary>
        private sealed class ElfFile
        {
            private readonly Stream _stream;
            private readonly string _path;
            private readonly long _length;

            public ElfFile(Stream stream, string path)
            {
                _stream = stream;
                _path = path;
                _length = stream.Length;
                if (_length < EhdrSize || !HasElfMagic(ReadAt(0, Math.Min(4, (int)_length))))
                {
                    throw new InvalidDataException("'" + path + "' is not an ELF file (no \\x7fELF magic at offset 0).");
                }
                byte[] header = ReadAt(0, EhdrSize);
                if (header[EiClass] != ElfClass64 || header[EiData] != ElfData2Lsb)
                {
                    throw new InvalidDataException("'" + path + "' is an ELF file with EI_CLASS=" + header[EiClass] + ", EI_DATA=" + header[EiData]
                        + "; only 64-bit little-endian ELF (EI_CLASS=2, EI_DATA=1) is supported.");
                }
                ulong shoff = U64(header, EShoff);
                ushort shentsize = U16(header, EShentsize);
                ushort shnum = U16(header, EShnum);
                var sections = new List<Section>();
                if (shnum > 0)
                {
                    if (shentsize != ShdrSize)
                    {
                        throw new InvalidDataException("'" + path + "': ELF header field e_shentsize is " + shentsize + ", expected " + ShdrSize + ".");
                    }
                    Require(shoff <= (ulong)_length && (ulong)shnum * ShdrSize <= (ulong)_length - shoff, "the section header table (e_shoff=" + shoff + ", e_shnum=" + shnum + ")", (long)Math.Min(shoff, long.MaxValue));
                    byte[] table = ReadAt((long)shoff, shnum * ShdrSize);
                    for (int i = 0; i < shnum; i++)
                    {
                        long at = (long)i * ShdrSize;
                        sections.Add(new Section(i, U32(table, at + ShType), U64(table, at + ShOffset), U64(table, at + ShSize),
                            U32(table, at + ShLink), U32(table, at + ShInfo)));
                    }
                }
                Sections = sections;
            }

            public IReadOnlyList<Section> Sections { get; }

            public Section LinkedSection(Section section, string what)
            {
                if (section.Link == 0 || section.Link >= Sections.Count)
                {
                    throw new InvalidDataException("'" + _path + "': " + what + " (section " + section.Index + ") has sh_link=" + section.Link
                        + ", which is not a section index (the file has " + Sections.Count + " sections).");
                }
                return Sections[(int)section.Link];
            }

            public byte[] ReadSection(Section section, string what)
            {
                Require(section.Offset <= (ulong)_length && section.Size <= (ulong)_length - section.Offset && section.Size <= int.MaxValue,
                    what + " (section " + section.Index + ", sh_size=" + section.Size + ")", (long)Math.Min(section.Offset, long.MaxValue));
                return ReadAt((long)section.Offset, (int)section.Size);
            }

            public string String(byte[] table, uint offset, string what)
            {
                Require(offset < table.Length, what + " (string table offset " + offset + ")", offset);
                int end = Array.IndexOf(table, (byte)0, (int)offset);
                Require(end >= 0, what + " (unterminated string)", offset);
                return Encoding.UTF8.GetString(table, (int)offset, end - (int)offset);
            }

            public void Require(bool ok, string what, long offset)
            {
                if (!ok)
                {
                    throw new InvalidDataException("'" + _path + "' is a truncated or corrupt ELF file: " + what + " at offset " + offset
                        + " lies outside the file or its section (file size " + _length + " bytes).");
                }
            }

            private static bool HasElfMagic(byte[] b) => b.Length == 4 && b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F';

            private byte[] ReadAt(long offset, int count)
            {
                var buffer = new byte[count];
                _stream.Position = offset;
                int read = 0;
                while (read < count)
                {
                    int n = _stream.Read(buffer, read, count - read);
                    if (n == 0) break;
                    read += n;
                }
                Require(read == count, count + " bytes", offset);
                return buffer;
            }
        }
    }
}

#if !NETCOREAPP
namespace Cvr.MLNet.Native.Build
{
    using Microsoft.Build.Framework;

    /// <summary>
    /// MSBuild task: marks GLIBCXX_3.4.32 weak in each given copy of libLibTorchSharp.so when the host's
    /// libstdc++ lacks it. No-op off Linux, when the host has it, or when a copy is already weak.
    /// </summary>
    public sealed class CvrPatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        /// <summary>Copies of libLibTorchSharp.so to check (missing paths are skipped).</summary>
        [Required]
        public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

        /// <summary>The needed version to make weak.</summary>
        public string Version { get; set; } = ElfVersionNeedPatcher.RequiredGlibcxx;

        /// <summary>Overrides host detection: the libstdc++.so.6 whose version definitions decide.</summary>
        public string HostLibStdCxx { get; set; } = "";

        /// <summary>The copies that were patched by this run.</summary>
        [Output]
        public ITaskItem[] Patched { get; set; } = Array.Empty<ITaskItem>();

        public override bool Execute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || Files.Length == 0) return true;
            string? host = HostLibStdCxx.Length > 0 ? HostLibStdCxx : ElfVersionNeedPatcher.FindHostLibStdCxx(preferLoaded: false);
            if (host == null)
            {
                Log.LogMessage(MessageImportance.Normal, "Cvr.MLNet: no libstdc++.so.6 found on this host; libLibTorchSharp.so left as is.");
                return true;
            }
            try
            {
                if (ElfVersionNeedPatcher.DefinesVersion(host, Version))
                {
                    Log.LogMessage(MessageImportance.Low, "Cvr.MLNet: " + host + " defines " + Version + "; libLibTorchSharp.so needs no patch.");
                    return true;
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is InvalidDataException)
            {
                Log.LogError("Cvr.MLNet: cannot read the version definitions of host libstdc++ '" + host + "': " + ex.Message);
                return false;
            }

            var patched = new List<ITaskItem>();
            foreach (ITaskItem item in Files)
            {
                string path = item.GetMetadata("FullPath");
                if (!System.IO.File.Exists(path)) continue;
                try
                {
                    VersionNeedPatchResult result = ElfVersionNeedPatcher.MarkWeak(path, Version);
                    if (result == VersionNeedPatchResult.MarkedWeak)
                    {
                        Log.LogMessage(MessageImportance.High, "Cvr.MLNet: marked " + Version + " weak in " + path
                            + " (host " + host + " lacks it; the only symbol needing it is never called).");
                        patched.Add(item);
                    }
                    else
                    {
                        Log.LogMessage(MessageImportance.Low, "Cvr.MLNet: " + path + ": " + Version + " "
                            + (result == VersionNeedPatchResult.AlreadyWeak ? "already weak." : "not needed by this file."));
                    }
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is InvalidDataException)
                {
                    Log.LogError("Cvr.MLNet: cannot patch '" + path + "': " + ex.Message);
                }
            }
            Patched = patched.ToArray();
            return !Log.HasLoggedErrors;
        }
    }
}
#endif

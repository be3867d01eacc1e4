using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Cvr.MLNet.Native;

/// <summary>What <see cref="MklCpuDispatch.Apply"/> found and did.</summary>
/// <param name="Applied">True when MKL's vendor check now answers "Intel" (its kernels are chosen by the CPU's features).</param>
/// <param name="Reason">Why it was or was not applied, in words.</param>
/// <param name="Slots">GOT slots redirected.</param>
public sealed record MklCpuDispatchReport(bool Applied, string Reason, int Slots);

/// <summary>
/// MKL (linked statically into libtorch_cpu.so, where libtorch's CPU GEMMs run) chooses its kernels by CPU
/// vendor before features: on an AMD CPU it takes a generic code path even when the CPU has AVX-512
/// (this machine: <c>mkl_serv_get_cpu_type</c> 0 instead of 7; measured in docs/performance.md, session 4). The vendor test is one exported function,
/// <c>mkl_serv_intel_cpu_true</c>, which the library calls through its GOT. Pointing those GOT slots at a
/// 6-byte native function returning 1 (what the well-known <c>LD_PRELOAD</c> fix for MKL on AMD does, here
/// in process and before MKL's first call) makes MKL pick its kernels by the features the CPU reports.
/// The library file is not modified. Only on Linux x64 with an AMD CPU; <c>CVR_MKL_CPU_DISPATCH=0</c> turns
/// it off. Every step is checked (the slot must hold the real function or a PLT stub of the same library)
/// and anything unexpected leaves the process untouched.
/// </summary>
public static class MklCpuDispatch
{
    /// <summary>The environment variable that turns the redirection off ("0").</summary>
    public const string EnvironmentVariable = "CVR_MKL_CPU_DISPATCH";
    internal const string VendorCheck = "mkl_serv_intel_cpu_true";

    private static readonly Lock Gate = new();
    private static MklCpuDispatchReport? _report;
    private static IntPtr _stub;

    /// <summary>What the process's redirection did (null before libtorch was initialized by this library).</summary>
    public static MklCpuDispatchReport? Report => _report;

    /// <summary>True when the redirection should run: x64 Linux, an AMD CPU, and not turned off.</summary>
    internal static bool Wanted(string? vendor, string? environmentValue, out string reason)
    {
        reason = !OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 ? "not Linux x64"
            : environmentValue == "0" ? $"{EnvironmentVariable}=0"
            : vendor != "AuthenticAMD" ? $"CPU vendor {vendor ?? "unknown"}: MKL's own dispatch applies"
            : "";
        return reason.Length == 0;
    }

    /// <summary>The CPUID vendor string ("GenuineIntel", "AuthenticAMD", ...), or null off x86.</summary>
    internal static string? CpuVendor()
    {
        if (!X86Base.IsSupported) return null;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> b = stackalloc byte[12];
        BitConverter.TryWriteBytes(b[..4], ebx); BitConverter.TryWriteBytes(b[4..8], edx); BitConverter.TryWriteBytes(b[8..], ecx);
        return Encoding.ASCII.GetString(b);
    }

    /// <summary>Applies the redirection once per process (after libtorch is loaded, before its first MKL call).</summary>
    internal static MklCpuDispatchReport Apply()
    {
        lock (Gate)
        {
            if (_report is not null) return _report;
            if (!Wanted(CpuVendor(), Environment.GetEnvironmentVariable(EnvironmentVariable), out var reason))
                return _report = new(false, reason, 0);
            try
            {
                var maps = Mappings();
                var library = LoadedLibrary("libtorch_cpu.so", maps);
                return _report = library is null ? new(false, "libtorch_cpu.so is not loaded", 0) : Redirect(library, maps);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException
                                          or DllNotFoundException or EntryPointNotFoundException or FormatException or OverflowException)
            {
                // A speed-up only: never a reason for libtorch not to start (a slot already redirected is as valid as one not).
                return _report = new(false, $"failed: {e.Message}", 0);
            }
        }
    }

    /// <summary>Redirects the vendor check's GOT slots in <paramref name="library"/>, one of the process's <paramref name="maps"/>.</summary>
    internal static MklCpuDispatchReport Redirect(string library, IReadOnlyList<Mapping> maps)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return new(false, $"cannot open {library}", 0);
        if (!NativeLibrary.TryGetExport(handle, VendorCheck, out var real)) return new(false, $"{library} has no {VendorCheck} (no MKL inside)", 0);
        if (dladdr(real, out var info) == 0 || info.Base == IntPtr.Zero) return new(false, $"dladdr failed for {VendorCheck}", 0);
        // dlsym also searches the library's dependencies: the definition must be the library's own.
        if (Marshal.PtrToStringUTF8(info.FileName) is not { } definedIn || Path.GetFullPath(definedIn) != Path.GetFullPath(library))
            return new(false, $"{library} has no {VendorCheck} of its own (no MKL inside)", 0);
        var own = maps.Where(m => m.Path == library).ToList();
        var (libStart, libEnd) = (own.Min(m => m.Start), own.Max(m => m.End));
        // MKL detects the CPU once, on its first call, and caches the result: after that a redirection changes nothing.
        if (CachedCpuType(handle) is int chosen && chosen != -1) return new(false, $"MKL had already chosen its code path ({chosen})", 0);
        var slots = ElfVersionNeedPatcher.ReadSymbolSlots(library, VendorCheck);
        if (slots.Count == 0) return new(false, $"{library} calls {VendorCheck} directly (no GOT slot)", 0);

        var addresses = new List<IntPtr>();
        foreach (var offset in slots)
        {
            var slot = (IntPtr)((long)info.Base + (long)offset);
            if ((ulong)slot < libStart || (ulong)slot + 8 > libEnd) return new(false, $"GOT slot 0x{offset:x} lies outside {library}'s mapping", 0);
            var current = (ulong)Marshal.ReadIntPtr(slot);
            // Resolved (BIND_NOW: the real function) or not yet (lazy binding: a PLT stub inside the library).
            if (current != (ulong)real && (current < libStart || current >= libEnd))
                return new(false, $"GOT slot 0x{offset:x} holds 0x{current:x}, neither {VendorCheck} nor a stub of {library}: left alone", 0);
            addresses.Add(slot);
        }
        _stub = ReturnOneStub();
        foreach (var slot in addresses) WriteProtected(slot, _stub, maps);
        return new(true, $"{VendorCheck} answers 1 in {library}", addresses.Count);
    }

    /// <summary>
    /// MKL's code path number as cached by its first call (<c>mkl_serv_get_cpu_type(0)</c>, which only reads the
    /// cache: −1 before MKL's first use; on this AMD machine 0 = generic, 7 = AVX-512), or null without MKL.
    /// </summary>
    public static int? MklCpuType()
    {
        var library = LoadedLibrary("libtorch_cpu.so", Mappings());
        return library is not null && NativeLibrary.TryLoad(library, out var handle) ? CachedCpuType(handle) : null;
    }

    private static int? CachedCpuType(IntPtr handle)
    {
        if (!NativeLibrary.TryGetExport(handle, "mkl_serv_get_cpu_type", out var f)) return null;
        unsafe { return ((delegate* unmanaged<int, int>)f)(0); }
    }

    /// <summary>A page holding <c>mov eax, 1; ret</c>, made executable (never freed: MKL may call it until exit).</summary>
    private static IntPtr ReturnOneStub()
    {
        const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;
        var page = mmap(IntPtr.Zero, 4096, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == new IntPtr(-1)) throw new InvalidOperationException($"mmap failed ({Marshal.GetLastPInvokeError()})");
        Marshal.Copy(new byte[] { 0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3 }, 0, page, 6);
        if (mprotect(page, 4096, ProtRead | ProtExec) != 0) throw new InvalidOperationException($"mprotect failed ({Marshal.GetLastPInvokeError()})");
        return page;
    }

    private static void WriteProtected(IntPtr slot, IntPtr value, IReadOnlyList<Mapping> maps)
    {
        const int ProtRead = 1, ProtWrite = 2;
        var page = (IntPtr)((long)slot & ~4095L);
        var m = maps.First(x => (ulong)slot >= x.Start && (ulong)slot < x.End);
        if (!m.Writable && mprotect(page, 4096, ProtRead | ProtWrite) != 0)
            throw new InvalidOperationException($"mprotect failed ({Marshal.GetLastPInvokeError()})");
        Marshal.WriteIntPtr(slot, value);
        if (!m.Writable && mprotect(page, 4096, m.Protection) != 0)
            throw new InvalidOperationException($"mprotect failed ({Marshal.GetLastPInvokeError()})");
    }

    internal sealed record Mapping(ulong Start, ulong End, string Permissions, string Path)
    {
        public bool Writable => Permissions.Length > 1 && Permissions[1] == 'w';
        public int Protection => (Permissions[0] == 'r' ? 1 : 0) | (Permissions[1] == 'w' ? 2 : 0) | (Permissions[2] == 'x' ? 4 : 0);
    }

    /// <summary>The process's memory mappings (<c>/proc/self/maps</c>).</summary>
    internal static List<Mapping> Mappings()
    {
        var list = new List<Mapping>();
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // start-end perms offset dev inode path
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5) continue;
            var range = parts[0].Split('-');
            list.Add(new Mapping(Convert.ToUInt64(range[0], 16), Convert.ToUInt64(range[1], 16), parts[1], parts.Length == 6 ? parts[5].Trim() : ""));
        }
        return list;
    }

    /// <summary>The full path of a loaded library whose file name is <paramref name="fileName"/>, or null.</summary>
    internal static string? LoadedLibrary(string fileName, IReadOnlyList<Mapping> maps) =>
        maps.Select(m => m.Path).FirstOrDefault(p => Path.GetFileName(p) == fileName);

    [StructLayout(LayoutKind.Sequential)]
    private struct DlInfo { public IntPtr FileName, Base, SymbolName, SymbolAddress; }

    [DllImport("libc.so.6")] private static extern int dladdr(IntPtr address, out DlInfo info);
    [DllImport("libc.so.6", SetLastError = true)] private static extern IntPtr mmap(IntPtr address, nuint length, int protection, int flags, int fd, nint offset);
    [DllImport("libc.so.6", SetLastError = true)] private static extern int mprotect(IntPtr address, nuint length, int protection);
}

// Compiled into every project that imports build/Publicize.targets (see docs/persistence.md).
// CS0436: a referenced project of ours may expose the same internal attribute via InternalsVisibleTo.
#pragma warning disable CS0436
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Data")]
#pragma warning restore CS0436

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Read by the runtime, by name: code in this assembly may access non-public members of the named
    /// assembly. Pairs with the publicized compile-time references of build/Publicize.targets.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        /// <summary>Creates the attribute for the given assembly simple name.</summary>
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        /// <summary>Simple name of the assembly whose internals this assembly may access.</summary>
        public string AssemblyName { get; }
    }
}

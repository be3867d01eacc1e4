using System.Text.Json.Serialization;

namespace Cvr.MLNet.Model;

/// <summary>
/// Source-generated JSON for the network configuration saved with a model, so saving and loading
/// work in trimmed/AOT hosts where reflection-based serialization is disabled.
/// </summary>
[JsonSerializable(typeof(CvrNetworkOptions))]
internal sealed partial class CvrJsonContext : JsonSerializerContext;

namespace Cvr.MLNet.Samples;

/// <summary>Events per behavior 1..4 and the last event's hour (int.MinValue when none) of one user×category, user×item or item run.</summary>
internal readonly record struct InteractionTotals(int Clicks, int Favs, int Carts, int Buys, int LastHour)
{
    public InteractionTotals() : this(0, 0, 0, 0, int.MinValue) { }

    public int this[int behavior] => behavior switch { 1 => Clicks, 2 => Favs, 3 => Carts, 4 => Buys, _ => throw new ArgumentOutOfRangeException(nameof(behavior)) };

    public InteractionTotals With(byte behavior, int hour) => WithCount(behavior, 1, hour);

    public InteractionTotals WithCount(int behavior, int count, int hour) => behavior switch
    {
        1 => this with { Clicks = Clicks + count, LastHour = Math.Max(LastHour, hour) },
        2 => this with { Favs = Favs + count, LastHour = Math.Max(LastHour, hour) },
        3 => this with { Carts = Carts + count, LastHour = Math.Max(LastHour, hour) },
        4 => this with { Buys = Buys + count, LastHour = Math.Max(LastHour, hour) },
        _ => throw new ArgumentOutOfRangeException(nameof(behavior), behavior, "behavior must be 1..4."),
    };

    public void AddTo(Span<float> values, int at)
    {
        values[at] += Clicks; values[at + 1] += Favs; values[at + 2] += Carts; values[at + 3] += Buys;
    }

    public void Write(BinaryWriter w) { w.Write(Clicks); w.Write(Favs); w.Write(Carts); w.Write(Buys); w.Write(LastHour); }

    public static InteractionTotals Read(BinaryReader r, string what)
    {
        var t = new InteractionTotals(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
        if (t.Clicks < 0 || t.Favs < 0 || t.Carts < 0 || t.Buys < 0)
            throw new InvalidDataException($"Corrupt interaction state: negative count for {what}.");
        return t;
    }
}

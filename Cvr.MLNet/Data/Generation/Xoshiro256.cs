using System.Numerics;

namespace Cvr.MLNet.Data.Generation;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64. The generator owns its PRNG so that a
/// seed gives byte-identical output on every .NET version (<see cref="System.Random"/>'s algorithm is
/// not a stable contract). Not thread-safe; one instance per stream.
/// </summary>
public sealed class Xoshiro256
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareNormal;

    /// <summary>A stream for <paramref name="seed"/>; <paramref name="stream"/> selects an independent sub-stream (e.g. one per user).</summary>
    public Xoshiro256(ulong seed, ulong stream = 0)
    {
        ulong x = seed ^ (stream * 0xD1342543DE82EF95UL + 0x9E3779B97F4A7C15UL);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in (0, 1], safe for logarithms.</summary>
    public double NextDoubleNonZero() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="n"/>) (Lemire's unbiased multiply-shift).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be positive.");
        ulong bound = (ulong)n;
        while (true)
        {
            ulong hi = Math.BigMul(NextUInt64(), bound, out ulong lo);
            if (lo >= bound || lo >= (0UL - bound) % bound) return (int)hi;
        }
    }

    /// <summary>Uniform integer in [<paramref name="min"/>, <paramref name="max"/>] inclusive.</summary>
    public int NextInt(int min, int max) => min + NextInt(max - min + 1);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Bernoulli(double p) => NextDouble() < p;

    /// <summary>Standard normal (Box–Muller; the second value is kept for the next call).</summary>
    public double Normal()
    {
        if (_spareNormal is double s) { _spareNormal = null; return s; }
        double r = Math.Sqrt(-2.0 * Math.Log(NextDoubleNonZero()));
        double a = 2.0 * Math.PI * NextDouble();
        _spareNormal = r * Math.Sin(a);
        return r * Math.Cos(a);
    }

    /// <summary>Exponential with the given mean.</summary>
    public double Exponential(double mean) => -mean * Math.Log(NextDoubleNonZero());

    /// <summary>Gamma(shape, 1) by Marsaglia–Tsang (shape &lt; 1 via the U^(1/shape) boost).</summary>
    public double Gamma(double shape)
    {
        if (shape < 1) return Gamma(shape + 1) * Math.Pow(NextDoubleNonZero(), 1.0 / shape);
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do { x = Normal(); v = 1 + c * x; } while (v <= 0);
            v = v * v * v;
            double u = NextDoubleNonZero();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>Beta(a, b) from two gammas.</summary>
    public double Beta(double a, double b)
    {
        double x = Gamma(a), y = Gamma(b);
        return x / (x + y);
    }

    /// <summary>Poisson(λ): Knuth's product method below 30, a rounded normal above (the tail shape does not matter here).</summary>
    public int Poisson(double lambda)
    {
        if (lambda <= 0) return 0;
        if (lambda < 30)
        {
            double l = Math.Exp(-lambda), p = 1;
            int k = -1;
            do { k++; p *= NextDouble(); } while (p > l);
            return k;
        }
        return Math.Max(0, (int)Math.Round(lambda + Math.Sqrt(lambda) * Normal()));
    }

    /// <summary>Number of failures before the first success, P(k) = (1 − r) r^k (mean r / (1 − r)).</summary>
    public int Geometric(double r)
    {
        if (r <= 0) return 0;
        if (r >= 1) throw new ArgumentOutOfRangeException(nameof(r), r, "r must be < 1.");
        return (int)Math.Min(10_000, Math.Floor(Math.Log(NextDoubleNonZero()) / Math.Log(r)));
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

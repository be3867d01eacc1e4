using System.Text;

namespace Cvr.MLNet.Data;

/// <summary>
/// Streams a file as lines of UTF-8 bytes without allocating per line: LF or CRLF endings, an
/// optional BOM, and a missing final newline are accepted.
/// </summary>
internal sealed class LineScanner : IDisposable
{
    private const int MaxLineBytes = 16 << 20;
    private readonly FileStream _stream;
    private readonly string _path;
    private byte[] _buf;
    private int _pos, _len;
    private bool _eof, _first = true;

    public LineScanner(string path, int bufferSize)
    {
        _path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        Length = _stream.Length;
        _buf = new byte[bufferSize];
    }

    /// <summary>File length in bytes.</summary>
    public long Length { get; }
    /// <summary>Bytes read from the file so far.</summary>
    public long BytesRead { get; private set; }
    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }
    /// <summary>Whether the file started with a UTF-8 BOM (known after the first line).</summary>
    public bool HadBom { get; private set; }

    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var avail = _buf.AsSpan(_pos, _len - _pos);
            int nl = avail.IndexOf((byte)'\n');
            if (nl >= 0)
            {
                line = avail[..nl];
                _pos += nl + 1;
                return Finish(ref line);
            }
            if (_eof)
            {
                if (avail.Length == 0) { line = default; return false; }
                line = avail;
                _pos = _len;
                return Finish(ref line);
            }
            Fill();
        }
    }

    private bool Finish(ref ReadOnlySpan<byte> line)
    {
        LineNumber++;
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (_first)
        {
            _first = false;
            if (line.StartsWith(Encoding.UTF8.Preamble)) { line = line[3..]; HadBom = true; }
        }
        return true;
    }

    private void Fill()
    {
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buf, _pos, _buf, 0, _len - _pos);
            _len -= _pos;
            _pos = 0;
        }
        if (_len == _buf.Length)
        {
            if (_buf.Length >= MaxLineBytes)
                throw new TianchiFormatException($"{Path.GetFileName(_path)} line {LineNumber + 1} is longer than {MaxLineBytes} bytes (not a Tianchi CSV file?)",
                    _path, LineNumber + 1, null, null);
            Array.Resize(ref _buf, _buf.Length * 2);
        }
        int n = _stream.Read(_buf, _len, _buf.Length - _len);
        if (n == 0) _eof = true;
        else { _len += n; BytesRead += n; }
    }

    public void Dispose() => _stream.Dispose();
}

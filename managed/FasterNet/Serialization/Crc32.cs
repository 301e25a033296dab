namespace FasterNet.Serialization;

/// <summary>
/// The zip CRC-32 (reflected polynomial 0xEDB88320), slicing by 8. .NET's ZipArchive does not check record
/// CRCs when reading, and a flipped bit in a weight must not load silently.
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        var table = Table.AsSpan();
        while (data.Length >= 8)
        {
            uint low = crc ^ (uint)(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24);
            uint high = (uint)(data[4] | data[5] << 8 | data[6] << 16 | data[7] << 24);
            crc = table[7 * 256 + (int)(low & 0xFF)] ^ table[6 * 256 + (int)((low >> 8) & 0xFF)] ^
                  table[5 * 256 + (int)((low >> 16) & 0xFF)] ^ table[4 * 256 + (int)(low >> 24)] ^
                  table[3 * 256 + (int)(high & 0xFF)] ^ table[2 * 256 + (int)((high >> 8) & 0xFF)] ^
                  table[1 * 256 + (int)((high >> 16) & 0xFF)] ^ table[(int)(high >> 24)];
            data = data[8..];
        }
        foreach (byte value in data)
            crc = table[(int)((crc ^ value) & 0xFF)] ^ (crc >> 8);
        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint crc = i;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            table[i] = crc;
        }
        for (int slice = 1; slice < 8; slice++)
            for (int i = 0; i < 256; i++)
                table[slice * 256 + i] = (table[(slice - 1) * 256 + i] >> 8) ^ table[table[(slice - 1) * 256 + i] & 0xFF];
        return table;
    }
}

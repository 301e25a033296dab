namespace FasterNet.Imaging;

/// <summary>The colour channels a model takes; the value is the channel count.</summary>
public enum ImageChannels
{
    Grayscale = 1,
    Rgb = 3,
}

using FasterNet.Analysis;

namespace FasterNet.Tests.Analysis;

/// <summary>
/// The paper's FLOPs (multiply-adds) and memory-access (elements) formulas, checked against
/// numbers worked out by hand for the 96x56x56 map (h*w = 3136, k^2 = 9, c = 96, cp = 24, g = 16).
/// </summary>
public class OperatorCostTests
{
    private static readonly FeatureMapSize Stage1 = new(96, 56, 56);

    [Test]
    public void ConvCostsHwK2C2AndReadsBothMapsPlusWeights()
    {
        // 3136 * 9 * 96 * 96; 3136 * 2 * 96 + 9 * 96 * 96 = 602112 + 82944.
        Assert.That(OperatorCost.For(OperatorKind.Conv, Stage1), Is.EqualTo(new OperatorCost(260_112_384, 685_056)));
    }

    [Test]
    public void GroupConvDividesFlopsAndWeightsByTheGroups()
    {
        // 260112384 / 16; 602112 + 82944 / 16 = 602112 + 5184.
        Assert.That(OperatorCost.For(OperatorKind.GroupConv, Stage1, groups: 16),
            Is.EqualTo(new OperatorCost(16_257_024, 607_296)));
    }

    [Test]
    public void DepthwiseConvHasOneFilterPerChannel()
    {
        // 3136 * 9 * 96; 602112 + 9 * 96.
        Assert.That(OperatorCost.For(OperatorKind.DepthwiseConv, Stage1), Is.EqualTo(new OperatorCost(2_709_504, 602_976)));
    }

    [Test]
    public void PartialConvTouchesOnlyAQuarterOfTheChannels()
    {
        // cp = 24: 3136 * 9 * 576; 3136 * 2 * 24 + 9 * 576 = 150528 + 5184.
        OperatorCost cost = OperatorCost.For(OperatorKind.PartialConv, Stage1, nDiv: 4);
        Assert.That(cost, Is.EqualTo(new OperatorCost(16_257_024, 155_712)));
        // The paper: 1/16 of a regular conv's FLOPs, about 1/4 of its memory access.
        Assert.That(cost.Flops * 16, Is.EqualTo(OperatorCost.For(OperatorKind.Conv, Stage1).Flops));
    }

    [Test]
    public void PartialConvPointwiseAddsAFullOneByOneConv()
    {
        // 16257024 + 3136 * 96 * 96 = 16257024 + 28901376; 602112 + 5184 + 9216.
        Assert.That(OperatorCost.For(OperatorKind.PartialConvPointwise, Stage1, nDiv: 4),
            Is.EqualTo(new OperatorCost(45_158_400, 616_512)));
    }

    [Test]
    public void SmallestPaperMapConvIsDominatedByItsWeights()
    {
        // 768x7x7: 49 * 9 * 768^2 = 260112384 (every Table 1 map has the same Conv FLOPs);
        // memory 49 * 1536 + 9 * 589824 = 75264 + 5308416.
        OperatorCost cost = OperatorCost.For(OperatorKind.Conv, new FeatureMapSize(768, 7, 7));
        Assert.That(cost, Is.EqualTo(new OperatorCost(260_112_384, 5_383_680)));
    }

    [Test]
    public void PartialChannelsRoundDownLikeTheOfficialCode()
    {
        Assert.That(OperatorCost.PartialChannels(40, 4), Is.EqualTo(10));
        Assert.That(OperatorCost.PartialChannels(10, 3), Is.EqualTo(3));
        Assert.That(OperatorCost.For(OperatorKind.PartialConv, new FeatureMapSize(10, 2, 3), nDiv: 3).Flops,
            Is.EqualTo(6L * 9 * 3 * 3));
    }

    [Test]
    public void GroupsThatDoNotDivideTheChannelsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => OperatorCost.For(OperatorKind.GroupConv, Stage1, groups: 5));
        Assert.That(e!.Message, Does.Contain("groups (5) must divide channels (96)"));
    }

    [TestCase(0)]
    [TestCase(97)]
    public void NDivOutsideTheChannelsIsRejected(int nDiv)
    {
        Assert.Throws<ArgumentException>(() => OperatorCost.For(OperatorKind.PartialConv, Stage1, nDiv: nDiv));
    }

    [Test]
    public void EmptyFeatureMapsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => OperatorCost.For(OperatorKind.Conv, new FeatureMapSize(0, 56, 56)));
    }

    [Test]
    public void PaperSizesAreFasterNetsStageMapsAt224()
    {
        Assert.That(FeatureMapSize.Paper.Select(s => s.ToString()),
            Is.EqualTo(new[] { "96x56x56", "192x28x28", "384x14x14", "768x7x7" }));
    }

    [Test]
    public void OperatorsCarryThePapersNames()
    {
        Assert.That(OperatorBenchmark.Operators.Select(o => o.PaperName()),
            Is.EqualTo(new[] { "Conv", "GConv", "DWConv", "PConv", "PConv+PWConv" }));
    }
}

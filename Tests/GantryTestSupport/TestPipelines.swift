/// Pipelines the tests run on phantom studies, written once.
public enum TestPipelines {
    /// A pipeline over the phantom study's T1w, brain mask and tissue labels: `stages` (YAML list
    /// items) after k-means tissue classes (`seg`) and their Dice against the reference (`dice`).
    public static func tissue(name: String, inputs: String = "", stages: String = "") -> String {
        """
        name: \(name)
        inputs:
          t1w: anat/{subject}_T1w.nii.gz
          brain: anat/{subject}_label-brain_mask.nii.gz
          tissue: anat/{subject}_label-tissue_dseg.nii.gz
        \(inputs)stages:
          - id: seg
            uses: segment.tissue-kmeans
            inputs: {image: inputs.t1w, mask: inputs.brain}
            with: {classes: 3}
          - id: dice
            uses: metrics.dice
            inputs: {pred: seg.mask, ref: inputs.tissue}
            with: {labels: [1, 2, 3], names: "CSF, GM, WM"}
        \(stages)
        """
    }

    /// The Dice table over all subjects (`reports/dice.csv`), as a stage list item.
    public static let diceTable = """
      - id: table
        uses: report.dice
        inputs: {metrics: dice.metrics}

    """

    /// A stage of the test kind `test.crash` (registered by the pipeline tests), failing while `flag` exists.
    public static func crash(flag: String) -> String {
        """
        name: crash
        inputs:
          t1w: anat/{subject}_T1w.nii.gz
        stages:
          - id: boom
            uses: test.crash
            inputs: {image: inputs.t1w}
            with: {flag: "\(flag)"}
        """
    }
}

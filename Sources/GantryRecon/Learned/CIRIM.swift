import Foundation
import GantryCore
import GantryNN

/// Cascades of Independently Recurrent Inference Machines (Karkalousos et al. 2022); one cascade is
/// a RIM (Lønning et al. 2019). Each time step feeds [Re x, Im x, Re g, Im g] — the estimate and the
/// gradient of the data log-likelihood — through conv/recurrent layers and adds the output to x.
/// Parameters carry atommic's state-dict names (`reconstruction_module.<cascade>.layers.<l>.convs…`,
/// `….rnn…`, `….final_layer.0.conv_layer.weight`), so atommic checkpoints load by name.
public final class CIRIM {
    public let config: RIMConfiguration
    public let parameters: ParameterStore
    /// Training memory: each time step keeps only its inputs (estimate and hidden states) and
    /// recomputes its activations in backward (gradient checkpointing, `Tensor.checkpoint`) — one
    /// more forward pass for a fraction of the memory. The trainer turns it on; inference records
    /// nothing anyway.
    public var recomputeSteps = false

    public init(config: RIMConfiguration, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        parameters = ParameterStore(seed: seed)
        try materialise()
    }

    var layerCount: Int { config.convFilters.count - 1 }

    func conv(_ cascade: Int, _ l: Int) -> ConvNonlinear {
        let c = config
        let last = l == layerCount
        let inChannels = l == 0 ? 4 : c.recurrentFilters[l - 1]
        let prefix = last ? "reconstruction_module.\(cascade).final_layer.0" : "reconstruction_module.\(cascade).layers.\(l).convs"
        return ConvNonlinear(prefix: prefix, inChannels: inChannels, outChannels: c.convFilters[l], kernel: c.convKernels[l],
                             dilation: c.convDilations[l], bias: c.convBias[l], relu: !last)
    }

    func cell(_ cascade: Int, _ l: Int) -> ConvRecurrentCell {
        let c = config
        return ConvRecurrentCell(kind: c.recurrentLayer, prefix: "reconstruction_module.\(cascade).layers.\(l).rnn", inChannels: c.convFilters[l],
                                 hidden: c.recurrentFilters[l], kernel: c.recurrentKernels[l], dilation: c.recurrentDilations[l], bias: c.recurrentBias[l])
    }

    /// All estimates: [cascade][time step] → [N, 2, H, W]. `initial` defaults to the SENSE
    /// combination of the measured data. The last element is the reconstruction.
    public func forward(_ batch: SenseBatch, initial: Tensor? = nil) throws -> [[Tensor]] {
        var x = try initial ?? batch.senseCombination()
        guard x.shape == [batch.count, 2, batch.ny, batch.nx] else { throw GantryError.invalidArgument("initial estimate \(x.shape) does not match the data") }
        let p = parameters
        var hidden = config.recurrentFilters.dropLast().map { Tensor(zeros: [batch.count, $0, batch.ny, batch.nx]) }
        let power = config.noDC ? nil : try batch.coilPower()
        var all: [[Tensor]] = []
        for cascade in 0..<config.numCascades {
            var steps: [Tensor] = []
            // One time step: [x, hidden…] → [x + Δx, hidden′…].
            let step = { (inputs: [Tensor]) throws -> [Tensor] in
                var h = try Tensor.concatChannels([inputs[0], try inputs[0].logLikelihoodGradient(batch)])
                var next: [Tensor] = []
                for l in 0..<self.layerCount {
                    h = try self.cell(cascade, l)(self.conv(cascade, l)(h, p), inputs[1 + l], p)
                    next.append(h)
                }
                return [inputs[0] + (try self.conv(cascade, self.layerCount)(h, p))] + next
            }
            let recompute = recomputeSteps && Tensor.isRecording, weights = recompute ? p.all : []
            for _ in 0..<config.timeSteps {
                let inputs = [x] + hidden
                let parts = try recompute ? Tensor.checkpoint(inputs, parameters: weights, step) : step(inputs)
                x = parts[0]
                hidden = Array(parts.dropFirst())
                steps.append(x)
            }
            if let power {
                // Soft DC in k-space, k ← k − w·M(k − y), back by SENSE combination: x ← (Σ|S|²)x − w·Aᴴ(Ax − y).
                let w = p.parameter("reconstruction_module.\(cascade).dc_weight", shape: [1], fanIn: 1, constant: 1)
                x = (x * power) - (try x.logLikelihoodGradient(batch).multiplying(w))
                steps[steps.count - 1] = x
            }
            all.append(steps)
        }
        return all
    }

    /// The final estimate only, without recording a graph.
    public func reconstruct(_ batch: SenseBatch) throws -> Tensor {
        try Tensor.noGrad {
            guard let last = try forward(batch).last?.last else { throw GantryError.invalidArgument("CIRIM produced no estimate") }
            return last
        }
    }

    /// Creates every parameter by one step on a tiny single-coil acquisition (parameters are made
    /// on first use), so a checkpoint can be loaded into, or an optimiser built over, a fresh model.
    func materialise() throws {
        let n = 8
        let op = try SenseOperator(maps: (0..<(n * n)).flatMap { _ in [Float(1), 0] }, mask: [Float](repeating: 1, count: n * n), coils: 1, ny: n, nx: n)
        _ = try Tensor.noGrad { try forward(SenseBatch(operators: [op], kspace: [[Float](repeating: 0, count: 2 * n * n)])) }
        parameters.seal()
    }
}

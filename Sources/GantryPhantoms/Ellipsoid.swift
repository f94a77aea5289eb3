import GantryCore

/// One ellipsoid of an analytic phantom, in normalised coordinates ([-1, 1] spans the field of view).
/// Rotation by Euler angles (degrees) φ, θ, ψ as in Schabel's `phantom3d`: a point p is inside when
/// the rotated point R·p, shifted by the centre, lies within the semi-axes.
public struct Ellipsoid: Codable, Equatable, Sendable {
    /// Additive intensity.
    public var value: Double
    /// Semi-axes a, b, c.
    public var axes: [Double]
    /// Centre x0, y0, z0.
    public var centre: [Double]
    /// Euler angles φ, θ, ψ in degrees.
    public var angles: [Double]

    public init(value: Double, axes: [Double], centre: [Double], angles: [Double] = [0, 0, 0]) {
        self.value = value; self.axes = axes; self.centre = centre; self.angles = angles
    }

    /// Row-major 3×3 rotation applied to coordinates before the axis test.
    var rotation: [Double] {
        let (phi, theta, psi) = (angles[0] * .pi / 180, angles[1] * .pi / 180, angles[2] * .pi / 180)
        let (cf, sf, ct, st, cp, sp) = (cos(phi), sin(phi), cos(theta), sin(theta), cos(psi), sin(psi))
        return [cp * cf - ct * sf * sp, cp * sf + ct * cf * sp, sp * st,
                -sp * cf - ct * sf * cp, -sp * sf + ct * cf * cp, cp * st,
                st * sf, -st * cf, ct]
    }
}

import Foundation
